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


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_code():
    """After each test module, JAX's compiled executables are dropped (a later module that needs one
    again reads it from the run's compile cache on disk). Each executable holds about six memory
    mappings; a pytest worker that kept every one of the suite's reached Linux's limit of 65,530
    mappings per process (``vm.max_map_count``), and XLA then aborted, or failed with "LLVM
    compilation error: Cannot allocate memory" (docs/design/determinism.md)."""
    yield
    jax.clear_caches()
