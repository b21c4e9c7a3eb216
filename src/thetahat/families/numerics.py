"""Numerical helpers shared by the continuous families (weighted quantiles, log1p(y)/y)."""

from __future__ import annotations

import numpy as np

from .._jax import jnp
from .._xp import namespace

EULER_GAMMA = 0.5772156649015329

# log1p(y)/y = sum_k (-1)^k y^k / (k + 1): Horner coefficients, highest power first
_LOG1P_RATIO = [(-1.0) ** k / (k + 1) for k in range(14)][::-1]
_SERIES_CUT = 0.05  # 0.05^14 / 15 < 1e-19: the series is exact to rounding below this


def log1p_ratio(y):
    """``log1p(y) / y`` with the limit 1 at ``y = 0``, smooth to all orders.

    Near 0 a Taylor series replaces the quotient, whose derivatives (as autodiff
    computes them) cancel catastrophically there; this keeps the GEV/GPD
    log-density, gradient and Hessian accurate as the shape parameter crosses 0.
    Requires ``y > -1``.
    """
    small = jnp.abs(y) < _SERIES_CUT
    ys = jnp.where(small, 0.0, y)
    safe = jnp.where(small, 1.0, ys)
    yy = jnp.where(small, y, 0.0)
    series = 0.0
    for c in _LOG1P_RATIO:  # Horner, unrolled: cheap and elementwise under vmap
        series = series * yy + c
    return jnp.where(small, series, jnp.log1p(ys) / safe)


def weighted_quantile(x, w, q):
    """Weighted quantile(s) of NumPy data (inverse of the weighted empirical cdf, midpoint rule)."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    if x.size > 1000 and w.min() == w.max():
        # equal weights: the same midpoint rule via O(n) selection, no sort
        pos = np.clip(np.asarray(q, dtype=float) * x.size - 0.5, 0, x.size - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, x.size - 1)
        part = np.partition(x, np.unique(np.r_[np.ravel(lo), np.ravel(hi)]))
        frac = pos - lo
        return part[lo] * (1 - frac) + part[hi] * frac
    keep = w > 0
    x, w = x[keep], w[keep]
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    cum = np.cumsum(ws) - 0.5 * ws
    return np.interp(np.asarray(q, dtype=float) * ws.sum(), cum, xs)


def weighted_median(x, w):
    """A minimiser of ``sum w |x - m|`` (the weighted median; the midpoint of ties).

    With equal weights and an even count this is ``np.median``.
    """
    x = np.asarray(x, dtype=float)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    if w.min() == w.max() and w[0] > 0:
        return float(np.median(x))  # equal weights: O(n) selection, same answer
    keep = w > 0
    x, w = x[keep], w[keep]
    order = np.argsort(x, kind="stable")
    xs, cum = x[order], np.cumsum(w[order])
    half = 0.5 * cum[-1]
    i = int(np.searchsorted(cum, half, side="left"))
    # cum[i] == half exactly: every point of [xs[i], xs[i+1]] minimises; take the middle
    if i + 1 < xs.size and abs(cum[i] - half) <= 1e-12 * cum[-1]:
        return 0.5 * (xs[i] + xs[i + 1])
    return xs[min(i, xs.size - 1)]


def masked(x, w, fill):
    """``x`` where the weight is positive, ``fill`` on padding rows (keeps logs finite); NumPy
    or JAX as the inputs are."""
    return namespace(x, w).where(w > 0, x, fill)
