"""``thetahat explain FILE --family F [--column C] [--markdown]``: a fit told the way a textbook would.

Only parses arguments and calls :func:`thetahat.explain`.

Examples
--------
>>> from thetahat.cli.main import main
>>> main(["explain", "no-such-file.csv", "--family", "normal"])
2
"""

from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("explain", help="explain a maximum likelihood fit step by step")
    p.add_argument("file", help="CSV, Parquet, JSON lines or plain text file; '-' reads stdin")
    p.add_argument("--column", "-c", help="column to read")
    p.add_argument("--family", "-f", required=True, help="family name (see 'thetahat families')")
    p.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE",
                   help="hold a parameter at a value, or give a known value (binomial n); repeatable")
    p.add_argument("--dropna", action="store_true", help="drop rows with missing values")
    p.add_argument("--markdown", action="store_true", help="print Markdown instead of rich terminal output")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    import thetahat

    from ._output import console
    from .main import _parse_fix

    x, info = thetahat.read_column(args.file, args.column)
    x = np.asarray(x, dtype=float)
    if args.dropna:
        x = x[~np.isnan(x)]
    source = f" from {info['source']} [{', '.join(info['columns'])}]"
    e = thetahat.explain(x, args.family, fixed=_parse_fix(args.fix) or None, source=source)
    if args.markdown:
        import sys

        sys.stdout.write(e.to_markdown())
    else:
        console().print(e.to_rich())
    return 0
