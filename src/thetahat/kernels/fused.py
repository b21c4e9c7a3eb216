"""A summary of a large float64 array -- sum, sum of squares, minimum, maximum, and whether
every value is an integer -- in one read of memory.

An exponential fit of 10^7 rows needs the sum of the data, and its validation needs the
minimum (a negative value is outside the support); a bernoulli fit needs the sum, and its
validation the minimum, the maximum and that every value is an integer. NumPy reads the array
once for each of those, and on this machine a second read costs as much as the first even on
another core; XLA's reductions with a select or a second output measured 3-10x slower than
NumPy. This module compiles one small loop with llvmlite that reads each value once and keeps
all five per block of ``BLOCK`` values, written in explicit 8-wide vectors with four
independent sets of partial results (4-wide with two sets on a machine without AVX-512, which
has too few registers for them) and a software prefetch 32 KiB ahead (see :func:`_summary_ir`
for why each), and shares it between two threads in pieces. A second
copy of the loop leaves out the whole-number test, for real-valued data.

Accuracy: each block's sum is 32 (8 without AVX-512) interleaved partial sums added as a tree,
then NumPy's pairwise sum adds the block sums: as accurate as ``np.add.reduce`` of the whole
array (tested against ``math.fsum``). The loop's minimum and maximum ignore
NaN; a NaN or an infinity makes the sum non-finite, and then NumPy's own minimum and maximum
(which propagate NaN) are returned instead.

The loop is compiled once per process (about 20-60 ms, with no dependence on the size of
the data). Without llvmlite, or where it cannot compile for this machine, :func:`summarize`
returns ``None`` and the caller keeps its NumPy path.

Examples
--------
>>> import numpy as np
>>> from thetahat.kernels.fused import summarize
>>> s = summarize(np.arange(1.0, 10_001.0))
>>> s is None or (s["sum"], s["min"], s["max"], s["integral"]) == (50005000.0, 1.0, 10000.0, True)
True
"""

from __future__ import annotations

import ctypes
import os
import threading

import numpy as np

BLOCK = 4096  # values per block sum: short enough for an accurate sum, long enough to vectorise
MIN_SPLIT = 1 << 18  # below this many values one thread does the whole array

LANES, SETS = 8, 4  # a step of the loop reads four <8 x double> vectors, one into each set of partials
PREFETCH = 4096  # values (32 KiB) ahead of the loop that it asks the cache for, one request per 64-byte line
# Without AVX-512 a machine has 16 vector registers of 4 doubles: 8 x 4 partials would need 32
# of them for the sums, squares, minima and maxima alone, and LLVM keeps them on the stack
# (a store and a load per vector per step). Measured on an AVX2 Zen 3, 32 blocks in cache:
# 8 x 4 44 us (spilled), 4 x 4 35 us, 4 x 2 24-29 us (no spill); at 10^7 values the read is
# memory-bound and the three are within noise of each other.
NARROW_LANES, NARROW_SETS = 4, 2


def _loop_lines(lanes, sets, prefetch, whole):
    """``(phis, body)``: the inner loop's partials and its reads, updates and prefetches."""
    vec, ivec, mask = f"<{lanes} x double>", f"<{lanes} x i64>", f"<{lanes} x i1>"

    def splat(bits):
        return "<" + ", ".join([f"double {bits}"] * lanes) + ">"

    phis, body = [], []
    for c in range(sets):
        phis += [f"  %s{c} = phi {vec} [zeroinitializer, %outer], [%s{c}.n, %inner]",
                 f"  %q{c} = phi {vec} [zeroinitializer, %outer], [%q{c}.n, %inner]",
                 f"  %lo{c} = phi {vec} [{splat('0x7FF0000000000000')}, %outer], [%lo{c}.n, %inner]",
                 f"  %hi{c} = phi {vec} [{splat('0xFFF0000000000000')}, %outer], [%hi{c}.n, %inner]"]
        body += [f"  %i{c} = add i64 %at, {c * lanes}",
                 f"  %p{c} = getelementptr double, ptr %x, i64 %i{c}",
                 f"  %v{c} = load {vec}, ptr %p{c}, align 8",
                 f"  %s{c}.n = fadd {vec} %s{c}, %v{c}",
                 f"  %q{c}.n = call {vec} @llvm.fma.v{lanes}f64({vec} %v{c}, {vec} %v{c}, {vec} %q{c})",
                 f"  %lt{c} = fcmp olt {vec} %v{c}, %lo{c}",
                 f"  %lo{c}.n = select {mask} %lt{c}, {vec} %v{c}, {vec} %lo{c}",
                 f"  %gt{c} = fcmp ogt {vec} %v{c}, %hi{c}",
                 f"  %hi{c}.n = select {mask} %gt{c}, {vec} %v{c}, {vec} %hi{c}"]
        if whole:
            phis.append(f"  %f{c} = phi {ivec} [zeroinitializer, %outer], [%f{c}.n, %inner]")
            body += [f"  %fl{c} = call {vec} @llvm.floor.v{lanes}f64({vec} %v{c})",
                     f"  %fr{c} = fsub {vec} %v{c}, %fl{c}",
                     f"  %fb{c} = bitcast {vec} %fr{c} to {ivec}",
                     f"  %f{c}.n = or {ivec} %f{c}, %fb{c}"]
    for line in range(lanes * sets * 8 // 64):
        body += [f"  %ap{line} = add i64 %at, {prefetch + line * 8}",
                 f"  %pp{line} = getelementptr double, ptr %x, i64 %ap{line}",
                 f"  call void @llvm.prefetch.p0(ptr %pp{line}, i32 0, i32 3, i32 1)"]
    return phis, body


def _tail_lines(lanes, sets, whole):
    """The end of a block: each accumulator's partials as a tree over the sets, then over the lanes."""
    vec, ivec, mask = f"<{lanes} x double>", f"<{lanes} x i64>", f"<{lanes} x i1>"

    def tree(acc, combine):
        """The sets' partials of ``acc`` combined pairwise into ``%{acc}t`` (``sets`` a power of 2)."""
        lines, level, depth = [], [f"%{acc}{c}.n" for c in range(sets)], 0
        while len(level) > 1:
            depth += 1
            nxt = ([f"%{acc}t"] if len(level) == 2 else [f"%{acc}t{depth}.{i}" for i in range(len(level) // 2)])
            for i, out in enumerate(nxt):
                lines += combine(out, level[2 * i], level[2 * i + 1])
            level = nxt
        return lines

    def add(out, a, b):
        return [f"  {out} = fadd {vec} {a}, {b}"]

    def select(cmp):  # (no NaN reaches the minima and maxima)
        return lambda out, a, b: [f"  {out}.c = fcmp {cmp} {vec} {a}, {b}",
                                  f"  {out} = select {mask} {out}.c, {vec} {a}, {vec} {b}"]

    tail = []  # a tree over the sets, then a reduction over the lanes
    for acc in ("s", "q"):
        tail += tree(acc, add) + [
            f"  %{acc}r = call reassoc double @llvm.vector.reduce.fadd.v{lanes}f64(double -0.0, {vec} %{acc}t)"]
    for acc, cmp, red in (("lo", "olt", "fmin"), ("hi", "ogt", "fmax")):
        tail += tree(acc, select(cmp)) + [f"  %{acc}r = call double @llvm.vector.reduce.{red}.v{lanes}f64({vec} %{acc}t)"]
    if whole:
        tail += tree("f", lambda out, a, b: [f"  {out} = or {ivec} {a}, {b}"]) + [
            f"  %fi = call i64 @llvm.vector.reduce.or.v{lanes}i64({ivec} %ft)", "  %fr = uitofp i64 %fi to double"]
    else:
        tail.append("  %fr = fadd double 0.0, 0.0")
    return tail


def _summary_ir(name, whole, lanes=LANES, sets=SETS, prefetch=PREFETCH):
    """LLVM IR of the summary loop over ``nb`` blocks of ``BLOCK`` values, written in explicit
    vectors: each of ``sets`` sets keeps ``lanes`` partial sums, sums of squares, minima, maxima (and
    whole-number bits), so that no chain of dependent additions holds back the loads, and a
    prefetch ``PREFETCH`` values on asks for each cache line before the loop reaches it. For 10^7
    values on one thread: LLVM's vectorisation of a scalar loop 4.3 ms, these vectors 2.7 ms,
    with a prefetch 8 KiB ahead 1.7 ms (np.dot 2.0 ms) (8 x 4, AVX-512). At the end of a block
    the partials are added as a tree. The minimum and maximum are a compare and a select, which
    keep the old value against a NaN; the whole-number test ORs the bits of ``v - floor(v)``,
    which are all zero only for a whole number (a NaN or an infinity gives a NaN)."""
    # The distance, for 10^7 values: on one thread 8 KiB ahead was best (1.7 ms; 2 KiB 2.2, 32 KiB
    # 2.0); on the two threads that every large fit uses, 32 KiB (1.33-1.51 ms against np.dot's
    # 1.28-1.40 ms on two threads; 8 KiB 1.53-1.74, 16 KiB 1.38-1.78, 64 KiB 1.45-1.69).
    phis, body = _loop_lines(lanes, sets, prefetch, whole)
    tail = _tail_lines(lanes, sets, whole)
    stores = [f"""  %o{j} = add i64 %o, {j}
  %po{j} = getelementptr double, ptr %out, i64 %o{j}
  store double %{v}r, ptr %po{j}, align 8""" for j, v in enumerate(["s", "q", "lo", "hi", "f"])]
    return f"""
define void @{name}(ptr noalias nocapture readonly %x, i64 %nb, ptr noalias nocapture %out) {{
entry:
  br label %outer
outer:
  %k = phi i64 [0, %entry], [%k.next, %block.end]
  %base = mul i64 %k, {BLOCK}
  br label %inner
inner:
  %j = phi i64 [0, %outer], [%j.next, %inner]
{chr(10).join(phis)}
  %at = add i64 %base, %j
{chr(10).join(body)}
  %j.next = add i64 %j, {lanes * sets}
  %full = icmp eq i64 %j.next, {BLOCK}
  br i1 %full, label %block.end, label %inner
block.end:
{chr(10).join(tail)}
  %o = mul i64 %k, 5
{chr(10).join(stores)}
  %k.next = add i64 %k, 1
  %last = icmp eq i64 %k.next, %nb
  br i1 %last, label %exit, label %outer
exit:
  ret void
}}
"""


def _module_ir(lanes=LANES, sets=SETS, prefetch=PREFETCH):
    """The module: both summary loops and the counting loop."""
    return (f"""
declare <{lanes} x double> @llvm.floor.v{lanes}f64(<{lanes} x double>)
declare <{lanes} x double> @llvm.fma.v{lanes}f64(<{lanes} x double>, <{lanes} x double>, <{lanes} x double>)
declare double @llvm.vector.reduce.fadd.v{lanes}f64(double, <{lanes} x double>)
declare double @llvm.vector.reduce.fmin.v{lanes}f64(<{lanes} x double>)
declare double @llvm.vector.reduce.fmax.v{lanes}f64(<{lanes} x double>)
declare i64 @llvm.vector.reduce.or.v{lanes}i64(<{lanes} x i64>)
declare void @llvm.prefetch.p0(ptr, i32, i32, i32)
""" + _summary_ir("summary_blocks", True, lanes, sets, prefetch)
            + _summary_ir("summary_blocks_real", False, lanes, sets, prefetch) + r"""
define void @count_quads(ptr noalias nocapture readonly %x, i64 %nq, i64 %lo, i64 %k, ptr noalias nocapture %c) {
entry:
  %c0 = getelementptr i64, ptr %c, i64 0
  %c1 = getelementptr i64, ptr %c, i64 %k
  %k2 = mul i64 %k, 2
  %c2 = getelementptr i64, ptr %c, i64 %k2
  %k3 = mul i64 %k, 3
  %c3 = getelementptr i64, ptr %c, i64 %k3
  %none = icmp eq i64 %nq, 0
  br i1 %none, label %exit, label %loop
loop:
  %i = phi i64 [0, %entry], [%i.next, %loop]
  %b = mul i64 %i, 4
QUADS
  %i.next = add i64 %i, 1
  %done = icmp eq i64 %i.next, %nq
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
""").replace("QUADS", "\n".join(f"""\
  %i{j} = add i64 %b, {j}
  %p{j} = getelementptr double, ptr %x, i64 %i{j}
  %v{j} = load double, ptr %p{j}, align 8
  %n{j} = fptosi double %v{j} to i64
  %o{j} = sub i64 %n{j}, %lo
  %q{j} = getelementptr i64, ptr %c{j}, i64 %o{j}
  %t{j} = load i64, ptr %q{j}, align 8
  %u{j} = add i64 %t{j}, 1
  store i64 %u{j}, ptr %q{j}, align 8""" for j in range(4)))  # four values a step, each into its own table

_POOL = {}  # pid -> executor: a forked child must not reuse its parent's (threadless) pool


def pool():
    """Two worker threads for this process (NumPy reductions and the loops release the GIL)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    pid = os.getpid()
    if pid not in _POOL:
        with _pool_lock:
            if pid not in _POOL:
                _POOL.clear()
                _POOL[pid] = ThreadPoolExecutor(2, thread_name_prefix="thetahat-stats")
    return _POOL[pid]


_pool_lock = threading.Lock()
_lock = threading.Lock()
_compiled: list = []  # [(kernel, engine)] once compiled; [None] where it cannot be


def _kernel(name="summary_blocks"):
    """A compiled loop (``summary_blocks``, ``summary_blocks_real`` (without the whole-number
    flag) or ``count_quads``) as a ctypes function (which releases the GIL), or None."""
    if not _compiled:
        with _lock:
            if not _compiled:
                # THETAHAT_NO_FUSED=1: the NumPy/XLA route, as on a machine where the loop cannot compile
                # (CI runs the numerically sensitive tests both ways)
                off = os.environ.get("THETAHAT_NO_FUSED", "") not in ("", "0")
                _compiled.append(None if off else _compile())
    return _compiled[0][0][name] if _compiled[0] else None


def _compile(geometry=None):
    """The compiled loops, ``(kernels, engine)``, or None. ``geometry``: ``(lanes, sets)`` of
    the summary loops; by default 8 x 4 with AVX-512, else 4 x 2 (see ``NARROW_LANES``)."""
    try:
        import llvmlite.binding as llvm

        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        target = llvm.Target.from_default_triple()
        machine = target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                               features=llvm.get_host_cpu_features().flatten(), opt=3)
        if geometry is None:
            wide = bool(llvm.get_host_cpu_features().get("avx512f", False))
            geometry = (LANES, SETS) if wide else (NARROW_LANES, NARROW_SETS)
        module = llvm.parse_assembly(_module_ir(*geometry))
        module.verify()
        tuning = llvm.create_pipeline_tuning_options(speed_level=3)
        tuning.loop_vectorization = True
        builder = llvm.create_pass_builder(machine, tuning)
        builder.getModulePassManager().run(module, builder)
        engine = llvm.create_mcjit_compiler(module, machine)
        engine.finalize_object()
        summary = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p)
        count = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                                 ctypes.c_void_p)
        kernels = {name: summary(engine.get_function_address(name))
                   for name in ("summary_blocks", "summary_blocks_real")}
        kernels["count_quads"] = count(engine.get_function_address("count_quads"))
        return kernels, engine  # the engine owns the code: keep it alive
    except Exception:  # no llvmlite, or no code generation for this machine: NumPy instead
        return None


def _share(work, total, step, pool):
    """``work(start, stop, who)`` over ``[0, total)`` in pieces of ``step``: this thread
    (``who`` = 1) and, with a ``pool``, one worker (``who`` = 0) each take the next piece when
    done with the last, so neither waits for the other's slow start or a slow spell."""
    if pool is None or total <= step:
        if total:
            work(0, total, 1)
        return
    pieces = iter(range(0, total, step))
    lock = threading.Lock()
    stop = []

    def worker(who):
        while not stop:
            with lock:
                start = next(pieces, None)
            if start is None:
                return
            work(start, min(start + step, total), who)

    other = pool.submit(worker, 0)
    try:
        worker(1)
    finally:  # (an interrupt here: the worker takes no new piece, and is waited for while the arrays live)
        stop.append(True)
        other.result()


PIECE = 1 << 20  # values per piece of shared work (8 MiB)


def _blocks(kernel, x, pool=None, integral=True):
    """Per-block (sum, sum of squares, min, max, non-integer flag) of a contiguous float64
    array, the last row for the tail of fewer than ``BLOCK`` values (NumPy); the flag is 0
    throughout where ``integral`` is false (the loop without it)."""
    nb = x.shape[0] // BLOCK
    out = np.empty((nb + 1, 5))
    base, dst = x.ctypes.data, out.ctypes.data

    def work(start, stop, who):  # blocks start .. stop - 1: the same blocks whoever reads them
        kernel(base + start * BLOCK * 8, stop - start, dst + start * 5 * 8)

    _share(work, nb, PIECE // BLOCK, pool if x.shape[0] >= MIN_SPLIT else None)
    tail = x[nb * BLOCK:]
    if tail.size:
        with np.errstate(over="ignore", invalid="ignore"):  # (overflow shows as inf, as in the loop)
            out[nb] = (np.add.reduce(tail), np.dot(tail, tail), tail.min(), tail.max(),
                       integral and not np.all(np.isfinite(tail) & (np.floor(tail) == tail)))
    else:
        out[nb] = (0.0, 0.0, np.inf, -np.inf, 0.0)
    return out


def usable(x) -> bool:
    """Whether :func:`summarize` can read ``x`` here (compiling the loop on first use)."""
    return (x.ndim == 1 and x.dtype == np.float64 and x.flags.c_contiguous and x.size > 0
            and _kernel() is not None)


def summarize(x, pool=None, integral=True):
    """Sum, sum of squares, minimum, maximum and integrality of a 1-D float64 array, in one
    read of memory.

    Parameters
    ----------
    x : ndarray
        A 1-D, C-contiguous float64 array with at least one value.
    pool : concurrent.futures.Executor, optional
        Shares the reading of a large array with this thread.
    integral : bool
        Whether to find out if every value is a whole number (three more vector operations a
        value: real-valued data need not ask).

    Returns
    -------
    dict or None
        ``n``, ``sum`` and ``sum_sq`` (to the accuracy of NumPy's pairwise sum), ``min`` and
        ``max`` (NaN when a value is NaN, as in NumPy), and ``integral`` (every value is a
        finite whole number; ``None`` where not asked); ``None`` when the loop is not
        available here or cannot read ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> s = summarize(np.array([3.0, 0.5, 2.0]))
    >>> s is None or (s["sum"], s["sum_sq"], s["min"], s["max"], s["integral"]) == (5.5, 13.25, 0.5, 3.0, False)
    True
    """
    if not usable(x):
        return None
    out = _blocks(_kernel("summary_blocks" if integral else "summary_blocks_real"), x, pool, integral)
    total = float(np.add.reduce(out[:, 0]))
    if np.isfinite(total):
        lo, hi = float(out[:, 2].min()), float(out[:, 3].max())
    else:  # a NaN or an infinity: the loop's min and max skip NaN; NumPy's keep it
        lo, hi = float(np.minimum.reduce(x)), float(np.maximum.reduce(x))
    return {"n": float(x.shape[0]), "sum": total, "sum_sq": float(np.add.reduce(out[:, 1])), "min": lo,
            "max": hi, "integral": (not out[:, 4].any()) if integral else None}


MAX_COUNT_SPAN = 1 << 16  # distinct values counted by the loop (4 tables of int64 per thread)


def count_integers(x, lo, hi, pool=None):
    """How often each whole number ``lo, lo + 1, ..., hi`` occurs in ``x``, in one read.

    The caller has checked (e.g. with :func:`summarize`) that every value of ``x`` is a whole
    number in ``[lo, hi]``: the loop does not check again.

    Parameters
    ----------
    x : ndarray
        A 1-D, C-contiguous float64 array of whole numbers.
    lo, hi : float
        Its minimum and maximum, with ``hi - lo < MAX_COUNT_SPAN``.
    pool : concurrent.futures.Executor, optional
        Counts the first half of a large array while this thread does the second.

    Returns
    -------
    ndarray or None
        ``hi - lo + 1`` counts (int64); ``None`` where the loop is not available or the span
        is too wide.

    Examples
    --------
    >>> import numpy as np
    >>> c = count_integers(np.array([2.0, 5.0, 2.0, 3.0, 2.0]), 2.0, 5.0)
    >>> c is None or c.tolist() == [3, 1, 0, 1]
    True
    """
    k = int(hi - lo) + 1
    if not (usable(x) and 0 < k <= MAX_COUNT_SPAN and abs(lo) < 2.0**62 and abs(hi) < 2.0**62):
        return None
    kernel, lo = _kernel("count_quads"), int(lo)
    # four interleaved tables per thread, so that runs of one value do not wait on each other's
    # increments; the tail of fewer than four values in NumPy
    tables = np.zeros((2, 4, k), dtype=np.int64)
    base, nq = x.ctypes.data, x.shape[0] // 4

    def work(start, stop, who):  # quads start .. stop - 1, added into this thread's tables
        kernel(base + start * 4 * 8, stop - start, lo, k, tables[who].ctypes.data)

    _share(work, nq, PIECE // 4, pool if x.shape[0] >= MIN_SPLIT else None)
    counts = tables.sum(axis=(0, 1))
    tail = x[4 * nq:]
    if tail.size:
        counts += np.bincount((tail - lo).astype(np.intp), minlength=k)
    return counts
