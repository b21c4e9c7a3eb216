"""The built-in families. Importing this package registers every one of them.

Each module in this folder declares one family or a small group of related ones;
every module not starting with an underscore is imported here, except the helpers of JAX
functions (``special``), which the families import at their first use: importing the
families does not import JAX.
"""

import importlib
import pkgutil

from ._base import Family, Predictor, all_families, get_family, register  # noqa: F401

_HELPERS = ("special",)

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_") and _info.name not in _HELPERS:
        importlib.import_module(f"{__name__}.{_info.name}")
