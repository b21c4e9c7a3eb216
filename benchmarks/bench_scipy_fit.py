"""thetahat.fit against scipy.stats' fit on n = 10^5, warm: families without closed forms."""

from __future__ import annotations

import numpy as np
from scipy import stats as st

import thetahat
from _common import Row, cold, timeit

N = 100_000


def _cases(rng):
    return [
        ("t", rng.standard_t(5, N) * 2 + 1, lambda x: st.t.fit(x),
         lambda x, p: st.t(*p).logpdf(x).sum(), {}),
        ("gev", st.genextreme(c=-0.1, loc=10, scale=2).rvs(N, random_state=rng), lambda x: st.genextreme.fit(x),
         lambda x, p: st.genextreme(*p).logpdf(x).sum(), {}),
        ("gamma", rng.gamma(2.5, 1 / 1.5, N), lambda x: st.gamma.fit(x, floc=0),
         lambda x, p: st.gamma(*p).logpdf(x).sum(), {}),
        ("weibull", st.weibull_min(c=1.7, scale=3.0).rvs(N, random_state=rng), lambda x: st.weibull_min.fit(x, floc=0),
         lambda x, p: st.weibull_min(*p).logpdf(x).sum(), {}),
        ("beta", rng.beta(2.0, 5.0, N), lambda x: st.beta.fit(x, floc=0, fscale=1),
         lambda x, p: st.beta(*p).logpdf(x).sum(), {}),
        ("negative_binomial", rng.negative_binomial(3.0, 0.4, N).astype(float),
         lambda x: st.fit(st.nbinom, x, bounds={"n": (0.01, 100), "p": (0.001, 0.999)}).params,
         lambda x, p: st.nbinom(*p).logpmf(x).sum(), {}),
    ]


def run():
    rng = np.random.default_rng(42)
    rows = []
    for name, x, scipy_fit, scipy_ll, kw in _cases(rng):
        t_cold, _ = cold(lambda: thetahat.fit(x, name, **kw))
        t_ours, f = timeit(lambda: thetahat.fit(x, name, **kw), repeats=5)
        t_peer, p = timeit(lambda: scipy_fit(x), repeats=2 if name != "negative_binomial" else 1, warmup=0)
        ll_peer = float(scipy_ll(x, p))
        agree = f.converged and f.loglik >= ll_peer - 1e-9 * abs(ll_peer)
        rows.append(Row(f"fit {name}, n=1e5", t_ours, "scipy.stats fit", t_peer, agree, ">= 20x", 20.0,
                        cold_s=t_cold, detail=f"loglik ours {f.loglik:.6f} vs scipy {ll_peer:.6f}"))
    return rows
