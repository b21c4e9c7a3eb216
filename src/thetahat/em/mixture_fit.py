"""A mixture fit, whatever holds the data: EM, Newton steps, the component order, the result.

This is the one implementation of :func:`thetahat.mixture`. The data come as an object
that answers four questions, and that object is all that differs between data in memory
(:class:`~thetahat.em.mixture_memory.InMemory`, one compiled call per EM iteration) and
data streamed from files or Dask (:class:`~thetahat.em.streamed.Streamed`, one pass per
EM iteration):

* ``em_step(model, p, logw)``: one EM iteration at ``(p, logw)`` (:class:`EMStep`);
* ``evaluate(model)``: ``evaluate(u, hessian)`` for :func:`~thetahat.em.polish.newton_polish`,
  whose ``parts`` are ``(loglik, its Hessian, state)``;
* ``order(model, p, logw, state)``: the components' reported order, their totals ``N_j``
  and (in memory) the responsibilities, from the ``state`` of the last E-step at that point;
* ``n``, ``scale``, ``fit_class`` and ``closing_notes()``.

Example
-------
>>> import numpy as np, thetahat
>>> from thetahat._jax import scope
>>> from thetahat.em.generic import ClosedFormComponents
>>> from thetahat.em.mixture_memory import InMemory
>>> from thetahat.em.mixture_fit import fit_mixture
>>> x = np.r_[np.zeros(60), np.ones(40), np.full(50, 9.0), np.full(50, 11.0)]
>>> with scope():
...     model = ClosedFormComponents.build(thetahat.family("poisson"), 2, x)
...     start = model.from_natural({"lam": [1.0, 5.0]}), np.log([0.5, 0.5])
...     f = fit_mixture(model, InMemory(x), [start], max_iter=1000, tol=1e-10, se=False)
>>> np.round(f.params["lam"], 3).tolist(), f.converged
([0.4, 9.993], True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._jax import jax, jnp, jsp
from . import _common as cm
from . import polish as pl

TOL = 1e-10  # per-observation change in the EM objective that counts as convergence
MAX_ITER = 1000


@dataclass(frozen=True)
class EMStep:
    """One EM iteration at ``(p, logw)``: the objective there (log-likelihood plus the
    covariance prior) and the log-likelihood, the M-step's ``p_new``/``logw_new``, the
    ``(k,)`` flags of collapsed components, and the data's ``state`` of the E-step."""

    obj: float
    ll: float
    p_new: dict
    logw_new: object
    bad: np.ndarray
    state: object


@dataclass(frozen=True)
class EMRun:
    """An EM run: the last parameters whose E-step was taken, with its objective, trace
    (the objective at every iteration), iteration count and collapse flags."""

    it: int
    p: dict
    logw: object
    obj: float
    ll: float
    trace: tuple
    bad: np.ndarray
    state: object

    def rank(self):
        """Runs compared: a run with no collapsed component beats any collapsed one (whose
        likelihood is unbounded, so its larger value means nothing), then the higher objective."""
        return (not bool(np.any(self.bad)), self.obj if np.isfinite(self.obj) else -np.inf)


def mixing_log_weights(nk):
    """The M-step of the mixing weights: log(N_j / N)."""
    return jnp.log((nk + 1e-300) / nk.sum())


def e_step_statistics(model, x, w, p, logw, shift):
    """The E-step of a chunk of rows with weights ``w`` (0 on padding), as the M-step's sums
    about ``shift`` (``model.statistics``) plus the log-likelihood ``ll``: what a chunk adds
    to an EM iteration of a closed-form component model, in memory or streamed. For a
    continuous family's components also ``max:lp``, each component's largest log-density at a
    row (merged by maximum), which the collapse check reads."""
    dens = model.log_density(x, p)
    lp = dens + logw[None, :]
    lse = jsp.logsumexp(lp, axis=1)
    r = jnp.exp(lp - lse[:, None]) * w[:, None]
    out = {**model.statistics(x, r, shift), "ll": jnp.sum(w * lse)}
    if isinstance(model, cm.GenericComponents) and not model.family.discrete:
        out["max:lp"] = jnp.max(jnp.where(w[:, None] > 0, dens, -jnp.inf), axis=0)
    return out


def add_statistics(a, b):
    """Two chunks' :func:`e_step_statistics` together: ``max:`` entries by maximum, the others added
    (the sums of a model whose statistics merge by addition, ``chunked``)."""
    return {kk: jnp.maximum(a[kk], b[kk]) if kk.startswith("max:") else a[kk] + b[kk] for kk in a}


def densest(st):
    """The ``dens`` of :func:`collapse_flags` from summed statistics: ``max:lp`` as one row, or None."""
    return st["max:lp"][None] if "max:lp" in st else None


def collapse_flags(model, p, p_new, obj, scale, dens=None):
    """EM's collapse rule: a component collapsed at ``p`` stops EM; so, for normal components,
    does an M-step whose ``p_new`` would collapse one (it is not taken: EM stops at the last
    parameters whose likelihood is resolved). Other families are judged by their densities
    ``dens`` at ``p`` (:func:`~thetahat.em._common.collapsed_components`)."""
    bad = cm.collapsed_components(model, p, scale, dens)
    if dens is None:  # (after a non-finite E-step, p_new is NaN and says nothing)
        bad = bad | (cm.collapsed_components(model, p_new, scale) & jnp.isfinite(obj))
    return bad


def run_em(model, data, p, logw, max_iter, tol):
    """EM from ``(p, logw)`` until the objective changes by at most ``tol`` per observation, it
    is not finite, a component collapses, or ``max_iter`` iterations."""
    trace, prev, it = [], -np.inf, 0
    while True:
        step = data.em_step(model, p, logw)
        trace.append(step.obj)
        if (abs(step.obj - prev) <= tol * data.n or it >= max_iter or not np.isfinite(step.obj)
                or step.bad.any()):
            return EMRun(it, p, logw, step.obj, step.ll, tuple(trace), np.asarray(step.bad), step.state)
        p, logw, prev, it = step.p_new, step.logw_new, step.obj, it + 1


@dataclass(frozen=True)
class _Point:
    """Parameters in reported order, with the E-step's totals and responsibilities there."""

    p: dict
    logw: np.ndarray
    nk: np.ndarray
    r: object
    bad: np.ndarray
    moved: bool  # whether the order changed


def _ordered(model, data, p, logw, state, bad):
    order, nk, r = data.order(model, p, logw, state)
    take = np.asarray(order)
    return _Point({kk: jnp.take(jnp.asarray(v), jnp.asarray(take), axis=0) for kk, v in p.items()},
                  np.asarray(logw, dtype=float)[take], np.asarray(nk, dtype=float)[take],
                  None if r is None else np.asarray(r)[:, take], np.asarray(bad)[take],
                  bool(np.any(take != np.arange(model.k))))


def fit_mixture(model, data, starts, *, max_iter=MAX_ITER, tol=TOL, se=True, newton_steps=pl.NEWTON_STEPS,
                notes=(), n_starts=None):
    """EM from each of ``starts`` (``(p, logw)`` pairs), the best run finished by Newton steps
    on the marginal objective (:mod:`.polish`), in reported component order, with standard
    errors: a ``data.fit_class`` (:class:`~thetahat.MixtureFit`). ``notes`` open the fit's
    notes; ``n_starts`` is the number of starts reported (default ``len(starts)``)."""
    runs = [run_em(model, data, p, logw, int(max_iter), float(tol)) for p, logw in starts]
    run = max(runs, key=EMRun.rank)
    converged, reason, verdict = cm.em_verdict(run.obj, np.asarray(run.trace), run.it, max_iter, tol, data.n)
    notes = [*notes, *verdict]
    at = _ordered(model, data, run.p, run.logw, run.state, run.bad)
    fit = {"ll": run.ll, "obj": run.obj, "trace": list(run.trace), "H": None}
    if at.bad.any():
        converged, reason = False, cm.collapse_reason(np.flatnonzero(at.bad), at.nk, run.it, model)
    elif np.isfinite(run.obj) and (converged or newton_steps):  # Newton steps and the gradient test decide
        at, converged, reason = _newton_end(model, data, at, reason, fit, newton_steps, se, notes, run.it)
    fit.update(converged=converged, reason=reason, it=run.it)
    return _result(model, data, at, fit, se, notes, len(runs) if n_starts is None else n_starts)


def _newton_end(model, data, at, em_reason, fit, newton_steps, want_se, notes, it):
    """At most ``newton_steps`` Newton steps from EM's estimate ``at``, and the gradient test's
    verdict; ``fit`` (loglik, objective, trace, Hessian) and ``notes`` are brought up to date.
    Returns ``(point, converged, reason)``."""
    evaluate = data.evaluate(model)
    generic = isinstance(model, cm.GenericComponents)

    def valid(u, _):
        q, _ = pl.from_unconstrained(model, u)
        dens = data.log_density(model, q) if generic and data.log_density is not None else None
        return not bool(np.any(np.asarray(cm.collapsed_components(model, q, data.scale, dens))))

    pol = pl.newton_polish(evaluate, pl.to_unconstrained(model, at.p, at.logw), valid, max_steps=newton_steps,
                           final_hessian=want_se)
    converged, reason = pl.polish_verdict(em_reason, pol)
    fit["H"] = pol.parts[1]
    if pol.values:
        q, lw = pl.from_unconstrained(model, pol.u)
        at = _ordered(model, data, q, lw, pol.parts[2], np.zeros(model.k, dtype=bool))
        fit.update(ll=pol.parts[0], obj=pol.value, trace=fit["trace"] + list(pol.values))
        notes.append(f"{len(pol.values)} Newton step(s) on the marginal log-likelihood followed the {it} EM "
                     "iterations (their objectives end the trace)")
        if at.moved and want_se and converged:  # the Hessian in the reported order
            fit["H"] = evaluate(pl.to_unconstrained(model, at.p, at.logw), True)[3][1]
    return at, converged, reason


def _result(model, data, at, fit, want_se, notes, n_starts):
    weights = np.exp(at.logw)
    notes += cm.collapse_notes(weights, data.n)
    natural = {"weights": weights, **{kk: np.asarray(v) for kk, v in model.natural(at.p).items()}}
    se = {kk: None for kk in natural}
    cov, labels, hnd = None, (), None
    if getattr(model, "prior", ()):
        notes.append("normal covariances carry the weak prior cov_prior (psi = "
                     f"{cm.fmt_array(model.prior, 3)}); loglik is the plain log-likelihood at these estimates")
    if want_se and fit["converged"]:
        se_flat, cov, note, hnd = _standard_errors(model, at.p, at.logw, fit["H"])
        if se_flat is not None:
            se, labels = cm.unflatten(se_flat, natural), tuple(cm.flat_labels(natural))
        else:
            notes.append(note)
    elif want_se:
        notes.append("the fit did not converge (see reason), so no standard errors are reported")
    notes += data.closing_notes()
    return data.fit_class(family=model.family_name, k=model.k,
                          cov_type=None if getattr(model, "univariate", True) else model.cov_type,
                          params=natural, se=se, cov=cov, cov_labels=labels, loglik=float(fit["ll"]),
                          objective=float(fit["obj"]), nobs=data.n, n_estimated=(model.k - 1) + model.n_free,
                          converged=fit["converged"], reason=fit["reason"],
                          trace=tuple(float(t) for t in fit["trace"]), iterations=fit["it"], starts=n_starts,
                          notes=tuple(notes), hessian_negative_definite=hnd, responsibilities=at.r, model=model,
                          internal=at.p, log_weights=at.logw, collapsed=tuple(int(j) for j in np.flatnonzero(at.bad)))


def _standard_errors(model, p, logw, H):
    """Delta-method standard errors from ``H``, the Hessian of the plain log-likelihood in the
    unconstrained coordinates of :mod:`~thetahat.em.polish` at the estimates."""
    u = pl.to_unconstrained(model, p, logw)

    def nat_flat(uv):
        q, lw = pl.from_unconstrained(model, uv)
        d = {"weights": jnp.exp(lw), **model.natural(q)}
        return jnp.concatenate([jnp.ravel(v) for v in d.values()])

    return cm.se_from_hessian(H, np.asarray(jax.jacfwd(nat_flat)(jnp.asarray(u))))
