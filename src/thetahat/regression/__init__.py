"""Regression by maximum likelihood: linear (QR), GLMs, multinomial, ordered, censored, MAP.

``thetahat.regress`` is the entry point; see :func:`thetahat.regression.api.regress`.

Example
-------
>>> import numpy as np, thetahat
>>> X = np.column_stack([np.ones(6), [0.0, 1, 2, 3, 4, 5]])
>>> f = thetahat.regress(X, y=[1, 0, 2, 3, 5, 4], family="poisson")
>>> f.converged, round(f.loglik, 6)
(True, -8.844244)
"""

from .api import regress
from .checks import RankDeficientError, SeparationError
from .result import RegressionFit

try:  # nonlinear least squares lives in its own module, written separately
    from .nls import nls  # noqa: F401
except ImportError:  # pragma: no cover - before nls.py exists
    pass

__all__ = ["regress", "RegressionFit", "RankDeficientError", "SeparationError"]
if "nls" in globals():
    __all__.append("nls")
