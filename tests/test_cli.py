"""The ``thetahat`` command line: results against closed-form formulas, and one-line errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as st

import thetahat
from thetahat.cli.main import main

RIVERS = Path(__file__).parent / "data" / "rivers.csv"
ROOT = Path(__file__).resolve().parents[1]


def _rivers():
    return np.loadtxt(RIVERS, skiprows=1)


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_json_subprocess_matches_closed_form():
    """The installed entry point: lognormal MLE is the normal MLE of log x."""
    exe = Path(sys.executable).with_name("thetahat")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "thetahat.cli.main"]
    proc = subprocess.run(cmd + ["fit", str(RIVERS), "--column", "x", "--family", "lognormal", "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    lx = np.log(_rivers())
    n = lx.size
    mu = lx.mean()
    sigma = np.sqrt(np.mean((lx - mu) ** 2))
    assert d["family"] == "lognormal" and d["nobs"] == n and d["converged"] is True
    np.testing.assert_allclose([d["params"]["mu"], d["params"]["sigma"]], [mu, sigma], rtol=1e-12)
    np.testing.assert_allclose(d["se"]["mu"], sigma / np.sqrt(n), rtol=1e-8)
    np.testing.assert_allclose(d["se"]["sigma"], sigma / np.sqrt(2 * n), rtol=1e-8)
    np.testing.assert_allclose(d["ci"]["mu"], [mu - 1.959963984540054 * sigma / np.sqrt(n),
                                               mu + 1.959963984540054 * sigma / np.sqrt(n)], rtol=1e-10)
    ll = st.lognorm(s=sigma, scale=np.exp(mu)).logpdf(np.exp(lx)).sum()
    np.testing.assert_allclose(d["loglik"], ll, rtol=1e-10)
    np.testing.assert_allclose(d["aic"], -2 * ll + 4, rtol=1e-10)
    np.testing.assert_allclose(d["bic"], -2 * ll + 2 * np.log(n), rtol=1e-10)
    for key in ("method", "dropped", "notes", "reason"):
        assert key in d


def test_fit_stdin_and_human_output(capsys, monkeypatch, tmp_path):
    import io

    x = _rivers()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("\n".join(map(str, x)).encode())))
    code, out, err = _run(capsys, "fit", "-", "--family", "normal", "--json")
    assert code == 0 and err == ""
    d = json.loads(out)
    np.testing.assert_allclose([d["params"]["mu"], d["params"]["sigma"]], [x.mean(), x.std()], rtol=1e-12)
    code, out, err = _run(capsys, "fit", RIVERS, "--family", "normal")
    assert code == 0
    assert f"{x.mean():.6g}" in out and "converged" in out and "dropped rows: 0" in out


def test_fit_fix_parameter(capsys):
    x = _rivers()
    code, out, _ = _run(capsys, "fit", RIVERS, "--family", "normal", "--fix", "mu=500", "--json")
    d = json.loads(out)
    assert code == 0 and d["params"]["mu"] == 500.0
    np.testing.assert_allclose(d["params"]["sigma"], np.sqrt(np.mean((x - 500) ** 2)), rtol=1e-7)


def test_dropna_reports_dropped(capsys, tmp_path):
    x = _rivers()
    p = tmp_path / "holes.csv"
    p.write_text("x\n" + "\n".join(["", *map(str, x[:50]), "NA", *map(str, x[50:]), ""]) + "\n")
    code, out, err = _run(capsys, "fit", p, "--family", "lognormal", "--dropna", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["dropped"] == 2 and d["nobs"] == x.size
    np.testing.assert_allclose(d["params"]["mu"], np.log(x).mean(), rtol=1e-12)
    code, out, err = _run(capsys, "fit", p, "--family", "lognormal", "--dropna")
    assert code == 0 and "dropped rows: 2" in out


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


BAD = {
    "nan": ("x\n1.5\nnan\n2.5\n", ["--family", "normal"], "NaN at line 3 of"),
    "inf": ("x\n1.5\ninf\n2.5\n", ["--family", "normal"], "infinite value at line 3 of"),
    "empty": ("", ["--family", "normal"], "empty"),
    "non_numeric": ("x\n1.5\nabc\n2.5\n", ["--family", "normal"], "'abc' in column 'x' at line 3 of"),
    "missing_column": ("x\n1.5\n2.5\n", ["--family", "normal", "--column", "y"], "no column 'y'"),
    "negative_gamma": ("x\n1.5\n-2\n2.5\n", ["--family", "gamma"], "-2 at line 3 of"),
    "negative_lognormal": ("x\n1.5\n-2\n2.5\n", ["--family", "lognormal"], "-2 at line 3 of"),
    "two_for_bernoulli": ("x\n0\n1\n2\n", ["--family", "bernoulli"], "2 at line 4 of"),
    "unknown_family": ("x\n1.5\n2.5\n", ["--family", "nosuch"], "unknown family 'nosuch'"),
    "bad_method": ("x\n1.5\n2.5\n3\n", ["--family", "normal", "--method", "foo"], "unknown method 'foo'"),
    "fix_unknown": ("x\n1.5\n2.5\n3\n", ["--family", "normal", "--fix", "nu=3"], "no parameter 'nu'"),
    "fix_syntax": ("x\n1.5\n2.5\n3\n", ["--family", "normal", "--fix", "mu"], "NAME=VALUE"),
    "fix_not_number": ("x\n1.5\n2.5\n3\n", ["--family", "normal", "--fix", "mu=abc"], "not a number"),
    "all_equal": ("x\n2\n2\n2\n2\n", ["--family", "normal"], "all 4 observations equal 2"),
    "starts_not_int": ("x\n1.5\n2.5\n", ["--family", "normal", "--starts", "many"], "invalid int value"),
    "no_family": ("x\n1.5\n2.5\n", [], "required"),
    "several_columns": ("a,b\n1,2\n3,4\n", ["--family", "normal"], "several numeric columns"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_user_errors_exit_2_with_one_line(capsys, tmp_path, case):
    text, opts, expect = BAD[case]
    p = _write(tmp_path, "d.csv", text)
    code, out, err = _run(capsys, "fit", p, *opts)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("thetahat: error: ")
    assert expect in lines[0]
    assert "Traceback" not in err


def test_missing_file_and_compare_errors(capsys, tmp_path):
    code, _, err = _run(capsys, "fit", tmp_path / "nope.csv", "--family", "normal")
    assert code == 2 and err.count("\n") == 1 and "nope.csv: no such file" in err
    p = _write(tmp_path, "d.csv", "x\n1\n2\n3\n")
    code, _, err = _run(capsys, "compare", p, "--families", "normal,zzz")
    assert code == 2 and err.count("\n") == 1 and "unknown family 'zzz'" in err
    code, _, err = _run(capsys, "nonsense")
    assert code == 2 and err.count("\n") == 1 and "invalid choice" in err


def test_bug_shows_traceback_exit_1(capsys, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("internal failure")

    monkeypatch.setattr(thetahat, "fit", boom)
    code, _, err = _run(capsys, "fit", RIVERS, "--family", "normal")
    assert code == 1 and "Traceback" in err and "RuntimeError: internal failure" in err


def test_unexpected_error_subprocess_exit_2_no_traceback(tmp_path):
    p = _write(tmp_path, "d.csv", "x\n1\n-3\n")
    exe = Path(sys.executable).with_name("thetahat")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "thetahat.cli.main"]
    proc = subprocess.run(cmd + ["fit", str(p), "--family", "lognormal"], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONWARNINGS": "default"})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("thetahat: error: value -3 at line 3 of")


def test_compare_json_aic_against_scipy(capsys, tmp_path):
    x = np.random.default_rng(7).lognormal(1.0, 0.5, size=400)
    p = tmp_path / "x.txt"
    np.savetxt(p, x, fmt="%.17g")
    code, out, err = _run(capsys, "compare", p, "--families", "normal,lognormal", "--json")
    assert code == 0, err
    rows = json.loads(out)["table"]
    assert [r["family"] for r in rows] == ["lognormal", "normal"]
    ref = {"lognormal": lambda q: st.lognorm(s=q["sigma"], scale=np.exp(q["mu"])),
           "normal": lambda q: st.norm(q["mu"], q["sigma"])}
    for r in rows:
        ll = ref[r["family"]](r["params"]).logpdf(x).sum()
        np.testing.assert_allclose(r["aic"], -2 * ll + 4, rtol=1e-10)
    assert rows[0]["delta_aic"] == 0 and rows[1]["delta_aic"] > 0
    code, out, _ = _run(capsys, "compare", p, "--families", "normal,lognormal")
    assert code == 0 and "lognormal" in out and "dropped rows: 0" in out


def test_families_lists_registry(capsys):
    code, out, _ = _run(capsys, "families", "--json")
    rows = json.loads(out)
    assert code == 0
    assert {r["name"] for r in rows} == {f.name for f in thetahat.all_families()}
    normal = next(r for r in rows if r["name"] == "normal")
    assert normal["params"] == {"mu": "real", "sigma": "positive"} and normal["closed_form"] is True
    code, out, _ = _run(capsys, "families")
    assert code == 0 and "lognormal" in out


def test_importing_thetahat_leaves_the_heavy_modules_for_later(tmp_path):
    # the CLI's start-up time: JAX, NumPy, scipy.stats, scipy.special, pyarrow and rich load only when used
    code = ("import sys, thetahat; print(','.join(m for m in ('jax', 'numpy', 'scipy.stats', 'scipy.special', "
            "'pyarrow', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    # a closed-form fit printed from the command line loads NumPy, never JAX (tests/test_closed_fit.py has them all)
    code = ("import sys; from thetahat.cli.main import main; np = __import__('numpy'); np.savetxt('x.csv', "
            "np.arange(1.0, 30.0)); main(['fit', 'x.csv', '-f', 'exponential']); print('jax' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
                         env=env)
    assert out.stdout.strip().splitlines()[-1] == "False"
