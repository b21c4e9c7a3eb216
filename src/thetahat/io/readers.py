"""Read one column (or several) of numbers from a file or stdin.

Formats are recognised by content, not only by name: Parquet by its ``PAR1`` magic
bytes, JSON lines by a leading ``{``, a JSON document by a leading ``[``, and
anything else is delimited text (``,``, tab or ``;``, else whitespace) with a header
line if the first line is not all numbers. pyarrow is imported only when a file is
read, so that ``import thetahat`` (and the CLI's start-up) stays fast.

A bad cell is named by its column and the file's line number; where a format has no
lines (Parquet, a JSON document) by "data row k", counted from 1 (the header is not a row).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import sys

import numpy as np

from ..errors import (
    EmptyDataError,
    FileFormatError,
    MissingColumnError,
    NonNumericDataError,
    NumericalRangeError,
    OptionError,
)

_SMALL = 1 << 18  # bytes: smaller text files are parsed without importing pyarrow
STDIN_MAX = 1 << 30  # bytes: the most read from stdin (which cannot be streamed); more is refused
# a number as pyarrow's CSV reader reads one (ASCII, no "1_0", no Unicode digits, unlike float())
_NUMBER = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)", re.IGNORECASE)
_PARQUET_EXT = (".parquet", ".pq")
_JSONL_EXT = (".jsonl", ".ndjson")
_NULLS = frozenset(["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                    "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null", "None"])


def read_column(path, column=None, *, columns=None, ndim=0):
    """Read numeric observations from a file (or stdin) into a float64 array.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV/TSV, Parquet, JSON lines (``.jsonl``/``.ndjson``), JSON (an array of numbers
        or of records) or plain text file (one number per line, or whitespace-separated
        columns without a header). ``"-"`` reads stdin and recognises the format from
        its content.
    column : str, optional
        The column to read. Without it a file with a single column, or a single
        numeric column, gives that column; several numeric columns are an error that
        lists them. Columns of a file without a header are named ``"1"``, ``"2"``, ...
    columns : list of str, optional
        For multivariate data (``ndim=1``): the columns forming each observation, in
        order. Default: every numeric column.
    ndim : {0, 1}
        0 reads one column into shape ``(n,)``; 1 reads several into ``(n, d)``.

    Returns
    -------
    values : numpy.ndarray
        float64; empty cells and the usual missing-value markers (``NA``, ``nan``,
        ``null``, ...) become NaN, so ``dropna`` can drop and count them.
    info : dict
        ``source``, ``format``, ``columns`` (the ones read), ``available`` (all of
        them), ``rows`` and ``missing`` (the number of rows holding NaN).
        ``line_of`` maps a data row (0-based) to the file's line number, where the
        format has lines and they are known (else None): messages about a row of the
        values can then name the line.

    Raises
    ------
    FileFormatError
        The file does not exist or cannot be parsed.
    MissingColumnError
        ``column`` is not in the file (the message lists the columns there are).
    OptionError
        No ``column`` was given and more than one numeric column could be meant.
    NonNumericDataError
        A cell is not a number (the message names the column and the file's line, or
        the data row counted from 1 where the format has no lines).
    EmptyDataError
        The file holds no data rows.

    Examples
    --------
    >>> import os, tempfile
    >>> import thetahat
    >>> d = tempfile.mkdtemp()
    >>> path = os.path.join(d, "heights.csv")
    >>> _ = open(path, "w").write("name,height\\nann,1.62\\nbob,1.80\\ncyd,\\n")
    >>> x, info = thetahat.read_column(path)
    >>> x.tolist(), info["columns"], info["missing"]
    ([1.62, 1.8, nan], ['height'], 1)
    """
    column, columns = _column_options(column, columns, ndim)
    table, source, fmt, names = _read_table(path)
    if ndim == 0:
        chosen = [_choose_one(table, column, source)]
    else:
        chosen = _choose_many(table, columns, source)
    cols = [table.to_float(c, source) for c in chosen]
    values = cols[0] if ndim == 0 else np.column_stack(cols)
    nan_rows = np.isnan(values) if values.ndim == 1 else np.isnan(values).any(axis=1)
    info = {"source": source, "format": fmt, "columns": chosen, "available": names,
            "rows": int(values.shape[0]), "missing": int(nan_rows.sum()), "line_of": table.line_of}
    return values, info


def read_columns(path, numeric=(), labels=()):
    """Read several named columns: ``numeric`` ones as float64 (NaN for missing cells),
    ``labels`` (group keys) as they are, as an object array of Python values.

    Returns ``(columns, info)`` with ``columns`` a dict by name.

    Examples
    --------
    >>> import os, tempfile
    >>> from thetahat.io import read_columns
    >>> path = os.path.join(tempfile.mkdtemp(), "g.csv")
    >>> _ = open(path, "w").write("g,x\\na,1\\nb,2\\na,3\\n")
    >>> cols, info = read_columns(path, numeric=["x"], labels=["g"])
    >>> cols["x"].tolist(), cols["g"].tolist()
    ([1.0, 2.0, 3.0], ['a', 'b', 'a'])
    """
    table, source, fmt, names = _read_table(path)
    out = {}
    for c in list(numeric) + list(labels):
        if str(c) not in names:
            raise _missing(str(c), names, source)
    for c in numeric:
        out[str(c)] = table.to_float(str(c), source)
    for c in labels:
        col = table.columns[str(c)]
        if isinstance(col, np.ndarray):
            vals = col.tolist()
        elif isinstance(col, list):
            vals = [None if (v is None or str(v).strip() in _NULLS) else v for v in col]
        else:
            _flat_type(col.type, str(c), source)
            vals = col.to_pylist()
        out[str(c)] = np.array(vals, dtype=object)
    return out, {"source": source, "format": fmt, "columns": list(out), "available": names,
                 "rows": int(table.nrows), "line_of": table.line_of}


def _column_options(column, columns, ndim):
    """``(column, columns)`` as the reader uses them: ``column`` for one value per
    observation (``ndim=0``), ``columns`` for several (``ndim=1``)."""
    if ndim not in (0, 1):
        raise OptionError(f"ndim must be 0 or 1, got {ndim!r}")
    if columns is not None and ndim == 0:
        if len(columns) != 1:
            raise OptionError("several columns were asked for, but the family takes one value per observation")
        column, columns = columns[0], None
    if column is not None and ndim == 1:
        columns = [column]
    return column, columns


def _read_table(path):
    """``(table, source, format, column names)`` of a file or stdin, its format recognised by
    content; an error when it cannot be parsed or holds no data rows."""
    raw, source, name = _read_bytes(path)
    fmt = _sniff(raw, name)
    try:
        table = _PARSERS[fmt](raw, source)
    except (FileFormatError, EmptyDataError, NonNumericDataError):
        raise
    except Exception as exc:  # pyarrow and json raise many kinds; all mean "cannot parse"
        raise FileFormatError(f"cannot read {source} as {_FORMAT_NAMES[fmt]}: {_one_line(exc)}") from None
    names = list(table)
    if not names or table.nrows == 0:
        raise EmptyDataError(f"{source} has no data rows")
    return table, source, fmt, names


# ---- getting the bytes ---------------------------------------------------------------
def _read_bytes(path):
    if path is None:
        raise OptionError("no input file given")
    if str(path) == "-":
        stream = getattr(sys.stdin, "buffer", None)
        raw = stream.read(STDIN_MAX + 1) if stream is not None else sys.stdin.read(STDIN_MAX + 1)
        if isinstance(raw, str):
            raw = raw.encode()
        if len(raw) > STDIN_MAX:
            raise FileFormatError(f"stdin holds more than {STDIN_MAX:,} bytes; save the data to a file (a large "
                                  "file is streamed in bounded batches)")
        return raw, "<stdin>", ""
    p = os.fspath(path)
    check_regular_file(p)
    try:
        with open(p, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise FileFormatError(f"cannot read {p}: {exc.strerror or exc}") from None
    return raw, p, p.lower()


def check_regular_file(p) -> None:
    """Raise :class:`FileFormatError` unless ``p`` is an existing regular file.

    Checked before opening: a FIFO without a writer would block ``open`` for ever, and a
    device such as ``/dev/zero`` would be read until memory runs out.

    Examples
    --------
    >>> try:
    ...     check_regular_file("/dev/zero")
    ... except FileFormatError as e:
    ...     print(str(e).split(";")[0])
    /dev/zero is a character device, not a regular file
    """
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise FileFormatError(f"{p}: no such file") from None
    except OSError as exc:
        raise FileFormatError(f"cannot read {p}: {exc.strerror or exc}") from None
    if stat.S_ISREG(st.st_mode):
        return
    if stat.S_ISDIR(st.st_mode):
        raise FileFormatError(f"{p} is a directory, not a data file")
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else
            "a character device" if stat.S_ISCHR(st.st_mode) else
            "a block device" if stat.S_ISBLK(st.st_mode) else
            "a socket" if stat.S_ISSOCK(st.st_mode) else "a special file")
    pipe = "; to read a pipe or device, give '-' and redirect it to stdin" if kind != "a socket" else ""
    raise FileFormatError(f"{p} is {kind}, not a regular file{pipe}")


def _sniff(raw: bytes, name: str) -> str:
    if raw[:4] == b"PAR1" or name.endswith(_PARQUET_EXT):
        return "parquet"
    head = raw[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if name.endswith(_JSONL_EXT) or head[:1] == b"{":
        return "jsonl"
    if head[:1] == b"[":
        return "json"
    return "text"


# ---- a uniform view of the parsed columns ------------------------------------------
class _Table:
    """Columns by name, each either a pyarrow array or a list of raw cells."""

    def __init__(self, columns: dict, nrows: int, line_of=None):
        self.columns, self.nrows, self.line_of = columns, nrows, line_of

    def __iter__(self):
        return iter(self.columns)

    def is_numeric(self, name) -> bool:
        col = self.columns[name]
        if isinstance(col, np.ndarray):
            return True
        if isinstance(col, list):
            return all(_cell_float(c) is not None for c in col)
        import pyarrow as pa

        t = col.type
        return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or \
            pa.types.is_null(t) or pa.types.is_decimal(t)

    def to_float(self, name, source) -> np.ndarray:
        col = self.columns[name]
        if isinstance(col, np.ndarray):
            return col
        if isinstance(col, list):
            return self._cells_to_float(col, name, source)
        import pyarrow as pa
        import pyarrow.compute as pc

        if self.is_numeric(name):
            return _arrow_to_float(col, name, source)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            trimmed = pc.utf8_trim_whitespace(col)
            trimmed = pc.if_else(pc.is_in(trimmed, value_set=pa.array(sorted(_NULLS))), None, trimmed)
            try:
                return _arrow_to_float(pc.cast(trimmed, pa.float64(), safe=False))
            except pa.ArrowInvalid:
                return self._cells_to_float(col.to_pylist(), name, source)
        raise NonNumericDataError(f"column {name!r} of {source} holds {col.type} values, not numbers")

    def _cells_to_float(self, cells, name, source):
        out = np.empty(len(cells), dtype=np.float64)
        for i, c in enumerate(cells):
            v = _cell_float(c)
            if v is None:
                where = f"line {self.line_of(i)}" if self.line_of is not None else f"data row {i + 1}"
                if _is_integer(c):
                    raise NumericalRangeError(f"the integer {_show(c)} in column {name!r} at {where} of {source} "
                                              "is beyond 2^53: float64 cannot hold it exactly")
                raise NonNumericDataError(f"non-numeric value {_show(c)} in column {name!r} at {where} of {source}")
            out[i] = v
        return out


def _arrow_to_float(col, name=None, source=None) -> np.ndarray:
    """float64 copy of a numeric (chunked) arrow array, nulls as NaN.

    Read straight from the arrow buffers: ``Array.to_numpy`` imports pandas, which
    would cost the CLI half a second of start-up.
    """
    import pyarrow as pa

    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    parts, first = [], 0
    for c in chunks:
        try:
            parts.append(_chunk_to_float(c, pa))
        except _Inexact as exc:
            i, v = exc.args
            raise NumericalRangeError(f"the integer {v} in column {name!r} at data row {first + i + 1} of {source} "
                                      "is beyond 2^53: float64 cannot hold it exactly") from None
        first += len(c)
    return np.concatenate(parts) if parts else np.empty(0)


class _Inexact(Exception):
    """(row in the chunk, value): a 64-bit integer that float64 cannot hold exactly."""


def _bits(buf, offset, n):
    return np.unpackbits(np.frombuffer(buf, dtype=np.uint8), bitorder="little")[offset:offset + n]


def _chunk_to_float(a, pa):
    t, n, off = a.type, len(a), a.offset
    if n == 0:
        return np.empty(0)
    if pa.types.is_null(t):
        return np.full(n, np.nan)
    bufs = a.buffers()
    if pa.types.is_boolean(t):
        out = _bits(bufs[1], off, n).astype(np.float64)
    elif pa.types.is_integer(t) or pa.types.is_floating(t):
        kind = "f" if pa.types.is_floating(t) else ("i" if pa.types.is_signed_integer(t) else "u")
        dt = np.dtype(f"<{kind}{t.bit_width // 8}")
        raw = np.frombuffer(bufs[1], dtype=dt, count=n, offset=off * dt.itemsize)
        out = raw.astype(np.float64)
        if kind != "f" and t.bit_width == 64:
            _exact(raw, out)
    else:  # decimal and the like: rare, so the slow way
        return np.array([math.nan if v is None else float(v) for v in a.to_pylist()], dtype=np.float64)
    if a.null_count:
        out[_bits(bufs[0], off, n) == 0] = np.nan
    return out


def _exact(raw, out) -> None:
    """Refuse 64-bit integers that float64 cannot hold exactly (beyond 2^53): 2^62 and
    2^62 + 1 would become one value."""
    big = np.abs(out) >= 2.0 ** 53
    if big.any():
        with np.errstate(invalid="ignore"):
            bad = big & (out.astype(raw.dtype) != raw)
        if bad.any():
            i = int(np.argmax(bad))
            raise _Inexact(i, int(raw[i]))


def _cell_float(c):
    """float of one raw cell; NaN for a missing one; None if it is not a number."""
    if c is None:
        return math.nan
    if isinstance(c, bool):
        return float(c)
    if isinstance(c, int):
        try:
            v = float(c)
        except OverflowError:  # an integer of hundreds of digits: not a float64
            return None
        return v if abs(v) < 2.0 ** 53 or int(v) == c else None
    if isinstance(c, float):
        return c
    if isinstance(c, str):
        s = c.strip()
        if s in _NULLS:
            return math.nan
        if not _NUMBER.fullmatch(s):
            return None
        v = float(s)
        if abs(v) >= 2.0 ** 53 and s.lstrip("+-").isdigit() and (math.isinf(v) or int(s) != int(v)):
            return None  # an integer float64 cannot hold exactly: refused, never rounded
        return v
    return None


def _is_integer(c) -> bool:
    if isinstance(c, str):
        return c.strip().lstrip("+-").isdigit()
    return isinstance(c, int) and not isinstance(c, bool)


def _show(c):
    s = repr(c)
    return s if len(s) <= 40 else s[:37] + "..."


def _one_line(exc) -> str:
    msg = " ".join(str(exc).split())
    return msg if len(msg) <= 200 else msg[:197] + "..."


# ---- parsers -----------------------------------------------------------------------
def _unique_names(names, source):
    """``names`` unchanged; a :class:`FileFormatError` naming a column that appears twice
    (every reader refuses it: which of the two is meant cannot be known)."""
    seen = set()
    for n in names:
        if n in seen:
            raise FileFormatError(f"column {n!r} appears {list(names).count(n)} times in {source}; rename "
                                  "all but one")
        seen.add(n)
    return names


def _flat_type(t, name, source) -> None:
    """Refuse a nested arrow type (list, struct, map, union): no column of those is a
    column of numbers or of labels."""
    import pyarrow as pa

    if pa.types.is_nested(t) or pa.types.is_union(t) or pa.types.is_dictionary(t) and pa.types.is_nested(
            t.value_type):
        raise NonNumericDataError(f"column {name!r} of {source} holds {t} values: nested values are neither "
                                  "numbers nor labels")


def read_parquet_table(path):
    """A Parquet file as a pyarrow Table, for readers that go on to pandas (the regression
    command): the file must be a regular file, page checksums are verified where the file
    has them, and a column of nested values (list, struct, map) is refused *before* any
    conversion -- converting some of those aborted the process.

    Examples
    --------
    >>> import os, tempfile
    >>> import pyarrow as pa, pyarrow.parquet as pq
    >>> path = os.path.join(tempfile.mkdtemp(), "t.parquet")
    >>> pq.write_table(pa.table({"y": [1.0, 2.0], "v": [[1.0], [2.0, 3.0]]}), path)
    >>> try:
    ...     read_parquet_table(path)
    ... except NonNumericDataError as e:
    ...     print(str(e).split(" of ")[0])
    column 'v'
    """
    import pyarrow.parquet as pq

    p = os.fspath(path)
    check_regular_file(p)
    try:
        schema = pq.read_schema(p)
        for field in schema:
            _flat_type(field.type, field.name, p)
        _unique_names(schema.names, p)
        return pq.read_table(p, page_checksum_verification=True)
    except (FileFormatError, NonNumericDataError):
        raise
    except Exception as exc:
        raise FileFormatError(f"cannot read {p} as Parquet: {_one_line(exc)}") from None


def _parse_parquet(raw, source):
    import pyarrow as pa
    import pyarrow.parquet as pq

    # (the checksums of pages written with them are verified: a damaged page is refused)
    t = pq.read_table(pa.BufferReader(raw), page_checksum_verification=True)
    _unique_names(t.column_names, source)
    return _Table({n: t.column(n) for n in t.column_names}, t.num_rows)


def _parse_jsonl(raw, source):
    import pyarrow as pa
    import pyarrow.json as pj

    try:
        t = pj.read_json(pa.BufferReader(raw))
        _unique_names(t.column_names, source)
        return _Table({n: t.column(n) for n in t.column_names}, t.num_rows)
    except pa.ArrowInvalid:
        pass  # mixed types within a column: parse line by line, keeping the raw cells
    records, lines = [], []
    for ln, line in enumerate(raw.decode("utf-8-sig").splitlines(), start=1):
        if line.strip():
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise FileFormatError(f"line {ln} of {source} is not a JSON object")
            records.append(rec)
            lines.append(ln)
    return _records(records, lambda i: lines[i])


def _parse_json(raw, source):
    doc = json.loads(raw.decode("utf-8-sig"))
    if isinstance(doc, dict):  # {"x": [...], "y": [...]}
        if not all(isinstance(v, list) for v in doc.values()):
            raise FileFormatError(f"{source}: a JSON object must map column names to lists")
        n = {len(v) for v in doc.values()}
        if len(n) > 1:
            raise FileFormatError(f"{source}: the columns have different lengths {sorted(n)}")
        return _Table({str(k): v for k, v in doc.items()}, n.pop() if n else 0)
    if not isinstance(doc, list):
        raise FileFormatError(f"{source} holds a JSON {type(doc).__name__}, not a list of numbers or records")
    if doc and all(isinstance(r, dict) for r in doc):
        return _records(doc, None)
    if any(isinstance(r, (dict, list)) for r in doc):
        raise FileFormatError(f"{source}: a JSON array must hold only numbers or only records")
    return _Table({"1": doc}, len(doc))


def _records(records, line_of):
    names = []
    for r in records:
        for k in r:
            if k not in names:
                names.append(k)
    return _Table({n: [r.get(n) for r in records] for n in names}, len(records), line_of)


def _parse_text(raw, source):
    text = raw[:65536].decode("utf-8-sig", errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise EmptyDataError(f"{source} is empty")
    first = lines[0]
    delim = next((d for d in (",", "\t", ";") if d in first), None)
    tokens = first.split(delim) if delim else first.split()
    header = not all(_cell_float(t.strip().strip('"')) is not None for t in tokens)
    if delim is None and len(tokens) > 1 and not header:
        return _parse_whitespace(raw, source)
    if len(raw) <= _SMALL:
        return _parse_small_text(raw, source, delim, header, len(tokens))
    import pyarrow as pa
    import pyarrow.csv as pcsv

    ncols = len(tokens)
    read = pcsv.ReadOptions(autogenerate_column_names=not header, block_size=1 << 24)
    parse = pcsv.ParseOptions(delimiter=delim or ",", ignore_empty_lines=ncols > 1)
    conv = pcsv.ConvertOptions(strings_can_be_null=True, null_values=sorted(_NULLS))
    body = raw.lstrip(b"\xef\xbb\xbf")
    try:
        t = pcsv.read_csv(pa.BufferReader(body), read_options=read, parse_options=parse, convert_options=conv)
    except pa.ArrowInvalid as exc:
        if "onversion error" not in str(exc) and "conversion" not in str(exc).lower():
            raise
        # a non-number further down than type inference looked: read every column as text
        names = [t.strip().strip('"') for t in tokens] if header else [f"f{i}" for i in range(ncols)]
        conv = pcsv.ConvertOptions(strings_can_be_null=True, null_values=sorted(_NULLS),
                                   column_types={n: pa.string() for n in names})
        t = pcsv.read_csv(pa.BufferReader(body), read_options=read, parse_options=parse, convert_options=conv)
    cols = {n: t.column(n) for n in _unique_names(t.column_names, source)}
    if not header:  # autogenerated f0, f1, ... -> "1", "2", ... (as cut and awk count)
        cols = {str(i + 1): c for i, c in enumerate(cols.values())}
    skip = 2 if header else 1
    # line numbers are exact only when no empty line was skipped (always so for one column)
    line_of = (lambda i: i + skip) if ncols == 1 else None
    return _Table(cols, t.num_rows, line_of)


def _parse_small_text(raw, source, delim, header, ncols):
    """The csv module for small files: same cells as pyarrow, without importing it."""
    import csv

    reader = csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=delim or ",")
    names, rows, lines = None, [], []
    for cells in reader:
        if header and names is None:
            if not cells:
                continue
            names = _unique_names([c.strip() for c in cells], source)
            continue
        if not cells:
            if ncols > 1:
                continue
            cells = [""]
        rows.append(cells)
        lines.append(reader.line_num)
    while ncols == 1 and rows and rows[-1] == [""]:  # trailing blank lines are not missing values
        rows.pop()
        lines.pop()
    width = len(names) if names is not None else ncols
    for r, ln in zip(rows, lines):
        if len(r) != width:
            raise FileFormatError(f"line {ln} of {source} has {len(r)} fields; expected {width}")
    names = names if names is not None else [str(j + 1) for j in range(width)]
    return _Table({n: [r[j] for r in rows] for j, n in enumerate(names)}, len(rows), lambda i: lines[i])


def _parse_whitespace(raw, source):
    rows, lines = [], []
    width = None
    for ln, line in enumerate(raw.decode("utf-8-sig").splitlines(), start=1):
        cells = line.split()
        if not cells or cells[0].startswith("#"):
            continue
        if width is None:
            width = len(cells)
        elif len(cells) != width:
            raise FileFormatError(f"line {ln} of {source} has {len(cells)} fields; the first has {width}")
        rows.append(cells)
        lines.append(ln)
    cols = {str(j + 1): [r[j] for r in rows] for j in range(width or 0)}
    return _Table(cols, len(rows), lambda i: lines[i])


_PARSERS = {"parquet": _parse_parquet, "jsonl": _parse_jsonl, "json": _parse_json, "text": _parse_text}
_FORMAT_NAMES = {"parquet": "Parquet", "jsonl": "JSON lines", "json": "JSON", "text": "delimited text"}


# ---- choosing columns --------------------------------------------------------------
def _missing(name, names, source):
    return MissingColumnError(f"{source} has no column {name!r}; its columns are {', '.join(map(repr, names))}")


def _choose_one(table, column, source):
    names = list(table)
    if column is not None:
        column = str(column)
        if column not in names:
            raise _missing(column, names, source)
        return column
    if len(names) == 1:
        return names[0]
    numeric = [n for n in names if table.is_numeric(n)]
    if len(numeric) == 1:
        return numeric[0]
    if not numeric:
        raise OptionError(f"{source} has {len(names)} columns and none is numeric "
                          f"({', '.join(map(repr, names))}); choose one with --column / column=")
    raise OptionError(f"{source} has several numeric columns ({', '.join(map(repr, numeric))}); "
                      "choose one with --column / column=")


def _choose_many(table, columns, source):
    names = list(table)
    if columns is not None:
        columns = [str(c) for c in columns]
        for c in columns:
            if c not in names:
                raise _missing(c, names, source)
        return columns
    numeric = [n for n in names if table.is_numeric(n)]
    if not numeric:
        raise OptionError(f"{source} has no numeric column ({', '.join(map(repr, names))}); "
                          "choose columns with --column a,b / columns=")
    return numeric
