"""The solvers of the estimation core, as values, and :func:`estimate`, which runs one.

A solver is a small frozen object -- :class:`Newton`, :class:`Scoring`, :class:`BFGS`,
:class:`GradientAscent` -- with a ``run(objective, u0)`` method returning a
:class:`~thetahat.engine.solution.Solution`; :class:`Auto` is an ordered list of solvers
tried in turn. The problem (an objective answering ``value(u)`` and ``derivs(u)``
wherever its data live), the solver and the solution are kept apart, as in optimistix.

Newton's step is damped Levenberg--Marquardt style (:mod:`thetahat.engine.newton`):
solve ``(A + mu I) s = g`` with ``A`` the negative Hessian (or the expected information,
for scoring) and raise ``mu`` until the step is uphill. Every accepted step does not
lower the log-likelihood, so the trace is non-decreasing.

Examples
--------
>>> import numpy as np
>>> from thetahat.engine.solvers import Newton, estimate
>>> class Quadratic:  # the log-likelihood -(u - 3)^2 / 2
...     def value(self, u): return float(-0.5 * (u[0] - 3.0) ** 2)
...     def derivs(self, u): return self.value(u), np.array([3.0 - u[0]]), np.array([[-1.0]])
>>> sol = estimate(Quadratic(), np.zeros(1), Newton())
>>> round(float(sol.u[0]), 12), sol.converged
(3.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .newton import damped_newton, newton_step, stationary
from .solution import Result, Solution

METHODS = ("auto", "closed", "newton", "bfgs", "scoring", "gradient")


@dataclass(frozen=True)
class Newton:
    """Damped Newton with the exact Hessian."""

    max_iter: int = 200
    tol: float = 1e-10
    name = "Newton"

    def run(self, objective, u0) -> Solution:
        return damped_newton(objective, u0, max_iter=self.max_iter, tol=self.tol)


@dataclass(frozen=True)
class Scoring:
    """Fisher scoring: the damped Newton step with ``information(u)``, the expected
    information in ``u`` coordinates, in place of the negative Hessian."""

    information: Callable
    max_iter: int = 200
    tol: float = 1e-10
    name = "Fisher scoring"

    def run(self, objective, u0) -> Solution:
        return damped_newton(objective, u0, max_iter=self.max_iter, tol=self.tol, information=self.information,
                             method="scoring")


@dataclass(frozen=True)
class BFGS:
    """Quasi-Newton through optimistix; the loop runs compiled, so the trace holds the
    start and the end only."""

    max_iter: int = 1000
    tol: float = 1e-11
    name = "BFGS"

    def run(self, objective, u0) -> Solution:
        return _bfgs(objective, u0, max_iter=self.max_iter, tol=self.tol)


@dataclass(frozen=True)
class GradientAscent:
    """Gradient ascent with a backtracking (Armijo) line search -- for teaching."""

    max_iter: int = 20000
    tol: float = 1e-10
    name = "gradient ascent"

    def run(self, objective, u0) -> Solution:
        return _gradient_ascent(objective, u0, max_iter=self.max_iter, tol=self.tol)


@dataclass(frozen=True)
class Auto:
    """An ordered list of solvers: the first runs from every start, each later one from
    the best point so far while nothing has converged."""

    solvers: tuple

    @classmethod
    def default(cls, max_iter=None) -> "Auto":
        """Newton, then BFGS (``max_iter`` bounds each)."""
        kw = {} if max_iter is None else {"max_iter": int(max_iter)}
        return cls((Newton(**kw), BFGS(**kw)))


def estimate(objective, start, solver) -> Solution:
    """Maximise ``objective`` from ``start`` with ``solver``.

    Parameters
    ----------
    objective : object
        Answers ``value(u)`` and ``derivs(u) -> (value, gradient, Hessian)`` (and
        ``jax_value(u)`` for BFGS) in unconstrained coordinates.
    start : numpy.ndarray
        One starting point ``(k,)``, or several ``(m, k)``: the best optimum is kept.
    solver : Newton, Scoring, BFGS, GradientAscent or Auto

    Returns
    -------
    Solution
        With ``starts`` and ``starts_converged`` counted over the starting points.

    Examples
    --------
    >>> import numpy as np
    >>> class Bowl:
    ...     def value(self, u): return float(-np.sum((u - 1.0) ** 2))
    ...     def derivs(self, u): return self.value(u), -2.0 * (u - 1.0), -2.0 * np.eye(u.size)
    >>> sol = estimate(Bowl(), np.array([[0.0, 0.0], [5.0, -3.0]]), Auto.default())
    >>> sol.starts, sol.starts_converged, np.allclose(sol.u, 1.0)
    (2, 2, True)
    """
    chain = solver.solvers if isinstance(solver, Auto) else (solver,)
    starts = np.atleast_2d(np.asarray(start, dtype=float))
    results = [chain[0].run(objective, u) for u in starts]
    n_conv = sum(r.converged for r in results)
    best = _best(results)
    fallbacks = []
    for done, nxt in zip(chain, chain[1:]):
        if best.converged:
            break
        fallbacks.append(f"{done.name} did not converge ({best.message}); fell back to {nxt.name}")
        best = nxt.run(objective, best.u if np.isfinite(best.loglik) else starts[0])
    return best.replace(starts=len(results), starts_converged=n_conv, fallbacks=tuple(fallbacks))


def _best(results):
    """The converged result with the highest log-likelihood; else the highest finite one."""
    pool = [r for r in results if r.converged and np.isfinite(r.loglik)] or \
        [r for r in results if np.isfinite(r.loglik)] or results
    return max(pool, key=lambda r: r.loglik if np.isfinite(r.loglik) else -np.inf)


def _nonfinite_start(objective, u0, method):
    v, g, H = objective.derivs(u0)
    return Solution(u0, v, g, H, 0, Result.NONFINITE_START, "the log-likelihood is not finite at the starting point",
                    method, (v,), (u0,))


def _gradient_ascent(obj, u0, *, max_iter=20000, tol=1e-10):
    u = np.asarray(u0, dtype=float)
    v, g, H = obj.derivs(u)
    trace, path = [v], [u.copy()]
    if not np.isfinite(v):
        return _nonfinite_start(obj, u, "gradient")

    def done(it, result, message):
        return Solution(u, v, g, H, it, result, message, "gradient", tuple(trace), tuple(path))

    step = 1.0 / max(1.0, float(np.linalg.norm(g)))
    for it in range(1, max_iter + 1):
        gg = float(g @ g)
        while True:
            v_new = obj.value(u + step * g)
            if np.isfinite(v_new) and v_new >= v + 1e-4 * step * gg:
                break
            step /= 2
            if step < 1e-300:
                return done(it - 1, Result.NO_ASCENT,
                            "line search failed: no step along the gradient increased the log-likelihood")
        u = u + step * g
        v_old, (v, g, H) = v, obj.derivs(u)
        trace.append(v)
        if it % 10 == 0 or it < 50:
            path.append(u.copy())
        step *= 2
        s, ok = newton_step(g, -H, None)
        if ok and float(g @ s) < tol:
            path.append(u.copy())
            return done(it, Result.CONVERGED, "converged: Newton decrement below tolerance")
        if abs(v - v_old) < 1e-15 * max(1, abs(v)) and np.linalg.norm(g) < 1e-6:
            return done(it, Result.CONVERGED, "converged: gradient near zero")
    return done(max_iter, Result.MAX_ITERATIONS, f"iteration limit ({max_iter}) reached before convergence "
                "(gradient ascent is slow; try method='newton')")


def _bfgs(obj, u0, *, max_iter=1000, tol=1e-11):
    import jax.numpy as jnp
    import optimistix as optx

    u0 = np.asarray(u0, dtype=float)
    v0 = obj.value(u0)
    if not np.isfinite(v0):
        return _nonfinite_start(obj, u0, "bfgs").replace(trace=(v0,))
    scale = max(1.0, abs(v0))

    def fn(u, _):
        val = obj.jax_value(u)
        return jnp.where(jnp.isfinite(val), -val / scale, jnp.inf)

    sol = optx.minimise(fn, optx.BFGS(rtol=tol, atol=tol), jnp.asarray(u0), max_steps=max_iter, throw=False)
    u = np.asarray(sol.value)
    v, g, H = obj.derivs(u)
    steps = int(sol.stats["num_steps"])
    if not (bool(sol.result == optx.RESULTS.successful) and np.isfinite(v) and v >= v0):
        result, message = Result.SOLVER_FAILED, f"optimistix BFGS stopped without converging: {_said(optx, sol)}"
    elif not stationary(g, H):
        result, message = Result.NOT_STATIONARY, "optimistix BFGS stopped, but the gradient at the result is not zero"
    else:
        result, message = Result.CONVERGED, "converged: optimistix BFGS met its tolerance"
    return Solution(u, v, g, H, steps, result, message, "bfgs", (v0, v), (u0, u))


def _said(optx, sol):
    return optx.RESULTS[sol.result] if hasattr(optx.RESULTS, "__getitem__") else sol.result
