"""Fits on a real ``dask.distributed.LocalCluster`` (2 worker processes on loopback,
started and stopped here): the same estimates and standard errors as the in-memory
fit, files read by the workers themselves, and a worker killed mid-fit.

Reference: the in-memory fit of the same rows (checked against scipy/R elsewhere).
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import thetahat

distributed = pytest.importorskip("distributed", reason="dask.distributed is a dev dependency")
da = pytest.importorskip("dask.array", reason="dask is a dev dependency")

RTOL = 1e-10


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, host="127.0.0.1")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(77)
    return {"normal": rng.normal(-1.0, 0.5, 90_000), "gamma": rng.gamma(3.0, 0.4, 90_000),
            "weibull": 1.5 * rng.weibull(2.2, 90_000)}


def _same(f, g):
    assert f.converged and g.converged
    for k in g.params:
        np.testing.assert_allclose(f.params[k], g.params[k], rtol=RTOL, atol=0)
        np.testing.assert_allclose(f.se[k], g.se[k], rtol=RTOL, atol=0)
    assert f.nobs == g.nobs


@pytest.mark.parametrize("family", ["normal", "gamma", "weibull"])
def test_dask_array_on_a_local_cluster_matches_memory(client, samples, family):
    x = samples[family]
    f = thetahat.fit(da.from_array(x, chunks=20_000), family)
    _same(f, thetahat.fit(x, family))
    assert "Dask array in 5 partitions" in f.notes[-1]


def test_workers_read_the_parquet_files_themselves(client, samples, tmp_path):
    x = samples["weibull"]
    for i, part in enumerate(np.array_split(x, 3)):
        pq.write_table(pa.table({"x": part}), tmp_path / f"w{i}.parquet", row_group_size=10_000)
    f = thetahat.fit(str(tmp_path / "*.parquet"), "weibull", column="x", dask=True)
    _same(f, thetahat.fit(x, "weibull"))
    assert "3 files" in f.notes[-1]


def test_a_worker_killed_mid_fit_is_retried_with_the_same_answer(client, samples, tmp_path):
    x = samples["weibull"]
    marker = str(tmp_path / "killed-once")

    def die_once(block, block_info=None):
        # the first computation of block 3 takes its worker process down
        if block_info and block_info[0]["chunk-location"] == (3,) and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        return block

    dx = da.from_array(x, chunks=15_000).map_blocks(die_once, dtype=float)
    f = thetahat.fit(dx, "weibull")
    assert os.path.exists(marker), "no worker was killed: the test did not test anything"
    _same(f, thetahat.fit(x, "weibull"))


def test_cli_runs_the_passes_on_a_remote_scheduler(client, samples, tmp_path, capsys):
    import json

    from thetahat.cli.main import main

    x = samples["gamma"]
    for i, part in enumerate(np.array_split(x, 2)):
        pq.write_table(pa.table({"x": part}), tmp_path / f"g{i}.parquet")
    address = client.scheduler.address  # tcp://127.0.0.1:PORT, as a remote cluster would give
    assert main(["fit", str(tmp_path / "*.parquet"), "--column", "x", "--family", "gamma", "--scheduler", address,
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = thetahat.fit(x, "gamma")
    for k in ref.params:
        assert out["params"][k] == pytest.approx(ref.params[k], rel=RTOL)
        assert out["se"][k] == pytest.approx(ref.se[k], rel=RTOL)
    assert main(["fit", str(tmp_path / "*.parquet"), "--column", "x", "--family", "gamma", "--scheduler",
                 "udp://nowhere"]) == 2
    assert "not a Dask scheduler" in capsys.readouterr().err
