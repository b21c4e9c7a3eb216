"""Reading observations from files: CSV, Parquet, JSON lines, plain columns of numbers, stdin.

Example
-------
>>> import os, tempfile
>>> from thetahat.io import read_column
>>> path = os.path.join(tempfile.mkdtemp(), "x.csv")
>>> _ = open(path, "w").write("x\\n1.5\\n\\n2.5\\n")
>>> values, info = read_column(path)
>>> values.tolist(), info["missing"]
([1.5, nan, 2.5], 1)
"""

from .readers import read_column, read_columns

__all__ = ["read_column", "read_columns"]
