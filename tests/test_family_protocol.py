"""The Family protocol (families/_base.py): every hook that a family defines is declared on
Family with a default, so the engine reads it as an attribute (no getattr/hasattr probing),
and the class docstring documents each optional one."""

import inspect

from thetahat.censoring import Censored
from thetahat.families import Family, all_families


def _own_public_names(cls):
    names = set()
    for c in cls.__mro__:
        if c is Family:
            break
        names |= {k for k in vars(c) if not k.startswith("_")}
    return names


def test_every_public_attribute_of_a_family_is_declared_on_family():
    undeclared = {f.name: sorted(n for n in _own_public_names(type(f)) if not hasattr(Family, n))
                  for f in all_families()}
    # (the censoring wrapper's own method, with_nonregular, comes with its nonregular_mle)
    undeclared["(censoring wrapper)"] = sorted(n for n in _own_public_names(Censored) - {"with_nonregular",
                                                                                          "description"}
                                               if not hasattr(Family, n))
    assert {k: v for k, v in undeclared.items() if v} == {}


def test_every_optional_hook_is_documented_in_the_protocol():
    doc = inspect.getdoc(Family)
    hooks = [k for k, v in vars(Family).items() if not k.startswith("_") and v is None]
    assert hooks  # (the optional facts default to None)
    assert [k for k in hooks if k not in doc] == []
