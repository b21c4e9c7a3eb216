"""The Burr XII (Singh–Maddala) distribution: heavy-tailed incomes and lifetimes."""

import numpy as np

from .. import constraints as C
from .._jax import jnp
from ._base import Family, Predictor, register, weighted_moments


@register
class BurrXII(Family):
    r"""Burr XII (Singh–Maddala) with shapes ``c`` and ``d`` and ``scale`` s, x > 0.

    .. math:: f(x) = (c d / s)\, (x/s)^{c-1} (1 + (x/s)^c)^{-(d+1)}

    The survival function is (1 + (x/s)^c)^(-d); d = 1 is the log-logistic. Moments of order
    c d and above do not exist. scipy.stats.burr12(c, d, scale=s). No closed form: Newton
    from the log-logistic of log x's moments (d = 1).

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> x = thetahat.families.get_family("burr12").to_scipy({"c": 3.0, "d": 1.5, "scale": 2.0}).rvs(
    ...     size=4000, random_state=4)
    >>> f = thetahat.fit(x, "burr12")
    >>> bool(abs(f.params["c"] - 3.0) < 4 * f.se["c"])
    True
    """

    name = "burr12"
    aliases = ("burr_xii", "singh_maddala")
    params = {"c": C.positive, "d": C.positive, "scale": C.positive}
    support = C.positive
    predictor = Predictor("log_scale", ("log",), lambda m, q: {"c": q["c"], "d": q["d"], "scale": m},
                          (("c", C.positive), ("d", C.positive)), "scale")

    def _log_z(self, x, p):
        return jnp.log(jnp.where(x > 0, x, 1.0) / p["scale"])

    def logpdf(self, x, p):
        c, d = p["c"], p["d"]
        lz = self._log_z(x, p)
        # log(1 + z^c) as softplus(c log z): no overflow for large z, full precision for small
        val = jnp.log(c) + jnp.log(d) - jnp.log(p["scale"]) + (c - 1.0) * lz - (d + 1.0) * jnp.logaddexp(0.0, c * lz)
        return jnp.where(x > 0, val, -jnp.inf)

    def start(self, x, w):
        m, v = weighted_moments(np.log(x), w)  # the log-logistic (d = 1): log x logistic(log s, 1/c)
        return {"c": np.pi / np.sqrt(3.0 * v) if v > 0 else 1.0, "d": 1.0, "scale": float(np.exp(m))}

    def cdf(self, x, p):
        return jnp.where(x > 0, -jnp.expm1(-p["d"] * jnp.logaddexp(0.0, p["c"] * self._log_z(x, p))), 0.0)

    def logsf(self, x, p):
        return jnp.where(x > 0, -p["d"] * jnp.logaddexp(0.0, p["c"] * self._log_z(x, p)), 0.0)

    def sf(self, x, p):
        return jnp.where(x > 0, jnp.exp(-p["d"] * jnp.logaddexp(0.0, p["c"] * self._log_z(x, p))), 1.0)

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, c, d, s = positive("x"), positive("c"), positive("d"), positive("s")
        dens = c * d / s * (x / s) ** (c - 1) * (1 + (x / s) ** c) ** (-(d + 1))
        return SymbolicFamily("burr12", dens, x, [c, d, s], ["c", "d", "scale"], (0, sp.oo))

    def to_scipy(self, p):
        from scipy import stats as st

        return st.burr12(p["c"], p["d"], scale=p["scale"])
