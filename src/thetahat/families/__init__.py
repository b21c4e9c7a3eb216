"""The built-in families. Importing this package registers every one of them.

Each module in this folder declares one family or a small group of related ones;
every module not starting with an underscore is imported here.
"""

import importlib
import pkgutil

from ._base import Family, all_families, get_family, register  # noqa: F401

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")
