"""Nonparametric estimates of a distribution function from censored data, for the tests of fit.

* :func:`kaplan_meier` -- the (weighted) Kaplan--Meier estimate for right-censored data;
  with every row observed it is the (weighted) empirical distribution function.
* :func:`turnbull` -- Turnbull's (1976) nonparametric MLE for interval-, left-, right- and
  mixed-censored data, by the self-consistency (EM) algorithm on the innermost intervals.

Both have a JAX core that runs one sample or, vmapped, a whole batch of bootstrap samples
of the same shape (:func:`km_cdf`, :func:`turnbull_masses`).

Conventions. At a tie between an observed and a censored time the observed one comes first
(the censored subject was still at risk), as in lifelines and R's ``survival``. Interval
observations are half-open, ``(a, b]``; an exact value ``e`` is the point ``{e}``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._jax import x64
from ..errors import OptionError

EM_TOL = 1e-7  # the NPMLE's optimality condition, max_j d_j <= 1 + EM_TOL
EM_MAX_ITER = 2_000  # EM crawls along flat ridges of the likelihood (masses trading places)
EM_ACCEPT = 1e-5  # an estimate this close to optimal is used (a note says so) when EM_MAX_ITER is hit


# ---- Kaplan--Meier ------------------------------------------------------------------------
def km_cdf(t, event, w):
    """JAX: sort one sample and return ``(t_sorted, F_after_each_row, w_sorted)``.

    ``F`` is 1 minus the Kaplan--Meier survival just after each sorted row; censored rows
    leave it unchanged. Rows are sorted by time with observed rows first at a tie, so a
    product over rows equals the usual product over distinct times.
    """
    import jax.numpy as jnp

    order = jnp.lexsort((1.0 - event, t))
    ts, es, ws = t[order], event[order], w[order]
    at_risk = jnp.cumsum(ws[::-1])[::-1]
    factor = jnp.where((es > 0) & (at_risk > 0), 1.0 - ws / jnp.where(at_risk > 0, at_risk, 1.0), 1.0)
    surv = jnp.cumprod(factor)
    return ts, 1.0 - surv, ws


@x64
def kaplan_meier(time, event=None, weights=None):
    """The Kaplan--Meier estimate of the survival function.

    Parameters
    ----------
    time : array_like
        Observed or censoring times.
    event : array_like, optional
        1 where the time is observed, 0 where it is right-censored (default: all observed).
    weights : array_like, optional
        Frequency (or analytic) weights of the rows.

    Returns
    -------
    times, survival : numpy.ndarray
        The distinct times and the estimate just after each (a step function, right
        continuous; it stays at its last value beyond the largest time).

    Examples
    --------
    >>> from thetahat.inference.gof_npmle import kaplan_meier
    >>> t, s = kaplan_meier([1.0, 2.0, 2.0, 3.0, 4.0], [1, 1, 0, 1, 0])
    >>> t.tolist(), s.round(4).tolist()
    ([1.0, 2.0, 3.0, 4.0], [0.8, 0.6, 0.3, 0.3])
    """
    import jax.numpy as jnp

    t = np.asarray(time, dtype=float)
    e = np.ones_like(t) if event is None else np.asarray(event, dtype=float)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    ts, F, _ = (np.asarray(a) for a in _km_jit()(jnp.asarray(t), jnp.asarray(e), jnp.asarray(w)))
    # the value after the last row of each run of tied times
    last = np.r_[ts[1:] != ts[:-1], True]
    return ts[last], 1.0 - F[last]


@lru_cache(maxsize=None)
def _km_jit():
    import jax

    return jax.jit(km_cdf)


# ---- Turnbull's NPMLE --------------------------------------------------------------------
# The support of the estimate is cut into elements 0 .. 2K: element 2k is the cell
# (g[k-1], g[k]] between consecutive grid points (g[-1] = -inf, g[K] = +inf) and element
# 2k+1 the point g[k]. Every observation, an interval (a, b] or an exact value, covers a
# contiguous run of elements [lo, hi], so one EM sweep costs O(rows + elements).
def element_ranges(g, a, b, kind):
    """JAX: the run ``[lo, hi]`` of elements covered by each row (kind 0 exact, 1 right,
    2 left, 3 interval; left rows have ``a = -inf``, right rows ``b = inf``)."""
    import jax.numpy as jnp

    K = g.shape[0]
    exact = kind == 0
    lo_int = 2 * jnp.searchsorted(g, jnp.where(jnp.isfinite(a), a, -jnp.inf), side="right")
    hi_int = jnp.where(jnp.isfinite(b), 2 * jnp.searchsorted(g, jnp.where(jnp.isfinite(b), b, 0.0),
                                                             side="right") - 1, 2 * K)
    lo_ex = 2 * jnp.searchsorted(g, a, side="left") + 1
    hi_ex = 2 * jnp.searchsorted(g, a, side="right") - 1
    lo = jnp.where(exact, lo_ex, jnp.where(jnp.isfinite(a), lo_int, 0))
    hi = jnp.where(exact, hi_ex, hi_int)
    return lo, hi


def allowed_elements(g, a, b, kind, w):
    """JAX: the elements that can carry mass at the NPMLE (Turnbull's innermost intervals
    and the exact values); any other element is dominated by a neighbour."""
    import jax.numpy as jnp

    K = g.shape[0]
    live = w > 0
    has_a = live & ((kind == 1) | (kind == 3)) & jnp.isfinite(a)
    has_b = live & ((kind == 2) | (kind == 3)) & jnp.isfinite(b)
    # a cell's left end must be some row's left bound (its last copy in g), its right end
    # some row's right bound (its first copy)
    li = jnp.searchsorted(g, jnp.where(has_a, a, 0.0), side="right") - 1
    ri = jnp.searchsorted(g, jnp.where(has_b, b, 0.0), side="left")
    is_l = jnp.zeros(K + 1, bool).at[jnp.where(has_a, li, K)].set(True)[:K]
    is_r = jnp.zeros(K + 1, bool).at[jnp.where(has_b, ri, K)].set(True)[:K]
    any_left = jnp.any(live & (kind == 2))
    any_right = jnp.any(live & (kind == 1))
    left_end = jnp.concatenate([any_left[None], is_l])   # cell k's left end g[k-1]
    right_end = jnp.concatenate([is_r, any_right[None]])  # cell k's right end g[k]
    lo_g = jnp.concatenate([jnp.array([-jnp.inf]), g])
    hi_g = jnp.concatenate([g, jnp.array([jnp.inf])])
    cells = left_end & right_end & (lo_g < hi_g)
    ex = live & (kind == 0)
    pts = jnp.zeros(K + 1, bool).at[jnp.where(ex, jnp.searchsorted(g, a, side="left"), K)].set(True)[:K]
    out = jnp.zeros(2 * K + 1, bool)
    return out.at[0::2].set(cells).at[1::2].set(pts)


def turnbull_masses(g, a, b, kind, w, tol=EM_TOL, max_iter=EM_MAX_ITER):
    """JAX: the NPMLE's masses on the elements of grid ``g``.

    Self-consistency (EM) sweeps, accelerated by SQUAREM (Varadhan & Roland 2008) with a
    monotone safeguard (an extrapolated step is kept only if it raises the likelihood;
    it never sets an allowed element to 0, so EM can still move mass back). The stop is
    the NPMLE's optimality condition: with ``d_j`` the derivative of the mean
    log-likelihood along the direction of element ``j``, ``max_j d_j <= 1 + tol`` (then
    the log-likelihood is within ``N * tol`` of its maximum).

    Returns ``(masses, iterations, gap)``, ``gap = max_j d_j - 1``.
    """
    import jax
    import jax.numpy as jnp

    M = 2 * g.shape[0] + 1
    lo, hi = element_ranges(g, a, b, kind)
    ok = allowed_elements(g, a, b, kind, w)
    N = jnp.sum(w)
    p0 = jnp.where(ok, 1.0, 0.0)
    p0 = p0 / jnp.sum(p0)

    def cover(p):
        P = jnp.concatenate([jnp.zeros(1), jnp.cumsum(p)])
        return P[hi + 1] - P[lo]

    def loglik(p):
        den = cover(p)
        return jnp.sum(jnp.where(w > 0, w * jnp.log(jnp.where(w > 0, den, 1.0)), 0.0))

    # d_j = sum of c_r over rows with lo_r <= j <= hi_r: prefix sums over the rows sorted by
    # lo and by hi, read at fixed positions (gathers, not scatters: fast under vmap)
    by_lo, by_hi = jnp.argsort(lo), jnp.argsort(hi)
    elements = jnp.arange(M)
    n_lo = jnp.searchsorted(lo[by_lo], elements, side="right")  # rows with lo <= j
    n_hi = jnp.searchsorted(hi[by_hi], elements, side="left")  # rows with hi < j

    def ratio(p):  # d_j: the EM multiplier of element j
        den = cover(p)
        c = jnp.where((w > 0) & (den > 0), w / jnp.where(den > 0, den, 1.0), 0.0)
        c_lo = jnp.concatenate([jnp.zeros(1), jnp.cumsum(c[by_lo])])
        c_hi = jnp.concatenate([jnp.zeros(1), jnp.cumsum(c[by_hi])])
        return (c_lo[n_lo] - c_hi[n_hi]) / N

    def em(p):
        q = p * ratio(p)
        return q / jnp.sum(q)

    def gap(p):
        return jnp.max(jnp.where(ok, ratio(p), 0.0)) - 1.0

    def cond(st):
        return (st[2] > tol) & (st[1] < max_iter)

    def body(st):
        p, it, _ = st
        p1 = em(p)
        p2 = em(p1)
        r = p1 - p
        v = p2 - p1 - r
        sv = jnp.sqrt(jnp.sum(v * v))
        alpha = jnp.minimum(jnp.where(sv > 0, -jnp.sqrt(jnp.sum(r * r)) / jnp.where(sv > 0, sv, 1.0), -1.0), -1.0)
        pe = jnp.where(ok, jnp.maximum(p - 2.0 * alpha * r + alpha * alpha * v, 0.01 * p2), 0.0)
        p3 = em(pe / jnp.sum(pe))
        pn = jnp.where(loglik(p3) >= loglik(p2), p3, p2)
        return pn, it + 1, gap(pn)

    p, it, g_end = jax.lax.while_loop(cond, body, (p0, jnp.asarray(0), gap(p0)))
    return p, it, g_end


@lru_cache(maxsize=None)
def _turnbull_jit():
    import jax

    return jax.jit(turnbull_masses)


@x64
def turnbull(lower, upper, weights=None):
    """Turnbull's nonparametric MLE for interval-censored data.

    Parameters
    ----------
    lower, upper : array_like
        Each value lies in ``(lower, upper]``; ``lower == upper`` is an exact value,
        ``upper = inf`` right-censored, ``lower = -inf`` left-censored.
    weights : array_like, optional

    Returns
    -------
    intervals : numpy.ndarray, shape (m, 2)
        The innermost intervals ``(l, r]`` (``l == r``: the point ``{l}``) carrying mass.
    masses : numpy.ndarray, shape (m,)
        Their probabilities (summing to 1).

    Examples
    --------
    >>> from thetahat.inference.gof_npmle import turnbull
    >>> iv, m = turnbull([0.0, 1.0, 2.0], [2.0, 3.0, 2.0])
    >>> iv.tolist(), m.round(6).tolist()
    ([[2.0, 2.0]], [1.0])
    """
    import jax.numpy as jnp

    a = np.asarray(lower, dtype=float)
    b = np.asarray(upper, dtype=float)
    w = np.ones_like(a) if weights is None else np.asarray(weights, dtype=float)
    kind = kinds_of(a, b)
    a = np.where(kind == 2, -np.inf, a)
    g = grid_of(a, b, kind)
    p, _, gap = _turnbull_jit()(jnp.asarray(g), jnp.asarray(a), jnp.asarray(b), jnp.asarray(kind),
                                jnp.asarray(w), 1e-12, 100 * EM_MAX_ITER)
    if not float(gap) <= EM_ACCEPT:
        raise OptionError(f"Turnbull's estimate did not converge in {EM_MAX_ITER} EM iterations "
                          f"(optimality gap {float(gap):.2g})")
    p = np.asarray(p)
    lo_g = np.r_[-np.inf, g]
    hi_g = np.r_[g, np.inf]
    iv = np.empty((p.size, 2))
    iv[0::2] = np.column_stack([lo_g, hi_g])
    iv[1::2] = np.column_stack([g, g])
    keep = p > 1e-9  # EM leaves dominated elements with masses that only tend to 0
    return iv[keep], p[keep] / p[keep].sum()


def kinds_of(a, b):
    """Row kinds (0 exact, 1 right, 2 left, 3 interval) from half-open bounds."""
    return np.where(a == b, 0, np.where(np.isinf(b), 1, np.where(np.isinf(a), 2, 3))).astype(float)


def grid_of(a, b, kind):
    """The sorted distinct finite bounds and exact values."""
    vals = np.concatenate([a[np.isfinite(a)], b[np.isfinite(b)]])
    return np.unique(vals)
