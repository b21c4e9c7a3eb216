"""The NumPy derivatives of the one-parameter closed forms (Family.statistics_closed_form_derivs)
and the NumPy chain rule to the optimiser's coordinates (Layout.chain_np), against JAX autodiff."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import thetahat
from thetahat import constraints as C
from thetahat.engine.layout import Layout
from thetahat.engine.objective import compute_statistics
from thetahat.scale.arrays import Sample
from thetahat.families import get_family

DRAWS = {
    "exponential": lambda r, n: r.exponential(2.0, n),
    "bernoulli": lambda r, n: r.binomial(1, 0.3, n) * 1.0,
    "geometric": lambda r, n: r.geometric(0.3, n) * 1.0,
    "poisson": lambda r, n: r.poisson(3.0, n) * 1.0,
    "halfnormal": lambda r, n: np.abs(r.normal(0.0, 2.0, n)),
    "rayleigh": lambda r, n: r.rayleigh(2.0, n),
}


@pytest.mark.usefixtures("x64")  # (the test computes with JAX itself)
@pytest.mark.parametrize("name", sorted(DRAWS))
@pytest.mark.parametrize("weighted", [False, True])
def test_closed_form_derivatives_are_autodiffs(name, weighted):
    fam = get_family(name)
    assert fam.statistics_closed_form_derivs is not None
    rng = np.random.default_rng(len(name))
    x = DRAWS[name](rng, 777)
    w = rng.integers(1, 4, x.size) * 1.0 if weighted else None
    stats, _ = compute_statistics(fam, Sample(x, w, float(x.size if w is None else w.sum()), 0))
    est, (v, g, H) = fam.statistics_closed_form_derivs(stats)
    (k,) = fam.params
    assert est[k] == pytest.approx(float(fam.closed_form(stats)[k]), rel=1e-15)
    s = {key: jnp.asarray(val) for key, val in stats.items()}
    ll = lambda t: fam.loglik_from_statistics(s, {k: t})  # noqa: E731
    t = jnp.asarray(est[k])
    assert v == pytest.approx(float(ll(t)), rel=1e-14)
    scale = float(jax.grad(lambda t: jnp.abs(ll(t)))(t)) or 1.0  # (the gradient is ~0 at the MLE)
    assert abs(g[0] - float(jax.grad(ll)(t))) <= 1e-10 * abs(scale) + 1e-9
    assert H[0, 0] == pytest.approx(float(jax.hessian(ll)(t)), rel=1e-12)


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


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_fits_with_and_without_the_numpy_derivatives_agree(name, monkeypatch):
    x = DRAWS[name](np.random.default_rng(9), 5000)
    f = thetahat.fit(x, name)
    monkeypatch.setattr(type(get_family(name)), "statistics_closed_form_derivs", None)
    g = thetahat.fit(x, name)
    (k,) = f.params
    assert f.params[k] == g.params[k]
    assert f.se[k] == pytest.approx(g.se[k], rel=1e-13)
    assert f.loglik == pytest.approx(g.loglik, rel=1e-14)
    assert f.converged and f.diagnostics.hessian_negative_definite


@pytest.mark.parametrize("name, stats", [("bernoulli", {"n": 3.0, "k": 3.0}), ("bernoulli", {"n": 3.0, "k": 0.0}),
                                         ("geometric", {"n": 2.0, "sum": 2.0}),
                                         ("poisson", {"n": 4.0, "sum": 0.0, "sum_lgx": 0.0})])
def test_a_boundary_estimate_gets_no_derivatives(name, stats):
    # (the fit refuses such data first; the hook still gives no derivatives at the boundary)
    est, derivs = get_family(name).statistics_closed_form_derivs({k: np.asarray(v) for k, v in stats.items()})
    assert derivs is None and float(next(iter(est.values()))) in (0.0, 1.0)


@pytest.mark.parametrize("name, data, weights", [
    ("exponential", [0.0, 1.0, 0.0], [1, 0, 2]),  # a zero weighted sum
    ("exponential", [2e-160, 1e-160, 3e-160], None), ("exponential", [1e200, 2e200, 3e200], None),
    ("geometric", [1e170, 1e170, 3.0, 1.0, 5.0], None), ("rayleigh", [1e153, 2e153, 3e153], None),
    ("rayleigh", [1e-150, 3e-150], None), ("halfnormal", [1e-100, 2e-100, 3e-100], None),
    ("halfnormal", [1e140, 2e140, 3e140], None), ("poisson", [0.0, 1.0, 1.0], [2, 0, 0])])
def test_extreme_scales_end_as_without_the_numpy_derivatives(name, data, weights, monkeypatch):
    # where the float arithmetic of the NumPy derivatives overflows, underflows or divides by
    # zero, the fit hands over to the compiled derivatives: the same error, or the same fit
    def outcome():
        try:
            f = thetahat.fit(np.array(data), name, weights=weights)
        except thetahat.errors.ThetahatError as e:
            return type(e).__name__
        return f.params, f.se
    with_numpy = outcome()
    monkeypatch.setattr(type(get_family(name)), "statistics_closed_form_derivs", None)
    assert with_numpy == outcome()
