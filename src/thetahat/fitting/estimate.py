"""From an objective to a :class:`~thetahat.result.Fit`: the search (:mod:`.search`), the
check of the family's limits, the standard errors, and the result with its notes.

The front door (:mod:`.api`) and the streamed fit (:mod:`.streamed`) build the objective
over wherever the data live; both finish here, so a fit of rows in memory and a fit of
files differ only in the objective they pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import boundary as bd
from .. import constraints as C
from ..engine.layout import Layout
from ..engine.objective import ChunkObjective, StatisticsObjective
from ..errors import OptionError
from ..families import Family
from ..inference import covariance as cv
from ..result import Diagnostics, Fit
from ..scale.arrays import Sample
from .checks import _all_finite, _overflow
from .search import refuse_unbounded, search

BOUNDARY_U = 30.0  # |u| beyond this means the estimate sits at the edge of its space


@dataclass(frozen=True)
class FrontDoor:
    """The front door's functions that later steps call back (a limit fit, a pilot fit,
    :meth:`Fit.update`), handed down rather than imported, so that no module below the
    front door imports it."""

    fit: Callable  # fit(data, family, **options) -> Fit, in memory
    update: Callable  # update(fit, more, *, column, dropna) -> Fit


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
    front: FrontDoor | None = None

    def objective(self, layout=None, fixed=None):
        """The log-likelihood objective for another layout / fixed set, on the same data."""
        layout = layout or self.layout
        fixed = self.fixed if fixed is None else fixed
        if self.stats is not None:
            return StatisticsObjective(self.family, layout, fixed, self.stats)
        if self.streamed is not None:
            return self.streamed["open"](layout, fixed)
        return ChunkObjective(self.family, layout, fixed, self.sample)

    def update(self, fit, more, *, column=None, dropna=False):
        """``fit`` with the observations ``more`` added (see :func:`thetahat.fitting.update.update`)."""
        return self.front.update(fit, more, column=column, dropna=dropna)

    def rows(self, what="this"):
        """The fitted rows, ``Sample(x, w, ...)``; a clear error for a streamed fit."""
        if self.raw is None:
            raise OptionError(f"{what} needs the observations in memory, but this fit was streamed from "
                              f"{self.streamed['source']} and kept none; load the data (or a sample of it) "
                              "and fit it in memory")
        return self.raw


@dataclass(frozen=True)
class StandardErrors:
    """The standard errors of a fit and how they came about."""

    se: dict
    cov: np.ndarray | None = None
    labels: tuple = ()
    cov_type: str = "none"
    check: cv.CovarianceResult | None = None  # the second-derivative check
    notes: tuple = ()
    score: np.ndarray | None = None  # the gradient that must vanish (the regular parameters')


def estimate_fit(fam, layout, obj, fixed, x, w, nobs, dropped, sample, stats, *, method, start, starts, seed,
                 max_iter, cov_type, weight_kind, censoring, front, streamed=None) -> Fit:
    """Maximise ``obj`` (closed form, profile Newton, or a solver from a start computed on
    ``x``), then check the family's limits, and give standard errors and the :class:`Fit`.

    ``streamed`` (a dict with ``source`` and ``passes``, set by the streaming fit) means
    ``x`` is only a pilot subsample: ``obj`` and ``stats`` cover all the data, and the
    fit keeps no rows. ``front`` is the front door's :class:`FrontDoor`.
    """
    fam, sol = search(fam, layout, obj, fixed, x, w, sample, stats, method=method, start=start, starts=starts,
                      seed=seed, max_iter=max_iter, censoring=censoring, streamed=streamed, nobs=nobs)
    sol = refuse_unbounded(fam, layout, sol, x)
    notes = list(sol.fallbacks)
    raw = Sample(x, w, nobs, dropped)
    ctx = FitContext(family=fam, layout=layout, fixed=fixed, sample=sample, stats=stats,
                     raw=None if streamed is not None else raw, weight_kind=weight_kind, cov_type=cov_type,
                     censored=censoring, streamed=streamed, front=front)
    verdict = _limits_verdict(fam, sol, x, w, fixed, censoring, streamed, cov_type, weight_kind, notes, front)
    if verdict is not None and verdict.on_boundary:
        return _boundary_fit(fam, layout, verdict, fixed, raw, ctx, notes)
    _refuse_nonfinite_estimate(fam, fixed, sol, x)
    params, jac = _params_of(sol, layout)
    params = {**{k: _py(v) for k, v in fixed.items()}, **params}
    params = {k: params[k] for k in list(fam.params) + [k for k in fixed if k not in fam.params]}
    errors = standard_errors(fam, layout, fixed, params, sol, jac, nobs, stats, raw, cov_type,
                             2 if weight_kind == "analytic" else 1)
    notes.extend(errors.notes)
    if any(v is not None and not _all_finite(v) for v in errors.se.values()):
        raise _overflow(fam, x)
    check = errors.check
    diag = Diagnostics(
        grad_norm=_max_abs(sol.grad if errors.score is None else errors.score),
        hessian_negative_definite=check.negative_definite if check else None,
        hessian_condition=check.condition if check else None, iterations=sol.iterations, starts=sol.starts,
        starts_converged=int(sol.converged) if sol.starts_converged is None else sol.starts_converged)
    notes.extend(_data_notes(dropped, streamed))
    return Fit(family=fam, params=params, se=errors.se, cov=errors.cov, cov_labels=tuple(errors.labels),
               cov_type=errors.cov_type, loglik=float(sol.loglik), nobs=nobs, n_estimated=layout.size,
               converged=bool(sol.converged), reason=sol.message, method=sol.method,
               trace=tuple(float(t) for t in sol.trace), diagnostics=diag, fixed={k: _py(v) for k, v in fixed.items()},
               notes=tuple(notes), dropped=dropped, path=tuple(np.asarray(p) for p in sol.path), context=ctx,
               limit=None if verdict is None else verdict.fit,
               limit_test=None if verdict is None or not sol.converged else
               bd.limit_test(fam, verdict, sol.loglik, layout.size))


def _data_notes(dropped, streamed):
    notes = []
    if dropped:
        notes.append(f"{dropped} rows with NaN were dropped")
    if streamed is not None:
        passes = streamed['passes']
        notes.append(streamed.get("note") or f"streamed from {streamed['source']} in {passes} "
                     f"pass{'' if passes == 1 else 'es'} over the data")
    return notes


def _refuse_nonfinite_estimate(fam, fixed, sol, x):
    """No fit where a fixed value on the edge of its space leaves no finite likelihood, or
    where a closed form overflowed."""
    edge = [k for k, v in fixed.items() if k in fam.params and C.on_edge(fam.params[k], np.asarray(v, dtype=float))]
    if edge and not np.isfinite(sol.loglik):
        raise OptionError(f"with {', '.join(f'{k} = {_py(fixed[k])}' for k in edge)} (the boundary of "
                          f"{'its' if len(edge) == 1 else 'their'} space) the {fam.name} log-likelihood of these "
                          "data is not finite: there is no fit to make")
    if sol.method == "closed" and not (np.isfinite(sol.loglik) and all(_all_finite(v) for v in sol.params.values())):
        raise _overflow(fam, x)


def _params_of(sol, layout):
    """``(params, Jacobian)``: the estimator's own estimates where it has them (a closed form,
    a profile), else from ``u``, with the Jacobian for the standard errors from the same call."""
    if sol.params is not None:
        return {k: _py(v) for k, v in sol.params.items()}, sol.jacobian
    p, jac = layout.params_jacobian(sol.u)
    return {k: _py(v) for k, v in p.items()}, jac


def _limits_verdict(fam, sol, x, w, fixed, censoring, streamed, cov_type, weight_kind, notes, front):
    """The check of the family's limits (:mod:`thetahat.boundary`) after the search ``sol``, or
    ``None`` where it does not apply (a note says so for streamed and censored data)."""
    if sol.method == "closed" or not fam.limits:
        return None
    if not bd.applies(fam, fixed, censoring, streamed):
        if censoring or streamed is not None:
            notes.append(f"not checked against the limiting model{'s' if len(fam.limits) > 1 else ''} "
                         f"({', '.join(lim.family for lim in fam.limits)}) of {fam.name}: the check needs the rows "
                         "in memory and uncensored")
        return None

    def fit_limit(family, xl, wl, fixed_l):
        return front.fit(xl, family, weights=wl, fixed=fixed_l or None, cov_type=cov_type, weight_kind=weight_kind)

    verdict = bd.check(fam, x, w, fixed, float(sol.loglik), bool(sol.converged), fit_limit)
    if not verdict.on_boundary and not sol.converged and np.isfinite(verdict.slope):
        notes.append(f"the likelihood rises from the limiting {verdict.fit.family.name} model into the "
                     f"interior (slope {verdict.slope:.3g}), but the search did not reach its maximum")
    return verdict


def _boundary_fit(fam, layout, verdict, fixed, raw, ctx, notes):
    """The :class:`Fit` of an estimate on the boundary: the limiting model's maximum."""
    lf = verdict.fit
    params, se, cov, labels, more = bd.boundary_parts(fam, verdict, fixed)
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


def standard_errors(fam, layout, fixed, params, sol, jac, nobs, stats, sample, cov_type="observed",
                    weight_power=1) -> StandardErrors:
    """Standard errors of the regular, interior estimates; notes for the rest."""
    se = {k: None for k in layout.names}
    regular = [k for k in layout.names if k not in fam.nonregular]
    notes = [f"{k} is a non-regular parameter ({_nonregular_why(fam)}): Fisher-information standard errors do not "
             "apply to it" for k in layout.names if k in fam.nonregular]
    score = None if regular else np.zeros(0)  # (no regular parameter: no score equation to check)
    if not sol.converged or not regular:
        if not sol.converged:
            notes.append("the fit did not converge, so no standard errors are reported")
        return StandardErrors(se, notes=tuple(notes), score=score)
    # Only bounded coordinates (probabilities, simplex weights) have an edge that |u| > 30
    # can mean; a scale parameter's log can legitimately be -690 (data near 1e-300), and a
    # positive parameter driven to 0 shows up instead as a singular information matrix.
    edge = [s.name for s in layout.slots if s.name in regular
            and isinstance(s.constraint, (C.Interval, type(C.simplex)))
            and np.any(np.abs(sol.u[s.start:s.start + s.usize]) > BOUNDARY_U)]
    notes += [f"{k} = {_fmt(params[k])} is on the boundary of its parameter space: the Fisher-information "
              "standard error does not apply" for k in edge]
    if edge:
        return StandardErrors(se, notes=tuple(notes))
    sub_fixed, u, H, lay, J = fixed, sol.u, sol.hess, layout, jac
    if regular != layout.names:
        # conditional information: non-regular estimates held at their values
        sub_fixed = {**fixed, **{k: np.asarray(params[k]) for k in layout.names if k not in regular}}
        lay = Layout.build(fam, {s.name: s.shape for s in layout.slots}, regular)
        sub_obj = (StatisticsObjective(fam, lay, sub_fixed, stats) if stats is not None
                   else ChunkObjective(fam, lay, sub_fixed, sample))
        u = lay.to_unconstrained({k: np.asarray(params[k]) for k in regular})
        _, score, H = sub_obj.derivs(u)
        J = None
    c, used, more = _information_covariance(fam, regular, params, H, lay, u, J, sub_fixed, sample, nobs, cov_type,
                                            weight_power)
    notes += more + ([c.note] if c.note else [])
    if c.cov is None:
        return StandardErrors(se, check=c, notes=tuple(notes), score=score)
    sd = np.sqrt(np.maximum(c.cov.diagonal(), 0.0))
    se.update(lay.unflatten(sd))
    return StandardErrors(se, c.cov, tuple(lay.flat_labels()), used, c, tuple(notes), score)


def _information_covariance(fam, regular, params, H, lay, u, J, sub_fixed, sample, nobs, cov_type, weight_power):
    """``(CovarianceResult, cov_type used, notes)`` from the information ``cov_type`` asks for."""
    expected_wanted = cov_type == "expected" or (fam.information == "expected" and cov_type == "observed")
    if expected_wanted:
        if fam.expected_information is None:
            raise OptionError(f"{fam.name} gives no expected information: cov_type='expected' is not available")
        import jax.numpy as jnp

        idx = [list(fam.params).index(k) for k in regular]
        info = np.asarray(fam.expected_information({k: jnp.asarray(v) for k, v in params.items()}))[np.ix_(idx, idx)]
        c = cv.expected(info, nobs)
        # the second-derivative check still reports the observed Hessian
        c.negative_definite, c.condition = cv.hessian_check(H) if fam.information != "expected" else (None, None)
        notes = [f"{fam.name}'s log-likelihood is not twice differentiable at the optimum; standard errors use the "
                 "expected (Fisher) information"] if fam.information == "expected" else []
        return c, "expected", notes
    if cov_type in ("opg", "sandwich"):
        if fam.information == "expected" and cov_type == "sandwich":
            raise OptionError(f"{fam.name}'s log-likelihood has no Hessian at the optimum: the sandwich needs one; "
                              "use cov_type='opg' or 'expected'")
        from ..engine.objective import score_outer

        B = score_outer(fam, lay, sub_fixed, sample, u, weight_power)
        return cv.robust(H, B, lay.jacobian(u) if J is None else J, cov_type), cov_type, []
    return cv.observed(H, lay.jacobian(u) if J is None else J), "observed", []


def _nonregular_why(fam):
    return fam.nonregular_reason or "its MLE is an extreme of the sample, on the edge of the support"


def _max_abs(g):
    """``max |g|`` as a float (None for no entries); one entry without a NumPy reduction."""
    if g.size <= 1:
        return abs(float(g[0])) if g.size else None
    return float(np.max(np.abs(g)))


def _fmt(v):
    a = np.asarray(v, dtype=float)
    return f"{float(a):g}" if a.ndim == 0 else np.array2string(a, precision=4)


def _py(v):
    a = np.asarray(v, dtype=float)
    return float(a) if a.ndim == 0 else a
