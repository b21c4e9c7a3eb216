"""``thetahat.mixture`` on data that is never loaded whole: EM with one pass per iteration.

The fit itself is :func:`~thetahat.em.mixture_fit.fit_mixture`, the one implementation that
in-memory mixtures run too; this module gives it the data as :class:`Streamed`, whose EM
iteration is one :func:`~thetahat.scale.reduce.map_reduce` pass. Each batch computes its
responsibilities (log-sum-exp of the component log-densities, one jitted function per
component model and process) and returns only the M-step's sums (``statistics`` of the
component model: per component ``N_j``, ``sum_i r_ij (x_i - m_j)`` and
``sum_i r_ij (x_i - m_j)(x_i - m_j)^T`` about the current mean ``m_j``, so the scatter has
no cancellation, or the family's own statistics weighted by ``r_ij``, merged by its ``merge``),
plus the log-likelihood. That is O(k d^2) numbers per batch, whatever the batch size; the
model's ``m_step_from`` -- the M-step that in-memory fits take too -- runs on the merged sums.
Any component model whose M-step is such a closed form streams (``streams``: normal and
multivariate normal components, and every family with weighted sufficient statistics and a
closed-form MLE); the others need the rows in memory and are refused.

* Pass 1 validates every row (NaN, infinity, support), counts them, merges each
  column's mean and variance (for ``cov_prior="auto"``) and keeps a strided pilot
  subsample of about 65 000 rows.
* Without ``start=``, the in-memory :func:`thetahat.mixture` (k-means++ starts, the
  same ``starts``, ``seed``, ``tol`` and covariance prior) fits the pilot, and the
  streamed EM starts from that fit: it is usually a few passes from the optimum.
* EM, the Newton steps after it (one pass per evaluation: every batch adds its share of
  the gradient and Hessian in the unconstrained coordinates of :mod:`thetahat.em.polish`),
  the component order and the standard errors are those of the in-memory fit, so from the
  same ``start=`` the streamed and in-memory fits agree to rounding. The component order
  and the standard errors take no pass of their own.

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
from functools import lru_cache, partial

import numpy as np

from .._jax import x64, x64_methods
from . import _common as cm
from . import polish as pl
from .mixture_fit import (MAX_ITER, TOL, EMStep, collapse_flags, densest, e_step_statistics, fit_mixture,
                          mixing_log_weights)
from .mixture_memory import fit_in_memory, from_start
from .mixture_result import MixtureFit
from ..errors import EmptyDataError, NonFiniteDataError, OptionError, SupportError, ThetahatError
from ..families import all_families, get_family
from ..scale.reduce import combine, file_source_on_dask, map_reduce
from ..scale.sources import BATCH_ROWS, FileSource, is_dask, open_source

PILOT_ROWS = 1 << 16
CHUNK = 1 << 17  # rows per compiled E-step call (the tail is padded to a power of two)


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
    if spec.family != "normal" and x.shape[0]:
        try:
            cm._check(get_family(spec.family), x)
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
@lru_cache(maxsize=None)
def _stats_function(model):
    """Per process and component model: :func:`~thetahat.em.mixture_fit.e_step_statistics`, jitted."""
    import jax

    return jax.jit(partial(e_step_statistics, model))


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
        total = combine(total, {k: np.asarray(v) for k, v in out.items()}, getattr(model, "merge", None))
    return total if total is not None else {}


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


class Streamed:
    """The rows of a mixture fit, streamed from files or a Dask collection: each EM iteration and
    each Newton evaluation is one pass over them (see :mod:`.mixture_fit` for the protocol)."""

    fit_class = None  # StreamedMixtureFit, below
    log_density = None  # (the rows are not held: a collapse is judged from the estimates alone)

    def __init__(self, source, spec, n, dropped, scale, progress):
        self.source, self.spec, self.n, self.dropped = source, spec, n, dropped
        self.scale, self.progress = scale, progress
        self.where = source.describe()
        self.passes0 = source.passes  # the validating pass(es) before the fit
        self.em_passes = None

    def _pass(self, fn, args, label):
        merge = getattr(args[0], "merge", None)  # (the component model's merge of its statistics)
        return map_reduce(self.source, fn, (self.spec, *args), merge=merge, progress=self.progress, label=label)

    def em_step(self, model, p, logw):
        p = {kk: np.asarray(v, dtype=float) for kk, v in p.items()}
        logw = np.asarray(logw, dtype=float)
        shift = np.asarray(model.shift(p), dtype=float)
        st = self._pass(em_batch, (model, p, logw, shift), "EM pass")
        ll = float(st["ll"])
        obj = ll + float(model.log_prior(p))
        p_new = {kk: np.asarray(v, dtype=float) for kk, v in model.m_step_from(st, shift).items()}
        bad = np.asarray(collapse_flags(model, p, p_new, obj, self.scale, densest(st)))
        self.em_passes = self.source.passes - self.passes0
        return EMStep(obj, ll, p_new, np.asarray(mixing_log_weights(np.asarray(st["nk"]))), bad, st)

    def evaluate(self, model):
        def evaluate(u, hessian=True):
            q, lw = pl.from_unconstrained(model, u)
            q, lw = {kk: np.asarray(v, dtype=float) for kk, v in q.items()}, np.asarray(lw, dtype=float)
            shift = np.asarray(model.shift(q), dtype=float)
            st = self._pass(derivs_batch, (model, np.asarray(u), q, lw, shift, hessian), "Newton pass")
            lp, gp, Hp = pl.prior_derivatives(model, u)
            ll, H = float(st["dll"]), (np.asarray(st["H"]) if hessian else None)
            return ll + lp, np.asarray(st["g"]) + gp, (H + Hp if hessian else None), (ll, H, st)

        return evaluate

    def order(self, model, p, logw, st):
        """Order by the responsibility-weighted mean of the first coordinate, from the sums of
        the pass at ``(p, logw)`` (no pass of its own)."""
        nk = np.asarray(st["nk"])
        if "x1" in st:  # the weighted sum of the first coordinate
            first = np.asarray(st["x1"]) / np.where(nk > 0, nk, 1.0)
        else:  # about the shift
            shift = np.asarray(model.shift(p), dtype=float).reshape(model.k, -1)
            first = shift[:, 0] + np.asarray(st["sx"]).reshape(model.k, -1)[:, 0] / np.where(nk > 0, nk, 1.0)
        return np.argsort(first, kind="stable"), nk, None

    def closing_notes(self):
        notes = [f"{self.dropped} rows holding NaN were dropped"] if self.dropped else []
        total = self.source.passes
        em = self.em_passes or 0
        newton = total - self.passes0 - em
        notes.append(f"streamed from {self.where} in {total} passes over the data (1 validating, {em} EM"
                     + (f", {newton} Newton" if newton else "") + ")")
        return notes


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


Streamed.fit_class = StreamedMixtureFit


@x64
def stream_mixture(data, k, family="normal", *, column=None, columns=None, cov_type="full", starts=1, seed=0,
                   max_iter=None, tol=None, start=None, cov_prior="auto", se=True, dropna=False,
                   batch_rows=BATCH_ROWS, progress=None, dask=False, newton_steps=None):
    """:func:`thetahat.mixture` of files (Parquet/CSV, a glob, a folder, a list) or a Dask
    collection, by EM with one pass over the data per iteration.

    ``column`` (one name, or comma-separated names) or ``columns`` (a list) names what to
    read; several columns make multivariate normal components. ``dropna`` drops (and
    counts) rows holding NaN instead of refusing them; ``dask=True`` has Dask workers read
    the files. Other arguments are those of :func:`thetahat.mixture`. Components whose
    M-step is a closed form of statistics that merge across batches stream: normal,
    multivariate normal, and every family with weighted sufficient statistics and a
    closed-form MLE (poisson, exponential, geometric, lognormal, rayleigh, ...).

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
    _check_streams(key)
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
    rows = (source, spec, n, dropped, scale, progress)
    run = dict(pilot=pilot, every=every, starts=starts, seed=seed, max_iter=int(max_iter), tol=float(tol), se=se,
               newton_steps=newton_steps)
    if len(ks) == 1:
        return _fit_one(model, start, Streamed(*rows), **run)
    if start is not None:
        raise OptionError("start= gives one k's starting values; it cannot be combined with a range of k")
    fits = {kk: _fit_one(_model(key, vectors, len(names), kk, cov_type, cov_prior, var), None, Streamed(*rows), **run)
            for kk in ks}
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
    if key not in ("normal", "mvnormal") and len(names) != 1:
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


def _check_streams(key):
    """Refuse a family whose component model cannot stream (its M-step needs the rows in memory)."""
    cls = cm.model_class(key)
    if cls.streams:
        return
    name = key if isinstance(key, str) else getattr(key, "name", repr(key))
    if cls is cm.GenericComponents:
        why = (f"{name} has no closed-form M-step from mergeable statistics (no weighted sufficient statistics "
               "with a closed-form MLE), so its weighted Newton M-step needs the rows in memory")
    else:
        why = f"{name} components are the items of a latent class model, whose M-step needs the rows in memory"
    ok = sorted({"normal", "mvnormal", *(f.name for f in all_families() if cm.model_class(f).streams)})
    raise OptionError(f"a streamed mixture needs components whose M-step is a closed form of mergeable statistics, "
                      f"not {name}: {why}; load the data to fit it (families that stream: {', '.join(ok)})")


def _model(key, vectors, d, k, cov_type, cov_prior, var):
    from .components import GaussianComponents

    if key not in ("normal", "mvnormal"):
        return cm.ClosedFormComponents.build(get_family(key), k, np.zeros(0))
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


def _fit_one(model, start, data, *, pilot, every, starts, seed, max_iter, tol, se, newton_steps):
    """One k: EM from ``start`` or from the in-memory fit of the pilot subsample, one pass per iteration."""
    notes = []
    if start is None:
        start = _pilot_start(model, pilot, starts, seed, max_iter, tol, every)
        notes.append(f"started from the in-memory EM fit ({starts} k-means++ start{'s' if starts > 1 else ''}) "
                     f"of {'all' if every == 1 else 'a pilot subsample of'} {pilot.shape[0]} rows")
    return fit_mixture(model, data, [from_start(model, start, model.k)], max_iter=max_iter, tol=tol, se=se,
                       newton_steps=newton_steps, notes=notes, n_starts=starts)
