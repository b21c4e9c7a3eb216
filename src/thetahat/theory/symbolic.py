"""SymPy densities of the built-in families, for :func:`thetahat.derive`.

Each family writes its own, from the textbook formula, in its file (a ``symbolic()``
method returning a :class:`~thetahat.families.symbolic_form.SymbolicFamily`); this module
finds them.

Example
-------
>>> from thetahat.theory import symbolic
>>> "weibull" in symbolic.names(), symbolic.builtin("weibull").names
(True, ['shape', 'scale'])
"""

from __future__ import annotations

from ..errors import UnknownFamilyError
from ..families import all_families, get_family
from ..families.symbolic_form import SymbolicFamily  # noqa: F401  (derive builds custom ones)


def builtin(name: str) -> SymbolicFamily | None:
    """The SymPy density of a built-in family, or ``None`` if it has none."""
    try:
        fam = get_family(name)
    except UnknownFamilyError:  # (derive says which names it knows)
        return None
    return None if fam.symbolic is None else fam.symbolic()


def names() -> list[str]:
    """The families that have a SymPy density."""
    return sorted(f.name for f in all_families() if f.symbolic is not None)
