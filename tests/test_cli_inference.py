"""CLI flags of the inference issue: censoring, truncation, weights, cov types, intervals, --by.
Each result is checked against an independent computation (lifelines, closed forms, scipy)."""

import json

import numpy as np
import pytest
from scipy import stats as st

from thetahat.cli.main import main


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def censored_csv(tmp_path_factory):
    rng = np.random.default_rng(41)
    t = rng.exponential(4.0, 150)
    c = rng.uniform(1, 12, 150)
    x, e = np.minimum(t, c), (t <= c).astype(int)
    path = tmp_path_factory.mktemp("cli") / "surv.csv"
    with open(path, "w") as f:
        f.write("time,status,site,w,lo,hi\n")
        for i in range(150):
            lo = np.floor(t[i])
            f.write(f"{float(x[i])!r},{e[i]},{'ab'[i % 2]},{1 + i % 3},{lo},{lo + 1}\n")
    return path, x, e, t


def test_event_column_gives_the_censored_exponential_mle(capsys, censored_csv):
    path, x, e, _ = censored_csv
    code, out, _ = _run(capsys, "fit", path, "--column", "time", "--family", "exponential",
                        "--event-column", "status", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["params"]["lam"] == pytest.approx(e.sum() / x.sum(), rel=1e-10)  # events / time at risk


def test_interval_columns_and_profile_ci(capsys, censored_csv):
    path, _, _, t = censored_csv
    code, out, _ = _run(capsys, "fit", path, "--family", "exponential", "--lower-column", "lo",
                        "--upper-column", "hi", "--ci", "profile", "--json")
    assert code == 0
    d = json.loads(out)
    lo, hi = np.floor(t), np.floor(t) + 1

    def ll(lam):
        return np.sum(np.log(np.exp(-lam * lo) - np.exp(-lam * hi)))

    from scipy.optimize import minimize_scalar

    r = minimize_scalar(lambda v: -ll(v), bounds=(1e-3, 5), method="bounded", options={"xatol": 1e-12})
    assert d["params"]["lam"] == pytest.approx(r.x, rel=1e-6)
    a, b = d["ci_profile"]["lam"]
    crit = st.chi2.ppf(0.95, 1)
    assert 2 * (d["loglik"] - ll(a)) == pytest.approx(crit, rel=1e-6)
    assert 2 * (d["loglik"] - ll(b)) == pytest.approx(crit, rel=1e-6)


def test_weights_cov_type_and_by(capsys, censored_csv):
    path, x, _, _ = censored_csv
    w = np.array([1 + i % 3 for i in range(150)], dtype=float)
    code, out, _ = _run(capsys, "fit", path, "-c", "time", "-f", "normal", "--weights-column", "w",
                        "--cov-type", "sandwich", "--json")
    assert code == 0
    d = json.loads(out)
    m = np.sum(w * x) / w.sum()
    assert d["params"]["mu"] == pytest.approx(m, rel=1e-12)
    assert d["cov_type"] == "sandwich"
    code, out, _ = _run(capsys, "fit", path, "-c", "time", "-f", "exponential", "--by", "site", "--json")
    rows = json.loads(out)
    assert [r["group"] for r in rows] == ["a", "b"]
    assert rows[0]["lam"] == pytest.approx(1 / x[::2].mean(), rel=1e-12)


@pytest.mark.parametrize("argv,needle", [
    (["--event-column", "site"], "non-numeric"),
    (["--event-column", "w"], "event column must be 0"),
    (["--lower-column", "hi", "--upper-column", "lo"], "reversed"),
    (["--truncate", "5,1"], "lower < upper"),
    (["--weights-column", "nope"], "no column"),
    (["--cov-type", "robustish"], "cov_type"),
    (["--ci", "magic"], "interval method"),
])
def test_bad_inference_options_are_one_line_errors(capsys, censored_csv, argv, needle):
    path = censored_csv[0]
    code, out, err = _run(capsys, "fit", path, "-c", "time", "-f", "weibull", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_compare_ranks_censored_fits_by_their_censored_likelihood(capsys, censored_csv):
    # the right-censored exponential and weibull log-likelihoods against lifelines' fitters
    from lifelines import ExponentialFitter, WeibullFitter

    path, x, e, _ = censored_csv
    code, out, _ = _run(capsys, "compare", path, "--column", "time", "--event-column", "status",
                        "--families", "weibull,exponential", "--json")
    assert code == 0
    rows = {r["family"]: r for r in json.loads(out)["table"]}
    assert rows["weibull"]["loglik"] == pytest.approx(WeibullFitter().fit(x, e).log_likelihood_, rel=1e-7)
    assert rows["exponential"]["loglik"] == pytest.approx(ExponentialFitter().fit(x, e).log_likelihood_, rel=1e-7)
    # interval-censored rows (lo, lo + 1] of the uncensored times: lifelines' interval fitter
    code, out, _ = _run(capsys, "compare", path, "--lower-column", "lo", "--upper-column", "hi",
                        "--families", "weibull", "--json")
    assert code == 0
    lo = np.floor(censored_csv[3])
    ref = WeibullFitter().fit_interval_censoring(lo, lo + 1).log_likelihood_
    assert json.loads(out)["table"][0]["loglik"] == pytest.approx(ref, rel=1e-6)


def test_fit_gof_on_censored_data_is_the_python_api(capsys, censored_csv):
    import thetahat

    path, x, e, _ = censored_csv
    code, out, _ = _run(capsys, "fit", path, "--column", "time", "--family", "exponential", "--event-column",
                        "status", "--gof", "--gof-n-boot", "99", "--json")
    assert code == 0
    d = json.loads(out)
    ref = thetahat.fit(x, "exponential", event=e).gof(n_boot=99, seed=0)
    got = {r["test"]: r for r in d["gof"]}
    for row in ref.table:
        assert got[row["test"]]["statistic"] == pytest.approx(row["statistic"], rel=1e-12)
        assert got[row["test"]]["pvalue"] == pytest.approx(row["pvalue"], abs=1e-12)
    # a column that is not 0/1 is refused in one line, exit 2
    code, _, err = _run(capsys, "compare", path, "--column", "time", "--event-column", "w")
    assert code == 2 and err.count("\n") == 1 and "error" in err


def test_options_that_cannot_apply_are_refused_not_ignored(capsys, censored_csv):
    # --by fits plain samples per group: a censoring column there would silently be a wrong answer
    path = censored_csv[0]
    for extra in (["--event-column", "status"], ["--gof"], ["--ci", "profile"], ["--weights-column", "w"]):
        code, _, err = _run(capsys, "fit", path, "--column", "time", "--family", "exponential", "--by", "site",
                            *extra)
        assert code == 2 and err.count("\n") == 1 and "does not apply with --by" in err, (extra, err)
    code, _, err = _run(capsys, "fit", path, "--column", "time", "--family", "exponential", "--stream", "--gof")
    assert code == 2 and "--gof needs the rows in memory" in err
