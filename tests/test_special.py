"""families/special.py (incomplete gamma and beta with derivatives in every argument) against mpmath.

200 points: shapes log-uniform over [0.05, 200] and arguments across the bulk and both
tails, down to values of about 1e-250 (below, the value underflows float64 and is not
compared). Every value and first derivative is compared with mpmath at 50 digits (the
derivatives by ``mpmath.diff``, of whichever of P and Q, or I and 1 - I, is the smaller,
so that the reference keeps its own relative precision), to 1e-10 relative; second
derivatives at a few points to 1e-8.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("x64")  # (the functions themselves follow the caller's JAX precision)

from thetahat.families import special as S

mp = pytest.importorskip("mpmath")
REL = 1e-10


def _gamma_points():
    rng = np.random.default_rng(190)
    a = np.exp(rng.uniform(np.log(0.05), np.log(200.0), 100))
    # x / a from 1e-3 to 10 (for small a), and in standard deviations sqrt(a) from the mean for large a
    r = np.exp(rng.uniform(np.log(1e-3), np.log(10.0), 100))
    z = rng.uniform(-12.0, 25.0, 100)
    x = np.where(a < 5, a * r, np.maximum(a + z * np.sqrt(a), 1e-3 * a))
    return a, x


def _beta_points():
    rng = np.random.default_rng(191)
    a = np.exp(rng.uniform(np.log(0.05), np.log(200.0), 100))
    b = np.exp(rng.uniform(np.log(0.05), np.log(200.0), 100))
    m, v = a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))
    z = rng.uniform(-10.0, 10.0, 100)
    x = np.clip(m + z * np.sqrt(v), 0.0, 1.0)
    # points too close to an end are put at a fixed log-distance from it instead
    edge = rng.uniform(-12.0, -1.0, 100)
    x = np.where(x < 1e-3, 10.0**edge, np.where(x > 1 - 1e-3, 1 - 10.0**edge, x))
    return a, b, x


def _small_gamma(a, x, upper):
    if upper:
        return mp.gammainc(a, x, mp.inf, regularized=True)
    return mp.gammainc(a, 0, x, regularized=True)


@pytest.fixture(scope="module")
def gamma_ref():
    rows = []
    with mp.workdps(50):
        for a, x in zip(*_gamma_points()):
            A, X = mp.mpf(a), mp.mpf(x)
            P = _small_gamma(A, X, False)
            upper = P > 0.5  # differentiate the smaller of P and Q
            f = lambda s, t: _small_gamma(s, t, upper)  # noqa: E731
            small, d_a, d_x = f(A, X), mp.diff(lambda s: f(s, X), A), mp.diff(lambda t: f(A, t), X)
            sign = -1.0 if upper else 1.0  # derivatives of P
            rows.append((a, x, bool(upper), float(small), sign * float(d_a), sign * float(d_x)))
    return rows


@pytest.fixture(scope="module")
def beta_ref():
    rows = []
    with mp.workdps(50):
        for a, b, x in zip(*_beta_points()):
            A, B, X = mp.mpf(a), mp.mpf(b), mp.mpf(x)
            upper = mp.betainc(A, B, 0, X, regularized=True) > 0.5
            if upper:  # 1 - I_x(a, b) = I_{1-x}(b, a)
                f = lambda s, t, u: mp.betainc(t, s, 0, 1 - u, regularized=True)  # noqa: E731
            else:
                f = lambda s, t, u: mp.betainc(s, t, 0, u, regularized=True)  # noqa: E731
            sign = -1.0 if upper else 1.0
            d = [mp.diff(lambda s: f(s, B, X), A), mp.diff(lambda t: f(A, t, X), B), mp.diff(lambda u: f(A, B, u), X)]
            rows.append((a, b, x, bool(upper), float(f(A, B, X)), *(sign * float(v) for v in d)))
    return rows


def _close(ours, ref, what):
    ours, ref = np.asarray(ours, dtype=float), np.asarray(ref, dtype=float)
    err = np.abs(ours - ref) / np.abs(ref)
    i = int(np.argmax(err))
    assert err[i] <= REL, f"{what}: relative error {err[i]:.2e} at point {i} ({ours[i]!r} against {ref[i]!r})"
    return float(err.max())


def test_incomplete_gamma_values_and_first_derivatives(gamma_ref):
    a, x, upper, small, d_a, d_x = (np.array(c) for c in zip(*gamma_ref))
    keep = small > 1e-250  # below, P or Q underflows float64
    assert keep.sum() >= 95 and upper.sum() >= 20 and (~upper).sum() >= 20
    a, x, upper, small, d_a, d_x = a[keep], x[keep], upper[keep], small[keep], d_a[keep], d_x[keep]
    grad_p = jax.jit(jax.vmap(jax.value_and_grad(S.gammainc, argnums=(0, 1))))
    grad_q = jax.jit(jax.vmap(jax.value_and_grad(S.gammaincc, argnums=(0, 1))))
    (p, (pa, px)), (q, (qa, qx)) = grad_p(a, x), grad_q(a, x)
    _close(np.where(upper, q, p), small, "the smaller of P and Q")
    assert np.allclose(p + q, 1.0, rtol=0, atol=4e-16)
    _close(pa, d_a, "dP/da")
    _close(qa, -d_a, "dQ/da")
    _close(px, d_x, "dP/dx")
    _close(qx, -d_x, "dQ/dx")


def test_incomplete_beta_values_and_first_derivatives(beta_ref):
    a, b, x, upper, small, d_a, d_b, d_x = (np.array(c) for c in zip(*beta_ref))
    keep = small > 1e-250
    assert keep.sum() >= 95 and upper.sum() >= 20 and (~upper).sum() >= 20
    a, b, x, upper, small, d_a, d_b, d_x = (v[keep] for v in (a, b, x, upper, small, d_a, d_b, d_x))
    lower_fn = jax.jit(jax.vmap(jax.value_and_grad(S.betainc, argnums=(0, 1, 2))))
    upper_fn = jax.jit(jax.vmap(jax.value_and_grad(S.betaincc, argnums=(0, 1, 2))))
    (i, (ia, ib, ix)), (c, (ca, cb, cx)) = lower_fn(a, b, x), upper_fn(a, b, x)
    _close(np.where(upper, c, i), small, "the smaller of I and 1 - I")
    assert np.allclose(i + c, 1.0, rtol=0, atol=4e-16)
    _close(ia, d_a, "dI/da")
    _close(ib, d_b, "dI/db")
    _close(ix, d_x, "dI/dx")
    _close(ca, -d_a, "d(1-I)/da")
    _close(cb, -d_b, "d(1-I)/db")


@pytest.mark.parametrize("a,x", [(0.3, 0.05), (2.5, 1.7), (40.0, 55.0), (150.0, 120.0)])
def test_incomplete_gamma_second_derivatives(a, x):
    upper = x > a
    fn = S.gammaincc if upper else S.gammainc
    h = np.array(jax.hessian(fn, argnums=(0, 1))(a, x))
    with mp.workdps(40):
        f = lambda s, t: _small_gamma(s, t, upper)  # noqa: E731
        ref = [[float(mp.diff(f, (a, x), (2, 0))), float(mp.diff(f, (a, x), (1, 1)))],
               [float(mp.diff(f, (a, x), (1, 1))), float(mp.diff(f, (a, x), (0, 2)))]]
    assert np.allclose(h, ref, rtol=1e-8, atol=0)


@pytest.mark.parametrize("a,b,x", [(0.4, 0.7, 0.2), (2.5, 3.5, 0.7), (30.0, 80.0, 0.2), (120.0, 5.0, 0.99)])
def test_incomplete_beta_second_derivatives(a, b, x):
    h = np.array(jax.hessian(S.betainc, argnums=(0, 1, 2))(a, b, x))
    with mp.workdps(40):
        f = lambda s, t, u: mp.betainc(s, t, 0, u, regularized=True)  # noqa: E731
        orders = {(0, 0): (2, 0, 0), (0, 1): (1, 1, 0), (0, 2): (1, 0, 1), (1, 1): (0, 2, 0), (1, 2): (0, 1, 1),
                  (2, 2): (0, 0, 2)}
        ref = np.zeros((3, 3))
        for (i, j), o in orders.items():
            ref[i, j] = ref[j, i] = float(mp.diff(f, (a, b, x), o))
    # relative to the largest entry: mixed entries can be small by cancellation
    assert np.allclose(h, ref, rtol=1e-8, atol=1e-9 * np.abs(ref).max())


def test_edges_give_limits_and_finite_derivatives():
    # x at the ends of the support: the limits, zero shape derivatives, no NaN in any order
    for fn, x, val in ((S.gammainc, 0.0, 0.0), (S.gammainc, np.inf, 1.0), (S.gammaincc, 0.0, 1.0),
                       (S.gammaincc, np.inf, 0.0)):
        for a in (0.3, 4.0):
            assert float(fn(a, x)) == val
            g = np.array(jax.grad(fn, argnums=(0, 1))(a, x))
            h = np.array(jax.hessian(fn, argnums=(0, 1))(a, x))
            assert np.all(np.isfinite(g)) and np.all(np.isfinite(h)) and g[0] == 0.0
    for fn, x, val in ((S.betainc, 0.0, 0.0), (S.betainc, 1.0, 1.0), (S.betaincc, 0.0, 1.0),
                       (S.betaincc, 1.0, 0.0)):
        for a, b in ((0.3, 0.6), (4.0, 2.0)):
            assert float(fn(a, b, x)) == val
            g = np.array(jax.grad(fn, argnums=(0, 1, 2))(a, b, x))
            assert np.all(np.isfinite(g)) and g[0] == 0.0 and g[1] == 0.0


def test_matches_scipy_and_broadcasts():
    # vectorised over x with a scalar shape, under jit: the same as scipy's own functions
    from scipy import special as sp

    x = np.linspace(0.01, 30.0, 50)
    assert np.allclose(jax.jit(S.gammainc)(3.3, x), sp.gammainc(3.3, x), rtol=1e-13, atol=1e-16)
    assert np.allclose(jax.jit(S.gammaincc)(3.3, x), sp.gammaincc(3.3, x), rtol=1e-12, atol=0)
    u = np.linspace(0.01, 0.99, 50)
    assert np.allclose(jax.jit(S.betainc)(2.2, 7.5, u), sp.betainc(2.2, 7.5, u), rtol=1e-12, atol=1e-16)
    assert np.allclose(S.betaln(jnp.array([2.0, 9.847913249853763]), 26.813577521697596),
                       sp.betaln([2.0, 9.847913249853763], 26.813577521697596), rtol=1e-14)
