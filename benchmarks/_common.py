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


def timeit_pair(fn_a, fn_b, repeats=11, warmup=1):
    """Medians of ``fn_a`` and ``fn_b`` timed alternately, so that a slow spell of a shared
    machine falls on both; returns ``(seconds_a, result_a, seconds_b, result_b)``."""
    out_a = out_b = None
    for _ in range(warmup):
        out_a, out_b = fn_a(), fn_b()
    ta, tb = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        out_a = fn_a()
        ta.append(time.perf_counter() - t)
        t = time.perf_counter()
        out_b = fn_b()
        tb.append(time.perf_counter() - t)
    return float(np.median(ta)), out_a, float(np.median(tb)), out_b
