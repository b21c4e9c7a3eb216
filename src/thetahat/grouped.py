"""``thetahat.fit_many``: one family fitted to every group (or column) of a table at once.

Groups are validated one by one -- a group with a bad value, too few observations or no
variation is marked in its row, never raised -- and the valid ones are fitted together
by :func:`thetahat.engine.batch.fit_batch`, in buckets of similar size (padding to a
power of two, weight 0), so a thousand groups cost a few compiled calls.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

import numpy as np

from ._jax import x64, x64_methods
from .engine.batch import fit_batch
from .kernels.aligned import aligned_empty
from .errors import MissingColumnError, OptionError, ThetahatError
from .families import get_family
from .families.fixed import check_fixed


@x64_methods
class ManyFit(dict):
    """The fits of ``fit_many`` as a table: ``{column: numpy array}``, one row per group.

    A plain mapping of columns, so ``pandas.DataFrame(result)`` and
    ``polars.DataFrame(result)`` take it directly; ``to_pandas()`` and ``to_arrow()``
    are there too. Columns: ``group``, ``n``, ``dropped``, ``status`` (``ok``,
    ``failed``: did not converge, or ``error``: the data were unusable), ``reason``,
    ``converged``, ``loglik``, ``aic``, ``bic``, each parameter, and ``se_<parameter>``.
    """

    def __init__(self, columns, family, notes=()):
        super().__init__(columns)
        self.family = family
        self.notes = list(notes)

    def __len__(self):  # the number of groups, as a table has rows
        return len(self["group"])

    @property
    def columns(self):
        return list(self.keys())

    def rows(self):
        """One dict per group."""
        return [{k: _py(v[i]) for k, v in self.items()} for i in range(len(self))]

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(dict(self))

    def to_arrow(self):
        import pyarrow as pa

        return pa.table({k: list(map(_py, v)) for k, v in self.items()})

    @property
    def n_ok(self) -> int:
        return int(np.sum(self["status"] == "ok"))


@x64
def fit_many(data, family, *, by=None, value=None, columns=None, fixed=None, dropna=False,
             max_iter=100) -> ManyFit:
    """Fit ``family`` to every group of ``data`` in one batched, compiled call.

    Parameters
    ----------
    data : pandas or polars DataFrame, pyarrow Table, or dict of arrays
    family : str or Family
    by : str, optional
        Group column: fit ``value`` within each of its groups.
    value : str, optional
        The observations' column (with ``by``; default: the only other numeric column).
    columns : list of str, optional
        Fit each of these columns on its own (instead of ``by``).
    fixed : dict, optional
        Held or known values, shared by every group.
    dropna : bool
        Drop NaN within each group, counting them in ``dropped``; otherwise a group
        holding NaN is marked ``error``.

    Returns
    -------
    ManyFit

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> rng = np.random.default_rng(0)
    >>> d = {"g": np.repeat(["a", "b", "c"], 50), "x": rng.exponential(2.0, 150)}
    >>> t = thetahat.fit_many(d, "exponential", by="g", value="x")
    >>> list(t["group"]), bool(np.allclose(t["lam"][0], 1 / d["x"][:50].mean()))
    (['a', 'b', 'c'], True)
    """
    fam = get_family(family)
    if fam.ndim:
        raise OptionError(f"fit_many fits univariate families; {fam.name} is multivariate")
    cols = _as_columns(data)
    if (by is None) == (columns is None):
        raise OptionError("give either by= (a group column) or columns= (one fit per column)")
    layout = _split_by(cols, by, value) if by is not None else None
    groups = layout.groups if layout is not None else _column_groups(cols, columns)


    fixed_v = check_fixed(fam, fixed)
    bound = fam.bind({k: fixed_v[k] for k in fam.known})
    out = _empty(len(groups), fam, [g[0] for g in groups])
    for members, X, W in _batches(bound, cols, groups, layout, out, dropna, fixed_v):
        try:
            b = fit_batch(bound, X, weights=W, fixed=fixed, max_iter=max_iter, _checked=True)
        except ThetahatError as exc:
            for gi in members:
                out["status"][gi], out["reason"][gi] = "error", str(exc)
            continue
        _store_batch(out, fam, members, b)
    notes = []
    bad = int(np.sum(out["status"] != "ok"))
    if bad:
        notes.append(f"{bad} of {len(groups)} groups have no fit (see status and reason)")
    return ManyFit(out, fam, notes)


class _Layout(NamedTuple):
    """A table split by its group column: group ``i``'s rows are
    ``order[start:stop]`` with ``(start, stop) = groups[i][1]``."""

    vals: np.ndarray  # the observations, in table order
    inverse: np.ndarray  # each row's group index
    order: np.ndarray  # rows sorted by group (stable)
    sizes: np.ndarray  # rows per group
    groups: list  # (label, (start, stop)) per group
    grouped: bool  # rows already in group order: no gathers needed


def _missing(name, cols):
    return MissingColumnError(f"no column {name!r}; the columns are {', '.join(map(repr, cols))}")


def _split_by(cols, by, value) -> _Layout:
    """Check the ``by`` and ``value`` columns (``value`` defaults to the only other
    numeric column) and group the rows."""
    if by not in cols:
        raise _missing(by, cols)
    if value is None:
        others = [c for c in cols if c != by and _numeric(cols[c])]
        if len(others) != 1:
            raise OptionError(f"say which column holds the observations (value=); candidates: "
                              f"{', '.join(map(repr, others)) or 'none'}")
        value = others[0]
    if value not in cols:
        raise _missing(value, cols)
    keys = np.asarray(cols[by])
    vals = np.asarray(cols[value])
    if vals.dtype.kind not in "iufb":
        vals = vals.astype(object)
    labels, inverse = _group_codes(keys)
    order = np.argsort(inverse, kind="stable")
    sizes = np.bincount(inverse, minlength=len(labels))
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    # a group's rows are order[start:start + size]; sliced only for groups validated one by one
    groups = [(_py(k), (int(a), int(a + m))) for k, a, m in zip(labels, starts, sizes)]
    return _Layout(vals, inverse, order, sizes, groups, _in_order(order))


def _column_groups(cols, columns):
    """One group per named column: ``(name, None)``."""
    for c in columns:
        if c not in cols:
            raise _missing(c, cols)
    return [(c, None) for c in columns]


def _batches(fam, cols, groups, layout, out, dropna, fixed):
    """The usable groups as padded ``(group indices, X, W)`` batches. Groups that pass the
    whole-column checks are packed at once; the others are validated one by one, and a
    group that fails is marked ``error`` in ``out``."""
    clean = np.zeros(len(groups), bool)
    if layout is not None:
        clean = _clean_groups(fam, layout.vals, layout.inverse, layout.order, layout.sizes, fixed,
                              layout.grouped)
    ready = []  # (group index, validated values)
    for gi, (label, rows) in enumerate(groups):
        if clean[gi]:
            continue
        raw = layout.vals[layout.order[rows[0]:rows[1]]] if layout is not None else np.asarray(cols[label])
        try:
            x, dropped = _validate(fam, raw, dropna, fixed)
            out["n"][gi], out["dropped"][gi] = x.size, dropped
            ready.append((gi, x))
        except ThetahatError as exc:
            out["status"][gi], out["reason"][gi] = "error", str(exc)
    batches = []
    if clean.any():
        batches += _pack_clean(layout.vals, layout.inverse, layout.order, layout.sizes, clean, out,
                               layout.grouped)
    return batches + _pack_ready(ready)


def _pack_ready(ready):
    """Groups validated one by one, as padded batches: one per size bucket."""
    by_bucket = defaultdict(list)
    for gi, x in ready:
        by_bucket[_bucket(x.size)].append((gi, x))
    batches = []
    for size, items in sorted(by_bucket.items()):
        X = np.zeros((len(items), size))
        W = np.zeros((len(items), size))
        for j, (_, x) in enumerate(items):
            X[j, :x.size], W[j, :x.size] = x, 1.0
        batches.append(([gi for gi, _ in items], X, W))
    return batches


def _store_batch(out, fam, members, b):
    """Write one batch's fits into the rows ``members`` of ``out``."""
    k = len(b.se)
    idx = np.asarray(members)
    ok = np.asarray(b.converged, dtype=bool)
    out["converged"][idx] = ok
    out["status"][idx] = np.where(ok, "ok", "failed")
    out["reason"][idx] = np.where(ok, "converged" if b.method != "closed" else "closed form",
                                  "did not converge (no maximum found within the iteration limit; the "
                                  "estimate may run to a boundary)")
    out["loglik"][idx] = np.where(ok, b.loglik, np.nan)
    out["aic"][idx] = np.where(ok, -2 * b.loglik + 2 * k, np.nan)
    out["bic"][idx] = np.where(ok, -2 * b.loglik + k * np.log(b.nobs), np.nan)
    for name in fam.params:
        out[name][idx] = np.where(ok, b.params[name], np.nan)
        if name in b.se and f"se_{name}" in out:
            out[f"se_{name}"][idx] = np.where(ok, b.se[name], np.nan)


def _empty(G, fam, labels):
    out = {"group": np.array(labels, dtype=object), "n": np.zeros(G, dtype=int), "dropped": np.zeros(G, dtype=int),
           "status": np.array(["error"] * G, dtype=object), "reason": np.array([""] * G, dtype=object),
           "converged": np.zeros(G, dtype=bool), "loglik": np.full(G, np.nan), "aic": np.full(G, np.nan),
           "bic": np.full(G, np.nan)}
    for name in fam.params:
        out[name] = np.full(G, np.nan)
    for name in fam.params:
        if name not in fam.nonregular:
            out[f"se_{name}"] = np.full(G, np.nan)
    return out


def _group_codes(keys):
    """(labels, inverse): the distinct keys, sorted, and each row's group index. Keys that
    are already grouped and increasing (the common layout) take one linear pass instead of
    a sort; keys of mixed types are grouped in order of appearance."""
    if keys.dtype.kind in "iufb" and keys.size:
        change = np.empty(keys.size, bool)
        change[0] = True
        np.not_equal(keys[1:], keys[:-1], out=change[1:])
        firsts = np.flatnonzero(change)
        labels = keys[firsts]
        if labels.size == 1 or bool(np.all(labels[1:] > labels[:-1])):  # grouped and increasing
            return labels, np.cumsum(change) - 1
    try:
        return np.unique(keys, return_inverse=True)
    except TypeError:  # keys of mixed types: group in order of appearance
        index = defaultdict(list)
        for i, k in enumerate(keys.tolist()):
            index[k].append(i)
        labels = list(index)
        inverse = np.empty(keys.shape[0], dtype=int)
        for j, k in enumerate(labels):
            inverse[index[k]] = j
        return labels, inverse


def _in_order(order):
    return bool(np.all(order[1:] > order[:-1]))


def _clean_groups(fam, vals, inverse, order, sizes, fixed, grouped):
    """Groups that pass every check, found with whole-column operations: numeric and finite,
    inside the support, large enough and not constant. The others go through
    :func:`_validate` one by one, which names their problem."""
    from .families._base import Family

    G = sizes.size
    clean = np.zeros(G, bool)
    if vals.dtype.kind not in "iuf":
        return clean
    v = vals.astype(float, copy=False)
    nonfinite = ~np.isfinite(v)
    bad = sizes < fam.min_obs
    if nonfinite.any():
        bad |= np.bincount(inverse, weights=nonfinite, minlength=G) > 0
    try:
        fam.check_support(v[~bad[inverse]] if bad.any() else v, fixed)
    except ThetahatError:
        return clean  # some group holds an out-of-support value: validate every group on its own
    if type(fam).check_degenerate is Family.check_degenerate and not fam.discrete:
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        nonempty = sizes > 0
        lo = np.full(G, np.nan)
        hi = np.full(G, np.nan)
        vs = v if grouped else v[order]
        lo[nonempty] = np.minimum.reduceat(vs, starts[nonempty])
        hi[nonempty] = np.maximum.reduceat(vs, starts[nonempty])
        bad |= ~(lo < hi)
    elif type(fam).check_degenerate is not Family.check_degenerate:
        return clean  # a family's own degeneracy rule: per group
    return ~bad


def _pack_clean(vals, inverse, order, sizes, clean, out, grouped):
    """The clean groups' values as padded (groups, bucket) matrices, one per size bucket,
    scattered in whole-array operations."""
    G = clean.size
    out["n"][clean] = sizes[clean]
    out["dropped"][clean] = 0
    in_order = grouped
    g_sorted = inverse if in_order else inverse[order]
    v_sorted = np.asarray(vals, dtype=float)
    v_sorted = v_sorted if in_order else v_sorted[order]
    pos = np.arange(order.size) - np.r_[0, np.cumsum(sizes)[:-1]][g_sorted]
    buckets = np.maximum(8, 1 << np.ceil(np.log2(np.maximum(sizes, 1))).astype(int))
    batches = []
    for b in np.unique(buckets[clean]):
        members = np.flatnonzero(clean & (buckets == b))
        row_of = np.full(G, -1)
        row_of[members] = np.arange(members.size)
        X = aligned_empty((members.size, b))  # aligned: JAX reads the batch in place
        W = aligned_empty((members.size, b))
        W[:] = 0.0
        m = int(sizes[members[0]])
        if members.size == G and np.all(sizes == m):  # groups of one size: a reshape, no scatter
            X[:, :m] = v_sorted.reshape(G, m)
            W[:, :m] = 1.0
            X[:, m:] = X[:, :1]  # padding: a valid value of its own row
        else:
            X[:] = 0.0
            rows = row_of[g_sorted]
            take = rows >= 0
            flat = rows[take] * b + pos[take]
            X.ravel()[flat] = v_sorted[take]
            W.ravel()[flat] = 1.0
        batches.append((members.tolist(), X, W))
    return batches


def _validate(fam, raw, dropna, fixed):
    from .scale.arrays import as_float_array

    x, dropped = as_float_array(raw, dropna=dropna, where="group")
    if x.size < fam.min_obs:
        raise EmptyGroup(f"{x.size} observations; {fam.name} needs at least {fam.min_obs}")
    fam.check_support(x, fixed)
    fam.check_degenerate(x, None)
    return x, dropped


class EmptyGroup(OptionError):
    """A group with too few observations."""


def _bucket(n):
    return max(8, 1 << int(np.ceil(np.log2(max(n, 1)))))


def _as_columns(data) -> dict:
    if isinstance(data, dict):
        return {str(k): np.asarray(v, dtype=object) if not _numeric_array(v) else np.asarray(v)
                for k, v in data.items()}
    mod = type(data).__module__
    if mod.startswith("pyarrow"):
        return {n: np.asarray(data.column(n).to_pylist(), dtype=object) for n in data.column_names}
    if mod.startswith("polars"):
        return {n: np.asarray(data[n].to_list(), dtype=object) for n in data.columns}
    if hasattr(data, "columns") and hasattr(data, "__getitem__"):  # pandas
        return {str(n): data[n].to_numpy() for n in data.columns}
    raise OptionError(f"fit_many takes a DataFrame, a pyarrow Table or a dict of columns, not {type(data).__name__}")


def _numeric_array(v):
    try:
        return np.asarray(v).dtype.kind in "iufb"
    except Exception:
        return False


def _numeric(col):
    if np.asarray(col).dtype.kind in "iufb":
        return True
    try:
        np.asarray(col, dtype=float)
        return True
    except (TypeError, ValueError):
        return False


def _py(v):
    if isinstance(v, np.generic):
        return v.item()
    return v
