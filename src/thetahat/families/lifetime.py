"""Lifetime families on x > 0: inverse Gaussian, Rayleigh, half-normal and log-logistic."""

import numpy as np

from .. import constraints as C
from .._jax import jax, jnp, jsp
from .._xp import namespace
from ._base import Family, Predictor, log_safe, register, sqrt, weighted_moments

_LOG2PI = float(np.log(2 * np.pi))
_HALF_LOG_2_OVER_PI = float(0.5 * np.log(2 / np.pi))


def _wsum(w, v):
    """Weighted sum that ignores padding rows (``w == 0``), whatever ``v`` is there."""
    xp = namespace(w, v)
    return xp.sum(xp.where(w > 0, w * v, 0.0))


@register
class InverseGaussian(Family):
    r"""Inverse Gaussian (Wald) with mean ``mu`` and shape ``lam``, x > 0.

    .. math:: f(x) = \sqrt{\lambda / (2\pi x^3)}\, \exp(-\lambda (x-\mu)^2 / (2\mu^2 x))

    scipy.stats.invgauss(mu / lam, scale=lam). Closed form: ``mu`` = mean,
    ``1/lam`` = mean(1/x - 1/mean). Sufficient statistics: n, sum x, sum 1/x, sum log x.
    """

    name = "inverse_gaussian"
    aliases = ("invgauss", "wald")
    params = {"mu": C.positive, "lam": C.positive}
    support = C.positive
    predictor = Predictor("mean", ("log", "inverse", "identity"), lambda m, q: {"mu": m, "lam": q["lambda"]},
                          (("lambda", C.positive),), "mu")

    def logpdf(self, x, p):
        mu, lam = p["mu"], p["lam"]
        ok = x > 0
        xs = jnp.where(ok, x, 1.0)
        val = (0.5 * jnp.log(lam) - 0.5 * _LOG2PI - 1.5 * jnp.log(xs)
               - lam * (xs - mu) ** 2 / (2 * mu * mu * xs))
        return jnp.where(ok, val, -jnp.inf)

    def start(self, x, w):
        m, _ = weighted_moments(x, w)
        d = (w * (1 / x - 1 / m)).sum() / w.sum()
        return {"mu": m, "lam": 1 / d if d > 0 else m}

    def statistics(self, x, w):
        xp = namespace(x, w)
        xs = xp.where(w > 0, x, 1.0)
        return {"n": xp.sum(w), "sum": _wsum(w, xs), "sum_inv": _wsum(w, 1 / xs),
                "sum_log": _wsum(w, xp.log(xs))}

    def loglik_from_statistics(self, s, p):
        mu, lam, n = p["mu"], p["lam"], s["n"]
        quad = s["sum"] - 2 * mu * n + mu * mu * s["sum_inv"]
        return 0.5 * n * (namespace(s, p).log(lam) - _LOG2PI) - 1.5 * s["sum_log"] - lam * quad / (2 * mu * mu)

    def closed_form(self, s):
        m = s["sum"] / s["n"]
        return {"mu": m, "lam": 1 / (s["sum_inv"] / s["n"] - 1 / m)}

    exponential_family = True

    def expected_information(self, p):
        mu, lam = p["mu"], p["lam"]
        return namespace(p).array([[lam / mu**3, 0.0], [0.0, 0.5 / lam**2]])

    def _terms(self, x, p):
        mu, lam = p["mu"], p["lam"]
        xs = jnp.where(x > 0, x, 1.0)
        r = jnp.sqrt(lam / xs)
        # exp(2 lam/mu) Phi(-r (x/mu + 1)) combined in logs: the factors over/underflow apart
        second = jnp.exp(2 * lam / mu + jsp.log_ndtr(-r * (xs / mu + 1)))
        return r * (xs / mu - 1), second

    def cdf(self, x, p):
        a, second = self._terms(x, p)
        return jnp.where(x > 0, jsp.ndtr(a) + second, 0.0)

    def sf(self, x, p):
        a, second = self._terms(x, p)
        return jnp.where(x > 0, jsp.ndtr(-a) - second, 1.0)

    def to_scipy(self, p):
        from scipy import stats as st

        return st.invgauss(p["mu"] / p["lam"], scale=p["lam"])


# ------------------------------------------------------------------------------------
@register
class Rayleigh(Family):
    r"""Rayleigh(sigma), x > 0.

    .. math:: f(x) = (x / \sigma^2) \exp(-x^2 / (2\sigma^2))

    scipy.stats.rayleigh(scale=sigma). Closed form: ``sigma^2 = sum x^2 / (2n)``.
    """

    name = "rayleigh"
    params = {"sigma": C.positive}
    support = C.positive

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, s = positive("x"), positive("sigma")
        return SymbolicFamily("rayleigh", x / s**2 * sp.exp(-(x**2) / (2 * s**2)), x, [s], ["sigma"], (0, sp.oo))

    def logpdf(self, x, p):
        s = p["sigma"]
        ok = x > 0
        return jnp.where(ok, log_safe(x, ok) - 2 * jnp.log(s) - 0.5 * (x / s) ** 2, -jnp.inf)

    def start(self, x, w):
        return {"sigma": np.sqrt((w * x * x).sum() / (2 * w.sum()))}

    def statistics(self, x, w):
        xp = namespace(x, w)
        xs = xp.where(w > 0, x, 1.0)
        return {"n": xp.sum(w), "sum_sq": _wsum(w, xs * xs), "sum_log": _wsum(w, xp.log(xs))}

    def loglik_from_statistics(self, s, p):
        sig = p["sigma"]
        return s["sum_log"] - 2 * s["n"] * namespace(s, sig).log(sig) - 0.5 * s["sum_sq"] / sig**2

    def closed_form(self, s):
        return {"sigma": sqrt(s["sum_sq"] / (2 * s["n"]))}

    exponential_family = True

    def expected_information(self, p):
        return namespace(p).array([[4 / p["sigma"] ** 2]])

    def cdf(self, x, p):
        return jnp.where(x > 0, -jnp.expm1(-0.5 * (x / p["sigma"]) ** 2), 0.0)

    def sf(self, x, p):
        return jnp.where(x > 0, jnp.exp(-0.5 * (x / p["sigma"]) ** 2), 1.0)

    def to_scipy(self, p):
        from scipy import stats as st

        return st.rayleigh(scale=p["sigma"])


# ------------------------------------------------------------------------------------
@register
class HalfNormal(Family):
    r"""Half-normal(sigma), x >= 0: |Z| for Z ~ Normal(0, sigma).

    .. math:: f(x) = \sqrt{2/\pi}\, \sigma^{-1} \exp(-x^2 / (2\sigma^2))

    scipy.stats.halfnorm(scale=sigma). Closed form: ``sigma^2`` = mean of x^2.
    """

    name = "halfnormal"
    aliases = ("half_normal",)
    params = {"sigma": C.positive}
    support = C.nonnegative  # x = 0 is in the support: the density is finite there

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, s = positive("x"), positive("sigma")
        dens = sp.sqrt(2 / sp.pi) / s * sp.exp(-(x**2) / (2 * s**2))
        return SymbolicFamily("halfnormal", dens, x, [s], ["sigma"], (0, sp.oo))

    def logpdf(self, x, p):
        s = p["sigma"]
        return jnp.where(x >= 0, _HALF_LOG_2_OVER_PI - jnp.log(s) - 0.5 * (x / s) ** 2, -jnp.inf)

    def start(self, x, w):
        return {"sigma": np.sqrt((w * x * x).sum() / w.sum())}

    def statistics(self, x, w):
        return {"n": namespace(x, w).sum(w), "sum_sq": _wsum(w, x * x)}

    summary_statistics = {"n": "n", "sum_sq": "sum_sq"}

    def loglik_from_statistics(self, s, p):
        sig = p["sigma"]
        return s["n"] * (_HALF_LOG_2_OVER_PI - namespace(s, sig).log(sig)) - 0.5 * s["sum_sq"] / sig**2

    def closed_form(self, s):
        return {"sigma": sqrt(s["sum_sq"] / s["n"])}

    exponential_family = True

    def expected_information(self, p):
        return namespace(p).array([[2 / p["sigma"] ** 2]])

    def cdf(self, x, p):
        from jax.scipy.special import erf

        return jnp.where(x > 0, erf(x / (p["sigma"] * np.sqrt(2))), 0.0)

    def sf(self, x, p):
        from jax.scipy.special import erfc

        return jnp.where(x > 0, erfc(x / (p["sigma"] * np.sqrt(2))), 1.0)

    def to_scipy(self, p):
        from scipy import stats as st

        return st.halfnorm(scale=p["sigma"])


# ------------------------------------------------------------------------------------
@register
class LogLogistic(Family):
    r"""Log-logistic (Fisk) with ``scale`` alpha and ``shape`` beta, x > 0.

    .. math:: f(x) = (\beta/\alpha) (x/\alpha)^{\beta-1} / (1 + (x/\alpha)^\beta)^2

    log X is logistic with location log(alpha) and scale 1/beta.
    scipy.stats.fisk(c=shape, scale=scale). No closed form (Newton from the moments of log x).
    """

    name = "loglogistic"
    aliases = ("log_logistic", "fisk")
    params = {"scale": C.positive, "shape": C.positive}
    support = C.positive
    predictor = Predictor("log_scale", ("log",), lambda m, q: {"scale": m, "shape": q["shape"]},
                          (("shape", C.positive),), "scale")

    def logpdf(self, x, p):
        a, b = p["scale"], p["shape"]
        ok = x > 0
        lz = log_safe(x, ok) - jnp.log(a)
        # log(1 + z^b) as softplus(b log z): no overflow for large z, full precision for small
        val = jnp.log(b) - jnp.log(a) + (b - 1) * lz - 2 * jnp.logaddexp(0.0, b * lz)
        return jnp.where(ok, val, -jnp.inf)

    def start(self, x, w):
        m, v = weighted_moments(np.log(x), w)
        return {"scale": np.exp(m), "shape": np.pi / np.sqrt(3 * v)}

    def expected_information(self, p):
        a, b = p["scale"], p["shape"]
        return jnp.array([[b * b / (3 * a * a), 0.0], [0.0, (3 + np.pi**2) / (9 * b * b)]])

    def cdf(self, x, p):
        lz = log_safe(x, x > 0) - jnp.log(p["scale"])
        return jnp.where(x > 0, jax.nn.sigmoid(p["shape"] * lz), 0.0)

    def logsf(self, x, p):
        lz = log_safe(x, x > 0) - jnp.log(p["scale"])
        return jnp.where(x > 0, -jnp.logaddexp(0.0, p["shape"] * lz), 0.0)

    def sf(self, x, p):
        lz = log_safe(x, x > 0) - jnp.log(p["scale"])
        return jnp.where(x > 0, jax.nn.sigmoid(-p["shape"] * lz), 1.0)

    def to_scipy(self, p):
        from scipy import stats as st

        return st.fisk(c=p["shape"], scale=p["scale"])
