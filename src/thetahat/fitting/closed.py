"""A closed-form fit on NumPy alone: no JAX is imported.

For a family whose maximum likelihood estimate is a closed form of its sufficient
statistics -- normal, lognormal, exponential, poisson, bernoulli, geometric, half-normal,
Rayleigh, inverse Gaussian -- ``thetahat.fit`` (and ``thetahat fit`` on the command line)
needs no compiled code: the statistics, the estimate and the log-likelihood are the
family's own hooks (``statistics``, ``closed_form``, ``loglik_from_statistics``), which
run on NumPy as well as on JAX (:mod:`thetahat._xp`).

The standard errors need the observed information at the estimate. These families are
regular exponential families, and for them the observed information at the MLE equals
``nobs`` times the expected (Fisher) information there, in any parametrisation: the
Hessian in the natural parameter does not depend on the data, and the term that a change
of parameters adds is a multiple of the score, which is zero at the MLE. So the family's
``expected_information`` hook, evaluated at the estimate, gives them -- the same numbers
as the autodiff Hessian of the other route, to rounding (``tests/test_closed_fit.py``
checks every eligible family against it, and against scipy.stats). The score there is 0
by construction, and ``diagnostics.grad_norm`` reports that 0 (the autodiff route reports
its rounding error, about 1e-13 of the log-likelihood).

:func:`fit_closed` answers ``None`` -- and the fit takes its usual route, which may
import JAX -- for anything else: another family, censoring or truncation, fixed
parameters, ``cov_type`` ``opg`` or ``sandwich``, a method other than ``auto`` or
``closed``, data of ``NUMPY_MIN_ROWS`` rows or more (where the usual route validates and
reduces them in one read), and any data that the usual route would refuse or
warn about (NaN without ``dropna``, values outside the support, too few or all-equal
observations, statistics or estimates that are not finite): that route then says what is
wrong, in its own words.

Examples
--------
>>> import sys, numpy as np, thetahat
>>> f = thetahat.fit(np.array([2.1, 3.9, 3.2, 5.0, 4.4]), "normal")
>>> f.method, round(f.params["mu"], 12), round(f.se["mu"], 12) == round(f.params["sigma"] / 5 ** 0.5, 12)
('closed', 3.72, True)
"""

from __future__ import annotations

import math

import numpy as np

from .. import constraints as C
from ..engine.layout import Layout
from ..engine.objective import NUMPY_MIN_ROWS
from ..errors import ThetahatError
from ..inference import covariance as cv
from ..result import Diagnostics, Fit
from ..scale.arrays import Sample, as_float_array, as_weights, reduce_discrete
from .estimate import BOUNDARY_U, FitContext
from .search import exponential_family_derivs

REASON = "closed-form maximum likelihood estimate"


def eligible(fam) -> bool:
    """Whether ``fam`` takes the NumPy route: a built-in family that declares itself a regular
    exponential family (``Family.exponential_family``: its observed information at the MLE is
    the expected one, tested for each; a family of the user's own need not write its hooks for
    NumPy) with a closed form of the statistics, expected
    information, every parameter a scalar with an elementwise bijection, and none of the
    complications the general route handles (non-regular parameters, limits, a support that
    depends on the parameters, a family-specific estimator).

    Examples
    --------
    >>> from thetahat.families import get_family
    >>> [eligible(get_family(k)) for k in ("normal", "poisson", "gamma", "uniform")]
    [True, True, False, False]
    """
    return (type(fam).__module__.startswith("thetahat.families.") and fam.exponential_family
            and fam.closed_form is not None and fam.statistics is not None and fam.loglik_from_statistics is not None
            and fam.expected_information is not None and fam.information == "observed" and fam.ndim == 0
            and not fam.known and not fam.nonregular and not fam.param_support and not fam.limits
            and not fam.unbounded_below and fam.collapses_on_ties is None
            and fam.profile_mle is None
            and all(isinstance(c, (C.GreaterThan, C.Interval, type(C.real))) for c in fam.params.values()))


def fit_closed(fam, data, fixed, *, method, cov_type, weights, weight_kind, dropna, censored, front=None):
    """The :class:`~thetahat.result.Fit` of ``fam`` to in-memory ``data`` by its closed form,
    in NumPy, or ``None`` where the general route must make it (see the module docstring).

    Parameters
    ----------
    fam : Family
        The (bound) family.
    data : array_like
        The observations, not yet checked.
    fixed : dict
        Fixed and known values, checked (``families.fixed.check_fixed``).
    method, cov_type, weights, weight_kind, dropna
        As ``thetahat.fit`` takes them.
    censored : bool
        Whether any censoring or truncation was asked for.
    front : FrontDoor, optional
        The front door's functions, for the fit's later refits (:meth:`Fit.update`).

    Returns
    -------
    Fit or None

    Examples
    --------
    >>> import numpy as np
    >>> from thetahat.families import get_family
    >>> f = fit_closed(get_family("exponential"), [1.0, 2.0, 3.0], {}, method="auto", cov_type="observed",
    ...                weights=None, weight_kind="frequency", dropna=False, censored=False)
    >>> f.params["lam"], round(f.se["lam"], 12) == round(0.5 / 3 ** 0.5, 12)
    (0.5, True)
    >>> fit_closed(get_family("gamma"), [1.0, 2.0, 3.0], {}, method="auto", cov_type="observed",
    ...            weights=None, weight_kind="frequency", dropna=False, censored=False) is None
    True
    """
    if (censored or fixed or method not in ("auto", "closed") or cov_type not in ("observed", "expected")
            or not eligible(fam)):
        return None
    rows = _rows(fam, data, weights, weight_kind, dropna)
    if rows is None:
        return None
    x, w, nobs, dropped = rows
    sample = Sample(x, w, nobs, dropped)
    reduced = Sample(*reduce_discrete(x, w), nobs, dropped) if fam.discrete else sample
    try:
        with np.errstate(all="ignore"):
            parts = _estimate(fam, reduced, nobs, cov_type)
    except ArithmeticError:  # (Python floats that overflow: data near 1e-160 or 1e200)
        return None
    if parts is None:
        return None
    stats, est, layout, u, loglik, c = parts
    se = layout.unflatten(np.sqrt(np.maximum(c.cov.diagonal(), 0.0)))
    notes = (f"{dropped} rows with NaN were dropped",) if dropped else ()
    ctx = FitContext(family=fam, layout=layout, fixed=fixed, sample=reduced, stats=stats, raw=sample,
                     weight_kind=weight_kind, cov_type=cov_type, censored=False, front=front)
    return Fit(family=fam, params={k: est[k] for k in fam.params}, se=se, cov=c.cov, cov_labels=tuple(layout.flat_labels()),
               cov_type=cov_type, loglik=loglik, nobs=nobs, n_estimated=layout.size, converged=True,
               reason=REASON, method="closed", trace=(loglik,),
               diagnostics=Diagnostics(grad_norm=0.0, hessian_negative_definite=c.negative_definite,
                                       hessian_condition=c.condition, iterations=0, starts=1, starts_converged=1),
               fixed={}, notes=notes, dropped=dropped, path=(np.asarray(u),), context=ctx)


def _estimate(fam, sample, nobs, cov_type):
    """``(statistics, estimates, layout, u, log-likelihood, CovarianceResult)`` of the rows
    ``sample``, or ``None`` where any of them is not finite or sits on an edge."""
    ones = np.ones(sample.x.shape[0]) if sample.w is None else sample.w
    stats = {k: np.asarray(v, dtype=float) for k, v in fam.statistics(sample.x, ones).items()}
    if not all(np.all(np.isfinite(v)) for v in stats.values()):
        return None
    est = {k: np.float64(v) for k, v in fam.closed_form(stats).items()}
    layout = Layout.build(fam, fam.param_shapes(sample.x), list(fam.params))
    u = layout.to_unconstrained(est)
    loglik, _, H_theta = exponential_family_derivs(fam, stats, est, nobs)
    chain = layout.chain_np(est)
    if not (math.isfinite(loglik) and np.all(np.isfinite(u)) and chain is not None
            and all(math.isfinite(v) for v in est.values())):
        return None
    if any(isinstance(s.constraint, C.Interval) and abs(u[s.start]) > BOUNDARY_U for s in layout.slots):
        return None  # (an estimate at the edge of its interval: the general route's note says so)
    # mapped to u: H_u = J' H_theta J (the second-order term is the score times d2 theta / du2, and the
    # score is 0)
    J = np.diag(chain[0])
    H = J.T @ H_theta @ J
    if cov_type == "expected":
        c = cv.expected(np.asarray(fam.expected_information(est), dtype=float), nobs)
        c.negative_definite, c.condition = cv.hessian_check(H)
    else:
        c = cv.observed(H, J)
    if c.cov is None or c.note or not np.all(np.isfinite(c.cov)) or not np.all(np.isfinite(H)):
        return None
    return stats, {k: float(v) for k, v in est.items()}, layout, u, loglik, c


def _rows(fam, data, weights, weight_kind, dropna):
    """``(x, w, nobs, dropped)``: the rows, checked as the general route checks them; ``None``
    wherever that route would refuse them (it then raises its own error)."""
    try:
        if weights is not None and dropna:
            return None  # (NaN rows dropped with their weights: the general route)
        x, _ = as_float_array(data, ndim=fam.ndim, scan=False)  # (the size first: a large sample is not scanned here)
        if x.shape[0] >= NUMPY_MIN_ROWS:
            return None
        x, dropped = as_float_array(x, ndim=fam.ndim, dropna=dropna)
        w = None if weights is None else as_weights(weights, x.shape[0])
        fam.check_support(x, {})
        if w is not None and weight_kind == "analytic":
            w = w * (np.count_nonzero(w) / w.sum())
        nobs = float(x.shape[0] if w is None else (w.sum() if weight_kind == "frequency" else np.count_nonzero(w)))
        if nobs < fam.min_obs:
            return None
        fam.check_degenerate(x, w)
    except ThetahatError:
        return None
    return x, w, nobs, dropped
