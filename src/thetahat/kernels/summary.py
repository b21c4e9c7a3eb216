"""A summary of a large float64 array -- sum, sum of squares, minimum, maximum, and whether
every value is a whole number -- read from memory once, in NumPy.

An exponential fit of 10^7 rows needs the sum of the data, and its validation needs the
minimum (a negative value is outside the support); a bernoulli fit needs the sum, and its
validation the minimum, the maximum and that every value is a whole number. NumPy's
whole-array reductions read the array once for each of those, and at 10^7 values a read
from memory costs more than the arithmetic. So the array is taken in blocks of ``BLOCK``
values that stay in the cache, and every reduction runs on a block while it is there; the
blocks are shared between this thread and a worker (NumPy releases the GIL in each
reduction). The whole-number test compares a block with its floor (a NaN differs; an infinity,
equal to its floor, shows in the minimum, the maximum or the sum). Only what the caller asks for
is read: the maximum, for one, only for a support with an upper end, since a finite sum already
shows that no value is infinite. Data that should take two values only (a bernoulli's) are
counted instead: two comparisons a block, from which every field follows exactly.

Accuracy: each block's sum is NumPy's pairwise sum, and the block sums are added by NumPy's
pairwise sum again: as accurate as ``np.add.reduce`` of the whole array (tested against
``math.fsum``). The minimum and maximum are NumPy's, NaN included.

This replaced a loop written in LLVM IR (llvmlite), which read the array in one pass of
explicit vectors: 1-3 ms faster at 10^7 values, on x86-64 only (docs/design/sufficient_statistics.md).

Examples
--------
>>> import numpy as np
>>> from thetahat.kernels.summary import summarize
>>> s = summarize(np.arange(1.0, 10_001.0))
>>> (s["sum"], s["sum_sq"], s["min"], s["max"], s["integral"])
(50005000.0, 333383335000.0, 1.0, 10000.0, True)
"""

from __future__ import annotations

import os
import threading

import numpy as np

BLOCK = 1 << 16  # values per block (512 KiB): inside the L2 cache while its reductions run
MIN_SPLIT = 1 << 18  # below this many values one thread does the whole array
MAX_COUNT_SPAN = 1 << 22  # distinct whole numbers counted by :func:`count_integers` (a 32 MiB table a thread)

_POOL = {}  # pid -> executor: a forked child must not reuse its parent's (threadless) pool
_pool_lock = threading.Lock()


def pool():
    """Two worker threads for this process (NumPy's reductions release the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    pid = os.getpid()
    if pid not in _POOL:
        with _pool_lock:
            if pid not in _POOL:
                _POOL.clear()
                _POOL[pid] = ThreadPoolExecutor(2, thread_name_prefix="thetahat-stats")
    return _POOL[pid]


def usable(x) -> bool:
    """Whether :func:`summarize` reads ``x``: a non-empty 1-D float64 array."""
    return x.ndim == 1 and x.dtype == np.float64 and x.size > 0


def _halves(work, n, pool):
    """``work(start, stop)`` over ``[0, n)``: the first half of the blocks on a ``pool`` thread
    while this one takes the second; the results in order."""
    if pool is None or n < MIN_SPLIT:
        return [work(0, n)]
    mid = (n // 2) // BLOCK * BLOCK
    first = pool.submit(work, 0, mid)
    try:
        second = work(mid, n)
    finally:  # (an interrupt here: the worker is waited for while the arrays live)
        first_result = first.result()
    return [first_result, second]


FIELDS = ("sum", "sum_sq", "min", "max", "integral", "equal")


def summarize(x, pool=None, fields=FIELDS, two_values=None):
    """Sum, sum of squares, minimum, maximum, integrality and constancy of a 1-D float64 array --
    those of them asked for -- in one read of memory.

    Parameters
    ----------
    x : ndarray
        A 1-D float64 array with at least one value.
    pool : concurrent.futures.Executor, optional
        Shares the reading of a large array with this thread.
    fields : iterable of str
        Of :data:`FIELDS`. The minimum is always taken (every NaN shows in it); the maximum
        when asked for, or when nothing else asked for shows an infinity. ``equal`` (every
        value equals the first) costs one comparison of the first block in which a value
        differs: nothing for most data.
    two_values : tuple of float, optional
        ``(a, b)``, the only two values the data should take (the support of a bernoulli):
        the values are counted instead, and sum, sum of squares, minimum, maximum,
        integrality and constancy follow exactly from the two counts. Data with any other
        value are summarized as without it.

    Returns
    -------
    dict or None
        ``n``; ``sum`` and ``sum_sq`` (to the accuracy of NumPy's pairwise sum), ``min`` and
        ``max`` (NaN when a value is NaN, as in NumPy), ``integral`` (every value is a finite
        whole number) and ``equal``, those asked for; ``finite``, whether every value is
        finite. ``None`` when ``x`` is not a non-empty 1-D float64 array.

    Examples
    --------
    >>> import numpy as np
    >>> s = summarize(np.array([3.0, 0.5, 2.0]))
    >>> (s["sum"], s["sum_sq"], s["min"], s["max"], s["integral"], s["equal"], s["finite"])
    (5.5, 13.25, 0.5, 3.0, False, False, True)
    >>> summarize(np.array([3.0, np.inf]), fields=("sum",))
    {'n': 2.0, 'sum': inf, 'min': 3.0, 'max': inf, 'finite': False}
    >>> summarize(np.array([1.0, 0.0, 1.0]), fields=("sum",), two_values=(0.0, 1.0))["sum"]
    2.0
    """
    if not usable(x):
        return None
    fields = set(fields) | {"min"}
    if two_values is not None:
        out = _two_valued(x, pool, two_values)
        if out is not None:
            return {k: v for k, v in out.items() if k in fields | {"n", "finite"}}
    if not fields & {"sum", "sum_sq", "max"}:
        fields.add("max")  # (something must show an infinity)
    out = _read(x, pool, fields)
    witness = [out[k] for k in ("max", "sum", "sum_sq") if k in out]
    if not np.isfinite(witness[0]) and "max" not in out:  # an infinity, or a sum overflowed: one more read
        out["max"] = float(np.maximum.reduce(x))
        witness = [out["max"]]
    out["finite"] = bool(np.isfinite(out["min"]) and np.isfinite(witness[0]))
    if "integral" in out:  # (an infinity equals its floor)
        out["integral"] = out["integral"] and out["finite"]
    return out


_REDUCE = {"sum": np.add.reduce, "sum_sq": lambda b: np.dot(b, b), "min": np.minimum.reduce,
           "max": np.maximum.reduce}


def _read(x, pool, fields):
    """:func:`summarize`'s one read, by blocks."""
    reductions = [(name, fn) for name, fn in _REDUCE.items() if name in fields]
    integral, equal, first = "integral" in fields, "equal" in fields, x[0]

    def work(start, stop):
        size = min(BLOCK, stop - start)
        parts, whole, same = [], True, True
        frac, flags = (np.empty(size), np.empty(size, dtype=bool)) if integral else (None, None)
        with np.errstate(over="ignore", invalid="ignore"):  # (overflow and NaN show in the results)
            for i in range(start, stop, BLOCK):
                b = x[i:min(i + BLOCK, stop)]
                parts.append([fn(b) for _, fn in reductions])
                if integral and whole:  # x == floor(x) for a whole number or an infinity, not for NaN
                    whole = bool(np.equal(b, np.floor(b, out=frac[:b.size]), out=flags[:b.size]).all())
                if equal and same:  # (stops at the first block with a value unlike the first)
                    same = not bool(np.not_equal(b, first).any())
        return parts, whole, same

    halves = _halves(work, x.shape[0], pool)
    parts = np.array([p for h in halves for p in h[0]])
    merge = {"sum": np.add.reduce, "sum_sq": np.add.reduce, "min": np.minimum.reduce, "max": np.maximum.reduce}
    out = {"n": float(x.shape[0])}
    with np.errstate(over="ignore", invalid="ignore"):
        out.update({name: float(merge[name](parts[:, j])) for j, (name, _) in enumerate(reductions)})
    if integral:
        out["integral"] = all(h[1] for h in halves)
    if equal:
        out["equal"] = all(h[2] for h in halves)
    return out


def _two_valued(x, pool, values):
    """:func:`summarize` of data that take only the two ``values``, from their counts; ``None``
    when some value is neither."""
    a, b = sorted(float(v) for v in values)

    def work(start, stop):
        flags, counts = np.empty(min(BLOCK, stop - start), dtype=bool), [0, 0]
        for i in range(start, stop, BLOCK):
            blk = x[i:min(i + BLOCK, stop)]
            counts[0] += int(np.count_nonzero(np.equal(blk, a, out=flags[:blk.size])))
            counts[1] += int(np.count_nonzero(np.equal(blk, b, out=flags[:blk.size])))
        return counts

    na, nb = (sum(c) for c in zip(*_halves(work, x.shape[0], pool)))
    if na + nb != x.shape[0]:
        return None
    whole = a == np.floor(a) and b == np.floor(b)
    return {"n": float(x.shape[0]), "sum": a * na + b * nb, "sum_sq": a * a * na + b * b * nb,
            "min": a if na else b, "max": b if nb else a, "integral": bool(whole), "equal": na == 0 or nb == 0,
            "finite": True}


def count_integers(x, lo, hi, pool=None):
    """How often each whole number ``lo, lo + 1, ..., hi`` occurs in ``x``, in one read.

    The caller has checked (e.g. with :func:`summarize`) that every value of ``x`` is a whole
    number in ``[lo, hi]``: the count does not check again.

    Parameters
    ----------
    x : ndarray
        A 1-D float64 array of whole numbers.
    lo, hi : float
        Its minimum and maximum, with ``hi - lo < MAX_COUNT_SPAN``.
    pool : concurrent.futures.Executor, optional
        Counts the first half of a large array while this thread does the second.

    Returns
    -------
    ndarray or None
        ``hi - lo + 1`` counts (int64); ``None`` where the span is too wide.

    Examples
    --------
    >>> import numpy as np
    >>> count_integers(np.array([2.0, 5.0, 2.0, 3.0, 2.0]), 2.0, 5.0).tolist()
    [3, 1, 0, 1]
    """
    k = int(hi - lo) + 1
    if not (usable(x) and 0 < k <= MAX_COUNT_SPAN and abs(lo) < 2.0**62 and abs(hi) < 2.0**62):
        return None

    def work(start, stop):
        counts, shifted = np.zeros(k, dtype=np.int64), np.empty(min(BLOCK, stop - start))
        for i in range(start, stop, BLOCK):
            b = x[i:min(i + BLOCK, stop)]
            counts += np.bincount(np.subtract(b, lo, out=shifted[:b.size]).astype(np.intp), minlength=k)
        return counts

    return np.add.reduce(_halves(work, x.shape[0], pool))
