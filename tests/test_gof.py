"""Tests of fit (thetahat.inference.gof) against scipy.stats: kstest, cramervonmises,
goodness_of_fit (statistics and bootstrap p-values with refits), chisquare."""

import numpy as np
import pytest
from scipy import stats as st

import thetahat
from thetahat.errors import OptionError
from thetahat.inference.gof import gof

RIVERS = np.loadtxt("tests/data/rivers.csv", skiprows=1)
ERUPTIONS = np.loadtxt("tests/data/faithful.csv", skiprows=1, delimiter=",")[:, 0]

# independent scipy distributions and their arguments (not the families' to_scipy)
SCIPY = {
    "gamma": lambda q: (st.gamma, {"a": q["shape"], "scale": 1 / q["rate"]}),
    "weibull": lambda q: (st.weibull_min, {"c": q["shape"], "scale": q["scale"]}),
    "lognormal": lambda q: (st.lognorm, {"s": q["sigma"], "scale": np.exp(q["mu"])}),
    "normal": lambda q: (st.norm, {"loc": q["mu"], "scale": q["sigma"]}),
    "exponential": lambda q: (st.expon, {"scale": 1 / q["lam"]}),
    "gumbel": lambda q: (st.gumbel_r, {"loc": q["loc"], "scale": q["scale"]}),
    "logistic": lambda q: (st.logistic, {"loc": q["loc"], "scale": q["scale"]}),
}


def _scipy_ad(dist, kw, x):
    """Anderson-Darling with every parameter known, by scipy.stats.goodness_of_fit."""
    known = {"loc": 0.0, "scale": 1.0, **kw}
    return st.goodness_of_fit(dist, x, known_params=known, statistic="ad", n_mc_samples=1, rng=0).statistic


@pytest.mark.parametrize("family,data", [
    ("gamma", RIVERS), ("weibull", RIVERS), ("lognormal", RIVERS), ("exponential", RIVERS),
    ("normal", ERUPTIONS), ("gumbel", ERUPTIONS), ("logistic", ERUPTIONS),
])
def test_observed_statistics_equal_scipy(family, data):
    f = thetahat.fit(data, family)
    r = gof(f, n_boot=19, seed=1)
    cls, kw = SCIPY[family](f.params)
    dist = cls(**kw)
    np.testing.assert_allclose(r["ks"]["statistic"], st.kstest(data, dist.cdf).statistic, rtol=1e-10)
    np.testing.assert_allclose(r["cvm"]["statistic"], st.cramervonmises(data, dist.cdf).statistic, rtol=1e-10)
    np.testing.assert_allclose(r["ad"]["statistic"], _scipy_ad(cls, kw, data), rtol=1e-10)


def test_ad_equals_scipy_anderson_for_the_exponential():
    # scipy.stats.anderson(x, "expon") measures the AD distance to expon(loc=0, scale=mean),
    # which is the exponential MLE
    x = np.random.default_rng(7).exponential(3.0, 150)
    r = gof(thetahat.fit(x, "exponential"), tests=("ad",), n_boot=19)
    ref = st.anderson(x, "expon", method="interpolate").statistic
    np.testing.assert_allclose(r["ad"]["statistic"], ref, rtol=1e-10)


# p-values: scipy's goodness_of_fit also simulates from the fit and refits each sample
# (known loc = 0 gives thetahat's two-parameter model); both are Monte Carlo estimates of
# the same probability, so they agree within a few Monte Carlo standard errors
@pytest.mark.parametrize("family,dist,make", [
    ("gamma", st.gamma, lambda rng: rng.gamma(2.5, 1.2, 120)),
    ("weibull", st.weibull_min, lambda rng: st.weibull_min(c=1.5, scale=2.0).rvs(120, random_state=rng)),
])
def test_bootstrap_pvalues_agree_with_scipy_goodness_of_fit(family, dist, make):
    x = make(np.random.default_rng(5))
    B = 499
    f = thetahat.fit(x, family)
    r = gof(f, n_boot=B, seed=2)
    for test in ("ks", "ad", "cvm"):
        ref = st.goodness_of_fit(dist, x, known_params={"loc": 0.0}, statistic=test, n_mc_samples=B, rng=3)
        # scipy's own fit (a root search with floc=0) stops short of the MLE (by 1e-4 relative
        # for the weibull): our log-likelihood is never lower, and the statistics at identical
        # parameters are checked to 1e-10 above
        assert f.loglik >= dist(*ref.fit_result.params).logpdf(x).sum() - 1e-9
        np.testing.assert_allclose(r[test]["statistic"], ref.statistic, rtol=1e-3)
        p = 0.5 * (r[test]["pvalue"] + ref.pvalue)
        mc_se = np.sqrt(2 * p * (1 - p) / (B + 1))  # SE of a difference of two independent estimates
        assert abs(r[test]["pvalue"] - ref.pvalue) <= 4 * mc_se + 0.01, (test, r[test]["pvalue"], ref.pvalue)
        assert r[test]["n_failed"] == 0 and r[test]["n_boot"] == B


def test_wrong_family_gets_a_small_pvalue():
    # Old Faithful eruption times are bimodal: nothing like a normal, gamma or weibull
    B = 199
    for family in ("normal", "gamma"):
        r = gof(thetahat.fit(ERUPTIONS, family), n_boot=B, seed=0)
        for row in r.table:
            assert row["pvalue"] == pytest.approx(1 / (B + 1)), (family, row)


def test_pvalue_formula_and_failed_refits_counted(monkeypatch):
    from thetahat.engine import batch

    real = batch.fit_batch

    def failing(*a, **k):  # every 10th refit reported as failed
        b = real(*a, **k)
        conv = np.array(b.converged)
        conv[::10] = False
        return batch.BatchFit(b.family, b.params, b.se, b.loglik, b.nobs, conv, b.iterations, b.method, b.fixed)

    monkeypatch.setattr(batch, "fit_batch", failing)
    x = np.random.default_rng(3).gamma(2.0, 1.0, 80)
    r = gof(thetahat.fit(x, "gamma"), n_boot=99, seed=4)
    for row in r.table:
        reps = r.statistics[row["test"]]
        assert row["n_failed"] == 10 and reps.size == 89
        assert row["pvalue"] == (1 + np.sum(reps >= row["statistic"])) / (reps.size + 1)
    assert any("10 of 99" in n for n in r.notes)


@pytest.mark.slow
def test_pvalues_roughly_uniform_under_the_null():
    # 60 gamma samples tested against the gamma family: the bootstrap p-values must look
    # uniform (scipy's KS test of them) -- the textbook KS table would give p-values
    # piled up near 1, because the parameters are estimated
    rng = np.random.default_rng(11)
    ps = {t: [] for t in ("ks", "ad", "cvm")}
    for _ in range(60):
        x = rng.gamma(2.0, 1.0, 80)
        r = gof(thetahat.fit(x, "gamma"), n_boot=99, seed=int(rng.integers(1 << 30)))
        for row in r.table:
            ps[row["test"]].append(row["pvalue"])
    for t, p in ps.items():
        p = np.asarray(p)
        assert st.kstest(p, "uniform").pvalue > 0.01, (t, np.sort(p))
        assert 0.35 < p.mean() < 0.65, t


# ---- χ² for discrete families -------------------------------------------------------
def _check_bins(r, data, pmf, sf, lower, k_est):
    bins = r.bins
    assert bins[0]["lo"] == lower and bins[-1]["hi"] == np.inf
    for a, b in zip(bins, bins[1:]):
        assert b["lo"] == a["hi"] + 1  # adjacent: the bins partition the support
    obs, exp = [], []
    n = data.size
    for b in bins:
        hi = np.inf if b["hi"] == np.inf else b["hi"]
        obs.append(np.sum((data >= b["lo"]) & (data <= hi)))
        if hi == np.inf:
            exp.append(n * sf(b["lo"] - 1))
        else:
            exp.append(n * pmf(np.arange(b["lo"], hi + 1)).sum())
    obs, exp = np.array(obs, dtype=float), np.array(exp)
    assert np.all(exp >= 5)
    np.testing.assert_allclose([b["observed"] for b in bins], obs)
    np.testing.assert_allclose([b["expected"] for b in bins], exp, rtol=1e-9)
    ref = st.chisquare(obs, exp, ddof=k_est)
    row = r["chi2"]
    assert row["df"] == len(bins) - 1 - k_est
    np.testing.assert_allclose(row["statistic"], ref.statistic, rtol=1e-9)
    np.testing.assert_allclose(row["pvalue"], ref.pvalue, rtol=1e-8)


def test_chi2_poisson_against_scipy_chisquare():
    y = np.random.default_rng(0).poisson(3.0, 300)
    f = thetahat.fit(y, "poisson")
    d = st.poisson(y.mean())
    r = gof(f)
    _check_bins(r, y, d.pmf, d.sf, 0, 1)
    assert r["chi2"]["n_boot"] is None and "Chernoff" in r.notes[0]


def test_chi2_negative_binomial_and_binomial():
    rng = np.random.default_rng(1)
    y = rng.negative_binomial(2.0, 0.3, 400)
    f = thetahat.fit(y, "negative_binomial")
    d = st.nbinom(f.params["r"], f.params["p"])
    _check_bins(gof(f), y, d.pmf, d.sf, 0, 2)
    z = rng.binomial(12, 0.4, 250)
    f = thetahat.fit(z, "binomial", fixed={"n": 12})
    d = st.binom(12, z.mean() / 12)
    _check_bins(gof(f), z, d.pmf, d.sf, 0, 1)


def test_chi2_rejects_poisson_for_overdispersed_counts():
    y = np.random.default_rng(2).negative_binomial(1.0, 0.2, 300)
    assert gof(thetahat.fit(y, "poisson"))["chi2"]["pvalue"] < 1e-6


# ---- what is not supported says so ------------------------------------------------------
def test_unsupported_inputs_raise_option_error():
    x = np.random.default_rng(0).gamma(2.0, 1.0, 50)
    with pytest.raises(OptionError, match="does not apply"):
        gof(thetahat.fit(x, "gamma"), tests=("chi2",))
    with pytest.raises(OptionError, match="does not apply"):
        gof(thetahat.fit(np.round(x), "poisson"), tests=("ks",))
    with pytest.raises(OptionError, match="n_boot"):
        gof(thetahat.fit(x, "gamma"), n_boot=0)
    with pytest.raises(OptionError, match="too few"):
        gof(thetahat.fit([0, 1, 1, 0, 1], "bernoulli"))


def test_nonregular_family_leaves_out_anderson_darling():
    x = np.random.default_rng(4).uniform(1.0, 3.0, 100)
    f = thetahat.fit(x, "uniform")
    r = gof(f, n_boot=99)
    assert [row["test"] for row in r.table] == ["ks", "cvm"]
    assert "Anderson-Darling is left out" in r.notes[0]
    d = st.uniform(f.params["a"], f.params["b"] - f.params["a"])
    np.testing.assert_allclose(r["ks"]["statistic"], st.kstest(x, d.cdf).statistic, rtol=1e-10)


def test_to_dict_is_plain():
    import json

    x = np.random.default_rng(0).gamma(2.0, 1.0, 80)
    d = gof(thetahat.fit(x, "gamma"), tests="ks", n_boot=99).to_dict()
    assert json.loads(json.dumps(d))["table"][0]["test"] == "ks"
