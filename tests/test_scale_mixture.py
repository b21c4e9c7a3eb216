"""Streamed and Dask mixtures (thetahat.em.streamed) against the in-memory
thetahat.mixture from the same starting values (the same EM iterations, so agreement to
rounding), scikit-learn's GaussianMixture on the loaded data, and known counts/rows of
planted bad values."""

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.mixture import GaussianMixture

import thetahat
from thetahat.em import MixtureFit
from thetahat.errors import MissingColumnError, NonFiniteDataError, OptionError, SupportError
from thetahat.em.streamed import stream_mixture

RTOL = 1e-10
TIGHT = 1e-13  # EM tolerance per observation: both fits stop at the same, well-converged iteration


def _write_parquet(folder, parts, names=("x",), row_group_size=2_000):
    os.makedirs(folder, exist_ok=True)
    for i, part in enumerate(parts):
        cols = {names[0]: part} if part.ndim == 1 else {c: part[:, j] for j, c in enumerate(names)}
        pq.write_table(pa.table(cols), os.path.join(folder, f"part{i}.parquet"), row_group_size=row_group_size)
    return os.path.join(folder, "*.parquet")


def _same(f, g, se=True):
    # EM's stopping rule compares a change in the log-likelihood with tol: a batched sum and an in-memory
    # one differ in their last bits, so the two may stop one iteration apart on some CPUs
    assert abs(f.iterations - g.iterations) <= 1
    assert f.converged and g.converged
    for k in g.params:
        np.testing.assert_allclose(f.params[k], g.params[k], rtol=RTOL, atol=0, err_msg=k)
        if se:
            np.testing.assert_allclose(f.se[k], g.se[k], rtol=1e-8, atol=0, err_msg=f"se of {k}")
    np.testing.assert_allclose(f.loglik, g.loglik, rtol=RTOL)
    np.testing.assert_allclose(f.objective, g.objective, rtol=RTOL)


@pytest.fixture(scope="module")
def univariate(tmp_path_factory):
    rng = np.random.default_rng(11)
    n = 24_000
    x = np.where(rng.random(n) < 0.35, rng.normal(-1.0, 0.6, n), rng.normal(2.0, 1.1, n))
    path = _write_parquet(str(tmp_path_factory.mktemp("uni")), np.array_split(x, 3))
    return x, path


START1 = {"weights": [0.5, 0.5], "mu": [-0.5, 1.0], "sigma": [1.0, 1.0]}


def test_multifile_parquet_matches_in_memory_and_sklearn(univariate):
    x, path = univariate
    f = thetahat.mixture(path, 2, column="x", start=START1, tol=TIGHT)
    g = thetahat.mixture(x, 2, start=START1, tol=TIGHT)
    _same(f, g)
    assert isinstance(f, MixtureFit)
    # 1 validating pass, one per E-step (iterations + 1), then one per Newton evaluation (the first at EM's
    # estimate; the standard errors reuse the last one's Hessian)
    note = next(n for n in f.notes if n.startswith("streamed from"))
    newton = int(note.split(" EM, ")[1].split(" Newton")[0])
    assert f"in {f.iterations + 2 + newton} passes" in note and newton >= 1
    # scikit-learn on the loaded data, plain maximum likelihood on both sides, at sklearn's tolerance
    h = thetahat.mixture(path, 2, column="x", cov_prior=0, se=False, tol=TIGHT)
    sk = GaussianMixture(2, reg_covar=0, tol=1e-10, max_iter=2000, random_state=0).fit(x[:, None])
    o = np.argsort(sk.means_[:, 0])
    # sklearn stops when the mean log-likelihood changes by < 1e-10, i.e. ~sqrt(1e-10) from the optimum
    np.testing.assert_allclose(h.params["mu"], sk.means_[o, 0], rtol=1e-4)
    np.testing.assert_allclose(h.params["sigma"], np.sqrt(sk.covariances_[o, 0, 0]), rtol=1e-4)
    np.testing.assert_allclose(h.params["weights"], sk.weights_[o], rtol=1e-4)
    ll_sk = sk.score(x[:, None]) * x.size
    assert ll_sk - 1e-12 * abs(ll_sk) <= h.loglik <= ll_sk + 1e-8 * abs(ll_sk)


def test_multivariate_full_matches_in_memory_and_sklearn(tmp_path):
    rng = np.random.default_rng(5)
    n = 12_000
    lab = rng.random(n) < 0.4
    a = rng.multivariate_normal([0, 0], [[1.0, 0.6], [0.6, 1.5]], n)
    b = rng.multivariate_normal([3, 1], [[0.7, -0.2], [-0.2, 0.5]], n)
    X = np.where(lab[:, None], a, b)
    path = _write_parquet(str(tmp_path), np.array_split(X, 4), names=("u", "v"))
    start = {"weights": [0.5, 0.5], "mu": [[0.5, 0.5], [2.0, 0.5]], "cov": [np.eye(2), np.eye(2)]}
    f = thetahat.mixture(path, 2, columns=["u", "v"], start=start, tol=TIGHT)
    g = thetahat.mixture(X, 2, start=start, tol=TIGHT)
    _same(f, g)
    assert f.family == "mvnormal" and f.cov_type == "full"
    sk = GaussianMixture(2, reg_covar=0, tol=1e-10, max_iter=2000, random_state=0).fit(X)
    h = thetahat.mixture(path, 2, column="u,v", cov_prior=0, se=False, tol=TIGHT)
    o = np.argsort(sk.means_[:, 0])
    np.testing.assert_allclose(h.params["mu"], sk.means_[o], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(h.params["cov"], sk.covariances_[o], rtol=1e-3, atol=1e-4)
    ll_sk = sk.score(X) * n
    assert ll_sk - 1e-12 * abs(ll_sk) <= h.loglik <= ll_sk + 1e-8 * abs(ll_sk)
    # classification of new rows by the streamed fit equals the in-memory one
    assert np.array_equal(f.predict(X[:500]), g.predict(X[:500]))
    with pytest.raises(OptionError, match="kept no responsibilities"):
        f.predict()


@pytest.mark.parametrize("cov_type", ["diag", "spherical", "tied"])
def test_constrained_covariances_match_in_memory(tmp_path, cov_type):
    rng = np.random.default_rng(8)
    X = np.concatenate([rng.normal([0, 0], [1.0, 0.5], (900, 2)), rng.normal([4, 2], [0.8, 1.2], (600, 2))])
    rng.shuffle(X)
    path = _write_parquet(str(tmp_path), np.array_split(X, 2), names=("a", "b"), row_group_size=500)
    var = {"diag": np.ones((2, 2)), "spherical": np.ones(2)}
    start = {"weights": [0.5, 0.5], "mu": [[1.0, 1.0], [3.0, 1.0]],
             **({"cov": np.eye(2)} if cov_type == "tied" else {"var": var[cov_type]})}
    f = thetahat.mixture(path, 2, columns=["a", "b"], cov_type=cov_type, start=start, tol=TIGHT, se=False)
    _same(f, thetahat.mixture(X, 2, cov_type=cov_type, start=start, tol=TIGHT, se=False), se=False)


def test_poisson_from_csv_and_exponential(tmp_path):
    rng = np.random.default_rng(2)
    counts = np.concatenate([rng.poisson(1.5, 3000), rng.poisson(9.0, 2000)]).astype(float)
    rng.shuffle(counts)
    for i, c in enumerate(np.array_split(counts, 2)):
        pd.DataFrame({"n": c}).to_csv(tmp_path / f"c{i}.csv", index=False)
    start = {"weights": [0.5, 0.5], "lam": [1.0, 5.0]}
    f = thetahat.mixture(str(tmp_path / "*.csv"), 2, "poisson", column="n", start=start, tol=TIGHT)
    _same(f, thetahat.mixture(counts, 2, "poisson", start=start, tol=TIGHT))
    waits = np.concatenate([rng.exponential(0.5, 2000), rng.exponential(6.0, 1000)])
    path = _write_parquet(str(tmp_path / "exp"), np.array_split(waits, 2), names=("t",))
    start = {"weights": [0.5, 0.5], "lam": [3.0, 0.3]}
    f = thetahat.mixture(path, 2, "exponential", column="t", start=start, tol=TIGHT)
    _same(f, thetahat.mixture(waits, 2, "exponential", start=start, tol=TIGHT))
    counts[4000] = -1.0
    pq.write_table(pa.table({"n": counts}), tmp_path / "bad.parquet")
    with pytest.raises(SupportError, match=r"bad\.parquet: value -1.0 at data row 4001"):
        thetahat.mixture(str(tmp_path / "bad.parquet"), 2, "poisson", column="n")


def test_nan_in_a_file_names_file_and_row_and_dropna_counts(tmp_path):
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0, 1, 3000), rng.normal(5, 1, 2000)])
    rng.shuffle(x)
    parts = np.array_split(x.copy(), 3)
    parts[1][1234] = np.nan
    parts[1][1500] = np.nan
    path = _write_parquet(str(tmp_path), parts, row_group_size=700)
    with pytest.raises(NonFiniteDataError, match=r"part1\.parquet contains NaN at data row 1235 of column 'x'"):
        thetahat.mixture(path, 2, column="x")
    f = stream_mixture(path, 2, column="x", dropna=True, start=START1, tol=TIGHT)
    kept = np.concatenate(parts)
    kept = kept[~np.isnan(kept)]
    assert f.nobs == kept.size == x.size - 2
    assert any("2 rows holding NaN were dropped" in n for n in f.notes)
    _same(f, thetahat.mixture(kept, 2, start=START1, tol=TIGHT))
    parts[2][77] = np.inf
    path = _write_parquet(str(tmp_path / "inf"), parts, row_group_size=700)
    with pytest.raises(NonFiniteDataError, match=r"part2\.parquet contains an infinite value at data row 78"):
        stream_mixture(path, 2, column="x", dropna=True)


def test_pilot_start_reaches_the_in_memory_optimum_and_selection(univariate):
    x, path = univariate
    f = thetahat.mixture(path, 2, column="x", starts=2, seed=1, tol=TIGHT)
    g = thetahat.mixture(x, 2, starts=2, seed=1, tol=TIGHT)
    # different starting points, one optimum: agreement to the EM tolerance, not to rounding
    for k in g.params:
        np.testing.assert_allclose(f.params[k], g.params[k], rtol=1e-5)
    assert f.loglik >= g.loglik - 1e-8 * abs(g.loglik)
    sel = thetahat.mixture(path, range(1, 4), column="x", se=False)
    ref = thetahat.mixture(x, range(1, 4), se=False)
    assert sel.k == ref.k == 2
    np.testing.assert_allclose([r["bic"] for r in sel.table], [r["bic"] for r in ref.table], rtol=1e-6)


def test_refusals(univariate, tmp_path):
    x, path = univariate
    with pytest.raises(OptionError, match="not gamma"):
        thetahat.mixture(path, 2, "gamma", column="x")
    with pytest.raises(OptionError, match="name the column"):
        thetahat.mixture(path, 2)
    with pytest.raises(MissingColumnError, match="'y' is not in"):
        thetahat.mixture(path, 2, column="y")
    # column= also selects from an in-memory table
    g = thetahat.mixture(pd.DataFrame({"x": x}), 2, column="x", start=START1, se=False)
    h = thetahat.mixture(x, 2, start=START1, se=False)
    np.testing.assert_array_equal(g.params["mu"], h.params["mu"])


def test_not_converged_says_so(univariate):
    x, path = univariate
    f = thetahat.mixture(path, 2, column="x", start=START1, max_iter=3, newton_steps=0)
    g = thetahat.mixture(x, 2, start=START1, max_iter=3, newton_steps=0)
    assert not f.converged and "max_iter = 3" in f.reason and f.iterations == 3
    np.testing.assert_allclose(f.params["mu"], g.params["mu"], rtol=RTOL)
    assert any("no standard errors" in n for n in f.notes)


def test_newton_steps_match_in_memory(univariate):
    """EM handed over early (tol 1e-4 per row), then Newton steps (one pass each): the same estimates and SEs as
    the in-memory fit with the same rules, and as EM alone run to tol 1e-13 per row (linear convergence leaves
    that ~1e-6 relative short in the weights: agreement to 1e-5)."""
    x, path = univariate
    f = thetahat.mixture(path, 2, column="x", start=START1, tol=1e-4)
    g = thetahat.mixture(x, 2, start=START1, tol=1e-4)
    h = thetahat.mixture(x, 2, start=START1, tol=TIGHT, newton_steps=0)
    assert f.converged and g.converged and h.converged and "Newton step" in f.reason
    assert abs(f.iterations - g.iterations) <= 1 and max(f.iterations, g.iterations) < h.iterations
    np.testing.assert_allclose(f.loglik, g.loglik, rtol=1e-12)
    for k in g.params:
        # both pass the gradient test (a Newton step would gain < 1e-12 relative): that places the
        # estimates to ~1e-7 relative, and their last digits follow the order of the sums
        np.testing.assert_allclose(f.params[k], g.params[k], rtol=1e-7, err_msg=k)
        np.testing.assert_allclose(f.params[k], h.params[k], rtol=1e-5, err_msg=k)
        np.testing.assert_allclose(f.se[k], g.se[k], rtol=1e-6, err_msg=k)
    # EM alone at the same early stop fails the gradient test, streamed as in memory
    e = thetahat.mixture(path, 2, column="x", start=START1, tol=1e-4, newton_steps=0, se=False)
    assert not e.converged and e.reason.startswith("EM stopped (objective changed by less than tol = 0.0001")


def test_dask_partition_nan_names_the_partition():
    da = pytest.importorskip("dask.array")
    x = np.random.default_rng(0).normal(size=4000)
    x[2500] = np.nan
    with pytest.raises(NonFiniteDataError, match="Dask partition 2 contains NaN at data row 501"):
        thetahat.mixture(da.from_array(x, chunks=1000), 2)


@pytest.mark.slow
def test_dask_local_cluster_matches_in_memory():
    da = pytest.importorskip("dask.array")
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(21)
    n = 20_000
    x = np.where(rng.random(n) < 0.45, rng.normal(-2.0, 1.0, n), rng.normal(1.5, 0.8, n))
    start = {"weights": [0.45, 0.55], "mu": [-2.0, 1.5], "sigma": [1.0, 0.8]}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster):
        f = thetahat.mixture(da.from_array(x, chunks=4_000), 2, start=start, tol=TIGHT)
    _same(f, thetahat.mixture(x, 2, start=start, tol=TIGHT))
    assert any("a Dask array in 5 partitions" in n for n in f.notes)


def test_cli_mixture_streams_a_glob(tmp_path, capsys):
    """``thetahat mixture 'dir/*.parquet' --k 2`` streams, and agrees with the in-memory
    mixture of the loaded rows (which itself is checked against scikit-learn above)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from thetahat.cli.main import main

    rng = np.random.default_rng(21)
    x = np.concatenate([rng.normal(0.0, 1.0, 3000), rng.normal(4.0, 0.7, 2000)])
    rng.shuffle(x)
    for i, part in enumerate(np.array_split(x, 2)):
        pq.write_table(pa.table({"x": part}), tmp_path / f"m{i}.parquet")
    assert main(["mixture", str(tmp_path / "*.parquet"), "--k", "2", "--column", "x", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = thetahat.mixture(x, 2)
    # different starts (a pilot fit vs k-means++ on all rows), EM stopped at tol 1e-10 per row: the two
    # optima agree far inside their standard errors, and their log-likelihoods to rounding
    for k in ("mu", "weights"):
        np.testing.assert_allclose(out["params"][k], ref.params[k], rtol=0, atol=1e-3 * np.min(ref.se[k]))
    assert out["loglik"] == pytest.approx(ref.loglik, rel=1e-10)


def test_streamed_collapse_gives_the_in_memory_verdict(tmp_path):
    """cov_prior=0 and a start on a lone outlier: the EM step onto it would collapse the component (no MLE).
    Streamed and in-memory EM stop at the same iteration with the same reason; the default start too."""
    x = np.r_[np.random.default_rng(1).normal(0, 1, 3000), [8.0]]
    path = _write_parquet(str(tmp_path / "c"), np.array_split(x, 2))
    start = {"weights": [0.99, 0.01], "mu": [0.0, 8.0], "sigma": [1.0, 1.0]}
    f = thetahat.mixture(path, 2, column="x", start=start, cov_prior=0)
    g = thetahat.mixture(x, 2, start=start, cov_prior=0)
    assert not f.converged and not g.converged
    assert f.collapsed == g.collapsed == (1,) and abs(f.iterations - g.iterations) <= 1
    assert f.reason == g.reason and "no MLE" in f.reason
    np.testing.assert_allclose(f.params["sigma"], g.params["sigma"], rtol=1e-8)
    # the responsibility-weighted variance of the next EM step (numpy, Bayes' rule) is below the floor
    p = f.params
    dens = np.stack([w * np.exp(-0.5 * ((x - m) / s) ** 2) / s for w, m, s in
                     zip(p["weights"], p["mu"], p["sigma"])], 1)
    r = dens[:, 1] / dens.sum(1)
    m1 = (r * x).sum() / r.sum()
    assert (r * (x - m1) ** 2).sum() / r.sum() <= (1e3 * np.finfo(float).eps * 8.0) ** 2
    # a cluster of one repeated value, default (k-means++ pilot) starts
    y = np.r_[np.random.default_rng(0).normal(0, 1, 50), [8.0] * 3]
    path2 = _write_parquet(str(tmp_path / "d"), [y])
    f2 = thetahat.mixture(path2, 2, column="x", cov_prior=0, se=False)
    g2 = thetahat.mixture(y, 2, cov_prior=0, se=False)
    assert not f2.converged and f2.collapsed == g2.collapsed == (1,)
    # sklearn without regularisation puts a variance at rounding level on the repeated value
    sk = GaussianMixture(2, reg_covar=0, random_state=0).fit(y[:, None])
    assert np.min(sk.covariances_) <= (1e3 * np.finfo(float).eps * 8.0) ** 2
