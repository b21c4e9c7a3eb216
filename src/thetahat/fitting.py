"""``thetahat.fit``: maximum likelihood for one family on one sample."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .engine import optimize as opt
from . import boundary as bd
from . import closed_fit
from ._jax import load as load_jax, x64
from . import constraints as C
from .engine.data import Sample, as_float_array, as_weights, find_nonfinite, reduce_discrete
from .engine.layout import Layout
from .engine.fused import pool, summarize, usable as fused_usable
from .engine.objective import NUMPY_MIN_ROWS, ChunkObjective, StatisticsObjective, compute_statistics
from .errors import EmptyDataError, NumericalRangeError, OptionError, SupportError
from .families import Family, get_family
from .inference import covariance as cv
from .result import Diagnostics, Fit

BOUNDARY_U = 30.0  # |u| beyond this means the estimate sits at the edge of its space


COV_TYPES = ("observed", "expected", "opg", "sandwich")
WEIGHT_KINDS = ("frequency", "analytic")


def _fit(data, family, *, method="auto", start=None, fixed=None, starts=1, weights=None,
        dropna=False, seed=0, max_iter=None, cov_type="observed", weight_kind="frequency",
        event=None, lower=None, upper=None, truncate=None, column=None, progress=None, dask=False) -> Fit:
    """Fit ``family`` to ``data`` by maximum likelihood.

    Parameters
    ----------
    data : array_like, str, list of str, or Dask collection
        Observations: a 1-D sequence, or a 2-D table for multivariate families; a
        mapping or DataFrame with ``column``. Files -- a Parquet or CSV path, a glob
        such as ``"data/*.parquet"``, a folder, or a list of them -- are *streamed* in
        bounded batches, never loaded whole; so is a Dask array, DataFrame or Series,
        reduced by its scheduler's workers (see :mod:`thetahat.scale`).
    family : str or Family
        A family name (see ``thetahat.families()``) or a :class:`Family` instance,
        e.g. one made by :func:`thetahat.custom`.
    method : {"auto", "closed", "newton", "bfgs", "scoring", "gradient"}
        ``auto`` takes the closed form where one exists, else Newton, falling back to
        BFGS if Newton fails.
    start : dict, optional
        Starting values (default: the family's method-of-moments start).
    fixed : dict, optional
        Parameters held at given values, e.g. ``{"loc": 0.0}``; also the known
        values of a family (binomial ``n``).
    starts : int
        Number of starting points; more than one perturbs the start randomly
        (seeded by ``seed``) and keeps the best optimum. At most ``MAX_STARTS``
        (1000): more are capped, and a note says so.
    seed : int
        Random seed (0 to 2^63-1) of the starts.
    max_iter : int, optional
        The most iterations of Newton or BFGS (also of the BFGS fallback and of a
        profile iteration); a fit that reaches it reports ``converged=False`` with the
        reason. A closed-form estimate takes none.
    weights : array_like, optional
        Non-negative weights, one per observation.
    weight_kind : {"frequency", "analytic"}
        ``frequency``: a weight counts repeated observations (``nobs`` is their sum).
        ``analytic``: weights are relative precisions, rescaled to sum to the number of
        rows (``nobs``); pair them with ``cov_type="sandwich"``.
    dropna : bool
        Drop rows with NaN -- in the data, a weight or an event -- instead of raising;
        they are counted in ``Fit.dropped``. Masked entries of a NumPy masked array and
        ``None`` / ``pandas.NA`` cells are missing too.
    cov_type : {"observed", "expected", "opg", "sandwich"}
        Inverse observed information (default); inverse expected (Fisher)
        information, where the family gives it; inverse outer product of the
        per-observation scores; or the sandwich ``H^-1 B H^-1`` (robust to a
        misspecified family).
    event : array_like, optional
        Right-censoring: 1 where ``data`` is an observed value, 0 where the value is
        only known to exceed ``data``.
    lower, upper : array_like, optional
        Interval censoring (pass ``data=None``): each value lies in ``(lower, upper]``;
        ``lower == upper`` is exact, ``upper = inf`` right-censored, ``lower = -inf`` (or
        the support's edge) left-censored. A missing bound (NaN, or None) is an open end,
        as in R's ``Surv(type="interval2")``: NaN in ``lower`` means left-censored, NaN in
        ``upper`` right-censored; a row missing both is an error (dropped with ``dropna``).
    truncate : (float, float), optional
        The data were only observable within ``[lower, upper]`` (use ``-inf``/``inf``, or
        the support's edge, for an open side).
    column : str or list of str, optional
        The column of a table, file or Dask DataFrame to fit (several, comma-separated
        or a list, for a multivariate family).
    progress : bool, optional
        A progress bar per pass over streamed data (default: on a terminal, for more
        than 2e7 rows).
    dask : bool
        Files are read by the workers of the active Dask scheduler (a ``distributed``
        Client), each worker its own row groups, instead of by this process.

    Returns
    -------
    Fit

    Examples
    --------
    >>> import thetahat
    >>> f = thetahat.fit([3.1, 0.4, 1.7, 2.2, 0.9, 1.4], "exponential")
    >>> round(f.params["lam"], 6) == round(6 / 9.7, 6)
    True
    """
    fam = get_family(family)
    if method not in opt.METHODS:
        raise OptionError(f"unknown method {method!r}; choose one of {', '.join(opt.METHODS)}")
    if int(starts) < 1:
        raise OptionError(f"starts must be at least 1, got {starts}")
    if cov_type not in COV_TYPES:
        raise OptionError(f"unknown cov_type {cov_type!r}; choose one of {', '.join(COV_TYPES)}")
    if weight_kind not in WEIGHT_KINDS:
        raise OptionError(f"unknown weight_kind {weight_kind!r}; choose one of {', '.join(WEIGHT_KINDS)}")
    fixed = _check_fixed(fam, fixed)
    fam = fam.bind({k: fixed[k] for k in fam.known})
    from .scale.sources import is_stream_input

    if is_stream_input(data):
        return _fit_streamed(data, fam, fixed, weights=weights, event=event, lower=lower, upper=upper,
                             truncate=truncate, starts=starts, weight_kind=weight_kind, column=column,
                             method=method, start=start, dropna=dropna, max_iter=max_iter, cov_type=cov_type,
                             seed=seed, progress=progress, dask=dask)
    if dask:
        raise OptionError("dask=True reads files on Dask workers: pass file paths or a Dask collection")
    if column is not None:
        data = _column_of(data, column, fam)
    censoring = any(v is not None for v in (event, lower, upper, truncate))
    closed = closed_fit.fit_closed(fam, data, fixed, method=method, cov_type=cov_type, weights=weights,
                                   weight_kind=weight_kind, dropna=dropna, censored=censoring)
    if closed is not None:  # (NumPy alone: no JAX is imported)
        return closed
    load_jax()  # (the general route: JAX, inside fit's float64 scope)
    checked = None  # a fused summary of data it showed finite and inside the support
    validated = None  # statistics of the family's own that showed the data valid
    if censoring:
        from .censoring import censored_rows

        x, fam, dropped, keep = censored_rows(fam, data, event=event, lower=lower, upper=upper,
                                              truncate=truncate, dropna=dropna)
        w = None if weights is None else as_weights(np.asarray(weights)[keep] if keep is not None else weights,
                                                    x.shape[0])
        fast = False
    else:
        fast = _one_pass_ok(fam, dropna, weights)
        early = not fast and _early_summary_ok(fam, dropna, weights)
        rows_ok = fam.statistics_validated is not None and not dropna and weights is None
        x, w, dropped = _prepare(data, weights, fam, dropna, scan=not (fast or early or rows_ok))
        if rows_ok:
            validated = _validated_statistics(fam, x, fixed)
            if validated is None:
                find_nonfinite(x)
        if fast and fam.discrete and not (x.ndim == 1 and fused_usable(x)):
            fast = False  # integer data are checked in one pass only by the fused loop
            find_nonfinite(x)
        if early:
            checked = _checked_summary(fam, x)
            if checked is None:
                find_nonfinite(x)
        if not fast and checked is None and validated is None:
            fam.check_support(x, fixed)
    if w is not None and weight_kind == "analytic":
        w = w * (np.count_nonzero(w) / w.sum())
    nobs = float(x.shape[0] if w is None else (w.sum() if weight_kind == "frequency" else np.count_nonzero(w)))
    if nobs < fam.min_obs:
        raise EmptyDataError(f"{fam.name} needs at least {fam.min_obs} observations, got {_n(nobs)}")
    if not fast and validated is None and not (checked is not None and fam.nondegenerate_by_summary(checked)):
        fam.check_degenerate(x, w)

    free = [k for k in fam.params if k not in fixed]
    if not free:
        raise OptionError("every parameter is fixed: there is nothing to estimate")
    sample = Sample(x, w, nobs, dropped)
    if fam.discrete and not fast:  # (a fast discrete fit needs only the fused summary's sums)
        bounds = None if checked is None else (checked["min"], checked["max"])
        sample = Sample(*reduce_discrete(x, w, bounds), nobs, dropped)
    stats = validated
    if stats is None and fam.statistics is not None and fam.loglik_from_statistics is not None:
        stats, summary = compute_statistics(fam, sample, fast_summary=fast)
        if fast:
            # validation from the same pass: only a suspicious summary pays for a full scan
            # (NaN and infinities show in the sums; a max of None was not needed: the support has
            # no upper end, and the data are not all equal)
            lo, hi = summary["min"], summary["max"]
            if not (_summary_valid(fam, lo, lo if hi is None else hi, summary.get("finite", True),
                                   summary.get("integral", False))
                    and all(_all_finite(v) for v in stats.values())):
                find_nonfinite(x)
                fam.check_support(x, fixed)
            if lo == hi:
                fam.check_degenerate(x, w)
        if not all(_all_finite(v) for v in stats.values()):
            stats = _numpy_statistics_retry(fam, x, w)
    shapes = fam.param_shapes(x)
    layout = Layout.build(fam, shapes, free)
    if stats is not None:
        obj = StatisticsObjective(fam, layout, fixed, stats)
    else:
        obj = ChunkObjective(fam, layout, fixed, sample)
    return _estimate(fam, layout, obj, fixed, x, w, nobs, dropped, sample, stats, method=method, start=start,
                     starts=starts, seed=seed, max_iter=max_iter, cov_type=cov_type, weight_kind=weight_kind,
                     censoring=censoring)


def _estimate(fam, layout, obj, fixed, x, w, nobs, dropped, sample, stats, *, method, start, starts, seed,
              max_iter, cov_type, weight_kind, censoring, streamed=None):
    """Maximise ``obj`` (closed form, profile Newton, or Newton/BFGS from a start computed
    on ``x``), then standard errors and the :class:`Fit`.

    ``streamed`` (a dict with ``source`` and ``passes``, set by the streaming fit) means
    ``x`` is only a pilot subsample: ``obj`` and ``stats`` cover all the data, and the
    fit keeps no rows.
    """
    closed_ok = fam.has_closed_form and not (set(fixed) & set(fam.params))
    if streamed is not None:
        closed_ok = closed_ok and fam.closed_form is not None and stats is not None
    if method == "closed" and not closed_ok:
        why = "has no closed-form MLE" if not fam.has_closed_form else "has no closed form with fixed parameters"
        raise OptionError(f"{fam.name} {why}; use method='newton'")
    notes = []
    profile_ok = (method == "auto" and getattr(fam, "profile_mle", None) is not None and not censoring
                  and streamed is None and max_iter is None  # (a limit on the iterations: the counted ones)
                  and not (set(fixed) & set(fam.params)) and x.shape[0] <= (1 << 20) and int(starts) == 1)
    if profile_ok:
        est, ok, *derivs = fam.profile_mle(x, w)
        profile_ok = bool(ok)
        if ok:
            res = _closed_result(obj, layout, {k: np.asarray(v) for k, v in est.items()},
                                 derivs[0] if derivs else None)
            res.method = "newton"
            res.reason = "converged: Newton's method on the one-dimensional profile likelihood"
            res.closed_params = None
            res.profile_params = {k: np.asarray(v, dtype=float) for k, v in est.items()}
            res.converged = bool(res.converged and np.all(np.abs(res.grad) < 1e-6 * max(1.0, abs(res.loglik))))
            profile_ok = res.converged
    nonregular_mle = getattr(fam, "nonregular_mle", None) if censoring and method == "auto" else None
    if profile_ok:
        n_starts, n_conv = 1, 1
    elif nonregular_mle is not None and not (set(fixed) & set(fam.params)):
        fam, res = _censored_nonregular(fam, nonregular_mle, obj, layout, x, w)
        n_starts, n_conv = 1, int(res.converged)
    elif method in ("auto", "closed") and closed_ok:
        derivs = None
        if fam.statistics_closed_form_derivs is not None and stats is not None:
            est, derivs = _statistics_closed_form(fam, stats)
        elif fam.closed_form is not None:
            est = fam.closed_form(stats)
        elif fam.closed_form_derivs is not None:
            est, derivs = fam.closed_form_derivs(sample.x, sample.w)
        else:
            est = fam.closed_form_data(sample.x, sample.w)
        est = {k: np.asarray(v, dtype=float) for k, v in est.items()}
        res = _closed_result(obj, layout, est, derivs)
        n_starts, n_conv = 1, int(res.converged)
    else:
        u0 = _start_u(fam, layout, x, w, fixed, start, thin=not fam.param_support)
        res, n_starts, n_conv = _optimise(obj, layout, u0, method, fam, fixed, nobs, starts, seed, max_iter)
        if method == "auto" and not res.converged:
            first = res
            res = opt.bfgs(obj, res.u if np.isfinite(res.loglik) else u0,
                           **({} if max_iter is None else {"max_iter": int(max_iter)}))
            notes.append(f"Newton did not converge ({first.reason}); fell back to BFGS")

    res = _refuse_unbounded(fam, layout, res, x)
    verdict = _limits_verdict(fam, res, x, w, fixed, censoring, streamed, cov_type, weight_kind, notes)
    if verdict is not None and verdict.on_boundary:
        return _boundary_fit(fam, layout, verdict, fixed, Sample(x, w, nobs, dropped), sample, stats, weight_kind,
                             cov_type, notes)
    edge = [k for k, v in fixed.items() if k in fam.params and _on_edge(fam.params[k], np.asarray(v, dtype=float))]
    if edge and not np.isfinite(res.loglik):
        raise OptionError(f"with {', '.join(f'{k} = {_py(fixed[k])}' for k in edge)} (the boundary of "
                          f"{'its' if len(edge) == 1 else 'their'} space) the {fam.name} log-likelihood of these "
                          "data is not finite: there is no fit to make")
    if res.method == "closed" and not (np.isfinite(res.loglik) and all(_all_finite(v) for v in
                                                                         res.closed_params.values())):
        raise _overflow(fam, x)
    params = {**{k: _py(v) for k, v in fixed.items()}, **_params_from(res, layout, fam)}
    params = {k: params[k] for k in list(fam.params) + [k for k in fixed if k not in fam.params]}
    se, cov, labels, cov_used, cov_res, cov_notes = _covariance(
        fam, layout, fixed, params, res, obj, nobs, stats, Sample(x, w, nobs, dropped), cov_type,
        2 if weight_kind == "analytic" else 1)
    notes.extend(cov_notes)
    if any(v is not None and not _all_finite(v) for v in se.values()):
        raise _overflow(fam, x)
    diag = Diagnostics(
        grad_norm=_max_abs(res.grad),
        hessian_negative_definite=cov_res.negative_definite if cov_res else None,
        hessian_condition=cov_res.condition if cov_res else None,
        iterations=res.iterations, starts=n_starts, starts_converged=n_conv)
    if dropped:
        notes.append(f"{dropped} rows with NaN were dropped")
    if streamed is not None:
        passes = streamed['passes']
        notes.append(streamed.get("note") or f"streamed from {streamed['source']} in {passes} "
                     f"pass{'' if passes == 1 else 'es'} over the data")
    ctx = FitContext(family=fam, layout=layout, fixed=fixed, sample=sample, stats=stats,
                     raw=None if streamed is not None else Sample(x, w, nobs, dropped), weight_kind=weight_kind,
                     cov_type=cov_type, censored=censoring, streamed=streamed)
    return Fit(family=fam, params=params, se=se, cov=cov, cov_labels=tuple(labels), cov_type=cov_used,
               loglik=float(res.loglik), nobs=nobs, n_estimated=layout.size, converged=bool(res.converged),
               reason=res.reason, method=res.method, trace=tuple(float(t) for t in res.trace),
               diagnostics=diag, fixed={k: _py(v) for k, v in fixed.items()}, notes=tuple(notes),
               dropped=dropped, path=tuple(np.asarray(p) for p in res.path), context=ctx,
               limit=None if verdict is None else verdict.fit,
               limit_test=None if verdict is None or not res.converged else
               bd.limit_test(fam, verdict, res.loglik, layout.size))


def _refuse_unbounded(fam, layout, res, x):
    """A search that ended where the likelihood is unbounded found no MLE: past a value of
    ``Family.unbounded_below``, or with the scale of ``Family.collapses_on_ties`` run to 0 on tied
    data. It did not converge, and the reason says why."""
    if not (fam.unbounded_below or fam.collapses_on_ties) or not np.all(np.isfinite(res.u)):
        return res
    params = layout.to_params(np.asarray(res.u))
    for k, (value, why) in fam.unbounded_below.items():
        if k in params and float(np.asarray(params[k])) < value:
            res.converged, res.reason = False, why
    k = fam.collapses_on_ties
    if k in params and x.ndim == 1 and x.size:
        spread = float(np.max(x) - np.min(x))
        if float(np.asarray(params[k])) < 1e-8 * spread:
            values, counts = np.unique(x, return_counts=True)
            i = int(np.argmax(counts))
            res.converged = False
            res.reason = (f"the likelihood is unbounded: {counts[i]} of {x.size} observations equal {values[i]:g}, "
                          f"and the {fam.name} density there grows without limit as {k} runs to 0 (tied values, "
                          "e.g. rounded data); no MLE exists")
    return res


def _limits_verdict(fam, res, x, w, fixed, censoring, streamed, cov_type, weight_kind, notes):
    """The check of the family's limits (:mod:`thetahat.boundary`) after the search ``res``, or
    ``None`` where it does not apply (a note says so for streamed and censored data)."""
    if res.method == "closed" or not fam.limits:
        return None
    if not bd.applies(fam, fixed, censoring, streamed):
        if censoring or streamed is not None:
            notes.append(f"not checked against the limiting model{'s' if len(fam.limits) > 1 else ''} "
                         f"({', '.join(lim.family for lim in fam.limits)}) of {fam.name}: the check needs the rows "
                         "in memory and uncensored")
        return None

    def fit_limit(family, xl, wl, fixed_l):
        return _fit(xl, family, weights=wl, fixed=fixed_l or None, cov_type=cov_type, weight_kind=weight_kind)

    verdict = bd.check(fam, x, w, fixed, float(res.loglik), bool(res.converged), fit_limit)
    if not verdict.on_boundary and not res.converged and np.isfinite(verdict.slope):
        notes.append(f"the likelihood rises from the limiting {verdict.fit.family.name} model into the "
                     f"interior (slope {verdict.slope:.3g}), but the search did not reach its maximum")
    return verdict


def _boundary_fit(fam, layout, verdict, fixed, raw, sample, stats, weight_kind, cov_type, notes):
    """The :class:`Fit` of an estimate on the boundary: the limiting model's maximum."""
    lf = verdict.fit
    params, se, cov, labels, more = bd.boundary_parts(fam, verdict, fixed)
    ctx = FitContext(family=fam, layout=layout, fixed=fixed, sample=sample, stats=stats, raw=raw,
                     weight_kind=weight_kind, cov_type=cov_type, censored=False)
    slope = (f"the slope of the profile likelihood at the limit is {verdict.slope:.3g}" if np.isfinite(verdict.slope)
             else f"no point inside reaches the limit's log-likelihood {lf.loglik:.10g}")
    own = [n for n in notes if not n.startswith("Newton did not converge")]  # (the search's, not the answer's)
    if raw.dropped:
        own.append(f"{raw.dropped} rows with NaN were dropped")
    return Fit(family=fam, params=params, se=se, cov=cov, cov_labels=labels, cov_type=lf.cov_type,
               loglik=float(lf.loglik), nobs=raw.nobs, n_estimated=layout.size, converged=True,
               reason=f"{verdict.limit.why} ({slope})", method="boundary", trace=(), diagnostics=lf.diagnostics,
               fixed={k: _py(v) for k, v in fixed.items()}, notes=tuple(own + more), dropped=raw.dropped,
               context=ctx, boundary=dict(verdict.limit.at), limit=lf,
               limit_test=bd.limit_test(fam, verdict, lf.loglik, layout.size))


def _censored_nonregular(fam, nonregular_mle, obj, layout, x, w):
    """A censored family whose non-regular ends the family locates itself (the uniform's
    kinks): ``(family, result)``, the family marking the ends that are non-regular at
    these data's estimates."""
    est, names = nonregular_mle(x, w)
    fam = fam.with_nonregular(names)
    res = _closed_result(obj, layout, {k: np.asarray(v, dtype=float) for k, v in est.items()})
    res.method = "coordinate"
    res.reason = ("converged: exact coordinate-wise maxima over the pieces between the likelihood's kinks"
                  if res.converged else "the estimate has zero likelihood")
    return fam, res


@dataclass(frozen=True)
class FitContext:
    """What a fit keeps for later refits (profiles, the bootstrap, tests of fit): the
    bound family, the layout of the free parameters, and the data (no copy)."""

    family: Family
    layout: Layout
    fixed: dict
    sample: Sample  # as optimised (discrete data reduced to counts)
    stats: dict | None
    raw: Sample  # the rows as given (after dropping NaN)
    weight_kind: str
    cov_type: str
    censored: bool
    streamed: dict | None = None  # {"source", "passes", "open"}: the fit read its data in passes

    def objective(self, layout=None, fixed=None):
        """The log-likelihood objective for another layout / fixed set, on the same data."""
        layout = layout or self.layout
        fixed = self.fixed if fixed is None else fixed
        if self.stats is not None:
            return StatisticsObjective(self.family, layout, fixed, self.stats)
        if self.streamed is not None:
            return self.streamed["open"](layout, fixed)
        return ChunkObjective(self.family, layout, fixed, self.sample)

    def rows(self, what="this"):
        """The fitted rows, ``Sample(x, w, ...)``; a clear error for a streamed fit."""
        if self.raw is None:
            raise OptionError(f"{what} needs the observations in memory, but this fit was streamed from "
                              f"{self.streamed['source']} and kept none; load the data (or a sample of it) "
                              "and fit it in memory")
        return self.raw


MAX_STARTS = 1000  # more starting points are capped to this (and a note says so)


@x64
@functools.wraps(_fit)
def fit(data, family, **options) -> Fit:
    options, notes = _checked_options(options)
    data, options, dropped, kept = _drop_missing_design(data, options)
    try:
        with np.errstate(all="ignore"):  # (extreme data: the result is checked below, not warned about)
            f = _fit(data, family, **options)
    except SupportError as exc:
        raise _row_before_drop(exc, data, family, options, kept) from None
    _refuse_nonfinite(f)
    if dropped:
        notes.append(f"{dropped} rows with a missing weight or event were dropped")
    if notes:
        import dataclasses

        f = dataclasses.replace(f, dropped=f.dropped + dropped, notes=tuple(f.notes) + tuple(notes))
    return f


def _checked_options(options):
    """``(options, notes)``: a misspelt keyword named with the closest valid one, a negative
    seed or a max_iter below 1 refused, and ``starts`` capped at :data:`MAX_STARTS`."""
    import difflib
    import inspect

    valid = [k for k in inspect.signature(_fit).parameters if k not in ("data", "family")]
    for k in options:
        if k not in valid:
            near = difflib.get_close_matches(k, valid, n=1)
            raise OptionError(f"fit() got an unknown keyword {k!r}" + (f"; did you mean {near[0]!r}?" if near else
                                                                       f"; valid keywords: {', '.join(valid)}"))
    seed = options.get("seed", 0)
    if not (isinstance(seed, (int, np.integer, float, np.floating)) and not isinstance(seed, bool)
            and math.isfinite(seed) and seed == int(seed) and 0 <= seed < 2**63):
        raise OptionError(f"seed must be a whole number from 0 to 2^63 - 1, got {seed!r}")
    if seed != int(seed) or not isinstance(seed, (int, np.integer)):
        options = {**options, "seed": int(seed)}
    max_iter = options.get("max_iter")
    whole = isinstance(max_iter, (int, float, np.integer, np.floating)) and not isinstance(max_iter, bool) \
        and math.isfinite(max_iter) and max_iter == int(max_iter)
    if max_iter is not None and not (whole and max_iter >= 1):
        raise OptionError(f"max_iter must be a positive integer, got {max_iter!r}")
    notes = []
    starts = options.get("starts", 1)
    if not (isinstance(starts, (int, np.integer, float, np.floating)) and not isinstance(starts, bool)
            and math.isfinite(starts) and starts == int(starts)):
        raise OptionError(f"starts must be a whole number, got {starts!r}")
    if starts > MAX_STARTS:
        options = {**options, "starts": MAX_STARTS}
        notes.append(f"starts capped at {MAX_STARTS} (asked for {_n(starts)})")
    return options, notes


def _drop_missing_design(data, options):
    """Under ``dropna``, the rows whose weight or event is missing (NaN), removed from every
    per-row input before the fit and counted: ``(data, options, dropped, kept)``, ``kept``
    the indices of the rows kept (None when none were dropped)."""
    if not options.get("dropna") or options.get("column") is not None:
        return data, options, 0, None
    per_row = {k: options.get(k) for k in ("weights", "event", "lower", "upper") if options.get(k) is not None}
    try:
        cols = {k: np.asarray(v, dtype=float) for k, v in per_row.items() if k in ("weights", "event")}
    except (TypeError, ValueError):
        return data, options, 0, None  # (not numbers: the fit says so)
    missing = None
    for v in cols.values():
        if v.ndim == 1:
            missing = np.isnan(v) if missing is None or missing.shape != v.shape else missing | np.isnan(v)
    if missing is None or not missing.any():
        return data, options, 0, None
    keep = ~missing
    try:
        arrays = {k: np.asarray(v)[keep] for k, v in per_row.items()}
        if data is not None:
            data = np.asarray(data)[keep]
    except (IndexError, TypeError, ValueError):
        return data, options, 0, None  # (lengths differ: the fit says so)
    return data, {**options, **arrays}, int(missing.sum()), np.flatnonzero(keep)


def _row_before_drop(exc, data, family, options, kept):
    """A support error's "data row k", counted in the rows that ``dropna`` kept, re-said as
    the row of the data as given (without censoring, where the rows are the data's)."""
    import re

    m = re.search(r"\bdata row (\d+)", str(exc))
    if m is None or not options.get("dropna") or options.get("column") is not None or data is None \
            or any(options.get(k) is not None for k in ("event", "lower", "upper", "truncate")):
        return exc
    try:
        arr, _ = as_float_array(data, ndim=get_family(family).ndim, scan=False)
    except Exception:  # noqa: BLE001 (the data were read once already; any doubt: the message as it is)
        return exc
    nan_rows = np.isnan(arr) if arr.ndim == 1 else np.isnan(arr).any(axis=1)
    rows = np.flatnonzero(~nan_rows)
    k = int(m.group(1)) - 1
    if not nan_rows.any() and kept is None or k >= rows.size:
        return exc
    i = int(rows[k]) if kept is None else int(kept[rows[k]])
    return type(exc)(str(exc)[:m.start()] + f"data row {i + 1}" + str(exc)[m.end():])


def _refuse_nonfinite(f) -> None:
    """No silent NaN: an estimate or log-likelihood that is not finite, for data of extreme
    magnitude, is a :class:`NumericalRangeError` naming that magnitude."""
    if math.isfinite(f.loglik) and all(_all_finite(np.asarray(v, dtype=float)) for v in f.params.values()):
        return
    raw = getattr(f.context, "raw", None)
    if raw is None or raw.x.size == 0 or raw.x.dtype.kind != "f":
        return
    a = np.abs(raw.x[np.isfinite(raw.x) & (raw.x != 0)])
    if a.size and (a.max() > 1e150 or a.min() < 1e-150):
        raise _overflow(f.family, raw.x)


fit.__module__ = __name__


# ---------------------------------------------------------------------------------
def _fit_streamed(data, fam, fixed, *, weights, event, lower, upper, truncate, starts, weight_kind, **kw):
    from .scale.sources import expand_paths, is_dask
    from .scale.stream_fit import fit_stream

    if not is_dask(data):
        expand_paths(data)  # a missing file, an empty folder, a glob matching nothing: said first
    extra = [k for k, v in dict(weights=weights, event=event, lower=lower, upper=upper,
                                truncate=truncate).items() if v is not None]
    if extra:
        raise OptionError(f"{', '.join(extra)} cannot be combined with streamed data (files or Dask) yet; load "
                          "the columns and fit them in memory")
    if int(starts) != 1:
        raise OptionError("starts > 1 is not available for streamed data: each start would take its own passes")
    if weight_kind != "frequency":
        raise OptionError("weight_kind applies to weights, which streamed fits do not take")
    return fit_stream(data, fam, fixed, **kw)


def _column_of(data, column, fam):
    from .errors import MissingColumnError

    names = [c.strip() for c in column.split(",")] if isinstance(column, str) and fam.ndim else \
        ([column] if isinstance(column, str) else list(column))
    try:
        cols = [np.asarray(data[c]) for c in names]
    except (KeyError, IndexError, TypeError, ValueError):
        have = list(getattr(data, "columns", None) or (data.keys() if hasattr(data, "keys") else []))
        missing = [c for c in names if c not in have] or names
        raise MissingColumnError(f"column {missing[0]!r} is not in the data"
                                 + (f"; its columns are {', '.join(map(str, have))}" if have else "")) from None
    return cols[0] if len(cols) == 1 and not fam.ndim else np.column_stack(cols)


def _n(v):
    return int(v) if float(v) == int(v) else v


def _py(v):
    a = np.asarray(v, dtype=float)
    return float(a) if a.ndim == 0 else a


def _check_fixed(fam, fixed):
    fixed = dict(fixed or {})
    allowed = set(fam.params) | set(fam.known)
    for k in fixed:
        if k not in allowed:
            raise OptionError(f"{fam.name} has no parameter {k!r}; its parameters are "
                              f"{', '.join(list(fam.params) + list(fam.known))}")
    for k, default in fam.known.items():
        if k not in fixed:
            if default is None:
                raise OptionError(f"{fam.name} needs the known value of {k!r}: pass fixed={{{k!r}: ...}} "
                                  f"(CLI: --fix {k}=...)")
            fixed[k] = default
    for k, v in fixed.items():
        try:
            arr = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise OptionError(f"fixed value of {k!r} is not a number: {v!r}") from None
        if k in fam.params and not fam.params[k].check(arr) and not _on_edge(fam.params[k], arr):
            raise OptionError(f"fixed value {v!r} of {k!r} is outside its constraint ({fam.params[k].name})")
        if k in fam.known and hasattr(fam, "check_known"):
            fam.check_known(k, arr)
        fixed[k] = arr
    return fixed


def _on_edge(constraint, arr):
    """A finite scalar on the boundary of an open constraint (a zero-inflation probability
    of 0): allowed as a *fixed* value, the restricted model of a boundary test. The fit
    refuses it later if the log-likelihood is not finite there."""
    if arr.ndim or not np.isfinite(arr):
        return False
    v = float(arr)
    if isinstance(constraint, C.GreaterThan):
        return v == constraint.lower
    if isinstance(constraint, C.Interval):
        return v in (constraint.lower, constraint.upper)
    return False


def _one_pass_ok(fam, dropna, weights):
    """Whether the data can be validated inside the statistics pass (see ``fit``): for a
    discrete family only through the fused summary, which also says whether all are integers."""
    return (fam.statistics is not None and fam.loglik_from_statistics is not None
            and (not fam.discrete or fam.statistics_from_summary is not None)
            and _early_summary_ok(fam, dropna, weights))


def _fused_summary_ok(x):
    return x.ndim == 1 and x.shape[0] >= NUMPY_MIN_ROWS and fused_usable(x)


def _early_summary_ok(fam, dropna, weights):
    """Whether a family fitted on its rows can be validated by one fused read first (see
    :func:`_checked_summary`): unweighted 1-D data and the default support check."""
    return (fam.ndim == 0 and not dropna and weights is None
            and type(fam).check_support is Family.check_support)


def _checked_summary(fam, x):
    """The fused summary of a large sample (:mod:`thetahat.engine.fused`) when it shows every
    value finite, inside the support and (discrete family) a whole number; else ``None``, and
    the caller's row-by-row scans find and name the bad value."""
    if not _fused_summary_ok(x):
        return None
    s = summarize(x, pool(), fam.discrete)
    ok = s is not None and _summary_valid(fam, s["min"], s["max"], np.isfinite(s["sum"]), s["integral"])
    return s if ok else None


def _summary_valid(fam, lo, hi, finite, integral):
    """Whether a summary of the data (min, max, a finite sum, all whole numbers) shows every
    value finite, inside the support and, for a discrete family, whole."""
    return bool(finite and np.isfinite(lo) and np.isfinite(hi) and (integral or not fam.discrete)
                and _inside(fam.support, lo, hi))


def _validated_statistics(fam, x, fixed):
    """``fam.statistics_validated`` of a large sample (see :class:`Family`), else ``None``."""
    if not (x.shape[0] >= NUMPY_MIN_ROWS and x.dtype == np.float64 and x.flags.c_contiguous):
        return None
    stats = fam.statistics_validated(x, fixed)
    return None if stats is None else {k: np.asarray(v, dtype=float) for k, v in stats.items()}


def _inside(support, lo, hi):
    if isinstance(support, (C.GreaterThan, C.Interval)):
        return bool(support.contains(lo) and support.contains(hi))
    if isinstance(support, C.IntegerInterval):  # (whole numbers: the summary's "integral")
        return bool(lo >= support.lower and (support.upper is None or hi <= support.upper))
    return isinstance(support, type(C.real))


def _prepare(data, weights, fam, dropna, scan=True):
    if weights is None:
        x, dropped = as_float_array(data, ndim=fam.ndim, dropna=dropna, scan=scan)
        return x, None, dropped
    x, _ = as_float_array(data, ndim=fam.ndim, scan=False)
    w = as_weights(weights, x.shape[0])
    if dropna:  # drop the NaN rows and their weights together
        nan_rows = np.isnan(x) if x.ndim == 1 else np.isnan(x).any(axis=1)
        if nan_rows.any():
            x, w = x[~nan_rows], w[~nan_rows]
            if x.shape[0] == 0 or w.sum() <= 0:
                raise EmptyDataError(f"no rows left after dropping {int(nan_rows.sum())} NaN rows")
        x, _ = find_nonfinite(x)
        return x, w, int(nan_rows.sum())
    x, dropped = find_nonfinite(x)
    return x, w, dropped


def _closed_result(obj, layout, est, derivs=None):
    """An :class:`OptResult` at closed-form (or profile) estimates ``est``. ``derivs``:
    (log-likelihood, gradient, Hessian) in the natural parameters, when the estimator
    already has them; else one derivative pass over the data."""
    u = layout.to_unconstrained(est)
    inside = _all_finite(u)
    jac = None  # d flat(theta) / du at u, where the derivative call gave it
    one = layout.scalar_slot
    chain = None
    if derivs is not None and inside:
        chain = one.constraint.chain_np(est[one.name]) if one is not None else layout.chain_np(est)
    if chain is not None and one is not None:  # one scalar parameter: the chain rule in Python floats
        v, (d, e) = float(derivs[0]), chain
        g_t, h_t = np.asarray(derivs[1]).item(), np.asarray(derivs[2]).item()
        g, H, jac = np.array([d * g_t]), np.array([[d * h_t * d + g_t * e]]), np.array([[d]])
    elif chain is not None:  # the second-order chain rule in NumPy: no compiled call at all
        v, (d1, d2) = float(derivs[0]), chain
        g_t, H_t = np.asarray(derivs[1], dtype=float), np.asarray(derivs[2], dtype=float)
        g, H, jac = d1 * g_t, d1[:, None] * H_t * d1[None, :] + np.diag(g_t * d2), np.diag(d1)
    elif derivs is not None and inside:
        import jax.numpy as jnp

        v = float(derivs[0])
        g, H = (np.asarray(a) for a in _natural_to_u(layout)(jnp.asarray(u), jnp.asarray(derivs[1]),
                                                              jnp.asarray(derivs[2])))
    elif inside and not obj.family.param_support:
        if hasattr(obj, "derivs_jacobian"):  # one compiled call: value, derivatives and Jacobian
            v, g, H, jac = obj.derivs_jacobian(u)
        else:
            v, g, H = obj.derivs(u)  # one compiled call gives the value too
        v = float(v)
    else:
        import jax.numpy as jnp

        # the log-likelihood at the exact estimates (a round trip through u can move a
        # sample extreme such as pareto's scale by an ulp, off the support)
        v = float(obj.loglik_theta({k: jnp.asarray(est[k]) for k in layout.names}))
        if inside:
            _, g, H = obj.derivs(u)
        else:  # on the boundary of the parameter space
            g = np.zeros(layout.size)
            H = np.full((layout.size, layout.size), np.nan)
    r = opt.OptResult(u, v, g, H, 0, math.isfinite(v),
                      "closed-form maximum likelihood estimate" if math.isfinite(v)
                      else "the closed-form estimate has zero likelihood", "closed", [v], [u])
    r.closed_params = est
    r.jacobian = jac
    return r


@functools.lru_cache(maxsize=None)
def _natural_to_u(layout):
    """Gradient and Hessian in the natural parameters -> in ``u`` (second-order chain rule)."""
    import jax

    def convert(u, g, h):
        phi = lambda uu: layout.flat(layout.to_params(uu))  # noqa: E731
        J = jax.jacfwd(phi)(u)
        return J.T @ g, J.T @ h @ J + jax.hessian(lambda uu: g @ phi(uu))(u)

    return jax.jit(convert)


START_ROWS = 1 << 14


def _start_u(fam, layout, x, w, fixed, start, thin=False):
    if thin and x.shape[0] > 2 * START_ROWS:
        # a starting point needs no more than a systematic subsample, unless the support
        # depends on the parameters (then the start must respect every observation)
        step = x.shape[0] // START_ROWS
        x = x[::step]
        w = None if w is None else w[::step]
    if start and all(k in start for k in layout.names):
        st = {}  # a complete start: the family's own (moments) start is not needed
    else:
        st = dict(fam.start(x, np.ones(x.shape[0]) if w is None else w))
    st.update({k: v for k, v in fixed.items() if k in st})
    if start:
        for k, v in start.items():
            if k not in fam.params:
                raise OptionError(f"start names {k!r}, which is not a parameter of {fam.name}")
            if not fam.params[k].check(np.asarray(v, dtype=float)):
                raise OptionError(f"start value {v!r} of {k!r} is outside its constraint ({fam.params[k].name})")
            st[k] = np.asarray(v, dtype=float)
    u0 = layout.to_unconstrained({k: np.asarray(v, dtype=float) for k, v in st.items()})
    return np.where(np.isfinite(u0), u0, np.sign(u0) * 10.0)


def _optimise(obj, layout, u0, method, fam, fixed, nobs, starts, seed, max_iter):
    rng = np.random.default_rng(seed)
    # perturbations scale with |u0|: a location at -10 must be able to reach +10
    candidates = [u0] + [u0 + rng.normal(0.0, 1.0, size=u0.shape) * (1.0 + np.abs(u0))
                         for _ in range(int(starts) - 1)]
    info = None
    if method == "scoring":
        if fam.expected_information is None or any(s.shape for s in layout.slots):
            raise OptionError(f"{fam.name} gives no expected information: Fisher scoring is not available; "
                              "use method='newton'")
        import jax.numpy as jnp

        free_index = [list(fam.params).index(k) for k in layout.names]
        fixed_j = {k: jnp.asarray(v) for k, v in fixed.items()}
        info = lambda u: cv.expected_in_u(fam, layout, fixed_j, u, nobs, free_index)  # noqa: E731
    kw = {} if max_iter is None else {"max_iter": int(max_iter)}
    results = []
    for u in candidates:
        if method in ("auto", "newton", "closed"):
            r = opt.newton(obj, u, **kw)
        elif method == "scoring":
            r = opt.newton(obj, u, information=info, method="scoring", **kw)
        elif method == "gradient":
            r = opt.gradient_ascent(obj, u, **kw)
        else:
            r = opt.bfgs(obj, u, **kw)
        results.append(r)
    n_conv = sum(r.converged for r in results)
    pool = [r for r in results if r.converged and np.isfinite(r.loglik)] or \
        [r for r in results if np.isfinite(r.loglik)] or results
    best = max(pool, key=lambda r: r.loglik if np.isfinite(r.loglik) else -np.inf)
    return best, len(results), n_conv


def _params_from(res, layout, fam):
    if getattr(res, "closed_params", None) is not None:
        return {k: _py(v) for k, v in res.closed_params.items()}
    if getattr(res, "profile_params", None) is not None:  # the profile iteration's own estimates
        return {k: _py(v) for k, v in res.profile_params.items()}
    p, res.jacobian = layout.params_jacobian(res.u)  # (the Jacobian for the standard errors, same call)
    return {k: _py(v) for k, v in p.items()}


def _covariance(fam, layout, fixed, params, res, obj, nobs, stats, sample, cov_type="observed",
                weight_power=1):
    """Standard errors of the regular, interior estimates; notes for the rest."""
    notes = []
    se = {k: None for k in layout.names}
    regular = [k for k in layout.names if k not in fam.nonregular]
    for k in layout.names:
        if k in fam.nonregular:
            why = getattr(fam, "nonregular_reason", None) or ("its MLE is an extreme of the sample, on the edge "
                                                              "of the support")
            notes.append(f"{k} is a non-regular parameter ({why}): Fisher-information standard errors do not "
                         "apply to it")
    if not regular:
        res.grad = np.zeros(0)  # no regular parameter: no score equation to check
    if not res.converged or not regular:
        if not res.converged:
            notes.append("the fit did not converge, so no standard errors are reported")
        return se, None, [], "none", None, notes
    # Only bounded coordinates (probabilities, simplex weights) have an edge that |u| > 30
    # can mean; a scale parameter's log can legitimately be -690 (data near 1e-300), and a
    # positive parameter driven to 0 shows up instead as a singular information matrix.
    boundary = [s.name for s in layout.slots if s.name in regular
                and isinstance(s.constraint, (C.Interval, type(C.simplex)))
                and np.any(np.abs(res.u[s.start:s.start + s.usize]) > BOUNDARY_U)]
    for k in boundary:
        notes.append(f"{k} = {_fmt(params[k])} is on the boundary of its parameter space: the Fisher-information "
                     "standard error does not apply")
    if boundary:
        return se, None, [], "none", None, notes
    sub_fixed = fixed
    if regular != layout.names:
        # conditional information: non-regular estimates held at their values
        sub_fixed = {**fixed, **{k: np.asarray(params[k]) for k in layout.names if k not in regular}}
        sub_layout = Layout.build(fam, {s.name: s.shape for s in layout.slots}, regular)
        sub_obj = (StatisticsObjective(fam, sub_layout, sub_fixed, stats) if stats is not None
                   else ChunkObjective(fam, sub_layout, sub_fixed, sample))
        u = sub_layout.to_unconstrained({k: np.asarray(params[k]) for k in regular})
        _, g_sub, H = sub_obj.derivs(u)
        res.grad = g_sub  # the gradient that must vanish: the regular parameters'
        lay = sub_layout
    else:
        u, H, lay = res.u, res.hess, layout
    expected_wanted = cov_type == "expected" or (fam.information == "expected" and cov_type == "observed")
    if expected_wanted:
        if fam.expected_information is None:
            raise OptionError(f"{fam.name} gives no expected information: cov_type='expected' is not available")
        import jax.numpy as jnp

        idx = [list(fam.params).index(k) for k in regular]
        p = {k: jnp.asarray(v) for k, v in params.items()}
        info = np.asarray(fam.expected_information(p))[np.ix_(idx, idx)]
        c = cv.expected(info, nobs)
        # the second-derivative check still reports the observed Hessian
        c.negative_definite, c.condition = cv.hessian_check(H) if fam.information != "expected" else (None, None)
        used = "expected"
        if fam.information == "expected":
            notes.append(f"{fam.name}'s log-likelihood is not twice differentiable at the optimum; standard "
                         "errors use the expected (Fisher) information")
    elif cov_type in ("opg", "sandwich"):
        if fam.information == "expected" and cov_type == "sandwich":
            raise OptionError(f"{fam.name}'s log-likelihood has no Hessian at the optimum: the sandwich needs one; "
                              "use cov_type='opg' or 'expected'")
        from .engine.objective import score_outer

        B = score_outer(fam, lay, sub_fixed, sample, u, weight_power)
        J = getattr(res, "jacobian", None) if lay is layout else None
        c = cv.robust(H, B, lay.jacobian(u) if J is None else J, cov_type)
        used = cov_type
    else:
        J = getattr(res, "jacobian", None) if lay is layout else None
        c = cv.observed(H, lay.jacobian(u) if J is None else J)
        used = "observed"
    if c.note:
        notes.append(c.note)
    if c.cov is None:
        return se, None, [], "none", c, notes
    sd = np.sqrt(np.maximum(c.cov.diagonal(), 0.0))
    for k, v in lay.unflatten(sd).items():
        se[k] = v
    return se, c.cov, lay.flat_labels(), used, c, notes


def _statistics_closed_form(fam, stats):
    """``fam.statistics_closed_form_derivs(stats)``; where its float arithmetic fails or is not
    finite (data near 1e-160 or 1e200, a zero weighted sum), the closed form without derivatives,
    so that the compiled derivative call decides as it does for every other closed form."""
    try:
        with np.errstate(all="raise"):  # (an overflow or underflow anywhere: hand over, as below)
            est, derivs = fam.statistics_closed_form_derivs(stats)
    except ArithmeticError:  # (also ZeroDivisionError, OverflowError of Python floats, FloatingPointError)
        return fam.closed_form(stats), None
    if derivs is not None and not all(_all_finite(d) for d in derivs):
        derivs = None
    return est, derivs


def _max_abs(g):
    """``max |g|`` as a float (None for no entries); one entry without a NumPy reduction."""
    if g.size <= 1:
        return abs(float(g[0])) if g.size else None
    return float(np.max(np.abs(g)))


def _all_finite(v) -> bool:
    """Whether every entry of ``v`` is finite: a float test for a scalar (the NumPy reduction
    costs ~2 us a call, paid several times by every fit)."""
    if getattr(v, "size", 1) == 1:
        return math.isfinite(v.item() if hasattr(v, "item") else v)
    return bool(np.isfinite(v).all())


def _numpy_statistics_retry(fam, x, w):
    """The family's NumPy statistics where the compiled ones are not finite: XLA reads
    subnormal values (below 2.2e-308) as 0, so log x of data from 1e-308 came out -inf,
    while NumPy's log keeps them (lognormal on 1e-308 .. 1e308 spans only |log x| < 710).
    Raises :class:`NumericalRangeError` when NumPy's are not finite either."""
    if fam.statistics_np is not None and w is None and x.ndim == 1:
        with np.errstate(all="ignore"):
            stats = {k: np.asarray(v) for k, v in fam.statistics_np(np.array(x, dtype=np.float64)).items()}
        if all(_all_finite(v) for v in stats.values()):
            return stats
    raise _overflow(fam, x)


def _overflow(fam, x):
    x = np.asarray(x, dtype=float)
    big = float(np.max(np.abs(x)))
    nz = np.abs(x[x != 0])
    small = float(nz.min()) if nz.size else 0.0
    sub = " (values below 2.2e-308 are subnormal: the compiled likelihood reads them as 0)" \
        if 0 < small < np.finfo(float).tiny else ""
    return NumericalRangeError(
        f"the data's magnitude (|x| from {small:.3g} to {big:.3g}) overflows float64 in the {fam.name} "
        f"likelihood{sub}; rescale the data (e.g. divide by a power of 10) and fit again")


def _fmt(v):
    a = np.asarray(v, dtype=float)
    return f"{float(a):g}" if a.ndim == 0 else np.array2string(a, precision=4)
