"""Reductions of a large 2-D array (rows = observations) block by block, on two threads.

A (10^7, 3) array is 240 MB. NumPy's whole-array route to, say, a covariance matrix writes
and reads the centred copy (another 240 MB) and reads the data once more for the mean. Blocks
of ``ROWS`` rows stay in the cache between the steps, so the data are read from memory once;
the first half of the blocks runs on a worker thread while this one does the second half
(NumPy releases the GIL inside each step).

Examples
--------
>>> import numpy as np
>>> from thetahat.kernels.blocks import centred_moments
>>> n, mean, m2 = centred_moments(np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 8.0]]))
>>> n, mean.tolist(), m2.tolist()
(3, [3.0, 4.0], [[8.0, 12.0], [12.0, 24.0]])
"""

from __future__ import annotations

import numpy as np

ROWS = 1 << 14  # rows per block: a few hundred kB for a handful of columns, inside the L2 cache


def map_row_blocks(fn, x, pool=None, rows=ROWS):
    """``[fn(block) for block in x's consecutive blocks of rows]``, in order, the first half
    of the blocks on a ``pool`` thread.

    Examples
    --------
    >>> import numpy as np
    >>> [b.shape[0] for b in map_row_blocks(lambda b: b, np.zeros((5, 2)), rows=2)]
    [2, 2, 1]
    """
    blocks = [x[i:i + rows] for i in range(0, x.shape[0], rows)]
    if pool is None or len(blocks) < 4:
        return [fn(b) for b in blocks]
    half = len(blocks) // 2
    first = pool.submit(lambda: [fn(b) for b in blocks[:half]])
    second = [fn(b) for b in blocks[half:]]
    return first.result() + second


def centred_moments(x, pool=None):
    """Rows, column means and the centred cross-product matrix ``sum (x - mean)(x - mean)^T``
    of a 2-D array, in one read of memory.

    The blocks are shifted by a pilot centre ``c`` (the mean of a systematic subsample) before
    their sums and cross-products are taken (BLAS), and ``M2 = sum (x - c)(x - c)^T -
    n (mean - c)(mean - c)^T``: with ``c`` within a few standard errors of the mean, the
    correction is tiny and the result as accurate as a centred two-pass computation, whatever
    the offset of the data.

    Parameters
    ----------
    x : ndarray
        (n, d) float64 with n >= 1.
    pool : concurrent.futures.Executor, optional

    Returns
    -------
    (int, ndarray (d,), ndarray (d, d))
    """
    n, d = x.shape
    pilot = x[:: max(1, n // 4096)]
    centre = np.add.reduce(pilot, axis=0) / pilot.shape[0]
    tiled, ones = np.tile(centre, ROWS), np.ones(ROWS)

    def part(b):
        r = np.subtract(b.reshape(-1), tiled[:b.size]).reshape(b.shape)  # (a flat subtraction: fast)
        return ones[:b.shape[0]] @ r, r.T @ r

    with np.errstate(invalid="ignore", over="ignore"):  # (NaN and infinities show in the result)
        parts = map_row_blocks(part, x, pool)
        shift = np.add.reduce([p[0] for p in parts]) / n
        m2 = np.add.reduce([p[1] for p in parts]) - n * np.outer(shift, shift)
    return n, centre + shift, (m2 + m2.T) / 2
