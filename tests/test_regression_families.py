"""Regression with the families that declare a linear predictor and have no regression code of
their own (gengamma, gompertz, burr12: accelerated failure time with right censoring; zinb:
log mean of the count part), each against a direct scipy.optimize maximisation of the same
log-likelihood written with scipy.stats; kumaraswamy, which has nothing to model, refused;
a new family streamed from files against the same fit in memory."""

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy import stats as st

import thetahat
from thetahat.errors import OptionError

N = 1500


def _covariates(seed):
    rng = np.random.default_rng(seed)
    return rng, pd.DataFrame({"x1": rng.normal(size=N), "x2": rng.uniform(-1, 1, size=N)})


def _aft_frame(law, seed):
    """Times exp(eta) Z with Z from ``law`` at scale 1, right-censored by uniform times (~20 %)."""
    rng, df = _covariates(seed)
    eta = 0.3 + 0.5 * df.x1 - 0.4 * df.x2
    t = np.exp(eta) * law.rvs(size=N, random_state=rng)
    c = rng.uniform(0, 3 * np.quantile(t, 0.8), size=N)
    df["t"], df["event"] = np.minimum(t, c), (t <= c).astype(float)
    return df


# family, scipy law at scale 1 from the shape parameters, the true shapes, thetahat's names of them
AFT = [("gompertz", lambda s: st.gompertz(s[0]), [0.5], ["shape"]),
       ("burr12", lambda s: st.burr12(s[0], s[1]), [3.0, 1.5], ["c", "d"]),
       ("gengamma", lambda s: _prentice(s[0], s[1]), [0.5, 0.8], ["sigma", "Q"])]
REAL = {"Q"}  # shapes estimated on the real line (the others through their log)


def _prentice(sigma, q):
    """The generalized gamma of log-location 0 in Prentice's (sigma, Q), Q != 0, as scipy's Stacy
    form: a = Q^-2, c = Q / sigma, scale (Q^2)^(sigma / Q)."""
    return st.gengamma(q**-2, q / sigma, scale=(q * q) ** (sigma / q))


def _aft_nll(theta, X, t, d, law, names):
    """Minus the log-likelihood: log f(t) for events, log S(t) for censored times, f and S of
    the law with scale exp(x'b)."""
    p = X.shape[1]
    shapes = [v if n in REAL else np.exp(v) for n, v in zip(names, theta[p:])]
    if any(n in REAL and v == 0.0 for n, v in zip(names, shapes)):
        return 1e300
    scale = np.exp(X @ theta[:p])
    z = law(shapes)
    ll = np.where(d > 0, z.logpdf(t / scale) - np.log(scale), z.logsf(t / scale))
    return -np.sum(ll) if np.all(np.isfinite(ll)) else 1e300


def _brute_force(nll, x0):
    r = optimize.minimize(nll, x0, method="BFGS", options={"gtol": 1e-9, "maxiter": 5000})
    r = optimize.minimize(nll, r.x, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12,
                                                                  "maxiter": 20000, "maxfev": 40000})
    return r.x, -r.fun


def _se_by_differences(nll, x, h=1e-4):
    """Standard errors of the unconstrained parameters from a central-difference Hessian of nll."""
    k = len(x)
    H = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            e_i, e_j = np.eye(k)[i] * h, np.eye(k)[j] * h
            H[i, j] = (nll(x + e_i + e_j) - nll(x + e_i - e_j) - nll(x - e_i + e_j) + nll(x - e_i - e_j)) / (4 * h * h)
    return np.sqrt(np.diag(np.linalg.inv(H)))


@pytest.mark.parametrize("family,law,truth,names", AFT, ids=[a[0] for a in AFT])
def test_aft_against_direct_scipy_maximisation(family, law, truth, names):
    df = _aft_frame(law(truth), seed=len(family))
    f = thetahat.regress("t ~ x1 + x2", df, family=family, event="event")
    assert f.converged
    X = np.column_stack([np.ones(N), df.x1, df.x2])
    nll = lambda th: _aft_nll(th, X, df.t.to_numpy(), df.event.to_numpy(), law, names)  # noqa: E731
    x0 = np.concatenate([[np.log(df.t.mean()), 0.0, 0.0], [0.5 if n in REAL else 0.0 for n in names]])
    x, ll = _brute_force(nll, x0)
    assert f.loglik >= ll - 1e-6 and abs(f.loglik - ll) < 1e-5
    ours = np.array([f.params[k] for k in ("Intercept", "x1", "x2")]
                    + [f.params[k] if k in REAL else np.log(f.params[k]) for k in names])
    assert np.allclose(ours, x, atol=2e-4)
    # the coefficients' standard errors against the curvature of scipy's log-likelihood
    se = _se_by_differences(nll, ours)[:3]
    assert np.allclose([f.bse[k] for k in ("Intercept", "x1", "x2")], se, rtol=2e-3)


def _zinb_frame(seed=3):
    rng, df = _covariates(seed)
    mu = np.exp(0.5 + 0.4 * df.x1 - 0.3 * df.x2)
    r, pi = 2.0, 0.25
    counts = st.nbinom(r, r / (r + mu)).rvs(random_state=rng)
    df["y"] = np.where(rng.uniform(size=N) < pi, 0, counts).astype(float)
    return df


def _zinb_nll(theta, X, y):
    """Minus the ZINB log-likelihood (pscl's zeroinfl, dist="negbin", constant pi): the count part
    NB2 with mean exp(x'b) and size r, from scipy.stats.nbinom."""
    p = X.shape[1]
    mu = np.exp(X @ theta[:p])
    pi, r = 1 / (1 + np.exp(-theta[p])), np.exp(theta[p + 1])
    nb = st.nbinom(r, r / (r + mu))
    ll = np.where(y == 0, np.log(pi + (1 - pi) * nb.pmf(0)), np.log1p(-pi) + nb.logpmf(y))
    return -np.sum(ll) if np.all(np.isfinite(ll)) else 1e300


def test_zinb_against_direct_scipy_maximisation():
    df = _zinb_frame()
    f = thetahat.regress("y ~ x1 + x2", df, family="zinb")
    assert f.converged
    X = np.column_stack([np.ones(N), df.x1, df.x2])
    nll = lambda th: _zinb_nll(th, X, df.y.to_numpy())  # noqa: E731
    x, ll = _brute_force(nll, np.array([np.log(df.y.mean()), 0.0, 0.0, 0.0, 0.0]))
    assert f.loglik >= ll - 1e-6 and abs(f.loglik - ll) < 1e-5
    pi = f.params["pi"]
    ours = np.array([f.params["Intercept"], f.params["x1"], f.params["x2"], np.log(pi / (1 - pi)),
                     np.log(f.params["r"])])
    assert np.allclose(ours, x, atol=2e-4)
    se = _se_by_differences(nll, ours)
    assert np.allclose([f.bse[k] for k in ("Intercept", "x1", "x2")], se[:3], rtol=2e-3)
    # pi's standard error by the delta method from its logit's
    assert np.isclose(f.bse["pi"], se[3] * pi * (1 - pi), rtol=2e-3)
    # predict() is E[y] = (1 - pi) exp(x'b)
    assert np.allclose(f.predict(df.iloc[:5]), (1 - pi) * np.exp(X[:5] @ ours[:3]), rtol=1e-12)


def test_a_family_with_nothing_to_model_is_refused():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"y": rng.uniform(0.1, 0.9, size=50), "x": rng.normal(size=50)})
    with pytest.raises(OptionError, match="kumaraswamy has no mean, location or scale"):
        thetahat.regress("y ~ x", df, family="kumaraswamy")


def test_aft_median_prediction_is_the_scipy_median():
    family, law, truth, names = AFT[0]
    df = _aft_frame(law(truth), seed=11)
    f = thetahat.regress("t ~ x1 + x2", df, family=family, event="event")
    scale = np.exp(f.params["Intercept"] + f.params["x1"] * df.x1[:4] + f.params["x2"] * df.x2[:4])
    med = st.gompertz(f.params["shape"], scale=scale).median()
    assert np.allclose(f.predict(df.iloc[:4]), med, rtol=1e-12)


def test_new_family_streamed_equals_in_memory(tmp_path):
    family, law, truth, names = AFT[1]
    df = _aft_frame(law(truth), seed=7)
    for i, part in enumerate(np.array_split(np.arange(N), 3)):
        df.iloc[part].to_parquet(tmp_path / f"part{i}.parquet", index=False)
    mem = thetahat.regress("t ~ x1 + x2", df, family=family, event="event")
    streamed = thetahat.regress("t ~ x1 + x2", str(tmp_path), family=family, event="event")
    assert abs(streamed.loglik - mem.loglik) < 1e-8 * abs(mem.loglik)
    for k in mem.params:
        assert np.isclose(streamed.params[k], mem.params[k], rtol=1e-8, atol=1e-10)
        assert np.isclose(streamed.bse[k], mem.bse[k], rtol=1e-6)


# ---- every family of the table that declares a linear predictor -----------------------------
def _regressable():
    from cases import CASES

    seen, out = set(), []
    for case in CASES:
        if thetahat.family(case.family).predictor is not None and case.family not in seen:
            seen.add(case.family)
            out.append(case)
    return out


def _draw(case, n, seed):
    rng = np.random.default_rng(seed)
    if case.draw is not None:
        return case.draw(rng, case.params, n)
    return case.scipy({**case.params, **case.fixed}).rvs(size=n, random_state=rng)


@pytest.mark.parametrize("case", _regressable(), ids=lambda c: c.id)
def test_intercept_only_regression_is_the_plain_fit(case):
    """A regression on a column of ones is the family's own fit (thetahat.fit, tested against
    scipy in the family table): the same log-likelihood and, through the family's declared map
    from the intercept, the same parameters. A family that declares a predictor is covered here
    by its row of the table alone."""
    n = 2000
    y = np.asarray(_draw(case, n, seed=2), dtype=float)
    plain = thetahat.fit(y, case.family, fixed=case.fixed or None)
    trials = np.full(n, float(case.fixed["n"])) if "n" in case.fixed else None
    r = thetahat.regress(np.ones((n, 1)), y=y, family=case.family, trials=trials)
    assert r.converged
    assert abs(r.loglik - plain.loglik) < 1e-7 * max(1.0, abs(plain.loglik))
    fam = thetahat.family(case.family)
    pr = fam.predictor
    est = list(r.params.values())
    inverse = {"log": np.exp, "identity": lambda v: v, "logit": lambda v: 1 / (1 + np.exp(-v))}[r.link]
    m = np.exp(est[0]) if pr.target == "log_scale" else inverse(est[0])
    mapped = pr.params(m, dict(zip([nm for nm, _ in pr.free], est[1:])))
    for k, v in plain.params.items():
        if k in case.fixed:  # binomial's n, the trials
            continue
        assert np.isclose(float(mapped[k]), v, rtol=2e-5), (k, float(mapped[k]), v)


# where scipy's own logsf loses digits in the far tail (fisk's is log1p(-(1 + x^-c)^-d)), the
# reference is the same law written another way in scipy: log X is logistic(log scale, 1/shape)
_LOGSF = {"loglogistic": lambda p: lambda x: st.logistic.logsf(p["shape"] * (np.log(x) - np.log(p["scale"])))}


def _with_log_tails():
    from cases import CASES

    return [c for c in CASES if thetahat.family(c.family).logsf is not None or
            thetahat.family(c.family).logcdf is not None]


@pytest.mark.parametrize("case", _with_log_tails(), ids=lambda c: c.id)
def test_log_tails_against_scipy(case, x64):
    """A family's log F and log S (the censored rows of a regression) against scipy's logcdf and
    logsf on the table's grid, pushed into the far tails (absolute error to 1e-14 where they are
    near 0, relative to 1e-9 elsewhere)."""
    import jax.numpy as jnp

    fam = thetahat.family(case.family)
    law = case.scipy({**case.params, **case.fixed})
    grid = np.concatenate([case.grid, law.ppf([1e-12, 0.5, 1 - 1e-12]), law.isf([1e-200])])
    p = {k: jnp.asarray(v) for k, v in case.params.items()}
    logsf = _LOGSF[case.family](case.params) if case.family in _LOGSF else law.logsf
    for mine, ref in ((fam.logsf, logsf), (fam.logcdf, law.logcdf)):
        if mine is None:
            continue
        got = np.array([float(mine(jnp.asarray(x), p)) for x in grid])
        want = ref(grid)
        fine = np.isfinite(want) & (want > -1e300)
        assert np.allclose(got[fine], want[fine], rtol=1e-9, atol=1e-14), (grid[fine], got[fine], want[fine])
