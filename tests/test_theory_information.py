"""thetahat.fisher_information, the Cramér–Rao bound and efficiency: family formulas against SymPy,
Monte Carlo and the fit's own observed information."""

import numpy as np
import pytest

import thetahat
from thetahat.errors import OptionError
from thetahat.theory import cramer_rao, efficiency, fisher_information_of_fit


def test_known_formulas():
    assert thetahat.fisher_information("bernoulli", {"p": 0.2}).matrix[0, 0] == pytest.approx(1 / (0.2 * 0.8))
    info = thetahat.fisher_information("normal", {"mu": 0.0, "sigma": 3.0}, n=10)
    # sigma parametrisation: I = diag(1/sigma^2, 2/sigma^2)
    np.testing.assert_allclose(info.matrix, 10 * np.diag([1 / 9, 2 / 9]), rtol=1e-12)
    np.testing.assert_allclose(info.cramer_rao, np.diag([9 / 10, 9 / 20]), rtol=1e-12)


@pytest.mark.parametrize("name,params", [("gamma", {"shape": 1.7, "rate": 0.6}),
                                         ("beta", {"a": 2.0, "b": 3.5}),
                                         ("poisson", {"lam": 4.2}),
                                         ("binomial", {"p": 0.3, "n": 7})])
def test_sympy_equals_family_formula(name, params):
    a = thetahat.fisher_information(name, params, kind="formula")
    b = thetahat.fisher_information(name, params, kind="sympy")
    assert (a.method, b.method) == ("family formula", "sympy")
    np.testing.assert_allclose(a.matrix, b.matrix, rtol=1e-12)


@pytest.mark.parametrize("name,params", [("weibull", {"shape": 1.5, "scale": 2.0}),
                                         ("gamma", {"shape": 2.5, "rate": 1.2})])
def test_monte_carlo_within_its_error(name, params):
    exact = thetahat.fisher_information(name, params, kind="formula").matrix
    mc = thetahat.fisher_information(name, params, kind="monte_carlo", draws=200_000, seed=3)
    assert mc.method.startswith("monte carlo")
    assert np.all(np.abs(mc.matrix - exact) <= 4 * mc.se), (mc.matrix, exact, mc.se)


def test_monte_carlo_when_no_formula():
    info = thetahat.fisher_information("skewnorm", {"loc": 0.0, "scale": 2.0, "shape": 0.0}, draws=200_000)
    assert info.method.startswith("monte carlo")
    # skew-normal at shape 0 is the normal: the loc entry is 1/scale^2
    assert abs(info.matrix[0, 0] - 0.25) <= 4 * info.se[0, 0]


def test_cramer_rao_and_efficiency():
    assert cramer_rao("poisson", {"lam": 3.0}, n=30) == {"lam": pytest.approx(0.1)}
    # the sample mean is efficient for the Poisson rate: Var = lam/n
    assert efficiency("poisson", {"lam": 3.0}, 30, {"lam": 3.0 / 30})["lam"] == pytest.approx(1.0)


def test_of_fit_observed_matches_standard_errors():
    x = np.random.default_rng(4).exponential(0.5, 300)
    f = thetahat.fit(x, "exponential")
    obs = fisher_information_of_fit(f, "observed")
    exp = fisher_information_of_fit(f, "expected")
    lam = 1 / x.mean()
    np.testing.assert_allclose(obs, [[x.size / lam**2]], rtol=1e-9)   # -d2/dlam2 (n log lam - lam sum x)
    np.testing.assert_allclose(exp, [[x.size / lam**2]], rtol=1e-12)
    assert f.se["lam"] == pytest.approx(1 / np.sqrt(obs[0, 0]), rel=1e-9)


def test_bad_input():
    with pytest.raises(OptionError, match="needs values"):
        thetahat.fisher_information("gamma", {"shape": 1.0})
    with pytest.raises(OptionError, match="outside"):
        thetahat.fisher_information("poisson", {"lam": -1.0})
    with pytest.raises(OptionError, match="unknown kind"):
        thetahat.fisher_information("poisson", {"lam": 1.0}, kind="guess")
