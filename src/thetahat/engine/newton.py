"""The damped Newton ascent of the estimation core.

Solve ``(A + mu I) s = g`` with ``A`` the negative Hessian (or the expected information,
for scoring) and raise ``mu`` until ``A + mu I`` is positive definite and the step is
uphill. Near the optimum ``mu`` drops to 0 and the iteration is pure Newton, converging
quadratically. A step never lowers the log-likelihood, so the trace is non-decreasing.

Examples
--------
>>> import numpy as np
>>> from thetahat.engine.newton import damped_newton
>>> class Poisson:  # log-likelihood of 7 events in one unit of time, rate e^u
...     def value(self, u): return float(7 * u[0] - np.exp(u[0]))
...     def derivs(self, u):
...         return self.value(u), np.array([7 - np.exp(u[0])]), np.array([[-np.exp(u[0])]])
>>> sol = damped_newton(Poisson(), np.zeros(1))
>>> round(float(np.exp(sol.u[0])), 10), sol.message
(7.0, 'converged: Newton decrement below tolerance')
"""

from __future__ import annotations

import numpy as np

from .solution import Result, Solution

QUADRATIC_MARGIN = 1e-6  # how far below rounding the predicted next decrement must lie to stop a step early
RADIUS = 20.0  # the trust region in u: never a step longer than this (a factor e^20)
DAMPED_TRIES = 60


def newton_step(g, A, mu, xp=np):
    """The damped Newton step ``(A + mu I)^-1 g``, and whether ``A + mu I`` is positive
    definite (where it is not, the step is not finite).

    Written once for both array libraries: NumPy in the loops that run on the host (a
    fit, a regression, a streamed model) and ``jax.numpy`` in the compiled ones (the
    vmapped batch of ``fit_many``, the bootstrap and studies; the mixture M-step).

    Examples
    --------
    >>> import numpy as np
    >>> s, ok = newton_step(np.array([1.0, 2.0]), np.diag([2.0, 4.0]), 0.0)
    >>> np.allclose(s, [0.5, 0.5]), bool(ok)
    (True, True)
    >>> bool(newton_step(np.ones(2), -np.eye(2), 0.0)[1])
    False
    """
    M = A + mu * xp.eye(A.shape[0]) if mu is not None else A
    if xp is np:
        L = cholesky(M)
        if L is None:
            return np.full_like(g, np.nan), False
        return solve_cholesky(L, g), True
    L = xp.linalg.cholesky(M)
    ok = xp.all(xp.isfinite(L))
    return xp.linalg.solve(L.T, xp.linalg.solve(L, g)), ok


def cholesky(m):
    """The lower Cholesky factor of ``m``, or None where ``m`` is not positive definite."""
    try:
        return np.linalg.cholesky(m)
    except np.linalg.LinAlgError:
        return None


def solve_cholesky(L, g):
    """``(L L')^-1 g``."""
    return np.linalg.solve(L.T, np.linalg.solve(L, g))


def cap(s, radius=RADIUS, xp=np):
    """The step ``s``, shortened to at most ``radius`` in its largest coordinate."""
    if xp is not np:
        big = xp.max(xp.abs(s))
        return xp.where(big > radius, s * (radius / big), s)
    big = np.max(np.abs(s)) if s.size else 0.0
    return s * (radius / big) if big > radius else s


def stationary(g, H) -> bool:
    """Whether the Newton decrement ``g' (-H)^+ g`` is below 1e-6 (a least-squares solve:
    it also answers for a singular Hessian)."""
    try:
        s = np.linalg.lstsq(-H, g, rcond=None)[0]
        return bool(abs(g @ s) < 1e-6)
    except np.linalg.LinAlgError:
        return False


class _Ascent:
    """The state of one damped Newton run: the point, its derivatives, the damping."""

    def __init__(self, obj, u0, max_iter, tol, information, method):
        self.obj, self.tol, self.information, self.method = obj, tol, information, method
        self.u = np.asarray(u0, dtype=float)
        self.v, self.g, self.H = obj.derivs(self.u)
        self.trace, self.path = [self.v], [self.u.copy()]
        self.mu, self.prev_dec = 0.0, None
        # the early last step costs ~1e-10 relative in the estimate: taken only where a pass over the
        # data is what an iteration costs (on sufficient statistics an iteration is O(1))
        self.early = bool(getattr(obj, "costly_passes", False))

    def done(self, it, result, message):
        return Solution(self.u, self.v, self.g, self.H, it, result, message, self.method, tuple(self.trace),
                        tuple(self.path))

    def rounding(self):
        return max(self.tol, 64 * np.finfo(float).eps * abs(self.v))

    def move(self, u, v, g, H):
        self.u, self.v, self.g, self.H = u, v, g, H
        self.trace.append(v)
        self.path.append(u.copy())

    def pure_step(self, it, s0):
        """The undamped Newton step ``s0``, tried with the derivative pass itself (which the
        next iteration needs anyway), so an accepted step costs one pass over the data. Returns
        a finished Solution, ``"next"`` (accepted, go on) or ``"damp"`` (rejected)."""
        s = cap(s0)
        # the decrement is the gain still to come; below the rounding of the value it cannot be seen.
        # Quadratic convergence predicts the next one from the last two, d_k^3 / d_(k-1)^2: when that
        # lies a million times below rounding, this step is made the last (the pass that would only
        # confirm convergence is saved, and the estimate is as exact as one more step would make it)
        dec, rounding, prev = float(self.g @ s), self.rounding(), self.prev_dec
        final = dec < rounding or (self.early and prev is not None and 0.0 < dec < prev
                                   and dec ** 3 < QUADRATIC_MARGIN * rounding * prev ** 2)
        self.prev_dec = dec
        v2, g2, H2 = self.obj.derivs(self.u + s)
        if np.isfinite(v2) and v2 >= self.v:
            self.move(self.u + s, v2, g2, H2)
            if final:
                return self.done(it, Result.CONVERGED, "converged: Newton decrement below tolerance")
            if np.max(np.abs(s)) < 1e-13 * (1 + np.max(np.abs(self.u))):
                ok = stationary(self.g, self.H)
                return self.done(it, Result.CONVERGED if ok else Result.NOT_STATIONARY,
                                 "converged: step below tolerance")
            return "next"
        if final:  # at the optimum up to rounding: the value cannot tell the last step apart,
            # the gradient can -- take the step when it shrinks the Newton decrement
            if np.isfinite(v2) and v2 >= self.v - 1e-12 * max(1.0, abs(self.v)) and self.information is None:
                s2, ok2 = newton_step(g2, -H2, None)
                if ok2 and float(g2 @ s2) < float(self.g @ s):
                    self.u, self.g, self.H = self.u + s, g2, H2  # v kept: the two values agree to rounding
                    self.path.append(self.u.copy())
            return self.done(it - 1, Result.CONVERGED, "converged: Newton decrement below tolerance")
        return "damp"

    def damped_step(self, A, s0, scale):
        """Raise ``mu`` until the damped step goes uphill, judged by the value alone (cheaper
        than a derivative pass; values are compared within one compiled function, which can
        differ from ``derivs``' in the last bit). Returns whether a step was taken."""
        v_ref = self.obj.value(self.u)
        for _ in range(DAMPED_TRIES):
            s, ok = (s0, s0 is not None) if self.mu == 0.0 else newton_step(self.g, A, self.mu)
            if not ok:
                self.mu = max(10 * self.mu, 1e-8 * scale)
                continue
            s = cap(s)
            v_new = self.obj.value(self.u + s)
            if np.isfinite(v_new) and v_new >= v_ref:
                self.move(self.u + s, *self.obj.derivs(self.u + s))
                return True
            self.mu = max(10 * self.mu, 1e-6 * scale)
        return False


def damped_newton(obj, u0, *, max_iter=200, tol=1e-10, information=None, method="newton") -> Solution:
    """Damped Newton (or, with ``information``, Fisher scoring) ascent of ``obj`` from ``u0``.

    Parameters
    ----------
    obj : object
        Answers ``value(u)`` and ``derivs(u) -> (value, gradient, Hessian)``; an attribute
        ``costly_passes`` (a streamed objective) allows the last step to be taken early.
    u0 : numpy.ndarray
    max_iter : int
    tol : float
        The Newton decrement below which the search has converged.
    information : callable, optional
        ``information(u)``, the expected information in ``u`` coordinates: when given, it
        replaces the negative Hessian in the step (Fisher scoring).
    method : str
        The name the Solution carries.

    Returns
    -------
    Solution
    """
    a = _Ascent(obj, u0, max_iter, tol, information, method)
    if not np.isfinite(a.v):
        return a.done(0, Result.NONFINITE_START, "the log-likelihood is not finite at the starting point")
    for it in range(1, max_iter + 1):
        A = information(a.u) if information is not None else -a.H
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(a.g))):
            return a.done(it - 1, Result.NONFINITE_DERIVATIVES, "non-finite gradient or Hessian at the current point")
        scale = max(1.0, float(np.max(np.abs(np.diag(A)))) if A.size else 1.0)
        s0, pd = newton_step(a.g, A, None)  # the pure Newton step (None where A is not positive definite)
        s0 = s0 if pd else None
        a.mu = a.mu / 10 if a.mu > 1e-12 * scale else 0.0
        if a.mu > 0.0 and pd and information is None and float(a.g @ s0) < a.rounding():
            # at the optimum up to rounding: drop the damping left over from earlier steps, so the
            # pure step below ends the run (rounding could otherwise reject one damped step and
            # accept the next, forever)
            a.mu = 0.0
        if pd and a.mu == 0.0:
            outcome = a.pure_step(it, s0)
            if isinstance(outcome, Solution):
                return outcome
            if outcome == "next":
                continue
            a.mu = 1e-6 * scale
        if not a.damped_step(A, s0, scale):
            return a.done(it - 1, Result.NO_ASCENT, "no step along the damped Newton direction increased the "
                                                    "log-likelihood (flat or ill-conditioned surface)")
    return a.done(max_iter, Result.MAX_ITERATIONS, f"iteration limit ({max_iter}) reached before convergence")
