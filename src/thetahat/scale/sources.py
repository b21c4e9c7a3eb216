"""Where streamed data comes from: Parquet or CSV files (a path, a glob, a list), or a
Dask collection. Every source is cut into *parts*; a part is read as a sequence of
:class:`Batch` es of at most ``batch_rows`` rows, so memory stays bounded whatever
the size of the data.

A part of a file source is a description (file, row groups, first row), never the
data: a Dask worker handed one reads it itself, so no data crosses the network.

Example
-------
>>> import os, tempfile
>>> import numpy as np, pyarrow as pa, pyarrow.parquet as pq
>>> from thetahat.scale.sources import open_source
>>> d = tempfile.mkdtemp()
>>> for i in range(2):
...     pq.write_table(pa.table({"x": np.arange(3.0) + 3 * i}), os.path.join(d, f"p{i}.parquet"))
>>> src = open_source(os.path.join(d, "*.parquet"), ["x"])
>>> src.rows, [b.columns["x"].tolist() for b in src.batches()]
(6, [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

import numpy as np

from ..errors import (
    EmptyDataError,
    FileFormatError,
    MissingColumnError,
    NonNumericDataError,
    OptionError,
)

BATCH_ROWS = 1 << 20  # rows per batch: 8 MB a float64 column
PART_ROWS = 1 << 23  # rows per part handed to one Dask task
PARQUET_EXT = (".parquet", ".pq", ".parq")
CSV_EXT = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")


@dataclass(frozen=True)
class Batch:
    """Rows of the requested columns, as float64 arrays (missing cells are NaN).

    ``where`` names the file (or Dask partition) and ``offset`` is the row number,
    within it, of the batch's first row: errors quote ``where`` and ``offset + i``.
    """

    columns: dict
    where: str
    offset: int

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values())))


def is_stream_input(data) -> bool:
    """Whether ``data`` names files (a path with a Parquet/CSV extension or a glob, or a
    list of them) or is a Dask collection -- the inputs that :func:`thetahat.fit`
    streams instead of loading."""
    if is_dask(data):
        return True
    if isinstance(data, os.PathLike):
        data = os.fspath(data)
    if isinstance(data, str):
        return _looks_like_files(data)
    if isinstance(data, (list, tuple)) and data and all(isinstance(d, (str, os.PathLike)) for d in data):
        return all(_looks_like_files(os.fspath(d)) for d in data)
    return False


def is_dask(data) -> bool:
    return hasattr(data, "__dask_graph__") and hasattr(data, "to_delayed")


def _looks_like_files(s: str) -> bool:
    low = s.lower()
    return is_glob(s) or low.endswith(PARQUET_EXT + CSV_EXT) or os.path.isdir(s)


def is_glob(s) -> bool:
    """Whether ``s`` is a glob pattern: it has ``*``, ``?`` or ``[`` and no file or folder of
    that very name exists (an existing path is always taken literally: ``run[1].csv`` is
    that file, never ``run1.csv``)."""
    s = os.fspath(s)
    return glob.has_magic(s) and not os.path.lexists(s)


def open_source(data, columns, *, batch_rows=BATCH_ROWS):
    """The :class:`FileSource` or :class:`DaskSource` for ``data`` and ``columns``."""
    columns = list(columns)
    if not columns:
        raise OptionError("name the column(s) to read from the files")
    if is_dask(data):
        return DaskSource(data, columns, batch_rows=batch_rows)
    return FileSource(data, columns, batch_rows=batch_rows)


def expand_paths(data) -> list:
    """The files a path, glob, directory or list of them names (sorted; each must exist
    and be a regular file). A path that exists is literal even where it looks like a glob."""
    items = [data] if isinstance(data, (str, os.PathLike)) else list(data)
    files = []
    for item in items:
        s = os.fspath(item)
        if os.path.isdir(s):
            found = sorted(f for f in glob.glob(os.path.join(s, "**", "*"), recursive=True)
                           if os.path.isfile(f) and f.lower().endswith(PARQUET_EXT + CSV_EXT))
            if not found:
                raise FileFormatError(f"folder {s} holds no Parquet or CSV files")
            files += found
        elif is_glob(s):
            found = sorted(f for f in glob.glob(s, recursive=True) if os.path.isfile(f))
            if not found:
                raise FileFormatError(f"no file matches {s}")
            files += found
        else:
            from ..io.readers import check_regular_file

            check_regular_file(s)  # (a missing file, a FIFO or a device: said before anything is read)
            files.append(s)
    return files


def _format(path: str) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"PAR1" or path.lower().endswith(PARQUET_EXT):
        return "parquet"
    return "csv"


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class FileSource:
    """Parquet and/or CSV files, read in bounded batches with pyarrow."""

    def __init__(self, data, columns, *, batch_rows=BATCH_ROWS):
        import pyarrow.parquet as pq

        self.columns = list(columns)
        self.batch_rows = int(batch_rows)
        self.files = expand_paths(data)
        self.parts = []  # (path, format, row_groups or None, first_row)
        self.rows = 0
        known = True
        for path in self.files:
            fmt = _format(path)
            if fmt == "parquet":
                try:
                    meta = pq.ParquetFile(path).metadata
                except Exception as exc:
                    raise FileFormatError(f"{path} is not a readable Parquet file: {_one_line(exc)}") from None
                names = meta.schema.to_arrow_schema().names
                self._check_columns(names, path)
                first, group, acc = 0, [], 0
                for g in range(meta.num_row_groups):
                    group.append(g)
                    acc += meta.row_group(g).num_rows
                    if acc >= PART_ROWS:
                        self.parts.append((path, fmt, tuple(group), first))
                        first, group, acc = first + acc, [], 0
                if group:
                    self.parts.append((path, fmt, tuple(group), first))
                self.rows += meta.num_rows
            else:
                self._check_columns(_csv_header(path), path)
                self.parts.append((path, fmt, None, 0))
                known = False
        if known and self.rows == 0:
            raise EmptyDataError(f"{self.describe()} holds no rows")
        if not known:
            self.rows = None  # CSV: counted by the first pass

    def describe(self) -> str:
        return self.files[0] if len(self.files) == 1 else f"{len(self.files)} files ({self.files[0]}, ...)"

    def _check_columns(self, names, path):
        missing = [c for c in self.columns if c not in names]
        if missing:
            raise MissingColumnError(f"column {missing[0]!r} is not in {path}; its columns are {', '.join(names)}")

    def batches(self):
        """Every batch of every part, in order."""
        for part in self.parts:
            yield from read_part(part, self.columns, self.batch_rows)

    @property
    def nbytes(self) -> int:
        return sum(os.path.getsize(f) for f in self.files)


def _csv_header(path):
    import pyarrow.csv as pacsv

    try:
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16),
                                parse_options=pacsv.ParseOptions(delimiter=_delimiter(path)))
        return reader.schema.names
    except Exception as exc:
        raise FileFormatError(f"{path} is not a readable CSV file: {_one_line(exc)}") from None


def _delimiter(path):
    return "\t" if path.lower().endswith((".tsv", ".tsv.gz")) else ","


def read_part(part, columns, batch_rows=BATCH_ROWS):
    """Yield the batches of one part (a file part, or a Dask partition's data)."""
    if isinstance(part, tuple) and len(part) == 4 and part[1] in ("parquet", "csv"):
        path, fmt, groups, first = part
        if fmt == "parquet":
            yield from _parquet_batches(path, groups, first, columns, batch_rows)
        else:
            yield from _csv_batches(path, columns, batch_rows)
        return
    raise TypeError(f"not a file part: {part!r}")


def _parquet_batches(path, groups, first, columns, batch_rows):
    import pyarrow.parquet as pq

    offset = first
    try:
        pf = pq.ParquetFile(path, page_checksum_verification=True)
        it = pf.iter_batches(batch_size=batch_rows, row_groups=list(groups), columns=columns,
                             use_threads=True)
        for rb in it:
            cols = {c: _to_float(rb.column(i), c, path, offset) for i, c in enumerate(columns)}
            yield Batch(cols, path, offset)
            offset += rb.num_rows
    except (NonNumericDataError, MissingColumnError):
        raise
    except Exception as exc:
        raise FileFormatError(f"{path} cannot be read near row {offset} (corrupt or truncated Parquet?): "
                              f"{_one_line(exc)}") from None


def _csv_batches(path, columns, batch_rows):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    offset = 0
    try:
        reader = pacsv.open_csv(
            path, read_options=pacsv.ReadOptions(block_size=max(1 << 20, 16 * batch_rows)),
            parse_options=pacsv.ParseOptions(delimiter=_delimiter(path)),
            convert_options=pacsv.ConvertOptions(include_columns=columns,
                                                 column_types={c: pa.float64() for c in columns}))
        for rb in reader:
            cols = {c: _to_float(rb.column(rb.schema.get_field_index(c)), c, path, offset) for c in columns}
            yield Batch(cols, path, offset)
            offset += rb.num_rows
    except pa.ArrowInvalid as exc:
        msg = _one_line(exc)
        if "conversion error" in msg or "invalid value" in msg:
            raise NonNumericDataError(f"{path}: a cell is not a number near row {offset} ({msg})") from None
        raise FileFormatError(f"{path} cannot be read as CSV near row {offset}: {msg}") from None
    except OSError as exc:
        raise FileFormatError(f"{path} cannot be read as CSV near row {offset}: {_one_line(exc)}") from None


def _to_float(col, name, where, offset) -> np.ndarray:
    import pyarrow as pa

    t = col.type
    if pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_null(t) \
            or pa.types.is_decimal(t):
        if not pa.types.is_floating(t):
            col = col.cast(pa.float64())
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    raise NonNumericDataError(f"column {name!r} of {where} holds {t}, not numbers (rows from {offset})")


# ---- Dask collections ---------------------------------------------------------------
class DaskSource:
    """A Dask array (1-D, or 2-D with one column per requested name) or a Dask
    DataFrame / Series; each partition is one part."""

    def __init__(self, data, columns, *, batch_rows=BATCH_ROWS):
        self.columns = list(columns)
        self.batch_rows = int(batch_rows)
        self.kind = _dask_kind(data)
        if self.kind == "dataframe":
            missing = [c for c in self.columns if c not in data.columns]
            if missing:
                raise MissingColumnError(f"column {missing[0]!r} is not in the Dask DataFrame; its columns are "
                                         f"{', '.join(map(str, data.columns))}")
            data = data[self.columns]
        elif self.kind == "array":
            if data.ndim == 2 and data.shape[1] != len(self.columns):
                raise OptionError(f"the Dask array has {data.shape[1]} columns but {len(self.columns)} names "
                                  "were given")
            if data.ndim == 2 and len(data.chunks[1]) > 1:
                data = data.rechunk({1: -1})
            if data.ndim not in (1, 2):
                raise OptionError(f"a Dask array of data must be 1-D or 2-D, not {data.ndim}-D")
        self.data = data
        self.parts = list(np.ravel(data.to_delayed()))
        self.rows = None
        self.files = []

    def describe(self) -> str:
        return f"a Dask {self.kind} in {len(self.parts)} partitions"


def _dask_kind(data) -> str:
    mod = type(data).__module__
    name = type(data).__name__
    if "Array" in name and "array" in mod:
        return "array"
    if name in ("DataFrame",):
        return "dataframe"
    if name in ("Series",):
        return "series"
    raise OptionError(f"unsupported Dask collection {name}: pass a Dask array, DataFrame or Series")


def partition_batches(chunk, index, columns, batch_rows=BATCH_ROWS):
    """Batches of one computed Dask partition (a NumPy array or a pandas object)."""
    where = f"Dask partition {index}"
    if hasattr(chunk, "to_numpy") and hasattr(chunk, "ndim") and not isinstance(chunk, np.ndarray):
        if chunk.ndim == 1:
            cols = {columns[0]: _pandas_float(chunk, columns[0], where)}
        else:
            cols = {c: _pandas_float(chunk[c], c, where) for c in columns}
    else:
        arr = np.asarray(chunk)
        if arr.dtype.kind not in "iufb":
            raise NonNumericDataError(f"{where} has dtype {arr.dtype}, not numbers")
        arr = arr.astype(np.float64, copy=False)
        cols = {columns[0]: arr} if arr.ndim == 1 else {c: arr[:, j] for j, c in enumerate(columns)}
    n = len(next(iter(cols.values())))
    for start in range(0, max(n, 1), batch_rows):
        yield Batch({c: np.ascontiguousarray(v[start:start + batch_rows]) for c, v in cols.items()}, where, start)


def _pandas_float(s, name, where):
    if s.dtype.kind in "iufb":
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise NonNumericDataError(f"column {name!r} of {where} holds {s.dtype}, not numbers") from None
