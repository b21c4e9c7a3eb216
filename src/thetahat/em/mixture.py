"""``thetahat.mixture``: finite mixtures of any family by EM, with standard errors."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._jax import x64
from ..errors import OptionError
from . import _common as cm
from . import polish as pl
from .mixture_result import MixtureFit, MixtureSelection

TOL = 1e-10  # per-observation change in the EM objective that counts as convergence
MAX_ITER = 1000


@x64
def mixture(data, k, family="normal", *, cov_type="full", starts=1, seed=0, max_iter=MAX_ITER, tol=TOL,
            start=None, cov_prior="auto", se=True, column=None, columns=None, dropna=False, dask=False,
            newton_steps=pl.NEWTON_STEPS):
    """Fit a finite mixture of ``k`` components of one family by EM, finished by Newton steps.

    EM converges linearly, and slowly where components overlap: its stopping rule (a small
    change of the objective) is met while the estimates are still short of the maximum. So
    after EM the fit takes damped Newton steps on the marginal (observed-data) objective,
    with its exact gradient and Hessian, and ``converged`` is True
    only if the gradient test then passes (:mod:`thetahat.em.polish`: the gain a further
    Newton step predicts is at most 1e-12 of the objective, and the point is not a saddle);
    ``reason`` gives the gradient either way.

    Parameters
    ----------
    data : array_like
        1-D observations, or a 2-D table (rows = observations) for multivariate normal,
        Bernoulli (binary items) or categorical (label items) components.
    k : int or iterable of int
        Number of components. An iterable (``range(1, 7)``) fits each and chooses k by
        BIC, returning a :class:`MixtureSelection`.
    family : str or Family
        ``"normal"`` (``"mvnormal"`` for 2-D data is implied), ``"poisson"``,
        ``"exponential"``, ``"bernoulli"``, ``"categorical"`` (closed-form M-steps), or any
        thetahat family (a weighted Newton M-step on its log-density).
    cov_type : {"full", "diag", "spherical", "tied"}
        Covariance structure of multivariate normal components.
    starts : int
        Number of EM runs from different k-means++ initialisations; the run with the
        highest objective is kept.
    seed : int
        Seed of the initialisations.
    max_iter, tol : int, float
        EM stops when the objective changes by less than ``tol`` per observation, or after
        ``max_iter`` iterations; either way the Newton steps follow, and the fit has
        converged only if the gradient test passes after them.
    newton_steps : int
        At most this many Newton steps after EM. 0: none; the gradient is then still
        tested if EM stopped by its rule, and a fit stopped at ``max_iter`` is not
        converged (plain EM for a fixed number of iterations).
    start : dict, optional
        Starting values instead of k-means++: ``weights`` plus the per-component
        parameters as reported (``mu``, ``sigma``/``cov``/``var``, ``lam``, ``p``, ...),
        each with the component axis first.
    cov_prior : "auto", float, array or None
        Weak prior ψ on normal covariances (see ``docs/em.md``): the M-step becomes
        (scatter + diag ψ) / N_j, which keeps a component from collapsing onto a point.
        ``"auto"`` is 1e-6 times each column's variance; ``0``/``None`` is plain
        maximum likelihood.
    se : bool
        Compute standard errors (observed information of the mixture log-likelihood).
    column, columns : str or list of str, optional
        The column(s) to fit when ``data`` names Parquet/CSV files (a path, glob, folder
        or list) or is a Dask collection -- then the data are streamed, one pass per EM
        iteration (see :mod:`thetahat.scale.stream_mixture`) -- or is a pandas DataFrame.
    dropna : bool
        Streamed data only: drop (and count) rows with NaN instead of raising.
    dask : bool
        Streamed files are read by the Dask workers of the active scheduler.

    Returns
    -------
    MixtureFit or MixtureSelection

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> x = np.concatenate([np.linspace(-1, 1, 300), np.linspace(5, 7, 200)])
    >>> f = thetahat.mixture(x, 2)
    >>> np.round(f.params["mu"], 3).tolist(), np.round(f.params["weights"], 3).tolist()
    ([0.0, 6.0], [0.6, 0.4])
    >>> f.converged
    True
    """
    from ..scale.sources import is_stream_input

    if is_stream_input(data):
        from ..scale.stream_mixture import stream_mixture

        return stream_mixture(data, k, family, column=column, columns=columns, cov_type=cov_type, starts=starts,
                              seed=seed, max_iter=max_iter, tol=tol, start=start, cov_prior=cov_prior, se=se,
                              dropna=dropna, dask=dask, newton_steps=newton_steps)
    if dropna or dask:
        raise OptionError("dropna and dask apply to streamed data (files or a Dask collection); drop NaN rows "
                          "before an in-memory mixture")
    if column is not None or columns is not None:
        from ..scale.stream_mixture import memory_columns

        data = memory_columns(data, column, columns)
    if not isinstance(k, (int, np.integer)) and not isinstance(k, bool):
        ks = cm.check_ks(k)
        fits = {kk: mixture(data, kk, family, cov_type=cov_type, starts=starts, seed=seed, max_iter=max_iter,
                            tol=tol, start=None, cov_prior=cov_prior, se=se, newton_steps=newton_steps)
                for kk in ks}
        return MixtureSelection.from_fits(fits)
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
    n = x.shape[0]

    import jax.numpy as jnp

    xj = jnp.asarray(x)
    runner = _runner(model, int(max_iter))
    rng = np.random.default_rng(seed)
    runs = []
    scale = cm.data_scale(x)
    if start is not None:
        p0, logw0 = _from_start(model, start, k)
        runs.append(runner(xj, p0, logw0, float(tol) * n, scale))
    for _ in range(starts if start is None else starts - 1):
        labels = cm.kmeans_labels(x, k, rng)
        p0 = model.init_from_labels(x, labels)
        counts = np.bincount(labels, minlength=k) + 1e-3
        runs.append(runner(xj, p0, jnp.log(jnp.asarray(counts / counts.sum())), float(tol) * n, scale))
    best = max(runs, key=_run_rank)
    return _result(model, x, xj, best, len(runs), int(max_iter), float(tol), se, scale, newton_steps)


def _from_start(model, start, k):
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
