"""The generalized gamma in Prentice's (1974) parametrisation, as R's flexsurv writes it: the
survival workhorse that holds the weibull, the gamma and the lognormal."""

import math

import numpy as np

from .. import constraints as C
from .._jax import jnp, jsp, lazy
from ._base import Family, Predictor, register, weighted_moments

special = lazy("thetahat.families.special")  # (JAX functions: imported at the first use)

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_SMALL_Q = 0.15  # below: Stirling's series for the log-gamma term (y = 1/Q^2 above 44)
_SMALL_U = 1e-3  # below: the Taylor series of (e^u - 1 - u) / u^2
_NORMAL_Q = 0.01  # below: the cdf by its expansion about the normal's, to Q^4 (the incomplete gamma of
# a = Q^-2 above 10^4 loses accuracy)


@register
class GeneralizedGamma(Family):
    r"""Generalized gamma with location ``mu``, scale ``sigma`` and shape ``Q`` of log x, x > 0.

    With w = (log x - mu) / sigma and Q != 0, Q^-2 e^(Q w) is gamma(Q^-2) distributed:

    .. math:: f(x) = |Q| (Q^{-2})^{Q^{-2}} e^{Q^{-2} (Q w - e^{Q w})} / (\sigma x \Gamma(Q^{-2}))

    and Q = 0 is its limit, the lognormal(mu, sigma). Q = 1 is the weibull (shape 1/sigma,
    scale e^mu); Q = sigma is the gamma (shape Q^-2, rate 1 / (Q^2 e^mu)); Q < 0 the inverse
    generalized gamma. The lognormal sits inside the parameter space, so the three special
    cases are fits with Q held fixed. This is R's ``flexsurv`` ``dgengamma``; for Q != 0,
    scipy.stats.gengamma(Q^-2, Q / sigma, scale=e^mu (Q^2)^(sigma / Q)). The
    log-density is written so that it is exact at and near Q = 0 (Stirling's series for the
    log-gamma term, a Taylor series for the exponential one). No closed form: Newton from the
    lognormal of log x's moments (Q = 0).

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> fam = thetahat.families.get_family("gengamma")
    >>> x = fam.to_scipy({"mu": 1.0, "sigma": 0.5, "Q": 0.8}).rvs(size=4000, random_state=2)
    >>> f = thetahat.fit(x, "gengamma")
    >>> bool(abs(f.params["Q"] - 0.8) < 4 * f.se["Q"])
    True
    """

    name = "gengamma"
    aliases = ("generalized_gamma", "gengamma_prentice")
    params = {"mu": C.real, "sigma": C.positive, "Q": C.real}
    support = C.positive
    predictor = Predictor("log_scale", ("log",), lambda m, q: {"mu": jnp.log(m), "sigma": q["sigma"], "Q": q["Q"]},
                          (("sigma", C.positive), ("Q", C.real)))

    def _w(self, x, p):
        return (jnp.log(jnp.where(x > 0, x, 1.0)) - p["mu"]) / p["sigma"]

    def logpdf(self, x, p):
        w, q = self._w(x, p), p["Q"]
        val = -jnp.log(p["sigma"]) - jnp.log(jnp.where(x > 0, x, 1.0)) - _log_gamma_term(q) - w * w * _exp_term(q * w)
        return jnp.where(x > 0, val, -jnp.inf)

    def start(self, x, w):
        m, v = weighted_moments(np.log(x), w)
        return {"mu": float(m), "sigma": float(np.sqrt(v)) if v > 0 else 1.0, "Q": 0.0}

    def cdf(self, x, p):
        return self._tail(x, p, lower=True)

    def sf(self, x, p):
        return self._tail(x, p, lower=False)

    def _tail(self, x, p, lower):
        """P(X <= x) (``lower``) or P(X > x): the regularised incomplete gamma of Q^-2 e^(Q w), its
        complement where Q < 0, and near Q = 0 the normal's with its expansion in Q."""
        w, q = self._w(x, p), p["Q"]
        far = jnp.abs(q) >= _NORMAL_Q
        qs = jnp.where(far, q, 1.0)
        a = 1.0 / (qs * qs)
        z = jnp.where(x > 0, a * jnp.exp(jnp.minimum(qs * w, 700.0)), 0.0)
        want_p = (q > 0) == lower  # P(a, z) is the cdf for Q > 0, the sf for Q < 0
        exact = jnp.where(want_p, special.gammainc(a, z), special.gammaincc(a, z))
        ws = jnp.where(far, 0.0, w)
        corr = _cdf_correction(ws, q) * jnp.exp(-0.5 * ws * ws - _HALF_LOG_2PI)
        near = jsp.ndtr(ws) + corr if lower else jsp.ndtr(-ws) - corr
        return jnp.where(x > 0, jnp.where(far, exact, near), 0.0 if lower else 1.0)

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`), for Q > 0."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, mu, s, q = positive("x"), sp.Symbol("mu", real=True), positive("sigma"), positive("Q")
        w = (sp.log(x) - mu) / s
        dens = q * (q ** -2) ** (q ** -2) * sp.exp(q ** -2 * (q * w - sp.exp(q * w))) / (s * x * sp.gamma(q ** -2))
        return SymbolicFamily("gengamma", dens, x, [mu, s, q], ["mu", "sigma", "Q"], (0, sp.oo))

    def to_scipy(self, p):
        from scipy import stats as st

        mu, sigma, q = float(p["mu"]), float(p["sigma"]), float(p["Q"])
        if q == 0.0:
            return st.lognorm(sigma, scale=math.exp(mu))
        return st.gengamma(q ** -2, q / sigma, scale=math.exp(mu + 2.0 * sigma / q * math.log(abs(q))))


def _log_gamma_term(q):
    """lgamma(y) - (y - 1/2) log y + y with y = Q^-2: the log-density's constant, less its value
    1/2 log 2 pi at Q = 0; by Stirling's series where Q is small, where the direct form cancels."""
    q2 = q * q
    small = jnp.abs(q) < _SMALL_Q
    series = _HALF_LOG_2PI + q2 / 12.0 - q2 ** 3 / 360.0 + q2 ** 5 / 1260.0 - q2 ** 7 / 1680.0
    y = 1.0 / jnp.where(small, 1.0, q2)
    direct = jsp.gammaln(y) - (y - 0.5) * jnp.log(y) + y
    return jnp.where(small, series, direct)


def _exp_term(u):
    """(e^u - 1 - u) / u^2, by its Taylor series near u = 0, where the direct form cancels."""
    small = jnp.abs(u) < _SMALL_U
    us = jnp.where(small, 1.0, u)
    direct = (jnp.expm1(us) - us) / (us * us)
    series = 0.5 + u / 6.0 + u * u / 24.0 + u ** 3 / 120.0
    return jnp.where(small, series, direct)


def _cdf_correction(w, q):
    """F(w; Q) - Phi(w), divided by phi(w), to Q^4: the density's expansion about the normal,
    e^(-w^2 (e^u - 1 - u) / u^2 + w^2 / 2 - Q^2 / 12) with u = Q w, integrated term by term (by
    SymPy; tested against mpmath's incomplete gamma). Its error is O(Q^5), below 1e-10 for
    |Q| < 0.01."""
    w2 = w * w
    return (q * (w2 + 2.0) / 6.0
            - q ** 2 * w * (w2 * w2 + 2.0 * w2 + 6.0) / 72.0
            + q ** 3 * (5.0 * w2 ** 4 - 5.0 * w2 ** 3 + 24.0 * w2 ** 2 + 6.0 * w2 + 12.0) / 6480.0
            - q ** 4 * w * (5.0 * w2 ** 5 - 35.0 * w2 ** 4 + 36.0 * w2 ** 3 - 144.0 * w2 ** 2 - 180.0 * w2 - 540.0)
            / 155520.0)
