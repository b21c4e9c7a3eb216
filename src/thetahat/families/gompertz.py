"""The Gompertz distribution: a lifetime whose hazard grows exponentially with age."""

import numpy as np

from .. import constraints as C
from .._jax import jnp
from ._base import Family, Predictor, register


@register
class Gompertz(Family):
    r"""Gompertz with ``shape`` c and ``scale`` s, x >= 0: the hazard is (c/s) e^{x/s}.

    .. math:: f(x) = (c/s)\, e^{x/s} \exp(-c (e^{x/s} - 1))

    The survival function is exp(-c (e^{x/s} - 1)). In the actuaries' form h(x) = a e^{b x},
    a = c/s and b = 1/s. scipy.stats.gompertz(c, scale=s). No closed form: for a given scale
    the shape's MLE is n / sum(e^{x/s} - 1), and Newton runs on both from a start by that rule.

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> x = thetahat.families.get_family("gompertz").to_scipy({"shape": 0.5, "scale": 2.0}).rvs(
    ...     size=2000, random_state=1)
    >>> f = thetahat.fit(x, "gompertz")
    >>> bool(abs(f.params["scale"] - 2.0) < 4 * f.se["scale"])
    True
    """

    name = "gompertz"
    params = {"shape": C.positive, "scale": C.positive}
    support = C.nonnegative
    predictor = Predictor("log_scale", ("log",), lambda m, q: {"shape": q["shape"], "scale": m},
                          (("shape", C.positive),), "scale")

    def logpdf(self, x, p):
        c, s = p["shape"], p["scale"]
        z = jnp.where(x >= 0, x / s, 0.0)
        return jnp.where(x >= 0, jnp.log(c) - jnp.log(s) + z - c * jnp.expm1(z), -jnp.inf)

    def start(self, x, w):
        s = float((w * x).sum() / w.sum()) or 1.0
        return {"shape": w.sum() / (w * np.expm1(np.minimum(x / s, 700.0))).sum(), "scale": s}

    def cdf(self, x, p):
        z = jnp.where(x > 0, x / p["scale"], 0.0)
        return -jnp.expm1(-p["shape"] * jnp.expm1(z))

    def logsf(self, x, p):
        return -p["shape"] * jnp.expm1(jnp.where(x > 0, x / p["scale"], 0.0))

    def sf(self, x, p):
        z = jnp.where(x > 0, x / p["scale"], 0.0)
        return jnp.exp(-p["shape"] * jnp.expm1(z))

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, c, s = positive("x"), positive("c"), positive("s")
        dens = c / s * sp.exp(x / s) * sp.exp(-c * (sp.exp(x / s) - 1))
        return SymbolicFamily("gompertz", dens, x, [c, s], ["shape", "scale"], (0, sp.oo))

    def to_scipy(self, p):
        from scipy import stats as st

        return st.gompertz(p["shape"], scale=p["scale"])
