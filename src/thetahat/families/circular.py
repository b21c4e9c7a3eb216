"""The von Mises family of angles (the circular normal)."""

import numpy as np

from .. import constraints as C
from .._jax import jnp, jsp
from .._xp import namespace
from ._base import Family, register

_LOG2PI = float(np.log(2 * np.pi))


def _wsum(w, v):
    """Weighted sum that ignores padding rows (``w == 0``), whatever ``v`` is there."""
    xp = namespace(w, v)
    return xp.sum(xp.where(w > 0, w * v, 0.0))


def _wrap(x):
    """Angles to [-pi, pi)."""
    return np.mod(np.asarray(x) + np.pi, 2 * np.pi) - np.pi


def _kappa_from_r(r):
    """Best & Fisher (1981) approximation to the solution of A(kappa) = I1/I0 = r."""
    r = float(min(max(r, 1e-12), 1 - 1e-12))
    if r < 0.53:
        return 2 * r + r**3 + 5 * r**5 / 6
    if r < 0.85:
        return -0.4 + 1.39 * r + 0.43 / (1 - r)
    return 1 / (r**3 - 4 * r**2 + 3 * r)


@register
class VonMises(Family):
    r"""Von Mises(mu, kappa) on the circle, angles in [-pi, pi].

    .. math:: f(x) = \exp(\kappa \cos(x - \mu)) / (2\pi I_0(\kappa))

    scipy.stats.vonmises(kappa, loc=mu) (scipy's density is periodic; its draws are not
    wrapped, :meth:`sample` wraps them to [-pi, pi)). Sufficient statistics: n, sum cos x,
    sum sin x. Start: the circular mean and the Best--Fisher approximation of kappa.

    ``mu`` is constrained to the open interval (-pi, pi). When the data's circular mean
    is close to +-pi the estimate sits near the edge of that interval, where the
    optimiser works in a stretched coordinate: rotate the data first (``x - c`` wrapped,
    for a ``c`` near the mean) and add ``c`` back to ``mu`` afterwards.
    """

    name = "vonmises"
    aliases = ("von_mises",)
    params = {"mu": C.interval(-np.pi, np.pi), "kappa": C.positive}
    support = C.Interval(-np.pi, np.pi, closed=True)  # angles in radians, both ends included

    def logpdf(self, x, p):
        mu, k = p["mu"], p["kappa"]
        ok = (x >= -np.pi) & (x <= np.pi)
        # log I0(k) = log(jsp.i0e(k)) + k: i0e stays finite for large kappa
        val = k * (jnp.cos(x - mu) - 1) - jnp.log(jsp.i0e(k)) - _LOG2PI
        return jnp.where(ok, val, -jnp.inf)

    def start(self, x, w):
        sw = w.sum()
        c, s = (w * np.cos(x)).sum() / sw, (w * np.sin(x)).sum() / sw
        mu = float(np.arctan2(s, c))
        mu = float(np.clip(mu, -np.pi + 1e-6, np.pi - 1e-6))
        return {"mu": mu, "kappa": _kappa_from_r(np.hypot(c, s))}

    def statistics(self, x, w):
        xp = namespace(x, w)
        return {"n": xp.sum(w), "sum_cos": _wsum(w, xp.cos(x)), "sum_sin": _wsum(w, xp.sin(x))}

    def loglik_from_statistics(self, s, p):
        mu, k, n = p["mu"], p["kappa"], s["n"]
        proj = s["sum_cos"] * jnp.cos(mu) + s["sum_sin"] * jnp.sin(mu)
        return k * (proj - n) - n * (jnp.log(jsp.i0e(k)) + _LOG2PI)

    def expected_information(self, p):
        from jax.scipy.special import i1e

        k = p["kappa"]
        a = i1e(k) / jsp.i0e(k)  # A(kappa) = I1/I0
        return jnp.array([[k * a, 0.0], [0.0, 1 - a / k - a * a]])

    def sample(self, key, p, size):
        return _wrap(super().sample(key, p, size))

    def to_scipy(self, p):
        from scipy import stats as st

        return st.vonmises(p["kappa"], loc=p["mu"])
