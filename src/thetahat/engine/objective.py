"""The log-likelihood as a sum over chunks, with exact autodiff derivatives.

Two kinds of objective share one interface (``value(u)`` and ``derivs(u)``, in
unconstrained coordinates):

* :class:`ChunkObjective` sums ``w * logpdf`` over chunks of the data. Each chunk is
  evaluated by a compiled function whose shape is one of a few buckets, and the
  partial sums (value, gradient, Hessian) are added -- the same sums later work can
  stream from disk or reduce on Dask.
* :class:`StatisticsObjective` reduces the data once to sufficient statistics and
  optimises on those: each iteration costs O(1) instead of O(n).
"""

from __future__ import annotations

from functools import cached_property, lru_cache

import numpy as np

from .._jax import jax, jit, jnp
from ..kernels.summary import pool as _pool, summarize
from .. import constraints as C


def _weights(x, w, n_valid):
    if w is None:
        return (jnp.arange(x.shape[0]) < n_valid).astype(jnp.float64)
    return w


def _value_grad_hess(f):
    """(value, gradient, Hessian) of ``f`` in one forward-over-reverse pass."""

    def grad_aux(u, *args):
        v, g = jax.value_and_grad(f)(u, *args)
        return g, (v, g)

    def vgh(u, *args):
        h, (v, g) = jax.jacfwd(grad_aux, has_aux=True)(u, *args)
        return v, g, h

    return vgh


SUB = 8192  # rows per block inside a chunk: the derivative passes stay in cache


def _blocked(fn):
    """Sum ``fn(x_block, w_block)`` over blocks of at most SUB rows.

    Reverse-mode derivatives over a long chunk keep many chunk-length temporaries
    alive; blocks of a few thousand rows keep them in cache, which measured 3-4x
    faster than one pass over 2^17 rows (t and GEV value+gradient+Hessian).

    ``n_valid`` (traced, so one compiled function serves every sample size of a bucket)
    bounds the loop: blocks that hold only padding are never computed, which saves up to
    half a pass (10^5 rows sit in a bucket of 2^17). A loop with a traced bound cannot be
    reverse-differentiated, so only the derivative pass (never itself differentiated)
    takes it; the value, which BFGS differentiates, scans every block.
    """

    def total(x, w, n_valid=None):
        b = x.shape[0]
        s = min(b, SUB)
        if b // s == 1:
            return fn(x, w)
        xs = x.reshape((b // s, s) + x.shape[1:])
        ws = w.reshape(b // s, s)
        zero = jax.tree_util.tree_map(jnp.zeros_like, jax.eval_shape(fn, xs[0], ws[0]))

        def body(i, acc):
            return jax.tree_util.tree_map(jnp.add, acc, fn(xs[i], ws[i]))

        if n_valid is None:
            return jax.lax.scan(lambda acc, xw: (jax.tree_util.tree_map(jnp.add, acc, fn(*xw)), None),
                                zero, (xs, ws))[0]
        n_blocks = jnp.minimum((n_valid + s - 1) // s, b // s)
        return jax.lax.fori_loop(0, n_blocks, body, zero)

    return total


@lru_cache(maxsize=None)
def chunk_functions(family, layout):
    """Compiled chunk log-likelihood and its derivatives for a family and layout."""

    def block_ll(u, fixed, x, w):
        return family.loglik_chunk(x, w, {**fixed, **layout.to_params(u)})

    block_vgh = _value_grad_hess(block_ll)

    def ll(u, fixed, x, w, n_valid):
        return _blocked(lambda xb, wb: block_ll(u, fixed, xb, wb))(x, _weights(x, w, n_valid))  # differentiable

    def vgh(u, fixed, x, w, n_valid):
        return _blocked(lambda xb, wb: block_vgh(u, fixed, xb, wb))(x, _weights(x, w, n_valid), n_valid)

    def ll_theta(theta, fixed, x, w, n_valid):
        return family.loglik_chunk(x, _weights(x, w, n_valid), {**fixed, **theta})

    return jit(ll), jit(vgh), jit(ll_theta)


@lru_cache(maxsize=None)
def statistics_function(family):
    """Per-piece sufficient statistics, compiled.

    Unweighted pieces (``w`` None) carry no mask, so XLA fuses every reduction into one
    loop. The min and max that validation needs are taken by NumPy (see
    :func:`compute_statistics`): XLA's NaN-propagating min/max measured 5-7x slower
    than a sum on the CPU, NumPy's run at memory speed.
    """

    def stats(x, w):
        return dict(family.statistics(x, jnp.ones(x.shape[0], dtype=x.dtype) if w is None else w))

    return jit(stats)


def _summary(sample):
    """Min and max of the valid rows (NumPy; NaN anywhere gives NaN)."""
    x = sample.x
    if sample.w is not None:
        live = sample.w > 0
        if not live.all():
            x = x[live]
    if x.size == 0:
        return {"min": np.nan, "max": np.nan}
    return {"min": float(np.min(x)), "max": float(np.max(x))}


@lru_cache(maxsize=None)
def statistics_loglik_functions(family, layout):
    def ll(u, fixed, s):
        return family.loglik_from_statistics(s, {**fixed, **layout.to_params(u)})

    def ll_theta(theta, fixed, s):
        return family.loglik_from_statistics(s, {**fixed, **theta})

    vgh = _value_grad_hess(ll)

    def vgh_packed(u, fixed, s):
        return _pack(vgh(u, fixed, s))

    def vghj_packed(u, fixed, s):  # and d flat(theta) / du: a closed-form fit needs all four
        return _pack((*vgh(u, fixed, s), jax.jacfwd(lambda v: layout.flat(layout.to_params(v)))(u)))

    return jit(ll), jit(vgh_packed), jit(ll_theta), jit(vghj_packed)


def _pack(arrays):
    """One flat vector of several results: reading one device array back costs a fraction of
    reading four (0.16 ms against 0.36 ms measured just after a pass over 10^7 rows)."""
    return jnp.concatenate([jnp.ravel(a) for a in arrays])


def _unpack(flat, k, t=None):
    """(value, gradient (k,), Hessian (k, k)[, Jacobian (t, k)]) from :func:`_pack`'s vector."""
    v, g, h = float(flat[0]), flat[1:1 + k], flat[1 + k:1 + k + k * k].reshape(k, k)
    return (v, g, h) if t is None else (v, g, h, flat[1 + k + k * k:].reshape(t, k))


NUMPY_MIN_ROWS = 1 << 20  # below this the compiled pass is as fast
NUMPY_SMALL_ROWS = 1 << 14  # up to this the built-in families' statistics are taken in NumPy (one piece)


def compute_statistics(family, sample, fast_summary=False):
    """One pass over the data: per-piece statistics, merged.

    Returns ``(statistics, summary)``; the summary holds the min and max of the data
    (NaN shows in the statistics, which are sums, and in NumPy's min and max).

    ``fast_summary``: for a family whose statistics come from the summary
    (``summary_statistics``) and an unweighted 1-D sample of any size, one read
    (:mod:`thetahat.kernels.summary`: NumPy, no compiled call; at 1,000 rows a fit skips a
    JAX call); for a family with NumPy statistics (``statistics_np``) and a large
    unweighted 1-D sample, the statistics and the minimum are taken by NumPy side by side on
    two threads; the maximum only where the support has an upper end
    (elsewhere an infinity shows in the sums), else ``None`` -- or the minimum, when the
    data are all equal, which the mean and minimum reveal and one scan confirms.
    """
    big = sample.x.shape[0] >= NUMPY_MIN_ROWS
    if (fast_summary and (family.summary_statistics is not None or (family.statistics_np is not None and big))
            and sample.w is None and sample.x.ndim == 1):
        out = _numpy_statistics(family, sample.x, big)
        if out is not None:
            return out
    if sample.x.shape[0] <= NUMPY_SMALL_ROWS and type(family).__module__.startswith("thetahat.families."):
        # a small sample: the family's own hook in NumPy (thetahat._xp), no compiled pass -- which a
        # new process would trace and lower before reading it from the compile cache (~30-60 ms)
        with np.errstate(all="ignore"):  # (a value outside the support shows as NaN, which the caller checks)
            stats = family.statistics(sample.x, np.ones(sample.x.shape[0]) if sample.w is None else sample.w)
        return {k: np.asarray(v, dtype=float) for k, v in stats.items()}, _summary(sample)
    fn = statistics_function(family)
    # dispatch every piece before reading any result: JAX runs them asynchronously, so
    # pieces overlap on the cores, and with NumPy's min and max computed meanwhile
    parts = [fn(x, w) for x, w in sample.pieces()]
    summary = _summary(sample)
    parts = [{k: np.asarray(v) for k, v in p.items()} for p in parts]
    total = parts[0]
    for p in parts[1:]:
        total = family.merge(total, p)
    return {k: np.asarray(v) for k, v in total.items()}, summary


def _numpy_statistics(family, x, big=True):
    """:func:`compute_statistics` for plain sums: the family's NumPy statistics on this
    thread while the minimum (and, for a support with an upper end, the maximum) run on
    others. NumPy's reductions release the GIL and read the same memory side by side, so
    the whole costs about one pass: the compiled pass plus a NumPy min and max measured
    three. Where the statistics are functions of the summary
    (``family.summary_statistics``), they and the validation come from one read
    (:mod:`thetahat.kernels.summary`). ``None`` where neither path applies."""
    pool = _pool()
    s = (summarize(x, pool, family.summary_fields(), two_values=_two_values(family.support))
         if family.summary_statistics is not None else None)
    if s is not None:  # one read of memory for the statistics and the validation (kernels.summary)
        stats = {k: np.asarray(s[field], dtype=float) for k, field in family.summary_statistics.items()}
        hi = s["min"] if s.get("equal") else s.get("max")  # (None: not needed, see summary_fields)
        return stats, {"min": s["min"], "max": hi, "integral": s.get("integral"), "finite": s["finite"]}
    if family.statistics_np is None or not big:
        return None
    upper = getattr(family.support, "upper", np.inf)
    low = pool.submit(np.minimum.reduce, x)  # (keeps a NaN)
    high = pool.submit(np.maximum.reduce, x) if np.isfinite(upper) else None
    stats = {k: np.asarray(v, dtype=float) for k, v in family.statistics_np(x).items()}
    lo = float(low.result())
    hi = None if high is None else float(high.result())
    if hi is None and np.isfinite(lo) and _maybe_constant(stats, lo) and bool(np.all(x == lo)):
        hi = lo  # all equal (one confirming scan, only for data that look it)
    return stats, {"min": lo, "max": hi}


def _two_values(support):
    """The two values of a support that has only two (a bernoulli's), else ``None``: the
    summary then counts them instead of reading sums, extremes and integrality."""
    if isinstance(support, C.IntegerInterval) and support.upper is not None and support.upper - support.lower == 1:
        return (float(support.lower), float(support.upper))
    return None


def _maybe_constant(stats, lo):
    """Whether the statistics allow all-equal data: mean == min up to the rounding of a sum
    (``sum`` and ``n``), or a zero second moment (``m2``); True when they cannot tell."""
    if "m2" in stats:
        return float(stats["m2"]) <= 1e-24 * float(stats["n"]) * max(float(stats["mean"]) ** 2, 1.0)
    if "sum" in stats and "n" in stats:
        mean = float(stats["sum"] / stats["n"])
        return abs(mean - lo) <= 1e-12 * max(abs(lo), np.finfo(float).tiny)
    return True


def fixed_jax(fixed: dict) -> dict:
    return {k: jnp.asarray(v, dtype=jnp.float64) for k, v in fixed.items()}


class ChunkObjective:
    """Sum over chunks of the weighted log-density."""

    costly_passes = True  # each derivative call reads all the data (see engine.newton)

    def __init__(self, family, layout, fixed, sample):
        self.family, self.layout = family, layout
        self.fixed = fixed_jax(fixed)
        self._sample = sample
        self._chunks = None
        self._value, self._vgh, self._ll_theta = chunk_functions(family, layout)

    @property
    def chunks(self):
        """The padded chunks, made on first use (an estimator with its own pass -- weibull's
        profile iteration -- never needs them)."""
        if self._chunks is None:
            self._chunks = list(self._sample.chunks())
        return self._chunks

    def value(self, u) -> float:
        u = jnp.asarray(u)
        parts = [self._value(u, self.fixed, x, w, nv) for x, w, nv in self.chunks]  # all dispatched first
        return float(sum(np.asarray(p) for p in parts))

    def derivs(self, u):
        u = jnp.asarray(u)
        parts = [self._vgh(u, self.fixed, x, w, nv) for x, w, nv in self.chunks]
        v = sum(float(p[0]) for p in parts)
        g = sum(np.asarray(p[1]) for p in parts)
        h = sum(np.asarray(p[2]) for p in parts)
        return v, g, h

    def loglik_theta(self, theta: dict):
        """Log-likelihood as a JAX function of the natural parameters (for autodiff)."""
        return sum(self._ll_theta(theta, self.fixed, x, w, nv) for x, w, nv in self.chunks)

    def jax_value(self, u):
        return sum(self._value(u, self.fixed, x, w, nv) for x, w, nv in self.chunks)


class StatisticsObjective:
    """Log-likelihood through the sufficient statistics."""

    def __init__(self, family, layout, fixed, stats):
        self.family, self.layout = family, layout
        self._fixed = fixed
        self.stats = {k: np.asarray(v, dtype=float) for k, v in stats.items()}  # (the compiled calls take NumPy)

    # (made on first use: a closed-form fit with NumPy derivatives never calls them)
    @cached_property
    def fixed(self):
        return fixed_jax(self._fixed)

    @cached_property
    def _compiled(self):
        return statistics_loglik_functions(self.family, self.layout)

    _value, _vgh, _ll_theta, _vghj = (property(lambda self, i=i: self._compiled[i]) for i in range(4))

    def value(self, u) -> float:
        return float(self._value(np.asarray(u, dtype=float), self.fixed, self.stats))

    def derivs(self, u):
        # (NumPy in: the compiled call converts it without an eager JAX op of its own)
        u = np.asarray(u, dtype=float)
        return _unpack(np.asarray(self._vgh(u, self.fixed, self.stats)), u.size)

    def derivs_jacobian(self, u):
        """:meth:`derivs` and the Jacobian ``d flat(theta) / du`` from one compiled call."""
        u = np.asarray(u, dtype=float)
        flat = np.asarray(self._vghj(u, self.fixed, self.stats))
        return _unpack(flat, u.size, (flat.size - 1 - u.size - u.size ** 2) // u.size)

    def loglik_theta(self, theta: dict):
        return self._ll_theta(theta, self.fixed, self.stats)

    def jax_value(self, u):
        return self._value(u, self.fixed, self.stats)


@lru_cache(maxsize=None)
def _score_outer_function(family, layout):
    def block(u, fixed, x, w):
        def term(xi, uu):
            return family.loglik_chunk(xi[None], jnp.ones(1), {**fixed, **layout.to_params(uu)})

        s = jax.vmap(lambda xi: jax.grad(term, argnums=1)(xi, u))(x)
        s = jnp.where((w > 0)[:, None], s, 0.0)
        return (s * w[:, None]).T @ s

    def total(u, fixed, x, w, n_valid):
        return _blocked(lambda xb, wb: block(u, fixed, xb, wb))(x, _weights(x, w, n_valid))

    return jit(total)


def score_outer(family, layout, fixed, sample, u, weight_power=1):
    """``sum_i c_i s_i s_i^T`` over observations, ``s_i`` the score of observation i in
    ``u`` coordinates and ``c_i = w_i ** weight_power`` (1 for frequency weights, which
    count repeated observations; 2 for analytic weights, which scale a term)."""
    fn = _score_outer_function(family, layout)
    fixed = fixed_jax(fixed)
    u = jnp.asarray(u)
    out = 0.0
    for x, w, nv in sample.chunks():
        if w is not None and weight_power != 1:
            w = w ** weight_power
        out = out + np.asarray(fn(u, fixed, x, w, nv))
    return out
