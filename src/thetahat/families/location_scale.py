"""Location-scale families on the real line: t, cauchy, laplace, logistic, gumbel."""

from __future__ import annotations

import numpy as np

from .. import constraints as C
from .._jax import jnp, jsp, lazy
from ._base import Family, Limit, register, weighted_moments
from .numerics import EULER_GAMMA, weighted_median, weighted_quantile

special = lazy("thetahat.families.special")  # (JAX functions: imported at the first use)

_LOGPI = float(np.log(np.pi))


_RATIO_SERIES = 1e2  # above this a, the asymptotic series of _half_gamma_ratio is exact in float64


def _half_gamma_ratio(a):
    """log Gamma(a + 1/2) - log Gamma(a) - log(a) / 2, without the cancellation of the two
    log-gammas at large a (df of 1e7 lost ~1e-8 per observation, enough to make a t's
    likelihood exceed the normal's that it approaches): the series -1/(8a) + 1/(192a^3)
    - 1/(640a^5) there (error below 1e-17 for a > 100)."""
    big = a > _RATIO_SERIES
    ab = jnp.where(big, a, _RATIO_SERIES)  # double where: each branch sees only arguments it handles
    asmall = jnp.where(big, 1.0, a)
    inv = 1.0 / ab
    series = inv * (-0.125 + inv * inv * (1.0 / 192.0 - inv * inv / 640.0))
    direct = jsp.gammaln(asmall + 0.5) - jsp.gammaln(asmall) - 0.5 * jnp.log(asmall)
    return jnp.where(big, series, direct)


def _t_score(x, w, p):
    """d loglik / d(1/df) at df = inf: sum w (z^4 - 2 z^2 - 1) / 4, z standardised by the normal MLE."""
    z2 = ((x - p["mu"]) / p["sigma"]) ** 2
    return float(np.sum(w * (z2 * z2 - 2.0 * z2 - 1.0)) / 4.0)


def _iqr_half(x, w):
    lo, hi = weighted_quantile(x, w, [0.25, 0.75])
    half = 0.5 * (hi - lo)
    if not half > 0:  # more than half the data tied: fall back on the spread
        half = np.sqrt(weighted_moments(x, w)[1])
    return half


@register
class StudentT(Family):
    r"""Student t(df nu, loc mu, scale sigma).

    f(x) = Gamma((nu+1)/2) / (Gamma(nu/2) sqrt(nu pi) sigma) (1 + z^2/nu)^(-(nu+1)/2),
    z = (x - mu) / sigma.

    scipy.stats.t(df, loc, scale). No closed form. Start: the median, a moment-based
    df (from the kurtosis, 6/(nu-4)) and the scale matching the interquartile range.
    Expected information per observation, in the order (df, loc, scale): the
    Lange-Little-Taylor (1989) matrix.
    """

    name = "t"
    aliases = ("student_t", "studentt")
    params = {"df": C.positive, "loc": C.real, "scale": C.positive}
    support = C.real
    limits = (Limit("normal", {"df": np.inf}, {"loc": "mu", "scale": "sigma"}, _t_score,
                    "the t's df runs to infinity: the normal fits as well"),)
    collapses_on_ties = "scale"

    def logpdf(self, x, p):
        nu, mu, sigma = p["df"], p["loc"], p["scale"]
        z = (x - mu) / sigma
        return (_half_gamma_ratio(0.5 * nu) - 0.5 * (jnp.log(2.0) + _LOGPI)
                - 0.5 * (nu + 1.0) * jnp.log1p(z * z / nu) - jnp.log(sigma))

    def start(self, x, w):
        m, v = weighted_moments(x, w)
        k = (w * (x - m) ** 4).sum() / w.sum() / v**2 - 3.0
        nu = float(np.clip(4.0 + 6.0 / k, 4.5, 50.0)) if k > 0 else 50.0
        med = weighted_median(x, w)
        # the t quartile for this df, without scipy: near 0.6745 (normal) .. 0.741 (df 4.5)
        q75 = 0.6745 + 0.33 / nu
        return {"df": nu, "loc": med, "scale": _iqr_half(x, w) / q75}

    def expected_information(self, p):
        nu, sigma = p["df"], p["scale"]
        inn = 0.25 * (jsp.polygamma(1, 0.5 * nu) - jsp.polygamma(1, 0.5 * (nu + 1.0))) \
            - (nu + 5.0) / (2.0 * nu * (nu + 1.0) * (nu + 3.0))
        ins = -2.0 / (sigma * (nu + 1.0) * (nu + 3.0))
        imm = (nu + 1.0) / ((nu + 3.0) * sigma**2)
        iss = 2.0 * nu / ((nu + 3.0) * sigma**2)
        return jnp.array([[inn, 0.0, ins], [0.0, imm, 0.0], [ins, 0.0, iss]])

    def _halves(self, x, p):
        """(centre, tail, near, z): for z^2 < nu, F(z) = 1/2 + sign(z) * centre with
        centre = I_{z^2/(nu+z^2)}(1/2, nu/2) / 2; beyond, P(T > |z|) = tail =
        I_{nu/(nu+z^2)}(nu/2, 1/2) / 2. Each form is accurate (and its derivatives finite)
        where it is used; the other sees a stand-in argument."""
        nu = p["df"]
        z = (x - p["loc"]) / p["scale"]
        near = z * z < nu
        # z = 0 exactly: 1e-150 gives the centre's derivative its limit (the density at 0)
        zc = jnp.where(z == 0, 1e-150, z)
        # one incomplete beta per element, its arguments chosen by the branch
        half = 0.5 * special.betainc(jnp.where(near, 0.5, 0.5 * nu), jnp.where(near, 0.5 * nu, 0.5),
                             jnp.where(near, zc * zc, nu) / (nu + zc * zc))
        return jnp.sign(zc) * half, half, near, z

    def cdf(self, x, p):
        centre, tail, near, z = self._halves(x, p)
        return jnp.where(near, 0.5 + centre, jnp.where(z < 0, tail, 1.0 - tail))

    def sf(self, x, p):
        centre, tail, near, z = self._halves(x, p)
        return jnp.where(near, 0.5 - centre, jnp.where(z > 0, tail, 1.0 - tail))

    def to_scipy(self, p):
        from scipy import stats as st

        return st.t(p["df"], loc=p["loc"], scale=p["scale"])


@register
class Cauchy(Family):
    r"""Cauchy(loc mu, scale sigma): f(x) = 1 / (pi sigma (1 + z^2)), z = (x - mu) / sigma.

    scipy.stats.cauchy(loc, scale). No closed form. Start: the median and half the
    interquartile range (both exact for the Cauchy quartiles). Expected information
    per observation: I / (2 sigma^2).
    """

    name = "cauchy"
    params = {"loc": C.real, "scale": C.positive}
    support = C.real
    collapses_on_ties = "scale"  # more than half the data tied: unbounded (Copas 1975)

    def logpdf(self, x, p):
        z = (x - p["loc"]) / p["scale"]
        return -_LOGPI - jnp.log1p(z * z) - jnp.log(p["scale"])

    def start(self, x, w):
        return {"loc": weighted_median(x, w), "scale": _iqr_half(x, w)}

    def expected_information(self, p):
        v = 0.5 / p["scale"] ** 2
        return jnp.array([[v, 0.0], [0.0, v]])

    def cdf(self, x, p):
        # arctan2 keeps full relative precision in the far left tail
        return jnp.arctan2(1.0, -(x - p["loc"]) / p["scale"]) / jnp.pi

    def sf(self, x, p):
        return jnp.arctan2(1.0, (x - p["loc"]) / p["scale"]) / jnp.pi

    def to_scipy(self, p):
        from scipy import stats as st

        return st.cauchy(loc=p["loc"], scale=p["scale"])


@register
class Laplace(Family):
    r"""Laplace(loc mu, scale b): f(x) = exp(-|x - mu| / b) / (2 b).

    scipy.stats.laplace(loc, scale). Closed form: mu = the (weighted) median,
    b = mean |x - mu|. The log-likelihood is not twice differentiable in mu, so
    standard errors use the expected information, I / b^2 per observation.
    """

    name = "laplace"
    params = {"loc": C.real, "scale": C.positive}
    support = C.real
    information = "expected"

    def logpdf(self, x, p):
        b = p["scale"]
        return -jnp.abs((x - p["loc"]) / b) - jnp.log(2.0 * b)

    def start(self, x, w):
        return self.closed_form_data(x, w)

    def closed_form_data(self, x, w):
        return self.closed_form_derivs(x, w)[0]

    def closed_form_derivs(self, x, w):
        r"""The estimates, and the log-likelihood with its gradient and Hessian in (loc, scale)
        there, from one selection and one pass over the data (no compiled pass).

        With :math:`S = \sum w |x - \mu|` and :math:`n = \sum w`: :math:`\ell = -n \log 2b - S/b`,
        :math:`\partial\ell/\partial b = -n/b + S/b^2` and :math:`\partial^2\ell/\partial b^2 =
        n/b^2 - 2S/b^3`. In :math:`\mu` the log-likelihood is not differentiable at the data
        points; a (weighted) median maximises it, so 0 lies in its subdifferential there, and
        the gradient reports that minimum-norm subgradient, 0, with zero second derivatives in
        :math:`\mu` (:math:`|t|` is piecewise linear).
        """
        x = np.asarray(x, dtype=float)
        if w is None:  # (no array of unit weights: at 10^7 rows it cost as much as the median)
            n = x.shape[0]
            k = n // 2
            part = np.partition(x, [k - 1, k] if n % 2 == 0 else [k])  # a copy: the deviations go in it
            mu = float(0.5 * (part[k - 1] + part[k])) if n % 2 == 0 else float(part[k])
            dev = np.subtract(part, mu, out=part)
            total, S = float(n), float(np.add.reduce(np.abs(dev, out=dev)))
        else:
            w = np.asarray(w, dtype=float)
            mu = weighted_median(x, w)
            total, S = float(w.sum()), float(w @ np.abs(x - mu))
        b = S / total
        est = {"loc": mu, "scale": b}
        if not b > 0:
            return est, None
        v = -total * np.log(2 * b) - S / b
        grad = np.array([0.0, -total / b + S / b**2])
        hess = np.array([[0.0, 0.0], [0.0, total / b**2 - 2 * S / b**3]])
        return est, (v, grad, hess)

    def expected_information(self, p):
        v = 1.0 / p["scale"] ** 2
        return jnp.array([[v, 0.0], [0.0, v]])

    def cdf(self, x, p):
        z = (x - p["loc"]) / p["scale"]
        return jnp.where(z < 0, 0.5 * jnp.exp(jnp.minimum(z, 0.0)), 1.0 - 0.5 * jnp.exp(-jnp.maximum(z, 0.0)))

    def sf(self, x, p):
        z = (x - p["loc"]) / p["scale"]
        return jnp.where(z > 0, 0.5 * jnp.exp(-jnp.maximum(z, 0.0)), 1.0 - 0.5 * jnp.exp(jnp.minimum(z, 0.0)))

    def to_scipy(self, p):
        from scipy import stats as st

        return st.laplace(loc=p["loc"], scale=p["scale"])


@register
class Logistic(Family):
    r"""Logistic(loc mu, scale s): f(x) = e^(-z) / (s (1 + e^(-z))^2), z = (x - mu) / s.

    scipy.stats.logistic(loc, scale). No closed form. Start: the moments
    (variance s^2 pi^2 / 3). Expected information per observation:
    diag(1/3, (pi^2 + 3)/9) / s^2.
    """

    name = "logistic"
    params = {"loc": C.real, "scale": C.positive}
    support = C.real

    def logpdf(self, x, p):
        s = p["scale"]
        y = -jnp.abs((x - p["loc"]) / s)  # symmetric: evaluate on the left half, no overflow
        return y - 2.0 * jnp.log1p(jnp.exp(y)) - jnp.log(s)

    def start(self, x, w):
        m, v = weighted_moments(x, w)
        return {"loc": m, "scale": np.sqrt(3.0 * v) / np.pi}

    def expected_information(self, p):
        s2 = p["scale"] ** 2
        return jnp.array([[1.0 / (3.0 * s2), 0.0], [0.0, (np.pi**2 + 3.0) / (9.0 * s2)]])

    def cdf(self, x, p):
        return jsp.expit((x - p["loc"]) / p["scale"])

    def sf(self, x, p):
        return jsp.expit(-(x - p["loc"]) / p["scale"])

    def to_scipy(self, p):
        from scipy import stats as st

        return st.logistic(loc=p["loc"], scale=p["scale"])


@register
class Gumbel(Family):
    r"""Gumbel for maxima (loc mu, scale s): f(x) = exp(-z - e^(-z)) / s, z = (x - mu) / s.

    scipy.stats.gumbel_r(loc, scale). No closed form. Start: the moments
    (s = sd sqrt 6 / pi, mu = mean - gamma_E s). Expected information per observation:
    [[1, -(1 - gamma_E)], [-(1 - gamma_E), pi^2/6 + (1 - gamma_E)^2]] / s^2.
    """

    name = "gumbel"
    aliases = ("gumbel_r",)
    params = {"loc": C.real, "scale": C.positive}
    support = C.real

    def logpdf(self, x, p):
        s = p["scale"]
        z = (x - p["loc"]) / s
        return -z - jnp.exp(-z) - jnp.log(s)

    def start(self, x, w):
        m, v = weighted_moments(x, w)
        s = np.sqrt(6.0 * v) / np.pi
        return {"loc": m - EULER_GAMMA * s, "scale": s}

    def expected_information(self, p):
        g1 = 1.0 - EULER_GAMMA
        s2 = p["scale"] ** 2
        return jnp.array([[1.0, -g1], [-g1, np.pi**2 / 6.0 + g1**2]]) / s2

    def cdf(self, x, p):
        return jnp.exp(-jnp.exp(-(x - p["loc"]) / p["scale"]))

    def sf(self, x, p):
        return -jnp.expm1(-jnp.exp(-(x - p["loc"]) / p["scale"]))

    def to_scipy(self, p):
        from scipy import stats as st

        return st.gumbel_r(loc=p["loc"], scale=p["scale"])
