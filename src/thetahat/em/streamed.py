"""``thetahat.mixture`` on data that is never loaded whole: EM with one pass per iteration.

Every EM iteration is one :func:`~thetahat.scale.reduce.map_reduce` pass. Each batch
computes its responsibilities (log-sum-exp of the component log-densities, one jitted
function per component model and process) and returns only the sufficient statistics
of the M-step: per component ``N_j = sum_i r_ij``, ``sum_i r_ij (x_i - m_j)`` and
``sum_i r_ij (x_i - m_j)(x_i - m_j)^T`` (normal components; ``m_j`` is the current
mean, so the scatter has no cancellation), or ``sum_i r_ij x_i`` (poisson,
exponential), plus the log-likelihood. That is O(k d^2) numbers per batch, whatever
the batch size; the M-step runs on the merged statistics.

* Pass 1 validates every row (NaN, infinity, support), counts them, merges each
  column's mean and variance (for ``cov_prior="auto"``) and keeps a strided pilot
  subsample of about 65 000 rows.
* Without ``start=``, the in-memory :func:`thetahat.mixture` (k-means++ starts, the
  same ``starts``, ``seed``, ``tol`` and covariance prior) fits the pilot, and the
  streamed EM starts from that fit: it is usually a few passes from the optimum.
* EM then runs with exactly the in-memory rules (convergence when the objective
  changes by less than ``tol`` per observation, the weak covariance prior, component
  order), so from the same ``start=`` the streamed and in-memory fits agree to
  rounding.
* After EM, as in memory, damped Newton steps on the marginal log-likelihood
  (:mod:`thetahat.em.polish`), one pass each: every batch adds its share of the gradient
  and Hessian in the unconstrained coordinates. ``converged`` is True only if the gradient
  test passes at the end; the standard errors come from the last pass's Hessian (the
  observed information of the in-memory fit), with no pass of their own.

Example
-------
>>> import os, tempfile
>>> import numpy as np, pyarrow as pa, pyarrow.parquet as pq, thetahat
>>> d = tempfile.mkdtemp()
>>> x = np.concatenate([np.linspace(-1, 1, 300), np.linspace(5, 7, 200)])
>>> for i in range(2):
...     pq.write_table(pa.table({"x": x[i::2]}), os.path.join(d, f"part{i}.parquet"))
>>> f = thetahat.mixture(os.path.join(d, "*.parquet"), 2, column="x")
>>> np.round(f.params["mu"], 3).tolist(), np.round(f.params["weights"], 3).tolist()
([0.0, 6.0], [0.6, 0.4])
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._jax import x64, x64_methods
from . import _common as cm
from . import polish as pl
from .mixture_memory import MAX_ITER, TOL, fit_in_memory, from_start
from .mixture_result import MixtureFit
from ..errors import EmptyDataError, NonFiniteDataError, OptionError, SupportError, ThetahatError
from ..scale.reduce import file_source_on_dask, map_reduce
from ..scale.sources import BATCH_ROWS, FileSource, is_dask, open_source

PILOT_ROWS = 1 << 16
CHUNK = 1 << 17  # rows per compiled E-step call (the tail is padded to a power of two)
FAMILIES = ("normal", "mvnormal", "poisson", "exponential")


@dataclass(frozen=True)
class MixtureSpec:
    """What every batch function needs: the columns, the family (for the support check),
    whether the data are rows of several columns, NaN handling, the pilot stride."""

    columns: tuple
    family: str
    rows_of_vectors: bool
    dropna: bool
    pilot_every: int


def _merge_moments(a, b):
    """Chan et al.'s parallel merge of (count, mean, sum of squared deviations) per column."""
    na, nb = float(a["n"]), float(b["n"])
    if na == 0:
        return b
    if nb == 0:
        return a
    n = na + nb
    delta = np.asarray(b["mean"]) - np.asarray(a["mean"])
    return {"n": np.asarray(n), "mean": a["mean"] + delta * (nb / n),
            "m2": a["m2"] + b["m2"] + delta * delta * (na * nb / n)}


def _values(batch, spec, check=True):
    """The batch as data for the component model; NaN rows dropped (and counted) or refused."""
    cols = [batch.columns[c] for c in spec.columns]
    x = np.column_stack(cols) if spec.rows_of_vectors else cols[0]
    nan = np.isnan(x).any(axis=1) if x.ndim == 2 else np.isnan(x)
    k = int(nan.sum()) if (check or spec.dropna) else 0
    if k and not spec.dropna:
        i = int(np.argmax(nan))
        col = next(c for c, v in zip(spec.columns, cols) if np.isnan(v[i]))
        raise NonFiniteDataError(f"{batch.where} contains NaN at data row {batch.offset + i + 1} of column {col!r} "
                                 "(pass dropna=True / --dropna to drop and count NaN rows)")
    return (x[~nan] if k else x), k


def validate_batch(batch, spec):
    """Pass 1: NaN, infinity and support checks, counts, column moments, a pilot subsample."""
    x, dropped = _values(batch, spec)
    after = f" (counting rows after the {dropped} NaN rows dropped)" if dropped else ""
    finite = np.isfinite(x) if x.ndim == 1 else np.isfinite(x).all(axis=1)
    if not finite.all():
        raise NonFiniteDataError(f"{batch.where} contains an infinite value at data row "
                                 f"{batch.offset + int(np.argmax(~finite)) + 1}{after}")
    if spec.family in ("poisson", "exponential") and x.shape[0]:
        from ._common import _check
        from ..families import get_family

        try:
            _check(get_family(spec.family), x)
        except SupportError as exc:
            msg = re.sub(r"at (data )?row (\d+)",
                         lambda m: f"at {m.group(1) or ''}row {int(m.group(2)) + batch.offset}", str(exc))
            raise SupportError(f"{batch.where}: {msg}{after}") from None
    n = x.shape[0]
    out = {"n": np.asarray(float(n)), "dropped": np.asarray(float(dropped)),
           "cat:pilot": np.ascontiguousarray(x[::min(spec.pilot_every, max(1, n // 1024))])}
    if n:
        z = x.reshape(n, -1)
        mean = z.mean(axis=0)
        out.update({"s:n": np.asarray(float(n)), "s:mean": mean, "s:m2": ((z - mean) ** 2).sum(axis=0),
                    "max:abs": np.asarray(float(np.max(np.abs(z))))})
    return out


# ---- the E-step statistics ---------------------------------------------------------------
def _gaussian(model):
    return getattr(model, "name", "") == "gaussian"


@lru_cache(maxsize=None)
def _stats_function(model):
    """Per process and component model: the jitted E-step returning the M-step's statistics."""
    import jax
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    def stats(x, w, p, logw, shift):
        lp = model.log_density(x, p) + logw[None, :]
        lse = logsumexp(lp, axis=1)
        r = jnp.exp(lp - lse[:, None]) * w[:, None]
        out = {"nk": r.sum(0), "ll": jnp.sum(w * lse)}
        if _gaussian(model):
            diff = (x[:, None] if x.ndim == 1 else x)[:, None, :] - shift[None]  # (n, k, d)
            out["sx"] = jnp.einsum("nk,nkd->kd", r, diff)
            out["sxx"] = jnp.einsum("nk,nkd,nke->kde", r, diff, diff)
        else:
            out["sx"] = r.T @ x
        return out

    return jax.jit(stats)


def _chunks(x, size):
    """Chunks of ``size`` rows with weights; the tail padded (weight 0) to a power of two,
    so that every batch of any length reuses a few compiled shapes."""
    n = x.shape[0]
    for s in range(0, n, size):
        xc = x[s:s + size]
        m = xc.shape[0]
        full = size if m == size else max(1024, 1 << (m - 1).bit_length())
        w = np.ones(full)
        if full > m:
            xc = np.concatenate([xc, np.repeat(xc[-1:], full - m, axis=0)])
            w[m:] = 0.0
        yield xc, w


def em_batch(batch, spec, model, params, logw, shift):
    """One batch's share of an EM iteration: the M-step statistics and the log-likelihood."""
    x, _ = _values(batch, spec, check=False)
    fn = _stats_function(model)
    total = None
    for xc, w in _chunks(x, CHUNK):
        out = fn(xc, w, params, logw, shift)
        out = {k: np.asarray(v) for k, v in out.items()}
        total = out if total is None else {k: total[k] + out[k] for k in total}
    return total if total is not None else {}


def _m_step(model, st, shift):
    """The closed-form M-step of ``model`` from merged statistics (the same formulas as
    ``model.m_step`` on the rows, rewritten in sums)."""
    from .components import TINY

    nk_raw = np.asarray(st["nk"], dtype=float)
    nk = nk_raw + TINY
    sx = np.asarray(st["sx"], dtype=float)
    if model.name == "poisson":
        p = {"lam": sx / nk + TINY}
    elif model.name == "exponential":
        p = {"lam": nk / (sx + TINY)}
    else:
        mu = shift + sx / nk[:, None]
        # sum r (x - mu)(x - mu)^T with mu - m = sx / nk, from the moments about m
        outer = sx[:, :, None] * sx[:, None, :]
        scatter = st["sxx"] - outer * (2.0 / nk - nk_raw / nk**2)[:, None, None]
        d = model.d
        psi = np.asarray(model.prior, dtype=float) if model.prior else np.zeros(d)
        eye = np.eye(d)
        if model.cov_type == "full":
            cov = (scatter + np.diag(psi)[None]) / nk[:, None, None]
        elif model.cov_type == "diag":
            dg = np.diagonal(scatter, axis1=1, axis2=2)
            cov = ((dg + psi[None]) / nk[:, None])[:, :, None] * eye[None]
        elif model.cov_type == "spherical":
            tr = np.trace(scatter, axis1=1, axis2=2)
            cov = ((tr + psi.sum()) / (d * nk))[:, None, None] * eye[None]
        else:
            pooled = (scatter.sum(0) + np.diag(psi)) / nk.sum()
            cov = np.broadcast_to(pooled, (model.k, d, d))
        p = {"mu": mu, "cov": 0.5 * (cov + np.swapaxes(cov, 1, 2))}
    return p, np.log((nk_raw + 1e-300) / nk_raw.sum())


def _shift(model, p):
    return np.asarray(p["mu"], dtype=float) if _gaussian(model) else np.zeros(model.k)


# ---- Newton steps and standard errors -------------------------------------------------------
def derivs_batch(batch, spec, model, u, params, logw, shift, hessian):
    """A batch's share of a Newton pass: the E-step statistics of :func:`em_batch` (for the
    component order) and the log-likelihood's value ``dll``, gradient ``g`` and (with
    ``hessian``) Hessian ``H`` in the unconstrained coordinates ``u`` of :mod:`thetahat.em.polish`."""
    from .polish import loglik_derivatives

    out = em_batch(batch, spec, model, params, logw, shift)
    x, _ = _values(batch, spec, check=False)
    ll, g, H = loglik_derivatives(model, x, u, hessian)
    out.update({"dll": np.asarray(ll), "g": g, **({"H": H} if hessian else {})})
    return out


def _evaluator(model, source, spec, progress):
    """``evaluate(u)`` for :func:`~thetahat.em.polish.newton_polish`: one pass over the data."""

    def evaluate(u, hessian=True):
        q, lw = pl.from_unconstrained(model, u)
        q, lw = {kk: np.asarray(v, dtype=float) for kk, v in q.items()}, np.asarray(lw, dtype=float)
        st = map_reduce(source, derivs_batch, (spec, model, np.asarray(u), q, lw, _shift(model, q), hessian),
                        progress=progress, label="Newton pass")
        lp, gp, Hp = pl.prior_derivatives(model, u)
        ll, H = float(st["dll"]), (np.asarray(st["H"]) if hessian else None)
        return ll + lp, np.asarray(st["g"]) + gp, (H + Hp if hessian else None), (ll, H, st, q, lw)

    return evaluate


def _newton_end(model, source, spec, p, logw, em_reason, scale, newton_steps, progress, want_se):
    """After streamed EM: Newton steps (one pass each) and the gradient test, as in memory.

    Returns ``(polish, converged, reason)``; ``polish.parts`` holds, at the final point, the
    log-likelihood, its Hessian, the pass's statistics and the parameters ``(p, logw)``."""

    evaluate = _evaluator(model, source, spec, progress)
    pol = pl.newton_polish(evaluate, pl.to_unconstrained(model, p, logw),
                           lambda u, parts: not _collapsed(model, parts[3], scale).any(), max_steps=newton_steps,
                           final_hessian=want_se)
    converged, reason = pl.polish_verdict(em_reason, pol)
    return pol, converged, reason


def _standard_errors(model, H, p, logw, natural):
    """Delta-method standard errors from the Hessian ``H`` of the log-likelihood at ``(p, logw)``."""
    import jax
    import jax.numpy as jnp


    u = pl.to_unconstrained(model, p, logw)

    def nat_flat(uv):
        q, lw = pl.from_unconstrained(model, uv)
        d = {"weights": jnp.exp(lw), **model.natural(q)}
        return jnp.concatenate([jnp.ravel(v) for v in d.values()])

    se, cov, note, negdef = cm.se_from_hessian(H, np.asarray(jax.jacfwd(nat_flat)(jnp.asarray(u))))
    return (None if se is None else cm.unflatten(se, natural)), cov, note, negdef


# ---- the fit -----------------------------------------------------------------------------------
@x64_methods
class StreamedMixtureFit(MixtureFit):
    """A :class:`~thetahat.MixtureFit` of streamed data: the same estimates, standard
    errors and diagnostics, but no (n, k) responsibilities of rows that were never held
    in memory (``responsibilities`` is None)."""

    def predict_proba(self, x=None):
        if x is None:
            raise OptionError("this mixture was streamed and kept no responsibilities of its training rows: "
                              "pass the rows to classify, predict_proba(x) / predict(x)")
        return MixtureFit.predict_proba(self, x)


@x64
def stream_mixture(data, k, family="normal", *, column=None, columns=None, cov_type="full", starts=1, seed=0,
                   max_iter=None, tol=None, start=None, cov_prior="auto", se=True, dropna=False,
                   batch_rows=BATCH_ROWS, progress=None, dask=False, newton_steps=None):
    """:func:`thetahat.mixture` of files (Parquet/CSV, a glob, a folder, a list) or a Dask
    collection, by EM with one pass over the data per iteration.

    ``column`` (one name, or comma-separated names) or ``columns`` (a list) names what to
    read; several columns make multivariate normal components. ``dropna`` drops (and
    counts) rows holding NaN instead of refusing them; ``dask=True`` has Dask workers read
    the files. Other arguments are those of :func:`thetahat.mixture`. Normal,
    multivariate normal, poisson and exponential components are supported.

    Returns
    -------
    MixtureFit or MixtureSelection
        Without ``responsibilities`` (``predict(x)`` needs the rows); ``notes`` say how
        many passes over the data the fit took.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, pyarrow as pa, pyarrow.parquet as pq
    >>> from thetahat.em.streamed import stream_mixture
    >>> path = os.path.join(tempfile.mkdtemp(), "counts.parquet")
    >>> x = np.r_[np.zeros(60), np.ones(40), np.full(50, 9.0), np.full(50, 11.0)]
    >>> pq.write_table(pa.table({"n": x}), path)
    >>> f = stream_mixture(path, 2, "poisson", column="n", se=False)
    >>> np.round(f.params["lam"], 3).tolist(), f.converged
    ([0.4, 9.993], True)
    """
    from .mixture_result import MixtureSelection
    from .polish import NEWTON_STEPS, check_steps

    max_iter = MAX_ITER if max_iter is None else max_iter
    tol = TOL if tol is None else tol
    key = cm.family_key(family)
    if not isinstance(key, str) or key not in FAMILIES:
        name = key if isinstance(key, str) else getattr(key, "name", repr(key))
        raise OptionError(f"a streamed mixture supports normal, mvnormal, poisson and exponential components, not "
                          f"{name} (its M-step needs the rows in memory): load the data to fit it")
    ks = cm.check_ks(k)
    starts = cm.check_run(starts, max_iter, tol)
    newton_steps = check_steps(NEWTON_STEPS if newton_steps is None else newton_steps)
    if cov_type not in cm.COV_TYPES:
        raise OptionError(f"unknown cov_type {cov_type!r}; choose one of {', '.join(cm.COV_TYPES)}")
    names = _column_names(data, key, column, columns)
    vectors = key == "mvnormal" or len(names) > 1
    source = open_source(data, names, batch_rows=batch_rows)
    if dask and isinstance(source, FileSource):
        source = file_source_on_dask(source)
    every = _pilot_every(source, data, len(names))
    spec = MixtureSpec(tuple(names), "normal" if vectors else key, vectors, bool(dropna), every)
    first = map_reduce(source, validate_batch, (spec,), merge=_merge_moments, progress=progress, label="reading")
    where = source.describe()
    if first is None or float(first["n"]) == 0:
        raise EmptyDataError(f"{where} holds no rows" + (" after dropping NaN rows" if first else ""))
    n, dropped = int(first["n"]), int(first["dropped"])
    pilot = first["cat:pilot"]
    if pilot.shape[0] > 2 * PILOT_ROWS:
        pilot = pilot[:: pilot.shape[0] // PILOT_ROWS]
    var = np.asarray(first["s:m2"], dtype=float) / n
    model = _model(key, vectors, len(names), ks[0], cov_type, cov_prior, var)
    scale = cm.data_scale(np.asarray(first.get("max:abs", 0.0)))
    ctx = dict(source=source, spec=spec, where=where, n=n, dropped=dropped, pilot=pilot, every=every, scale=scale,
               starts=starts, seed=seed, max_iter=int(max_iter), tol=float(tol), se=se, progress=progress,
               newton_steps=newton_steps)
    if len(ks) == 1:
        return _fit_one(model, start, **ctx)
    if start is not None:
        raise OptionError("start= gives one k's starting values; it cannot be combined with a range of k")
    fits = {kk: _fit_one(_model(key, vectors, len(names), kk, cov_type, cov_prior, var), None, **ctx) for kk in ks}
    return MixtureSelection.from_fits(fits)


def _column_names(data, key, column, columns):
    if column is not None and columns is not None:
        raise OptionError("give column= or columns=, not both")
    if columns is not None:
        names = [columns] if isinstance(columns, str) else list(columns)
    elif column is not None:
        names = [c.strip() for c in column.split(",")] if isinstance(column, str) else list(column)
    elif is_dask(data):
        cols = list(getattr(data, "columns", []))
        if cols:
            names = cols
        elif getattr(data, "ndim", 1) == 2:
            names = [f"x{j}" for j in range(int(data.shape[1]))]
        else:
            name = getattr(data, "name", None)
            names = [name if isinstance(name, str) else "x"]
    else:
        raise OptionError("name the column(s) to fit with column=... or columns=[...] when reading files")
    if not names:
        raise OptionError("columns= is empty")
    if key in ("poisson", "exponential") and len(names) != 1:
        raise OptionError(f"{key} components take one value per observation: name one column, got {names}")
    return [str(c) for c in names]


def _pilot_every(source, data, ncol):
    rows = source.rows
    if not rows and is_dask(data) and hasattr(data, "chunks"):
        n = data.shape[0]
        rows = int(n) if isinstance(n, (int, np.integer)) else None
    if rows:
        return max(1, rows // PILOT_ROWS)
    if source.files:  # CSV: a row takes at least 2 bytes per column
        import os

        return max(1, sum(os.path.getsize(f) for f in source.files) // (2 * ncol * PILOT_ROWS))
    return 64


def _model(key, vectors, d, k, cov_type, cov_prior, var):
    from .components import ExponentialComponents, GaussianComponents, PoissonComponents

    if key == "poisson":
        return PoissonComponents(k)
    if key == "exponential":
        return ExponentialComponents(k)
    if isinstance(cov_prior, str) and cov_prior == "auto":
        prior = tuple(float(v) for v in cm.PRIOR_SCALE * np.where(var > 0, var, 1.0))
    else:  # the in-memory rule; it reads only the number of columns of its data
        prior = cm._prior(np.zeros((1, d)) if vectors else np.zeros(1), cov_prior)
    return GaussianComponents(k, d, cov_type if vectors else "full", prior, univariate=not vectors)


def _pilot_start(model, pilot, starts, seed, max_iter, tol, every):
    """Starting values: the in-memory mixture (k-means++ starts) fitted to the pilot subsample."""

    fam = model.family_name
    prior = np.asarray(model.prior) if getattr(model, "prior", ()) else None
    try:
        f = fit_in_memory(pilot, model.k, fam, cov_type=getattr(model, "cov_type", "full"), starts=starts,
                          seed=seed, max_iter=max_iter, tol=tol, start=None,
                          cov_prior=prior if fam in ("normal", "mvnormal") else "auto", se=False,
                          newton_steps=pl.NEWTON_STEPS)
    except ThetahatError as exc:
        what = "the data" if every == 1 else f"the pilot subsample of {pilot.shape[0]} rows"
        raise type(exc)(f"starting values from {what}: {exc}") from None
    params = {**f.params}
    if f.collapsed:  # a covariance at (or below) the collapse floor, kept positive definite as a start

        floor = cm.collapse_floor(cm.data_scale(pilot)) ** 2
        for name in ("sigma", "var", "cov"):
            if name in params and not (name == "cov" and getattr(model, "cov_type", "") == "tied"):
                v = np.array(params[name], dtype=float)
                for j in f.collapsed:
                    if name == "sigma":
                        v[j] = max(v[j], np.sqrt(floor))
                    elif name == "var":
                        v[j] = np.maximum(v[j], floor)
                    else:
                        w, U = np.linalg.eigh(v[j])
                        v[j] = (U * np.maximum(w, floor)) @ U.T
                params[name] = v
    return params


def _collapsed(model, p, scale):
    import jax.numpy as jnp


    return np.asarray(cm.collapsed_components(model, {kk: jnp.asarray(v) for kk, v in p.items()}, scale))


def _fit_one(model, start, *, source, spec, where, n, dropped, pilot, every, scale, starts, seed, max_iter, tol, se,
             progress, newton_steps):
    import jax.numpy as jnp


    notes = []
    passes0 = source.passes
    if start is None:
        start = _pilot_start(model, pilot, starts, seed, max_iter, tol, every)
        notes.append(f"started from the in-memory EM fit ({starts} k-means++ start{'s' if starts > 1 else ''}) "
                     f"of {'all' if every == 1 else 'a pilot subsample of'} {pilot.shape[0]} rows")
    p, logw = from_start(model, start, model.k)
    p = {kk: np.asarray(v, dtype=float) for kk, v in p.items()}
    logw = np.asarray(logw, dtype=float)
    trace, prev, it = [], -np.inf, 0
    while True:
        shift = _shift(model, p)
        st = map_reduce(source, em_batch, (spec, model, p, logw, shift), progress=progress, label="EM pass")
        ll = float(st["ll"])
        obj = ll + float(model.log_prior({kk: jnp.asarray(v) for kk, v in p.items()}))
        trace.append(obj)
        p_new, logw_new = _m_step(model, st, shift)
        # the in-memory rule: an M-step that would collapse a normal component is not taken
        bad = _collapsed(model, p, scale) | (_collapsed(model, p_new, scale) & np.isfinite(obj))
        if abs(obj - prev) <= tol * n or it >= max_iter or not np.isfinite(obj) or bad.any():
            break
        p, logw = p_new, logw_new
        prev, it = obj, it + 1
    em_passes = source.passes - passes0
    converged, reason, verdict = cm.em_verdict(obj, np.asarray(trace), it, max_iter, tol, n)
    notes += verdict
    H = None
    if np.isfinite(obj) and not bad.any() and (converged or newton_steps):  # Newton and the gradient test decide
        pol, converged, reason = _newton_end(model, source, spec, p, logw, reason, scale, newton_steps, progress,
                                             se)
        H = pol.parts[1]
        if pol.values:
            ll, obj, st, p, logw = pol.parts[0], pol.value, pol.parts[2], pol.parts[3], pol.parts[4]
            trace += pol.values
            shift = _shift(model, p)
            notes.append(f"{len(pol.values)} Newton step(s) on the marginal log-likelihood followed the {it} EM "
                         "iterations (their objectives end the trace)")
    # component order: the responsibility-weighted mean of the first coordinate (as in memory)
    nk = np.asarray(st["nk"])
    first = (shift[:, 0] if _gaussian(model) else 0.0) + np.asarray(st["sx"]).reshape(model.k, -1)[:, 0] / \
        np.where(nk > 0, nk, 1.0)
    order = np.argsort(first, kind="stable")
    p = {kk: v[order] for kk, v in p.items()}
    logw = logw[order]
    if bad.any():
        bad = np.flatnonzero(bad[order])
        converged, reason = False, cm.collapse_reason(bad, nk[order], it, model)
    else:
        bad = np.flatnonzero(bad)
    if se and converged and np.any(order != np.arange(model.k)):  # the Hessian in the reported order
        from .polish import to_unconstrained

        H = _evaluator(model, source, spec, progress)(to_unconstrained(model, p, logw))[3][1]
    fit = dict(ll=ll, obj=obj, trace=trace, it=it, converged=converged, reason=reason, H=H, bad=bad)
    return _finish(model, source, where, n, dropped, p, logw, fit, se, notes, em_passes, passes0, starts)


def _finish(model, source, where, n, dropped, p, logw, fit, want_se, notes, em_passes, passes0, starts):
    import jax.numpy as jnp


    converged = fit["converged"]
    weights = np.exp(logw)
    notes += cm.collapse_notes(weights, n)
    pj = {kk: jnp.asarray(v) for kk, v in p.items()}
    natural = {"weights": weights, **{kk: np.asarray(v) for kk, v in model.natural(pj).items()}}
    se = {kk: None for kk in natural}
    cov, labels, hnd = None, (), None
    if getattr(model, "prior", ()):
        notes.append("normal covariances carry the weak prior cov_prior (psi = "
                     f"{cm.fmt_array(model.prior, 3)}); loglik is the plain log-likelihood at these estimates")
    if want_se and converged:
        se_flat, cov, note, hnd = _standard_errors(model, fit["H"], pj, logw, natural)
        if se_flat is not None:
            se, labels = se_flat, tuple(cm.flat_labels(natural))
        else:
            notes.append(note)
    elif want_se:
        notes.append("the fit did not converge (see reason), so no standard errors are reported")
    if dropped:
        notes.append(f"{dropped} rows holding NaN were dropped")
    total = source.passes
    newton = total - passes0 - em_passes
    notes.append(f"streamed from {where} in {total} passes over the data (1 validating, {em_passes} EM"
                 + (f", {newton} Newton" if newton else "") + ")")
    return StreamedMixtureFit(family=model.family_name, k=model.k,
                              cov_type=None if getattr(model, "univariate", True) else model.cov_type,
                              params=natural, se=se, cov=cov, cov_labels=labels, loglik=fit["ll"],
                              objective=fit["obj"], nobs=n, n_estimated=(model.k - 1) + model.n_free,
                              converged=converged, reason=fit["reason"], trace=tuple(float(t) for t in fit["trace"]),
                              iterations=fit["it"], starts=starts, notes=tuple(notes), hessian_negative_definite=hnd,
                              responsibilities=None, model=model, internal=pj, log_weights=logw,
                              collapsed=tuple(int(j) for j in fit["bad"]))


