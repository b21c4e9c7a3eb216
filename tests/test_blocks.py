"""Large 2-D fits whose statistics and validation come from one read by blocks
(kernels.blocks, Family.statistics_validated): against math.fsum, np.cov, scipy.stats and the
generic compiled path, with every kind of bad row still named."""

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy import stats as st

import thetahat
from thetahat import errors
from thetahat.kernels import blocks, summary

ROWS = (1 << 20) + 77  # above the size where fits take the one-read statistics
BAD_ROW = 876_543


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(2) as p:
        yield p


@pytest.mark.parametrize("offset", [0.0, 1e4, 1e8])
def test_centred_moments_are_as_accurate_as_exact_sums(offset, pool):
    # the pilot-shifted blocks against exactly rounded (fsum) two-pass moments: far inside
    # np.cov's own error when the data sit far from 0
    x = np.random.default_rng(1).normal(size=(300_001, 3)) @ np.array([[1, 0, 0], [0.5, 1, 0], [0.2, 0.3, 1.0]])
    x += offset
    n, mean, m2 = blocks.centred_moments(x, pool)
    exact_mean = np.array([math.fsum(x[:, j]) / x.shape[0] for j in range(3)])
    r = x - exact_mean
    exact_m2 = np.array([[math.fsum(r[:, i] * r[:, j]) for j in range(3)] for i in range(3)])
    assert n == x.shape[0]
    np.testing.assert_allclose(mean, exact_mean, rtol=0, atol=4e-16 * (offset + 1))  # (np.mean: 4e-6 at 1e8)
    np.testing.assert_allclose(m2, exact_m2, rtol=0, atol=1e-13 * exact_m2[0, 0])
    np.testing.assert_allclose(m2 / n, np.cov(x, rowvar=False, bias=True), rtol=0, atol=1e-9)


@pytest.mark.parametrize("n", [1, 5, blocks.ROWS - 1, blocks.ROWS, 4 * blocks.ROWS + 3])
def test_blocks_cover_every_row_once_in_order(n, pool):
    x = np.arange(2.0 * n).reshape(n, 2)
    parts = blocks.map_row_blocks(lambda b: b[:, 0].copy(), x, pool)
    np.testing.assert_array_equal(np.concatenate(parts), x[:, 0])


def _generic(monkeypatch, x, family, **options):
    # the same fit through the generic path: row-by-row checks and the compiled statistics pass
    fam = thetahat.family(family)
    monkeypatch.setattr(type(fam), "statistics_validated", None)
    try:
        return thetahat.fit(x, family, **options)
    finally:
        monkeypatch.undo()


def _named(x, family, row, value, error, **options):
    y = x.copy()
    y[row] = value
    with pytest.raises(error, match=f"data row {row + 1}"):
        thetahat.fit(y, family, **options)


def test_mvnormal_at_scale(monkeypatch):
    x = np.random.default_rng(2).normal(size=(ROWS, 3)) @ np.array([[1, 0, 0], [0.5, 1, 0], [0.2, 0.3, 1.0]]) + 5.0
    f = thetahat.fit(x, "mvnormal")
    np.testing.assert_allclose(f.params["mu"], x.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(f.params["cov"], np.cov(x, rowvar=False, bias=True), rtol=1e-11)
    ref = st.multivariate_normal(f.params["mu"], f.params["cov"]).logpdf(x).sum()
    assert f.loglik == pytest.approx(ref, rel=1e-11)
    g = _generic(monkeypatch, x, "mvnormal")
    np.testing.assert_allclose(f.params["cov"], g.params["cov"], rtol=1e-12)
    for k in ("mu", "cov"):
        np.testing.assert_allclose(f.se[k], g.se[k], rtol=1e-10)
    _named(x, "mvnormal", BAD_ROW, [0.0, np.nan, 1.0], errors.NonFiniteDataError)
    _named(x, "mvnormal", BAD_ROW, [np.inf, 0.0, 1.0], errors.NonFiniteDataError)
    collinear = x.copy()
    collinear[:, 2] = 2 * collinear[:, 0] - collinear[:, 1]
    with pytest.raises(errors.DegenerateDataError, match="collinear"):
        thetahat.fit(collinear, "mvnormal")
    constant = x.copy()
    constant[:, 1] = 3.0
    with pytest.raises(errors.DegenerateDataError, match="column 1 is constant"):
        thetahat.fit(constant, "mvnormal")


def test_dirichlet_at_scale(monkeypatch):
    x = np.random.default_rng(3).dirichlet([2.0, 3.0, 4.0], ROWS)
    f = thetahat.fit(x, "dirichlet")
    g = _generic(monkeypatch, x, "dirichlet")
    np.testing.assert_allclose(f.params["alpha"], g.params["alpha"], rtol=1e-10)
    ref = st.dirichlet(f.params["alpha"]).logpdf(x.T).sum()
    assert f.loglik == pytest.approx(ref, rel=1e-11)
    _named(x, "dirichlet", BAD_ROW, [0.5, np.nan, 0.5], errors.NonFiniteDataError)
    _named(x, "dirichlet", BAD_ROW, [0.5, 0.0, 0.5], errors.SupportError)
    _named(x, "dirichlet", BAD_ROW, [1.5, -0.2, -0.3], errors.SupportError)
    _named(x, "dirichlet", BAD_ROW, [0.5, 0.3, 0.3], errors.SupportError)  # sums to 1.1
    with pytest.raises(errors.DegenerateDataError):
        thetahat.fit(np.tile([0.2, 0.3, 0.5], (ROWS, 1)), "dirichlet")


def test_multinomial_at_scale(monkeypatch):
    x = np.random.default_rng(4).multinomial(10, [0.2, 0.3, 0.5], ROWS).astype(float)
    f = thetahat.fit(x, "multinomial", fixed={"n": 10})
    np.testing.assert_allclose(f.params["p"], x.sum(axis=0) / (10 * ROWS), rtol=1e-13)
    ref = st.multinomial(10, f.params["p"]).logpmf(x).sum()
    assert f.loglik == pytest.approx(ref, rel=1e-11)
    g = _generic(monkeypatch, x, "multinomial", fixed={"n": 10})
    assert f.loglik == pytest.approx(g.loglik, rel=1e-13)
    np.testing.assert_allclose(f.se["p"], g.se["p"], rtol=1e-10)
    for bad, error in [([np.nan, 5, 5], errors.NonFiniteDataError), ([-np.inf, 5, 5], errors.NonFiniteDataError),
                       ([-1, 6, 5], errors.SupportError), ([0.5, 4.5, 5], errors.SupportError),
                       ([3, 3, 3], errors.SupportError), ([11, 0, 0], errors.SupportError)]:
        _named(x, "multinomial", BAD_ROW, bad, error, fixed={"n": 10})


def test_multinomial_statistics_are_the_same_on_every_path():
    # small samples take the compiled statistics (log-gamma per entry); scipy's log-pmf agrees
    x = np.random.default_rng(5).multinomial(7, [0.1, 0.6, 0.3], 400).astype(float)
    f = thetahat.fit(x, "multinomial", fixed={"n": 7})
    np.testing.assert_allclose(f.params["p"], x.sum(axis=0) / x.sum(), rtol=1e-14)
    assert f.loglik == pytest.approx(st.multinomial(7, f.params["p"]).logpmf(x).sum(), rel=1e-12)
    w = np.random.default_rng(6).integers(0, 3, 400).astype(float)
    fw = thetahat.fit(x, "multinomial", fixed={"n": 7}, weights=w)
    fr = thetahat.fit(np.repeat(x, w.astype(int), axis=0), "multinomial", fixed={"n": 7})
    np.testing.assert_allclose(fw.params["p"], fr.params["p"], rtol=1e-13)
    assert fw.loglik == pytest.approx(fr.loglik, rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_mvnormal_constant_column_is_refused_on_every_path(weighted):
    # a centred sum of squares of a constant column can leave ~1e-34 instead of 0: the check is exact
    x = np.random.default_rng(7).normal(size=(1000, 3))
    x[:, 1] = 3.3
    w = np.random.default_rng(8).integers(1, 4, 1000).astype(float) if weighted else None
    with pytest.raises(errors.DegenerateDataError, match="column 1 is constant"):
        thetahat.fit(x, "mvnormal", weights=w)


def test_multinomial_with_counts_beyond_the_counting_loop(monkeypatch):
    # entries wider than the counting tables: the one-read statistics step aside, same fit
    x = np.random.default_rng(9).multinomial(10, [0.2, 0.3, 0.5], ROWS).astype(float)
    fast = thetahat.fit(x, "multinomial", fixed={"n": 10})
    monkeypatch.setattr(summary, "MAX_COUNT_SPAN", 4)
    slow = thetahat.fit(x, "multinomial", fixed={"n": 10})
    assert slow.loglik == pytest.approx(fast.loglik, rel=1e-13)
    np.testing.assert_allclose(slow.params["p"], fast.params["p"], rtol=1e-14)
