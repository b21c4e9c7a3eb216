"""Leverage and Cook's distance of a linear model or a GLM fitted in memory.

With ``W`` the IRLS weights at the estimate, ``w_i (dmu_i/deta_i)² / V(mu_i)`` (``w_i`` the
frequency weight, ``V`` the family's variance function; 1 for the normal):

* leverage ``h_i``: the diagonal of ``W^½ X (X'WX)⁻¹ X' W^½`` (from a QR of ``W^½ X``),
* the studentised Pearson residual ``r_i / sqrt(φ (1 − h_i))``,
* Cook's distance ``D_i = r_i² h_i / (φ p (1 − h_i)²)``, ``r_i`` the Pearson residual, ``p``
  the number of coefficients, and ``φ`` the dispersion: 1 for poisson, bernoulli and
  binomial, else Pearson's ``χ²/(n − p)`` (for the normal, ``RSS/(n − p)``).

These are R's ``hatvalues``/``cooks.distance`` and statsmodels' ``OLSInfluence`` and
``GLMResults.get_influence(observed=False)`` (at a canonical link, where the observed and
expected weights agree, also its default ``observed=True``).

Example
-------
>>> import numpy as np, thetahat
>>> X = np.column_stack([np.ones(5), np.arange(5.0)])
>>> fit = thetahat.regress(X, y=np.array([1.0, 3, 2, 5, 4]))
>>> [round(v, 3) for v in fit.influence()["leverage"]]
[0.6, 0.3, 0.2, 0.3, 0.6]
"""

from __future__ import annotations

import numpy as np

from ..errors import OptionError

_UNIT_DISPERSION = ("poisson", "bernoulli", "binomial")


def influence_frame(fit):
    """A frame with one row per observation: leverage, resid_studentized, cooks_distance."""
    import pandas as pd

    from .prediction import mean_and_slope

    st = fit._state
    model = st["model"]
    if not model.glm:
        raise OptionError(f"leverage and Cook's distance are defined here for the linear model and the GLM "
                          f"families (normal, poisson, bernoulli, binomial, gamma, inverse_gaussian), not for "
                          f"{fit.family}")
    X = np.asarray(st["X"], dtype=float)
    p = X.shape[1]
    eta = X @ st["theta"][:p] + (0.0 if st["off"] is None else np.asarray(st["off"], dtype=float))
    mu, slope = mean_and_slope(model, eta)
    aux = st["aux"]
    w = np.ones(len(mu)) if st["w"] is None else np.asarray(st["w"], dtype=float)
    W = w * slope ** 2 / model.variance(mu, aux)
    q, _ = np.linalg.qr(np.sqrt(W)[:, None] * X)
    h = np.sum(q * q, axis=1)
    r = fit.residuals("pearson") * np.sqrt(w)
    phi = 1.0 if fit.family in _UNIT_DISPERSION else float(np.sum(r ** 2) / (fit.nobs - p))
    stud = r / np.sqrt(phi * (1 - h))
    return pd.DataFrame({"leverage": h, "resid_studentized": stud, "cooks_distance": stud ** 2 * h / ((1 - h) * p)})
