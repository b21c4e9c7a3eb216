"""The generalized gamma at its special values is the weibull (a = 1) and the gamma (c = 1), and
tends to the lognormal as a grows: fits compared through thetahat's own weibull, gamma and
lognormal fits, and scipy's log-densities."""

import numpy as np
import pytest
from scipy import stats as st

import thetahat


@pytest.fixture(scope="module")
def lifetimes():
    return st.weibull_min(1.7, scale=2.5).rvs(size=3000, random_state=11)


def test_a_equal_one_is_the_weibull(lifetimes):
    g = thetahat.fit(lifetimes, "gengamma", fixed={"a": 1.0})
    w = thetahat.fit(lifetimes, "weibull")
    assert g.loglik == pytest.approx(w.loglik, rel=1e-8)
    assert g.params["c"] == pytest.approx(w.params["shape"], rel=1e-6)
    assert g.params["scale"] == pytest.approx(w.params["scale"], rel=1e-6)
    ref = st.gengamma(1.0, g.params["c"], scale=g.params["scale"]).logpdf(lifetimes).sum()
    assert g.loglik == pytest.approx(ref, rel=1e-10)


def test_c_equal_one_is_the_gamma(lifetimes):
    g = thetahat.fit(lifetimes, "gengamma", fixed={"c": 1.0})
    m = thetahat.fit(lifetimes, "gamma")
    assert g.loglik == pytest.approx(m.loglik, rel=1e-8)
    assert g.params["a"] == pytest.approx(m.params["shape"], rel=1e-6)
    assert g.params["scale"] == pytest.approx(1.0 / m.params["rate"], rel=1e-6)


def test_the_free_fit_is_at_least_as_good_as_both(lifetimes):
    g = thetahat.fit(lifetimes, "gengamma")
    for name in ("weibull", "gamma"):
        assert g.loglik >= thetahat.fit(lifetimes, name).loglik - 1e-9 * abs(g.loglik)
    ref = st.gengamma(g.params["a"], g.params["c"], scale=g.params["scale"]).logpdf(lifetimes).sum()
    assert g.loglik == pytest.approx(ref, rel=1e-10)


def test_the_lognormal_is_the_limit_as_a_grows():
    # log x of a gengamma with shape a is (log G_a)/c + log s, G_a ~ gamma(a): its skewness falls
    # like 1/sqrt(a), so the best gengamma with a held at a larger value comes closer to the
    # lognormal fit (from either side: at a finite a it may fit a sample better). Beyond a ~ 10^3
    # the scale underflows in this parametrisation (Prentice's (mu, sigma, q) would reach the limit)
    x = st.lognorm(0.6, scale=2.0).rvs(size=3000, random_state=5)
    ln = thetahat.fit(x, "lognormal").loglik
    gaps = [abs(ln - thetahat.fit(x, "gengamma", fixed={"a": a}).loglik) for a in (25.0, 400.0)]
    assert gaps[1] < 0.1 * gaps[0]
