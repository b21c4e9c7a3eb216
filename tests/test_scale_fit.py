"""Streaming fits from files and Dask collections (issue 7): the same estimates and
standard errors as the in-memory fit of the same rows, clear errors that name the
file (or partition) and row, and exact incremental updates.

References: the in-memory fit of the loaded data (itself checked against scipy and
R elsewhere), scipy.stats fits, and closed forms (means of the concatenated data).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats as st

import thetahat
from thetahat.cli.main import main
from thetahat.errors import (
    DegenerateDataError,
    FileFormatError,
    MissingColumnError,
    NonFiniteDataError,
    NonNumericDataError,
    OptionError,
    SupportError,
)

RTOL = 1e-10


def _write_parts(folder, x, parts=4, name="x", row_group_size=None, **extra):
    os.makedirs(folder, exist_ok=True)
    edges = np.linspace(0, x.shape[0], parts + 1).astype(int)
    for i in range(parts):
        cols = {name: x[edges[i]:edges[i + 1]]}
        cols.update({k: v[edges[i]:edges[i + 1]] for k, v in extra.items()})
        pq.write_table(pa.table(cols), os.path.join(folder, f"part-{i:03d}.parquet"),
                       row_group_size=row_group_size, write_page_checksum=True)
    return os.path.join(folder, "*.parquet")


def _same(f, g, rtol=RTOL):
    assert f.converged and g.converged
    for k in g.params:
        np.testing.assert_allclose(f.params[k], g.params[k], rtol=rtol, atol=0)
        if g.se.get(k) is not None:
            np.testing.assert_allclose(f.se[k], g.se[k], rtol=rtol, atol=0)
    assert f.nobs == g.nobs
    np.testing.assert_allclose(f.loglik, g.loglik, rtol=1e-12)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(20261121)
    return {
        "gamma": rng.gamma(2.3, 1.7, 120_000),
        "weibull": 2.5 * rng.weibull(1.4, 120_000),
        "normal": rng.normal(3.0, 2.0, 120_000),
        "t": 1.0 + 0.5 * rng.standard_t(5.0, 60_000),
        "poisson": rng.poisson(3.5, 80_000).astype(float),
    }


@pytest.mark.parametrize("family", ["gamma", "weibull", "normal", "t", "poisson"])
def test_streamed_parquet_parts_match_the_fit_of_the_loaded_data(tmp_path, data, family):
    x = data[family]
    path = _write_parts(tmp_path / family, x, parts=5, row_group_size=7_000)
    f = thetahat.fit(path, family, column="x")
    _same(f, thetahat.fit(x, family))
    passes = int(f.notes[-1].split(" in ")[-1].split()[0])
    assert passes == 1 if thetahat.family(family).statistics is not None else passes <= 12


def test_streamed_gamma_and_weibull_agree_with_scipy(tmp_path, data):
    for family, dist in (("gamma", st.gamma), ("weibull", st.weibull_min)):
        x = data[family]
        f = thetahat.fit(_write_parts(tmp_path / family, x, parts=3), family, column="x")
        shape, _, scale = dist.fit(x, floc=0)
        got_scale = 1 / f.params["rate"] if family == "gamma" else f.params["scale"]
        # scipy's optimiser stops a little short: agree to 1e-4, and never do worse than it
        assert f.params["shape"] == pytest.approx(shape, rel=1e-4)
        assert got_scale == pytest.approx(scale, rel=1e-4)
        assert f.loglik >= dist.logpdf(x, shape, 0, scale).sum() - 1e-8 * abs(f.loglik)
        assert f.loglik == pytest.approx(dist.logpdf(x, f.params["shape"], 0, got_scale).sum(), rel=1e-12)


def test_small_batches_give_the_same_answer(tmp_path, data):
    """Batch boundaries must not matter: 1000-row batches against one in-memory pass."""
    from thetahat.fitting.api import FRONT
    from thetahat.fitting.streamed import fit_stream

    x = data["weibull"][:20_000]
    path = _write_parts(tmp_path / "w", x, parts=3, row_group_size=3000)
    fam = thetahat.family("weibull")
    f = fit_stream(path, fam, {}, column="x", batch_rows=1000, front=FRONT)
    _same(f, thetahat.fit(x, "weibull"))


def test_multivariate_normal_from_two_columns(tmp_path):
    rng = np.random.default_rng(5)
    xy = rng.multivariate_normal([1.0, -2.0], [[2.0, 0.6], [0.6, 1.0]], size=30_000)
    path = _write_parts(tmp_path / "mv", xy[:, 0], parts=3, name="a", b=xy[:, 1])
    f = thetahat.fit(path, "mvnormal", column="a,b")
    np.testing.assert_allclose(f.params["mu"], xy.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(f.params["cov"], np.cov(xy.T, bias=True), rtol=1e-10)
    _same(f, thetahat.fit(xy, "mvnormal"))


def test_csv_glob_with_missing_cells_drops_and_counts(tmp_path, data):
    x = data["gamma"][:9000].copy()
    holes = [17, 4000, 8999]
    folder = tmp_path / "csv"
    folder.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(x.size), 3)):
        with open(folder / f"day{i}.csv", "w") as fh:
            fh.write("id,x\n")
            for j in chunk:
                fh.write(f"{j},{'NA' if j in holes else repr(float(x[j]))}\n")
    path = str(folder / "*.csv")
    with pytest.raises(NonFiniteDataError, match=r"day0\.csv contains NaN at data row 18 "):
        thetahat.fit(path, "gamma", column="x")
    f = thetahat.fit(path, "gamma", column="x", dropna=True)
    assert f.dropped == len(holes)
    _same(f, thetahat.fit(np.delete(x, holes), "gamma"))


def test_nan_in_one_partition_is_named_or_dropped(tmp_path, data):
    x = data["weibull"][:40_000].copy()
    x[25_123] = np.nan  # in the third of four files, row 5123 of it
    path = _write_parts(tmp_path / "nan", x, parts=4)
    with pytest.raises(NonFiniteDataError, match=r"part-002\.parquet contains NaN at data row 5124 "):
        thetahat.fit(path, "weibull", column="x")
    f = thetahat.fit(path, "weibull", column="x", dropna=True)
    assert f.dropped == 1 and "1 rows with NaN were dropped" in " ".join(f.notes)
    _same(f, thetahat.fit(x, "weibull", dropna=True))


def test_bad_values_and_files_give_clear_errors(tmp_path, data):
    x = data["gamma"][:10_000].copy()
    x[7_500 + 12] = -1.0  # file 3 of 4 (2500 rows each), data row 13 of it
    path = _write_parts(tmp_path / "neg", x, parts=4)
    with pytest.raises(SupportError, match=r"part-003\.parquet: value -1 at data row 13 "):
        thetahat.fit(path, "gamma", column="x")
    y = data["gamma"][:10_000].copy()
    y[3] = np.inf
    with pytest.raises(NonFiniteDataError, match=r"part-000\.parquet contains an infinite value at data row 4\b"):
        thetahat.fit(_write_parts(tmp_path / "inf", y, parts=2), "gamma", column="x")
    with pytest.raises(MissingColumnError, match="column 'y' is not in"):
        thetahat.fit(path, "gamma", column="y")
    pq.write_table(pa.table({"x": ["a", "b", "c"]}), tmp_path / "text.parquet")
    with pytest.raises(NonNumericDataError, match=r"column 'x' of .*text\.parquet holds string"):
        thetahat.fit(str(tmp_path / "text.parquet"), "gamma", column="x")
    with open(tmp_path / "cells.csv", "w") as fh:
        fh.write("x\n1.5\n2.5\nabc\n")
    with pytest.raises(NonNumericDataError, match=r"cells\.csv"):
        thetahat.fit(str(tmp_path / "cells.csv"), "gamma", column="x")
    with pytest.raises(FileFormatError, match="no file matches"):
        thetahat.fit(str(tmp_path / "nothing-*.parquet"), "gamma", column="x")
    const = _write_parts(tmp_path / "const", np.full(1000, 2.0), parts=2)
    with pytest.raises(DegenerateDataError, match="all 1000 observations"):
        thetahat.fit(const, "gamma", column="x")
    with pytest.raises(OptionError, match="cannot be combined with streamed data"):
        thetahat.fit(path, "gamma", column="x", weights=np.ones(10))
    with pytest.raises(OptionError, match="support depends on its parameters"):
        thetahat.fit(path, "gev", column="x")


def test_truncated_and_corrupt_parquet_files_are_named(tmp_path, data):
    path = _write_parts(tmp_path / "ok", data["normal"][:50_000], parts=2)
    files = sorted((tmp_path / "ok").iterdir())
    raw = files[1].read_bytes()
    files[1].write_bytes(raw[: len(raw) // 2])  # truncated: no footer
    with pytest.raises(FileFormatError, match=r"part-001\.parquet is not a readable Parquet file"):
        thetahat.fit(path, "normal", column="x")
    bad = bytearray(raw)
    bad[len(raw) // 3: len(raw) // 3 + 64] = bytes(64)  # a damaged data page (its CRC no longer matches)
    files[1].write_bytes(bytes(bad))
    with pytest.raises(FileFormatError, match=r"part-001\.parquet cannot be read .*corrupt"):
        thetahat.fit(path, "normal", column="x")


def test_dask_array_on_the_threaded_scheduler(data):
    da = pytest.importorskip("dask.array", reason="dask is a dev dependency")
    for family in ("gamma", "weibull"):
        x = data[family]
        f = thetahat.fit(da.from_array(x, chunks=25_000), family)
        _same(f, thetahat.fit(x, family))
        assert "Dask array in 5 partitions" in f.notes[-1]


def test_dask_dataframe_column_with_nan_partition(data):
    dd = pytest.importorskip("dask.dataframe", reason="dask is a dev dependency")
    import pandas as pd

    x = data["gamma"][:30_000].copy()
    x[[20_001, 20_002]] = np.nan
    df = dd.from_pandas(pd.DataFrame({"x": x, "other": np.arange(x.size)}), npartitions=3)
    with pytest.raises(NonFiniteDataError, match=r"Dask partition 2 contains NaN at data row 2 "):
        thetahat.fit(df, "gamma", column="x")
    f = thetahat.fit(df, "gamma", column="x", dropna=True)
    assert f.dropped == 2
    _same(f, thetahat.fit(x, "gamma", dropna=True))


# ---- Fit.update ---------------------------------------------------------------------
@pytest.mark.parametrize("family", ["poisson", "gamma", "normal", "beta", "exponential"])
def test_update_merges_statistics_exactly(family):
    rng = np.random.default_rng(11)
    gen = {"poisson": lambda n: rng.poisson(2.5, n), "gamma": lambda n: rng.gamma(1.5, 2.0, n),
           "normal": lambda n: rng.normal(0.5, 3.0, n), "beta": lambda n: rng.beta(2.0, 5.0, n),
           "exponential": lambda n: rng.exponential(0.7, n)}[family]
    days = [gen(n) for n in (500, 120, 3, 900)]
    f = thetahat.fit(days[0], family)
    for d in days[1:]:
        f = f.update(d)
    _same(f, thetahat.fit(np.concatenate(days), family), rtol=1e-12)
    assert "merging sufficient statistics" in f.notes[-1]
    if family in ("poisson", "normal"):  # closed forms of the concatenated data
        mu = {"poisson": "lam", "normal": "mu"}[family]
        assert f.params[mu] == pytest.approx(np.concatenate(days).mean(), rel=1e-14)


def test_update_from_files_and_a_streamed_fit(tmp_path, data):
    x = data["gamma"]
    old = _write_parts(tmp_path / "old", x[:80_000], parts=2)
    f = thetahat.fit(old, "gamma", column="x").update(_write_parts(tmp_path / "new", x[80_000:], parts=2),
                                                      column="x")
    _same(f, thetahat.fit(x, "gamma"), rtol=1e-12)
    # the merged statistics still give profile intervals (no rows needed) ...
    lo, hi = f.confint(method="profile")["shape"]
    lo2, hi2 = thetahat.fit(x, "gamma").confint(method="profile")["shape"]
    assert lo == pytest.approx(lo2, rel=1e-8) and hi == pytest.approx(hi2, rel=1e-8)
    # ... but the bootstrap needs the rows
    with pytest.raises(OptionError, match="needs the observations in memory"):
        f.confint(method="bootstrap", n_boot=10)


def test_update_without_statistics_refits_the_rows(data):
    x = data["weibull"][:5000]
    f = thetahat.fit(x[:3000], "weibull").update(x[3000:])
    _same(f, thetahat.fit(x, "weibull"))
    assert "refitting all 5000 rows" in f.notes[-1]


def test_update_refuses_what_it_cannot_do_exactly(tmp_path, data):
    path = _write_parts(tmp_path / "w", data["weibull"][:20_000], parts=2)
    f = thetahat.fit(path, "weibull", column="x")
    with pytest.raises(OptionError, match="no sufficient statistics"):
        f.update(data["weibull"][:10])
    with pytest.raises(SupportError):
        thetahat.fit(data["gamma"][:100], "gamma").update([1.0, -2.0])


# ---- CLI ------------------------------------------------------------------------------
def test_cli_streams_a_glob(tmp_path, data, capsys):
    path = _write_parts(tmp_path / "g", data["gamma"], parts=3)
    assert main(["fit", path, "--column", "x", "--family", "gamma", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = thetahat.fit(data["gamma"], "gamma")
    assert out["params"]["shape"] == pytest.approx(ref.params["shape"], rel=RTOL)
    assert main(["fit", path, "--column", "x", "--family", "gamma", "--plot", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("thetahat: error: --plot needs the rows in memory") and "\n" not in err


def test_cli_names_a_truncated_file(tmp_path, data, capsys):
    path = _write_parts(tmp_path / "t", data["gamma"][:10_000], parts=2)
    f1 = tmp_path / "t" / "part-001.parquet"
    f1.write_bytes(f1.read_bytes()[:300])
    assert main(["fit", path, "--column", "x", "--family", "gamma"]) == 2
    err = capsys.readouterr().err.strip()
    assert "part-001.parquet" in err and "\n" not in err and "Traceback" not in err
