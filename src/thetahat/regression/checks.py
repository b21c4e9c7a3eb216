"""Designs and data for which the MLE does not exist: collinear columns, separation.

Both raise a :class:`thetahat.errors.DataError` subclass whose message names the
columns involved, instead of returning enormous or arbitrary coefficients.

Separation is found by the linear programme of Konis (2007): find a direction ``d``
(each entry in [-1, 1], columns scaled to unit maximum) with ``s_i x_i'd >= 0`` for
every row, where ``s_i = +1`` for a success and ``-1`` for a failure (binomial rows
with both outcomes need ``x_i'd = 0``), maximising ``Σ s_i x_i'd``. A positive optimum
means the log-likelihood increases without bound along ``d``: the MLE does not exist.

Example
-------
>>> import numpy as np
>>> X = np.column_stack([np.ones(6), [1.0, 2, 3, 4, 5, 6]])
>>> y = np.array([0.0, 0, 0, 1, 1, 1])
>>> separating_columns(X, y, None, ("Intercept", "x"))
['x']
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .linear import collinear_groups


class RankDeficientError(DataError):
    """The design matrix has linearly dependent columns."""


class SeparationError(DataError):
    """Some combination of columns predicts a binary outcome perfectly: no finite MLE."""


def check_rank(X, names, where="the design matrix"):
    """Raise :class:`RankDeficientError` naming the collinear columns, if any."""
    groups = collinear_groups(X, names)
    if groups:
        raise RankDeficientError(f"{where} is rank-deficient (collinear columns): {'; '.join(groups)}; "
                                 "drop one of the columns named")


def gram_is_singular(H_block) -> bool:
    """Whether a (negative) Gram-type block is numerically singular after diagonal scaling."""
    A = -np.asarray(H_block)
    d = np.sqrt(np.abs(np.diag(A)))
    if np.any(d == 0):
        return True
    ev = np.linalg.eigvalsh(A / np.outer(d, d))
    return bool(ev[0] <= 1e-11 * ev[-1])


def _separating_direction(X, y, trials):
    from scipy.optimize import linprog

    s = np.where(y > 0, 1.0, -1.0)
    both = np.zeros(len(y), dtype=bool) if trials is None else (y > 0) & (y < trials)
    scale = np.max(np.abs(X), axis=0)
    scale[scale == 0] = 1.0
    Xs = X / scale
    one = ~both
    A_ub = -(s[one, None] * Xs[one])
    A_eq = Xs[both] if both.any() else None
    c = -np.sum(s[one, None] * Xs[one], axis=0)
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(A_ub.shape[0]), A_eq=A_eq,
                  b_eq=None if A_eq is None else np.zeros(A_eq.shape[0]),
                  bounds=[(-1, 1)] * X.shape[1], method="highs")
    if res.status != 0 or -res.fun <= 1e-7 * max(1.0, len(y)) ** 0.5:
        return None
    return res.x


def separating_columns(X, y, trials, names):
    """Columns of a separating direction (empty when the outcome is not separated).

    Where one column (with the constant columns) separates on its own, only the
    columns that do so are named; otherwise every column of the LP's direction.
    """
    X = np.asarray(X, dtype=float)
    d = _separating_direction(X, y, trials)
    if d is None:
        return []
    big = np.flatnonzero(np.abs(d) > 1e-6 * np.max(np.abs(d)))
    const = [j for j in range(X.shape[1]) if np.all(X[:, j] == X[0, j])]
    alone = [j for j in big if j not in const and
             _separating_direction(X[:, const + [j]], y, trials) is not None]
    if alone:
        return [names[j] for j in alone]
    cols = [names[j] for j in big if j not in const]
    return cols or [names[j] for j in big]


def separation_message(cols, family):
    lab = ", ".join(repr(c) for c in cols)
    verb = "separates" if len(cols) == 1 else "separate"
    return (f"{'column' if len(cols) == 1 else 'columns'} {lab} {verb} the outcome of the {family} regression "
            "(quasi-)completely: the log-likelihood increases without bound as the coefficient grows, so the "
            "MLE does not exist; drop or recode the column, or fit with penalty='l2'")
