"""Univariate continuous families: inverse Gaussian, Rayleigh, half-normal, log-logistic,
uniform, von Mises and skew normal."""

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import i0e, log_ndtr, ndtr

from .. import constraints as C
from ..errors import DegenerateDataError
from ._base import Family, Limit, log_safe, register, sqrt, weighted_moments

_LOG2PI = float(np.log(2 * np.pi))
_HALF_LOG_2_OVER_PI = float(0.5 * np.log(2 / np.pi))


def _wsum(w, v):
    """Weighted sum that ignores padding rows (``w == 0``), whatever ``v`` is there."""
    return jnp.sum(jnp.where(w > 0, w * v, 0.0))


# ------------------------------------------------------------------------------------
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
        xs = jnp.where(w > 0, x, 1.0)
        return {"n": jnp.sum(w), "sum": _wsum(w, xs), "sum_inv": _wsum(w, 1 / xs),
                "sum_log": _wsum(w, jnp.log(xs))}

    def loglik_from_statistics(self, s, p):
        mu, lam, n = p["mu"], p["lam"], s["n"]
        quad = s["sum"] - 2 * mu * n + mu * mu * s["sum_inv"]
        return 0.5 * n * (jnp.log(lam) - _LOG2PI) - 1.5 * s["sum_log"] - lam * quad / (2 * mu * mu)

    def closed_form(self, s):
        m = s["sum"] / s["n"]
        return {"mu": m, "lam": 1 / (s["sum_inv"] / s["n"] - 1 / m)}

    def expected_information(self, p):
        mu, lam = p["mu"], p["lam"]
        return jnp.array([[lam / mu**3, 0.0], [0.0, 0.5 / lam**2]])

    def _terms(self, x, p):
        mu, lam = p["mu"], p["lam"]
        xs = jnp.where(x > 0, x, 1.0)
        r = jnp.sqrt(lam / xs)
        # exp(2 lam/mu) Phi(-r (x/mu + 1)) combined in logs: the factors over/underflow apart
        second = jnp.exp(2 * lam / mu + log_ndtr(-r * (xs / mu + 1)))
        return r * (xs / mu - 1), second

    def cdf(self, x, p):
        a, second = self._terms(x, p)
        return jnp.where(x > 0, ndtr(a) + second, 0.0)

    def sf(self, x, p):
        a, second = self._terms(x, p)
        return jnp.where(x > 0, ndtr(-a) - second, 1.0)

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

    def logpdf(self, x, p):
        s = p["sigma"]
        ok = x > 0
        return jnp.where(ok, log_safe(x, ok) - 2 * jnp.log(s) - 0.5 * (x / s) ** 2, -jnp.inf)

    def start(self, x, w):
        return {"sigma": np.sqrt((w * x * x).sum() / (2 * w.sum()))}

    def statistics(self, x, w):
        xs = jnp.where(w > 0, x, 1.0)
        return {"n": jnp.sum(w), "sum_sq": _wsum(w, xs * xs), "sum_log": _wsum(w, jnp.log(xs))}

    def loglik_from_statistics(self, s, p):
        sig = p["sigma"]
        return s["sum_log"] - 2 * s["n"] * jnp.log(sig) - 0.5 * s["sum_sq"] / sig**2

    def closed_form(self, s):
        return {"sigma": sqrt(s["sum_sq"] / (2 * s["n"]))}

    def statistics_closed_form_derivs(self, s):
        n, q = float(s["n"]), float(s["sum_sq"])
        sig = np.sqrt(q / (2 * n))
        return {"sigma": sig}, (float(s["sum_log"]) - 2 * n * np.log(sig) - 0.5 * q / sig**2,
                                np.array([-2 * n / sig + q / sig**3]), np.array([[2 * n / sig**2 - 3 * q / sig**4]]))

    def expected_information(self, p):
        return jnp.array([[4 / p["sigma"] ** 2]])

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

    def logpdf(self, x, p):
        s = p["sigma"]
        return jnp.where(x >= 0, _HALF_LOG_2_OVER_PI - jnp.log(s) - 0.5 * (x / s) ** 2, -jnp.inf)

    def start(self, x, w):
        return {"sigma": np.sqrt((w * x * x).sum() / w.sum())}

    def statistics(self, x, w):
        return {"n": jnp.sum(w), "sum_sq": _wsum(w, x * x)}

    def statistics_from_summary(self, s):
        return {"n": s["n"], "sum_sq": s["sum_sq"]}

    def loglik_from_statistics(self, s, p):
        sig = p["sigma"]
        return s["n"] * (_HALF_LOG_2_OVER_PI - jnp.log(sig)) - 0.5 * s["sum_sq"] / sig**2

    def closed_form(self, s):
        return {"sigma": sqrt(s["sum_sq"] / s["n"])}

    def statistics_closed_form_derivs(self, s):
        n, q = float(s["n"]), float(s["sum_sq"])
        sig = np.sqrt(q / n)
        return {"sigma": sig}, (n * (_HALF_LOG_2_OVER_PI - np.log(sig)) - 0.5 * q / sig**2,
                                np.array([-n / sig + q / sig**3]), np.array([[n / sig**2 - 3 * q / sig**4]]))

    def expected_information(self, p):
        return jnp.array([[2 / p["sigma"] ** 2]])

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

    def sf(self, x, p):
        lz = log_safe(x, x > 0) - jnp.log(p["scale"])
        return jnp.where(x > 0, jax.nn.sigmoid(-p["shape"] * lz), 1.0)

    def to_scipy(self, p):
        from scipy import stats as st

        return st.fisk(c=p["shape"], scale=p["scale"])


# ------------------------------------------------------------------------------------
def _uniform_ll(n, lo, hi, a, b):
    ok = (a <= lo) & (b >= hi) & (b > a)
    return jnp.where(ok, -n * log_safe(b - a, ok), -jnp.inf)


def _uniform_ll_in_b(b, a, lower, upper, w, exact):
    """The censored uniform log-likelihood as a function of the upper end (NumPy)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.where(exact, 1.0, np.minimum(upper, b) - np.maximum(lower, a))
        if np.any(width <= 0) or b <= a:
            return -np.inf
        return float(np.sum(w * np.log(width)) - w.sum() * np.log(b - a))


def _uniform_best_end(a, lower, upper, w, exact):
    """The best upper end for a fixed lower end ``a``: (b, whether it is at a kink)."""
    from scipy.optimize import brentq

    hi_e = upper[exact].max()
    right_lows = lower[~exact & np.isfinite(lower)]
    floor = max(hi_e, right_lows.max() if right_lows.size else -np.inf)
    kinks = np.unique(np.r_[hi_e, upper[~exact & np.isfinite(upper) & (upper > floor)]])
    kinks = kinks[kinks >= floor]
    W = w.sum()
    best = (-np.inf, floor, True)
    for k in kinks:
        best = max(best, (_uniform_ll_in_b(k, a, lower, upper, w, exact), k, True))
    ends = list(zip(np.r_[floor, kinks], np.r_[kinks, np.inf]))
    for left, right in ends:
        if not right > left:
            continue
        s = ~exact & (upper >= right)  # rows whose term moves with b on this piece
        c = np.maximum(lower[s], a)
        ws = w[s]

        def h(bb, c=c, ws=ws):
            return float(np.sum(ws * (bb - a) / (bb - c)) - W)

        lo_b = left + 1e-12 * (1 + abs(left)) if left == floor and left > hi_e else left
        hi_b = right if np.isfinite(right) else left + 2 * (left - a + 1)
        while not np.isfinite(right) and h(hi_b) > 0 and hi_b < 1e300:
            hi_b = left + 2 * (hi_b - left)
        if lo_b < hi_b and h(lo_b) > 0 > h(hi_b):
            root = brentq(h, lo_b, hi_b, xtol=1e-300, rtol=1e-15, maxiter=500)
            best = max(best, (_uniform_ll_in_b(root, a, lower, upper, w, exact), root, False))
    return best[1], best[2]


@register
class Uniform(Family):
    r"""Uniform(a, b), a <= x <= b.

    .. math:: f(x) = 1 / (b - a)

    scipy.stats.uniform(loc=a, scale=b - a). Closed form: ``a`` = min, ``b`` = max.
    Both estimates are sample extremes (non-regular): no Fisher standard errors.
    """

    name = "uniform"
    param_support = True
    params = {"a": C.real, "b": C.real}
    support = C.real
    nonregular = ("a", "b")

    def logpdf(self, x, p):
        a, b = p["a"], p["b"]
        ok = (x >= a) & (x <= b) & (b > a)
        return jnp.where(ok, -log_safe(b - a, ok), -jnp.inf)

    def start(self, x, w):
        lo, hi = float(x[w > 0].min()), float(x[w > 0].max())
        # strictly outside the extremes: a feasible point with finite log-likelihood
        pad = (hi - lo) / max(float(w.sum()), 1.0) + 1e-9 * (1 + abs(lo) + abs(hi))
        return {"a": lo - pad, "b": hi + pad}

    def statistics(self, x, w):
        return {"n": jnp.sum(w), "min": jnp.min(jnp.where(w > 0, x, jnp.inf)),
                "max": jnp.max(jnp.where(w > 0, x, -jnp.inf))}

    def merge(self, a, b):
        return {"n": a["n"] + b["n"], "min": np.minimum(a["min"], b["min"]),
                "max": np.maximum(a["max"], b["max"])}

    def statistics_from_summary(self, s):
        return {"n": s["n"], "min": s["min"], "max": s["max"]}

    def loglik_from_statistics(self, s, p):
        return _uniform_ll(s["n"], s["min"], s["max"], p["a"], p["b"])

    def closed_form(self, s):
        return {"a": s["min"], "b": s["max"]}

    def censored_mle(self, lower, upper, w):
        """The MLE from censored rows ``lower < X <= upper`` (``lower == upper``: exact,
        infinite ends open), and the end points that are non-regular there.

        Each row's term is ``log((min(u, b) - max(l, a)) / (b - a))`` (``-log(b - a)`` if
        exact). In ``b`` for a fixed ``a`` the log-likelihood has kinks only at the largest
        exact value (below it the likelihood is 0) and at the finite upper bounds of
        censored rows; between two kinks it is smooth and unimodal (its derivative is
        ``h(b) / (b - a)`` with ``h(b) = sum_S w (b - a) / (b - c) - W`` decreasing, ``S``
        the rows whose upper bound lies beyond the piece and ``c = max(l, a)``). So the best
        ``b`` for a fixed ``a`` is a kink or the root of ``h`` in a piece; ``a`` is the
        mirror image. Coordinate ascent alternates the two exact one-dimensional maxima
        (the kinks are parallel to the axes, so a point that neither move improves is a
        local maximum). An end point found at a kink is non-regular (the likelihood is not
        differentiable there; an exact value there is the classic sample extreme); one
        found at a root of ``h`` is a smooth stationary point, with Fisher standard errors.

        Returns ``({"a": a, "b": b}, nonregular names)``.
        """
        lower, upper, w = (np.asarray(v, dtype=float) for v in (lower, upper, w))
        exact = lower == upper
        if not exact.any():
            raise DegenerateDataError("a censored uniform needs at least one exact value to fix its end points")
        lo_e, hi_e = lower[exact].min(), upper[exact].max()
        a, b = lo_e - 1e-3 * (1 + abs(lo_e)), hi_e + 1e-3 * (1 + abs(hi_e))
        kinds = {}
        for _ in range(2000):
            b_new, kinds["b"] = _uniform_best_end(a, lower, upper, w, exact)
            a_neg, kinds["a"] = _uniform_best_end(-b_new, -upper, -lower, w, exact)
            a_new = -a_neg
            done = abs(a_new - a) + abs(b_new - b) <= 1e-14 * (abs(a_new) + abs(b_new) + (b_new - a_new))
            a, b = a_new, b_new
            if done:
                break
        return {"a": a, "b": b}, tuple(k for k in ("a", "b") if kinds[k])

    def cdf(self, x, p):
        return jnp.clip((x - p["a"]) / (p["b"] - p["a"]), 0.0, 1.0)

    def sf(self, x, p):
        return jnp.clip((p["b"] - x) / (p["b"] - p["a"]), 0.0, 1.0)

    def to_scipy(self, p):
        from scipy import stats as st

        return st.uniform(loc=p["a"], scale=p["b"] - p["a"])


# ------------------------------------------------------------------------------------
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
        # log I0(k) = log(i0e(k)) + k: i0e stays finite for large kappa
        val = k * (jnp.cos(x - mu) - 1) - jnp.log(i0e(k)) - _LOG2PI
        return jnp.where(ok, val, -jnp.inf)

    def start(self, x, w):
        sw = w.sum()
        c, s = (w * np.cos(x)).sum() / sw, (w * np.sin(x)).sum() / sw
        mu = float(np.arctan2(s, c))
        mu = float(np.clip(mu, -np.pi + 1e-6, np.pi - 1e-6))
        return {"mu": mu, "kappa": _kappa_from_r(np.hypot(c, s))}

    def statistics(self, x, w):
        return {"n": jnp.sum(w), "sum_cos": _wsum(w, jnp.cos(x)), "sum_sin": _wsum(w, jnp.sin(x))}

    def loglik_from_statistics(self, s, p):
        mu, k, n = p["mu"], p["kappa"], s["n"]
        proj = s["sum_cos"] * jnp.cos(mu) + s["sum_sin"] * jnp.sin(mu)
        return k * (proj - n) - n * (jnp.log(i0e(k)) + _LOG2PI)

    def expected_information(self, p):
        from jax.scipy.special import i1e

        k = p["kappa"]
        a = i1e(k) / i0e(k)  # A(kappa) = I1/I0
        return jnp.array([[k * a, 0.0], [0.0, 1 - a / k - a * a]])

    def sample(self, key, p, size):
        return _wrap(super().sample(key, p, size))

    def to_scipy(self, p):
        from scipy import stats as st

        return st.vonmises(p["kappa"], loc=p["mu"])


# ------------------------------------------------------------------------------------
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
        return np.log(2.0) - jnp.log(p["scale"]) - 0.5 * z * z - 0.5 * _LOG2PI + log_ndtr(p["shape"] * z)

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
        return ndtr(z) - 2 * owens_t(z, p["shape"])

    def sf(self, x, p):
        from jax.scipy.special import owens_t

        z = (x - p["loc"]) / p["scale"]
        return ndtr(-z) + 2 * owens_t(z, p["shape"])

    def to_scipy(self, p):
        from scipy import stats as st

        return st.skewnorm(p["shape"], loc=p["loc"], scale=p["scale"])

