"""``thetahat.fit``: maximum likelihood for one family on one sample -- the front door.

It opens the data (rows in memory, censored rows, or files and Dask collections, which
:mod:`.streamed` reads in passes), builds the objective and hands it to
:func:`.estimate.estimate_fit`, which calls the estimation core.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .._jax import load as load_jax, x64
from ..engine.layout import Layout
from ..engine.objective import ChunkObjective, StatisticsObjective
from ..engine.solvers import METHODS
from ..errors import OptionError, SupportError
from ..families import get_family
from ..families.fixed import check_fixed
from ..result import Fit
from ..scale.arrays import Sample, as_float_array, reduce_discrete
from ..scale.sources import is_stream_input
from . import update as _update
from . import closed
from .checks import _all_finite, _column_of, _n, _overflow, checked_rows, statistics_of
from .estimate import FrontDoor, estimate_fit
from .streamed import fit_stream

COV_TYPES = ("observed", "expected", "opg", "sandwich")


WEIGHT_KINDS = ("frequency", "analytic")


def _fit(data, family, *, method="auto", start=None, fixed=None, starts=1, weights=None,
        dropna=False, seed=0, max_iter=None, cov_type="observed", weight_kind="frequency",
        event=None, lower=None, upper=None, truncate=None, column=None, progress=None, dask=False) -> Fit:
    """The fit proper, on options already checked (see :func:`fit` for each)."""
    fam = get_family(family)
    _check_choices(method, starts, cov_type, weight_kind)
    fixed = check_fixed(fam, fixed)
    fam = fam.bind({k: fixed[k] for k in fam.known})
    if is_stream_input(data):
        return _fit_streamed(data, fam, fixed, weights=weights, event=event, lower=lower, upper=upper,
                             truncate=truncate, starts=starts, weight_kind=weight_kind, column=column,
                             method=method, start=start, dropna=dropna, max_iter=max_iter, cov_type=cov_type,
                             seed=seed, progress=progress, dask=dask)
    if dask:
        raise OptionError("dask=True reads files on Dask workers: pass file paths or a Dask collection")
    if column is not None:
        data = _column_of(data, column, fam)
    done = closed.fit_closed(fam, data, fixed, method=method, cov_type=cov_type, weights=weights,
                             weight_kind=weight_kind, dropna=dropna, censored=any(v is not None for v in (event, lower, upper, truncate)), front=FRONT)
    if done is not None:  # (NumPy alone: no JAX is imported)
        return done
    load_jax()  # (the general route: JAX, inside fit's float64 scope)
    rows = checked_rows(fam, data, fixed, weights=weights, dropna=dropna, event=event, lower=lower, upper=upper,
                        truncate=truncate, weight_kind=weight_kind)
    fam, x, w, nobs = rows.family, rows.x, rows.w, rows.nobs
    free = [k for k in fam.params if k not in fixed]
    if not free:
        raise OptionError("every parameter is fixed: there is nothing to estimate")
    sample = Sample(x, w, nobs, rows.dropped)
    if fam.discrete and not rows.fast:  # (a fast discrete fit needs only the summary's sums)
        bounds = None if rows.checked is None else (rows.checked["min"], rows.checked["max"])
        sample = Sample(*reduce_discrete(x, w, bounds), nobs, rows.dropped)
    stats = statistics_of(fam, sample, fixed, rows)
    layout = Layout.build(fam, fam.param_shapes(x), free)
    obj = StatisticsObjective(fam, layout, fixed, stats) if stats is not None else \
        ChunkObjective(fam, layout, fixed, sample)
    return estimate_fit(fam, layout, obj, fixed, x, w, nobs, rows.dropped, sample, stats, method=method, start=start,
                        starts=starts, seed=seed, max_iter=max_iter, cov_type=cov_type, weight_kind=weight_kind,
                        censoring=rows.censored, front=FRONT)


def _check_choices(method, starts, cov_type, weight_kind):
    if method not in METHODS:
        raise OptionError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if int(starts) < 1:
        raise OptionError(f"starts must be at least 1, got {starts}")
    if cov_type not in COV_TYPES:
        raise OptionError(f"unknown cov_type {cov_type!r}; choose one of {', '.join(COV_TYPES)}")
    if weight_kind not in WEIGHT_KINDS:
        raise OptionError(f"unknown weight_kind {weight_kind!r}; choose one of {', '.join(WEIGHT_KINDS)}")


MAX_STARTS = 1000  # more starting points are capped to this (and a note says so)

# The docstring of fit, written apart from the function: its seventeen options alone are longer
# than a function may be.
FIT_DOC = r"""Fit ``family`` to ``data`` by maximum likelihood.

Parameters
----------
data : array_like, str, list of str, or Dask collection
    Observations: a 1-D sequence, or a 2-D table for multivariate families; a
    mapping or DataFrame with ``column``. Files -- a Parquet or CSV path, a glob
    such as ``"data/*.parquet"``, a folder, or a list of them -- are *streamed* in
    bounded batches, never loaded whole; so is a Dask array, DataFrame or Series,
    reduced by its scheduler's workers (see :mod:`thetahat.scale`).
family : str or Family
    A family name (see ``thetahat.families()``) or a :class:`Family` instance,
    e.g. one made by :func:`thetahat.custom`.
method : {"auto", "closed", "newton", "bfgs", "scoring", "gradient"}
    ``auto`` takes the closed form where one exists, else Newton, falling back to
    BFGS if Newton fails.
start : dict, optional
    Starting values (default: the family's method-of-moments start).
fixed : dict, optional
    Parameters held at given values, e.g. ``{"loc": 0.0}``; also the known
    values of a family (binomial ``n``).
starts : int
    Number of starting points; more than one perturbs the start randomly
    (seeded by ``seed``) and keeps the best optimum. At most ``MAX_STARTS``
    (1000): more are capped, and a note says so.
seed : int
    Random seed (0 to 2^63-1) of the starts.
max_iter : int, optional
    The most iterations of Newton or BFGS (also of the BFGS fallback and of a
    profile iteration); a fit that reaches it reports ``converged=False`` with the
    reason. A closed-form estimate takes none.
weights : array_like, optional
    Non-negative weights, one per observation.
weight_kind : {"frequency", "analytic"}
    ``frequency``: a weight counts repeated observations (``nobs`` is their sum).
    ``analytic``: weights are relative precisions, rescaled to sum to the number of
    rows (``nobs``); pair them with ``cov_type="sandwich"``.
dropna : bool
    Drop rows with NaN -- in the data, a weight or an event -- instead of raising;
    they are counted in ``Fit.dropped``. Masked entries of a NumPy masked array and
    ``None`` / ``pandas.NA`` cells are missing too.
cov_type : {"observed", "expected", "opg", "sandwich"}
    Inverse observed information (default); inverse expected (Fisher)
    information, where the family gives it; inverse outer product of the
    per-observation scores; or the sandwich ``H^-1 B H^-1`` (robust to a
    misspecified family).
event : array_like, optional
    Right-censoring: 1 where ``data`` is an observed value, 0 where the value is
    only known to exceed ``data``.
lower, upper : array_like, optional
    Interval censoring (pass ``data=None``): each value lies in ``(lower, upper]``;
    ``lower == upper`` is exact, ``upper = inf`` right-censored, ``lower = -inf`` (or
    the support's edge) left-censored. A missing bound (NaN, or None) is an open end,
    as in R's ``Surv(type="interval2")``: NaN in ``lower`` means left-censored, NaN in
    ``upper`` right-censored; a row missing both is an error (dropped with ``dropna``).
truncate : (float, float), optional
    The data were only observable within ``[lower, upper]`` (use ``-inf``/``inf``, or
    the support's edge, for an open side).
column : str or list of str, optional
    The column of a table, file or Dask DataFrame to fit (several, comma-separated
    or a list, for a multivariate family).
progress : bool, optional
    A progress bar per pass over streamed data (default: on a terminal, for more
    than 2e7 rows).
dask : bool
    Files are read by the workers of the active Dask scheduler (a ``distributed``
    Client), each worker its own row groups, instead of by this process.

Returns
-------
Fit

Examples
--------
>>> import thetahat
>>> f = thetahat.fit([3.1, 0.4, 1.7, 2.2, 0.9, 1.4], "exponential")
>>> round(f.params["lam"], 6) == round(6 / 9.7, 6)
True
"""


@x64
@functools.wraps(_fit)
def fit(data, family, **options):
    options, notes = _checked_options(options)
    data, options, dropped, kept = _drop_missing_design(data, options)
    try:
        with np.errstate(all="ignore"):  # (extreme data: the result is checked below, not warned about)
            f = _fit(data, family, **options)
    except SupportError as exc:
        raise _row_before_drop(exc, data, family, options, kept) from None
    _refuse_nonfinite(f)
    if dropped:
        notes.append(f"{dropped} rows with a missing weight or event were dropped")
    if notes:
        import dataclasses

        f = dataclasses.replace(f, dropped=f.dropped + dropped, notes=tuple(f.notes) + tuple(notes))
    return f


fit.__doc__ = FIT_DOC


def _checked_options(options):
    """``(options, notes)``: a misspelt keyword named with the closest valid one, a negative
    seed or a max_iter below 1 refused, and ``starts`` capped at :data:`MAX_STARTS`."""
    import difflib
    import inspect

    valid = [k for k in inspect.signature(_fit).parameters if k not in ("data", "family")]
    for k in options:
        if k not in valid:
            near = difflib.get_close_matches(k, valid, n=1)
            raise OptionError(f"fit() got an unknown keyword {k!r}" + (f"; did you mean {near[0]!r}?" if near else
                                                                       f"; valid keywords: {', '.join(valid)}"))
    seed = options.get("seed", 0)
    if not (isinstance(seed, (int, np.integer, float, np.floating)) and not isinstance(seed, bool)
            and math.isfinite(seed) and seed == int(seed) and 0 <= seed < 2**63):
        raise OptionError(f"seed must be a whole number from 0 to 2^63 - 1, got {seed!r}")
    if seed != int(seed) or not isinstance(seed, (int, np.integer)):
        options = {**options, "seed": int(seed)}
    max_iter = options.get("max_iter")
    whole = isinstance(max_iter, (int, float, np.integer, np.floating)) and not isinstance(max_iter, bool) \
        and math.isfinite(max_iter) and max_iter == int(max_iter)
    if max_iter is not None and not (whole and max_iter >= 1):
        raise OptionError(f"max_iter must be a positive integer, got {max_iter!r}")
    notes = []
    starts = options.get("starts", 1)
    if not (isinstance(starts, (int, np.integer, float, np.floating)) and not isinstance(starts, bool)
            and math.isfinite(starts) and starts == int(starts)):
        raise OptionError(f"starts must be a whole number, got {starts!r}")
    if starts > MAX_STARTS:
        options = {**options, "starts": MAX_STARTS}
        notes.append(f"starts capped at {MAX_STARTS} (asked for {_n(starts)})")
    return options, notes


def _drop_missing_design(data, options):
    """Under ``dropna``, the rows whose weight or event is missing (NaN), removed from every
    per-row input before the fit and counted: ``(data, options, dropped, kept)``, ``kept``
    the indices of the rows kept (None when none were dropped)."""
    if not options.get("dropna") or options.get("column") is not None:
        return data, options, 0, None
    per_row = {k: options.get(k) for k in ("weights", "event", "lower", "upper") if options.get(k) is not None}
    try:
        cols = {k: np.asarray(v, dtype=float) for k, v in per_row.items() if k in ("weights", "event")}
    except (TypeError, ValueError):
        return data, options, 0, None  # (not numbers: the fit says so)
    missing = None
    for v in cols.values():
        if v.ndim == 1:
            missing = np.isnan(v) if missing is None or missing.shape != v.shape else missing | np.isnan(v)
    if missing is None or not missing.any():
        return data, options, 0, None
    keep = ~missing
    try:
        arrays = {k: np.asarray(v)[keep] for k, v in per_row.items()}
        if data is not None:
            data = np.asarray(data)[keep]
    except (IndexError, TypeError, ValueError):
        return data, options, 0, None  # (lengths differ: the fit says so)
    return data, {**options, **arrays}, int(missing.sum()), np.flatnonzero(keep)


def _row_before_drop(exc, data, family, options, kept):
    """A support error's "data row k", counted in the rows that ``dropna`` kept, re-said as
    the row of the data as given (without censoring, where the rows are the data's)."""
    import re

    m = re.search(r"\bdata row (\d+)", str(exc))
    if m is None or not options.get("dropna") or options.get("column") is not None or data is None \
            or any(options.get(k) is not None for k in ("event", "lower", "upper", "truncate")):
        return exc
    try:
        arr, _ = as_float_array(data, ndim=get_family(family).ndim, scan=False)
    except Exception:  # noqa: BLE001 (the data were read once already; any doubt: the message as it is)
        return exc
    nan_rows = np.isnan(arr) if arr.ndim == 1 else np.isnan(arr).any(axis=1)
    rows = np.flatnonzero(~nan_rows)
    k = int(m.group(1)) - 1
    if not nan_rows.any() and kept is None or k >= rows.size:
        return exc
    i = int(rows[k]) if kept is None else int(kept[rows[k]])
    return type(exc)(str(exc)[:m.start()] + f"data row {i + 1}" + str(exc)[m.end():])


def _refuse_nonfinite(f) -> None:
    """No silent NaN: an estimate or log-likelihood that is not finite, for data of extreme
    magnitude, is a :class:`NumericalRangeError` naming that magnitude."""
    if math.isfinite(f.loglik) and all(_all_finite(np.asarray(v, dtype=float)) for v in f.params.values()):
        return
    raw = getattr(f.context, "raw", None)
    if raw is None or raw.x.size == 0 or raw.x.dtype.kind != "f":
        return
    a = np.abs(raw.x[np.isfinite(raw.x) & (raw.x != 0)])
    if a.size and (a.max() > 1e150 or a.min() < 1e-150):
        raise _overflow(f.family, raw.x)


def _fit_streamed(data, fam, fixed, *, weights, event, lower, upper, truncate, starts, weight_kind, **kw):
    from ..scale.sources import expand_paths, is_dask

    if not is_dask(data):
        expand_paths(data)  # a missing file, an empty folder, a glob matching nothing: said first
    extra = [k for k, v in dict(weights=weights, event=event, lower=lower, upper=upper,
                                truncate=truncate).items() if v is not None]
    if extra:
        raise OptionError(f"{', '.join(extra)} cannot be combined with streamed data (files or Dask) yet; load "
                          "the columns and fit them in memory")
    if int(starts) != 1:
        raise OptionError("starts > 1 is not available for streamed data: each start would take its own passes")
    if weight_kind != "frequency":
        raise OptionError("weight_kind applies to weights, which streamed fits do not take")
    return fit_stream(data, fam, fixed, front=FRONT, **kw)


fit.__module__ = __name__
FRONT = FrontDoor(fit=fit, update=_update.update)
