"""Inference workloads against scipy loops: fit_many over groups, and bootstrap refits.

As in ``bench_scipy_fit``, two scipy loops are timed:

* ``scipy.stats.<dist>.fit(x)``, the call users make and the one the targets are set
  against: scipy frees loc as well (3 parameters for gamma and weibull);
* the same model as thetahat's (``floc=0``), against which the answers are compared.
  scipy special-cases the gamma with a fixed location (a 1-D root on the mean and mean
  log), so that loop is cheap and its row is reported on its own, without a target.

Loops are timed on a subset and scaled to the full count.

* fit_many: 1,000 groups of 1,000 rows, one call. Target >= 50x.
* bootstrap: 10,000 parametric refits of a gamma on n = 1,000; the peer loop draws each
  sample with scipy (``rvs``) and fits it, as a user would. Target >= 100x.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from scipy import stats as st

import thetahat
from _common import Row, cold, timeit

GROUPS, ROWS = 1000, 1000


def _loop_time(fn, items, total):
    """Seconds for ``total`` calls, scaled from timing ``fn`` over ``items``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        out = [fn(x) for x in items]
    return (time.perf_counter() - t0) * total / len(items), out


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
        ours, res = timeit(lambda: thetahat.fit_many(data, name, by="g", value="x"), repeats=5)
        peer_free, _ = _loop_time(dist.fit, X[:20], GROUPS)
        sub = 100
        peer_same, ref = _loop_time(lambda x: dist.fit(x, floc=0), X[:sub], GROUPS)
        agree = bool(res.n_ok == GROUPS)
        # log-likelihood never below scipy's (same model), group by group; estimates to scipy's tolerance
        ll_ref = np.array([dist(*r).logpdf(x).sum() for r, x in zip(ref, X[:sub])])
        agree &= bool(np.all(res["loglik"][:sub] >= ll_ref - 1e-6 * np.abs(ll_ref)))
        agree &= bool(np.allclose(res["shape"][:sub], [r[0] for r in ref], rtol=1e-4))
        label = f"fit_many {name}, {GROUPS} groups x {ROWS}"
        rows.append(Row(label, ours, f"scipy {name}.fit(x) loop (x{GROUPS // 20})", peer_free, agree, ">= 50x",
                        50.0, cold_s=t_cold))
        rows.append(Row(label, ours, f"scipy {name}.fit(x, floc=0) loop (x{GROUPS // sub})", peer_same, agree,
                        "(same model)", 0.0))

    x = rng.gamma(2.5, 1 / 1.5, 1000)
    f = thetahat.fit(x, "gamma")
    t_cold, _ = cold(lambda: f.bootstrap(10_000, seed=1))
    ours, b = timeit(lambda: f.bootstrap(10_000, seed=1), repeats=3)
    a, r = f.params["shape"], f.params["rate"]
    model = st.gamma(a, scale=1 / r)
    peer_free, _ = _loop_time(lambda i: st.gamma.fit(model.rvs(1000, random_state=i)), range(20), 10_000)
    sub = 400
    peer_same, ref = _loop_time(lambda i: st.gamma.fit(model.rvs(1000, random_state=i), floc=0), range(sub),
                                10_000)
    sd_ours = np.std(b.replicates["shape"], ddof=1)
    sd_ref = np.std([q[0] for q in ref], ddof=1)
    agree = b.n_failed == 0 and abs(sd_ours / sd_ref - 1) < 4 / np.sqrt(2 * sub)  # same spread, within MC error
    label = "bootstrap gamma n=1000, 10,000 refits"
    rows.append(Row(label, ours, "scipy rvs + gamma.fit(x) loop (x500)", peer_free, bool(agree), ">= 100x", 100.0,
                    cold_s=t_cold,
                    detail=f"bootstrap SD of shape: ours {sd_ours:.4f}, scipy loop {sd_ref:.4f} ({sub} refits)"))
    rows.append(Row(label, ours, f"scipy rvs + gamma.fit(x, floc=0) loop (x{10_000 // sub})", peer_same,
                    bool(agree), "(same model)", 0.0))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row.workload, f"{row.ours_s * 1e3:.1f} ms", row.peer, f"{row.peer_s * 1e3:.1f} ms",
              f"{row.ratio:.1f}x", row.agree)
