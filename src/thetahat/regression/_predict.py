"""Predictions and residuals of a :class:`~thetahat.regression.result.RegressionFit`."""

from __future__ import annotations

import numpy as np

from ..errors import DataError, OptionError


def _eta(theta, X, k, off):
    p = X.shape[1]
    B = np.asarray(theta[: p * k]).reshape(k, p).T
    eta = X @ B
    if off is not None:
        eta = eta + np.asarray(off, dtype=float)[:, None]
    return eta


def _mean(model, theta, X, off):
    import jax.numpy as jnp

    p, k = X.shape[1], model.k
    eta = _eta(theta, X, k, off)
    phi = jnp.asarray(theta[p * k:])
    return np.asarray(model.mean(jnp.asarray(eta), phi))


def fitted_mean(state):
    return _mean(state["model"], state["theta"], state["X"], state["off"])


def rows(fit, data, X, offset):
    """(design rows, offset) to predict at: the fit's own with neither ``data`` nor ``X``."""
    st = fit._state
    if data is None and X is None:
        if offset is not None:
            raise OptionError("offset= applies to new data; the fit's own rows use the fit's offset")
        return st["X"], st["off"]
    if data is not None and X is not None:
        raise OptionError("pass either data (a frame, for a formula fit) or X (a design matrix), not both")
    if data is not None:
        if st["spec"] is None:
            raise OptionError("this fit was made from a design matrix: predict with X=")
        from ._design import new_design

        Xn = new_design(st["spec"], data, st["design_names"])
    else:
        Xn = np.asarray(X, dtype=float)
        if Xn.ndim == 1:
            Xn = Xn[None, :] if Xn.shape[0] == len(st["design_names"]) else Xn[:, None]
    if Xn.shape[1] != len(st["design_names"]):
        raise DataError(f"the new design has {Xn.shape[1]} columns; the fit has {len(st['design_names'])}: "
                        f"{', '.join(st['design_names'])}")
    return Xn, offset


def predict(fit, data, X, offset):
    st = fit._state
    if data is None and X is None and offset is None:
        return fitted_mean(st)
    Xn, off = rows(fit, data, X, offset)
    return _mean(st["model"], st["theta"], Xn, off)


def residuals(fit, kind):
    st = fit._state
    model = st["model"]
    if model.multiclass or model.ordinal:
        raise OptionError(f"{fit.family} regression has no scalar residuals; compare predict() with the classes")
    y = np.asarray(st["y"], dtype=float)
    mu = fitted_mean(st)
    if model.uses_aux == "trials":
        mu = mu * st["aux"]  # residuals on the count scale
    if kind == "response":
        return y - mu
    if kind == "working":
        return _working(fit, y)
    if not model.glm:
        raise OptionError(f"{kind} residuals are defined for GLM families; {fit.family} has response residuals")
    if kind == "pearson":
        aux = st["aux"]
        if model.uses_aux == "trials":
            return (y - mu) / np.sqrt(mu * (1 - mu / aux))
        return (y - mu) / np.sqrt(model.variance(mu, aux))
    if kind == "deviance":
        m = mu / st["aux"] if model.uses_aux == "trials" else mu
        d = model.unit_deviance(y, m, st["aux"])
        return np.sign(y - mu) * np.sqrt(np.clip(d, 0, None))
    raise OptionError(f"unknown residual kind {kind!r}; choose response, pearson, deviance or working")


def _working(fit, y):
    """(y - mu) g'(mu), the response on the linear predictor's scale less eta (the IRLS working
    residual; a proportion's for binomial trials)."""
    from .prediction import mean_and_slope, mean_of_eta

    st = fit._state
    model = st["model"]
    if not mean_of_eta(model):
        raise OptionError(f"working residuals need a mean that is a function of the linear predictor alone; "
                          f"{fit.family}'s is not")
    eta = _eta(st["theta"], st["X"], 1, st["off"])[:, 0]
    mu, slope = mean_and_slope(model, eta)
    if model.uses_aux == "trials":
        y = y / st["aux"]
    return (y - mu) / slope
