"""What the estimation core returns: a frozen :class:`Solution` with a :class:`Result` code.

A solver (or a closed form, or a profile iteration) produces one ``Solution``; nothing
edits it afterwards. A later stage that learns more -- that the maximum found lies where
the likelihood is unbounded, say -- makes a new one with :meth:`Solution.replace`, so
every ``Solution`` says what its own producer saw.

Examples
--------
>>> import numpy as np
>>> from thetahat.engine.solution import Result, Solution
>>> s = Solution(u=np.zeros(1), loglik=-1.0, grad=np.zeros(1), hess=-np.eye(1), iterations=3,
...              result=Result.CONVERGED, message="converged: Newton decrement below tolerance",
...              method="newton")
>>> s.converged, s.replace(result=Result.NO_MLE, message="no MLE").converged
(True, False)
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field

import numpy as np


class Result(enum.Enum):
    """Why a search stopped (the message gives the particulars)."""

    CONVERGED = "converged"  # the Newton decrement, the step or the gradient below tolerance
    CLOSED_FORM = "closed form"  # an exact estimator (closed form, profile, coordinate-wise maxima)
    MAX_ITERATIONS = "iteration limit"
    NONFINITE_START = "log-likelihood not finite at the start"
    NONFINITE_DERIVATIVES = "non-finite gradient or Hessian"
    NO_ASCENT = "no step increased the log-likelihood"
    NOT_STATIONARY = "stopped where the gradient is not zero"
    SOLVER_FAILED = "the solver gave up"
    ZERO_LIKELIHOOD = "the estimate has zero likelihood"
    NO_MLE = "the likelihood is unbounded: no maximum exists"

    @property
    def successful(self) -> bool:
        return self in (Result.CONVERGED, Result.CLOSED_FORM)


@dataclass(frozen=True)
class Solution:
    """A maximum of a log-likelihood objective in its unconstrained coordinates ``u``.

    Attributes
    ----------
    u : numpy.ndarray
        The maximiser, in unconstrained coordinates.
    loglik : float
    grad, hess : numpy.ndarray
        Gradient and Hessian in ``u`` at the maximiser (``hess`` NaN where it does not
        exist, an estimate on the edge of the space).
    iterations : int
    result : Result
    message : str
        One sentence a user can read: what happened, in words.
    method : str
        ``"closed"``, ``"newton"``, ``"scoring"``, ``"bfgs"``, ``"gradient"``, ``"coordinate"``.
    trace, path : tuple
        The log-likelihood and ``u`` after each accepted step.
    params : dict or None
        The estimates in natural coordinates where the estimator computed them itself
        (a closed form, a profile): exact, with no round trip through ``u``.
    jacobian : numpy.ndarray or None
        ``d params / d u`` at ``u``, where the producer had it.
    starts, starts_converged : int
        Starting points tried, and how many of them converged.
    fallbacks : tuple of str
        Earlier solvers of an ordered list that did not converge, and why.
    """

    u: np.ndarray
    loglik: float
    grad: np.ndarray
    hess: np.ndarray
    iterations: int
    result: Result
    message: str
    method: str
    trace: tuple = ()
    path: tuple = ()
    params: dict | None = None
    jacobian: np.ndarray | None = field(default=None, repr=False)
    starts: int = 1
    starts_converged: int | None = None
    fallbacks: tuple = ()

    @property
    def converged(self) -> bool:
        return self.result.successful

    @property
    def reason(self) -> str:
        return self.message

    def replace(self, **changes) -> "Solution":
        """A copy with ``changes`` (the original is never edited)."""
        return dataclasses.replace(self, **changes)
