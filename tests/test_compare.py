"""thetahat.compare: ranking by AIC, checked against scipy.stats log-likelihoods."""

import dataclasses
import json

import numpy as np
import pytest
from scipy import stats as st

import thetahat
from thetahat.cli.main import main
from thetahat.errors import DataError, NonFiniteDataError
from thetahat.families.normal import Normal

# independent scipy constructors, written here (not taken from the families' to_scipy)
SCIPY = {
    "normal": lambda q: st.norm(q["mu"], q["sigma"]),
    "lognormal": lambda q: st.lognorm(s=q["sigma"], scale=np.exp(q["mu"])),
    "gamma": lambda q: st.gamma(a=q["shape"], scale=1 / q["rate"]),
    "exponential": lambda q: st.expon(scale=1 / q["lam"]),
    "weibull": lambda q: st.weibull_min(c=q["shape"], scale=q["scale"]),
    "gumbel": lambda q: st.gumbel_r(q["loc"], q["scale"]),
    "laplace": lambda q: st.laplace(q["loc"], q["scale"]),
    "logistic": lambda q: st.logistic(q["loc"], q["scale"]),
    "cauchy": lambda q: st.cauchy(q["loc"], q["scale"]),
    "loglogistic": lambda q: st.fisk(c=q["shape"], scale=q["scale"]),
    "rayleigh": lambda q: st.rayleigh(scale=q["sigma"]),
    "halfnormal": lambda q: st.halfnorm(scale=q["sigma"]),
    "inverse_gaussian": lambda q: st.invgauss(q["mu"] / q["lam"], scale=q["lam"]),
    "poisson": lambda q: st.poisson(q["lam"]),
}

X = np.random.default_rng(11).lognormal(0.4, 0.7, size=2000)


@pytest.fixture(scope="module")
def cmp():
    return thetahat.compare(X)


def test_lognormal_ranks_first_or_within_2(cmp):
    rows = cmp.table
    best_aic = rows[0]["aic"]
    ln = next(r for r in rows if r["family"] == "lognormal")
    assert ln["status"] == "ok"
    assert ln["aic"] - best_aic <= 2.0
    assert ln["delta_aic"] == pytest.approx(ln["aic"] - best_aic, abs=1e-12)


def test_aic_bic_against_scipy_logpdf(cmp):
    n = X.size
    checked = 0
    for r in cmp.table:
        if r["status"] != "ok" or r["family"] not in SCIPY:
            continue
        ll = SCIPY[r["family"]](r["params"]).logpdf(X).sum()
        k = len(thetahat.family(r["family"]).params)
        assert r["k"] == k
        np.testing.assert_allclose(r["loglik"], ll, rtol=1e-9, err_msg=r["family"])
        np.testing.assert_allclose(r["aic"], -2 * ll + 2 * k, rtol=1e-9, err_msg=r["family"])
        np.testing.assert_allclose(r["bic"], -2 * ll + k * np.log(n), rtol=1e-9, err_msg=r["family"])
        checked += 1
    assert checked >= 2


def test_ranking_and_weights(cmp):
    ok = [r for r in cmp.table if r["status"] == "ok"]
    aics = [r["aic"] for r in ok]
    assert aics == sorted(aics)
    assert [r["rank"] for r in cmp.table] == list(range(1, len(cmp.table) + 1))
    w = np.array([r["akaike_weight"] for r in ok])
    ref = np.exp(-0.5 * (np.array(aics) - aics[0]))
    np.testing.assert_allclose(w, ref / ref.sum(), rtol=1e-12)
    assert cmp.best is cmp.fits[ok[0]["family"]]


def test_skipped_with_reasons():
    c = thetahat.compare(-X)
    assert "lognormal" in c.skipped and "outside the support" in c.skipped["lognormal"]
    assert "lognormal" not in {r["family"] for r in c.table}
    assert "normal" in c.fits
    for fam in thetahat.all_families():
        if any(v is None for v in fam.known.values()):
            assert fam.name in c.skipped


class _Broken(Normal):
    name = "broken"

    def closed_form(self, s):
        raise RuntimeError("start blew up")


class _Stubborn(Normal):
    """Newton and BFGS get 1 iteration: they cannot converge from a poor start."""

    name = "stubborn"

    def start(self, x, w):
        return {"mu": 1e4, "sigma": 1e-3}

    closed_form = None
    statistics = None
    loglik_from_statistics = None


def test_failures_marked_not_raised():
    c = thetahat.compare(X, ["normal", _Broken(), "lognormal"])
    last = c.table[-1]
    assert last["family"] == "broken" and last["status"] == "failed"
    assert "start blew up" in last["reason"] and last["aic"] is None and last["rank"] == 3
    assert "broken" not in c.fits
    assert c.best.family.name == "lognormal"
    assert "failed: RuntimeError: start blew up" in c.summary()


def test_not_converged_ranked_after_converged(monkeypatch):
    import sys

    cm = sys.modules["thetahat.compare"]  # the module; thetahat.compare is the function

    real_fit = cm.fit

    def fit_1_iter(x, fam, **kw):
        if fam.name == "stubborn":
            return real_fit(x, fam, method="bfgs", max_iter=1, **kw)
        return real_fit(x, fam, **kw)

    monkeypatch.setattr(cm, "fit", fit_1_iter)
    c = thetahat.compare(X, [_Stubborn(), "normal"])
    assert [r["family"] for r in c.table] == ["normal", "stubborn"]
    assert c.table[1]["status"] == "not converged" and c.table[1]["converged"] is False


def test_dropna_and_nan_error():
    y = np.concatenate([X[:100], [np.nan, np.nan]])
    with pytest.raises(NonFiniteDataError):
        thetahat.compare(y, ["normal"])
    c = thetahat.compare(y, ["normal"], dropna=True)
    assert c.dropped == 2 and c.nobs == 100
    np.testing.assert_allclose(c.best.params["mu"], X[:100].mean(), rtol=1e-12)


def test_weights_equal_repeated_rows():
    x = np.array([0.5, 1.2, 2.0, 3.7, 0.9])
    w = np.array([1, 3, 2, 1, 4])
    a = thetahat.compare(x, ["lognormal", "normal"], weights=w)
    b = thetahat.compare(np.repeat(x, w), ["lognormal", "normal"])
    for ra, rb in zip(a.table, b.table):
        assert ra["family"] == rb["family"]
        np.testing.assert_allclose(ra["aic"], rb["aic"], rtol=1e-9)


def test_discrete_data_compares_discrete_families():
    k = np.random.default_rng(3).poisson(3.0, size=500).astype(float)
    c = thetahat.compare(k)
    names = {r["family"] for r in c.table}
    assert "normal" in c.skipped and "normal" not in names
    if "poisson" in names:
        r = next(r for r in c.table if r["family"] == "poisson")
        np.testing.assert_allclose(r["loglik"], st.poisson(k.mean()).logpmf(k).sum(), rtol=1e-10)
    mixed = thetahat.compare(k + 0.0, ["normal", "poisson"]) if "poisson" in names else None
    if mixed is not None:
        assert any("not comparable" in n for n in mixed.notes)


def test_all_fail_raises_user_error():
    with pytest.raises(DataError, match="all 5 observations equal"):
        thetahat.compare(np.full(5, 2.5), ["normal", "lognormal"])


def test_immutable_and_pandas(cmp):
    with pytest.raises(dataclasses.FrozenInstanceError):
        cmp.nobs = 3
    t = cmp.table
    t[0]["aic"] = -1.0
    assert cmp.table[0]["aic"] != -1.0
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(cmp.table)
    assert list(df["family"]) == [r["family"] for r in cmp.table]
    assert {"aic", "bic", "delta_aic", "loglik", "k", "status", "params", "converged"} <= set(df.columns)
    d = cmp.to_dict()
    assert d["best"] == cmp.best.family.name and d["nobs"] == X.size


def test_compare_gains_tests_of_fit_columns():
    """KS/AD/CvM statistics against scipy at the fitted parameters; p-values equal to
    the standalone ``Fit.gof`` with the same seed (reproducible bootstrap)."""
    from scipy import stats as st

    x = np.random.default_rng(8).gamma(2.0, 1.5, 150)
    cmp = thetahat.compare(x, ["gamma", "normal"], gof=True, n_boot=99, seed=3)
    rows = {r["family"]: r for r in cmp.table}
    g = cmp.fits["gamma"]
    cdf = st.gamma(g.params["shape"], scale=1 / g.params["rate"]).cdf
    assert rows["gamma"]["gof"]["ks"]["statistic"] == pytest.approx(st.kstest(x, cdf).statistic, rel=1e-10)
    assert rows["gamma"]["gof"]["cvm"]["statistic"] == pytest.approx(
        st.cramervonmises(x, cdf).statistic, rel=1e-8)
    alone = g.gof(n_boot=99, seed=3)
    for t in ("ks", "ad", "cvm"):
        assert rows["gamma"]["gof"][t]["pvalue"] == alone[t]["pvalue"]
    assert rows["normal"]["gof"]["ad"]["pvalue"] < 0.05  # skewed data: the normal is rejected
    counts = np.random.default_rng(9).poisson(3.0, 300)
    row = thetahat.compare(counts, ["poisson"], gof=True, n_boot=99).table[0]
    assert set(row["gof"]) == {"chi2"} and 0.0 <= row["gof"]["chi2"]["pvalue"] <= 1.0
    assert "gof" not in thetahat.compare(x, ["gamma"]).table[0]


def test_cli_compare_gof_json(tmp_path, capsys):
    x = np.random.default_rng(8).gamma(2.0, 1.5, 120)
    path = tmp_path / "x.csv"
    path.write_text("x\n" + "\n".join(repr(float(v)) for v in x) + "\n")
    assert main(["compare", str(path), "--families", "gamma,weibull", "--gof", "--n-boot", "49", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["table"]
    assert all(set(r["gof"]) == {"ks", "ad", "cvm"} for r in rows)
