"""Predictions with standard errors and intervals: the delta method through the inverse link.

For a model whose mean is ``mu = g⁻¹(eta)``, ``eta = x'b + offset`` (every GLM family, the
binary links, the negative binomial, the latent mean of tobit), the linear predictor's
standard error is ``se(eta) = sqrt(x' V x)`` with ``V`` the fit's covariance of the
coefficients as stored (so the fit's choice of covariance flows into these numbers), and

* ``mean_se = |dmu/deta| · se(eta)`` (the delta method),
* the confidence interval of the mean is ``g⁻¹(eta ∓ z·se(eta))``: computed on the
  linear-predictor scale and mapped through the inverse link, as statsmodels'
  ``GLMResults.get_prediction(...).summary_frame()`` does (its ``method="endpoint"``);
  unlike statsmodels, the two ends are put in order for a decreasing inverse link;
* a prediction interval only for the normal family (identity link): a new observation
  is ``x'b + e``, so ``obs_se = sqrt(mean_se² + σ²)``. With the fit's MLE covariance,
  ``σ² = RSS/n`` and normal quantiles (the large-sample interval); with the classical OLS
  covariance (``cov_type="ols"``), ``σ² = RSS/(n − p)`` and Student t
  quantiles with ``n − p`` degrees of freedom, which is statsmodels' OLS ``obs_ci``
  exactly. For the other families a prediction interval is not defined here (their new
  observations are discrete or skewed, with no interval from the mean's alone).

Example
-------
>>> import numpy as np, thetahat
>>> X = np.column_stack([np.ones(6), np.arange(6.0)])
>>> fit = thetahat.regress(X, y=np.array([1.0, 3, 2, 5, 4, 6]))
>>> fr = fit.predict(X=X[:2], interval="prediction")
>>> list(fr.columns)
['mean', 'mean_se', 'mean_ci_lower', 'mean_ci_upper', 'obs_ci_lower', 'obs_ci_upper']
"""

from __future__ import annotations

import numpy as np

from ..errors import OptionError

_INTERVALS = (None, "confidence", "prediction")


def coefficient_cov(fit, what: str) -> np.ndarray:
    """The stored covariance of the coefficients (every linear-predictor coefficient), or an
    OptionError saying why there is none."""
    if fit.cov is None:
        raise OptionError(f"{what} needs the coefficients' covariance, and this fit has none "
                          f"({'; '.join(fit.notes) or 'no standard errors'})")
    st = fit._state
    nb = len(st["design_names"]) * st["model"].k
    return np.asarray(fit.cov, dtype=float)[:nb, :nb]


def mean_of_eta(model) -> bool:
    """Whether the model's prediction is ``g⁻¹(eta)``, a function of the linear predictor alone
    (not of the extra parameters, as an AFT model's median or zinb's mean are)."""
    if model.binary:
        return True
    fam = model.family
    return (fam is not None and not model.multiclass and not model.ordinal and fam.predictor.target == "mean"
            and fam.predictor.mean is None)


def mean_and_slope(model, eta):
    """``(g⁻¹(eta), dmu/deta)`` row by row (a forward derivative of the model's mean)."""
    import jax
    import jax.numpy as jnp

    phi = jnp.zeros(len(model.extra))
    e = jnp.asarray(eta, dtype=float)
    mu, slope = jax.jvp(lambda t: model.mean(t[:, None], phi), (e,), (jnp.ones_like(e),))
    return np.asarray(mu), np.asarray(slope)


def _quantile(alpha, df):
    from scipy import stats

    return float(stats.norm.ppf(1 - alpha / 2) if df is None else stats.t.ppf(1 - alpha / 2, df))


def normal_scale(fit):
    """(σ², degrees of freedom or None) of a normal fit's prediction interval: the classical
    ``RSS/(n − p)`` with ``n − p`` degrees of freedom under the OLS covariance, else the MLE
    ``RSS/n`` with normal quantiles."""
    if fit.cov_type == "ols":
        p = len(fit._state["design_names"])
        return float(fit.info["sigma2_unbiased"]), float(fit.nobs - p)
    return float(fit.info["sigma2_mle"]), None


def _check(fit, interval, alpha):
    model = fit._state["model"]
    if interval not in _INTERVALS:
        raise OptionError(f"interval must be 'confidence' or 'prediction', not {interval!r}")
    if not 0 < alpha < 1:
        raise OptionError(f"alpha must be between 0 and 1, got {alpha}")
    if not mean_of_eta(model):
        raise OptionError(f"standard errors of predictions are defined here for models whose mean is a function "
                          f"of the linear predictor alone; {fit.family}'s prediction is not")
    if interval == "prediction" and not (fit.family == "normal" and fit.link == "identity"):
        raise OptionError(f"prediction intervals are defined for the normal family (identity link) only, not for "
                          f"{fit.family}/{fit.link}: its new observations have no interval from the mean's "
                          "standard error")
    if interval == "prediction" and "sigma2_mle" not in fit.info:
        raise OptionError("prediction intervals are defined here for a normal fit by maximum likelihood; this "
                          f"fit is a penalised ({fit.info.get('penalty', {}).get('kind', '?')}) MAP estimate")


def predict_frame(fit, X, offset, interval, alpha):
    """The summary frame of predictions at the design rows ``X``: mean, mean_se, mean_ci_lower,
    mean_ci_upper, and for a prediction interval obs_ci_lower, obs_ci_upper."""
    import pandas as pd

    _check(fit, interval, alpha)
    V = coefficient_cov(fit, "a prediction's standard error")
    X = np.asarray(X, dtype=float)
    b = np.asarray(fit._state["theta"][: X.shape[1]], dtype=float)
    eta = X @ b + (0.0 if offset is None else np.asarray(offset, dtype=float))
    se_eta = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", X, V, X), 0, None))
    model = fit._state["model"]
    mu, slope = mean_and_slope(model, eta)
    df = normal_scale(fit)[1] if fit.family == "normal" else None
    q = _quantile(alpha, df)
    ends = np.stack([mean_and_slope(model, eta - q * se_eta)[0], mean_and_slope(model, eta + q * se_eta)[0]])
    out = {"mean": mu, "mean_se": np.abs(slope) * se_eta, "mean_ci_lower": ends.min(0), "mean_ci_upper": ends.max(0)}
    if interval == "prediction":
        sigma2, _ = normal_scale(fit)
        obs_se = np.sqrt(out["mean_se"] ** 2 + sigma2)
        out["obs_ci_lower"], out["obs_ci_upper"] = mu - q * obs_se, mu + q * obs_se
    return pd.DataFrame(out)
