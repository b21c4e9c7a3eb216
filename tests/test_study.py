"""thetahat.study: simulation studies checked against known formulas (bias −σ²/n, the Cramér–Rao
bound, scipy's KS statistic), with Monte Carlo error allowances."""

import numpy as np
import pytest
from scipy import stats as st

import thetahat
from thetahat.errors import OptionError


def test_bias_of_variance_mle():
    s = thetahat.study.bias(sigma=1.5, ns=[3, 10, 40], reps=20_000, seed=2)
    for r in s.table:
        want = -1.5**2 / r["n"]
        assert r["theory_bias_mle"] == pytest.approx(want)
        assert abs(r["bias_mle"] - want) <= 4 * r["mc_se_mle"], r
        assert abs(r["bias_unbiased"]) <= 4 * r["mc_se_unbiased"], r


@pytest.mark.slow
def test_variance_approaches_cramer_rao():
    s = thetahat.study.consistency("exponential", {"lam": 2.0}, ns=[5, 40, 1000], reps=4000, seed=1)
    ratio = [r["var_over_crb"] for r in s.table]
    for r in s.table:
        assert r["crb"] == pytest.approx(4.0 / r["n"])  # lam^2 / n
    # Var(lam-hat) = lam^2 n^2 / ((n-1)^2 (n-2)) exactly: ratio n^3 / ((n-1)^2 (n-2)) -> 1
    exact = [n**3 / ((n - 1) ** 2 * (n - 2)) for n in (5, 40, 1000)]
    assert ratio[0] > ratio[1] > 1.0 and abs(ratio[2] - 1) < 0.1
    for got, want in zip(ratio, exact):
        # Monte Carlo SE of a variance ratio from reps draws ~ ratio * sqrt(2/reps) (more for skewed draws)
        assert abs(got - want) <= 4 * want * np.sqrt(2 / 4000) * (3 if want > 2 else 1.5)
    means = {r["n"]: r["mean"] for r in s.table}
    assert abs(means[1000] - 2.0) < 0.01


@pytest.mark.slow
def test_mle_beats_moments_for_gamma_shape():
    s = thetahat.study.efficiency("gamma", {"shape": 2.0, "rate": 1.0}, ns=[50, 400], reps=3000, seed=4)
    rows = [r for r in s.table if r["param"] == "shape"]
    for r in rows:
        assert r["relative_efficiency"] > 1.2, r
        assert r["efficiency_mle"] > r["efficiency_moments"]
    # asymptotic efficiency of moments for the gamma shape at k = 2 (Fisher 1922): well below 1
    assert rows[-1]["efficiency_mle"] == pytest.approx(1.0, abs=0.12)


def test_ks_shrinks_with_n():
    s = thetahat.study.normality("exponential", {"lam": 1.0}, ns=[4, 400], reps=3000, seed=5)
    small, large = s.table
    assert small["ks"] > large["ks"]
    # against scipy's KS critical value at 0.1 %: n = 4 is far from normal, n = 400 is not
    crit = st.kstwo(3000).ppf(0.999)
    assert small["ks"] > crit and large["ks"] < crit


def test_table_and_plots(tmp_path):
    s = thetahat.study.consistency("poisson", {"lam": 3.0}, ns=[10, 50], reps=500)
    df = s.to_pandas()
    assert list(df["n"]) == [10, 50] and "mse" in df
    r = s.table[1]
    assert r["mse"] == pytest.approx(r["variance"] * (499 / 500) + r["bias"] ** 2, rel=1e-9)
    for st_ in (s, thetahat.study.bias(ns=[5], reps=200), thetahat.study.normality("poisson", {"lam": 3.0},
                                                                                      ns=[20], reps=200)):
        out = tmp_path / f"{st_.kind}.png"
        st_.plot(out)
        assert out.stat().st_size > 1000
    assert "consistency study" in str(s)


def test_bad_input():
    with pytest.raises(OptionError, match="true values"):
        thetahat.study.consistency("gamma", {"shape": 1.0})
    with pytest.raises(OptionError, match="sample sizes"):
        thetahat.study.consistency("poisson", {"lam": 1.0}, ns=[0])
    with pytest.raises(OptionError, match="method of moments"):
        thetahat.study.efficiency("normal", {"mu": 0.0, "sigma": 1.0})
