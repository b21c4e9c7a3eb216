"""From a formula and a data frame (or a design matrix and a response) to checked arrays.

Formulas go through formulaic (``y ~ x1 + C(group) + np.log(x2)``). A response that
is a plain column is taken as it is (so a multinomial response may hold strings);
anything else on the left is evaluated by formulaic. Missing values are an error that
names the row and the column, unless ``dropna=True`` drops and counts those rows.

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"y": [1.0, 2.0, 4.0], "x": [0.0, 1.0, 2.0], "g": ["a", "b", "a"]})
>>> d = build("y ~ x + C(g)", df)
>>> d.names, d.X.shape, d.intercept
(('Intercept', 'x', 'C(g)[T.b]'), (3, 3), 0)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import DataError, EmptyDataError, MissingColumnError, NonFiniteDataError, NonNumericDataError, \
    OptionError


@dataclass
class Design:
    X: np.ndarray  # float64 (n, p)
    y: np.ndarray  # the raw response (float64, or objects for class labels)
    names: tuple
    y_name: str
    spec: object  # formulaic ModelSpec of the right-hand side, or None for matrix input
    intercept: int | None  # index of the all-ones column
    columns: dict  # extra per-row arrays: weights, offset, trials, event
    dropped: int


def _frame(data):
    import pandas as pd

    if data is None:
        raise OptionError("a formula needs data: pass data=<DataFrame or dict of columns>")
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, dict):
        try:
            return pd.DataFrame(data)
        except ValueError as exc:
            raise DataError(f"cannot make a table of the data: {exc}") from None
    raise OptionError(f"data must be a pandas DataFrame or a dict of columns, not {type(data).__name__}")


def _missing_name(exc) -> str | None:
    m = re.search(r"`([^`]+)` is not present in the dataset", str(exc))
    return m.group(1) if m else None


def build(formula_or_X, data=None, y=None, *, extra=None, dropna=False) -> Design:
    """Arrays for the fit. ``extra`` maps a role (``weights``, ``offset``, ...) to a column name or array."""
    extra = {k: v for k, v in (extra or {}).items() if v is not None}
    if isinstance(formula_or_X, str):
        d = _from_formula(formula_or_X, data, y)
        df = _frame(data)
    else:
        d = _from_matrix(formula_or_X, y)
        df = data
    n = d.X.shape[0]
    cols = {}
    for role, v in extra.items():
        if isinstance(v, str):
            if df is None or not hasattr(df, "columns") and not isinstance(df, dict):
                raise OptionError(f"{role}={v!r} names a column, but no data were given")
            table = _frame(df)
            if v not in table.columns:
                raise MissingColumnError(f"{role} column {v!r} is not in the data; columns are: "
                                         f"{', '.join(map(str, table.columns))}")
            arr = table[v].to_numpy()
            label = v
        else:
            arr = np.asarray(v)
            label = role
        arr = _numeric(arr, label)
        if arr.ndim != 1 or arr.shape[0] != n:
            raise DataError(f"{role} must have one value per row ({n}), got shape {arr.shape}")
        cols[role] = arr
    # missing values: in y, X or any extra column
    bad = np.zeros(n, dtype=bool)
    where = []
    ynum = d.y.dtype.kind in "fiub"
    if ynum:
        yb = ~np.isfinite(d.y.astype(float))
        bad |= yb
        where.append((yb, f"the response {d.y_name!r}"))
    else:
        import pandas as pd

        yb = pd.isna(d.y)
        bad |= yb
        where.append((yb, f"the response {d.y_name!r}"))
    # the detailed masks only when something is wrong: a NaN or an infinity makes the sum non-finite (one
    # pass, no n × p temporary); a sum that overflows from finite values just sends us to the exact check
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(d.X)
    if not np.isfinite(total) and not np.isfinite(d.X).all():
        xb = ~np.isfinite(d.X)
        bad |= xb.any(axis=1)
        for j, nm in enumerate(d.names):
            where.append((xb[:, j], f"column {nm!r}"))
    for role, arr in cols.items():
        cb = ~np.isfinite(arr)
        bad |= cb
        where.append((cb, role))
    dropped = 0
    if bad.any():
        if not dropna:
            i = int(np.flatnonzero(bad)[0])
            what = next(label for mask, label in where if mask[i])
            raise NonFiniteDataError(f"missing or non-finite value in {what} at row {i} ({int(bad.sum())} such "
                                     "rows; pass dropna=True / --dropna to drop and count them)")
        keep = ~bad
        dropped = int(bad.sum())
        d.X, d.y = d.X[keep], d.y[keep]
        cols = {k: v[keep] for k, v in cols.items()}
    if d.X.shape[0] == 0:
        raise EmptyDataError("no rows left to fit")
    d.columns, d.dropped = cols, dropped
    return d


def _numeric(arr, label):
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float64)
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        for i, v in enumerate(arr):
            try:
                float(v)
            except (TypeError, ValueError):
                raise NonNumericDataError(f"non-numeric value {v!r} in {label!r} at row {i}") from None
        raise


def _from_formula(formula, data, y) -> Design:
    import formulaic

    if y is not None:
        raise OptionError("give the response either in the formula or as y=, not both")
    df = _frame(data)
    if "~" not in formula:
        raise OptionError(f"a regression formula needs a response: 'y ~ x1 + x2', got {formula!r}")
    lhs, rhs = (s.strip() for s in formula.split("~", 1))
    if not lhs:
        raise OptionError(f"the formula {formula!r} has no response on the left of '~'")
    try:
        if lhs in df.columns:
            yv = df[lhs].to_numpy()
            if yv.dtype.kind == "b":
                yv = yv.astype(float)
        else:
            mm = formulaic.model_matrix(lhs, df, na_action="ignore")
            if mm.shape[1] != 1:
                raise OptionError(f"the response {lhs!r} must be one column, it gives {mm.shape[1]}")
            yv = np.asarray(mm, dtype=float)[:, 0]
        mm = formulaic.model_matrix(rhs if rhs else "1", df, na_action="ignore")
    except formulaic.errors.FormulaicError as exc:
        name = _missing_name(exc)
        if name is not None:
            raise MissingColumnError(f"column {name!r} in the formula is not in the data; columns are: "
                                     f"{', '.join(map(str, df.columns))}") from None
        raise OptionError(f"cannot use the formula {formula!r}: {' '.join(str(exc).split())}") from None
    except NameError as exc:
        raise OptionError(f"cannot use the formula {formula!r}: {exc}") from None
    names = tuple(str(c) for c in mm.columns)
    X = np.asarray(mm, dtype=np.float64)
    if yv.dtype.kind == "O":
        try:
            yv = yv.astype(np.float64)
        except (TypeError, ValueError):
            pass
    icpt = names.index("Intercept") if "Intercept" in names else None
    return Design(X, yv, names, lhs, mm.model_spec, icpt, {}, 0)


def _from_matrix(X, y) -> Design:
    if y is None:
        raise OptionError("with a design matrix, pass the response as y=")
    names = None
    if hasattr(X, "columns"):
        names = tuple(str(c) for c in X.columns)
    Xa = np.asarray(X)
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    if Xa.ndim != 2:
        raise DataError(f"the design matrix must be 2-D, got shape {Xa.shape}")
    Xa = _numeric_matrix(Xa)
    if names is None:
        names = tuple(f"x{j}" for j in range(Xa.shape[1]))
    y_name = getattr(y, "name", None) or "y"
    ya = np.asarray(y)
    if ya.ndim != 1 or ya.shape[0] != Xa.shape[0]:
        raise DataError(f"y must have one value per row of X ({Xa.shape[0]}), got shape {ya.shape}")
    if ya.dtype.kind == "b":
        ya = ya.astype(float)
    ones = [j for j in np.flatnonzero(Xa[0] == 1.0) if np.all(Xa[:, j] == 1.0)]
    return Design(Xa, ya, names, str(y_name), None, ones[0] if ones else None, {}, 0)


def _numeric_matrix(Xa):
    try:
        return np.asarray(Xa, dtype=np.float64)  # no copy when it is float64 already
    except (TypeError, ValueError):
        for (i, j), v in np.ndenumerate(Xa):
            try:
                float(v)
            except (TypeError, ValueError):
                raise NonNumericDataError(f"non-numeric value {v!r} in column {j} of X at row {i}") from None
        raise


def encode_classes(y, name, family):
    """Class labels in order (a pandas Categorical keeps its order; otherwise sorted) and codes 0..K-1."""
    import pandas as pd

    if isinstance(y, pd.Categorical):
        cats = list(y.categories)
    else:
        cats = sorted(pd.unique(y).tolist(), key=lambda v: (isinstance(v, str), v))
    if len(cats) < 2:
        raise DataError(f"{family} regression needs at least two classes in {name!r}, found {len(cats)}")
    if all(isinstance(c, (float, np.floating)) and float(c).is_integer() for c in cats):
        y = np.asarray(y, dtype=float).astype(np.int64)  # 1.0, 2.0, ... are whole-number labels
        cats = [int(c) for c in cats]
    index = {c: i for i, c in enumerate(cats)}
    codes = np.array([index[v] for v in y], dtype=np.float64)
    return cats, codes
