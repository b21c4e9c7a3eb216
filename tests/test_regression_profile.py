"""Profile-likelihood intervals of regression coefficients (``confint(method="profile")``).

References: R's ``confint()`` of a glm (MASS's profile method, which profiles on a grid and
interpolates with a spline: good to about 5e-5 relative here), the same ends found exactly in R
(glm with the coefficient in the offset, ``uniroot`` at tol 1e-13; tests/data/r_glm/profile_glm.R
writes both), brute-force profiles with scipy.optimize on hand-written likelihoods (logit, censored
Weibull AFT), and the closed form of the normal linear model.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from scipy.special import expit, gammaln

import thetahat
from thetahat.errors import OptionError
from thetahat.regression.checks import SeparationError

HERE = Path(__file__).parent / "data" / "r_glm"
D = pd.read_csv(HERE / "glm_data.csv")
FAMILY = {"logit": ("bernoulli", "ybin"), "poisson": ("poisson", "ycount")}


def _name(r):
    return "Intercept" if r == "(Intercept)" else r


@pytest.fixture(scope="module")
def fits():
    return {m: thetahat.regress(f"{y} ~ x1 + x2", D, family=fam) for m, (fam, y) in FAMILY.items()}


@pytest.mark.parametrize("model", ["logit", "poisson"])
@pytest.mark.parametrize("level", [0.95, 0.90])
def test_against_r_exact_profile(fits, model, level):
    ref = pd.read_csv(HERE / "profile_reference_exact.csv")
    ref = ref[(ref.model == model) & np.isclose(ref.level, level)]
    ci = fits[model].confint(level, method="profile")
    assert ci.method == "profile" and ci.notes == []
    for _, r in ref.iterrows():
        np.testing.assert_allclose(ci[_name(r["name"])], (r.lower, r.upper), rtol=1e-10)


@pytest.mark.parametrize("model", ["logit", "poisson"])
def test_against_r_confint(fits, model):
    """R's own confint (spline-interpolated grid): 5e-5 relative at worst here."""
    ref = pd.read_csv(HERE / "profile_reference.csv")
    for level in (0.95, 0.90):
        ci = fits[model].confint(level, method="profile")
        for _, r in ref[(ref.model == model) & np.isclose(ref.level, level)].iterrows():
            np.testing.assert_allclose(ci[_name(r["name"])], (r.lower, r.upper), rtol=1e-4)


def _brute_ends(nll, grad, theta_hat, j, lmax, se, level=0.95):
    """The ends of the profile interval of theta[j], the others by BFGS, the roots by brentq."""
    q = stats.chi2.ppf(level, 1)
    rest = np.delete(theta_hat, j)

    def D(b):
        full = lambda r: np.insert(r, j, b)  # noqa: E731
        res = optimize.minimize(lambda r: nll(full(r)), rest, jac=lambda r: np.delete(grad(full(r)), j),
                                method="BFGS", options={"gtol": 1e-11, "maxiter": 10000})
        return 2 * (lmax + res.fun) - q

    b = theta_hat[j]
    return (optimize.brentq(D, b - 4 * se, b, xtol=1e-13, rtol=1e-14),
            optimize.brentq(D, b, b + 4 * se, xtol=1e-13, rtol=1e-14))


def test_logit_against_brute_force(fits):
    f = fits["logit"]
    X = np.column_stack([np.ones(len(D)), D.x1, D.x2])
    y = D.ybin.to_numpy(float)

    def nll(b):
        eta = X @ b
        return -np.sum(y * eta - np.logaddexp(0, eta))

    def grad(b):
        return -X.T @ (y - expit(X @ b))

    ci = f.confint(method="profile")
    for j, k in enumerate(f.names):
        np.testing.assert_allclose(ci[k], _brute_ends(nll, grad, f.estimates, j, f.loglik, f.se[j]), rtol=1e-10)


def test_censored_weibull_aft_against_brute_force():
    rng = np.random.default_rng(7)
    n = 300
    x1, x2 = rng.normal(size=n), rng.uniform(size=n)
    t = np.exp(0.5 + 0.6 * x1 - 0.4 * x2 + 0.7 * np.log(rng.exponential(size=n)))
    c = rng.exponential(4.0, n)
    d = pd.DataFrame({"t": np.minimum(t, c), "e": (t <= c).astype(float), "x1": x1, "x2": x2})
    f = thetahat.regress("t ~ x1 + x2", d, family="weibull", event="e")
    X = np.column_stack([np.ones(n), x1, x2])
    tt, ev = d.t.to_numpy(), d.e.to_numpy()

    def nll(th):  # log T = eta + sigma W, W standard minimum extreme value; th = (b, log sigma)
        s = np.exp(th[-1])
        z = (np.log(tt) - X @ th[:-1]) / s
        return -np.sum(ev * (-th[-1] - np.log(tt) + z) - np.exp(z))

    def grad(th):
        s = np.exp(th[-1])
        z = (np.log(tt) - X @ th[:-1]) / s
        r = ev - np.exp(z)
        return -np.concatenate([X.T @ (-r / s), [np.sum(-ev - z * r)]])

    th = np.concatenate([f.estimates[:3], [-np.log(f.params["shape"])]])
    assert abs(-nll(th) - f.loglik) < 1e-9 * abs(f.loglik)  # the same likelihood
    ci = f.confint(method="profile")
    assert set(ci) == {"Intercept", "x1", "x2"}
    for j, k in enumerate(["Intercept", "x1", "x2"]):
        np.testing.assert_allclose(ci[k], _brute_ends(nll, grad, th, j, f.loglik, f.se[j]), rtol=1e-10)


def test_normal_closed_form():
    """Profile of b_j in the normal model: n log(1 + (t - b_j)^2 / (RSS c_jj)) = q, c = (X'X)^-1."""
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(40), rng.normal(size=40), rng.uniform(size=40)])
    y = X @ [1.0, 2.0, -1.0] + rng.normal(size=40)
    f = thetahat.regress(X, y=y)
    b, rss = np.linalg.lstsq(X, y, rcond=None)[:2]
    c = np.diag(np.linalg.inv(X.T @ X))
    half = np.sqrt(rss[0] * c * np.expm1(stats.chi2.ppf(0.95, 1) / 40))
    ci = f.confint(method="profile")
    for j, k in enumerate(f.names[:3]):
        np.testing.assert_allclose(ci[k], (b[j] - half[j], b[j] + half[j]), rtol=1e-12)


def test_every_newton_model_reaches_the_cutoff_at_its_ends(fits):
    """NB2, tobit, ordered, multinomial: the profile deviance at each end is the cutoff,
    checked by a refit with regress itself, the coefficient moved into the offset."""
    rng = np.random.default_rng(1)
    n = len(D)
    d = D.assign(yn=1 + D.x1 - D.x2 + rng.normal(size=n))
    d = d.assign(ytob=np.maximum(d.yn, 0.5))
    q = stats.chi2.ppf(0.95, 1)
    for fam, y, kw in [("negative_binomial", "ycount", {}), ("tobit", "ytob", {"left": 0.5}),
                       ("gamma", "ygam", {"link": "log"})]:
        f = thetahat.regress(f"{y} ~ x1 + x2", d, family=fam, **kw)
        ci = f.confint(method="profile", params=["x1"])
        for end in ci["x1"]:
            g = thetahat.regress(f"{y} ~ x2", d, family=fam, offset=end * d.x1.to_numpy(), **kw)
            assert abs(2 * (f.loglik - g.loglik) - q) < 1e-7
    d = d.assign(yord=np.digitize(d.yn, [0.5, 1.5]), ycl=rng.integers(0, 3, n))
    for fam, y in [("ordered", "yord"), ("multinomial", "ycl")]:
        f = thetahat.regress(f"{y} ~ x1 + x2", d, family=fam)
        ci = f.confint(method="profile")
        wald = f.confint()
        for k, (lo, hi) in ci.items():
            assert lo < f.params[k] < hi
            assert abs((hi - lo) / (wald[k][1] - wald[k][0]) - 1) < 0.1  # close to Wald at n = 400


def test_transform_maps_the_ends(fits):
    f = fits["poisson"]
    ci, rr = f.confint(method="profile"), f.confint(method="profile", params="x1", transform=np.exp)
    assert list(rr) == ["x1"]
    np.testing.assert_allclose(rr["x1"], np.exp(ci["x1"]), rtol=1e-12)
    neg = f.confint(method="profile", params="x1", transform=lambda v: -v)
    np.testing.assert_allclose(neg["x1"], (-ci["x1"][1], -ci["x1"][0]), rtol=1e-12)


def test_wald_default_unchanged(fits):
    f = fits["logit"]
    z = stats.norm.ppf(0.975)
    w = f.confint()
    assert type(w) is dict and list(w) == list(f.names)
    for k, e, s in zip(f.names, f.estimates, f.se):
        np.testing.assert_allclose(w[k], (e - z * s, e + z * s), rtol=1e-14)


def test_refusals(fits):
    f = fits["logit"]
    with pytest.raises(OptionError, match="unknown interval method"):
        f.confint(method="bootstrap")
    with pytest.raises(OptionError, match="not a parameter"):
        f.confint(method="profile", params="x9")
    with pytest.raises(OptionError, match="not parameters"):
        f.confint(params="x9")
    nb = thetahat.regress("ycount ~ x1", D, family="negative_binomial")
    with pytest.raises(OptionError, match="coefficients only"):
        nb.confint(method="profile", params="alpha")
    pen = thetahat.regress("ybin ~ x1 + x2", D, family="bernoulli", penalty="l2", lam=1.0)
    with pytest.raises(OptionError, match="penalised"):
        pen.confint(method="profile")
    gi = thetahat.regress("ygam ~ x1", D, family="gamma", link="inverse")
    with pytest.raises(OptionError, match="inverse link"):
        gi.confint(method="profile")


def test_separation_has_no_fit_to_profile():
    """A logit with finite MLE has bounded profiles (its log-likelihood is concave with a unique
    maximum); a quasi-completely separated one, whose interval R reports open (NA) on one side,
    is refused by regress itself."""
    x = np.array([0.0, 1, 2, 3, 4, 5, 5, 6, 7, 8])
    y = np.array([0.0, 0, 0, 0, 0, 0, 1, 1, 1, 1])  # quasi-complete: both outcomes only at x = 5
    with pytest.raises(SeparationError):
        thetahat.regress(np.column_stack([np.ones(10), x]), y=y, family="bernoulli")


def test_streamed_fit_refused(tmp_path):
    path = tmp_path / "d.csv"
    D.to_csv(path, index=False)
    f = thetahat.regress("ycount ~ x1", str(path), family="poisson")
    with pytest.raises(OptionError, match="rows in memory"):
        f.confint(method="profile")


def test_linear_combinations_against_brute_force(fits):
    """b1 - b2, and the fitted probability at x0 = (1, .5, .5) (the linear predictor's interval
    through expit), vs brute-force profiles in a reparametrisation b = A theta' whose entry j is
    the combination."""
    f = fits["logit"]
    X = np.column_stack([np.ones(len(D)), D.x1, D.x2])
    y = D.ybin.to_numpy(float)
    x0 = np.array([1.0, 0.5, 0.5])
    ci = f.confint(method="profile", params={"x1 - x2": {"x1": 1, "x2": -1}, "p(x0)": x0}, transform=expit)
    raw = f.confint(method="profile", params={"x1 - x2": [0.0, 1, -1]})
    cases = [("x1 - x2", np.array([[1.0, 0, 0], [0, 1, 1], [0, 0, 1]]), 1, np.array([0.0, 1, -1]), raw, None),
             ("p(x0)", np.array([[1.0, -0.5, -0.5], [0, 1, 0], [0, 0, 1]]), 0, x0, ci, expit)]
    for label, A, j, c, got, g in cases:
        def nll(t, A=A):
            eta = X @ (A @ t)
            return -np.sum(y * eta - np.logaddexp(0, eta))

        def grad(t, A=A):
            return -A.T @ (X.T @ (y - expit(X @ (A @ t))))

        th = np.linalg.solve(A, f.estimates[:3])
        se = np.sqrt(c @ f.cov[:3, :3] @ c)
        ends = np.array(_brute_ends(nll, grad, th, j, f.loglik, se))
        np.testing.assert_allclose(got[label], ends if g is None else g(ends), rtol=1e-10)
    with pytest.raises(OptionError, match="weights"):
        f.confint(method="profile", params={"bad": [1.0, 2.0]})


# ---- a nonlinear function of several coefficients ---------------------------------------------------
def _ratio_profile_deviance(X, y, lmax, t, start):
    """2 (lmax - max loglik) of the logit with b1 = t b2, over (b0, b2) by BFGS then Nelder-Mead: the
    profile of the ratio b1/b2 written by hand (scipy, the logit's log-likelihood in NumPy)."""
    def nll(v):
        eta = X[:, 0] * v[0] + (t * X[:, 1] + X[:, 2]) * v[1]
        return float(np.sum(np.logaddexp(0.0, eta) - y * eta))

    r = optimize.minimize(nll, start, method="BFGS", options={"gtol": 1e-10})
    r = optimize.minimize(nll, r.x, method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-13, "maxiter": 4000})
    return 2.0 * (lmax + r.fun)


def test_ratio_of_coefficients_against_a_brute_force_profile(fits):
    # confint of g(b) = b1 / b2 through the Lagrange system: at each end the hand-written profile
    # deviance of the ratio equals the chi-square cutoff, and the ends bracket the estimate
    f = fits["logit"]
    X = np.column_stack([np.ones(len(D)), D.x1, D.x2])
    y = D.ybin.to_numpy(dtype=float)
    ci = f.confint(0.95, method="profile", params={"x1 / x2": lambda b: b["x1"] / b["x2"]})
    lo, hi = ci["x1 / x2"]
    ratio = f.params["x1"] / f.params["x2"]
    assert lo < ratio < hi and ci.notes == []
    q = stats.chi2.ppf(0.95, 1)
    for end in (lo, hi):
        d = _ratio_profile_deviance(X, y, f.loglik, end, [f.params["Intercept"], f.params["x2"]])
        assert d == pytest.approx(q, abs=1e-7)


def test_a_linear_function_equals_the_linear_combination(fits):
    # the same profile by two routes: the Lagrange system for g(b) = b1 - 2 b2, and the rotation that
    # holds c'b for c = (0, 1, -2)
    f = fits["poisson"]
    by_function = f.confint(0.9, method="profile", params={"g": lambda b: b["x1"] - 2.0 * b["x2"]})["g"]
    by_rotation = f.confint(0.9, method="profile", params={"g": {"x1": 1.0, "x2": -2.0}})["g"]
    np.testing.assert_allclose(by_function, by_rotation, rtol=1e-9)


def test_ratio_with_a_denominator_near_zero_has_an_open_side():
    # Fieller's case: the denominator's interval holds 0, so as b1/b2 grows the profile tends to the fit
    # with b2 = 0, which is inside the cutoff: the side is open (inf, with a note, as Fit.confint reports
    # it); the closed end is where the hand-written profile deviance (scipy, b1 = t b2) meets the cutoff
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(150), rng.normal(size=(150, 2))])
    y = rng.poisson(np.exp(0.2 + 0.5 * X[:, 1])).astype(float)
    f = thetahat.regress(X, y=y, family="poisson")
    lo_b2, hi_b2 = f.confint(0.95, method="profile", params="x2")["x2"]
    assert lo_b2 < 0 < hi_b2 and f.params["x2"] > 0
    ci = f.confint(0.95, method="profile", params={"r": lambda b: b["x1"] / b["x2"]})
    lo, hi = ci["r"]
    assert hi == np.inf and any("open" in n for n in ci.notes)

    def nll(v, t):
        eta = v[0] + (t * X[:, 1] + X[:, 2]) * v[1]
        return float(np.sum(np.exp(eta) - y * eta))

    r = optimize.minimize(nll, [f.params["x0"], f.params["x2"]], args=(lo,), method="BFGS", options={"gtol": 1e-10})
    r = optimize.minimize(nll, r.x, args=(lo,), method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-13})
    lgamma_y = float(np.sum(gammaln(y + 1)))
    assert 2.0 * (f.loglik + r.fun + lgamma_y) == pytest.approx(stats.chi2.ppf(0.95, 1), abs=1e-7)
