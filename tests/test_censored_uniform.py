"""The censored uniform: an end point is regular exactly when its MLE is not at a kink of the
log-likelihood (an exact value or a censoring bound), and then it has Fisher standard errors.

References: the closed-form Type I censored MLE b = (n c - m a) / (n - m) with its
observed information n/(b-a)^2 - m/(b-c)^2; a direct numerical maximisation of the
log-likelihood written with scipy.stats.uniform (Nelder-Mead, tight tolerances); and the
inverse of a central finite-difference Hessian of that scipy log-likelihood.
"""

import numpy as np
import pytest
from scipy import optimize
from scipy import stats as st

import thetahat


def _ll(a, b, lower, upper):
    if not b > a:
        return -1e300
    d = st.uniform(a, b - a)
    exact, right, left = lower == upper, np.isinf(upper), np.isinf(lower)
    inter = ~(exact | right | left)
    with np.errstate(divide="ignore"):
        ll = float(d.logpdf(lower[exact]).sum() + d.logsf(lower[right]).sum() + d.logcdf(upper[left]).sum()
                   + np.log(d.cdf(upper[inter]) - d.cdf(lower[inter])).sum())
    return ll if np.isfinite(ll) else -1e300  # (a finite floor: scipy's finite differences subtract it)


def _scipy_mle(lower, upper, start):
    """Maximise the scipy log-likelihood under the support's constraint a <= min(exact) and
    b >= max(exact) (L-BFGS-B with bounds, then Powell with bounds, both to tight tolerances)."""
    exact = lower[lower == upper]
    bounds = [(None, exact.min()), (exact.max(), None)]
    obj = lambda t: -_ll(t[0], t[1], lower, upper)  # noqa: E731
    r = optimize.minimize(obj, start, method="L-BFGS-B", bounds=bounds,
                          options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000})
    r = optimize.minimize(obj, r.x, method="Powell", bounds=bounds, options={"xtol": 1e-13, "ftol": 1e-15})
    return r.x, -r.fun


def _fd_second(f, x, h):
    return (f(x + h) - 2 * f(x) + f(x - h)) / h**2


@pytest.fixture(scope="module")
def values():
    return np.random.default_rng(40).uniform(1.0, 4.0, 150)


def test_type_one_censoring_gives_a_regular_upper_end(values):
    c = 3.5  # every value beyond c is censored at c: no exact value lies near b
    x, e = np.minimum(values, c), (values <= c).astype(float)
    f = thetahat.fit(x, "uniform", event=e)
    n, m = x.size, int((e == 0).sum())
    a = x[e == 1].min()
    b = (n * c - m * a) / (n - m)  # the score equation n/(b-a) = m/(b-c)
    assert f.params["a"] == a and f.params["b"] == pytest.approx(b, rel=1e-13)
    assert f.se["a"] is None
    assert f.se["b"] == pytest.approx(1 / np.sqrt(m / (b - c) ** 2 - n / (b - a) ** 2), rel=1e-8)
    assert any("a is a non-regular" in s for s in f.notes) and not any("b is a non-regular" in s for s in f.notes)
    lower, upper = x, np.where(e == 1, x, np.inf)
    est, best = _scipy_mle(lower, upper, [a - 0.01, b + 0.05])
    assert best <= f.loglik + 1e-9 and best == pytest.approx(f.loglik, rel=1e-10)
    assert est == pytest.approx([f.params["a"], f.params["b"]], rel=1e-7)


def test_detection_limits_on_both_sides_give_two_regular_ends(values):
    lo_lim, hi_lim = 1.5, 3.5
    lower = np.where(values < lo_lim, -np.inf, np.minimum(values, hi_lim))
    upper = np.where(values > hi_lim, np.inf, np.maximum(values, lo_lim))
    f = thetahat.fit(None, "uniform", lower=lower, upper=upper)
    assert f.converged and not any("non-regular" in s for s in f.notes)
    th = np.array([f.params["a"], f.params["b"]])
    est, best = _scipy_mle(lower, upper, th + [-0.05, 0.05])
    assert best <= f.loglik + 1e-9 and best == pytest.approx(f.loglik, rel=1e-10)
    assert est == pytest.approx(th, rel=1e-7)
    # standard errors: the inverse of scipy's finite-difference Hessian
    h = 1e-4
    H = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            H[i, j] = (_ll(*(th + ei + ej), lower, upper) - _ll(*(th + ei - ej), lower, upper)
                       - _ll(*(th - ei + ej), lower, upper) + _ll(*(th - ei - ej), lower, upper)) / (4 * h * h)
    se = np.sqrt(np.diag(np.linalg.inv(-H)))
    assert [f.se["a"], f.se["b"]] == pytest.approx(se, rel=1e-4)


def test_random_censoring_below_the_largest_value_leaves_it_non_regular(values):
    rng = np.random.default_rng(41)
    c = rng.uniform(1.0, 5.0, values.size)
    x, e = np.minimum(values, c), (values <= c).astype(float)
    f = thetahat.fit(x, "uniform", event=e)
    lower, upper = x, np.where(e == 1, x, np.inf)
    est, best = _scipy_mle(lower, upper, [x.min() - 0.1, x.max() + 0.1])
    assert best <= f.loglik + 1e-9 and best == pytest.approx(f.loglik, rel=1e-10)
    assert est == pytest.approx([f.params["a"], f.params["b"]], rel=1e-7)
    # each end: at a kink (an exact value) and non-regular, or a stationary point with an SE
    for k, v in f.params.items():
        at_kink = np.any(x[e == 1] == v)
        assert (f.se[k] is None) == at_kink
        if not at_kink:  # the score in that end vanishes (scipy, central differences)
            other = f.params["a" if k == "b" else "b"]
            g = lambda t: _ll(*((t, other) if k == "a" else (other, t)), lower, upper)  # noqa: E731
            assert abs(g(v + 1e-6) - g(v - 1e-6)) / 2e-6 < 1e-5
            assert f.se[k] == pytest.approx(1 / np.sqrt(-_fd_second(g, v, 1e-4)), rel=1e-4)
