"""Fixed and known parameter values of a family, checked once for every model that takes them."""

from __future__ import annotations

import numpy as np

from .. import constraints as C
from ..errors import OptionError


def check_fixed(fam, fixed):
    """``fixed`` checked against ``fam`` and completed with the family's known values.

    Parameters
    ----------
    fam : Family
    fixed : dict or None
        Parameters held at given values, and known values (binomial ``n``).

    Returns
    -------
    dict
        Every fixed and known value as a float array.

    Raises
    ------
    OptionError
        An unknown name, a known value with no default, or a value outside its constraint.

    Examples
    --------
    >>> from thetahat.families import get_family
    >>> from thetahat.families.fixed import check_fixed
    >>> float(check_fixed(get_family("normal"), {"mu": 0})["mu"])
    0.0
    """
    fixed = dict(fixed or {})
    allowed = set(fam.params) | set(fam.known)
    for k in fixed:
        if k not in allowed:
            raise OptionError(f"{fam.name} has no parameter {k!r}; its parameters are "
                              f"{', '.join(list(fam.params) + list(fam.known))}")
    for k, default in fam.known.items():
        if k not in fixed:
            if default is None:
                raise OptionError(f"{fam.name} needs the known value of {k!r}: pass fixed={{{k!r}: ...}} "
                                  f"(CLI: --fix {k}=...)")
            fixed[k] = default
    for k, v in fixed.items():
        try:
            arr = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise OptionError(f"fixed value of {k!r} is not a number: {v!r}") from None
        if k in fam.params and not fam.params[k].check(arr) and not C.on_edge(fam.params[k], arr):
            raise OptionError(f"fixed value {v!r} of {k!r} is outside its constraint ({fam.params[k].name})")
        if k in fam.known and fam.check_known is not None:
            fam.check_known(k, arr)
        fixed[k] = arr
    return fixed
