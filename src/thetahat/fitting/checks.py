"""Checks of in-memory data for a family: what one read can vouch for, and the
row-by-row scans that find and name a bad value where it cannot."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import constraints as C
from ..engine.objective import NUMPY_MIN_ROWS, compute_statistics
from ..errors import EmptyDataError, MissingColumnError, NumericalRangeError
from ..families import Family
from ..kernels.summary import pool, summarize, usable as summary_usable
from ..scale.arrays import as_float_array, as_weights, find_nonfinite


def _column_of(data, column, fam):
    names = [c.strip() for c in column.split(",")] if isinstance(column, str) and fam.ndim else \
        ([column] if isinstance(column, str) else list(column))
    try:
        cols = [np.asarray(data[c]) for c in names]
    except (KeyError, IndexError, TypeError, ValueError):
        have = list(getattr(data, "columns", None) or (data.keys() if hasattr(data, "keys") else []))
        missing = [c for c in names if c not in have] or names
        raise MissingColumnError(f"column {missing[0]!r} is not in the data"
                                 + (f"; its columns are {', '.join(map(str, have))}" if have else "")) from None
    return cols[0] if len(cols) == 1 and not fam.ndim else np.column_stack(cols)


def _one_pass_ok(fam, dropna, weights):
    """Whether the data can be validated inside the statistics pass (see ``fit``): for a
    discrete family only through the summary, which also says whether all are integers."""
    return (fam.statistics is not None and fam.loglik_from_statistics is not None
            and (not fam.discrete or fam.summary_statistics is not None)
            and _early_summary_ok(fam, dropna, weights))


def _summary_ok(x):
    return x.ndim == 1 and x.shape[0] >= NUMPY_MIN_ROWS and summary_usable(x)


def _early_summary_ok(fam, dropna, weights):
    """Whether a family fitted on its rows can be validated by one read first (see
    :func:`_checked_summary`): unweighted 1-D data and the default support check."""
    return (fam.ndim == 0 and not dropna and weights is None
            and type(fam).check_support is Family.check_support)


def _checked_summary(fam, x):
    """The summary of a large sample (:mod:`thetahat.kernels.summary`) when it shows every
    value finite, inside the support and (discrete family) a whole number; else ``None``, and
    the caller's row-by-row scans find and name the bad value."""
    if not _summary_ok(x):
        return None
    s = summarize(x, pool(), ("min", "max") + (("integral",) if fam.discrete else ()))
    ok = s is not None and _summary_valid(fam, s["min"], s["max"], s["finite"], s.get("integral"))
    return s if ok else None


def _summary_valid(fam, lo, hi, finite, integral):
    """Whether a summary of the data (min, max, a finite sum, all whole numbers) shows every
    value finite, inside the support and, for a discrete family, whole."""
    return bool(finite and np.isfinite(lo) and np.isfinite(hi) and (integral or not fam.discrete)
                and _inside(fam.support, lo, hi))


def _validated_statistics(fam, x, fixed):
    """``fam.statistics_validated`` of a large sample (see :class:`Family`), else ``None``."""
    if not (x.shape[0] >= NUMPY_MIN_ROWS and x.dtype == np.float64 and x.flags.c_contiguous):
        return None
    stats = fam.statistics_validated(x, fixed)
    return None if stats is None else {k: np.asarray(v, dtype=float) for k, v in stats.items()}


def _inside(support, lo, hi):
    if isinstance(support, (C.GreaterThan, C.Interval)):
        return bool(support.contains(lo) and support.contains(hi))
    if isinstance(support, C.IntegerInterval):  # (whole numbers: the summary's "integral")
        return bool(lo >= support.lower and (support.upper is None or hi <= support.upper))
    return isinstance(support, type(C.real))


def _prepare(data, weights, fam, dropna, scan=True):
    if weights is None:
        x, dropped = as_float_array(data, ndim=fam.ndim, dropna=dropna, scan=scan)
        return x, None, dropped
    x, _ = as_float_array(data, ndim=fam.ndim, scan=False)
    w = as_weights(weights, x.shape[0])
    if dropna:  # drop the NaN rows and their weights together
        nan_rows = np.isnan(x) if x.ndim == 1 else np.isnan(x).any(axis=1)
        if nan_rows.any():
            x, w = x[~nan_rows], w[~nan_rows]
            if x.shape[0] == 0 or w.sum() <= 0:
                raise EmptyDataError(f"no rows left after dropping {int(nan_rows.sum())} NaN rows")
        x, _ = find_nonfinite(x)
        return x, w, int(nan_rows.sum())
    x, dropped = find_nonfinite(x)
    return x, w, dropped


def _numpy_statistics_retry(fam, x, w):
    """The family's NumPy statistics where the compiled ones are not finite: XLA reads
    subnormal values (below 2.2e-308) as 0, so log x of data from 1e-308 came out -inf,
    while NumPy's log keeps them (lognormal on 1e-308 .. 1e308 spans only |log x| < 710).
    Raises :class:`NumericalRangeError` when NumPy's are not finite either."""
    if fam.statistics_np is not None and w is None and x.ndim == 1:
        with np.errstate(all="ignore"):
            stats = {k: np.asarray(v) for k, v in fam.statistics_np(np.array(x, dtype=np.float64)).items()}
        if all(_all_finite(v) for v in stats.values()):
            return stats
    raise _overflow(fam, x)


def _all_finite(v) -> bool:
    """Whether every entry of ``v`` is finite: a float test for a scalar (the NumPy reduction
    costs ~2 us a call, paid several times by every fit)."""
    if getattr(v, "size", 1) == 1:
        return math.isfinite(v.item() if hasattr(v, "item") else v)
    return bool(np.isfinite(v).all())


def _overflow(fam, x):
    x = np.asarray(x, dtype=float)
    big = float(np.max(np.abs(x)))
    nz = np.abs(x[x != 0])
    small = float(nz.min()) if nz.size else 0.0
    sub = " (values below 2.2e-308 are subnormal: the compiled likelihood reads them as 0)" \
        if 0 < small < np.finfo(float).tiny else ""
    return NumericalRangeError(
        f"the data's magnitude (|x| from {small:.3g} to {big:.3g}) overflows float64 in the {fam.name} "
        f"likelihood{sub}; rescale the data (e.g. divide by a power of 10) and fit again")


@dataclass(frozen=True)
class Rows:
    """Rows in memory, checked for a family: what :func:`checked_rows` found."""

    family: Family  # the family, wrapped for censoring where the rows are censored
    x: np.ndarray
    w: np.ndarray | None
    nobs: float
    dropped: int
    censored: bool
    fast: bool  # one fused pass of the statistics validates the data too
    checked: dict | None  # a summary that showed the data finite and inside the support
    validated: dict | None  # statistics of the family's own that showed the data valid


def checked_rows(fam, data, fixed, *, weights, dropna, event, lower, upper, truncate, weight_kind) -> Rows:
    """The rows of ``data`` as float arrays, checked for ``fam`` by the cheapest read that can
    vouch for them (a bad value is found and named by a row-by-row scan), with their weights
    and count of observations."""
    censored = any(v is not None for v in (event, lower, upper, truncate))
    checked = validated = None
    fast = False
    if censored:
        from ..censoring import censored_rows

        x, fam, dropped, keep = censored_rows(fam, data, event=event, lower=lower, upper=upper,
                                              truncate=truncate, dropna=dropna)
        w = None if weights is None else as_weights(np.asarray(weights)[keep] if keep is not None else weights,
                                                    x.shape[0])
    else:
        fast = _one_pass_ok(fam, dropna, weights)
        early = not fast and _early_summary_ok(fam, dropna, weights)
        rows_ok = fam.statistics_validated is not None and not dropna and weights is None
        x, w, dropped = _prepare(data, weights, fam, dropna, scan=not (fast or early or rows_ok))
        if rows_ok:
            validated = _validated_statistics(fam, x, fixed)
            if validated is None:
                find_nonfinite(x)
        if fast and fam.discrete and not (x.ndim == 1 and summary_usable(x)):
            fast = False  # integer data are checked in one pass only by the summary
            find_nonfinite(x)
        if early:
            checked = _checked_summary(fam, x)
            if checked is None:
                find_nonfinite(x)
        if not fast and checked is None and validated is None:
            fam.check_support(x, fixed)
    if w is not None and weight_kind == "analytic":
        w = w * (np.count_nonzero(w) / w.sum())
    nobs = float(x.shape[0] if w is None else (w.sum() if weight_kind == "frequency" else np.count_nonzero(w)))
    if nobs < fam.min_obs:
        raise EmptyDataError(f"{fam.name} needs at least {fam.min_obs} observations, got {_n(nobs)}")
    if not fast and validated is None and not (checked is not None and fam.nondegenerate_by_summary(checked)):
        fam.check_degenerate(x, w)
    return Rows(fam, x, w, nobs, dropped, censored, fast, checked, validated)


def statistics_of(fam, sample, fixed, rows):
    """The family's sufficient statistics of ``sample`` (None for a family without them),
    validating the data from the same pass where :func:`checked_rows` left that to it."""
    stats = rows.validated
    if stats is not None or fam.statistics is None or fam.loglik_from_statistics is None:
        return stats
    x, w = rows.x, rows.w
    stats, summary = compute_statistics(fam, sample, fast_summary=rows.fast)
    if rows.fast:
        # validation from the same pass: only a suspicious summary pays for a full scan
        # (NaN and infinities show in the sums; a max of None was not needed: the support has
        # no upper end, and the data are not all equal)
        lo, hi = summary["min"], summary["max"]
        if not (_summary_valid(fam, lo, lo if hi is None else hi, summary.get("finite", True),
                               summary.get("integral", False))
                and all(_all_finite(v) for v in stats.values())):
            find_nonfinite(x)
            fam.check_support(x, fixed)
        if lo == hi:
            fam.check_degenerate(x, w)
    if not all(_all_finite(v) for v in stats.values()):
        stats = _numpy_statistics_retry(fam, x, w)
    return stats


def _n(v):
    return int(v) if float(v) == int(v) else v
