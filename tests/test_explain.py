"""thetahat explain on R's rivers data: every quoted number recomputed here with numpy/scipy."""

import re

import numpy as np
import pytest
from scipy import stats as st

import thetahat
from thetahat.cli.main import main

DATA = "tests/data/rivers.csv"
X = np.loadtxt(DATA, skiprows=1)


def _num(v):
    return f"{v:.10g}"


def test_lognormal_golden(capsys):
    assert main(["explain", DATA, "--column", "x", "--family", "lognormal", "--markdown"]) == 0
    out = capsys.readouterr().out
    n = X.size
    lx = np.log(X)
    mu, sigma = lx.mean(), lx.std()           # MLE: divisor n
    se_mu, se_sigma = sigma / np.sqrt(n), sigma / np.sqrt(2 * n)
    z = st.norm.ppf(0.975)
    ll = st.lognorm(s=sigma, scale=np.exp(mu)).logpdf(X).sum()
    dens = st.lognorm(s=sigma, scale=np.exp(mu)).pdf(X)
    assert np.prod(dens) == 0.0                # the raw product underflows float64 ...
    assert "product computed in float64 is **0**" in out
    assert f"log-likelihood is a finite **{_num(ll)}**" in out     # ... the log-likelihood does not
    assert f"about 10^{ll / np.log(10):.1f}" in out
    row = {r.split("|")[1].strip(): [c.strip() for c in r.split("|")[2:6]]
           for r in out.splitlines() if re.match(r"^\| (mu|sigma) \| [-0-9]", r)}
    np.testing.assert_allclose([float(v) for v in row["mu"]], [mu, se_mu, mu - z * se_mu, mu + z * se_mu],
                               rtol=1e-8)
    np.testing.assert_allclose([float(v) for v in row["sigma"]],
                               [sigma, se_sigma, sigma - z * se_sigma, sigma + z * se_sigma], rtol=1e-8)
    aic = float(re.search(r"AIC = −2ℓ \+ 2k = ([-0-9.e+]+)", out).group(1))
    assert aic == pytest.approx(-2 * ll + 4, rel=1e-9)
    # the derivation's closed forms, evaluated
    assert f"= {_num(mu)} $$" in out and f"= {_num(sigma**2)} $$" in out
    # the iterations: log-likelihood never falls and ends at the maximum
    lls = [float(m.group(1)) for m in re.finditer(r"^\| \d+ \| [^|]+\| ([-0-9.e+]+) \|", out, re.M)]
    assert len(lls) >= 3 and all(b >= a for a, b in zip(lls, lls[1:]))
    assert lls[-1] == pytest.approx(ll, rel=1e-9)
    assert "negative definite" in out
    # observed information -H: diag(n / sigma^2, 2n / sigma^2) in (mu, sigma)
    assert f"| observed −H(θ̂), row mu | {n / sigma**2:.8g} | 0 |" in out


def test_gamma_without_closed_form_rich(capsys):
    assert main(["explain", DATA, "--column", "x", "--family", "gamma"]) == 0
    out = capsys.readouterr().out
    a, _, scale = st.gamma.fit(X, floc=0)
    assert "digamma" in out and "No closed form" in out
    assert f"{a:.6g}"[:5] in out and "Newton" in out


def test_python_api():
    e = thetahat.explain(X, "exponential")
    assert e.numbers["closed_form"]["lam"] == pytest.approx(1 / X.mean(), rel=1e-12)
    assert e.numbers["product"] == 0.0 and np.isfinite(e.numbers["loglik"])
    assert e.to_markdown().startswith("# Maximum likelihood, step by step: exponential")
    from rich.console import Console

    con = Console(record=True, width=120)
    con.print(e.to_rich())
    assert "Why logarithms" in con.export_text()


def test_errors(capsys):
    assert main(["explain", DATA, "--column", "nope", "--family", "normal"]) == 2
    assert capsys.readouterr().err.startswith("thetahat: error: ")
    assert main(["explain", DATA, "--family", "no_such"]) == 2
    assert main(["explain", DATA, "--family", "beta"]) == 2       # river lengths are outside (0, 1)
    assert "outside the support" in capsys.readouterr().err
