"""The one-read summary (kernels.summary) against NumPy's own whole-array reductions and math.fsum."""

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import thetahat
from scipy import stats as sst
from thetahat.kernels import summary


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(2) as p:
        yield p


def _check(x, pool=None, integral=True):
    s = summary.summarize(x, pool, summary.FIELDS if integral else ("sum", "sum_sq", "min", "max"))
    assert s["n"] == x.size
    finite = bool(np.all(np.isfinite(x)))
    assert s["finite"] == finite
    for key, ref in (("min", np.min(x)), ("max", np.max(x))):
        assert (np.isnan(s[key]) and np.isnan(ref)) or s[key] == ref
    # whole numbers: finite values equal to their floor (an infinity is not one)
    assert s.get("integral") == (bool(np.all(np.isfinite(x) & (np.floor(x) == x))) if integral else None)
    # every NaN and infinity shows, whatever is asked for (the maximum is read a second time
    # where a sum is not finite)
    for fields in (("sum",), ("sum_sq",), ("integral",), ()):
        assert summary.summarize(x, pool, fields)["finite"] == finite
    assert summary.summarize(x, pool, ("equal",))["equal"] == bool(np.all(x == x[0]))
    # data of two values are counted: every field as the general read gives it
    two = np.where(np.isnan(x), np.nan, np.where(x > np.nanmedian(x), 1.0, 0.0))
    general = summary.summarize(two, pool)
    counted = summary.summarize(two, pool, two_values=(0.0, 1.0))
    assert counted.keys() == general.keys()
    for key in general:
        assert (np.isnan(counted[key]) and np.isnan(general[key])) or counted[key] == general[key], key
    with np.errstate(over="ignore"):
        squares = x * x
    for key, terms in (("sum", x), ("sum_sq", squares)):
        if finite and np.all(np.isfinite(terms)):
            # as accurate as NumPy's pairwise sum: within a few of its errors, or 1e-15 of sum |terms|
            exact, numpy = math.fsum(terms), float(np.add.reduce(terms))
            assert abs(s[key] - exact) <= max(4 * abs(numpy - exact), 1e-15 * float(np.add.reduce(np.abs(terms))))
    if not finite:
        assert not np.isfinite(s["sum"])  # how the caller learns of a NaN or an infinity


@pytest.mark.parametrize("n", [1, 7, summary.BLOCK - 1, summary.BLOCK, summary.BLOCK + 1, 3 * summary.BLOCK + 5,
                               summary.MIN_SPLIT, summary.MIN_SPLIT + 4097, 3_000_001])
def test_summary_matches_numpy_for_every_length(n, pool):
    # block boundaries, the NumPy tail, and the two-thread split of a large array; real and
    # integer-valued data
    x = np.random.default_rng(n).normal(1.0, 2.0, n)
    _check(x)
    _check(x, pool)
    _check(x, pool, integral=False)  # the loop without the whole-number test
    _check(np.floor(x * 3), pool)


@pytest.mark.parametrize("bad", [np.nan, -np.nan, np.inf, -np.inf, -0.0, -1e-300, -3.0, 5e-324, 0.0, 2.5, 1e300])
@pytest.mark.parametrize("where", [0, 5000, 600_000 - 1])
def test_special_values_give_numpy_results(bad, where, pool):
    # a NaN (either sign), infinities, negative zero, tiny, subnormal, fractional or huge values
    # anywhere in positive or integer data: minimum, maximum, integrality and the NaN/inf of the
    # sum are NumPy's, as validation relies on them
    for x in (np.random.default_rng(3).exponential(1.0, 600_000), np.random.default_rng(3).poisson(3.0, 600_000) * 1.0):
        x[where] = bad
        _check(x, pool)
        _check(x, pool, integral=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
                min_size=1, max_size=10_000))
def test_summary_of_arbitrary_data(values):
    _check(np.array(values, dtype=float))
    _check(np.array(values, dtype=float), integral=False)


@pytest.mark.parametrize("values", [(0.0, 1.0), (1.0, 0.0), (-1.0, 1.0)])
@pytest.mark.parametrize("bad", [np.nan, np.inf, 0.5, 2.0, None])
def test_counted_two_values_match_the_general_read(values, bad, pool):
    # a third value anywhere (or none): the counted summary equals the general one
    x = np.random.default_rng(11).choice(np.array(values), 700_001)
    if bad is not None:
        x[654_321] = bad
    general, counted = summary.summarize(x, pool), summary.summarize(x, pool, two_values=values)
    assert counted.keys() == general.keys()
    for key in general:
        assert (np.isnan(counted[key]) and np.isnan(general[key])) or counted[key] == general[key], key


def test_the_summary_declines_what_it_cannot_read_and_reads_a_strided_view():
    # another dtype, 2-D or empty input: None, and the caller keeps its own NumPy route; a
    # strided view is read as it is
    x = np.arange(1.0, 101.0)
    assert summary.summarize(x.astype(np.float32)) is None
    assert summary.summarize(x.reshape(10, 10)) is None
    assert summary.summarize(np.zeros(0)) is None
    _check(x[::2])
    assert summary.count_integers(x[::2], 1.0, 99.0).tolist() == [1, 0] * 49 + [1]


def test_this_thread_failing_waits_for_the_worker(pool):
    # an interrupt on this thread: the worker, which reads the array, is waited for
    import time

    done = []

    def work(start, stop):
        if start > 0:  # this thread's half
            raise KeyboardInterrupt
        time.sleep(0.05)
        done.append(start)

    with pytest.raises(KeyboardInterrupt):
        summary._halves(work, 1 << 20, pool)
    assert done == [0]


def test_negative_zero_is_inside_the_exponential_support():
    # -0.0 is a whole number inside the support (floor(-0.0) == -0.0)
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
    # above 2^20 rows these fits read the data once (the summary): textbook estimates, and
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
        with pytest.raises(error, match="data row 1234568"):
            thetahat.fit(y, family)
    constant = np.full(1 << 21, 1.0)
    with pytest.raises(errors.DegenerateDataError):
        thetahat.fit(constant, family)


@pytest.mark.parametrize("lo, span, n", [(0, 1, 1), (0, 4, 3), (-7, 60, 10_001), (5, 1, (1 << 19) + 3),
                                         (-3, summary.MAX_COUNT_SPAN, (1 << 19) + 1), (1e12, 300, 1001)])
def test_counts_match_bincount(lo, span, n, pool):
    x = lo + np.random.default_rng(span).integers(0, span, n).astype(float)
    c = summary.count_integers(x, x.min(), x.max(), pool)
    ref = np.bincount((x - x.min()).astype(np.int64))
    assert c.dtype == np.int64 and c.shape == ref.shape and np.array_equal(c, ref)


def test_counts_of_long_runs_and_the_limits_of_the_count(pool):
    # runs of one value across the two halves; a span wider than MAX_COUNT_SPAN, or a value too
    # large for int64, is declined and the caller keeps np.unique
    x = np.repeat([3.0, 9.0, 3.0], [(1 << 19) + 1, 5, 7])
    assert np.array_equal(summary.count_integers(x, 3.0, 9.0, pool), [(1 << 19) + 8, 0, 0, 0, 0, 0, 5])
    assert summary.count_integers(np.array([0.0, summary.MAX_COUNT_SPAN]), 0.0, float(summary.MAX_COUNT_SPAN)) is None
    assert summary.count_integers(np.array([2.0**63]), 2.0**63, 2.0**63) is None


def _bad_values_named(x, family, bads):
    for bad, error in bads:
        y = x.copy()
        y[1_234_567] = bad
        with pytest.raises(error, match="data row 1234568"):
            thetahat.fit(y, family)


def test_categorical_from_one_read_and_one_count():
    # above 2^20 rows a categorical fit is validated by the summary and counted by
    # count_integers: p_j = count_j / n, and every kind of bad label is still named at its row
    from thetahat import errors

    x = np.random.default_rng(12).choice(5, (1 << 21) + 99, p=[0.1, 0.2, 0.3, 0.15, 0.25]).astype(float)
    f = thetahat.fit(x, "categorical")
    counts = np.bincount(x.astype(np.int64))
    np.testing.assert_allclose(f.params["p"], counts / x.size, rtol=1e-14)
    assert f.loglik == pytest.approx(float(np.sum(counts * np.log(counts / x.size))), rel=1e-12)
    _bad_values_named(x, "categorical", [(np.nan, errors.NonFiniteDataError), (np.inf, errors.NonFiniteDataError),
                                         (-1.0, errors.SupportError), (2.5, errors.SupportError)])
    with pytest.raises(errors.DegenerateDataError):
        thetahat.fit(np.zeros(1 << 21), "categorical")


def test_discrete_fit_on_counts_is_the_same_as_on_the_rows(monkeypatch):
    # a numerical discrete fit reduces the rows to counts (summary, count_integers); a span too
    # wide for the count takes np.unique: the same fit
    x = np.random.default_rng(13).negative_binomial(3, 0.4, (1 << 21) + 5).astype(float)
    with_loops = thetahat.fit(x, "nbinom")
    monkeypatch.setattr(summary, "MAX_COUNT_SPAN", 4)
    without = thetahat.fit(x, "nbinom")
    for k in without.params:
        assert with_loops.params[k] == pytest.approx(without.params[k], rel=1e-12)
    assert with_loops.loglik == pytest.approx(without.loglik, rel=1e-13)
    assert with_loops.loglik == pytest.approx(float(np.sum(sst.nbinom(with_loops.params["r"],
                                                                      with_loops.params["p"]).logpmf(x))), rel=1e-10)


def test_laplace_at_scale_is_the_median_and_the_mean_absolute_deviation():
    # the closed form gives its derivatives itself (no compiled pass): scipy's log-density, and
    # the data validated by the summary, bad values named at their rows
    from thetahat import errors

    x = np.random.default_rng(14).laplace(1.0, 2.0, (1 << 21) + 1)
    f = thetahat.fit(x, "laplace")
    mu = np.median(x)
    assert f.params["loc"] == mu
    assert f.params["scale"] == pytest.approx(np.mean(np.abs(x - mu)), rel=1e-12)
    assert f.loglik == pytest.approx(float(np.sum(sst.laplace(mu, f.params["scale"]).logpdf(x))), rel=1e-11)
    assert f.se["scale"] == pytest.approx(f.params["scale"] / np.sqrt(x.size), rel=1e-12)  # I_b = 1 / b^2
    _bad_values_named(x, "laplace", [(np.nan, errors.NonFiniteDataError), (-np.inf, errors.NonFiniteDataError)])
    with pytest.raises(errors.DegenerateDataError):
        thetahat.fit(np.full(1 << 21, 2.5), "laplace")
