"""The uniform family on [a, b] (a non-regular MLE: the sample's extremes)."""

import numpy as np

from .. import constraints as C
from .._jax import jnp
from .._xp import namespace
from ..errors import DegenerateDataError
from ._base import Family, log_safe, register


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

    def symbolic(self):
        """The density in SymPy, from the textbook formula (:func:`thetahat.derive`)."""
        import sympy as sp

        from .symbolic_form import SymbolicFamily

        x, a, b = sp.Symbol("x", real=True), sp.Symbol("a", real=True), sp.Symbol("b", real=True)
        why = ("the likelihood is (b - a)^(-n) when every x_i lies in [a, b] and 0 otherwise: it grows as the "
               "interval shrinks, so it has no stationary point (d l/d b = -n/(b - a) < 0 everywhere) and the "
               "maximum sits on the boundary of the allowed region, a = min x_i and b = max x_i. The support "
               "depends on the parameters, so the regularity conditions behind the score equations, the Fisher "
               "information and the Cramer-Rao bound fail; the extremes converge at rate n, not sqrt(n)")
        return SymbolicFamily("uniform", 1 / (b - a), x, [a, b], ["a", "b"], (a, b), nonregular=why,
                              boundary_estimators={"a": ("the sample minimum", np.min),
                                                   "b": ("the sample maximum", np.max)})

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
        xp = namespace(x, w)
        return {"n": xp.sum(w), "min": xp.min(xp.where(w > 0, x, np.inf)),
                "max": xp.max(xp.where(w > 0, x, -np.inf))}

    def merge(self, a, b):
        return {"n": a["n"] + b["n"], "min": np.minimum(a["min"], b["min"]),
                "max": np.maximum(a["max"], b["max"])}

    summary_statistics = {"n": "n", "min": "min", "max": "max"}

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
