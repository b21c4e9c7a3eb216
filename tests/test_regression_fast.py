"""The fused NumPy path of the canonical GLMs (logit, log-Poisson) against JAX autodiff of
the model's log-likelihood, scipy.stats and statsmodels, including the large-data path
(subsample start, chord Newton) the benchmark times."""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

import thetahat
from thetahat.regression import _canonical, _newton
from thetahat.regression.models import get_model


def _case(name, n, rng, weights=True, offset=True):
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 3))])
    eta = X @ np.array([-0.3, 0.8, -0.5, 0.2])
    off = rng.normal(0, 0.3, n) if offset else None
    e = eta + (0 if off is None else off)
    aux = None
    if name == "bernoulli":
        y = (rng.random(n) < 1 / (1 + np.exp(-e))).astype(float)
    elif name == "binomial":
        aux = rng.integers(1, 6, n).astype(float)
        y = rng.binomial(aux.astype(int), 1 / (1 + np.exp(-e))).astype(float)
    else:
        y = rng.poisson(np.exp(e)).astype(float)
    w = None
    if weights:
        w = rng.integers(0, 3, n).astype(float)  # zero weights included
    return X, y, aux, w, off


def _logpmf(name, y, aux, eta):
    if name == "bernoulli":
        return stats.bernoulli(1 / (1 + np.exp(-eta))).logpmf(y)
    if name == "binomial":
        return stats.binom(aux, 1 / (1 + np.exp(-eta))).logpmf(y)
    return stats.poisson(np.exp(eta)).logpmf(y)


@pytest.mark.usefixtures("x64")  # (the test calls thetahat's internals itself)
@pytest.mark.parametrize("name", ["bernoulli", "binomial", "poisson"])
@pytest.mark.parametrize("n", [37, 20_011])  # padded rows; several blocks with a short last one
def test_fused_pass_equals_autodiff_and_scipy(name, n, monkeypatch):
    rng = np.random.default_rng(3)
    X, y, aux, w, off = _case(name, n, rng)
    model = get_model(name)
    theta = np.array([-0.2, 0.7, -0.4, 0.1])
    data = _newton.Data.build(X, y, aux, w, off)
    v, g, H = _newton.derivatives(model, data, theta)
    assert _canonical.terms_for(model) is not None
    monkeypatch.setattr(_newton, "terms_for", lambda m: None)  # the general path: JAX derivatives
    data2 = _newton.Data.build(X, y, aux, w, off)
    v2, g2, H2 = _newton.derivatives(model, data2, theta)
    np.testing.assert_allclose(v, v2, rtol=1e-12)
    np.testing.assert_allclose(g, g2, rtol=1e-10, atol=1e-9 * np.abs(g2).max())
    np.testing.assert_allclose(H, H2, rtol=1e-12)
    eta = X @ theta + off
    np.testing.assert_allclose(v, np.sum(w * _logpmf(name, y, aux, eta)), rtol=1e-12)


def test_logit_kernel_tails():
    """Far in both tails: log p and p(1-p) without overflow or cancellation (closed forms)."""
    t = _canonical.terms_for(get_model("bernoulli"))
    eta = np.array([-800.0, -40.0, 40.0, 800.0])
    ll1, d1, d2 = t.kernel(eta, np.ones(4), None, True)
    np.testing.assert_allclose(ll1, [-800.0, -40.0 - np.exp(-40.0), -np.exp(-40.0), 0.0], rtol=1e-15, atol=0)
    np.testing.assert_allclose(-d2, [0.0, np.exp(-40.0), np.exp(-40.0), 0.0], rtol=1e-14)
    ll0, _, _ = t.kernel(eta, np.zeros(4), None, False)
    np.testing.assert_allclose(ll0, [0.0, -np.exp(-40.0), -40.0 - np.exp(-40.0), -800.0], rtol=1e-15)


@pytest.mark.parametrize("name", ["bernoulli", "poisson"])
def test_large_fit_against_statsmodels(name):
    """n above the subsample threshold: subsample start, chord Newton, fused passes."""
    rng = np.random.default_rng(11)
    n = 200_000
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 5))])
    beta = np.array([-0.5, 0.3, -0.2, 0.1, 0.4, -0.3])
    if name == "bernoulli":
        y = (rng.random(n) < 1 / (1 + np.exp(-X @ beta))).astype(float)
        r = sm.Logit(y, X).fit(disp=0, method="newton", tol=1e-14, maxiter=50)
        dev = -2 * r.llf
    else:
        y = rng.poisson(np.exp(X @ beta)).astype(float)
        # (Newton, not the default IRLS: IRLS's bse comes from the weights of its last-but-one
        # iterate, 9e-9 off here with statsmodels 0.15; its Newton agrees with its own Hessian
        # at the final estimate to 5e-15)
        r = sm.GLM(y, X, family=sm.families.Poisson()).fit(method="newton", tol=1e-14, maxiter=100)
        dev = r.deviance
    f = thetahat.regress(X, y=y, family=name)
    assert f.converged
    np.testing.assert_allclose(f.estimates, r.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(f.se, r.bse, rtol=1e-9)
    np.testing.assert_allclose(f.loglik, r.llf, rtol=1e-13)
    np.testing.assert_allclose(f.deviance, dev, rtol=1e-10)


def test_binomial_deviance_against_statsmodels():
    rng = np.random.default_rng(5)
    X, y, aux, w, off = _case("binomial", 500, rng, weights=False, offset=False)
    f = thetahat.regress(X, y=y, family="binomial", trials=aux)
    r = sm.GLM(np.column_stack([y, aux - y]), X, family=sm.families.Binomial()).fit(tol=1e-14)
    np.testing.assert_allclose(f.estimates, r.params, rtol=1e-10)
    np.testing.assert_allclose(f.deviance, r.deviance, rtol=1e-10)
    np.testing.assert_allclose(f.loglik, r.llf, rtol=1e-12)


def test_design_finiteness_check_fast_path():
    """The finiteness check sums X first: a sum that overflows from finite values must not be
    reported as missing data, and a NaN must still be found and named."""
    from thetahat.errors import NonFiniteDataError
    from thetahat.regression._design import build

    X = np.column_stack([np.ones(4), [1e308, 1e308, -1.0, 2.0]])
    with np.errstate(over="ignore"):
        assert np.isinf(X.sum()) and np.isfinite(X).all()
    d = build(X, None, np.array([0.0, 1.0, 0.0, 1.0]))
    assert d.X.shape == (4, 2) and d.intercept == 0
    X[2, 1] = np.nan
    with pytest.raises(NonFiniteDataError, match="column 'x1' at data row 3"):
        build(X, None, np.array([0.0, 1.0, 0.0, 1.0]))
