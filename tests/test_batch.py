"""The batched fitter (engine.batch.fit_batch) against scipy's fits and known formulas, row by row."""

import numpy as np
import pytest
from scipy import stats as st

from thetahat.engine.batch import fit_batch
from thetahat.errors import NonFiniteDataError, SupportError


def test_gamma_rows_match_scipy_with_padding():
    rng = np.random.default_rng(3)
    X = rng.gamma(2.5, 1 / 1.5, (40, 120))
    W = np.ones_like(X)
    W[::3, 80:] = 0.0  # every third sample is shorter: padding must not count
    X[::3, 80:] = -1.0  # ... and padding values outside the support are ignored
    b = fit_batch("gamma", X, weights=W)
    assert b.converged.all()
    for i in (0, 1, 3, 7):
        m = W[i] > 0
        a, _, scale = st.gamma.fit(X[i][m], floc=0, method="MLE")
        assert b.params["shape"][i] == pytest.approx(a, rel=1e-6)
        assert b.params["rate"][i] == pytest.approx(1 / scale, rel=1e-6)
        assert b.loglik[i] == pytest.approx(st.gamma(a, scale=scale).logpdf(X[i][m]).sum(), rel=1e-9)
        assert b.nobs[i] == m.sum()


def test_weibull_and_t_rows_match_scipy_loglik():
    rng = np.random.default_rng(4)
    Xw = st.weibull_min(1.7, scale=3.0).rvs((20, 200), random_state=rng)
    b = fit_batch("weibull", Xw)
    for i in range(0, 20, 5):
        c, _, s = st.weibull_min.fit(Xw[i], floc=0)
        # the MLE maximises: never below scipy's log-likelihood, and at the same point
        ll_scipy = st.weibull_min(c, scale=s).logpdf(Xw[i]).sum()
        assert b.loglik[i] >= ll_scipy - 1e-9
        assert b.params["shape"][i] == pytest.approx(c, rel=1e-4)  # scipy solves to ~1e-5
    Xt = rng.standard_t(5, (10, 300)) * 2 + 1
    bt = fit_batch("t", Xt)
    for i in range(0, 10, 3):
        df, loc, scale = st.t.fit(Xt[i])
        assert bt.loglik[i] >= st.t(df, loc, scale).logpdf(Xt[i]).sum() - 1e-7


def test_closed_forms_and_standard_errors():
    rng = np.random.default_rng(5)
    X = rng.normal(1.0, 2.0, (30, 50))
    b = fit_batch("normal", X)
    assert b.method == "closed"
    np.testing.assert_allclose(b.params["mu"], X.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(b.params["sigma"], X.std(axis=1), rtol=1e-12)
    np.testing.assert_allclose(b.se["mu"], X.std(axis=1) / np.sqrt(50), rtol=1e-9)
    e = fit_batch("exponential", rng.exponential(2.0, (10, 40)), method="newton")
    assert e.converged.all() and e.method == "newton"
    lam = e.params["lam"]
    np.testing.assert_allclose(e.se["lam"], lam / np.sqrt(40), rtol=1e-8)  # known: SE = lam / sqrt(n)


def test_one_bad_sample_does_not_sink_the_batch():
    rng = np.random.default_rng(6)
    X = rng.gamma(2.0, 1.0, (5, 30))
    X[2] = 1.5  # all equal: no gamma MLE exists (the shape runs off to infinity)
    b = fit_batch("gamma", X, max_iter=40)
    assert not b.converged[2] and b.n_failed == 1
    assert np.isnan(b.se["shape"][2])
    ok = [0, 1, 3, 4]
    for i in ok:
        a, _, _ = st.gamma.fit(X[i], floc=0)
        assert b.params["shape"][i] == pytest.approx(a, rel=1e-6)


def test_bad_batches_raise():
    with pytest.raises(NonFiniteDataError):
        fit_batch("normal", np.array([[1.0, np.nan, 2.0]]))
    with pytest.raises(SupportError):
        fit_batch("gamma", np.array([[1.0, -2.0, 2.0]]))


def test_shared_sample_with_weight_rows_equals_expanded_data():
    """Refitting one sample under resampling counts equals fitting the expanded resample."""
    rng = np.random.default_rng(8)
    x = rng.gamma(3.0, 2.0, 60)
    counts = rng.multinomial(60, np.full(60, 1 / 60), size=4).astype(float)
    b = fit_batch("gamma", x, weights=counts)
    w = fit_batch("weibull", x, weights=counts)
    for i in range(4):
        xi = np.repeat(x, counts[i].astype(int))
        a, _, scale = st.gamma.fit(xi, floc=0)
        assert b.params["shape"][i] == pytest.approx(a, rel=1e-6)
        c, _, s = st.weibull_min.fit(xi, floc=0)
        assert w.loglik[i] >= st.weibull_min(c, scale=s).logpdf(xi).sum() - 1e-9
    n = fit_batch("normal", x, weights=counts)
    for i in range(4):
        xi = np.repeat(x, counts[i].astype(int))
        assert n.params["sigma"][i] == pytest.approx(xi.std(), rel=1e-12)
