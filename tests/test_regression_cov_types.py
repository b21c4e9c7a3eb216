"""regress(cov_type=...) and the model-level statistics against statsmodels and R.

References: statsmodels OLS (classical, HC0-HC3, cluster; R², adjusted R², F), Logit, Probit,
Poisson and NegativeBinomial (HC0, cluster, llnull, llr, prsquared), GLM gamma (HC0,
cluster); R 4.2 ``glm`` (probit, cloglog, gamma with log link: expected information with
summary.glm's dispersion) and ``MASS::glm.nb`` (tests/data/r_glm/fit_glm.R writes
glm_reference.csv from glm_data.csv); scipy.stats.gamma.fit for the gamma null model.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss
import statsmodels.api as sm
import statsmodels.formula.api as smf

import thetahat
from thetahat.errors import DataError, OptionError

HERE = Path(__file__).parent / "data" / "r_glm"
D = pd.read_csv(HERE / "glm_data.csv")
REF = pd.read_csv(HERE / "glm_reference.csv")
X = sm.add_constant(D[["x1", "x2"]])
N = len(D)


def se(fit, k=3):
    return np.array(list(fit.bse.values()))[:k]


def covariance_line(fit):
    return next(line for line in fit.summary().splitlines() if line.startswith("Covariance:")).split()[:2]


def rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


# ---- the normal model: statsmodels OLS ----------------------------------------------------
@pytest.mark.parametrize("ct", ["HC0", "HC1", "HC2", "HC3"])
def test_ols_heteroskedasticity_robust(ct):
    f = thetahat.regress("ygam ~ x1 + x2", D, cov_type=ct)
    o = smf.ols("ygam ~ x1 + x2", D).fit(cov_type=ct)
    assert f.cov_type == ct and covariance_line(f) == ["Covariance:", ct]
    assert rel(se(f), o.bse) < 1e-10


def test_ols_cluster_and_classical():
    f = thetahat.regress("ygam ~ x1 + x2", D, cov_type="cluster", groups="g")
    o = smf.ols("ygam ~ x1 + x2", D).fit(cov_type="cluster", cov_kwds={"groups": D.g})
    assert rel(se(f), o.bse) < 1e-10
    f = thetahat.regress("ygam ~ x1 + x2", D, cov_type="ols")
    o = smf.ols("ygam ~ x1 + x2", D).fit()
    assert rel(se(f), o.bse) < 1e-10
    assert rel(np.array(list(f.pvalues.values()))[:3], o.pvalues) < 1e-9
    ci = np.array(list(f.confint().values()))[:3]
    assert rel(ci, o.conf_int().to_numpy()) < 1e-10
    assert "P>|t|" in f.summary() and "Covariance:" in f.summary()
    # the MLE (observed) SEs are the classical ones times sqrt((n - p) / n)
    f0 = thetahat.regress("ygam ~ x1 + x2", D)
    assert rel(se(f0), o.bse * np.sqrt((N - 3) / N)) < 1e-10


def test_ols_model_statistics():
    f = thetahat.regress("ygam ~ x1 + x2", D)
    o = smf.ols("ygam ~ x1 + x2", D).fit()
    for a in ("rsquared", "rsquared_adj", "fvalue", "f_pvalue"):
        assert rel(getattr(f, a), getattr(o, a)) < 1e-10, a
    null = smf.ols("ygam ~ 1", D).fit()
    assert rel(f.llnull, null.llf) < 1e-12 and rel(f.llr, 2 * (o.llf - null.llf)) < 1e-10
    assert f.df_model == 2
    s = f.summary()
    assert "R-squared:" in s and "F statistic:" in s and "Null loglik:" in s


# ---- GLMs and count models: statsmodels ---------------------------------------------------
def _sm(name, ct):
    kw = {"cov_type": ct} if ct != "cluster" else {"cov_type": ct, "cov_kwds": {"groups": D.g}}
    model = {"probit": sm.Probit(D.ybin, X), "logit": sm.Logit(D.ybin, X), "poisson": sm.Poisson(D.ycount, X),
             "nb2": sm.NegativeBinomial(D.ycount, X)}[name]
    return model.fit(disp=0, method="newton", maxiter=200, tol=1e-14, **kw)


FAMILIES = {"probit": ("ybin", "bernoulli", "probit"), "logit": ("ybin", "bernoulli", "logit"),
            "poisson": ("ycount", "poisson", None), "nb2": ("ycount", "negative_binomial", None)}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_sandwich_and_cluster_against_statsmodels(name):
    yv, fam, link = FAMILIES[name]
    for ct in ("HC0", "cluster"):
        o = _sm(name, ct)
        f = thetahat.regress(f"{yv} ~ x1 + x2", D, family=fam, link=link, cov_type=ct,
                             groups="g" if ct == "cluster" else None)
        # NB2: statsmodels reports alpha, thetahat too (delta method from log alpha: the sandwich is invariant)
        assert rel(se(f, len(o.params)), o.bse) < 1e-8, (name, ct)
    # HC1 is HC0 times n / (n - p) (statsmodels' OLS factor; its non-OLS "HC1" is HC0 unscaled)
    f1 = thetahat.regress(f"{yv} ~ x1 + x2", D, family=fam, link=link, cov_type="HC1")
    assert rel(se(f1, len(o.params)), _sm(name, "HC0").bse * np.sqrt(N / (N - 3))) < 1e-8


@pytest.mark.parametrize("name", list(FAMILIES))
def test_null_model_statistics_against_statsmodels(name):
    yv, fam, link = FAMILIES[name]
    o = _sm(name, "nonrobust")
    f = thetahat.regress(f"{yv} ~ x1 + x2", D, family=fam, link=link)
    # statsmodels fits its null model to its own tolerance (about 1e-11 relative here)
    assert rel(f.llnull, o.llnull) < 1e-9
    assert rel(f.llr, o.llr) < 1e-8 and rel(f.llr_pvalue, o.llr_pvalue) < 1e-7
    assert rel(f.prsquared, o.prsquared) < 1e-9 and f.df_model == o.df_model
    assert "Pseudo R2:" in f.summary()
    with pytest.raises(OptionError, match="normal linear model"):
        f.rsquared


def test_gamma_glm_sandwich_and_null_model():
    for ct in ("HC0", "cluster"):
        kw = {"groups": D.g} if ct == "cluster" else {}
        o = sm.GLM(D.ygam, X, family=sm.families.Gamma(sm.families.links.Log())).fit(cov_type=ct, cov_kwds=kw,
                                                                                     tol=1e-14)
        f = thetahat.regress("ygam ~ x1 + x2", D, family="gamma", cov_type=ct, groups="g" if ct == "cluster" else None)
        assert rel(se(f), o.bse) < 1e-8, ct
    # the null gamma model by maximum likelihood (shape and scale): scipy.stats.gamma.fit with loc = 0
    a, _, scale = ss.gamma.fit(D.ygam, floc=0)
    ll0 = float(np.sum(ss.gamma.logpdf(D.ygam, a, scale=scale)))
    assert rel(f.llnull, ll0) < 1e-8


# ---- expected information: R's glm and glm.nb ---------------------------------------------
@pytest.mark.parametrize("model, yv, fam, link, tol", [
    ("probit", "ybin", "bernoulli", "probit", 1e-8),
    # R clamps the cloglog mean to [eps, 1 - eps] and warns "fitted probabilities numerically 0 or 1":
    # its estimates agree to 2e-8 only
    ("cloglog", "ybin", "bernoulli", "cloglog", 1e-7),
    ("gamma_log", "ygam", "gamma", "log", 1e-8),
    ("nb2", "ycount", "negative_binomial", None, 1e-8),
])
def test_expected_information_matches_r(model, yv, fam, link, tol):
    r = REF[REF.model == model]
    f = thetahat.regress(f"{yv} ~ x1 + x2", D, family=fam, link=link, cov_type="expected")
    fo = thetahat.regress(f"{yv} ~ x1 + x2", D, family=fam, link=link)
    assert rel(se(f), r.se.to_numpy()[:3]) < tol
    assert rel(se(fo), r.se.to_numpy()[:3]) > 1e-4  # observed differs (non-canonical link, or NB2's alpha)
    assert covariance_line(f) == ["Covariance:", "expected"] and "covariance=expected" in repr(f)
    if model == "nb2":  # alpha = 1/theta; glm.nb's SE of theta from theta's own observed information
        th, se_th = r.estimate.to_numpy()[3], r.se.to_numpy()[3]
        assert rel(f.params["alpha"], 1 / th) < 1e-8
        assert rel(f.bse["alpha"], se_th / th ** 2) < 1e-7  # glm.nb stops theta.ml at its own tolerance


def test_expected_equals_observed_for_canonical_links():
    for yv, fam in (("ybin", "bernoulli"), ("ycount", "poisson")):
        f = thetahat.regress(f"{yv} ~ x1 + x2", D, family=fam, cov_type="expected")
        assert rel(se(f), _sm("logit" if fam == "bernoulli" else "poisson", "nonrobust").bse) < 1e-8


def test_frequency_weights_are_copies_of_rows():
    # a row of weight w is w copies of the row: statsmodels on the expanded data is the reference
    w = (np.arange(N) % 3 + 1).astype(float)
    big = D.loc[D.index.repeat(w.astype(int))].reset_index(drop=True)
    Xb = sm.add_constant(big[["x1", "x2"]])
    for ct in ("HC0", "HC1", "cluster"):
        kw = {"cov_kwds": {"groups": big.g}} if ct == "cluster" else {}
        o = sm.Poisson(big.ycount, Xb).fit(disp=0, method="newton", tol=1e-14, cov_type="HC0" if ct == "HC1" else ct,
                                           **kw)
        f = thetahat.regress("ycount ~ x1 + x2", D.assign(w=w), family="poisson", weights="w", cov_type=ct,
                             groups="g" if ct == "cluster" else None)
        factor = np.sqrt(len(big) / (len(big) - 3)) if ct == "HC1" else 1.0
        assert rel(se(f), o.bse * factor) < 1e-8, ct
    with pytest.raises(OptionError, match="frequency weights"):
        thetahat.regress("ygam ~ x1", D.assign(w=w), weights="w", cov_type="HC2")


def test_expected_for_dispersion_families_matches_statsmodels_glm():
    # statsmodels' GLM (IRLS: the expected information, scale = Pearson chi2 / df_resid) is R's definition too
    for fam, smfam in (("inverse_gaussian", sm.families.InverseGaussian), ("gamma", sm.families.Gamma)):
        o = sm.GLM(D.ygam, X, family=smfam(sm.families.links.Log())).fit(tol=1e-14)
        f = thetahat.regress("ygam ~ x1 + x2", D, family=fam, cov_type="expected")
        assert rel(se(f), o.bse) < 1e-8, fam
    n = (D.ycount + 3).to_numpy()  # binomial with trials: statsmodels GLM on (successes, failures)
    o = sm.GLM(np.column_stack([D.ycount, n - D.ycount]), X,
               family=sm.families.Binomial(sm.families.links.Probit())).fit(tol=1e-14)
    f = thetahat.regress("ycount ~ x1 + x2", D.assign(n=n), family="binomial", link="probit", trials="n",
                         cov_type="expected")
    assert rel(se(f), o.bse) < 1e-8
    f = thetahat.regress("ygam ~ x1 + x2", D, cov_type="expected")  # the normal: R's glm gaussian, the OLS SEs
    assert rel(se(f), smf.ols("ygam ~ x1 + x2", D).fit().bse) < 1e-10


def test_multinomial_sandwich_against_statsmodels():
    cls = np.digitize(D.ygam, [1.2, 2.5])
    o = sm.MNLogit(cls, X).fit(disp=0, method="newton", tol=1e-14, cov_type="HC0")
    f = thetahat.regress("cls ~ x1 + x2", D.assign(cls=cls), family="multinomial", cov_type="HC0")
    assert rel(list(f.bse.values()), o.bse.to_numpy().T.reshape(-1)) < 1e-8
    with pytest.raises(OptionError, match="one linear predictor"):
        f.llnull


def test_censored_weibull_sandwich_against_lifelines():
    from lifelines import WeibullAFTFitter

    d = D.assign(e=(D.ygam < 4).astype(int), t=np.minimum(D.ygam, 4.0))
    a = WeibullAFTFitter().fit(d[["t", "e", "x1", "x2"]], "t", "e", robust=True).summary
    f = thetahat.regress("t ~ x1 + x2", d, family="weibull", event="e", cov_type="HC0")
    lam = a.loc["lambda_"]
    ref = [lam.loc["Intercept", "se(coef)"], lam.loc["x1", "se(coef)"], lam.loc["x2", "se(coef)"]]
    # lifelines stops its optimiser at its own tolerance: its estimates agree to about 1e-5 relative
    assert rel(f.params["x1"], lam.loc["x1", "coef"]) < 1e-4
    assert rel(se(f), ref) < 1e-5
    # rho_ is log shape: its robust SE is the shape's over the shape (delta method)
    assert rel(f.bse["shape"] / f.params["shape"], a.loc[("rho_", "Intercept"), "se(coef)"]) < 1e-5


# ---- errors -----------------------------------------------------------------------------------
def test_bad_cov_type_options():
    with pytest.raises(OptionError, match="unknown cov_type"):
        thetahat.regress("ygam ~ x1", D, cov_type="sandwich")
    with pytest.raises(OptionError, match="needs groups="):
        thetahat.regress("ygam ~ x1", D, cov_type="cluster")
    with pytest.raises(OptionError, match="groups= applies"):
        thetahat.regress("ygam ~ x1", D, groups="g")
    with pytest.raises(OptionError, match="normal linear model"):
        thetahat.regress("ybin ~ x1", D, family="bernoulli", cov_type="HC3")
    with pytest.raises(OptionError, match="penalty"):
        thetahat.regress("ybin ~ x1", D, family="bernoulli", penalty="l2", lam=1.0, cov_type="HC0")
    with pytest.raises(OptionError, match="GLM families"):
        thetahat.regress("ygam ~ x1", D, family="weibull", cov_type="expected")
    with pytest.raises(OptionError, match="censored rows"):
        thetahat.regress("ygam ~ x1", D.assign(e=(D.ygam < 4).astype(int)), family="gamma", event="e",
                         cov_type="expected")
    g = D.g.astype(float).to_numpy().copy()
    g[7] = np.nan
    with pytest.raises(DataError, match="groups at data row 8"):
        thetahat.regress("ygam ~ x1", D, cov_type="cluster", groups=g)
    f = thetahat.regress(np.column_stack([np.ones(N), D.x1]), y=D.ygam.to_numpy(), cov_type="cluster",
                         groups=D.g.astype(str).to_numpy(), dropna=True)
    o = sm.OLS(D.ygam, X[["const", "x1"]]).fit(cov_type="cluster", cov_kwds={"groups": D.g})
    assert rel(se(f, 2), o.bse) < 1e-10


def test_streamed_regression_refuses_robust_cov(tmp_path):
    path = tmp_path / "d.csv"
    D.to_csv(path, index=False)
    with pytest.raises(OptionError, match="in memory"):
        thetahat.regress("ygam ~ x1", str(path), cov_type="HC1")


def test_cli_cov_type(tmp_path, capsys):
    import json

    from thetahat.cli.main import main

    path = tmp_path / "d.csv"
    D.to_csv(path, index=False)
    code = main(["regress", str(path), "ycount ~ x1 + x2", "--family", "poisson", "--cov-type", "cluster",
                 "--groups", "g", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    d = json.loads(out)
    assert d["cov_type"] == "cluster"
    assert rel([c["se"] for c in d["coefficients"]], _sm("poisson", "cluster").bse) < 1e-8
    code = main(["regress", str(path), "ycount ~ x1", "--cov-type", "sandwich"])
    out, err = capsys.readouterr()
    assert code != 0 and "unknown cov_type 'sandwich'" in err
