"""One array namespace for NumPy and JAX: the closed-form hooks of a family are written once.

A family's ``statistics``, ``closed_form``, ``loglik_from_statistics`` and
``expected_information`` run on NumPy data in a closed-form fit that never imports JAX
(:mod:`thetahat.fitting.closed`), and on JAX arrays and tracers inside compiled code (the
optimiser's derivatives, a batch of fits). Each hook asks :func:`namespace` for the
module that matches its inputs and writes ``xp.log``, ``xp.sum``, ``xp.gammaln``, ...:

* :data:`np_ns` -- NumPy, with ``gammaln``, ``xlogy`` and ``xlog1py`` in NumPy and the
  standard library (``scipy.special`` costs a third of a second to import);
* :data:`jax_ns` -- ``jax.numpy`` with ``jax.scipy.special``'s functions, imported at its
  first use.

Examples
--------
>>> import numpy as np
>>> from thetahat._xp import namespace
>>> xp = namespace(np.array([1.0, 2.0]))
>>> xp is np_ns, float(xp.xlogy(0.0, 0.0)), abs(float(xp.gammaln(5.0) - np.log(24.0))) < 1e-14
(True, 0.0, True)
"""

from __future__ import annotations

import math
import sys
import types

import numpy as np

from ._jax import is_jax, jnp, jsp


def _np_gammaln(x):
    """log |Gamma(x)| elementwise (inf at the poles), by :func:`math.lgamma`."""
    def one(v):
        try:
            return math.lgamma(v)
        except ValueError:  # a pole (0, -1, ...)
            return math.inf
        except OverflowError:
            return math.inf

    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return np.float64(one(float(a)))
    u, inverse = np.unique(a, return_inverse=True)  # (count data repeat: one lgamma per value)
    return np.array([one(float(v)) for v in u], dtype=float)[inverse].reshape(a.shape)


def _np_xlogy(x, y):
    """``x * log(y)``, 0 where ``x == 0`` (as ``scipy.special.xlogy``)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * np.log(y)
    return np.where(x == 0, 0.0, out)[()]


def _np_xlog1py(x, y):
    """``x * log1p(y)``, 0 where ``x == 0`` (as ``scipy.special.xlog1py``)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * np.log1p(y)
    return np.where(x == 0, 0.0, out)[()]


class _Namespace(types.SimpleNamespace):
    """An array module with a few special functions beside it (looked up first)."""

    def __init__(self, name, base, special, **extra):
        super().__init__(**extra)
        self.__dict__["_name"], self.__dict__["_base"], self.__dict__["_special"] = name, base, special

    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        if self._special is not None and attr in _SPECIAL:
            value = getattr(self._special, attr)
        else:
            value = getattr(self._base, attr)
        self.__dict__[attr] = value
        return value

    def __repr__(self) -> str:
        return f"<array namespace {self._name}>"


_SPECIAL = ("gammaln", "xlogy", "xlog1py")

np_ns = _Namespace("numpy", np, None, gammaln=_np_gammaln, xlogy=_np_xlogy, xlog1py=_np_xlog1py)
jax_ns = _Namespace("jax.numpy", jnp, jsp)


def namespace(*values):
    """:data:`jax_ns` when any value (or any value of a dict) is a JAX array or tracer, else
    :data:`np_ns` -- decided without importing JAX."""
    if "jax" in sys.modules:
        for v in values:
            if isinstance(v, dict):
                if any(is_jax(u) for u in v.values()):
                    return jax_ns
            elif is_jax(v):
                return jax_ns
    return np_ns
