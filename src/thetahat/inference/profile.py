"""Profile likelihoods: of a parameter (the others re-optimised) and of a function g(θ).

The profile interval at level ``1 - α`` is ``{t : 2 (ℓ̂ - ℓ_p(t)) <= χ²_{1, 1-α}}``. Its ends
are found as roots of ``D(t) = 2 (ℓ̂ - ℓ_p(t)) - χ²`` by bracketing outward from the
estimate in steps of the Wald standard error (in the parameter's unconstrained
coordinate, so a positive parameter is never stepped below zero) and then Brent's
method. Every evaluation of ``ℓ_p`` warm-starts from the nearest point already solved.

* A parameter's profile fixes it and maximises over the rest with the damped Newton of
  the core engine.
* A function's profile maximises ``ℓ(θ)`` subject to ``g(θ) = c`` by Newton's method on
  the Lagrange (KKT) system, with exact autodiff derivatives of ``ℓ`` and ``g``.

When the profile never falls to the cutoff on one side (the parameter's bound or an
unbounded direction comes first), that side of the interval is open: the end is the
bound of the parameter space and a note says so, instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import optimize as sopt
from scipy import stats as sst

from .._jax import jax, jnp, x64, x64_methods
from .. import constraints as C
from ..engine.solvers import BFGS, Newton
from ..engine.layout import Layout
from ..errors import OptionError

U_LIMIT = 30.0  # how far along an unconstrained coordinate the search may go


@x64_methods
@dataclass(frozen=True)
class Profile:
    """A profile log-likelihood curve with its interval.

    Attributes
    ----------
    name : str
    values : numpy.ndarray
        Parameter (or function) values on the grid.
    loglik : numpy.ndarray
        The profile log-likelihood at each value.
    estimate, loglik_max : float
    interval : tuple
        The profile interval at ``level``; an open side holds the bound.
    level : float
    notes : tuple
    """

    name: str
    values: np.ndarray
    loglik: np.ndarray
    estimate: float
    loglik_max: float
    interval: tuple
    level: float
    notes: tuple = field(default_factory=tuple)

    @property
    def deviance(self) -> np.ndarray:
        """``2 (ℓ̂ - ℓ_p)``: χ²₁-distributed at the true value, asymptotically."""
        return 2.0 * (self.loglik_max - self.loglik)

    @property
    def cutoff(self) -> float:
        return float(sst.chi2.ppf(self.level, 1))


class _Scalar:
    """The profile of one free scalar parameter."""

    def __init__(self, fit, name):
        ctx = _context(fit)
        lay = ctx.layout
        if name not in lay.names:
            why = "is fixed" if name in fit.params else "is not a parameter"
            raise OptionError(f"{name!r} {why} of this {fit.family.name} fit: nothing to profile")
        slot = lay.slots[lay.names.index(name)]
        if slot.shape:
            raise OptionError(f"{name!r} is not a scalar parameter: profile one entry through "
                              "Fit.transform(lambda p: p[...][i])")
        if name in fit.family.nonregular:
            raise OptionError(f"{name!r} is a non-regular parameter (its MLE is a sample extreme): the χ² "
                              "calibration of the profile likelihood does not hold for it")
        self.fit, self.ctx, self.name, self.con = fit, ctx, name, slot.constraint
        others = [k for k in lay.names if k != name]
        self.layout = Layout.build(ctx.family, {s.name: s.shape for s in lay.slots}, others) if others else None
        self.s_hat = float(np.asarray(self.con.inverse(fit.params[name])))
        full_u = lay.to_unconstrained({k: np.asarray(fit.params[k]) for k in lay.names})
        self.u_hat = None if self.layout is None else np.concatenate(
            [full_u[s.start:s.start + s.usize] for s in lay.slots if s.name != name])
        se = fit.se.get(name)
        jac = float(jax.grad(lambda s: self.con.forward(s))(jnp.asarray(self.s_hat)))
        self.step = float(se / abs(jac)) if se is not None and jac != 0 and np.isfinite(se) else 0.5
        # a log or logit coordinate (positive, interval), where |u| <= U_LIMIT bounds the search
        self.bounded_coordinate = not isinstance(self.con, type(C.real))
        if self.bounded_coordinate:
            # in a log or logit coordinate a Wald SE beyond one unit says only that the curve is flat
            # (a t's df near infinity: 788 units); steps that large leave the warm starts far behind
            self.step = min(self.step, 1.0)
        self.solved = {self.s_hat: (fit.loglik, self.u_hat)}

    def value_at(self, s):
        return float(self.con.forward(jnp.asarray(s)))

    def loglik(self, s):
        t = self.value_at(s)
        if self.layout is None:
            obj = self.ctx.objective(Layout(()), {**self.ctx.fixed, self.name: np.asarray(t)})
            return float(obj.loglik_theta({})), None
        near = min(self.solved, key=lambda k: abs(k - s))
        u0 = self.solved[near][1]
        obj = self.ctx.objective(self.layout, {**self.ctx.fixed, self.name: np.asarray(t)})
        res = Newton().run(obj, u0)
        if not res.converged:
            res2 = BFGS().run(obj, res.u if np.isfinite(res.loglik) else u0)
            res = res2 if res2.loglik >= res.loglik else res
        return float(res.loglik), res.u

    def bound(self, side):
        c = self.con
        if isinstance(c, C.GreaterThan):
            return c.lower if side < 0 else np.inf
        if isinstance(c, C.Interval):
            return c.lower if side < 0 else c.upper
        return -np.inf if side < 0 else np.inf


class _AtLimit(_Scalar):
    """The profile of a parameter whose estimate is a limit of its space (``Fit.boundary``:
    a t's df = inf). The interval is open on the limit's side; its other end is searched for
    inward from ``EDGE`` units of the log or logit coordinate, next to the limit (df = 1e8),
    with the other parameters re-optimised from the family's own start."""

    EDGE = float(np.log(1e8))

    def __init__(self, fit, name):
        ctx = _context(fit)
        lay = ctx.layout
        slot = lay.slots[lay.names.index(name)]
        self.fit, self.ctx, self.name, self.con = fit, ctx, name, slot.constraint
        self.side = 1.0 if float(np.asarray(self.con.inverse(fit.boundary[name]))) > 0 else -1.0
        others = [k for k in lay.names if k != name]
        self.layout = Layout.build(ctx.family, {s.name: s.shape for s in lay.slots}, others) if others else None
        self.bounded_coordinate, self.step, self.s_hat = True, 1.0, self.side * self.EDGE
        self.solved = {}
        if self.layout is not None:
            raw = ctx.raw
            w = np.ones(raw.x.shape[0]) if raw.w is None else raw.w
            start = ctx.family.start(raw.x, w)
            u0 = self.layout.to_unconstrained({k: np.asarray(start[k], dtype=float) for k in others})
            self.solved = {self.s_hat + self.side: (np.nan, u0)}  # a seed for the warm starts


@x64
def limit_interval(fit, name, level=0.95):
    """The profile interval of a parameter at a limit of its space: ``(lo, hi, notes)``,
    open on the limit's side."""
    prof = _AtLimit(fit, name)
    q = float(sst.chi2.ppf(level, 1))

    def D(s):
        ll, state = prof.loglik(s)
        if state is not None:
            prof.solved[s] = (ll, state)
        return 2.0 * (fit.loglik - ll) - q if np.isfinite(ll) else np.inf

    limit = float(fit.boundary[name])
    notes = [f"the profile of {name} stays above the {level:.0%} cutoff all the way to its limit "
             f"{name} = {limit:g}: the {'upper' if prof.side > 0 else 'lower'} side of the interval is open"]
    prev, end = prof.s_hat, None
    for k in range(1, int(2 * U_LIMIT) + 1):
        s = prof.s_hat - prof.side * k * prof.step
        if abs(s) > U_LIMIT:
            notes.append(f"the profile of {name} does not fall to the {level:.0%} cutoff on the "
                         f"{'lower' if prof.side > 0 else 'upper'} side either: the interval is open there")
            end = prof.bound(-prof.side)
            break
        if D(s) >= 0:
            root = sopt.brentq(D, min(prev, s), max(prev, s), xtol=1e-12 * (1 + abs(s)), rtol=1e-12, maxiter=200)
            end = prof.value_at(root)
            break
        prev = s
    lo, hi = sorted((end, limit))
    return float(lo), float(hi), notes


class _Function:
    """The profile of g(θ), by Newton on the KKT system of max ℓ s.t. g = c."""

    def __init__(self, fit, g, name):
        ctx = _context(fit)
        self.fit, self.ctx, self.name = fit, ctx, name
        self.layout = ctx.layout
        self.obj = ctx.objective()
        self.gfun = _g_functions(self.layout, g, _frozen(ctx.fixed))
        self.u_hat = self.layout.to_unconstrained({k: np.asarray(fit.params[k]) for k in self.layout.names})
        self.g_hat = float(self.gfun[0](jnp.asarray(self.u_hat)))
        self.con = None
        self.bounded_coordinate = False
        self.s_hat = self.g_hat
        self.step = None
        self.solved = {self.g_hat: (fit.loglik, (self.u_hat, 0.0))}

    def value_at(self, s):
        return float(s)

    def loglik(self, c):
        near = min(self.solved, key=lambda k: abs(k - c))
        u, lam = self.solved[near][1]
        gval, ggrad, ghess = self.gfun
        u = np.array(u, dtype=float)
        v, gl, H = self.obj.derivs(u)
        scale = 1.0 + abs(c)
        for _ in range(100):
            cval = float(gval(jnp.asarray(u))) - c
            a = np.asarray(ggrad(jnp.asarray(u)))
            Cm = np.asarray(ghess(jnp.asarray(u)))
            F = np.concatenate([gl - lam * a, [cval]])
            if np.max(np.abs(F[:-1])) < 1e-9 * max(1.0, abs(v)) ** 0.5 and abs(cval) < 1e-12 * scale:
                return float(v), (u, lam)
            k = u.size
            K = np.zeros((k + 1, k + 1))
            K[:k, :k] = H - lam * Cm
            K[:k, k] = -a
            K[k, :k] = a
            try:
                d = np.linalg.solve(K, -F)
            except np.linalg.LinAlgError:
                break
            du, dlam = d[:k], d[k]
            big = np.max(np.abs(du))
            if big > 5.0:
                du, dlam = du * (5.0 / big), dlam * (5.0 / big)
            norm0 = np.linalg.norm(F)
            t = 1.0
            for _ in range(30):
                u2, lam2 = u + t * du, lam + t * dlam
                v2, gl2, H2 = self.obj.derivs(u2)
                if np.isfinite(v2):
                    c2 = float(gval(jnp.asarray(u2))) - c
                    F2 = np.concatenate([gl2 - lam2 * np.asarray(ggrad(jnp.asarray(u2))), [c2]])
                    if np.linalg.norm(F2) <= (1 - 1e-4 * t) * norm0 or norm0 < 1e-8:
                        break
                t /= 2
            else:
                break
            u, lam, v, gl, H = u2, lam2, v2, gl2, H2
        return np.nan, None

    def bound(self, side):
        return -np.inf if side < 0 else np.inf


def _context(fit):
    ctx = getattr(fit, "context", None)
    if ctx is None:
        raise OptionError("this fit carries no data (it was not made by thetahat.fit): it cannot be profiled")
    if not fit.converged:
        raise OptionError("the fit did not converge: a profile needs the maximum")
    return ctx


def _frozen(fixed):
    return tuple(sorted((k, tuple(np.ravel(np.asarray(v, dtype=float)).tolist()), np.shape(v))
                        for k, v in fixed.items()))


@lru_cache(maxsize=64)
def _g_functions(layout, g, fixed_key):
    fixed = {k: jnp.asarray(np.array(vals).reshape(shape)) for k, vals, shape in fixed_key}

    def gu(u):
        return jnp.asarray(g({**fixed, **layout.to_params(u)}), dtype=jnp.float64).reshape(())

    return jax.jit(gu), jax.jit(jax.grad(gu)), jax.jit(jax.hessian(gu))


# ---- the interval ----------------------------------------------------------------
def interval(prof, level: float):
    """(lo, hi, notes) of the profile interval of a _Scalar or _Function."""
    q = float(sst.chi2.ppf(level, 1))
    lmax = prof.fit.loglik
    notes = []

    def D(s):
        ll, state = prof.loglik(s)
        if state is not None:
            prof.solved[s] = (ll, state)
        return 2.0 * (lmax - ll) - q if np.isfinite(ll) else np.inf

    step = prof.step if prof.step is not None else _function_step(prof)
    ends = []
    for side in (-1, 1):
        prev, k, end = prof.s_hat, 1.0, None
        while True:
            s = prof.s_hat + side * k * step
            # (only a log or logit coordinate has a last point worth looking at: there |u| > 30 is a
            # factor of 1e13 or 1e-13 from the boundary, where the likelihood itself is no longer
            # computed reliably -- a negative binomial's r near 1e13 gave spurious roots; a real
            # parameter's coordinate is the parameter, and 30 means nothing for it)
            if prof.bounded_coordinate and abs(s) > U_LIMIT:
                b = prof.bound(side)
                notes.append(f"the profile of {prof.name} stays above the {level:.0%} cutoff all the way to "
                             f"{'its lower' if side < 0 else 'its upper'} bound: that side of the interval is "
                             f"open (end = {b:g})")
                end = b
                break
            if k > 1e4:
                notes.append(f"the profile of {prof.name} does not fall to the {level:.0%} cutoff on the "
                             f"{'lower' if side < 0 else 'upper'} side: the interval is open there")
                end = prof.bound(side)
                break
            d = D(s)
            if d >= 0:
                root = sopt.brentq(D, min(prev, s), max(prev, s), xtol=1e-12 * (1 + abs(s)), rtol=1e-12,
                                   maxiter=200)
                end = prof.value_at(root)
                break
            prev, k = s, k * 2
        ends.append(end)
    lo, hi = sorted(ends)
    return float(lo), float(hi), notes


def _function_step(prof):
    """The delta-method SE of g, for the bracketing step."""
    fit = prof.fit
    if fit.cov is None:
        return 0.1 * (1 + abs(prof.g_hat))
    a = np.asarray(prof.gfun[1](jnp.asarray(prof.u_hat)))
    lay = prof.layout
    J = lay.jacobian(prof.u_hat)  # d theta_flat / du
    cov_u = np.linalg.pinv(J) @ fit.cov @ np.linalg.pinv(J).T
    var = float(a @ cov_u @ a)
    return np.sqrt(var) if var > 0 else 0.1 * (1 + abs(prof.g_hat))


@x64
def profile_interval(fit, name, level=0.95):
    """Profile interval of a scalar parameter: ``(lo, hi, notes)``."""
    return interval(_Scalar(fit, name), level)


@x64
def function_interval(fit, g, name="g", level=0.95):
    """Profile interval of ``g(params)``: ``(lo, hi, notes)``."""
    return interval(_Function(fit, g, name), level)


@x64
def profile_curve(fit, name, *, level=0.95, points=41, g=None):
    """The profile log-likelihood of ``name`` (or of ``g``) on a grid spanning a little
    more than its interval; returns a :class:`Profile`."""
    prof = _Function(fit, g, name) if g is not None else _Scalar(fit, name)
    lo, hi, notes = interval(prof, level)
    est = prof.value_at(prof.s_hat)
    span_lo = lo if np.isfinite(lo) else est - 4 * (hi - est)
    span_hi = hi if np.isfinite(hi) else est + 4 * (est - lo)
    pad = 0.25 * (span_hi - span_lo)
    a, b = span_lo - pad, span_hi + pad
    if prof.con is not None:  # stay inside the parameter space
        a = max(a, _inside(prof.bound(-1), est, lo))
        b = min(b, _inside(prof.bound(1), est, hi))
    values = np.linspace(a, b, points)
    ll = []
    for t in values:
        s = float(np.asarray(prof.con.inverse(t))) if prof.con is not None else t
        v, state = prof.loglik(s)
        if state is not None:
            prof.solved[s] = (v, state)
        ll.append(v)
    return Profile(name, values, np.asarray(ll), est, fit.loglik, (lo, hi), level, tuple(notes))


def _inside(bound, est, end):
    if not np.isfinite(bound):
        return -np.inf if bound < 0 else np.inf
    if bound == end:  # open side: approach the bound but stay off it
        return bound + 0.02 * (est - bound)
    return bound + 1e-9 * (est - bound)
