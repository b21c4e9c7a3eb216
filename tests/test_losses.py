"""thetahat.losses: each loss is a negative log-likelihood, checked against scipy.stats, the thetahat
families' log-densities, scikit-learn's log_loss, and a logistic regression fitted by statsmodels."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("x64")  # (the functions themselves follow the caller's JAX precision)
import statsmodels.api as sm
from scipy import optimize, special, stats
from sklearn.metrics import log_loss

import thetahat
from thetahat import losses
from thetahat.errors import DataError, OptionError

RNG = np.random.default_rng(20240611)
N = 200
Y01 = RNG.integers(0, 2, N).astype(float)
P01 = RNG.uniform(0.01, 0.99, N)
Z = RNG.normal(0, 3, N)


def _family_nll(name, x, params):
    """Mean negative log-density from thetahat.get_family(name).logpdf, one observation at a time."""
    fam = thetahat.get_family(name)
    if np.ndim(next(iter(params.values()))) == 0 or name == "categorical":
        p = {k: jnp.asarray(v) for k, v in params.items()}
        return -float(np.mean([fam.logpdf(jnp.asarray(xi), p) for xi in x]))
    return -float(np.mean([fam.logpdf(jnp.asarray(xi), {k: jnp.asarray(v[i]) for k, v in params.items()})
                           for i, xi in enumerate(x)]))


def test_bce_probabilities_matches_sklearn_scipy_and_family():
    ours = float(losses.binary_cross_entropy(Y01, P01))
    assert ours == pytest.approx(log_loss(Y01, P01), rel=1e-12)
    assert ours == pytest.approx(-stats.bernoulli(P01).logpmf(Y01).mean(), rel=1e-12)
    fam_nll = _family_nll("bernoulli", Y01[:30], {"p": P01[:30]})
    assert float(losses.binary_cross_entropy(Y01[:30], P01[:30])) == pytest.approx(fam_nll, rel=1e-12)


def test_bce_logits_matches_sklearn_and_stays_exact_in_the_tails():
    ours = float(losses.binary_cross_entropy_with_logits(Y01, Z))
    assert ours == pytest.approx(log_loss(Y01, special.expit(Z)), rel=1e-12)
    # sigmoid(±800) rounds to 0/1; the NLL is |z| (known), and log1p(e^-40) for a confident right answer
    y = np.array([0.0, 1.0, 1.0])
    z = np.array([800.0, -800.0, 40.0])
    terms = losses.binary_cross_entropy_with_logits(y, z, reduction="none")
    np.testing.assert_allclose(terms, [800.0, 800.0, np.log1p(np.exp(-40.0))], rtol=1e-15)


def test_reductions():
    terms = np.asarray(losses.binary_cross_entropy(Y01, P01, reduction="none"))
    assert terms.shape == (N,)
    np.testing.assert_allclose(terms, -stats.bernoulli(P01).logpmf(Y01), rtol=1e-12)
    assert float(losses.binary_cross_entropy(Y01, P01, reduction="sum")) == pytest.approx(terms.sum(), rel=1e-12)


def test_categorical_matches_sklearn_scipy_and_family():
    k = 4
    logits = RNG.normal(0, 2, (N, k))
    probs = special.softmax(logits, axis=1)
    labels = RNG.integers(0, k, N)
    onehot = np.eye(k)[labels]
    ref = log_loss(labels, probs, labels=list(range(k)))
    assert float(losses.categorical_cross_entropy(labels, probs)) == pytest.approx(ref, rel=1e-12)
    assert float(losses.categorical_cross_entropy(onehot, probs)) == pytest.approx(ref, rel=1e-12)
    assert float(losses.categorical_cross_entropy_with_logits(labels, logits)) == pytest.approx(ref, rel=1e-12)
    assert float(losses.categorical_cross_entropy_with_logits(onehot, logits)) == pytest.approx(ref, rel=1e-12)
    mult = -np.mean([stats.multinomial(1, probs[i]).logpmf(onehot[i]) for i in range(N)])
    assert ref == pytest.approx(mult, rel=1e-12)
    # one shared probability vector: the thetahat categorical family's log-pmf
    p = np.array([0.5, 0.2, 0.2, 0.1])
    fam = _family_nll("categorical", labels[:40].astype(float), {"p": p})
    assert float(losses.categorical_cross_entropy(labels[:40], np.tile(p, (40, 1)))) == pytest.approx(fam, rel=1e-12)


def test_gaussian_nll_and_mse():
    y = RNG.normal(1.0, 2.0, N)
    mu = RNG.normal(1.0, 0.5, N)
    sigma = RNG.uniform(0.5, 3.0, N)
    assert float(losses.gaussian_nll(y, mu, sigma)) == pytest.approx(
        -stats.norm(mu, sigma).logpdf(y).mean(), rel=1e-12)
    assert float(losses.gaussian_nll(y[:30], mu[:30], sigma[:30])) == pytest.approx(
        _family_nll("normal", y[:30], {"mu": mu[:30], "sigma": sigma[:30]}), rel=1e-12)
    m = float(losses.mse(y, mu))
    assert m == pytest.approx(np.mean((y - mu) ** 2), rel=1e-14)
    # fixed sigma: NLL = mse / (2 sigma^2) + log(sigma) + log(2 pi)/2
    s = 1.7
    assert float(losses.gaussian_nll(y, mu, s)) == pytest.approx(m / (2 * s * s) + np.log(s) + 0.5 * np.log(2 * np.pi),
                                                                rel=1e-12)


def test_poisson_nll():
    lam = RNG.uniform(0.1, 20, N)
    y = RNG.poisson(lam).astype(float)
    ref = -stats.poisson(lam).logpmf(y).mean()
    assert float(losses.poisson_nll(y, lam)) == pytest.approx(ref, rel=1e-12)
    assert float(losses.poisson_nll(y, np.log(lam), log_input=True)) == pytest.approx(ref, rel=1e-12)
    assert float(losses.poisson_nll(y[:30], lam[:30])) == pytest.approx(
        _family_nll("poisson", y[:30], {"lam": lam[:30]}), rel=1e-12)


def test_jittable_and_differentiable():
    f = jax.jit(losses.binary_cross_entropy_with_logits)
    assert float(f(Y01, Z)) == pytest.approx(log_loss(Y01, special.expit(Z)), rel=1e-12)
    # d/dz [softplus(z) - y z] = sigmoid(z) - y, the textbook logistic score
    g = jax.grad(lambda z: losses.binary_cross_entropy_with_logits(Y01, z, reduction="sum"))(jnp.asarray(Z))
    np.testing.assert_allclose(g, special.expit(Z) - Y01, rtol=1e-12, atol=1e-15)
    for fn, args in [(losses.categorical_cross_entropy_with_logits, (np.array([0, 1]), np.eye(2))),
                     (losses.poisson_nll, (np.array([1.0, 2.0]), np.array([1.5, 2.5]))),
                     (losses.gaussian_nll, (np.array([1.0, 2.0]), np.array([1.5, 2.5]), 0.7))]:
        assert float(jax.jit(fn)(*args)) == pytest.approx(float(fn(*args)), rel=1e-14)


def test_bce_minimiser_is_the_statsmodels_logit_mle():
    rng = np.random.default_rng(7)
    X = np.column_stack([np.ones(300), rng.normal(size=(300, 2))])
    y = (rng.uniform(size=300) < special.expit(X @ np.array([-0.4, 1.2, -0.8]))).astype(float)
    obj = jax.jit(jax.value_and_grad(lambda b: losses.binary_cross_entropy_with_logits(y, X @ b)))
    res = optimize.minimize(lambda b: tuple(np.asarray(v) for v in obj(jnp.asarray(b))), np.zeros(3), jac=True,
                            method="BFGS", options={"gtol": 1e-12})
    logit = sm.Logit(y, X).fit(disp=0, tol=1e-12)
    np.testing.assert_allclose(res.x, logit.params, rtol=1e-6, atol=1e-8)
    # mean BCE at the MLE is -loglik / n
    assert res.fun == pytest.approx(-logit.llf / 300, rel=1e-10)


@pytest.mark.parametrize("call, text", [
    (lambda: losses.binary_cross_entropy([1, 0, 2], [0.5, 0.5, 0.5]), "y[2] = 2.0 is not 0 or 1"),
    (lambda: losses.binary_cross_entropy([1, 0], [0.5, 1.5]), "p[1] = 1.5 is above 1"),
    (lambda: losses.binary_cross_entropy([1, 0], [0.5, np.nan]), "p[1] = nan is NaN"),
    (lambda: losses.binary_cross_entropy([1, 0, 1], [0.5, 0.5]), "y has shape (3,) but p has shape (2,)"),
    (lambda: losses.categorical_cross_entropy([0, 3], np.full((2, 3), 1 / 3)), "y[1] = 3 is not a class label"),
    (lambda: losses.categorical_cross_entropy([0, 1], np.full(3, 1 / 3)), "(n, K) array"),
    (lambda: losses.gaussian_nll([1.0], [0.0], 0.0), "sigma = 0.0 is not above 0"),
    (lambda: losses.poisson_nll([1.5], [1.0]), "y[0] = 1.5 is not a whole number"),
    (lambda: losses.poisson_nll([-1.0], [1.0]), "is below 0"),
])
def test_bad_input(call, text):
    with pytest.raises(DataError) as e:
        call()
    assert text in str(e.value)


def test_bad_reduction():
    with pytest.raises(OptionError, match="unknown reduction 'avg'"):
        losses.mse([1.0], [0.0], reduction="avg")
