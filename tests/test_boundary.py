"""Fits whose maximum lies at an edge of the parameter space, each against its limiting
model fitted directly with scipy, and the verdict against the exact sign of the profile
likelihood's slope at the limit (a known formula on the data, independent of any search)."""

import numpy as np
import pytest
from scipy import optimize as sopt
from scipy import stats as st

import thetahat
from thetahat.inference.likelihood_ratio import chi_bar_pvalue


def _check_boundary(f, at, limit_loglik):
    assert f.converged
    assert f.boundary == at
    assert f.loglik == pytest.approx(limit_loglik, rel=1e-10, abs=1e-8)
    stat = max(0.0, 2 * (f.loglik - limit_loglik))  # the LR statistic against scipy's limiting log-likelihood
    assert f.limit_test.statistic == pytest.approx(stat, abs=1e-8)
    # (the χ̄² p-value jumps from 1 to 1/2 just above 0: taken at the test's own statistic)
    assert f.limit_test.pvalue == pytest.approx(float(chi_bar_pvalue(f.limit_test.statistic, f.limit_test.df)))
    for k, v in at.items():
        assert f.params[k] == v and f.se[k] is None
    ci = f.confint()
    for k in f.estimated:  # no Wald interval leaves the parameter space
        if ci[k] is not None and k in ("scale", "lam"):
            assert ci[k][0] > 0


def _check_interior(f, limit_loglik):
    assert f.converged and not f.boundary
    assert f.loglik > limit_loglik
    stat = 2 * (f.loglik - limit_loglik)
    assert f.limit_test.statistic == pytest.approx(stat, rel=1e-9, abs=1e-9)
    assert f.limit_test.pvalue == pytest.approx(float(chi_bar_pvalue(f.limit_test.statistic, f.limit_test.df)),
                                                rel=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_t_on_normal_data(seed):
    x = np.random.default_rng(seed).normal(0, 1, 150)
    f = thetahat.fit(x, "t")
    normal_ll = st.norm.logpdf(x, x.mean(), x.std()).sum()
    # d loglik / d(1/df) at df = inf is n (b2 - 3) / 4: the sample kurtosis decides
    if st.kurtosis(x) <= 0:
        _check_boundary(f, {"df": np.inf}, normal_ll)
        assert f.params["loc"] == pytest.approx(x.mean(), rel=1e-10, abs=1e-12)
        assert f.params["scale"] == pytest.approx(x.std(), rel=1e-10)
        assert f.se["loc"] == pytest.approx(x.std() / np.sqrt(x.size), rel=1e-8)
        assert "normal" in f.reason
    else:
        _check_interior(f, normal_ll)
        # scipy's direct maximisation in (log df, loc, log scale) from thetahat's answer
        nll = lambda q: -st.t.logpdf(x, np.exp(q[0]), q[1], np.exp(q[2])).sum()  # noqa: E731
        q0 = [np.log(f.params["df"]), f.params["loc"], np.log(f.params["scale"])]
        r = sopt.minimize(nll, q0, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
        assert f.loglik >= -r.fun - 1e-8


def test_t_from_two_observations_is_the_normal():
    f = thetahat.fit([0.0, 1.0], "t")
    _check_boundary(f, {"df": np.inf}, st.norm.logpdf([0.0, 1.0], 0.5, 0.5).sum())
    c = thetahat.compare([0.0, 1.0], families=["t", "normal"])
    row = {r["family"]: r for r in c.table}["t"]
    assert row["status"] == "not identifiable" and "3 parameters from 2 observations" in row["reason"]
    assert c.best.family.name == "normal"


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["poisson", "binomial"])
def test_negative_binomial_without_overdispersion(kind, seed):
    rng = np.random.default_rng(seed)
    x = rng.poisson(3.2, 500) if kind == "poisson" else rng.binomial(10, 0.5, 500)
    x = x.astype(float)
    f = thetahat.fit(x, "negative_binomial")
    poisson_ll = st.poisson.logpmf(x, x.mean()).sum()
    if x.var() <= x.mean():  # the slope at r = inf, n (var - mean) / 2, is not positive
        _check_boundary(f, {"r": np.inf, "p": 1.0}, poisson_ll)
        assert f.limit.params["lam"] == pytest.approx(x.mean(), rel=1e-12)
        assert f.confint()["r"] is None and f.confint()["p"] is None
        lo, hi = f.confint(method="profile")["r"]
        assert hi == np.inf
        prof = st.nbinom.logpmf(x, lo, lo / (lo + x.mean())).sum()  # for a fixed r, p-hat = r / (r + mean)
        assert 2 * (f.loglik - prof) == pytest.approx(st.chi2.ppf(0.95, 1), abs=1e-5)
    else:
        _check_interior(f, poisson_ll)


def test_negative_binomial_with_overdispersion_is_interior():
    x = np.random.default_rng(4).negative_binomial(3, 0.4, 400).astype(float)
    f = thetahat.fit(x, "negative_binomial")
    _check_interior(f, st.poisson.logpmf(x, x.mean()).sum())
    r = sopt.minimize(lambda q: -st.nbinom.logpmf(x, np.exp(q[0]), 1 / (1 + np.exp(-q[1]))).sum(),
                      [np.log(f.params["r"]), np.log(f.params["p"] / (1 - f.params["p"]))], method="Nelder-Mead",
                      options={"xatol": 1e-10, "fatol": 1e-12})
    assert f.loglik == pytest.approx(-r.fun, abs=1e-7)


@pytest.mark.parametrize("seed", range(6))
def test_zip_without_excess_zeros(seed):
    x = np.random.default_rng(seed).poisson(2.0, 300).astype(float)
    f = thetahat.fit(x, "zip")
    poisson_ll = st.poisson.logpmf(x, x.mean()).sum()
    # the score test for zero inflation: d loglik / d pi at pi = 0 is n0 (e^lam - 1) - (n - n0)
    n0 = np.sum(x == 0)
    if n0 * np.expm1(x.mean()) - (x.size - n0) <= 0:
        _check_boundary(f, {"pi": 0.0}, poisson_ll)
        assert f.params["lam"] == pytest.approx(x.mean(), rel=1e-12)
        assert f.se["lam"] == pytest.approx(np.sqrt(x.mean() / x.size), rel=1e-8)
    else:
        _check_interior(f, poisson_ll)


@pytest.mark.parametrize("seed", range(6))
def test_beta_binomial_on_binomial_data(seed):
    n = 10
    x = np.random.default_rng(seed).binomial(n, 0.4, 300).astype(float)
    f = thetahat.fit(x, "beta_binomial", fixed={"n": n})
    p = x.mean() / n
    binom_ll = st.binom.logpmf(x, n, p).sum()
    slope = np.sum(x * (x - 1) / (2 * p) + (n - x) * (n - x - 1) / (2 * (1 - p)) - n * (n - 1) / 2)
    if slope <= 0:
        _check_boundary(f, {"a": np.inf, "b": np.inf}, binom_ll)
        assert f.limit.params["p"] == pytest.approx(p, rel=1e-12)
    else:
        _check_interior(f, binom_ll)
        ll = st.betabinom.logpmf(x, n, f.params["a"], f.params["b"]).sum()
        assert f.loglik == pytest.approx(ll, rel=1e-10)


@pytest.mark.parametrize("family,dist,seed", [("gev", st.genextreme(c=0.2), 20), ("genpareto", st.genpareto(c=0.1), 2)])
def test_shape_running_below_minus_one_has_no_mle(family, dist, seed):
    # n = 15: no local maximum with shape > -1, and the likelihood is unbounded below it
    x = dist.rvs(15, random_state=seed)
    f = thetahat.fit(x, family)
    assert not f.converged and "unbounded" in f.reason and f.params["shape"] < -1
    c = thetahat.compare(x, families=[family, "normal"])
    assert {r["family"]: r for r in c.table}[family]["status"] == "not converged"


def test_gev_small_sample_with_a_local_maximum():
    x = st.genextreme(c=0.2).rvs(15, random_state=1)
    f = thetahat.fit(x, "gev")
    assert f.converged and f.params["shape"] > -1
    ll = st.genextreme.logpdf(x, -f.params["shape"], f.params["loc"], f.params["scale"]).sum()
    assert f.loglik == pytest.approx(ll, rel=1e-10)
    r = sopt.minimize(lambda q: -st.genextreme.logpdf(x, -q[2], q[0], np.exp(q[1])).sum(),
                      [f.params["loc"], np.log(f.params["scale"]), f.params["shape"]], method="Nelder-Mead",
                      options={"xatol": 1e-10, "fatol": 1e-12})
    assert f.loglik >= -r.fun - 1e-7


def test_wald_interval_never_leaves_the_space():
    x = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])  # p-hat 1/8, SE 0.117: p - 1.96 SE < 0
    f = thetahat.fit(x, "bernoulli")
    ci = f.confint()
    assert ci["p"] is None and any("leaves the parameter space" in n and "profile" in n for n in ci.notes)
    lo, hi = f.confint(method="profile")["p"]
    # the likelihood-ratio interval of a binomial proportion, by brute force on a fine grid
    grid = np.linspace(1e-6, 1 - 1e-6, 200001)
    dev = 2 * (f.loglik - (np.log(grid) + 7 * np.log1p(-grid)))
    inside = grid[dev <= st.chi2.ppf(0.95, 1)]
    assert lo == pytest.approx(inside.min(), abs=1e-5) and hi == pytest.approx(inside.max(), abs=1e-5)


def test_t_slope_formula_against_autodiff():
    # the family's exact slope at the limit against a finite difference of the t log-likelihood in 1/df
    x = np.random.default_rng(0).normal(0, 1, 50)
    m, s = x.mean(), x.std()
    fam = thetahat.family("t")
    slope = fam.limits[0].score(x, np.ones_like(x), {"mu": m, "sigma": s})
    h = 1e-5
    diff = (st.t.logpdf(x, 1 / h, m, s).sum() - st.norm.logpdf(x, m, s).sum()) / h
    assert slope == pytest.approx(diff, rel=1e-3)


@pytest.mark.parametrize("seed", range(6))
def test_skew_normal_shape_running_to_infinity(seed):
    # n = 20 from a skew normal with shape 4: the shape's MLE is infinite with positive probability, and the
    # supremum is then a half-normal from the sample minimum (or below the maximum)
    x = st.skewnorm(4).rvs(20, random_state=seed)
    f = thetahat.fit(x, "skewnorm")
    ends = {np.inf: (x - x.min(), x.min()), -np.inf: (x.max() - x, x.max())}
    limit_ll = {a: st.halfnorm.logpdf(d, 0, np.sqrt(np.mean(d**2))).sum() for a, (d, _) in ends.items()}
    nll = lambda q: -st.skewnorm.logpdf(x, q[2], q[0], np.exp(q[1])).sum()  # noqa: E731
    best = max(-sopt.minimize(nll, q0, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12,
                                                                          "maxiter": 20000}).fun
               for q0 in ([x.mean(), np.log(x.std()), 0.0], [x.mean(), np.log(x.std()), 3.0],
                          [x.mean(), np.log(x.std()), -3.0]))
    assert f.converged
    if f.boundary:
        a = f.boundary["shape"]
        assert f.loglik == pytest.approx(limit_ll[a], rel=1e-10)
        assert f.params["loc"] == ends[a][1] and f.se["loc"] is None and f.se["shape"] is None
        assert best <= f.loglik + 1e-6  # no point inside beats the limit
    else:
        assert f.loglik > max(limit_ll.values()) and f.loglik >= best - 1e-7


def test_a_boundary_fit_is_its_limiting_distribution():
    x = np.random.default_rng(0).normal(0, 1, 150)
    f = thetahat.fit(x, "t")
    assert f.boundary == {"df": np.inf}
    grid = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(f.logpdf(grid), st.norm.logpdf(grid, x.mean(), x.std()), rtol=1e-12)
    assert f.to_scipy().mean() == pytest.approx(x.mean(), rel=1e-12)
    g = f.update(x[:10])  # refit of all 160 rows, not warm-started at df = inf
    assert g.boundary == ({"df": np.inf} if st.kurtosis(np.concatenate([x, x[:10]])) <= 0 else {})
    with pytest.raises(thetahat.errors.ThetahatError, match="fit.limit.bootstrap"):
        f.confint(method="bootstrap", n_boot=20)
    with pytest.raises(thetahat.errors.ThetahatError, match="boundary"):
        f.gof()


def test_cli_reports_the_boundary(tmp_path, capsys):
    import json

    from thetahat.cli.main import main

    x = np.random.default_rng(0).normal(0, 1, 150)
    p = tmp_path / "x.csv"
    np.savetxt(p, x, header="x", comments="")
    assert main(["fit", str(p), "--column", "x", "--family", "t", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["boundary"] == {"df": "inf"} and d["converged"] and d["params"]["df"] is None  # JSON has no inf
    assert d["params"]["loc"] == pytest.approx(x.mean(), rel=1e-10)
    assert d["limit_test"]["pvalue"] == 1.0
    assert main(["compare", str(p), "--column", "x", "--families", "t,normal"]) == 0
    out = capsys.readouterr().out
    assert "boundary: df = inf" in out


def test_skew_normal_on_half_normal_data_is_on_the_boundary():
    # half-normal data from 0: scipy's own skewnorm fit runs its shape off (to ~1e7); nothing inside beats the
    # half-normal from the sample minimum, whose location is a sample extreme (no SE, no LR test)
    x = np.abs(np.random.default_rng(1).normal(size=30))
    f = thetahat.fit(x, "skewnorm")
    d = x - x.min()
    hn = st.halfnorm.logpdf(d, 0, np.sqrt(np.mean(d * d))).sum()
    assert f.boundary == {"shape": np.inf} and f.loglik == pytest.approx(hn, rel=1e-12)
    assert st.skewnorm.logpdf(x, *st.skewnorm.fit(x)).sum() <= hn + 1e-6
    assert f.limit_test is None and f.se["loc"] is None
    ci = f.confint(method="profile")
    assert ci["loc"] is None and ci["shape"][1] == np.inf


def test_boundary_check_with_options():
    x = np.random.default_rng(0).normal(0, 1, 150)
    # a kept parameter held fixed is held in the limiting model too
    f = thetahat.fit(x, "t", fixed={"loc": 0.0})
    assert f.boundary == {"df": np.inf}
    assert f.loglik == pytest.approx(st.norm.logpdf(x, 0.0, np.sqrt(np.mean(x * x))).sum(), rel=1e-12)
    # the covariance asked for is the limiting model's: the sandwich SE of a normal scale, by its formula
    g = thetahat.fit(x, "t", cov_type="sandwich")
    assert g.boundary and g.cov_type == "sandwich"
    s = x.std()
    z = (x - x.mean()) / s
    assert g.se["scale"] == pytest.approx(s * np.sqrt(np.mean((z * z - 1) ** 2) / 4 / x.size), rel=1e-8)
    # JSON-ready without the CLI's help: infinity becomes null, and "boundary" says where it went
    import json
    d = json.loads(json.dumps(g.to_dict(), allow_nan=False))
    assert d["params"]["df"] is None and d["boundary"] == {"df": "inf"}
    h = thetahat.fit(np.r_[x, np.nan], "t", dropna=True)
    assert h.boundary and h.dropped == 1 and any("1 rows with NaN were dropped" in n for n in h.notes)


def test_zip_boundary_at_large_counts_and_after_update():
    rng = np.random.default_rng(9)
    x = rng.poisson(1e9, 200).astype(float)  # no zeros: the slope at pi = 0 is -n (e^lam overflows)
    f = thetahat.fit(x, "zip")
    assert f.boundary == {"pi": 0.0} and f.params["lam"] == pytest.approx(x.mean(), rel=1e-12)
    a = np.r_[np.zeros(30), rng.poisson(3, 70)]
    b = rng.binomial(12, 0.25, 3000).astype(float)
    u = thetahat.fit(a, "zip").update(b)  # refits the rows: checked against the poisson like a fresh fit
    v = thetahat.fit(np.r_[a, b], "zip")
    assert u.boundary == v.boundary and u.loglik == pytest.approx(v.loglik, rel=1e-10)
    n0, lam = np.sum(np.r_[a, b] == 0), np.r_[a, b].mean()
    assert (n0 * np.expm1(lam) - (a.size + b.size - n0) <= 0) == bool(v.boundary)


@pytest.mark.parametrize("family", ["t", "cauchy"])
def test_tied_data_with_an_unbounded_likelihood_have_no_mle(family):
    x = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0])  # five of six tied: the likelihood is unbounded (Copas 1975)
    # scipy's log-likelihood keeps rising as the scale falls towards 0 at the tied value
    dist = st.cauchy if family == "cauchy" else st.t(0.5).dist
    lls = [dist.logpdf(x, *(() if family == "cauchy" else (0.5,)), loc=0.0, scale=s).sum()
           for s in (1e-2, 1e-4, 1e-8)]
    assert lls[0] < lls[1] < lls[2]
    f = thetahat.fit(x, family)
    assert not f.converged and "unbounded" in f.reason and "5 of 6 observations equal 0" in f.reason


@pytest.mark.parametrize("seed", range(6))
def test_zinb_without_excess_zeros(seed):
    # negative binomial data: where the score for zero inflation at pi = 0 (1/p^r - 1 per zero, -1 per
    # positive count, at the negative binomial's MLE) is not positive, the zinb's supremum is the
    # negative binomial's, found by scipy here
    x = np.random.default_rng(seed).negative_binomial(2.0, 0.4, 400).astype(float)
    f = thetahat.fit(x, "zinb")
    r = sopt.minimize(lambda q: -st.nbinom.logpmf(x, np.exp(q[0]), 1 / (1 + np.exp(-q[1]))).sum(), [0.5, 0.0],
                      method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000})
    nb_r, nb_p = np.exp(r.x[0]), 1 / (1 + np.exp(-r.x[1]))
    n0 = np.sum(x == 0)
    if n0 * np.expm1(-nb_r * np.log(nb_p)) - (x.size - n0) <= 0:
        _check_boundary(f, {"pi": 0.0}, -r.fun)
        assert f.params["r"] == pytest.approx(nb_r, rel=1e-5)
    else:
        _check_interior(f, -r.fun)
