"""The fused sum-and-minimum loop (engine.fused) against NumPy's own reductions and math.fsum."""

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import thetahat
from thetahat.engine import fused

needs_kernel = pytest.mark.skipif(fused._kernel() is None, reason="llvmlite cannot compile for this machine")


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(2) as p:
        yield p


def _check(x, pool=None):
    total, lo = fused.sum_and_min(x, pool)
    exact = math.fsum(x) if np.all(np.isfinite(x)) else float(np.add.reduce(x))
    ref_min = float(np.min(x))
    assert (np.isnan(lo) and np.isnan(ref_min)) or (lo == ref_min and np.signbit(lo) == np.signbit(ref_min))
    if np.isfinite(exact):
        # as accurate as NumPy's pairwise sum: within a few ulps of sum|x| of the exact sum
        assert abs(total - exact) <= max(4 * abs(float(np.add.reduce(x)) - exact),
                                         1e-15 * float(np.add.reduce(np.abs(x))))
    else:
        assert (np.isnan(total) and np.isnan(exact)) or total == exact


@needs_kernel
@pytest.mark.parametrize("n", [1, 7, fused.BLOCK - 1, fused.BLOCK, fused.BLOCK + 1, 3 * fused.BLOCK + 5,
                               fused.MIN_SPLIT, fused.MIN_SPLIT + 4097, 3_000_001])
def test_sum_and_min_match_numpy_for_every_length(n, pool):
    # block boundaries, the NumPy tail, and the two-thread split of a large array
    x = np.random.default_rng(n).exponential(2.0, n)
    _check(x)
    _check(x, pool)


@needs_kernel
@pytest.mark.parametrize("bad", [np.nan, -np.nan, np.inf, -np.inf, -0.0, -1e-300, -3.0, 5e-324, 0.0])
@pytest.mark.parametrize("where", [0, 5000, 600_000 - 1])
def test_special_values_give_numpy_results(bad, where, pool):
    # a NaN (either sign), infinities, negative zero and tiny or subnormal values anywhere:
    # the minimum and the NaN/inf of the sum are NumPy's, as validation relies on them
    x = np.random.default_rng(3).exponential(1.0, 600_000)
    x[where] = bad
    _check(x, pool)


@needs_kernel
@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
                min_size=1, max_size=10_000))
def test_sum_and_min_on_arbitrary_data(values):
    _check(np.array(values, dtype=float))


def test_the_fused_loop_declines_what_it_cannot_read():
    # a strided view, another dtype, 2-D or empty input: None, and the caller keeps NumPy
    x = np.arange(1.0, 101.0)
    assert fused.sum_and_min(x[::2]) is None
    assert fused.sum_and_min(x.astype(np.float32)) is None
    assert fused.sum_and_min(x.reshape(10, 10)) is None
    assert fused.sum_and_min(np.zeros(0)) is None


def test_exponential_fit_without_the_fused_loop_is_the_same(monkeypatch):
    # where llvmlite is missing the NumPy two-pass path runs: same estimate, same validation
    x = np.random.default_rng(4).exponential(0.7, (1 << 21) + 3)
    with_loop = thetahat.fit(x, "exponential")
    monkeypatch.setattr(fused, "_compiled", [None])
    assert fused.sum_and_min(x) is None
    without = thetahat.fit(x, "exponential")
    assert without.params["lam"] == pytest.approx(1 / x.mean(), rel=1e-13)
    assert with_loop.params["lam"] == pytest.approx(without.params["lam"], rel=1e-13)
    assert with_loop.loglik == pytest.approx(without.loglik, rel=1e-13)
    y = x.copy()
    y[123] = -2.0
    with pytest.raises(thetahat.errors.SupportError, match="row 123"):
        thetahat.fit(y, "exponential")


def test_negative_zero_is_inside_the_exponential_support():
    # -0.0 sets the sign bit the fused loop watches: NumPy then decides, and 0 is in the support
    x = np.random.default_rng(5).exponential(2.0, (1 << 21) + 1)
    x[77] = -0.0
    f = thetahat.fit(x, "exponential")
    assert f.params["lam"] == pytest.approx(x.size / math.fsum(x), rel=1e-13)
