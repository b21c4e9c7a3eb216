"""The generalized gamma (Prentice's parametrisation) at its special values is the weibull
(Q = 1), the gamma (Q = sigma) and the lognormal (Q = 0): fits compared with thetahat's own
weibull, gamma and lognormal fits and scipy's log-densities; the log-density and cdf near and at
Q = 0 against mpmath."""

import math

import mpmath as mp
import numpy as np
import pytest
from scipy import stats as st

import thetahat


@pytest.fixture(scope="module")
def lifetimes():
    return st.weibull_min(1.7, scale=2.5).rvs(size=3000, random_state=11)


def test_q_equal_one_is_the_weibull(lifetimes):
    g = thetahat.fit(lifetimes, "gengamma", fixed={"Q": 1.0})
    w = thetahat.fit(lifetimes, "weibull")
    assert g.loglik == pytest.approx(w.loglik, rel=1e-8)
    assert 1.0 / g.params["sigma"] == pytest.approx(w.params["shape"], rel=1e-6)
    assert math.exp(g.params["mu"]) == pytest.approx(w.params["scale"], rel=1e-6)
    ref = st.weibull_min(1.0 / g.params["sigma"], scale=math.exp(g.params["mu"])).logpdf(lifetimes).sum()
    assert g.loglik == pytest.approx(ref, rel=1e-10)


def test_q_equal_sigma_is_the_gamma(lifetimes):
    # Q = sigma is a constraint, not a value: the gamma's fit, mapped to (mu, sigma, Q), has the
    # gamma's log-likelihood under the gengamma, and the free gengamma does at least as well
    m = thetahat.fit(lifetimes, "gamma")
    q = 1.0 / math.sqrt(m.params["shape"])
    p = {"mu": -math.log(m.params["rate"] * q * q), "sigma": q, "Q": q}  # Q^-2 e^(Q w) = rate x
    ll = thetahat.family("gengamma").to_scipy(p).logpdf(lifetimes).sum()
    assert ll == pytest.approx(m.loglik, rel=1e-10)
    assert thetahat.fit(lifetimes, "gengamma").loglik >= m.loglik - 1e-9 * abs(m.loglik)


def test_q_equal_zero_is_the_lognormal():
    x = st.lognorm(0.6, scale=2.0).rvs(size=3000, random_state=5)
    g = thetahat.fit(x, "gengamma", fixed={"Q": 0.0})
    ln = thetahat.fit(x, "lognormal")
    assert g.loglik == pytest.approx(ln.loglik, rel=1e-8)
    assert g.params["mu"] == pytest.approx(ln.params["mu"], rel=1e-8)
    assert g.params["sigma"] == pytest.approx(ln.params["sigma"], rel=1e-8)
    # and the free fit, whose Q is near 0 for lognormal data, is at least as good
    free = thetahat.fit(x, "gengamma")
    assert free.loglik >= ln.loglik - 1e-9 * abs(ln.loglik)
    assert abs(free.params["Q"]) < 4 * free.se["Q"]


def test_censored_q_equal_zero_is_the_censored_lognormal():
    x = st.lognorm(0.6, scale=2.0).rvs(size=2000, random_state=6)
    event = (x < 3.0).astype(float)
    x = np.minimum(x, 3.0)
    g = thetahat.fit(x, "gengamma", fixed={"Q": 0.0}, event=event)
    ln = thetahat.fit(x, "lognormal", event=event)
    assert g.loglik == pytest.approx(ln.loglik, rel=1e-8)


def _mp_log_density(x, mu, s, q):
    x, mu, s, q = (mp.mpf(v) for v in (x, mu, s, q))
    w = (mp.log(x) - mu) / s
    if q == 0:
        return -mp.log(s * x) - mp.log(2 * mp.pi) / 2 - w * w / 2
    y = 1 / q**2
    return mp.log(abs(q)) + y * mp.log(y) - mp.loggamma(y) + y * (q * w - mp.exp(q * w)) - mp.log(s * x)


def _mp_cdfs(xs, mu, s, q):
    """The cdf at increasing ``xs``: the density of w integrated piece by piece from -200 (below
    which lies less than e^-80 of it for these Q)."""
    dens = lambda t: mp.exp(_mp_log_density(mp.exp(mu + s * t), mu, s, q) + mu + s * t + mp.log(s))  # of w
    total, lo, out = mp.mpf(0), mp.mpf(-200), []
    for x in xs:
        w = (mp.log(mp.mpf(x)) - mu) / s
        total += mp.quad(dens, [lo] + [c for c in (-100, -30, -10, -3) if lo < c < w] + [w])
        lo = w
        out.append(float(total))
    return out


@pytest.mark.parametrize("q", [0.7, 0.02, 0.0101, 0.0099, 1e-3, 1e-6, 0.0, -2e-4, -0.3, 2.5])
def test_density_and_cdf_near_and_at_zero_match_mpmath(q):
    # the log-density's series (Stirling, Taylor) and the cdf's expansion about the normal below
    # |Q| = 0.01, the incomplete gamma above
    from thetahat._jax import jnp, scope

    mp.mp.dps = 25
    fam = thetahat.family("gengamma")
    p = {"mu": 1.0, "sigma": 0.6, "Q": q}
    with scope():
        pj = {k: jnp.asarray(v) for k, v in p.items()}
        xs = (0.05, 1.0, 2.7, 6.0, 15.0)
        for x, cdf in zip(xs, _mp_cdfs(xs, 1.0, 0.6, q)):
            ref = float(_mp_log_density(x, 1.0, 0.6, q))
            assert float(fam.logpdf(jnp.asarray(x), pj)) == pytest.approx(ref, rel=1e-12, abs=1e-12)
            assert float(fam.cdf(jnp.asarray(x), pj)) == pytest.approx(cdf, abs=1e-11)
            assert float(fam.sf(jnp.asarray(x), pj)) == pytest.approx(1 - cdf, abs=1e-11)
