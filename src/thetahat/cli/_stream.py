"""The streaming options shared by ``fit``, ``regress`` and ``mixture``: when to stream,
and the Dask scheduler to run the passes on."""

from __future__ import annotations

STREAM_MB = 256  # larger inputs are streamed


def add_arguments(p) -> None:
    """``--stream``, ``--dask`` and ``--scheduler`` on a subcommand's parser."""
    p.add_argument("--stream", action="store_true",
                   help="read the file in bounded batches instead of loading it (automatic for globs, folders "
                        f"and files over {STREAM_MB} MB)")
    p.add_argument("--dask", metavar="local[:N]", help="run the passes on a local Dask cluster of N workers")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run the passes on a remote Dask cluster")


def wanted(args) -> bool:
    """Stream when asked to, for a Dask cluster, or for input too large (or too many
    files) to load."""
    import os

    from thetahat.scale.sources import is_glob

    if args.stream or args.dask or args.scheduler:
        return True
    if args.file == "-":
        return False
    if is_glob(args.file) or os.path.isdir(args.file) or args.file.lower().endswith((".parquet", ".pq", ".parq")) \
            and not os.path.lexists(args.file):
        return True  # (a missing Parquet path: the streaming reader says that it is missing)
    return os.path.isfile(args.file) and os.path.getsize(args.file) > STREAM_MB * (1 << 20)


def scheduler(args):
    """``(context manager, dask flag)``: a Dask client for ``--dask``/``--scheduler`` (a
    no-op context without them)."""
    import contextlib

    from thetahat.errors import OptionError
    from thetahat.scale.cluster import connect

    if args.dask and args.scheduler:
        raise OptionError("give --dask or --scheduler, not both")
    spec = args.dask or args.scheduler
    return (connect(spec) if spec else contextlib.nullcontext()), bool(spec)
