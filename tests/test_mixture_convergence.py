"""Honest convergence of thetahat.mixture: the estimates against independent maximisations of the same
marginal log-likelihood (scipy.optimize.minimize, L-BFGS-B with analytic gradients written here in NumPy,
started from thetahat's answer and from scikit-learn's GaussianMixture), the gradient at the estimates
(the known formula of a mixture's score), and fits that cannot converge saying so."""

from pathlib import Path

import numpy as np
import pytest
from scipy import optimize
from scipy.special import expit, gammaln, logsumexp
from sklearn.mixture import GaussianMixture

import thetahat

LBFGS = {"ftol": 1e-15, "gtol": 1e-11, "maxiter": 20000, "maxcor": 30}


@pytest.fixture(scope="module")
def stall():
    """n = 500 from 0.5 N(0, 1) + 0.5 N(1.5, 1): components so close that EM converges slowly, and its
    stopping rule (a change of less than 1e-10 per observation) is met well short of the maximum."""
    rng = np.random.default_rng(0)
    n = 500
    return np.where(rng.random(n) < 0.5, rng.normal(0.0, 1.0, n), rng.normal(1.5, 1.0, n))


# ---- two normal components: log-likelihood and score in (logit w1, mu1, mu2, log s1, log s2) ---------------
def _normal_terms(v, x):
    a, m, ls = v[0], v[1:3], v[3:5]
    s = np.exp(ls)
    lw = np.array([-np.logaddexp(0.0, -a), -np.logaddexp(0.0, a)])  # log w1, log w2
    z = (x[:, None] - m) / s
    lp = lw - 0.5 * np.log(2 * np.pi) - ls - 0.5 * z * z
    lse = logsumexp(lp, axis=1)
    return lse, np.exp(lp - lse[:, None]), z, s


def _normal_nll(v, x):
    lse, r, z, s = _normal_terms(v, x)
    w1 = expit(v[0])
    grad = np.r_[np.sum(r[:, 0] - w1), np.sum(r * z / s, axis=0), np.sum(r * (z * z - 1), axis=0)]
    return -lse.sum(), -grad


def _normal_vector(weights, mu, sigma):
    return np.r_[np.log(weights[0] / weights[1]), mu, np.log(sigma)]


def _normal_reference(x, starts):
    """The best of L-BFGS-B runs on the marginal log-likelihood from each start."""
    runs = [optimize.minimize(_normal_nll, v0, args=(x,), jac=True, method="L-BFGS-B", options=LBFGS)
            for v0 in starts]
    best = min(runs, key=lambda r: r.fun)
    return -best.fun, best.x


def _sklearn_start(x):
    g = GaussianMixture(2, tol=1e-12, max_iter=10000, reg_covar=0, random_state=0).fit(x[:, None])
    o = np.argsort(g.means_[:, 0])
    return _normal_vector(g.weights_[o], g.means_[o, 0], np.sqrt(g.covariances_[o, 0, 0]))


def test_stalled_normal_mixture_reaches_the_maximum(stall):
    x = stall
    f = thetahat.mixture(x, 2, cov_prior=0)
    p = f.params
    ours = _normal_vector(p["weights"], p["mu"], p["sigma"])
    ref_ll, ref = _normal_reference(x, [ours, _sklearn_start(x)])
    assert f.converged and "Newton step" in f.reason
    # no independent maximisation finds more; the two agree to 1e-8 relative (in fact to rounding)
    assert f.loglik >= ref_ll - 1e-12 * abs(ref_ll)
    np.testing.assert_allclose(f.loglik, ref_ll, rtol=1e-8)
    np.testing.assert_allclose(-_normal_nll(ours, x)[0], f.loglik, rtol=1e-12)  # loglik is this function's value
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
    # EM alone (no Newton steps) stops by its rule short of the maximum, and the gradient test says so
    em = thetahat.mixture(x, 2, cov_prior=0, newton_steps=0)
    assert not em.converged and em.reason.startswith("EM stopped (objective changed by less than tol")
    assert "Newton step would gain" in em.reason
    q = em.params
    assert np.max(np.abs(_normal_vector(q["weights"], q["mu"], q["sigma"]) - ref)) > 1e-4


def test_gradient_vanishes_at_the_estimate(stall):
    """The score of the mixture log-likelihood (formula above) at thetahat's estimate: ~0 against its size
    at EM's stopping point, in the same coordinates."""
    x = stall
    f = thetahat.mixture(x, 2, cov_prior=0, se=False)
    em = thetahat.mixture(x, 2, cov_prior=0, se=False, newton_steps=0)
    g = _normal_nll(_normal_vector(f.params["weights"], f.params["mu"], f.params["sigma"]), x)[1]
    g_em = _normal_nll(_normal_vector(em.params["weights"], em.params["mu"], em.params["sigma"]), x)[1]
    # rounding of a sum of n terms of order 1: ~1e-16 n; EM's stopping point: ~1e-2
    assert np.max(np.abs(g)) < 1e-7 and np.max(np.abs(g_em)) > 1e3 * np.max(np.abs(g))


def test_cannot_converge_says_why(stall):
    x = stall
    f = thetahat.mixture(x, 2, cov_prior=0, max_iter=2, newton_steps=0)
    assert not f.converged and f.reason.startswith("reached max_iter = 2 EM iterations")
    assert f.se["mu"] is None and any("did not converge" in n for n in f.notes)
    # EM handed over early (tol 1e-3 per observation) to a single Newton step: not enough, and it says so
    g = thetahat.mixture(x, 2, cov_prior=0, tol=1e-3, newton_steps=1)
    assert not g.converged and "Newton polish failed: 1 Newton step did not reach a stationary point" in g.reason
    assert "largest gradient entry" in g.reason
    # with its Newton steps the same early hand-over ends at the maximum
    h = thetahat.mixture(x, 2, cov_prior=0, tol=1e-3)
    ref = thetahat.mixture(x, 2, cov_prior=0)
    assert h.converged and h.iterations < ref.iterations
    np.testing.assert_allclose(h.loglik, ref.loglik, rtol=1e-12)
    # ... and so does EM cut at max_iter = 2
    m = thetahat.mixture(x, 2, cov_prior=0, max_iter=2)
    assert m.converged and m.reason.startswith("reached max_iter = 2 EM iterations") and "; then " in m.reason
    np.testing.assert_allclose(m.loglik, ref.loglik, rtol=1e-12)
    with pytest.raises(thetahat.errors.OptionError, match="newton_steps"):
        thetahat.mixture(x, 2, newton_steps=-1)


def test_default_prior_objective_is_maximised(stall):
    """With the default weak covariance prior the maximised objective is loglik - psi/2 sum 1/sigma_j^2;
    L-BFGS-B on that objective from thetahat's answer finds nothing higher."""
    x = stall
    f = thetahat.mixture(x, 2)
    psi = 1e-6 * x.var()

    def neg(v):
        val, grad = _normal_nll(v, x)
        s2 = np.exp(2 * v[3:5])
        return val + 0.5 * psi * np.sum(1 / s2), grad + np.r_[0, 0, 0, -psi / s2]

    p = f.params
    ours = _normal_vector(p["weights"], p["mu"], p["sigma"])
    r = optimize.minimize(neg, ours, jac=True, method="L-BFGS-B", options=LBFGS)
    assert f.converged
    assert f.objective >= -r.fun - 1e-12 * abs(r.fun)
    np.testing.assert_allclose(f.objective, -neg(ours)[0], rtol=1e-12)
    np.testing.assert_allclose(ours, r.x, rtol=1e-5, atol=1e-6)


# ---- Poisson and gamma components ------------------------------------------------------------------------
def _poisson_nll(v, x):
    a, loglam = v[0], v[1:3]
    lam = np.exp(loglam)
    lw = np.array([-np.logaddexp(0.0, -a), -np.logaddexp(0.0, a)])
    lp = lw + x[:, None] * loglam - lam - gammaln(x + 1)[:, None]
    lse = logsumexp(lp, axis=1)
    r = np.exp(lp - lse[:, None])
    grad = np.r_[np.sum(r[:, 0] - expit(a)), np.sum(r * (x[:, None] - lam), axis=0)]
    return -lse.sum(), -grad


def test_poisson_mixture_vs_scipy():
    rng = np.random.default_rng(4)
    n = 1500
    x = rng.poisson(np.where(rng.random(n) < 0.4, 2.0, 4.0)).astype(float)
    f = thetahat.mixture(x, 2, family="poisson")
    p = f.params
    ours = np.r_[np.log(p["weights"][0] / p["weights"][1]), np.log(p["lam"])]
    crude = np.r_[0.0, np.log(np.quantile(x, [0.25, 0.75]) + 0.5)]
    runs = [optimize.minimize(_poisson_nll, v0, args=(x,), jac=True, method="L-BFGS-B", options=LBFGS)
            for v0 in (ours, crude)]
    best = min(runs, key=lambda r: r.fun)
    assert f.converged
    assert f.loglik >= -best.fun - 1e-12 * abs(best.fun)
    np.testing.assert_allclose(f.loglik, -best.fun, rtol=1e-8)
    np.testing.assert_allclose(ours, best.x, rtol=1e-5, atol=1e-6)
    assert np.max(np.abs(_poisson_nll(ours, x)[1])) < 1e-7


def test_gamma_mixture_vs_scipy():
    """Gamma components (a weighted Newton M-step on the family's log-density) against L-BFGS-B on
    (logit w1, log shape, log rate) with scipy's gamma log-density, from thetahat's answer."""
    from scipy import stats as st

    rng = np.random.default_rng(8)
    n = 1200
    lab = rng.random(n) < 0.5
    x = np.where(lab, rng.gamma(2.0, 1.0, n), rng.gamma(5.0, 1.0, n))

    def nll(v):
        a, sh, ra = v[0], np.exp(v[1:3]), np.exp(v[3:5])
        lw = np.array([-np.logaddexp(0.0, -a), -np.logaddexp(0.0, a)])
        lp = lw + np.stack([st.gamma.logpdf(x, sh[j], scale=1 / ra[j]) for j in range(2)], 1)
        return -logsumexp(lp, axis=1).sum()

    f = thetahat.mixture(x, 2, family="gamma")
    p = f.params
    ours = np.r_[np.log(p["weights"][0] / p["weights"][1]), np.log(p["shape"]), np.log(p["rate"])]
    r = optimize.minimize(nll, ours, method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 20000})
    assert f.converged
    assert f.loglik >= -r.fun - 1e-12 * abs(r.fun)
    np.testing.assert_allclose(f.loglik, nll(ours) * -1, rtol=1e-12)
    # the score by central differences of scipy's log-likelihood: ~0 (difference error ~1e-6)
    h = 1e-5
    grad = [(nll(ours + h * e) - nll(ours - h * e)) / (2 * h) for e in np.eye(5)]
    assert np.max(np.abs(grad)) < 1e-4


def test_exponential_mixture_vs_scipy():
    rng = np.random.default_rng(6)
    n = 1500
    x = rng.exponential(np.where(rng.random(n) < 0.5, 1.0, 2.5))

    def nll(v):
        a, loglam = v[0], v[1:3]
        lw = np.array([-np.logaddexp(0.0, -a), -np.logaddexp(0.0, a)])
        lp = lw + loglam - np.exp(loglam) * x[:, None]
        lse = logsumexp(lp, axis=1)
        r = np.exp(lp - lse[:, None])
        return -lse.sum(), -np.r_[np.sum(r[:, 0] - expit(a)), np.sum(r * (1 - np.exp(loglam) * x[:, None]), 0)]

    f = thetahat.mixture(x, 2, family="exponential")
    p = f.params
    ours = np.r_[np.log(p["weights"][0] / p["weights"][1]), np.log(p["lam"])]
    crude = np.r_[0.0, -np.log(np.quantile(x, [0.3, 0.8]))]
    best = min((optimize.minimize(nll, v0, jac=True, method="L-BFGS-B", options=LBFGS) for v0 in (ours, crude)),
               key=lambda r: r.fun)
    if best.x[1] < best.x[2]:  # thetahat's order: by mean 1/lam, the larger rate first
        best.x = np.r_[-best.x[0], best.x[2], best.x[1]]
    assert f.converged
    assert f.loglik >= -best.fun - 1e-12 * abs(best.fun)
    np.testing.assert_allclose(f.loglik, -best.fun, rtol=1e-8)
    np.testing.assert_allclose(ours, best.x, rtol=1e-5, atol=1e-6)
    assert np.max(np.abs(nll(ours)[1])) < 1e-7


def test_bernoulli_latent_classes_vs_scipy():
    """Two latent classes of four binary items, one item probability near 0 in a class (the supremum at
    the boundary): L-BFGS-B on the logits finds no higher log-likelihood, the score is ~0."""
    rng = np.random.default_rng(9)
    n = 1000
    P = np.array([[0.9, 0.8, 0.2, 0.0], [0.3, 0.4, 0.7, 0.6]])
    X = (rng.random((n, 4)) < P[(rng.random(n) < 0.45).astype(int)]).astype(float)

    def nll(v):
        a, z = v[0], v[1:].reshape(2, 4)
        lw = np.array([-np.logaddexp(0.0, -a), -np.logaddexp(0.0, a)])
        logp, log1mp = -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)
        lp = lw + X @ logp.T + (1 - X) @ log1mp.T
        lse = logsumexp(lp, axis=1)
        r = np.exp(lp - lse[:, None])
        gz = r.T @ X - r.sum(0)[:, None] * expit(z)
        return -lse.sum(), -np.r_[np.sum(r[:, 0] - expit(a)), gz.ravel()]

    f = thetahat.mixture(X, 2, family="bernoulli")
    p = f.params
    q = np.clip(p["p"], 1e-300, 1)
    ours = np.r_[np.log(p["weights"][0] / p["weights"][1]), (np.log(q) - np.log1p(-q)).ravel()]
    r = optimize.minimize(nll, ours, jac=True, method="L-BFGS-B", options=LBFGS)
    assert f.converged
    assert f.loglik >= -r.fun - 1e-12 * abs(r.fun)
    np.testing.assert_allclose(-nll(ours)[0], f.loglik, rtol=1e-12)
    assert np.max(np.abs(nll(ours)[1])) < 1e-6


@pytest.mark.parametrize("cov_type", ["full", "diag", "spherical", "tied"])
def test_mvnormal_mixture_vs_scipy(cov_type):
    """Bivariate normal components: L-BFGS-B (finite-difference gradients) from thetahat's answer, on the
    log-likelihood written with scipy.stats.multivariate_normal, finds nothing higher; central differences of
    that log-likelihood at the estimate are ~0."""
    from scipy import stats as st

    rng = np.random.default_rng(12)
    n = 600
    lab = rng.random(n) < 0.5
    X = np.where(lab[:, None], rng.multivariate_normal([0, 0], [[1, 0.3], [0.3, 1]], n),
                 rng.multivariate_normal([1.2, 0.8], [[1.2, -0.2], [-0.2, 0.8]], n))
    per = {"full": 3, "diag": 2, "spherical": 1, "tied": 3}[cov_type]

    def covs(c):
        if cov_type in ("full", "tied"):
            out = []
            for j in range(2 if cov_type == "full" else 1):
                a, b, d = c[3 * j: 3 * j + 3]
                L = np.array([[np.exp(a), 0.0], [b, np.exp(d)]])
                out.append(L @ L.T)
            return out * (2 if cov_type == "tied" else 1)
        if cov_type == "diag":
            return [np.diag(np.exp(c[2 * j: 2 * j + 2])) for j in range(2)]
        return [np.exp(c[j]) * np.eye(2) for j in range(2)]

    def nll(v):
        lw = np.array([-np.logaddexp(0.0, -v[0]), -np.logaddexp(0.0, v[0])])
        mu, S = v[1:5].reshape(2, 2), covs(v[5:])
        lp = lw + np.stack([st.multivariate_normal(mu[j], S[j]).logpdf(X) for j in range(2)], 1)
        return -logsumexp(lp, axis=1).sum()

    f = thetahat.mixture(X, 2, cov_type=cov_type, cov_prior=0)
    p = f.params
    if cov_type in ("full", "tied"):
        Ls = [np.linalg.cholesky(c) for c in (p["cov"] if cov_type == "full" else [p["cov"]])]
        c = np.concatenate([[np.log(L[0, 0]), L[1, 0], np.log(L[1, 1])] for L in Ls])
    else:
        c = np.log(p["var"]).ravel()
    ours = np.r_[np.log(p["weights"][0] / p["weights"][1]), p["mu"].ravel(), c]
    assert ours.size == 5 + per * (1 if cov_type == "tied" else 2)
    r = optimize.minimize(nll, ours, method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 20000})
    assert f.converged
    np.testing.assert_allclose(-nll(ours), f.loglik, rtol=1e-12)
    assert f.loglik >= -r.fun - 1e-12 * abs(r.fun)
    h = 1e-5
    grad = [(nll(ours + h * e) - nll(ours - h * e)) / (2 * h) for e in np.eye(ours.size)]
    assert np.max(np.abs(grad)) < 1e-4


def test_a_saddle_point_is_not_converged():
    """Two identical components (the one-normal MLE twice) are a stationary point that EM never leaves; on
    bimodal data it is a saddle: moving the two means apart raises the log-likelihood (scipy's densities)."""
    from scipy import stats as st

    x = np.loadtxt(Path(__file__).parent / "data" / "faithful.csv", delimiter=",", skiprows=1)[:, 0]
    m, s = x.mean(), x.std()
    f = thetahat.mixture(x, 2, cov_prior=0, start={"weights": [0.5, 0.5], "mu": [m, m], "sigma": [s, s]})
    assert not f.converged and "saddle point" in f.reason and f.se["mu"] is None

    def ll(t):
        """Along a direction of upward curvature: the means apart, the lower component wider."""
        m1, m2, s1, s2 = m - 0.69 * t, m + 0.69 * t, s * np.exp(0.16 * t), s * np.exp(-0.16 * t)
        return np.log(0.5 * st.norm(m1, s1).pdf(x) + 0.5 * st.norm(m2, s2).pdf(x)).sum()

    np.testing.assert_allclose(f.loglik, ll(0.0), rtol=1e-12)
    # the log-likelihood rises, quadratically (doubling t quadruples the rise): positive curvature at a
    # stationary point, a saddle (t and -t are the same mixture with its labels swapped)
    rise = [ll(t) - ll(0.0) for t in (0.05, 0.1)]
    assert rise[0] > 1e-3 and 3.5 < rise[1] / rise[0] < 4.5
