"""Formulas cannot run code: each injection is refused naming its term, in Python and in the CLI,
and no file appears; the allowed set builds the same design as statsmodels (patsy) and formulaic;
a term that is NaN where its inputs are not (``np.log(a - 5)``) is named by its data row, or dropped
with ``dropna``, and no RuntimeWarning escapes."""

import os
import subprocess
import sys
import warnings

import formulaic
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import thetahat
from thetahat.cli.main import main
from thetahat.errors import FormulaError, NonFiniteDataError
from thetahat.regression.formula import check_formula

RNG = np.random.default_rng(19)
N = 80
DF = pd.DataFrame({"x": RNG.uniform(0.5, 4, N), "a": RNG.uniform(0, 10, N), "g": RNG.choice(list("abc"), N)})
DF["y"] = 1 + np.log(DF.x) + 0.2 * DF.x ** 2 + 0.5 * (DF.g == "b") + RNG.normal(size=N)


def _injections(target):
    """(formula, the term the error must name): each would create ``target`` if evaluated."""
    t = str(target)
    touch = f'__import__("os").system("touch {t}")'
    return [
        (f"y ~ I({touch})", f"I({touch})"),
        (f"y ~ {{{touch}}}", f"{{{touch}}}"),
        (f"y ~ x + exec(\"open('{t}', 'w')\")", f"exec(\"open('{t}', 'w')\")"),
        (f"y ~ x + open('{t}', 'w')", f"open('{t}', 'w')"),
        (f"y ~ np.os.system('touch {t}')", f"np.os.system('touch {t}')"),
        (f"y ~ x + getattr(__import__('os'), 'system')('touch {t}')",
         f"getattr(__import__('os'), 'system')('touch {t}')"),
        (f"y ~ ().__class__.__bases__[0].__subclasses__()", "().__class__.__bases__[0].__subclasses__()"),
        (f"y ~ I((lambda: __import__('os').system('touch {t}'))())",
         f"I((lambda: __import__('os').system('touch {t}'))())"),
        (f"y ~ I([__import__('os').system('touch {t}') for _ in x])",
         f"I([__import__('os').system('touch {t}') for _ in x])"),
        (f"y ~ np.log(x) + C(g, levels=__import__('os').system('touch {t}'))",
         f"C(g, levels=__import__('os').system('touch {t}'))"),
        (f"np.log(y) + __import__('os').system('touch {t}') ~ x", f"__import__('os').system('touch {t}')"),
        ("y ~ x.__class__", "x.__class__"),
        ("y ~ I(x[0])", "I(x[0])"),
        ("y ~ x + 'text'", "'text'"),
        # code between two backticks that sit inside string literals: formulaic's sanitiser skips such
        # backticks, so a check that took every backtick pair for a quoted name did not see the code
        (f"y ~ x + C(g, levels=['`', __import__('pathlib').Path('{t}').touch(), '`'])",
         f"C(g, levels=['`', __import__('pathlib').Path('{t}').touch(), '`'])"),
        (f"y ~ x + C(g, levels=['a', 'b`', open('{t}','w').write('x'), '`'])",
         f"C(g, levels=['a', 'b`', open('{t}','w').write('x'), '`'])"),
    ]


@pytest.mark.parametrize("case", range(16))
def test_injection_refused_in_python_naming_the_term(tmp_path, case):
    target = tmp_path / "pwned"
    formula, term = _injections(target)[case]
    with pytest.raises(FormulaError) as info:
        thetahat.regress(formula, DF)
    msg = str(info.value)
    assert msg.startswith(f"term {term!r} is not allowed in a formula: ") and "\n" not in msg, msg
    assert not target.exists()


def test_injection_refused_on_streamed_files(tmp_path):
    target = tmp_path / "pwned"
    DF.to_parquet(tmp_path / "part0.parquet")
    for formula, term in _injections(target)[:3]:
        with pytest.raises(FormulaError, match="is not allowed in a formula"):
            thetahat.regress(formula, str(tmp_path / "*.parquet"))
    assert not target.exists()


@pytest.mark.parametrize("case", [0, 1, 2, 4, 6])
def test_injection_refused_by_the_cli_in_one_line(capsys, tmp_path, case):
    target = tmp_path / "pwned"
    p = tmp_path / "d.csv"
    DF.to_csv(p, index=False)
    formula, term = _injections(target)[case]
    code = main(["regress", str(p), formula])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith(f"thetahat: error: term {term!r} is not allowed") and err.count("\n") == 1, err
    assert not target.exists()


def test_allowed_set_matches_statsmodels():
    formula = "y ~ np.log(x) + I(x**2) + C(g)"
    f = thetahat.regress(formula, DF)
    r = smf.ols(formula, DF).fit()
    assert set(f.names) - {"sigma"} == set(r.params.index)
    for name, v in r.params.items():
        assert f.params[name] == pytest.approx(v, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("rhs", [
    "x + a:x + C(g, levels=['c', 'b', 'a']) - 1",
    "x * a + 0",
    "poly(x, 2) + center(a) + scale(a * x)",
    "bs(x, df=4) + np.exp(-x / 2) + np.sqrt(a + 1) + np.log1p(a) + np.abs(a - 5)",
    "sqrt(a + 1) + log1p(a) + abs(a - 5) + exp(-x) + log(x)",
    "C(g, contr.treatment('b')) + I(-x + 2.5 / x) + I((x + a) ** 2)",
    "(x + a) ** 2 + `x`",
])
def test_allowed_terms_build_formulaics_own_design(rhs):
    """Each allowed term gives formulaic's own matrix (its functions named as numpy's: sqrt = np.sqrt)."""
    f = thetahat.regress("y ~ " + rhs, DF)
    native = rhs.replace("sqrt(", "np.sqrt(").replace("log1p(", "np.log1p(").replace("np.np.", "np.")
    mm = formulaic.model_matrix(native, DF)
    assert len(f.names) - 1 == mm.shape[1]
    Xb = np.asarray(mm, dtype=float)
    b = np.linalg.lstsq(Xb, DF.y.to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(f.estimates[:-1], b, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("formula, why", [
    ("y ~ I(x > 1)", "comparisons"),
    ("y ~ np.log(x, out=x)", "log() takes one expression"),
    ("y ~ poly(x, degree=len(x))", "non-literal arguments"),
    ("y ~ C(g, contr.sum.__init__)", "non-literal arguments"),
    ("y ~ C(g, contr.evil)", "the contrast contr.evil"),
    ("y ~ lambda: 1", "the Python keyword 'lambda'"),
    ("y ~ [x]", "brackets '['"),
    ("y ~ np.linalg.inv(x)", "attribute access"),
    ("y ~ __builtins__", "dunder names"),
])
def test_refusals_say_why(formula, why):
    with pytest.raises(FormulaError, match="is not allowed in a formula: " + why.replace("(", r"\(")
                       .replace(")", r"\)").replace("[", r"\[").replace(".", r"\.")):
        check_formula(formula)


def test_allow_python_lets_python_through():
    f = thetahat.regress("y ~ {x * 2} + I(np.where(x > 2, 1.0, 0.0))", DF, allow_python=True)
    X = np.column_stack([np.ones(N), DF.x * 2, (DF.x > 2).astype(float)])
    b = np.linalg.lstsq(X, DF.y.to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(f.estimates[:3], b, rtol=1e-9)
    with pytest.raises(FormulaError):
        thetahat.regress("y ~ {x * 2}", DF)


# ---- a term that is not finite where its inputs are --------------------------------------------
def test_nan_term_names_the_term_and_the_data_row():
    first = int(np.flatnonzero(DF.a.to_numpy() <= 5)[0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(NonFiniteDataError) as info:
            thetahat.regress("y ~ np.log(a - 5)", DF)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    msg = str(info.value)
    assert f"'np.log(a - 5)' is " in msg and f"at data row {first + 1} (counting from 1)" in msg, msg
    assert f"({int((DF.a <= 5).sum())} such rows" in msg


def test_nan_term_dropped_and_counted_with_dropna():
    keep = DF.a > 5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = thetahat.regress("y ~ np.log(a - 5)", DF, dropna=True)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert f.dropped == int((~keep).sum()) and f.nobs == int(keep.sum())
    r = smf.ols("y ~ np.log(a - 5)", DF[keep]).fit()
    np.testing.assert_allclose(f.estimates[:2], r.params.to_numpy(), rtol=1e-10)


def test_nan_response_expression_named_without_warning():
    df = DF.assign(z=DF.y - 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(NonFiniteDataError, match=r"the response 'np\.log\(z\)'"):
            thetahat.regress("np.log(z) ~ x", df)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]


def test_cli_nan_term_one_line_on_stderr(tmp_path):
    """A fresh process with every warning shown: stderr holds the one error line and nothing else."""
    p = tmp_path / "d.csv"
    DF.to_csv(p, index=False)
    first = int(np.flatnonzero(DF.a.to_numpy() <= 5)[0])
    cmd = [sys.executable, "-W", "always", "-m", "thetahat.cli.main", "regress", str(p)]
    proc = subprocess.run(cmd + ["y ~ np.log(a - 5)"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "always"})
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("thetahat: error: the formula term"), proc.stderr
    assert f"data row {first + 1} " in proc.stderr
    ok = subprocess.run(cmd + ["y ~ np.log(a - 5)", "--dropna", "--json"], capture_output=True, text=True,
                        timeout=300, env={**os.environ, "PYTHONWARNINGS": "always"})
    assert ok.returncode == 0 and ok.stderr == "", ok.stderr
    assert f'"dropped": {int((DF.a <= 5).sum())}' in ok.stdout



def test_nan_term_and_nan_weight_rows_both_dropped():
    w = np.ones(N)
    w[int(np.flatnonzero(DF.a.to_numpy() > 5)[0])] = np.nan
    keep = (DF.a > 5).to_numpy() & np.isfinite(w)
    f = thetahat.regress("y ~ np.log(a - 5)", DF.assign(w=w), weights="w", dropna=True)
    assert f.dropped == int((~keep).sum())
    r = smf.ols("y ~ np.log(a - 5)", DF[keep]).fit()
    np.testing.assert_allclose(f.estimates[:2], r.params.to_numpy(), rtol=1e-10)


def test_response_expression_and_double_underscore_column():
    """A response expression is one column (statsmodels' np.log(y) fit); ``a__b`` is a column, not a dunder."""
    df = DF.assign(yp=np.exp(DF.y / 4), a__b=DF.a)
    f = thetahat.regress("np.log(yp) ~ x + I(a__b / 2)", df)
    r = smf.ols("np.log(yp) ~ x + I(a__b / 2)", df).fit()
    np.testing.assert_allclose(f.estimates[:3], r.params.to_numpy(), rtol=1e-10)


@pytest.mark.parametrize("formula, error, message", [
    ("y ~ x | a", "OptionError", "has more than one part"),
    ("y ~ x ~ a", "OptionError", "has more than one part"),
    ('y ~ C(g, "sum")', "FormulaError", "the contrast 'sum' (name one as contr.treatment"),
    ('y ~ C(g, contr.treatment("zz"))', "OptionError", "is not among the provided levels"),
])
def test_formulas_formulaic_cannot_build_are_one_line_errors(formula, error, message):
    with pytest.raises(getattr(thetahat.errors, error)) as info:
        thetahat.regress(formula, DF)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_huge_constant_powers_are_refused_before_evaluation():
    """``10**10**10`` would have Python compute an integer of ten billion digits (a hang, not a fit)."""
    for formula in ["y ~ I(10**10**10)", "y ~ I(x + 2**(3**40))", "y ~ I(x**(9**9))"]:
        with pytest.raises(FormulaError, match="the exponent"):
            thetahat.regress(formula, DF)
    for formula in ["y ~ I(((10**1000)**1000)**1000)", "y ~ I(x + ((9**999)**999)**999)"]:  # nested powers
        with pytest.raises(FormulaError, match="the base"):
            thetahat.regress(formula, DF)
    for formula in ["y ~ poly(x, 100000000)", "y ~ bs(x, df=10**8)", "y ~ bs(x, df=100000000)"]:
        with pytest.raises(FormulaError, match="at most|not allowed"):
            thetahat.regress(formula, DF)
    f = thetahat.regress("y ~ I(x**-2) + I(2**x)", DF)
    X = np.column_stack([np.ones(N), DF.x ** -2.0, 2.0 ** DF.x])
    np.testing.assert_allclose(f.estimates[:3], np.linalg.lstsq(X, DF.y.to_numpy(), rcond=None)[0], rtol=1e-9)


def test_streamed_fit_takes_the_same_functions_and_predict_checks(tmp_path):
    """Bare sqrt/log1p are functions, not columns, on files too; the fit equals the in-memory one, and its
    predict() refuses a level it did not see."""
    df = DF.assign(k=(DF.a > 5).astype(float))
    df.to_parquet(tmp_path / "part0.parquet")
    formula = "y ~ sqrt(x) + log1p(a) + C(k)"
    f = thetahat.regress(formula, str(tmp_path / "*.parquet"))
    g = thetahat.regress(formula, df)
    np.testing.assert_allclose(f.estimates, g.estimates, rtol=1e-9)
    new = pd.DataFrame({"x": [1.0, 2.0], "a": [3.0, 4.0], "k": [1.0, 0.0]})
    np.testing.assert_allclose(f.predict(new), g.predict(new), rtol=1e-10)
    with pytest.raises(thetahat.errors.DataError, match=r"C\(k\) has level 2\.0 at data row 2 "):
        f.predict(new.assign(k=[1.0, 2.0]))
