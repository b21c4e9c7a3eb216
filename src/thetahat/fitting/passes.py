"""The per-batch functions of a streamed fit: validation with sufficient statistics,
and the log-likelihood with its derivatives. They are module-level functions of
picklable arguments, so Dask ships them to workers by reference.

Example
-------
>>> import numpy as np, thetahat
>>> from thetahat.fitting.passes import StreamSpec, validate_batch
>>> from thetahat.scale.sources import Batch
>>> spec = StreamSpec.build(thetahat.family("normal"), ("x",), {}, dropna=False, pilot_every=1)
>>> out = validate_batch(Batch({"x": np.array([1.0, 2.0, 6.0])}, "demo", 0), spec)
>>> int(out["n"]), float(out["max:x"])
(3, 6.0)
"""

from __future__ import annotations

import hashlib
import pickle
import re
from dataclasses import dataclass

import numpy as np

from ..scale.arrays import Sample
from ..errors import NonFiniteDataError, SupportError

_CANON: dict = {}  # per process: one family/layout object per key, so compiled code is reused


@dataclass(frozen=True)
class StreamSpec:
    """What every batch function needs: the (bound) family, the columns, the fixed
    values, NaN handling, and the stride of the pilot subsample."""

    family: object
    columns: tuple
    fixed: dict
    dropna: bool
    pilot_every: int
    key: str
    layout: object = None

    @staticmethod
    def build(family, columns, fixed, *, dropna, pilot_every, layout=None):
        key = hashlib.sha1(pickle.dumps((type(family).__qualname__, getattr(family, "name", ""),
                                         sorted(getattr(family, "known_values", {}).items()),
                                         layout))).hexdigest()
        try:
            key += hashlib.sha1(pickle.dumps(family)).hexdigest()
        except Exception:  # an unpicklable custom family (only in-process streaming)
            key += str(id(family))
        return StreamSpec(family, tuple(columns), dict(fixed), bool(dropna), int(pilot_every), key, layout)

    def with_layout(self, layout):
        return StreamSpec.build(self.family, self.columns, self.fixed, dropna=self.dropna,
                                pilot_every=self.pilot_every, layout=layout)

    def canonical(self):
        """(family, layout) objects shared by every task of this process with the same key."""
        got = _CANON.get(self.key)
        if got is None:
            got = _CANON[self.key] = (self.family, self.layout)
        return got


def batch_values(batch, spec):
    """The batch as the family's data, NaN rows dropped (counted) or refused."""
    fam = spec.family
    if fam.ndim:
        x = np.column_stack([batch.columns[c] for c in spec.columns])
        nan_rows = np.isnan(x).any(axis=1)
    else:
        x = batch.columns[spec.columns[0]]
        nan_rows = None
    return x, nan_rows


def _drop_nan(x, nan_rows, batch, spec):
    if nan_rows is None:
        nan_rows = np.isnan(x)
    k = int(nan_rows.sum())
    if k and not spec.dropna:
        i = int(np.argmax(nan_rows))
        raise NonFiniteDataError(f"{batch.where} contains NaN at data row {batch.offset + i + 1} of column "
                                 f"{', '.join(spec.columns)} (pass dropna=True / --dropna to drop and count "
                                 "NaN rows)")
    return (x[~nan_rows] if k else x), k


def _relocate(exc, batch):
    """The same error, its row number counted within the file (or partition)."""
    msg = re.sub(r"at (data )?row (\d+)", lambda m: f"at {m.group(1) or ''}row {int(m.group(2)) + batch.offset}",
                 str(exc))
    return type(exc)(f"{batch.where}: {msg}")


def validate_batch(batch, spec):
    """Pass 1: count, NaN and support checks, min/max, a pilot subsample, and the
    family's sufficient statistics when it has them (all from one read of the batch)."""
    from ..engine.objective import compute_statistics
    from ..families._base import Family
    from .checks import _inside

    fam, _ = spec.canonical()
    x, nan_rows = batch_values(batch, spec)
    has_stats = fam.statistics is not None and fam.loglik_from_statistics is not None
    stats = lo = hi = None
    if has_stats and fam.ndim == 0 and not fam.discrete:
        # the statistics pass also gives min and max; a NaN shows in the sums (XLA's min/max may skip it)
        stats, summary = compute_statistics(fam, Sample(x, None, float(x.shape[0])))
        lo, hi = summary["min"], summary["max"]
        if not all(np.all(np.isfinite(v)) for v in stats.values()):
            lo = hi = np.nan
    dropped = 0
    if lo is None or not (np.isfinite(lo) and np.isfinite(hi)):
        x, dropped = _drop_nan(x, nan_rows, batch, spec)
        finite = np.isfinite(x) if x.ndim == 1 else np.isfinite(x).all(axis=1)
        if not finite.all():
            raise NonFiniteDataError(f"{batch.where} contains an infinite value at data row "
                                     f"{batch.offset + int(np.argmax(~finite)) + 1}"
                                     + (f" (counting rows after the {dropped} NaN rows dropped)" if dropped else ""))
        if dropped:
            stats = None  # recomputed on the rows kept
        lo, hi = (np.min(x, axis=0), np.max(x, axis=0)) if x.shape[0] else (np.inf, -np.inf)
    simple = type(fam).check_support is Family.check_support and not fam.discrete and fam.ndim == 0
    if x.shape[0] and not (simple and _inside(fam.support, lo, hi)):
        try:
            fam.check_support(x, spec.fixed)
        except SupportError as exc:
            if dropped:
                raise SupportError(f"{batch.where}: {exc} (counting rows after the {dropped} NaN rows "
                                   "dropped)") from None
            raise _relocate(exc, batch) from None
    out = {"n": np.asarray(float(x.shape[0])), "dropped": np.asarray(float(dropped)),
           "min:x": np.asarray(lo, dtype=float), "max:x": np.asarray(hi, dtype=float),
           "cat:pilot": np.ascontiguousarray(x[::min(spec.pilot_every, max(1, x.shape[0] // 1024))])}
    if has_stats and x.shape[0]:
        if stats is None:
            stats, _ = compute_statistics(fam, _as_sample(x, fam))
        out.update({"s:" + k: np.asarray(v) for k, v in stats.items()})
    return out


def _as_sample(x, fam):
    if fam.discrete:
        from ..scale.arrays import reduce_discrete

        xs, w = reduce_discrete(x, None)
        return Sample(xs, w, float(x.shape[0]))
    return Sample(x, None, float(x.shape[0]))


def derivs_batch(batch, spec, u, want="vgh"):
    """Log-likelihood (``want="v"``) or log-likelihood, gradient and Hessian of a batch."""
    import jax.numpy as jnp

    from ..engine.objective import fixed_jax, chunk_functions

    fam, layout = spec.canonical()
    x, nan_rows = batch_values(batch, spec)
    x, _ = _drop_nan(x, nan_rows, batch, spec) if spec.dropna else (x, 0)
    if x.shape[0] == 0:
        k = layout.size
        return {"v": np.asarray(0.0)} if want == "v" else \
            {"v": np.asarray(0.0), "g": np.zeros(k), "H": np.zeros((k, k))}
    ll, vgh, _ = chunk_functions(fam, layout)
    fixed = fixed_jax(spec.fixed)
    u = jnp.asarray(u)
    sample = _as_sample(x, fam)
    if want == "v":
        parts = [ll(u, fixed, xc, wc, nv) for xc, wc, nv in sample.chunks()]
        return {"v": np.asarray(sum(np.asarray(p) for p in parts))}
    parts = [vgh(u, fixed, xc, wc, nv) for xc, wc, nv in sample.chunks()]
    return {"v": np.asarray(sum(float(p[0]) for p in parts)), "g": sum(np.asarray(p[1]) for p in parts),
            "H": sum(np.asarray(p[2]) for p in parts)}

