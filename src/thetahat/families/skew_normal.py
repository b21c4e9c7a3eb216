"""The skew normal family (Azzalini), with its half-normal limit at the boundary."""

import numpy as np

from .. import constraints as C
from .._jax import jnp, jsp
from ._base import Family, Limit, register, weighted_moments

_LOG2PI = float(np.log(2 * np.pi))


_SN_B = float(np.sqrt(2 / np.pi))


@register
class SkewNormal(Family):
    r"""Skew normal (Azzalini) with ``loc``, ``scale`` and ``shape`` a.

    .. math:: f(x) = (2/\sigma)\, \phi(z)\, \Phi(a z), \quad z = (x - \xi)/\sigma

    scipy.stats.skewnorm(a, loc, scale). Numerical (Newton from the method of moments).
    At a = 0 the Fisher information is singular (Azzalini 1985), so near-symmetric
    samples give unstable estimates and large standard errors; log Phi is evaluated with
    ``log_ndtr`` for accuracy in the lower tail.
    """

    name = "skewnorm"
    aliases = ("skew_normal",)
    params = {"loc": C.real, "scale": C.positive, "shape": C.real}
    support = C.real
    min_obs = 3
    # shape -> +-inf: a half-normal from the sample minimum (maximum), a divergence that small samples
    # reach with positive probability (Azzalini & Capitanio 1999)
    limits = (Limit("halfnormal", {"shape": np.inf}, {"scale": "sigma"}, None,
                    "the skew normal's shape runs to +infinity: a half-normal from the sample minimum fits as well",
                    prepare=lambda x: (x - x.min(), {"loc": float(x.min())})),
              Limit("halfnormal", {"shape": -np.inf}, {"scale": "sigma"}, None,
                    "the skew normal's shape runs to -infinity: a half-normal below the sample maximum fits as well",
                    prepare=lambda x: (x.max() - x, {"loc": float(x.max())})))

    def logpdf(self, x, p):
        z = (x - p["loc"]) / p["scale"]
        return np.log(2.0) - jnp.log(p["scale"]) - 0.5 * z * z - 0.5 * _LOG2PI + jsp.log_ndtr(p["shape"] * z)

    def start(self, x, w):
        m, v = weighted_moments(x, w)
        g = (w * (x - m) ** 3).sum() / w.sum() / v**1.5
        g = float(np.clip(g, -0.95, 0.95))  # the skew normal's skewness is below 0.9953 in size
        t = np.abs(g) ** (2 / 3)
        delta = np.sign(g) * np.sqrt(np.pi / 2 * t / (t + ((4 - np.pi) / 2) ** (2 / 3)))
        delta = float(np.clip(delta, -0.99, 0.99))
        scale = np.sqrt(v / (1 - _SN_B**2 * delta**2))
        return {"loc": m - scale * delta * _SN_B, "scale": scale, "shape": delta / np.sqrt(1 - delta**2)}

    def cdf(self, x, p):
        from jax.scipy.special import owens_t

        z = (x - p["loc"]) / p["scale"]
        return jsp.ndtr(z) - 2 * owens_t(z, p["shape"])

    def sf(self, x, p):
        from jax.scipy.special import owens_t

        z = (x - p["loc"]) / p["scale"]
        return jsp.ndtr(-z) + 2 * owens_t(z, p["shape"])

    def to_scipy(self, p):
        from scipy import stats as st

        return st.skewnorm(p["shape"], loc=p["loc"], scale=p["scale"])
