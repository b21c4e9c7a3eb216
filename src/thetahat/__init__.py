"""thetahat: maximum likelihood estimation with exact derivatives and honest uncertainty."""

from . import _jax  # noqa: F401  (float64 + compilation cache, before anything else)
from . import errors
from .families import Family, all_families, get_family
from .custom import custom
from .fitting import fit
from .compare import Comparison, compare
from .io import read_column
from .result import Fit

family = get_family

__all__ = ["Family", "Fit", "all_families", "custom", "errors", "family", "fit", "get_family"]
__all__ += ["Comparison", "compare", "read_column"]
__version__ = "0.1.0"
