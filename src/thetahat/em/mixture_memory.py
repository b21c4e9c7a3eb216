"""Mixtures fitted to data in memory: EM runs from k-means++ (or given) starts, the best
run finished by Newton steps (:mod:`.polish`), with standard errors.

:func:`thetahat.mixture` (:mod:`.mixture`) is the front door; the streamed mixture
(:mod:`.streamed`) fits its pilot subsample here for its starting values.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import OptionError
from . import _common as cm
from . import polish as pl
from .mixture_result import MixtureFit

TOL = 1e-10  # per-observation change in the EM objective that counts as convergence
MAX_ITER = 1000


def fit_in_memory(data, k, family, *, cov_type, starts, seed, max_iter, tol, start, cov_prior, se, newton_steps):
    """A mixture of ``k`` components fitted to in-memory data: the options and data checked,
    every EM run made, and the best one finished (:func:`_result`)."""
    k = cm.check_k(k)
    starts = cm.check_run(starts, max_iter, tol)
    newton_steps = pl.check_steps(newton_steps)
    key = cm.family_key(family)
    x = cm.as_data(data, key)
    model = cm.build_model(key, x, k, cov_type, cov_prior)
    if key in ("bernoulli", "categorical") and x.ndim == 1 and k > 1:
        raise OptionError(f"a mixture of {key} distributions of one variable is again a {key} distribution: "
                          "its components are not identifiable; give several columns (items)")
    cm.check_distinct(x, k)

    import jax.numpy as jnp

    xj = jnp.asarray(x)
    scale = cm.data_scale(x)
    runs = _em_runs(model, x, xj, k, starts, seed, max_iter, tol, start, scale)
    best = max(runs, key=_run_rank)
    return _result(model, x, xj, best, len(runs), int(max_iter), float(tol), se, scale, newton_steps)


def _em_runs(model, x, xj, k, starts, seed, max_iter, tol, start, scale):
    """``starts`` EM runs: the first from ``start`` when it is given, the others from
    k-means++ labels drawn with ``seed``."""
    import jax.numpy as jnp

    n = x.shape[0]
    runner = _runner(model, int(max_iter))
    rng = np.random.default_rng(seed)
    runs = []
    if start is not None:
        p0, logw0 = from_start(model, start, k)
        runs.append(runner(xj, p0, logw0, float(tol) * n, scale))
    for _ in range(starts if start is None else starts - 1):
        labels = cm.kmeans_labels(x, k, rng)
        p0 = model.init_from_labels(x, labels)
        counts = np.bincount(labels, minlength=k) + 1e-3
        runs.append(runner(xj, p0, jnp.log(jnp.asarray(counts / counts.sum())), float(tol) * n, scale))
    return runs


def from_start(model, start, k):
    import jax.numpy as jnp

    start = dict(start)
    w = np.asarray(start.pop("weights", np.full(k, 1.0 / k)), dtype=float)
    if w.shape != (k,) or np.any(w <= 0) or abs(w.sum() - 1) > 1e-9:
        raise OptionError(f"starting weights must be {k} positive numbers summing to 1")
    return model.from_natural(start), jnp.log(jnp.asarray(w))


def _run_rank(run):
    """Runs compared: a run with no collapsed component beats any collapsed one (whose likelihood is
    unbounded, so its larger value means nothing), then the higher objective."""
    obj = float(run[3])
    return (not bool(np.any(np.asarray(run[7]))), obj if np.isfinite(obj) else -np.inf)


@lru_cache(maxsize=None)
def _runner(model, max_iter):
    """EM as one compiled loop: E and M steps fused, the trace in a preallocated buffer.

    An M-step that would collapse a component (:func:`~thetahat.em._common.collapsed_components`)
    is not taken: EM stops before it, at the last parameters whose likelihood is still resolved."""
    import jax
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    generic = isinstance(model, cm.GenericComponents)

    def e_step(x, p, logw):
        dens = model.log_density(x, p)
        lp = dens + logw[None, :]
        lse = logsumexp(lp, axis=1)
        return jnp.exp(lp - lse[:, None]), jnp.sum(lse), dens

    def run(x, p, logw, tol_total, scale):
        trace = jnp.full(max_iter + 1, jnp.nan)

        def cond(c):
            return ~c[5]

        def body(c):
            it, p, logw, trace, prev, _, _ = c
            r, ll, dens = e_step(x, p, logw)
            obj = ll + model.log_prior(p)
            trace = trace.at[it].set(obj)
            stop = (jnp.abs(obj - prev) <= tol_total) | (it >= max_iter) | ~jnp.isfinite(obj)
            nk = r.sum(0)
            p_new = model.m_step(x, r, p)
            logw_new = jnp.log((nk + 1e-300) / nk.sum())
            # normal components: the new covariances are checked before they are taken; other
            # families: the densities of the current parameters (the next E-step sees p_new)
            bad = cm.collapsed_components(model, p, scale, dens if generic else None)
            if not generic:  # (after a non-finite E-step, p_new is NaN and says nothing)
                bad = bad | (cm.collapsed_components(model, p_new, scale) & jnp.isfinite(obj))
            stop = stop | jnp.any(bad)
            keep = lambda a, b: jnp.where(stop, a, b)  # noqa: E731
            p = jax.tree_util.tree_map(keep, p, p_new)
            logw = keep(logw, logw_new)
            return it + jnp.where(stop, 0, 1), p, logw, trace, obj, stop, bad

        c = (0, p, logw, trace, -jnp.inf, False, jnp.zeros(model.k, dtype=bool))
        it, p, logw, trace, obj, _, bad = jax.lax.while_loop(cond, body, c)
        r, ll, _ = e_step(x, p, logw)
        return it, p, logw, obj, ll, trace, r, bad

    return jax.jit(run)


def _result(model, x, xj, run, n_runs, max_iter, tol, want_se, scale, newton_steps):
    import jax
    import jax.numpy as jnp

    it, p, logw, obj, ll, trace, r, bad = run
    it = int(it)
    trace = [float(t) for t in np.asarray(trace)[: it + 1]]
    obj, ll = float(obj), float(ll)
    n = x.shape[0]
    r = np.asarray(r)
    order = cm.order_by_first_coordinate(x, r)
    p = jax.tree_util.tree_map(lambda a: jnp.take(a, jnp.asarray(order), axis=0), p)
    logw = np.asarray(logw)[order]
    r = r[:, order]
    converged, reason, notes = cm.em_verdict(obj, trace, it, max_iter, tol, n)
    bad = np.flatnonzero(np.asarray(bad)[order])
    H = None
    if bad.size:
        converged, reason = False, cm.collapse_reason(bad, r.sum(0), it, model)
    elif np.isfinite(obj) and (converged or newton_steps):  # Newton steps and the gradient test decide
        end = _newton_end(model, x, xj, p, logw, reason, scale, newton_steps, want_se)
        converged, reason, H = end["converged"], end["reason"], end["H"]
        if end["values"]:
            p, logw, r, ll, obj = end["p"], end["logw"], end["r"], end["ll"], end["obj"]
            trace += end["values"]
            notes.append(f"{len(end['values'])} Newton step(s) on the marginal log-likelihood followed "
                         f"the {it} EM iterations (their objectives end the trace)")
    weights = np.exp(logw)
    notes += cm.collapse_notes(weights, n)
    natural = {"weights": weights, **{kk: np.asarray(v) for kk, v in model.natural(p).items()}}
    se = {kk: None for kk in natural}
    cov, labels, hnd = None, (), None
    if getattr(model, "prior", ()):
        notes.append("normal covariances carry the weak prior cov_prior (psi = "
                     f"{cm.fmt_array(model.prior, 3)}); loglik is the plain log-likelihood at these estimates")
    if want_se and converged:
        se_flat, cov, note, hnd = _standard_errors(model, p, logw, H)
        if se_flat is not None:
            se = cm.unflatten(se_flat, natural)
            labels = tuple(cm.flat_labels(natural))
        else:
            notes.append(note)
    elif want_se:
        notes.append("the fit did not converge (see reason), so no standard errors are reported")
    return MixtureFit(family=model.family_name, k=model.k, cov_type=getattr(model, "cov_type", None)
                      if not getattr(model, "univariate", False) else None,
                      params=natural, se=se, cov=cov, cov_labels=labels, loglik=ll, objective=obj, nobs=n,
                      n_estimated=(model.k - 1) + model.n_free, converged=converged, reason=reason,
                      trace=tuple(trace), iterations=it, starts=n_runs, notes=tuple(notes),
                      hessian_negative_definite=hnd, responsibilities=r, model=model, internal=p, log_weights=logw,
                      collapsed=tuple(int(j) for j in bad))


def _standard_errors(model, p, logw, H):
    """Delta-method standard errors from ``H``, the Hessian of the plain log-likelihood in the
    unconstrained coordinates of :mod:`~thetahat.em.polish` at the estimates."""
    import jax
    import jax.numpy as jnp

    u = pl.to_unconstrained(model, p, logw)

    def nat_flat(uv):
        q, lw = pl.from_unconstrained(model, uv)
        d = {"weights": jnp.exp(lw), **model.natural(q)}
        return jnp.concatenate([jnp.ravel(v) for v in d.values()])

    return cm.se_from_hessian(H, np.asarray(jax.jacfwd(nat_flat)(jnp.asarray(u))))


def _newton_end(model, x, xj, p, logw, em_reason, scale, newton_steps, want_se):
    """After EM (stopped by its rule or at ``max_iter``): at most ``newton_steps`` Newton steps on
    the marginal objective, the verdict of the gradient test, and the final estimates.

    Returns a dict: ``converged``, ``reason``, ``H`` (Hessian of the plain log-likelihood at
    the returned estimates), ``values`` (objective after each Newton step) and, when there
    were steps, ``p``, ``logw``, ``r``, ``ll``, ``obj``."""
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    generic = isinstance(model, cm.GenericComponents)

    def evaluate(u, hessian):
        ll, g, H = pl.loglik_derivatives(model, x, u, hessian)
        lp, gp, Hp = pl.prior_derivatives(model, u)
        return ll + lp, g + gp, (H + Hp if hessian else None), (ll, H)

    def valid(u, _):
        q, _ = pl.from_unconstrained(model, u)
        dens = model.log_density(xj, q) if generic else None
        return not bool(np.any(np.asarray(cm.collapsed_components(model, q, scale, dens))))

    u0 = pl.to_unconstrained(model, p, logw)
    pol = pl.newton_polish(evaluate, u0, valid, max_steps=newton_steps, final_hessian=want_se)
    converged, reason = pl.polish_verdict(em_reason, pol)
    out = {"converged": converged, "reason": reason, "H": pol.parts[1], "values": pol.values}
    if pol.values:
        q, lw = pl.from_unconstrained(model, pol.u)
        lp = np.asarray(model.log_density(xj, q)) + np.asarray(lw)[None]
        r = np.exp(lp - np.asarray(logsumexp(jnp.asarray(lp), axis=1))[:, None])
        order = cm.order_by_first_coordinate(x, r)
        q = {kk: jnp.take(v, jnp.asarray(order), axis=0) for kk, v in q.items()}
        lw, r = np.asarray(lw)[order], r[:, order]
        if np.any(order != np.arange(model.k)):  # the Newton steps swapped two components' order
            out["H"] = pl.loglik_derivatives(model, x, pl.to_unconstrained(model, q, lw))[2]
        out.update(p=q, logw=lw, r=r, ll=pol.parts[0], obj=pol.value)
    return out


def memory_columns(data, column=None, columns=None):
    """``data[column]`` / ``data[columns]`` of an in-memory table (a pandas DataFrame or a
    dict of arrays), for :func:`thetahat.mixture`'s ``column=``/``columns=``."""
    if column is not None and columns is not None:
        raise OptionError("give column= or columns=, not both")
    names = columns if column is None else ([c.strip() for c in column.split(",")] if isinstance(column, str)
                                            else list(column))
    names = [names] if isinstance(names, str) else list(names)
    if not hasattr(data, "__getitem__") or isinstance(data, np.ndarray) or not (hasattr(data, "columns")
                                                                              or isinstance(data, dict)):
        raise OptionError("column=/columns= name columns of files, a Dask DataFrame, a pandas DataFrame or a dict; "
                          "pass an array as it is")
    have = list(data.columns) if hasattr(data, "columns") else list(data)
    missing = [c for c in names if c not in have]
    if missing:
        from ..errors import MissingColumnError

        raise MissingColumnError(f"column {missing[0]!r} is not in the data; its columns are "
                                 f"{', '.join(map(str, have))}")
    cols = [np.asarray(data[c], dtype=float) for c in names]
    return cols[0] if len(cols) == 1 else np.column_stack(cols)
