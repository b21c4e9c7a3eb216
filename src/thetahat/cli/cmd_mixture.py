"""``thetahat mixture FILE --k 2 --family normal [--column C(,C2)] [--json]``: a finite mixture by EM."""

from __future__ import annotations

from ._args import em_starts, positive_int, seed

from . import _stream


def add_parser(subparsers):
    p = subparsers.add_parser("mixture", help="fit a finite mixture by EM")
    p.add_argument("file", help="CSV, Parquet, JSON lines or plain text file; '-' reads stdin")
    p.add_argument("--k", required=True, help="number of components, or a range 'A-B' chosen by BIC")
    p.add_argument("--family", "-f", default="normal", help="component family (default normal)")
    p.add_argument("--column", "-c", help="column(s) to read, comma-separated for multivariate data")
    p.add_argument("--cov-type", default="full", help="full, diag, spherical or tied (multivariate normal)")
    p.add_argument("--starts", type=em_starts, default=1,
                   help="number of EM runs from k-means++ starts (1 to 1000)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the starts (0 to 2^63-1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--dropna", action="store_true", help="streamed input: drop rows with NaN and count them")
    _stream.add_arguments(p)
    p.set_defaults(func=run)


def parse_k(text):
    from thetahat.errors import OptionError

    a, sep, b = str(text).partition("-")
    try:
        if sep:
            return range(int(a), int(b) + 1)
        return int(a)
    except ValueError:
        raise OptionError(f"--k expects an integer or a range like 1-6, got {text!r}") from None


def run(args) -> int:
    import sys

    import numpy as np

    import thetahat

    from ._output import print_json

    columns = [c.strip() for c in args.column.split(",")] if args.column else None
    many = columns is not None and len(columns) > 1
    kw = dict(family=args.family, cov_type=args.cov_type, starts=args.starts, seed=args.seed)
    if _stream.wanted(args):
        context, on_dask = _stream.scheduler(args)
        with context:
            f = thetahat.mixture(args.file, parse_k(args.k), column=None if many else args.column,
                                 columns=columns if many else None, dropna=args.dropna, dask=on_dask, **kw)
        info = {"source": args.file, "columns": columns or []}
    else:
        x, info = thetahat.read_column(args.file, None if many else args.column, columns=columns if many else None,
                                       ndim=1 if many else 0)
        if args.dropna:
            keep = ~(np.isnan(x) if x.ndim == 1 else np.isnan(x).any(axis=1))
            if not keep.all():
                x = x[keep]
                print(f"dropped rows: {int((~keep).sum())} (NaN)", file=sys.stderr)
        f = thetahat.mixture(x, parse_k(args.k), **kw)
    if args.json:
        d = f.to_dict()
        d["source"], d["columns"] = info["source"], info["columns"]
        print_json(d)
    else:
        print(f"data: {info['source']} [{', '.join(info['columns'])}]")
        print(f.summary())
    return 0
