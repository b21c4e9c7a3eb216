"""Against R's fits on R's `rivers` data (MASS::fitdistr / fitdistrplus::fitdist, R 4.2.2).

R's numbers are those printed in tests/data/R_README.md (copied from
../shared/reference/r/README.md): lognormal is closed-form in R too, so it must
agree to 8 digits; for weibull and gamma R's optimiser stops at about 6 significant
digits, so a correct MLE has a log-likelihood at least R's and estimates within that
precision.
"""

import os
import re

import numpy as np
import pytest

import thetahat

HERE = os.path.dirname(__file__)


@pytest.fixture(scope="module")
def rivers():
    return np.loadtxt(os.path.join(HERE, "data", "rivers.csv"), skiprows=1)


@pytest.fixture(scope="module")
def r_values():
    """Parse R's table from the README, so the numbers are R's, not retyped."""
    text = open(os.path.join(HERE, "data", "R_README.md")).read()
    out = {}
    for fam in ("lognormal", "weibull", "gamma"):
        line = next(l for l in text.splitlines() if l.startswith(f"| {fam} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        pairs = re.findall(r"(\w+) ([-\d.]+) \(([-\d.]+)\)", cells[1])
        out[fam] = {"params": {k: (float(v), float(s)) for k, v, s in pairs}, "loglik": float(cells[2])}
    return out


def _lre(est, ref):
    return -np.log10(abs(est - ref) / abs(ref)) if est != ref else 16.0


def test_rivers_has_141_rivers(rivers):
    assert rivers.shape == (141,)


def test_lognormal_matches_r_to_8_digits(rivers, r_values):
    f = thetahat.fit(rivers, "lognormal")
    r = r_values["lognormal"]
    names = {"meanlog": "mu", "sdlog": "sigma"}
    for rname, (est, se) in r["params"].items():
        ours = names[rname]
        assert _lre(f.params[ours], est) >= 8, (rname, f.params[ours], est)
        assert _lre(f.se[ours], se) >= 8, (rname, f.se[ours], se)
    assert _lre(f.loglik, r["loglik"]) >= 8


def test_weibull_reaches_r_loglik_and_r_estimates(rivers, r_values):
    f = thetahat.fit(rivers, "weibull")
    r = r_values["weibull"]
    assert f.converged, f.reason
    assert f.loglik >= r["loglik"] - 1e-9
    for name in ("shape", "scale"):
        est, se = r["params"][name]
        # R stopped early (its log-likelihood is below ours): its estimates are good to a
        # small fraction of a standard error, which is R's precision here
        assert abs(f.params[name] - est) <= 0.01 * se, (name, f.params[name], est)
        assert f.se[name] == pytest.approx(se, rel=1e-3)


def test_gamma_reaches_r_loglik(rivers, r_values):
    from scipy import stats as st
    from scipy.optimize import minimize

    f = thetahat.fit(rivers, "gamma")
    assert f.converged, f.reason
    assert f.loglik >= r_values["gamma"]["loglik"] - 1e-9
    # and the estimates are the optimum of scipy's own gamma log-likelihood, polished hard
    nll = lambda t: -st.gamma(a=np.exp(t[0]), scale=np.exp(-t[1])).logpdf(rivers).sum()  # noqa: E731
    opt = minimize(nll, [np.log(f.params["shape"]) + 0.05, np.log(f.params["rate"]) - 0.05],
                   method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-13, "maxiter": 20000})
    assert f.params["shape"] == pytest.approx(np.exp(opt.x[0]), rel=1e-5)
    assert f.params["rate"] == pytest.approx(np.exp(opt.x[1]), rel=1e-5)
    assert f.loglik >= -opt.fun - 1e-9
