"""Connecting to Dask: a local cluster of worker processes, or a remote scheduler.

Example
-------
>>> from thetahat.scale.cluster import parse_spec
>>> parse_spec("local:3"), parse_spec("tcp://10.0.0.5:8786")
(('local', 3), ('remote', 'tcp://10.0.0.5:8786'))
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from ..errors import OptionError


def parse_spec(spec):
    """``"local"`` / ``"local:N"`` (N worker processes) or a scheduler address."""
    s = str(spec).strip()
    if s == "local" or s.startswith("local:"):
        n = os.cpu_count() or 1
        if ":" in s:
            try:
                n = int(s.split(":", 1)[1])
            except ValueError:
                raise OptionError(f"--dask expects 'local' or 'local:N' (N workers), got {spec!r}") from None
            if n < 1:
                raise OptionError(f"a local Dask cluster needs at least 1 worker, got {n}")
        return ("local", n)
    if "://" in s and s.split("://", 1)[0] in ("tcp", "tls", "inproc", "ws", "wss", "ucx"):
        return ("remote", s)
    raise OptionError(f"not a Dask scheduler: {spec!r} (use 'local', 'local:N' or tcp://HOST:PORT)")


@contextmanager
def connect(spec, *, timeout=10):
    """A ``distributed.Client`` for ``spec`` (see :func:`parse_spec`), made the default
    scheduler inside the ``with`` block, and closed (with its cluster) after it."""
    kind, arg = parse_spec(spec)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise OptionError("Dask is not installed: pip install 'thetahat[dask]'") from None
    if kind == "local":
        cluster = LocalCluster(n_workers=arg, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        cluster = None
        try:
            client = Client(arg, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise OptionError(f"cannot reach the Dask scheduler at {arg}: {' '.join(str(exc).split())}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
