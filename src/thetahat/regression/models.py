"""The regression families: every family that declares a linear predictor, and a few models.

A regression model is (family, link): :func:`get_model` finds the family by name (the
registry of :mod:`thetahat.families`, so a family file that declares a
:class:`~thetahat.families.Predictor` is a regression family with no line here) and builds
its :class:`~.model.Model` (:mod:`.family_model`). Besides the families there are
``tobit`` (the normal with left/right censoring points), ``gamma_censored`` (the gamma GLM
with right-censored rows), and ``multinomial`` and ``ordered``, which have no family
(:mod:`.rows`). The binary links keep hand-written rows (:mod:`.rows`: stable in both
tails). What this module adds to a family is what regression reports: GLM deviances,
aliases of the regression literature, notes.

Example
-------
>>> import jax.numpy as jnp
>>> m = get_model("poisson")
>>> round(float(m.loglik(jnp.array([0.0]), jnp.zeros(0), 2.0, 0.0)), 6)   # log Poisson(2; 1)
-1.693147
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import constraints as C
from ..errors import DataError, OptionError, SupportError
from .family_model import family_model
from .model import Model, xlogy_np
from .rows import binary_model, multinomial_model, ordered_model  # noqa: F401

# the models that are not one family's plain density: (family, censoring) or None (no family)
_VARIANTS = {"tobit": ("normal", "censoring"), "gamma_censored": ("gamma", "event"), "multinomial": None,
             "ordered": None}
_CLASS_LINKS = {"multinomial": ("softmax",), "ordered": ("logit", "probit")}
ALIASES = {"linear": "normal", "gaussian": "normal", "ols": "normal", "logistic": "bernoulli", "logit": "bernoulli",
           "probit": "bernoulli", "nb2": "negative_binomial", "negbin": "negative_binomial",
           "negative-binomial": "negative_binomial", "inverse-gaussian": "inverse_gaussian",
           "invgauss": "inverse_gaussian", "mnlogit": "multinomial", "softmax": "multinomial",
           "ordered_logit": "ordered", "ologit": "ordered", "ordered_probit": "ordered", "oprobit": "ordered",
           "log-logistic": "loglogistic", "log_logistic": "loglogistic", "log-normal": "lognormal",
           "weibull_aft": "weibull"}
ALIAS_LINKS = {"probit": "probit", "ordered_probit": "probit", "oprobit": "probit"}

# what a GLM reports beyond its likelihood: (Var(y) as a function of the mean, unit deviance, penalizable)
_GLM = {
    "normal": (lambda mu, aux: 1.0, lambda y, mu, aux: (y - mu) ** 2, True),
    "poisson": (lambda mu, aux: mu, lambda y, mu, aux: 2 * (xlogy_np(y, y / mu) - (y - mu)), True),
    "gamma": (lambda mu, aux: mu ** 2, lambda y, mu, aux: 2 * (-np.log(y / mu) + (y - mu) / mu), False),
    "inverse_gaussian": (lambda mu, aux: mu ** 3, lambda y, mu, aux: (y - mu) ** 2 / (mu ** 2 * y), False),
}
_NOTES = {"negative_binomial": ("NB2: Var(y) = mu + alpha mu^2",),
          "tobit": ("predict() gives the latent mean x'b, not E[y]",),
          "gamma_censored": ("right-censored gamma: predict() gives the mean of the uncensored time",),
          "zinb": ("zero-inflated NB2: exp(x'b) is the mean of the count part; predict() gives "
                   "(1 - pi) exp(x'b)",)}
_AFT_NOTE = ("predict() gives the median survival time",)


def _family(name):
    """The registered family named ``name`` (a family's own aliases count), or None."""
    from ..errors import UnknownFamilyError
    from ..families import get_family

    try:
        return get_family(name)
    except UnknownFamilyError:
        return None


def family_names() -> tuple:
    """Every regression family: the families with a predictor, then the models of this module."""
    from ..families import all_families

    return tuple(f.name for f in all_families() if f.predictor is not None) + tuple(_VARIANTS)


def aft_names() -> tuple:
    """The accelerated failure-time families: those whose linear predictor is a log scale."""
    from ..families import all_families

    return tuple(f.name for f in all_families() if f.predictor is not None and f.predictor.target == "log_scale")


def takes_event(name) -> bool:
    """Whether the model ``name`` (resolved) takes an event indicator (right-censored rows)."""
    return name == "gamma_censored" or name in aft_names()


def _links(name):
    if name in _CLASS_LINKS:
        return _CLASS_LINKS[name]
    fam = _family(_VARIANTS[name][0] if name in _VARIANTS else name)
    return fam.predictor.links


def resolve(family: str, link: str | None):
    """(canonical family name, link), or an OptionError naming what is allowed."""
    key = str(family).strip().lower().replace(" ", "_")
    name = ALIASES.get(key, key)
    if name not in _VARIANTS:
        fam = _family(name)
        if fam is None:
            raise OptionError(f"unknown regression family {family!r}; choose one of {', '.join(family_names())}")
        if fam.predictor is None:
            raise OptionError(f"{fam.name} has no mean, location or scale declared for a linear predictor to "
                              f"model: it is no regression family; choose one of {', '.join(family_names())}")
        name = fam.name
    links = _links(name)
    if link is None:
        link = ALIAS_LINKS.get(key, links[0])
    link = str(link).lower()
    if link not in links:
        raise OptionError(f"family {name} takes link {' or '.join(links)}, not {link!r}")
    return name, link


def get_model(family: str, link: str | None = None) -> Model:
    """The :class:`Model` for a family without class levels (every one but multinomial/ordered)."""
    return _make(*resolve(family, link))


@lru_cache(maxsize=None)  # one object per (family, link), so compiled code is reused
def _make(name, link) -> Model:
    if name in _CLASS_LINKS:
        raise OptionError(f"{name} needs the number of classes; build it with multinomial_model/ordered_model")
    base, censoring = _VARIANTS.get(name, (name, None))
    fam = _family(base)
    if name in ("bernoulli", "binomial"):
        return binary_model(name, link, fam)
    meta = {"notes": _NOTES.get(name, _AFT_NOTE if fam.predictor.target == "log_scale" else ())}
    if name in _GLM:
        variance, unit_deviance, penalizable = _GLM[name]
        meta.update(glm=True, variance=variance, unit_deviance=unit_deviance, penalizable=penalizable)
    if fam.predictor.target == "log_scale":
        censoring = "event"
    # the censored gamma reports as the gamma it is
    return family_model(fam, base if name == "gamma_censored" else name, link, censoring, **meta)


def check_response(model: Model, y: np.ndarray, aux: np.ndarray | None, where: str) -> None:
    """Raise a specific error when ``y`` cannot come from ``model`` (names the first bad row)."""
    def first(mask, what):
        i = int(np.flatnonzero(mask)[0])
        raise SupportError(f"{model.name} regression needs {what}; the response {where} has {y[i]:g} at data row {i + 1} "
                           f"({int(mask.sum())} such rows)")

    name = model.name
    support = None if model.family is None else model.family.support
    if name == "bernoulli":
        bad = (y != 0) & (y != 1)
        if bad.any():
            first(bad, "a binary response (0 or 1)")
        if np.all(y == y[0]):
            raise DataError(f"the response {where} is {y[0]:g} in every row: a bernoulli regression needs both "
                            "0s and 1s")
    elif name == "binomial":
        bad = (y < 0) | (y > aux) | (y != np.round(y))
        if bad.any():
            first(bad, "whole-number successes between 0 and the number of trials")
    elif isinstance(support, C.IntegerInterval):
        if (y < support.lower).any():
            first(y < support.lower, "non-negative counts")
        if (y != np.round(y)).any():
            first(y != np.round(y), "whole-number counts")
    elif isinstance(support, C.GreaterThan) and support.lower == 0:
        bad = y < 0 if support.inclusive else y <= 0
        if bad.any():
            first(bad, "a non-negative response" if support.inclusive else "a positive response")
