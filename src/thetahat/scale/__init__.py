"""Data sources: rows in memory (:mod:`.arrays`), Parquet and CSV files read in bounded
batches and Dask collections (:mod:`.sources`), and the reduction of partial sums over
their batches (:mod:`.reduce`), on this process or on a Dask cluster.

Everything here rests on one fact: a log-likelihood, its gradient and Hessian, and
an exponential family's sufficient statistics are sums over observations, so partial
sums from batches, files or Dask partitions merge by addition. The models (``fit``,
``regress``, ``mixture``) read any source through this one protocol: batches in,
mergeable partial sums out. See docs/design/scale.md.
"""

from .sources import is_dask, is_stream_input, open_source
from .reduce import combine, map_reduce

__all__ = ["combine", "is_dask", "is_stream_input", "map_reduce", "open_source"]
