"""thetahat.io.read_column: each format written by numpy/pyarrow/json and read back equal."""

import io
import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from thetahat import read_column
from thetahat.errors import (
    EmptyDataError,
    FileFormatError,
    MissingColumnError,
    NonNumericDataError,
    OptionError,
)

RNG = np.random.default_rng(20240611)


def _same(a, b):
    np.testing.assert_array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float))


@pytest.mark.parametrize("n", [50, 40_000])  # small files take the csv module, large ones pyarrow
def test_csv_round_trip(tmp_path, n):
    x = RNG.normal(size=n) * 1e3
    y = RNG.integers(-5, 5, size=n)
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="x,y", comments="", fmt=["%.17g", "%d"])
    got, info = read_column(path, "x")
    _same(got, x)
    assert info["columns"] == ["x"] and info["available"] == ["x", "y"] and info["rows"] == n
    got, _ = read_column(path, "y")
    _same(got, y)
    both, _ = read_column(path, columns=["y", "x"], ndim=1)
    _same(both, np.column_stack([y, x]))


@pytest.mark.parametrize("n", [30, 40_000])
def test_csv_empty_cells_become_nan(tmp_path, n):
    x = RNG.normal(size=n)
    cells = [repr(float(v)) for v in x]
    holes = [1, n // 2, n - 1]
    for i in holes:
        cells[i] = "" if i != n // 2 else "NA"
    path = tmp_path / "holes.csv"
    path.write_text("label,x\n" + "".join(f"r{i},{c}\n" for i, c in enumerate(cells)))
    got, info = read_column(path)  # the only numeric column is taken
    assert info["columns"] == ["x"]
    assert info["missing"] == len(holes)
    assert np.flatnonzero(np.isnan(got)).tolist() == holes
    keep = np.setdiff1d(np.arange(n), holes)
    _same(got[keep], x[keep])


def test_tsv_and_single_column_blank_line(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("a\tb\n1\t2.5\n3\t4.5\n")
    _same(read_column(p, "b")[0], [2.5, 4.5])
    p = tmp_path / "one.csv"
    p.write_text("v\n1\n\n3\n\n")  # a blank line inside a single column is a missing value
    got, info = read_column(p)
    assert np.isnan(got[1]) and got.size == 3 and info["missing"] == 1


def test_parquet_round_trip(tmp_path):
    x = RNG.gamma(2.0, size=300)
    k = RNG.integers(0, 9, size=300).astype(np.int32)
    masked = pa.array([None if i % 7 == 0 else float(v) for i, v in enumerate(x)])
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"x": x, "k": k, "m": masked, "s": [str(v) for v in x]}), path)
    _same(read_column(path, "x")[0], x)
    _same(read_column(path, "k")[0], k)
    got, info = read_column(path, "m")
    assert info["missing"] == 43 and np.isnan(got[::7]).all()
    _same(np.delete(got, np.arange(0, 300, 7)), np.delete(x, np.arange(0, 300, 7)))
    _same(read_column(path, "s")[0], x)  # numbers stored as strings still read


def test_jsonl_round_trip(tmp_path):
    x = RNG.normal(size=100)
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"x": float(v), "id": i}) + "\n" for i, v in enumerate(x)))
    _same(read_column(path, "x")[0], x)
    path = tmp_path / "mixed.ndjson"
    path.write_text('{"x": 1.5}\n{"x": null}\n{"x": "2.5"}\n')
    got, info = read_column(path)
    _same(got[[0, 2]], [1.5, 2.5])
    assert np.isnan(got[1]) and info["missing"] == 1


def test_json_array(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps([1.25, 2.5, None]))
    got, _ = read_column(path)
    _same(got[:2], [1.25, 2.5])
    assert np.isnan(got[2])


def test_plain_round_trip(tmp_path):
    x = RNG.exponential(size=77)
    path = tmp_path / "x.txt"
    np.savetxt(path, x, fmt="%.17g")
    got, info = read_column(path)
    _same(got, x)
    assert info["columns"] == ["1"]
    m = RNG.normal(size=(20, 3))
    path = tmp_path / "m.dat"
    np.savetxt(path, m, fmt="%.17g")
    _same(read_column(path, "3")[0], m[:, 2])
    _same(read_column(path, ndim=1)[0], m)


def _stdin(monkeypatch, data: bytes):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_stdin_text_and_parquet(monkeypatch, tmp_path):
    x = RNG.normal(size=25)
    _stdin(monkeypatch, "".join(f"{float(v)!r}\n" for v in x).encode())
    got, info = read_column("-")
    _same(got, x)
    assert info["source"] == "<stdin>"
    path = tmp_path / "p.bin"  # no extension: recognised by its magic bytes
    pq.write_table(pa.table({"y": x}), path)
    _stdin(monkeypatch, path.read_bytes())
    _same(read_column("-")[0], x)
    _stdin(monkeypatch, b'{"y": 1}\n{"y": 2}\n')
    _same(read_column("-")[0], [1, 2])


@pytest.mark.parametrize("n", [10, 80_000])  # 80k short lines pass the pyarrow threshold
def test_non_numeric_names_row_and_column(tmp_path, n):
    cells = ["1.5"] * n
    cells[n - 3] = "oops"
    path = tmp_path / "bad.csv"
    path.write_text("x\n" + "\n".join(cells) + "\n")
    with pytest.raises(NonNumericDataError, match=rf"'oops' in column 'x' at line {n - 1} of "):
        read_column(path)


def test_non_numeric_jsonl_row(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": "two"}\n')
    with pytest.raises(NonNumericDataError, match=r"'two' in column 'a' at line 3 of "):
        read_column(path)


def test_column_errors(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("a,b,name\n1,2,x\n3,4,y\n")
    with pytest.raises(OptionError, match=r"several numeric columns \('a', 'b'\)"):
        read_column(path)
    with pytest.raises(MissingColumnError, match=r"no column 'c'; its columns are 'a', 'b', 'name'"):
        read_column(path, "c")
    with pytest.raises(NonNumericDataError, match=r"'x' in column 'name' at line 2 of "):
        read_column(path, "name")


def test_file_errors(tmp_path):
    with pytest.raises(FileFormatError, match="nope.csv: no such file"):
        read_column(tmp_path / "nope.csv")
    bad = tmp_path / "corrupt.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(FileFormatError, match="corrupt.parquet"):
        read_column(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(EmptyDataError, match="empty.csv"):
        read_column(empty)
    header_only = tmp_path / "h.csv"
    header_only.write_text("x\n")
    with pytest.raises(EmptyDataError, match="no data rows"):
        read_column(header_only)
    ragged = tmp_path / "r.csv"
    ragged.write_text("a,b\n1,2\n3\n")
    with pytest.raises(FileFormatError, match="r.csv"):
        read_column(ragged, "a")
