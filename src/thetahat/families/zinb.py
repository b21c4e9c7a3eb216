"""The zero-inflated negative binomial: over-dispersed counts with excess zeros."""

import numpy as np

from .. import constraints as C
from .._jax import jnp, jsp, lazy
from ..errors import DegenerateDataError
from ._base import Family, Limit, Predictor, register, weighted_moments

special = lazy("thetahat.families.special")  # (JAX functions: imported at the first use)


@register
class ZeroInflatedNegativeBinomial(Family):
    r"""Zero-inflated negative binomial(pi, r, p): a structural zero with probability pi, else
    NegativeBinomial(r, p), the failures before the r-th success.

    f(0) = pi + (1 - pi) p^r;  f(x) = (1 - pi) Gamma(x + r) / (Gamma(r) x!) p^r (1 - p)^x, x = 1, 2, ...

    scipy.stats has no equivalent; ``to_scipy`` returns a :class:`ZINBGen` (a scipy rv_discrete
    written from these formulas). No closed form. All-equal data cannot separate the zeros'
    two sources or show the over-dispersion, and are refused.

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> x = thetahat.families.get_family("zinb").to_scipy({"pi": 0.3, "r": 2.0, "p": 0.4}).rvs(
    ...     size=4000, random_state=5)
    >>> f = thetahat.fit(x, "zinb")
    >>> bool(abs(f.params["pi"] - 0.3) < 4 * f.se["pi"])
    True
    """

    name = "zinb"
    aliases = ("zero_inflated_negative_binomial",)
    params = {"pi": C.unit_interval, "r": C.positive, "p": C.unit_interval}
    support = C.nonnegative_integer
    # the count part's mean m = r (1 - p) / p (pscl's zeroinfl with dist="negbin"); E[y] = (1 - pi) m
    predictor = Predictor("mean", ("log",), lambda m, q: {"pi": q["pi"], "r": q["r"], "p": q["r"] / (q["r"] + m)},
                          (("pi", C.unit_interval), ("r", C.positive)), mean=lambda m, q: (1.0 - q["pi"]) * m)
    discrete = True
    limits = (Limit("negative_binomial", {"pi": 0.0}, {"r": "r", "p": "p"},
                    lambda x, w, p: _zero_inflation_score(x, w, p),
                    "the zero-inflation probability pi is 0: the data have no excess zeros, and the negative "
                    "binomial fits as well"),)

    def logpdf(self, x, p):
        pi, r, q = p["pi"], p["r"], p["p"]
        ok = (x >= 0) & (jnp.floor(x) == x)
        xs = jnp.where(ok, x, 0.0)
        nb = jsp.gammaln(xs + r) - jsp.gammaln(r) - jsp.gammaln(xs + 1.0) + r * jnp.log(q) + jsp.xlog1py(xs, -q)
        zero = jnp.logaddexp(jnp.log(pi), jnp.log1p(-pi) + r * jnp.log(q))
        return jnp.where(ok, jnp.where(xs == 0, zero, jnp.log1p(-pi) + nb), -jnp.inf)

    def start(self, x, w):
        # the negative binomial of the non-zero part's moments, pi from the zeros it leaves unexplained
        m, v = weighted_moments(x, w)
        q = float(np.clip(m / v if v > m > 0 else 0.5, 0.05, 0.95))
        r = max(m * q / (1 - q), 0.1)
        zeros = float((w * (x == 0)).sum() / w.sum())
        pi = float(np.clip((zeros - q**r) / (1 - q**r), 0.05, 0.9))
        return {"pi": pi, "r": r / (1 - pi), "p": q}

    def symbolic(self):
        """The pmf in SymPy, from the formula above, one piece for 0 and one for x > 0 (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x = sp.Symbol("x", nonnegative=True, integer=True)
        pi, r, q = positive("pi"), positive("r"), positive("p")
        positive_part = (1 - pi) * sp.gamma(x + r) / (sp.gamma(r) * sp.factorial(x)) * q**r * (1 - q) ** x
        pmf = sp.Piecewise((pi + (1 - pi) * q**r, sp.Eq(x, 0)), (positive_part, True))
        return SymbolicFamily("zinb", pmf, x, [pi, r, q], ["pi", "r", "p"], (0, sp.oo), True, (pi, q))

    def cdf(self, x, p):
        k = jnp.floor(x)
        nb = special.betainc(p["r"], jnp.maximum(k, 0.0) + 1.0, p["p"])
        return jnp.where(k < 0, 0.0, p["pi"] + (1.0 - p["pi"]) * nb)

    def sf(self, x, p):
        k = jnp.floor(x)
        nb = special.betaincc(p["r"], jnp.maximum(k, 0.0) + 1.0, p["p"])
        return jnp.where(k < 0, 1.0, (1.0 - p["pi"]) * nb)

    def check_degenerate(self, x, w):
        seen = x[w > 0] if w is not None else x
        if seen.size and np.all(seen == seen[0]):
            raise DegenerateDataError(
                f"all {seen.size} observations equal {seen[0]:g}: a zero-inflated negative binomial needs "
                "varied counts (all-equal data cannot tell structural zeros or show over-dispersion)")

    def to_scipy(self, p):
        return _scipy_law()(p["pi"], p["r"], p["p"])


def _scipy_law():
    """The zero-inflated negative binomial as a scipy ``rv_discrete`` (log-pmf and cdf)."""
    from scipy import stats as st

    class ZINBGen(st.rv_discrete):
        def _argcheck(self, pi, r, p):
            return (pi >= 0) & (pi < 1) & (r > 0) & (p > 0) & (p <= 1)

        def _logpmf(self, k, pi, r, p):
            nb = st.nbinom.logpmf(k, r, p)
            return np.where(k == 0, np.logaddexp(np.log(pi), np.log1p(-pi) + r * np.log(p)), np.log1p(-pi) + nb)

        def _pmf(self, k, pi, r, p):
            return np.exp(self._logpmf(k, pi, r, p))

        def _cdf(self, k, pi, r, p):
            return pi + (1 - pi) * st.nbinom.cdf(k, r, p)

        def _rvs(self, pi, r, p, size=None, random_state=None):
            structural = random_state.random(size) < pi
            return np.where(structural, 0, random_state.negative_binomial(r, p, size))

    return ZINBGen(a=0, name="zinb")


def _zero_inflation_score(x, w, p):
    """d loglik / d pi at pi = 0 and the negative binomial's MLE (r, p): 1 / p^r - 1 per zero, -1
    per positive count (the score test for zero inflation)."""
    zero = x == 0
    n0 = float(np.sum(w[zero]))
    with np.errstate(over="ignore"):
        per_zero = float(np.expm1(-p["r"] * np.log(p["p"])))
    return (n0 * per_zero if n0 > 0 else 0.0) - float(np.sum(w[~zero]))
