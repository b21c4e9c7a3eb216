"""The family table that drives tests/test_families.py.

Each row names a family, typical true parameters, an *independent* scipy.stats
constructor (written here, not taken from the family's own ``to_scipy``), and a grid
of points to compare log-densities on, including points near the support's edges.
Groups of families keep their rows in ``cases_*.py``; this module gathers them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import stats as st


@dataclass
class Case:
    family: str
    params: dict
    scipy: Callable  # params -> frozen scipy.stats distribution
    grid: np.ndarray
    fixed: dict = field(default_factory=dict)  # known values (binomial n) passed to fit
    n: int = 10_000
    draw: Callable | None = None  # (rng, params, n) -> sample, where scipy cannot draw
    xfail: dict = field(default_factory=dict)  # test name -> reason (known failures)
    id: str | None = None

    def __post_init__(self):
        self.id = self.id or self.family


CASES: list[Case] = [
    Case("normal", {"mu": 1.5, "sigma": 2.0}, lambda p: st.norm(p["mu"], p["sigma"]),
         np.array([-1e3, -40.0, -3.0, 0.0, 1.5, 2.7, 60.0])),
    Case("lognormal", {"mu": 0.3, "sigma": 0.8}, lambda p: st.lognorm(s=p["sigma"], scale=np.exp(p["mu"])),
         np.array([1e-12, 1e-6, 0.01, 0.5, 1.0, 3.0, 80.0, 1e6])),
]

for _mod in ("cases_discrete", "cases_continuous", "cases_lifetime_multivariate"):
    try:
        _m = __import__(_mod)
    except ModuleNotFoundError as exc:  # a group not written yet
        if exc.name != _mod:
            raise
    else:
        CASES.extend(_m.CASES)
