"""The bad-input catalogue of issue 19 ("Honest at the edges"), one row each.

Every row is an input that once gave a traceback, a crash, a hang, a silently wrong answer,
an uncounted dropped row or noise on stderr. On the command line each must end in exactly
one line on stderr and exit status 2 -- or in a clean fit where a fit is the right answer,
checked against NumPy/SciPy. In Python each must raise a :class:`ThetahatError` subclass
-- or give the right answer, likewise checked.

Conventions decided here:

* A broken pipe (``thetahat fit ... | head -0``) exits quietly with status 141 (128 +
  SIGPIPE, what a shell reports for a process killed by it), for tables and ``--json``
  alike, with nothing on stderr.
* A write to a full disk (``> /dev/full``) is one error line, exit 2.
* ``--starts`` above 1000 is capped at 1000, and a note says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats as st

import thetahat
from thetahat import errors
from thetahat.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "thetahat.cli.main"]


def _env(**extra):
    path = os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, **extra}


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code, out, err, pattern):
    """The CLI's contract for bad input: status 2, nothing on stdout, one line on stderr."""
    import re

    assert code == 2, (code, out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert lines[0].startswith("thetahat: error: "), err
    assert "Traceback" not in err and "\x1b" not in err
    assert re.search(pattern, lines[0]), lines[0]
    # the CLI speaks CLI: options, not Python keywords (dropna=True, column=..., method='newton')
    assert not re.search(r"\b[a-z_]+=(True|False|None|'|\.\.\.|\[|\{)", lines[0]), lines[0]
    return lines[0]


# ---- the files of the catalogue ------------------------------------------------------
def _csv(tmp_path, name, values, header="x"):
    p = tmp_path / name
    p.write_text(header + "\n" + "\n".join(values) + "\n")
    return p


def _damaged_parquet(tmp_path):
    """A Parquet file written with page checksums, then one byte of its data page flipped."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    x = np.arange(1000.0) * 1.37
    p = tmp_path / "damaged.parquet"
    pq.write_table(pa.table({"x": x}), p, write_page_checksum=True, compression="none")
    raw = bytearray(p.read_bytes())
    at = raw.find(x[20:].tobytes()[:8])  # a value inside the first data page
    raw[at] ^= 0xFF
    p.write_bytes(bytes(raw))
    return p


def _nested_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"y": [1.0, 2.0, 3.0, 4.0], "v": pa.array([[1.0], [2.0, 3.0], [], [4.0]])}), p)
    return p


SUBNORMAL = ["5e-324", "1e-323", "2e-323", "3e-322", "1e-320"]

# id -> (setup(tmp_path) -> argv, regex the one error line must match)
CLI_ERRORS = {
    "subnormal_weibull": (lambda t: ["fit", _csv(t, "s.csv", SUBNORMAL), "-f", "weibull"], r"subnormal"),
    "integer_401_digits_json": (lambda t: ["fit", _write(t, "big.json", "[1, 2, " + "9" * 401 + ", 3]"), "-f",
                                           "normal"], r"integer '?9{30}.* at data row 3 of .*big\.json"),
    "seed_negative": (lambda t: ["fit", _csv(t, "x.csv", ["1", "2", "3"]), "-f", "gamma", "--seed", "-1"],
                      r"--seed: .*0 to 2\^63-1, got -1"),
    "seed_negative_mixture": (lambda t: ["mixture", _csv(t, "x.csv", ["1", "2", "3", "7", "8"]), "--k", "2",
                                         "--starts", "3", "--seed", "-1"], r"--seed: .*0 to 2\^63-1, got -1"),
    "plot_missing_folder": (lambda t: ["fit", _csv(t, "x.csv", ["1", "2", "3"]), "-f", "normal", "--plot",
                                       t / "no" / "such" / "p.png"], r"--plot .*the folder .*no.such does not exist"),
    "nested_parquet_fit": (lambda t: ["fit", _nested_parquet(t), "-c", "v", "-f", "normal"], r"column 'v' .*list<"),
    "nested_parquet_regress": (lambda t: ["regress", _nested_parquet(t), "y ~ v"],
                               r"column 'v' .*list<.*nested values"),
    "dev_zero": (lambda t: ["fit", "/dev/zero", "-f", "normal"], r"/dev/zero is a character device, not a regular"),
    "fifo_without_writer": (lambda t: ["fit", _fifo(t), "-f", "normal"], r"is a FIFO \(named pipe\), not a regular"),
    "duplicate_column_small": (lambda t: ["fit", _write(t, "d.csv", "x,x\n1,100\n2,200\n3,300\n"), "-c", "x", "-f",
                                          "normal"], r"column 'x' appears 2 times in .*d\.csv"),
    "duplicate_column_large": (lambda t: ["fit", _write(t, "d.csv", "x,x\n" + "".join(
        f"{i},{2 * i}\n" for i in range(40_000))), "-c", "x", "-f", "normal"],
                               r"column 'x' appears 2 times in .*d\.csv"),
    "underscore_number": (lambda t: ["fit", _csv(t, "u.csv", ["1.5", "1_0", "2"]), "-f", "normal"],
                          r"non-numeric value '1_0' in column 'x' at line 3 of .*u\.csv"),
    "damaged_parquet_checksum": (lambda t: ["fit", _damaged_parquet(t), "-c", "x", "-f", "normal"],
                                 r"damaged\.parquet.*(CRC|checksum)"),
    "damaged_parquet_regress": (lambda t: ["regress", _damaged_parquet(t), "x ~ 1"],
                                r"damaged\.parquet.*(CRC|checksum)"),
    "ansi_in_file_name": (lambda t: ["fit", t / "a\x1b[31mred.csv", "-f", "normal"], r"a\\x1b\[31mred\.csv"),
    "ansi_in_cell": (lambda t: ["fit", _csv(t, "c.csv", ["1", "\x1b[2J", "2"]), "-f", "normal"],
                     r"'\\x1b\[2J' in column 'x' at line 3"),
    "empty_folder": (lambda t: ["fit", _folder(t), "-f", "normal"], r"folder .*empty holds no Parquet or CSV files"),
    "glob_matching_nothing": (lambda t: ["fit", t / "nothing*.csv", "-f", "normal"], r"no file matches .*nothing\*"),
    "missing_parquet": (lambda t: ["fit", t / "gone.parquet", "-f", "normal"], r"gone\.parquet: no such file"),
    "int64_near_2_62_text": (lambda t: ["fit", _csv(t, "i.csv", [str(2 ** 62), str(2 ** 62 + 1), str(2 ** 62 + 3)]),
                                        "-f", "normal"], r"integer '4611686018427387905' .* line 3 .*beyond 2\^53"),
    "int64_near_2_62_parquet": (lambda t: ["fit", _int_parquet(t), "-f", "normal"],
                                r"integer 4611686018427387905 in column 'x' at data row 2 .*beyond 2\^53"),
    "advice_names_cli_option": (lambda t: ["fit", _csv(t, "n.csv", ["1", "NA", "2"]), "-f", "normal"],
                                r"NaN .*pass --dropna to drop"),
    "advice_names_cli_method": (lambda t: ["fit", _csv(t, "g.csv", ["1", "2", "4"]), "-f", "gamma", "--method",
                                           "closed"], r"use --method newton$"),
    "missing_weight_without_dropna": (lambda t: ["fit", _write(t, "w.csv", "x,w\n1,1\n2,\n3,2\n"), "-c", "x",
                                                 "--weights-column", "w", "-f", "normal"],
                                      r"weights contains NaN .*pass --dropna"),
}


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def _fifo(tmp_path):
    p = tmp_path / "pipe"
    os.mkfifo(p)
    return p


def _folder(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    return d


def _int_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "i.parquet"
    pq.write_table(pa.table({"x": pa.array([2 ** 62, 2 ** 62 + 1, 2 ** 62 + 3], pa.int64())}), p)
    return p


@pytest.mark.parametrize("case", sorted(CLI_ERRORS))
def test_cli_bad_input_is_one_line_exit_2(capsys, tmp_path, case):
    setup, pattern = CLI_ERRORS[case]
    argv = setup(tmp_path)
    done = {}
    # (a FIFO without a writer, or /dev/zero, would block or fill memory: run with a deadline)
    worker = threading.Thread(target=lambda: done.setdefault("code", main([str(a) for a in argv])), daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), f"{case}: still running after 120 s"
    out, err = capsys.readouterr()
    _one_line_error(done["code"], out, err, pattern)


def test_cli_stdin_is_read_with_a_bound(capsys, monkeypatch):
    """`thetahat fit - < /dev/zero` must not read until memory runs out: stdin is read up
    to STDIN_MAX bytes (here made small), and more is one error line."""
    import io

    from thetahat.io import readers

    monkeypatch.setattr(readers, "STDIN_MAX", 1000)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\0" * 5000)))
    code, out, err = _cli(capsys, "fit", "-", "-f", "normal")
    _one_line_error(code, out, err, r"stdin holds more than 1,000 bytes; save the data to a file")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"1.5\n2.5\n0.5\n")))
    code, out, err = _cli(capsys, "fit", "-", "-f", "normal", "--json")
    assert code == 0 and err == ""
    np.testing.assert_allclose(json.loads(out)["params"]["mu"], np.mean([1.5, 2.5, 0.5]), rtol=1e-12)


# ---- rows where a fit is the right answer ---------------------------------------------
def test_cli_glob_characters_in_an_existing_name_are_literal(capsys, tmp_path):
    """run[1].csv is that file, never run1.csv (which the glob [1] would match)."""
    _csv(tmp_path, "run1.csv", ["1", "2", "3", "4"])
    x = np.array([10.0, 20.0, 35.0, 40.0])
    p = _csv(tmp_path, "run[1].csv", [repr(float(v)) for v in x])
    code, out, err = _cli(capsys, "fit", p, "-f", "normal", "--json")
    assert code == 0 and err == "", err
    d = json.loads(out)
    np.testing.assert_allclose([d["params"]["mu"], d["params"]["sigma"]], [x.mean(), x.std()], rtol=1e-12)
    assert thetahat.fit(str(p), "normal", column="x").nobs == x.size  # streamed, also literal


def test_cli_missing_weight_is_dropped_and_counted(capsys, tmp_path):
    x, w = np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([1.0, np.nan, 2.0, 1.0, 3.0])
    p = _write(tmp_path, "w.csv", "x,w\n" + "".join(f"{a},{'' if np.isnan(b) else b}\n" for a, b in zip(x, w)))
    code, out, err = _cli(capsys, "fit", p, "-c", "x", "--weights-column", "w", "-f", "normal", "--dropna", "--json")
    assert code == 0 and err == "", err
    d = json.loads(out)
    keep = ~np.isnan(w)
    mu = np.average(x[keep], weights=w[keep])
    sigma = np.sqrt(np.average((x[keep] - mu) ** 2, weights=w[keep]))
    assert d["dropped"] == 1 and d["nobs"] == w[keep].sum()
    np.testing.assert_allclose([d["params"]["mu"], d["params"]["sigma"]], [mu, sigma], rtol=1e-10)
    code, out, _ = _cli(capsys, "fit", p, "-c", "x", "--weights-column", "w", "-f", "normal", "--dropna")
    assert code == 0 and "dropped rows: 1" in out


def test_cli_missing_event_is_dropped_and_counted(capsys, tmp_path):
    x, e = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 0.5]), np.array([1.0, np.nan, 0.0, 1.0, 1.0, 1.0])
    p = _write(tmp_path, "e.csv", "x,e\n" + "".join(f"{a},{'NA' if np.isnan(b) else int(b)}\n" for a, b in zip(x, e)))
    code, out, err = _cli(capsys, "fit", p, "-c", "x", "--event-column", "e", "-f", "exponential", "--dropna",
                          "--json")
    assert code == 0 and err == "", err
    d = json.loads(out)
    keep = ~np.isnan(e)
    assert d["dropped"] == 1
    # right-censored exponential: events over total exposure
    np.testing.assert_allclose(d["params"]["lam"], e[keep].sum() / x[keep].sum(), rtol=1e-9)


def test_cli_starts_are_capped_with_a_note(capsys, tmp_path):
    p = _csv(tmp_path, "x.csv", ["1.2", "0.4", "2.5", "0.9", "1.7"])
    code, out, err = _cli(capsys, "fit", p, "-f", "normal", "--starts", "1000000000", "--json")
    assert code == 0 and err == "", err
    assert "starts capped at 1000 (asked for 1000000000)" in json.loads(out)["notes"]
    from thetahat.fitting.api import MAX_STARTS

    assert MAX_STARTS == 1000  # the cap the CLI help and this note document


def test_cli_lognormal_across_float64_range(capsys, tmp_path):
    """log x of 1e-308 .. 1e308 spans only |log x| < 710: a plain fit, not an overflow."""
    x = np.geomspace(1e-308, 1e308, 61)
    p = _csv(tmp_path, "wide.csv", [repr(float(v)) for v in x])
    code, out, err = _cli(capsys, "fit", p, "-f", "lognormal", "--json")
    assert code == 0 and err == "", err
    d = json.loads(out)
    lx = np.log(x)
    np.testing.assert_allclose(d["params"]["mu"], lx.mean(), atol=1e-9 * lx.std())
    np.testing.assert_allclose(d["params"]["sigma"], lx.std(), rtol=1e-12)


def test_cli_blank_or_na_bound_is_an_open_end(capsys, tmp_path):
    """As R's Surv(type="interval2"): a blank/NA upper bound is right-censored, a blank/NA
    lower one left-censored; --dropna must not be needed (it would drop those rows)."""
    lo = np.array([1.0, 2.0, 3.0, np.nan, 4.0, 0.5, 2.5])
    hi = np.array([2.0, np.nan, 3.0, 1.0, 5.0, 1.5, np.nan])
    text = "lo,hi\n" + "".join(f"{'' if np.isnan(a) else a},{'NA' if np.isnan(b) else b}\n" for a, b in zip(lo, hi))
    p = _write(tmp_path, "iv.csv", text)
    code, out, err = _cli(capsys, "fit", p, "--lower-column", "lo", "--upper-column", "hi", "-f", "exponential",
                          "--json")
    assert code == 0 and err == "", err
    a, b = np.where(np.isnan(lo), 0.0, lo), np.where(np.isnan(hi), np.inf, hi)

    def nll(lam):
        exact = a == b
        ll = np.sum(st.expon(scale=1 / lam).logpdf(a[exact]))
        ll += np.sum(np.log(st.expon(scale=1 / lam).cdf(b[~exact]) - st.expon(scale=1 / lam).cdf(a[~exact])))
        return -ll

    lam = optimize.minimize_scalar(nll, bounds=(1e-6, 10), method="bounded", options={"xatol": 1e-12}).x
    d = json.loads(out)
    assert d["dropped"] == 0
    np.testing.assert_allclose(d["params"]["lam"], lam, rtol=1e-6)


# ---- rows that need a process of their own -------------------------------------------
def test_cli_broken_pipe_exits_141_quietly_for_tables_and_json(tmp_path):
    p = _csv(tmp_path, "x.csv", ["1.2", "0.4", "2.5", "0.9", "1.7"])
    for extra in ([], ["--json"]):
        proc = subprocess.Popen(CLI + ["fit", str(p), "-f", "normal", *extra], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=_env())
        proc.stdout.close()  # the reader goes away before the first write
        err = proc.stderr.read()
        assert proc.wait(timeout=300) == 141, (extra, err)
        assert err == b"", (extra, err)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_cli_full_disk_is_one_line(tmp_path):
    p = _csv(tmp_path, "x.csv", ["1.2", "0.4", "2.5", "0.9", "1.7"])
    for extra in ([], ["--json"]):
        with open("/dev/full", "w") as full:
            proc = subprocess.run(CLI + ["fit", str(p), "-f", "normal", *extra], stdout=full, stderr=subprocess.PIPE,
                                  text=True, env=_env(), timeout=300)
        _one_line_error(proc.returncode, "", proc.stderr, r"cannot write the output: No space left on device")


def test_cli_extreme_data_no_runtime_warnings(tmp_path):
    """Huge and subnormal data: one error line, no RuntimeWarning on stderr (warnings shown)."""
    huge = _csv(tmp_path, "huge.csv", ["1e300", "2e300", "5e300"])
    sub = _csv(tmp_path, "sub.csv", SUBNORMAL)
    for p, fam in ((huge, "gamma"), (sub, "weibull"), (sub, "gamma")):
        proc = subprocess.run(CLI + ["fit", str(p), "-f", fam], capture_output=True, text=True, timeout=300,
                              env=_env(PYTHONWARNINGS="always"))
        _one_line_error(proc.returncode, proc.stdout, proc.stderr, r"overflows float64 in the " + fam)


def test_cli_corrupt_compile_cache_is_silent(tmp_path):
    cache = tmp_path / "cache"
    p = _csv(tmp_path, "x.csv", ["1.2", "0.4", "2.5", "0.9", "1.7"])
    cmd = CLI + ["fit", str(p), "-f", "gamma", "--json"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=_env(THETAHAT_CACHE_DIR=str(cache)))
    assert first.returncode == 0 and first.stderr == ""
    entries = [f for f in cache.iterdir() if f.is_file()]
    assert entries  # the first run wrote the cache...
    for f in entries:
        f.write_bytes(b"not a compiled executable")  # ...which is now corrupt
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                           env=_env(THETAHAT_CACHE_DIR=str(cache), PYTHONWARNINGS="always"))
    assert again.returncode == 0 and again.stderr == ""
    assert json.loads(again.stdout)["params"] == json.loads(first.stdout)["params"]
    # (and in Python, where the CLI's own warning filter does not apply)
    code = "import thetahat; thetahat.fit([1.2, 0.4, 2.5, 0.9, 1.7], 'gamma')"
    py = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True, timeout=300,
                        env=_env(THETAHAT_CACHE_DIR=str(cache)))
    assert py.returncode == 0 and py.stderr == "", py.stderr


# ---- Python ------------------------------------------------------------------------------
G = np.random.default_rng(19).gamma(2.0, size=200)
MASKED = np.ma.array([1.0, 2.0, 1e6, 3.0, 4.5], mask=[0, 0, 1, 0, 0])
OBJ_NONE = np.array([1.0, None, 2.0, 4.0], dtype=object)

# id -> (call, the ThetahatError subclass, regex)
PY_ERRORS = {
    "masked_entries_are_missing": (lambda: thetahat.fit(MASKED, "normal"), errors.NonFiniteDataError,
                                   r"NaN at data row 3 "),
    "int64_near_2_62": (lambda: thetahat.fit(np.array([2 ** 62, 2 ** 62 + 1, 2 ** 62 + 3], dtype=np.int64), "normal"),
                        errors.NumericalRangeError, r"integer 4611686018427387905 .*beyond 2\^53"),
    "misspelt_keyword": (lambda: thetahat.fit([1.0, 2.0, 3.0], "normal", metod="newton"), errors.OptionError,
                         r"unknown keyword 'metod'; did you mean 'method'\?"),
    "seed_negative": (lambda: thetahat.fit(G, "gamma", seed=-1, starts=2), errors.OptionError,
                      r"seed must be a whole number from 0 to 2\^63 - 1, got -1"),
    "seed_negative_float": (lambda: thetahat.fit(G, "gamma", seed=-1.0), errors.OptionError,
                            r"seed must be a whole number from 0 to 2\^63 - 1, got -1.0"),
    "starts_fraction": (lambda: thetahat.fit(G, "gamma", starts=2.5), errors.OptionError,
                        r"starts must be a whole number, got 2.5"),
    "max_iter_zero": (lambda: thetahat.fit(G, "gamma", max_iter=0), errors.OptionError, r"max_iter must be"),
    "subnormal_weibull": (lambda: thetahat.fit(np.array([float(v) for v in SUBNORMAL]), "weibull"),
                          errors.NumericalRangeError, r"subnormal"),
    "huge_gamma": (lambda: thetahat.fit(np.array([1e300, 2e300, 5e300]), "gamma"), errors.NumericalRangeError,
                   r"1e\+300 to 5e\+300"),
    "huge_integer_object": (lambda: thetahat.fit(np.array([1, 10 ** 400, 3], dtype=object), "normal"),
                            errors.NumericalRangeError, r"too large for float64"),
    "weights_nan_without_dropna": (lambda: thetahat.fit([1.0, 2.0, 3.0], "normal", weights=[1.0, np.nan, 1.0]),
                                   errors.NonFiniteDataError, r"weights contains NaN"),
    "duplicate_column": (lambda: thetahat.read_column(_PY_TMP["dup"], "x"), errors.FileFormatError,
                         r"column 'x' appears 2 times"),
    "damaged_parquet": (lambda: thetahat.read_column(_PY_TMP["damaged"], "x"), errors.FileFormatError,
                        r"CRC|checksum"),
    "nested_parquet": (lambda: thetahat.io.readers.read_parquet_table(_PY_TMP["nested"]),
                       errors.NonNumericDataError, r"column 'v' .*list<"),
    "fifo": (lambda: thetahat.read_column(_PY_TMP["fifo"]), errors.FileFormatError, r"FIFO"),
    "underscore_number": (lambda: thetahat.read_column(_PY_TMP["underscore"]), errors.NonNumericDataError,
                          r"'1_0' in column 'x' at line 2"),
    # (files are streamed: what is wrong with them is said before any column is asked for)
    "missing_parquet": (lambda: thetahat.fit(str(_PY_TMP["dir"] / "gone.parquet"), "normal"),
                        errors.FileFormatError, r"gone\.parquet: no such file"),
    "empty_folder": (lambda: thetahat.fit(str(_PY_TMP["empty"]), "normal"), errors.FileFormatError,
                     r"holds no Parquet or CSV files"),
    "glob_matching_nothing": (lambda: thetahat.fit(str(_PY_TMP["dir"] / "none*.parquet"), "normal"),
                              errors.FileFormatError, r"no file matches"),
}
_PY_TMP = {}


@pytest.fixture
def py_files(tmp_path):
    import thetahat.io.readers  # noqa: F401  (the module whose function a row calls)

    _PY_TMP.update(dup=_write(tmp_path, "d.csv", "x,x\n1,2\n3,4\n"), damaged=_damaged_parquet(tmp_path),
                   nested=_nested_parquet(tmp_path), fifo=_fifo(tmp_path),
                   underscore=_csv(tmp_path, "u.csv", ["1_0", "2", "3"]), dir=tmp_path, empty=_folder(tmp_path))
    yield
    _PY_TMP.clear()


@pytest.mark.parametrize("case", sorted(PY_ERRORS))
def test_python_bad_input_raises(py_files, case):
    call, error, pattern = PY_ERRORS[case]
    assert issubclass(error, errors.ThetahatError)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no RuntimeWarning on the way to the error
        with pytest.raises(error, match=pattern):
            call()


def _same_fit(f, x):
    np.testing.assert_allclose([f.params["mu"], f.params["sigma"]], [np.mean(x), np.std(x)], rtol=1e-12)


def test_python_masked_entries_dropped_and_counted():
    f = thetahat.fit(MASKED, "normal", dropna=True)
    assert f.dropped == int(MASKED.mask.sum()) and f.nobs == MASKED.count()
    _same_fit(f, MASKED.compressed())


def test_python_none_in_object_array_is_missing():
    f = thetahat.fit(OBJ_NONE, "normal", dropna=True)
    kept = np.array([v for v in OBJ_NONE if v is not None], dtype=float)
    assert f.dropped == 1 and f.nobs == kept.size
    _same_fit(f, kept)
    with pytest.raises(errors.NonFiniteDataError, match="NaN at data row 2 "):
        thetahat.fit(OBJ_NONE, "normal")


def test_python_missing_weight_and_event_dropped_and_counted():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    w = np.array([1.0, np.nan, 2.0, 1.0, 3.0])
    f = thetahat.fit(x, "normal", weights=w, dropna=True)
    keep = ~np.isnan(w)
    assert f.dropped == 1
    np.testing.assert_allclose(f.params["mu"], np.average(x[keep], weights=w[keep]), rtol=1e-12)
    e = np.array([1.0, 1.0, np.nan, 0.0, 1.0])
    f = thetahat.fit(x, "exponential", event=e, dropna=True)
    keep = ~np.isnan(e)
    assert f.dropped == 1
    np.testing.assert_allclose(f.params["lam"], e[keep].sum() / x[keep].sum(), rtol=1e-9)


def test_python_lognormal_across_float64_range():
    x = np.geomspace(1e-308, 1e308, 101)
    f = thetahat.fit(x, "lognormal")
    lx = np.log(x)
    ref = st.norm.fit(lx)  # the normal MLE of log x
    np.testing.assert_allclose(f.params["mu"], ref[0], atol=1e-9 * lx.std())
    np.testing.assert_allclose(f.params["sigma"], ref[1], rtol=1e-12)


@pytest.mark.parametrize("family, method", [("gamma", "auto"), ("gamma", "newton"), ("gamma", "bfgs"),
                                            ("weibull", "auto")])
def test_python_max_iter_is_honoured(family, method):
    """Neither the BFGS fallback of "auto" nor weibull's profile iteration may run past it."""
    f = thetahat.fit(G, family, method=method, max_iter=1)
    assert f.converged is False
    assert "not converge" in f.reason or "limit" in f.reason or "maximum number of steps" in f.reason
    full = thetahat.fit(G, family, method=method)
    assert full.converged and abs(full.loglik - f.loglik) > 0  # one step does not reach the optimum


@pytest.mark.parametrize("starts", [10 ** 9, 1e9, np.float64(1e9)])
def test_python_starts_capped(starts):
    f = thetahat.fit(G, "normal", starts=starts)
    assert "starts capped at 1000 (asked for 1000000000)" in f.notes
    _same_fit(f, G)


def _several(tmp_path):
    return _write(tmp_path, "ab.csv", "a,b\n1,2\n3,4\n")


# library messages the CLI can show that name Python keywords, and the option each must name instead
SPOKEN = {
    "dropna": (lambda t: thetahat.fit([1.0, np.nan, 2.0], "normal"), "--dropna"),
    "method": (lambda t: thetahat.fit([1.0, 2.0, 4.0], "gamma", method="closed"), "--method newton"),
    "fixed_n": (lambda t: thetahat.fit([1, 2, 3], "binomial"), "--fix n=VALUE"),
    "column": (lambda t: thetahat.read_column(_several(t)), "--column"),
    "stream_starts": (lambda t: thetahat.fit(str(_csv(t, "s.csv", ["1", "2", "3"])), "gamma", column="x", starts=2),
                      "--starts above 1"),
    "stream_column": (lambda t: thetahat.fit(str(_csv(t, "s.csv", ["1", "2", "3"])), "gamma"), "--column"),
}


@pytest.mark.parametrize("case", sorted(SPOKEN))
def test_cli_words_name_options_not_keywords(tmp_path, case):
    import re

    from thetahat.cli._messages import cli_words

    call, option = SPOKEN[case]
    with pytest.raises(errors.ThetahatError) as info:
        call(tmp_path)
    said = cli_words(str(info.value))
    assert option in said, said
    assert not re.search(r"\b[a-z_]+=(True|False|None|'|\.\.\.|\[|\{)", said), said


def test_cli_escape_bytes_in_a_file_name_are_shown_escaped(capsys, tmp_path):
    x = np.array([1.2, 0.4, 2.5, 0.9])
    p = _csv(tmp_path, "a\x1b[2Jb.csv", [repr(float(v)) for v in x])
    code, out, err = _cli(capsys, "fit", p, "-f", "normal")
    assert code == 0 and err == ""
    assert "\x1b" not in out and "a\\x1b[2Jb.csv" in out


def test_a_row_keeps_its_name_when_rows_before_it_are_dropped(capsys, tmp_path):
    """dropna removes rows, but a later error names the bad row as the user counts it: the
    data row of the data as given (Python), the file's line (CLI)."""
    x = [1.0, np.nan, 2.0, np.nan, -3.0, 4.0]
    bad = 1 + x.index(-3.0)  # counted from 1
    with pytest.raises(errors.SupportError, match=rf"value -3 at data row {bad} is outside"):
        thetahat.fit(x, "gamma", dropna=True)
    w = [np.nan, 1.0, 1.0, 1.0, 1.0, 1.0]
    with pytest.raises(errors.SupportError, match=rf"value -3 at data row {bad} is outside"):
        thetahat.fit(x, "gamma", weights=w, dropna=True)
    p = _csv(tmp_path, "holes.csv", ["" if np.isnan(v) else repr(v) for v in x])
    code, out, err = _cli(capsys, "fit", p, "-f", "gamma", "--dropna")
    _one_line_error(code, out, err, rf"value -3 at line {bad + 1} of .*holes\.csv is outside")
