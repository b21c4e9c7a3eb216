"""`make bench`: run every benchmark module and print one table of thetahat against its peers."""

from __future__ import annotations

import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

CORE = ["bench_scipy_fit", "bench_sufficient", "bench_compare", "bench_cli"]
# every other bench_*.py in this folder runs after the core ones, in name order
MODULES = CORE + sorted(f[:-3] for f in os.listdir(os.path.dirname(os.path.abspath(__file__)))
                       if f.startswith("bench_") and f.endswith(".py") and f[:-3] not in CORE)


def main(argv=None):
    from rich.console import Console
    from rich.table import Table

    only = (argv or sys.argv[1:]) or MODULES
    table = Table(title="thetahat benchmarks (median of repeats, warm; one process, one run)")
    for col in ("workload", "thetahat", "cold", "peer", "peer time", "ratio", "target", "agree", "met"):
        table.add_column(col, justify="right" if col not in ("workload", "peer", "target") else "left")
    all_met = True
    details = []
    for name in only:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        for r in mod.run():
            all_met &= r.met
            table.add_row(r.workload, f"{r.ours_s * 1e3:.1f} ms", "" if r.cold_s is None else f"{r.cold_s * 1e3:.0f} ms",
                          r.peer, f"{r.peer_s * 1e3:.1f} ms", f"{r.ratio:.1f}x", r.target,
                          "yes" if r.agree else "NO", "yes" if r.met else "NO")
            if r.detail:
                details.append(f"{r.workload}: {r.detail}")
    console = Console(width=160)
    console.print(table)
    for d in details:
        console.print(d)
    console.print("all targets met" if all_met else "SOME TARGETS NOT MET")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
