"""MAP regression: L2 (Gaussian prior), L1 (Laplace prior) and elastic net.

The estimate maximises ``loglik(b) - lam * (r * |b|_1 + (1 - r)/2 * |b|_2^2)`` over the
coefficients, the intercept unpenalised -- the posterior mode under independent
Laplace(0, 1/(lam r)) and Normal(0, 1/(lam (1 - r))) priors, and exactly the
regularised loss that scikit-learn minimises (``lam = 1/C`` for LogisticRegression,
``lam = n * alpha`` for Lasso/ElasticNet, ``lam = alpha`` for Ridge).

The L1 part is not differentiable at 0, so subgradients will not do. The solver is
proximal Newton (as in glmnet): at each outer step the smooth part (log-likelihood
plus the L2 term) is replaced by its exact second-order expansion (JAX Hessian
``X'WX``), the L1-penalised quadratic is minimised by cyclic coordinate descent with
soft-thresholding, and a backtracking line search on the full objective keeps every
step downhill. Coefficients that are exactly zero stay exactly zero.

Example
-------
>>> import numpy as np
>>> from thetahat.regression.penalized import soft
>>> soft(np.array([-3.0, 0.5, 2.0]), 1.0).tolist()
[-2.0, 0.0, 1.0]
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..errors import DataError
from . import models as M
from ._newton import Data, derivatives, newton
from .estimates import build_result, inverse_information, start_values

PENALTY_NOTE_L1 = ("L1/elastic-net MAP estimate: no standard errors (the Laplace prior's mode has no Gaussian "
                   "approximation at coefficients that are exactly zero)")
PENALTY_NOTE_L2 = ("L2 MAP estimate: standard errors are the Laplace approximation of the posterior, "
                   "sqrt(diag((-H - lam I)^-1))")


def soft(x, t):
    """Soft-thresholding, the proximal map of ``t |x|``."""
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


@lru_cache(maxsize=None)
def _unit_normal():
    # least squares as a log-likelihood with sigma = 1: -(y - eta)^2 / 2
    return M.Model("normal", "identity", lambda eta, phi, y, aux: -0.5 * (y - eta[0]) ** 2,
                   lambda eta, phi: eta[..., 0])


def fit_penalized(d, model, y, aux, w, off, pen, max_iter=100):
    p = d.X.shape[1]
    lam, r = pen["lam"], pen["l1_ratio"]
    mask = np.ones(p)
    if d.intercept is not None:
        mask[d.intercept] = 0.0
    l1 = lam * r * mask
    l2 = lam * (1 - r) * mask
    work = _unit_normal() if model.name == "normal" else model
    data = Data.build(d.X, y, aux, w, off)
    b = np.zeros(p)
    if d.intercept is not None:
        b = start_values(work if model.name != "normal" else model, model.name, model.link, d, y, aux, w)[:p]
    if np.any(l1):  # the lasso's direction solves a small lasso problem (proximal Newton)
        b, H, iters, converged, reason = prox_newton(work, data, b, l1, l2, max_iter)
    else:  # a ridge alone is smooth: the regression Newton, with the penalty in its derivatives
        res = newton(work, None, None, None, None, None, b, ridge=l2, data=data, max_iter=max_iter)
        b, H, iters, converged, reason = res.theta, res.hess, res.iterations, res.converged, res.reason
    v, _, _ = derivatives(work, data, b)
    notes = []
    nobs = float(len(y) if w is None else np.sum(w))
    pen_value = float(np.sum(l1 * np.abs(b)) + 0.5 * np.sum(l2 * b * b))
    if model.name == "normal":
        rss = -2.0 * v
        # joint MAP over sigma with the prior scaled by sigma^2: sigma^2 = (RSS + 2 lam pen) / n
        s2 = (rss + 2 * pen_value) / nobs
        if s2 <= 0:
            raise DataError("the penalised fit leaves no residual variance: sigma has no estimate")
        theta = np.concatenate([b, [0.5 * math.log(s2)]])
        loglik = -0.5 * nobs * math.log(2 * math.pi * s2) - 0.5 * rss / s2
        extra = {"rss": rss, "sigma2_map": s2}
    else:
        theta, loglik, extra = b, v, {}
    cov = None
    if r == 0 and converged:
        cov_b, note = inverse_information(H)
        if model.name == "normal" and cov_b is not None:
            cov_b = cov_b * s2
        if note:
            notes.append(note)
        if cov_b is not None:
            cov = np.zeros((len(theta), len(theta)))
            cov[:p, :p] = cov_b
            if model.name == "normal":
                cov[p, p] = 1.0 / (2 * nobs)
        notes.append(PENALTY_NOTE_L2)
    else:
        notes.append(PENALTY_NOTE_L1)
    objective = loglik - (pen_value / s2 if model.name == "normal" else pen_value)
    extra["objective"] = float(objective)
    nonzero = int(np.sum((b != 0) & (mask > 0)))
    return build_result(d, model, model.name, model.link, theta, None, loglik, nobs, y, aux, w, off, None, converged,
                   reason, f"map-{pen['kind']}", iters, notes, cov_theta=cov, extra=extra, penalty=dict(pen),
                   n_params=nonzero + int(np.sum(mask == 0)) + (1 if model.name == "normal" else 0))


def _objective(work, data, b, l1, l2):
    v, g, H = derivatives(work, data, b)
    return -v + float(np.sum(l1 * np.abs(b)) + 0.5 * np.sum(l2 * b * b)), g - l2 * b, H - np.diag(l2)


def prox_newton(work, data, b, l1, l2, max_iter=100, tol=1e-12):
    """Minimise ``-loglik(b) + Σ l1_j |b_j| + Σ l2_j b_j²/2`` by proximal Newton."""
    F, g, H = _objective(work, data, b, l1, l2)
    for it in range(1, max_iter + 1):
        A = -H  # Hessian of the smooth part of the objective
        u = _cd_quadratic(A, A @ b + g, l1, b.copy())
        dvec = u - b
        delta = -(g @ dvec) + float(np.sum(l1 * (np.abs(u) - np.abs(b))))
        small = np.max(np.abs(dvec)) <= tol * (1 + np.max(np.abs(b))) or delta > -1e-15 * (1 + abs(F))
        if small:  # take the last (tiny) step unless rounding makes it worse, then stop
            F2, g2, H2 = _objective(work, data, u, l1, l2)
            if np.isfinite(F2) and F2 <= F + 1e-13 * (1 + abs(F)):
                b, H = u, H2
            return b, H, it, True, f"converged: proximal Newton step {np.max(np.abs(dvec)):.2g}"
        t = 1.0
        while True:
            cand = b + t * dvec
            F2, g2, H2 = _objective(work, data, cand, l1, l2)
            if np.isfinite(F2) and F2 <= F + 1e-4 * t * delta + 1e-14 * abs(F):
                break
            t *= 0.5
            if t < 1e-12:
                return b, H, it, False, "the line search failed"
        b, F, g, H = cand, F2, g2, H2
    return b, H, max_iter, False, f"no convergence in {max_iter} proximal Newton iterations"


def _cd_quadratic(A, c, l1, u, sweeps=10000, tol=1e-15):
    """Coordinate descent for ``min ½ u'Au - c'u + Σ l1_j |u_j|`` (A positive definite)."""
    diag = np.diag(A)
    if np.any(diag <= 0):
        raise DataError("the penalised problem is degenerate: a column of the design is all zeros")
    Au = A @ u
    for _ in range(sweeps):
        biggest = 0.0
        for j in range(len(u)):
            rj = c[j] - (Au[j] - diag[j] * u[j])
            new = soft(rj, l1[j]) / diag[j]
            step = new - u[j]
            if step != 0.0:
                Au += A[:, j] * step
                u[j] = new
                biggest = max(biggest, abs(step) * math.sqrt(diag[j]))
        if biggest <= tol * (1 + np.sqrt(abs(u @ Au))):
            break
    return u

