"""`make bench`: run every benchmark module, print one table of thetahat against its peers, and rewrite the
`make bench` section of docs/benchmarks.md with this run's tables (the accelerator section is kept).

    python benchmarks/run.py                          # every module
    python benchmarks/run.py bench_nls bench_cli      # some modules (the section says which ran)
    python benchmarks/run.py --no-write bench_nls     # print only
"""

from __future__ import annotations

import importlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from _common import cell, machine, now, seconds, write_section  # noqa: E402

CORE = ["bench_scipy_fit", "bench_sufficient", "bench_compare", "bench_cli"]
# every other bench_*.py in this folder runs after the core ones, in name order; bench_gpu.py has its own target
MODULES = CORE + sorted(f[:-3] for f in os.listdir(os.path.dirname(os.path.abspath(__file__)))
                       if f.startswith("bench_") and f.endswith(".py") and f[:-3] not in CORE + ["bench_gpu"])
COLUMNS = ("workload", "thetahat", "cold", "peer", "peer time", "ratio", "target", "agree", "met")


def _ratio(x: float) -> str:
    return f"{x:.0f}x" if x >= 100 else f"{x:.3g}x"


def _cells(r) -> tuple:
    return (r.workload, seconds(r.ours_s), seconds(r.cold_s), r.peer, seconds(r.peer_s), _ratio(r.ratio),
            r.target, "yes" if r.agree else "NO", "yes" if r.met else "NO")


def markdown(results: list, skipped: list, started: str, wall: float) -> str:
    """The `make bench` section: machine, date, then one table per module with its details."""
    all_met = all(r.met for _, _, rows, _ in results for r in rows)
    out = ["## thetahat against its peers (`make bench`)", "",
           f"Machine: {machine()}.", "",
           f"Run: {started}, {wall / 60:.1f} min; "
           f"{'all targets met' if all_met else 'SOME TARGETS NOT MET'}. Times are medians of warm repeats; "
           "cold is the first call in the process, compilation included; ratio = peer time / thetahat time."]
    if skipped:
        out += ["", f"Not run this time: {', '.join(skipped)}."]
    for name, doc, rows, secs in results:
        out += ["", f"### {name}", "", f"{doc} ({secs:.0f} s).", "",
                "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        out += ["| " + " | ".join(cell(c) for c in _cells(r)) + " |" for r in rows]
        details = [f"- {cell(r.workload)}: {cell(r.detail)}" for r in rows if r.detail]
        if details:
            out += [""] + details
    return "\n".join(out) + "\n"


def main(argv=None):
    from rich.console import Console
    from rich.table import Table

    args = sys.argv[1:] if argv is None else list(argv)
    write = "--no-write" not in args
    only = [a for a in args if not a.startswith("--")] or MODULES
    unknown = [m for m in only if m not in MODULES]
    if unknown:
        raise SystemExit(f"unknown benchmark module(s): {', '.join(unknown)}; known: {', '.join(MODULES)}")

    table = Table(title="thetahat benchmarks (median of repeats, warm; one process, one run)")
    for col in COLUMNS:
        table.add_column(col, justify="right" if col not in ("workload", "peer", "target") else "left")
    results, details = [], []
    started, t_start = now(), time.perf_counter()
    for name in only:
        t0 = time.perf_counter()
        mod = importlib.import_module(name)
        rows = list(mod.run())
        doc = " ".join((mod.__doc__ or name).strip().split("\n\n")[0].split()).rstrip(".").replace("``", "`")
        results.append((name, doc, rows, time.perf_counter() - t0))
        for r in rows:
            table.add_row(*_cells(r))
            if r.detail:
                details.append(f"{r.workload}: {r.detail}")
    all_met = all(r.met for _, _, rows, _ in results for r in rows)
    console = Console(width=160)
    console.print(table)
    for d in details:
        console.print(d, markup=False)
    console.print("all targets met" if all_met else "SOME TARGETS NOT MET")
    if write:
        skipped = [m for m in MODULES if m not in only]
        write_section("run.py", markdown(results, skipped, started, time.perf_counter() - t_start))
        console.print("wrote docs/benchmarks.md (the make bench section)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
