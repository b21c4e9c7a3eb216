"""The closed-form fit on NumPy alone (thetahat.fitting.closed): no JAX, the same Fit as the
autodiff route, and answers that agree with scipy.stats and the textbook standard errors."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import thetahat
from thetahat.fitting import closed as closed_fit
from thetahat.families import all_families

from cases import CASES

# The families that must take the NumPy route: a family dropping out of it (a hook that
# stops running on NumPy, a new attribute that makes it ineligible) fails here, not silently.
ELIGIBLE = ["bernoulli", "exponential", "geometric", "halfnormal", "inverse_gaussian", "lognormal", "normal",
            "poisson", "rayleigh"]
CASE = {c.family: c for c in CASES if c.family in ELIGIBLE}


def _draw(name, n=500, seed=0):
    c = CASE[name]
    return np.asarray(c.scipy(c.params).rvs(size=n, random_state=np.random.default_rng(seed)), dtype=float)


def test_the_eligible_families():
    assert sorted(f.name for f in all_families() if closed_fit.eligible(f)) == ELIGIBLE


@pytest.fixture
def autodiff_route(monkeypatch):
    """thetahat.fit with the NumPy route switched off: the closed form with autodiff derivatives."""
    def fit(*args, **kw):
        with monkeypatch.context() as m:
            m.setattr(closed_fit, "fit_closed", lambda *a, **k: None)
            return thetahat.fit(*args, **kw)

    return fit


def _close(a, b, rtol):
    """Equal to ``rtol`` of the largest entry (an exact 0 off the diagonal of a covariance is rounding
    error on the autodiff route)."""
    if a is None or b is None:
        assert a is b
        return
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * float(np.max(np.abs(b))))


def _same_fit(f, g, rtol=1e-12):
    """Every field of two fits equal (floats to ``rtol``); the score at a closed form is 0, which the
    autodiff route sees as rounding error of the log-likelihood's size."""
    assert f.method == g.method == "closed"
    assert (f.reason, f.notes, f.converged, f.cov_type, f.cov_labels, f.fixed, f.dropped, f.boundary) == \
           (g.reason, g.notes, g.converged, g.cov_type, g.cov_labels, g.fixed, g.dropped, g.boundary)
    assert list(f.params) == list(g.params) and list(f.se) == list(g.se)
    assert (f.nobs, f.n_estimated, len(f.trace), len(f.path)) == (g.nobs, g.n_estimated, len(g.trace), len(g.path))
    for k in f.params:
        _close(f.params[k], g.params[k], rtol)
        _close(f.se[k], g.se[k], rtol)
    _close(f.cov, g.cov, rtol)
    _close(f.loglik, g.loglik, rtol)
    _close(f.trace, g.trace, rtol)
    for a, b in zip(f.path, g.path):
        _close(a, b, 1e-10)
    d, e = f.diagnostics, g.diagnostics
    assert (d.hessian_negative_definite, d.iterations, d.starts, d.starts_converged) == \
           (e.hessian_negative_definite, e.iterations, e.starts, e.starts_converged)
    _close(d.hessian_condition, e.hessian_condition, 1e-9)
    assert d.grad_norm == 0.0 and e.grad_norm <= 1e-9 * max(1.0, abs(g.loglik))
    assert f.context.layout == g.context.layout and f.context.cov_type == g.context.cov_type
    assert f.limit is None and g.limit is None and f.limit_test is None and g.limit_test is None


@pytest.mark.parametrize("name", ELIGIBLE)
def test_numpy_route_is_the_autodiff_route(name, autodiff_route):
    x = _draw(name)
    f = thetahat.fit(x, name)
    g = autodiff_route(x, name)
    assert f.context.stats is not None
    _same_fit(f, g)


@pytest.mark.parametrize("name", ELIGIBLE)
def test_numpy_route_with_options(name, autodiff_route):
    """Weights of both kinds, dropped NaN rows and the expected information, route against route."""
    x = _draw(name, 300, seed=1)
    w = np.random.default_rng(2).integers(1, 4, x.size).astype(float)
    for kw in ({"weights": w}, {"weights": w * 0.37, "weight_kind": "analytic"}, {"cov_type": "expected"}):
        _same_fit(thetahat.fit(x, name, **kw), autodiff_route(x, name, **kw))
    y = np.r_[x[:100], np.nan, x[100:], np.nan]
    f, g = thetahat.fit(y, name, dropna=True), autodiff_route(y, name, dropna=True)
    assert f.dropped == 2 and f.notes == ("2 rows with NaN were dropped",)
    _same_fit(f, g)


def _textbook_se(name, p, n):
    """Standard errors from the inverse Fisher information, as textbooks give them."""
    return {
        "normal": lambda: {"mu": p["sigma"] / np.sqrt(n), "sigma": p["sigma"] / np.sqrt(2 * n)},
        "lognormal": lambda: {"mu": p["sigma"] / np.sqrt(n), "sigma": p["sigma"] / np.sqrt(2 * n)},
        "exponential": lambda: {"lam": p["lam"] / np.sqrt(n)},
        "poisson": lambda: {"lam": np.sqrt(p["lam"] / n)},
        "bernoulli": lambda: {"p": np.sqrt(p["p"] * (1 - p["p"]) / n)},
        "geometric": lambda: {"p": p["p"] * np.sqrt((1 - p["p"]) / n)},
        "halfnormal": lambda: {"sigma": p["sigma"] / np.sqrt(2 * n)},
        "rayleigh": lambda: {"sigma": p["sigma"] / (2 * np.sqrt(n))},
        "inverse_gaussian": lambda: {"mu": np.sqrt(p["mu"] ** 3 / (p["lam"] * n)), "lam": p["lam"] * np.sqrt(2 / n)},
    }[name]()


def _scipy_mle(name, x):
    """The MLE as scipy.stats fits it (location fixed where the family has none)."""
    from scipy import stats as st

    if name == "normal":
        mu, sigma = st.norm.fit(x)
        return {"mu": mu, "sigma": sigma}
    if name == "lognormal":
        s, _, scale = st.lognorm.fit(x, floc=0)
        return {"mu": np.log(scale), "sigma": s}
    if name == "exponential":
        return {"lam": 1 / st.expon.fit(x, floc=0)[1]}
    if name == "halfnormal":
        return {"sigma": st.halfnorm.fit(x, floc=0)[1]}
    if name == "rayleigh":
        return {"sigma": st.rayleigh.fit(x, floc=0)[1]}
    if name == "inverse_gaussian":
        m, _, scale = st.invgauss.fit(x, floc=0)
        return {"mu": m * scale, "lam": scale}
    dist = {"poisson": st.poisson, "bernoulli": st.bernoulli, "geometric": st.geom}[name]
    bounds = {"poisson": {"mu": (1e-6, 50)}, "bernoulli": {"p": (1e-6, 1 - 1e-6)}, "geometric": {"p": (1e-6, 1 - 1e-6)}}
    res = st.fit(dist, x.astype(int), bounds=bounds[name])
    return {"lam" if name == "poisson" else "p": float(res.params[0])}


@pytest.mark.parametrize("name", ELIGIBLE)
def test_against_scipy(name):
    x = _draw(name, 400, seed=3)
    f = thetahat.fit(x, name)
    c = CASE[name]
    np.testing.assert_allclose(f.loglik, c.scipy(f.params).logpmf(x).sum() if hasattr(c.scipy(f.params), "logpmf")
                               else c.scipy(f.params).logpdf(x).sum(), rtol=1e-11)
    ref = _scipy_mle(name, x)
    rtol = 1e-4 if name in ("poisson", "bernoulli", "geometric") else 1e-6  # (scipy's numerical optimisers)
    for k, v in ref.items():
        np.testing.assert_allclose(f.params[k], v, rtol=rtol)
    for k, v in _textbook_se(name, f.params, x.size).items():
        np.testing.assert_allclose(f.se[k], v, rtol=1e-12)


def test_falls_through_where_the_general_route_decides(autodiff_route):
    x = _draw("normal", 200)
    assert thetahat.fit(x, "normal", cov_type="sandwich").diagnostics.grad_norm > 0  # (autodiff route)
    assert thetahat.fit(x, "normal", fixed={"mu": 0.0}).method == "newton"
    assert thetahat.fit(x, "gamma" if x.min() > 0 else "t").method != "closed"
    with pytest.raises(thetahat.errors.NonFiniteDataError) as a:
        thetahat.fit(np.r_[x, np.nan], "normal")
    with pytest.raises(thetahat.errors.NonFiniteDataError) as b:
        autodiff_route(np.r_[x, np.nan], "normal")
    assert str(a.value) == str(b.value)
    with pytest.raises(thetahat.errors.SupportError, match="data row 3 "):
        thetahat.fit([1.0, 2.0, -1.0], "exponential")
    with pytest.raises(thetahat.errors.DegenerateDataError):
        thetahat.fit([0.0, 0.0, 0.0], "poisson")


_NO_JAX = textwrap.dedent("""
    import json, sys
    import numpy as np
    import thetahat
    from thetahat.cli.main import main
    out = {}
    for name in NAMES:
        x = np.abs(np.random.default_rng(0).normal(2.0, 1.0, 1000))
        if name in ("poisson", "geometric", "bernoulli"):
            x = np.round(x) + (1 if name == "geometric" else 0)
            x = np.minimum(x, 1) if name == "bernoulli" else x
        f = thetahat.fit(x, name)
        np.savetxt("data.csv", x)
        code = main(["fit", "data.csv", "--family", name, "--json"])
        out[name] = [f.method, code]
    out["jax"] = "jax" in sys.modules
    print(json.dumps(out))
""")


def test_no_jax_is_imported(tmp_path):
    """import thetahat, fit every eligible family and print it from the CLI: JAX never loads."""
    code = f"NAMES = {ELIGIBLE!r}\n" + _NO_JAX
    src = str(pathlib.Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out.pop("jax") is False
    assert out == {name: ["closed", 0] for name in ELIGIBLE}


STATISTICS = sorted(c.id for c in CASES if getattr(thetahat.family(c.family), "statistics", None) is not None)


@pytest.mark.parametrize("case_id", STATISTICS)
def test_statistics_hooks_are_the_same_on_numpy_and_compiled(case_id):
    """A family's statistics hook, written once: on NumPy (small samples, the closed-form route)
    and compiled (the pass over large data) it gives the same numbers."""
    from thetahat._jax import scope
    from thetahat.scale.arrays import Sample
    from thetahat.engine.objective import statistics_function

    case = next(c for c in CASES if c.id == case_id)
    fam = thetahat.family(case.family)
    rng = np.random.default_rng(5)
    p = {**case.params, **case.fixed}
    x = np.asarray(case.draw(rng, p, 700) if case.draw is not None else case.scipy(p).rvs(size=700, random_state=rng),
                   dtype=float)
    w = rng.integers(0, 3, x.shape[0]).astype(float)
    for weights in (None, w):
        ours = fam.statistics(x, np.ones(x.shape[0]) if weights is None else weights)
        assert all(isinstance(v, (np.ndarray, np.generic, float)) for v in ours.values()), "NumPy in, NumPy out"
        with scope():
            parts = [{k: np.asarray(v) for k, v in statistics_function(fam)(xp, wp).items()}
                     for xp, wp in Sample(x, weights, float(x.shape[0])).pieces()]
        ref = parts[0]
        for q in parts[1:]:
            ref = fam.merge(ref, q)
        assert sorted(ours) == sorted(ref)
        for k in ref:
            np.testing.assert_allclose(np.asarray(ours[k], dtype=float), ref[k], rtol=1e-12,
                                       atol=1e-12 * float(np.max(np.abs(ref[k]))), err_msg=k)
