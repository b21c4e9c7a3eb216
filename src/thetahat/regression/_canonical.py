"""Closed-form row derivatives of the canonical-link GLMs, and one fused pass over ``X``.

For a canonical link the log-likelihood of a row is ``y·eta - b(eta) + c(y)``, so its
derivatives in ``eta`` are ``y - b'(eta)`` and ``-b''(eta)`` (the mean and the variance
function): no automatic differentiation is needed, and ``c(y)`` (``log y!``, the
binomial coefficient) does not change between iterations, so it is summed once. That
makes the per-row work a handful of NumPy ufuncs, cheap enough to do block by block
together with the matrix work: one pass over the rows of ``X`` (each block read from
memory once, then reused from cache) gives ``eta = X b``, the log-likelihood, the
gradient ``X'(y - mu)`` and the Hessian ``-X' diag(b'') X`` (a BLAS rank-k update of
``X·sqrt(b'')``). The general path (:mod:`._newton`, JAX derivatives of any model)
needs three passes and ``n``-long temporaries for the same numbers; both are checked
against each other in the tests.

Example
-------
>>> import numpy as np
>>> from thetahat.regression.models import get_model
>>> t = terms_for(get_model("bernoulli"))
>>> ll, d1, d2 = t.kernel(np.array([0.0]), np.array([1.0]), None, True)
>>> round(float(ll[0]), 6), float(d1[0]), float(d2[0])   # log(1/2), 1 - 1/2, -1/4
(-0.693147, 0.5, -0.25)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import expit, gammaln, xlogy

BLOCK = 8192  # rows per block: a block of X (and its scaled copy) stays in cache


@dataclass(frozen=True)
class CanonicalTerms:
    """Per-row NumPy functions of one canonical-link GLM.

    ``kernel(eta, y, aux, hessian) -> (y·eta - b(eta), y - b'(eta), -b''(eta) or None)``;
    ``const(y, aux)``: the rest of the log-likelihood, ``c(y)``; ``saturated(y, aux)``: the
    log-likelihood at ``mu = y``; ``mean(eta)``: ``b'(eta)``.
    """

    kernel: Callable
    const: Callable
    saturated: Callable
    mean: Callable


def _logit_kernel(eta, y, n, hessian):
    # with e = exp(-|eta|): p = 1/(1+e) or e/(1+e) by the sign of eta, p(1-p) = e/(1+e)^2 either way,
    # softplus(eta) = max(eta, 0) + log1p(e): no overflow in either tail
    e = np.exp(-np.abs(eta))
    s = 1.0 / (1.0 + e)
    es = e * s
    p = np.where(eta >= 0, s, es)
    # y·eta - n·max(eta, 0) first: it is exact for 0/1 and whole-number y, so a tiny log1p term survives
    if n is None:
        return (y * eta - np.maximum(eta, 0.0)) - np.log1p(e), y - p, (-(s * es) if hessian else None)
    return (y * eta - n * np.maximum(eta, 0.0)) - n * np.log1p(e), y - n * p, (-(n * s * es) if hessian else None)


def _poisson_kernel(eta, y, aux, hessian):
    with np.errstate(over="ignore"):
        mu = np.exp(eta)
    return y * eta - mu, y - mu, (-mu if hessian else None)


def _binomial_const(y, n):
    return gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)


_TERMS = {
    ("bernoulli", "logit"): CanonicalTerms(lambda eta, y, aux, h: _logit_kernel(eta, y, None, h),
                                           lambda y, aux: np.zeros(len(y)), lambda y, aux: np.zeros(len(y)), expit),
    ("binomial", "logit"): CanonicalTerms(_logit_kernel, _binomial_const,
                                          lambda y, n: _binomial_const(y, n) + xlogy(y, y / n)
                                          + xlogy(n - y, (n - y) / n), expit),
    ("poisson", "log"): CanonicalTerms(_poisson_kernel, lambda y, aux: -gammaln(y + 1),
                                       lambda y, aux: xlogy(y, y) - y - gammaln(y + 1), np.exp),
}


def terms_for(model) -> CanonicalTerms | None:
    """The closed-form terms of ``model`` when it is a canonical-link GLM with one linear
    predictor and no extra parameter (bernoulli-logit, binomial-logit, poisson-log), else None."""
    if model.k != 1 or model.extra:
        return None
    return _TERMS.get((model.name, model.link))


def _numpy_rows(data):
    """(y, aux, w or None, Σ w·c(y)) as NumPy over the real rows, computed once per data."""
    got = data.scratch.get("canonical")
    if got is None:
        n = data.n
        y = np.asarray(data.y, dtype=np.float64)[:n]
        aux = np.asarray(data.aux, dtype=np.float64)[:n]
        w = np.asarray(data.w, dtype=np.float64)[:n]
        w = None if np.all(w == 1.0) else w
        got = data.scratch["canonical"] = {"y": y, "aux": aux, "w": w}
    return got


def fused_pass(terms: CanonicalTerms, data, b, hessian):
    """(value, gradient, Hessian or None, eta) at coefficients ``b`` in one pass over the rows.

    ``eta`` has the padded length of ``data.X`` (padding rows, weight 0, are skipped: their
    rows of ``X`` are zero). Rows of weight 0 contribute nothing, even where their terms
    are not finite.
    """
    X, n = data.X, data.n
    p = X.shape[1]
    rows = _numpy_rows(data)
    y, aux, w = rows["y"], rows["aux"], rows["w"]
    if "const" not in rows:
        c = terms.const(y, aux)
        rows["const"] = float(np.sum(c if w is None else np.where(w > 0, w * c, 0.0)))
    eta = np.empty(X.shape[0])
    eta[n:] = data.off[n:]
    has_off = bool(np.any(data.off[:n] != 0.0))
    value = 0.0
    g = np.zeros(p)
    H = np.zeros((p, p)) if hessian else None
    zbuf = np.empty((min(BLOCK, n), p)) if hessian else None
    with np.errstate(invalid="ignore", over="ignore"):
        for i in range(0, n, BLOCK):
            j = min(i + BLOCK, n)
            xb = X[i:j]
            eb = np.dot(xb, b, out=eta[i:j])
            if has_off:
                eb += data.off[i:j]
            ll, d1, d2 = terms.kernel(eb, y[i:j], aux[i:j], hessian)
            if w is not None:
                wb = w[i:j]
                live = wb > 0
                ll = np.where(live, wb * ll, 0.0)
                d1 = np.where(live, wb * d1, 0.0)
                d2 = None if d2 is None else np.where(live, wb * d2, 0.0)
            value += float(np.sum(ll))
            g += d1 @ xb
            if hessian:
                zb = zbuf[: j - i]
                np.multiply(xb, np.sqrt(-d2)[:, None], out=zb)  # -b'' >= 0: the Hessian is -Z'Z
                H -= zb.T @ zb
    if hessian:
        H = (H + H.T) / 2
    return value + rows["const"], g, H, eta


def deviance(terms: CanonicalTerms, y, aux, w, loglik) -> float:
    """The GLM deviance ``2 (loglik(saturated) - loglik)`` (rows of weight 0 left out)."""
    sat = terms.saturated(y, aux)
    return float(2.0 * (np.sum(sat if w is None else np.where(w > 0, w * sat, 0.0)) - loglik))
