"""Table-driven checks of every family against scipy.stats and known facts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import thetahat
from cases import CASES

IDS = [c.id for c in CASES]


def _maybe_xfail(case, test):
    if test in case.xfail:
        pytest.xfail(case.xfail[test])


def _logpdf(fam, x, p):
    pj = {k: jnp.asarray(v) for k, v in p.items()}
    return np.asarray(jax.vmap(lambda xi: fam.logpdf(xi, pj))(jnp.asarray(x)))


def _ref_logpdf(dist, x):
    if hasattr(dist, "logpmf"):
        return dist.logpmf(x)
    return dist.logpdf(x)


def _draw(case, n, seed):
    rng = np.random.default_rng(seed)
    if case.draw is not None:
        return case.draw(rng, case.params, n)
    return case.scipy(_all_params(case)).rvs(size=n, random_state=rng)


def _all_params(case):
    return {**case.params, **case.fixed}


@pytest.mark.usefixtures("x64")  # (the test calls the family's log-density itself)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_logpdf_matches_scipy(case):
    _maybe_xfail(case, "logpdf")
    fam = thetahat.family(case.family)
    ours = _logpdf(fam, case.grid, _all_params(case))
    ref = _ref_logpdf(case.scipy(_all_params(case)), case.grid)
    assert np.all(np.isfinite(ref)), "grid must lie inside the support"
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_to_scipy_is_the_same_distribution(case):
    fam = thetahat.family(case.family)
    p = _all_params(case)
    ours = _ref_logpdf(fam.to_scipy(p), case.grid)
    ref = _ref_logpdf(case.scipy(p), case.grid)
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_autodiff_gradient_matches_finite_differences(case):
    _maybe_xfail(case, "gradient")
    fam = thetahat.family(case.family)
    x = jnp.asarray(_draw(case, 200, 1), dtype=jnp.float64)
    fixed = {k: jnp.asarray(v) for k, v in case.fixed.items()}

    def ll(theta):
        p = {**fixed, **theta}
        return jnp.sum(jax.vmap(lambda xi: fam.logpdf(xi, p))(x))

    theta = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in case.params.items()}
    grad = jax.grad(ll)(theta)
    for k, v in theta.items():
        flat = np.asarray(v, dtype=float).ravel()
        for i in range(flat.size):
            h = 1e-6 * max(1.0, abs(flat[i]))
            up, dn = flat.copy(), flat.copy()
            up[i] += h
            dn[i] -= h
            f_up = ll({**theta, k: jnp.asarray(up.reshape(np.shape(v)))})
            f_dn = ll({**theta, k: jnp.asarray(dn.reshape(np.shape(v)))})
            fd = (float(f_up) - float(f_dn)) / (2 * h)
            ad = float(np.asarray(grad[k]).ravel()[i])
            assert ad == pytest.approx(fd, rel=1e-5, abs=1e-4 * max(1.0, abs(float(ll(theta))) * 1e-3)), (k, i)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_simulate_fit_recovers_truth_within_4_se(case):
    _maybe_xfail(case, "recover")
    x = _draw(case, case.n, 2024)
    f = thetahat.fit(x, case.family, fixed=case.fixed)
    assert f.converged, f.reason
    for k, truth in case.params.items():
        est = np.asarray(f.params[k])
        se = f.se[k]
        if se is None:  # non-regular parameter: the estimate is a sample extreme
            assert k in thetahat.family(case.family).nonregular
            assert np.all(np.abs(est - np.asarray(truth)) < 0.01 * (1 + np.abs(np.asarray(truth))))
            continue
        z = np.abs(est - np.asarray(truth)) / np.asarray(se)
        assert np.all(z < 4), (k, est, truth, se)


@pytest.mark.parametrize("case", [c for c in CASES if thetahat.family(c.family).has_closed_form],
                         ids=[c.id for c in CASES if thetahat.family(c.family).has_closed_form])
def test_closed_form_is_never_worse_than_numerical_optimum(case):
    x = _draw(case, 2000, 7)
    closed = thetahat.fit(x, case.family, fixed=case.fixed)
    assert closed.method == "closed"
    numeric = thetahat.fit(x, case.family, fixed=case.fixed, method="bfgs")
    assert closed.loglik >= numeric.loglik - 1e-9 * abs(numeric.loglik)
    # and the closed-form log-likelihood is the scipy log-likelihood at the estimates
    ref = np.sum(_ref_logpdf(case.scipy({**closed.params}), x)) if thetahat.family(case.family).ndim == 0 \
        else np.sum(case.scipy(closed.params).logpdf(x) if not hasattr(case.scipy(closed.params), "logpmf")
                    else case.scipy(closed.params).logpmf(x))
    assert closed.loglik == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_loglik_equals_scipy_sum_at_estimate(case):
    x = _draw(case, 500, 11)
    f = thetahat.fit(x, case.family, fixed=case.fixed)
    dist = case.scipy(f.params)
    ref = np.sum(_ref_logpdf(dist, x))
    assert f.loglik == pytest.approx(ref, rel=1e-10)
