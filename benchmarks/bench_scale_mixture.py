"""Streamed mixture EM (``thetahat.mixture`` on Parquet files, one pass per EM iteration)
against the in-memory ``thetahat.mixture`` and scikit-learn's ``GaussianMixture``.

Workload: 10^7 rows of a 1-D two-component normal mixture in 10 Parquet files of 10^6 rows.

* Same start on every side (weights, means, sigmas given explicitly; sklearn through
  ``weights_init``/``means_init``/``precisions_init``), plain maximum likelihood
  (``cov_prior=0``, ``reg_covar=0``), ``tol = 1e-10`` per observation (sklearn's ``tol``
  means the same: the change of the mean log-likelihood), no standard errors (sklearn
  computes none).
* Streamed vs in-memory thetahat must agree to 1e-10 relative (the same EM iterations).
* sklearn takes ~4 s per EM iteration on 10^7 rows (over 2 minutes for one fit), so it is
  compared on the first file (10^6 rows), against the streamed fit of that file. It stops
  when the mean log-likelihood changes by < 1e-10, about sqrt(1e-10) from the optimum in the
  parameters: agreement is 1e-4 in the parameters and 1e-9 in the log-likelihood.
* Times: the streamed fit includes reading the files on every pass; the in-memory fits
  start from arrays already loaded. Peak RSS of a streamed fit and of an in-memory fit
  (loading the column with pyarrow) are measured in fresh subprocesses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

import thetahat
from _common import Row

N, FILES = 10_000_000, 10
START = {"weights": [0.5, 0.5], "mu": [-1.0, 2.0], "sigma": [1.0, 1.0]}
TOL = 1e-10

_RSS = r"""
import sys, time
import numpy as np, thetahat
mode, path = sys.argv[1], sys.argv[2]
start = {"weights": [0.5, 0.5], "mu": [-1.0, 2.0], "sigma": [1.0, 1.0]}
t = time.perf_counter()
if mode == "streamed":
    f = thetahat.mixture(path, 2, column="x", start=start, tol=1e-10, cov_prior=0, se=False)
else:
    import glob, pyarrow.parquet as pq
    x = np.concatenate([pq.read_table(p, columns=["x"]).column(0).to_numpy() for p in sorted(glob.glob(path))])
    f = thetahat.mixture(x, 2, start=start, tol=1e-10, cov_prior=0, se=False)
secs = time.perf_counter() - t
# VmHWM: this process's own peak (ru_maxrss would carry over the parent's peak across exec)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(secs, hwm / 1024, f.iterations)
"""


def _data(folder):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    parts = []
    for i in range(FILES):
        m = N // FILES
        x = np.where(rng.random(m) < 0.3, rng.normal(-2.0, 1.0, m), rng.normal(3.0, 1.5, m))
        pq.write_table(pa.table({"x": x}), os.path.join(folder, f"part{i:02d}.parquet"), row_group_size=1 << 18)
        parts.append(x)
    return np.concatenate(parts), os.path.join(folder, "*.parquet")


def _subprocess(mode, path):
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(here), "src"))
    out = subprocess.run([sys.executable, "-c", _RSS, mode, path], capture_output=True, text=True, env=env,
                         check=True)
    secs, rss, iters = out.stdout.split()
    return float(secs), float(rss), int(iters)


def run():
    from sklearn.mixture import GaussianMixture

    with tempfile.TemporaryDirectory() as folder:
        x, path = _data(folder)
        kw = dict(start=START, tol=TOL, cov_prior=0, se=False)
        s_secs, s_rss, _ = _subprocess("streamed", path)
        m_secs, m_rss, _ = _subprocess("in-memory", path)

        t = time.perf_counter()
        f = thetahat.mixture(path, 2, column="x", **kw)
        t_stream_cold = time.perf_counter() - t
        t = time.perf_counter()
        f = thetahat.mixture(path, 2, column="x", **kw)
        t_stream = time.perf_counter() - t

        t = time.perf_counter()
        g = thetahat.mixture(x, 2, **kw)
        t_mem_cold = time.perf_counter() - t
        t = time.perf_counter()
        g = thetahat.mixture(x, 2, **kw)
        t_mem = time.perf_counter() - t

        one = os.path.join(folder, "part00.parquet")
        x1 = x[: N // FILES]
        t = time.perf_counter()
        f1 = thetahat.mixture(one, 2, column="x", **kw)
        t_one = time.perf_counter() - t
        sk = GaussianMixture(2, reg_covar=0, tol=TOL, max_iter=1000, weights_init=START["weights"],
                             means_init=np.array(START["mu"])[:, None],
                             precisions_init=1.0 / np.array(START["sigma"])[:, None, None] ** 2)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk.fit(x1[:, None])
        t_sk = time.perf_counter() - t
        ll_sk = float(sk.score(x1[:, None]) * x1.size)

        rel = max(float(np.max(np.abs(f.params[k] / g.params[k] - 1))) for k in g.params)
        rel_ll = abs(f.loglik / g.loglik - 1)
        o = np.argsort(sk.means_[:, 0])
        sk_p = {"weights": sk.weights_[o], "mu": sk.means_[o, 0], "sigma": np.sqrt(sk.covariances_[o, 0, 0])}
        rel_sk = max(float(np.max(np.abs(f1.params[k] / sk_p[k] - 1))) for k in sk_p)
        rel_sk_ll = abs(f1.loglik / ll_sk - 1)
        agree_mem = f.converged and f.iterations == g.iterations and rel <= 1e-10 and rel_ll <= 1e-10
        agree_sk = f1.converged and rel_sk <= 1e-4 and rel_sk_ll <= 1e-9
        passes = next(n for n in f.notes if "passes" in n)
    data_mb = N * 8 / 2**20
    rows = [
        Row("mixture k=2, 1e7 rows Parquet: streamed vs in-memory thetahat", t_stream, "thetahat in memory",
            t_mem, agree_mem, "report", 0.0, cold_s=t_stream_cold,
            detail=(f"{f.iterations} EM iterations on both sides ({passes}); max relative difference "
                    f"params {rel:.1e}, loglik {rel_ll:.1e}; in-memory cold {t_mem_cold:.1f} s; peak RSS in a "
                    f"fresh process: streamed {s_rss:.0f} MiB ({s_secs:.1f} s), in-memory {m_rss:.0f} MiB "
                    f"({m_secs:.1f} s, loading included); the column alone is {data_mb:.0f} MiB")),
        Row("mixture k=2, 1e6 rows (one file): streamed vs sklearn (in memory)", t_one, "sklearn GaussianMixture",
            t_sk, agree_sk, "report", 0.0,
            detail=(f"ours {f1.iterations} EM iterations, sklearn {sk.n_iter_} (converged={sk.converged_}); max "
                    f"relative difference params {rel_sk:.1e}, loglik {rel_sk_ll:.1e} (ours {f1.loglik:.6f}, "
                    f"sklearn {ll_sk:.6f}); sklearn on all 1e7 rows takes over 2 minutes")),
    ]
    return rows


if __name__ == "__main__":
    for r in run():
        print(f"{r.workload}: ours {r.ours_s:.2f} s (cold {r.cold_s or float('nan'):.2f} s), {r.peer} "
              f"{r.peer_s:.2f} s, ratio {r.ratio:.2f}, agree {r.agree}\n  {r.detail}")
