"""``thetahat.regress`` on data that is never loaded whole: Parquet/CSV files read in
batches, or a Dask DataFrame / Dask arrays reduced by the workers.

* The formula's model spec (formulaic) is learned from the first batch, so every batch
  gets the same columns; a categorical level that batch did not have is an error that
  names the file and row.
* Pass 1 validates every row (NaN, the response's support), counts, keeps a strided
  pilot subsample of about 32 000 rows and, for linear regression, merges the R factor
  of ``[X | y]`` batch by batch (TSQR: ``R`` of ``[R_a; R_b]``), so a linear fit takes one
  pass (a second, refining one only for an ill-conditioned design).
* GLMs start Newton's method from the MLE of the pilot; every Newton iteration is one
  pass summing the log-likelihood, the score and ``X'WX`` (p + p² numbers per batch: what
  crosses the network is O(p²), never the data). The stopping rule is the in-memory
  fit's, so the answers agree to ~1e-12.

Example
-------
>>> import os, tempfile
>>> import numpy as np, pandas as pd, thetahat
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"x": rng.normal(size=3000)})
>>> df["y"] = rng.poisson(np.exp(0.5 + 0.3 * df["x"])).astype(float)
>>> d = tempfile.mkdtemp()
>>> for i in range(3):
...     df.iloc[i::3].to_parquet(os.path.join(d, f"part{i}.parquet"))
>>> f = thetahat.regress("y ~ x", os.path.join(d, "*.parquet"), family="poisson")
>>> g = thetahat.regress("y ~ x", df, family="poisson")
>>> bool(np.allclose(f.estimates, g.estimates, rtol=1e-10, atol=0)), bool(np.allclose(f.se, g.se, rtol=1e-10))
(True, True)
"""

from __future__ import annotations

import pickle
import re

import numpy as np

from .._jax import x64, x64_methods
from ..errors import DataError, EmptyDataError, OptionError
from .result import RegressionFit
from ..scale.reduce import file_source_on_dask, map_reduce
from ..scale.sources import FileSource, is_dask, open_source, partition_batches
from .streamed_batch import RegressPlan, derivs_pass, first_pass, residual_pass, tsqr_merge
from .estimates import linear_ml, reported_estimates, start_values

PILOT_ROWS = 1 << 15  # rows of the pilot subsample (the in-memory fit's subsample start uses as many)
REFINE_ABOVE = 1e-13  # a linear fit whose error bound is above this takes refining passes


@x64_methods
class StreamedRegressionFit(RegressionFit):
    """A :class:`~thetahat.regression.result.RegressionFit` of streamed data: the same
    table, but it kept no rows, so fitted values and residuals of the training data
    raise an :class:`~thetahat.errors.OptionError` (``predict`` on new data works)."""

    def _no_rows(self, what):
        raise OptionError(f"{what} needs the rows in memory, but this fit was streamed from "
                          f"{self.info['streamed']['source']} and kept none; use predict(new_data) or fit the "
                          "data (or a sample of it) in memory")

    def predict(self, data=None, *, X=None, offset=None, se=False, interval=None, alpha=0.05):
        if data is None and X is None:
            self._no_rows("predict() on the training data")
        return super().predict(data, X=X, offset=offset, se=se, interval=interval, alpha=alpha)

    @property
    def fitted(self):
        return self._no_rows("fitted")

    def residuals(self, kind="response"):
        return self._no_rows("residuals()")

    def influence(self):
        return self._no_rows("influence()")

    def marginal_effects(self, at="overall", method="dydx"):
        return self._no_rows("marginal_effects()")


def is_streamed_regression(formula_or_X, data) -> bool:
    """Whether ``regress(formula_or_X, data, ...)`` streams (files or Dask), not loads."""
    from ..scale.sources import is_stream_input

    if is_dask(formula_or_X):
        return True
    return isinstance(formula_or_X, str) and data is not None and is_stream_input(data)


@x64
def regress_stream(formula_or_X, data=None, y=None, *, family="normal", link=None, weights=None, offset=None,
                   penalty=None, lam=None, l1_ratio=None, event=None, trials=None, left=None, right=None,
                   dropna=False, max_iter=100, batch_rows=None, progress=None, dask=False, allow_python=False):
    """:func:`thetahat.regress` for files (a formula and ``data`` naming Parquet/CSV files,
    a glob, a folder or a list of them), a Dask DataFrame with a formula, or a Dask array
    design matrix with a Dask array ``y``. ``dask=True`` has Dask workers read the files.

    The options are :func:`thetahat.regress`'s; ``weights``, ``offset``, ``trials`` and
    ``event`` name columns (with Dask arrays, they may be Dask arrays). Penalties and
    the tobit, multinomial and ordered models need the data in memory. A formula is
    checked as in memory (:func:`thetahat.regression.formula.check_formula`) unless
    ``allow_python=True``.
    """
    from . import models as M

    fam, link = M.resolve(family, link)
    if penalty is not None or lam is not None or l1_ratio is not None:
        raise OptionError("penalised regression needs the data in memory (a path through lam would take many "
                          "passes per value); load the data, or fit without penalty=")
    if fam in ("multinomial", "ordered") or not M.get_model(fam, link).streams:
        raise OptionError(f"{fam} regression on streamed data (files or Dask) is not supported (the streamed "
                          "reader codes no class labels and takes no censoring points). Load the data to fit it")
    if left is not None or right is not None:
        raise OptionError(f"left=/right= censoring points apply to family='tobit', not {fam}")
    if fam == "binomial" and trials is None:
        raise OptionError("binomial regression needs trials= (a column or one count per row); for 0/1 "
                          "outcomes use family='bernoulli'")
    if fam != "binomial" and trials is not None:
        raise OptionError(f"trials= applies to the binomial family, not {fam}")
    if event is not None and M.get_model(fam, link).uses_aux != "event":
        where = " streamed: a censored gamma is fitted in memory (load the data)" if fam == "gamma" else ""
        raise OptionError(f"event= applies to the survival (AFT) families, not {fam}{where}")
    roles = {k: v for k, v in (("weights", weights), ("offset", offset), ("trials", trials), ("event", event))
             if v is not None}
    if isinstance(formula_or_X, str):
        source, plan_args, first_cols = _formula_source(formula_or_X, data, y, roles, batch_rows, allow_python)
    else:
        source, plan_args, first_cols = _matrix_source(formula_or_X, data, y, roles, batch_rows)
    if dask and isinstance(source, FileSource):
        source = file_source_on_dask(source)
    model = M.get_model(fam, link)
    plan = RegressPlan.build(fam, link, roles=plan_args.pop("roles"), dropna=dropna,
                             pilot_every=_pilot_every(source, data if data is not None else formula_or_X,
                                                      first_cols),
                             **plan_args)
    linear = fam == "normal"
    first = map_reduce(source, first_pass, (plan, linear), merge=tsqr_merge if linear else None,
                       progress=progress, label="reading")
    where = source.describe()
    if first is None or float(first["n"]) == 0:
        raise EmptyDataError(f"{where} holds no rows to fit"
                             + (f" (all {int(first['dropped'])} had missing values)" if first else ""))
    n, dropped, nobs = int(first["n"]), int(first["dropped"]), float(first["nobs"])
    p = len(plan.names)
    if fam == "bernoulli" and float(first["min:y"]) == float(first["max:y"]):
        raise DataError(f"the response {plan.response!r} is {float(first['min:y']):g} in every row of {where}: a "
                        "bernoulli regression needs both 0s and 1s")
    n_par = p * model.k + len(model.extra)
    if nobs <= n_par:
        raise DataError(f"{nobs:g} observations cannot identify {n_par} parameters")
    icpt = next((j for j in range(p) if first["min:X"][j] == 1.0 and first["max:X"][j] == 1.0), None)
    ctx = {"source": source, "where": where, "plan": plan, "model": model, "fam": fam, "link": link,
           "nobs": nobs, "n": n, "dropped": dropped, "intercept": icpt, "progress": progress}
    if linear:
        return _fit_linear(ctx, first)
    pilot = first["cat:pilot"]
    if pilot.shape[0] > 2 * PILOT_ROWS:
        pilot = pilot[:: pilot.shape[0] // PILOT_ROWS]
    return _fit_glm(ctx, pilot, max_iter)


# ---- sources -----------------------------------------------------------------------------
def _default_batch_rows(ncols):
    """About 32 MB of float64 per batch (a design of 20 columns: 2^17 rows), within [2^14, 2^20]."""
    rows = (1 << 22) // max(ncols, 1)
    return int(min(max(1 << int(np.log2(rows)), 1 << 14), 1 << 20))


def _formula_source(formula, data, y, roles, batch_rows, allow_python):
    import warnings

    import formulaic

    from .formula import check_formula, check_terms, eval_context, split_formula

    lhs, rhs = split_formula(formula, y)
    plain_lhs = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", lhs) is not None
    if not plain_lhs:
        check_formula(lhs, allow_python=allow_python)
    check_formula(rhs, allow_python=allow_python)
    for role, v in roles.items():
        if not isinstance(v, str):
            raise OptionError(f"with streamed data, {role}= must name a column of the data, not hold values")
    try:
        needed = {str(v) for v in formulaic.Formula(rhs or "1").required_variables}
        needed |= {lhs} if plain_lhs else {str(v) for v in formulaic.Formula(lhs).required_variables}
    except formulaic.errors.FormulaicError as exc:
        raise OptionError(f"cannot use the formula {formula!r}: {' '.join(str(exc).split())}") from None
    cols = sorted((needed - set(eval_context())) | set(roles.values()))  # sqrt, log1p: functions, not columns
    br = batch_rows or _default_batch_rows(len(cols) + 8)
    source = open_source(data, cols, batch_rows=br)
    frame = _first_frame(source, cols)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):  # a NaN a term makes is named per batch
            warnings.simplefilter("ignore", RuntimeWarning)
            mm = formulaic.model_matrix(rhs or "1", frame, na_action="ignore", context=eval_context())
            my = None if plain_lhs else formulaic.model_matrix(f"{lhs} - 1", frame, na_action="ignore",
                                                               context=eval_context())
        spec_y = b""
        if not plain_lhs:
            if my.shape[1] != 1:
                raise OptionError(f"the response {lhs!r} must be one column, it gives {my.shape[1]}")
            _refuse_stateful(my.model_spec, formula)
            spec_y = pickle.dumps(my.model_spec)
    except formulaic.errors.FormulaicError as exc:
        raise OptionError(f"cannot use the formula {formula!r}: {' '.join(str(exc).split())}") from None
    if isinstance(mm, formulaic.ModelMatrices):
        raise OptionError(f"the formula {formula!r} has more than one part (a '|' or a second '~'); regress "
                          "takes one response and one right-hand side: 'y ~ x1 + x2'")
    _refuse_stateful(mm.model_spec, formula)
    check_terms(mm.model_spec, f"in the first batch of {source.describe()}",
                " or put a row of every level first (a streamed fit learns the levels from the first batch)")
    names = tuple(str(c) for c in mm.columns)
    levels = _categorical_levels(mm.model_spec, cols)
    fast = tuple("1" if nm == "Intercept" else nm for nm in names) \
        if not levels and all(nm == "Intercept" or nm in cols for nm in names) else None
    args = {"names": names, "fast": fast, "response": lhs, "roles": roles, "spec": pickle.dumps(mm.model_spec),
            "spec_y": spec_y, "levels": levels}
    return source, args, cols


def _categorical_levels(spec, cols):
    """(column, levels) of each categorical factor of one column, as the first batch had them."""
    import formulaic

    out = {}
    for expr, (kind, state) in (getattr(spec, "encoder_state", None) or {}).items():
        if str(kind).lower().endswith("categorical") and "categories" in state:
            names = [str(v) for v in formulaic.Formula(expr).required_variables]
            if len(names) == 1 and names[0] in cols:
                try:
                    lv = tuple(float(c) for c in state["categories"])
                except (TypeError, ValueError):
                    continue
                out[names[0]] = tuple(sorted(set(out.get(names[0], ())) | set(lv)))
    return tuple(sorted(out.items()))


def _refuse_stateful(spec, formula):
    state = getattr(spec, "transform_state", None) or {}
    if state:
        raise OptionError(f"the formula {formula!r} uses a stateful transform ({', '.join(state)}) whose state "
                          "(a mean, a scale, knots) would be learned from the first batch only; compute it over "
                          "the whole data beforehand, or fit in memory")


def _first_frame(source, cols):
    """The first batch as a DataFrame (for the formula's spec and levels)."""
    import pandas as pd

    if isinstance(source, FileSource):
        it = source.batches()
        batch = next(it, None)
        it.close()
    else:
        batch = next(partition_batches(source.parts[0].compute(), 0, cols, source.batch_rows), None)
    if batch is None or batch.rows == 0:
        raise EmptyDataError(f"{source.describe()} starts with no rows: the formula's columns are learned from "
                             "its first batch")
    return pd.DataFrame(batch.columns)


def _matrix_source(X, data, y, roles, batch_rows):
    import dask.array as da

    if data is not None:
        raise OptionError("with a Dask array design matrix, pass the response as y=, not data=")
    if y is None or not is_dask(y):
        raise OptionError("with a Dask array design matrix, pass the response as a Dask array y=")
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise DataError(f"the design matrix must be 2-D, got shape {X.shape}")
    if y.ndim != 1:
        raise DataError(f"y must be 1-D, got shape {y.shape}")
    p = int(X.shape[1])
    names = tuple(f"x{j}" for j in range(p))
    parts = [X.rechunk({1: -1})]
    extra = {}
    for role, v in [("y", y)] + list(roles.items()):
        if not is_dask(v):
            raise OptionError(f"with a Dask array design matrix, {role}= must be a Dask array too")
        if v.ndim != 1:
            raise DataError(f"{role} must be 1-D, got shape {v.shape}")
        parts.append(v.rechunk({0: X.chunks[0]})[:, None])
        extra[role] = f"__{role}__"
    if any(isinstance(s, float) and np.isnan(s) for s in [X.shape[0]] + [q.shape[0] for q in parts]):
        pass  # unknown chunk sizes: the stacking below checks
    elif len({q.shape[0] for q in parts}) != 1:
        raise DataError(f"y (and weights/offset/...) must have one value per row of X ({X.shape[0]})")
    stacked = da.concatenate([q.astype(np.float64) for q in parts], axis=1)
    cols = list(names) + [extra["y"]] + [extra[r] for r in roles]
    source = open_source(stacked, cols, batch_rows=batch_rows or _default_batch_rows(len(cols) + 8))
    args = {"names": names, "fast": names, "response": extra["y"],
            "roles": {r: extra[r] for r in roles}}
    return source, args, cols


def _pilot_every(source, data, cols):
    rows = source.rows
    if not rows and is_dask(data):
        n = getattr(data, "shape", (None,))[0]
        rows = int(n) if isinstance(n, (int, np.integer)) else None
        if rows is None and getattr(data, "npartitions", None):
            rows = int(data.npartitions) * (1 << 20)  # a guess; the pilot is thinned afterwards
    if not rows and source.files:  # CSV: a row takes at least 2 bytes per column
        import os

        rows = sum(os.path.getsize(f) for f in source.files) // (2 * len(cols))
    return max(1, int(rows or 0) // PILOT_ROWS)


# ---- linear regression: TSQR, one pass ----------------------------------------------------
def _fit_linear(ctx, first):
    import scipy.linalg as sla

    from .checks import check_rank
    from .linear import pivoted_qr

    plan, nobs = ctx["plan"], ctx["nobs"]
    p = len(plan.names)
    R = np.asarray(first["s:R"], dtype=np.float64)
    if R.shape[0] < p + 1:
        R = np.vstack([R, np.zeros((p + 1 - R.shape[0], p + 1))])
    Rx, z, rho = R[:p, :p], R[:p, p], abs(R[p, p])
    rank = pivoted_qr(Rx)[4]  # Rx has X's column relations and singular values
    if rank < p:
        check_rank(Rx, plan.names)
        raise DataError("the design matrix is numerically rank-deficient")
    # the solution and (X'X)^-1 from a column-scaled, pivoted QR of R (as the in-memory fit does on X)
    Q2, R2, perm, scale, _ = pivoted_qr(Rx)
    x = sla.solve_triangular(R2, Q2.T @ z)
    b = np.empty(p)
    b[perm] = x / scale[perm]
    rss = rho * rho
    Rinv = sla.solve_triangular(R2, np.eye(p))
    xtx_inv = np.empty((p, p))
    xtx_inv[np.ix_(perm, perm)] = Rinv @ Rinv.T
    xtx_inv /= np.outer(scale, scale)
    norms = np.sqrt(np.sum(Rx * Rx, axis=0))
    norms = np.where(norms > 0, norms, 1.0)
    cond = float(np.linalg.cond(Rx / norms))
    # the least-squares error bound (Golub & Van Loan 5.3): eps cond (1 + cond |r| / (|A| |x|)), scaled columns
    bound = np.finfo(float).eps * cond * (1 + cond * rho / max(np.sqrt(p) * np.linalg.norm(b * norms), 1e-300))
    refined = 0
    while bound > REFINE_ABOVE and refined < 8:
        # corrected semi-normal equations: each pass shrinks the error about cond^2 eps-fold
        out = map_reduce(ctx["source"], residual_pass, (plan, b), progress=ctx["progress"], label="refining")
        db = xtx_inv @ out["Xtr"]
        b = b + db
        rss = max(float(out["rr"]) - float(db @ out["Xtr"]), 0.0)
        refined += 1
        prev, bound = bound, float(np.max(np.abs(db) / np.maximum(np.abs(b), 1e-300)))
        if bound > 0.5 * prev:  # at the rounding floor of the corrections
            break
    scale_y = max(abs(float(first["min:y"])), abs(float(first["max:y"])))
    theta, cov_theta, loglik, extra, notes = linear_ml(b, rss, xtx_inv, nobs, plan.names, scale_y)
    extra.update(qr_refinements=refined, condition=cond)
    reason = ("exact least-squares solution (TSQR: R factors of the batches merged by QR"
              + (f", refined by {refined} pass{'es' if refined > 1 else ''} of corrected semi-normal equations)"
                 if refined else ")"))
    return _result(ctx, theta, None, loglik, rss, True, reason, "qr", 0, notes, cov_theta=cov_theta, extra=extra)


# ---- GLMs: Newton, one pass per iteration ---------------------------------------------------
def _pilot_start(ctx, pilot):
    """The in-memory MLE of the pilot subsample (the in-memory ``_start`` if that fails)."""
    from ._design import Design
    from ._newton import newton
    plan, model = ctx["plan"], ctx["model"]
    p = len(plan.names)
    X, y = pilot[:, :p], pilot[:, p]
    aux = pilot[:, p + 1] if model.uses_aux else None
    w = pilot[:, p + 2] if "weights" in plan.roles else None
    off = pilot[:, p + 3] if "offset" in plan.roles else None
    d = Design(X, y, plan.names, plan.response, None, ctx["intercept"], {}, 0)
    theta0 = start_values(model, ctx["fam"], ctx["link"], d, y, aux, w)
    try:
        r = newton(model, X, y, aux, w, off, theta0, max_iter=50)
    except (FloatingPointError, np.linalg.LinAlgError):
        return theta0
    return r.theta if r.converged and np.all(np.isfinite(r.theta)) else theta0


def _fit_glm(ctx, pilot, max_iter):
    from ._newton import newton_search
    from .checks import check_rank, gram_is_singular

    plan, source = ctx["plan"], ctx["source"]
    p = len(plan.names)

    def evaluate(theta, hessian):  # one pass over the data (X'WX costs no extra pass: always computed)
        out = map_reduce(source, derivs_pass, (plan, np.asarray(theta, dtype=float)), progress=ctx["progress"],
                         label="Newton pass")
        return (float(out["v"]), np.asarray(out["g"], dtype=float), np.asarray(out["H"], dtype=float),
                {"dev": float(out.get("dev", np.nan)), "tail": out.get("min:tail")})

    def check_first(H):
        if gram_is_singular(H[:p, :p]):
            # X'WX = (W^1/2 X)'(W^1/2 X): its symmetric square root has X's column relations
            ev, V = np.linalg.eigh(-(H[:p, :p] + H[:p, :p].T) / 2)
            check_rank((V * np.sqrt(np.clip(ev, 0, None))) @ V.T, plan.names)

    theta = np.asarray(_pilot_start(ctx, pilot), dtype=float)
    r = newton_search(evaluate, theta, max_iter=max_iter, first_hessian=check_first)
    notes = []
    tail = r.info["tail"]
    if ctx["model"].binary and tail is not None and float(tail) < 1e-10:
        notes.append(f"some fitted probabilities are within {float(tail):.1g} of 0 or 1: the outcome may be "
                     "(quasi-)separated by a column, in which case the MLE does not exist; check on a sample "
                     "in memory (regress raises a SeparationError naming the columns)")
    if not r.converged:
        notes.append(f"the fit did not converge ({r.reason}); no standard errors are reported")
    return _result(ctx, r.theta, r.hess if r.converged else None, r.loglik, r.info["dev"], r.converged,
                   r.reason, "newton", r.iterations, notes)


# ---- the result --------------------------------------------------------------------------
def _result(ctx, theta, H, loglik, deviance, converged, reason, method, iters, notes, cov_theta=None, extra=None):
    plan, model, source = ctx["plan"], ctx["model"], ctx["source"]
    extra_names, est, cov, se = reported_estimates(model, theta, len(plan.names) * model.k, cov_theta, H, notes)
    names = list(plan.names) + extra_names
    passes = source.passes
    streamed = {"source": ctx["where"], "passes": passes, "rows": ctx["n"], "rows_dropped": ctx["dropped"]}
    notes = list(notes) + list(model.notes)
    notes.append(f"streamed from {ctx['where']} in {passes} pass{'' if passes == 1 else 'es'} over the data")
    if ctx["dropped"]:
        notes.append(f"{ctx['dropped']} rows with missing values were dropped")
    spec = pickle.loads(plan.spec) if plan.spec else None
    state = {"model": model, "theta": np.asarray(theta, dtype=float), "X": None, "y": None, "aux": None, "w": None,
             "off": None, "spec": spec, "design_names": plan.names, "classes": None}
    info = dict(extra or {})
    info["streamed"] = streamed
    return StreamedRegressionFit(family=ctx["fam"], link=ctx["link"], names=tuple(names), estimates=est, se=se,
                                 cov=cov, loglik=float(loglik), nobs=ctx["nobs"], n_params=len(est),
                                 deviance=float(deviance) if model.glm else float(-2 * loglik),
                                 converged=bool(converged), reason=reason, method=method, iterations=int(iters),
                                 notes=tuple(notes), info=info, dropped=ctx["dropped"], _state=state)
