"""The generalized gamma (Stacy) distribution: the survival workhorse that holds the weibull,
the gamma and, as a limit, the lognormal."""

import numpy as np

from .. import constraints as C
from .._jax import jnp, jsp, lazy
from ._base import Family, Predictor, register, weighted_moments

special = lazy("thetahat.families.special")  # (JAX functions: imported at the first use)


@register
class GeneralizedGamma(Family):
    r"""Generalized gamma (Stacy) with shapes ``a`` and ``c`` and ``scale`` s, x > 0.

    .. math:: f(x) = c\, (x/s)^{c a - 1} e^{-(x/s)^c} / (s\, \Gamma(a))

    (x/s)^c is gamma(a) distributed. a = 1 is the weibull (shape c, scale s); c = 1 is the
    gamma (shape a, rate 1/s); the lognormal is its limit as a grows (not a member).
    scipy.stats.gengamma(a, c, scale=s), with c > 0 here. No closed form: Newton from a start
    at a = 1 (the weibull of log x's moments).

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> x = thetahat.families.get_family("gengamma").to_scipy({"a": 2.0, "c": 1.5, "scale": 3.0}).rvs(
    ...     size=4000, random_state=2)
    >>> f = thetahat.fit(x, "gengamma")
    >>> bool(abs(f.params["c"] - 1.5) < 4 * f.se["c"])
    True
    """

    name = "gengamma"
    aliases = ("generalized_gamma", "stacy")
    params = {"a": C.positive, "c": C.positive, "scale": C.positive}
    support = C.positive
    predictor = Predictor("log_scale", ("log",), lambda m, q: {"a": q["a"], "c": q["c"], "scale": m},
                          (("a", C.positive), ("c", C.positive)), "scale")

    def _log_z(self, x, p):
        return jnp.log(jnp.where(x > 0, x, 1.0) / p["scale"])

    def logpdf(self, x, p):
        a, c = p["a"], p["c"]
        lz = self._log_z(x, p)
        val = jnp.log(c) - jnp.log(p["scale"]) - jsp.gammaln(a) + (c * a - 1.0) * lz - jnp.exp(c * lz)
        return jnp.where(x > 0, val, -jnp.inf)

    def start(self, x, w):
        m, v = weighted_moments(np.log(x), w)  # a weibull's log x: mean log s - gamma / c, var pi^2 / (6 c^2)
        c = np.pi / np.sqrt(6.0 * v) if v > 0 else 1.0
        return {"a": 1.0, "c": c, "scale": float(np.exp(m + 0.5772156649015329 / c))}

    def cdf(self, x, p):
        return special.gammainc(p["a"], jnp.where(x > 0, jnp.exp(p["c"] * self._log_z(x, p)), 0.0))

    def sf(self, x, p):
        return special.gammaincc(p["a"], jnp.where(x > 0, jnp.exp(p["c"] * self._log_z(x, p)), 0.0))

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, a, c, s = positive("x"), positive("a"), positive("c"), positive("s")
        dens = c * (x / s) ** (c * a - 1) * sp.exp(-((x / s) ** c)) / (s * sp.gamma(a))
        return SymbolicFamily("gengamma", dens, x, [a, c, s], ["a", "c", "scale"], (0, sp.oo))

    def to_scipy(self, p):
        from scipy import stats as st

        return st.gengamma(p["a"], p["c"], scale=p["scale"])
