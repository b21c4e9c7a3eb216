"""The Kumaraswamy distribution on (0, 1): a beta-like law with a closed-form cdf and quantile."""

import numpy as np

from .. import constraints as C
from .._jax import jnp
from ._base import Family, register, weighted_moments


@register
class Kumaraswamy(Family):
    r"""Kumaraswamy with shapes ``a`` and ``b``, 0 < x < 1.

    .. math:: f(x) = a b\, x^{a-1} (1 - x^a)^{b-1}

    The cdf is 1 - (1 - x^a)^b and the quantile (1 - (1 - q)^{1/b})^{1/a}. scipy.stats has no
    equivalent: ``to_scipy`` returns a :class:`KumaraswamyGen` (a scipy rv_continuous written from
    these formulas). No closed form: Newton from a moment-matched start.

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> x = thetahat.families.get_family("kumaraswamy").to_scipy({"a": 2.0, "b": 5.0}).rvs(
    ...     size=3000, random_state=3)
    >>> f = thetahat.fit(x, "kumaraswamy")
    >>> bool(abs(f.params["a"] - 2.0) < 4 * f.se["a"])
    True
    """

    name = "kumaraswamy"
    params = {"a": C.positive, "b": C.positive}
    support = C.unit_interval

    def _log_x(self, x):
        return jnp.log(jnp.where((x > 0) & (x < 1), x, 0.5))

    def logpdf(self, x, p):
        a, b = p["a"], p["b"]
        lx = self._log_x(x)
        val = jnp.log(a) + jnp.log(b) + (a - 1.0) * lx + (b - 1.0) * jnp.log(-jnp.expm1(a * lx))
        return jnp.where((x > 0) & (x < 1), val, -jnp.inf)

    def start(self, x, w):
        m, v = weighted_moments(x, w)  # the beta's method of moments: a beta(1, b) is a kumaraswamy(1, b)
        k = m * (1.0 - m) / v - 1.0 if v > 0 else 2.0
        return {"a": max(m * k, 0.1), "b": max((1.0 - m) * k, 0.1)}

    def sf(self, x, p):
        inside = jnp.exp(p["b"] * jnp.log(-jnp.expm1(p["a"] * self._log_x(x))))
        return jnp.where(x <= 0, 1.0, jnp.where(x >= 1, 0.0, inside))

    def cdf(self, x, p):
        inside = -jnp.expm1(p["b"] * jnp.log(-jnp.expm1(p["a"] * self._log_x(x))))
        return jnp.where(x <= 0, 0.0, jnp.where(x >= 1, 1.0, inside))

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        from .symbolic_form import SymbolicFamily, positive

        x, a, b = positive("x"), positive("a"), positive("b")
        return SymbolicFamily("kumaraswamy", a * b * x ** (a - 1) * (1 - x**a) ** (b - 1), x, [a, b], ["a", "b"],
                              (0, 1))

    def to_scipy(self, p):
        return _scipy_law()(p["a"], p["b"])


def _scipy_law():
    """The Kumaraswamy law as a scipy ``rv_continuous`` (log-density, cdf, quantile)."""
    from scipy import stats as st

    class KumaraswamyGen(st.rv_continuous):
        def _logpdf(self, x, a, b):
            return np.log(a) + np.log(b) + (a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-(x**a))

        def _pdf(self, x, a, b):
            return np.exp(self._logpdf(x, a, b))

        def _cdf(self, x, a, b):
            return -np.expm1(b * np.log1p(-(x**a)))

        def _sf(self, x, a, b):
            return np.exp(b * np.log1p(-(x**a)))

        def _ppf(self, q, a, b):
            return (-np.expm1(np.log1p(-q) / b)) ** (1.0 / a)

    return KumaraswamyGen(a=0.0, b=1.0, name="kumaraswamy")
