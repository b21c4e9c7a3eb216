"""Many fits at once: one compiled, vmapped damped-Newton loop over a batch of samples.

The bootstrap, ``fit_many`` and the simulation studies all fit the same family to many
samples. Looping :func:`thetahat.fit` pays Python overhead per fit; here the whole batch
runs as one compiled ``lax.while_loop`` under ``jax.vmap``:

* each sample is a row of ``X`` (shape ``(B, n)`` or ``(B, n, d)``) with a row of
  weights ``W``: a weight of 0 marks padding (groups of unequal size) and integer weights
  are resampling counts (the nonparametric bootstrap never copies the data);
* families with sufficient statistics are reduced once, vmapped, and Newton runs on
  the statistics; closed forms are evaluated directly;
* each sample stops on its own Newton decrement; one that fails (a degenerate resample,
  a start where the likelihood is zero) is marked ``converged=False`` and never
  disturbs the others.

The step is the same damped Newton as :func:`thetahat.engine.newton.damped_newton`: a step
is accepted only if it does not lower the log-likelihood, so each trace rises.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._jax import jax, jit, jnp, x64, x64_methods
from ..errors import DataError, NonFiniteDataError, OptionError
from ..families import get_family
from ..families.fixed import check_fixed
from ..kernels.aligned import as_jax
from .layout import Layout
from .newton import cap, newton_step
from .objective import _value_grad_hess


@x64_methods
@dataclass(frozen=True)
class BatchFit:
    """The fits of one family to a batch of samples.

    Attributes
    ----------
    params, se : dict of numpy.ndarray
        Per parameter, an array with the batch as its first axis; ``se`` is NaN where a
        standard error does not apply (a non-regular parameter, a failed fit).
    loglik, nobs : numpy.ndarray
        Shape ``(B,)``.
    converged : numpy.ndarray of bool
    iterations : numpy.ndarray of int
    method : str
        ``"closed"`` or ``"newton"``.
    """

    family: object
    params: dict
    se: dict
    loglik: np.ndarray
    nobs: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    method: str
    fixed: dict

    def __len__(self) -> int:
        return int(self.loglik.shape[0])

    @property
    def n_failed(self) -> int:
        return int(np.sum(~self.converged))


@x64
def fit_batch(family, data, *, weights=None, fixed=None, start=None, max_iter=100, tol=1e-10,
              method="auto", _checked=False) -> BatchFit:
    """Fit ``family`` to every row of ``data`` by maximum likelihood, in one compiled call.

    Parameters
    ----------
    family : str or Family
    data : array_like, shape (B, n) or (B, n, d)
        One sample per row; or one sample, shape (n,) or (n, d), shared by every row of
        ``weights`` (resampling by weights: the bootstrap, the jackknife).
    weights : array_like, shape (B, n), optional
        Non-negative frequency weights; 0 excludes an entry (padding).
    fixed : dict, optional
        Values held fixed (and known values such as binomial ``n``), shared by the batch.
    start : dict, optional
        Starting values, scalars shared by the batch or arrays with the batch first.
        Default: each sample's method-of-moments start.
    method : {"auto", "newton"}
        ``auto`` evaluates the closed form where the family has one.

    Returns
    -------
    BatchFit

    Examples
    --------
    >>> import numpy as np
    >>> from thetahat.engine.batch import fit_batch
    >>> x = np.random.default_rng(0).exponential(2.0, size=(3, 50))
    >>> b = fit_batch("exponential", x)
    >>> bool(np.allclose(b.params["lam"], 1 / x.mean(axis=1)))
    True
    """

    fam = get_family(family)
    if method not in ("auto", "newton"):
        raise OptionError(f"fit_batch method must be 'auto' or 'newton', got {method!r}")
    fixed = check_fixed(fam, fixed)
    fam = fam.bind({k: fixed[k] for k in fam.known})
    X = np.asarray(data, dtype=float)
    shared = X.ndim == 1 + fam.ndim and weights is not None and np.ndim(weights) == 2
    if shared:
        n = X.shape[0]
        W = np.asarray(weights, dtype=float)
        if W.shape[1:] != (n,):
            raise DataError(f"weights have shape {W.shape}; the shared sample needs (B, {n})")
        return _fit_shared(fam, X, W, fixed, start, max_iter, tol, method)
    if X.ndim != 2 + fam.ndim:
        raise DataError(f"fit_batch expects data of {2 + fam.ndim} dimensions (batch, observations"
                        f"{', coordinates' if fam.ndim else ''}), got shape {X.shape}")
    B, n = X.shape[:2]
    if weights is None:  # every entry counts once: no mask, no padding
        if not _checked:
            if not np.all(np.isfinite(X) | _open_bounds(fam, X)):
                raise NonFiniteDataError("the batch holds NaN or infinite values")
            fam.check_support(X.reshape((-1,) + X.shape[2:]), fixed)
        return _run(fam, X, None, fixed, start, max_iter, tol, method, shared=False)
    W = np.asarray(weights, dtype=float)
    if W.shape != (B, n):
        raise DataError(f"weights have shape {W.shape}, data rows need {(B, n)}")
    if not np.all(np.isfinite(W)) or np.any(W < 0):
        raise DataError("weights must be finite and non-negative")
    live = W > 0
    if not _checked:  # (fit_many has validated each group)
        vals = X[live]
        if not np.all(np.isfinite(vals) | _open_bounds(fam, vals)):
            raise NonFiniteDataError("the batch holds NaN or infinite values among its weighted entries")
        fam.check_support(vals, fixed)
    X = _fill_padding(X, live)
    return _run(fam, X, W, fixed, start, max_iter, tol, method, shared=False)


def _fit_shared(fam, x, W, fixed, start, max_iter, tol, method):
    """One sample ``x`` refitted under each row of weights ``W`` (no copy of the data)."""
    if not np.all(np.isfinite(W)) or np.any(W < 0):
        raise DataError("weights must be finite and non-negative")
    if not np.all(np.isfinite(x) | _open_bounds(fam, x)):
        raise NonFiniteDataError("the shared sample holds NaN or infinite values")
    fam.check_support(x, fixed)
    return _run(fam, x, W, fixed, start, max_iter, tol, method, shared=True)


def _run(fam, X, W, fixed, start, max_iter, tol, method, shared):
    """The batch fit proper, on validated data: ``X`` holds one sample per row, or (``shared``)
    one sample that every row of ``W`` reweights; ``W`` None: every entry weighs 1."""
    unweighted = W is None
    B = X.shape[0] if unweighted else W.shape[0]
    rows = np.broadcast_to(X, (B,) + X.shape) if shared else X  # a view: no copy
    free = [k for k in fam.params if k not in fixed]
    if not free:
        raise OptionError("every parameter is fixed: there is nothing to estimate")
    layout = Layout.build(fam, fam.param_shapes(rows[0]), free)
    fixed_j = {k: jnp.asarray(v) for k, v in fixed.items()}
    use_stats = fam.statistics is not None and fam.loglik_from_statistics is not None
    Xj = as_jax(X)
    Wj = None if unweighted else as_jax(W)
    if unweighted and not use_stats:
        Wj = _ones(X.shape[:2])
    nobs = np.full(B, float(X.shape[1])) if unweighted else W.sum(axis=1)

    def w_np():  # unit weights as NumPy, only where a NumPy path needs them
        return np.ones(X.shape[:2]) if unweighted else W

    if use_stats and unweighted:
        payload = _stats_unweighted_fn(fam)(Xj)  # no mask: XLA fuses the reductions into one loop
    else:
        payload = _stats_fn(fam, shared)(Xj, Wj) if use_stats else (Xj, Wj)
    closed = method == "auto" and fam.has_closed_form and not (set(fixed) & set(fam.params))
    if (method == "auto" and not closed and fam.profile_batch is not None and not use_stats
            and not (set(fixed) & set(fam.params))):
        return _profile_run(fam, layout, Xj, Wj, nobs, fixed)
    est = _closed_batch(fam, payload if use_stats else None, rows, w_np() if fam.closed_form is None else None) \
        if closed else None
    if est is not None:
        u = np.nan_to_num(_to_u(layout)({k: jnp.asarray(est[k]) for k in layout.names}),
                          nan=0.0, posinf=30.0, neginf=-30.0)
    elif use_stats and start is None and fam.start_from_statistics is not None:
        u = np.asarray(_stats_start_fn(fam, layout)(payload))  # no pass over the data for starts
        u = np.where(np.isfinite(u), u, np.sign(u) * 10.0)
    else:
        Wn = w_np()
        u = _starts(fam, layout, rows, Wn, Wn > 0, fixed, start)
    solver = _solver(fam, layout, use_stats, int(max_iter), float(tol), est is not None, shared)
    u, v, ok, it, se_flat = (np.asarray(a) for a in solver(jnp.asarray(u), fixed_j, payload))
    if est is not None:
        params = {k: np.asarray(est[k], dtype=float) for k in layout.names}
        v = np.asarray(_loglik_theta(fam, use_stats, shared)({k: jnp.asarray(a) for k, a in params.items()},
                                                             fixed_j, payload))
        ok, it = np.isfinite(v), np.zeros(B, dtype=int)
    else:
        p = _to_params(layout)(u)
        params = {k: np.asarray(p[k]) for k in layout.names}
    return _assemble(fam, layout, params, se_flat, v, nobs, ok, it, est is not None, fixed)


def _profile_run(fam, layout, Xj, Wj, nobs, fixed):
    """Every row's MLE by the family's profile iteration; standard errors from the
    inverse of the negative Hessian in the natural parameters (the gradient is zero there)."""
    B = Wj.shape[0]
    if Xj.ndim == Wj.ndim - 1 + fam.ndim:  # one shared sample under many weightings
        Xj = jnp.broadcast_to(Xj, (B,) + Xj.shape)
    est, ok, v, g, h = fam.profile_batch(Xj, Wj)
    se_flat = np.asarray(_inverse_diag_sqrt(h))
    v, ok, g = np.asarray(v), np.asarray(ok), np.asarray(g)
    scale = np.maximum(1.0, np.abs(v))
    ok = ok & np.isfinite(v) & np.all(np.isfinite(se_flat), axis=1) & np.all(np.abs(g) < 1e-6 * scale[:, None], axis=1)
    params = {k: np.asarray(est[k], dtype=float) for k in layout.names}
    return _assemble(fam, layout, params, se_flat, v, nobs, ok, np.zeros(B, dtype=int), False, fixed)


@jit
def _inverse_diag_sqrt(h):
    def one(hh):
        L = jnp.linalg.cholesky(-hh)
        cov = jax.scipy.linalg.cho_solve((L, True), jnp.eye(hh.shape[0]))
        return jnp.sqrt(jnp.diag(cov))
    return jax.vmap(one)(h)


def _assemble(fam, layout, params, se_flat, v, nobs, ok, it, closed, fixed):
    B = v.shape[0]
    se = {}
    for s in layout.slots:
        piece = se_flat[:, s.tstart:s.tstart + s.tsize].reshape((B,) + s.shape)
        if s.name in fam.nonregular:
            piece = np.full_like(piece, np.nan)
        se[s.name] = np.where(np.asarray(ok).reshape((B,) + (1,) * len(s.shape)), piece, np.nan)
    for k, val in fixed.items():
        params[k] = np.broadcast_to(np.asarray(val, dtype=float), (B,) + np.shape(val)).copy()
    return BatchFit(fam, params, se, np.asarray(v, dtype=float), nobs, np.asarray(ok, dtype=bool),
                    np.asarray(it, dtype=int), "closed" if closed else "newton", dict(fixed))


def _open_bounds(fam, x):
    """Censored rows hold infinite bounds (an open end) legitimately."""
    if fam.censored:
        return np.isinf(x)
    return np.zeros(x.shape, bool)


# ---- pieces ------------------------------------------------------------------------
def _fill_padding(X, live):
    """Padding (weight 0) takes a valid value of its own row, so that no log(0) or
    out-of-support value reaches a start or a derivative."""
    if live.all():
        return X
    X = X.copy()
    first = np.argmax(live, axis=1)
    fill = X[np.arange(X.shape[0]), first]
    dead = ~live
    X[dead] = np.broadcast_to(fill[:, None, ...], X.shape)[dead]
    return X


@lru_cache(maxsize=None)
def _stats_unweighted_fn(fam):
    return jax.jit(jax.vmap(lambda x: fam.statistics(x, jnp.ones(x.shape[0], dtype=x.dtype))))


@lru_cache(maxsize=None)
def _stats_fn(fam, shared=False):
    return jax.jit(jax.vmap(fam.statistics, in_axes=(None if shared else 0, 0)))


def _closed_batch(fam, payload, X, W):
    """Closed-form estimates for every row, vmapped where the hook traces, else looped."""
    try:
        if fam.closed_form is not None:
            if payload is None:
                raise TypeError("no statistics")
            est = jax.jit(jax.vmap(fam.closed_form))(payload)
        else:
            est = jax.jit(jax.vmap(fam.closed_form_data))(jnp.asarray(X), jnp.asarray(W))
        return {k: np.asarray(v, dtype=float) for k, v in est.items()}
    except Exception:  # a NumPy-only hook (weighted medians): one call per row
        pass
    if fam.closed_form_data is None:
        return None
    rows = []
    for i in range(X.shape[0]):
        m = W[i] > 0
        rows.append({k: np.asarray(v, dtype=float) for k, v in fam.closed_form_data(X[i][m], W[i][m]).items()})
    return {k: np.stack([r[k] for r in rows]) for k in rows[0]}


def _starts(fam, layout, X, W, live, fixed, start):
    """Starting points for the batch, as arrays with the batch first (no per-row loop
    unless the family's start only runs in NumPy)."""
    B = X.shape[0]
    cols = {}
    if start is not None:
        for k in start:
            if k not in fam.params:
                raise OptionError(f"start names {k!r}, which is not a parameter of {fam.name}")
        for k, v in start.items():
            if k not in layout.names:
                continue
            shape = layout.slots[layout.names.index(k)].shape
            v = np.asarray(v, dtype=float)
            cols[k] = v if v.ndim > len(shape) else np.broadcast_to(v, (B,) + shape)
    missing = [k for k in layout.names if k not in cols]
    if missing:
        vec = _vector_starts(fam, X, W)
        if vec is None:
            rows = []
            for i in range(B):
                m = live[i]
                rows.append(fam.start(X[i][m], W[i][m]))
            vec = {k: np.stack([np.asarray(r[k], dtype=float) for r in rows]) for k in missing}
        for k in missing:
            cols[k] = vec[k]
    u = np.asarray(_to_u(layout)({k: jnp.asarray(cols[k]) for k in layout.names}))
    return np.where(np.isfinite(u), u, np.sign(u) * 10.0)


def _vector_starts(fam, X, W):
    """Every sample's start in one vmapped call, where the family's ``start`` traces
    under JAX (moment starts written with array methods); None where it does not."""
    fn = _start_fns.get(fam)
    if fn is False:
        return None
    if fn is None:
        fn = jax.jit(jax.vmap(lambda x, w: {k: jnp.asarray(v, dtype=jnp.float64)
                                            for k, v in fam.start(x, w).items()}))
        _start_fns[fam] = fn
    try:
        out = fn(jnp.asarray(X), jnp.asarray(W))
    except Exception:  # NumPy-only starts (np.log on a tracer, data-dependent branches)
        _start_fns[fam] = False
        return None
    out = {k: np.asarray(v) for k, v in out.items()}
    if not all(np.all(np.isfinite(v)) for v in out.values()):
        return None
    return out


_start_fns: dict = {}


@lru_cache(maxsize=None)
def _stats_start_fn(fam, layout):
    def one(s):
        p = fam.start_from_statistics(s)
        return jnp.concatenate([jnp.ravel(jnp.atleast_1d(sl.constraint.inverse(p[sl.name]))) for sl in layout.slots])
    return jax.jit(jax.vmap(one))


@lru_cache(maxsize=None)
def _to_params(layout):
    return jax.jit(jax.vmap(layout.to_params))


@jit(static_argnums=0)
def _ones(shape):
    return jnp.ones(shape)


@lru_cache(maxsize=None)
def _to_u(layout):
    """Batched natural parameters -> batched unconstrained vectors."""
    def one(p):
        return jnp.concatenate([jnp.ravel(jnp.atleast_1d(s.constraint.inverse(p[s.name]))) for s in layout.slots])
    return jax.jit(jax.vmap(one))


def _ll_fn(fam, layout, use_stats):
    if use_stats:
        def ll(u, fixed, s):
            return fam.loglik_from_statistics(s, {**fixed, **layout.to_params(u)})
    else:
        def ll(u, fixed, xw):
            x, w = xw
            return fam.loglik_chunk(x, w, {**fixed, **layout.to_params(u)})
    return ll


def _data_axes(use_stats, shared):
    return 0 if use_stats or not shared else (None, 0)


@lru_cache(maxsize=None)
def _loglik_theta(fam, use_stats, shared=False):
    if use_stats:
        f = lambda p, fixed, s: fam.loglik_from_statistics(s, {**fixed, **p})  # noqa: E731
    else:
        f = lambda p, fixed, xw: fam.loglik_chunk(xw[0], xw[1], {**fixed, **p})  # noqa: E731
    return jax.jit(jax.vmap(f, in_axes=(0, None, _data_axes(use_stats, shared))))


@lru_cache(maxsize=None)
def _solver(fam, layout, use_stats, max_iter, tol, closed, shared=False):
    ll = _ll_fn(fam, layout, use_stats)
    vgh = _value_grad_hess(ll)
    k = layout.size
    eye = jnp.eye(k)
    jac = jax.jacfwd(lambda u: layout.flat(layout.to_params(u)))

    def solve(u0, fixed, data):
        v0, g0, H0 = vgh(u0, fixed, data)

        def cond(s):
            return (~s["done"]) & (s["it"] < max_iter)

        def body(s):
            u, v, g, H, mu = s["u"], s["v"], s["g"], s["H"], s["mu"]
            A = -H
            scale = jnp.maximum(1.0, jnp.max(jnp.abs(jnp.diag(A))))
            s0, pd = newton_step(g, A, None, jnp)  # the host loops' step function, compiled
            at_opt = pd & (g @ s0 < tol)
            s1, ok1 = newton_step(g, A, mu * scale, jnp)
            good = jnp.where(at_opt, pd, ok1)
            step = cap(jnp.where(at_opt, s0, s1), xp=jnp)
            v2, g2, H2 = vgh(u + step, fixed, data)
            # at the optimum the pure Newton step is still taken when it does not go downhill:
            # the decrement test resolves the log-likelihood, one more step the parameters
            accept = good & jnp.isfinite(v2) & (v2 >= v)
            mu_next = jnp.where(accept, jnp.where(mu > 1e-12, mu / 10.0, 0.0), jnp.maximum(mu * 10.0, 1e-6))
            stuck = ~accept & ~at_opt & (mu_next > 1e12)
            pick = lambda a, b: jnp.where(accept, a, b)  # noqa: E731
            return {"u": pick(u + step, u), "v": pick(v2, v), "g": pick(g2, g), "H": pick(H2, H),
                    "mu": mu_next, "it": s["it"] + accept.astype(jnp.int32), "done": at_opt | stuck,
                    "ok": at_opt}

        init = {"u": u0, "v": v0, "g": g0, "H": H0, "mu": jnp.asarray(0.0), "it": jnp.asarray(0, jnp.int32),
                "done": ~jnp.isfinite(v0), "ok": jnp.asarray(False)}
        s = init if closed else jax.lax.while_loop(cond, body, init)
        A = -s["H"]
        L = jnp.linalg.cholesky(A)
        J = jac(s["u"])
        Ai = jax.scipy.linalg.cho_solve((L, True), eye)
        cov = J @ Ai @ J.T
        se = jnp.sqrt(jnp.clip(jnp.diag(cov), 0.0, None))
        se = jnp.where(jnp.all(jnp.isfinite(L)), se, jnp.nan)
        return s["u"], s["v"], s["ok"], s["it"], se

    return jax.jit(jax.vmap(solve, in_axes=(0, None, _data_axes(use_stats, shared))))
