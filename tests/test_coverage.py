"""Wald 95 % intervals cover the truth about 95 % of the time (a simulation study).

Coverage is estimated from REPS fits per family; the Monte Carlo standard error of a
95 % coverage is sqrt(.95 * .05 / REPS), and the test allows 3.5 of those.
"""

import numpy as np
import pytest
from scipy import stats as st

import thetahat

REPS = 400
N = 200

STUDIES = [
    ("normal", {"mu": 1.0, "sigma": 2.0}, lambda rng: rng.normal(1.0, 2.0, N)),
    ("exponential", {"lam": 0.5}, lambda rng: rng.exponential(2.0, N)),
    ("poisson", {"lam": 3.0}, lambda rng: rng.poisson(3.0, N).astype(float)),
    ("bernoulli", {"p": 0.3}, lambda rng: (rng.random(N) < 0.3).astype(float)),
    ("gamma", {"shape": 2.0, "rate": 1.5}, lambda rng: rng.gamma(2.0, 1 / 1.5, N)),
    ("weibull", {"shape": 1.5, "scale": 2.0}, lambda rng: st.weibull_min(1.5, scale=2.0).rvs(N, random_state=rng)),
]


def wald_coverage(family, truth, draw, reps=REPS, seed=0):
    rng = np.random.default_rng(seed)
    hits = {k: 0 for k in truth}
    for _ in range(reps):
        f = thetahat.fit(draw(rng), family)
        ci = f.confint(0.95)
        for k, v in truth.items():
            lo, hi = ci[k]
            hits[k] += lo <= v <= hi
    return {k: h / reps for k, h in hits.items()}


@pytest.mark.slow
@pytest.mark.parametrize("family, truth, draw", STUDIES, ids=[s[0] for s in STUDIES])
def test_wald_95_coverage(family, truth, draw):
    cov = wald_coverage(family, truth, draw)
    tol = 3.5 * np.sqrt(0.95 * 0.05 / REPS)
    for k, c in cov.items():
        assert abs(c - 0.95) <= tol, (family, k, c)


if __name__ == "__main__":  # print the table for the README / closing note
    for fam, truth, draw in STUDIES:
        print(fam, wald_coverage(fam, truth, draw, reps=2000, seed=1))
