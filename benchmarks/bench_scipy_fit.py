"""thetahat.fit against scipy.stats' fit on n = 10^5, warm: families without closed forms.

Two scipy calls are timed for each family:

* ``scipy.stats.<dist>.fit(x)``, the call users make and the targets name: scipy frees
  every parameter, loc and scale included (3 parameters for gamma and weibull, 4 for
  beta). The speed target is against this call.
* the same model as thetahat's (``floc=0`` etc.), against which the log-likelihoods are
  compared: thetahat's must never be lower. For gamma, weibull and beta with ``floc``
  fixed, scipy has special-cased solvers (a 1-D root on the statistics), so that row is
  also reported on its own.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as st

import thetahat
from _common import Row, cold, timeit

N = 100_000


def _cases(rng):
    # name, data, scipy distribution, same-model fixed arguments
    return [
        ("t", rng.standard_t(5, N) * 2 + 1, st.t, {}),
        ("gev", st.genextreme(c=-0.1, loc=10, scale=2).rvs(N, random_state=rng), st.genextreme, {}),
        ("gamma", rng.gamma(2.5, 1 / 1.5, N), st.gamma, {"floc": 0}),
        ("weibull", st.weibull_min(c=1.7, scale=3.0).rvs(N, random_state=rng), st.weibull_min, {"floc": 0}),
        ("beta", rng.beta(2.0, 5.0, N), st.beta, {"floc": 0, "fscale": 1}),
    ]


def run():
    rng = np.random.default_rng(42)
    rows = []
    for name, x, dist, same in _cases(rng):
        t_cold, _ = cold(lambda: thetahat.fit(x, name))
        t_ours, f = timeit(lambda: thetahat.fit(x, name), repeats=5)
        t_default, _ = timeit(lambda: dist.fit(x), repeats=1, warmup=0)
        t_same, p = timeit(lambda: dist.fit(x, **same), repeats=3, warmup=0)
        ll_peer = float(dist(*p).logpdf(x).sum())
        agree = f.converged and f.loglik >= ll_peer - 1e-9 * abs(ll_peer)
        detail = f"loglik ours {f.loglik:.6f} vs scipy (same model) {ll_peer:.6f}"
        rows.append(Row(f"fit {name}, n=1e5", t_ours, "scipy .fit(x)", t_default, agree, ">= 20x", 20.0,
                        cold_s=t_cold, detail=detail))
        if same:
            rows.append(Row(f"fit {name}, n=1e5", t_ours, f"scipy .fit(x, {', '.join(same)})", t_same, agree,
                            "(same model)", 0.0))
    x = rng.negative_binomial(3.0, 0.4, N).astype(float)
    t_cold, _ = cold(lambda: thetahat.fit(x, "negative_binomial"))
    t_ours, f = timeit(lambda: thetahat.fit(x, "negative_binomial"), repeats=5)
    t_peer, res = timeit(lambda: st.fit(st.nbinom, x, bounds={"n": (0.01, 100), "p": (0.001, 0.999)}),
                         repeats=1, warmup=0)
    ll_peer = float(st.nbinom(*res.params).logpmf(x).sum())
    rows.append(Row("fit negative_binomial, n=1e5", t_ours, "scipy.stats.fit", t_peer,
                    f.converged and f.loglik >= ll_peer - 1e-9 * abs(ll_peer), ">= 20x", 20.0, cold_s=t_cold,
                    detail=f"loglik ours {f.loglik:.6f} vs scipy {ll_peer:.6f}"))
    return rows
