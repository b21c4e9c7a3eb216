"""``thetahat nls FILE "y ~ b1*(1 - exp(-b2*x))" --start b1=500,b2=1e-4``: nonlinear least squares.

The formula is passed as text to :func:`thetahat.regression.nls_formula.nls_formula`, which reads it
without evaluating any Python (numbers, columns, the parameters of ``--start``, arithmetic and a few
named functions).

Examples
--------
>>> import os, tempfile
>>> from thetahat.cli.main import main
>>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
>>> _ = open(path, "w").write("y,x\\n1,0\\n3,1\\n2,2\\n6,3\\n")
>>> main(["nls", path, "y ~ b1*x", "--start", "b1"])
2
"""

from __future__ import annotations


def add_parser(subparsers):
    r = subparsers.add_parser("nls", help="nonlinear least squares (Gaussian maximum likelihood) from a formula")
    r.add_argument("file", help="CSV, TSV, Parquet or JSON lines file with a header; '-' reads CSV from stdin")
    r.add_argument("formula", help="'y ~ expression' in columns and parameters, e.g. 'y ~ b1*(1 - exp(-b2*x))': "
                                   "numbers, + - * / ** (or ^), exp, log, log10, log1p, expm1, sqrt, abs, sin, "
                                   "cos, tan, arcsin, arccos, arctan, sinh, cosh, tanh, pi (no Python is evaluated)")
    r.add_argument("--start", action="append", required=True, metavar="NAME=VALUE,...",
                   help="the parameters and their starting values, e.g. b1=500,b2=1e-4 (repeatable)")
    r.add_argument("--weights", "--weights-column", dest="weights", metavar="COLUMN",
                   help="column of positive precision weights (Var = sigma^2/w)")
    r.add_argument("--max-iter", type=int, default=2000, dest="max_iter", help="Jacobian evaluations allowed")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.set_defaults(func=run)


def parse_start(items) -> dict:
    """``["b1=500,b2=1e-4"]`` -> ``{"b1": 500.0, "b2": 0.0001}``; an :class:`OptionError` naming the bad pair."""
    from thetahat.errors import OptionError

    start = {}
    for item in items:
        for pair in item.split(","):
            name, sep, value = (s.strip() for s in pair.partition("="))
            if not sep or not name or not value:
                raise OptionError(f"--start expects NAME=VALUE pairs separated by commas, got {pair.strip()!r}")
            if not name.isidentifier():
                raise OptionError(f"--start {name}={value}: {name!r} is not a parameter name (letters, digits, _)")
            if name in start:
                raise OptionError(f"--start gives {name} twice")
            try:
                start[name] = float(value)
            except ValueError:
                raise OptionError(f"--start {name}: {value!r} is not a number") from None
    return start


def run(args) -> int:
    from thetahat.regression.nls_formula import nls_formula

    from .cmd_regress import _read

    start = parse_start(args.start)
    df, source = _read(args.file)
    f = nls_formula(args.formula, df, start, weights=args.weights, max_iter=args.max_iter)
    if args.json:
        from ._output import print_json

        d = f.to_dict()
        d["source"], d["formula"] = source, args.formula
        print_json(d)
        return 0
    from ._messages import printable

    print(f"data: {printable(source)}   formula: {printable(args.formula)}")
    print(f.summary())
    return 0
