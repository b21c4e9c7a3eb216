"""Drawing many samples from a family, on two threads, ahead of the code that uses them.

The bootstrap and the simulation studies draw blocks of ``(m, n)`` samples and refit
each block in one compiled call. Drawing (NumPy, through the family's sampler) and
refitting (XLA) then alternate; here the draws run on two worker threads -- NumPy's
samplers release the GIL -- so they proceed in parallel with each other and with the
refits of the block before.

Every part of a block has its own seed, taken from ``rng`` up front in a fixed order,
so the samples depend only on the seed, never on the timing of the threads.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._jax import in_thread
from ..kernels.aligned import aligned_empty

PART = 1 << 20  # values per task: big enough to amortise the call, small enough to share out


def draw_blocks(fam, params, blocks, rng, *, part=PART):
    """Yield one array of shape ``(m, n) + event shape`` for each ``(m, n)`` in ``blocks``.

    Parameters
    ----------
    fam : Family
    params : dict
        Parameters of the distribution to draw from.
    blocks : list of (int, int)
        Rows (samples) and observations per sample, block by block.
    rng : numpy.random.Generator
        Source of the seeds.

    Examples
    --------
    >>> import numpy as np
    >>> from thetahat.families import get_family
    >>> from thetahat.engine.simulate import draw_blocks
    >>> out = list(draw_blocks(get_family("exponential"), {"lam": 2.0}, [(3, 4), (2, 5)],
    ...                        np.random.default_rng(0)))
    >>> [a.shape for a in out]
    [(3, 4), (2, 5)]
    """
    import jax

    tasks = []  # (block, first row, rows, n, key)
    for b, (m, n) in enumerate(blocks):
        per = max(1, part // max(n, 1))
        for r0 in range(0, m, per):
            tasks.append((b, r0, min(per, m - r0), n, jax.random.PRNGKey(int(rng.integers(0, 2**31 - 1)))))

    def draw(task):
        _, _, rows, n, key = task
        x = np.asarray(fam.sample(key, params, rows * n), dtype=float)
        return x.reshape((rows, n) + x.shape[1:])

    with ThreadPoolExecutor(2) as pool:
        pending = deque()
        todo = iter(tasks)
        current, filled, out = None, 0, None
        for t in todo:  # keep four tasks in flight
            pending.append((t, pool.submit(in_thread(draw), t)))
            if len(pending) == 4:
                break
        while pending:
            t, fut = pending.popleft()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(in_thread(draw), nxt)))
            x = fut.result()
            b, r0, rows, n, _ = t
            if b != current:
                current, filled = b, 0
                out = aligned_empty((blocks[b][0], n) + x.shape[2:])
            out[r0:r0 + rows] = x
            filled += rows
            if filled == blocks[b][0]:
                yield out
