"""Confidence intervals of a fit by three methods, and the container that reports them."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from .._jax import x64, x64_methods
from ..errors import OptionError

METHODS = ("wald", "profile", "bootstrap")


@x64_methods
class Intervals(dict):
    """``{name: (lo, hi)}`` (``None`` where an interval does not apply), plus how it was made.

    Attributes
    ----------
    method, level : str, float
    notes : list of str
        One-sided profiles, excluded bootstrap refits, parameters without intervals.
    n_failed : int or None
        Bootstrap refits that did not converge (excluded).
    """

    def __init__(self, items=(), *, method="wald", level=0.95, notes=(), n_failed=None, n_boot=None):
        super().__init__(items)
        self.method, self.level, self.notes = method, level, list(notes)
        self.n_failed, self.n_boot = n_failed, n_boot


def check_level(level):
    if not 0 < level < 1:
        raise OptionError(f"confidence level must be between 0 and 1, got {level}")


def wald(fit, level):
    """est ± z·se for each estimated parameter; withheld (``None``, with a note pointing to the
    profile interval) where it would leave the parameter's space."""
    z = NormalDist().inv_cdf(0.5 + level / 2)
    out, notes = {}, []
    for k in fit.estimated:
        s = fit.se.get(k)
        if s is None:
            out[k] = None
            notes.append(f"{k}: no standard error, so no Wald interval"
                         + (f" ({k} = {float(fit.params[k]):g} is a limit of its space)" if k in fit.boundary else ""))
            continue
        est = np.asarray(fit.params[k], dtype=float)
        lo, hi = est - z * np.asarray(s), est + z * np.asarray(s)
        space = fit.family.params.get(k)
        if space is not None and not _inside_space(space, lo, hi):
            out[k] = None
            notes.append(f"{k}: the Wald interval ({_fmt(lo)}, {_fmt(hi)}) leaves the parameter space "
                         f"({space.name}), so it is withheld; use confint(method='profile')")
            continue
        out[k] = (float(lo), float(hi)) if np.ndim(est) == 0 else (lo, hi)
    return Intervals(out, method="wald", level=level, notes=notes)


def _inside_space(space, lo, hi) -> bool:
    """Whether every entry of [lo, hi] lies in the constraint's open space (a positive
    parameter's interval above 0, a probability's inside (0, 1))."""
    lower, upper = getattr(space, "lower", None), getattr(space, "upper", None)
    if space.name == "simplex":
        lower, upper = 0.0, 1.0
    ok = True
    if lower is not None:
        ok = ok and bool(np.all(lo > lower) if not getattr(space, "inclusive", False) else np.all(lo >= lower))
    if upper is not None:
        ok = ok and bool(np.all(hi < upper))
    return ok


def _fmt(v):
    a = np.asarray(v, dtype=float)
    return f"{float(a):.4g}" if a.ndim == 0 else np.array2string(a, precision=4)


@x64
def profile(fit, level):
    from .profile import limit_interval, profile_interval

    out, notes = {}, []
    inside = _kept(fit)
    for k in fit.estimated:
        if k in fit.boundary:
            lo, hi, nk = limit_interval(fit, k, level)
            out[k] = (lo, hi)
            notes.extend(nk)
            continue
        if fit.boundary and k not in inside:  # a sample extreme of a non-regular limit (skew normal's loc)
            out[k] = None
            notes.append(f"{k}: no profile interval (a sample extreme of the limiting model: non-regular)")
            continue
        if k in inside:  # a boundary fit: the limiting model's profile
            lo, hi, nk = profile_interval(fit.limit, inside[k], level)
            out[k] = (lo, hi)
            notes.extend(nk + [f"{k}: the profile interval of {inside[k]} in the limiting {fit.limit.family.name} "
                               "model"])
            continue
        if np.ndim(fit.params[k]) or k in fit.family.nonregular:
            out[k] = None
            notes.append(f"{k}: no profile interval ({'not a scalar' if np.ndim(fit.params[k]) else 'non-regular'})")
            continue
        lo, hi, nk = profile_interval(fit, k, level)
        out[k] = (lo, hi)
        notes.extend(nk)
    return Intervals(out, method="profile", level=level, notes=notes)


def _kept(fit):
    """For a fit on the boundary: {parameter: the limiting family's} of those that stay inside."""
    if not fit.boundary:
        return {}
    for lim in fit.family.limits:
        if lim.family == fit.limit.family.name and set(lim.at) == set(fit.boundary):
            return dict(lim.keep)
    return {}


@x64
def bootstrap(fit, level, *, n_boot=2000, kind="parametric", interval="studentized", seed=0, progress=None,
              replicates=None):
    from . import bootstrap as bs

    if interval not in bs.INTERVALS:
        raise OptionError(f"unknown bootstrap interval {interval!r}; choose studentized, percentile or bca")
    b = replicates or bs.bootstrap(fit, n_boot=n_boot, kind=kind, seed=seed, progress=progress)
    notes = []
    if b.n_failed:
        notes.append(f"{b.n_failed} of {b.n_boot} bootstrap refits did not converge and were excluded")
    jk = bs.jackknife(fit) if interval == "bca" else None
    out = {}
    slots = {s.name: s for s in fit.context.layout.slots}
    for k in fit.estimated:
        v = b.replicates[k]
        if interval == "studentized":
            if np.ndim(fit.params[k]) or fit.se.get(k) is None:
                out[k] = None
                notes.append(f"{k}: no studentized interval (needs a scalar parameter with a standard error)")
                continue
            lo, hi = bs.studentized_interval(v, b.se_replicates[k], float(fit.params[k]), float(fit.se[k]),
                                             slots[k].constraint, level)
        elif interval == "bca":
            lo, hi = bs.bca_interval(v, np.asarray(fit.params[k], dtype=float), jk[k], level)
        else:
            lo, hi = bs.percentile_interval(v, level)
        out[k] = (float(lo), float(hi)) if np.ndim(lo) == 0 else (lo, hi)
    return Intervals(out, method=f"bootstrap ({b.kind}, {interval})", level=level, notes=notes,
                     n_failed=b.n_failed, n_boot=b.n_boot)
