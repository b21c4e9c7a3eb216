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
    s = fused.summarize(x, pool)
    assert s["n"] == x.size
    finite = bool(np.all(np.isfinite(x)))
    for key, ref in (("min", np.min(x)), ("max", np.max(x))):
        assert (np.isnan(s[key]) and np.isnan(ref)) or s[key] == ref
    assert s["integral"] == bool(np.all(np.floor(x) == x))
    with np.errstate(over="ignore"):
        squares = x * x
    for key, terms in (("sum", x), ("sum_sq", squares)):
        if finite and np.all(np.isfinite(terms)):
            # as accurate as NumPy's pairwise sum: within a few of its errors, or 1e-15 of sum |terms|
            exact, numpy = math.fsum(terms), float(np.add.reduce(terms))
            assert abs(s[key] - exact) <= max(4 * abs(numpy - exact), 1e-15 * float(np.add.reduce(np.abs(terms))))
    if not finite:
        assert not np.isfinite(s["sum"])  # how the caller learns of a NaN or an infinity


@needs_kernel
@pytest.mark.parametrize("n", [1, 7, fused.BLOCK - 1, fused.BLOCK, fused.BLOCK + 1, 3 * fused.BLOCK + 5,
                               fused.MIN_SPLIT, fused.MIN_SPLIT + 4097, 3_000_001])
def test_summary_matches_numpy_for_every_length(n, pool):
    # block boundaries, the NumPy tail, and the two-thread split of a large array; real and
    # integer-valued data
    x = np.random.default_rng(n).normal(1.0, 2.0, n)
    _check(x)
    _check(x, pool)
    _check(np.floor(x * 3), pool)


@needs_kernel
@pytest.mark.parametrize("bad", [np.nan, -np.nan, np.inf, -np.inf, -0.0, -1e-300, -3.0, 5e-324, 0.0, 2.5, 1e300])
@pytest.mark.parametrize("where", [0, 5000, 600_000 - 1])
def test_special_values_give_numpy_results(bad, where, pool):
    # a NaN (either sign), infinities, negative zero, tiny, subnormal, fractional or huge values
    # anywhere in positive or integer data: minimum, maximum, integrality and the NaN/inf of the
    # sum are NumPy's, as validation relies on them
    for x in (np.random.default_rng(3).exponential(1.0, 600_000), np.random.default_rng(3).poisson(3.0, 600_000) * 1.0):
        x[where] = bad
        _check(x, pool)


@needs_kernel
@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
                min_size=1, max_size=10_000))
def test_summary_of_arbitrary_data(values):
    _check(np.array(values, dtype=float))


def test_the_fused_loop_declines_what_it_cannot_read():
    # a strided view, another dtype, 2-D or empty input: None, and the caller keeps NumPy
    x = np.arange(1.0, 101.0)
    assert fused.summarize(x[::2]) is None
    assert fused.summarize(x.astype(np.float32)) is None
    assert fused.summarize(x.reshape(10, 10)) is None
    assert fused.summarize(np.zeros(0)) is None


def test_exponential_fit_without_the_fused_loop_is_the_same(monkeypatch):
    # where llvmlite is missing the NumPy two-pass path runs: same estimate, same validation
    x = np.random.default_rng(4).exponential(0.7, (1 << 21) + 3)
    with_loop = thetahat.fit(x, "exponential")
    monkeypatch.setattr(fused, "_compiled", [None])
    assert fused.summarize(x) is None
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


@pytest.mark.parametrize("family, draw, ref", [
    ("bernoulli", lambda r, n: r.binomial(1, 0.3, n), lambda x: {"p": x.mean()}),
    ("geometric", lambda r, n: r.geometric(0.3, n), lambda x: {"p": 1 / x.mean()}),
    ("halfnormal", lambda r, n: np.abs(r.normal(0, 2, n)), lambda x: {"sigma": np.sqrt(np.mean(x * x))}),
    ("uniform", lambda r, n: r.uniform(-1, 3, n), lambda x: {"a": x.min(), "b": x.max()}),
])
def test_families_fitted_from_the_summary_validate_every_value(family, draw, ref):
    # above 2^20 rows these fits read the data once (the fused summary): textbook estimates, and
    # every kind of bad value still named at its row, all-equal data refused where the family does
    from thetahat import errors

    x = draw(np.random.default_rng(11), (1 << 21) + 99).astype(float)
    f = thetahat.fit(x, family)
    for k, v in ref(x).items():
        assert f.params[k] == pytest.approx(v, rel=1e-12)
    scipy_ll = {"bernoulli": lambda: np.sum(x * np.log(f.params["p"]) + (1 - x) * np.log1p(-f.params["p"])),
                "geometric": lambda: np.sum((x - 1) * np.log1p(-f.params["p"]) + np.log(f.params["p"])),
                "halfnormal": lambda: np.sum(0.5 * np.log(2 / np.pi) - np.log(f.params["sigma"])
                                             - x * x / (2 * f.params["sigma"] ** 2)),
                "uniform": lambda: -x.size * np.log(f.params["b"] - f.params["a"])}[family]()
    assert f.loglik == pytest.approx(scipy_ll, rel=1e-10)
    bads = [(np.nan, errors.NonFiniteDataError), (np.inf, errors.NonFiniteDataError),
            (-np.inf, errors.NonFiniteDataError)]
    if family != "uniform":
        bads.append((-1.0, errors.SupportError))
    if family in ("bernoulli", "geometric"):
        bads += [(0.5, errors.SupportError), (2.0 if family == "bernoulli" else 0.0, errors.SupportError)]
    for bad, error in bads:
        y = x.copy()
        y[1_234_567] = bad
        with pytest.raises(error, match="row 1234567"):
            thetahat.fit(y, family)
    constant = np.full(1 << 21, 1.0)
    with pytest.raises(errors.DegenerateDataError):
        thetahat.fit(constant, family)
