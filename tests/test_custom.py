"""Custom likelihoods written as JAX functions get the full treatment."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats as st

import thetahat
from thetahat import errors


def normal_logpdf(x, mu, sigma):
    return -0.5 * ((x - mu) / sigma) ** 2 - jnp.log(sigma) - 0.5 * jnp.log(2 * jnp.pi)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(8).normal(2.0, 1.5, 300)


def test_custom_normal_equals_the_textbook_mle(x):
    fam = thetahat.custom(normal_logpdf, {"mu": "real", "sigma": "positive"}, start={"mu": 0.0, "sigma": 1.0})
    f = thetahat.fit(x, fam)
    assert f.converged, f.reason
    assert f.params["mu"] == pytest.approx(x.mean(), rel=1e-10)
    assert f.params["sigma"] == pytest.approx(x.std(), rel=1e-9)
    assert f.se["mu"] == pytest.approx(x.std() / np.sqrt(x.size), rel=1e-7)
    assert f.loglik == pytest.approx(st.norm(x.mean(), x.std()).logpdf(x).sum(), rel=1e-12)
    assert f.diagnostics.hessian_negative_definite


def test_custom_interval_constraint_and_start_function():
    # a Bernoulli written by hand with p constrained to (0, 1), started from the data
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.3).astype(float)
    fam = thetahat.custom(lambda x, p: x * jnp.log(p) + (1 - x) * jnp.log1p(-p), {"p": (0.0, 1.0)},
                          start=lambda d: {"p": 0.5}, support="boolean")
    f = thetahat.fit(y, fam)
    assert f.params["p"] == pytest.approx(y.mean(), rel=1e-9)
    assert f.se["p"] == pytest.approx(np.sqrt(y.mean() * (1 - y.mean()) / y.size), rel=1e-6)
    with pytest.raises(errors.SupportError):
        thetahat.fit(np.r_[y, 2.0], fam)


@pytest.mark.parametrize("kwargs, words", [
    ({"params": {"mu": "wibble"}}, "unknown constraint"),
    ({"params": {"nu": "real"}}, "no argument for parameter"),
    ({"start": {"mu": 0.0}}, "start has no value for sigma"),
])
def test_custom_mistakes_are_option_errors(kwargs, words):
    args = {"logpdf": normal_logpdf, "params": {"mu": "real", "sigma": "positive"},
            "start": {"mu": 0.0, "sigma": 1.0}}
    args.update(kwargs)
    with pytest.raises(errors.OptionError, match=words):
        thetahat.custom(**args)


def test_fit_sample_logpdf_and_to_scipy_agree(x):
    f = thetahat.fit(x, "normal")
    dist = st.norm(f.params["mu"], f.params["sigma"])
    pts = np.array([-1.0, 0.5, 2.0, 7.0])
    np.testing.assert_allclose(f.logpdf(pts), dist.logpdf(pts), rtol=1e-12)
    np.testing.assert_allclose(f.to_scipy().logpdf(pts), dist.logpdf(pts), rtol=1e-12)
    draws = f.sample(20000, seed=3)
    assert st.kstest(draws, dist.cdf).pvalue > 1e-3
    np.testing.assert_array_equal(draws, f.sample(20000, seed=3))  # reproducible from the seed


def test_to_dict_is_json_ready_and_consistent(x):
    import json

    f = thetahat.fit(x, "normal")
    d = json.loads(json.dumps(f.to_dict()))
    assert set(d) >= {"family", "params", "se", "ci", "loglik", "aic", "bic", "nobs", "converged", "method"}
    lo, hi = d["ci"]["mu"]
    assert lo == pytest.approx(f.params["mu"] - 1.959963984540054 * f.se["mu"], rel=1e-12)
    assert hi == pytest.approx(f.params["mu"] + 1.959963984540054 * f.se["mu"], rel=1e-12)
