"""MAP regression (L2, L1, elastic net) against scikit-learn's regularised losses."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge

import thetahat

RNG = np.random.default_rng(0)
N, P = 300, 5
X = RNG.normal(size=(N, P))
XD = np.column_stack([np.ones(N), X])
B = np.array([1.0, -0.5, 0.0, 0.0, 0.3])
YB = (RNG.random(N) < 1 / (1 + np.exp(-(0.2 + X @ B)))).astype(float)
YN = 0.5 + X @ B + RNG.normal(size=N)


@pytest.mark.parametrize("penalty, l1_ratio, solver", [("l2", 0.0, "lbfgs"), ("l1", 1.0, "saga"),
                                                       ("elasticnet", 0.5, "saga")])
def test_logistic_matches_sklearn(penalty, l1_ratio, solver):
    C = 0.05  # lam = 1/C: sklearn minimises C * sum(loss) + penalty
    kw = {"l1_ratio": l1_ratio} if penalty == "elasticnet" else {}
    f = thetahat.regress(XD, y=YB, family="bernoulli", penalty=penalty, lam=1 / C, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = LogisticRegression(C=C, l1_ratio=l1_ratio, solver=solver, tol=1e-12, max_iter=100000).fit(X, YB)
    assert f.converged
    np.testing.assert_allclose(f.estimates, np.r_[m.intercept_, m.coef_[0]], atol=1e-7)
    if penalty == "l1":
        assert np.sum(f.estimates[1:] == 0) == np.sum(np.abs(m.coef_[0]) < 1e-9) >= 1  # exact zeros
        assert np.all(np.isnan(f.se))
    if penalty == "l2":
        assert np.all(np.isfinite(f.se))


@pytest.mark.parametrize("penalty, l1_ratio, peer", [("l1", None, Lasso(alpha=0.05, tol=1e-14, max_iter=100000)),
                                                     ("elasticnet", 0.3, ElasticNet(alpha=0.05, l1_ratio=0.3,
                                                                                    tol=1e-14, max_iter=100000))])
def test_normal_matches_lasso_and_elasticnet(penalty, l1_ratio, peer):
    kw = {} if l1_ratio is None else {"l1_ratio": l1_ratio}
    f = thetahat.regress(XD, y=YN, penalty=penalty, lam=N * 0.05, **kw)  # lam = n * alpha
    peer.fit(X, YN)
    np.testing.assert_allclose(f.estimates[:-1], np.r_[peer.intercept_, peer.coef_], atol=1e-9)


def test_normal_matches_ridge():
    f = thetahat.regress(XD, y=YN, penalty="l2", lam=3.0)
    r = Ridge(alpha=3.0).fit(X, YN)
    np.testing.assert_allclose(f.estimates[:-1], np.r_[r.intercept_, r.coef_], atol=1e-10)
    # the ridge solution solves (X'X + lam D) b = X'y with D = diag(0, 1, ..., 1) (known formula)
    D = np.diag(np.r_[0.0, np.ones(P)])
    np.testing.assert_allclose(f.estimates[:-1], np.linalg.solve(XD.T @ XD + 3.0 * D, XD.T @ YN), atol=1e-10)


def test_poisson_l2_is_the_penalised_mle():
    """A Gaussian prior's MAP: the gradient of loglik - lam/2 |b|^2 vanishes (the score written out)."""
    y = RNG.poisson(np.exp(0.3 + 0.2 * X[:, 0])).astype(float)
    lam = 4.0
    f = thetahat.regress(XD, y=y, family="poisson", penalty="l2", lam=lam)
    b = f.estimates
    score = XD.T @ (y - np.exp(XD @ b)) - lam * np.r_[0.0, b[1:]]
    assert np.max(np.abs(score)) < 1e-8


def test_large_lam_zeroes_every_l1_coefficient():
    """Above lam_max = max|X'(y - ybar)| (the KKT condition at b = 0) every slope is exactly 0."""
    lam_max = np.max(np.abs(X.T @ (YN - YN.mean())))
    f = thetahat.regress(XD, y=YN, penalty="l1", lam=lam_max * 1.001)
    assert np.all(f.estimates[1:-1] == 0.0)
    np.testing.assert_allclose(f.estimates[0], YN.mean(), rtol=1e-12)
    g = thetahat.regress(XD, y=YN, penalty="l1", lam=lam_max * 0.99)
    assert np.sum(g.estimates[1:-1] != 0) == 1


def test_penalty_options_are_checked():
    err = thetahat.errors.OptionError
    with pytest.raises(err, match="needs lam"):
        thetahat.regress(XD, y=YN, penalty="l1")
    with pytest.raises(err, match="l1_ratio"):
        thetahat.regress(XD, y=YN, penalty="elasticnet", lam=1.0)
    with pytest.raises(err, match="unknown penalty"):
        thetahat.regress(XD, y=YN, penalty="l3", lam=1.0)
    with pytest.raises(err, match="not gamma"):
        thetahat.regress(XD, y=np.exp(YN), family="gamma", penalty="l2", lam=1.0)
