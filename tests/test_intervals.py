"""Profile, bootstrap and delta-method inference against R, explicit profiles, scipy and known formulas."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize, special, stats as st

import thetahat
from thetahat.errors import OptionError


@pytest.fixture(scope="module")
def rivers():
    import pyarrow.csv as pc

    t = pc.read_csv("tests/data/rivers.csv")
    return t.column("x").to_numpy().astype(float)


def test_weibull_profile_intervals_match_r_stats4(rivers):
    # R: confint(mle(...)) on rivers with a weibull; tests/data/R_README.md
    ci = thetahat.fit(rivers, "weibull").confint(0.95, method="profile")
    assert ci.method == "profile" and not ci.notes
    np.testing.assert_allclose(ci["shape"], (1.2814, 1.6000), rtol=1e-3)
    np.testing.assert_allclose(ci["scale"], (583.26, 745.63), rtol=1e-3)


def _explicit_gamma_profile(x, shape):
    """Gamma profile over the rate: rate-hat(shape) = shape / mean, closed form."""
    n, m, sl = x.size, x.mean(), np.log(x).sum()
    rate = shape / m
    return n * (shape * np.log(rate) - special.gammaln(shape)) + (shape - 1) * sl - rate * x.sum()


def test_profile_interval_agrees_with_a_brute_force_grid():
    x = np.random.default_rng(11).gamma(1.8, 2.0, 60)
    f = thetahat.fit(x, "gamma")
    lo, hi = f.confint(method="profile")["shape"]
    grid = np.linspace(0.5 * f.params["shape"], 2.0 * f.params["shape"], 400001)
    dev = 2 * (f.loglik - _explicit_gamma_profile(x, grid)) - st.chi2.ppf(0.95, 1)
    inside = grid[dev <= 0]
    assert lo == pytest.approx(inside.min(), abs=1e-4)
    assert hi == pytest.approx(inside.max(), abs=1e-4)
    # and the curve itself equals the explicit profile
    prof = f.profile("shape", points=15)
    np.testing.assert_allclose(prof.loglik, _explicit_gamma_profile(x, prof.values), rtol=1e-10)


@pytest.mark.parametrize("mean", [3.0, 1000.0, -5e4])
def test_normal_mean_profile_interval_is_the_explicit_one(mean):
    # (a real parameter far from 0 once had its upper side called open: the limit of |u| <= 30
    # meant for log and logit coordinates was applied to it)
    x = np.random.default_rng(2).normal(mean, 1.5, 25)
    n = x.size
    ci = thetahat.fit(x, "normal").confint(method="profile")
    lo, hi = ci["mu"]
    # profile: n/2 log(1 + (mu - xbar)^2 / s2) <= chi2/2, s2 with divisor n
    s2 = x.var()
    half = np.sqrt(s2 * (np.exp(st.chi2.ppf(0.95, 1) / n) - 1))
    np.testing.assert_allclose([lo, hi], [x.mean() - half, x.mean() + half], rtol=1e-9)
    assert not any("open" in note for note in ci.notes)


def test_delta_method_exponential_mean_and_finite_differences():
    x = np.random.default_rng(3).exponential(2.0, 300)
    f = thetahat.fit(x, "exponential")
    m = f.transform(lambda p: 1 / p["lam"], name="mean")
    assert m.estimate == pytest.approx(x.mean(), rel=1e-12)
    assert m.se == pytest.approx(x.mean() / np.sqrt(x.size), rel=1e-10)  # known formula
    # profile intervals are invariant: the mean's interval is 1 / (the rate's), reversed
    lam_lo, lam_hi = f.confint(method="profile")["lam"]
    np.testing.assert_allclose(m.confint(method="profile"), (1 / lam_hi, 1 / lam_lo), rtol=1e-8)
    g = thetahat.fit(np.random.default_rng(4).gamma(2.0, 1.5, 200), "gamma")
    fun = lambda p: p["shape"] / p["rate"]  # noqa: E731
    d = g.transform(fun)
    # finite-difference gradient with the same covariance
    th = np.array([g.params["shape"], g.params["rate"]])
    eps = 1e-6 * th
    grad = np.array([(fun({"shape": th[0] + eps[0], "rate": th[1]}) - fun({"shape": th[0] - eps[0], "rate": th[1]}))
                     / (2 * eps[0]),
                     (fun({"shape": th[0], "rate": th[1] + eps[1]}) - fun({"shape": th[0], "rate": th[1] - eps[1]}))
                     / (2 * eps[1])])
    assert d.se == pytest.approx(np.sqrt(grad @ g.cov @ grad), rel=1e-6)


def test_quantile_transform_profile_against_constrained_scipy():
    """Profile interval of a weibull quantile vs a brute-force constrained optimisation."""
    x = st.weibull_min(1.5, scale=3.0).rvs(80, random_state=5)
    f = thetahat.fit(x, "weibull")
    q90 = lambda p: p["scale"] * (-jnp.log(0.1)) ** (1 / p["shape"])  # noqa: E731
    lo, hi = f.transform(q90, "q90").confint(method="profile")

    def prof(q):  # maximise over shape with scale solved from the constraint
        def negll(c):
            scale = q / (-np.log(0.1)) ** (1 / c)
            return -st.weibull_min(c, scale=scale).logpdf(x).sum()
        r = optimize.minimize_scalar(negll, bounds=(0.2, 10), method="bounded", options={"xatol": 1e-12})
        return -r.fun

    crit = st.chi2.ppf(0.95, 1)
    est = float(q90(f.params))
    lo_ref = optimize.brentq(lambda q: 2 * (f.loglik - prof(q)) - crit, est * 0.5, est, xtol=1e-10)
    hi_ref = optimize.brentq(lambda q: 2 * (f.loglik - prof(q)) - crit, est, est * 2, xtol=1e-10)
    np.testing.assert_allclose([lo, hi], [lo_ref, hi_ref], rtol=1e-6)


def test_open_profile_side_is_reported():
    x = np.random.default_rng(6).normal(0, 1, 150)  # a t fit to normal data: df runs to infinity
    f = thetahat.fit(x, "t")
    assert f.converged and f.params["df"] > 1e4
    ci = f.confint(method="profile")
    lo, hi = ci["df"]
    assert hi == np.inf and any("open" in n and "upper" in n for n in ci.notes)
    assert not any("lower" in n for n in ci.notes)
    # the closed side: where scipy's profile (loc and scale refitted with df fixed) meets the cutoff;
    # the Wald step in log df is huge here, and once jumped past it unseen (the side was called open)
    def prof(df):
        loc, scale = st.t.fit(x, fix_df=df)[1:]
        return st.t.logpdf(x, df, loc, scale).sum()
    assert 2 * (f.loglik - prof(lo)) == pytest.approx(st.chi2.ppf(0.95, 1), abs=1e-4)
    assert 2 * (f.loglik - prof(2 * lo)) < st.chi2.ppf(0.95, 1) < 2 * (f.loglik - prof(lo / 2))


def test_negative_binomial_r_on_poisson_data_is_open_above():
    # Poisson data: the profile of r rises towards the Poisson log-likelihood as r -> infinity and
    # never meets the cutoff above, so that side is open. Evaluating the likelihood near r = 1e13
    # (where it is lost to cancellation) once gave a spurious upper end of 3e12.
    rng = np.random.default_rng(100)
    x = rng.poisson(4.0, 300).astype(float)
    f = thetahat.fit(x, "negative_binomial")
    ci = f.confint(method="profile")
    lo, hi = ci["r"]
    assert hi == np.inf and any("profile of r" in n and "upper" in n and "open" in n for n in ci.notes)
    crit = st.chi2.ppf(0.95, 1)
    poisson_ll = st.poisson.logpmf(x, x.mean()).sum()
    assert 2 * (f.loglik - poisson_ll) < crit  # the limit as r -> infinity stays inside the interval

    def prof(r):  # scipy: for a fixed r the MLE of p is r / (r + mean)
        return st.nbinom.logpmf(x, r, r / (r + x.mean())).sum()
    assert 2 * (f.loglik - prof(lo)) == pytest.approx(crit, abs=1e-5)


def test_bootstrap_is_reproducible_and_matches_known_se():
    x = np.random.default_rng(7).exponential(0.5, 400)
    f = thetahat.fit(x, "exponential")
    b1, b2 = f.bootstrap(3000, seed=9), f.bootstrap(3000, seed=9)
    np.testing.assert_array_equal(b1.replicates["lam"], b2.replicates["lam"])
    # the SD of the parametric bootstrap approximates lam/sqrt(n); MC error of an SD ~ 1/sqrt(2B)
    assert b1.se()["lam"] == pytest.approx(f.params["lam"] / np.sqrt(400), rel=4 / np.sqrt(2 * 3000) + 0.01)


def test_nonparametric_bootstrap_intervals_match_scipy_bootstrap():
    x = np.random.default_rng(8).normal(10.0, 3.0, 80)
    f = thetahat.fit(x, "normal")
    for interval, method in (("percentile", "percentile"), ("bca", "BCa")):
        ours = f.confint(method="bootstrap", kind="nonparametric", interval=interval, n_boot=4000, seed=1)["mu"]
        ref = st.bootstrap((x,), np.mean, n_resamples=4000, method=method, random_state=2).confidence_interval
        width = ref.high - ref.low
        assert ours[0] == pytest.approx(ref.low, abs=0.05 * width)
        assert ours[1] == pytest.approx(ref.high, abs=0.05 * width)


def test_bad_interval_options():
    f = thetahat.fit([1.0, 2.0, 3.5, 0.5], "exponential")
    with pytest.raises(OptionError):
        f.confint(method="nonsense")
    with pytest.raises(OptionError):
        f.confint(1.5)
    with pytest.raises(OptionError):
        f.confint(method="bootstrap", kind="sideways")
    with pytest.raises(OptionError):
        f.profile("rate")
