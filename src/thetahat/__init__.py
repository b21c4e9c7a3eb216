"""thetahat: maximum likelihood estimation with exact derivatives and honest uncertainty."""

from . import errors
from .families import Family, all_families, get_family
from .custom import custom
from .fitting import fit
from .compare import Comparison, compare
from .io import read_column, read_columns
from .result import Fit

family = get_family

__all__ = ["Family", "Fit", "all_families", "custom", "errors", "family", "fit", "get_family"]
__all__ += ["Comparison", "compare", "read_column", "read_columns"]
__version__ = "0.1.0"

# Larger parts load on first use, so that ``import thetahat`` (and the CLI) stays quick.
_LAZY = {
    "regress": "thetahat.regression", "nls": "thetahat.regression", "losses": "thetahat.losses",
    "mixture": "thetahat.em", "hmm": "thetahat.em",
    "derive": "thetahat.theory", "fisher_information": "thetahat.theory", "kl": "thetahat.theory",
    "study": "thetahat.theory", "explain": "thetahat.theory",
    "lrt": "thetahat.inference.likelihood_ratio", "fit_many": "thetahat.grouped", "plots": "thetahat.plots",
}


def __getattr__(name):
    import importlib

    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'thetahat' has no attribute {name!r}")
    mod = importlib.import_module(where)
    value = mod if where.endswith("." + name) else getattr(mod, name)
    globals()[name] = value
    return value
