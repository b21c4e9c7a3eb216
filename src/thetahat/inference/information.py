"""Observed and expected information of a fit, in natural coordinates."""

from __future__ import annotations

import numpy as np

from .._jax import jax, jnp, x64
from ..errors import OptionError


@x64
def information(fit, kind="observed"):
    """See :meth:`thetahat.Fit.fisher_information`."""
    ctx = getattr(fit, "context", None)
    if ctx is None:
        raise OptionError("this fit carries no data: its information cannot be computed")
    lay = ctx.layout
    if kind == "observed":
        obj = ctx.objective()

        def ll(flat):
            p = {}
            for s in lay.slots:
                piece = flat[s.tstart:s.tstart + s.tsize]
                p[s.name] = piece[0] if not s.shape else piece.reshape(s.shape)
            return obj.loglik_theta(p)

        theta = jnp.concatenate([jnp.ravel(jnp.asarray(fit.params[s.name], dtype=jnp.float64)) for s in lay.slots])
        return -np.asarray(jax.hessian(ll)(theta))
    if kind == "expected":
        fam = ctx.family
        if fam.expected_information is None or any(s.shape for s in lay.slots):
            raise OptionError(f"{fam.name} gives no expected information")
        idx = [list(fam.params).index(k) for k in lay.names]
        p = {k: jnp.asarray(v) for k, v in fit.params.items()}
        return fit.nobs * np.asarray(fam.expected_information(p))[np.ix_(idx, idx)]
    raise OptionError(f"unknown information kind {kind!r}; choose observed or expected")
