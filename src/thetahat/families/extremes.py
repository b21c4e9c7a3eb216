"""Extreme-value families: generalised extreme value, generalised Pareto, Pareto.

GEV and GPD write every power ``(1 + xi z)^(-1/xi)`` as ``exp(-t)`` with
``t = log1p(xi z) / xi = z * log1p_ratio(xi z)``, which is smooth (to all orders)
through ``xi = 0``, the Gumbel / exponential limit.
"""

from __future__ import annotations

import numpy as np

from .. import constraints as C
from .._jax import jax, jnp
from .._xp import namespace
from ..errors import SupportError
from ._base import Family, _fmt, log, register, weighted_moments
from .numerics import EULER_GAMMA, log1p_ratio, masked


def _t_of(z, xi):
    """(inside support, t = log1p(xi z)/xi) with a safe value off the support."""
    y = xi * z
    ok = y > -1.0
    zs = jnp.where(ok, z, 0.0)
    # The series form is needed only as xi -> 0, where log1p(xi z)/xi cancels; xi is one
    # scalar for the whole sample, so a cond picks the cheap direct form everywhere else
    # (under vmap over observations the predicate stays unbatched and the cond stays a cond).
    return ok, jax.lax.cond(jnp.abs(xi) < 1e-3,
                            lambda: zs * log1p_ratio(xi * zs),
                            lambda: jnp.log1p(xi * zs) / xi)


PWM_ROWS = 1 << 14  # a systematic subsample is plenty for a start


def _gev_pwm(x):
    """(loc, scale, shape) by probability-weighted moments (Hosking, Wallis & Wood 1985),
    on a sorted systematic subsample; None when they are not usable."""
    import math

    if x.size > 2 * PWM_ROWS:
        x = x[::x.size // PWM_ROWS]
    n = x.size
    if n < 3:
        return None
    y = np.sort(x)
    i = np.arange(n, dtype=float)
    b0 = y.mean()
    b1 = np.dot(i / (n - 1), y) / n
    b2 = np.dot(i * (i - 1) / ((n - 1) * (n - 2)), y) / n
    den = 3.0 * b2 - b0
    if not (den != 0 and 2.0 * b1 - b0 > 0):
        return None
    c = (2.0 * b1 - b0) / den - math.log(2.0) / math.log(3.0)
    k = 7.8590 * c + 2.9554 * c * c  # Hosking's k = -shape
    if not (np.isfinite(k) and -0.9 < k < 5.0):
        return None
    if abs(k) < 1e-6:  # the Gumbel limit
        s = (2.0 * b1 - b0) / math.log(2.0)
        return b0 - EULER_GAMMA * s, s, 0.0
    g = math.gamma(1.0 + k)
    s = (2.0 * b1 - b0) * k / (g * (1.0 - 2.0 ** (-k)))
    if not (np.isfinite(s) and s > 0):
        return None
    return b0 + s * (g - 1.0) / k, s, -k


_UNBOUNDED = ("the likelihood is unbounded for shape < -1 (the density at the upper end of the support is infinite, and the end can sit on the largest observation: Smith 1985), and there is no local maximum with shape > -1 for these data; no MLE exists: fix the shape (fixed={'shape': ...}) or use more data")


@register
class GEV(Family):
    r"""Generalised extreme value (loc mu, scale sigma, shape xi); xi > 0 is the heavy (Frechet) tail.

    f(x) = (1/sigma) (1 + xi z)^(-1 - 1/xi) exp(-(1 + xi z)^(-1/xi)), z = (x - mu) / sigma,
    on 1 + xi z > 0; xi = 0 is the Gumbel law exp(-z - e^(-z)) / sigma.

    scipy.stats.genextreme(c=-shape, loc, scale) (scipy's c has the opposite sign).
    No closed form. Start: the Gumbel moments with xi = 0.1, shrunk towards 0 until
    every observation lies strictly inside the support.
    """

    name = "gev"
    aliases = ("genextreme",)
    param_support = True
    params = {"loc": C.real, "scale": C.positive, "shape": C.real}
    unbounded_below = {"shape": (-1.0, _UNBOUNDED)}
    support = C.real

    def logpdf(self, x, p):
        sigma, xi = p["scale"], p["shape"]
        ok, t = _t_of((x - p["loc"]) / sigma, xi)
        return jnp.where(ok, -(1.0 + xi) * t - jnp.exp(-t) - jnp.log(sigma), -jnp.inf)

    def start(self, x, w):
        live = w > 0
        lo, hi = np.min(x[live]), np.max(x[live])
        pwm = _gev_pwm(x[live]) if np.all(w[live] == 1.0) else None
        if pwm is not None:
            # Hosking's probability-weighted moments: usually within a fraction of a standard
            # error of the MLE, which saves Newton one or two passes over the data
            mu, s, xi = pwm
            if xi > 0 and 1.0 + xi * (lo - mu) / s <= 0:  # every observation strictly inside
                xi = 0.9 * s / (mu - lo)
            elif xi < 0 and 1.0 + xi * (hi - mu) / s <= 0:
                xi = -0.9 * s / (hi - mu)
            return {"loc": mu, "scale": s, "shape": xi}
        m, v = weighted_moments(x, w)
        s = np.sqrt(6.0 * v) / np.pi
        mu = m - EULER_GAMMA * s
        xi = 0.1
        if mu - lo > 0:  # need 1 + xi (lo - mu)/s > 0, with room to spare
            xi = min(xi, 0.5 * s / (mu - lo))
        return {"loc": mu, "scale": s, "shape": xi}

    def _t(self, x, p):
        xi = p["shape"]
        ok, t = _t_of((x - p["loc"]) / p["scale"], xi)
        # off the support: below the lower end (xi > 0) F = 0, above the upper end (xi < 0) F = 1
        below = (~ok) & (xi > 0)
        return jnp.where(ok, t, jnp.where(below, -jnp.inf, jnp.inf))

    def cdf(self, x, p):
        return jnp.exp(-jnp.exp(-self._t(x, p)))

    def sf(self, x, p):
        return -jnp.expm1(-jnp.exp(-self._t(x, p)))

    def to_scipy(self, p):
        from scipy import stats as st

        return st.genextreme(c=-np.asarray(p["shape"], dtype=float), loc=p["loc"], scale=p["scale"])


@register
class GenPareto(Family):
    r"""Generalised Pareto (scale sigma, shape xi) above a known threshold loc (default 0).

    f(x) = (1/sigma) (1 + xi z)^(-1 - 1/xi), z = (x - loc) / sigma >= 0, with
    1 + xi z > 0 (so z < -1/xi when xi < 0); xi = 0 is the exponential law.

    scipy.stats.genpareto(c=shape, loc=loc, scale=scale). No closed form. The
    threshold is fixed, not estimated: ``fixed={"loc": u}``. Start: the method of
    moments (xi = (1 - m^2/v)/2, sigma = m (1 + m^2/v)/2), moved inside the support.
    """

    name = "genpareto"
    aliases = ("gpd",)
    param_support = True
    params = {"scale": C.positive, "shape": C.real}
    unbounded_below = {"shape": (-1.0, _UNBOUNDED)}
    known = {"loc": 0.0}
    support = C.real

    def check_support(self, x, fixed=None):
        loc = float((fixed or {}).get("loc", 0.0))
        bad = ~(np.isfinite(x) & (x >= loc))
        if bad.any():
            i = int(np.argmax(bad))
            raise SupportError(f"value {_fmt(x[i])} at data row {i + 1} is outside the support of genpareto "
                               f"(x >= loc = {loc:g})")

    def logpdf(self, x, p):
        sigma, xi = p["scale"], p["shape"]
        z = (x - p.get("loc", 0.0)) / sigma
        ok, t = _t_of(z, xi)
        ok = ok & (z >= 0)
        return jnp.where(ok, -(1.0 + xi) * t - jnp.log(sigma), -jnp.inf)

    def start(self, x, w):
        # moments of the exceedances over the known threshold (bound by the engine)
        loc = float(self.known_values.get("loc", 0.0))
        xs = x[w > 0]
        m, v = weighted_moments(x - loc, w)
        r = m * m / v
        xi, sigma = max(0.5 * (1.0 - r), -0.5), 0.5 * m * (1.0 + r)
        zmax = xs.max() - loc
        if xi < 0 and 1.0 + xi * zmax / sigma < 0.1:
            sigma = -xi * zmax / 0.9  # widen the scale, keeping the tail shape
        return {"scale": sigma, "shape": xi}

    def _t(self, x, p):
        z = (x - p.get("loc", 0.0)) / p["scale"]
        ok, t = _t_of(z, p["shape"])
        return jnp.where(z < 0, 0.0, jnp.where(ok, t, jnp.inf))

    def cdf(self, x, p):
        return -jnp.expm1(-self._t(x, p))

    def sf(self, x, p):
        return jnp.exp(-self._t(x, p))

    def to_scipy(self, p):
        from scipy import stats as st

        return st.genpareto(c=p["shape"], loc=p.get("loc", 0.0), scale=p["scale"])


@register
class Pareto(Family):
    r"""Pareto (shape b, scale xm): f(x) = b xm^b / x^(b+1), x >= xm.

    scipy.stats.pareto(b, scale=xm). Closed form: xm = min x, b = n / sum log(x / xm),
    from the statistics (n, sum log x, min x). xm is non-regular (its MLE is the
    sample minimum), so it gets no Fisher standard error and b's is conditional on xm.
    """

    name = "pareto"
    param_support = True
    params = {"shape": C.positive, "scale": C.positive}
    support = C.positive
    nonregular = ("scale",)

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, b, xm = positive("x"), positive("b"), positive("x_m")
        return SymbolicFamily(
            "pareto", b * xm**b / x ** (b + 1), x, [b], ["shape"], (xm, sp.oo), known={"scale": xm},
            boundary_estimators={"scale": ("the sample minimum", np.min)},
            note="the scale x_m is treated as known; its own MLE is the sample minimum (the likelihood "
                 "x_m^(n b) rises in x_m up to the smallest observation), so evaluate() uses min x unless "
                 "scale is given")

    def logpdf(self, x, p):
        b, xm = p["shape"], p["scale"]
        ok = x >= xm
        z = jnp.where(ok, x / xm, 1.0)  # scipy's order of operations: x / scale first
        return jnp.where(ok, jnp.log(b) - (b + 1.0) * jnp.log(z) - jnp.log(xm), -jnp.inf)

    def start(self, x, w):
        lo = np.min(x[w > 0])
        xm = lo * (1.0 - 1e-3)  # strictly inside, so the log-likelihood is smooth there
        return {"shape": w.sum() / (w * np.log(x / xm)).sum(), "scale": xm}

    def statistics(self, x, w):
        xp = namespace(x, w)
        return {"n": xp.sum(w), "sum_log": xp.sum(w * xp.log(masked(x, w, 1.0))),
                "min": xp.min(masked(x, w, np.inf))}

    def merge(self, a, b):
        return {"n": a["n"] + b["n"], "sum_log": a["sum_log"] + b["sum_log"],
                "min": np.minimum(a["min"], b["min"])}

    def loglik_from_statistics(self, s, p):
        b, xm = p["shape"], p["scale"]
        ll = s["n"] * (jnp.log(b) + b * jnp.log(xm)) - (b + 1.0) * s["sum_log"]
        return jnp.where(s["min"] >= xm, ll, -jnp.inf)

    def closed_form(self, s):
        xm = s["min"]
        return {"shape": s["n"] / (s["sum_log"] - s["n"] * log(xm)), "scale": xm}

    def _logsf(self, x, p):
        xm = p["scale"]
        return -p["shape"] * jnp.log(jnp.maximum(x, xm) / xm)  # 0 below xm

    def cdf(self, x, p):
        return -jnp.expm1(self._logsf(x, p))

    def sf(self, x, p):
        return jnp.exp(self._logsf(x, p))

    def to_scipy(self, p):
        from scipy import stats as st

        return st.pareto(p["shape"], scale=p["scale"])
