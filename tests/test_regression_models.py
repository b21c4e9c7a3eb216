"""Gamma, inverse Gaussian, binomial, cloglog, offsets/weights, ordered, Tobit and AFT models
against statsmodels, lifelines and direct scipy optimisation."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.optimize import minimize

import thetahat

RNG = np.random.default_rng(1)
N = 400
X1, X2 = RNG.normal(size=N), RNG.uniform(size=N)
X = np.column_stack([np.ones(N), X1, X2])
MU = np.exp(0.5 + 0.3 * X1 - 0.4 * X2)
LINKS = sm.families.links


def test_gamma_against_statsmodels_at_mle_scale():
    """statsmodels' GLM scale is Pearson chi2/(n-p), not the MLE. With scale fixed at 1/shape-hat
    (our MLE), its Newton fit has the same beta and observed-information SEs; the MLE shape
    maximises scipy's gamma log-likelihood given beta."""
    y = RNG.gamma(2.0, MU / 2.0)
    f = thetahat.regress(X, y=y, family="gamma")
    shape = f.params["shape"]
    r = sm.GLM(y, X, family=sm.families.Gamma(LINKS.Log())).fit(method="newton", scale=1 / shape, tol=1e-12)
    np.testing.assert_allclose(f.estimates[:3], r.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(f.se[:3], r.bse, rtol=1e-7)
    np.testing.assert_allclose(f.deviance, r.deviance, rtol=1e-10)
    np.testing.assert_allclose(f.loglik, stats.gamma(a=shape, scale=f.fitted / shape).logpdf(y).sum(), rtol=1e-12)
    best = minimize(lambda a: -stats.gamma(a=a[0], scale=f.fitted / a[0]).logpdf(y).sum(), [1.0],
                    method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12})
    np.testing.assert_allclose(shape, best.x[0], rtol=1e-6)
    # the statsmodels default (Pearson scale) gives the same beta, different log-likelihood
    r0 = sm.GLM(y, X, family=sm.families.Gamma(LINKS.Log())).fit()
    np.testing.assert_allclose(f.estimates[:3], r0.params, rtol=1e-7)
    assert f.loglik >= r0.llf


def test_gamma_inverse_link():
    y = RNG.gamma(3.0, 1 / (3.0 * (1.0 + 0.5 * X2)))
    f = thetahat.regress(np.column_stack([np.ones(N), X2]), y=y, family="gamma", link="inverse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' DomainWarning about the inverse link
        r = sm.GLM(y, np.column_stack([np.ones(N), X2]), family=sm.families.Gamma(LINKS.InversePower())).fit(
            method="newton", scale=1 / f.params["shape"], tol=1e-12)
    np.testing.assert_allclose(f.estimates[:2], r.params, rtol=1e-8)
    np.testing.assert_allclose(f.se[:2], r.bse, rtol=1e-6)


def test_inverse_gaussian_against_statsmodels_and_scipy():
    y = stats.invgauss.rvs(MU / 3.0, scale=3.0, random_state=RNG)
    f = thetahat.regress(X, y=y, family="inverse_gaussian")
    lam = f.params["lambda"]
    r = sm.GLM(y, X, family=sm.families.InverseGaussian(LINKS.Log())).fit(method="newton", scale=1 / lam, tol=1e-12)
    np.testing.assert_allclose(f.estimates[:3], r.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(f.se[:3], r.bse, rtol=1e-7)
    np.testing.assert_allclose(f.deviance, r.deviance, rtol=1e-10)
    np.testing.assert_allclose(f.loglik, stats.invgauss(f.fitted / lam, scale=lam).logpdf(y).sum(), rtol=1e-12)
    # lambda-hat = n / sum((y - mu)^2 / (mu^2 y)) = n / deviance (known formula)
    np.testing.assert_allclose(lam, N / f.deviance, rtol=1e-9)


def test_binomial_trials_and_cloglog():
    n = RNG.integers(1, 12, size=N).astype(float)
    p = 1 - np.exp(-np.exp(-0.5 + 0.8 * X1))
    y = RNG.binomial(n.astype(int), p).astype(float)
    for link, sml in (("logit", LINKS.Logit()), ("probit", LINKS.Probit()), ("cloglog", LINKS.CLogLog())):
        f = thetahat.regress(X[:, :2], y=y, family="binomial", link=link, trials=n)
        r = sm.GLM(np.column_stack([y, n - y]), X[:, :2], family=sm.families.Binomial(sml)).fit(
            method="newton", tol=1e-13)
        np.testing.assert_allclose(f.estimates, r.params, rtol=1e-8)
        np.testing.assert_allclose(f.se, r.bse, rtol=1e-6)
        np.testing.assert_allclose(f.loglik, stats.binom(n, f.fitted).logpmf(y).sum(), rtol=1e-12)
        np.testing.assert_allclose(f.deviance, r.deviance, rtol=1e-9)


def test_poisson_offset_weights_and_predict():
    expo = RNG.uniform(0.5, 3, size=N)
    y = RNG.poisson(MU * expo).astype(float)
    w = RNG.integers(1, 4, size=N).astype(float)
    df = pd.DataFrame({"y": y, "x1": X1, "x2": X2, "lexp": np.log(expo), "w": w})
    f = thetahat.regress("y ~ x1 + x2", df, family="poisson", offset="lexp", weights="w")
    r = sm.GLM(y, X, family=sm.families.Poisson(), offset=np.log(expo), freq_weights=w).fit(tol=1e-13)
    np.testing.assert_allclose(f.estimates, r.params, rtol=1e-9)
    np.testing.assert_allclose(f.se, r.bse, rtol=1e-7)
    np.testing.assert_allclose(f.loglik, r.llf, rtol=1e-11)
    np.testing.assert_allclose(f.deviance, r.deviance, rtol=1e-9)
    assert f.nobs == w.sum()
    new = pd.DataFrame({"x1": [0.0, 1.0], "x2": [0.5, 0.2]})
    np.testing.assert_allclose(f.predict(new), np.exp(r.params @ np.array([[1, 1], [0, 1], [0.5, 0.2]])),
                               rtol=1e-12)
    np.testing.assert_allclose(f.residuals("pearson"), r.resid_pearson, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_ordered_against_statsmodels(link):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    lat = 0.8 * X1 - 0.5 * X2 + (RNG.logistic(size=N) if link == "logit" else RNG.normal(size=N))
    y = np.digitize(lat, [-1, 0, 1.2])
    df = pd.DataFrame({"y": y, "x1": X1, "x2": X2})
    f = thetahat.regress("y ~ x1 + x2", df, family="ordered", link=link)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = OrderedModel(y, np.column_stack([X1, X2]), distr=link).fit(method="bfgs", disp=0, gtol=1e-11,
                                                                         maxiter=5000)
    assert f.names == ("x1", "x2", "cut1", "cut2", "cut3")
    np.testing.assert_allclose(f.loglik, m.llf, rtol=1e-10)
    th = m.params
    cuts = np.cumsum(np.r_[th[2], np.exp(th[3:])])  # statsmodels: first cut, then log increments
    np.testing.assert_allclose(f.estimates, np.r_[th[:2], cuts], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(f.se[:2], m.bse[:2], rtol=1e-3)
    np.testing.assert_allclose(f.se[2], m.bse[2], rtol=1e-3)  # the first cut point is on the same scale
    np.testing.assert_allclose(f.predict(), m.predict(), atol=1e-6)


def test_tobit_against_direct_scipy_optimisation():
    y = np.maximum(0, 0.5 + X1 + RNG.normal(size=N))

    def nll(th):
        e, s = X @ th[:3], np.exp(th[3])
        return -np.sum(np.where(y <= 0, stats.norm.logcdf(-e / s), stats.norm.logpdf(y, e, s)))

    o = minimize(nll, np.zeros(4), method="BFGS", options={"gtol": 1e-10})
    f = thetahat.regress(X, y=y, family="tobit")
    assert f.converged
    np.testing.assert_allclose(f.loglik, -o.fun, rtol=1e-10)
    assert f.loglik >= -o.fun - 1e-9
    np.testing.assert_allclose(f.estimates, np.r_[o.x[:3], np.exp(o.x[3])], rtol=1e-5)
    # right censoring at 2 as well: the same likelihood written out
    f2 = thetahat.regress(X, y=np.minimum(y, 2.0), family="tobit", left=0.0, right=2.0)
    yc = np.minimum(y, 2.0)
    e, s = X @ f2.estimates[:3], f2.params["sigma"]
    ll = np.sum(np.where(yc <= 0, stats.norm.logcdf(-e / s),
                         np.where(yc >= 2, stats.norm.logsf((2 - e) / s), stats.norm.logpdf(yc, e, s))))
    np.testing.assert_allclose(f2.loglik, ll, rtol=1e-12)


@pytest.mark.parametrize("family, fitter, extra", [("weibull", "WeibullAFTFitter", "rho_"),
                                                   ("lognormal", "LogNormalAFTFitter", "sigma_"),
                                                   ("loglogistic", "LogLogisticAFTFitter", "beta_")])
def test_aft_against_lifelines(family, fitter, extra):
    import lifelines

    T = np.exp(1 + 0.5 * X1 - 0.7 * RNG.gumbel(size=N))
    C = RNG.exponential(8, size=N)
    df = pd.DataFrame({"t": np.minimum(T, C), "e": (T <= C).astype(float), "x1": X1, "x2": X2})
    f = thetahat.regress("t ~ x1 + x2", df, family=family, event="e")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        L = getattr(lifelines, fitter)().fit(df, "t", "e")
    # lifelines stops at a looser tolerance (up to ~1e-4 below the maximum here): ours is never lower
    assert f.loglik >= L.log_likelihood_ - 1e-10 * abs(L.log_likelihood_)
    np.testing.assert_allclose(f.loglik, L.log_likelihood_, rtol=1e-6)
    coef = L.params_.loc[[c for c in L.params_.index if c[0] != extra]]
    ours = {"Intercept": f.params["Intercept"], "x1": f.params["x1"], "x2": f.params["x2"]}
    for (_, cov), v in coef.items():  # within 2 % of a standard error (lifelines' tolerance)
        assert abs(ours[cov] - v) <= 0.02 * f.bse[cov], (cov, ours[cov], v)
    log_extra = L.params_.loc[(extra, "Intercept")]
    name = "shape" if family != "lognormal" else "sigma"
    assert abs(np.log(f.params[name]) - log_extra) <= 0.02 * f.bse[name] / f.params[name]
    # lifelines reports the SE of log(shape) / log(sigma): ours by the delta method
    np.testing.assert_allclose(f.bse[name] / f.params[name], L.standard_errors_.loc[(extra, "Intercept")],
                               rtol=1e-3)
    np.testing.assert_allclose(f.bse["x1"], L.standard_errors_.loc[(L.params_.index[0][0], "x1")], rtol=1e-3)


def test_exponential_aft_closed_form():
    """Intercept-only exponential AFT: exp(b0) = total time / events (the known MLE)."""
    t = RNG.exponential(3.0, size=200)
    e = (RNG.random(200) < 0.7).astype(float)
    f = thetahat.regress(np.ones((200, 1)), y=t, family="exponential", event=e)
    np.testing.assert_allclose(np.exp(f.params["x0"]), t.sum() / e.sum(), rtol=1e-10)
    np.testing.assert_allclose(f.bse["x0"], 1 / np.sqrt(e.sum()), rtol=1e-8)
