"""Predictions with SEs and intervals, residuals and influence of thetahat.regress, against statsmodels.

Every figure to 1e-8 relative. The references:
* OLS: ``OLS.get_prediction(...).summary_frame()`` and ``OLSInfluence``. statsmodels scales by
  sigma^2 = RSS/(n - p) and t quantiles; thetahat's default covariance is the MLE one (RSS/n)
  with normal quantiles, so the SEs are compared times sqrt((n - p)/n) and the half-widths
  divided by their quantiles. With the classical OLS covariance (``cov_type="ols"``)
  the frame is statsmodels' as it is.
* GLMs: ``GLMResults.get_prediction(...).summary_frame()``, ``resid_*`` and
  ``get_influence(observed=False)``. At canonical links (poisson/log, binomial/logit)
  statsmodels' IRLS covariance is the inverse observed information; at the others (probit,
  gamma/log, gamma/inverse) statsmodels is fitted by Newton (its covariance is then the inverse
  observed Hessian, as thetahat's) and the gamma with its scale fixed at thetahat's MLE
  1/shape. Cook's distance uses Pearson's dispersion, and statsmodels' gamma is refitted with
  its default (Pearson) scale for it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import thetahat
from thetahat.errors import OptionError

RTOL = 1e-8
N = 150


def close(a, b, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol, atol=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=N), rng.uniform(-1, 1, size=N)
    X = np.column_stack([np.ones(N), x1, x2])
    new = np.column_stack([np.ones(5), rng.normal(size=5), rng.uniform(-1, 1, 5)])
    p_logit = 1 / (1 + np.exp(-(0.2 + x1 - x2)))
    return {"X": X, "new": new, "normal": 1 + 0.5 * x1 - x2 + rng.normal(size=N),
            "poisson": rng.poisson(np.exp(0.3 + 0.4 * x1 - 0.5 * x2)).astype(float),
            "bernoulli": (rng.random(N) < p_logit).astype(float),
            "gamma": rng.gamma(2.0, np.exp(0.3 + 0.4 * x1) / 2.0),
            "gamma_inv": rng.gamma(3.0, 1 / (1.5 + 0.3 * x1 + 0.2 * x2) / 3.0),
            "trials": rng.integers(1, 8, size=N).astype(float), "u": rng.random(N), "p": p_logit,
            "exposure": rng.uniform(0.5, 3, size=N),
            "nb": rng.negative_binomial(2.0, 2.0 / (2.0 + np.exp(0.3 + 0.4 * x1))).astype(float)}


# ---- OLS -------------------------------------------------------------------------------------
def test_ols_prediction_frame_scaled_to_statsmodels(data):
    X, y, new = data["X"], data["normal"], data["new"]
    n, p = X.shape
    fit = thetahat.regress(X, y=y)
    ref = sm.OLS(y, X).fit().get_prediction(new).summary_frame(alpha=0.1)
    fr = fit.predict(X=new, interval="prediction", alpha=0.1)
    assert list(fr.columns) == list(ref.columns)
    s = np.sqrt((n - p) / n)  # MLE sigma^2 (divisor n) against statsmodels' n - p
    qz, qt = stats.norm.ppf(0.95), stats.t.ppf(0.95, n - p)
    close(fr["mean"], ref["mean"])
    close(fr["mean_se"], ref["mean_se"] * s)
    for side in ("mean_ci", "obs_ci"):
        for end, sign in (("upper", 1), ("lower", -1)):
            col = f"{side}_{end}"
            close(sign * (fr[col] - fr["mean"]) / qz, sign * (ref[col] - ref["mean"]) / qt * s)


def test_ols_with_classical_covariance_is_statsmodels_exactly(data):
    # cov_type="ols" (sigma^2 = RSS/(n - p)): the frame then uses t(n - p)
    X, y, new = data["X"], data["normal"], data["new"]
    ols = thetahat.regress(X, y=y, cov_type="ols")
    ref = sm.OLS(y, X).fit().get_prediction(new).summary_frame(alpha=0.05)
    fr = ols.predict(X=new, interval="prediction")
    for c in ref.columns:
        close(fr[c], ref[c])


def test_ols_formula_fit_predicts_from_a_frame(data):
    X, y = data["X"], data["normal"]
    df = pd.DataFrame({"y": y, "a": X[:, 1], "b": X[:, 2]})
    newdf = pd.DataFrame({"a": data["new"][:, 1], "b": data["new"][:, 2]})
    fit = thetahat.regress("y ~ a + b", df)
    fr = fit.predict(newdf, interval="confidence")
    ref = sm.OLS(y, X).fit().get_prediction(data["new"]).summary_frame()
    close(fr["mean"], ref["mean"])
    close(fr["mean_se"], ref["mean_se"] * np.sqrt((N - 3) / N))


def test_ols_influence(data):
    X, y = data["X"], data["normal"]
    inf = thetahat.regress(X, y=y).influence()
    ref = sm.OLS(y, X).fit().get_influence()
    close(inf["leverage"], ref.hat_matrix_diag)
    close(inf["resid_studentized"], ref.resid_studentized_internal)
    close(inf["cooks_distance"], ref.cooks_distance[0])


# ---- GLMs ------------------------------------------------------------------------------------
def _sm_family(name, link):
    L = sm.families.links
    return {("poisson", None): sm.families.Poisson(), ("bernoulli", None): sm.families.Binomial(),
            ("bernoulli", "probit"): sm.families.Binomial(L.Probit()),
            ("gamma", "log"): sm.families.Gamma(L.Log()),
            ("gamma", "inverse"): sm.families.Gamma(L.InversePower())}[(name, link)]


GLMS = [("poisson", None, "poisson"), ("bernoulli", None, "bernoulli"), ("bernoulli", "probit", "bernoulli"),
        ("gamma", "log", "gamma"), ("gamma", "inverse", "gamma_inv")]


def _glm_pair(data, family, link, column, pearson_scale=False):
    y = data[column]
    fit = thetahat.regress(data["X"], y=y, family=family, link=link)
    kw = {} if family != "gamma" or pearson_scale else {"scale": 1 / fit.params["shape"]}
    with warnings.catch_warnings():  # statsmodels warns that the inverse link can leave (0, inf)
        warnings.simplefilter("ignore")
        model = sm.GLM(y, data["X"], family=_sm_family(family, link))
        ref = model.fit(method="newton", tol=1e-14, maxiter=200, **kw)
    return fit, ref


@pytest.mark.parametrize("family,link,column", GLMS)
def test_glm_prediction_frame(data, family, link, column):
    fit, ref = _glm_pair(data, family, link, column)
    close(fit.se[:3], ref.bse)  # the same covariance, so the comparison below is of the prediction
    with warnings.catch_warnings():  # statsmodels tries its inverse link at 0 to see if it is linear
        warnings.simplefilter("ignore")
        sf = ref.get_prediction(data["new"]).summary_frame(alpha=0.1)
    fr = fit.predict(X=data["new"], se=True, alpha=0.1)
    assert list(fr.columns) == list(sf.columns)
    close(fr["mean"], sf["mean"])
    close(fr["mean_se"], sf["mean_se"])
    # statsmodels maps the linear predictor's interval through the inverse link without ordering
    # the ends (a decreasing link swaps them); thetahat orders them
    ends = sf[["mean_ci_lower", "mean_ci_upper"]].to_numpy()
    close(fr["mean_ci_lower"], ends.min(1))
    close(fr["mean_ci_upper"], ends.max(1))
    assert np.all(fr["mean_ci_lower"] < fr["mean"]) and np.all(fr["mean"] < fr["mean_ci_upper"])


def test_poisson_prediction_with_offset(data):
    X, y, off = data["X"], data["poisson"], np.log(data["exposure"])
    fit = thetahat.regress(X, y=y, family="poisson", offset=off)
    ref = sm.GLM(y, X, family=sm.families.Poisson(), offset=off).fit(tol=1e-14)
    new_off = np.log(np.array([0.5, 1, 2, 3, 4.0]))
    sf = ref.get_prediction(data["new"], offset=new_off).summary_frame()
    fr = fit.predict(X=data["new"], offset=new_off, se=True)
    for c in sf.columns:
        close(fr[c], sf[c])
    # the fit's own rows, with the fit's offset (statsmodels' get_prediction() without exog
    # leaves the offset out, of the mean too, so the rows and the offset are passed to it)
    own = ref.get_prediction(X, offset=off).summary_frame()
    fr_own = fit.predict(se=True)
    for c in sf.columns:
        close(fr_own[c], own[c])


@pytest.mark.parametrize("family,link,column", GLMS)
def test_glm_residuals(data, family, link, column):
    fit, ref = _glm_pair(data, family, link, column)
    for kind in ("response", "pearson", "deviance", "working"):
        close(fit.residuals(kind), getattr(ref, f"resid_{kind}"))


def test_binomial_trials_residuals(data):
    n = data["trials"]
    rng = np.random.default_rng(5)
    y = rng.binomial(n.astype(int), data["p"]).astype(float)
    fit = thetahat.regress(data["X"], y=y, family="binomial", trials=n)
    ref = sm.GLM(np.column_stack([y, n - y]), data["X"], family=sm.families.Binomial()).fit(tol=1e-14)
    for kind in ("response", "pearson", "deviance"):  # the count scale, both
        close(fit.residuals(kind), getattr(ref, f"resid_{kind}"))
    # the working residual is the proportion's (y/n - mu) g'(mu), as R's; statsmodels multiplies
    # its count-scale response residual by n once more (its source doubts it in a comment), so
    # it is n^2 times this
    close(fit.residuals("working"), ref.resid_working / n ** 2)
    inf, sref = fit.influence(), ref.get_influence(observed=False)
    close(inf["leverage"], sref.hat_matrix_diag)
    close(inf["cooks_distance"], sref.cooks_distance[0])


@pytest.mark.parametrize("family,link,column", GLMS)
def test_glm_influence(data, family, link, column):
    fit, ref = _glm_pair(data, family, link, column, pearson_scale=True)
    inf, sref = fit.influence(), ref.get_influence(observed=False)
    close(inf["leverage"], sref.hat_matrix_diag)
    close(inf["resid_studentized"], sref.resid_studentized)
    close(inf["cooks_distance"], sref.cooks_distance[0])


# ---- what is not defined is refused ------------------------------------------------------------
def test_refusals(data):
    X = data["X"]
    pois = thetahat.regress(X, y=data["poisson"], family="poisson")
    with pytest.raises(OptionError, match="prediction intervals are defined for the normal"):
        pois.predict(X=data["new"], interval="prediction")
    with pytest.raises(OptionError, match="interval must be"):
        pois.predict(X=data["new"], interval="credible")
    with pytest.raises(OptionError, match="alpha"):
        pois.predict(X=data["new"], se=True, alpha=1.5)
    nb = thetahat.regress(X, y=data["nb"], family="negative_binomial")
    with pytest.raises(OptionError, match="Cook's distance are defined here"):
        nb.influence()
    ym = (data["u"] * 3).astype(int).astype(float)
    mn = thetahat.regress(X, y=ym, family="multinomial")
    with pytest.raises(OptionError, match="standard errors of predictions"):
        mn.predict(X=data["new"], se=True)
    with pytest.raises(OptionError, match="working residuals"):
        thetahat.regress(X, y=data["gamma"], family="weibull").residuals("working")
    ridge = thetahat.regress(X, y=data["normal"], penalty="l2", lam=0.5)
    with pytest.raises(OptionError, match="MAP estimate"):
        ridge.predict(X=data["new"], interval="prediction")
    assert pois.predict(X=data["new"]).shape == (5,)  # without se/interval: the array as before


def test_streamed_fit_predicts_with_se_and_refuses_what_needs_rows(data, tmp_path):
    # a Poisson fit streamed from Parquet files: the frame at new rows is statsmodels' GLM frame
    X, y = data["X"], data["poisson"]
    df = pd.DataFrame({"y": y, "a": X[:, 1], "b": X[:, 2]})
    for i, part in enumerate(np.array_split(np.arange(N), 3)):
        df.iloc[part].to_parquet(tmp_path / f"part{i}.parquet", index=False)
    fit = thetahat.regress("y ~ a + b", str(tmp_path), family="poisson")
    newdf = pd.DataFrame({"a": data["new"][:, 1], "b": data["new"][:, 2]})
    sf = sm.GLM(y, X, family=sm.families.Poisson()).fit(tol=1e-14).get_prediction(data["new"]).summary_frame()
    fr = fit.predict(newdf, se=True)
    for c in sf.columns:
        close(fr[c], sf[c])
    for call in (fit.influence, fit.marginal_effects, lambda: fit.predict(se=True)):
        with pytest.raises(OptionError, match="kept none"):
            call()


def test_negative_binomial_prediction_frame(data):
    # statsmodels' discrete NB2 (Newton, inverse observed Hessian of (b, alpha), as thetahat's);
    # its frame names the columns predicted, se, ci_lower, ci_upper
    X, y = data["X"], data["nb"]
    fit = thetahat.regress(X, y=y, family="negative_binomial")
    ref = sm.NegativeBinomial(y, X).fit(method="newton", tol=1e-14, maxiter=200, disp=0)
    close(fit.se, ref.bse)
    with warnings.catch_warnings():  # "using default log-link": the link of NB2's mean, as thetahat's
        warnings.simplefilter("ignore")
        sf = ref.get_prediction(data["new"]).summary_frame(alpha=0.1)
    fr = fit.predict(X=data["new"], se=True, alpha=0.1)
    for mine, theirs in (("mean", "predicted"), ("mean_se", "se"), ("mean_ci_lower", "ci_lower"),
                         ("mean_ci_upper", "ci_upper")):
        close(fr[mine], sf[theirs])


def test_weighted_poisson_influence(data):
    # weights enter as R's prior weights: statsmodels' var_weights (with dispersion 1, the count
    # of observations in the Pearson dispersion does not enter)
    X, y = data["X"], data["poisson"]
    w = np.random.default_rng(7).integers(1, 4, size=N).astype(float)
    inf = thetahat.regress(X, y=y, family="poisson", weights=w).influence()
    ref = sm.GLM(y, X, family=sm.families.Poisson(), var_weights=w).fit(tol=1e-14).get_influence(observed=False)
    close(inf["leverage"], ref.hat_matrix_diag)
    close(inf["resid_studentized"], ref.resid_studentized)
    close(inf["cooks_distance"], ref.cooks_distance[0])
