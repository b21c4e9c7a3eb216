"""thetahat.kl: closed forms against Monte Carlo with scipy.stats densities; minimising KL to the
empirical distribution gives the MLE."""

import numpy as np
import pytest
from scipy import stats as st

import thetahat
from thetahat.errors import OptionError
from thetahat.theory import kl_to_empirical, mle_by_kl

PAIRS = [
    ("normal", {"mu": 0.3, "sigma": 1.2}, {"mu": -0.5, "sigma": 0.8},
     lambda q: st.norm(q["mu"], q["sigma"])),
    ("lognormal", {"mu": 0.3, "sigma": 0.5}, {"mu": 0.1, "sigma": 0.9},
     lambda q: st.lognorm(s=q["sigma"], scale=np.exp(q["mu"]))),
    ("exponential", {"lam": 2.0}, {"lam": 0.7}, lambda q: st.expon(scale=1 / q["lam"])),
    ("gamma", {"shape": 2.5, "rate": 1.5}, {"shape": 1.2, "rate": 0.5}, lambda q: st.gamma(q["shape"], scale=1 / q["rate"])),
    ("poisson", {"lam": 3.0}, {"lam": 4.5}, lambda q: st.poisson(q["lam"])),
    ("bernoulli", {"p": 0.3}, {"p": 0.6}, lambda q: st.bernoulli(q["p"])),
    ("geometric", {"p": 0.3}, {"p": 0.5}, lambda q: st.geom(q["p"])),
    ("binomial", {"p": 0.3, "n": 8}, {"p": 0.45, "n": 8}, lambda q: st.binom(8, q["p"])),
]


@pytest.mark.parametrize("name,p,q,dist", PAIRS, ids=[c[0] for c in PAIRS])
def test_closed_form_against_scipy_monte_carlo(name, p, q, dist):
    d = thetahat.kl((name, p), (name, q))
    assert d.method == "closed form" and d.se == 0
    P, Q = dist(p), dist(q)
    x = P.rvs(size=400_000, random_state=np.random.default_rng(1))
    lr = (P.logpmf(x) - Q.logpmf(x)) if hasattr(P, "logpmf") and name in ("poisson", "bernoulli", "geometric", "binomial") \
        else (P.logpdf(x) - Q.logpdf(x))
    assert abs(d.value - lr.mean()) <= 4 * lr.std(ddof=1) / np.sqrt(x.size)


def test_normal_textbook_value_and_zero():
    assert thetahat.kl(("normal", {"mu": 0, "sigma": 1}), ("normal", {"mu": 2, "sigma": 1})).value == pytest.approx(2.0)
    assert thetahat.kl(("gamma", {"shape": 2, "rate": 3}), ("gamma", {"shape": 2, "rate": 3})).value == pytest.approx(0, abs=1e-14)


def test_monte_carlo_fallback_with_se():
    p, q = {"shape": 2.0, "scale": 1.0}, {"shape": 3.0, "scale": 1.5}
    d = thetahat.kl(("weibull", p), ("weibull", q), draws=200_000, seed=2)
    assert d.method.startswith("monte carlo") and d.se > 0
    # independent value: numerical integration of the scipy densities
    from scipy.integrate import quad

    P, Q = st.weibull_min(2.0, scale=1.0), st.weibull_min(3.0, scale=1.5)
    exact = quad(lambda t: P.pdf(t) * (P.logpdf(t) - Q.logpdf(t)), 0, np.inf)[0]
    assert abs(d.value - exact) <= 4 * d.se


def test_fit_objects():
    rng = np.random.default_rng(0)
    f1, f2 = thetahat.fit(rng.normal(0, 1, 100), "normal"), thetahat.fit(rng.normal(1, 2, 100), "normal")
    a, b = f1.params, f2.params
    want = np.log(b["sigma"] / a["sigma"]) + (a["sigma"] ** 2 + (a["mu"] - b["mu"]) ** 2) / (2 * b["sigma"] ** 2) - 0.5
    assert thetahat.kl(f1, f2).value == pytest.approx(want, rel=1e-12)


def test_kl_minimiser_is_the_mle():
    x = np.random.default_rng(6).poisson(2.7, 200)
    # KL(empirical || f) = -H(empirical) - mean log f: check the identity with scipy
    lam = 2.2
    _, c = np.unique(x, return_counts=True)
    ph = c / c.sum()
    ident = np.sum(ph * np.log(ph)) - st.poisson(lam).logpmf(x).mean()
    assert kl_to_empirical(x, "poisson", {"lam": lam}) == pytest.approx(ident, rel=1e-12)
    r = mle_by_kl(x, "poisson")
    assert r["kl_minimiser"]["lam"] == pytest.approx(x.mean(), rel=1e-6)
    y = np.random.default_rng(7).gamma(2.0, 1.5, 300)
    r = mle_by_kl(y, "gamma")
    a, _, scale = st.gamma.fit(y, floc=0)
    assert r["kl_minimiser"]["shape"] == pytest.approx(a, rel=1e-5)
    assert r["kl_minimiser"]["rate"] == pytest.approx(1 / scale, rel=1e-5)


def test_bad_input():
    with pytest.raises(OptionError, match="one family"):
        thetahat.kl(("normal", {"mu": 0, "sigma": 1}), ("exponential", {"lam": 1}))
    with pytest.raises(OptionError, match="outside"):
        thetahat.kl(("normal", {"mu": 0, "sigma": -1}), ("normal", {"mu": 0, "sigma": 1}))
    with pytest.raises(OptionError, match="Fit or"):
        thetahat.kl("normal", ("normal", {"mu": 0, "sigma": 1}))
    with pytest.raises(OptionError, match="discrete"):
        kl_to_empirical([0.5, 1.5], "exponential", {"lam": 1.0})
