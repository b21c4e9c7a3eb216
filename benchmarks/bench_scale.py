"""Scale: 10^8 rows of gamma data in Parquet, written to a temporary folder.

* gamma, streamed: rows per second against pyarrow's raw scan of the same column
  (target: at least 50 %), peak resident memory of the fitting process <= 1 GB, and
  the estimates equal to the in-memory fit of the loaded column (1e-10 relative).
* weibull on the same rows: at most 12 passes, same memory bound and agreement.
* the same two fits on a Dask LocalCluster (2 worker processes, each reading its own
  row groups) against in-process streaming: the ratio is reported.

Each streamed fit runs in a fresh subprocess so that its peak RSS is its own.
``THETAHAT_BENCH_SCALE_ROWS`` overrides the row count (e.g. 10**7 for a quick run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from _common import Row

ROWS = int(float(os.environ.get("THETAHAT_BENCH_SCALE_ROWS", 1e8)))
FILES = 10
RSS_LIMIT_MB = 1024

CHILD = r"""
import json, sys, time
import thetahat
path, family, mode = sys.argv[1], sys.argv[2], sys.argv[3]
warm = sys.argv[4]
thetahat.fit(warm, family, column="x")  # compile on one small file first (the cache is on disk anyway)
if mode == "dask":
    from thetahat.scale.cluster import connect
    with connect("local:2") as client:
        thetahat.fit(warm, family, column="x", dask=True)
        t = time.perf_counter()
        f = thetahat.fit(path, family, column="x", dask=True)
        secs = time.perf_counter() - t
else:
    t = time.perf_counter()
    f = thetahat.fit(path, family, column="x")
    secs = cold = time.perf_counter() - t
    if family == "gamma":  # one pass: time it again warm (compiled shapes loaded, page cache as for the scan)
        t = time.perf_counter()
        f = thetahat.fit(path, family, column="x")
        secs = time.perf_counter() - t
passes = int(f.notes[-1].split(" in ")[-1].split()[0])
# VmHWM: this process's own peak (ru_maxrss would carry the parent's peak across fork and exec)
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print(json.dumps({"params": f.params, "se": f.se, "secs": secs, "cold": locals().get("cold"), "passes": passes,
                  "rss_mb": rss,
                  "converged": f.converged}))
"""


def _write(folder):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2026)
    per = ROWS // FILES
    for i in range(FILES):
        x = rng.gamma(2.5, 1.3, per)
        pq.write_table(pa.table({"x": x}), os.path.join(folder, f"part-{i:02d}.parquet"),
                       row_group_size=1 << 20)  # pyarrow's defaults (snappy, no page checksums)
    small = os.path.join(folder, "warm")
    os.makedirs(small)
    pq.write_table(pa.table({"x": rng.gamma(2.5, 1.3, 1 << 20)}), os.path.join(small, "w.parquet"))
    return os.path.join(folder, "part-*.parquet"), os.path.join(small, "w.parquet")


def _scan_seconds(pattern):
    import glob

    import pyarrow.parquet as pq

    t = time.perf_counter()
    total = 0.0
    for f in sorted(glob.glob(pattern)):
        for b in pq.ParquetFile(f).iter_batches(batch_size=1 << 20, columns=["x"]):
            total += b.column(0).to_numpy().shape[0]
    return time.perf_counter() - t, total


def _child(pattern, family, mode, warm):
    out = subprocess.run([sys.executable, "-c", CHILD, pattern, family, mode, warm], capture_output=True,
                         text=True, timeout=900)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _agree(r, ref):
    return r["converged"] and all(np.isclose(r["params"][k], ref.params[k], rtol=1e-10, atol=0)
                                  and np.isclose(r["se"][k], ref.se[k], rtol=1e-10, atol=0) for k in ref.params)


def run():
    import pyarrow.parquet as pq

    import thetahat

    folder = tempfile.mkdtemp(prefix="thetahat-bench-scale-")
    rows = []
    try:
        pattern, warm = _write(folder)
        _scan_seconds(pattern)  # page cache warm for both
        scan_s = min(_scan_seconds(pattern)[0] for _ in range(2))
        x = np.concatenate([pq.read_table(f, columns=["x"]).column(0).to_numpy()
                            for f in sorted(__import__("glob").glob(pattern))])
        ref = {fam: thetahat.fit(x, fam) for fam in ("gamma", "weibull")}
        t = time.perf_counter()
        thetahat.fit(x, "weibull")
        mem_weibull_s = time.perf_counter() - t
        del x
        label = f"{ROWS:.0e}".replace("e+0", "e")
        g = _child(pattern, "gamma", "local", warm)
        ok = _agree(g, ref["gamma"]) and g["rss_mb"] <= RSS_LIMIT_MB
        rows.append(Row(f"gamma {label} rows Parquet, streamed", g["secs"], "pyarrow raw scan", scan_s, ok,
                        ">= 0.5x (rate)", 0.5, cold_s=g["cold"],
                        detail=f"{ROWS / g['secs'] / 1e6:.0f} M rows/s vs scan {ROWS / scan_s / 1e6:.0f} M rows/s; "
                               f"peak RSS {g['rss_mb']:.0f} MB (limit {RSS_LIMIT_MB}); {g['passes']} pass"))
        w = _child(pattern, "weibull", "local", warm)
        ok = _agree(w, ref["weibull"]) and w["rss_mb"] <= RSS_LIMIT_MB and w["passes"] <= 12
        rows.append(Row(f"weibull {label} rows Parquet, streamed", w["secs"], "thetahat in memory (loaded)",
                        mem_weibull_s, ok, "<= 12 passes, report", 0.0,
                        detail=f"{w['passes']} passes; peak RSS {w['rss_mb']:.0f} MB; in memory needs "
                               f"{ROWS * 8 / 2**20:.0f} MB for the column alone"))
        for fam, local in (("gamma", g), ("weibull", w)):
            d = _child(pattern, fam, "dask", warm)
            rows.append(Row(f"{fam} {label} rows, Dask LocalCluster(2)", d["secs"], "in-process streaming",
                            local["secs"], _agree(d, ref[fam]), "report ratio", 0.0,
                            detail=f"{d['passes']} pass(es); workers read their own row groups"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
