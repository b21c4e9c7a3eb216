"""Optimisers that maximise a log-likelihood in unconstrained coordinates.

Every optimiser returns an :class:`OptResult` carrying the log-likelihood trace, the
iteration count and a plain-words reason for stopping. Newton and Fisher scoring
only ever accept a step that does not lower the log-likelihood, so their traces are
non-decreasing by construction.

Newton's step is damped Levenberg--Marquardt style: solve ``(A + mu I) s = g`` with
``A`` the negative Hessian (or the expected information, for scoring) and raise
``mu`` until the step is uphill and ``A + mu I`` is positive definite. Near the
optimum ``mu`` drops to 0 and the iteration is pure Newton, converging
quadratically.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

METHODS = ("auto", "closed", "newton", "bfgs", "scoring", "gradient")


@dataclass
class OptResult:
    u: np.ndarray
    loglik: float
    grad: np.ndarray
    hess: np.ndarray
    iterations: int
    converged: bool
    reason: str
    method: str
    trace: list = field(default_factory=list)
    path: list = field(default_factory=list)


def _cholesky(m):
    try:
        return np.linalg.cholesky(m)
    except np.linalg.LinAlgError:
        return None


def _solve_chol(L, g):
    return np.linalg.solve(L.T, np.linalg.solve(L, g))


QUADRATIC_MARGIN = 1e-6  # how far below rounding the predicted next decrement must lie to stop a step early


def newton(obj, u0, *, max_iter=200, tol=1e-10, information=None, method="newton"):
    """Damped Newton (or, with ``information``, Fisher scoring) ascent.

    ``information(u)`` returns the expected information in ``u`` coordinates; when
    given, it replaces the negative Hessian in the step (Fisher scoring).
    """
    u = np.asarray(u0, dtype=float)
    v, g, H = obj.derivs(u)
    trace, path = [v], [u.copy()]
    if not np.isfinite(v):
        return OptResult(u, v, g, H, 0, False,
                         "the log-likelihood is not finite at the starting point", method, trace, path)
    mu = 0.0
    prev_dec = None
    # the early last step costs ~1e-10 relative in the estimate: taken only where a pass over the
    # data is what an iteration costs (on sufficient statistics an iteration is O(1))
    early = bool(getattr(obj, "costly_passes", False))
    eye = np.eye(len(u))

    def done(it, converged, reason):
        return OptResult(u, v, g, H, it, converged, reason, method, trace, path)

    for it in range(1, max_iter + 1):
        A = information(u) if information is not None else -H
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(g))):
            return done(it - 1, False, "non-finite gradient or Hessian at the current point")
        scale = max(1.0, float(np.max(np.abs(np.diag(A)))) if A.size else 1.0)
        L0 = _cholesky(A)
        mu = mu / 10 if mu > 1e-12 * scale else 0.0
        if mu > 0.0 and L0 is not None and information is None and \
                float(g @ _solve_chol(L0, g)) < max(tol, 64 * np.finfo(float).eps * abs(v)):
            # at the optimum up to rounding: drop the damping left over from earlier steps, so the
            # pure step below ends the run (rounding could otherwise reject one damped step and
            # accept the next, forever)
            mu = 0.0
        if L0 is not None and mu == 0.0:
            # the pure Newton step, tried with the derivative pass itself (which the next
            # iteration needs anyway), so an accepted step costs one pass over the data
            s = _cap(_solve_chol(L0, g))
            # the decrement is the gain still to come; below the rounding of the value it cannot be seen.
            # Quadratic convergence predicts the next one from the last two, d_k^3 / d_(k-1)^2: when that
            # lies a million times below rounding, this step is made the last (the pass that would only
            # confirm convergence is saved, and the estimate is as exact as one more step would make it)
            dec = float(g @ s)
            rounding = max(tol, 64 * np.finfo(float).eps * abs(v))
            final = dec < rounding or (early and prev_dec is not None and 0.0 < dec < prev_dec
                                       and dec ** 3 < QUADRATIC_MARGIN * rounding * prev_dec ** 2)
            prev_dec = dec
            v2, g2, H2 = obj.derivs(u + s)
            if np.isfinite(v2) and v2 >= v:
                u, v, g, H = u + s, v2, g2, H2
                trace.append(v)
                path.append(u.copy())
                if final:
                    return done(it, True, "converged: Newton decrement below tolerance")
                if np.max(np.abs(s)) < 1e-13 * (1 + np.max(np.abs(u))):
                    return done(it, _stationary(g, H), "converged: step below tolerance")
                continue
            if final:  # at the optimum up to rounding: the value cannot tell the last step apart,
                # the gradient can -- take the step when it shrinks the Newton decrement
                if np.isfinite(v2) and v2 >= v - 1e-12 * max(1.0, abs(v)) and information is None:
                    L2 = _cholesky(-H2)
                    if L2 is not None and float(g2 @ _solve_chol(L2, g2)) < float(g @ s):
                        u, g, H = u + s, g2, H2  # v kept: the two values agree to rounding
                        path.append(u.copy())
                return done(it - 1, True, "converged: Newton decrement below tolerance")
            mu = 1e-6 * scale
        # damped steps, judged by the value alone (cheaper than a derivative pass); values
        # are compared within one compiled function, which can differ from derivs' in the last bit
        v_ref = obj.value(u)
        accepted = False
        for _ in range(60):
            L = L0 if mu == 0.0 else _cholesky(A + mu * eye)
            if L is None:
                mu = max(10 * mu, 1e-8 * scale)
                continue
            s = _cap(_solve_chol(L, g))
            v_new = obj.value(u + s)
            if np.isfinite(v_new) and v_new >= v_ref:
                accepted = True
                break
            mu = max(10 * mu, 1e-6 * scale)
        if not accepted:
            return done(it - 1, False, "no step along the damped Newton direction increased the log-likelihood "
                                       "(flat or ill-conditioned surface)")
        u = u + s
        v, g, H = obj.derivs(u)
        trace.append(v)
        path.append(u.copy())
    return done(max_iter, False, f"iteration limit ({max_iter}) reached before convergence")


def _cap(s, radius=20.0):
    """Trust region in u: never jump by more than e^20 in one step."""
    big = np.max(np.abs(s)) if s.size else 0.0
    return s * (radius / big) if big > radius else s


def _stationary(g, H):
    try:
        s = np.linalg.lstsq(-H, g, rcond=None)[0]
        return bool(abs(g @ s) < 1e-6)
    except np.linalg.LinAlgError:
        return False


def gradient_ascent(obj, u0, *, max_iter=20000, tol=1e-10):
    """Plain gradient ascent with a backtracking (Armijo) line search -- for teaching."""
    u = np.asarray(u0, dtype=float)
    v, g, H = obj.derivs(u)
    trace, path = [v], [u.copy()]
    if not np.isfinite(v):
        return OptResult(u, v, g, H, 0, False,
                         "the log-likelihood is not finite at the starting point", "gradient", trace, path)
    step = 1.0 / max(1.0, float(np.linalg.norm(g)))
    for it in range(1, max_iter + 1):
        gg = float(g @ g)
        while True:
            v_new = obj.value(u + step * g)
            if np.isfinite(v_new) and v_new >= v + 1e-4 * step * gg:
                break
            step /= 2
            if step < 1e-300:
                return OptResult(u, v, g, H, it - 1, False,
                                 "line search failed: no step along the gradient increased the log-likelihood",
                                 "gradient", trace, path)
        u = u + step * g
        v_old, (v, g, H) = v, obj.derivs(u)
        trace.append(v)
        if it % 10 == 0 or it < 50:
            path.append(u.copy())
        step *= 2
        L = _cholesky(-H)
        if L is not None:
            decrement = float(g @ _solve_chol(L, g))
            if decrement < tol:
                path.append(u.copy())
                return OptResult(u, v, g, H, it, True,
                                 "converged: Newton decrement below tolerance", "gradient", trace, path)
        if abs(v - v_old) < 1e-15 * max(1, abs(v)) and np.linalg.norm(g) < 1e-6:
            return OptResult(u, v, g, H, it, True, "converged: gradient near zero", "gradient", trace, path)
    return OptResult(u, v, g, H, max_iter, False,
                     f"iteration limit ({max_iter}) reached before convergence (gradient ascent is slow; "
                     "try method='newton')", "gradient", trace, path)


def bfgs(obj, u0, *, max_iter=1000, tol=1e-11):
    """Quasi-Newton (BFGS) through optimistix; the loop runs compiled, so the trace
    holds the start and the end only."""
    import jax.numpy as jnp
    import optimistix as optx

    u0 = np.asarray(u0, dtype=float)
    v0 = obj.value(u0)
    scale = max(1.0, abs(v0)) if np.isfinite(v0) else 1.0
    if not np.isfinite(v0):
        v, g, H = obj.derivs(u0)
        return OptResult(u0, v, g, H, 0, False,
                         "the log-likelihood is not finite at the starting point", "bfgs", [v0], [u0])

    def fn(u, _):
        val = obj.jax_value(u)
        return jnp.where(jnp.isfinite(val), -val / scale, jnp.inf)

    sol = optx.minimise(fn, optx.BFGS(rtol=tol, atol=tol), jnp.asarray(u0), max_steps=max_iter,
                        throw=False)
    u = np.asarray(sol.value)
    v, g, H = obj.derivs(u)
    steps = int(sol.stats["num_steps"])
    ok = bool(sol.result == optx.RESULTS.successful) and np.isfinite(v) and v >= v0
    reason = "converged: optimistix BFGS met its tolerance" if ok else \
        f"optimistix BFGS stopped without converging: {optx.RESULTS[sol.result] if hasattr(optx.RESULTS, '__getitem__') else sol.result}"
    if ok and not _stationary(g, H):
        ok, reason = False, "optimistix BFGS stopped, but the gradient at the result is not zero"
    return OptResult(u, v, g, H, steps, ok, reason, "bfgs", [v0, v], [u0, u])
