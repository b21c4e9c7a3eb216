"""Batched workloads on JAX's default device (a GPU where one is present) and on the CPU, in the same run.

    python benchmarks/bench_gpu.py              # realistic sizes (make bench-gpu)
    python benchmarks/bench_gpu.py --quick      # small sizes: a smoke test of the script
    python benchmarks/bench_gpu.py --no-write   # print only; do not touch docs/benchmarks.md

Workloads, each timed after a compiling warm-up as the median of a few repeats:

* ``thetahat.fit_many``: 2,000 groups of 200 gamma draws, one batched call;
* ``Fit.bootstrap``: 1,000 parametric replicates of a gamma fit on 5,000 rows;
* ``thetahat.study.consistency``: a gamma simulation study, 2,000 replicates at n = 20, 100 and 500.

Each runs on ``jax.devices()[0]`` (the default backend) and again under ``jax.default_device(cpu)``; the row
says how the two answers compare. Where the default backend is the CPU there is no accelerator, and the CPU
alone is timed. Nothing here needs a GPU. The results replace the accelerator section of docs/benchmarks.md
and leave the `make bench` section as it is.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import cell, machine, now, seconds, write_section  # noqa: E402

FULL = {"groups": 2000, "rows": 200, "boot_n": 5000, "boot_b": 1000, "study_reps": 2000, "study_ns": (20, 100, 500),
        "repeats": 5}
QUICK = {"groups": 100, "rows": 50, "boot_n": 500, "boot_b": 100, "study_reps": 100, "study_ns": (20, 50),
         "repeats": 3}
TRUTH = {"shape": 2.5, "rate": 1.5}


def _time(fn, repeats):
    """(cold seconds, median warm seconds, last result): the first call compiles, the rest are timed."""
    t0 = time.perf_counter()
    out = fn()
    cold = time.perf_counter() - t0
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return cold, float(np.median(ts)), out


def workloads(size):
    """``[(name, fn, summary)]``: ``fn()`` runs the workload, ``summary(result)`` gives the numbers compared
    across devices."""
    import thetahat

    rng = np.random.default_rng(0)
    g, r = size["groups"], size["rows"]
    table = {"g": np.repeat(np.arange(g), r), "x": rng.gamma(TRUTH["shape"], 1 / TRUTH["rate"], g * r)}
    x = rng.gamma(TRUTH["shape"], 1 / TRUTH["rate"], size["boot_n"])

    def many():
        return thetahat.fit_many(table, "gamma", by="g", value="x")

    def boot():
        # the fit is made on the device being timed, so that everything the bootstrap touches lives there
        return thetahat.fit(x, "gamma").bootstrap(size["boot_b"], seed=1)

    def study():
        return thetahat.study.consistency("gamma", TRUTH, ns=size["study_ns"], reps=size["study_reps"], seed=0,
                                          progress=False)

    return [
        (f"fit_many gamma, {g:,} groups x {r}", many, lambda m: np.asarray(m["shape"], dtype=float)),
        (f"bootstrap gamma n={size['boot_n']:,}, {size['boot_b']:,} parametric refits", boot,
         lambda b: np.asarray(b.replicates["shape"], dtype=float)),
        (f"study.consistency gamma, {size['study_reps']:,} reps x n = {', '.join(map(str, size['study_ns']))}",
         study, lambda s: np.array([row["mean"] for row in s.table])),
    ]


def _relative_difference(a, b) -> float:
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))) if a.size else 0.0


def run(size):
    """``(rows, accelerator)``; a row is ``(workload, device, cold, warm, vs CPU, note)``."""
    import jax

    cpu = jax.devices("cpu")[0]
    default = jax.devices()[0]
    accelerator = jax.default_backend() != "cpu"
    rows = []
    for name, fn, summary in workloads(size):
        results = {}
        targets = [("default", default), ("cpu", cpu)] if accelerator else [("cpu", cpu)]
        for label, dev in targets:
            with jax.default_device(dev):
                cold, warm, out = _time(fn, size["repeats"])
            results[label] = (dev, cold, warm, summary(out))
        ref_warm, ref = results["cpu"][2], results["cpu"][3]
        for label, (dev, cold, warm, numbers) in results.items():
            device = f"{dev.platform}: {getattr(dev, 'device_kind', dev.platform)}"
            if label == "cpu":
                rows.append((name, device, cold, warm, "", "the reference"))
            else:
                diff = _relative_difference(numbers, ref)
                rows.append((name, device, cold, warm, f"{ref_warm / warm:.3g}x",
                             f"answers differ from the CPU's by {diff:.1e} (max relative)"))
    return rows, accelerator


def markdown(rows, accelerator, size, quick, started, wall) -> str:
    out = ["## Batched workloads on an accelerator and on the CPU (`make bench-gpu`)", "",
           f"Machine: {machine()}.", "",
           f"Run: {started}, {wall / 60:.1f} min{', --quick sizes' if quick else ''}; "
           f"cold = the first call (compilation included), warm = the median of {size['repeats']} repeats."]
    if not accelerator:
        out += ["", "No accelerator present: JAX's default backend is the CPU, so the CPU alone is timed."]
    out += ["", "| workload | device | cold | warm | CPU warm / warm | answers |", "|---|---|---|---|---|---|"]
    out += [f"| {cell(w)} | {cell(d)} | {seconds(c)} | {seconds(t)} | {cell(v)} | {cell(n)} |"
            for w, d, c, t, v, n in rows]
    return "\n".join(out) + "\n"


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    bad = [a for a in args if a not in ("--quick", "--no-write")]
    if bad:
        raise SystemExit(__doc__)
    quick = "--quick" in args
    size = QUICK if quick else FULL
    started, t0 = now(), time.perf_counter()
    rows, accelerator = run(size)
    if not accelerator:
        print("no accelerator present: JAX's default backend is the CPU; timing the CPU only")
    for w, d, c, t, v, n in rows:
        print(f"{w:60s} {d:24s} cold {seconds(c):>9s}  warm {seconds(t):>9s}  {v:>14s}  {n}")
    if "--no-write" not in args:
        write_section("bench_gpu.py", markdown(rows, accelerator, size, quick, started, time.perf_counter() - t0))
        print("wrote docs/benchmarks.md (the accelerator section)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
