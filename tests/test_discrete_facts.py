"""Textbook facts about the discrete families, each checked against a formula or scipy."""

import numpy as np
import pytest
from scipy import stats as st

import thetahat
from thetahat.errors import DegenerateDataError, SupportError


def test_three_heads_in_five_flips():
    f = thetahat.fit([1, 0, 1, 1, 0], "bernoulli")
    assert f.params["p"] == pytest.approx(0.6, rel=1e-12)
    assert f.se["p"] == pytest.approx(np.sqrt(0.6 * 0.4 / 5), rel=1e-8)
    # log-likelihood 3 log 0.6 + 2 log 0.4
    assert f.loglik == pytest.approx(3 * np.log(0.6) + 2 * np.log(0.4), rel=1e-12)


def test_poisson_mle_is_the_mean_with_se_sqrt_mean_over_n():
    x = np.array([2, 0, 3, 1, 4, 2, 2, 5, 1, 0, 3, 2])
    f = thetahat.fit(x, "poisson")
    assert f.params["lam"] == pytest.approx(x.mean(), rel=1e-12)
    assert f.se["lam"] == pytest.approx(np.sqrt(x.mean() / x.size), rel=1e-8)
    assert f.loglik == pytest.approx(st.poisson(x.mean()).logpmf(x).sum(), rel=1e-12)


def test_binomial_mle_is_successes_over_trials():
    x = np.array([3, 7, 4, 5, 6, 2, 5])  # m = 7 rows of n = 10 trials
    f = thetahat.fit(x, "binomial", fixed={"n": 10})
    k, n, m = x.sum(), 10, x.size
    p = k / (n * m)
    assert f.params["p"] == pytest.approx(p, rel=1e-12)
    assert f.se["p"] == pytest.approx(np.sqrt(p * (1 - p) / (n * m)), rel=1e-8)
    assert f.params["n"] == 10


def test_binomial_numeric_fit_agrees_with_closed_form():
    x = st.binom(25, 0.3).rvs(size=400, random_state=5)
    closed = thetahat.fit(x, "binomial", fixed={"n": 25})
    newton = thetahat.fit(x, "binomial", fixed={"n": 25}, method="newton")
    assert closed.method == "closed"
    assert newton.params["p"] == pytest.approx(closed.params["p"], rel=1e-8)


def test_negative_binomial_reaches_scipy_fit():
    data = st.nbinom(3.0, 0.35).rvs(size=400, random_state=3)
    ours = thetahat.fit(data, "negative_binomial")
    assert ours.converged, ours.reason
    ref = st.fit(st.nbinom, data, bounds={"n": (0.01, 50), "p": (0.001, 0.999), "loc": (0, 0)})
    assert ours.loglik >= -ref.nllf() - 1e-9 * abs(ref.nllf())
    assert ours.loglik == pytest.approx(st.nbinom(ours.params["r"], ours.params["p"]).logpmf(data).sum(),
                                        rel=1e-10)


def test_zip_on_poisson_data_with_extra_zeros():
    rng = np.random.default_rng(8)
    x = np.where(rng.random(3000) < 0.25, 0, rng.poisson(4.0, 3000))
    f = thetahat.fit(x, "zip")
    assert f.converged, f.reason
    # the score equations: lam (1 - pi) = mean, and the zero frequency is matched
    pi, lam = f.params["pi"], f.params["lam"]
    assert (1 - pi) * lam == pytest.approx(x.mean(), rel=1e-6)
    assert pi + (1 - pi) * np.exp(-lam) == pytest.approx(np.mean(x == 0), rel=1e-6)


def test_categorical_mle_is_the_frequencies():
    x = np.array([0, 2, 2, 1, 2, 0, 2, 1])
    f = thetahat.fit(x, "categorical")
    np.testing.assert_allclose(f.params["p"], [2 / 8, 2 / 8, 4 / 8], rtol=1e-12)


def test_categorical_unseen_label_is_a_boundary_not_an_error():
    f = thetahat.fit([0, 0, 2, 2, 2], "categorical")
    np.testing.assert_allclose(f.params["p"], [0.4, 0.0, 0.6], atol=1e-15)
    assert np.isfinite(f.loglik)
    assert f.loglik == pytest.approx(2 * np.log(0.4) + 3 * np.log(0.6), rel=1e-12)


def test_multinomial_mle_is_column_share():
    x = np.array([[3, 5, 2], [4, 4, 2], [1, 6, 3]])
    f = thetahat.fit(x, "multinomial", fixed={"n": 10})
    np.testing.assert_allclose(f.params["p"], x.sum(axis=0) / 30, rtol=1e-12)
    assert f.loglik == pytest.approx(st.multinomial(10, x.sum(axis=0) / 30).logpmf(x).sum(), rel=1e-12)


def test_multinomial_row_not_summing_to_n_is_named():
    with pytest.raises(SupportError, match="data row 2"):
        thetahat.fit([[3, 5, 2], [4, 4, 3]], "multinomial", fixed={"n": 10})


@pytest.mark.parametrize("data", [[1, 1, 1, 1], [0, 0, 0]])
def test_all_equal_bernoulli_data_is_degenerate(data):
    with pytest.raises(DegenerateDataError, match="boundary"):
        thetahat.fit(data, "bernoulli")


@pytest.mark.parametrize("family, data, fixed", [
    ("poisson", [0, 0, 0, 0], {}),
    ("geometric", [1, 1, 1], {}),
    ("binomial", [0, 0, 0], {"n": 5}),
    ("binomial", [5, 5, 5], {"n": 5}),
])
def test_boundary_data_is_degenerate(family, data, fixed):
    with pytest.raises(DegenerateDataError):
        thetahat.fit(data, family, fixed=fixed)


def test_a_two_in_bernoulli_data_is_outside_the_support():
    with pytest.raises(SupportError, match="data row 4"):
        thetahat.fit([0, 1, 1, 2, 0], "bernoulli")


def test_binomial_value_above_n_is_outside_the_support():
    with pytest.raises(SupportError, match="data row 3"):
        thetahat.fit([3, 4, 11, 2], "binomial", fixed={"n": 10})


def test_binomial_needs_n():
    with pytest.raises(thetahat.errors.OptionError, match="'n'"):
        thetahat.fit([3, 4, 2], "binomial")
