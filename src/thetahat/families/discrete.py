r"""Count families: bernoulli, binomial, geometric, poisson, negative binomial,
zero-inflated poisson and beta-binomial.

The engine reduces integer data to (distinct value, count) pairs before it calls
``statistics`` or ``logpdf``, so every hook here uses the weights ``w``.

Families with a known number of trials ``n`` (binomial, beta-binomial) receive it
through ``fixed={"n": ...}``. ``logpdf`` sees it in ``p["n"]``; the other hooks
(``start``, ``check_degenerate``, ``closed_form_data``) read it from
``self.known_values``, which the engine sets with :meth:`Family.bind`.

Example
-------
>>> import thetahat
>>> f = thetahat.fit([0, 1, 1, 0, 1], "bernoulli")
>>> round(f.params["p"], 12)
0.6
"""

from __future__ import annotations

import numpy as np

from .. import constraints as C
from .._jax import jnp, jsp, lazy
from .._xp import namespace
from ..errors import DegenerateDataError, OptionError, SupportError
from ._base import Family, Limit, Predictor, _fmt, register, weighted_moments

special = lazy("thetahat.families.special")  # (JAX functions: imported at the first use)

_EPS = 1e-6


def _betaln(a, b):
    # jax.scipy.special.betaln loses ~1e-7 relative accuracy in float64 (jax 0.10);
    # the gammaln form is exact to rounding for the moderate arguments of count data
    return jsp.gammaln(a) + jsp.gammaln(b) - jsp.gammaln(a + b)


def _nbinom_score(x, w, p):
    """d loglik / d(1/r) at r = inf with the mean held at the poisson's lam: sum w ((x - lam)^2 - x) / 2."""
    return float(np.sum(w * ((x - p["lam"]) ** 2 - x)) / 2.0)


def _zip_score(x, w, p):
    """d loglik / d pi at pi = 0: (e^lam - 1) per zero, -1 per positive count."""
    zero = x == 0
    n0 = float(np.sum(w[zero]))
    # (no zeros: the slope is -n, also where e^lam overflows and 0 * inf would be NaN)
    return (n0 * float(np.expm1(p["lam"])) if n0 > 0 else 0.0) - float(np.sum(w[~zero]))


def _betabinom_score(x, w, p):
    """d loglik / d(1/(a + b)) at a + b = inf with a / (a + b) held at the binomial's p:
    sum w [x (x - 1) / (2p) + (n - x)(n - x - 1) / (2(1 - p)) - n (n - 1) / 2]."""
    n, q = p["n"], p["p"]
    if not 0.0 < q < 1.0:
        return 0.0
    y = n - x
    return float(np.sum(w * (x * (x - 1.0) / (2.0 * q) + y * (y - 1.0) / (2.0 * (1.0 - q))
                             - n * (n - 1.0) / 2.0)))


def _clip_p(p, lo=_EPS):
    return float(np.clip(p, lo, 1 - lo))


def _is_int(x):
    return (x == jnp.floor(x)) & jnp.isfinite(x)


def _observed(x, w):
    """The observations that carry weight (NumPy)."""
    return x if w is None else x[np.asarray(w) > 0]


def _all_equal(x, w, value=None):
    v = _observed(x, w)
    if v.size == 0 or not np.all(v == v[0]):
        return False
    return value is None or v[0] == value


def _check_n(name, n):
    a = np.asarray(n, dtype=float)
    if a.ndim or not np.isfinite(a) or a < 1 or a != np.floor(a):
        raise OptionError(f"{name} needs a known number of trials n that is a positive integer, got {_fmt(a)}")


def _known_n(fam):
    n = fam.known_values.get("n")
    if n is None:
        raise OptionError(f"{fam.name} needs the known value of 'n': pass fixed={{'n': ...}}")
    return n


def _record_n_and_check(fam, x, fixed):
    """Check 0 <= x <= n for a family with known n."""
    if not fixed or "n" not in fixed:
        raise OptionError(f"{fam.name} needs the known value of 'n': pass fixed={{'n': ...}}")
    n = float(np.asarray(fixed["n"], dtype=float))
    _check_n(fam.name, n)
    x = np.asarray(x, dtype=float)
    bad = ~((x == np.floor(x)) & (x >= 0) & (x <= n))
    if bad.any():
        i = int(np.argmax(bad))
        raise SupportError(f"value {_fmt(x[i])} at data row {i + 1} is outside the support of {fam.name} "
                           f"(integers 0..{n:g} with n = {n:g})")


def _counts_stats(x, w):
    """Weighted sums shared by the one-parameter count families."""
    xp = namespace(x, w)
    return {"n": xp.sum(w), "sum": xp.sum(w * x), "sum_lgx": xp.sum(w * xp.gammaln(x + 1.0))}


# ---------------------------------------------------------------------------------
@register
class Bernoulli(Family):
    r"""Bernoulli(p): P(X = 1) = p, P(X = 0) = 1 - p, i.e. f(x) = p^x (1 - p)^(1 - x), x in {0, 1}.

    scipy.stats.bernoulli(p). Closed form: p = k / n (the proportion of ones).
    Per-observation Fisher information 1 / (p (1 - p)).
    """

    name = "bernoulli"
    params = {"p": C.unit_interval}
    support = C.boolean
    predictor = Predictor("mean", ("logit", "probit", "cloglog"), lambda m, q: {"p": m}, (), "p")
    discrete = True

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, p = sp.Symbol("x", nonnegative=True, integer=True), positive("p")
        return SymbolicFamily("bernoulli", p**x * (1 - p) ** (1 - x), x, [p], ["p"], (0, 1), True, (p,))

    def logpdf(self, x, p):
        ok = (x == 0) | (x == 1)
        return jnp.where(ok, jsp.xlogy(x, p["p"]) + jsp.xlog1py(1.0 - x, -p["p"]), -jnp.inf)

    def logpdf_natural(self, x, eta):
        """The log-pmf at the logit ``eta = log(p / (1 - p))``: ``x eta - softplus(eta)``, with
        softplus as ``max(eta, 0) + log1p(e^-|eta|)``, exact where ``sigmoid(eta)`` rounds to 0 or 1."""
        ok = (x == 0) | (x == 1)
        return jnp.where(ok, x * eta - jnp.maximum(eta, 0.0) - jnp.log1p(jnp.exp(-jnp.abs(eta))), -jnp.inf)

    def start(self, x, w):
        return {"p": _clip_p(weighted_moments(x, w)[0])}

    def statistics(self, x, w):
        xp = namespace(x, w)
        return {"n": xp.sum(w), "k": xp.sum(w * x)}

    summary_statistics = {"n": "n", "k": "sum"}

    def loglik_from_statistics(self, s, p):
        xp = namespace(s, p)
        return xp.xlogy(s["k"], p["p"]) + xp.xlog1py(s["n"] - s["k"], -p["p"])

    def closed_form(self, s):
        return {"p": s["k"] / s["n"]}

    exponential_family = True

    def expected_information(self, p):
        return namespace(p).array([[1.0 / (p["p"] * (1.0 - p["p"]))]])

    def cdf(self, x, p):
        return jnp.where(x < 0, 0.0, jnp.where(x < 1, 1.0 - p["p"], 1.0))

    def sf(self, x, p):
        return jnp.where(x < 0, 1.0, jnp.where(x < 1, p["p"], 0.0))

    def check_degenerate(self, x, w):
        for v, what in ((0.0, "0 (p = 0)"), (1.0, "1 (p = 1)")):
            if _all_equal(x, w, v):
                raise DegenerateDataError(
                    f"all {_observed(x, w).size} observations are {what}: the bernoulli MLE is on the "
                    "boundary of [0, 1], where the likelihood has no interior maximum")

    def to_scipy(self, p):
        from scipy import stats as st

        return st.bernoulli(float(p["p"]))


@register
class Binomial(Family):
    r"""Binomial(n, p) with known n: f(x) = C(n, x) p^x (1 - p)^(n - x), x = 0, ..., n.

    scipy.stats.binom(n, p). Pass the number of trials as ``fixed={"n": 10}``.
    Closed form: p = mean / n. Per-observation Fisher information n / (p (1 - p)).
    """

    name = "binomial"
    aliases = ("binom",)
    params = {"p": C.unit_interval}
    known = {"n": None}
    support = C.nonnegative_integer
    predictor = Predictor("mean", ("logit", "probit", "cloglog"), lambda m, q: {"p": m}, (), "p")
    discrete = True

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, p, N = sp.Symbol("x", nonnegative=True, integer=True), positive("p"), sp.Symbol("N", positive=True,
                                                                                         integer=True)
        return SymbolicFamily("binomial", sp.binomial(N, x) * p**x * (1 - p) ** (N - x), x, [p], ["p"], (0, N),
                              True, (p,), known={"n": N}, note="N (the family's n) is the known number of trials")

    def logpdf(self, x, p):
        n, q = p["n"], p["p"]
        ok = _is_int(x) & (x >= 0) & (x <= n)
        comb = jsp.gammaln(n + 1.0) - jsp.gammaln(x + 1.0) - jsp.gammaln(n - x + 1.0)
        return jnp.where(ok, comb + jsp.xlogy(x, q) + jsp.xlog1py(n - x, -q), -jnp.inf)

    def check_known(self, k, value):
        _check_n(self.name, value)

    def check_support(self, x, fixed=None):
        _record_n_and_check(self, x, fixed)

    def check_degenerate(self, x, w):
        n = _known_n(self)
        for v, what in ((0.0, "0 (p = 0)"), (n, f"n = {n:g} (p = 1)")):
            if _all_equal(x, w, v):
                raise DegenerateDataError(
                    f"all {_observed(x, w).size} observations are {what}: the binomial MLE is on the "
                    "boundary of [0, 1], where the likelihood has no interior maximum")

    def start(self, x, w):
        return {"p": _clip_p(weighted_moments(x, w)[0] / _known_n(self))}

    # log C(n, x) does not split into sums of x, so the chunked objective (on the distinct
    # values and their counts) is used; the closed form reads n from the bound family.
    def closed_form_data(self, x, w):
        w = np.ones(x.shape[0]) if w is None else np.asarray(w)
        return {"p": float(np.sum(w * x) / (np.sum(w) * _known_n(self)))}

    def expected_information(self, p):
        return jnp.array([[p["n"] / (p["p"] * (1.0 - p["p"]))]])

    def cdf(self, x, p):
        n, q = p["n"], p["p"]
        k = jnp.floor(x)
        inner = jsp.betainc(jnp.clip(n - k, 1e-300, None), k + 1.0, 1.0 - q)
        return jnp.where(k < 0, 0.0, jnp.where(k >= n, 1.0, inner))

    def sf(self, x, p):
        n, q = p["n"], p["p"]
        k = jnp.floor(x)
        inner = jsp.betainc(k + 1.0, jnp.clip(n - k, 1e-300, None), q)
        return jnp.where(k < 0, 1.0, jnp.where(k >= n, 0.0, inner))

    def to_scipy(self, p):
        from scipy import stats as st

        return st.binom(int(round(float(p["n"]))), float(p["p"]))


@register
class Geometric(Family):
    r"""Geometric(p), number of trials up to the first success: f(x) = (1 - p)^(x - 1) p, x = 1, 2, ...

    scipy.stats.geom(p). Closed form: p = 1 / mean.
    Per-observation Fisher information 1 / (p^2 (1 - p)).
    """

    name = "geometric"
    aliases = ("geom",)
    params = {"p": C.unit_interval}
    support = C.positive_integer
    discrete = True

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, p = sp.Symbol("x", positive=True, integer=True), positive("p")
        return SymbolicFamily("geometric", (1 - p) ** (x - 1) * p, x, [p], ["p"], (1, sp.oo), True, (p,))

    def logpdf(self, x, p):
        ok = _is_int(x) & (x >= 1)
        return jnp.where(ok, jsp.xlog1py(x - 1.0, -p["p"]) + jnp.log(p["p"]), -jnp.inf)

    def start(self, x, w):
        return {"p": _clip_p(1.0 / weighted_moments(x, w)[0])}

    def statistics(self, x, w):
        xp = namespace(x, w)
        return {"n": xp.sum(w), "sum": xp.sum(w * x)}

    summary_statistics = {"n": "n", "sum": "sum"}

    def loglik_from_statistics(self, s, p):
        xp = namespace(s, p)
        return xp.xlog1py(s["sum"] - s["n"], -p["p"]) + s["n"] * xp.log(p["p"])

    def closed_form(self, s):
        return {"p": s["n"] / s["sum"]}

    exponential_family = True

    def expected_information(self, p):
        q = p["p"]
        return namespace(p).array([[1.0 / (q * q * (1.0 - q))]])

    def cdf(self, x, p):
        k = jnp.floor(x)
        return jnp.where(k < 1, 0.0, -jnp.expm1(jsp.xlog1py(k, -p["p"])))

    def sf(self, x, p):
        k = jnp.floor(x)
        return jnp.where(k < 1, 1.0, jnp.exp(jsp.xlog1py(k, -p["p"])))

    def check_degenerate(self, x, w):
        if _all_equal(x, w, 1.0):
            raise DegenerateDataError(
                f"all {_observed(x, w).size} observations are 1 (success on the first trial): the geometric "
                "MLE p = 1 is on the boundary of its space")

    def to_scipy(self, p):
        from scipy import stats as st

        return st.geom(float(p["p"]))


@register
class Poisson(Family):
    r"""Poisson(lam): f(x) = lam^x e^(-lam) / x!, x = 0, 1, 2, ...

    scipy.stats.poisson(lam). Closed form: lam = mean. Per-observation Fisher information 1 / lam.
    """

    name = "poisson"
    params = {"lam": C.positive}
    support = C.nonnegative_integer
    predictor = Predictor("mean", ("log",), lambda m, q: {"lam": m}, (), "lam")
    discrete = True

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily, positive

        x, lam = sp.Symbol("x", nonnegative=True, integer=True), positive("lambda")
        return SymbolicFamily("poisson", lam**x * sp.exp(-lam) / sp.factorial(x), x, [lam], ["lam"], (0, sp.oo),
                              True)

    def logpdf(self, x, p):
        ok = _is_int(x) & (x >= 0)
        return jnp.where(ok, jsp.xlogy(x, p["lam"]) - p["lam"] - jsp.gammaln(x + 1.0), -jnp.inf)

    def logpdf_natural(self, x, eta):
        """The log-pmf at ``eta = log(lam)``: ``x eta - e^eta - log x!``, for any finite eta."""
        ok = _is_int(x) & (x >= 0)
        return jnp.where(ok, x * eta - jnp.exp(eta) - jsp.gammaln(x + 1.0), -jnp.inf)

    def start(self, x, w):
        return {"lam": max(weighted_moments(x, w)[0], _EPS)}

    def statistics(self, x, w):
        return _counts_stats(x, w)

    def loglik_from_statistics(self, s, p):
        return namespace(s, p).xlogy(s["sum"], p["lam"]) - s["n"] * p["lam"] - s["sum_lgx"]

    def closed_form(self, s):
        return {"lam": s["sum"] / s["n"]}

    exponential_family = True

    def expected_information(self, p):
        return namespace(p).array([[1.0 / p["lam"]]])

    def cdf(self, x, p):
        k = jnp.floor(x)
        return jnp.where(k < 0, 0.0, jsp.gammaincc(jnp.maximum(k, 0.0) + 1.0, p["lam"]))

    def sf(self, x, p):
        k = jnp.floor(x)
        return jnp.where(k < 0, 1.0, 1.0 - jsp.gammaincc(jnp.maximum(k, 0.0) + 1.0, p["lam"]))

    def check_degenerate(self, x, w):
        if _all_equal(x, w, 0.0):
            raise DegenerateDataError(
                f"all {_observed(x, w).size} observations are 0: the poisson MLE lam = 0 is on the "
                "boundary of its space")

    def to_scipy(self, p):
        from scipy import stats as st

        return st.poisson(float(p["lam"]))


@register
class NegativeBinomial(Family):
    r"""NegativeBinomial(r, p), failures before the r-th success (r real > 0):
    f(x) = Gamma(x + r) / (Gamma(r) x!) p^r (1 - p)^x, x = 0, 1, 2, ...

    scipy.stats.nbinom(n=r, p=p); mean r (1 - p) / p. No closed form (Newton on the
    log-likelihood). Over-dispersion is required: when the sample variance does not
    exceed the mean the MLE runs to r = infinity (the poisson limit).
    """

    name = "negative_binomial"
    aliases = ("negbin", "nbinom")
    params = {"r": C.positive, "p": C.unit_interval}
    support = C.nonnegative_integer
    # NB2: mean m, Var = m + alpha m^2
    predictor = Predictor("mean", ("log",), lambda m, q: {"r": 1.0 / q["alpha"], "p": 1.0 / (1.0 + q["alpha"] * m)},
                          (("alpha", C.positive),))
    discrete = True
    limits = (Limit("poisson", {"r": np.inf, "p": 1.0}, {}, _nbinom_score,
                    "the negative binomial's r runs to infinity (and p to 1): the data show no overdispersion, "
                    "and the poisson fits as well"),)

    def logpdf(self, x, p):
        r, q = p["r"], p["p"]
        ok = _is_int(x) & (x >= 0)
        xs = jnp.where(ok, x, 0.0)
        coef = jsp.gammaln(xs + r) - jsp.gammaln(r) - jsp.gammaln(xs + 1.0)
        return jnp.where(ok, coef + r * jnp.log(q) + jsp.xlog1py(xs, -q), -jnp.inf)

    def start(self, x, w):
        m, v = weighted_moments(x, w)
        if m <= 0:
            return {"r": 1.0, "p": 1 - 1e-3}
        q = _clip_p(m / v if v > m else 0.99, 1e-3)
        return {"r": max(m * q / (1 - q), 1e-3), "p": q}

    def cdf(self, x, p):
        k = jnp.floor(x)
        return jnp.where(k < 0, 0.0, special.betainc(p["r"], jnp.maximum(k, 0.0) + 1.0, p["p"]))

    def sf(self, x, p):
        k = jnp.floor(x)
        return jnp.where(k < 0, 1.0, special.betaincc(p["r"], jnp.maximum(k, 0.0) + 1.0, p["p"]))

    def check_degenerate(self, x, w):
        if _all_equal(x, w):
            raise DegenerateDataError(
                f"all {_observed(x, w).size} observations equal {_fmt(_observed(x, w)[0])}: a negative "
                "binomial fit needs over-dispersed data (the MLE runs to r = infinity)")

    def to_scipy(self, p):
        from scipy import stats as st

        return st.nbinom(float(p["r"]), float(p["p"]))


class ZIPDistribution:
    """A frozen zero-inflated poisson with the scipy.stats frozen-distribution methods
    thetahat uses (logpmf, pmf, cdf, sf, rvs, mean, var)."""

    def __init__(self, pi, lam):
        self.pi, self.lam = float(pi), float(lam)

    def logpmf(self, k):
        from scipy import stats as st

        k = np.asarray(k, dtype=float)
        lp = np.log1p(-self.pi) + st.poisson.logpmf(k, self.lam)
        zero = np.logaddexp(np.log(self.pi) if self.pi > 0 else -np.inf, np.log1p(-self.pi) - self.lam)
        return np.where(k == 0, zero, lp)

    def pmf(self, k):
        return np.exp(self.logpmf(k))

    def cdf(self, k):
        from scipy import stats as st

        k = np.asarray(k, dtype=float)
        return np.where(k < 0, 0.0, self.pi + (1 - self.pi) * st.poisson.cdf(k, self.lam))

    def sf(self, k):
        from scipy import stats as st

        k = np.asarray(k, dtype=float)
        return np.where(k < 0, 1.0, (1 - self.pi) * st.poisson.sf(k, self.lam))

    def rvs(self, size=None, random_state=None):
        rng = np.random.default_rng(random_state)
        counts = rng.poisson(self.lam, size=size)
        return np.where(rng.random(size=size) < self.pi, 0, counts)

    def mean(self):
        return (1 - self.pi) * self.lam

    def var(self):
        return (1 - self.pi) * self.lam * (1 + self.pi * self.lam)


@register
class ZeroInflatedPoisson(Family):
    r"""Zero-inflated Poisson(pi, lam): a structural zero with probability pi, else Poisson(lam).

    f(0) = pi + (1 - pi) e^(-lam);  f(x) = (1 - pi) lam^x e^(-lam) / x!, x = 1, 2, ...

    scipy.stats has no equivalent; ``to_scipy`` returns a :class:`ZIPDistribution` with
    logpmf/pmf/cdf/sf/rvs/mean. No closed form. All-zero data cannot separate pi from lam.
    """

    name = "zip"
    aliases = ("zero_inflated_poisson",)
    params = {"pi": C.unit_interval, "lam": C.positive}
    support = C.nonnegative_integer
    discrete = True
    limits = (Limit("poisson", {"pi": 0.0}, {"lam": "lam"}, _zip_score,
                    "the zero-inflation probability pi is 0: the data have no excess zeros, and the poisson fits "
                    "as well"),)

    @staticmethod
    def _log_p0(pi, lam):
        return jnp.logaddexp(jnp.log(pi), jnp.log1p(-pi) - lam)

    def logpdf(self, x, p):
        pi, lam = p["pi"], p["lam"]
        ok = _is_int(x) & (x >= 0)
        pos = jnp.log1p(-pi) + jsp.xlogy(x, lam) - lam - jsp.gammaln(jnp.maximum(x, 0.0) + 1.0)
        return jnp.where(ok, jnp.where(x == 0, self._log_p0(pi, lam), pos), -jnp.inf)

    def start(self, x, w):
        m, v = weighted_moments(x, w)
        m = max(m, _EPS)
        if v > m:  # mean (1 - pi) lam and variance mean (1 + pi lam)
            lam = m + v / m - 1.0
            pi = 1.0 - m / lam
        else:
            lam, pi = m, 0.05
        pi = float(np.clip(pi, 0.01, 0.99))
        return {"pi": pi, "lam": max(lam, _EPS)}

    def statistics(self, x, w):
        s = _counts_stats(x, w)
        xp = namespace(x, w)
        s["zeros"] = xp.sum(xp.where(x == 0, w, 0.0))
        return s

    def loglik_from_statistics(self, s, p):
        pi, lam = p["pi"], p["lam"]
        npos = s["n"] - s["zeros"]
        return (s["zeros"] * self._log_p0(pi, lam) + npos * (jnp.log1p(-pi) - lam)
                + jsp.xlogy(s["sum"], lam) - s["sum_lgx"])

    def cdf(self, x, p):
        k = jnp.floor(x)
        pc = jsp.gammaincc(jnp.maximum(k, 0.0) + 1.0, p["lam"])
        return jnp.where(k < 0, 0.0, p["pi"] + (1.0 - p["pi"]) * pc)

    def sf(self, x, p):
        k = jnp.floor(x)
        pc = jsp.gammaincc(jnp.maximum(k, 0.0) + 1.0, p["lam"])
        return jnp.where(k < 0, 1.0, (1.0 - p["pi"]) * (1.0 - pc))

    def check_degenerate(self, x, w):
        if _all_equal(x, w, 0.0):
            raise DegenerateDataError(
                f"all {_observed(x, w).size} observations are 0: a zero-inflated poisson cannot tell "
                "structural zeros (pi) from poisson zeros (lam)")

    def to_scipy(self, p):
        return ZIPDistribution(p["pi"], p["lam"])


@register
class BetaBinomial(Family):
    r"""BetaBinomial(n, a, b) with known n: f(x) = C(n, x) B(x + a, n - x + b) / B(a, b), x = 0, ..., n.

    scipy.stats.betabinom(n, a, b). Pass the number of trials as ``fixed={"n": 10}``.
    No closed form. Data with no more spread than a binomial's send a + b to infinity.
    """

    name = "beta_binomial"
    aliases = ("betabinom",)
    params = {"a": C.positive, "b": C.positive}
    known = {"n": None}
    support = C.nonnegative_integer
    discrete = True
    limits = (Limit("binomial", {"a": np.inf, "b": np.inf}, {}, _betabinom_score,
                    "the beta-binomial's a and b run to infinity (a / (a + b) fixed): the data show no extra-binomial "
                    "variation, and the binomial fits as well", known=("n",)),)

    def logpdf(self, x, p):
        n, a, b = p["n"], p["a"], p["b"]
        ok = _is_int(x) & (x >= 0) & (x <= n)
        xs = jnp.clip(x, 0.0, n)
        # the same arrangement as scipy: -log(n + 1) - B(n - x + 1, x + 1) is log C(n, x)
        comb = -jnp.log1p(n) - _betaln(n - xs + 1.0, xs + 1.0)
        return jnp.where(ok, comb + _betaln(xs + a, n - xs + b) - _betaln(a, b), -jnp.inf)

    def check_known(self, k, value):
        _check_n(self.name, value)

    def check_support(self, x, fixed=None):
        _record_n_and_check(self, x, fixed)

    def check_degenerate(self, x, w):
        if _all_equal(x, w):
            raise DegenerateDataError(
                f"all {_observed(x, w).size} observations equal {_fmt(_observed(x, w)[0])}: a beta-binomial "
                "fit needs variation in the data (a and b are not identified)")

    def start(self, x, w):
        n = _known_n(self)
        m, v = weighted_moments(x, w)
        mu = _clip_p(m / n, 1e-3)
        # variance n mu (1 - mu) (1 + (n - 1) rho) with rho = 1 / (a + b + 1)
        rho = (v / (n * mu * (1 - mu)) - 1.0) / (n - 1.0) if n > 1 else 0.0
        rho = float(np.clip(rho, 1e-2, 0.9))
        s = 1.0 / rho - 1.0
        return {"a": mu * s, "b": (1 - mu) * s}

    def to_scipy(self, p):
        from scipy import stats as st

        return st.betabinom(int(round(float(p["n"]))), float(p["a"]), float(p["b"]))
