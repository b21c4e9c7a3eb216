"""Families on the positive half-line and the unit interval: exponential, gamma, weibull, beta."""

from __future__ import annotations

import numpy as np

from .. import constraints as C
from .._jax import jax, jit, jnp, jsp, lazy
from .._xp import namespace
from ._base import Family, Predictor, register, weighted_moments
from .numerics import EULER_GAMMA, masked

special = lazy("thetahat.families.special")  # (JAX functions: imported at the first use)


def _trigamma(k):
    return jsp.polygamma(1, k)


@register
class Exponential(Family):
    r"""Exponential(lam), lam a rate: f(x) = lam exp(-lam x), x >= 0.

    scipy.stats.expon(scale=1/lam). Closed form: lam = 1 / mean, from the statistics
    (n, sum x). Expected information per observation: 1 / lam^2.

    Examples
    --------
    >>> import thetahat
    >>> round(thetahat.fit([1.0, 2.0, 3.0], "exponential").params["lam"], 12)
    0.5
    """

    name = "exponential"
    aliases = ("expon",)
    params = {"lam": C.positive}
    support = C.nonnegative  # 0 is in the support: the density is lam there
    predictor = Predictor("log_scale", ("log",), lambda m, q: {"lam": 1.0 / m})

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, lam = positive("x"), positive("lambda")
        return SymbolicFamily("exponential", lam * sp.exp(-lam * x), x, [lam], ["lam"], (0, sp.oo))

    def logpdf(self, x, p):
        lam = p["lam"]
        return jnp.where(x >= 0, jnp.log(lam) - lam * x, -jnp.inf)

    def start(self, x, w):
        m, _ = weighted_moments(x, w)
        return {"lam": 1.0 / m}

    def statistics(self, x, w):
        xp = namespace(x, w)
        return {"n": xp.sum(w), "sum": xp.sum(w * masked(x, w, 0.0))}

    summary_statistics = {"n": "n", "sum": "sum"}

    def loglik_from_statistics(self, s, p):
        lam = p["lam"]
        return s["n"] * namespace(s, lam).log(lam) - lam * s["sum"]

    def closed_form(self, s):
        return {"lam": s["n"] / s["sum"]}

    exponential_family = True

    def expected_information(self, p):
        return namespace(p).array([[1.0 / p["lam"] ** 2]])

    def cdf(self, x, p):
        return jnp.where(x > 0, -jnp.expm1(-p["lam"] * jnp.maximum(x, 0.0)), 0.0)

    def logsf(self, x, p):
        return -p["lam"] * jnp.maximum(x, 0.0)

    def sf(self, x, p):
        return jnp.where(x > 0, jnp.exp(-p["lam"] * jnp.maximum(x, 0.0)), 1.0)

    def to_scipy(self, p):
        from scipy import stats as st

        return st.expon(scale=1.0 / np.asarray(p["lam"], dtype=float))


@register
class Gamma(Family):
    r"""Gamma(shape k, rate lam): f(x) = lam^k x^(k-1) exp(-lam x) / Gamma(k), x > 0.

    scipy.stats.gamma(a=shape, scale=1/rate). The likelihood depends on the data only
    through (n, sum x, sum log x), so each Newton iteration costs O(1). Start: the
    method of moments (shape = mean^2/var, rate = mean/var). Expected information per
    observation: [[trigamma(k), -1/lam], [-1/lam, k/lam^2]].
    """

    name = "gamma"
    params = {"shape": C.positive, "rate": C.positive}
    support = C.positive
    predictor = Predictor("mean", ("log", "inverse", "identity"),
                          lambda m, q: {"shape": q["shape"], "rate": q["shape"] / m}, (("shape", C.positive),))

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, k, lam = positive("x"), positive("k"), positive("lambda")
        return SymbolicFamily("gamma", lam**k * x ** (k - 1) * sp.exp(-lam * x) / sp.gamma(k), x, [k, lam],
                              ["shape", "rate"], (0, sp.oo))

    def logpdf(self, x, p):
        k, lam = p["shape"], p["rate"]
        ok = x > 0
        y = jnp.where(ok, x, 1.0) * lam  # scipy's order of operations: y = x / scale
        return jnp.where(ok, jsp.xlogy(k - 1.0, y) - y - jsp.gammaln(k) + jnp.log(lam), -jnp.inf)

    def start(self, x, w):
        m, v = weighted_moments(x, w)
        return {"shape": m * m / v, "rate": m / v}

    def statistics(self, x, w):
        xp = namespace(x, w)
        xs = masked(x, w, 1.0)
        return {"n": xp.sum(w), "sum": xp.sum(w * xs), "sum_log": xp.sum(w * xp.log(xs))}

    def start_from_statistics(self, s):
        # Minka (2002): with d = log(mean) - mean(log x) >= 0, shape ~ (3 - d + sqrt((d - 3)^2 + 24 d)) / (12 d),
        # within 1.5 % of the MLE everywhere; the rate follows as shape / mean
        m = s["sum"] / s["n"]
        d = jnp.maximum(jnp.log(m) - s["sum_log"] / s["n"], 1e-12)
        k = (3.0 - d + jnp.sqrt((d - 3.0) ** 2 + 24.0 * d)) / (12.0 * d)
        return {"shape": k, "rate": k / m}

    def loglik_from_statistics(self, s, p):
        k, lam = p["shape"], p["rate"]
        return s["n"] * (k * jnp.log(lam) - jsp.gammaln(k)) + (k - 1.0) * s["sum_log"] - lam * s["sum"]

    def expected_information(self, p):
        k, lam = p["shape"], p["rate"]
        return jnp.array([[_trigamma(k), -1.0 / lam], [-1.0 / lam, k / lam**2]])

    def cdf(self, x, p):
        return special.gammainc(p["shape"], p["rate"] * jnp.maximum(x, 0.0))

    def sf(self, x, p):
        return special.gammaincc(p["shape"], p["rate"] * jnp.maximum(x, 0.0))

    def to_scipy(self, p):
        from scipy import stats as st

        return st.gamma(a=p["shape"], scale=1.0 / np.asarray(p["rate"], dtype=float))


@register
class Weibull(Family):
    r"""Weibull(shape c, scale s): f(x) = (c/s) (x/s)^(c-1) exp(-(x/s)^c), x > 0.

    scipy.stats.weibull_min(c=shape, scale=scale). No closed form. Start: log x has a
    (minimum) Gumbel law with standard deviation pi / (c sqrt 6) and mean
    log s - gamma_E / c, so the moments of log x give (c, s).
    """

    name = "weibull"
    aliases = ("weibull_min",)
    params = {"shape": C.positive, "scale": C.positive}
    support = C.positive
    predictor = Predictor("log_scale", ("log",), lambda m, q: {"shape": q["shape"], "scale": m},
                          (("shape", C.positive),), "scale")

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, c, s = positive("x"), positive("c"), positive("s")
        return SymbolicFamily("weibull", c / s * (x / s) ** (c - 1) * sp.exp(-((x / s) ** c)), x, [c, s],
                              ["shape", "scale"], (0, sp.oo))

    def logpdf(self, x, p):
        c, s = p["shape"], p["scale"]
        ok = x > 0
        # z = log(x/s): one log and one exp per observation (a variable power y**c costs
        # both plus more in its derivatives)
        z = jnp.log(jnp.where(ok, x, 1.0) / s)
        return jnp.where(ok, jnp.log(c / s) + (c - 1.0) * z - jnp.exp(c * z), -jnp.inf)

    def start(self, x, w):
        m, v = weighted_moments(np.log(x), w)
        c = np.pi / np.sqrt(6.0 * v)
        return {"shape": c, "scale": np.exp(m + EULER_GAMMA / c)}

    def profile_mle(self, x, w):
        """The MLE by Newton's method on the profile score of the shape alone.

        For a fixed shape c the scale's MLE is ``s^c = sum w x^c / sum w``; what remains
        is one equation, ``1/c + mean(log x) - S1/S0 = 0`` with ``S_k = sum w (log x)^k
        x^c``, decreasing in c, so its root is unique. Each iteration is one fused pass
        (one exp per observation) over ``log x``, computed once. Returns the estimates,
        whether the iteration converged, and (log-likelihood, gradient, Hessian) in
        (shape, scale) from the last pass's sums, so no further pass is needed.
        """
        from ..kernels.aligned import aligned_empty, bucket

        n = x.shape[0]
        b = bucket(n)
        xp, wp = aligned_empty((b,)), aligned_empty((b,))  # aligned: JAX reads them in place
        xp[:n], xp[n:] = x, 1.0
        wp[:n], wp[n:] = (1.0 if w is None else w), 0.0
        c, s, ok, v, g, h = _weibull_profile(xp, wp)
        return {"shape": float(c), "scale": float(s)}, bool(ok), (float(v), np.asarray(g), np.asarray(h))

    def profile_batch(self, X, W):
        """:meth:`profile_mle` for every row of a padded batch at once (``fit_batch``)."""
        return _weibull_profile_batch(X, W)

    def _power(self, x, p):
        """(x/scale)^shape, 0 for x <= 0: evaluated at a safe x there (0 ** shape has a NaN
        derivative in the shape), then masked."""
        ok = x > 0
        z = jnp.exp(p["shape"] * jnp.log(jnp.where(ok, x, 1.0) / p["scale"]))
        return jnp.where(ok, z, 0.0)

    def cdf(self, x, p):
        return -jnp.expm1(-self._power(x, p))

    def logsf(self, x, p):
        return -self._power(x, p)

    def sf(self, x, p):
        return jnp.exp(-self._power(x, p))

    def expected_information(self, p):
        c, s = p["shape"], p["scale"]
        g1 = 1.0 - EULER_GAMMA  # Gamma'(2) = 1 - gamma_E
        icc = (np.pi**2 / 6.0 + g1**2) / c**2
        ics = -g1 / s
        iss = c**2 / s**2
        return jnp.array([[icc, ics], [ics, iss]])

    def to_scipy(self, p):
        from scipy import stats as st

        return st.weibull_min(c=p["shape"], scale=p["scale"])


@register
class Beta(Family):
    r"""Beta(a, b): f(x) = x^(a-1) (1-x)^(b-1) / B(a, b), 0 < x < 1.

    scipy.stats.beta(a, b). The likelihood depends on the data only through
    (n, sum log x, sum log(1-x)). Start: the method of moments. Expected information
    per observation: [[psi1(a) - psi1(a+b), -psi1(a+b)], [-psi1(a+b), psi1(b) - psi1(a+b)]]
    with psi1 the trigamma function.
    """

    name = "beta"
    params = {"a": C.positive, "b": C.positive}
    support = C.unit_interval

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, a, b = positive("x"), positive("a"), positive("b")
        return SymbolicFamily("beta", x ** (a - 1) * (1 - x) ** (b - 1) / sp.beta(a, b), x, [a, b], ["a", "b"],
                              (0, 1))

    def logpdf(self, x, p):
        a, b = p["a"], p["b"]
        ok = (x > 0) & (x < 1)
        xs = jnp.where(ok, x, 0.5)
        return jnp.where(ok, jsp.xlog1py(b - 1.0, -xs) + jsp.xlogy(a - 1.0, xs) - special.betaln(a, b), -jnp.inf)

    def start(self, x, w):
        m, v = weighted_moments(x, w)
        common = m * (1.0 - m) / v - 1.0
        if not np.isfinite(common) or common <= 0:  # U-shaped data beyond the moment range
            common = 1.0
        return {"a": m * common, "b": (1.0 - m) * common}

    def statistics(self, x, w):
        xp = namespace(x, w)
        xs = masked(x, w, 0.5)
        return {"n": xp.sum(w), "sum_log": xp.sum(w * xp.log(xs)), "sum_log1m": xp.sum(w * xp.log1p(-xs))}

    def loglik_from_statistics(self, s, p):
        a, b = p["a"], p["b"]
        return (a - 1.0) * s["sum_log"] + (b - 1.0) * s["sum_log1m"] - s["n"] * special.betaln(a, b)

    def expected_information(self, p):
        a, b = p["a"], p["b"]
        tab = _trigamma(a + b)
        return jnp.array([[_trigamma(a) - tab, -tab], [-tab, _trigamma(b) - tab]])

    def cdf(self, x, p):
        return special.betainc(p["a"], p["b"], jnp.clip(x, 0.0, 1.0))

    def sf(self, x, p):
        return special.betaincc(p["a"], p["b"], jnp.clip(x, 0.0, 1.0))

    def to_scipy(self, p):
        from scipy import stats as st

        return st.beta(p["a"], p["b"])


def _weibull_profile_batch(x, w):
    """:func:`_weibull_profile` for a batch of padded rows (``w`` = 0 on padding):
    (params, converged, log-likelihood, gradient, Hessian), the batch first."""
    c, s, ok, v, g, h = _weibull_profile_rows(x, w)
    return {"shape": c, "scale": s}, ok, v, g, h


@jit
def _weibull_profile_rows(x, w):
    return jax.vmap(_weibull_profile_core)(x, w)


@jit
def _weibull_profile(x, w):
    return _weibull_profile_core(x, w)


def _weibull_profile_core(x, w):
    z = jnp.log(jnp.where(w > 0, x, 1.0))
    W = jnp.sum(w)
    zbar = jnp.sum(w * z) / W
    zmax = jnp.max(jnp.where(w > 0, z, -jnp.inf))
    d = z - zmax  # <= 0 on the data: exp(c d) never overflows
    var = jnp.sum(w * (z - zbar) ** 2) / W

    def sums(c):
        e = w * jnp.exp(c * d)
        return jnp.sum(e), jnp.sum(e * d), jnp.sum(e * d * d)

    def score(c):
        s0, s1, s2 = sums(c)
        m1 = s1 / s0
        g = 1.0 / c + (zbar - zmax) - m1
        dg = -1.0 / c**2 - (s2 / s0 - m1 * m1)
        return g, dg

    def body(state):
        c, _, it, _ = state
        g, dg = score(c)
        step = -g / dg
        c_new = jnp.where(c + step > 0, c + step, c / 2)  # g decreases in c: stay positive
        return c_new, jnp.abs(c_new - c), it + 1, g

    def cond(state):
        c, delta, it, _ = state
        return (delta > 1e-15 * c) & (it < 100)

    c0 = jnp.pi / jnp.sqrt(6.0 * var)
    c, delta, it, _ = jax.lax.while_loop(cond, body, (c0, jnp.inf, 0, jnp.inf))
    s0, s1, s2 = sums(c)
    scale = jnp.exp(zmax + jnp.log(s0 / W) / c)
    ok = (it < 100) & jnp.isfinite(c) & jnp.isfinite(scale)
    # the log-likelihood and its exact derivatives in (shape, scale) from the same sums:
    # with t = log scale, A = zmax - t, E = exp(c A), sum w (x/s)^c = E s0 and
    # l = W log c - W c t + (c - 1) sum w z - E s0; d s0/dc = s1, d s1/dc = s2
    t = jnp.log(scale)
    a = zmax - t
    e = jnp.exp(c * a)
    zsum = zbar * W
    v = W * jnp.log(c) - W * c * t + (c - 1.0) * zsum - e * s0
    l_c = W / c - W * t + zsum - e * (a * s0 + s1)
    l_t = -W * c + c * e * s0
    l_cc = -W / c**2 - e * (a * a * s0 + 2.0 * a * s1 + s2)
    l_tt = -c * c * e * s0
    l_ct = -W + e * s0 + c * e * (a * s0 + s1)
    g = jnp.stack([l_c, l_t / scale])
    h = jnp.array([[l_cc, l_ct / scale], [l_ct / scale, (l_tt - l_t) / scale**2]])
    return c, scale, ok, v, g, h
