"""thetahat.mixture against scikit-learn's GaussianMixture, known formulas, simulation truth and a bootstrap."""

import numpy as np
import pytest
from scipy import stats as st
from sklearn.datasets import load_iris
from sklearn.mixture import GaussianMixture

import thetahat
from thetahat.errors import NonFiniteDataError, OptionError, SupportError
from thetahat.em._common import TooManyComponentsError

FAITHFUL = np.loadtxt("tests/data/faithful.csv", delimiter=",", skiprows=1)


def _sklearn_best(X, k, cov_type="full", runs=10):
    best = -np.inf
    for s in range(runs):
        g = GaussianMixture(k, covariance_type=cov_type, reg_covar=1e-12, tol=1e-10, max_iter=2000,
                            random_state=s).fit(X)
        best = max(best, g.score(X) * X.shape[0])
    return best


def _nondecreasing(f):
    t = np.asarray(f.trace)
    assert np.all(np.diff(t) >= -1e-9 * abs(t[-1])), "EM trace decreased"


def test_faithful_eruptions_vs_sklearn():
    x = FAITHFUL[:, 0]
    f = thetahat.mixture(x, 2, cov_prior=0, starts=3)
    ref = _sklearn_best(x[:, None], 2)
    assert f.converged
    assert f.loglik >= ref - 1e-6 * abs(ref)
    _nondecreasing(f)
    # the log-likelihood is the sum of log mixture densities (scipy), at the reported estimates
    p = f.params
    dens = sum(w * st.norm(m, s).pdf(x) for w, m, s in zip(p["weights"], p["mu"], p["sigma"]))
    np.testing.assert_allclose(f.loglik, np.log(dens).sum(), rtol=1e-12)
    assert p["mu"][0] < p["mu"][1]  # documented order: by mean


@pytest.mark.parametrize("cov_type", ["full", "diag", "spherical", "tied"])
def test_faithful_bivariate_vs_sklearn(cov_type):
    f = thetahat.mixture(FAITHFUL, 2, cov_type=cov_type, cov_prior=0, starts=2)
    ref = _sklearn_best(FAITHFUL, 2, cov_type)
    assert f.loglik >= ref - 1e-6 * abs(ref)
    _nondecreasing(f)


def test_iris_three_full_vs_sklearn():
    X = load_iris().data
    f = thetahat.mixture(X, 3, cov_prior=0, starts=5, se=False)
    ref = _sklearn_best(X, 3)
    assert f.loglik >= ref - 1e-6 * abs(ref)
    _nondecreasing(f)
    # log-likelihood recomputed with scipy's multivariate normal
    p = f.params
    dens = sum(w * st.multivariate_normal(m, c).pdf(X) for w, m, c in zip(p["weights"], p["mu"], p["cov"]))
    np.testing.assert_allclose(f.loglik, np.log(dens).sum(), rtol=1e-10)


def test_one_component_is_the_closed_form_mle():
    x = FAITHFUL[:, 1]
    f = thetahat.mixture(x, 1, cov_prior=0)
    np.testing.assert_allclose(f.params["mu"][0], x.mean(), rtol=1e-12)
    np.testing.assert_allclose(f.params["sigma"][0], x.std(), rtol=1e-10)
    # SE of mu and sigma for one normal component: sigma/sqrt(n), sigma/sqrt(2n)
    np.testing.assert_allclose(f.se["mu"][0], x.std() / np.sqrt(x.size), rtol=1e-6)
    np.testing.assert_allclose(f.se["sigma"][0], x.std() / np.sqrt(2 * x.size), rtol=1e-6)


def test_bic_selection_table():
    x = FAITHFUL[:, 0]
    sel = thetahat.mixture(x, range(1, 4), cov_prior=0, se=False)
    for row in sel.table:
        f = sel.fits[row["k"]]
        p = 3 * row["k"] - 1
        assert row["n_estimated"] == p
        np.testing.assert_allclose(row["bic"], -2 * f.loglik + p * np.log(x.size), rtol=1e-12)
    assert sel.k == min(sel.table, key=lambda r: r["bic"])["k"]
    # the same choice as scikit-learn's BIC (best of 5 runs per k)
    sk = {k: min(GaussianMixture(k, reg_covar=1e-12, tol=1e-10, max_iter=2000, random_state=s)
                 .fit(x[:, None]).bic(x[:, None]) for s in range(5)) for k in (1, 2, 3)}
    assert sel.k == min(sk, key=sk.get)


def test_predict_and_responsibilities_against_bayes_rule():
    x = FAITHFUL[:, 0]
    f = thetahat.mixture(x, 2, cov_prior=0)
    p = f.params
    joint = np.stack([w * st.norm(m, s).pdf(x) for w, m, s in zip(p["weights"], p["mu"], p["sigma"])], 1)
    np.testing.assert_allclose(f.responsibilities, joint / joint.sum(1, keepdims=True), atol=1e-12)
    np.testing.assert_array_equal(f.predict(x), joint.argmax(1))
    xs, lab = f.sample(20000, seed=3)
    assert abs(np.mean(lab == 0) - p["weights"][0]) < 4 * np.sqrt(0.25 / 20000)


def _sim_mix(rng, n, fam):
    lab = rng.choice(2, size=n, p=[0.4, 0.6])
    if fam == "poisson":
        return rng.poisson(np.array([2.0, 9.0])[lab]).astype(float), {"lam": [2.0, 9.0]}
    if fam == "exponential":
        return rng.exponential(1 / np.array([5.0, 0.5])[lab]), {"lam": [5.0, 0.5]}
    shape, rate = np.array([2.0, 9.0]), np.array([2.0, 1.0])
    return rng.gamma(shape[lab], 1 / rate[lab]), {"shape": [2.0, 9.0], "rate": [2.0, 1.0]}


@pytest.mark.parametrize("fam", ["poisson", "exponential", "gamma"])
def test_other_families_recover_truth_within_4se(fam):
    rng = np.random.default_rng(7)
    x, truth = _sim_mix(rng, 3000, fam)
    f = thetahat.mixture(x, 2, family=fam, starts=2)
    assert f.converged
    _nondecreasing(f)
    truth = {"weights": [0.4, 0.6], **truth}
    if fam == "exponential":  # order by mean = 1/lam: the rate-5 component first
        pass
    for name, tv in truth.items():
        est, se = np.asarray(f.params[name]), np.asarray(f.se[name])
        assert np.all(np.abs(est - np.asarray(tv)) <= 4 * se), (name, est, se, tv)


@pytest.mark.slow
def test_poisson_mixture_se_matches_parametric_bootstrap():
    # B = 400 refits: the Monte Carlo relative error of a bootstrap SD is about 1/sqrt(2B) = 3.5 %,
    # so the 10 % tolerance is 2.8 Monte Carlo SEs.
    rng = np.random.default_rng(11)
    x, _ = _sim_mix(rng, 1000, "poisson")
    f = thetahat.mixture(x, 2, family="poisson")
    start = {"weights": f.params["weights"], "lam": f.params["lam"]}
    est = []
    for b in range(400):
        xb, _ = f.sample(x.size, seed=1000 + b)
        fb = thetahat.mixture(xb, 2, family="poisson", start=start, se=False)
        est.append(np.r_[fb.params["weights"][0], fb.params["lam"]])
    sd = np.std(est, axis=0, ddof=1)
    ours = np.r_[f.se["weights"][0], f.se["lam"]]
    np.testing.assert_allclose(ours, sd, rtol=0.10)


def test_covariance_prior_prevents_collapse():
    # a point repeated far from the rest: plain ML can put a component on it with sigma -> 0
    x = np.r_[np.random.default_rng(0).normal(0, 1, 50), [8.0, 8.0, 8.0]]
    f = thetahat.mixture(x, 2, starts=3, se=False)
    assert np.all(f.params["sigma"] > 0) and np.isfinite(f.loglik)
    psi = 1e-6 * x.var()
    # closed-form MAP for the collapsed component: sigma^2 = psi / N_j
    nj = f.params["weights"][1] * x.size
    np.testing.assert_allclose(f.params["sigma"][1] ** 2, psi / nj, rtol=1e-6)


def test_bad_input_errors():
    with pytest.raises(TooManyComponentsError, match="only 2 distinct"):
        thetahat.mixture([1.0, 2.0, 1.0, 2.0], 3)
    with pytest.raises(NonFiniteDataError, match="data row 3"):
        thetahat.mixture([1.0, 2.0, float("nan"), 4.0], 2)
    with pytest.raises(SupportError, match="data row 2"):
        thetahat.mixture([1.0, -2.0, 3.0, 4.0], 2, family="poisson")
    with pytest.raises(OptionError, match="cov_type"):
        thetahat.mixture(FAITHFUL, 2, cov_type="banana")
    with pytest.raises(OptionError, match="positive integer"):
        thetahat.mixture(FAITHFUL, 0)
    with pytest.raises(OptionError, match="not identifiable"):
        thetahat.mixture([0, 1, 1, 0, 1], 2, family="bernoulli")


def test_cli_mixture_json_and_error(capsys):
    import json

    from thetahat.cli.main import main

    assert main(["mixture", "tests/data/faithful.csv", "--k", "2", "--column", "x", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    x = FAITHFUL[:, 0]
    p = d["params"]
    dens = sum(w * st.norm(m, s).pdf(x) for w, m, s in zip(p["weights"], p["mu"], p["sigma"]))
    np.testing.assert_allclose(d["loglik"], np.log(dens).sum(), rtol=1e-12)
    assert main(["mixture", "tests/data/faithful.csv", "--k", "2", "--column", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("thetahat: error:") and len(err.strip().splitlines()) == 1


# ---- collapsed components (plain ML, cov_prior=0): the likelihood is unbounded, there is no MLE ----------
EPS = np.finfo(float).eps


def _floor(x):
    """(1e3 ulps of the data scale)^2: the documented collapse threshold for a variance."""
    return (1e3 * EPS * np.max(np.abs(x))) ** 2


def test_collapse_onto_repeated_value_is_not_converged():
    x = np.r_[np.random.default_rng(0).normal(0, 1, 50), [8.0, 8.0, 8.0]]
    f = thetahat.mixture(x, 2, cov_prior=0, starts=3, se=False)
    assert not f.converged and f.collapsed == (1,)
    assert f.reason.startswith("component 1 collapsed") and "no MLE" in f.reason and "cov_prior='auto'" in f.reason
    assert f.params["sigma"][1] ** 2 <= _floor(x) and f.params["mu"][1] == pytest.approx(8.0, abs=1e-12)
    # scikit-learn with reg_covar=0 reaches the same point silently: a variance at rounding level
    g = GaussianMixture(2, reg_covar=0, random_state=0).fit(x[:, None])
    j = int(np.argmax(g.means_[:, 0]))
    assert g.means_[j, 0] == pytest.approx(8.0) and g.covariances_[j, 0, 0] <= _floor(x)
    # known fact: the likelihood grows without bound as that sigma shrinks (by 3 log 10 per decade, the
    # three tied points), so it exceeds the one at any regular fit, e.g. the MAP fit with the default prior
    w, m, s = [50 / 53, 3 / 53], [x[:50].mean(), 8.0], x[:50].std()
    ll = [np.log(w[0] * st.norm(m[0], s).pdf(x) + w[1] * st.norm(8.0, sd).pdf(x)).sum() for sd in (1e-3, 1e-6)]
    np.testing.assert_allclose(ll[1] - ll[0], 3 * np.log(1e3), rtol=1e-6)
    regular = thetahat.mixture(x[:50], 2, cov_prior=0, se=False)
    assert regular.converged and ll[0] > regular.loglik and ll[1] > thetahat.mixture(x, 2, se=False).loglik
    # the BIC choice of k skips the collapsed fit (whose BIC means nothing), where sklearn's BIC takes it
    sel = thetahat.mixture(x, range(1, 3), cov_prior=0, se=False)
    assert sel.k == 1 and sel.table[1]["collapsed"]
    assert g.bic(x[:, None]) < GaussianMixture(1, reg_covar=0).fit(x[:, None]).bic(x[:, None])


@pytest.mark.parametrize("cov_type", ["full", "diag", "spherical"])
def test_mvnormal_collapse_vs_sklearn(cov_type):
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (60, 2)), np.full((3, 2), 8.0)]
    g = GaussianMixture(2, covariance_type=cov_type, reg_covar=0, random_state=0)
    if cov_type == "full":  # its Cholesky factorisation fails on the singular covariance
        with pytest.raises(ValueError, match="ill-defined empirical covariance"):
            g.fit(X)
    else:  # its check (a variance <= 0) passes; its variances E[x^2] - mean^2 are a few ulps of x^2 = 64
        g.fit(X)
        j = int(np.argmax(g.means_[:, 0]))
        assert np.all(g.means_[j] == pytest.approx(8.0)) and np.all(g.covariances_[j] <= 16 * EPS * 64)
    f = thetahat.mixture(X, 2, cov_type=cov_type, cov_prior=0, starts=2, se=False)
    assert not f.converged and f.collapsed == (1,) and "fewer than 3 points" in f.reason
    assert np.all(f.params["mu"][1] == pytest.approx(8.0, abs=1e-12))
    # with the default weak prior the same data have a bounded objective and a converged fit
    assert thetahat.mixture(X, 2, cov_type=cov_type, se=False).converged


def test_collapse_onto_a_line_in_two_dimensions():
    """Two distinct points in 2-D: a full covariance can become singular (rank 1) without its variances vanishing."""
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(0, 1, (60, 2)), [[8.0, 8.0], [9.0, 10.0]]]
    start = {"weights": [0.9, 0.1], "mu": [[0.0, 0.0], [8.5, 9.0]], "cov": [np.eye(2), np.eye(2)]}
    f = thetahat.mixture(X, 2, start=start, cov_prior=0, se=False)
    assert not f.converged and f.collapsed == (1,)
    # scikit-learn from the same start refuses the singular covariance
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(2, reg_covar=0, weights_init=start["weights"], means_init=start["mu"],
                        precisions_init=np.linalg.inv(start["cov"])).fit(X)


def test_stops_before_the_step_onto_a_lone_outlier():
    x = np.r_[np.random.default_rng(1).normal(0, 1, 50), [8.0]]
    start = {"weights": [0.9, 0.1], "mu": [0.0, 8.0], "sigma": [1.0, 1.0]}
    f = thetahat.mixture(x, 2, start=start, cov_prior=0)
    assert not f.converged and f.collapsed == (1,) and "1 observations' weight" in f.reason
    assert f.se["mu"] is None and any("did not converge" in n for n in f.notes)
    p = f.params
    assert p["sigma"][1] ** 2 > _floor(x)  # the reported parameters are the last regular ones ...
    # ... and the EM step from them (responsibilities by Bayes' rule with scipy) would collapse
    joint = np.stack([w * st.norm(m, s).pdf(x) for w, m, s in zip(p["weights"], p["mu"], p["sigma"])], 1)
    r = joint[:, 1] / joint.sum(1)
    mu1 = (r * x).sum() / r.sum()
    assert (r * (x - mu1) ** 2).sum() / r.sum() <= _floor(x)
    _nondecreasing(f)


def test_multistart_prefers_the_regular_run():
    rng = np.random.default_rng(2)
    x = np.r_[rng.normal(0, 1, 200), rng.normal(6, 1, 200), [30.0]]
    bad = {"weights": [0.99, 0.01], "mu": [3.0, 30.0], "sigma": [3.0, 1.0]}
    alone = thetahat.mixture(x, 2, start=bad, cov_prior=0, se=False)
    assert alone.collapsed == (1,)
    f = thetahat.mixture(x, 2, start=bad, starts=3, cov_prior=0, se=False)
    assert f.converged and f.collapsed == () and f.starts == 3
    ref = _sklearn_best(x[:, None], 2, runs=3)
    assert f.loglik >= ref - 1e-6 * abs(ref)
