"""The engine's NumPy derivatives at the closed form of a regular exponential family
(fitting.search.exponential_family_derivs: the log-likelihood from the statistics, a zero score,
and minus the total weight times the expected information as the Hessian), and the NumPy chain
rule to the optimiser's coordinates (Layout.chain_np), against JAX autodiff."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import thetahat
from thetahat import constraints as C
from thetahat.engine.layout import Layout
from thetahat.engine.objective import compute_statistics
from thetahat.families import all_families, get_family
from thetahat.fitting.search import _statistics_closed_form, exponential_family_derivs
from thetahat.scale.arrays import Sample

DRAWS = {
    "exponential": lambda r, n: r.exponential(2.0, n),
    "bernoulli": lambda r, n: r.binomial(1, 0.3, n) * 1.0,
    "geometric": lambda r, n: r.geometric(0.3, n) * 1.0,
    "poisson": lambda r, n: r.poisson(3.0, n) * 1.0,
    "halfnormal": lambda r, n: np.abs(r.normal(0.0, 2.0, n)),
    "rayleigh": lambda r, n: r.rayleigh(2.0, n),
    "normal": lambda r, n: r.normal(-1.5, 2.0, n),
    "lognormal": lambda r, n: r.lognormal(0.5, 0.7, n),
    "inverse_gaussian": lambda r, n: r.wald(1.5, 4.0, n),
}


def test_every_declared_exponential_family_is_checked_here():
    assert {f.name for f in all_families() if f.exponential_family} == set(DRAWS)


@pytest.mark.usefixtures("x64")  # (the test computes with JAX itself)
@pytest.mark.parametrize("name", sorted(DRAWS))
@pytest.mark.parametrize("weighted", [False, True])
def test_engine_derivatives_are_autodiffs(name, weighted):
    # the identity behind them: at the MLE of a regular exponential family the observed information
    # equals the total weight times the expected one, in any parametrisation
    fam = get_family(name)
    rng = np.random.default_rng(len(name))
    x = DRAWS[name](rng, 777)
    w = rng.integers(1, 4, x.size) * 1.0 if weighted else None
    total = float(x.size if w is None else w.sum())
    stats, _ = compute_statistics(fam, Sample(x, w, total, 0))
    est = {k: np.asarray(v, dtype=float) for k, v in fam.closed_form(stats).items()}
    v, g, H = exponential_family_derivs(fam, stats, est, total)
    names = list(fam.params)
    s = {key: jnp.asarray(val) for key, val in stats.items()}
    ll = lambda t: fam.loglik_from_statistics(s, dict(zip(names, t)))  # noqa: E731
    t = jnp.array([float(est[k]) for k in names])
    assert v == pytest.approx(float(ll(t)), rel=1e-14)
    g_auto = np.asarray(jax.grad(ll)(t))
    scale = np.abs(np.asarray(jax.grad(lambda t: jnp.abs(ll(t)))(t))) + 1.0  # (the gradient is ~0 at the MLE)
    assert np.all(g == 0.0) and np.all(np.abs(g_auto) <= 1e-9 * scale * abs(v))
    np.testing.assert_allclose(H, np.asarray(jax.hessian(ll)(t)), rtol=1e-10, atol=1e-10 * np.abs(H).max())


@pytest.mark.parametrize("constraint, value", [(C.positive, 0.37), (C.GreaterThan(-2.0), 5.0),
                                               (C.unit_interval, 0.9), (C.Interval(-1.0, 3.0), -0.4),
                                               (C.real, -7.5)])
@pytest.mark.usefixtures("x64")  # (the test computes with JAX itself)
def test_chain_rule_in_numpy_is_autodiffs(constraint, value):
    d1, d2 = constraint.chain_np(value)
    u = jnp.asarray(constraint.inverse_np(value))
    assert d1 == pytest.approx(float(jax.grad(constraint.forward)(u)), rel=1e-12, abs=1e-15)
    assert d2 == pytest.approx(float(jax.grad(jax.grad(constraint.forward))(u)), rel=1e-10, abs=1e-15)


def test_layouts_without_an_elementwise_chain_decline():
    lay = Layout.build(get_family("categorical"), {"p": (3,)}, ["p"])
    assert lay.chain_np({"p": np.array([0.2, 0.3, 0.5])}) is None


ONE_PARAMETER = sorted(k for k in DRAWS if len(get_family(k).params) == 1)


@pytest.mark.parametrize("name, route", [(k, "closed") for k in sorted(DRAWS)] + [(k, "search") for k in ONE_PARAMETER])
def test_fits_with_and_without_the_numpy_derivatives_agree(name, route, monkeypatch):
    # "closed": the NumPy-only fit (fitting.closed); "search": weights with dropna take the general
    # route, whose closed form of one parameter takes the same derivatives; without the declaration,
    # autodiff's
    x = DRAWS[name](np.random.default_rng(9), 5000)
    kw = {} if route == "closed" else {"weights": np.random.default_rng(3).integers(1, 4, x.size) * 1.0,
                                       "dropna": True}
    f = thetahat.fit(x, name, **kw)
    monkeypatch.setattr(type(get_family(name)), "exponential_family", False)
    g = thetahat.fit(x, name, **kw)
    assert f.method == g.method == "closed"
    for k in f.params:
        assert f.params[k] == g.params[k]
        assert f.se[k] == pytest.approx(g.se[k], rel=1e-12)
    assert f.loglik == pytest.approx(g.loglik, rel=1e-14)
    assert f.converged and f.diagnostics.hessian_negative_definite


@pytest.mark.parametrize("name, stats", [("bernoulli", {"n": 3.0, "k": 3.0}), ("bernoulli", {"n": 3.0, "k": 0.0}),
                                         ("geometric", {"n": 2.0, "sum": 2.0}),
                                         ("poisson", {"n": 4.0, "sum": 0.0, "sum_lgx": 0.0})])
def test_a_boundary_estimate_gets_no_derivatives(name, stats):
    # (the fit refuses such data first; the engine still takes no derivatives at the boundary,
    # where the expected information is infinite)
    est, derivs = _statistics_closed_form(get_family(name), {k: np.asarray(v) for k, v in stats.items()},
                                          stats["n"])
    assert derivs is None and float(next(iter(est.values()))) in (0.0, 1.0)


@pytest.mark.parametrize("name, data, weights", [
    ("exponential", [0.0, 1.0, 0.0], [1, 0, 2]),  # a zero weighted sum
    ("exponential", [2e-160, 1e-160, 3e-160], None), ("exponential", [1e200, 2e200, 3e200], None),
    ("geometric", [1e170, 1e170, 3.0, 1.0, 5.0], None), ("rayleigh", [1e153, 2e153, 3e153], None),
    ("rayleigh", [1e-150, 3e-150], None), ("halfnormal", [1e-100, 2e-100, 3e-100], None),
    ("halfnormal", [1e140, 2e140, 3e140], None), ("poisson", [0.0, 1.0, 1.0], [2, 0, 0]),
    ("normal", [1e-160, 2e-160, 4e-160], None), ("normal", [1e160, 2e160, 4e160], None)])
def test_extreme_scales_end_as_the_numpy_only_fit(name, data, weights, monkeypatch):
    # the general route (weights with dropna) ends as the NumPy-only fit (fitting.closed, checked
    # against scipy in test_closed_fit) does: the same error, or the same fit; where the float
    # arithmetic of the NumPy derivatives overflows, underflows or divides by zero, it hands over
    # to the compiled ones, and those, where they give standard errors, give the same fit
    def outcome(general):
        kw = {"weights": [1.0] * len(data) if weights is None else weights, "dropna": True} if general else \
            {"weights": weights}
        try:
            f = thetahat.fit(np.array(data), name, **kw)
        except thetahat.errors.ThetahatError as e:
            return type(e).__name__
        return f.params, f.se
    numpy_only, general = outcome(False), outcome(True)
    monkeypatch.setattr(type(get_family(name)), "exponential_family", False)
    autodiff = outcome(True)
    _same(general, numpy_only)
    if not isinstance(autodiff, str) and None not in autodiff[1].values():
        _same(general, autodiff)


def _same(a, b):
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    assert a[0] == b[0]
    for k, se in a[1].items():
        assert se == b[1][k] if se is None else se == pytest.approx(b[1][k], rel=1e-12)
