"""Linear least squares by QR with column pivoting, never the normal equations.

Columns are scaled to unit norm, factorised ``XΠ = QR`` (LAPACK ``geqp3``), and the
solution is refined on the augmented system ``[I X; X' 0][r; b] = [y; 0]`` (Björck),
with the residuals of that system computed in extended precision (``np.longdouble``,
a 64-bit mantissa on x86) and the corrections solved with the float64 QR factors.
Where the float64 QR already resolves the problem, refinement changes nothing; on
NIST's Filip and Wampler4-5 it recovers the digits lost to the condition number. Standard errors come from ``R``: ``(X'X)^{-1} = Π R^{-1} R^{-T} Π'`` (scaled back).

Example
-------
>>> import numpy as np
>>> X = np.column_stack([np.ones(5), np.arange(5.0)])
>>> b, info = least_squares(X, np.array([1.0, 3.0, 5.0, 7.0, 9.0]))
>>> np.round(b.astype(float), 12).tolist(), info["rank"]
([1.0, 2.0], 2)
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

RANK_TOL = 1e-12  # |R_jj| / |R_00| below this: the column is a combination of the earlier ones


def pivoted_qr(X: np.ndarray):
    """(Q, R, perm, scale, rank) of the column-scaled design."""
    X = np.asarray(X, dtype=np.float64)
    scale = np.sqrt(np.einsum("ij,ij->j", X, X))
    scale = np.where(scale > 0, scale, 1.0)
    Q, R, perm = sla.qr(X / scale, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    rank = int(np.sum(d > RANK_TOL * max(d[0], 1e-300))) if d.size else 0
    return Q, R, perm, scale, rank


def collinear_groups(X: np.ndarray, names) -> list[str]:
    """Describe each column that is a linear combination of others, e.g. ``"x3 = 2*x1 - x2"``."""
    Q, R, perm, scale, rank = pivoted_qr(X)
    out = []
    for j in range(rank, X.shape[1]):
        coef = sla.solve_triangular(R[:rank, :rank], R[:rank, j]) if rank else np.zeros(0)
        col = perm[j]
        # undo the scaling: X_col/s_col = sum c_i X_i/s_i
        terms = [(names[perm[i]], c * scale[col] / scale[perm[i]]) for i, c in enumerate(coef)
                 if abs(c) > 1e-8]
        if not terms:
            out.append(f"{names[col]} is all zeros")
            continue
        rhs = " + ".join(f"{c:.6g}*{nm}" for nm, c in terms).replace("+ -", "- ")
        out.append(f"{names[col]} = {rhs}")
    return out


def least_squares(X, y, w=None):
    """Weighted least squares ``argmin Σ w (y - Xb)²`` by pivoted QR with refinement.

    ``X`` and ``y`` may be ``np.longdouble``: the residuals of the refinement are then
    computed from those extended-precision values.

    Returns ``(b, info)`` with ``info`` holding ``rank``, ``xtx_inv`` (the unscaled
    ``(X'WX)^{-1}``), ``rss`` and ``refinements``.
    """
    Xl = np.asarray(X, dtype=np.longdouble)
    yl = np.asarray(y, dtype=np.longdouble)
    if w is not None:
        sw = np.sqrt(np.asarray(w, dtype=np.longdouble))
        Xl, yl = Xl * sw[:, None], yl * sw
    X64 = Xl.astype(np.float64)
    Q, R, perm, scale, rank = pivoted_qr(X64)
    p = X64.shape[1]
    if rank < p:
        return None, {"rank": rank}

    # Refinement of the augmented system [I A; A' 0][r; b] = [y; 0] (Björck 1967): unlike
    # refining b alone, it converges to full accuracy even when the residual is large.
    A = Xl[:, perm] / scale[perm].astype(np.longdouble)

    def correction(f, g):
        h = sla.solve_triangular(R, g.astype(np.float64), trans="T")
        qf = Q.T @ f.astype(np.float64)
        dx = sla.solve_triangular(R, qf - h)
        dr = f.astype(np.float64) - Q @ qf + Q @ h
        return dx, dr

    x = sla.solve_triangular(R, Q.T @ yl.astype(np.float64)).astype(np.longdouble)
    r = yl - A @ x
    steps = 0
    for steps in range(1, 8):
        dx, dr = correction(yl - r - A @ x, -(A.T @ r))
        x, r = x + dx, r + dr
        if np.max(np.abs(dx) / np.maximum(np.abs(x), 1e-300)) < 1e-18:
            break
    b = np.empty(p, dtype=np.longdouble)
    b[perm] = x / scale[perm].astype(np.longdouble)
    r = yl - Xl @ b
    Rinv = sla.solve_triangular(R, np.eye(p))
    inv_s = Rinv @ Rinv.T
    xtx_inv = np.empty((p, p))
    xtx_inv[np.ix_(perm, perm)] = inv_s
    xtx_inv /= np.outer(scale, scale)
    return b, {"rank": rank, "xtx_inv": xtx_inv, "rss": r @ r, "refinements": steps,
               "condition": float(np.linalg.cond(R))}
