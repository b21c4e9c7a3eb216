"""Turning a Baum-Welch run into an :class:`HMMFit`: state order, convergence verdict, standard errors."""

from __future__ import annotations

import numpy as np

from . import _common as cm
from .hmm_result import HMMFit

BOUNDARY = 1e-8  # a probability below this is on the edge of the simplex: no Fisher SE applies


def build_result(model, x, is_start, lens, run, n_runs, max_iter, tol, want_se):
    import jax
    import jax.numpy as jnp

    it, p, log_pi, log_A, obj, ll, trace, gamma, bad = run
    it = int(it)
    trace = np.asarray(trace)[: it + 1]
    obj, ll = float(obj), float(ll)
    T = x.shape[0]
    gamma = np.asarray(gamma)[: x.shape[0]]
    order = cm.order_by_first_coordinate(x, gamma)
    p = jax.tree_util.tree_map(lambda a: jnp.take(a, jnp.asarray(order), axis=0), p)
    log_pi = np.asarray(log_pi)[order]
    log_A = np.asarray(log_A)[np.ix_(order, order)]
    k = model.k
    converged, reason, notes = cm.em_verdict(obj, trace, it, max_iter, tol, T, what="state")
    bad = np.flatnonzero(np.asarray(bad)[order])
    if bad.size and np.isfinite(obj):
        converged, reason = False, cm.collapse_reason(bad, gamma[:, order].sum(0), it, model, what="state")
    pi, A = np.exp(log_pi), np.exp(log_A)
    emis = {name: np.asarray(v) for name, v in model.natural(p).items()}
    params = {"start": pi, "transition": A, **emis}
    n_free = (k - 1) + k * (k - 1) + model.n_free
    se = {name: None for name in params}
    cov, labels, hnd = None, (), None
    if getattr(model, "prior", ()):
        notes.append("normal covariances carry the weak prior cov_prior (psi = "
                     f"{cm.fmt_array(model.prior, 3)}); loglik is the plain log-likelihood at these estimates")
    if want_se and converged:
        se, cov, labels, hnd = _standard_errors(model, x, is_start, p, pi, A, params, notes)
    elif want_se:
        notes.append("EM did not converge, so no standard errors are reported")
    return HMMFit(emission=model.family_name, k=k, cov_type=getattr(model, "cov_type", None)
                  if not getattr(model, "univariate", False) else None,
                  params=params, se=se, cov=cov, cov_labels=labels, loglik=ll, objective=obj, nobs=T,
                  lengths=tuple(lens), n_estimated=n_free, converged=converged, reason=reason,
                  trace=tuple(float(t) for t in trace), iterations=it, starts=n_runs, notes=tuple(notes),
                  hessian_negative_definite=hnd, posterior_probs=gamma[:, order], model=model, internal=p,
                  data=x, is_start=is_start)


def _standard_errors(model, x, is_start, p, pi, A, params, notes):
    """Observed information of the forward log-likelihood in unconstrained coordinates
    (additive log-ratios of the probabilities, the emission bijections), delta method back.

    The initial distribution enters only through the first state of each sequence; with
    one sequence its MLE is a vertex of the simplex, so it is held fixed at its estimate
    (conditional information) whenever any entry is on the boundary. Transition rows
    with an entry on the boundary likewise make the information singular: then no SEs.
    """
    import jax
    import jax.numpy as jnp

    from .hmm_algorithms import forward_loglik, pad

    k = model.k
    free_pi = bool(np.all(pi > BOUNDARY))
    if not free_pi:
        notes.append("the initial distribution is on the boundary of the simplex (usual with one sequence): it is "
                     "held at its estimate, and the other standard errors are conditional on it")
    if np.any(A <= BOUNDARY):
        notes.append("a transition probability is on the boundary (0): its Fisher-information standard error "
                     "does not apply, so none are reported")
        return {name: None for name in params}, None, (), None
    u_pi = np.log(pi[:-1]) - np.log(pi[-1])
    u_A = (np.log(A[:, :-1]) - np.log(A[:, -1:])).ravel()
    parts = ([u_pi] if free_pi else []) + [u_A, model.pack(p)]
    u = np.concatenate(parts)
    n_pi = k - 1 if free_pi else 0
    log_pi_fixed = jnp.log(jnp.asarray(np.clip(pi, 1e-300, None)))
    xp, sp, wp = pad(x, is_start)
    xj, sj, wj = jnp.asarray(xp), jnp.asarray(sp), jnp.asarray(wp)

    def split(uv):
        if free_pi:
            lpi = jax.nn.log_softmax(jnp.concatenate([uv[:n_pi], jnp.zeros(1)]))
        else:
            lpi = log_pi_fixed
        zA = uv[n_pi:n_pi + k * (k - 1)].reshape(k, k - 1)
        lA = jax.nn.log_softmax(jnp.concatenate([zA, jnp.zeros((k, 1))], axis=1), axis=1)
        return lpi, lA, model.unpack(uv[n_pi + k * (k - 1):])

    def loglik(uv, _x=None, _w=None):
        lpi, lA, pp = split(uv)
        return forward_loglik(model.log_density(xj, pp), sj, wj, lpi, lA)

    def nat_flat(uv):
        lpi, lA, pp = split(uv)
        vals = ([jnp.exp(lpi)] if free_pi else []) + [jnp.exp(lA)] + list(model.natural(pp).values())
        return jnp.concatenate([jnp.ravel(v) for v in vals])

    se_flat, cov, note, hnd = cm.observed_se(loglik, u, None, nat_flat, None)
    se = {name: None for name in params}
    if se_flat is None:
        notes.append(note)
        return se, None, (), hnd
    shown = {name: v for name, v in params.items() if free_pi or name != "start"}
    se.update(cm.unflatten(se_flat, shown))
    return se, cov, tuple(cm.flat_labels(shown)), hnd
