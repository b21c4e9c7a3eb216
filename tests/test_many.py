"""fit_many against per-group scipy fits and closed forms; failures stay in their rows."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

import thetahat
from thetahat.errors import MissingColumnError, OptionError


def test_groups_match_scipy_and_one_bad_group_is_marked():
    rng = np.random.default_rng(31)
    sizes = [40, 55, 300, 12, 1, 80]
    frames = []
    for i, n in enumerate(sizes):
        frames.append(pd.DataFrame({"site": f"s{i}", "x": rng.gamma(2.0 + i, 1.5, n)}))
    df = pd.concat(frames, ignore_index=True)
    df.loc[df.index[df.site == "s3"][0], "x"] = -1.0  # outside the support
    res = thetahat.fit_many(df, "gamma", by="site", value="x")
    table = pd.DataFrame(res)  # pandas takes the result directly
    assert list(table.group) == [f"s{i}" for i in range(6)]
    row = table.set_index("group")
    assert row.loc["s3", "status"] == "error" and "support" in row.loc["s3", "reason"]
    assert row.loc["s4", "status"] == "error" and "at least" in row.loc["s4", "reason"]  # 1 observation
    for i in (0, 1, 2, 5):
        x = df.x[df.site == f"s{i}"].to_numpy()
        a, _, scale = st.gamma.fit(x, floc=0)
        assert row.loc[f"s{i}", "status"] == "ok"
        assert row.loc[f"s{i}", "shape"] == pytest.approx(a, rel=1e-5)
        assert row.loc[f"s{i}", "rate"] == pytest.approx(1 / scale, rel=1e-5)
        assert row.loc[f"s{i}", "n"] == x.size
        single = thetahat.fit(x, "gamma")
        assert row.loc[f"s{i}", "se_shape"] == pytest.approx(single.se["shape"], rel=1e-6)
        assert row.loc[f"s{i}", "loglik"] == pytest.approx(st.gamma(a, scale=scale).logpdf(x).sum(), rel=1e-8)
    assert res.n_ok == 4 and res.notes


def test_columns_mode_closed_form_and_dropna():
    rng = np.random.default_rng(32)
    d = {"a": rng.normal(0, 1, 30), "b": rng.normal(5, 2, 30)}
    d["b"][3] = np.nan
    res = thetahat.fit_many(d, "normal", columns=["a", "b"])
    assert list(res["status"]) == ["ok", "error"]
    res = thetahat.fit_many(d, "normal", columns=["a", "b"], dropna=True)
    b = d["b"][~np.isnan(d["b"])]
    assert res["dropped"][1] == 1 and res["n"][1] == 29
    assert res["mu"][1] == pytest.approx(b.mean(), rel=1e-12)
    assert res["sigma"][1] == pytest.approx(b.std(), rel=1e-12)


def test_polars_and_arrow_inputs():
    pa = pytest.importorskip("pyarrow")
    rng = np.random.default_rng(33)
    t = pa.table({"g": ["x"] * 20 + ["y"] * 20, "v": rng.poisson(3.0, 40).astype(float)})
    res = thetahat.fit_many(t, "poisson", by="g")
    np.testing.assert_allclose(res["lam"], [np.mean(t.column("v").to_numpy()[:20]),
                                            np.mean(t.column("v").to_numpy()[20:])], rtol=1e-12)
    assert res.to_arrow().num_rows == 2


def test_bad_options():
    with pytest.raises(MissingColumnError):
        thetahat.fit_many({"x": [1.0, 2.0]}, "normal", by="g")
    with pytest.raises(OptionError):
        thetahat.fit_many({"x": [1.0, 2.0]}, "normal")
