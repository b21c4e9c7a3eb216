"""``Fit.update``: fold new observations into a fit.

For a family with sufficient statistics the update is exact and costs one pass over
the *new* rows only: their statistics merge with the fit's (by the family's
``merge``, addition for exponential families), and the estimate is recomputed from
the merged statistics -- the same numbers a fit of all the rows gives. Statistics of
partitions merge the same way, so daily data, files or cluster partitions can be
folded in as they come.

A family without sufficient statistics (weibull, t, ...) has nothing smaller than
the rows to carry forward: its update refits the old rows plus the new ones, warm
started at the previous estimate, when the fit still holds its rows.

Example
-------
>>> import numpy as np, thetahat
>>> rng = np.random.default_rng(3)
>>> monday, tuesday = rng.poisson(4.0, 300), rng.poisson(4.0, 200)
>>> f = thetahat.fit(monday, "poisson").update(tuesday)
>>> bool(np.isclose(f.params["lam"], np.concatenate([monday, tuesday]).mean(), rtol=1e-14)), f.nobs
(True, 500.0)
"""

from __future__ import annotations

import numpy as np

from .._jax import x64
from ..engine.objective import StatisticsObjective
from ..errors import OptionError
from ..scale.arrays import as_float_array
from ..scale.reduce import map_reduce
from ..scale.sources import Batch, is_stream_input, open_source
from .checks import _column_of
from .estimate import estimate_fit
from .passes import StreamSpec, validate_batch
from .streamed import stream_columns


@x64
def update(fit, more, *, column=None, dropna=False):
    """The fit of the fit's observations plus ``more`` (see the module docstring)."""
    ctx = getattr(fit, "context", None)
    if ctx is None:
        raise OptionError("this fit carries no data or statistics: it cannot be updated")
    if ctx.censored:
        raise OptionError("updating a censored or truncated fit is not supported: refit all the rows")
    if ctx.weight_kind != "frequency":
        raise OptionError("updating a fit with analytic weights is not supported: refit all the rows")
    fam = ctx.family
    # a family with limits (zip: pi = 0) is checked against them on rows: refit them where the fit has them
    if ctx.stats is None or (fam.limits and ctx.raw is not None and ctx.raw.w is None):
        return _refit_rows(fit, ctx, more, column, dropna)
    stats, n_new, dropped_new, where = _statistics_of(more, fam, ctx.fixed, column, dropna)
    merged = fam.merge({k: np.asarray(v) for k, v in ctx.stats.items()}, stats)
    return _from_statistics(fit, ctx, merged, n_new, dropped_new, where)


def _statistics_of(more, fam, fixed, column, dropna):
    """Validated sufficient statistics of new data (in memory, files or Dask)."""
    if is_stream_input(more):
        cols = stream_columns(more, fam, column)
        source = open_source(more, cols)
        where = source.describe()
    else:
        if column is not None:
            more = _column_of(more, column, fam)
        x, _ = as_float_array(more, ndim=fam.ndim, scan=False)
        cols = ["x"] if not fam.ndim else [f"x{j}" for j in range(x.shape[1])]
        source = _InMemory(Batch({c: (x if not fam.ndim else x[:, j]) for j, c in enumerate(cols)}, "the new data", 0))
        where = "the new data"
    spec = StreamSpec.build(fam, cols, fixed, dropna=dropna, pilot_every=1 << 30)
    out = map_reduce(source, validate_batch, (spec,), merge=fam.merge)
    stats = {k[2:]: np.asarray(v) for k, v in out.items() if k.startswith("s:")}
    if not stats:
        raise OptionError(f"{where} has no rows left to add")
    return stats, float(out["n"]), int(out["dropped"]), where


class _InMemory:
    """A one-batch source (new rows already in memory)."""

    def __init__(self, batch):
        self._batch, self.rows, self.files, self.passes = batch, batch.rows, [], 0

    def batches(self):
        yield self._batch


def _from_statistics(fit, ctx, merged, n_new, dropped_new, where):
    fam, layout, fixed = ctx.family, ctx.layout, ctx.fixed
    obj = StatisticsObjective(fam, layout, fixed, merged)
    nobs = float(fit.nobs) + n_new
    start = None if fit.boundary else {k: np.asarray(fit.params[k]) for k in layout.names}
    method = "auto" if fit.method in ("closed", "newton", "boundary") else fit.method
    old = ctx.streamed.get("source") if ctx.streamed else None
    info = {"source": old or "the fitted rows", "passes": 1, "open": lambda l2, f2: StatisticsObjective(
        fam, l2, f2, merged),
        "note": f"updated with {_n(n_new)} observations from {where} by merging sufficient statistics "
                f"({_n(fit.nobs)} + {_n(n_new)} = {_n(nobs)} observations)"}
    pilot = _pilot(ctx, fam, start)
    return estimate_fit(fam, layout, obj, fixed, pilot, None, nobs, int(fit.dropped) + dropped_new, None, merged,
                        method=method, start=start, starts=1, seed=0, max_iter=None, cov_type=ctx.cov_type,
                        weight_kind="frequency", censoring=False, streamed=info, front=ctx.front)


def _pilot(ctx, fam, start):
    """Rows for the start-up hooks (shapes, a fallback start): the fit's own, or a draw
    from the fitted distribution when the fit kept none."""
    if ctx.raw is not None:
        return ctx.raw.x
    import jax

    p = {**{k: np.asarray(v) for k, v in ctx.fixed.items()}, **start}
    try:
        return np.asarray(fam.sample(jax.random.PRNGKey(0), p, 256), dtype=float)
    except NotImplementedError:
        raise OptionError(f"{fam.name} cannot be updated here: it has no sampler to set up the refit") from None


def _refit_rows(fit, ctx, more, column, dropna):
    fam = ctx.family
    if ctx.raw is None or is_stream_input(more):
        raise OptionError(f"{fam.name} has no sufficient statistics, so an update must refit every row; "
                          "this fit (or the new data) is not in memory: fit all the data again, e.g. "
                          "thetahat.fit([old_files..., new_files...], ...)")
    if ctx.raw.w is not None:
        raise OptionError("updating a weighted fit of a family without sufficient statistics is not supported: "
                          "refit all the rows with their weights")
    if column is not None:
        more = _column_of(more, column, fam)
    x, dropped = as_float_array(more, ndim=fam.ndim, dropna=dropna, where="the new data")
    rows = np.concatenate([ctx.raw.x, x])
    # (a fit on the boundary, df = inf, is no start: the family's own start is)
    start = None if fit.boundary else {k: np.asarray(fit.params[k]) for k in ctx.layout.names}
    f = ctx.front.fit(rows, fam, fixed=ctx.fixed, start=start, cov_type=ctx.cov_type)
    note = (f"updated by refitting all {rows.shape[0]} rows ({fam.name} has no sufficient statistics)"
            + ("" if start is None else ", warm started at the previous estimate"))
    import dataclasses

    return dataclasses.replace(f, notes=f.notes + (note,), dropped=int(fit.dropped) + dropped)


def _n(v):
    v = float(v)
    return int(v) if v == int(v) else v
