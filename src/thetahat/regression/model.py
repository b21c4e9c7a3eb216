"""The value every regression model is: :class:`Model`, one family with one link.

A model is a log-likelihood ``loglik(eta, phi, y, aux)`` of ONE observation, where
``eta`` holds the observation's ``k`` linear predictors (``k = 1`` except multinomial),
``phi`` the model's ``m`` extra parameters on an unconstrained scale (log σ, log α,
cut points, ...) and ``aux`` an optional per-row number (binomial trials, censoring
indicator). The Newton solver (:mod:`._newton`) differentiates it with respect to
``(eta, phi)`` only and carries the chain rule through the design matrix itself, so
the Hessian costs one ``X'WX`` matmul per iteration.

Example
-------
>>> import jax.numpy as jnp
>>> m = Model("demo", "identity", lambda eta, phi, y, aux: -0.5 * (y - eta[0]) ** 2, lambda eta, phi: eta[..., 0])
>>> float(m.loglik(jnp.array([1.0]), jnp.zeros(0), 3.0, 0.0)), m.streams
(-2.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Model:
    """One regression family with one link, fixed at construction (hashable, no data).

    ``reported`` pairs each extra parameter's reported name with its map from the
    unconstrained ``phi``: a :class:`~thetahat.constraints.Constraint` (its bijection) or
    ``"identity"``. ``family`` is the :class:`~thetahat.families.Family` whose density the
    model uses (None for multinomial and ordered, which have none).
    """

    name: str
    link: str | None
    loglik: Callable  # (eta[k], phi[m], y, aux) -> scalar
    mean: Callable  # (eta[k], phi[m]) -> E[y] (or class probabilities, or the median survival time)
    extra: tuple = ()  # names of the unconstrained extra parameters phi
    reported: tuple = ()  # (name, Constraint or "identity") of each extra parameter as reported
    k: int = 1  # linear predictors per observation
    uses_aux: str | None = None  # "trials", "event" (right censoring) or "censoring" (left and right)
    glm: bool = False  # deviance is the sum of GLM unit deviances
    binary: bool = False
    ordinal: bool = False
    multiclass: bool = False
    penalizable: bool = False
    variance: Callable | None = None  # Var(y) as a function of the mean, for Pearson residuals
    unit_deviance: Callable | None = None  # (y, mu, aux) -> d_i, numpy
    notes: tuple = field(default_factory=tuple)
    family: object = field(default=None, compare=False)

    @property
    def streams(self) -> bool:
        """Whether a fit on streamed batches can take this model: its per-batch sums of row
        derivatives merge by addition, for one linear predictor whose rows need no class
        labels (levels the whole data must show first) and no tobit censoring points (which
        the streamed reader does not take)."""
        return self.k == 1 and not self.ordinal and not self.multiclass and self.uses_aux != "censoring"


def xlogy_np(x, y):
    """``x log y`` with ``0 log y = 0`` (NumPy), for unit deviances."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))
