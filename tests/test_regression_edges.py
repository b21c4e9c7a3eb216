"""Regression at the edges: tobit responses beyond a limit (AER's clipping, and the censored-normal
likelihood maximised by scipy), predict() on unseen levels and missing values (statsmodels'
predict for the known ones), a factor with one level (refused, as R refuses it), and None as a
missing value in object arrays (statsmodels on the complete rows)."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from scipy.optimize import minimize

import thetahat
from thetahat.errors import DataError, DegenerateDataError, NonFiniteDataError

RNG = np.random.default_rng(2026)
N = 300
X1 = RNG.normal(size=N)
XM = np.column_stack([np.ones(N), X1])
LATENT = 0.4 + 0.8 * X1 + RNG.normal(size=N)


def _censored_normal_mle(y, left, right):
    """The tobit MLE by scipy: observed rows by the normal density, rows at a limit by its tail."""
    def nll(th):
        e, s = XM @ th[:2], np.exp(th[2])
        ll = np.where(y <= left, stats.norm.logcdf((left - e) / s),
                      np.where(y >= right, stats.norm.logsf((right - e) / s), stats.norm.logpdf(y, e, s)))
        return -np.sum(ll)

    o = minimize(nll, np.zeros(3), method="BFGS", options={"gtol": 1e-10})
    return np.r_[o.x[:2], np.exp(o.x[2])], -o.fun


@pytest.mark.parametrize("left, right", [(0.0, None), (None, 1.5), (-0.5, 1.2)])
def test_tobit_beyond_the_limits_is_censored_at_them(left, right):
    """Responses beyond a limit fit as AER::tobit fits them: the same as the response clipped."""
    lo, hi = (-np.inf if left is None else left), (np.inf if right is None else right)
    assert (LATENT < lo).any() or (LATENT > hi).any()
    f = thetahat.regress(XM, y=LATENT, family="tobit", left=left, right=right)
    clipped = np.clip(LATENT, lo, hi)
    g = thetahat.regress(XM, y=clipped, family="tobit", left=left, right=right)
    np.testing.assert_allclose(f.estimates, g.estimates, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(f.se, g.se, rtol=1e-10)
    est, ll = _censored_normal_mle(clipped, lo, hi)
    np.testing.assert_allclose(f.loglik, ll, rtol=1e-9)
    assert f.loglik >= ll - 1e-8
    np.testing.assert_allclose(f.estimates, est, rtol=1e-5, atol=1e-7)


def test_tobit_limits_in_the_wrong_order_are_refused():
    with pytest.raises(thetahat.errors.OptionError, match="must be below the right one"):
        thetahat.regress(XM, y=LATENT, family="tobit", left=1.0, right=0.0)


# ---- predict on new data ------------------------------------------------------------------------
DF = pd.DataFrame({"x": RNG.uniform(0.5, 3, N), "g": RNG.choice(["a", "b", "c"], N)})
DF["y"] = 1 + 0.5 * DF.x + np.where(DF.g == "b", 0.7, 0.0) + RNG.normal(scale=0.5, size=N)
DF["count"] = RNG.poisson(np.exp(0.1 + 0.3 * DF.x - 0.4 * (DF.g == "c")))
NEW = pd.DataFrame({"x": [0.7, 1.5, 2.9, 1.1], "g": ["c", "a", "b", "c"]})


@pytest.mark.parametrize("family, fitter", [("normal", smf.ols), ("poisson", None)])
def test_predict_known_levels_as_statsmodels(family, fitter):
    yname = "y" if family == "normal" else "count"
    formula = f"{yname} ~ np.log(x) + C(g)"
    f = thetahat.regress(formula, DF, family=family)
    if fitter is None:
        import statsmodels.api as sm

        r = smf.glm(formula, DF, family=sm.families.Poisson()).fit(tol=1e-13)
    else:
        r = fitter(formula, DF).fit()
    np.testing.assert_allclose(f.predict(NEW), r.predict(NEW).to_numpy(), rtol=1e-8)


def test_predict_refuses_an_unseen_level():
    f = thetahat.regress("y ~ x + C(g)", DF)
    new = NEW.assign(g=["a", "b", "zz", "c"])
    with pytest.raises(DataError, match=r"C\(g\) has level 'zz' at data row 3 \(counting from 1\), which the fit "
                                        r"did not see \(levels: a, b, c\)"):
        f.predict(new)


@pytest.mark.parametrize("column, value", [("x", np.nan), ("x", None), ("g", None), ("g", np.nan)])
def test_predict_refuses_a_missing_value(column, value):
    f = thetahat.regress("y ~ x + C(g)", DF)
    new = NEW.astype(object)
    new.loc[1, column] = value
    with pytest.raises(NonFiniteDataError, match=rf"missing value in column '{column}' at data row 2 "):
        f.predict(new)


# ---- a factor with one level --------------------------------------------------------------------
@pytest.mark.parametrize("term", ["C(g)", "g"])
def test_one_level_factor_is_refused_as_in_r(term):
    """R's lm: 'contrasts can be applied only to factors with 2 or more levels'."""
    with pytest.raises(DegenerateDataError, match=rf"^{term.replace('(', r'[(]').replace(')', r'[)]')} has one "
                                                   r"level in the data \(a\)"):
        thetahat.regress(f"y ~ x + {term}", DF.assign(g="a"))


def test_one_level_factor_without_intercept_is_the_intercept():
    f = thetahat.regress("y ~ C(g) - 1", DF.assign(g="a"))
    assert f.names[:1] == ("C(g)[a]",)
    assert f.params["C(g)[a]"] == pytest.approx(DF.y.mean(), rel=1e-12)


# ---- None is missing --------------------------------------------------------------------------
def _with_none(column, rows):
    d = {c: DF[c].to_numpy().astype(object) if c == column else DF[c].to_numpy() for c in ("x", "g", "y")}
    d[column][rows] = None
    return d


@pytest.mark.parametrize("column", ["x", "y", "g"])
def test_none_in_an_object_column_is_missing(column):
    rows = [4, 17, 30]
    data = _with_none(column, rows)
    with pytest.raises(NonFiniteDataError, match=rf"'{column}' at data row 5 \(3 such rows"):
        thetahat.regress("y ~ x + C(g)", data)
    f = thetahat.regress("y ~ x + C(g)", data, dropna=True)
    r = smf.ols("y ~ x + C(g)", DF.drop(index=rows)).fit()
    assert f.dropped == 3 and f.nobs == N - 3
    np.testing.assert_allclose([f.params[k] for k in r.params.index], r.params.to_numpy(), rtol=1e-10)


def test_none_in_object_matrix_and_response():
    X = np.column_stack([np.ones(N), DF.x.to_numpy()]).astype(object)
    y = DF.y.to_numpy().astype(object)
    X[5, 1], y[9] = None, None
    with pytest.raises(NonFiniteDataError, match="at data row 6"):
        thetahat.regress(X, y=y)
    f = thetahat.regress(X, y=y, dropna=True)
    r = smf.ols("y ~ x", DF.drop(index=[5, 9])).fit()
    assert f.dropped == 2
    np.testing.assert_allclose(f.estimates[:2], r.params.to_numpy(), rtol=1e-10)
