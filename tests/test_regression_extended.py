"""The long double jaxpr interpreter (thetahat.regression._extended) against mpmath at 40 digits:
branches (jnp.where), nested jit, custom_jvp functions (jax.nn.softplus), reductions; and
the fallback (None) on a primitive it does not know."""

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest

from thetahat.regression import _extended

pytestmark = pytest.mark.skipif(not _extended.wider_than_float64(),
                                reason="numpy.longdouble is float64 on this platform")


@jax.jit
def _inner(t, x):
    return t * jnp.log1p(x * x)


def _model(th, x):
    branch = jnp.where(x > 0, th[0] * jnp.expm1(-x), th[1] * jnp.sqrt(1 + x * x))
    return branch + jax.nn.softplus(th[1] * x) + _inner(th[0], x) + jnp.sum(th) / 3.0


def _model_mp(th, x):
    branch = th[0] * mp.expm1(-x) if x > 0 else th[1] * mp.sqrt(1 + x * x)
    return branch + mp.log(1 + mp.exp(th[1] * x)) + th[0] * mp.log1p(x * x) + (th[0] + th[1]) / 3


@pytest.mark.usefixtures("x64")  # (the test computes with JAX itself)
def test_interpreter_against_mpmath():
    th = np.array([0.7, -1.3])
    x = np.array([np.longdouble(v) for v in ("-2.5", "-0.1", "0.3", "1.7", "4.05")])
    got = _extended.evaluate(_model, th, x)
    assert got is not None and got.dtype == np.longdouble
    with mp.workdps(40):
        T = [mp.mpf(float(v)) for v in th]
        ref = [_model_mp(T, mp.mpf(str(v))) for v in x]
        err = float(max(abs(mp.mpf(str(g)) - r) / abs(r) for g, r in zip(got, ref)))
    f64 = np.asarray(jax.jit(_model)(th, x.astype(float)))
    assert err < 1e-18  # float64 gives ~1e-16: the interpreter really computes in long double
    np.testing.assert_allclose(f64, got.astype(float), rtol=1e-14)


def test_unknown_primitive_gives_none():
    from jax.scipy.special import erf

    assert _extended.evaluate(lambda th, x: th[0] * erf(x), np.array([1.0]), np.ones(3, np.longdouble)) is None
