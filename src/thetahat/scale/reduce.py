"""One pass over a source: map every batch to partial sums, and merge them.

Partial sums are flat dicts of NumPy arrays; the merge of two is decided by the key's
prefix, so the same function reduces in-process batches and Dask tree reductions:

========== ================================================
key        merge
========== ================================================
``min:k``  elementwise minimum
``max:k``  elementwise maximum
``cat:k``  concatenation (small samples, such as a pilot)
``s:k``    the family's :meth:`~thetahat.families.Family.merge` of its statistics
other      addition (counts, log-likelihood, gradient, Hessian, X'WX, ...)
========== ================================================

Example
-------
>>> import numpy as np
>>> from thetahat.scale.reduce import combine
>>> out = combine({"n": 2, "max:x": np.array(3.0)}, {"n": 5, "max:x": np.array(1.0)})
>>> int(out["n"]), float(out["max:x"])
(7, 3.0)
"""

from __future__ import annotations

import queue
import sys
import threading

import numpy as np

from .._jax import in_thread
from .sources import DaskSource, partition_batches, read_part

PREFETCH = 2  # batches read ahead of the computation (I/O overlaps compute)


def combine(a, b, merge=None):
    """Merge two partial-sum dicts (``None`` is the empty partial sum)."""
    if a is None:
        return b
    if b is None:
        return a
    out = {}
    stats_a, stats_b = {}, {}
    for k in list(a) + [k for k in b if k not in a]:
        if k not in a or k not in b:  # e.g. statistics of an empty batch (every row dropped)
            out[k] = a[k] if k in a else b[k]
            continue
        va, vb = a[k], b[k]
        if k.startswith("min:"):
            out[k] = np.minimum(va, vb)
        elif k.startswith("max:"):
            out[k] = np.maximum(va, vb)
        elif k.startswith("cat:"):
            out[k] = np.concatenate([va, vb])
        elif k.startswith("s:"):
            stats_a[k[2:]], stats_b[k[2:]] = va, vb
        else:
            out[k] = va + vb
    if stats_a:
        merged = merge(stats_a, stats_b) if merge is not None else {k: stats_a[k] + stats_b[k] for k in stats_a}
        out.update({"s:" + k: np.asarray(v) for k, v in merged.items()})
    return out


def map_reduce(source, fn, args=(), *, merge=None, progress=None, label="pass"):
    """``combine`` of ``fn(batch, *args)`` over every batch of ``source``.

    In-process for files (reading ahead on a thread, so decoding overlaps the
    computation); as Dask tasks, one per part, tree-reduced, for a :class:`DaskSource`
    -- on whichever scheduler is active (threads, a ``LocalCluster``, a remote
    ``distributed`` cluster). Either way the source's ``passes`` count goes up by one.
    """
    source.passes = getattr(source, "passes", 0) + 1
    if isinstance(source, DaskSource):
        return _dask_reduce(source, fn, args, merge)
    total = None
    bar = _progress(source, progress, label)
    try:
        for batch in _prefetched(source.batches()):
            total = combine(total, fn(batch, *args), merge)
            if bar is not None:
                bar[0].update(bar[1], advance=batch.rows)
    finally:
        if bar is not None:
            bar[0].stop()
    return total


def _prefetched(it, depth=PREFETCH):
    """Iterate ``it`` on a reader thread, ``depth`` items ahead; its errors re-raise here."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def reader():
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _progress(source, progress, label):
    rows = getattr(source, "rows", None)
    if progress is None:
        progress = bool(rows) and rows >= 20_000_000 and sys.stderr.isatty()
    if not progress:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,} rows"),
                   TimeRemainingColumn(), transient=True)
    task = bar.add_task(f"{label} {source.passes}", total=rows)
    bar.start()
    return bar, task


# ---- Dask -------------------------------------------------------------------------
def part_task(part, index, columns, batch_rows, fn, args, merge):
    """One Dask task: read a part (or take a computed partition) and reduce its batches."""
    if isinstance(part, tuple) and len(part) == 4 and part[1] in ("parquet", "csv"):
        batches = read_part(part, columns, batch_rows)
    else:
        batches = partition_batches(part, index, columns, batch_rows)
    total = None
    for batch in batches:
        total = combine(total, fn(batch, *args), merge)
    return total


def _dask_reduce(source, fn, args, merge, fan_in=8):
    import dask

    task = dask.delayed(in_thread(part_task), pure=False)  # (a worker thread or process: float64 there too)
    join = dask.delayed(_combine_many, pure=False)
    level = [task(p, i, source.columns, source.batch_rows, fn, args, merge) for i, p in enumerate(source.parts)]
    while len(level) > 1:  # a tree: what crosses the network is partial sums, never rows
        level = [join(level[i:i + fan_in], merge) for i in range(0, len(level), fan_in)]
    (out,) = dask.compute(level[0])
    return out


def _combine_many(parts, merge):
    total = None
    for p in parts:
        total = combine(total, p, merge)
    return total


def file_source_on_dask(source):
    """A :class:`FileSource` whose parts are read by Dask workers (``--dask``/``--scheduler``)."""
    ds = DaskSource.__new__(DaskSource)
    ds.columns, ds.batch_rows, ds.kind = source.columns, source.batch_rows, "files"
    ds.parts, ds.rows, ds.files, ds.data = list(source.parts), source.rows, source.files, None
    ds.describe = source.describe
    return ds
