"""Aligned NumPy buffers that JAX reads in place, and the padded sizes of chunks.

Examples
--------
>>> from thetahat.kernels.aligned import aligned_empty, bucket, ALIGN
>>> aligned_empty((3, 5)).ctypes.data % ALIGN, bucket(1000)
(0, 1024)
"""

from __future__ import annotations

import math

import numpy as np

MIN_BUCKET = 256

def bucket(n: int) -> int:
    """The padded size of a chunk holding ``n`` rows."""
    return max(MIN_BUCKET, 1 << int(np.ceil(np.log2(max(n, 1)))))


ALIGN = 64  # bytes: JAX's CPU client reads NumPy buffers aligned to this in place


def align_rows(x) -> int:
    """Leading rows to skip so that ``x[k:]`` starts on an ALIGN-byte boundary (0 when
    no such k exists, or for a non-contiguous array)."""
    if not x.flags.c_contiguous or x.shape[0] == 0:
        return 0
    row = x.strides[0]
    addr = x.ctypes.data
    for k in range(ALIGN // math.gcd(row, ALIGN) + 1):
        if (addr + k * row) % ALIGN == 0:
            return k
    return 0


def as_jax(a):
    """``a`` as a JAX array, read in place when its buffer is aligned, else through one
    aligned NumPy copy (JAX's own copy of a misaligned buffer measured several times
    slower than ``np.copyto``). The caller must not modify ``a`` afterwards."""
    import jax

    a = np.asarray(a)
    if not (a.flags.c_contiguous and a.ctypes.data % ALIGN == 0):
        buf = aligned_empty(a.shape, a.dtype)
        np.copyto(buf, a)
        a = buf
    return jax.device_put(a)  # (jnp.asarray copies even an aligned buffer)


def aligned_empty(shape, dtype=np.float64):
    """An uninitialised array whose buffer starts on an ALIGN-byte boundary."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.empty(size + ALIGN, dtype=np.uint8)
    off = (-raw.ctypes.data) % ALIGN
    return raw[off:off + size].view(dtype).reshape(shape)
