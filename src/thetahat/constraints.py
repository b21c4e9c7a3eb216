"""Parameter and support constraints, each with a bijection to unconstrained space.

A constraint answers three questions:

* ``check(value)`` -- does a (NumPy) value satisfy it?  Used on user input before
  anything is compiled.
* ``forward(u)`` -- map an unconstrained real vector ``u`` to a constrained value
  (JAX, differentiable).
* ``inverse(value)`` -- the unconstrained vector of a constrained value.

The optimiser works on ``u``; maximum likelihood is invariant to the
reparametrisation, so the optimum in ``u`` maps to the optimum in ``theta``.

Example
-------
>>> from thetahat.constraints import positive
>>> float(positive.forward(positive.inverse(2.5)))
2.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._jax import jax, jnp


class Constraint:
    """Base class: a set of allowed values and a bijection from R^k onto it."""

    name = "constraint"
    discrete = False

    def check(self, value) -> bool:
        raise NotImplementedError

    def forward(self, u):
        raise NotImplementedError

    def inverse(self, value):
        raise NotImplementedError

    def inverse_np(self, value):
        """:meth:`inverse` in NumPy (no JAX dispatch), for constraints that have one; None otherwise."""
        return None

    def forward_np(self, u: float):
        """:meth:`forward` of one scalar coordinate in Python floats, for an elementwise
        bijection; None otherwise."""
        return None

    def chain_np(self, value):
        """``(d value / du, d^2 value / du^2)`` at a scalar ``value`` (NumPy), for an
        elementwise bijection; None otherwise (the caller differentiates :meth:`forward`)."""
        return None

    def unconstrained_size(self, shape: tuple) -> int:
        return int(np.prod(shape, dtype=int))

    def __repr__(self) -> str:
        return self.name


class _Real(Constraint):
    name = "real"

    def check(self, value):
        v = np.asarray(value, dtype=float)
        return bool(np.all(np.isfinite(v)))

    def forward(self, u):
        return u

    def inverse(self, value):
        return jnp.asarray(value, dtype=jnp.float64)

    def inverse_np(self, value):
        return np.asarray(value, dtype=float)

    def forward_np(self, u):
        return float(u)

    def chain_np(self, value):
        return 1.0, 0.0


@dataclass(frozen=True, repr=False)
class GreaterThan(Constraint):
    """``value > lower``; bijection ``lower + exp(u)``."""

    lower: float = 0.0
    inclusive: bool = False  # supports only: x >= lower (parameters stay strictly inside)

    @property
    def name(self):
        if self.inclusive:
            return "nonnegative" if self.lower == 0 else f"at_least({self.lower:g})"
        return "positive" if self.lower == 0 else f"greater_than({self.lower:g})"

    def contains(self, v):
        return (v >= self.lower) if self.inclusive else (v > self.lower)

    def check(self, value):
        v = np.asarray(value, dtype=float)
        return bool(np.all(np.isfinite(v)) and np.all(self.contains(v)))

    def forward(self, u):
        return self.lower + jnp.exp(u)

    def inverse(self, value):
        return jnp.log(jnp.asarray(value, dtype=jnp.float64) - self.lower)

    def inverse_np(self, value):
        if getattr(value, "ndim", 0) == 0:  # a scalar: Python floats, as NumPy would give them
            d = float(value) - self.lower
            return math.log(d) if d > 0 else (-math.inf if d == 0 else math.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(np.asarray(value, dtype=float) - self.lower)

    def chain_np(self, value):
        d = float(value) - self.lower  # value = lower + exp(u): both derivatives are exp(u)
        return d, d

    def forward_np(self, u):
        return self.lower + math.exp(u) if u < 709.0 else math.inf


@dataclass(frozen=True, repr=False)
class Interval(Constraint):
    """``lower < value < upper``; bijection ``lower + (upper - lower) * sigmoid(u)``."""

    lower: float = 0.0
    upper: float = 1.0
    closed: bool = False  # supports only: lower <= x <= upper

    @property
    def name(self):
        if self.closed:
            return f"[{self.lower:g}, {self.upper:g}]"
        if (self.lower, self.upper) == (0.0, 1.0):
            return "unit_interval"
        return f"interval({self.lower:g}, {self.upper:g})"

    def contains(self, v):
        if self.closed:
            return (v >= self.lower) & (v <= self.upper)
        return (v > self.lower) & (v < self.upper)

    def check(self, value):
        v = np.asarray(value, dtype=float)
        return bool(np.all(self.contains(v)))

    def forward(self, u):
        # sigmoid written through tanh keeps full relative precision near both ends
        return self.lower + (self.upper - self.lower) * (0.5 + 0.5 * jnp.tanh(0.5 * u))

    def inverse(self, value):
        t = (jnp.asarray(value, dtype=jnp.float64) - self.lower) / (self.upper - self.lower)
        return jnp.log(t) - jnp.log1p(-t)

    def inverse_np(self, value):
        if getattr(value, "ndim", 0) == 0:  # a scalar: Python floats, as NumPy would give them
            t = (float(value) - self.lower) / (self.upper - self.lower)
            if 0 < t < 1:
                return math.log(t) - math.log1p(-t)
            return -math.inf if t == 0 else (math.inf if t == 1 else math.nan)
        t = (np.asarray(value, dtype=float) - self.lower) / (self.upper - self.lower)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(t) - np.log1p(-t)

    def forward_np(self, u):
        return self.lower + (self.upper - self.lower) * (0.5 + 0.5 * math.tanh(0.5 * u))

    def chain_np(self, value):
        # value = lower + w t, t = sigmoid(u): t' = t (1 - t), t'' = t' (1 - 2 t)
        w = self.upper - self.lower
        t = (float(value) - self.lower) / w
        d1 = w * t * (1.0 - t)
        return d1, d1 * (1.0 - 2.0 * t)


class _Simplex(Constraint):
    """Probability vectors: non-negative entries summing to one.

    Bijection: additive log-ratio with the last entry as reference, so a vector of
    length K has K - 1 free coordinates.
    """

    name = "simplex"

    def check(self, value):
        v = np.asarray(value, dtype=float)
        return bool(v.ndim == 1 and np.all(v > 0) and abs(v.sum() - 1) < 1e-9)

    def unconstrained_size(self, shape):
        return int(shape[-1]) - 1

    def forward(self, u):
        return jax.nn.softmax(jnp.concatenate([u, jnp.zeros(1)]))

    def inverse(self, value):
        v = jnp.asarray(value, dtype=jnp.float64)
        return jnp.log(v[:-1]) - jnp.log(v[-1])


class _PositiveDefinite(Constraint):
    """Symmetric positive-definite matrices through the Cholesky factor with log diagonal."""

    name = "positive_definite"

    def check(self, value):
        v = np.asarray(value, dtype=float)
        if v.ndim != 2 or v.shape[0] != v.shape[1] or not np.allclose(v, v.T):
            return False
        try:
            np.linalg.cholesky(v)
        except np.linalg.LinAlgError:
            return False
        return True

    def unconstrained_size(self, shape):
        d = int(shape[-1])
        return d * (d + 1) // 2

    def forward(self, u):
        k = u.shape[0]
        d = int(round((np.sqrt(8 * k + 1) - 1) / 2))
        rows, cols = np.tril_indices(d)
        diag = rows == cols
        vals = jnp.where(jnp.asarray(diag), jnp.exp(u), u)
        chol = jnp.zeros((d, d)).at[rows, cols].set(vals)
        return chol @ chol.T

    def inverse(self, value):
        v = jnp.asarray(value, dtype=jnp.float64)
        d = v.shape[0]
        chol = jnp.linalg.cholesky(v)
        rows, cols = np.tril_indices(d)
        vals = chol[rows, cols]
        return jnp.where(jnp.asarray(rows == cols), jnp.log(vals), vals)


# --- supports of discrete families (no bijection needed: data, not parameters) ---


@dataclass(frozen=True, repr=False)
class IntegerInterval(Constraint):
    """Integers ``lower <= k <= upper`` (``upper=None`` for no upper bound)."""

    lower: int = 0
    upper: int | None = None
    discrete = True

    @property
    def name(self):
        if self.upper is None:
            return "nonnegative_integer" if self.lower == 0 else f"integers >= {self.lower}"
        return f"integers {self.lower}..{self.upper}"

    def check(self, value):
        v = np.asarray(value, dtype=float)
        ok = np.isfinite(v) & (v == np.floor(v)) & (v >= self.lower)
        if self.upper is not None:
            ok &= v <= self.upper
        return bool(np.all(ok))


real = _Real()
positive = GreaterThan(0.0)
nonnegative = GreaterThan(0.0, inclusive=True)
unit_interval = Interval(0.0, 1.0)
simplex = _Simplex()
positive_definite = _PositiveDefinite()
nonnegative_integer = IntegerInterval(0, None)
positive_integer = IntegerInterval(1, None)
boolean = IntegerInterval(0, 1)


def interval(lower: float, upper: float) -> Interval:
    """The open interval ``(lower, upper)``."""
    return Interval(float(lower), float(upper))


def greater_than(lower: float) -> GreaterThan:
    """The half-line ``(lower, inf)``."""
    return GreaterThan(float(lower))


def on_edge(constraint, arr):
    """A finite scalar on the boundary of an open constraint (a zero-inflation probability
    of 0): allowed as a *fixed* value, the restricted model of a boundary test. The fit
    refuses it later if the log-likelihood is not finite there."""
    if arr.ndim or not np.isfinite(arr):
        return False
    v = float(arr)
    if isinstance(constraint, GreaterThan):
        return v == constraint.lower
    if isinstance(constraint, Interval):
        return v in (constraint.lower, constraint.upper)
    return False
