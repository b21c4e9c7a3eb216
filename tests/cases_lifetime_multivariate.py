"""Family table rows for the families in families/lifetime.py, uniform.py, circular.py, skew_normal.py,
multivariate.py, gompertz.py, gengamma.py, burr12.py and kumaraswamy.py."""

from __future__ import annotations

import numpy as np
from scipy import stats as st

from cases import Case


def _prentice(p):
    """scipy.stats.gengamma (Stacy) at Prentice's (mu, sigma, Q), Q != 0: (x/s)^c is gamma(a) with
    a = Q^-2, c = Q / sigma and s = e^mu (Q^2)^(sigma / Q)."""
    q = p["Q"]
    return st.gengamma(q**-2, q / p["sigma"], scale=np.exp(p["mu"]) * (q * q) ** (p["sigma"] / q))


class KumaraswamyReference:
    """Kumaraswamy(a, b) from the textbook: f = a b x^(a-1) (1 - x^a)^(b-1), drawn by inverting
    F = 1 - (1 - x^a)^b."""

    def __init__(self, a, b):
        self.a, self.b = float(a), float(b)

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log(self.a * self.b) + (self.a - 1) * np.log(x) + (self.b - 1) * np.log(1 - x**self.a)
        return np.where((x > 0) & (x < 1), v, -np.inf)

    def rvs(self, size, random_state):
        u = np.random.default_rng(random_state).random(size)
        return (1 - (1 - u) ** (1 / self.b)) ** (1 / self.a)


def _wrap_angles(rng, p, n):
    x = st.vonmises(p["kappa"], loc=p["mu"]).rvs(size=n, random_state=rng)
    return np.mod(x + np.pi, 2 * np.pi) - np.pi


class _DirichletRows:
    """scipy's Dirichlet with rows as observations (scipy's logpdf takes columns)."""

    def __init__(self, alpha):
        self.alpha = np.asarray(alpha, dtype=float)

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        return np.array([st.dirichlet.logpdf(row, self.alpha) for row in x])

    def rvs(self, size, random_state=None):
        return st.dirichlet(self.alpha).rvs(size=size, random_state=random_state)


_MVN_MU = np.array([1.0, -2.0, 0.5])
_MVN_COV = np.array([[2.0, 0.6, -0.3],
                     [0.6, 1.0, 0.2],
                     [-0.3, 0.2, 0.5]])

CASES: list[Case] = [
    Case("inverse_gaussian", {"mu": 2.0, "lam": 3.0}, lambda p: st.invgauss(p["mu"] / p["lam"], scale=p["lam"]),
         np.array([1e-4, 1e-3, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 20.0, 60.0, 1e3])),
    Case("rayleigh", {"sigma": 1.7}, lambda p: st.rayleigh(scale=p["sigma"]),
         np.array([1e-12, 1e-6, 0.01, 0.5, 1.7, 3.0, 8.0, 20.0])),
    Case("halfnormal", {"sigma": 0.8}, lambda p: st.halfnorm(scale=p["sigma"]),
         np.array([0.0, 1e-12, 1e-6, 0.1, 0.8, 2.0, 5.0, 20.0])),
    Case("loglogistic", {"scale": 2.5, "shape": 3.5}, lambda p: st.fisk(c=p["shape"], scale=p["scale"]),
         np.array([1e-9, 1e-6, 1e-3, 0.1, 1.0, 2.5, 4.0, 20.0, 1e3, 1e5, 1e8])),
    Case("gompertz", {"shape": 0.4, "scale": 1.5}, lambda p: st.gompertz(p["shape"], scale=p["scale"]),
         np.array([0.0, 1e-9, 1e-3, 0.5, 1.5, 4.0, 8.0, 15.0])),
    Case("gengamma", {"mu": 1.0, "sigma": 0.5, "Q": 0.8}, lambda p: _prentice(p),
         np.array([1e-9, 1e-4, 0.1, 1.0, 3.0, 6.0, 12.0, 25.0])),
    Case("burr12", {"c": 3.0, "d": 1.5, "scale": 2.0}, lambda p: st.burr12(p["c"], p["d"], scale=p["scale"]),
         np.array([1e-9, 1e-4, 0.1, 1.0, 2.0, 5.0, 50.0, 1e4])),
    Case("kumaraswamy", {"a": 2.0, "b": 5.0}, lambda p: KumaraswamyReference(p["a"], p["b"]),
         np.array([1e-9, 1e-4, 0.05, 0.3, 0.5, 0.8, 0.99, 1 - 1e-9])),
    Case("uniform", {"a": -1.5, "b": 4.0}, lambda p: st.uniform(loc=p["a"], scale=p["b"] - p["a"]),
         np.array([-1.5, -1.5 + 1e-12, -1.0, 0.0, 2.0, 4.0 - 1e-12, 4.0])),
    Case("vonmises", {"mu": 0.7, "kappa": 2.5}, lambda p: st.vonmises(p["kappa"], loc=p["mu"]),
         np.array([-np.pi, -3.0, -1.0, 0.0, 0.7, 2.0, 3.1, np.pi]), draw=_wrap_angles),
    Case("vonmises", {"mu": -2.0, "kappa": 40.0}, lambda p: st.vonmises(p["kappa"], loc=p["mu"]),
         np.array([-np.pi, -2.5, -2.0, -1.9, 0.0, np.pi]), draw=_wrap_angles, id="vonmises-concentrated"),
    Case("skewnorm", {"loc": 1.0, "scale": 2.0, "shape": 3.0},
         lambda p: st.skewnorm(p["shape"], loc=p["loc"], scale=p["scale"]),
         np.array([-30.0, -10.0, -3.0, -1.0, 0.0, 1.0, 2.0, 5.0, 10.0, 30.0])),
    Case("mvnormal", {"mu": _MVN_MU, "cov": _MVN_COV},
         lambda p: st.multivariate_normal(mean=p["mu"], cov=p["cov"]),
         np.array([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0], [5.0, -6.0, 3.0], [-20.0, 10.0, 1.0],
                   [1.1, -1.9, 0.4]])),
    Case("dirichlet", {"alpha": np.array([0.8, 2.0, 5.0])}, lambda p: _DirichletRows(p["alpha"]),
         np.array([[1e-10, 0.3, 0.7 - 1e-10], [0.2, 0.3, 0.5], [0.98, 0.01, 0.01],
                   [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5 - 1e-8, 1e-8]])),
]
