"""`thetahat regress` and the errors of thetahat.regress: results against statsmodels, one-line errors."""

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import thetahat
from thetahat.cli.main import main
from thetahat.errors import DataError, MissingColumnError, NonFiniteDataError, OptionError, SupportError
from thetahat.regression import RankDeficientError, SeparationError

RNG = np.random.default_rng(5)
N = 120
DF = pd.DataFrame({"x1": RNG.normal(size=N), "x2": RNG.normal(size=N), "g": RNG.choice(["a", "b", "c"], N)})
DF["y"] = (RNG.random(N) < 1 / (1 + np.exp(-(0.3 + DF.x1 - 0.5 * (DF.g == "b"))))).astype(int)
DF["count"] = RNG.poisson(np.exp(0.2 + 0.4 * DF.x2))


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    p = tmp_path_factory.mktemp("reg") / "d.csv"
    DF.to_csv(p, index=False)
    return p


def test_cli_json_matches_statsmodels(capsys, csv):
    code, out, err = _run(capsys, "regress", csv, "y ~ x1 + C(g)", "--family", "bernoulli", "--json")
    assert code == 0, err
    d = json.loads(out)
    X = np.column_stack([np.ones(N), DF.x1, DF.g == "b", DF.g == "c"]).astype(float)
    r = sm.Logit(DF.y.to_numpy(), X).fit(disp=0, method="newton", tol=1e-14)
    assert [c["name"] for c in d["coefficients"]] == ["Intercept", "C(g)[T.b]", "C(g)[T.c]", "x1"] or \
        [c["name"] for c in d["coefficients"]] == ["Intercept", "x1", "C(g)[T.b]", "C(g)[T.c]"]
    by = {c["name"]: c for c in d["coefficients"]}
    order = ["Intercept", "x1", "C(g)[T.b]", "C(g)[T.c]"]
    np.testing.assert_allclose([by[k]["estimate"] for k in order], r.params, rtol=1e-8)
    np.testing.assert_allclose([by[k]["se"] for k in order], r.bse, rtol=1e-7)
    np.testing.assert_allclose([by[k]["p"] for k in order], r.pvalues, rtol=1e-6)
    np.testing.assert_allclose(d["loglik"], r.llf, rtol=1e-12)
    assert d["converged"] is True and d["family"] == "bernoulli" and d["link"] == "logit"


def test_cli_table_and_probit(capsys, csv):
    code, out, _ = _run(capsys, "regress", csv, "y ~ x1", "--family", "bernoulli", "--link", "probit")
    r = sm.Probit(DF.y.to_numpy(), sm.add_constant(DF.x1.to_numpy())).fit(disp=0, tol=1e-14)
    assert code == 0 and "x1" in out and f"{r.params[1]:.6g}" in out and "converged" in out


def test_cli_linear_prints_both_sigmas(capsys, csv):
    code, out, _ = _run(capsys, "regress", csv, "x2 ~ x1", "--json")
    d = json.loads(out)
    r = sm.OLS(DF.x2.to_numpy(), sm.add_constant(DF.x1.to_numpy())).fit()
    np.testing.assert_allclose(d["info"]["sigma2_unbiased"], r.scale, rtol=1e-10)
    np.testing.assert_allclose(d["info"]["sigma2_mle"], r.ssr / N, rtol=1e-10)
    np.testing.assert_allclose(d["loglik"], r.llf, rtol=1e-12)
    np.testing.assert_allclose(list(d["info"]["se_unbiased"].values()), r.bse, rtol=1e-9)


@pytest.mark.parametrize("argv, message", [
    (["y ~ x1 + nope", "--family", "bernoulli"], "column 'nope' in the formula is not in the data"),
    (["count ~ x1", "--family", "bernoulli"], "needs a binary response (0 or 1)"),
    (["x1 ~ x2", "--family", "poisson"], "non-negative counts"),
    (["y ~ x1 + x3", "--family", "bernoulli"], "rank-deficient (collinear columns): x3 = 2*x1"),
    (["y ~ x1", "--family", "wobble"], "unknown regression family"),
    (["y ~ x1", "--family", "bernoulli", "--link", "log"], "takes link"),
])
def test_cli_one_line_errors(capsys, tmp_path, argv, message):
    p = tmp_path / "d.csv"
    DF.assign(x3=2 * DF.x1).to_csv(p, index=False)
    code, out, err = _run(capsys, "regress", p, *argv)
    assert code == 2 and out == ""
    assert err.startswith("thetahat: error: ") and err.count("\n") == 1 and message in err, err


def test_cli_missing_file(capsys):
    code, _, err = _run(capsys, "regress", "/no/such/file.csv", "y ~ x")
    assert code == 2 and "no such file" in err


def test_separation_names_the_column():
    df = DF.assign(sep=np.where(DF.y == 1, 1.0, -1.0) * RNG.uniform(0.5, 2, N))
    with pytest.raises(SeparationError, match="column 'sep' separates"):
        thetahat.regress("y ~ x1 + sep", df, family="bernoulli")
    # quasi-complete: y = 1 whenever flag = 1, both outcomes when flag = 0
    q = DF.assign(flag=((DF.y == 1) & (DF.x1 > 0)).astype(float))
    with pytest.raises(SeparationError, match="'flag'"):
        thetahat.regress("y ~ x1 + flag", q, family="bernoulli", link="probit")
    # the same data with an L2 prior has a finite MAP estimate
    f = thetahat.regress("y ~ x1 + sep", df, family="bernoulli", penalty="l2", lam=1.0)
    assert f.converged and np.all(np.isfinite(f.estimates))


def test_rank_deficiency_in_python_names_the_columns():
    df = DF.assign(x3=DF.x1 + DF.x2)
    with pytest.raises(RankDeficientError, match=r"x3 = 1\*x1 \+ 1\*x2|x2 = "):
        thetahat.regress("count ~ x1 + x2 + x3", df, family="poisson")
    with pytest.raises(RankDeficientError, match="collinear"):
        thetahat.regress("x2 ~ x1 + x3 + x2b", df.assign(x3=3 * DF.x1, x2b=DF.x1))


def test_bad_input_errors():
    bad = DF.copy()
    bad.loc[7, "x1"] = np.nan
    with pytest.raises(NonFiniteDataError, match="column 'x1' at data row 8"):
        thetahat.regress("y ~ x1", bad, family="bernoulli")
    f = thetahat.regress("y ~ x1", bad, family="bernoulli", dropna=True)
    assert f.dropped == 1 and f.nobs == N - 1
    r = sm.Logit(DF.y.drop(7).to_numpy(), sm.add_constant(DF.x1.drop(7).to_numpy())).fit(disp=0, tol=1e-14)
    np.testing.assert_allclose(f.estimates, r.params, rtol=1e-8)
    with pytest.raises(MissingColumnError):
        thetahat.regress("y ~ x1", DF, family="poisson", offset="nope")
    with pytest.raises(SupportError, match="positive response"):
        thetahat.regress("x1 ~ x2", DF, family="gamma")
    with pytest.raises(OptionError, match="trials"):
        thetahat.regress("count ~ x1", DF, family="binomial")
    with pytest.raises(DataError, match="event"):
        thetahat.regress("count ~ x1", DF.assign(t=DF["count"] + 1, e=2.0), family="weibull", event="e")
    with pytest.raises(DataError, match="not numeric"):
        thetahat.regress("g ~ x1", DF, family="poisson")


def test_no_convergence_is_reported():
    f = thetahat.regress("count ~ x1 + x2", DF, family="negative_binomial", max_iter=1)
    assert not f.converged and "no convergence" in f.reason and np.all(np.isnan(f.se))
    assert any("did not converge" in n for n in f.notes)


def test_summary_and_dict_hold_the_table():
    f = thetahat.regress("count ~ x1 + x2", DF, family="poisson")
    r = sm.GLM(DF["count"].to_numpy(), sm.add_constant(DF[["x1", "x2"]].to_numpy()),
               family=sm.families.Poisson()).fit(tol=1e-13)
    s = f.summary()
    assert "Intercept" in s and f"{r.params[1]:.6g}" in s and "Log-likelihood" in s
    d = f.to_dict()
    json.dumps(d)
    np.testing.assert_allclose([c["ci_low"] for c in d["coefficients"]], r.conf_int()[:, 0], rtol=1e-7)
    np.testing.assert_allclose(d["deviance"], r.deviance, rtol=1e-10)
    np.testing.assert_allclose(d["aic"], r.aic, rtol=1e-10)
    np.testing.assert_allclose(f.residuals("deviance"), r.resid_deviance, rtol=1e-7, atol=1e-10)
