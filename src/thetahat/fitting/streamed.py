"""``thetahat.fit`` on data that is never loaded whole: files read in batches, or a
Dask collection reduced by its workers.

* Pass 1 validates every row (NaN, infinity, support), counts them, keeps a strided
  pilot subsample (at most ~65 000 rows) and, for families with sufficient
  statistics, merges those statistics. Closed-form and sufficient-statistic families
  are then done: the optimum and its Hessian come from the statistics alone.
* Other families start Newton's method from the MLE of the pilot; each Newton
  iteration is one pass that sums the log-likelihood, gradient and Hessian over the
  batches (p + p^2 numbers per batch). From the pilot's start Newton converges
  quadratically: a weibull fit of 10^8 rows takes about 5 passes.

Example
-------
>>> import os, tempfile
>>> import numpy as np, pyarrow as pa, pyarrow.parquet as pq, thetahat
>>> d = tempfile.mkdtemp()
>>> x = np.random.default_rng(1).gamma(2.0, 1.5, size=3000)
>>> for i in range(3):
...     pq.write_table(pa.table({"x": x[i::3]}), os.path.join(d, f"part{i}.parquet"))
>>> f = thetahat.fit(os.path.join(d, "*.parquet"), "gamma", column="x")
>>> g = thetahat.fit(x, "gamma")
>>> bool(np.isclose(f.params["shape"], g.params["shape"], rtol=1e-10))
True
"""

from __future__ import annotations

import os

import numpy as np

from .._jax import x64
from ..errors import DegenerateDataError, EmptyDataError, OptionError
from ..engine.layout import Layout
from ..engine.objective import StatisticsObjective
from .checks import _overflow
from .estimate import estimate_fit
from .passes import StreamSpec, derivs_batch, validate_batch
from ..scale.reduce import file_source_on_dask, map_reduce
from ..scale.sources import BATCH_ROWS, FileSource, is_dask, open_source

PILOT_ROWS = 1 << 16


class StreamObjective:
    """The log-likelihood of streamed data: every evaluation is one pass."""

    def __init__(self, source, spec, info, progress=None):
        self.source, self.spec, self.info, self.progress = source, spec, info, progress
        self.layout = spec.layout

    def _pass(self, u, want):
        out = map_reduce(self.source, derivs_batch, (self.spec, np.asarray(u, dtype=float), want),
                         progress=self.progress, label="Newton pass")
        self.info["passes"] = self.source.passes
        return out

    def value(self, u) -> float:
        return float(self._pass(u, "v")["v"])

    def derivs(self, u):
        out = self._pass(u, "vgh")
        return float(out["v"]), np.asarray(out["g"], dtype=float), np.asarray(out["H"], dtype=float)


def stream_columns(data, family, column):
    """The column names to read for ``family`` (several for a multivariate family)."""
    if column is None:
        if is_dask(data):
            name = getattr(data, "name", None)
            cols = list(getattr(data, "columns", []))
            if cols:
                if len(cols) == 1 or family.ndim:
                    return cols
                raise OptionError(f"the Dask DataFrame has columns {', '.join(map(str, cols))}: name the one to "
                                  "fit with column=...")
            if getattr(data, "ndim", 1) == 2:
                return [f"x{j}" for j in range(int(data.shape[1]))]
            return [name if isinstance(name, str) else "x"]
        raise OptionError("name the column to fit with column=... (CLI: --column) when reading files")
    if isinstance(column, str):
        cols = [c.strip() for c in column.split(",")] if family.ndim else [column]
    else:
        cols = list(column)
    if not family.ndim and len(cols) != 1:
        raise OptionError(f"{family.name} takes one value per observation: name one column, got {cols}")
    return cols


@x64
def fit_stream(data, fam, fixed, *, front, column=None, method="auto", start=None, dropna=False, max_iter=None,
               cov_type="observed", seed=0, progress=None, batch_rows=BATCH_ROWS, dask=False):
    """Fit a bound family to streamed data (see :mod:`thetahat.fitting.streamed`)."""

    has_stats = fam.statistics is not None and fam.loglik_from_statistics is not None
    if cov_type not in ("observed", "expected"):
        raise OptionError(f"cov_type={cov_type!r} needs every observation's score: a streamed fit offers "
                          "'observed' and 'expected'")
    if not has_stats and fam.param_support:
        raise OptionError(f"{fam.name}'s support depends on its parameters, so a start must respect every "
                          "observation: load the data to fit it (streaming it is not supported)")
    if not has_stats and fam.information == "expected":
        raise OptionError(f"{fam.name}'s MLE needs all observations in memory (its closed form is not a sum); "
                          "load the data to fit it")
    cols = stream_columns(data, fam, column)
    source = open_source(data, cols, batch_rows=batch_rows)
    if dask and isinstance(source, FileSource):
        source = file_source_on_dask(source)
    rows = source.rows or _dask_rows(data)
    if rows:
        every = max(1, rows // PILOT_ROWS)
    else:  # CSV: a row takes at least 2 bytes per column
        every = max(1, sum(os.path.getsize(f) for f in source.files) // (2 * len(cols) * PILOT_ROWS)) if source.files else 64
    spec = StreamSpec.build(fam, cols, fixed, dropna=dropna, pilot_every=every)
    first = map_reduce(source, validate_batch, (spec,), merge=fam.merge, progress=progress, label="reading")
    where = source.describe()
    if first is None:
        raise EmptyDataError(f"{where} holds no rows")
    n, dropped = float(first["n"]), int(first["dropped"])
    if n < fam.min_obs:
        extra = f" after dropping {dropped} NaN rows" if dropped else ""
        raise EmptyDataError(f"{where}: {fam.name} needs at least {fam.min_obs} observations, got "
                             f"{int(n)}{extra}")
    lo, hi = first["min:x"], first["max:x"]
    if not fam.discrete and fam.ndim == 0 and float(lo) == float(hi):
        raise DegenerateDataError(f"all {int(n)} observations in {where} equal {float(lo):g}: a {fam.name} "
                                  "fit needs variation in the data")
    pilot = first["cat:pilot"]
    if pilot.shape[0] > 2 * PILOT_ROWS:
        pilot = pilot[:: pilot.shape[0] // PILOT_ROWS]
    stats = None
    if has_stats:
        stats = {k[2:]: np.asarray(v) for k, v in first.items() if k.startswith("s:")}
        if not all(np.all(np.isfinite(v)) for v in stats.values()):
            raise _overflow(fam, pilot)
    free = [k for k in fam.params if k not in fixed]
    if not free:
        raise OptionError("every parameter is fixed: there is nothing to estimate")
    layout = Layout.build(fam, fam.param_shapes(pilot), free)
    info = {"source": where, "passes": source.passes, "rows_dropped": dropped}
    if stats is not None:
        obj = StatisticsObjective(fam, layout, fixed, stats)

        def reopen(layout2, fixed2):
            return StatisticsObjective(fam, layout2, fixed2, stats)
    else:
        obj = StreamObjective(source, spec.with_layout(layout), info, progress)
        if start is None and method in ("auto", "newton", "scoring"):
            start = _pilot_start(front.fit, pilot, fam, fixed, free)

        def reopen(layout2, fixed2):
            raise OptionError(f"this {fam.name} fit was streamed from {where}: refits on the same data "
                              "(profiles, likelihood surfaces) would each take several passes over it; "
                              "use Wald intervals, or fit the data in memory")
    info["open"] = reopen
    return estimate_fit(fam, layout, obj, fixed, pilot, None, n, dropped, None, stats, method=method, start=start,
                        starts=1, seed=seed, max_iter=max_iter, cov_type=cov_type, weight_kind="frequency",
                        censoring=False, streamed=info, front=front)


def _pilot_start(fit_memory, pilot, fam, fixed, free):
    """The MLE of the pilot subsample: a start within O(1/sqrt(pilot)) of the optimum."""
    from ..errors import ThetahatError

    try:
        f = fit_memory(pilot, fam, fixed={k: v for k, v in fixed.items()})
    except ThetahatError:
        return None
    if not f.converged:
        return None
    return {k: np.asarray(f.params[k]) for k in free}


def _dask_rows(data):
    """The row count of a Dask array (known without computing); None for DataFrames."""
    if not (is_dask(data) and hasattr(data, "chunks") and hasattr(data, "shape")):
        return None
    n = data.shape[0]
    return int(n) if isinstance(n, (int, np.integer)) else None
