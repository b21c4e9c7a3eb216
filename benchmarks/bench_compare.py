"""`thetahat.compare` over every applicable family on 10^4 rows, against a loop of
scipy.stats fits over the same families (same parametrisation: loc fixed at 0 where
thetahat's family has no location)."""

from __future__ import annotations

import numpy as np
from scipy import stats as st

import thetahat
from _common import Row, cold, timeit

N = 10_000

# thetahat family -> (scipy distribution, fixed scipy arguments)
SCIPY = {
    "normal": (st.norm, {}), "lognormal": (st.lognorm, {"floc": 0}), "exponential": (st.expon, {"floc": 0}),
    "gamma": (st.gamma, {"floc": 0}), "weibull": (st.weibull_min, {"floc": 0}), "t": (st.t, {}),
    "cauchy": (st.cauchy, {}), "laplace": (st.laplace, {}), "logistic": (st.logistic, {}),
    "gumbel": (st.gumbel_r, {}), "gev": (st.genextreme, {}), "genpareto": (st.genpareto, {"floc": 0}),
    "pareto": (st.pareto, {"floc": 0}), "inverse_gaussian": (st.invgauss, {"floc": 0}),
    "rayleigh": (st.rayleigh, {"floc": 0}), "halfnormal": (st.halfnorm, {"floc": 0}),
    "loglogistic": (st.fisk, {"floc": 0}), "uniform": (st.uniform, {}), "skewnorm": (st.skewnorm, {}),
    "beta": (st.beta, {"floc": 0, "fscale": 1}), "vonmises": (st.vonmises, {"fscale": 1}),
}


def run():
    x = np.random.default_rng(3).gamma(3.0, 2.0, N)
    t_cold, cmp = cold(lambda: thetahat.compare(x))
    t_ours, cmp = timeit(lambda: thetahat.compare(x), repeats=3)
    fams = [r["family"] for r in cmp.table if r["family"] in SCIPY]

    def scipy_loop():
        out = {}
        for name in fams:
            dist, kw = SCIPY[name]
            try:
                p = dist.fit(x, **kw)
                out[name] = dist(*p).logpdf(x).sum()
            except Exception:  # scipy failing on a family is its result, not ours
                out[name] = -np.inf
        return out

    t_peer, lls = timeit(scipy_loop, repeats=1, warmup=0)
    ours = {r["family"]: r["loglik"] for r in cmp.table}
    worse = [f for f in fams if ours[f] is None or ours[f] < lls[f] - 1e-6 * abs(lls[f])]
    return [Row(f"compare {len(fams)} families, n=1e4", t_ours, "scipy fit loop", t_peer, not worse,
                "faster", 1.0, cold_s=t_cold,
                detail=("loglik >= scipy for every family" if not worse else f"scipy better on {worse}"))]
