"""``thetahat regress FILE "y ~ x1 + x2" --family F``: print the coefficient table.

Examples
--------
>>> import os, tempfile
>>> from thetahat.cli.main import main
>>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
>>> _ = open(path, "w").write("y,x\\n1,0\\n3,1\\n2,2\\n6,3\\n")
>>> main(["regress", path, "y ~ z"])
2
"""

from __future__ import annotations

from . import _stream


def add_parser(subparsers):
    r = subparsers.add_parser("regress", help="regression by maximum likelihood: a coefficient table")
    r.add_argument("file", help="CSV, TSV, Parquet or JSON lines file with a header; '-' reads CSV from stdin")
    r.add_argument("formula", help="Wilkinson formula, e.g. 'y ~ x1 + C(group) + np.log(x2) + I(x1**2)'; terms "
                                   "beyond arithmetic in I(), C(), log/exp/sqrt/log1p/abs and poly/center/scale/bs "
                                   "are refused (no Python is evaluated)")
    r.add_argument("--family", "-f", default="normal",
                   help="normal, bernoulli, binomial, poisson, negative_binomial, gamma, inverse_gaussian, "
                        "multinomial, ordered, tobit, zinb, and the AFT families weibull, exponential, lognormal, "
                        "loglogistic, gengamma, gompertz, burr12: any family with a linear predictor")
    r.add_argument("--link", help="logit, probit, cloglog (binary); log, inverse, identity (gamma, inverse gaussian)")
    r.add_argument("--weights", "--weights-column", dest="weights", metavar="COLUMN",
                   help="column of frequency weights")
    r.add_argument("--offset", metavar="COLUMN", help="column added to the linear predictor")
    r.add_argument("--trials", metavar="COLUMN", help="binomial: column with the number of trials")
    r.add_argument("--event", "--event-column", dest="event", metavar="COLUMN",
                   help="survival families: 1 = event observed, 0 = censored")
    r.add_argument("--left", type=float, help="tobit: left censoring point (default 0)")
    r.add_argument("--right", type=float, help="tobit: right censoring point")
    r.add_argument("--penalty", help="l1, l2 or elasticnet (MAP estimation)")
    r.add_argument("--lam", type=float, help="penalty strength")
    r.add_argument("--l1-ratio", type=float, dest="l1_ratio", help="elastic net: share of the L1 penalty")
    r.add_argument("--dropna", action="store_true", help="drop rows with missing values and count them")
    r.add_argument("--cov-type", dest="cov_type", default="observed",
                   help="observed (default), expected (R's glm), HC0, HC1, HC2, HC3, cluster (with --groups), "
                        "ols (normal: RSS/(n-p), t-tests)")
    r.add_argument("--groups", metavar="COLUMN", help="--cov-type cluster: column of cluster labels")
    r.add_argument("--ci", default="wald",
                   help="interval method: wald (default) or profile (likelihood-ratio intervals, fit.confint)")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    _stream.add_arguments(r)
    r.set_defaults(func=run)


def _read(path):
    import io
    import sys

    import pandas as pd

    from thetahat.errors import EmptyDataError, FileFormatError, NonNumericDataError
    from thetahat.io.readers import check_regular_file, read_parquet_table

    try:
        if path == "-":
            df = pd.read_csv(io.StringIO(sys.stdin.read()), sep=None, engine="python")
            return df, "<stdin>"
        check_regular_file(path)
        low = path.lower()
        if low.endswith((".parquet", ".pq")):
            df = read_parquet_table(path).to_pandas()
        elif low.endswith((".jsonl", ".ndjson")):
            df = pd.read_json(path, lines=True)
        elif low.endswith((".tsv", ".tab")):
            df = pd.read_csv(path, sep="\t")
        else:
            df = pd.read_csv(path, sep=None, engine="python")
    except (FileFormatError, NonNumericDataError):
        raise
    except pd.errors.EmptyDataError:
        raise EmptyDataError(f"{path} has no data") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise FileFormatError(f"cannot read {path}: {' '.join(str(exc).split())}") from None
    if df.shape[0] == 0:
        raise EmptyDataError(f"{path} has no data rows")
    df.columns = [str(c).strip() for c in df.columns]
    return df, path


STATISTICS = ("llnull", "df_model", "llr", "llr_pvalue", "prsquared", "rsquared", "rsquared_adj", "fvalue",
              "f_pvalue")


def statistics(f) -> dict:
    """The model statistics the fit has (``llnull``, ``llr``, ``prsquared``; ``rsquared``, ``fvalue`` for
    the normal linear model): those that do not apply, or cannot be computed, are left out."""
    import numpy as np

    from thetahat.errors import ThetahatError

    out = {}
    for name in STATISTICS:
        try:
            out[name] = getattr(f, name)
        except (ThetahatError, FloatingPointError, np.linalg.LinAlgError, KeyError, TypeError):
            continue
    return out


def run(args) -> int:
    import thetahat

    if args.ci not in ("wald", "profile"):
        raise thetahat.errors.OptionError(f"--ci {args.ci}: regress gives wald or profile intervals")
    kw = dict(family=args.family, link=args.link, weights=args.weights, offset=args.offset, trials=args.trials,
              event=args.event, left=args.left, right=args.right, penalty=args.penalty, lam=args.lam,
              l1_ratio=args.l1_ratio, dropna=args.dropna, cov_type=args.cov_type, groups=args.groups)
    if _stream.wanted(args):
        context, on_dask = _stream.scheduler(args)
        with context:
            f = thetahat.regress(args.formula, args.file, dask=on_dask, **kw)
        source = args.file
    else:
        df, source = _read(args.file)
        f = thetahat.regress(args.formula, df, **kw)
    ci = None if args.ci == "wald" else _intervals(f, args.ci)
    stats = statistics(f)
    if args.json:
        from ._output import print_json

        d = f.to_dict()
        d["source"] = source
        d["formula"] = args.formula
        d["statistics"] = stats
        if ci is not None:
            d["ci_method"], d["ci_notes"] = args.ci, list(getattr(ci, "notes", ()))
            for row in d["coefficients"]:
                row["ci_low"], row["ci_high"] = ci.get(row["name"]) or (None, None)
        print_json(d)
        return 0
    _show(f, source, args.formula, stats, ci)
    return 0


def _intervals(f, method):
    return f.confint(0.95, method=method)


def _show(f, source, formula, stats, ci=None):
    from rich.table import Table

    from ._output import console, esc, g

    con = console()
    t = Table(title=esc(f"{f.family} regression ({f.link} link): {formula}  [{source}]"))
    how = "" if ci is None else " (profile)"
    zh, ph = ("t", "P>|t|") if f.cov_type == "ols" else ("z", "P>|z|")
    for col in ("parameter", "estimate", "std err", zh, ph, f"95% CI low{how}", "95% CI high"):
        t.add_column(col, justify="left" if col == "parameter" else "right")
    for r in f.table():
        lo, hi = (r["ci_low"], r["ci_high"]) if ci is None else (ci.get(r["name"]) or (None, None))
        t.add_row(esc(r["name"]), g(r["estimate"]), g(r["se"]), g(r["z"], 4), g(r["p"], 3), g(lo), g(hi))
    con.print(t)
    con.print(f"observations: {g(f.nobs)}   dropped rows: {f.dropped}   method: {f.method}   "
              f"iterations: {f.iterations}   covariance: {esc(f.cov_type)}")
    con.print(f"log-likelihood: {g(f.loglik, 10)}   AIC: {g(f.aic, 10)}   BIC: {g(f.bic, 10)}   "
              f"deviance: {g(f.deviance, 10)}")
    if "llnull" in stats:
        con.print(f"null log-likelihood: {g(stats['llnull'], 10)}   LR chi2 ({stats['df_model']}): "
                  f"{g(stats['llr'])}   p-value: {g(stats['llr_pvalue'], 4)}   pseudo R2: {g(stats['prsquared'])}")
    if "rsquared" in stats:
        con.print(f"R-squared: {g(stats['rsquared'])}   adj. R-squared: {g(stats['rsquared_adj'])}   "
                  f"F: {g(stats['fvalue'])}   p-value (F): {g(stats['f_pvalue'], 4)}")
    if "sigma2_mle" in f.info:
        con.print(f"sigma^2: MLE (divisor n) {g(f.info['sigma2_mle'])}   unbiased (divisor n - p) "
                  f"{g(f.info['sigma2_unbiased'])}")
    verdict = "[green]yes[/green]" if f.converged else "[bold red]NO[/bold red]"
    con.print(f"converged: {verdict} ({esc(f.reason)})")
    notes = list(f.notes) + list(getattr(ci, "notes", ()))
    for n in notes:
        con.print(f"note: {n}", markup=False)
