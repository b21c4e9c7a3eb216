"""The built-in families. Importing this package registers every one of them."""

from ._base import Family, all_families, get_family, register  # noqa: F401
from . import normal  # noqa: F401
