"""Argument types shared by the CLI's commands: a refused value is one line naming the
option (argparse adds ``argument --seed:``), never a traceback from deep inside a fit.

Examples
--------
>>> seed("7"), positive_int("3")
(7, 3)
>>> seed("-1")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: a seed is an integer from 0 to 2^63-1, got -1
"""

from __future__ import annotations

import argparse

MAX_EM_STARTS = 1000  # --starts of the EM commands (mixture, hmm): each start is a full EM run


def _int(text) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None


def positive_int(text) -> int:
    """An integer of at least 1 (counts: starts, bootstrap refits)."""
    v = _int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def seed(text) -> int:
    """A random seed: NumPy takes 0 to 2^63-1 (a negative one raised deep inside a fit)."""
    v = _int(text)
    if not 0 <= v < 2 ** 63:
        raise argparse.ArgumentTypeError(f"a seed is an integer from 0 to 2^63-1, got {v}")
    return v


def em_starts(text) -> int:
    """``--starts`` of mixture and hmm: 1 to :data:`MAX_EM_STARTS`."""
    v = positive_int(text)
    if v > MAX_EM_STARTS:
        raise argparse.ArgumentTypeError(f"at most {MAX_EM_STARTS} EM runs, got {v}")
    return v
