"""Truncation and censoring at every kind of bound (-inf, the support's edge, finite, +inf)
for every univariate continuous family with a cdf, and truncation of count families,
against scipy.

For each case the reference log-likelihood is built from scipy's own distributions
(``logpdf`` minus ``log(cdf(b) - cdf(a))`` for truncation; ``logsf``, ``logcdf`` and
``log(cdf(b) - cdf(a))`` for censored rows), independently of thetahat's cdfs. The
fit's log-likelihood must equal it at the fitted parameters (1e-10 relative), and a
direct numerical maximisation of it (scipy.optimize.minimize, Nelder-Mead with tight
tolerances then Powell, from a start 5 % away) must land on the same estimates
(1e-6 relative) and log-likelihood (1e-8 relative; the fit may not be beaten).
"""

import warnings
import zlib

import numpy as np
import pytest
from scipy import optimize
from scipy import stats as st

import thetahat

INF = np.inf

# name: (scipy distribution from the parameter vector, true parameters, which are positive,
#        lower edge of the support)
SPECS = {
    "normal": (lambda p: st.norm(p[0], p[1]), [1.0, 2.0], [0, 1], -INF),
    "lognormal": (lambda p: st.lognorm(p[1], scale=np.exp(p[0])), [0.2, 0.7], [0, 1], 0.0),
    "exponential": (lambda p: st.expon(scale=1 / p[0]), [0.7], [1], 0.0),
    "gamma": (lambda p: st.gamma(p[0], scale=1 / p[1]), [2.5, 1.5], [1, 1], 0.0),
    "weibull": (lambda p: st.weibull_min(p[0], scale=p[1]), [1.6, 2.0], [1, 1], 0.0),
    "beta": (lambda p: st.beta(p[0], p[1]), [2.0, 3.5], [1, 1], 0.0),
    "t": (lambda p: st.t(p[0], p[1], p[2]), [5.0, 1.0, 2.0], [1, 0, 1], -INF),
    "cauchy": (lambda p: st.cauchy(p[0], p[1]), [0.5, 1.5], [0, 1], -INF),
    "logistic": (lambda p: st.logistic(p[0], p[1]), [1.0, 2.0], [0, 1], -INF),
    "gumbel": (lambda p: st.gumbel_r(p[0], p[1]), [1.0, 2.0], [0, 1], -INF),
    "inverse_gaussian": (lambda p: st.invgauss(p[0] / p[1], scale=p[1]), [1.5, 3.0], [1, 1], 0.0),
    "rayleigh": (lambda p: st.rayleigh(scale=p[0]), [1.3], [1], 0.0),
    "halfnormal": (lambda p: st.halfnorm(scale=p[0]), [1.3], [1], 0.0),
    "loglogistic": (lambda p: st.fisk(p[1], scale=p[0]), [2.0, 3.0], [1, 1], 0.0),
    "skewnorm": (lambda p: st.skewnorm(p[2], p[0], p[1]), [0.0, 2.0, 4.0], [0, 1, 0], -INF),
    "gev": (lambda p: st.genextreme(-p[2], p[0], p[1]), [0.0, 1.0, 0.1], [0, 1, 0], -INF),
    "genpareto": (lambda p: st.genpareto(p[1], scale=p[0]), [1.0, 0.2], [1, 0], 0.0),
}


def _to_u(theta, pos):
    return np.where(pos, np.log(np.maximum(theta, 1e-300)), theta)


def _from_u(u, pos):
    return np.where(pos, np.exp(u), u)


def _log_between(d, a, b):
    """log P(a < X <= b) with scipy, elementwise, through the survival function in the upper tail."""
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    lo, hi = d.support()
    open_a, open_b = ~(a > lo), ~(b < hi)
    ca, cb = d.cdf(a), d.cdf(b)
    middle = np.where(ca > 0.5, np.log(d.sf(a) - d.sf(b)), np.log(cb - ca))
    return np.where(open_a, np.where(open_b, 0.0, d.logcdf(b)), np.where(open_b, d.logsf(a), middle))


def _scipy_ll(make, theta, x=None, trunc=None, lower=None, upper=None):
    d = make(theta)
    with np.errstate(all="ignore"):
        if x is not None:
            ll = d.logpdf(x).sum() - x.size * float(_log_between(d, *trunc))
        else:
            exact = lower == upper
            ll = d.logpdf(lower[exact]).sum()
            ll += _log_between(d, lower[~exact], upper[~exact]).sum()
    return float(ll) if np.isfinite(ll) else -1e300


def _scipy_mle(make, pos, ll_of, start):
    """Maximise ``ll_of(theta)`` numerically: Nelder-Mead, then Powell, to tight tolerances."""
    obj = lambda u: -ll_of(_from_u(u, pos))  # noqa: E731
    u = _to_u(np.asarray(start, float), pos)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = optimize.minimize(obj, u, method="Nelder-Mead",
                              options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20000, "maxfev": 20000}).x
        r = optimize.minimize(obj, u, method="Powell", options={"xtol": 1e-12, "ftol": 1e-15, "maxfev": 40000})
    return _from_u(r.x, pos), -r.fun


def _check(f, make, pos, ll_of):
    theta = np.array([f.params[k] for k in f.family.params])
    ours = ll_of(theta)
    assert f.converged
    assert f.loglik == pytest.approx(ours, rel=1e-10)
    start = theta * 1.05 + 0.05 * (theta == 0)
    est, best = _scipy_mle(make, pos, ll_of, start)
    assert best <= f.loglik + 1e-8 * abs(f.loglik)  # scipy cannot do better than the fit
    assert best == pytest.approx(f.loglik, rel=1e-8)
    scale = np.maximum(np.abs(theta), 1e-3)
    assert np.all(np.abs(est - theta) <= 1e-6 * scale), f"estimates {theta} against scipy's {est}"
    assert all(np.isfinite(v) and v > 0 for v in f.se.values())


def _cases():
    out = []
    for name, (make, true, pos, edge) in SPECS.items():
        d = make(true)
        qa, qb, wa, wb = (float(v) for v in d.ppf([0.2, 0.85, 0.04, 0.96]))
        # (both ends finite: a wide window, or a location-scale MLE can run off to infinity)
        kinds = {"finite,+inf": (qa, INF), "edge,finite": (edge, qb), "finite,finite": (wa, wb)}
        if edge == 0.0:
            kinds["-inf,finite"] = (-INF, qb)
        if name == "beta":
            kinds["finite,edge"] = (qa, 1.0)
        out += [pytest.param(name, lo, hi, id=f"{name}-{k}") for k, (lo, hi) in kinds.items()]
    return out


@pytest.mark.parametrize("name,lo,hi", _cases())
def test_truncated_fit_matches_scipy(name, lo, hi):
    make, true, pos, _ = SPECS[name]
    rng = np.random.default_rng(zlib.crc32(f"{name} {lo} {hi}".encode()))
    d = make(true)
    # draws from the truncated law by inversion of scipy's cdf
    flo, fhi = d.cdf(lo) if np.isfinite(lo) else 0.0, d.cdf(hi) if np.isfinite(hi) else 1.0
    x = d.ppf(rng.uniform(flo, fhi, 200))
    f = thetahat.fit(x, name, truncate=(lo, hi))
    _check(f, make, np.array(pos, bool), lambda th: _scipy_ll(make, th, x=x, trunc=(lo, hi)))


def _censored_rows(d, edge, rng, n=200):
    """Exact, right-censored (+inf), left-censored (-inf and the support's edge) and interval rows."""
    v = d.rvs(n, random_state=rng)
    F = d.cdf(v)
    kind = rng.integers(0, 5, n)
    below = d.ppf(F * rng.uniform(0.2, 0.9, n))  # a bound under the value
    above = d.ppf(F + (1 - F) * rng.uniform(0.1, 0.8, n))  # a bound over it
    lower = np.select([kind == 0, kind == 1, kind == 2, kind == 3], [v, below, -INF, edge], below)
    upper = np.select([kind == 0, kind == 1], [v, INF], above)
    return lower, upper


@pytest.mark.parametrize("name", list(SPECS))
def test_censored_fit_matches_scipy(name):
    make, true, pos, edge = SPECS[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    lower, upper = _censored_rows(make(true), edge, rng)
    if name == "beta":  # a right-censored row written with the support's upper edge
        upper = np.where(np.isinf(upper), 1.0, upper)
    f = thetahat.fit(None, name, lower=lower, upper=upper)
    _check(f, make, np.array(pos, bool), lambda th: _scipy_ll(make, th, lower=lower, upper=upper))


@pytest.mark.parametrize("name,make,true,lo,hi", [
    ("poisson", lambda p: st.poisson(p[0]), [1.3], 1, INF),  # zero-truncated: the lower edge plus one
    ("poisson", lambda p: st.poisson(p[0]), [3.0], 2, 7),
    ("poisson", lambda p: st.poisson(p[0]), [3.0], 0, 5),  # lower end at the support's edge
    ("negative_binomial", lambda p: st.nbinom(p[0], p[1]), [2.5, 0.4], 1, INF),
    ("negative_binomial", lambda p: st.nbinom(p[0], p[1]), [2.5, 0.4], 2, 12),
    ("negative_binomial", lambda p: st.nbinom(p[0], p[1]), [2.5, 0.4], -INF, 9),
])
def test_truncated_counts_match_scipy(name, make, true, lo, hi):
    rng = np.random.default_rng(7)
    k = make(true).rvs(3000, random_state=rng)
    k = k[(k >= lo) & (k <= hi)][:300].astype(float)
    f = thetahat.fit(k, name, truncate=(lo, hi))

    def ll(th):
        if name == "negative_binomial" and not 0 < th[1] < 1:
            return -1e300
        d = make(th)
        mass = d.cdf(hi) - (d.cdf(lo - 1) if np.isfinite(lo) else 0.0)
        return float(d.logpmf(k).sum() - k.size * np.log(mass))

    pos = np.array([True] * len(true))
    theta = np.array([f.params[p] for p in f.family.params])
    assert f.loglik == pytest.approx(ll(theta), rel=1e-10)
    est, best = _scipy_mle(make, pos, ll, theta * 1.05)
    assert best <= f.loglik + 1e-8 * abs(f.loglik)
    assert np.all(np.abs(est - theta) <= 1e-6 * theta)
