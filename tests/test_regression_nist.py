"""Linear regression against NIST StRD certified values (coefficients, SEs, residual SD), as LREs."""

import re
from pathlib import Path

import numpy as np
import pytest

import thetahat

DATA = Path(__file__).parent / "data" / "nist_linear"
# model of each dataset, as its file states it: (polynomial degree, intercept) or Longley's six columns
MODELS = {"Norris": (1, True), "Pontius": (2, True), "NoInt1": (1, False), "NoInt2": (1, False),
          "Filip": (10, True), "Longley": None, "Wampler1": (5, True), "Wampler2": (5, True),
          "Wampler3": (5, True), "Wampler4": (5, True), "Wampler5": (5, True)}
MIN_LRE = {"Filip": 7.0}  # the bar: 9 digits everywhere, 7 on ill-conditioned Filip


def parse(name):
    lines = (DATA / f"{name}.dat").read_text().splitlines()
    cert, sd = {}, None
    for ln in lines:
        m = re.match(r"\s+B(\d+)\s+(\S+)\s+(\S+)\s*$", ln)
        if m:
            cert[int(m.group(1))] = (float(m.group(2)), float(m.group(3)))
        m = re.match(r"\s+Standard Deviation\s+(\S+)", ln)
        if m:
            sd = float(m.group(1))
    start = next(i for i, ln in enumerate(lines) if ln.startswith("Data:") and "y" in ln.split())
    rows = np.array([[float(c) for c in ln.split()] for ln in lines[start + 1:] if ln.strip()])
    return cert, sd, rows


def design(name, rows):
    y = rows[:, 0]
    if MODELS[name] is None:
        return np.column_stack([np.ones(len(y)), rows[:, 1:]]), y
    deg, icpt = MODELS[name]
    x = rows[:, 1]
    return np.column_stack([x ** j for j in range(0 if icpt else 1, deg + 1)]), y


def lre(est, cert):
    if cert == 0:
        return 15.0 if est == 0 else min(15.0, -np.log10(abs(est)))
    e = abs(est - cert) / abs(cert)
    return 15.0 if e == 0 else min(15.0, -np.log10(e))


def lres(name):
    cert, sd, rows = parse(name)
    X, y = design(name, rows)
    f = thetahat.regress(X, y=y)
    keys = sorted(cert)
    assert len(keys) == X.shape[1]
    b = [f.params[f"x{j}"] for j in range(X.shape[1])]
    se = [f.info["se_unbiased"][f"x{j}"] for j in range(X.shape[1])]
    return (min(lre(b[i], cert[k][0]) for i, k in enumerate(keys)),
            min(lre(se[i], cert[k][1]) for i, k in enumerate(keys)),
            lre(f.info["residual_sd_unbiased"], sd), f)


@pytest.mark.parametrize("name", list(MODELS))
def test_nist_certified_values(name):
    lc, ls, lsd, f = lres(name)
    bar = MIN_LRE.get(name, 9.0)
    assert lc >= bar and ls >= bar and lsd >= bar, (name, lc, ls, lsd)
    assert f.converged and f.method == "qr"


def test_mle_and_unbiased_sigma_relation():
    """Known formulas: sigma^2 MLE = RSS/n, unbiased = RSS/(n-p), MLE SE = OLS SE * sqrt((n-p)/n)."""
    cert, sd, rows = parse("Longley")
    X, y = design("Longley", rows)
    n, p = X.shape
    f = thetahat.regress(X, y=y)
    rss = sd ** 2 * (n - p)
    np.testing.assert_allclose(f.info["sigma2_mle"], rss / n, rtol=1e-9)
    np.testing.assert_allclose(f.info["sigma2_unbiased"], rss / (n - p), rtol=1e-9)
    for j in range(p):
        np.testing.assert_allclose(f.bse[f"x{j}"], cert[j][1] * np.sqrt((n - p) / n), rtol=1e-9)
    np.testing.assert_allclose(f.params["sigma"], np.sqrt(rss / n), rtol=1e-9)
    np.testing.assert_allclose(f.loglik, -n / 2 * (np.log(2 * np.pi * rss / n) + 1), rtol=1e-12)
