"""The record of a family's density in SymPy, for :func:`thetahat.derive`.

A family that can be derived symbolically says so with a ``symbolic()`` method in its own
file, returning a :class:`SymbolicFamily`. Each density is written from the textbook formula
(the same one as the family's docstring), not generated from the JAX code, so that a
derivation is an independent check of the numerical engine. Parameters carry SymPy
assumptions (``positive``, ``real``) matching the family's constraints; a parameter on
(0, 1) is declared positive and flagged in ``unit`` so that the sign checks can use
``p = q / (1 + q)``. SymPy is imported only when a ``symbolic()`` is called.

Example
-------
>>> from thetahat.families import get_family
>>> s = get_family("exponential").symbolic()
>>> s.density, s.names
(lambda*exp(-lambda*x), ['lam'])
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SymbolicFamily:
    """A density in SymPy, with what :func:`thetahat.derive` needs to know about it."""

    name: str
    density: object  # a sympy expression
    x: object  # the sympy symbol of the observation
    params: list  # the sympy symbols solved for, in order
    names: list  # their names in thetahat (``sigma2`` where the family uses ``sigma``)
    support: tuple  # (lower, upper) for integration or summation
    discrete: bool = False
    unit: tuple = ()  # symbols constrained to (0, 1)
    known: dict = field(default_factory=dict)  # thetahat name -> sympy symbol of a known constant
    derived: dict = field(default_factory=dict)  # family name -> expression of the solved params (invariance)
    nonregular: str = ""  # explanation when the maximum is on the boundary of the support
    boundary_estimators: dict = field(default_factory=dict)  # name -> (description, numpy function)
    note: str = ""


def positive(name):
    """A positive real SymPy symbol."""
    import sympy as sp

    return sp.Symbol(name, positive=True)
