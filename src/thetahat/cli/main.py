"""``thetahat`` on the command line.

This module only parses arguments, calls the public API and prints what comes back;
there are no statistics here. Heavy modules (rich, pyarrow) are imported only when
needed, to keep start-up fast.

Every user mistake -- a :class:`thetahat.errors.ThetahatError`, a bad option -- is
printed as one line ``thetahat: error: <message>`` on stderr with exit status 2.
Anything else is a bug: its traceback is printed and the exit status is 1.

Examples
--------
>>> from thetahat.cli.main import main
>>> main(["fit", "no-such-file.csv", "--family", "normal"])
2
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import sys

from . import _stream
from ._args import positive_int, seed
from ._messages import cli_words, printable
from ._output import console as _console
from ._output import esc as _esc
from ._output import g as _g
from ._output import print_json as _print_json

PROG = "thetahat"


class _UsageError(Exception):
    """An argparse complaint, turned into our one-line error."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print the usage and exit; we want one line
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Maximum likelihood estimation from the command line.")
    sub = p.add_subparsers(dest="command", metavar="{fit,compare,families}", parser_class=_Parser)
    sub.required = True

    f = sub.add_parser("fit", help="fit one family to a column of data")
    f.add_argument("file", help="CSV, Parquet, JSON lines or plain text file; '-' reads stdin")
    f.add_argument("--column", "-c", help="column to read (several, comma-separated, for multivariate families)")
    f.add_argument("--family", "-f", required=True, help="family name (see 'thetahat families')")
    f.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE",
                   help="hold a parameter at a value, or give a known value (binomial n); repeatable")
    f.add_argument("--method", default="auto", help="auto, closed, newton, bfgs, scoring or gradient")
    f.add_argument("--starts", type=positive_int, default=1,
                   help="number of starting points (default 1; at most 1000: more are capped, with a note)")
    f.add_argument("--dropna", action="store_true", help="drop rows with missing values and count them")
    f.add_argument("--json", action="store_true", help="print one JSON object")
    f.add_argument("--cov-type", default="observed", help="observed, expected, opg or sandwich")
    f.add_argument("--ci", default="wald", help="interval method: wald, profile or bootstrap")
    f.add_argument("--n-boot", type=positive_int, default=2000, help="bootstrap refits (with --ci bootstrap)")
    f.add_argument("--seed", type=seed, default=0, help="random seed, 0 to 2^63-1 (multi-start, bootstrap)")
    _design_arguments(f)
    f.add_argument("--gof", action="store_true",
                   help="tests of fit (KS, AD, CvM or chi2) with parametric-bootstrap p-values")
    f.add_argument("--gof-n-boot", type=positive_int, default=999, help="bootstrap refits for --gof (default 999)")
    f.add_argument("--by", help="fit every group of this column (a table of fits)")
    f.add_argument("--plot", metavar="OUT.png", help="write density/QQ/PP/CDF panels of the fit")
    _stream.add_arguments(f)

    c = sub.add_parser("compare", help="fit several families and rank them by AIC")
    c.add_argument("file", help="CSV, Parquet, JSON lines or plain text file; '-' reads stdin")
    c.add_argument("--column", "-c", help="column to read")
    c.add_argument("--families", help="comma-separated family names (default: every univariate family)")
    c.add_argument("--dropna", action="store_true", help="drop rows with missing values and count them")
    c.add_argument("--json", action="store_true", help="print the ranked rows as a JSON list")
    c.add_argument("--gof", action="store_true",
                   help="add tests of fit (KS, AD, CvM or chi2) with parametric-bootstrap p-values")
    c.add_argument("--n-boot", type=positive_int, default=199,
                   help="bootstrap refits per family for --gof (default 199)")
    c.add_argument("--seed", type=seed, default=0, help="random seed of the --gof bootstrap (0 to 2^63-1)")
    _design_arguments(c)

    fam = sub.add_parser("families", help="list the families, their parameters and supports")
    fam.add_argument("--json", action="store_true", help="print a JSON list")
    for mod in _plugins():
        mod.add_parser(sub)
    sub.metavar = "{" + ",".join(sub.choices) + "}"
    return p


# Further commands live in their own modules, ``thetahat.cli.cmd_<name>``, each with
# ``add_parser(subparsers)`` (which sets ``func=run`` as the parser default) and ``run(args) -> int``.
PLUGINS = ("regress", "nls", "mixture", "hmm", "explain")


def _plugins():
    mods = []
    for name in PLUGINS:
        try:
            mods.append(importlib.import_module(f"thetahat.cli.cmd_{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"thetahat.cli.cmd_{name}":
                raise
    return mods


EXIT_BROKEN_PIPE = 141  # the reader of stdout went away (`thetahat ... | head`): 128 + SIGPIPE, as a shell reports


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 user error, 1 bug, 141 when
    the reader of stdout closed the pipe -- quietly, for tables and ``--json`` alike)."""
    import warnings

    command = "fit"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a warning is noise here: results and errors say what matters
            args = _parser().parse_args(argv)
            command = args.command
            builtin = {"fit": _cmd_fit, "compare": _cmd_compare, "families": _cmd_families}
            run = builtin.get(args.command) or args.func
            code = run(args)
            sys.stdout.flush()  # (a full disk or a closed pipe shows here, inside the handlers below)
            return code
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except _UsageError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        from .. import errors

        if isinstance(exc, errors.ThetahatError):
            return _fail(cli_words(str(exc), command))
        if isinstance(exc, OSError) and _is_stdout_error(exc):
            _silence_stdout()
            return _fail(f"cannot write the output: {exc.strerror or exc}")
        import traceback

        traceback.print_exc()
        return 1


def _fail(message: str) -> int:
    print(f"{PROG}: error: {printable(' '.join(str(message).split()))}", file=sys.stderr)
    return 2


def _is_stdout_error(exc) -> bool:
    """Whether ``exc`` is a failed write to stdout (``> /dev/full``: no space left)."""
    import errno

    return exc.errno in (errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG, errno.EPIPE)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush of what is still
    buffered cannot fail again (with a second message) at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


# ---- commands ---------------------------------------------------------------------
def _design_arguments(p):
    # one spelling across fit, compare and regress (--weights, --event, --lower, --upper); the old *-column
    # spellings stay as aliases
    p.add_argument("--weights", "--weights-column", dest="weights_column", metavar="COLUMN",
                   help="column of non-negative weights")
    p.add_argument("--weight-kind", default="frequency", help="frequency (counts) or analytic (precisions)")
    p.add_argument("--event", "--event-column", dest="event_column", metavar="COLUMN",
                   help="right-censoring: 1 = observed, 0 = censored at the value")
    p.add_argument("--lower", "--lower-column", dest="lower_column", metavar="COLUMN",
                   help="interval censoring: lower bounds (with --upper)")
    p.add_argument("--upper", "--upper-column", dest="upper_column", metavar="COLUMN",
                   help="interval censoring: upper bounds (inf = right-censored)")
    p.add_argument("--truncate", metavar="A,B", help="data observable only within [A, B] (inf allowed)")


def _cmd_fit(args) -> int:
    import thetahat

    fam = thetahat.get_family(args.family)
    fixed = _parse_fix(args.fix)
    if args.plot:
        _check_writable(args.plot, "--plot")
    if args.by:
        return _fit_by(args, fam, fixed)
    if _stream.wanted(args):
        return _fit_streamed(args, fam, fixed)
    kw = {"cov_type": args.cov_type}
    design = _read_design(args, fam)
    if design is not None:
        data, more, info = design
        censored = any(more.get(k) is not None for k in ("event", "lower", "upper"))
        with _rows_as_lines(info, censored):
            f = thetahat.fit(data, fam, fixed=fixed, method=args.method, starts=args.starts,
                             dropna=args.dropna, seed=args.seed, **kw, **more)
    else:
        if args.truncate:
            kw["truncate"] = _parse_pair(args.truncate, "--truncate")
        kw["weight_kind"] = args.weight_kind
        columns = None
        if fam.ndim and args.column is not None:
            columns = [s.strip() for s in args.column.split(",")]
        x, info = thetahat.read_column(args.file, None if columns else args.column, columns=columns,
                                       ndim=fam.ndim)
        with _rows_as_lines(info, False):
            f = thetahat.fit(x, fam, fixed=fixed, method=args.method, starts=args.starts, dropna=args.dropna,
                             seed=args.seed, **kw)
    ci = None
    if args.ci != "wald":
        options = {"n_boot": args.n_boot, "seed": args.seed} if args.ci == "bootstrap" else {}
        ci = f.confint(0.95, method=args.ci, **options)
    if args.plot:
        try:
            thetahat.plots.plot_fit(f, kind="panel", path=args.plot)
        except OSError as exc:
            raise thetahat.errors.OptionError(f"--plot {args.plot}: cannot write it: {exc.strerror or exc}") from None
    tests = f.gof(n_boot=args.gof_n_boot, seed=args.seed) if args.gof else None
    if args.json:
        d = f.to_dict()
        if tests is not None:
            d["gof"] = [{k: row[k] for k in ("test", "statistic", "pvalue", "n_boot", "df", "method")}
                        for row in tests.table]
            d["gof_notes"] = list(tests.notes)
        d["source"] = info["source"]
        d["columns"] = info["columns"]
        if ci is not None:
            d[f"ci_{args.ci}"] = {k: (None if v is None else [v[0], v[1]]) for k, v in ci.items()}
            d["ci_notes"] = list(ci.notes)
        if args.plot:
            d["plot"] = args.plot
        _print_json(d)
    else:
        _show_fit(f, info, ci)
        if tests is not None:
            _show_gof(tests)
        if args.plot:
            _console().print(f"plot written to {printable(args.plot)}", markup=False)
    return 0


def _fit_streamed(args, fam, fixed) -> int:
    import thetahat

    OptionError = thetahat.errors.OptionError
    why = {"--plot": args.plot, "--ci bootstrap": args.ci == "bootstrap", "--weights": args.weights_column,
           "--event": args.event_column, "--lower": args.lower_column,
           "--upper": args.upper_column, "--truncate": args.truncate, "--gof": args.gof}
    bad = [k for k, v in why.items() if v]
    if bad:
        raise OptionError(f"{bad[0]} needs the rows in memory, but {args.file} is streamed (a glob, a folder, "
                          f"over {_stream.STREAM_MB} MB, or --stream/--dask/--scheduler); fit a file that fits in "
                          "memory")
    context, on_dask = _stream.scheduler(args)
    with context:
        f = thetahat.fit(args.file, fam, column=args.column, fixed=fixed, method=args.method, starts=args.starts,
                         dropna=args.dropna, seed=args.seed, cov_type=args.cov_type, dask=on_dask)
        ci = f.confint(0.95, method=args.ci) if args.ci != "wald" else None
    info = {"source": args.file, "columns": [c.strip() for c in (args.column or "").split(",") if c.strip()]}
    if args.json:
        d = f.to_dict()
        d["source"], d["columns"] = info["source"], info["columns"]
        if ci is not None:
            d[f"ci_{args.ci}"] = {k: (None if v is None else [v[0], v[1]]) for k, v in ci.items()}
            d["ci_notes"] = list(ci.notes)
        _print_json(d)
    else:
        _show_fit(f, info, ci)
    return 0


@contextlib.contextmanager
def _rows_as_lines(info, shifted):
    """Errors about "data row k" of values read from a file, re-said with the file's line
    (a row is named by its line in a file; ``fit`` counts k in the rows as given, also under
    ``dropna``). Not where k may count other rows (``shifted``: censored data)."""
    from ..errors import ThetahatError

    try:
        yield
    except ThetahatError as exc:
        line_of = info.get("line_of")
        if shifted or line_of is None:
            raise
        msg = re.sub(r"\bdata row (\d+)", lambda m: f"line {line_of(int(m.group(1)) - 1)} of {info['source']}",
                     str(exc), count=1)
        raise type(exc)(msg) from None


def _check_writable(path, flag) -> None:
    """Refuse an output path whose folder is missing or not writable, before any work."""
    import os

    from ..errors import OptionError

    folder = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise OptionError(f"{flag} {path} is a folder; give a file name such as {os.path.join(path, 'fit.png')}")
    if not os.path.isdir(folder):
        raise OptionError(f"{flag} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OptionError(f"{flag} {path}: the folder {folder} is not writable")


def _parse_pair(text, flag):
    from ..errors import OptionError

    parts = [p.strip() for p in text.split(",")]
    try:
        a, b = (float(p) for p in parts)
    except ValueError:
        raise OptionError(f"{flag} expects two numbers A,B (inf allowed), got {text!r}") from None
    return a, b


def _fit_by(args, fam, fixed) -> int:
    import thetahat

    if args.column is None:
        raise thetahat.errors.OptionError("--by needs --column naming the observations")
    ignored = {"--weights": args.weights_column, "--event": args.event_column,
               "--lower": args.lower_column, "--upper": args.upper_column, "--truncate": args.truncate,
               "--gof": args.gof, "--plot": args.plot, f"--ci {args.ci}": args.ci != "wald"}
    bad = [k for k, v in ignored.items() if v]
    if bad:  # fit_many fits plain samples: silently dropping these would give a wrong answer
        raise thetahat.errors.OptionError(f"{bad[0]} does not apply with --by (a table of plain fits); fit one group "
                                          "on its own for it")
    cols, info = thetahat.read_columns(args.file, numeric=[args.column], labels=[args.by])
    res = thetahat.fit_many(cols, fam, by=args.by, value=args.column, fixed=fixed, dropna=args.dropna)
    if args.json:
        _print_json(res.rows())
        return 0
    from rich.table import Table

    t = Table(title=_esc(f"{fam.name} fits by {args.by}: {info['source']} [{args.column}]"))
    params = list(fam.params)
    for col in ["group", "n", "status"] + params + ["log-lik", "AIC", "reason"]:
        t.add_column(col, justify="left" if col in ("group", "status", "reason") else "right")
    for r in res.rows():
        status = r["status"] if r["status"] == "ok" else f"[red]{r['status']}[/red]"
        vals = [_g(r[p]) + (f" ± {_g(r['se_' + p], 3)}" if r.get("se_" + p) == r.get("se_" + p)
                            and r.get("se_" + p) is not None else "") for p in params]
        t.add_row(_esc(r["group"]), str(r["n"]), status, *vals, _g(r["loglik"], 8), _g(r["aic"], 8),
                  _esc(r["reason"] if r["status"] != "ok" else ""))
    con = _console()
    con.print(t)
    for n in res.notes:
        con.print(f"note: {printable(n)}", markup=False)
    return 0


def _read_design(args, fam):
    """Read the observations with their weights, censoring or truncation, when any of
    those options is given: ``(data, fit keywords, info)``; else None."""
    import thetahat

    extra = {"weights": args.weights_column, "event": args.event_column, "lower": args.lower_column,
             "upper": args.upper_column}
    extra = {k: v for k, v in extra.items() if v}
    if not extra and not args.truncate:
        return None
    kw = {"weight_kind": args.weight_kind}
    if args.truncate:
        kw["truncate"] = _parse_pair(args.truncate, "--truncate")
    if not extra:  # truncation alone: one column
        x, info = thetahat.read_column(args.file, args.column)
        return x, kw, info
    if fam is not None and fam.ndim:
        raise thetahat.errors.OptionError(f"{fam.name} is multivariate: weights and censoring columns "
                                          "apply to univariate families")
    interval = "lower" in extra or "upper" in extra
    if interval and not ("lower" in extra and "upper" in extra):
        raise thetahat.errors.OptionError("interval censoring needs both --lower and --upper")
    if not interval and not args.column:
        raise thetahat.errors.OptionError("name the observations' column with --column when reading weights "
                                          "or censoring columns")
    numeric = list(extra.values()) if interval else [args.column]
    numeric += [] if interval else list(extra.values())
    cols, info = thetahat.read_columns(args.file, numeric=numeric)
    data = None if interval else cols[numeric[0]]
    for k, c in extra.items():
        kw[k] = cols[c]  # (an empty or NA bound is NaN: an open end, as in R's Surv(type="interval2"))
    return data, kw, {**info, "columns": numeric}


def _show_gof(tests) -> None:
    from rich.table import Table

    con = _console()
    t = Table(title=f"tests of fit ({tests.family})")
    for col, just in (("test", "left"), ("statistic", "right"), ("p-value", "right"), ("method", "left")):
        t.add_column(col, justify=just)
    for row in tests.table:
        t.add_row(row["test"], _g(row["statistic"]), _g(row["pvalue"], 3), row["method"])
    con.print(t)
    for n in tests.notes:
        con.print(f"note: {printable(n)}", markup=False)


def _cmd_compare(args) -> int:
    import thetahat

    families = None
    if args.families is not None:
        families = [s.strip() for s in args.families.split(",") if s.strip()]
        if not families:
            raise thetahat.errors.OptionError("--families is empty")
    design = _read_design(args, None)
    if design is not None:
        x, more, info = design
    else:
        x, info = thetahat.read_column(args.file, args.column)
        more = {}
    with _rows_as_lines(info, args.dropna):
        cmp = thetahat.compare(x, families, dropna=args.dropna, gof=args.gof, n_boot=args.n_boot, seed=args.seed,
                               **more)
    if args.json:  # everything the table shows: the rows, n, dropped rows, skipped families, notes
        d = cmp.to_dict()
        d["source"], d["columns"] = info["source"], info["columns"]
        _print_json(d)
    else:
        _show_compare(cmp, info)
    return 0


def _cmd_families(args) -> int:
    import thetahat

    rows = []
    for fam in thetahat.all_families():
        rows.append({
            "name": fam.name,
            "aliases": list(fam.aliases),
            "params": {k: c.name for k, c in fam.params.items()},
            "known": {k: v for k, v in fam.known.items()},
            "support": fam.support.name,
            "discrete": bool(fam.discrete),
            "multivariate": bool(fam.ndim),
            "closed_form": bool(fam.has_closed_form),
            "description": (fam.__doc__ or "").strip().splitlines()[0] if fam.__doc__ else "",
        })
    if args.json:
        _print_json(rows)
        return 0
    from rich.table import Table

    t = Table(title="thetahat families")
    for col in ("family", "parameters (constraint)", "support", "closed form", "notes"):
        t.add_column(col)
    for r in rows:
        notes = []
        if r["known"]:
            notes.append("known: " + ", ".join(f"{k}" + ("" if v is None else f"={v:g}") for k, v in r["known"].items()))
        if r["multivariate"]:
            notes.append("multivariate")
        if r["discrete"]:
            notes.append("discrete")
        if r["aliases"]:
            notes.append("aka " + ", ".join(r["aliases"]))
        t.add_row(r["name"], ", ".join(f"{k} ({c})" for k, c in r["params"].items()), r["support"],
                  "yes" if r["closed_form"] else "no", "; ".join(notes))
    _console().print(t)
    return 0


# ---- helpers ----------------------------------------------------------------------
def _parse_fix(items) -> dict:
    from ..errors import OptionError

    fixed = {}
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise OptionError(f"--fix expects NAME=VALUE, got {item!r}")
        try:
            parts = [float(v) for v in value.split(",")]
        except ValueError:
            raise OptionError(f"--fix {name}: {value!r} is not a number") from None
        fixed[name] = parts[0] if len(parts) == 1 else parts
    return fixed


def _show_fit(f, info, intervals=None) -> None:
    from rich.table import Table

    con = _console()
    cols = ", ".join(info["columns"])
    t = Table(title=_esc(f"{f.family.name} fit to {info['source']} [{cols}]"))
    how = "" if intervals is None else f" ({intervals.method})"
    for col, just in (("parameter", "left"), ("estimate", "right"), ("std err", "right"),
                      (f"95% CI low{how}", "right"), ("95% CI high", "right")):
        t.add_column(col, justify=just)
    d = f.to_dict()
    if intervals is not None:
        d["ci"] = {k: (None if v is None else [v[0], v[1]]) for k, v in intervals.items()}
    for k, v in d["params"].items():
        if k in f.fixed:
            t.add_row(k, _vec(v), "(fixed)" if k in f.family.params else "(known)", "", "")
            continue
        ci = d["ci"].get(k)
        t.add_row(k, _vec(v), _vec(d["se"].get(k)), _vec(None if ci is None else ci[0]),
                  _vec(None if ci is None else ci[1]))
    con.print(t)
    verdict = "[green]yes[/green]" if f.converged else "[bold red]NO[/bold red]"
    con.print(f"observations: {_g(f.nobs)}   dropped rows: {f.dropped}   method: {f.method}   "
              f"covariance: {f.cov_type}")
    con.print(f"log-likelihood: {_g(f.loglik, 10)}   AIC: {_g(f.aic, 10)}   BIC: {_g(f.bic, 10)}")
    con.print(f"converged: {verdict} ({_esc(f.reason)})", markup=True)
    if f.boundary:
        from ..result import boundary_text

        con.print(f"boundary: {boundary_text(f.boundary)}", markup=False)
    if f.limit_test is not None:
        lt = f.limit_test
        con.print(f"LR test against the limiting {lt.restricted} model: LR {_g(lt.statistic, 4)}, p-value "
                  f"{_g(lt.pvalue, 4)} ({lt.distribution})", markup=False)
    for n in list(f.notes) + ([] if intervals is None else list(intervals.notes)):
        con.print(f"note: {printable(n)}", markup=False)


def _vec(v):
    if isinstance(v, list):
        return "[" + ", ".join(_vec(x) for x in v) + "]"
    return _g(v)


def _show_compare(cmp, info) -> None:
    from rich.table import Table

    con = _console()
    t = Table(title=_esc(f"families ranked by AIC: {info['source']} [{', '.join(info['columns'])}], "
                         f"n = {_g(cmp.nobs)}"))
    for col, just in (("rank", "right"), ("family", "left"), ("k", "right"), ("log-lik", "right"),
                      ("AIC", "right"), ("ΔAIC", "right"), ("BIC", "right"), ("weight", "right"),
                      ("estimates", "left"), ("status", "left")):
        t.add_column(col, justify=just)
    tests = []
    for r in cmp.table:
        tests += [k for k in (r.get("gof") or {}) if k not in tests]
    for k in tests:
        t.add_column(f"{k.upper()} p", justify="right")
    for r in cmp.table:
        est = "" if r["params"] is None else ", ".join(f"{k}={_vec(v) if isinstance(v, list) else _g(v, 4)}"
                                                       for k, v in r["params"].items())
        status = r["status"] if r["status"] == "ok" else f"[red]{r['status']}[/red]: {_esc(r['reason'])}"
        if r.get("boundary"):
            from ..result import boundary_text

            status += f" (boundary: {boundary_text(r['boundary'])})"
        gof = r.get("gof") or {}
        t.add_row(str(r["rank"]), r["family"], "" if r["k"] is None else str(r["k"]), _g(r["loglik"], 8),
                  _g(r["aic"], 8), _g(r["delta_aic"], 4), _g(r["bic"], 8), _g(r["akaike_weight"], 3), _esc(est),
                  status, *[_g((gof.get(k) or {}).get("pvalue"), 3) for k in tests])
    con.print(t)
    con.print(f"dropped rows: {cmp.dropped}")
    for name, why in cmp.skipped.items():
        con.print(f"skipped {name}: {printable(why)}", markup=False)
    for n in cmp.notes:
        con.print(f"note: {printable(n)}", markup=False)


def run() -> None:  # pragma: no cover  (the console script; tests call main())
    """The ``thetahat`` command: :func:`main`, then exit with its status -- at once where JAX
    was loaded. Python's teardown of a process that holds XLA's client takes 0.15-0.25 s and
    does nothing the command needs: its output is flushed here, its files are closed, and
    JAX writes the compile cache as it compiles, not at exit."""
    code = main()
    if "jax" in sys.modules:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # (a closed pipe: main() has said so already)
                pass
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
