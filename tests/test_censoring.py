"""Censored and truncated fits against lifelines' parametric fitters, scipy's CensoredData, and formulas."""

import warnings

import numpy as np
import pytest
from scipy import stats as st

import thetahat
from thetahat.errors import DataError, OptionError, SupportError

lifelines = pytest.importorskip("lifelines")
TIGHT = {"ftol": 1e-15, "gtol": 1e-11, "maxiter": 10000}  # lifelines' L-BFGS-B, run to convergence


@pytest.fixture(scope="module")
def right_censored():
    rng = np.random.default_rng(21)
    t = st.weibull_min(1.6, scale=10.0).rvs(300, random_state=rng)
    c = rng.uniform(2, 25, 300)
    return np.minimum(t, c), (t <= c).astype(float)


def _quiet(fitter, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fitter.fit(*args, **kw) if not kw.get("_interval") else fitter


@pytest.mark.parametrize("family,make,names", [
    ("weibull", lambda: lifelines.WeibullFitter(), {"shape": "rho_", "scale": "lambda_"}),
    ("exponential", lambda: lifelines.ExponentialFitter(), {"lam": "lambda_"}),
    ("lognormal", lambda: lifelines.LogNormalFitter(), {"mu": "mu_", "sigma": "sigma_"}),
])
def test_right_censored_fits_match_lifelines(right_censored, family, make, names):
    x, e = right_censored
    f = thetahat.fit(x, family, event=e)
    lf = _quiet(make(), x, event_observed=e, fit_options=TIGHT)
    assert f.loglik == pytest.approx(lf.log_likelihood_, rel=1e-6)
    for ours, theirs in names.items():
        val, se = getattr(lf, theirs), lf.summary.loc[theirs, "se(coef)"]
        if family == "exponential":  # lifelines' lambda_ is the mean 1/rate
            d = f.transform(lambda p: 1 / p["lam"])
            assert d.estimate == pytest.approx(val, rel=1e-6)
            assert d.se == pytest.approx(se, rel=1e-4)
        else:
            assert f.params[ours] == pytest.approx(val, rel=1e-6)
            assert f.se[ours] == pytest.approx(se, rel=1e-4)


def test_exponential_right_censoring_closed_form(right_censored):
    x, e = right_censored
    f = thetahat.fit(x, "exponential", event=e)
    lam = e.sum() / x.sum()  # events over total time at risk
    assert f.params["lam"] == pytest.approx(lam, rel=1e-10)
    assert f.se["lam"] == pytest.approx(lam / np.sqrt(e.sum()), rel=1e-8)


def test_left_and_interval_censoring_match_lifelines():
    rng = np.random.default_rng(22)
    t = st.weibull_min(2.0, scale=5.0).rvs(250, random_state=rng)
    # left-censoring at a detection limit
    limit = 2.5
    obs = np.maximum(t, limit)
    seen = (t > limit).astype(float)
    lf = lifelines.WeibullFitter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lf.fit_left_censoring(obs, event_observed=seen, fit_options=TIGHT)
    lower = np.where(seen == 1, obs, -np.inf)
    f = thetahat.fit(None, "weibull", lower=lower, upper=obs)
    assert f.loglik == pytest.approx(lf.log_likelihood_, rel=1e-6)
    assert f.loglik >= lf.log_likelihood_ - 1e-9
    assert f.params["shape"] == pytest.approx(lf.rho_, rel=1e-6)
    assert f.se["scale"] == pytest.approx(lf.summary.loc["lambda_", "se(coef)"], rel=1e-4)
    # interval censoring: inspections every 2 time units
    lo, hi = np.floor(t / 2) * 2, np.floor(t / 2) * 2 + 2
    li = lifelines.WeibullFitter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        li.fit_interval_censoring(np.where(lo == 0, 0.0, lo), hi, fit_options=TIGHT)
    g = thetahat.fit(None, "weibull", lower=lo, upper=hi)
    assert g.loglik == pytest.approx(li.log_likelihood_, rel=1e-6)
    assert g.loglik >= li.log_likelihood_ - 1e-9
    assert g.params["scale"] == pytest.approx(li.lambda_, rel=1e-6)
    assert g.se["shape"] == pytest.approx(li.summary.loc["rho_", "se(coef)"], rel=1e-4)


def test_censored_fit_matches_scipy_censoreddata(right_censored):
    x, e = right_censored
    data = st.CensoredData(uncensored=x[e == 1], right=x[e == 0])
    c, _, scale = st.weibull_min.fit(data, floc=0)
    f = thetahat.fit(x, "weibull", event=e)

    def ll(c, s):
        d = st.weibull_min(c, scale=s)
        return d.logpdf(x[e == 1]).sum() + d.logsf(x[e == 0]).sum()

    assert f.loglik == pytest.approx(ll(f.params["shape"], f.params["scale"]), rel=1e-12)
    assert f.loglik >= ll(c, scale) - 1e-9
    assert f.params["shape"] == pytest.approx(c, rel=1e-4)  # scipy's optimiser stops near 1e-5


def test_truncated_normal_matches_scipy_truncnorm():
    rng = np.random.default_rng(23)
    a, b = 0.0, 4.0
    x = st.truncnorm((a - 1) / 2, (b - 1) / 2, loc=1, scale=2).rvs(400, random_state=rng)
    f = thetahat.fit(x, "normal", truncate=(a, b))
    mu, s = f.params["mu"], f.params["sigma"]
    ll = st.truncnorm((a - mu) / s, (b - mu) / s, loc=mu, scale=s).logpdf(x).sum()
    assert f.loglik == pytest.approx(ll, rel=1e-12)
    # the maximum: a generic optimiser from our answer cannot do better
    from scipy.optimize import minimize

    r = minimize(lambda t: -st.truncnorm((a - t[0]) / t[1], (b - t[0]) / t[1], loc=t[0], scale=t[1]).logpdf(x).sum(),
                 [mu * 1.1, s * 0.9], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12})
    assert -r.fun <= f.loglik + 1e-8
    assert f.params["mu"] == pytest.approx(r.x[0], rel=1e-4)


def test_zero_truncated_poisson():
    rng = np.random.default_rng(24)
    k = rng.poisson(1.3, 5000)
    k = k[k > 0]
    f = thetahat.fit(k, "poisson", truncate=(1, np.inf))
    # score equation of the zero-truncated poisson: mean = lam / (1 - exp(-lam))
    lam = f.params["lam"]
    assert k.mean() == pytest.approx(lam / (1 - np.exp(-lam)), rel=1e-9)


def test_censoring_flows_through_bootstrap_and_profile(right_censored):
    x, e = right_censored
    f = thetahat.fit(x, "weibull", event=e)
    b = f.confint(method="bootstrap", kind="nonparametric", n_boot=300, seed=2)
    w = f.confint()
    for k in ("shape", "scale"):
        assert b[k][0] < f.params[k] < b[k][1]
        assert abs(b[k][1] - b[k][0]) == pytest.approx(w[k][1] - w[k][0], rel=0.3)
    p = f.confint(method="profile")
    assert p["shape"][0] < f.params["shape"] < p["shape"][1]


def test_parametric_bootstrap_redraws_the_right_censoring_design():
    # censored exponential: the MLE is d / T (events over time at risk). A hand-written loop
    # draws values from the fit and censoring times from lifelines' Kaplan-Meier estimate of
    # the censoring distribution, and takes d / T: its spread must match thetahat's parametric
    # bootstrap (and both the Wald SE) within Monte Carlo error.
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(8)
    t, c = rng.exponential(2.0, 300), rng.uniform(0.5, 6.0, 300)
    x, e = np.minimum(t, c), (t <= c).astype(float)
    f = thetahat.fit(x, "exponential", event=e)
    b = f.bootstrap(2000, seed=4)
    assert b.n_failed == 0
    sd = np.std(b.replicates["lam"], ddof=1)
    km = KaplanMeierFitter().fit(x, 1 - e)  # censoring is the "event" of the reverse estimate
    times = km.survival_function_.index.to_numpy()
    surv = km.survival_function_.to_numpy().ravel()
    mass = np.clip(-np.diff(np.r_[1.0, surv[1:]]), 0, None)
    support = np.r_[times[1:], np.inf]
    prob = np.r_[mass, surv[-1]]
    prob = prob / prob.sum()
    lam = f.params["lam"]
    ref = []
    for _ in range(2000):
        xs = rng.exponential(1 / lam, 300)
        cs = support[rng.choice(support.size, 300, p=prob)]
        ref.append(np.sum(xs <= cs) / np.minimum(xs, cs).sum())
    sd_ref = np.std(ref, ddof=1)
    assert sd == pytest.approx(sd_ref, rel=4 * np.sqrt(2 / 2000))  # two SDs from 2000 draws each
    assert sd == pytest.approx(f.se["lam"], rel=0.1)
    # truncation: values drawn from the truncated fit; spread as the Wald SE (formula check)
    y = rng.exponential(2.0, 2000)
    y = y[y > 0.5][:400]
    g = thetahat.fit(y, "exponential", truncate=(0.5, np.inf))
    bt = g.bootstrap(1000, seed=5)
    assert np.std(bt.replicates["lam"], ddof=1) == pytest.approx(g.se["lam"], rel=0.1)
    # interval censoring: the inspection process is not in the data -- refused, with the alternative
    lo = np.floor(t)
    h = thetahat.fit(None, "exponential", lower=lo, upper=lo + 1)
    with pytest.raises(OptionError, match="nonparametric"):
        h.bootstrap(100, kind="parametric")


def test_bad_censoring_input():
    with pytest.raises(DataError, match="reversed"):
        thetahat.fit(None, "weibull", lower=[1.0, 3.0], upper=[2.0, 2.0])
    with pytest.raises(DataError, match="event"):
        thetahat.fit([1.0, 2.0, 3.0], "weibull", event=[1, 2, 0])
    with pytest.raises(SupportError):
        thetahat.fit([1.0, -2.0, 3.0], "weibull", event=[1, 0, 1])
    with pytest.raises(SupportError, match="truncation"):
        thetahat.fit([1.0, 5.0, 3.0], "normal", truncate=(0, 4))
    with pytest.raises(OptionError):
        thetahat.fit([1.0, 2.0], "normal", truncate=(3, 1))
    with pytest.raises(DataError):
        thetahat.fit([1.0, 2.0, 3.0], "weibull", event=[0, 0, 0])
