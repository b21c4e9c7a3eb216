"""``thetahat hmm FILE --k 3 --emission normal [--column C] [--json]``: a hidden Markov model by Baum-Welch."""

from __future__ import annotations

from ._args import em_starts, positive_int, seed


def add_parser(subparsers):
    p = subparsers.add_parser("hmm", help="fit a hidden Markov model by Baum-Welch")
    p.add_argument("file", help="CSV, Parquet, JSON lines or plain text file; '-' reads stdin (one sequence)")
    p.add_argument("--k", type=positive_int, required=True, help="number of hidden states")
    p.add_argument("--emission", "-e", default="normal", help="emission family (default normal)")
    p.add_argument("--column", "-c", help="column(s) to read, comma-separated for mvnormal emissions")
    p.add_argument("--starts", type=em_starts, default=1,
                   help="number of EM runs from k-means++ starts (1 to 1000)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the starts (0 to 2^63-1)")
    p.add_argument("--viterbi", action="store_true", help="also print the Viterbi state path")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    import thetahat

    from ._output import print_json

    columns = [c.strip() for c in args.column.split(",")] if args.column else None
    many = columns is not None and len(columns) > 1
    x, info = thetahat.read_column(args.file, None if many else args.column, columns=columns if many else None,
                                   ndim=1 if many else 0)
    f = thetahat.hmm(x, args.k, emission=args.emission, starts=args.starts, seed=args.seed)
    path = f.viterbi()[0].tolist() if args.viterbi else None
    if args.json:
        d = f.to_dict()
        d["source"], d["columns"] = info["source"], info["columns"]
        if path is not None:
            d["viterbi"] = path
        print_json(d)
    else:
        print(f"data: {info['source']} [{', '.join(info['columns'])}]")
        print(f.summary())
        if path is not None:
            print("Viterbi path: " + " ".join(map(str, path)))
    return 0
