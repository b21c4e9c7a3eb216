"""Flattening the free parameters of a family to one unconstrained vector and back."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._jax import jax, jit, jnp


@lru_cache(maxsize=None)
def _jacobian_fn(layout):
    return jit(jax.jacfwd(lambda v: layout.flat(layout.to_params(v))))


@lru_cache(maxsize=None)
def _params_jacobian_fn(layout):
    def both(v):
        flat = lambda w: layout.flat(layout.to_params(w))  # noqa: E731
        return flat(v), jax.jacfwd(flat)(v)

    return jit(both)


@dataclass(frozen=True)
class Slot:
    name: str
    constraint: object
    shape: tuple
    start: int  # offset in the unconstrained vector
    usize: int  # unconstrained size
    tstart: int  # offset in the flat natural-parameter vector
    tsize: int  # natural size


_BUILT = {}  # (family, free names and shapes) -> Layout


@dataclass(frozen=True)
class Layout:
    """Which parameters are free, their shapes, and where they sit in ``u``.

    Hashable, so that it can key compiled functions.
    """

    slots: tuple

    @classmethod
    def build(cls, family, shapes: dict, free: list[str]) -> "Layout":
        key = (family, tuple((k, tuple(shapes[k])) for k in free), cls)
        try:
            return _BUILT[key]  # (the same object again: the compiled functions' caches hash it once)
        except KeyError:
            pass
        except TypeError:  # an unhashable family
            return cls._build(family, shapes, free)
        if len(_BUILT) > 4096:
            _BUILT.clear()
        layout = _BUILT[key] = cls._build(family, shapes, free)
        return layout

    @classmethod
    def _build(cls, family, shapes: dict, free: list[str]) -> "Layout":
        slots, off, toff = [], 0, 0
        for name in free:
            con = family.params[name]
            shape = tuple(shapes[name])
            us = con.unconstrained_size(shape) if shape else 1
            ts = int(np.prod(shape, dtype=int)) if shape else 1
            slots.append(Slot(name, con, shape, off, us, toff, ts))
            off += us
            toff += ts
        return cls(tuple(slots))

    @property
    def size(self) -> int:
        return sum(s.usize for s in self.slots)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.slots]

    def to_params(self, u) -> dict:
        """Unconstrained vector -> dict of constrained parameters (JAX, differentiable)."""
        out = {}
        for s in self.slots:
            piece = u[s.start : s.start + s.usize]
            if not s.shape:
                piece = piece[0]
            out[s.name] = s.constraint.forward(piece)
        return out

    @property
    def scalar_slot(self):
        """The one slot, where the layout is a single scalar parameter (most closed forms); else None."""
        return self.slots[0] if len(self.slots) == 1 and not self.slots[0].shape else None

    def to_unconstrained(self, params: dict) -> np.ndarray:
        s = self.scalar_slot
        if s is not None:  # (no concatenation)
            u = s.constraint.inverse_np(params[s.name])
            return np.array([float(s.constraint.inverse(params[s.name]) if u is None else u)])
        parts = []
        for s in self.slots:
            u = s.constraint.inverse_np(params[s.name])  # NumPy where the bijection has it (no dispatch)
            if u is None:
                u = s.constraint.inverse(params[s.name])
            parts.append(np.atleast_1d(np.asarray(u, dtype=float)))
        return np.concatenate(parts) if parts else np.zeros(0)

    def chain_np(self, params: dict):
        """``(d theta / du, d^2 theta / du^2)`` as two flat NumPy vectors at ``params``, where
        every free parameter is a scalar with an elementwise bijection (positive, interval,
        real); else None. With them a gradient and Hessian in ``theta`` map to ``u``
        without a compiled call (see ``fitting._closed_result``).

        Examples
        --------
        >>> from thetahat.families import get_family
        >>> lay = Layout.build(get_family("exponential"), {"lam": ()}, ["lam"])
        >>> [v.tolist() for v in lay.chain_np({"lam": 2.0})]  # lam = exp(u)
        [[2.0], [2.0]]
        """
        d1, d2 = [], []
        for s in self.slots:
            c = s.constraint.chain_np(params[s.name]) if not s.shape else None
            if c is None:
                return None
            d1.append(c[0])
            d2.append(c[1])
        return np.array(d1, dtype=float), np.array(d2, dtype=float)

    def flat(self, params: dict):
        """Natural parameters as one flat vector (JAX)."""
        return jnp.concatenate([jnp.ravel(jnp.asarray(params[s.name])) for s in self.slots])

    def flat_labels(self) -> list[str]:
        """A label per entry of :meth:`flat`: ``mu``, ``p[0]``, ``cov[0,1]``."""
        labels = []
        for s in self.slots:
            if not s.shape:
                labels.append(s.name)
            else:
                for idx in np.ndindex(*s.shape):
                    labels.append(f"{s.name}[{','.join(map(str, idx))}]")
        return labels

    def jacobian(self, u) -> np.ndarray:
        """d flat(theta) / du at ``u``."""
        both = self._params_jacobian_np(u)
        if both is not None:
            return both[1]
        return np.asarray(_jacobian_fn(self)(np.asarray(u, dtype=float)))

    def _params_jacobian_np(self, u):
        """:meth:`params_jacobian` in Python floats where every free parameter is a scalar with an
        elementwise bijection (a new process then traces and lowers no compiled function for
        it, ~20-40 ms); else None."""
        values, d1 = {}, []
        for s in self.slots:
            v = None if s.shape else s.constraint.forward_np(float(u[s.start]))
            if v is None:
                return None
            c = s.constraint.chain_np(v)
            if c is None:
                return None
            values[s.name] = v
            d1.append(c[0])
        return values, np.diag(np.array(d1, dtype=float))

    def params_jacobian(self, u) -> tuple[dict, np.ndarray]:
        """The parameters at ``u`` (as :meth:`unflatten` gives them) and ``d flat(theta) / du``,
        from one compiled call: eager :meth:`to_params` dispatches an operation or more per
        slot, and in a new process each costs its own lowering (~5-10 ms).

        Examples
        --------
        >>> import numpy as np
        >>> from thetahat.families import get_family
        >>> lay = Layout.build(get_family("exponential"), {"lam": ()}, ["lam"])
        >>> p, J = lay.params_jacobian(np.array([np.log(2.0)]))
        >>> round(p["lam"], 12), np.round(J, 12).tolist()
        (2.0, [[2.0]])
        """
        both = self._params_jacobian_np(u)
        if both is not None:
            return both
        flat, jac = _params_jacobian_fn(self)(np.asarray(u, dtype=float))
        return self.unflatten(np.asarray(flat)), np.asarray(jac)

    def unflatten(self, vec) -> dict:
        """Flat natural vector -> dict of NumPy values with the right shapes."""
        out = {}
        for s in self.slots:
            piece = np.asarray(vec[s.tstart : s.tstart + s.tsize], dtype=float)
            out[s.name] = float(piece[0]) if not s.shape else piece.reshape(s.shape)
        return out
