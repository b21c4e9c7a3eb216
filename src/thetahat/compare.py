"""``thetahat.compare``: fit several families to one sample and rank them by AIC."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType

import numpy as np

from ._jax import x64, x64_methods
from .censoring import as_bounds
from .scale.arrays import as_float_array, as_weights
from .errors import OptionError, DataError, ThetahatError
from .families import all_families, get_family
from .fitting.api import fit
from .result import Fit, boundary_text

OK, NOT_CONVERGED, NOT_IDENTIFIABLE, FAILED = "ok", "not converged", "not identifiable", "failed"


@x64_methods
@dataclass(frozen=True)
class Comparison:
    """Families fitted to one sample, ranked by AIC.

    Attributes
    ----------
    table : list of dict
        One row per fitted family, best first: ``rank``, ``family``, ``status``
        (``"ok"``, ``"not converged"`` or ``"failed"``), ``reason`` (one line),
        ``loglik``, ``k`` (number of estimated parameters), ``aic``, ``bic``,
        ``delta_aic`` (AIC minus the best AIC), ``akaike_weight``, ``params``,
        ``converged``. Families that failed or did not converge come last.
        ``pandas.DataFrame(cmp.table)`` turns it into a data frame.
    best : Fit or None
        The fit with the lowest AIC among those that converged.
    fits : mapping of str to Fit
        Every fit that produced an estimate, by family name.
    skipped : mapping of str to str
        Families not fitted, each with the reason (data outside the support, a known
        value such as binomial ``n`` that was not given, multivariate, ...).
    nobs : float
    dropped : int
        Rows with NaN dropped (``dropna=True``).
    notes : tuple of str
        Caveats, e.g. discrete and continuous families ranked together.
    """

    rows: tuple
    fits: MappingProxyType
    skipped: MappingProxyType
    nobs: float
    dropped: int = 0
    notes: tuple = ()
    _best: str | None = field(default=None, repr=False)

    @property
    def table(self) -> list:
        return [dict(r, params=dict(r["params"]) if r["params"] is not None else None) for r in self.rows]

    @property
    def best(self) -> Fit | None:
        return None if self._best is None else self.fits[self._best]

    def to_dict(self) -> dict:
        """A JSON-ready dict: ``table``, ``best`` (a family name), ``skipped``, ``nobs``, ``dropped``."""
        return {"best": self._best, "table": [_json_row(r) for r in self.table], "skipped": dict(self.skipped),
                "nobs": _num(self.nobs), "dropped": int(self.dropped), "notes": list(self.notes)}

    def summary(self) -> str:
        """A plain-text table, best first, with skipped families listed below it."""
        head = f"{'rank':>4}  {'family':<22}{'k':>3}{'loglik':>15}{'AIC':>14}{'BIC':>14}{'dAIC':>11}  status"
        lines = [f"Comparison of {len(self.rows)} families on {_num(self.nobs)} observations"
                 + (f" ({self.dropped} rows with NaN dropped)" if self.dropped else ""), "=" * len(head), head,
                 "-" * len(head)]
        for r in self.rows:
            f = (lambda v, w, p: f"{'n/a':>{w}}" if v is None else f"{v:>{w}.{p}f}")
            status = r["status"] if r["status"] == OK else f"{r['status']}: {r['reason']}"
            if r["boundary"]:
                status += f" (boundary: {boundary_text(r['boundary'])})"
            k = "" if r["k"] is None else str(r["k"])
            rank = "" if r["rank"] is None else str(r["rank"])
            lines.append(f"{rank:>4}  {r['family']:<22}{k:>3}{f(r['loglik'], 15, 4)}{f(r['aic'], 14, 4)}"
                         f"{f(r['bic'], 14, 4)}{f(r['delta_aic'], 11, 4)}  {status}")
        lines.append("=" * len(head))
        for name, why in self.skipped.items():
            lines.append(f"skipped {name}: {why}")
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<Comparison of {len(self.rows)} families, best={self._best}>"


@x64
def compare(data, families=None, *, dropna=False, weights=None, weight_kind="frequency", event=None, lower=None,
            upper=None, truncate=None, gof=False, n_boot=199, seed=0) -> Comparison:
    """Fit several families to the same data and rank them by AIC.

    The data are checked once (numbers, finite, NaN dropped with ``dropna``); each
    family's support is then checked and families whose support does not contain
    the data are skipped, with the reason, rather than fitted.

    A density and a probability mass are not on the same scale, so their AICs do not
    compare. By default only one kind is fitted: discrete families when the data
    look like counts or labels (all integers, at most 50 distinct values), else
    continuous ones. Naming families explicitly fits exactly those (with a note
    when the two kinds are mixed).

    Parameters
    ----------
    data : array_like
        A 1-D sample.
    families : list, optional
        Family names, :class:`Family` objects, or ``(name, fixed)`` pairs for families
        that need known values (``("binomial", {"n": 10})``). Default: every
        registered univariate family; those needing known values are skipped.
    dropna : bool
        Drop rows with NaN (counted in ``Comparison.dropped``) instead of raising.
    weights : array_like, optional
        Weights, one per observation.
    weight_kind, event, lower, upper, truncate
        Weighted, censored or truncated data, as in :func:`thetahat.fit`; every family is
        fitted, and (with ``gof``) tested, under the same design. With ``lower`` and
        ``upper``, pass ``data=None``.
    gof : bool
        Add tests of fit to every converged row: ``row["gof"]`` maps each test
        (``ks``, ``ad``, ``cvm`` for continuous families, ``chi2`` for discrete ones) to
        its ``statistic`` and ``pvalue`` (parametric bootstrap with ``n_boot`` refits,
        seeded by ``seed``; see :meth:`Fit.gof`). ``None`` where a row has no tests, with
        the reason in ``notes``.
    n_boot, seed : int
        Bootstrap refits per family and their seed (with ``gof``).

    Returns
    -------
    Comparison

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> x = np.random.default_rng(1).lognormal(0.5, 0.8, size=500)
    >>> cmp = thetahat.compare(x, ["normal", "lognormal"])
    >>> cmp.best.family.name
    'lognormal'
    >>> row = cmp.table[0]
    >>> bool(np.isclose(row["aic"], -2 * row["loglik"] + 2 * row["k"]))
    True
    """
    design = {k: v for k, v in (("event", event), ("lower", lower), ("upper", upper), ("truncate", truncate))
              if v is not None}
    x, w, dropped, nobs = _sample(data, weights, weight_kind, design, dropna)
    if design:
        design["dropna"] = dropna  # for the fits, which see the full design
    entries = _entries(families)
    discrete = None if families is not None else _looks_discrete(x)
    notes = []
    fit_one = partial(_try_fit, data=data, x=x, w=w, weights=weights, weight_kind=weight_kind, design=design)
    tests_of_fit = partial(_gof_columns, n_boot=n_boot, seed=seed, notes=notes) if gof else None
    fits, rows, skipped, errors = _fit_each(entries, x, nobs, discrete, fit_one, tests_of_fit)
    _check_fitted(rows, skipped, errors)
    kinds = {fam.discrete for fam, _ in entries if fam.name in fits}
    if len(kinds) == 2:
        notes.append("discrete and continuous families are ranked together: a probability mass and a density "
                     "are on different scales, so their AICs are not comparable")
    return _rank(rows, fits, skipped, nobs, dropped, tuple(notes))


def _fit_each(entries, x, nobs, discrete, fit_one, tests_of_fit):
    """``(fits, rows, skipped, errors)``: each ``(family, fixed)`` entry skipped with its reason
    (:func:`_skip_reason`) or fitted by ``fit_one`` (:func:`_try_fit`); ``tests_of_fit``, when
    given, adds the ``gof`` column of each fit's row."""
    fits, rows, skipped, errors = {}, [], {}, []
    for fam, fixed in entries:
        why = _skip_reason(fam, fixed, x, nobs, discrete)
        if why is not None:
            skipped[fam.name] = why
            continue
        f, row, exc = fit_one(fam, fixed)
        if exc is not None:
            errors.append(exc)
        if f is not None:
            fits[fam.name] = f
            if tests_of_fit is not None:
                row["gof"] = tests_of_fit(f)
        rows.append(row)
    return fits, rows, skipped, errors


def _sample(data, weights, weight_kind, design, dropna):
    """``(x, w, dropped, nobs)``: the values the support checks see (with a censoring or
    truncation ``design``, the finite ends of its rows), the weights, the rows with NaN
    dropped, and the number of observations (the weights' sum for frequency weights)."""
    if design:
        x, dropped, nrows = _censored_rows(data, design, dropna)
        w = None if weights is None else as_weights(weights, nrows)
    else:
        x, w, dropped = _validate(data, weights, dropna)
        nrows = x.shape[0]
    nobs = float(nrows if w is None or weight_kind != "frequency" else w.sum())
    return x, w, dropped, nobs


def _try_fit(fam, fixed, data, x, w, weights, weight_kind, design):
    """``(fit, row, error)``: the family's fit and its table row; or no fit, a failed row, and
    the error when it was a :class:`ThetahatError` (the data or options refused)."""
    try:
        if design:
            f = fit(data, fam, fixed=fixed or None, weights=weights, weight_kind=weight_kind, **design)
        else:
            f = fit(x, fam, fixed=fixed or None, weights=w, weight_kind=weight_kind)
    except ThetahatError as exc:
        return None, _failed_row(fam, _one_line(exc)), exc
    except Exception as exc:  # a bug in one family must not sink the comparison
        return None, _failed_row(fam, f"{type(exc).__name__}: {_one_line(exc)}"), None
    return f, _fit_row(f), None


def _check_fitted(rows, skipped, errors):
    """An error when no family was fitted, or when every fit refused the data (then the
    first refusal is the user's error)."""
    if not rows:
        reasons = "; ".join(f"{k}: {v}" for k, v in skipped.items())
        raise DataError(f"no family could be fitted to these data ({reasons})")
    if errors and len(errors) == len(rows):
        raise errors[0]


# ---------------------------------------------------------------------------------
def _validate(data, weights, dropna):
    if weights is None:
        x, dropped = as_float_array(data, dropna=dropna)
        return x, None, dropped
    x, _ = as_float_array(data)
    return x, as_weights(weights, x.shape[0]), 0


def _censored_rows(data, design, dropna):
    """(values, dropped, rows): the observed values that decide which families can hold
    the data (the finite ends of censored rows), for the support checks; the fits
    themselves see the full design."""
    lo = design.get("lower")
    hi = design.get("upper")
    if lo is not None or hi is not None:
        if lo is None or hi is None:
            raise OptionError("interval censoring needs both lower and upper")
        # a missing bound (NaN, None) is an open end, as in fit
        lo, hi = as_bounds(lo, "lower"), as_bounds(hi, "upper")
        lo, hi = np.where(np.isnan(lo), -np.inf, lo), np.where(np.isnan(hi), np.inf, hi)
        if lo.shape != hi.shape:
            raise DataError(f"lower has {lo.shape[0]} rows and upper {hi.shape[0]}")
        # a value in (lo, hi]: hi where finite, else just above lo (lo itself may be the support's edge)
        both = np.where(np.isfinite(hi), hi, np.nextafter(lo, np.inf))
        both = both[np.isfinite(both)]
        if both.size == 0:
            raise DataError("every interval is unbounded on both sides: the data say nothing")
        return both, 0, lo.shape[0]
    x, dropped = as_float_array(data, dropna=dropna)
    return x, dropped, x.shape[0] + dropped


def _entries(families):
    if families is None:
        return [(f, {}) for f in all_families()]
    if isinstance(families, (str, bytes)):
        families = [families]
    out, seen = [], set()
    for item in families:
        if isinstance(item, tuple):
            name, fixed = item
        else:
            name, fixed = item, {}
        fam = get_family(name)
        if fam.name not in seen:
            seen.add(fam.name)
            out.append((fam, dict(fixed or {})))
    return out


MAX_LEVELS = 50  # integer data with at most this many distinct values are treated as counts


def _looks_discrete(x) -> bool:
    return bool(np.all(x == np.round(x))) and np.unique(x).size <= MAX_LEVELS


def _skip_reason(fam, fixed, x, nobs, discrete):
    if fam.ndim != 0:
        return "multivariate (needs several columns)"
    if discrete is not None and fam.discrete != discrete:
        if discrete:
            return ("continuous family; the data look discrete (integers, at most "
                    f"{MAX_LEVELS} distinct values) -- name it in families= to fit it anyway")
        return "discrete family; the data look continuous -- name it in families= to fit it anyway"
    need = [k for k, v in fam.known.items() if v is None and k not in fixed]
    if need:
        return f"needs the known value of {', '.join(map(repr, need))} (pass (name, {{{need[0]!r}: ...}}))"
    if nobs < fam.min_obs:
        return f"needs at least {fam.min_obs} observations"
    try:
        fam.check_support(x, fixed)
    except ThetahatError as exc:
        return _one_line(exc)
    return None


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _finite(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _params(f):
    out = {}
    for k, v in f.params.items():
        a = np.asarray(v, dtype=float)
        out[k] = float(a) if a.ndim == 0 else a.tolist()
    return MappingProxyType(out)


def _fit_row(f: Fit) -> dict:
    ok = f.converged and math.isfinite(f.loglik)
    status, reason = (OK if ok else NOT_CONVERGED), f.reason
    if f.n_estimated > f.nobs:
        status = NOT_IDENTIFIABLE
        reason = f"{f.n_estimated} parameters from {_num(f.nobs)} observations"
    return {"rank": None, "family": f.family.name, "status": status,
            "reason": reason, "loglik": _finite(f.loglik), "k": int(f.n_estimated), "aic": _finite(f.aic),
            "bic": _finite(f.bic), "delta_aic": None, "akaike_weight": None, "params": _params(f),
            "converged": bool(f.converged), "boundary": MappingProxyType(dict(f.boundary))}


def _gof_columns(f, n_boot, seed, notes):
    """{test: {"statistic", "pvalue"}} of a converged fit; None (and a note) otherwise."""
    if not f.converged:
        return None
    try:
        r = f.gof(n_boot=n_boot, seed=seed)
    except ThetahatError as exc:
        notes.append(f"no test of fit for {f.family.name}: {_one_line(exc)}")
        return None
    return {row["test"]: {"statistic": _finite(row["statistic"]),
                          "pvalue": None if row["pvalue"] is None else float(row["pvalue"])} for row in r.table}


def _failed_row(fam, reason) -> dict:
    return {"rank": None, "family": fam.name, "status": FAILED, "reason": reason, "loglik": None, "k": None,
            "aic": None, "bic": None, "delta_aic": None, "akaike_weight": None, "params": None,
            "converged": False, "boundary": MappingProxyType({})}


def _rank(rows, fits, skipped, nobs, dropped, notes=()):
    order = {OK: 0, NOT_CONVERGED: 1, NOT_IDENTIFIABLE: 2, FAILED: 3}
    rows.sort(key=lambda r: (order[r["status"]], math.inf if r["aic"] is None else r["aic"], r["family"]))
    good = [r for r in rows if r["status"] == OK and r["aic"] is not None]
    best = good[0]["aic"] if good else None
    if good:
        rel = np.array([r["aic"] - best for r in good])
        wts = np.exp(-0.5 * rel)
        wts /= wts.sum()
        for r, wt in zip(good, wts):
            r["akaike_weight"] = float(wt)
    out = []
    for i, r in enumerate(rows, start=1):
        r = dict(r, rank=i)
        if best is not None and r["aic"] is not None:
            r["delta_aic"] = r["aic"] - best
        out.append(MappingProxyType(r))
    return Comparison(rows=tuple(out), fits=MappingProxyType(fits), skipped=MappingProxyType(skipped),
                      nobs=nobs, dropped=dropped, notes=notes, _best=good[0]["family"] if good else None)


def _num(v):
    return int(v) if float(v) == int(v) else float(v)





def _json_row(r):
    out = {k: (dict(v) if isinstance(v, MappingProxyType) else v) for k, v in r.items()}
    out["boundary"] = {k: f"{float(v):g}" for k, v in r["boundary"].items()}  # JSON has no infinity
    return out
