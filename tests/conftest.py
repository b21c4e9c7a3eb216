"""Test set-up.

thetahat keeps JAX's float64 to its own calls (``thetahat._jax.x64``); the tests run with
JAX's default, float32, so that a thetahat call outside that scope shows -- as a wrong digit
or as ``thetahat._jax.OutsideFloat64``. A test that computes with JAX itself (a reference
value, a family's log-density called directly) asks for float64 with the ``x64`` fixture.
"""

import jax
import pytest


@pytest.fixture
def x64():
    """JAX's float64 for the test's own JAX code."""
    with jax.enable_x64(True):
        yield
