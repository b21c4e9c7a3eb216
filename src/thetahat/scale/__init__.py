"""Scale: fits of data larger than memory (streamed from Parquet/CSV files in bounded
batches) and on Dask clusters, with the same answers as in memory.

Everything here rests on one fact: a log-likelihood, its gradient and Hessian, and
an exponential family's sufficient statistics are sums over observations, so partial
sums from batches, files or Dask partitions merge by addition. See the README's
"Scale" design note.
"""

from .sources import is_dask, is_stream_input, open_source
from .reduce import combine, map_reduce

__all__ = ["combine", "is_dask", "is_stream_input", "map_reduce", "open_source"]
