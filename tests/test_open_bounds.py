"""Missing interval bounds as open ends (R's Surv(type="interval2"), fitdistrplus): NaN or None
in ``lower`` is -inf (left-censored), in ``upper`` +inf (right-censored).

The same data written with explicit infinities are fitted by lifelines'
WeibullFitter.fit_interval_censoring (run to convergence); the NaN/None forms must
give its estimates and log-likelihood, and keep every row.
"""

import warnings

import numpy as np
import pytest
from scipy import stats as st

import thetahat
from thetahat.errors import DataError, NonFiniteDataError

lifelines = pytest.importorskip("lifelines")
TIGHT = {"ftol": 1e-15, "gtol": 1e-11, "maxiter": 10000}


@pytest.fixture(scope="module")
def design():
    rng = np.random.default_rng(31)
    t = st.weibull_min(1.7, scale=4.0).rvs(240, random_state=rng)
    kind = rng.integers(0, 4, 240)
    lo = np.floor(t)
    # 0 exact, 1 right-censored (open upper end, at a positive time), 2 left-censored (open lower end), 3 interval
    lower = np.select([kind == 0, kind == 1, kind == 2], [t, np.maximum(lo, 0.5), np.nan], lo)
    upper = np.select([kind == 0, kind == 1, kind == 2], [t, np.nan, np.ceil(t)], lo + 1)
    return lower, upper


@pytest.fixture(scope="module")
def lifelines_fit(design):
    lower, upper = design
    lf = lifelines.WeibullFitter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # lifelines' form: 0 for an open lower end of a positive variable, inf for an open upper end
        lf.fit_interval_censoring(np.nan_to_num(lower, nan=0.0), np.nan_to_num(upper, nan=np.inf),
                                  fit_options=TIGHT)
    return lf


def _same_as_lifelines(f, lf, n):
    assert f.nobs == n  # no row dropped
    assert f.loglik == pytest.approx(lf.log_likelihood_, rel=1e-7)
    assert f.loglik >= lf.log_likelihood_ - 1e-9
    assert f.params["shape"] == pytest.approx(lf.rho_, rel=1e-6)
    assert f.params["scale"] == pytest.approx(lf.lambda_, rel=1e-6)
    assert f.se["shape"] == pytest.approx(lf.summary.loc["rho_", "se(coef)"], rel=1e-4)


def test_nan_bounds_are_open_ends(design, lifelines_fit):
    lower, upper = design
    assert np.isnan(lower).sum() > 40 and np.isnan(upper).sum() > 40
    f = thetahat.fit(None, "weibull", lower=lower, upper=upper)
    _same_as_lifelines(f, lifelines_fit, lower.size)
    # the same rows written with explicit infinities: the same fit
    g = thetahat.fit(None, "weibull", lower=np.nan_to_num(lower, nan=-np.inf), upper=np.nan_to_num(upper, nan=np.inf))
    assert g.loglik == pytest.approx(f.loglik, rel=1e-13)


def test_none_and_pandas_missing_are_open_ends(design, lifelines_fit):
    lower, upper = design
    lo_obj = np.array([None if np.isnan(v) else v for v in lower], dtype=object)
    up_obj = [None if np.isnan(v) else float(v) for v in upper]
    _same_as_lifelines(thetahat.fit(None, "weibull", lower=lo_obj, upper=up_obj), lifelines_fit, lower.size)
    pd = pytest.importorskip("pandas")
    lo_pd = pd.Series(lower).astype("Float64")  # pandas' NA
    assert lo_pd.isna().sum() == np.isnan(lower).sum()
    _same_as_lifelines(thetahat.fit(None, "weibull", lower=lo_pd, upper=pd.Series(upper)), lifelines_fit, lower.size)


def test_compare_reads_nan_bounds_as_open_ends(design, lifelines_fit):
    lower, upper = design
    c = thetahat.compare(None, ["weibull", "lognormal"], lower=lower, upper=upper)
    assert c.fits["weibull"].loglik == pytest.approx(lifelines_fit.log_likelihood_, rel=1e-7)


def test_both_bounds_missing_is_an_error_naming_the_row():
    lower = [1.0, 2.0, np.nan, 0.5]
    upper = [2.0, np.nan, np.nan, 1.5]
    with pytest.raises(NonFiniteDataError, match="data row 3"):
        thetahat.fit(None, "weibull", lower=lower, upper=upper)
    # with dropna the row is dropped and counted; the rest is the fit of the three other rows
    f = thetahat.fit(None, "weibull", lower=lower, upper=upper, dropna=True)
    g = thetahat.fit(None, "weibull", lower=[1.0, 2.0, 0.5], upper=[2.0, np.inf, 1.5])
    assert f.dropped == 1 and f.nobs == 3
    assert f.loglik == pytest.approx(g.loglik, rel=1e-12)
    with pytest.raises(DataError, match="data row 2"):
        thetahat.fit(None, "weibull", lower=[1.0, -np.inf], upper=[2.0, np.nan])


def test_a_row_open_at_the_support_edge_and_above_adds_nothing(design):
    # (0, NaN] for a weibull: X > 0 is certain, the row's term is 0 (and its derivatives finite)
    lower, upper = design
    f = thetahat.fit(None, "weibull", lower=np.r_[lower, 0.0], upper=np.r_[upper, np.nan])
    g = thetahat.fit(None, "weibull", lower=lower, upper=upper)
    assert f.nobs == g.nobs + 1
    assert f.loglik == pytest.approx(g.loglik, rel=1e-12)
    assert f.params["shape"] == pytest.approx(g.params["shape"], rel=1e-9)
    assert f.se["scale"] == pytest.approx(g.se["scale"], rel=1e-7)
