"""The sum and the minimum of a large float64 array in one read of memory.

An exponential fit of 10^7 rows needs the sum of the data, and its validation needs the
minimum (a negative value is outside the support). NumPy reads the array twice for that
(``np.add.reduce``, ``np.minimum.reduce``), and on two cores the second read costs as much
as the first; XLA's reductions with a select or a second output measured 3-10x slower than
NumPy on this CPU. This module compiles one small loop with llvmlite that reads each value
once, adding it to a block sum and taking the minimum of its bit pattern (for values
without a sign bit the integer order of the bits is the order of the values), vectorised
by LLVM for the host CPU, and runs it on two threads over the halves of the array.

Accuracy: sums of blocks of ``BLOCK`` values, then NumPy's pairwise sum of the block sums,
which is as accurate as ``np.add.reduce`` of the whole array.

The loop is compiled once per process (about 20 ms, with no dependence on the size of
the data). Without llvmlite, or where it cannot compile for this machine,
:func:`sum_and_min` returns ``None`` and the caller keeps the NumPy path.

Examples
--------
>>> import numpy as np
>>> from thetahat.engine.fused import sum_and_min
>>> x = np.arange(1.0, 10_001.0)
>>> r = sum_and_min(x)
>>> r is None or r == (50005000.0, 1.0)
True
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

BLOCK = 4096  # values per block sum: short enough for an accurate sum, long enough to vectorise
MIN_SPLIT = 1 << 18  # below this many values one thread does the whole array
_NO_MIN = np.iinfo(np.int64).max

_IR = r"""
define void @sum_min_blocks(ptr noalias nocapture readonly %x, i64 %nb, ptr noalias nocapture %sums,
                            ptr noalias nocapture %mins) {
entry:
  br label %outer
outer:
  %k = phi i64 [0, %entry], [%k.next, %block.end]
  %base = mul i64 %k, BLOCK
  br label %inner
inner:
  %j = phi i64 [0, %outer], [%j.next, %inner]
  %s = phi double [0.0, %outer], [%s.next, %inner]
  %m = phi i64 [9223372036854775807, %outer], [%m.next, %inner]
  %i = add i64 %base, %j
  %p = getelementptr double, ptr %x, i64 %i
  %v = load double, ptr %p, align 8
  %s.next = fadd reassoc nsz double %s, %v
  %bits = bitcast double %v to i64
  %lt = icmp slt i64 %bits, %m
  %m.next = select i1 %lt, i64 %bits, i64 %m
  %j.next = add i64 %j, 1
  %full = icmp eq i64 %j.next, BLOCK
  br i1 %full, label %block.end, label %inner
block.end:
  %ps = getelementptr double, ptr %sums, i64 %k
  store double %s.next, ptr %ps, align 8
  %pm = getelementptr i64, ptr %mins, i64 %k
  store i64 %m.next, ptr %pm, align 8
  %k.next = add i64 %k, 1
  %last = icmp eq i64 %k.next, %nb
  br i1 %last, label %exit, label %outer
exit:
  ret void
}
""".replace("BLOCK", str(BLOCK))

_lock = threading.Lock()
_compiled: list = []  # [(kernel, engine)] once compiled; [None] where it cannot be


def _kernel():
    """The compiled loop as a ctypes function (which releases the GIL), or None."""
    if not _compiled:
        with _lock:
            if not _compiled:
                _compiled.append(_compile())
    return _compiled[0][0] if _compiled[0] else None


def _compile():
    try:
        import llvmlite.binding as llvm

        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        target = llvm.Target.from_default_triple()
        machine = target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                               features=llvm.get_host_cpu_features().flatten(), opt=3)
        module = llvm.parse_assembly(_IR)
        module.verify()
        tuning = llvm.create_pipeline_tuning_options(speed_level=3)
        tuning.loop_vectorization = True
        builder = llvm.create_pass_builder(machine, tuning)
        builder.getModulePassManager().run(module, builder)
        engine = llvm.create_mcjit_compiler(module, machine)
        engine.finalize_object()
        address = engine.get_function_address("sum_min_blocks")
        proto = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p)
        return proto(address), engine  # the engine owns the code: keep it alive
    except Exception:  # no llvmlite, or no code generation for this machine: NumPy instead
        return None


def _sum_minbits(kernel, x):
    """(block sums, the smallest bit pattern as int64) of a contiguous float64 array."""
    nb = x.shape[0] // BLOCK
    sums = np.empty(nb + 1)
    mins = np.empty(nb + 1, dtype=np.int64)
    if nb:
        kernel(x.ctypes.data, nb, sums.ctypes.data, mins.ctypes.data)
    tail = x[nb * BLOCK:]
    sums[nb] = np.add.reduce(tail)
    mins[nb] = tail.view(np.int64).min() if tail.size else _NO_MIN
    return sums, int(mins.min())


def sum_and_min(x, pool=None):
    """``(np.add.reduce(x), np.min(x))`` of a 1-D float64 array in one read of memory.

    Parameters
    ----------
    x : ndarray
        A 1-D, C-contiguous float64 array with at least one value.
    pool : concurrent.futures.Executor, optional
        Runs the first half of a large array while this thread does the second.

    Returns
    -------
    (float, float) or None
        The sum (to the accuracy of NumPy's pairwise sum) and the minimum -- NaN when a
        value is NaN, as in NumPy -- or ``None`` when the loop is not available here.

    Examples
    --------
    >>> import numpy as np
    >>> r = sum_and_min(np.array([3.0, 0.5, 2.0]))
    >>> r is None or r == (5.5, 0.5)
    True
    """
    kernel = _kernel()
    if kernel is None or x.ndim != 1 or x.dtype != np.float64 or not x.flags.c_contiguous or x.size == 0:
        return None
    half = (x.shape[0] // 2) // BLOCK * BLOCK
    if pool is not None and x.shape[0] >= MIN_SPLIT:
        first = pool.submit(_sum_minbits, kernel, x[:half])
        s2, m2 = _sum_minbits(kernel, x[half:])
        s1, m1 = first.result()
        sums, bits = np.concatenate([s1, s2]), min(m1, m2)
    else:
        sums, bits = _sum_minbits(kernel, x)
    total = float(np.add.reduce(sums))
    if bits < 0 or not np.isfinite(total):
        # a sign bit (a negative value, -0.0 or a NaN with its sign set), or a NaN or an
        # infinity: the order of bit patterns is not the order of the values; NumPy decides
        return total, float(np.minimum.reduce(x))
    return total, float(np.int64(bits).view(np.float64))
