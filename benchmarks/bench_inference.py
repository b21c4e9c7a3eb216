"""Inference workloads against scipy loops: fit_many over groups, and bootstrap refits.

* fit_many: 1,000 groups of 1,000 rows, one call, against a Python loop of
  ``scipy.stats.<dist>.fit`` on the same model (``floc=0``). Target >= 50x.
* bootstrap: 10,000 parametric refits of a gamma on n = 1,000, against a scipy loop
  of the same refits (a subset of the loop is timed and scaled). Target >= 100x.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import stats as st

import thetahat
from _common import Row, cold, timeit

GROUPS, ROWS = 1000, 1000


def _scipy_loop(dist, samples, **kw):
    return [dist.fit(x, **kw) for x in samples]


def run():
    rng = np.random.default_rng(7)
    rows = []
    for name, dist, draw in (
        ("gamma", st.gamma, lambda size: rng.gamma(2.5, 1 / 1.5, size)),
        ("weibull", st.weibull_min, lambda size: 3.0 * rng.weibull(1.7, size)),
    ):
        X = draw((GROUPS, ROWS))
        data = {"g": np.repeat(np.arange(GROUPS), ROWS), "x": X.ravel()}
        t_cold, _ = cold(lambda: thetahat.fit_many(data, name, by="g", value="x"))
        ours, res = timeit(lambda: thetahat.fit_many(data, name, by="g", value="x"), repeats=3)
        sub = 100
        t0 = time.perf_counter()
        ref = _scipy_loop(dist, X[:sub], floc=0)
        peer = (time.perf_counter() - t0) * GROUPS / sub
        shape_key = "shape"
        agree = bool(res.n_ok == GROUPS)
        # log-likelihood never below scipy's, group by group
        ll_ref = np.array([dist(*r).logpdf(x).sum() for r, x in zip(ref, X[:sub])])
        agree &= bool(np.all(res["loglik"][:sub] >= ll_ref - 1e-6 * np.abs(ll_ref)))
        agree &= bool(np.allclose(res[shape_key][:sub], [r[0] for r in ref], rtol=1e-4))
        rows.append(Row(f"fit_many {name}, {GROUPS} groups x {ROWS}", ours, f"scipy {name}.fit loop (x{GROUPS // sub})",
                        peer, agree, ">= 50x", 50.0, cold_s=t_cold))

    x = rng.gamma(2.5, 1 / 1.5, 1000)
    f = thetahat.fit(x, "gamma")
    t_cold, _ = cold(lambda: f.bootstrap(10_000, seed=1))
    ours, b = timeit(lambda: f.bootstrap(10_000, seed=1), repeats=3)
    sub = 200
    a, r = f.params["shape"], f.params["rate"]
    t0 = time.perf_counter()
    ref = [st.gamma.fit(st.gamma(a, scale=1 / r).rvs(1000, random_state=i), floc=0) for i in range(sub)]
    peer = (time.perf_counter() - t0) * 10_000 / sub
    sd_ours = np.std(b.replicates["shape"], ddof=1)
    sd_ref = np.std([q[0] for q in ref], ddof=1)
    agree = b.n_failed == 0 and abs(sd_ours / sd_ref - 1) < 4 / np.sqrt(2 * sub)  # same spread, within MC error
    rows.append(Row("bootstrap gamma n=1000, 10,000 refits", ours, f"scipy gamma.fit loop (x{10_000 // sub})",
                    peer, bool(agree), ">= 100x", 100.0, cold_s=t_cold,
                    detail=f"bootstrap SD of shape: ours {sd_ours:.4f}, scipy loop {sd_ref:.4f} ({sub} refits)"))
    return rows
