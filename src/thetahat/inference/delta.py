"""Invariance and the delta method: inference on g(θ) from a fit of θ."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from .._jax import jax, jnp, x64, x64_methods
from ..errors import OptionError
from .intervals import check_level


@x64_methods
@dataclass(frozen=True)
class Derived:
    """A function ``g(θ)`` of a fit's parameters.

    Attributes
    ----------
    name : str
    estimate : float
        ``g(θ̂)``: by invariance, the MLE of ``g(θ)``.
    se : float or None
        Delta-method standard error ``sqrt(∇g Σ ∇gᵀ)``, with an autodiff gradient.
    gradient : numpy.ndarray
        ``∇g`` with respect to the estimated parameters, flattened in ``fit.cov_labels`` order.
    """

    name: str
    estimate: float
    se: float | None
    gradient: np.ndarray
    fit: object = field(repr=False)
    g: object = field(repr=False)

    def confint(self, level=0.95, method="wald", **options) -> tuple:
        """Wald (delta method), profile-likelihood or bootstrap interval for ``g(θ)``."""
        check_level(level)
        if method == "wald":
            if self.se is None:
                raise OptionError(f"{self.name}: no delta-method standard error (the fit has no covariance)")
            z = NormalDist().inv_cdf(0.5 + level / 2)
            return (self.estimate - z * self.se, self.estimate + z * self.se)
        if method == "profile":
            from .profile import function_interval

            lo, hi, notes = function_interval(self.fit, self.g, self.name, level)
            return _with_notes((lo, hi), notes)
        if method == "bootstrap":
            from . import bootstrap as bs

            interval = options.pop("interval", "percentile")
            b = options.pop("replicates", None) or bs.bootstrap(self.fit, **options)
            vals = b.of(self.g)
            if interval == "bca":
                lo, hi = bs.bca_interval(vals, self.estimate, bs.jackknife(self.fit, g=self.g), level)
            else:
                lo, hi = bs.percentile_interval(vals, level)
            notes = [f"{b.n_failed} of {b.n_boot} refits failed and were excluded"] if b.n_failed else []
            return _with_notes((float(lo), float(hi)), notes)
        raise OptionError(f"unknown interval method {method!r}; choose wald, profile or bootstrap")

    def profile(self, level=0.95, points=41):
        """The profile log-likelihood curve of ``g(θ)``."""
        from .profile import profile_curve

        return profile_curve(self.fit, self.name, level=level, points=points, g=self.g)


class _Pair(tuple):
    notes: list = []


def _with_notes(pair, notes):
    out = _Pair(pair)
    out.notes = list(notes)
    return out


@x64
def transform(fit, g, name="g") -> Derived:
    """``g(θ̂)`` with its delta-method standard error (see :meth:`thetahat.Fit.transform`)."""
    p = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in fit.params.items()}
    try:
        val = jnp.asarray(g(p), dtype=jnp.float64)
    except Exception as exc:
        raise OptionError(f"the function {name!r} failed on the fitted parameters: {exc}") from exc
    if val.size != 1:
        raise OptionError(f"{name!r} must return a scalar, got shape {tuple(val.shape)}")
    est = float(val.reshape(()))
    free = [k for k in fit.estimated]
    grads = jax.grad(lambda q: jnp.asarray(g({**p, **q}), dtype=jnp.float64).reshape(()))({k: p[k] for k in free})
    grad = np.concatenate([np.ravel(np.asarray(grads[k])) for k in free]) if free else np.zeros(0)
    se = None
    if fit.cov is not None and fit.cov.shape[0] == grad.size:
        var = float(grad @ fit.cov @ grad)
        se = float(np.sqrt(max(var, 0.0)))
    return Derived(name, est, se, grad, fit, g)
