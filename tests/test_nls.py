"""thetahat.nls: the NIST StRD nonlinear suite (certified values), statsmodels OLS/WLS, scipy curve_fit.

The NIST table is computed here, in the test, from both starting points of all 27 problems;
``docs/design/accuracy.md`` shows the same table as printed by ``python tests/test_nls.py``.
"""

import json

import jax.numpy as jnp
import numpy as np
import pytest
import statsmodels.api as sm
from scipy import optimize, stats

from thetahat.errors import DataError, EmptyDataError, NonFiniteDataError, OptionError, ThetahatError
from thetahat.regression import _extended
from thetahat.regression.nls import ModelFunctionError, nls

import _nist_nonlinear as nist

# Float64 data only: known shortfalls, with the reason (see docs/design/accuracy.md), checked to fail here, not skipped.
# With the data read as long double (``nist.load(name, extended=True)``) every problem meets the targets.
FLOAT64_LIMITED = {
    "Lanczos1": "residuals ~1e-13 are ~300 float64 spacings of y (~4e-16); turning the file's decimals into "
                "binary already moves the RSS, hence s and every SE, in the 3rd-4th digit (exact arithmetic on "
                "the float64 data gives SE LRE ~3.4: test_lanczos1_float64_limit_in_exact_arithmetic)",
}
LABELS = ("start1", "start2", "ext1", "ext2")  # ext: data parsed into long double


def _fit(P, st):
    f = nls(P.model, P.x, P.y, st)
    est = np.array([f.params[k] for k in f.names])
    se = np.array([np.nan if f.se[k] is None else f.se[k] for k in f.names])
    return {"fit": f, "lre": float(nist.lre(est, P.certified, P.digits).min()),
            "lre_se": float(nist.lre(se, P.certified_sd, P.sd_digits).min()),
            "lre_rss": float(nist.lre(f.rss, P.rss, 11))}


def _row(name):
    P = nist.load(name)
    out = {"name": name, "difficulty": P.difficulty, "problem": P}
    out["start1"], out["start2"] = _fit(P, P.start1), _fit(P, P.start2)
    if _extended.wider_than_float64():
        E = nist.load(name, extended=True)
        out["ext1"], out["ext2"] = _fit(E, E.start1), _fit(E, E.start2)
    return out


@pytest.fixture(scope="module")
def table():
    return [_row(name) for name in nist.NAMES]


def _labels(table):
    return [lab for lab in LABELS if lab in table[0]]


def test_all_27_problems_read(table):
    assert len(table) == 27
    for r in table:
        P = r["problem"]
        assert P.x.shape[0] == P.y.shape[0] and P.start1.shape == P.certified.shape == P.certified_sd.shape


def test_start2_certified_parameters_lre_6_on_all(table):
    for lab in ("start2", "ext2"):
        bad = [(r["name"], round(r[lab]["lre"], 1)) for r in table if lab in r and r[lab]["lre"] < 6]
        assert not bad, lab


def test_start1_certified_parameters_lre_6_on_at_least_24(table):
    good = [r["name"] for r in table if r["start1"]["lre"] >= 6]
    assert len(good) >= 24, sorted(set(nist.NAMES) - set(good))


def test_converged_verdict_is_never_wrong(table):
    # a fit that says it converged must have found the certified minimum
    for r in table:
        for label in _labels(table):
            if r[label]["fit"].converged:
                assert r[label]["lre"] >= 6, (r["name"], label)


def test_standard_errors_lre_4_where_converged(table):
    for r in table:
        for label in _labels(table):
            c = r[label]
            if not c["fit"].converged:
                continue
            if r["name"] in FLOAT64_LIMITED and label.startswith("start"):
                assert c["lre_se"] < 4, f"{r['name']} now passes in float64: remove it from FLOAT64_LIMITED"
                # and the fit says why its standard errors are short of digits
                assert any("float64 spacings of y" in n for n in c["fit"].notes), c["fit"].notes
            else:
                assert c["lre_se"] >= 4, (r["name"], label, c["lre_se"])


@pytest.mark.skipif(not _extended.wider_than_float64(), reason="numpy.longdouble is float64 on this platform")
def test_extended_data_meet_every_target(table):
    """Data read as long double: all 27 problems, both starts, converge with parameters LRE >= 6,
    standard errors LRE >= 4 and the RSS LRE >= 6."""
    for r in table:
        for label in ("ext1", "ext2"):
            c = r[label]
            assert c["fit"].converged and c["lre"] >= 6 and c["lre_se"] >= 4 and c["lre_rss"] >= 6, \
                (r["name"], label, c["lre"], c["lre_se"], c["lre_rss"])


def test_float64_rounding_note_only_where_digits_are_lost(table):
    """The note about float64 data appears on the fits whose SEs fall short, and nowhere else."""
    for r in table:
        for label in ("start1", "start2"):
            c = r[label]
            noted = any("float64 spacings of y" in n for n in c["fit"].notes)
            if c["fit"].converged:
                assert noted == (r["name"] in FLOAT64_LIMITED), (r["name"], label)


def test_lanczos1_float64_limit_in_exact_arithmetic():
    """Why Lanczos1 is FLOAT64_LIMITED: Gauss-Newton in 40-digit arithmetic (mpmath) on the data
    rounded to float64 gives standard errors with LRE < 4; on the file's decimals, LRE > 9."""
    import mpmath as mp

    P = nist.load("Lanczos1")
    text = nist.load("Lanczos1", extended=True)

    def se_lre(xs, ys):
        with mp.workdps(40):
            xs, ys = [mp.mpf(v) for v in xs], [mp.mpf(v) for v in ys]  # exact: decimal strings or floats
            b = [mp.mpf(float(v)) for v in P.certified]

            def resid_jac(b):
                e = [[mp.exp(-b[2 * k + 1] * x) for k in range(3)] for x in xs]
                r = mp.matrix([y - sum(b[2 * k] * ek[k] for k in range(3)) for y, ek in zip(ys, e)])
                J = mp.matrix([[v for k in range(3) for v in (ek[k], -b[2 * k] * x * ek[k])]
                               for x, ek in zip(xs, e)])
                return r, J

            for _ in range(4):
                r, J = resid_jac(b)
                d = mp.lu_solve(J.T * J, J.T * r)
                b = [b[j] + d[j] for j in range(6)]
            r, J = resid_jac(b)
            rss = sum(r[i] ** 2 for i in range(len(xs)))
            C = mp.inverse(J.T * J)
            se = [float(mp.sqrt(C[j, j] * rss / 18)) for j in range(6)]
        return float(nist.lre(np.array(se), P.certified_sd, P.sd_digits).min())

    exact = se_lre([str(v) for v in text.x], [str(v) for v in text.y]) if _extended.wider_than_float64() else None
    rounded = se_lre([float(v) for v in P.x], [float(v) for v in P.y])
    assert rounded < 4
    if exact is not None:
        assert exact > 9


@pytest.mark.usefixtures("x64")  # (the test calls thetahat's internals itself)
@pytest.mark.skipif(not _extended.wider_than_float64(), reason="numpy.longdouble is float64 on this platform")
@pytest.mark.parametrize("name", ["Lanczos1", "Thurber", "Roszman1", "ENSO", "Bennett5", "Nelson"])
def test_extended_model_evaluation_against_mpmath(name):
    """The jaxpr interpreter in long double against the model written out in mpmath (40 digits)
    on the same long double inputs: exp, rational, integer powers, atan, sin/cos, pow, 2-column x."""
    import mpmath as mp

    P = nist.load(name, extended=True)
    b = P.certified
    with mp.workdps(40):
        B = [mp.mpf(float(v)) for v in b]
        pi = mp.mpf(nist.PI)

        def f(x):
            if name == "Lanczos1":
                return sum(B[2 * k] * mp.exp(-B[2 * k + 1] * x) for k in range(3))
            if name == "Thurber":
                num = B[0] + B[1] * x + B[2] * x ** 2 + B[3] * x ** 3
                return num / (1 + B[4] * x + B[5] * x ** 2 + B[6] * x ** 3)
            if name == "Roszman1":
                return B[0] - B[1] * x - mp.atan(B[2] / (x - B[3])) / pi
            if name == "ENSO":
                return (B[0] + B[1] * mp.cos(2 * pi * x / 12) + B[2] * mp.sin(2 * pi * x / 12)
                        + B[4] * mp.cos(2 * pi * x / B[3]) + B[5] * mp.sin(2 * pi * x / B[3])
                        + B[7] * mp.cos(2 * pi * x / B[6]) + B[8] * mp.sin(2 * pi * x / B[6]))
            if name == "Bennett5":
                return B[0] * (B[1] + x) ** (-1 / B[2])
            return B[0] - B[1] * x[0] * mp.exp(-B[2] * x[1])

        xs = np.asarray(P.x)
        ref = [f([mp.mpf(str(v)) for v in row] if xs.ndim == 2 else mp.mpf(str(row))) for row in xs]
        got = _extended.evaluate(lambda th, x: P.model(x, th), b, P.x)
        assert got.dtype == np.longdouble and np.all(np.isfinite(got))
        err = float(max(abs(mp.mpf(str(g)) - r) / abs(r) for g, r in zip(got, ref)))
    # a few long double roundings per operation (eps 1.1e-19); float64 would give ~1e-16
    # measured: Thurber 7.6e-18 (cancellation in the rational), ENSO 9.8e-19, the rest <= 2.8e-19
    assert err < 5e-17 if name in ("Thurber", "ENSO") else err < 1e-18, err


@pytest.mark.skipif(not _extended.wider_than_float64(), reason="numpy.longdouble is float64 on this platform")
def test_extended_data_with_an_unknown_primitive_falls_back_to_float64():
    """erf has no long double version here: the fit is the float64 one, and a note says so."""
    from jax.scipy.special import erf

    x = np.linspace(-2, 2, 30)
    y = 1.5 * np.asarray(erf(0.8 * x)) + 0.01 * np.sin(7 * x)
    model = lambda x, b: b[0] * erf(b[1] * x)  # noqa: E731
    f64 = nls(model, x, y, [1.0, 1.0])
    fld = nls(model, x.astype(np.longdouble), y.astype(np.longdouble), [1.0, 1.0])
    assert fld.params == f64.params and fld.rss == f64.rss
    assert any("float64" in n and "long double" in n for n in fld.notes)
    # the same least squares solution from scipy (independent)
    ref = optimize.curve_fit(lambda x, a, b: a * stats.norm.cdf(b * x * np.sqrt(2)) * 2 - a, x, y, p0=[1, 1],
                             xtol=1e-14, ftol=1e-14)[0]
    np.testing.assert_allclose([f64.params["b1"], f64.params["b2"]], ref, rtol=1e-7)


def test_rss_and_loglik_against_certified_rss(table):
    for r in table:
        for label in _labels(table)[1::2]:  # start 2, float64 and long double data
            P, f = r["problem"], r[label]["fit"]
            limited = r["name"] in FLOAT64_LIMITED and label == "start2"
            if not limited:
                assert r[label]["lre_rss"] >= 6, (r["name"], label)
            n = P.y.size
            # Gaussian log-likelihood at sigma^2 = RSS/n, from the certified RSS
            ll = -n / 2 * (np.log(2 * np.pi * P.rss / n) + 1)
            tol = 1e-3 if limited else 1e-5  # Lanczos1 in float64: its RSS is right to ~3 digits
            assert f.loglik == pytest.approx(ll, rel=tol)
            assert f.sigma == pytest.approx(np.sqrt(P.rss / (n - P.certified.size)), rel=1e-2 if limited else 1e-5)
            assert f.sigma_mle == pytest.approx(np.sqrt(P.rss / n), rel=1e-2 if limited else 1e-5)


def test_trace_non_decreasing_and_ends_at_loglik(table):
    for r in table:
        for label in _labels(table):
            f = r[label]["fit"]
            tr = np.array(f.trace)
            # Levenberg-Marquardt steps never lower it; the Gauss-Newton polish may, by no more than
            # the rounding error of ||r|| (16 eps ||y||, plus 8 eps ||r||): l = -n log ||r|| + const
            y = np.asarray(r["problem"].y, dtype=float)
            eps = np.finfo(float).eps
            slack = y.size * (8 * eps + 16 * eps * np.linalg.norm(y) / np.sqrt(f.rss)) * 1.01
            assert np.all(np.diff(tr) >= -slack), (r["name"], label)
            assert tr[-1] == f.loglik
            assert tr[0] < tr[-1] or np.isclose(tr[0], tr[-1])


# --------------------------------------------------------------------------------------------------
def _linear_data(seed=3, n=40):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    y = 1.5 + 0.7 * x + rng.normal(0, 1.0, n)
    return x, y


def test_linear_model_matches_statsmodels_ols():
    x, y = _linear_data()
    f = nls(lambda x, b: b["a"] + b["b"] * x, x, y, {"a": 0.0, "b": 0.0})
    ols = sm.OLS(y, sm.add_constant(x)).fit()
    np.testing.assert_allclose([f.params["a"], f.params["b"]], ols.params, rtol=1e-10)
    np.testing.assert_allclose([f.se["a"], f.se["b"]], ols.bse, rtol=1e-8)
    assert f.rss == pytest.approx(ols.ssr, rel=1e-10)
    assert f.loglik == pytest.approx(ols.llf, rel=1e-10)
    assert f.aic == pytest.approx(ols.aic + 2, rel=1e-10)  # sigma counted, as R's AIC does
    assert f.bic == pytest.approx(ols.bic + np.log(x.size), rel=1e-10)
    ci = f.confint(0.9)
    np.testing.assert_allclose([ci["a"], ci["b"]], ols.conf_int(0.1), rtol=1e-8)
    xn = np.array([0.0, 2.5, 12.0])
    np.testing.assert_allclose(f.predict(xn), ols.predict(sm.add_constant(xn)), rtol=1e-10)
    d = json.loads(json.dumps(f.to_dict(), allow_nan=False))
    np.testing.assert_allclose([d["se"]["a"], d["se"]["b"]], ols.bse, rtol=1e-8)
    assert d["converged"] is True and d["nobs"] == x.size and d["df_resid"] == x.size - 2


def test_weighted_linear_model_matches_statsmodels_wls():
    x, y = _linear_data(seed=4)
    w = np.random.default_rng(5).uniform(0.2, 3.0, x.size)
    f = nls(lambda x, b: b[0] + b[1] * x, x, y, [1.0, 1.0], weights=w)
    wls = sm.WLS(y, sm.add_constant(x), weights=w).fit()
    np.testing.assert_allclose([f.params["b1"], f.params["b2"]], wls.params, rtol=1e-10)
    np.testing.assert_allclose([f.se["b1"], f.se["b2"]], wls.bse, rtol=1e-8)
    assert f.loglik == pytest.approx(wls.llf, rel=1e-10)


def test_nonlinear_weighted_matches_scipy_curve_fit():
    P = nist.load("Misra1a")
    w = 1.0 / (1.0 + 0.01 * P.x)
    f = nls(P.model, P.x, P.y, P.start2, weights=w)
    popt, pcov = optimize.curve_fit(lambda x, b1, b2: b1 * (1 - np.exp(-b2 * x)), P.x, P.y, p0=P.start2,
                                    sigma=1 / np.sqrt(w), xtol=1e-15, ftol=1e-15, gtol=1e-15)
    np.testing.assert_allclose([f.params["b1"], f.params["b2"]], popt, rtol=1e-7)
    np.testing.assert_allclose(f.cov, pcov, rtol=1e-5)
    # weighted Gaussian log-likelihood, sigma_i^2 = sigma^2 / w_i at the MLE of sigma, by scipy
    s2 = f.rss / P.y.size
    ll = stats.norm.logpdf(P.y, f.fitted, np.sqrt(s2 / w)).sum()
    assert f.loglik == pytest.approx(ll, rel=1e-10)


def test_dict_and_array_parameters_agree():
    P = nist.load("Rat42")
    fa = nls(P.model, P.x, P.y, P.start2)
    fd = nls(lambda x, b: b["asym"] / (1 + jnp.exp(b["mid"] - b["rate"] * x)), P.x, P.y,
             {"asym": 75.0, "mid": 2.5, "rate": 0.07})
    assert fd.names == ("asym", "mid", "rate")
    np.testing.assert_allclose(list(fd.params.values()), P.certified, rtol=1e-8)
    np.testing.assert_allclose(list(fa.params.values()), list(fd.params.values()), rtol=1e-10)
    np.testing.assert_allclose(list(fd.se.values()), P.certified_sd, rtol=1e-7)
    fn = nls(P.model, P.x, P.y, P.start2, names=["asym", "mid", "rate"])
    assert fn.names == fd.names


def test_two_predictor_model_nelson():
    P = nist.load("Nelson")
    assert P.x.shape == (128, 2)
    f = nls(P.model, P.x, P.y, P.start2)
    np.testing.assert_allclose(f.predict(P.x[:3]), P.y[:3] - f.residuals[:3], rtol=1e-12)


def test_not_converged_says_why():
    P = nist.load("MGH10")
    f = nls(P.model, P.x, P.y, P.start1, max_iter=3)
    assert not f.converged and "max_iter" in f.reason
    assert "NO" in f.summary()


def test_flat_start_is_not_called_a_minimum():
    # exp(-800 x) underflows for x >= 1: neither parameter changes the fit, the Jacobian is 0
    x = np.arange(1.0, 8.0)
    y = 3.0 * np.exp(-0.4 * x)
    f = nls(lambda x, b: b[0] * jnp.exp(-b[1] * x), x, y, [1.0, 800.0])
    assert not f.converged and "rank deficient" in f.reason
    assert f.se == {"b1": None, "b2": None} and f.confint()["b1"] is None


def test_summary_reports_both_sigmas():
    P = nist.load("Misra1a")
    f = nls(P.model, P.x, P.y, P.start2)
    text = f.summary()
    assert "b1" in text and f"{f.sigma:.6g}" in text and f"{f.sigma_mle:.6g}" in text
    assert f.sigma_mle == pytest.approx(f.sigma * np.sqrt((P.y.size - 2) / P.y.size), rel=1e-12)


# ---- bad input ------------------------------------------------------------------------------------
def _m(x, b):
    return b[0] * jnp.exp(-b[1] * x)


X = np.arange(1.0, 9.0)
Y = 2.0 * np.exp(-0.3 * X) + np.array([0.01, -0.02, 0.0, 0.015, -0.01, 0.0, 0.02, -0.01])


@pytest.mark.parametrize("kwargs, err, text", [
    (dict(y=np.r_[Y[:3], np.nan, Y[4:]]), NonFiniteDataError, "y contains NaN at data row 4"),
    (dict(x=np.r_[X[:5], np.inf, X[6:]]), NonFiniteDataError, "x contains an infinite value at data row 6"),
    (dict(y=Y[:-1]), DataError, "x has 8 rows but y has 7 values"),
    (dict(start=[1.0, np.nan]), OptionError, "'b2' is not finite"),
    (dict(start=[1.0, 0.3], names=["a"]), OptionError, "names has 1 entries"),
    (dict(method="bfgs"), OptionError, "unknown method"),
    (dict(weights=np.r_[np.ones(7), 0.0]), DataError, "weight 0.0 at data row 8"),
    (dict(weights=np.ones(3)), DataError, "weights has shape"),
    (dict(x=X[:2], y=Y[:2]), EmptyDataError, "more observations than parameters"),
    (dict(f=lambda x, b: b[0] * jnp.log(x - 4.0)), ModelFunctionError, "not finite at data row 1"),
    (dict(f=lambda x, b: b[0] * x[:3]), ModelFunctionError, "returned shape (3,)"),
    (dict(f=lambda x, b: b[0] * jnp.sqrt(x - b[1]), start=[1.0, 1.0]), ModelFunctionError, "Jacobian"),
    (dict(f=lambda x, b: b["rate"] * x), ModelFunctionError, "f(x, start) failed"),
])
def test_bad_input_raises_specific_error(kwargs, err, text):
    args = dict(f=_m, x=X, y=Y, start=[1.0, 0.3])
    args.update(kwargs)
    f = args.pop("f")
    with pytest.raises(err) as e:
        nls(f, args.pop("x"), args.pop("y"), args.pop("start"), **args)
    assert isinstance(e.value, ThetahatError)
    assert text in str(e.value)


def _print_table():
    rows = [_row(name) for name in nist.NAMES]
    ext = "ext2" in rows[0]
    print("| dataset | difficulty | start 1: min LRE params | start 2: min LRE params | min LRE SE (start 2) "
          + ("| min LRE SE (start 2, long double data) " if ext else "") + "| iterations (start 1 / 2) |")
    print("|---|---|---|---|---|" + ("---|" if ext else "") + "---|")
    for r in rows:
        s1, s2 = r["start1"], r["start2"]
        print(f"| {r['name']} | {r['difficulty']} | {s1['lre']:.1f} | {s2['lre']:.1f} | {s2['lre_se']:.1f} | "
              + (f"{r['ext2']['lre_se']:.1f} | " if ext else "") + f"{s1['fit'].iterations} / {s2['fit'].iterations} |")


if __name__ == "__main__":
    _print_table()


@pytest.mark.skipif(not _extended.wider_than_float64(), reason="numpy.longdouble is float64 on this platform")
def test_a_residual_sum_of_squares_near_the_smallest_double_keeps_a_finite_loglik():
    # the extended-precision residuals can leave an RSS of 5e-324, where 2 pi RSS / n underflows
    # to 0; the log-likelihood is then -n/2 (log(2 pi RSS / n) + 1), finite, as mpmath computes it
    import mpmath

    x = np.zeros(50, dtype=np.longdouble)
    x[0], x[1] = 1, 2
    y = np.longdouble("1e-150") * x
    y[0] += np.longdouble("2.3e-162")
    f = nls(lambda x, b: b[0] * x, x, y, [1e-150])
    assert 0 < f.rss < 1e-300
    ref = -0.5 * 50 * (mpmath.log(2 * mpmath.pi * mpmath.mpf(f.rss) / 50) + 1)
    assert f.loglik == pytest.approx(float(ref), rel=1e-12)
