"""Model-level statistics of a regression fit: the null model and the tests against it.

- ``llnull``: the log-likelihood of the intercept-only model of the same family and link,
  with the fit's offset, weights, trials and censoring (statsmodels' ``llnull``), fitted here
  by the same Newton (the normal model in closed form).
- ``llr = 2 (loglik - llnull)`` on ``df_model`` (the coefficients beyond the intercept)
  degrees of freedom; McFadden's ``prsquared = 1 - loglik / llnull``.
- The normal linear model's ``rsquared`` (centered with an intercept, else uncentered),
  ``rsquared_adj``, and the classical ``fvalue`` and ``f_pvalue`` (statsmodels' OLS names and
  definitions, its non-robust F test).

These need the fit's rows in memory and one linear predictor; the null model of a fit without
an intercept is not nested in it, so there it is an OptionError.

Example
-------
>>> import numpy as np, thetahat
>>> x = np.arange(8.0)
>>> f = thetahat.regress(np.column_stack([np.ones(8), x]), y=np.array([0, 1, 0, 0, 1, 1, 0, 1.0]),
...                      family="bernoulli")
>>> round(f.llnull, 6), f.df_model
(-5.545177, 1)
"""

from __future__ import annotations

import numpy as np

from ..errors import OptionError, ThetahatError


def _checked_state(fit, what):
    st = fit._state
    if "X" not in st or st.get("X") is None:
        raise OptionError(f"{what} needs the fit's rows in memory; a streamed regression does not keep them")
    if st["model"].k != 1 or st["model"].ordinal:
        raise OptionError(f"{what} is available for models with one linear predictor and an intercept, not "
                          f"{fit.family}")
    if st.get("intercept") is None:
        raise OptionError(f"{what}: the model has no intercept, so the intercept-only (null) model is not "
                          "nested in it")
    if "penalty" in fit.info:
        raise OptionError(f"{what} compares likelihoods; a penalised (MAP) fit does not maximise the likelihood")
    return st


def model_df(fit) -> int:
    """The coefficients beyond the intercept."""
    st = _checked_state(fit, "df_model")
    return int(st["X"].shape[1] - 1)


def null_loglik(fit) -> float:
    """The log-likelihood of the intercept-only model (cached on the fit)."""
    st = _checked_state(fit, "llnull")
    if "llnull" in st:
        return st["llnull"]
    model, y, w, off, aux = st["model"], st["y"], st["w"], st["off"], st["aux"]
    n = len(y)
    ww = np.ones(n) if w is None else np.asarray(w, dtype=float)
    if model.name == "normal" and model.uses_aux is None:
        r = y - (0.0 if off is None else off)
        s2 = float(np.sum(ww * (r - np.sum(ww * r) / np.sum(ww)) ** 2) / np.sum(ww))
        value = -0.5 * np.sum(ww) * (np.log(2 * np.pi * s2) + 1.0)
    else:
        value = _null_newton(fit, model, y, aux, w, off)
    st["llnull"] = float(value)
    return st["llnull"]


def _null_newton(fit, model, y, aux, w, off):
    """The intercept-only fit by the same Newton, started from the full fit: the intercept at
    the (weighted) mean of its linear predictor, the extra parameters at their estimates."""
    from ._newton import newton

    st = fit._state
    X, theta = st["X"], st["theta"]
    p = X.shape[1]
    ww = np.ones(len(y)) if w is None else np.asarray(w, dtype=float)
    eta = X @ theta[:p]
    theta0 = np.concatenate([[np.sum(ww * eta) / np.sum(ww)], theta[p:]])
    res = newton(model, np.ones((len(y), 1)), y, aux, w, off, theta0, max_iter=200)
    if not res.converged:
        raise OptionError(f"the intercept-only model did not converge ({res.reason}): no llnull")
    return res.loglik


def linear_statistics(fit) -> dict:
    """R², adjusted R², F and its p-value of the normal linear model."""
    if fit.family != "normal" or fit.method != "qr":
        raise OptionError(f"R², adjusted R² and the F test are statistics of the normal linear model "
                          f"(family='normal'), not of {fit.family}; see prsquared for McFadden's pseudo-R²")
    from scipy.stats import f as f_dist

    st = fit._state
    X, y, w, off = st["X"], st["y"], st["w"], st["off"]
    n, p = X.shape
    ww = np.ones(n) if w is None else np.asarray(w, dtype=float)
    r = y - (0.0 if off is None else off)
    nobs = float(np.sum(ww))
    k0 = 0 if st.get("intercept") is None else 1
    centre = np.sum(ww * r) / nobs if k0 else 0.0
    tss = float(np.sum(ww * (r - centre) ** 2))
    rss = float(fit.info["rss"])
    r2 = 1.0 - rss / tss
    df_model, df_resid = p - k0, nobs - p
    fvalue = (tss - rss) / df_model / (rss / df_resid) if df_model > 0 else float("nan")
    return {"rsquared": r2, "rsquared_adj": 1.0 - (nobs - k0) / df_resid * (1.0 - r2), "fvalue": fvalue,
            "f_pvalue": float(f_dist.sf(fvalue, df_model, df_resid)) if df_model > 0 else float("nan")}


def summary_rows(fit):
    """The summary's extra (label, text) rows: the covariance, then the statistics that apply."""
    left = [("Covariance", fit.cov_type)]
    right = []
    try:
        right += [("Null loglik", f"{fit.llnull:.6f}"), ("LR chi2 (" + str(fit.df_model) + ")", f"{fit.llr:.6g}"),
                  ("Prob > chi2", f"{fit.llr_pvalue:.4g}"), ("Pseudo R2", f"{fit.prsquared:.6g}")]
    except (ThetahatError, FloatingPointError, np.linalg.LinAlgError):
        pass  # no intercept, no rows in memory, a null model that does not converge: the rows are left out
    if fit.family == "normal" and fit.method == "qr":
        s = linear_statistics(fit)
        left += [("R-squared", f"{s['rsquared']:.6g}"), ("Adj. R-squared", f"{s['rsquared_adj']:.6g}"),
                 ("F statistic", f"{s['fvalue']:.6g}"), ("Prob (F)", f"{s['f_pvalue']:.4g}")]
    return left, right
