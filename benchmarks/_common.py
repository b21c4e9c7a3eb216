"""Shared timing helpers: warm-up, then the median of several repeats."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Row:
    workload: str
    ours_s: float
    peer: str
    peer_s: float
    agree: bool
    target: str  # e.g. ">= 20x"
    target_ratio: float  # peer_s / ours_s must reach this
    cold_s: float | None = None
    detail: str = ""

    @property
    def ratio(self) -> float:
        return self.peer_s / self.ours_s

    @property
    def met(self) -> bool:
        return self.agree and self.ratio >= self.target_ratio


def timeit(fn, repeats=5, warmup=1):
    """(median seconds, last result) after ``warmup`` untimed calls."""
    out = None
    for _ in range(warmup):
        out = fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), out


def cold(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def timeit_pair(fn_a, fn_b, repeats=21, rounds=3, settle=0.25):
    """Medians of ``fn_a`` and ``fn_b``, timed in alternating runs: ``rounds`` rounds, each a
    run of ``fn_a`` then a run of ``fn_b``, of ``repeats // rounds`` timed calls after
    ``settle`` seconds of untimed ones (at least one). Alternating rounds spread a shared
    machine's slow spells over both sides; the untimed calls keep one side from paying for the
    other's leftovers: after ``np.dot`` of a large array, OpenBLAS's worker thread spins for
    about 0.1 s (its THREAD_TIMEOUT, 2^28 cycles), taking one of this machine's two cores from
    whatever runs next. Returns ``(seconds_a, result_a, seconds_b, result_b)``."""
    per = max(1, repeats // rounds)
    times = ([], [])
    outs = [None, None]
    for _ in range(rounds):
        for side, fn in enumerate((fn_a, fn_b)):
            t0 = time.perf_counter()
            outs[side] = fn()
            while time.perf_counter() - t0 < settle:
                outs[side] = fn()
            for _ in range(per):
                t = time.perf_counter()
                outs[side] = fn()
                times[side].append(time.perf_counter() - t)
    return float(np.median(times[0])), outs[0], float(np.median(times[1])), outs[1]
