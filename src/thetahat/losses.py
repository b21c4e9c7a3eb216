"""Loss functions as the negative log-likelihoods they are, from the families' log-densities.

Each loss is the average (``reduction="mean"``, the default) or the total (``"sum"``) negative
log-likelihood of a family, per observation, or the array of terms (``"none"``):

=======================================  ======================================================
loss                                     negative log-likelihood of
=======================================  ======================================================
:func:`binary_cross_entropy`             Bernoulli(p)
:func:`binary_cross_entropy_with_logits` Bernoulli(p = sigmoid(z)), computed from the logit z
:func:`categorical_cross_entropy`        categorical(p)
:func:`categorical_cross_entropy_with_logits`  categorical(p = softmax(z))
:func:`gaussian_nll`                     Normal(mu, sigma), every constant included
:func:`mse`                              Normal(mu, sigma) up to ``(2 sigma²)⁻¹`` and a constant
:func:`poisson_nll`                      Poisson(lam), ``log y!`` included
=======================================  ======================================================

They accept NumPy or JAX arrays and are jittable (``jax.jit(binary_cross_entropy_with_logits)``).
They are building blocks of the caller's JAX code and compute in its precision: float32 under
JAX's default, float64 with ``jax_enable_x64`` (thetahat's own entry points turn float64 on
for their own calls only, see ``thetahat._jax``).
With concrete (not traced) inputs they also check the input: a NaN, a probability outside
[0, 1], a label that is neither 0 nor 1, a negative count or a non-positive sigma raises a
:class:`thetahat.errors.DataError` naming the first bad entry; under ``jit`` only shapes are
checked.

Each loss is the negated log-density of its family (``thetahat.family("bernoulli").logpdf``, ...),
evaluated elementwise; the logit forms and ``log_input`` take the family's log-density at its
natural parameter (``logpdf_natural``), so they never evaluate ``log(sigmoid(z))``:
``softplus(z) − y·z``, evaluated as ``max(z, 0) − y·z + log1p(e^−|z|)`` (and log-sum-exp for the
softmax), stays exact where ``sigmoid(z)`` rounds to 0 or 1. :func:`mse` is the normal's kernel
``(y − μ)²`` itself, not a log-density.

Examples
--------
>>> import numpy as np
>>> from thetahat import losses
>>> y = np.array([1.0, 0.0, 1.0])
>>> round(float(losses.binary_cross_entropy_with_logits(y, np.array([2.0, -1.0, 0.0]))), 6)
0.377779
>>> float(losses.binary_cross_entropy_with_logits(np.array([0.0]), np.array([800.0])))
800.0
"""

from __future__ import annotations

import numpy as np

from ._jax import jax, jnp
from .errors import DataError, OptionError
from .families import get_family

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "categorical_cross_entropy",
           "categorical_cross_entropy_with_logits", "gaussian_nll", "mse", "poisson_nll"]

REDUCTIONS = ("mean", "sum", "none")


def binary_cross_entropy(y, p, *, reduction="mean"):
    """Bernoulli negative log-likelihood from probabilities: ``−[y log p + (1 − y) log(1 − p)]``.

    Examples
    --------
    >>> import numpy as np
    >>> from thetahat import losses
    >>> round(float(losses.binary_cross_entropy(np.array([1, 0]), np.array([0.8, 0.4]))), 6)
    0.366985
    >>> round(float(-(np.log(0.8) + np.log(0.6)) / 2), 6)
    0.366985
    """
    y, p = _pair(y, p, "y", "p")
    _check(y, "y", binary=True)
    _check(p, "p", lo=0.0, hi=1.0)
    return _reduce(-get_family("bernoulli").logpdf(y, {"p": p}), reduction)


def binary_cross_entropy_with_logits(y, logits, *, reduction="mean"):
    """Bernoulli negative log-likelihood from logits ``z``: ``softplus(z) − y·z``.

    Equal to ``binary_cross_entropy(y, sigmoid(z))`` wherever that is representable, and exact
    beyond (``z = 800, y = 0`` gives 800, not ``inf``).

    Examples
    --------
    >>> import numpy as np
    >>> from thetahat import losses
    >>> z = np.array([3.0, -2.0]); y = np.array([1.0, 1.0])
    >>> bool(np.isclose(losses.binary_cross_entropy_with_logits(y, z),
    ...                 losses.binary_cross_entropy(y, 1 / (1 + np.exp(-z)))))
    True
    """
    y, z = _pair(y, logits, "y", "logits")
    _check(y, "y", binary=True)
    _check(z, "logits")
    # max(z, 0) − y·z + log1p(e^−|z|): no cancellation for a confident right answer (z = 40, y = 1
    # gives log1p(e^−40) = 4.2e-18, where softplus(z) − z rounds to 0)
    return _reduce(-get_family("bernoulli").logpdf_natural(y, z), reduction)


def categorical_cross_entropy(y, p, *, reduction="mean"):
    """Categorical negative log-likelihood ``−Σ_k y_k log p_k`` from an ``(n, K)`` array of probabilities.

    ``y`` is either integer labels ``(n,)`` in ``0..K−1`` or an ``(n, K)`` array of one-hot (or
    soft) labels.

    Examples
    --------
    >>> import numpy as np
    >>> from thetahat import losses
    >>> p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    >>> round(float(losses.categorical_cross_entropy(np.array([0, 2]), p)), 6)
    0.43375
    >>> round(float(-(np.log(0.7) + np.log(0.6)) / 2), 6)
    0.43375
    """
    p = _as_array(p, "p")
    if p.ndim != 2:
        raise DataError(f"p must be an (n, K) array of probabilities, got shape {p.shape}")
    _check(p, "p", lo=0.0, hi=1.0)
    onehot = _onehot(y, p.shape)
    fam = get_family("categorical")
    return _reduce(-_label_sum(onehot, lambda c, row: fam.logpdf(c, {"p": row}), p), reduction)


def categorical_cross_entropy_with_logits(y, logits, *, reduction="mean"):
    """Categorical negative log-likelihood from ``(n, K)`` logits: ``logsumexp(z) − Σ_k y_k z_k``.

    Examples
    --------
    >>> import numpy as np
    >>> from thetahat import losses
    >>> z = np.array([[2.0, 0.0, -1.0]])
    >>> p = np.exp(z) / np.exp(z).sum()
    >>> bool(np.isclose(losses.categorical_cross_entropy_with_logits(np.array([1]), z), -np.log(p[0, 1])))
    True
    """
    z = _as_array(logits, "logits")
    if z.ndim != 2:
        raise DataError(f"logits must be an (n, K) array, got shape {z.shape}")
    _check(z, "logits")
    onehot = _onehot(y, z.shape)
    return _reduce(-_label_sum(onehot, get_family("categorical").logpdf_natural, z), reduction)


def gaussian_nll(y, mu, sigma, *, reduction="mean"):
    """Normal negative log-likelihood ``½ log(2π σ²) + (y − μ)²/(2σ²)``, constants included.

    ``sigma`` is the standard deviation (a scalar or one per observation). With σ fixed this is
    ``mse/(2σ²)`` plus a constant, so both have the same minimiser in μ.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> from thetahat import losses
    >>> y, mu = np.array([1.0, 2.5]), np.array([1.2, 2.0])
    >>> bool(np.isclose(losses.gaussian_nll(y, mu, 0.5), -stats.norm(mu, 0.5).logpdf(y).mean()))
    True
    """
    y, mu = _pair(y, mu, "y", "mu")
    s = _as_array(sigma, "sigma")
    _check(y, "y")
    _check(mu, "mu")
    _check(s, "sigma", lo=0.0, open_lo=True)
    return _reduce(-get_family("normal").logpdf(y, {"mu": mu, "sigma": s}), reduction)


def mse(y, mu, *, reduction="mean"):
    """Mean squared error ``(y − μ)²``: the Gaussian NLL with σ fixed, less constants, times ``2σ²``.

    Examples
    --------
    >>> import numpy as np
    >>> from thetahat import losses
    >>> float(losses.mse(np.array([1.0, 3.0]), np.array([0.0, 1.0])))
    2.5
    """
    y, mu = _pair(y, mu, "y", "mu")
    _check(y, "y")
    _check(mu, "mu")
    return _reduce((y - mu) ** 2, reduction)


def poisson_nll(y, lam, *, log_input=False, reduction="mean"):
    """Poisson negative log-likelihood ``λ − y log λ + log y!`` (``log y!`` included).

    With ``log_input=True`` the second argument is ``η = log λ`` and the loss is
    ``exp(η) − y·η + log y!``, exact for any η.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> from thetahat import losses
    >>> y, lam = np.array([0.0, 3.0, 7.0]), np.array([0.5, 2.0, 6.5])
    >>> bool(np.isclose(losses.poisson_nll(y, lam), -stats.poisson(lam).logpmf(y).mean()))
    True
    """
    y, a = _pair(y, lam, "y", "log_lam" if log_input else "lam")
    _check(y, "y", lo=0.0, integer=True)
    fam = get_family("poisson")
    if log_input:
        _check(a, "log_lam")
        return _reduce(-fam.logpdf_natural(y, a), reduction)
    _check(a, "lam", lo=0.0)
    return _reduce(-fam.logpdf(y, {"lam": a}), reduction)


# ---------------------------------------------------------------------------------------------------
def _as_array(a, name):
    if isinstance(a, jax.Array):
        return a.astype(jnp.float64) if not jnp.issubdtype(a.dtype, jnp.floating) else a
    try:
        return jnp.asarray(np.asarray(a, dtype=float))
    except (TypeError, ValueError):
        raise DataError(f"{name} must be numeric, got {type(a).__name__}") from None


def _pair(a, b, na, nb):
    a, b = _as_array(a, na), _as_array(b, nb)
    if a.shape != b.shape and b.ndim != 0:
        raise DataError(f"{na} has shape {a.shape} but {nb} has shape {b.shape}")
    return a, b


def _concrete(a):
    return not isinstance(a, jax.core.Tracer)


def _check(a, name, *, lo=None, hi=None, open_lo=False, binary=False, integer=False):
    """Value checks on concrete inputs (skipped under jit, where values are unknown)."""
    if not _concrete(a):
        return
    v = np.asarray(a).reshape(-1)
    tests = [(~np.isfinite(v), "is NaN or infinite")]
    if binary:
        tests.append(((v != 0) & (v != 1), "is not 0 or 1"))
    if lo is not None:
        tests.append(((v <= lo) if open_lo else (v < lo), f"is {'not above' if open_lo else 'below'} {lo:g}"))
    if hi is not None:
        tests.append((v > hi, f"is above {hi:g}"))
    if integer:
        tests.append((v != np.round(v), "is not a whole number"))
    for bad, what in tests:
        idx = np.flatnonzero(bad)
        if idx.size:
            pos = [int(i) for i in np.unravel_index(idx[0], np.shape(a))] if np.ndim(a) else []
            where = f"[{', '.join(map(str, pos))}]" if pos else ""
            raise DataError(f"{name}{where} = {v[idx[0]]} {what} ({idx.size} such entries)")


def _onehot(y, shape):
    n, k = shape
    y = jnp.asarray(y) if isinstance(y, jax.Array) else jnp.asarray(np.asarray(y))
    if y.shape == (n, k):
        y = y.astype(jnp.float64)
        _check(y, "y", lo=0.0)
        return y
    if y.shape != (n,):
        raise DataError(f"y must be {n} labels or an ({n}, {k}) array of one-hot labels, got shape {y.shape}")
    if _concrete(y):
        v = np.asarray(y)
        bad = np.flatnonzero((v != np.round(v)) | (v < 0) | (v >= k))
        if bad.size:
            raise DataError(f"y[{bad[0]}] = {v[bad[0]]} is not a class label in 0..{k - 1}")
    return jax.nn.one_hot(y.astype(jnp.int32), k, dtype=jnp.float64)


def _label_sum(onehot, logpdf, params):
    """``Σ_k y_ik logpdf(k, params_i)`` per row: the log-density of every class from the family, a
    class of weight 0 adding 0 (also where its log-probability is −inf)."""
    classes = jnp.arange(onehot.shape[1], dtype=params.dtype)
    lp = jax.vmap(lambda row: jax.vmap(lambda c: logpdf(c, row))(classes))(params)
    return jnp.sum(jnp.where(onehot > 0, onehot * lp, 0.0), axis=1)


def _reduce(terms, reduction):
    if reduction == "mean":
        return jnp.mean(terms)
    if reduction == "sum":
        return jnp.sum(terms)
    if reduction == "none":
        return terms
    raise OptionError(f"unknown reduction {reduction!r}; choose one of {', '.join(REDUCTIONS)}")
