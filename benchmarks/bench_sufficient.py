"""Closed-form and sufficient-statistic families at n = 10^7 against NumPy computing the
same estimate and maximised log-likelihood (the statistics the fit needs)."""

from __future__ import annotations

import numpy as np
from scipy import special as sp

import thetahat
from _common import Row, timeit_pair

N = 10_000_000
LOG2PI = np.log(2 * np.pi)


def _numpy_normal(x):
    m = x.mean()
    v = ((x - m) ** 2).mean()
    return m, -0.5 * x.size * (LOG2PI + np.log(v) + 1)


def _numpy_exponential(x):
    lam = 1 / x.mean()
    return lam, x.size * np.log(lam) - x.size


def _numpy_poisson(x):
    lam = x.mean()
    return lam, x.sum() * np.log(lam) - x.size * lam - sp.gammaln(x + 1).sum()


def _numpy_lognormal(x):
    lx = np.log(x)
    m = lx.mean()
    v = ((lx - m) ** 2).mean()
    return m, -0.5 * x.size * (LOG2PI + np.log(v) + 1) - lx.sum()


def _numpy_gamma_stats(x):
    # the statistics a gamma fit needs; the optimisation on them is O(1)
    return x.size, x.sum(), np.log(x).sum()


def run():
    rng = np.random.default_rng(7)
    cases = [
        ("normal", rng.normal(1.0, 2.0, N), _numpy_normal, "mu"),
        ("exponential", rng.exponential(2.0, N), _numpy_exponential, "lam"),
        ("lognormal", rng.lognormal(0.5, 0.7, N), _numpy_lognormal, "mu"),
        ("poisson", rng.poisson(4.0, N).astype(float), _numpy_poisson, "lam"),
        ("gamma", rng.gamma(2.0, 1.0, N), _numpy_gamma_stats, None),
    ]
    rows = []
    for name, x, ref, key in cases:
        # alternate the two, many times: each call takes milliseconds, and a shared machine's
        # slow spells would otherwise fall on one side only
        t_ours, f, t_np, r = timeit_pair(lambda: thetahat.fit(x, name), lambda: ref(x), repeats=21)
        if key is None:
            agree = f.converged
        else:
            agree = abs(f.params[key] - r[0]) <= 1e-10 * abs(r[0]) and abs(f.loglik - r[1]) <= 1e-9 * abs(r[1])
        rows.append(Row(f"fit {name}, n=1e7", t_ours, "numpy statistics", t_np, agree, "within 1.5x", 1 / 1.5))
    return rows
