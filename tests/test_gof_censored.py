"""Tests of fit for censored, truncated and weighted fits (thetahat.inference.gof_censored),
against lifelines (Kaplan-Meier, Turnbull's NPMLE), scipy.stats (kstest, cramervonmises, chisquare
with the truncated cdf written by hand), numerical quadrature of the defining integrals, and the
expanded data for frequency weights."""

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as st

import thetahat
from thetahat.errors import OptionError
from thetahat.inference.gof import gof
from thetahat.inference.gof_npmle import kaplan_meier, turnbull

lifelines = pytest.importorskip("lifelines")


def _right_censored(seed, n=100, shape=1.5, scale=2.0):
    rng = np.random.default_rng(seed)
    t = st.weibull_min(shape, scale=scale).rvs(n, random_state=rng)
    c = rng.uniform(0.5, 5.0, n)
    return np.minimum(t, c), (t <= c).astype(float)


# ---- the nonparametric estimates -----------------------------------------------------------
def test_kaplan_meier_equals_lifelines_with_ties_and_weights():
    rng = np.random.default_rng(0)
    t = np.round(rng.exponential(3.0, 200), 1) + 0.1  # many ties, some between events and censorings
    e = (rng.random(200) < 0.7).astype(float)
    w = rng.integers(1, 4, 200).astype(float)
    for weights in (None, w):
        times, surv = kaplan_meier(t, e, weights)
        km = lifelines.KaplanMeierFitter().fit(t, e, weights=weights)
        ref = km.survival_function_.iloc[:, 0]
        ref = ref[ref.index > 0]
        np.testing.assert_allclose(times, ref.index.values)
        np.testing.assert_allclose(surv, ref.values, rtol=1e-12)


def test_turnbull_equals_lifelines_npmle():
    from lifelines.fitters.npmle import npmle

    rng = np.random.default_rng(1)
    x = rng.gamma(2.0, 1.0, 80)
    i1 = rng.uniform(0, 3, 80)
    i2 = i1 + rng.uniform(0.3, 2.5, 80)
    lo = np.where(x <= i1, 0.0, np.where(x <= i2, i1, i2))
    hi = np.where(x <= i1, i1, np.where(x <= i2, i2, np.inf))
    # lifelines takes closed intervals; with continuous inspection times no bound is shared,
    # so closed and half-open intervals have the same innermost intervals
    p_ref, iv_ref = npmle(lo, hi, tol=1e-14, max_iter=1e6)
    iv, p = turnbull(np.where(lo == 0, -np.inf, lo), hi)
    ref = {(float(a), float(b)): q for (a, b), q in zip(iv_ref, p_ref) if q > 1e-6}
    got = {(0.0 if a == -np.inf else float(a), float(b)): q for (a, b), q in zip(iv, p)}
    assert got.keys() == ref.keys()
    np.testing.assert_allclose([got[k] for k in ref], list(ref.values()), atol=2e-4)


def test_turnbull_of_right_censored_data_is_kaplan_meier():
    t, e = _right_censored(2, n=60)
    iv, p = turnbull(t, np.where(e == 1, t, np.inf))
    F_turnbull = np.cumsum(p)[np.isclose(iv[:, 0], iv[:, 1])]  # the masses at the event times
    km = lifelines.KaplanMeierFitter().fit(t, e)
    ev = np.sort(t[e == 1])
    np.testing.assert_allclose(F_turnbull, 1 - km.survival_function_at_times(ev).values, atol=1e-6)


# ---- observed statistics -------------------------------------------------------------------
def _trunc_weibull_cdf(q, lo, hi):
    d = st.weibull_min(q["shape"], scale=q["scale"])
    return lambda v: (d.cdf(v) - d.cdf(lo)) / (d.cdf(hi) - d.cdf(lo))


def _classic_ad(u):
    u = np.sort(u)
    n = u.size
    i = np.arange(1, n + 1)
    return -n - np.sum((2 * i - 1) / n * (np.log(u) + np.log1p(-u[::-1])))


def test_truncated_statistics_against_scipy_with_the_truncated_cdf():
    rng = np.random.default_rng(3)
    x = st.weibull_min(1.5, scale=2.0).rvs(4000, random_state=rng)
    x = x[(x > 0.5) & (x < 4.0)][:150]
    f = thetahat.fit(x, "weibull", truncate=(0.5, 4.0))
    r = gof(f, n_boot=19, seed=0)
    cdf = _trunc_weibull_cdf(f.params, 0.5, 4.0)
    np.testing.assert_allclose(r["ks"]["statistic"], st.kstest(x, cdf).statistic, rtol=1e-9)
    np.testing.assert_allclose(r["cvm"]["statistic"], st.cramervonmises(x, cdf).statistic, rtol=1e-9)
    np.testing.assert_allclose(r["ad"]["statistic"], _classic_ad(cdf(x)), rtol=1e-9)
    assert r.nobs == 150 and "truncated to [0.5, 4]" in r.notes[0]


def _step_integrals(knots, c, F, tau_u):
    """N-free integrals of (c - u)^2 and (c - u)^2 / (u (1 - u)) over u in [0, tau_u], c a step
    function of x (value c[j] from knots[j] on), by adaptive quadrature in u."""
    edges = np.r_[0.0, F(knots), tau_u]
    vals = np.r_[0.0, c]
    cvm = ad = 0.0
    for lo, hi, v in zip(edges[:-1], edges[1:], vals):
        hi = min(hi, tau_u)
        if hi <= lo:
            continue
        cvm += integrate.quad(lambda u: (v - u) ** 2, lo, hi)[0]
        ad += integrate.quad(lambda u: (v - u) ** 2 / (u * (1 - u)), lo, hi, limit=200)[0]
    return cvm, ad


def test_right_censored_statistics_by_quadrature_over_lifelines_km():
    t, e = _right_censored(4)
    f = thetahat.fit(t, "weibull", event=e)
    r = gof(f, n_boot=199, seed=0)  # the shape of the calibration study's batch: compiled once
    d = st.weibull_min(f.params["shape"], scale=f.params["scale"])
    km = lifelines.KaplanMeierFitter().fit(t, e).survival_function_.iloc[:, 0]
    knots, c = km.index.values[1:], 1 - km.values[1:]
    tau = t.max()
    # KS: sup over [0, tau] of |F_KM - F|, both sides of every jump
    Fk = d.cdf(knots)
    ks = max(np.max(np.abs(c - Fk)), np.max(np.abs(np.r_[0.0, c[:-1]] - Fk)))
    cvm, ad = _step_integrals(knots, c, d.cdf, d.cdf(tau))
    n = t.size
    np.testing.assert_allclose(r["ks"]["statistic"], ks, rtol=1e-10)
    np.testing.assert_allclose(r["cvm"]["statistic"], n * cvm, rtol=1e-7)
    np.testing.assert_allclose(r["ad"]["statistic"], n * ad, rtol=1e-6)


def test_left_censored_ks_against_lifelines_left_censoring_km():
    rng = np.random.default_rng(5)
    x = rng.lognormal(1.0, 0.6, 120)
    limit = rng.uniform(0.5, 3.0, 120)
    seen = x > limit
    v = np.where(seen, x, limit)
    f = thetahat.fit(None, "lognormal", lower=np.where(seen, v, -np.inf), upper=v)
    r = gof(f, n_boot=19, seed=0)
    km = lifelines.KaplanMeierFitter().fit_left_censoring(v, seen.astype(float))
    cd = km.cumulative_density_.iloc[:, 0]
    knots, c = cd.index.values[1:], cd.values[1:]
    Fk = st.lognorm(f.params["sigma"], scale=np.exp(f.params["mu"])).cdf(knots)
    # F_KM is defined from the smallest time on, and is 1 beyond the largest
    ks = max(np.max(np.abs(c - Fk)), np.max(np.abs(np.r_[c[0], c[:-1]] - Fk)), 1 - Fk[-1])
    np.testing.assert_allclose(r["ks"]["statistic"], ks, rtol=1e-9)


def test_uncensored_event_column_gives_the_textbook_statistics():
    x = st.weibull_min(1.5, scale=2.0).rvs(100, random_state=np.random.default_rng(6))
    f = thetahat.fit(x, "weibull", event=np.ones(100))
    r = gof(f, n_boot=199, seed=0)
    dist = st.weibull_min(f.params["shape"], scale=f.params["scale"])
    np.testing.assert_allclose(r["ks"]["statistic"], st.kstest(x, dist.cdf).statistic, rtol=1e-10)
    np.testing.assert_allclose(r["cvm"]["statistic"], st.cramervonmises(x, dist.cdf).statistic, rtol=1e-10)
    np.testing.assert_allclose(r["ad"]["statistic"], _classic_ad(dist.cdf(x)), rtol=1e-10)


# ---- weights --------------------------------------------------------------------------------
def test_frequency_weights_equal_the_expanded_data():
    rng = np.random.default_rng(7)
    x = rng.gamma(2.0, 1.0, 60)
    w = rng.integers(1, 5, 60).astype(float)
    fw = thetahat.fit(x, "gamma", weights=w)
    fe = thetahat.fit(np.repeat(x, w.astype(int)), "gamma")
    rw, re = gof(fw, n_boot=199, seed=3), gof(fe, n_boot=199, seed=3)
    assert rw.nobs == re.nobs == int(w.sum())
    for t in ("ks", "ad", "cvm"):
        np.testing.assert_allclose(rw[t]["statistic"], re[t]["statistic"], rtol=1e-9)
        np.testing.assert_allclose(np.sort(rw.statistics[t]), np.sort(re.statistics[t]), rtol=1e-6)
        assert rw[t]["pvalue"] == re[t]["pvalue"]


def test_frequency_weights_equal_expanded_right_censored_data():
    t, e = _right_censored(8, n=50)
    w = np.random.default_rng(8).integers(1, 4, 50).astype(float)
    k = w.astype(int)
    fw = thetahat.fit(t, "weibull", event=e, weights=w)
    fe = thetahat.fit(np.repeat(t, k), "weibull", event=np.repeat(e, k))
    rw, re = gof(fw, n_boot=99, seed=1), gof(fe, n_boot=99, seed=1)
    for test in ("ks", "ad", "cvm"):
        np.testing.assert_allclose(rw[test]["statistic"], re[test]["statistic"], rtol=1e-8)
        np.testing.assert_allclose(rw[test]["pvalue"], re[test]["pvalue"], atol=0.02)


def test_analytic_weights_use_the_weighted_edf():
    rng = np.random.default_rng(9)
    x = rng.gamma(2.0, 1.0, 70)
    w = rng.uniform(0.2, 2.0, 70)
    f = thetahat.fit(x, "gamma", weights=w, weight_kind="analytic")
    r = gof(f, n_boot=49, seed=0)
    u = st.gamma(f.params["shape"], scale=1 / f.params["rate"]).cdf(np.sort(x))
    cw = np.cumsum(w[np.argsort(x)]) / w.sum()
    ks = max(np.max(np.abs(cw - u)), np.max(np.abs(np.r_[0.0, cw[:-1]] - u)))
    np.testing.assert_allclose(r["ks"]["statistic"], ks, rtol=1e-10)
    assert r["ks"]["n_boot"] == 49 and "analytic" in " ".join(r.notes)


def test_weight_errors():
    x = np.random.default_rng(0).gamma(2.0, 1.0, 40)
    with pytest.raises(OptionError, match="whole number"):
        gof(thetahat.fit(x, "gamma", weights=np.full(40, 1.5)))
    k = np.random.default_rng(1).poisson(3.0, 40)
    with pytest.raises(OptionError, match="counts"):
        gof(thetahat.fit(k, "poisson", weights=np.ones(40), weight_kind="analytic"))


# ---- truncated discrete: χ² with the truncated pmf -----------------------------------------------
def test_zero_truncated_poisson_chi2_against_scipy_chisquare():
    k = np.random.default_rng(10).poisson(2.0, 800)
    k = k[k > 0][:400]
    f = thetahat.fit(k, "poisson", truncate=(1, np.inf))
    r = gof(f)
    lam = f.params["lam"]
    mass = 1 - st.poisson.pmf(0, lam)
    obs, exp = [], []
    for b in r.bins:
        hi = b["hi"]
        obs.append(np.sum((k >= b["lo"]) & (k <= hi)))
        p = st.poisson.sf(b["lo"] - 1, lam) if hi == np.inf else st.poisson.pmf(np.arange(b["lo"], hi + 1), lam).sum()
        exp.append(400 * p / mass)
    assert r.bins[0]["lo"] == 1
    np.testing.assert_allclose([b["expected"] for b in r.bins], exp, rtol=1e-9)
    ref = st.chisquare(obs, exp, ddof=1)
    np.testing.assert_allclose(r["chi2"]["statistic"], ref.statistic, rtol=1e-9)
    np.testing.assert_allclose(r["chi2"]["pvalue"], ref.pvalue, rtol=1e-8)


# ---- compare ---------------------------------------------------------------------------------
def test_compare_gof_with_frequency_weights():
    rng = np.random.default_rng(11)
    x = rng.gamma(2.0, 1.0, 50)
    w = rng.integers(1, 3, 50).astype(float)
    cmp = thetahat.compare(x, ["gamma", "weibull"], weights=w, gof=True, n_boot=49, seed=2)
    for row in cmp.table:
        ref = gof(thetahat.fit(x, row["family"], weights=w), n_boot=49, seed=2)
        for t in ("ks", "ad", "cvm"):
            assert row["gof"][t]["statistic"] == pytest.approx(ref[t]["statistic"], rel=1e-9)
            assert row["gof"][t]["pvalue"] == ref[t]["pvalue"]


# ---- calibration and power ----------------------------------------------------------------------
def _rejections(make, family, reps, n_boot, seed):
    rng = np.random.default_rng(seed)
    ps = []
    for i in range(reps):
        f = make(rng, family)
        ps.append([row["pvalue"] for row in gof(f, n_boot=n_boot, seed=i).table])
    return np.asarray(ps)


def _right(rng, family, dist=st.weibull_min(1.5, scale=2.0)):
    t = dist.rvs(100, random_state=rng)
    c = rng.uniform(0.5, 5.0, 100)
    return thetahat.fit(np.minimum(t, c), family, event=(t <= c).astype(float))


@pytest.mark.slow
def test_right_censored_pvalues_are_calibrated_under_the_null():
    # 50 censored weibull samples (n = 100, about 30 % censored), 199 refits each: the rejection
    # rate at 5 % is Binomial(50, 0.05) (mean 2.5, P(>= 8) = 0.001) and the p-values look uniform
    ps = _rejections(_right, "weibull", 50, 199, 12)
    for j, test in enumerate(("ks", "ad", "cvm")):
        assert np.sum(ps[:, j] <= 0.05) <= 7, (test, np.sort(ps[:, j]))
        assert st.kstest(ps[:, j], "uniform").pvalue > 0.001, (test, np.sort(ps[:, j]))


class _Bimodal:
    """Survival times from two clusters (modes near 0.5 and 4): no weibull describes them."""

    def rvs(self, n, random_state):
        r = random_state
        return np.where(r.random(n) < 0.5, r.gamma(20, 0.025, n), r.gamma(40, 0.1, n))


@pytest.mark.slow
def test_right_censored_misspecification_is_rejected():
    make = lambda rng, fam: _right(rng, fam, _Bimodal())  # noqa: E731
    ps = _rejections(make, "weibull", 6, 199, 13)
    assert np.all(ps[:, 2] <= 0.05) and np.mean(ps <= 0.05) >= 0.9, ps  # Cramér-von Mises rejects every time


def _interval(rng, family, draw=lambda rng: rng.exponential(2.0, 100)):
    t = draw(rng)
    i1 = rng.uniform(0, 3, t.size)
    i2 = i1 + rng.uniform(0.5, 3, t.size)
    lo = np.where(t <= i1, -np.inf, np.where(t <= i2, i1, i2))
    hi = np.where(t <= i1, i1, np.where(t <= i2, i2, np.inf))
    return thetahat.fit(None, family, lower=lo, upper=hi)


@pytest.mark.slow
def test_interval_censored_misspecification_is_rejected():
    # a two-component mixture (modes at 0.5 and 4) tested as exponential
    def draw(rng):
        return np.where(rng.random(150) < 0.5, rng.gamma(20, 0.025, 150), rng.gamma(40, 0.1, 150))
    ps = _rejections(lambda rng, fam: _interval(rng, fam, draw), "exponential", 4, 99, 14)
    assert np.all(ps.min(axis=1) <= 0.05), ps
