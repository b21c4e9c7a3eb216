"""Checking user data and cutting it into fixed-size chunks for the compiled objective.

Chunks have a few fixed sizes (powers of two up to ``CHUNK``), so the compiled
log-likelihood is reused for every sample size: a new ``n`` only changes how many
chunks there are and how much of the last one is padding (weight 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import (
    DataError,
    EmptyDataError,
    NonFiniteDataError,
    NonNumericDataError,
)

CHUNK = 1 << 20  # rows per full chunk
MIN_BUCKET = 256


def bucket(n: int) -> int:
    """The padded size of a chunk holding ``n`` rows."""
    return max(MIN_BUCKET, 1 << int(np.ceil(np.log2(max(n, 1)))))


@dataclass
class Sample:
    """Validated data: values ``x`` (n,) or (n, d), optional weights, and bookkeeping."""

    x: np.ndarray
    w: np.ndarray | None
    nobs: float  # number of observations (sum of frequency weights)
    dropped: int = 0

    def chunks(self):
        """Yield ``(x_chunk, w_chunk, n_valid)``; ``w_chunk`` is None when unweighted.

        Full chunks are views (no copy); only the last one is copied into padding.
        """
        n = self.x.shape[0]
        start = 0
        while n - start >= CHUNK:
            sl = slice(start, start + CHUNK)
            yield self.x[sl], (None if self.w is None else self.w[sl]), CHUNK
            start += CHUNK
        rest = n - start
        if rest:
            b = bucket(rest)
            xp = np.empty((b,) + self.x.shape[1:], dtype=np.float64)
            xp[:rest] = self.x[start:]
            xp[rest:] = self.x[start]  # a valid value, so padding evaluates finitely
            wp = None
            if self.w is not None:
                wp = np.zeros(b)
                wp[:rest] = self.w[start:]
            yield xp, wp, rest


    def pieces(self):
        """Yield ``(x_piece, w_piece)`` covering the data with power-of-two views.

        Unlike :meth:`chunks`, no piece is padded except a final one shorter than
        ``MIN_BUCKET`` (with weight 0 on the padding): an unweighted piece then needs
        no mask, which lets XLA fuse several reductions into one fast loop.
        """
        n = self.x.shape[0]
        start = 0
        size = CHUNK
        while size >= MIN_BUCKET:
            while n - start >= size:
                sl = slice(start, start + size)
                yield self.x[sl], (None if self.w is None else self.w[sl])
                start += size
            size //= 2
        rest = n - start
        if rest:
            xp = np.empty((MIN_BUCKET,) + self.x.shape[1:], dtype=np.float64)
            xp[:rest] = self.x[start:]
            xp[rest:] = self.x[start]
            wp = np.zeros(MIN_BUCKET)
            wp[:rest] = 1.0 if self.w is None else self.w[start:]
            yield xp, wp


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
        arr = np.asarray(data)
    except Exception as exc:  # ragged nested lists and the like
        raise DataError(f"{where} cannot be read as an array: {exc}") from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        flat = arr.reshape(arr.shape[0], -1) if arr.ndim > 1 else arr.reshape(-1, 1)
        for i, row in enumerate(flat):
            for cell in row:
                try:
                    float(cell)
                except (TypeError, ValueError):
                    raise NonNumericDataError(
                        f"non-numeric value {_cell(cell)} at row {i} of {where}"
                    ) from None
        arr = arr.astype(np.float64)
    elif arr.dtype.kind == "b":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind not in "iuf":
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


def find_nonfinite(arr, *, dropna: bool = False, where: str = "data"):
    """Raise for infinite values (and NaN unless ``dropna``); return ``(array, dropped)``."""
    dropped = 0
    finite = np.isfinite(arr) if arr.ndim == 1 else np.isfinite(arr).all(axis=1)
    if not finite.all():
        nan_rows = np.isnan(arr) if arr.ndim == 1 else np.isnan(arr).any(axis=1)
        inf_rows = ~finite & ~nan_rows
        if inf_rows.any():
            i = int(np.argmax(inf_rows))
            raise NonFiniteDataError(f"{where} contains an infinite value at row {i}")
        if not dropna:
            i = int(np.argmax(nan_rows))
            raise NonFiniteDataError(
                f"{where} contains NaN at row {i} ({int(nan_rows.sum())} NaN rows; "
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
        raise DataError(f"negative weight {w[i]:g} at row {i}")
    if w.sum() <= 0:
        raise EmptyDataError("all weights are zero")
    return w


def _cell(v):
    return repr(str(v)) if isinstance(v, (str, np.str_, bytes)) else repr(v)


def reduce_discrete(x: np.ndarray, w: np.ndarray | None):
    """Collapse integer data to its distinct values with counts (exact for any likelihood)."""
    if x.ndim != 1:
        return x, w
    lo = x.min()
    span = x.max() - lo
    if span < 4 * 10**6 and w is None:
        counts = np.bincount((x - lo).astype(np.int64))
        vals = np.nonzero(counts)[0]
        return (vals + lo).astype(np.float64), counts[vals].astype(np.float64)
    vals, inv = np.unique(x, return_inverse=True)
    counts = np.bincount(inv, weights=w, minlength=vals.size)
    keep = counts > 0
    return vals[keep], counts[keep]
