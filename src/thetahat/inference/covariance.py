"""Covariance of the estimates from the information matrix, and the second-derivative check."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._jax import jnp


@dataclass
class CovarianceResult:
    cov: np.ndarray | None  # flat natural coordinates of the regular free parameters
    negative_definite: bool | None
    condition: float | None
    note: str | None


def hessian_check(H: np.ndarray):
    """(negative definite?, condition number of -H) for a Hessian in any coordinates."""
    if H.size == 0:
        return None, None
    if H.shape == (1, 1):  # one parameter: its own eigenvalue, in Python floats (no NumPy call)
        h = -float(H[0, 0])
        if not math.isfinite(h):
            return False, None
        return (True, 1.0) if h > 0 else (False, float("inf"))
    if not np.isfinite(H).all():
        return False, None
    eig = np.linalg.eigvalsh(-(H + H.T) / 2)
    neg_def = bool(eig.min() > 0)
    cond = float(eig.max() / eig.min()) if neg_def else float("inf")
    return neg_def, cond


def observed(H_u: np.ndarray, J: np.ndarray) -> CovarianceResult:
    """Inverse observed information, mapped from unconstrained ``u`` to natural coordinates.

    At a stationary point the delta method ``J (-H_u)^{-1} J^T`` equals the inverse of the
    observed information in natural coordinates, and it also serves constrained
    parameters (simplex, covariance matrices) whose natural Hessian is singular.
    """
    neg_def, cond = hessian_check(H_u)
    if not neg_def:
        return CovarianceResult(None, neg_def, cond,
                                "the Hessian at the estimate is not negative definite (singular or a saddle): "
                                "observed-information standard errors do not exist here; the parameters may "
                                "not be identifiable from these data")
    if cond > 1e14:
        return CovarianceResult(None, neg_def, cond,
                                f"the observed information is numerically singular (condition number {cond:.2g}): "
                                "standard errors would be meaningless")
    if H_u.shape == (1, 1) and J.shape == (1, 1):  # one parameter: J^2 / -H in floats, as the products round
        j = float(J[0, 0])
        return CovarianceResult(np.array([[j * (-1.0 / float(H_u[0, 0])) * j]]), neg_def, cond, None)
    cov_u = -1.0 / H_u if H_u.shape == (1, 1) else np.linalg.inv(-H_u)
    cov = J @ cov_u @ J.T
    return CovarianceResult((cov + cov.T) / 2, neg_def, cond, None)


def expected(info_theta: np.ndarray, nobs: float) -> CovarianceResult:
    """Inverse expected (Fisher) information ``(n I(theta))^{-1}`` in natural coordinates."""
    total = nobs * np.asarray(info_theta, dtype=float)
    neg_def, cond = hessian_check(-total)
    if not neg_def:
        return CovarianceResult(None, neg_def, cond, "the expected information is singular at the estimate")
    cov = np.linalg.inv(total)
    return CovarianceResult((cov + cov.T) / 2, neg_def, cond, None)


def expected_in_u(family, layout, fixed, u, nobs, free_index):
    """Expected information in unconstrained coordinates: J^T (n I(theta)) J (for scoring)."""
    import jax

    def flat_theta(v):
        return layout.flat(layout.to_params(v))

    uj = jnp.asarray(u)
    J = np.asarray(jax.jacfwd(flat_theta)(uj))
    p = {**fixed, **layout.to_params(uj)}
    info = np.asarray(family.expected_information(p))[np.ix_(free_index, free_index)]
    return J.T @ (nobs * info) @ J


def robust(H_u: np.ndarray, B_u: np.ndarray, J: np.ndarray, kind: str) -> CovarianceResult:
    """``opg``: the inverse outer product of the scores, ``B^{-1}``; ``sandwich``:
    ``H^{-1} B H^{-1}`` (Huber--White), both in ``u`` coordinates and mapped by ``J``.

    The sandwich stays valid when the family is misspecified: ``-H`` estimates the
    information the model believes in, ``B`` the variance of the score actually seen.
    """
    neg_def, cond = hessian_check(H_u)
    if kind == "opg":
        ok, bcond = hessian_check(-B_u)
        if not ok or bcond > 1e14:
            return CovarianceResult(None, neg_def, cond, "the outer product of the scores is singular: "
                                                         "OPG standard errors do not exist here")
        cov_u = np.linalg.inv(B_u)
    else:
        base = observed(H_u, np.eye(H_u.shape[0]))
        if base.cov is None:
            return CovarianceResult(None, neg_def, cond, base.note)
        cov_u = base.cov @ B_u @ base.cov
    cov = J @ cov_u @ J.T
    return CovarianceResult((cov + cov.T) / 2, neg_def, cond, None)
