"""A regression model built from a family: its log-density at parameters set by a link.

The family declares, in its :class:`~thetahat.families.Predictor`, what a linear predictor
models: its mean through a link (a GLM) or the log of its scale (an accelerated failure
time model), and which parameters are estimated beside the coefficients. A row's
log-likelihood is the family's ``logpdf`` at those parameters, its ``sf`` for a
right-censored time, and its ``cdf`` for a left-censored value; nothing of the density is
written again here.

Example
-------
>>> import jax.numpy as jnp, thetahat
>>> m = family_model(thetahat.family("poisson"), "poisson", "log", None)
>>> round(float(m.loglik(jnp.array([0.0]), jnp.zeros(0), 2.0, 0.0)), 6)   # log Poisson(2; 1)
-1.693147
"""

from __future__ import annotations

import numpy as np

from .. import constraints as C
from .._jax import jnp, jsp
from ..censoring import log_probability
from ..errors import OptionError
from .model import Model


def _inverse_link(link):
    if link == "identity":
        return lambda eta: eta
    if link == "log":
        return jnp.exp
    if link == "inverse":
        return lambda eta: 1.0 / eta
    if link == "logit":
        return lambda eta: 1.0 / (1.0 + jnp.exp(-eta))
    if link == "probit":
        return jsp.ndtr
    if link == "cloglog":
        return lambda eta: -jnp.expm1(-jnp.exp(eta))
    raise OptionError(f"unknown link {link!r}")


def _positive(support) -> bool:
    lower = getattr(support, "lower", None)
    return lower is not None and lower >= 0


def _parameters(family, link):
    """``(eta, phi, aux) -> the family's parameters`` (JAX), through the link and the free
    parameters' bijections."""
    pr = family.predictor
    inv = jnp.exp if pr.target == "log_scale" else _inverse_link(link)
    guard = pr.target == "mean" and link != "log" and _positive(family.support)
    trials = "n" in family.known

    def params(eta, phi, aux):
        """(the parameters, whether they are the family's): a mean outside (0, inf) is none, and
        the row is NaN there (its derivatives 0, from a stand-in mean of 1), so a step is refused."""
        q = {name: c.forward(phi[i]) for i, (name, c) in enumerate(pr.free)}
        m = inv(eta)
        ok = m > 0 if guard else True
        p = pr.params(jnp.where(ok, m, 1.0) if guard else m, q)
        return ({**p, "n": aux} if trials else p), ok

    return params


def _log_tails(family):
    """(log F, log S) of the family: its own where it has them (accurate in the far tails), else
    the log of its cdf and sf."""
    logcdf = family.logcdf or (lambda y, p: log_probability(family.cdf(y, p)))
    logsf = family.logsf or (lambda y, p: log_probability(family.sf(y, p)))
    return logcdf, logsf


def _loglik(family, params, censoring):
    logcdf, logsf = _log_tails(family)

    def loglik(eta, phi, y, aux):
        p, ok = params(eta[0], phi, aux)
        lp = family.logpdf(y, p)
        if censoring == "event":
            lp = jnp.where(aux > 0, lp, logsf(y, p))
        elif censoring == "censoring":
            lp = jnp.where(aux < 0, logcdf(y, p), jnp.where(aux > 0, logsf(y, p), lp))
        return jnp.where(ok, lp, jnp.nan)

    return loglik


def _free_np(pr, phi):
    return {name: c.forward_np(float(phi[i])) for i, (name, c) in enumerate(pr.free)}


def _mean(family, link):
    """``(eta, phi) -> E[y]`` of a GLM, or the median time of an AFT model (its scale times
    the median at scale 1, from the family's scipy law)."""
    pr = family.predictor
    if pr.target == "log_scale":
        def median(eta, phi):
            p = pr.params(1.0, _free_np(pr, phi))
            med = float(family.to_scipy({k: float(v) for k, v in p.items()}).median())
            return jnp.exp(eta[..., 0]) * med

        return median
    inv = _inverse_link(link)

    def mean(eta, phi):
        m = inv(eta[..., 0])
        return m if pr.mean is None else pr.mean(m, _free_np(pr, phi))

    return mean


def family_model(family, name, link, censoring, **meta) -> Model:
    """The :class:`Model` of ``family`` with ``link``; ``censoring`` is None, ``"event"`` (an
    event indicator per row: 0 is right-censored) or ``"censoring"`` (-1 left, +1 right);
    ``meta`` the model's other fields (GLM deviance, notes, ...)."""
    pr = family.predictor
    if censoring is not None and (family.sf is None or (censoring == "censoring" and family.cdf is None)):
        raise OptionError(f"{family.name} has no survival function in thetahat: it cannot model censored rows")
    uses_aux = censoring or ("trials" if "n" in family.known else None)
    reported = tuple((nm, c) for nm, c in pr.free)
    return Model(name, link, _loglik(family, _parameters(family, link), censoring), _mean(family, link),
                 extra=tuple(f"u_{nm}" for nm, _ in pr.free), reported=reported, uses_aux=uses_aux,
                 family=family, **meta)


def free_start(family, y, w) -> tuple[float, np.ndarray]:
    """A start from the family's own start on the response, as if it had no covariates:
    (the modelled mean or scale, the free parameters' unconstrained values)."""
    pr = family.predictor
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=float)
    try:
        s = family.start(np.asarray(y, dtype=float), w)
    except (ValueError, ZeroDivisionError, FloatingPointError):
        s = {}
    phi = np.array([c.inverse_np(float(s.get(nm, 1.0 if c is C.positive else 0.5))) for nm, c in pr.free])
    ybar = float(np.sum(w * y) / np.sum(w))
    if pr.modelled is not None and pr.modelled in s:
        m = float(s[pr.modelled])
    elif pr.target == "log_scale":
        m = float(np.exp(np.sum(w * np.log(np.maximum(y, 1e-300))) / np.sum(w)))
    else:
        m = ybar
    return m, phi
