"""The per-batch functions of a streamed regression: the design of a batch, the first
(validating) pass, and one Newton pass. They are module-level functions of picklable
arguments, so Dask ships them to worker processes by reference.

A :class:`RegressPlan` carries everything a batch needs: the model's family and link
(resolved on the worker to the one cached :class:`~thetahat.regression.models.Model`,
so compiled code is reused), the formulaic ``ModelSpec`` learned from the first batch
(pickled), and the columns that hold the response, weights, offset, trials or event.

Example
-------
>>> import numpy as np
>>> from thetahat.scale.sources import Batch
>>> from thetahat.regression.streamed_batch import RegressPlan, batch_design
>>> plan = RegressPlan.build("poisson", "log", names=("Intercept", "x"), fast=("1", "x"), response="y",
...                         roles={}, dropna=False, pilot_every=1)
>>> d = batch_design(Batch({"x": np.array([0.0, 1, 2]), "y": np.array([1.0, 0, 3])}, "demo", 0), plan)
>>> d["X"].tolist(), d["y"].tolist()
([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]], [1.0, 0.0, 3.0])
"""

from __future__ import annotations

import hashlib
import pickle
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError, NonFiniteDataError, SupportError

_CANON: dict = {}  # per process: (model, spec) for each plan key, so jitted code is reused across tasks


@dataclass(frozen=True)
class RegressPlan:
    """What every batch function needs (picklable, no data)."""

    family: str
    link: str
    names: tuple  # design column names
    fast: tuple | None  # per design column: a data column, or "1" for the intercept (no formulaic per batch)
    response: str  # the response column (or a formula for it, with ``spec_y``)
    roles: dict  # weights / offset / trials / event -> column name
    dropna: bool
    pilot_every: int
    spec: bytes = b""  # pickled formulaic ModelSpec of the right-hand side (when not ``fast``)
    spec_y: bytes = b""  # ... and of the left-hand side, when it is an expression
    levels: tuple = ()  # (column, its categorical levels in the first batch) of each C(column) term
    key: str = field(default="", compare=False)

    @staticmethod
    def build(family, link, *, names, fast, response, roles, dropna, pilot_every, spec=b"", spec_y=b"",
              levels=()):
        parts = (family, link, tuple(names), fast, response, tuple(sorted(roles.items())), spec, spec_y, levels)
        key = hashlib.sha1(pickle.dumps(parts)).hexdigest()
        return RegressPlan(family, link, tuple(names), fast, response, dict(roles), bool(dropna), int(pilot_every),
                           spec, spec_y, tuple(levels), key)

    def canonical(self):
        """(model, rhs spec, lhs spec) shared by every task of this process with the same key."""
        got = _CANON.get(self.key)
        if got is None:
            from .models import get_model

            got = _CANON[self.key] = (get_model(self.family, self.link),
                                      pickle.loads(self.spec) if self.spec else None,
                                      pickle.loads(self.spec_y) if self.spec_y else None)
        return got


# ---- the design of one batch --------------------------------------------------------------
def _from_spec(spec, frame, batch, what):
    """The model matrix of ``frame`` by ``spec``; a level the first batch did not have is an error."""
    import formulaic

    from .formula import eval_context

    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        mm = spec.get_model_matrix(frame, na_action="ignore", context=eval_context())
    X = np.asarray(mm, dtype=np.float64)
    bad = [w for w in caught if "categories outside" in str(w.message) or "not seen" in str(w.message)]
    if bad:
        raw = np.column_stack([np.asarray(frame[c], dtype=float) for c in frame.columns])
        rows = np.flatnonzero(np.isnan(X).any(axis=1) & ~np.isnan(raw).any(axis=1))
        at = f" at data row {batch.offset + int(rows[0]) + 1}" if rows.size else ""
        levels = re.search(r"\{(.*)\}", str(bad[0].message))
        raise DataError(f"{batch.where}: the categorical {what} has a level{at} that the first batch of the data "
                        f"did not have ({levels.group(1) if levels else 'a new level'}); a streamed fit learns the "
                        "levels from the first batch: put a row of every level first, or fit in memory")
    del formulaic
    return X


def batch_design(batch, plan):
    """``{"X", "y", "aux", "w", "off", "dropped"}`` of a batch, NaN rows refused (naming the
    file or partition and the row) or, with ``plan.dropna``, dropped and counted."""
    import pandas as pd

    model, spec, spec_y = plan.canonical()
    cols = batch.columns
    n = batch.rows
    if plan.fast is not None:
        X = np.empty((n, len(plan.fast)))
        for j, c in enumerate(plan.fast):
            X[:, j] = 1.0 if c == "1" else cols[c]
    else:
        for name, levels in plan.levels:
            v = cols[name]
            new = ~np.isin(v, levels) & ~np.isnan(v)
            if new.any():
                i = int(np.flatnonzero(new)[0])
                raise DataError(f"{batch.where}: the categorical column {name!r} has level {v[i]:g} at data row "
                                f"{batch.offset + i + 1}, which the first batch of the data did not have (levels "
                                f"{', '.join(f'{x:g}' for x in levels)}); a streamed fit learns the levels from "
                                "the first batch: put a row of every level first, or fit in memory")
        X = _from_spec(spec, pd.DataFrame(cols, copy=False), batch, "term")
    if spec_y is not None:
        y = _from_spec(spec_y, pd.DataFrame(cols, copy=False), batch, "response")[:, 0]
    else:
        y = cols[plan.response]
    extra = {role: cols[c] for role, c in plan.roles.items()}
    bad = ~np.isfinite(y)
    for v in extra.values():
        bad |= ~np.isfinite(v)
    xbad = ~np.isfinite(X).all(axis=1)
    bad |= xbad
    dropped = 0
    if bad.any():
        if not plan.dropna:
            i = int(np.flatnonzero(bad)[0])
            if not np.isfinite(y[i]):
                what = f"the response {plan.response!r}"
            elif xbad[i]:
                what = f"column {plan.names[int(np.flatnonzero(~np.isfinite(X[i]))[0])]!r}"
            else:
                what = next(f"the {role} column {plan.roles[role]!r}" for role, v in extra.items()
                            if not np.isfinite(v[i]))
            raise NonFiniteDataError(f"{batch.where}: missing or non-finite value in {what} at data row "
                                     f"{batch.offset + i + 1} ({int(bad.sum())} such rows in this batch; pass "
                                     "dropna=True / --dropna to drop and count them)")
        keep = ~bad
        dropped = int(bad.sum())
        X, y = X[keep], y[keep]
        extra = {k: v[keep] for k, v in extra.items()}
    aux = extra.get("trials")
    if model.uses_aux == "event":
        aux = extra.get("event", np.ones(len(y)))
    return {"X": X, "y": np.asarray(y, dtype=np.float64), "aux": aux, "w": extra.get("weights"),
            "off": extra.get("offset"), "dropped": dropped, "keep": None if not dropped else keep}


def _relocated(exc, batch, d):
    """The same error, its row number counted within the file (before any NaN rows dropped)."""
    def shift(m):
        one = m.group(1) is not None  # ("data row k" counts from 1)
        i = int(m.group(2)) - one
        if d["keep"] is not None:
            i = int(np.flatnonzero(d["keep"])[i])
        return f"at {m.group(1) or ''}row {batch.offset + i + one}"

    msg = re.sub(r"at (data )?row (\d+)", shift, str(exc))
    return type(exc)(f"{batch.where}: {msg}")


def check_batch(batch, plan, d):
    """The response, trials, event and weights checks of the in-memory ``regress``, per batch."""
    from . import models as M

    model, _, _ = plan.canonical()
    y, aux, w = d["y"], d["aux"], d["w"]
    try:
        if w is not None and (w < 0).any():
            i = int(np.flatnonzero(w < 0)[0])
            raise DataError(f"weights must be non-negative; the weight at data row {i + 1} is {w[i]:g}")
        if model.uses_aux == "trials":
            bad = (aux <= 0) | (aux != np.round(aux))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DataError(f"trials must be positive whole numbers; the count at data row {i + 1} is {aux[i]:g}")
        if model.uses_aux == "event":
            bad = (aux != 0) & (aux != 1)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DataError(f"event must be 1 (event observed) or 0 (censored); the value at data row {i + 1} is {aux[i]:g}")
        if model.name == "bernoulli":
            bad = (y != 0) & (y != 1)
            if bad.any():  # the all-equal check of check_response is made on the whole data, later
                i = int(np.flatnonzero(bad)[0])
                raise SupportError(f"bernoulli regression needs a binary response (0 or 1); the response "
                                   f"{plan.response!r} has {y[i]:g} at data row {i + 1}")
        elif y.size:
            M.check_response(model, y, aux, repr(plan.response))
    except DataError as exc:
        raise _relocated(exc, batch, d) from None


# ---- pass 1 ---------------------------------------------------------------------------------
def tsqr_merge(a, b):
    """Merge of two TSQR partial results: the R factor of the stacked R factors."""
    return {"R": _r_factor(np.vstack([a["R"], b["R"]]))}


def _r_factor(A):
    if A.shape[0] == 0:
        return A
    R = np.linalg.qr(A, mode="r")
    return R


def first_pass(batch, plan, linear):
    """Validate a batch and return its counts, sums for the start, a strided pilot
    subsample ``[X | y | aux | w | off]`` and, for linear regression, the R factor of
    ``sqrt(w) [X | y - off]`` (a TSQR leaf)."""
    d = batch_design(batch, plan)
    check_batch(batch, plan, d)
    X, y, aux, w, off = d["X"], d["y"], d["aux"], d["w"], d["off"]
    n, p = X.shape
    ww = np.ones(n) if w is None else w
    out = {"n": np.asarray(float(n)), "dropped": np.asarray(float(d["dropped"])),
           "nobs": np.asarray(float(ww.sum())), "sw_y": np.asarray(float(ww @ y)),
           "min:y": np.asarray(np.min(y) if n else np.inf), "max:y": np.asarray(np.max(y) if n else -np.inf),
           "min:X": X.min(axis=0) if n else np.full(p, np.inf), "max:X": X.max(axis=0) if n else np.full(p, -np.inf)}
    step = min(plan.pilot_every, max(1, n // 256))
    cols = [X, y[:, None]]
    for v in (aux, w, off):
        cols.append((np.zeros(n) if v is None else v)[:, None])
    out["cat:pilot"] = np.ascontiguousarray(np.hstack(cols)[::step])
    if linear:
        A = np.empty((n, p + 1))
        A[:, :p] = X
        A[:, p] = y if off is None else y - off
        if w is not None:
            A *= np.sqrt(w)[:, None]
        out["s:R"] = _r_factor(A)
    return out


# ---- Newton passes ---------------------------------------------------------------------------
def derivs_pass(batch, plan, theta):
    """Log-likelihood, gradient, Hessian (``X'WX`` form), the GLM deviance and the
    smallest fitted ``min(p, 1 - p)`` (binary models) of a batch at ``theta``."""
    import jax.numpy as jnp

    from ._newton import Data, bucket, derivatives

    model, _, _ = plan.canonical()
    d = batch_design(batch, plan)
    X, y, aux, w, off = d["X"], d["y"], d["aux"], d["w"], d["off"]
    n, p = X.shape
    k = p * model.k + len(model.extra)
    if n == 0:
        return {"v": np.asarray(0.0), "g": np.zeros(k), "H": np.zeros((k, k)), "dev": np.asarray(0.0)}
    b = bucket(n, pad_all=True)  # rows padded with zero weight: few shapes, few compiles
    Xp = np.zeros((b, p))
    Xp[:n] = X

    def pad(a, fill):
        out = np.full(b, fill, dtype=np.float64)
        out[:n] = a
        return out

    auxv = np.zeros(n) if aux is None else aux
    data = Data(Xp, jnp.asarray(pad(y, y[0])), jnp.asarray(pad(auxv, auxv[0])),
                jnp.asarray(pad(np.ones(n) if w is None else w, 0.0)), pad(np.zeros(n) if off is None else off, 0.0), n)
    v, g, H = derivatives(model, data, theta)
    out = {"v": np.asarray(v), "g": np.asarray(g), "H": np.asarray(H)}
    eta = data.scratch["eta"][1][:n]
    if model.glm:
        mu = np.asarray(model.mean(jnp.asarray(eta), jnp.asarray(theta[p * model.k:])))
        dev = model.unit_deviance(y, mu, aux)
        out["dev"] = np.asarray(float(np.sum(dev if w is None else w * dev)))
        if model.binary:
            out["min:tail"] = np.asarray(float(np.min(np.minimum(mu, 1 - mu))))
    return out


def residual_pass(batch, plan, b):
    """``X'W r`` and ``r'W r`` with ``r = y - offset - Xb`` in extended precision: one step of
    refinement by the corrected semi-normal equations (Björck) for an ill-conditioned design."""
    d = batch_design(batch, plan)
    X, y, w, off = d["X"], d["y"], d["w"], d["off"]
    Xl = X.astype(np.longdouble)
    r = (y if off is None else y - off).astype(np.longdouble) - Xl @ np.asarray(b, dtype=np.longdouble)
    wr = r if w is None else r * w.astype(np.longdouble)
    return {"Xtr": (Xl.T @ wr).astype(np.float64), "rr": np.asarray(float(r @ wr))}
