"""Per-observation log-likelihoods of the regression families, written for JAX.

Every model is a log-likelihood ``loglik(eta, phi, y, aux)`` of ONE observation, where
``eta`` holds the observation's ``k`` linear predictors (``k = 1`` except multinomial),
``phi`` the model's ``m`` extra parameters on an unconstrained scale (log σ, log α,
cut points, ...) and ``aux`` an optional per-row number (binomial trials, censoring
indicator). The Newton solver (:mod:`._newton`) differentiates it with respect to
``(eta, phi)`` only and carries the chain rule through the design matrix itself, so
the Hessian costs one ``X'WX`` matmul per iteration.

Example
-------
>>> import jax.numpy as jnp
>>> m = get_model("poisson")
>>> round(float(m.loglik(jnp.array([0.0]), jnp.zeros(0), 2.0, 0.0)), 6)   # log Poisson(2; 1)
-1.693147
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np

from .._jax import jnp, jsp
from ..errors import DataError, OptionError, SupportError

_BIG = 1e6  # stands in for ±infinity as the outer cut points of an ordered model


@dataclass(frozen=True)
class Model:
    """One regression family with one link, fixed at construction (hashable, no data)."""

    name: str
    link: str | None
    loglik: Callable  # (eta[k], phi[m], y, aux) -> scalar
    mean: Callable  # (eta[k], phi[m]) -> E[y] (or class probabilities)
    extra: tuple = ()  # names of the unconstrained extra parameters phi
    reported: tuple = ()  # (name, transform) of each extra parameter as reported
    k: int = 1  # linear predictors per observation
    uses_aux: str | None = None  # "trials" or "event"
    glm: bool = False  # deviance is the sum of GLM unit deviances
    binary: bool = False
    ordinal: bool = False
    multiclass: bool = False
    penalizable: bool = False
    variance: Callable | None = None  # Var(y) as a function of the mean, for Pearson residuals
    unit_deviance: Callable | None = None  # (y, mu, aux) -> d_i, numpy
    notes: tuple = field(default_factory=tuple)


def _softplus(x):
    return jnp.logaddexp(0.0, x)


# ---- binary and binomial -----------------------------------------------------------
def _log_p_q(eta, link):
    """(log p, log(1-p)) for a binary-outcome link, stable in both tails."""
    if link == "logit":
        return -_softplus(-eta), -_softplus(eta)
    if link == "probit":
        return jsp.log_ndtr(eta), jsp.log_ndtr(-eta)
    if link == "cloglog":
        e = jnp.exp(jnp.minimum(eta, 700.0))
        return jnp.log(-jnp.expm1(-e)), -e
    raise OptionError(f"unknown link {link!r}")


def _p_of(eta, link):
    if link == "logit":
        return 1.0 / (1.0 + jnp.exp(-eta))
    if link == "probit":
        return jsp.ndtr(eta)
    return -jnp.expm1(-jnp.exp(eta))


def _binary(link):
    def ll(eta, phi, y, aux):
        lp, lq = _log_p_q(eta[0], link)
        return jnp.where(y > 0, lp, 0.0) + jnp.where(y < 1, lq, 0.0)

    return Model("bernoulli", link, ll, lambda eta, phi: _p_of(eta[..., 0], link), glm=True, binary=True,
                 penalizable=True, variance=lambda mu, aux: mu * (1 - mu),
                 unit_deviance=lambda y, mu, aux: -2 * (_xlogy(y, mu) + _xlogy(1 - y, 1 - mu)))


def _binomial(link):
    def ll(eta, phi, y, n):
        lp, lq = _log_p_q(eta[0], link)
        comb = jsp.gammaln(n + 1) - jsp.gammaln(y + 1) - jsp.gammaln(n - y + 1)
        return comb + jnp.where(y > 0, y * lp, 0.0) + jnp.where(n - y > 0, (n - y) * lq, 0.0)

    def dev(y, mu, n):
        f = y / n
        return -2 * n * (_xlogy(f, mu) - _xlogy(f, f) + _xlogy(1 - f, 1 - mu) - _xlogy(1 - f, 1 - f))

    return Model("binomial", link, ll, lambda eta, phi: _p_of(eta[..., 0], link), uses_aux="trials", glm=True,
                 binary=True, penalizable=True, variance=lambda mu, n: mu * (1 - mu) / n, unit_deviance=dev)


# ---- counts -------------------------------------------------------------------------
def _poisson(link):
    def ll(eta, phi, y, aux):
        return y * eta[0] - jnp.exp(eta[0]) - jsp.gammaln(y + 1)

    return Model("poisson", "log", ll, lambda eta, phi: jnp.exp(eta[..., 0]), glm=True, penalizable=True,
                 variance=lambda mu, aux: mu,
                 unit_deviance=lambda y, mu, aux: 2 * (_xlogy(y, y / mu) - (y - mu)))


def _negbin(link):
    # NB2: Var(y) = mu + alpha mu^2; phi = log alpha
    def ll(eta, phi, y, aux):
        a = jnp.exp(phi[0])
        r = 1.0 / a
        log_mu = eta[0]
        # log(alpha mu / (1 + alpha mu)) and log(1 / (1 + alpha mu)), stable for large alpha mu
        t = phi[0] + log_mu
        return (jsp.gammaln(y + r) - jsp.gammaln(r) - jsp.gammaln(y + 1) - r * _softplus(t) + y * (t - _softplus(t)))

    return Model("negative_binomial", "log", ll, lambda eta, phi: jnp.exp(eta[..., 0]), extra=("log_alpha",),
                 reported=(("alpha", "exp"),), notes=("NB2: Var(y) = mu + alpha mu^2",))


# ---- positive continuous -------------------------------------------------------------
def _log_mu(eta, link):
    if link == "log":
        return eta
    if link == "inverse":  # mu = 1/eta, needs eta > 0
        return jnp.where(eta > 0, -jnp.log(jnp.where(eta > 0, eta, 1.0)), jnp.nan)
    if link == "identity":
        return jnp.where(eta > 0, jnp.log(jnp.where(eta > 0, eta, 1.0)), jnp.nan)
    raise OptionError(f"unknown link {link!r}")


def _mu_of(eta, link):
    return jnp.exp(_log_mu(eta, link))


def _gamma(link):
    # phi = log shape nu; mean mu: density with rate nu/mu
    def ll(eta, phi, y, aux):
        nu = jnp.exp(phi[0])
        lmu = _log_mu(eta[0], link)
        return nu * (phi[0] - lmu) + (nu - 1) * jnp.log(y) - nu * y * jnp.exp(-lmu) - jsp.gammaln(nu)

    return Model("gamma", link, ll, lambda eta, phi: _mu_of(eta[..., 0], link), extra=("log_shape",),
                 reported=(("shape", "exp"),), glm=True, variance=lambda mu, aux: mu ** 2,
                 unit_deviance=lambda y, mu, aux: 2 * (-np.log(y / mu) + (y - mu) / mu))


def _gamma_censored(link):
    """The gamma GLM's density for observed times, its survival function Q(nu, nu y / mu) (exact
    derivatives in the shape too: families.special) for right-censored ones; aux is the event."""
    from ..families.special import gammaincc

    def ll(eta, phi, y, aux):
        nu = jnp.exp(phi[0])
        lmu = _log_mu(eta[0], link)
        dens = nu * (phi[0] - lmu) + (nu - 1) * jnp.log(y) - nu * y * jnp.exp(-lmu) - jsp.gammaln(nu)
        surv = jnp.log(gammaincc(nu, nu * y * jnp.exp(-lmu)))
        return jnp.where(aux > 0, dens, surv)

    return Model("gamma", link, ll, lambda eta, phi: _mu_of(eta[..., 0], link), extra=("log_shape",),
                 reported=(("shape", "exp"),), uses_aux="event",
                 notes=("right-censored gamma: predict() gives the mean of the uncensored time",))


def _inverse_gaussian(link):
    # phi = log lambda; Var(y) = mu^3 / lambda
    def ll(eta, phi, y, aux):
        lam = jnp.exp(phi[0])
        mu = _mu_of(eta[0], link)
        return 0.5 * (phi[0] - math.log(2 * math.pi) - 3 * jnp.log(y)) - lam * (y - mu) ** 2 / (2 * mu ** 2 * y)

    return Model("inverse_gaussian", link, ll, lambda eta, phi: _mu_of(eta[..., 0], link), extra=("log_lambda",),
                 reported=(("lambda", "exp"),), glm=True, variance=lambda mu, aux: mu ** 3,
                 unit_deviance=lambda y, mu, aux: (y - mu) ** 2 / (mu ** 2 * y))


# ---- normal and censored normal --------------------------------------------------------
def _normal(link):
    def ll(eta, phi, y, aux):
        z = (y - eta[0]) * jnp.exp(-phi[0])
        return -0.5 * z * z - phi[0] - 0.5 * math.log(2 * math.pi)

    return Model("normal", "identity", ll, lambda eta, phi: eta[..., 0], extra=("log_sigma",),
                 reported=(("sigma", "exp"),), glm=True, penalizable=True, variance=lambda mu, aux: 1.0,
                 unit_deviance=lambda y, mu, aux: (y - mu) ** 2)


def _tobit(link):
    # aux: 0 observed, -1 left-censored at y, +1 right-censored at y
    def ll(eta, phi, y, aux):
        z = (y - eta[0]) * jnp.exp(-phi[0])
        dens = -0.5 * z * z - phi[0] - 0.5 * math.log(2 * math.pi)
        return jnp.where(aux < 0, jsp.log_ndtr(z), jnp.where(aux > 0, jsp.log_ndtr(-z), dens))

    return Model("tobit", "identity", ll, lambda eta, phi: eta[..., 0], extra=("log_sigma",),
                 reported=(("sigma", "exp"),), uses_aux="censoring",
                 notes=("predict() gives the latent mean x'b, not E[y]",))


# ---- accelerated failure time: log T = eta + sigma * eps ---------------------------------
def _aft(dist):
    def ll(eta, phi, t, d):
        log_sigma = phi[0] if dist != "exponential" else 0.0
        z = (jnp.log(t) - eta[0]) * jnp.exp(-log_sigma)
        if dist in ("weibull", "exponential"):  # eps: standard minimum-Gumbel
            log_f, log_s = z - jnp.exp(z), -jnp.exp(z)
        elif dist == "lognormal":
            log_f, log_s = -0.5 * z * z - 0.5 * math.log(2 * math.pi), jsp.log_ndtr(-z)
        else:  # loglogistic: eps standard logistic
            log_f, log_s = z - 2 * _softplus(z), -_softplus(z)
        return jnp.where(d > 0, log_f - log_sigma - jnp.log(t), log_s)

    if dist == "weibull":
        extra, reported = ("log_sigma",), (("shape", "exp_neg"),)
    elif dist == "lognormal":
        extra, reported = ("log_sigma",), (("sigma", "exp"),)
    elif dist == "loglogistic":
        extra, reported = ("log_sigma",), (("shape", "exp_neg"),)
    else:
        extra, reported = (), ()

    def mean(eta, phi):
        # the median survival time: exp(eta) times the median of exp(sigma eps)
        s = jnp.exp(phi[0]) if extra else 1.0
        med = {"weibull": math.log(math.log(2.0)), "exponential": math.log(math.log(2.0)), "lognormal": 0.0,
               "loglogistic": 0.0}[dist]
        return jnp.exp(eta[..., 0] + s * med)

    return Model(dist, "log", ll, mean, extra=extra, reported=reported, uses_aux="event",
                 notes=("predict() gives the median survival time",))


# ---- multinomial and ordered ----------------------------------------------------------
@lru_cache(maxsize=None)
def multinomial_model(n_classes: int) -> Model:
    k = n_classes - 1

    def ll(eta, phi, y, aux):
        full = jnp.concatenate([jnp.zeros(1), eta])
        return full[y.astype(jnp.int32)] - jax_logsumexp(full)

    def mean(eta, phi):
        full = jnp.concatenate([jnp.zeros(eta.shape[:-1] + (1,)), eta], axis=-1)
        return jnp.exp(full - jax_logsumexp(full, axis=-1, keepdims=True))

    return Model("multinomial", "softmax", ll, mean, k=k, multiclass=True)


@lru_cache(maxsize=None)
def ordered_model(n_classes: int, link: str) -> Model:
    def ll(eta, phi, y, aux):
        cuts = jnp.concatenate([jnp.array([-_BIG]), phi, jnp.array([_BIG])])
        j = y.astype(jnp.int32)
        b, a = cuts[j + 1] - eta[0], cuts[j] - eta[0]
        if link == "logit":
            # log(F(b) - F(a)) = b + log(1 - e^(a-b)) - softplus(a) - softplus(b)
            return b + jnp.log(-jnp.expm1(a - b)) - _softplus(a) - _softplus(b)
        # probit: difference of normal cdfs, upper tail by symmetry where that is more accurate
        up = jnp.log(jsp.ndtr(b) - jsp.ndtr(a))
        lo = jnp.log(jsp.ndtr(-a) - jsp.ndtr(-b))
        return jnp.where(a > 0, lo, up)

    def mean(eta, phi):
        cuts = jnp.concatenate([jnp.array([-_BIG]), phi, jnp.array([_BIG])])
        F = (lambda x: 1 / (1 + jnp.exp(-x))) if link == "logit" else jsp.ndtr
        c = F(cuts[None, :] - eta[..., 0][:, None])
        return c[:, 1:] - c[:, :-1]

    extra = tuple(f"cut{j}" for j in range(1, n_classes))
    m = Model("ordered", link, ll, mean, extra=extra, reported=tuple((e, "identity") for e in extra),
              ordinal=True)
    return m


def jax_logsumexp(x, axis=-1, keepdims=False):
    from jax.scipy.special import logsumexp

    return logsumexp(x, axis=axis, keepdims=keepdims)


# ---- registry -------------------------------------------------------------------------
_FAMILIES = {
    "normal": (_normal, ("identity",)),
    "bernoulli": (_binary, ("logit", "probit", "cloglog")),
    "binomial": (_binomial, ("logit", "probit", "cloglog")),
    "poisson": (_poisson, ("log",)),
    "negative_binomial": (_negbin, ("log",)),
    "gamma": (_gamma, ("log", "inverse", "identity")),
    "gamma_censored": (_gamma_censored, ("log",)),
    "inverse_gaussian": (_inverse_gaussian, ("log", "inverse", "identity")),
    "tobit": (_tobit, ("identity",)),
    "weibull": (lambda link: _aft("weibull"), ("log",)),
    "exponential": (lambda link: _aft("exponential"), ("log",)),
    "lognormal": (lambda link: _aft("lognormal"), ("log",)),
    "loglogistic": (lambda link: _aft("loglogistic"), ("log",)),
    "multinomial": (None, ("softmax",)),
    "ordered": (None, ("logit", "probit")),
}
ALIASES = {"linear": "normal", "gaussian": "normal", "ols": "normal", "logistic": "bernoulli", "logit": "bernoulli",
           "probit": "bernoulli", "nb2": "negative_binomial", "negbin": "negative_binomial",
           "negative-binomial": "negative_binomial", "inverse-gaussian": "inverse_gaussian",
           "invgauss": "inverse_gaussian", "mnlogit": "multinomial", "softmax": "multinomial",
           "ordered_logit": "ordered", "ologit": "ordered", "ordered_probit": "ordered", "oprobit": "ordered",
           "log-logistic": "loglogistic", "log_logistic": "loglogistic", "log-normal": "lognormal",
           "weibull_aft": "weibull"}
ALIAS_LINKS = {"probit": "probit", "ordered_probit": "probit", "oprobit": "probit"}
FAMILY_NAMES = tuple(_FAMILIES)


def resolve(family: str, link: str | None):
    """(canonical family name, link), or an OptionError naming what is allowed."""
    key = str(family).strip().lower().replace(" ", "_")
    name = ALIASES.get(key, key)
    if name not in _FAMILIES:
        raise OptionError(f"unknown regression family {family!r}; choose one of {', '.join(FAMILY_NAMES)}")
    links = _FAMILIES[name][1]
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
    maker = _FAMILIES[name][0]
    if maker is None:
        raise OptionError(f"{name} needs the number of classes; build it with multinomial_model/ordered_model")
    return maker(link)


def _xlogy(x, y):
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))


def check_response(model: Model, y: np.ndarray, aux: np.ndarray | None, where: str) -> None:
    """Raise a specific error when ``y`` cannot come from ``model`` (names the first bad row)."""
    def first(mask, what):
        i = int(np.flatnonzero(mask)[0])
        raise SupportError(f"{model.name} regression needs {what}; the response {where} has {y[i]:g} at data row {i + 1} "
                           f"({int(mask.sum())} such rows)")

    name = model.name
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
    elif name in ("poisson", "negative_binomial"):
        if (y < 0).any():
            first(y < 0, "non-negative counts")
        if (y != np.round(y)).any():
            first(y != np.round(y), "whole-number counts")
    elif name in ("gamma", "inverse_gaussian", "weibull", "exponential", "lognormal", "loglogistic"):
        if (y <= 0).any():
            first(y <= 0, "a positive response")
