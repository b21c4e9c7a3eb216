"""Summary tables whose columns never run together, checked against statsmodels' z values and p-values."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import thetahat


def test_regression_summary_keeps_wide_values_apart():
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    y = 3.0 * x + rng.normal(scale=0.3, size=400)  # z ~ 200: a p-value far below 1e-300
    df = pd.DataFrame({"y": y, "x": x})
    r = thetahat.regress("y ~ x", df, family="normal")
    ref = sm.OLS(y, sm.add_constant(x)).fit()
    rows = [ln for ln in r.summary().splitlines() if ln.startswith(("Intercept", "x "))]
    assert len(rows) == 2
    for ln in rows:
        cells = ln.split()
        assert len(cells) == 7, ln  # name, estimate, se, z, p, lower, upper: seven separate cells
    slope = {ln.split()[0]: ln.split() for ln in rows}["x"]
    # the MLE's z uses divisor n; statsmodels' t uses n - p: the ratio is sqrt(n / (n - p))
    assert float(slope[3]) == pytest.approx(ref.tvalues[1] * np.sqrt(400 / 398), rel=1e-3)
    assert slope[4] == "<2e-16" and ref.pvalues[1] < 2.2e-16


def test_regression_summary_p_values_match_statsmodels():
    from scipy import stats as st

    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    y = 0.1 * x + rng.normal(size=200)
    r = thetahat.regress("y ~ x", pd.DataFrame({"y": y, "x": x}), family="normal")
    row = [ln for ln in r.summary().splitlines() if ln.startswith("x ")][0].split()
    z = sm.OLS(y, sm.add_constant(x)).fit().tvalues[1] * np.sqrt(200 / 198)  # divisor n, as the MLE
    assert float(row[3]) == pytest.approx(z, rel=1e-3)
    assert float(row[4]) == pytest.approx(2 * st.norm.sf(abs(z)), rel=5e-3)
