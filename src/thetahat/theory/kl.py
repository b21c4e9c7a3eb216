"""Kullback–Leibler divergence KL(p ‖ q) = E_p[log p(X) − log q(X)], and why the MLE minimises it.

Closed forms where they are textbook results (normal, lognormal, exponential, gamma,
poisson, bernoulli, binomial with equal n, geometric); Monte Carlo with its standard
error otherwise. :func:`kl_to_empirical` shows the link to maximum likelihood: for the
empirical distribution p̂ of the data,
``KL(p̂ ‖ f_θ) = −H(p̂) − (1/n) Σ log f(xᵢ | θ)``, so minimising it over θ is maximising
the log-likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from .._jax import x64, x64_methods
from ..errors import OptionError


@x64_methods
@dataclass(frozen=True)
class Divergence:
    """KL(p ‖ q) in nats, with how it was computed."""

    value: float
    se: float  # 0 for a closed form; the Monte Carlo standard error otherwise
    method: str  # "closed form" or "monte carlo (D draws)"

    def __float__(self) -> float:
        return float(self.value)


@x64
def kl(p, q, *, draws: int = 200_000, seed: int = 0) -> Divergence:
    """KL(p ‖ q) between two distributions of the same family.

    Parameters
    ----------
    p, q : Fit or (family, params)
        A fitted :class:`thetahat.Fit`, or a pair such as ``("normal", {"mu": 0, "sigma": 1})``.
    draws, seed : int
        Monte Carlo draws from ``p`` (used only where there is no closed form).

    Returns
    -------
    Divergence

    Examples
    --------
    >>> import thetahat
    >>> d = thetahat.kl(("normal", {"mu": 0.0, "sigma": 1.0}), ("normal", {"mu": 1.0, "sigma": 1.0}))
    >>> d.value, d.method
    (0.5, 'closed form')
    """
    fp, pp = _dist(p)
    fq, pq = _dist(q)
    if fp.name != fq.name:
        raise OptionError(f"kl compares two members of one family; got {fp.name} and {fq.name}")
    for k, v in fp.known.items():
        if pp.get(k, v) != pq.get(k, v):
            raise OptionError(f"kl: the known {k} differs between p ({pp.get(k)}) and q ({pq.get(k)})")
    closed = _CLOSED.get(fp.name)
    if closed is not None:
        return Divergence(float(closed(pp, pq)), 0.0, "closed form")
    return _monte_carlo(fp, pp, pq, int(draws), seed)


@x64
def kl_to_empirical(data, family, params) -> float:
    """KL(p̂ ‖ f_θ) for discrete data: Σ_k p̂_k log(p̂_k / f(k | θ)), p̂ the empirical pmf.

    Equal to ``−H(p̂) − mean log f(xᵢ | θ)``, so its minimiser over θ is the MLE
    (see :func:`mle_by_kl`).

    Examples
    --------
    >>> from thetahat.theory.kl import kl_to_empirical
    >>> round(kl_to_empirical([0, 1, 1, 1], "bernoulli", {"p": 0.75}), 12)  # p-hat = f: zero
    0.0
    """
    from ..families import get_family

    fam = get_family(family)
    if not fam.discrete:
        raise OptionError("the empirical distribution has a density only for discrete data; for continuous "
                          "data minimise the cross-entropy -mean log f (mle_by_kl does)")
    x = np.asarray(data, dtype=float)
    vals, counts = np.unique(x, return_counts=True)
    phat = counts / counts.sum()
    logf = _logpdf(fam, params, vals)
    return float(np.sum(phat * (np.log(phat) - logf)))


@x64
def mle_by_kl(data, family) -> dict:
    """Minimise KL(empirical ‖ f_θ) over θ with scipy's Nelder–Mead, independently of ``thetahat.fit``.

    For discrete data the objective is :func:`kl_to_empirical`; for continuous data it
    is the cross-entropy ``−mean log f(xᵢ | θ)`` (KL up to the constant −H(p̂)). The
    minimiser agrees with the MLE; the returned dict holds both and the KL at each.

    Examples
    --------
    >>> from thetahat.theory.kl import mle_by_kl
    >>> r = mle_by_kl([0, 2, 3, 1, 4, 2], "poisson")
    >>> round(r["kl_minimiser"]["lam"], 5), r["mle"]["lam"]
    (2.0, 2.0)
    """
    from scipy.optimize import minimize

    from ..fitting import fit

    from ..engine.layout import Layout
    from ..families import get_family

    fam = get_family(family)
    x = np.asarray(data, dtype=float)
    f = fit(x, fam)
    free = [k for k in fam.params if k not in fam.nonregular]
    layout = Layout.build(fam, {k: () for k in free}, free)
    fixed = {k: f.params[k] for k in fam.params if k in fam.nonregular}

    def params_of(u):
        import jax.numpy as jnp

        return {**fixed, **{k: float(v) for k, v in layout.to_params(jnp.asarray(u)).items()}}

    def objective(u):
        p = params_of(u)
        if fam.discrete:
            return kl_to_empirical(x, fam, p)
        return float(-np.mean(_logpdf(fam, p, x)))

    u0 = layout.to_unconstrained({k: np.asarray(fam.start(x, np.ones(x.size))[k]) for k in free})
    res = minimize(objective, u0, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14,
                                                                 "maxiter": 20_000})
    best = params_of(res.x)
    return {"kl_minimiser": best, "mle": {k: f.params[k] for k in fam.params},
            "objective_at_minimiser": float(res.fun),
            "objective_at_mle": objective(layout.to_unconstrained({k: np.asarray(f.params[k]) for k in free})),
            "objective": "KL(empirical || f)" if fam.discrete else "cross-entropy -mean log f (KL + H(empirical))"}


# ---------------------------------------------------------------------------------
def _dist(d):
    from ..families import get_family
    from ..result import Fit

    if isinstance(d, Fit):
        return d.family, dict(d.params)
    if isinstance(d, (tuple, list)) and len(d) == 2 and isinstance(d[1], dict):
        fam = get_family(d[0])
        params = {k: float(v) for k, v in d[1].items()}
        missing = [k for k in fam.params if k not in params]
        if missing:
            raise OptionError(f"{fam.name} needs values for {', '.join(missing)}")
        for k in fam.params:
            if not fam.params[k].check(np.asarray(params[k])):
                raise OptionError(f"{k} = {params[k]!r} is outside its constraint ({fam.params[k].name})")
        return fam, params
    raise OptionError("kl takes a Fit or a (family, params) pair such as ('normal', {'mu': 0, 'sigma': 1})")


def _logpdf(fam, params, x):
    import jax
    import jax.numpy as jnp

    fam = fam.bind({k: params.get(k, v) for k, v in fam.known.items()})
    p = {k: jnp.asarray(float(v)) for k, v in params.items()}
    return np.asarray(jax.vmap(lambda xi: fam.logpdf(xi, p))(jnp.asarray(x, dtype=float)))


def _monte_carlo(fam, pp, pq, draws, seed):
    import jax

    if fam.ndim:
        raise OptionError(f"kl: {fam.name} is multivariate and has no closed form here")
    fam_b = fam.bind({k: pp.get(k, v) for k, v in fam.known.items()})
    x = np.asarray(fam_b.sample(jax.random.PRNGKey(seed), pp, draws), dtype=float)
    d = _logpdf(fam, pp, x) - _logpdf(fam, pq, x)
    if not np.all(np.isfinite(d)):
        return Divergence(float("inf"), 0.0, "monte carlo: q gives zero density where p has mass")
    return Divergence(float(d.mean()), float(d.std(ddof=1) / np.sqrt(draws)), f"monte carlo ({draws} draws)")


def _kl_normal(p, q):
    return np.log(q["sigma"] / p["sigma"]) + (p["sigma"] ** 2 + (p["mu"] - q["mu"]) ** 2) / (2 * q["sigma"] ** 2) - 0.5


def _kl_exponential(p, q):
    r = q["lam"] / p["lam"]
    return np.log(1 / r) + r - 1


def _kl_gamma(p, q):
    kp, rp, kq, rq = p["shape"], p["rate"], q["shape"], q["rate"]
    return ((kp - kq) * digamma(kp) - gammaln(kp) + gammaln(kq) + kq * (np.log(rp) - np.log(rq))
            + kp * (rq - rp) / rp)


def _kl_poisson(p, q):
    return p["lam"] * np.log(p["lam"] / q["lam"]) - p["lam"] + q["lam"]


def _bern(a, b):
    return _xlogy(a, a / b) + _xlogy(1 - a, (1 - a) / (1 - b))


def _xlogy(a, r):
    return 0.0 if a == 0 else a * np.log(r)


def _kl_geometric(p, q):
    # mean 1/p trials: E[X - 1] = (1 - p)/p failures, each contributing log((1-p)/(1-q))
    a, b = p["p"], q["p"]
    return np.log(a / b) + _xlogy((1 - a) / a, (1 - a) / (1 - b)) if a < 1 else np.log(1 / b)


_CLOSED = {
    "normal": _kl_normal,
    "lognormal": _kl_normal,  # KL is invariant under the bijection x -> log x
    "exponential": _kl_exponential,
    "gamma": _kl_gamma,
    "poisson": _kl_poisson,
    "bernoulli": lambda p, q: _bern(p["p"], q["p"]),
    "binomial": lambda p, q: p.get("n", 1) * _bern(p["p"], q["p"]),
    "geometric": _kl_geometric,
}
