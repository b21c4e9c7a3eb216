"""SymPy densities of the built-in families, for :func:`thetahat.derive`.

Each entry is written here from the textbook formula (the same one as the family's
docstring), not generated from the JAX code, so that a derivation is an independent
check of the numerical engine. Parameters carry SymPy assumptions (``positive``,
``real``) matching the family's constraints; a parameter on (0, 1) is declared
positive and flagged in ``unit`` so the sign checks can use ``p = q / (1 + q)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp


@dataclass
class SymbolicFamily:
    """A density in SymPy, with what :func:`derive` needs to know about it."""

    name: str
    density: sp.Expr
    x: sp.Symbol
    params: list  # the sympy symbols solved for, in order
    names: list  # their names in thetahat (``sigma2`` where the family uses ``sigma``)
    support: tuple  # (lower, upper) for integration or summation
    discrete: bool = False
    unit: tuple = ()  # symbols constrained to (0, 1)
    known: dict = field(default_factory=dict)  # thetahat name -> sympy symbol of a known constant
    derived: dict = field(default_factory=dict)  # family name -> expression of the solved params (invariance)
    nonregular: str = ""  # explanation when the maximum is on the boundary of the support
    boundary_estimators: dict = field(default_factory=dict)  # name -> (description, numpy function)
    note: str = ""


def _pos(name, latex=None):
    return sp.Symbol(name if latex is None else latex, positive=True)


def builtin(name: str) -> SymbolicFamily | None:
    """The SymPy density of a built-in family, or ``None`` if there is none written here."""
    maker = _TABLE.get(name)
    return None if maker is None else maker()


def names() -> list[str]:
    return sorted(_TABLE)


def _bernoulli():
    x, p = sp.Symbol("x", nonnegative=True, integer=True), _pos("p")
    return SymbolicFamily("bernoulli", p**x * (1 - p) ** (1 - x), x, [p], ["p"], (0, 1), True, (p,))


def _binomial():
    x, p, N = sp.Symbol("x", nonnegative=True, integer=True), _pos("p"), sp.Symbol("N", positive=True,
                                                                                     integer=True)
    return SymbolicFamily("binomial", sp.binomial(N, x) * p**x * (1 - p) ** (N - x), x, [p], ["p"], (0, N),
                          True, (p,), known={"n": N}, note="N (the family's n) is the known number of trials")


def _geometric():
    x, p = sp.Symbol("x", positive=True, integer=True), _pos("p")
    return SymbolicFamily("geometric", (1 - p) ** (x - 1) * p, x, [p], ["p"], (1, sp.oo), True, (p,))


def _poisson():
    x, lam = sp.Symbol("x", nonnegative=True, integer=True), _pos("lambda")
    return SymbolicFamily("poisson", lam**x * sp.exp(-lam) / sp.factorial(x), x, [lam], ["lam"], (0, sp.oo),
                          True)


def _exponential():
    x, lam = _pos("x"), _pos("lambda")
    return SymbolicFamily("exponential", lam * sp.exp(-lam * x), x, [lam], ["lam"], (0, sp.oo))


def _normal():
    x, mu, v = sp.Symbol("x", real=True), sp.Symbol("mu", real=True), _pos("sigma^2")
    return SymbolicFamily("normal", sp.exp(-(x - mu) ** 2 / (2 * v)) / sp.sqrt(2 * sp.pi * v), x, [mu, v],
                          ["mu", "sigma2"], (-sp.oo, sp.oo), derived={"sigma": sp.sqrt(v)},
                          note="parametrised by the variance sigma^2; sigma-hat = sqrt(sigma^2-hat) by invariance")


def _lognormal():
    x, mu, v = _pos("x"), sp.Symbol("mu", real=True), _pos("sigma^2")
    dens = sp.exp(-(sp.log(x) - mu) ** 2 / (2 * v)) / (x * sp.sqrt(2 * sp.pi * v))
    return SymbolicFamily("lognormal", dens, x, [mu, v], ["mu", "sigma2"], (0, sp.oo),
                          derived={"sigma": sp.sqrt(v)},
                          note="parametrised by the variance sigma^2 of log x; sigma-hat = sqrt(sigma^2-hat)")


def _rayleigh():
    x, s = _pos("x"), _pos("sigma")
    return SymbolicFamily("rayleigh", x / s**2 * sp.exp(-(x**2) / (2 * s**2)), x, [s], ["sigma"], (0, sp.oo))


def _halfnormal():
    x, s = _pos("x"), _pos("sigma")
    dens = sp.sqrt(2 / sp.pi) / s * sp.exp(-(x**2) / (2 * s**2))
    return SymbolicFamily("halfnormal", dens, x, [s], ["sigma"], (0, sp.oo))


def _pareto():
    x, b, xm = _pos("x"), _pos("b"), _pos("x_m")
    import numpy as np

    return SymbolicFamily(
        "pareto", b * xm**b / x ** (b + 1), x, [b], ["shape"], (xm, sp.oo), known={"scale": xm},
        boundary_estimators={"scale": ("the sample minimum", np.min)},
        note="the scale x_m is treated as known; its own MLE is the sample minimum (the likelihood "
             "x_m^(n b) rises in x_m up to the smallest observation), so evaluate() uses min x unless "
             "scale is given")


def _gamma():
    x, k, lam = _pos("x"), _pos("k"), _pos("lambda")
    return SymbolicFamily("gamma", lam**k * x ** (k - 1) * sp.exp(-lam * x) / sp.gamma(k), x, [k, lam],
                          ["shape", "rate"], (0, sp.oo))


def _weibull():
    x, c, s = _pos("x"), _pos("c"), _pos("s")
    return SymbolicFamily("weibull", c / s * (x / s) ** (c - 1) * sp.exp(-((x / s) ** c)), x, [c, s],
                          ["shape", "scale"], (0, sp.oo))


def _beta():
    x, a, b = _pos("x"), _pos("a"), _pos("b")
    return SymbolicFamily("beta", x ** (a - 1) * (1 - x) ** (b - 1) / sp.beta(a, b), x, [a, b], ["a", "b"],
                          (0, 1))


def _uniform():
    import numpy as np

    x, a, b = sp.Symbol("x", real=True), sp.Symbol("a", real=True), sp.Symbol("b", real=True)
    why = ("the likelihood is (b - a)^(-n) when every x_i lies in [a, b] and 0 otherwise: it grows as the "
           "interval shrinks, so it has no stationary point (d l/d b = -n/(b - a) < 0 everywhere) and the "
           "maximum sits on the boundary of the allowed region, a = min x_i and b = max x_i. The support "
           "depends on the parameters, so the regularity conditions behind the score equations, the Fisher "
           "information and the Cramer-Rao bound fail; the extremes converge at rate n, not sqrt(n)")
    return SymbolicFamily("uniform", 1 / (b - a), x, [a, b], ["a", "b"], (a, b), nonregular=why,
                          boundary_estimators={"a": ("the sample minimum", np.min),
                                               "b": ("the sample maximum", np.max)})


_TABLE = {
    "bernoulli": _bernoulli, "binomial": _binomial, "geometric": _geometric, "poisson": _poisson,
    "exponential": _exponential, "normal": _normal, "lognormal": _lognormal, "rayleigh": _rayleigh,
    "halfnormal": _halfnormal, "pareto": _pareto, "gamma": _gamma, "weibull": _weibull, "beta": _beta,
    "uniform": _uniform,
}
