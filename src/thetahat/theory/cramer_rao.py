"""Fisher information, the Cramér–Rao bound and efficiency, for a family at given parameters.

The expected information of one observation, ``I(θ) = E[s sᵀ] = -E[∂² log f]``, comes
from (in this order, and the result says which):

1. the family's own formula (``Family.expected_information``);
2. a SymPy derivation (:func:`thetahat.derive`), where the family has a SymPy density;
3. Monte Carlo: the mean outer product of the autodiff score over draws from the
   family, with its Monte Carlo standard error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._jax import x64, x64_methods
from ..errors import OptionError

KINDS = ("expected", "formula", "sympy", "monte_carlo")


@x64_methods
@dataclass(frozen=True)
class Information:
    """Fisher information of ``n`` observations.

    Attributes
    ----------
    matrix : numpy.ndarray
        ``n I(θ)``, rows and columns in ``labels`` order.
    per_observation : numpy.ndarray
        ``I(θ)``.
    labels : tuple of str
    n : float
    method : str
        ``"family formula"``, ``"sympy"`` or ``"monte carlo (D draws)"``.
    se : numpy.ndarray or None
        Monte Carlo standard error of each entry of ``matrix`` (None for exact methods).
    """

    matrix: np.ndarray
    per_observation: np.ndarray
    labels: tuple
    n: float
    method: str
    se: np.ndarray | None = None

    @property
    def cramer_rao(self) -> np.ndarray:
        """``(n I(θ))⁻¹``: no unbiased estimator has a smaller covariance."""
        return np.linalg.inv(self.matrix)

    def efficiency(self, variance) -> np.ndarray:
        """Cramér–Rao bound / variance, per parameter (1 for an efficient unbiased estimator)."""
        return np.diag(self.cramer_rao) / np.asarray(variance, dtype=float)


@x64
def fisher_information(family, params: dict, n: float = 1, kind: str = "expected", *, draws: int = 200_000,
                       seed: int = 0) -> Information:
    """Expected Fisher information of ``n`` i.i.d. observations at ``params``.

    Parameters
    ----------
    family : str or Family
    params : dict
        Every parameter of the family (and known values such as binomial ``n`` under
        their names).
    n : float
        Number of observations (the information is ``n`` times that of one).
    kind : {"expected", "formula", "sympy", "monte_carlo"}
        ``expected`` takes the first available of the family's formula, SymPy and
        Monte Carlo; the others force one source.
    draws, seed : int
        Monte Carlo draws and seed.

    Returns
    -------
    Information

    Examples
    --------
    >>> import thetahat
    >>> info = thetahat.fisher_information("poisson", {"lam": 4.0}, n=10)
    >>> info.matrix, info.method
    (array([[2.5]]), 'family formula')
    >>> info.cramer_rao
    array([[0.4]])
    """
    from ..families import get_family

    fam = get_family(family)
    if kind not in KINDS:
        raise OptionError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    if float(n) <= 0:
        raise OptionError(f"n must be positive, got {n}")
    missing = [k for k in fam.params if k not in params]
    if missing:
        raise OptionError(f"{fam.name} needs values for {', '.join(missing)}")
    for k in fam.params:
        if np.ndim(params[k]) != 0:
            raise OptionError(f"fisher_information handles scalar parameters; {k!r} is not a scalar")
        if not fam.params[k].check(np.asarray(params[k], dtype=float)):
            raise OptionError(f"{k} = {params[k]!r} is outside its constraint ({fam.params[k].name})")
    labels = tuple(fam.params)
    known = {k: params.get(k, v) for k, v in fam.known.items()}
    if any(v is None for v in known.values()):
        raise OptionError(f"{fam.name} needs the known value(s) {', '.join(k for k, v in known.items() if v is None)}")
    fam = fam.bind(known)
    p = {k: float(params[k]) for k in labels}
    I1, se, method = None, None, None
    if kind in ("expected", "formula") and fam.expected_information is not None:
        I1, method = _from_formula(fam, p, known), "family formula"
    if I1 is None and kind in ("expected", "sympy"):
        I1 = _from_sympy(fam, p, known)
        method = "sympy" if I1 is not None else None
    if I1 is None and kind in ("expected", "monte_carlo"):
        I1, se = _monte_carlo(fam, p, known, int(draws), seed)
        method = f"monte carlo ({int(draws)} draws)"
    if I1 is None:
        raise OptionError(f"no {kind} information is available for {fam.name}; try kind='monte_carlo'")
    nn = float(n)
    return Information(nn * I1, I1, labels, nn, method, None if se is None else nn * se)


@x64
def cramer_rao(family, params: dict, n: float = 1) -> dict:
    """The Cramér–Rao lower bound on the variance of an unbiased estimator of each parameter.

    Examples
    --------
    >>> from thetahat.theory import cramer_rao
    >>> cramer_rao("exponential", {"lam": 2.0}, n=100)
    {'lam': 0.04}
    """
    info = fisher_information(family, params, n)
    return {k: float(v) for k, v in zip(info.labels, np.diag(info.cramer_rao))}


@x64
def efficiency(family, params: dict, n: float, variance: dict) -> dict:
    """Cramér–Rao bound / ``variance`` for each parameter named in ``variance``.

    Examples
    --------
    >>> from thetahat.theory import efficiency
    >>> efficiency("poisson", {"lam": 3.0}, 30, {"lam": 0.2})   # bound 3/30 = 0.1
    {'lam': 0.5}
    """
    bound = cramer_rao(family, params, n)
    return {k: bound[k] / float(v) for k, v in variance.items()}


@x64
def fisher_information_of_fit(fit, kind: str = "observed") -> np.ndarray:
    """The information matrix of a :class:`thetahat.Fit`, in ``fit.cov_labels`` order.

    ``observed`` is the inverse of the fit's covariance (the observed information in
    natural coordinates, as the fit computed it); ``expected`` is ``nobs · I(θ̂)``
    for the estimated regular parameters.

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> from thetahat.theory import fisher_information_of_fit
    >>> f = thetahat.fit([2.0, 4.0, 3.0, 7.0], "poisson")
    >>> fisher_information_of_fit(f, "expected")        # n / lam-hat = 4 / 4
    array([[1.]])
    """
    if kind == "observed":
        if fit.cov is None:
            raise OptionError("this fit has no covariance (see its notes), so no observed information")
        return np.linalg.inv(np.asarray(fit.cov, dtype=float))
    if kind != "expected":
        raise OptionError(f"kind must be 'observed' or 'expected', got {kind!r}")
    fam = fit.family
    labels = list(fit.cov_labels) or [k for k in fit.estimated if k not in fam.nonregular]
    params = {k: fit.params[k] for k in fam.params}
    params.update({k: fit.params[k] for k in fam.known if k in fit.params})
    info = fisher_information(fam, params, fit.nobs)
    idx = [info.labels.index(k) for k in labels]
    return info.matrix[np.ix_(idx, idx)]


# ---------------------------------------------------------------------------------
def _from_formula(fam, p, known):
    import jax.numpy as jnp

    return np.asarray(fam.expected_information({k: jnp.asarray(v) for k, v in {**p, **known}.items()}),
                      dtype=float)


def _from_sympy(fam, p, known):
    from . import symbolic
    from .derive import derive

    spec = symbolic.builtin(fam.name)
    if spec is None or spec.names != list(fam.params):
        return None
    d = derive(fam.name)
    if d.fisher_information is None:
        return None
    subs = {s: p[nm] for s, nm in zip(d.params, d.names)}
    subs.update({sym: float(known[k]) for k, sym in spec.known.items() if k in known})
    return np.asarray(d.fisher_information.subs(subs).evalf(17), dtype=float)


def _monte_carlo(fam, p, known, draws, seed):
    import jax
    import jax.numpy as jnp

    if fam.ndim:
        raise OptionError(f"Monte Carlo information handles univariate families; {fam.name} is multivariate")
    x = np.asarray(fam.sample(jax.random.PRNGKey(seed), {**p, **known}, draws), dtype=float)
    names = list(p)
    kn = {k: jnp.asarray(v) for k, v in known.items()}

    def logf(theta, xi):
        return fam.logpdf(xi, {**dict(zip(names, theta)), **kn})

    score = jax.jit(jax.vmap(jax.grad(logf), in_axes=(None, 0)))
    s = np.asarray(score(jnp.asarray([p[k] for k in names]), jnp.asarray(x)))
    outer = s[:, :, None] * s[:, None, :]
    return outer.mean(axis=0), outer.std(axis=0, ddof=1) / np.sqrt(draws)
