"""Checking user data and cutting it into fixed-size chunks for the compiled objective.

Chunks have a few fixed sizes (powers of two up to ``CHUNK``), so the compiled
log-likelihood is reused for every sample size: a new ``n`` only changes how many
chunks there are and how much of the last one is padding (weight 0).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..kernels.aligned import MIN_BUCKET, align_rows, aligned_empty, bucket
from ..kernels.summary import count_integers, pool
from ..errors import (
    DataError,
    EmptyDataError,
    NonFiniteDataError,
    NonNumericDataError,
    NumericalRangeError,
)

CHUNK = 1 << 20  # rows per full chunk
ONE_PIECE = 1 << 14  # rows up to which Sample.pieces gives one padded piece


@dataclass
class Sample:
    """Validated data: values ``x`` (n,) or (n, d), optional weights, and bookkeeping."""

    x: np.ndarray
    w: np.ndarray | None
    nobs: float  # number of observations (sum of frequency weights)
    dropped: int = 0

    def chunks(self):
        """Yield ``(x_chunk, w_chunk, n_valid)``; ``w_chunk`` is None when unweighted.

        Full chunks are views (no copy), starting on a 64-byte boundary so that JAX
        reads them in place; the few rows before that boundary and the rest after the
        last full chunk are copied into one padded chunk.
        """
        n = self.x.shape[0]
        head = align_rows(self.x)
        if n - head < CHUNK:
            head = 0
        start = head
        while n - start >= CHUNK:
            sl = slice(start, start + CHUNK)
            yield self.x[sl], (None if self.w is None else self.w[sl]), CHUNK
            start += CHUNK
        rows = np.r_[0:head, start:n]
        if rows.size:
            yield self._padded(rows, bucket(rows.size)) + (int(rows.size),)

    def pieces(self):
        """Yield ``(x_piece, w_piece)`` covering the data with power-of-two views.

        Unlike :meth:`chunks`, no piece is padded except a final one shorter than
        ``MIN_BUCKET`` (with weight 0 on the padding): an unweighted piece then needs
        no mask, which lets XLA fuse several reductions into one fast loop. The views
        start on a 64-byte boundary: JAX reads an aligned NumPy array in place, and
        copies any other (a copy measured 15x the cost of the sum itself).

        Up to ``ONE_PIECE`` rows, the data are one padded piece: the masked reductions cost
        microseconds there, and a new process lowers one compiled function instead of one
        for each power of two in ``n`` (~10-30 ms each, paid by every command-line fit).
        """
        n = self.x.shape[0]
        if 0 < n <= ONE_PIECE:
            yield self._padded(np.arange(n), bucket(n))
            return
        head = align_rows(self.x)
        if n - head < MIN_BUCKET:
            head = 0
        start = head
        size = CHUNK
        while size >= MIN_BUCKET:
            while n - start >= size:
                sl = slice(start, start + size)
                yield self.x[sl], (None if self.w is None else self.w[sl])
                start += size
            size //= 2
        rows = np.r_[0:head, start:n]
        if rows.size:
            yield self._padded(rows, bucket(rows.size))

    def _padded(self, rows, b):
        """Rows ``rows`` copied into an aligned buffer of ``b`` rows; padding repeats the
        first row (a valid value, so it evaluates finitely) with weight 0."""
        xp = aligned_empty((b,) + self.x.shape[1:])
        k = rows.size
        xp[:k] = self.x[rows]
        xp[k:] = self.x[rows[0]]
        wp = None
        if self.w is not None or k < b:
            wp = aligned_empty((b,))
            wp[:k] = 1.0 if self.w is None else self.w[rows]
            wp[k:] = 0.0
        return xp, wp



def row_name(i: int) -> str:
    """How a message names row ``i`` (a 0-based index) of in-memory data: "data row k",
    counted from 1 as a person counts (a file's rows are named by their line instead).

    >>> row_name(0)
    'data row 1'
    """
    return f"data row {i + 1}"


def as_float_array(data, *, ndim: int = 0, dropna: bool = False, where: str = "data", scan: bool = True):
    """Convert user data to float64, refusing non-numeric and non-finite values.

    Returns ``(array, dropped)``; with ``dropna`` rows holding NaN are removed and
    counted (infinite values are always an error: they are not "missing").
    ``scan=False`` skips the scan for NaN and infinity, for callers that detect them
    in a pass they make anyway (and then call :func:`find_nonfinite`).
    """
    if isinstance(data, (str, bytes)):
        raise NonNumericDataError(f"{where} is a string, not numbers")
    try:
        arr = _masked_as_nan(data) if _is_masked(data) else np.asarray(data)
    except Exception as exc:  # ragged nested lists and the like
        raise DataError(f"{where} cannot be read as an array: {exc}") from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        arr = _cells_as_float(arr, where)
    elif arr.dtype.kind == "b":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind in "iu":
        arr = _exact_integers(arr, where)
    elif arr.dtype.kind != "f":
        raise NonNumericDataError(f"{where} has dtype {arr.dtype}, not numbers")
    arr = np.asarray(arr, dtype=np.float64)
    want = 1 if ndim == 0 else 2
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if ndim == 0 and arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != want:
        shape = "a 1-D column of numbers" if want == 1 else "a 2-D table (rows = observations)"
        raise DataError(f"{where} has shape {arr.shape}; expected {shape}")
    if arr.shape[0] == 0:
        raise EmptyDataError(f"{where} is empty")
    if not scan:
        return np.ascontiguousarray(arr), 0
    return find_nonfinite(arr, dropna=dropna, where=where)


def _is_masked(data) -> bool:
    """Whether ``data`` is a NumPy masked array -- without importing ``numpy.ma`` (~8 ms of every
    command-line fit) where nothing has: then no masked array exists."""
    ma = sys.modules.get("numpy.ma")
    return ma is not None and ma.isMaskedArray(data)


def _masked_as_nan(data):
    """A NumPy masked array as float64 with its masked entries NaN: they are missing, so
    refused, or dropped and counted under ``dropna`` -- never read as the values beneath."""
    arr = np.ma.getdata(data)
    mask = np.ma.getmaskarray(data)
    if arr.dtype.kind not in "iufb" or not mask.any():
        return arr if not mask.any() else np.where(mask, None, arr.astype(object))
    out = arr.astype(np.float64)  # (exactness of integers: checked on the unmasked ones below)
    if arr.dtype.kind in "iu":
        _exact_integers(np.where(mask, 0, arr), "data")
    out[mask] = np.nan
    return out


def _cells_as_float(arr, where):
    """An object (or string) array as float64: ``None`` and ``pandas.NA`` are missing (NaN),
    anything that is not a number is refused naming its row."""
    flat = arr.reshape(arr.shape[0], -1) if arr.ndim > 1 else arr.reshape(-1, 1)
    out = np.empty(flat.shape, dtype=np.float64)
    for i, row in enumerate(flat):
        for j, cell in enumerate(row):
            if cell is None or type(cell).__name__ == "NAType":
                out[i, j] = np.nan
                continue
            try:
                out[i, j] = float(cell)
            except OverflowError:
                raise NumericalRangeError(f"value {_cell(cell)} at {row_name(i)} of {where} is too large "
                                          "for float64") from None
            except (TypeError, ValueError):
                raise NonNumericDataError(f"non-numeric value {_cell(cell)} at {row_name(i)} of {where}") from None
    return out.reshape(arr.shape)


def _exact_integers(arr, where):
    """Integers as float64, refusing any that float64 cannot hold exactly (beyond 2^53):
    2^62 and 2^62 + 1 would become one value, and the fit would answer for other data."""
    f = arr.astype(np.float64)
    big = np.abs(f) >= 2.0 ** 53
    if big.any():
        with np.errstate(invalid="ignore"):
            bad = big & (f.astype(arr.dtype) != arr)  # (2^63 overflows int64 on the way back: bad too)
        if bad.any():
            rows = bad.reshape(bad.shape[0], -1).any(axis=1)
            i = int(np.argmax(rows))
            v = int(arr.reshape(arr.shape[0], -1)[i][bad.reshape(bad.shape[0], -1)[i]][0])
            raise NumericalRangeError(
                f"integer {v} at {row_name(i)} of {where} is beyond 2^53: float64 cannot hold it exactly (it "
                f"would become {float(v):.17g}); subtract an offset or rescale the data")
    return f


def find_nonfinite(arr, *, dropna: bool = False, where: str = "data"):
    """Raise for infinite values (and NaN unless ``dropna``); return ``(array, dropped)``."""
    dropped = 0
    finite = np.isfinite(arr) if arr.ndim == 1 else np.isfinite(arr).all(axis=1)
    if not finite.all():
        nan_rows = np.isnan(arr) if arr.ndim == 1 else np.isnan(arr).any(axis=1)
        inf_rows = ~finite & ~nan_rows
        if inf_rows.any():
            i = int(np.argmax(inf_rows))
            raise NonFiniteDataError(f"{where} contains an infinite value at {row_name(i)}")
        if not dropna:
            i = int(np.argmax(nan_rows))
            raise NonFiniteDataError(
                f"{where} contains NaN at {row_name(i)} ({int(nan_rows.sum())} NaN rows; "
                "pass dropna=True / --dropna to drop and count them)"
            )
        dropped = int(nan_rows.sum())
        arr = arr[~nan_rows]
        if arr.shape[0] == 0:
            raise EmptyDataError(f"{where} has no rows left after dropping {dropped} NaN rows")
    return np.ascontiguousarray(arr), dropped


def as_weights(weights, n_rows: int):
    """Validated frequency weights: numbers, finite, non-negative, one per row, not all zero."""
    w, _ = as_float_array(weights, where="weights")
    if w.shape[0] != n_rows:
        raise DataError(f"weights have {w.shape[0]} entries but the data have {n_rows} rows")
    if np.any(w < 0):
        i = int(np.argmax(w < 0))
        raise DataError(f"negative weight {w[i]:g} at {row_name(i)}")
    if w.sum() <= 0:
        raise EmptyDataError("all weights are zero")
    return w


def _cell(v):
    return repr(str(v)) if isinstance(v, (str, np.str_, bytes)) else repr(v)


def reduce_discrete(x: np.ndarray, w: np.ndarray | None, bounds=None):
    """Collapse integer data to its distinct values with counts (exact for any likelihood).
    ``bounds``: the (min, max) of ``x`` where already known (the data's summary)."""
    if x.ndim != 1:
        return x, w
    lo, hi = (x.min(), x.max()) if bounds is None else bounds
    # whole numbers (checked before): one read counts them, where their span is not too wide
    counts = count_integers(x, lo, hi, pool()) if w is None else None
    if counts is not None:
        vals = np.nonzero(counts)[0]
        return (vals + lo).astype(np.float64), counts[vals].astype(np.float64)
    vals, inv = np.unique(x, return_inverse=True)
    counts = np.bincount(inv, weights=w, minlength=vals.size)
    keep = counts > 0
    return vals[keep], counts[keep]
