"""The regression rows written by hand: the binary links and the models of class labels.

The binary rows (bernoulli and binomial with logit, probit or cloglog) give ``log p`` and
``log(1 - p)`` straight from the linear predictor (``-softplus(-eta)``, ``log_ndtr``), so a
row stays finite however far ``eta`` runs, as it does in a separated or nearly separated
fit; the family's log-pmf takes ``p`` itself, which rounds to 1 for ``eta`` above 37 and
would give ``log 0`` for a 0 there. The multinomial (softmax) and ordered (cumulative
logit/probit) models have no family: their rows are written here.

Example
-------
>>> import jax.numpy as jnp
>>> m = binary_model("bernoulli", "logit", None)
>>> round(float(m.loglik(jnp.array([0.0]), jnp.zeros(0), 1.0, 0.0)), 6)   # log(1/2)
-0.693147
"""

from __future__ import annotations

from functools import lru_cache

from .._jax import jnp, jsp
from ..errors import OptionError
from .model import Model, xlogy_np

_BIG = 1e6  # stands in for ±infinity as the outer cut points of an ordered model


def _softplus(x):
    return jnp.logaddexp(0.0, x)


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


def _binomial_deviance(y, mu, n):
    f = y / n
    return -2 * n * (xlogy_np(f, mu) - xlogy_np(f, f) + xlogy_np(1 - f, 1 - mu) - xlogy_np(1 - f, 1 - f))


def binary_model(name, link, family) -> Model:
    """bernoulli (0/1 rows) or binomial (successes of ``aux`` trials) with a binary link."""
    def ll_bernoulli(eta, phi, y, aux):
        lp, lq = _log_p_q(eta[0], link)
        return jnp.where(y > 0, lp, 0.0) + jnp.where(y < 1, lq, 0.0)

    def ll_binomial(eta, phi, y, n):
        lp, lq = _log_p_q(eta[0], link)
        comb = jsp.gammaln(n + 1) - jsp.gammaln(y + 1) - jsp.gammaln(n - y + 1)
        return comb + jnp.where(y > 0, y * lp, 0.0) + jnp.where(n - y > 0, (n - y) * lq, 0.0)

    def mean(eta, phi):
        return _p_of(eta[..., 0], link)

    if name == "bernoulli":
        return Model("bernoulli", link, ll_bernoulli, mean, glm=True, binary=True, penalizable=True,
                     variance=lambda mu, aux: mu * (1 - mu), family=family,
                     unit_deviance=lambda y, mu, aux: -2 * (xlogy_np(y, mu) + xlogy_np(1 - y, 1 - mu)))
    return Model("binomial", link, ll_binomial, mean, uses_aux="trials", glm=True, binary=True, penalizable=True,
                 variance=lambda mu, n: mu * (1 - mu) / n, unit_deviance=_binomial_deviance, family=family)


def _logsumexp(x, axis=-1, keepdims=False):
    from jax.scipy.special import logsumexp

    return logsumexp(x, axis=axis, keepdims=keepdims)


@lru_cache(maxsize=None)
def multinomial_model(n_classes: int) -> Model:
    """Softmax regression on ``n_classes`` labels, the first the base."""
    k = n_classes - 1

    def ll(eta, phi, y, aux):
        full = jnp.concatenate([jnp.zeros(1), eta])
        return full[y.astype(jnp.int32)] - _logsumexp(full)

    def mean(eta, phi):
        full = jnp.concatenate([jnp.zeros(eta.shape[:-1] + (1,)), eta], axis=-1)
        return jnp.exp(full - _logsumexp(full, axis=-1, keepdims=True))

    return Model("multinomial", "softmax", ll, mean, k=k, multiclass=True)


@lru_cache(maxsize=None)
def ordered_model(n_classes: int, link: str) -> Model:
    """Cumulative-link (ordered logit or probit) regression with ``n_classes - 1`` cut points."""
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
    return Model("ordered", link, ll, mean, extra=extra, reported=tuple((e, "identity") for e in extra),
                 ordinal=True)
