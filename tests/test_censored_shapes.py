"""Censored and truncated gamma, Student t and beta (cdfs with a shape parameter) against scipy.

Each fit is checked against a direct numerical maximisation of the same log-likelihood
written with scipy's own logpdf, logcdf and logsf (scipy.optimize.minimize, Nelder-Mead
then Powell, tight tolerances): the log-likelihood to 1e-8 relative, the estimates to
1e-6; the standard errors against the inverse of a central finite-difference Hessian
of that scipy log-likelihood (1e-4). Also: compare() ranks censored fits of these
families, regress() fits a right-censored gamma GLM (against scipy), and the CLI fits them.
"""

import json
import warnings

import numpy as np
import pytest
from scipy import optimize
from scipy import stats as st

import thetahat
from thetahat.cli.main import main
from thetahat.errors import OptionError

MAKE = {
    "gamma": (lambda p: st.gamma(p[0], scale=1 / p[1]), [2.5, 1.5], [1, 1]),
    "t": (lambda p: st.t(p[0], p[1], p[2]), [4.0, 1.0, 2.0], [1, 0, 1]),
    "beta": (lambda p: st.beta(p[0], p[1]), [2.0, 3.5], [1, 1]),
}


def _loglik(make, th, lower, upper, trunc=None):
    """Sum over rows: logpdf (exact), logsf (right), logcdf (left), log(cdf(b) - cdf(a)) (interval);
    with truncation to [lo, hi], minus n log(cdf(hi) - cdf(lo)), a right-censored value lying in (c, hi]."""
    d = make(th)
    if trunc is not None:  # under truncation to [lo, hi], an open end is the window's end
        lower, upper = np.where(np.isinf(lower), trunc[0], lower), np.where(np.isinf(upper), trunc[1], upper)
    with np.errstate(all="ignore"):
        exact, right, left = lower == upper, np.isinf(upper), np.isinf(lower)
        inter = ~(exact | right | left)
        a, b = lower[inter], upper[inter]
        ca = d.cdf(a)
        mid = np.where(ca > 0.5, np.log(d.sf(a) - d.sf(b)), np.log(d.cdf(b) - ca))
        ll = (d.logpdf(lower[exact]).sum() + d.logsf(lower[right & ~left]).sum()
              + d.logcdf(upper[left & ~right]).sum() + mid.sum())
        if trunc is not None:
            lo, hi = trunc
            ll -= lower.size * np.log(d.cdf(hi) - d.cdf(lo))
    return float(ll) if np.isfinite(ll) else -1e300


def _maximise(make, pos, ll, start):
    pos = np.array(pos, bool)
    to_u = lambda th: np.where(pos, np.log(th), th)  # noqa: E731
    from_u = lambda u: np.where(pos, np.exp(u), u)  # noqa: E731
    obj = lambda u: -ll(from_u(u))  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = optimize.minimize(obj, to_u(np.asarray(start, float)), method="Nelder-Mead",
                              options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20000, "maxfev": 20000}).x
        r = optimize.minimize(obj, u, method="Powell", options={"xtol": 1e-12, "ftol": 1e-15, "maxfev": 40000})
    return from_u(r.x), -r.fun


def _fd_se(ll, th):
    """Standard errors from a central finite-difference Hessian (steps 1e-3 of each parameter's size)."""
    k = th.size
    h = 1e-3 * np.maximum(np.abs(th), 0.1)
    H = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            H[i, j] = H[j, i] = (ll(th + ei + ej) - ll(th + ei - ej) - ll(th - ei + ej) + ll(th - ei - ej)) / (
                4 * h[i] * h[j])
    return np.sqrt(np.diag(np.linalg.inv(-H)))


def _design(name, rng, n=300):
    """Exact, right-, left- and interval-censored rows (lower, upper) from the family's law."""
    make, true, _ = MAKE[name]
    d = make(true)
    v = d.rvs(n, random_state=rng)
    F = d.cdf(v)
    kind = rng.integers(0, 4, n)
    below, above = d.ppf(F * rng.uniform(0.3, 0.9, n)), d.ppf(F + (1 - F) * rng.uniform(0.1, 0.7, n))
    lower = np.select([kind == 0, kind == 1, kind == 2], [v, below, -np.inf], below)
    upper = np.select([kind == 0, kind == 1], [v, np.inf], above)
    return lower, upper


def _check(f, name, ll):
    make, _, pos = MAKE[name]
    th = np.array([f.params[k] for k in f.family.params])
    assert f.converged
    assert f.loglik == pytest.approx(ll(th), rel=1e-10)
    est, best = _maximise(make, pos, ll, th * 1.05)
    assert best <= f.loglik + 1e-8 * abs(f.loglik)
    assert best == pytest.approx(f.loglik, rel=1e-8)
    assert np.all(np.abs(est - th) <= 1e-6 * np.maximum(np.abs(th), 1e-3)), (th, est)
    se = np.array([f.se[k] for k in f.family.params])
    assert se == pytest.approx(_fd_se(ll, th), rel=1e-4)


@pytest.mark.parametrize("name", list(MAKE))
def test_censored_fit_matches_scipy(name):
    lower, upper = _design(name, np.random.default_rng(len(name)))
    f = thetahat.fit(None, name, lower=lower, upper=upper)
    _check(f, name, lambda th: _loglik(MAKE[name][0], th, lower, upper))


@pytest.mark.parametrize("name,trunc", [("gamma", (0.5, 4.0)), ("t", (-1.0, np.inf)), ("beta", (0.1, 0.8))])
def test_right_censored_and_truncated_fit_matches_scipy(name, trunc):
    make, true, _ = MAKE[name]
    rng = np.random.default_rng(5)
    d = make(true)
    x = d.ppf(rng.uniform(d.cdf(trunc[0]), d.cdf(trunc[1]), 300))
    c = d.ppf(rng.uniform(d.cdf(trunc[0]), d.cdf(trunc[1]), 300))  # censoring times inside the range
    e = (x <= c).astype(float)
    t = np.minimum(x, c)
    f = thetahat.fit(t, name, event=e, truncate=trunc)
    lower, upper = t, np.where(e == 1, t, np.inf)
    _check(f, name, lambda th: _loglik(make, th, lower, upper, trunc))


def test_compare_fits_censored_gamma_t_beta():
    lower, upper = _design("gamma", np.random.default_rng(9), 200)
    c = thetahat.compare(None, ["gamma", "weibull", "t"], lower=lower, upper=upper)
    assert set(c.fits) == {"gamma", "weibull", "t"}
    for name in ("gamma", "t"):
        f = c.fits[name]
        th = np.array([f.params[k] for k in f.family.params])
        assert f.loglik == pytest.approx(_loglik(MAKE[name][0], th, lower, upper), rel=1e-10)


def test_regress_fits_a_right_censored_gamma_glm():
    # log link, right-censored times: against scipy's gamma logpdf/logsf maximised by Nelder-Mead, and
    # the SEs against the inverse of a finite-difference Hessian of that log-likelihood
    from scipy import optimize as so
    from scipy import stats as sst

    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    mu = np.exp(0.5 + 0.3 * x)
    t = rng.gamma(2.5, mu / 2.5)
    c = rng.exponential(4.0, n)
    y, e = np.minimum(t, c), (t <= c).astype(float)
    X = np.column_stack([np.ones(n), x])
    f = thetahat.regress(X, y=y, family="gamma", event=e)

    def ll(q):
        m, k = np.exp(q[0] + q[1] * x), np.exp(q[2])
        return np.where(e > 0, sst.gamma.logpdf(y, k, scale=m / k), sst.gamma.logsf(y, k, scale=m / k)).sum()

    r = so.minimize(lambda q: -ll(q), [0.4, 0.2, 0.5], method="Nelder-Mead",
                    options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    assert f.converged and f.loglik == pytest.approx(-r.fun, rel=1e-10)
    np.testing.assert_allclose(f.estimates[:2], r.x[:2], rtol=1e-6)
    assert f.params["shape"] == pytest.approx(np.exp(r.x[2]), rel=1e-6)
    h = 1e-4
    H = np.array([[(ll(r.x + h * (np.eye(3)[i] + np.eye(3)[j])) - ll(r.x + h * (np.eye(3)[i] - np.eye(3)[j]))
                    - ll(r.x - h * (np.eye(3)[i] - np.eye(3)[j])) + ll(r.x - h * (np.eye(3)[i] + np.eye(3)[j])))
                   / (4 * h * h) for j in range(3)] for i in range(3)])
    se = np.sqrt(np.diag(np.linalg.inv(-H)))
    np.testing.assert_allclose(np.asarray(f.se)[:2], se[:2], rtol=1e-4)


@pytest.mark.parametrize("name", list(MAKE))
def test_cli_fits_right_censored_shape_families(capsys, tmp_path, name):
    make, true, _ = MAKE[name]
    rng = np.random.default_rng(11)
    d = make(true)
    x, c = d.rvs(200, random_state=rng), d.ppf(rng.uniform(0.3, 1.0, 200))
    e = (x <= c).astype(int)
    t = np.minimum(x, c)
    path = tmp_path / "surv.csv"
    path.write_text("x,e\n" + "".join(f"{float(v)!r},{int(k)}\n" for v, k in zip(t, e)))
    code = main(["fit", str(path), "--column", "x", "--family", name, "--event-column", "e", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    res = json.loads(out)
    lower, upper = t, np.where(e == 1, t, np.inf)
    th = np.array([res["params"][k] for k in thetahat.family(name).params])
    ll = lambda p: _loglik(make, p, lower, upper)  # noqa: E731
    assert res["loglik"] == pytest.approx(ll(th), rel=1e-10)
    est, best = _maximise(make, MAKE[name][2], ll, th * 1.05)
    assert best == pytest.approx(res["loglik"], rel=1e-8)
    assert np.all(np.abs(est - th) <= 1e-6 * np.abs(th))
