"""Fits whose maximum lies at an edge of the parameter space.

A t fitted to normal data, a negative binomial to counts with no overdispersion, a
zero-inflated poisson to data with no excess zeros: the likelihood keeps rising towards a
limit of the parameter space (df, r to infinity; pi to 0), where the family becomes
another model (:class:`~thetahat.families.Limit`). An optimiser chasing that limit stops
wherever its tolerances and the machine's rounding let it -- df = 3e7 on one CPU, an
iteration limit on another. The verdict here does not depend on the search: the limiting
model is fitted directly, and the slope of the profile likelihood at the limit (the
family's exact ``score``) says whether the likelihood rises into the interior.

* slope at most 0 (and no interior point found above the limit): the estimate is on the
  boundary. The fit reports the limit (``Fit.boundary``, e.g. ``{"df": inf}``), the
  limiting model's log-likelihood, standard errors for the parameters that stay in the
  interior (computed in the limiting model), and a likelihood-ratio test against it.
* slope above 0: the maximum is in the interior, and the fit is the search's, with the
  same likelihood-ratio test attached (the χ̄² p-value of Self & Liang 1987).

The slope is a sum over the data in closed form, so every machine reaches the same
verdict unless the data sit within rounding of the boundary of the two cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .inference.likelihood_ratio import LRTResult, chi_bar_pvalue

# a slope of at most this much per unit of weight counts as zero (rounding of the closed-form sums)
SLOPE_TOL = 1e-10
# where the slope at the limit is not positive, an interior point must beat the limit by more than
# this (relative): near the limit the log-densities lose digits to cancellation (a beta-binomial's
# log-beta differences at a, b ~ 1e7 are off by ~4e-8 per row, and once beat the binomial by 1.5e-5),
# and a gain this small is no evidence against the limiting model anyway (LR statistic < 2e-6 |loglik|)
HIGHER_TOL = 1e-6


@dataclass(frozen=True)
class Verdict:
    """What the check of a family's limits found.

    Attributes
    ----------
    limit : Limit
        The limit examined.
    fit : Fit
        The limiting model fitted directly to the data.
    slope : float
        The profile likelihood's slope at the limit, into the interior (NaN for a
        non-regular limit, decided by the likelihoods alone).
    on_boundary : bool
        Whether the maximum is at the limit.
    extra : dict
        Parameters the limit takes from the data (the skew normal's loc).
    """

    limit: object
    fit: object
    slope: float
    on_boundary: bool
    extra: dict = field(default_factory=dict)


def applies(fam, fixed, censored, streamed) -> bool:
    """Whether the fit of ``fam`` is checked against its limits: data in memory, not censored,
    and no parameter that a limit moves or keeps held fixed."""
    if not fam.limits or censored or streamed is not None:
        return False
    moved = {k for lim in fam.limits for k in (*lim.at, *(fam.params if lim.prepare else ()))}
    return not (moved & set(fixed))


def check(fam, x, w, fixed, loglik, converged, fit_limit):
    """Examine each limit of ``fam`` for data ``x`` (weights ``w`` or ``None``) given the
    search's result (``loglik``, ``converged``). ``fit_limit(family, x, w, fixed)`` fits the
    limiting model. Returns the :class:`Verdict` of the limit the data reach, else of the
    first limit (interior), or ``None`` if the family has none.

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> f = thetahat.fit(np.random.default_rng(0).normal(0, 1, 150), "t")
    >>> f.boundary, f.converged
    ({'df': inf}, True)
    """
    x = np.asarray(x, dtype=float)
    w1 = np.ones(x.shape[0]) if w is None else np.asarray(w, dtype=float)
    verdicts = []
    for lim in fam.limits:
        xl, extra = lim.prepare(x) if lim.prepare is not None else (x, {})
        # known values pass through; a kept parameter held fixed is held in the limiting model too
        fixed_l = {**{k: fixed[k] for k in lim.known}, **{lim.keep[k]: fixed[k] for k in lim.keep if k in fixed}}
        lf = fit_limit(lim.family, xl, w, fixed_l)
        margin = HIGHER_TOL * max(1.0, abs(lf.loglik))
        higher = converged and np.isfinite(loglik) and loglik > lf.loglik + margin
        if lim.score is None:  # a non-regular limit: the likelihoods alone decide, with the same margin
            slope = np.nan
            on_boundary = not (np.isfinite(loglik) and loglik > lf.loglik + margin)
        else:
            slope = float(lim.score(x, w1, {**lf.params, **{k: float(fixed[k]) for k in lim.known}}))
            on_boundary = slope <= SLOPE_TOL * float(w1.sum()) and not higher
        verdicts.append(Verdict(lim, lf, slope, on_boundary, extra))
    if not verdicts:
        return None
    reached = [v for v in verdicts if v.on_boundary]
    return max(reached, key=lambda v: v.fit.loglik) if reached else verdicts[0]


def limit_test(fam, verdict, loglik_full, n_full):
    """The likelihood-ratio test of the limiting model within the family ``fam``, with the χ̄²
    p-value of a restriction on the boundary (½χ²(df-1) + ½χ²(df)); ``None`` for a non-regular
    limit (the skew normal's half-normal, whose location is a sample extreme), where neither
    Wilks nor Chernoff applies."""
    if verdict.limit.score is None:
        return None
    lf = verdict.fit
    df = max(1, int(n_full) - int(lf.n_estimated))
    ll_r = float(lf.loglik)
    ll_f = max(float(loglik_full), ll_r)
    stat = max(0.0, 2.0 * (ll_f - ll_r))
    where = ", ".join(f"{k} = {v:g}" for k, v in verdict.limit.at.items())
    note = (f"{lf.family.name} is the limit {where}, on the boundary of the parameter space: the p-value is from "
            f"the mixture ½χ²({df - 1}) + ½χ²({df}) (Chernoff 1954, Self & Liang 1987)")
    return LRTResult(stat, df, float(chi_bar_pvalue(stat, df)), "chi-bar-squared mixture", note, ll_r, ll_f,
                     lf.family.name, fam.name, tuple(verdict.limit.at))


def boundary_parts(fam, verdict, fixed):
    """The estimates, standard errors, covariance and notes of a fit on the boundary: the
    limit's values for the parameters that reach it, the limiting model's estimates (and
    standard errors) for those that stay inside."""
    lim, lf = verdict.limit, verdict.fit
    params, se = {}, {}
    for k in fam.params:
        if k in fixed:
            continue
        if k in lim.at:
            params[k], se[k] = float(lim.at[k]), None
        elif k in verdict.extra:  # a sample extreme: no standard error
            params[k], se[k] = float(verdict.extra[k]), None
        else:
            params[k], se[k] = lf.params[lim.keep[k]], lf.se.get(lim.keep[k])
    for k, v in fixed.items():
        params[k] = float(np.asarray(v)) if np.ndim(v) == 0 else np.asarray(v)
    params = {k: params[k] for k in [*fam.params, *(k for k in fixed if k not in fam.params)]}
    kept = [k for k in fam.params if k in lim.keep and k not in fixed]
    cov, labels = None, ()
    if lf.cov is not None and kept:
        idx = [list(lf.cov_labels).index(lim.keep[k]) for k in kept]
        cov, labels = np.asarray(lf.cov)[np.ix_(idx, idx)], tuple(kept)
    where = ", ".join(f"{k} = {v:g}" for k, v in lim.at.items())
    inside = (f"{', '.join(kept)} {'is' if len(kept) == 1 else 'are'} the {lf.family.name} MLE, with "
              f"{'its' if len(kept) == 1 else 'their'} standard errors from the {lf.family.name} model"
              if kept else f"the {lf.family.name} fit is {_describe(lf)}")
    notes = [f"boundary estimate: {where}; {inside} (fit.limit holds the {lf.family.name} fit)"]
    notes.extend(f"{k} = {float(v):.6g} is a sample extreme (non-regular): no standard error"
                 for k, v in verdict.extra.items())
    notes.extend(n for n in lf.notes)
    return params, se, cov, labels, notes


def interior_note(verdict, test) -> str:
    """A note for an interior fit: the test against the limiting model."""
    return (f"likelihood-ratio test against the limiting {verdict.fit.family.name} model: LR {test.statistic:.4g}, "
            f"p-value {test.pvalue:.4g} ({test.distribution})")


def _describe(f) -> str:
    parts = []
    for k in f.estimated:
        se = f.se.get(k)
        parts.append(f"{k} = {f.params[k]:.6g}" + ("" if se is None else f" (SE {se:.3g})"))
    return ", ".join(parts)
