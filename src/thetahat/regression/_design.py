"""From a formula and a data frame (or a design matrix and a response) to checked arrays.

Formulas are checked term by term (:mod:`.formula`: no code runs) and then built by
formulaic (``y ~ x1 + C(group) + np.log(x2)``). A response that is a plain column is taken
as it is (so a multinomial response may hold strings); anything else on the left is
evaluated by formulaic. Missing values (NaN, ``None``) are an error that names the row and
the column, as is a term that is not finite where its inputs are (``np.log(x - 5)``),
unless ``dropna=True`` drops and counts those rows.

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

from ..errors import DataError, EmptyDataError, MissingColumnError, NonFiniteDataError, \
    NonNumericDataError, OptionError


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
    missing: tuple = ()  # (row mask, data column) of the formula's inputs that are missing


def _frame(data):
    import pandas as pd

    if data is None:
        raise OptionError("a formula needs data: pass data=<DataFrame or dict of columns>")
    if isinstance(data, dict):
        try:
            data = pd.DataFrame(data)
        except ValueError as exc:
            raise DataError(f"cannot make a table of the data: {exc}") from None
    if not isinstance(data, pd.DataFrame):
        raise OptionError(f"data must be a pandas DataFrame or a dict of columns, not {type(data).__name__}")
    fixed = {}
    for c in data.columns:
        if data[c].dtype == object:
            v = _object_numbers(data[c].to_numpy())
            if v is not None:
                fixed[c] = v
    return _replace(data, fixed)


def _replace(df, fixed):
    if not fixed:
        return df
    df = df.copy()
    for c, v in fixed.items():
        df[c] = v
    return df


def _object_numbers(a):
    """An object array of numbers with ``None``/NaN as float64 (``None`` is missing), or None
    when it holds anything else (strings, class labels, booleans) and stays as it is."""
    import pandas as pd

    if pd.api.types.infer_dtype(a.ravel(), skipna=True) not in ("floating", "integer", "mixed-integer-float",
                                                                  "empty"):
        return None
    miss = pd.isna(a)
    out = np.full(a.shape, np.nan)
    out[~miss] = a[~miss].astype(np.float64)
    return out


def _missing_mask(values):
    """Where ``values`` (a column) is missing (NaN, None, NaT), or None when nowhere; a column of
    strings is told apart in one C pass rather than by ``pd.isna`` of each object."""
    import pandas as pd

    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) in ("string", "bytes"):
        return None
    m = np.asarray(pd.isna(values), dtype=bool)
    return m if m.any() else None


def _missing_name(exc) -> str | None:
    m = re.search(r"`([^`]+)` is not present in the dataset", str(exc))
    return m.group(1) if m else None


def build(formula_or_X, data=None, y=None, *, extra=None, dropna=False, allow_python=False) -> Design:
    """Arrays for the fit. ``extra`` maps a role (``weights``, ``offset``, ...) to a column name or array;
    ``allow_python`` lets a formula use Python beyond the allowed set (see :mod:`.formula`)."""
    extra = {k: v for k, v in (extra or {}).items() if v is not None}
    if isinstance(formula_or_X, str):
        df = _frame(data)
        d = _from_formula(formula_or_X, df, y, allow_python)
    else:
        d = _from_matrix(formula_or_X, y)
        df = data
    cols = _extra_columns(extra, df, d.X.shape[0])
    bad, message = _bad_rows(d, cols)
    dropped = 0
    if bad is not None:
        if not dropna:
            raise NonFiniteDataError(message)
        keep = ~bad
        dropped = int(bad.sum())
        d.X, d.y = d.X[keep], d.y[keep]
        cols = {k: v[keep] for k, v in cols.items()}
    if d.X.shape[0] == 0:
        raise EmptyDataError("no rows left to fit")
    d.columns, d.dropped = cols, dropped
    return d


def _extra_columns(extra, df, n):
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
    return cols


def _bad_rows(d, cols):
    """``(mask of rows with a missing or non-finite value, the message for the first)``, or
    ``(None, None)``. In order: the response, a missing input of the formula, a term that is
    not finite where its inputs are not missing (log of a negative number), an extra column."""
    import pandas as pd

    n = d.X.shape[0]
    bad = np.zeros(n, dtype=bool)
    where = []
    yb = ~np.isfinite(d.y.astype(float)) if d.y.dtype.kind in "fiub" else np.asarray(pd.isna(d.y), dtype=bool)
    bad |= yb
    where.append((yb, f"the response {d.y_name!r}"))
    for mask, col in d.missing:
        bad |= mask
        where.append((mask, f"column {col!r}"))
    # the detailed masks only when something is wrong: a NaN or an infinity makes the sum non-finite (one
    # pass, no n x p temporary); a sum that overflows from finite values just sends us to the exact check
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(d.X)
    term = None
    if not np.isfinite(total) and not np.isfinite(d.X).all():
        xb = ~np.isfinite(d.X)
        rows = xb.any(axis=1)
        if d.spec is not None and (rows & ~bad).any():  # not finite where the inputs are not missing
            i = int(np.flatnonzero(rows & ~bad)[0])
            j = int(np.flatnonzero(xb[i])[0])
            term = i, bad_term_message(d.names[j], d.X[i, j], i, int((rows & ~bad).sum()))
        bad |= rows
        for j, nm in enumerate(d.names):
            where.append((xb[:, j], f"column {nm!r}"))
    for role, arr in cols.items():
        cb = ~np.isfinite(arr)
        bad |= cb
        where.append((cb, role))
    if not bad.any():
        return None, None
    i = int(np.flatnonzero(bad)[0])
    if term is not None and term[0] == i:
        return bad, term[1]
    what = next(label for mask, label in where if mask[i])
    return bad, (f"missing or non-finite value in {what} at data row {i + 1} ({int(bad.sum())} such rows; pass "
                 "dropna=True / --dropna to drop and count them)")


def bad_term_message(term, value, i, count, new=False):
    """The one line for a formula term that is NaN or infinite where its inputs are not missing."""
    fix = "" if new else "; pass dropna=True / --dropna to drop and count such rows"
    return (f"the formula term {term!r} is {value:g} at data row {i + 1} (counting from 1), where its inputs are "
            f"not missing ({count} such row{'s' if count != 1 else ''}{fix})")


def _numeric(arr, label):
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float64)
    if arr.dtype == object:
        v = _object_numbers(arr)
        if v is not None:
            return v
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        for i, v in enumerate(arr):
            try:
                float(v)
            except (TypeError, ValueError):
                raise NonNumericDataError(f"non-numeric value {v!r} in {label!r} at data row {i + 1}") from None
        raise


def _from_formula(formula, df, y, allow_python) -> Design:
    from .formula import check_formula, check_terms, split_formula

    lhs, rhs = split_formula(formula, y)
    check_formula(rhs, allow_python=allow_python)
    if lhs in df.columns:
        yv = df[lhs].to_numpy()
        if yv.dtype.kind == "b":
            yv = yv.astype(float)
    else:
        check_formula(lhs, allow_python=allow_python)
        my = _matrix(f"{lhs} - 1", df, formula)  # no intercept column beside the response
        if my.shape[1] != 1:
            raise OptionError(f"the response {lhs!r} must be one column, it gives {my.shape[1]}")
        yv = np.asarray(my, dtype=float)[:, 0]
    mm = _matrix(rhs if rhs else "1", df, formula)
    check_terms(mm.model_spec)
    names = tuple(str(c) for c in mm.columns)
    X = np.asarray(mm, dtype=np.float64)
    if yv.dtype.kind == "O":
        try:
            yv = yv.astype(np.float64)
        except (TypeError, ValueError):
            pass
    icpt = names.index("Intercept") if "Intercept" in names else None
    return Design(X, yv, names, lhs, mm.model_spec, icpt, {}, 0, missing_inputs(mm.model_spec, df))


def _matrix(text, df, formula, spec=None):
    """formulaic's model matrix of ``text`` (or by ``spec``) on ``df``: no RuntimeWarning (a NaN it makes is
    found and named later), a level outside ``C(..., levels=)`` or unseen by ``spec`` is an error."""
    import warnings

    import formulaic

    from .formula import eval_context

    try:
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
            warnings.simplefilter("always")
            if spec is None:
                mm = formulaic.model_matrix(text, df, na_action="ignore", context=eval_context())
            else:
                mm = spec.get_model_matrix(df, na_action="ignore", context=eval_context())
    except formulaic.errors.FormulaicError as exc:
        name = _missing_name(exc)
        if name is not None:
            where = "the new data" if spec is not None else "the data"
            raise MissingColumnError(f"column {name!r} in the formula is not in {where}; columns are: "
                                     f"{', '.join(map(str, df.columns))}") from None
        raise OptionError(f"cannot use the formula {formula!r}: {' '.join(str(exc).split())}") from None
    except (NameError, TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
        raise OptionError(f"cannot use the formula {formula!r}: {' '.join(str(exc).split())}") from None
    if isinstance(mm, formulaic.ModelMatrices):
        raise OptionError(f"the formula {formula!r} has more than one part (a '|' or a second '~'); regress "
                          "takes one response and one right-hand side: 'y ~ x1 + x2'")
    if any("categories outside" in str(w.message) for w in caught):
        unseen_level(mm.model_spec, df, spec is not None)
    return mm


def missing_inputs(spec, df):
    """``(row mask, column)`` for each data column the formula reads that has missing values."""
    out = []
    for v in sorted(str(v) for v in spec.required_variables):
        if v in df.columns:
            m = _missing_mask(df[v].to_numpy())
            if m is not None:
                out.append((m, v))
    return tuple(out)


def unseen_level(spec, df, new):
    """Raise a DataError naming the first row whose category is not among a factor's levels."""
    import formulaic
    import pandas as pd

    for expr, (kind, state) in (getattr(spec, "encoder_state", None) or {}).items():
        if "categories" not in state:
            continue
        names = [str(v) for v in formulaic.Formula(expr).required_variables if str(v) in df.columns]
        if len(names) != 1:
            continue
        v = df[names[0]]
        bad = ~np.asarray(v.isin(list(state["categories"])), dtype=bool) & ~np.asarray(pd.isna(v), dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            level = v.iloc[i].item() if hasattr(v.iloc[i], "item") else v.iloc[i]  # 7.0, not np.float64(7.0)
            known = ", ".join(map(str, state["categories"]))
            what = "which the fit did not see" if new else "which is not among the levels given"
            raise DataError(f"{expr} has level {level!r} at data row {i + 1} (counting from 1), {what} "
                            f"(levels: {known})")
    raise DataError("a categorical term has a level outside its levels (formulaic: categories outside the "
                    "nominated levels)")


def new_design(spec, data, names):
    """The design of new data for ``predict``: its columns ``names`` of the fit's formula, with
    an error naming the row for a missing predictor, a category level the fit did not see, or
    a term that is not finite."""
    df = _frame(data)
    for mask, col in missing_inputs(spec, df):
        i = int(np.flatnonzero(mask)[0])
        k = int(mask.sum())
        raise NonFiniteDataError(f"the new data have a missing value in column {col!r} at data row {i + 1} "
                                 f"(counting from 1; {k} such row{'s' if k != 1 else ''}): a prediction needs "
                                 "every predictor")
    mm = _matrix(None, df, str(getattr(spec, "formula", "")), spec=spec)
    cols = [c for c in mm.columns if c in names]
    X = np.asarray(mm[cols], dtype=np.float64)
    if not np.isfinite(X).all():
        xb = ~np.isfinite(X)
        i = int(np.flatnonzero(xb.any(axis=1))[0])
        j = int(np.flatnonzero(xb[i])[0])
        raise NonFiniteDataError(bad_term_message(cols[j], X[i, j], i, int(xb.any(axis=1).sum()), new=True))
    return X


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
    elif ya.dtype == object and ya.ndim == 1:
        v = _object_numbers(ya)
        ya = ya if v is None else v
    ones = [j for j in np.flatnonzero(Xa[0] == 1.0) if np.all(Xa[:, j] == 1.0)]
    return Design(Xa, ya, names, str(y_name), None, ones[0] if ones else None, {}, 0)


def _numeric_matrix(Xa):
    if Xa.dtype == object:
        v = _object_numbers(Xa)
        if v is not None:
            return v
    try:
        return np.asarray(Xa, dtype=np.float64)  # no copy when it is float64 already
    except (TypeError, ValueError):
        for (i, j), v in np.ndenumerate(Xa):
            try:
                float(v)
            except (TypeError, ValueError):
                raise NonNumericDataError(f"non-numeric value {v!r} in column {j} of X at data row {i + 1}") from None
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
