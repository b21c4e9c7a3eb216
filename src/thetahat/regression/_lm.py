"""Levenberg–Marquardt as a trust region, after MINPACK's ``lmder`` (Moré 1978), solved by SVD.

The step at each iteration minimises ``||r + J s||`` subject to ``||D s|| <= Δ``, with ``D``
Moré's scaling: the running maximum of the Jacobian's column norms, so the method is invariant
to rescaling a parameter. Where MINPACK solves the damped problem with a pivoted QR and an
iteration on λ, this solves it through the SVD of ``J D⁻¹`` (exact for every λ, and the
"secular equation" ``||s(λ)|| = Δ`` costs O(p) per trial λ). The Jacobian is exact (JAX).

The acceptance ratio, the update of Δ and the three convergence tests (relative reduction of
the sum of squares, relative size of the step, cosine between the residual and the columns of
``J``) are MINPACK's. After the trust region stops, a few plain Gauss–Newton steps polish the
solution: each is kept only if the sum of squares does not rise, which matters for the
near-zero-residual problems (NIST's Lanczos1 has RSS 1.4e-25), whose last digits the
trust-region tests would otherwise leave on the table.

Example
-------
>>> import numpy as np
>>> x = np.array([0.0, 1.0, 2.0, 3.0]); y = 2.0 * np.exp(-0.5 * x)
>>> def rj(b):
...     e = np.exp(-b[1] * x)
...     return b[0] * e - y, np.column_stack([e, -b[0] * x * e])
>>> out = levenberg_marquardt(lambda b: rj(b)[0], rj, np.array([1.0, 1.0]))
>>> out.converged, np.round(out.theta, 12).tolist()
(True, [2.0, 0.5])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EPS = np.finfo(float).eps


@dataclass
class LMResult:
    theta: np.ndarray
    r: np.ndarray
    J: np.ndarray
    rss: float
    converged: bool
    reason: str
    iterations: int
    nfev: int
    rss_trace: list = field(default_factory=list)  # after each accepted step, the start first
    gradient_cosine: float = float("nan")


def _secular(s, c, delta, rank_tol):
    """λ ≥ 0 and the scaled step q (in the right-singular basis) with ``||q|| ≈ Δ`` (10 %, as MINPACK)."""
    sc = s * c
    keep = s > rank_tol
    q0 = np.where(keep, sc / np.where(keep, s * s, 1.0), 0.0)
    n0 = np.linalg.norm(q0)
    if n0 <= 1.1 * delta:
        return 0.0, q0
    lo, hi = 0.0, np.linalg.norm(sc) / delta
    lam = 0.0
    s2 = s * s
    for _ in range(60):
        if lam <= 0.0:
            q = q0
        else:
            q = sc / (s2 + lam)
        nq = np.linalg.norm(q)
        if abs(nq - delta) <= 0.1 * delta:
            return lam, q
        if nq > delta:
            lo = max(lo, lam)
        else:
            hi = min(hi, lam)
        if lam > 0:
            dn = -np.sum(q * q / (s2 + lam)) / nq
            new = lam - (nq / delta) * (nq - delta) / dn  # Newton on 1/||q|| (Hebden, Moré)
        else:
            new = -1.0
        if not (lo < new < hi):
            new = max(0.001 * hi, np.sqrt(lo * hi))
        lam = new
    return lam, sc / (s2 + lam)


def levenberg_marquardt(resid, resjac, theta0, *, ftol=1e-15, xtol=1e-15, gtol=1e-15, max_iter=1000,
                        factor=1.0, polish=8, noise=0.0) -> LMResult:
    """Minimise ``||r(θ)||²``.

    Parameters
    ----------
    resid : callable
        θ ↦ r (a 1-D array); may return non-finite values, which count as a failed step.
    resjac : callable
        θ ↦ (r, J) with ``J = ∂r/∂θ``.
    theta0 : numpy.ndarray
    ftol, xtol, gtol : float
        MINPACK's tests: relative reduction of the sum of squares (actual and predicted) at most
        ``ftol``; trust radius at most ``xtol·||Dθ||``; largest cosine between ``r`` and a column of
        ``J`` at most ``gtol``.
    max_iter : int
        Number of Jacobian evaluations allowed.
    factor : float
        Initial trust radius ``factor·||Dθ₀||``. MINPACK suggests 100; 1 (a first step no longer
        than the scaled start) keeps BoxBOD's first start from jumping onto the plateau b2 → ∞,
        and costs nothing elsewhere on the NIST suite.
    polish : int
        Gauss–Newton steps tried after the trust region stops.
    noise : float
        Rounding error of ``||r||`` itself (the residuals are differences of numbers of the size
        of the data, e.g. ``16·eps·||y||``): a polishing step may raise ``||r||`` by this much.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return _lm(resid, resjac, np.array(theta0, dtype=float), ftol, xtol, gtol, max_iter, factor, polish,
                   noise)


def _lm(resid, resjac, theta, ftol, xtol, gtol, max_iter, factor, polish, noise):
    r, J = resjac(theta)
    st = _Iterate(theta, r, float(np.linalg.norm(r)))
    D = None
    reason, converged = None, False
    it = 0
    while it < max_iter:
        it += 1
        colnorm = np.linalg.norm(J, axis=0)
        D = _scaling(st, D, colnorm, factor)
        gcos = _gradient_cosine(J, st.r, colnorm, st.fnorm)
        if gcos <= gtol:
            reason, converged = f"gradient orthogonal to the residuals (cosine {gcos:.1e} <= gtol {gtol:g})", True
            break
        reason, converged = _trials(resid, st, J, D, gcos, ftol, xtol)
        if reason is not None:
            break
        st.r, J = resjac(st.theta)
        st.nfev += 1
    else:
        reason = f"reached max_iter = {max_iter} Jacobian evaluations"
    theta, r, fnorm, nfev = st.theta, st.r, st.fnorm, st.nfev
    if converged and polish:
        theta, r, J, fnorm, nfev = _polish(resid, resjac, theta, r, fnorm, nfev, st.trace, polish, noise)
    else:
        r, J = resjac(theta)
    colnorm = np.linalg.norm(J, axis=0)
    gcos = _gradient_cosine(J, r, colnorm, fnorm)
    return LMResult(theta, r, J, fnorm ** 2, converged, reason, it, nfev, st.trace, gcos)


@dataclass
class _Iterate:
    """The trust region's running state: the current point and its residuals, the trust radius
    Δ, ``||D θ||``, the function evaluations so far and the trace of sums of squares."""

    theta: np.ndarray
    r: np.ndarray
    fnorm: float
    delta: float = 0.0
    xnorm: float = 0.0
    first: bool = True  # no trial step taken yet
    nfev: int = 1
    trace: list = field(default_factory=list)

    def __post_init__(self):
        self.trace.append(self.fnorm ** 2)


def _scaling(st, D, colnorm, factor):
    """Moré's scaling: the running maximum of the column norms. On the first iteration (``D``
    None) it also sets ``||D θ||`` and the initial trust radius ``factor·||D θ||``."""
    if D is not None:
        return np.maximum(D, colnorm)
    D = np.where(colnorm > 0, colnorm, 1.0)
    st.xnorm = float(np.linalg.norm(D * st.theta))
    st.delta = factor * st.xnorm if st.xnorm > 0 else factor
    return D


def _trials(resid, st, J, D, gcos, ftol, xtol):
    """Trial steps for one Jacobian, each on a smaller Δ, until one is accepted or a test
    stops the fit: ``(reason, converged)``, reason None when the fit goes on."""
    U, s, Vt = np.linalg.svd(J / D, full_matrices=False)
    c = -(U.T @ st.r)
    rank_tol = (s[0] if s.size else 0.0) * EPS * max(J.shape)
    while True:
        accepted, reason, converged = _trial(resid, st, D, s, c, Vt, rank_tol, gcos, ftol, xtol)
        if reason is not None or accepted:
            return reason, converged


def _trial(resid, st, D, s, c, Vt, rank_tol, gcos, ftol, xtol):
    """One trial step of length Δ, taken into ``st`` when MINPACK's ratio of actual to predicted
    reduction is at least 1e-4: ``(accepted, reason, converged)`` after the convergence tests."""
    lam, q = _secular(s, c, st.delta, rank_tol)
    z = Vt.T @ q
    step = z / D
    pnorm = float(np.linalg.norm(z))
    if st.first:  # MINPACK: on the first step, bound Δ by the first step's length
        st.delta, st.first = min(st.delta, pnorm), False
    trial = st.theta + step
    r1 = np.asarray(resid(trial), dtype=float)
    st.nfev += 1
    fnorm1 = float(np.linalg.norm(r1)) if np.all(np.isfinite(r1)) else np.inf
    actred, prered, ratio, st.delta = _reduction(s, q, lam, pnorm, st.fnorm, fnorm1, st.delta)
    accepted = ratio >= 1e-4
    if accepted:
        st.theta, st.r, st.fnorm = trial, r1, fnorm1
        st.xnorm = float(np.linalg.norm(D * st.theta))
        st.trace.append(st.fnorm ** 2)
    reason, converged = _stop_reason(actred, prered, ratio, st.delta, st.xnorm, st.fnorm, gcos, ftol, xtol)
    return accepted, reason, converged


def _reduction(s, q, lam, pnorm, fnorm, fnorm1, delta):
    """MINPACK's actual and predicted relative reductions of ``||r||²`` for the scaled step
    ``q`` (norm ``pnorm``, Levenberg parameter ``lam``), their ratio, and the updated Δ."""
    actred = 1.0 - (fnorm1 / fnorm) ** 2 if 0.1 * fnorm1 < fnorm else -1.0
    jnorm = float(np.linalg.norm(s * q))  # ||J step|| = ||S q||
    t1 = jnorm / fnorm if fnorm > 0 else 0.0
    t2 = np.sqrt(lam) * pnorm / fnorm if fnorm > 0 else 0.0
    prered = t1 * t1 + 2.0 * t2 * t2
    dirder = -(t1 * t1 + t2 * t2)
    ratio = actred / prered if prered != 0 else 0.0
    if ratio <= 0.25:
        temp = 0.5 if actred >= 0 else 0.5 * dirder / (dirder + 0.5 * actred)
        if 0.1 * fnorm1 >= fnorm or temp < 0.1:
            temp = 0.1
        delta = temp * min(delta, pnorm / 0.1)
    elif lam == 0.0 or ratio >= 0.75:
        delta = pnorm / 0.5
    return actred, prered, ratio, delta


def _stop_reason(actred, prered, ratio, delta, xnorm, fnorm, gcos, ftol, xtol):
    """MINPACK's convergence tests after a trial step: ``(reason, converged)``, or
    ``(None, False)`` when none holds."""
    if abs(actred) <= ftol and prered <= ftol and 0.5 * ratio <= 1:
        return f"relative reduction of the sum of squares below ftol ({ftol:g})", True
    if delta <= xtol * xnorm:
        return f"relative step size below xtol ({xtol:g})", True
    if fnorm == 0.0:
        return "the residuals are exactly zero", True
    if abs(actred) <= EPS and prered <= EPS and 0.5 * ratio <= 1:
        return "no further reduction possible at machine precision", True
    if delta <= EPS * xnorm:
        # the trust region collapsed: a minimum only if the gradient is negligible there
        reason = "the trust region shrank to machine precision"
        if gcos <= 1e-6:
            return reason, True
        return reason + f" away from a stationary point (gradient cosine {gcos:.1e})", False
    return None, False


def _gradient_cosine(J, r, colnorm, fnorm):
    if fnorm == 0:
        return 0.0
    g = np.abs(J.T @ r)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = np.where(colnorm > 0, g / (colnorm * fnorm), 0.0)
    return float(np.max(cos)) if cos.size else 0.0


def _polish(resid, resjac, theta, r, fnorm, nfev, trace, steps, noise):
    # Near the minimum the sum of squares is flat to within its own rounding error (a step of
    # relative size sqrt(eps) changes it by eps, and residuals that are small differences of large
    # numbers carry far more), so a step is judged by the gradient: it is kept when it lowers the
    # largest gradient cosine and raises ||r|| by no more than rounding.
    r, J = resjac(theta)
    nfev += 1
    gcos = _gradient_cosine(J, r, np.linalg.norm(J, axis=0), fnorm)
    for _ in range(steps):
        step, *_ = np.linalg.lstsq(J, -r, rcond=None)
        trial = theta + step
        r1, J1 = resjac(trial)
        nfev += 1
        if not (np.all(np.isfinite(r1)) and np.all(np.isfinite(J1))):
            break
        f1 = float(np.linalg.norm(r1))
        g1 = _gradient_cosine(J1, r1, np.linalg.norm(J1, axis=0), f1)
        if not (f1 < fnorm or (f1 <= fnorm * (1 + 8 * EPS) + noise and g1 < gcos)):
            break
        theta, r, J, fnorm, gcos = trial, r1, J1, f1, g1
        trace.append(fnorm ** 2)
        if np.all(np.abs(step) <= 4 * EPS * np.abs(theta)):
            break
    return theta, r, J, fnorm, nfev
