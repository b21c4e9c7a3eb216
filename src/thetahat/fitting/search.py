"""The maximum of one family's log-likelihood: a closed form, the family's profile
iteration, its exact coordinate-wise maxima, or a solver of the estimation core from a
start -- each a frozen :class:`~thetahat.engine.solution.Solution`.

Examples
--------
>>> import numpy as np
>>> from thetahat.engine.layout import Layout
>>> from thetahat.engine.objective import ChunkObjective
>>> from thetahat.families import get_family
>>> from thetahat.fitting.search import search
>>> from thetahat.scale.arrays import Sample
>>> fam, x = get_family("gamma"), np.array([0.5, 1.2, 2.0, 0.3, 1.1])
>>> layout = Layout.build(fam, fam.param_shapes(x), ["shape", "rate"])
>>> obj = ChunkObjective(fam, layout, {}, Sample(x, None, 5.0))
>>> from thetahat._jax import scope
>>> with scope():  # (float64, as thetahat.fit has it around this call)
...     fam2, sol = search(fam, layout, obj, {}, x, None, Sample(x, None, 5.0), None, method="newton",
...                        start=None, starts=1, seed=0, max_iter=None, censoring=False, streamed=None, nobs=5.0)
>>> sol.converged, sol.method
(True, 'newton')
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..engine import solvers
from ..engine.solution import Result, Solution
from ..errors import OptionError
from ..inference import covariance as cv
from .checks import _all_finite

START_ROWS = 1 << 14  # a start needs no more rows than this (a systematic subsample)
PROFILE_MAX_ROWS = 1 << 20


def search(fam, layout, obj, fixed, x, w, sample, stats, *, method, start, starts, seed, max_iter, censoring,
           streamed, nobs):
    """``(family, Solution)``: the maximum of ``obj`` by the first route that applies -- the
    family's profile iteration, its exact maxima of a censored non-regular likelihood, its
    closed form, else ``method``'s solver from ``starts`` starting points (computed on
    ``x``). The family comes back marked where the data made ends non-regular."""
    fixes_params = bool(set(fixed) & set(fam.params))
    closed_ok = fam.has_closed_form and not fixes_params
    if streamed is not None:
        closed_ok = closed_ok and fam.closed_form is not None and stats is not None
    if method == "closed" and not closed_ok:
        why = "has no closed-form MLE" if not fam.has_closed_form else "has no closed form with fixed parameters"
        raise OptionError(f"{fam.name} {why}; use method='newton'")
    if (method == "auto" and fam.profile_mle is not None and not censoring and streamed is None
            and max_iter is None  # (a limit on the iterations: the counted ones)
            and not fixes_params and x.shape[0] <= PROFILE_MAX_ROWS and int(starts) == 1):
        sol = _profile(fam, layout, obj, x, w)
        if sol is not None:
            return fam, sol
    nonregular_mle = fam.nonregular_mle if censoring and method == "auto" else None
    if nonregular_mle is not None and not fixes_params:
        return _censored_nonregular(fam, nonregular_mle, obj, layout, x, w)
    if method in ("auto", "closed") and closed_ok:
        return fam, _closed_form(fam, layout, obj, sample, stats, nobs)
    u0 = _start_u(fam, layout, x, w, fixed, start, thin=not fam.param_support)
    rng = np.random.default_rng(seed)
    # perturbations scale with |u0|: a location at -10 must be able to reach +10
    candidates = [u0] + [u0 + rng.normal(0.0, 1.0, size=u0.shape) * (1.0 + np.abs(u0))
                         for _ in range(int(starts) - 1)]
    return fam, solvers.estimate(obj, np.array(candidates), _solver(method, fam, layout, fixed, max_iter, nobs))


def _solver(method, fam, layout, fixed, max_iter, nobs):
    """The core's solver for ``method`` (``auto``: Newton, then BFGS)."""
    kw = {} if max_iter is None else {"max_iter": int(max_iter)}
    if method == "auto":
        return solvers.Auto.default(max_iter)
    if method in ("newton", "closed"):
        return solvers.Newton(**kw)
    if method == "gradient":
        return solvers.GradientAscent(**kw)
    if method == "bfgs":
        return solvers.BFGS(**kw)
    if fam.expected_information is None or any(s.shape for s in layout.slots):
        raise OptionError(f"{fam.name} gives no expected information: Fisher scoring is not available; "
                          "use method='newton'")
    import jax.numpy as jnp

    free_index = [list(fam.params).index(k) for k in layout.names]
    fixed_j = {k: jnp.asarray(v) for k, v in fixed.items()}
    return solvers.Scoring(lambda u: cv.expected_in_u(fam, layout, fixed_j, u, nobs, free_index), **kw)


def _profile(fam, layout, obj, x, w):
    """The family's Newton iteration on its one-dimensional profile likelihood, as a
    Solution; None where it did not converge (the general search takes over)."""
    est, ok, *derivs = fam.profile_mle(x, w)
    if not ok:
        return None
    params = {k: np.asarray(v, dtype=float) for k, v in est.items()}
    sol = solution_at(obj, layout, params, derivs[0] if derivs else None)
    stationary = bool(sol.converged and np.all(np.abs(sol.grad) < 1e-6 * max(1.0, abs(sol.loglik))))
    if not stationary:
        return None
    return sol.replace(method="newton", result=Result.CONVERGED,
                       message="converged: Newton's method on the one-dimensional profile likelihood")


def _closed_form(fam, layout, obj, sample, stats, nobs):
    """The closed-form estimate, from the statistics where the family has them; with its
    derivatives in NumPy for one parameter of an exponential family (several parameters: the
    compiled derivative call, whose rounding-sized score the fit reports, as before)."""
    derivs = None
    if fam.exponential_family and stats is not None and layout.scalar_slot is not None:
        est, derivs = _statistics_closed_form(fam, stats, nobs)
    elif fam.closed_form is not None:
        est = fam.closed_form(stats)
    elif fam.closed_form_derivs is not None:
        est, derivs = fam.closed_form_derivs(sample.x, sample.w)
    else:
        est = fam.closed_form_data(sample.x, sample.w)
    return solution_at(obj, layout, {k: np.asarray(v, dtype=float) for k, v in est.items()}, derivs)


def _censored_nonregular(fam, nonregular_mle, obj, layout, x, w):
    """A censored family whose non-regular ends the family locates itself (the uniform's
    kinks): ``(family, Solution)``, the family marking the ends that are non-regular at
    these data's estimates."""
    est, names = nonregular_mle(x, w)
    fam = fam.with_nonregular(names)
    sol = solution_at(obj, layout, {k: np.asarray(v, dtype=float) for k, v in est.items()})
    message = ("converged: exact coordinate-wise maxima over the pieces between the likelihood's kinks"
               if sol.converged else "the estimate has zero likelihood")
    return fam, sol.replace(method="coordinate", message=message)


def solution_at(obj, layout, est, derivs=None) -> Solution:
    """The :class:`Solution` at exact estimates ``est`` (a closed form, a profile).

    ``derivs``: (log-likelihood, gradient, Hessian) in the natural parameters, when the
    estimator already has them; else one derivative pass over the data.
    """
    u = layout.to_unconstrained(est)
    inside = _all_finite(u)
    if derivs is not None and inside:
        v, g, H, jac = _chain_rule(layout, u, est, derivs)
    elif inside and not obj.family.param_support:
        if hasattr(obj, "derivs_jacobian"):  # one compiled call: value, derivatives and Jacobian
            v, g, H, jac = obj.derivs_jacobian(u)
        else:
            (v, g, H), jac = obj.derivs(u), None  # one compiled call gives the value too
        v = float(v)
    else:
        import jax.numpy as jnp

        # the log-likelihood at the exact estimates (a round trip through u can move a
        # sample extreme such as pareto's scale by an ulp, off the support)
        v, jac = float(obj.loglik_theta({k: jnp.asarray(est[k]) for k in layout.names})), None
        if inside:
            _, g, H = obj.derivs(u)
        else:  # on the boundary of the parameter space
            g = np.zeros(layout.size)
            H = np.full((layout.size, layout.size), np.nan)
    finite = math.isfinite(v)
    return Solution(u, v, g, H, 0, Result.CLOSED_FORM if finite else Result.ZERO_LIKELIHOOD,
                    "closed-form maximum likelihood estimate" if finite else "the closed-form estimate has zero "
                    "likelihood", "closed", (v,), (u,), params=est, jacobian=jac)


def _chain_rule(layout, u, est, derivs):
    """``(value, gradient, Hessian, Jacobian)`` in ``u`` from the estimator's derivatives in
    the natural parameters: in Python floats for one scalar, NumPy for several, else compiled."""
    one = layout.scalar_slot
    chain = one.constraint.chain_np(est[one.name]) if one is not None else layout.chain_np(est)
    v = float(derivs[0])
    if chain is not None and one is not None:  # one scalar parameter: the chain rule in Python floats
        d, e = chain
        g_t, h_t = np.asarray(derivs[1]).item(), np.asarray(derivs[2]).item()
        return v, np.array([d * g_t]), np.array([[d * h_t * d + g_t * e]]), np.array([[d]])
    if chain is not None:  # the second-order chain rule in NumPy: no compiled call at all
        d1, d2 = chain
        g_t, H_t = np.asarray(derivs[1], dtype=float), np.asarray(derivs[2], dtype=float)
        return v, d1 * g_t, d1[:, None] * H_t * d1[None, :] + np.diag(g_t * d2), np.diag(d1)
    import jax.numpy as jnp

    g, H = (np.asarray(a) for a in _natural_to_u(layout)(jnp.asarray(u), jnp.asarray(derivs[1]),
                                                          jnp.asarray(derivs[2])))
    return v, g, H, None


@functools.lru_cache(maxsize=None)
def _natural_to_u(layout):
    """Gradient and Hessian in the natural parameters -> in ``u`` (second-order chain rule)."""
    import jax

    def convert(u, g, h):
        phi = lambda uu: layout.flat(layout.to_params(uu))  # noqa: E731
        J = jax.jacfwd(phi)(u)
        return J.T @ g, J.T @ h @ J + jax.hessian(lambda uu: g @ phi(uu))(u)

    return jax.jit(convert)


def _start_u(fam, layout, x, w, fixed, start, thin=False):
    """The starting point in ``u``: the family's (moment) start, overridden by ``start``."""
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


def exponential_family_derivs(fam, stats, est, total):
    """``(log-likelihood, gradient, Hessian)`` in the natural parameters at the closed-form MLE
    ``est`` of a regular full exponential family (``Family.exponential_family``), from the
    declared facts alone, in the namespace of ``stats`` (NumPy: no compiled call).

    The score is 0 at the MLE. The Hessian in the natural (canonical) parameter does not
    depend on the data: it is ``-total`` times the Fisher information. A change of
    parameters adds to it the score times the second derivatives of the map, 0 at the MLE,
    so ``-total * expected_information(est)`` is the Hessian in any parametrisation there.
    ``total`` is the sum of the weights (the number of observations when unweighted).

    Examples
    --------
    >>> import numpy as np
    >>> from thetahat.families import get_family
    >>> fam = get_family("exponential")
    >>> s = {"n": np.float64(4.0), "sum": np.float64(8.0)}
    >>> v, g, H = exponential_family_derivs(fam, s, fam.closed_form(s), 4.0)
    >>> bool(v == 4 * np.log(0.5) - 4.0), g.tolist(), H.tolist()  # d2/dlam2 (n log lam - lam sum x) = -n/lam^2
    (True, [0.0], [[-16.0]])
    """
    info = np.asarray(fam.expected_information(est), dtype=float)
    return float(fam.loglik_from_statistics(stats, est)), np.zeros(info.shape[0]), -total * info


def _statistics_closed_form(fam, stats, nobs):
    """The closed form of an exponential family and its derivatives in NumPy
    (:func:`exponential_family_derivs`); where their float arithmetic fails or is not finite
    (data near 1e-160 or 1e200, a zero weighted sum, an estimate on the edge of its space),
    the closed form without derivatives, so that the compiled derivative call decides as it
    does for every other closed form."""
    est = fam.closed_form(stats)
    try:
        with np.errstate(all="raise"):  # (an overflow or underflow anywhere: hand over, as below)
            est_np = {k: np.asarray(v, dtype=float) for k, v in est.items()}
            derivs = exponential_family_derivs(fam, stats, est_np, float(nobs))
    except ArithmeticError:  # (also ZeroDivisionError, OverflowError of Python floats, FloatingPointError)
        return est, None
    if not all(_all_finite(d) for d in derivs):
        derivs = None
    return est, derivs


def refuse_unbounded(fam, layout, sol, x) -> Solution:
    """A search that ended where the likelihood is unbounded found no MLE: past a value of
    ``Family.unbounded_below``, or with the scale of ``Family.collapses_on_ties`` run to 0 on tied
    data. The Solution comes back with :attr:`Result.NO_MLE` and the reason."""
    if not (fam.unbounded_below or fam.collapses_on_ties) or not np.all(np.isfinite(sol.u)):
        return sol
    params = layout.to_params(np.asarray(sol.u))
    for k, (value, why) in fam.unbounded_below.items():
        if k in params and float(np.asarray(params[k])) < value:
            sol = sol.replace(result=Result.NO_MLE, message=why)
    k = fam.collapses_on_ties
    if k in params and x.ndim == 1 and x.size:
        spread = float(np.max(x) - np.min(x))
        if float(np.asarray(params[k])) < 1e-8 * spread:
            values, counts = np.unique(x, return_counts=True)
            i = int(np.argmax(counts))
            sol = sol.replace(result=Result.NO_MLE, message=(
                f"the likelihood is unbounded: {counts[i]} of {x.size} observations equal {values[i]:g}, and the "
                f"{fam.name} density there grows without limit as {k} runs to 0 (tied values, e.g. rounded data); "
                "no MLE exists"))
    return sol
