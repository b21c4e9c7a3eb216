"""A gamma consistency study (10,000 replicates x 5 sample sizes) against a loop of scipy fits.

Ours: ``thetahat.study.consistency`` -- simulation (two threads, ahead of the fits) plus
one compiled batch fit per sample size, on the sufficient statistics. Peers, timed on a
subset of each size and scaled to 10,000, as in ``bench_scipy_fit``:

* ``scipy.stats.gamma.fit(x)``, the call users make (loc free as well): the target;
* ``scipy.stats.gamma.fit(x, floc=0)``, the same model, which scipy special-cases (a 1-D
  root on the statistics): reported without a target. Its loop times the fits alone, so
  it is compared with our fits alone (``fit_batch`` on pre-drawn samples) as well as with
  the whole study.

Agreement: on the subset, our estimates match scipy's same-model ones to 1e-4 relative
(scipy's own solver tolerance).
"""

from __future__ import annotations

import time

import numpy as np
from scipy import stats as st

import thetahat
from _common import Row, cold

NS = (20, 50, 100, 200, 500)
REPS = 10_000
SUBSET = 300
TRUTH = {"shape": 2.0, "rate": 1.5}


def _study():
    return thetahat.study.consistency("gamma", TRUTH, ns=NS, reps=REPS, seed=0, progress=False)


def run():
    import warnings

    from thetahat.engine.batch import fit_batch

    t_cold, _ = cold(_study)
    t0 = time.perf_counter()
    s = _study()
    t_ours = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    t_same, t_free, agree, worst = 0.0, 0.0, True, 0.0
    for n in NS:
        X = rng.gamma(TRUTH["shape"], 1 / TRUTH["rate"], size=(SUBSET, n))
        t = time.perf_counter()
        ref = np.array([st.gamma.fit(x, floc=0)[0] for x in X])
        t_same += (time.perf_counter() - t) * REPS / SUBSET
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            for x in X[:10]:
                st.gamma.fit(x)
            t_free += (time.perf_counter() - t) * REPS / 10
        ours = fit_batch("gamma", X).params["shape"]
        rel = float(np.max(np.abs(ours - ref) / ref))
        worst = max(worst, rel)
        agree &= rel < 1e-4
    big = s.table[-2]["var_over_crb"], s.table[-1]["var_over_crb"]
    # the fitting alone (the peer loops do not simulate): fit_batch on pre-drawn samples
    Xs = [rng.gamma(TRUTH["shape"], 1 / TRUTH["rate"], size=(REPS, n)) for n in NS]
    for X in Xs[:1]:
        fit_batch("gamma", X)
    t0 = time.perf_counter()
    for X in Xs:
        fit_batch("gamma", X)
    t_fit = time.perf_counter() - t0
    label = f"gamma consistency study, {REPS} reps x {len(NS)} sizes"
    return [Row(label, t_ours, "scipy gamma.fit(x) loop (scaled from 10/size)", t_free, agree, ">= 50x", 50.0,
                cold_s=t_cold, detail=f"max rel. diff of shape vs scipy {worst:.1e}; var/CRB at n=500: "
                                      f"{big[0]:.3f} (shape), {big[1]:.3f} (rate)"),
            Row(label, t_ours, f"scipy gamma.fit(x, floc=0) loop (scaled from {SUBSET}/size)", t_same, agree,
                "(same model)", 0.0),
            Row(f"gamma study fits only (fit_batch), {REPS} x {len(NS)}", t_fit,
                f"scipy gamma.fit(x, floc=0) loop (scaled from {SUBSET}/size)", t_same, agree, "(same model)", 0.0)]


if __name__ == "__main__":
    for r in run():
        print(r, f"ratio {r.ratio:.1f}x met={r.met}")
