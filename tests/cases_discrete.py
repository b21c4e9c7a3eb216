"""Rows of the family table for the discrete families (see tests/cases.py).

Each reference is built here from scipy.stats, independently of the families'
own ``to_scipy``: the zero-inflated poisson from scipy.stats.poisson and the mixture
formula, the categorical from scipy.stats.multinomial(1, p) on one-hot vectors.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as st

from cases import Case


class ZIPReference:
    """Zero-inflated poisson from scipy.stats.poisson: P(0) = pi + (1 - pi) e^-lam."""

    def __init__(self, pi, lam):
        self.pi, self.lam = float(pi), float(lam)

    def logpmf(self, x):
        x = np.asarray(x, dtype=float)
        pois = st.poisson(self.lam)
        return np.where(x == 0, np.log(self.pi + (1 - self.pi) * pois.pmf(0)),
                        np.log1p(-self.pi) + pois.logpmf(x))

    def rvs(self, size, random_state):
        rng = np.random.default_rng(random_state)
        structural = st.bernoulli(self.pi).rvs(size=size, random_state=rng)
        counts = st.poisson(self.lam).rvs(size=size, random_state=rng)
        return np.where(structural == 1, 0, counts)


class ZINBReference:
    """Zero-inflated negative binomial from scipy.stats.nbinom: P(0) = pi + (1 - pi) p^r."""

    def __init__(self, pi, r, p):
        self.pi, self.nb = float(pi), st.nbinom(float(r), float(p))

    def logpmf(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(x == 0, np.log(self.pi + (1 - self.pi) * self.nb.pmf(0)), np.log1p(-self.pi) + self.nb.logpmf(x))

    def rvs(self, size, random_state):
        rng = np.random.default_rng(random_state)
        structural = st.bernoulli(self.pi).rvs(size=size, random_state=rng)
        return np.where(structural == 1, 0, self.nb.rvs(size=size, random_state=rng))


class CategoricalReference:
    """Labels 0..K-1 through scipy.stats.multinomial(1, p) on one-hot vectors."""

    def __init__(self, p):
        self.p = np.asarray(p, dtype=float)
        self.dist = st.multinomial(1, self.p)

    def logpmf(self, x):
        x = np.asarray(x, dtype=np.int64)
        return self.dist.logpmf(np.eye(self.p.size)[x])

    def rvs(self, size, random_state):
        return self.dist.rvs(size=size, random_state=random_state).argmax(axis=1).astype(float)


def _draw_with(n_known, make):
    """A draw function that passes the known n (the table's _draw gives scipy only the free params)."""
    return lambda rng, p, size: make({**p, "n": n_known}).rvs(size=size, random_state=rng)


def _binom(p):
    return st.binom(int(p["n"]), p["p"])


def _betabinom(p):
    return st.betabinom(int(p["n"]), p["a"], p["b"])


def _multinom(p):
    return st.multinomial(int(p["n"]), p["p"])


def _multinomial_grid():
    # edges of the support: all trials in one cell, empty cells, and an interior row
    return np.array([[12, 0, 0], [0, 12, 0], [0, 0, 12], [4, 5, 3], [1, 1, 10], [6, 6, 0]], dtype=float)


CASES = [
    Case("bernoulli", {"p": 0.3}, lambda p: st.bernoulli(p["p"]), np.array([0.0, 1.0])),
    Case("binomial", {"p": 0.35}, _binom,
         np.array([0.0, 1.0, 5.0, 12.0, 19.0, 20.0]), fixed={"n": 20}, draw=_draw_with(20, _binom)),
    Case("geometric", {"p": 0.25}, lambda p: st.geom(p["p"]),
         np.array([1.0, 2.0, 5.0, 30.0, 200.0, 2000.0])),
    Case("poisson", {"lam": 3.5}, lambda p: st.poisson(p["lam"]),
         np.array([0.0, 1.0, 3.0, 10.0, 60.0, 1000.0])),
    Case("negative_binomial", {"r": 2.5, "p": 0.4}, lambda p: st.nbinom(p["r"], p["p"]),
         np.array([0.0, 1.0, 4.0, 20.0, 150.0, 3000.0])),
    Case("zip", {"pi": 0.3, "lam": 2.5}, lambda p: ZIPReference(p["pi"], p["lam"]),
         np.array([0.0, 1.0, 2.0, 7.0, 40.0, 500.0])),
    Case("zinb", {"pi": 0.3, "r": 2.0, "p": 0.4}, lambda p: ZINBReference(p["pi"], p["r"], p["p"]),
         np.array([0.0, 1.0, 2.0, 7.0, 40.0, 300.0])),
    Case("beta_binomial", {"a": 2.0, "b": 3.5}, _betabinom,
         np.array([0.0, 1.0, 6.0, 14.0, 15.0]), fixed={"n": 15}, draw=_draw_with(15, _betabinom)),
    Case("categorical", {"p": np.array([0.2, 0.5, 0.3])}, lambda p: CategoricalReference(p["p"]),
         np.array([0.0, 1.0, 2.0])),
    Case("multinomial", {"p": np.array([0.2, 0.45, 0.35])}, _multinom,
         _multinomial_grid(), fixed={"n": 12}, n=5000, draw=_draw_with(12, _multinom)),
]
