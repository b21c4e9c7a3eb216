"""Doctests: the building blocks of JAX code -- the constraints' bijections, a family's
special functions, the EM components, the regression models, the losses -- compute in their
caller's JAX precision (only thetahat's entry points turn float64 on, see ``thetahat._jax``);
their examples run with float64 on, as a caller of them would have it."""

import jax
import pytest
from _pytest.doctest import DoctestItem

CALLER_PRECISION = ("thetahat.constraints", "thetahat.families.special", "thetahat.em.components",
                    "thetahat.regression._lm_jit", "thetahat.regression.models", "thetahat.losses")


@pytest.fixture(autouse=True)
def _building_block_examples_in_float64(request):
    item = request.node
    if isinstance(item, DoctestItem) and item.dtest.name.startswith(CALLER_PRECISION):
        with jax.enable_x64(True):
            yield
    else:
        yield
