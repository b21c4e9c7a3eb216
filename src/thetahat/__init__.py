"""thetahat: maximum likelihood estimation with exact derivatives and honest uncertainty."""

__all__ = ["Family", "Fit", "all_families", "custom", "errors", "family", "fit", "get_family"]
__all__ += ["Comparison", "compare", "read_column", "read_columns"]
__version__ = "0.1.0"

# Every name loads on first use, so that ``import thetahat`` costs next to nothing: the
# command line answers a usage error without NumPy, and a closed-form fit without JAX.
# {name: module} for a name the module defines (or the module itself); {name: (module, attr)} for an alias,
# and for the functions compare and custom, whose modules have their names.
_LAZY = {
    "Family": "thetahat.families", "all_families": "thetahat.families", "get_family": "thetahat.families",
    "family": ("thetahat.families", "get_family"), "custom": ("thetahat.custom", "custom"), "errors": "thetahat.errors",
    "fit": "thetahat.fitting", "Fit": "thetahat.result", "Comparison": "thetahat.compare",
    "compare": ("thetahat.compare", "compare"),
    "read_column": "thetahat.io", "read_columns": "thetahat.io",
    "regress": "thetahat.regression", "nls": "thetahat.regression", "losses": "thetahat.losses",
    "mixture": "thetahat.em", "hmm": "thetahat.em",
    "derive": "thetahat.theory", "fisher_information": "thetahat.theory", "kl": "thetahat.theory",
    "study": "thetahat.theory", "explain": "thetahat.theory",
    "lrt": "thetahat.inference.likelihood_ratio", "fit_many": "thetahat.grouped", "plots": "thetahat.plots",
}


def __getattr__(name):
    import importlib

    where = _LAZY.get(name)
    if name.startswith("__"):
        raise AttributeError(f"module 'thetahat' has no attribute {name!r}")
    if where is None:
        try:  # a subpackage not imported yet (thetahat.families, thetahat.engine, ...)
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'thetahat' has no attribute {name!r}") from None
    elif isinstance(where, tuple):
        value = getattr(importlib.import_module(where[0]), where[1])
    else:
        mod = importlib.import_module(where)
        value = mod if where.endswith("." + name) else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def _keep_functions():
    """``thetahat.compare`` and ``thetahat.custom`` are functions, whose modules have the same
    names: importing ``thetahat.compare`` sets the package's attribute to the module, which
    this package refuses, so that the name keeps meaning the function (``__getattr__``)."""
    import sys
    import types

    class Package(types.ModuleType):
        def __setattr__(self, name, value):
            if name in ("compare", "custom") and isinstance(value, types.ModuleType):
                return
            super().__setattr__(name, value)

    sys.modules[__name__].__class__ = Package


_keep_functions()
