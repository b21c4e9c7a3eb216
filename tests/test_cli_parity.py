"""One spelling for each option across ``fit``, ``compare`` and ``regress`` (and ``nls``) (``--weights``, ``--event``,
``--lower``/``--upper``), the old ``*-column`` spelling kept as an alias: each option is run through each
command once under each spelling, the two outputs are identical and match the Python API; and ``--json``
carries every figure of the text summary."""

import json
import re

import numpy as np
import pandas as pd
import pytest

import thetahat
from thetahat.cli.main import main

N = 120
RNG = np.random.default_rng(22)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    x = RNG.normal(size=N)
    t = RNG.weibull(1.5, N) * np.exp(0.5 + 0.4 * x)
    cut = RNG.uniform(0.5, 4, N)
    df = pd.DataFrame({"x": x, "t": np.minimum(t, cut), "e": (t <= cut).astype(int),
                       "w": RNG.integers(1, 4, N), "y": 1 + 2 * x + RNG.normal(size=N)})
    df["lo"] = np.floor(t * 2) / 2
    df["hi"] = df["lo"] + 0.5
    path = tmp_path_factory.mktemp("parity") / "d.csv"
    df.to_csv(path, index=False, float_format="%.17g")
    return path, pd.read_csv(path)


def _json(capsys, *argv):
    code = main([str(a) for a in argv] + ["--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def _text(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


# option -> (new spelling, old spelling, its columns, the Python keywords it becomes)
OPTIONS = {"weights": (["--weights", "w"], ["--weights-column", "w"], {"weights": "w"}),
           "event": (["--event", "e"], ["--event-column", "e"], {"event": "e"}),
           "interval": (["--lower", "lo", "--upper", "hi"], ["--lower-column", "lo", "--upper-column", "hi"],
                        {"lower": "lo", "upper": "hi"})}


def _python_kw(df, option):
    return {k: df[c].to_numpy(dtype=float) for k, c in OPTIONS[option][2].items()}


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_fit_both_spellings_match_the_python_api(capsys, data, option):
    path, df = data
    new, old, _ = OPTIONS[option]
    column = [] if option == "interval" else ["--column", "t"]
    got = [_json(capsys, "fit", path, *column, "--family", "weibull", *flags) for flags in (new, old)]
    assert got[0] == got[1]
    ref = thetahat.fit(None if option == "interval" else df["t"].to_numpy(), "weibull", **_python_kw(df, option))
    for k in ("shape", "scale"):
        assert got[0]["params"][k] == pytest.approx(ref.params[k], rel=1e-9)
        assert got[0]["se"][k] == pytest.approx(ref.se[k], rel=1e-7)
    assert got[0]["loglik"] == pytest.approx(ref.loglik, rel=1e-12) and got[0]["nobs"] == ref.nobs


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_compare_both_spellings_match_the_python_api(capsys, data, option):
    path, df = data
    new, old, _ = OPTIONS[option]
    column = [] if option == "interval" else ["--column", "t"]
    got = [_json(capsys, "compare", path, *column, "--families", "weibull,exponential", *flags)
           for flags in (new, old)]
    assert got[0] == got[1]
    ref = thetahat.compare(None if option == "interval" else df["t"].to_numpy(), ["weibull", "exponential"],
                           **_python_kw(df, option))
    assert [r["family"] for r in got[0]["table"]] == [r["family"] for r in ref.table]
    for a, b in zip(got[0]["table"], ref.table):
        assert a["loglik"] == pytest.approx(b["loglik"], rel=1e-12) and a["aic"] == pytest.approx(b["aic"], rel=1e-12)
    assert got[0]["nobs"] == ref.nobs and got[0]["dropped"] == ref.dropped


@pytest.mark.parametrize("option, formula, family", [("weights", "y ~ x", "normal"), ("event", "t ~ x", "weibull")])
def test_regress_both_spellings_match_the_python_api(capsys, data, option, formula, family):
    path, df = data
    new, old, cols = OPTIONS[option]
    got = [_json(capsys, "regress", path, formula, "--family", family, *flags) for flags in (new, old)]
    assert got[0] == got[1]
    ref = thetahat.regress(formula, df, family=family, **cols)
    est = {r["name"]: r["estimate"] for r in got[0]["coefficients"]}
    np.testing.assert_allclose([est[k] for k in ref.names], ref.estimates, rtol=1e-9)
    assert got[0]["loglik"] == pytest.approx(ref.loglik, rel=1e-12)


def test_regress_ci_other_than_wald_or_profile_is_one_line(capsys, data):
    code = main(["regress", str(data[0]), "y ~ x", "--ci", "bootstrap"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err == "thetahat: error: --ci bootstrap: regress gives wald or profile intervals\n"


def test_the_old_spellings_are_listed_in_the_help(capsys):
    for command, flags in (("fit", ("--weights", "--event", "--lower", "--upper")),
                           ("compare", ("--weights", "--event", "--lower", "--upper")),
                           ("regress", ("--weights", "--event"))):
        assert main([command, "--help"]) == 0
        out = capsys.readouterr().out
        for flag in flags:
            assert f"{flag} COLUMN, {flag}-column COLUMN" in out, (command, flag)


# ---- --json carries every figure of the text summary --------------------------------------------------
_NUMBER = re.compile(r"(?<![\w.^/-])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w%])")


def _figures(text, skip):
    """The numbers printed in ``text``, with their significant digits (lines naming the file left out)."""
    out = []
    for line in text.splitlines():
        if skip in line or "[0.025" in line:  # (the path; nls's column heads, the 95% level's quantiles)
            continue
        for m in _NUMBER.finditer(line):
            mant = m.group().lstrip("-").split("e")[0].replace(".", "").lstrip("0")
            out.append((m.group(), float(m.group()), max(len(mant), 1)))
    return out


def _numbers(obj):
    if isinstance(obj, dict):
        return [v for x in obj.values() for v in _numbers(x)]
    if isinstance(obj, list):
        return [v for x in obj for v in _numbers(x)]
    return [float(obj)] if isinstance(obj, (int, float)) and not isinstance(obj, bool) else []


def _strings(obj):
    if isinstance(obj, dict):
        return [v for x in obj.values() for v in _strings(x)]
    if isinstance(obj, list):
        return [v for x in obj for v in _strings(x)]
    return [obj] if isinstance(obj, str) else []


def _assert_every_figure_in(text, d, skip):
    """Each number of ``text`` is a number of ``d`` to the digits shown, or sits in one of its strings
    (a convergence message, a note)."""
    values, strings = _numbers(d), _strings(d)
    for token, v, digits in _figures(text, skip):
        assert any(float(f"{u:.{digits}g}") == v for u in values) or any(token in s for s in strings), (v, text)


@pytest.mark.parametrize("argv", [
    ["fit", "--column", "t", "--family", "weibull", "--event", "e"],
    ["fit", "--column", "t", "--family", "weibull", "--event", "e", "--ci", "profile"],
    ["compare", "--column", "t", "--families", "weibull,exponential,gamma", "--weights", "w"],
    ["regress", "y ~ x", "--family", "normal", "--cov-type", "ols"],
    ["regress", "e ~ x", "--family", "bernoulli", "--cov-type", "HC1"],
    ["regress", "t ~ x", "--family", "weibull", "--event", "e"],
    ["nls", "y ~ a + b*exp(c*x)", "--start", "a=0,b=1,c=0.5", "--weights", "w"],
])
def test_json_carries_every_figure_of_the_summary(capsys, data, argv):
    path = data[0]
    argv = [argv[0], str(path)] + argv[1:]
    text = _text(capsys, *argv)
    d = _json(capsys, *argv)
    _assert_every_figure_in(text, d, str(path))


def test_regress_json_is_the_python_fit(capsys, data):
    path, df = data
    d = _json(capsys, "regress", path, "e ~ x", "--family", "bernoulli", "--cov-type", "HC1")
    ref = thetahat.regress("e ~ x", df, family="bernoulli", cov_type="HC1")
    assert d["cov_type"] == "HC1" and d["nobs"] == ref.nobs and d["converged"] == ref.converged
    for k in ("llnull", "llr", "llr_pvalue", "prsquared"):
        assert d["statistics"][k] == pytest.approx(getattr(ref, k), rel=1e-12)
    assert d["statistics"]["df_model"] == ref.df_model and "rsquared" not in d["statistics"]
    for row, (lo, hi) in zip(d["coefficients"], ref.confint().values()):
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-12)
    d = _json(capsys, "regress", path, "y ~ x", "--cov-type", "ols")
    ref = thetahat.regress("y ~ x", df, cov_type="ols")
    for k in ("rsquared", "rsquared_adj", "fvalue", "f_pvalue", "llnull"):
        assert d["statistics"][k] == pytest.approx(getattr(ref, k), rel=1e-12)


def test_fit_and_compare_json_are_the_python_results(capsys, data):
    path, df = data
    d = _json(capsys, "fit", path, "--column", "t", "--family", "weibull", "--event", "e")
    ref = thetahat.fit(df["t"].to_numpy(), "weibull", event=df["e"].to_numpy(dtype=float))
    for k in ("cov_type", "converged", "reason", "method", "dropped"):
        assert d[k] == getattr(ref, k)
    assert (d["aic"], d["bic"]) == pytest.approx((ref.aic, ref.bic), rel=1e-12)
    assert d["ci"]["shape"] == pytest.approx(list(ref.confint()["shape"]), rel=1e-9)
    d = _json(capsys, "compare", path, "--column", "t", "--families", "weibull,lognormal")
    ref = thetahat.compare(df["t"].to_numpy(), ["weibull", "lognormal"])
    assert (d["nobs"], d["dropped"], d["skipped"], d["notes"]) == (ref.nobs, ref.dropped, dict(ref.skipped),
                                                                   list(ref.notes))
    assert d["best"] == ref.table[0]["family"]


def test_regress_ci_profile_prints_the_profile_intervals(capsys, data):
    # --ci profile shows RegressionFit.confint(method="profile") (held against R's glm profiles in
    # test_regression_profile.py), in the table and in the JSON
    df = data[1]
    ref = thetahat.regress("y ~ x", df).confint(0.95, method="profile")
    d = _json(capsys, "regress", data[0], "y ~ x", "--ci", "profile")
    assert d["ci_method"] == "profile"
    for row in d["coefficients"]:  # (the coefficients; sigma has no profile interval here: none shown)
        want = tuple(ref[row["name"]]) if row["name"] in ref.keys() else (None, None)
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(want, rel=1e-9) if want[0] is not None else want)
    assert {row["name"] for row in d["coefficients"] if row["ci_low"] is not None} == set(ref.keys())
    wald = thetahat.regress("y ~ x", df).confint(0.95)
    assert any(abs(ref[k][0] - wald[k][0]) > 1e-9 * abs(wald[k][0]) for k in wald)  # (not the Wald ones)
    text = _text(capsys, "regress", data[0], "y ~ x", "--ci", "profile")
    assert "95% CI low (profile)" in text
