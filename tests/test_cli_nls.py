"""``thetahat nls FILE FORMULA --start ...``: NIST StRD certified values (read from the shipped files),
the same numbers as the Python API with the model written by hand, and one-line errors; the formula
is never run as Python."""

import json

import numpy as np
import pytest

from thetahat.cli.main import main
from thetahat.regression.nls import nls
from thetahat.regression.nls_formula import nls_formula

import _nist_nonlinear as nist

# NIST's models, as formulas (transcribed from the "Model:" section of each file)
FORMULAS = {"Misra1a": "y ~ b1*(1 - exp(-b2*x))",
            "Roszman1": "y ~ b1 - b2*x - arctan(b3/(x - b4))/pi"}


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _csv(tmp_path, P):
    p = tmp_path / f"{P.name}.csv"
    p.write_text("y,x\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(P.y.tolist(), P.x.tolist())))
    return p


def _start(P, st):
    return ",".join(f"b{i + 1}={v!r}" for i, v in enumerate(st.tolist()))


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_nist_certified_values_and_the_python_api(capsys, tmp_path, name):
    P = nist.load(name)
    path = _csv(tmp_path, P)
    for st in (P.start1, P.start2):
        code, out, err = _run(capsys, "nls", path, FORMULAS[name], "--start", _start(P, st), "--json")
        assert code == 0, err
        d = json.loads(out)
        names = [f"b{i + 1}" for i in range(P.certified.size)]
        est = np.array([d["params"][k] for k in names])
        se = np.array([d["se"][k] for k in names])
        assert d["converged"]
        assert nist.lre(est, P.certified, P.digits).min() >= 6  # the bar tests/test_nls.py sets
        assert nist.lre(se, P.certified_sd, P.sd_digits).min() >= 4
        assert nist.lre(d["rss"], P.rss, 11) >= 6
        ref = nls(P.model, P.x, P.y, st).to_dict()  # the hand-written JAX model of tests/_nist_nonlinear.py
        for key in ("params", "se"):
            np.testing.assert_allclose([d[key][k] for k in names], [ref[key][f"b{i + 1}"] for i in range(len(names))],
                                       rtol=1e-9)
        for key in ("rss", "sigma", "sigma_mle", "loglik", "aic", "bic"):
            np.testing.assert_allclose(d[key], ref[key], rtol=1e-9)
        assert d["nobs"] == ref["nobs"] and d["df_resid"] == ref["df_resid"]
        assert d["formula"] == FORMULAS[name] and d["source"] == str(path)


def test_summary_and_json_are_the_python_fit(capsys, tmp_path):
    P = nist.load("Misra1a")
    path = _csv(tmp_path, P)
    start = {f"b{i + 1}": v for i, v in enumerate(P.start2.tolist())}
    f = nls_formula(FORMULAS["Misra1a"], {"x": P.x, "y": P.y}, start)
    code, out, _ = _run(capsys, "nls", path, FORMULAS["Misra1a"], "--start", _start(P, P.start2))
    assert code == 0
    assert f.summary() in out  # the summary, figure for figure
    code, out, _ = _run(capsys, "nls", path, FORMULAS["Misra1a"], "--start", "b1=250", "--start", "b2=0.0005",
                        "--json")
    d = json.loads(out)
    ref = f.to_dict()
    assert {k: d[k] for k in ref} == json.loads(json.dumps(ref))


def test_weights_column_both_spellings_match_the_python_api(capsys, tmp_path):
    rng = np.random.default_rng(3)
    x = np.linspace(0.5, 6, 30)
    w = rng.uniform(0.5, 2, 30)
    y = 4 * np.exp(-0.6 * x) + rng.normal(0, 0.05, 30) / np.sqrt(w)
    p = tmp_path / "w.csv"
    p.write_text("x,y,w\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in zip(x.tolist(), y.tolist(), w.tolist())))
    import jax.numpy as jnp

    ref = nls(lambda x, b: b["a"] * jnp.exp(-b["k"] * x), x, y, {"a": 1.0, "k": 0.1}, weights=w)
    got = []
    for flag in ("--weights", "--weights-column"):
        code, out, err = _run(capsys, "nls", p, "y ~ a*exp(-k*x)", "--start", "a=1,k=0.1", flag, "w", "--json")
        assert code == 0, err
        got.append(json.loads(out))
    assert got[0] == got[1]
    for k in ("a", "k"):
        np.testing.assert_allclose(got[0]["params"][k], ref.params[k], rtol=1e-9)
        np.testing.assert_allclose(got[0]["se"][k], ref.se[k], rtol=1e-9)


BAD = {
    "start_no_value": (["--start", "b1"], "--start expects NAME=VALUE"),
    "start_not_number": (["--start", "b1=abc"], "--start b1: 'abc' is not a number"),
    "start_twice": (["--start", "b1=1,b1=2"], "--start gives b1 twice"),
    "start_bad_name": (["--start", "1b=1"], "is not a parameter name"),
    "no_start": ([], "required: --start"),
    "unknown_name": (["--start", "b2=1"], "'b1' is neither a column of the data nor a parameter of start"),
    "no_response": (["--start", "b1=1", "--formula", "z ~ b1*x"], "the response 'z' is not a column"),
    "two_tildes": (["--start", "b1=1", "--formula", "y ~ b1 ~ x"], "expected one '~'"),
    "syntax": (["--start", "b1=1", "--formula", "y ~ b1*(x"], "cannot read the right-hand side"),
    "other_function": (["--start", "b1=1", "--formula", "y ~ gamma(b1*x)"], "the function gamma() is not allowed"),
    "clash": (["--start", "x=1", "--formula", "y ~ x"], "'x' is both a parameter in start and a column"),
    "weights_missing": (["--start", "b1=1", "--weights", "w"], "weights column 'w' is not a column"),
    "too_long": (["--start", "b1=1", "--formula", "y ~ " + "+".join(["b1*x"] * 1300)], "at most 5000"),
    "too_deep": (["--start", "b1=1", "--formula", "y ~ " + "+".join(["b1*x"] * 900)], "nested more than 200 deep"),
    "too_deep_unary": (["--start", "b1=1", "--formula", "y ~ " + "-" * 900 + "b1*x"], "nested more than 200"),
    "too_few_rows": (["--start", "b1=1,b2=1,b3=1,b4=1", "--formula", "y ~ b1+b2*x+b3*x^2+b4*x^3"],
                     "more observations than parameters"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_user_errors_exit_2_with_one_line(capsys, tmp_path, case):
    opts, expect = BAD[case]
    formula = "y ~ b1*x"
    if "--formula" in opts:
        i = opts.index("--formula")
        formula, opts = opts[i + 1], opts[:i] + opts[i + 2:]
    p = tmp_path / "d.csv"
    p.write_text("y,x\n1,0\n3,1\n2,2\n6,3\n")
    code, out, err = _run(capsys, "nls", p, formula, *opts)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("thetahat: error: ") and "Traceback" not in err, err
    assert expect in lines[0], lines[0]


@pytest.mark.parametrize("body", [
    "b1*__import__('os').system('touch {t}')",
    "b1*exec(\"open('{t}', 'w')\")",
    "b1*open('{t}', 'w').close()",
    "b1*(lambda: __import__('pathlib').Path('{t}').touch())()",
    "b1*x.__class__",
    "b1*[open('{t}','w') for _ in x][0]",
    "b1*np.os.system('touch {t}')",
    "b1*exp(x, __import__('os').system('touch {t}'))",
    "b1*exp(x=__import__('os').system('touch {t}'))",
])
def test_the_formula_is_never_run(capsys, tmp_path, body):
    target = tmp_path / "pwned"
    p = tmp_path / "d.csv"
    p.write_text("y,x\n1,0\n3,1\n2,2\n6,3\n")
    code, out, err = _run(capsys, "nls", p, "y ~ " + body.format(t=target), "--start", "b1=1")
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "is not allowed" in err, err
    assert not target.exists()
