"""The covariance of a regression's estimates, by ``cov_type``.

Everything here is on the fit's internal scale ``theta = (vec(B), phi)`` (coefficients, then
the extra parameters unconstrained: log sigma, log alpha, ...); the delta method to the
reported scale follows in :func:`~.estimates.reported_estimates`.

- ``observed``: the inverse observed information (the default; what the fit computes).
- ``expected``: the coefficients' block from the Fisher information ``X' W X / dispersion``
  with ``W = (dmu/deta)^2 / V(mu)``, as R's ``glm`` (``summary.glm``): the dispersion is 1 for
  bernoulli, binomial, poisson and NB2 (alpha held at its MLE, as ``MASS::glm.nb``) and
  Pearson chi^2 / (n - p) for normal, gamma and inverse gaussian. The extra parameters keep
  the inverse of their own observed information with the coefficients held fixed (``glm.nb``'s
  SE of theta); their covariance with the coefficients is 0 (the expected cross information of
  a GLM is 0).
- ``HC0``: the sandwich ``A^-1 (sum_i w_i s_i s_i') A^-1``, ``A`` the observed information,
  ``s_i`` row i's score; ``HC1`` times ``n / (n - p)`` (p coefficients); ``HC2``, ``HC3``
  (normal model only) each row's score divided by ``sqrt(1 - h_i)`` or ``1 - h_i``, ``h_i`` the
  leverage: statsmodels' OLS definitions.
- ``cluster``: the meat from the per-group sums of ``w_i s_i``, times
  ``G/(G-1) (n-1)/(n-k)`` (statsmodels' default correction; ``k`` the parameters, the
  normal/gamma/inverse gaussian dispersion not counted, as statsmodels' OLS and GLM).
- ``ols`` (normal only): ``sigma^2 = RSS / (n - p)`` in ``sigma^2 (X'X)^-1``; the fit then reports
  t-tests with ``n - p`` degrees of freedom.

Example
-------
>>> cov_type_name("hc1"), cov_type_name("Cluster")
('HC1', 'cluster')
"""

from __future__ import annotations

import numpy as np

from .._jax import jax, jit, jnp
from ..errors import DataError, OptionError

COV_TYPES = ("observed", "expected", "HC0", "HC1", "HC2", "HC3", "cluster", "ols")
_DISPERSION = ("normal", "gamma", "inverse_gaussian")  # families whose scale R and statsmodels estimate apart


def cov_type_name(cov_type) -> str:
    """The canonical spelling of a ``cov_type`` (case-insensitive), or an OptionError.

    Examples
    --------
    >>> cov_type_name("Expected")
    'expected'
    """
    names = {c.lower(): c for c in COV_TYPES}
    key = str(cov_type).lower()
    if key not in names:
        raise OptionError(f"unknown cov_type {cov_type!r}; choose one of {', '.join(COV_TYPES)}")
    return names[key]


def check_cov_type(cov_type, groups, model_name, penalized=False) -> str:
    """``cov_type`` checked against the model and ``groups=``, before any fitting.

    Examples
    --------
    >>> check_cov_type("hc3", None, "normal")
    'HC3'
    >>> check_cov_type("HC3", None, "poisson")
    Traceback (most recent call last):
    ...
    thetahat.errors.OptionError: cov_type='HC3' is defined for the normal linear model (family='normal'), not poisson: it needs the leverages of least squares
    """
    ct = cov_type_name(cov_type)
    if (ct == "cluster") != (groups is not None):
        raise OptionError("cov_type='cluster' needs groups= (a column or one label per row)" if ct == "cluster"
                          else f"groups= applies to cov_type='cluster', not {ct!r}")
    if penalized and ct != "observed":
        raise OptionError(f"cov_type={ct!r} is not available with a penalty: the covariance of a MAP fit is its "
                          "Laplace approximation")
    if ct in ("ols", "HC2", "HC3") and model_name != "normal":
        raise OptionError(f"cov_type={ct!r} is defined for the normal linear model (family='normal'), not "
                          f"{model_name}" + ("" if ct == "ols" else ": it needs the leverages of least squares"))
    return ct


def group_column(groups, data):
    """The cluster labels as float codes (NaN where missing), so that they travel with the
    design's other per-row columns (and its dropped rows); a column name needs ``data``.

    Examples
    --------
    >>> group_column(["b", "a", None, "b"], None)
    array([ 1.,  0., nan,  1.])
    """
    import pandas as pd

    if isinstance(groups, str):
        if data is None or not hasattr(data, "__getitem__"):
            raise OptionError(f"groups={groups!r} names a column, but no data were given")
        table = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        if groups not in table.columns:
            from ..errors import MissingColumnError

            raise MissingColumnError(f"groups column {groups!r} is not in the data; columns are: "
                                     f"{', '.join(map(str, table.columns))}")
        groups = table[groups].to_numpy()
    g = pd.Series(np.asarray(groups, dtype=object).reshape(-1))
    missing = g.isna().to_numpy()
    codes = np.full(len(g), np.nan)
    if (~missing).any():
        codes[~missing] = np.unique(g[~missing].astype(str).to_numpy(), return_inverse=True)[1]
    return codes


def group_codes(column) -> np.ndarray:
    """0..G-1 codes of the rows' (finite) group codes; a DataError for fewer than 2 groups.

    Examples
    --------
    >>> group_codes([4.0, 2.0, 4.0])
    array([1, 0, 1])
    """
    codes = np.unique(np.asarray(column), return_inverse=True)[1].reshape(-1)
    if codes.max() < 1:
        raise DataError("cov_type='cluster' needs at least 2 groups; groups= has 1")
    return codes


@jit(static_argnums=(0,))
def _row_gradients(model, eta, phi, y, aux):
    """Per row, d l_i / d eta_i (n x k) and d l_i / d phi (n x m)."""
    def one(e, yi, ai):
        return jax.grad(lambda e_, p_: model.loglik(e_, p_, yi, ai), argnums=(0, 1))(e, phi)

    return jax.vmap(one)(eta, y, aux)


def _row_scores(model, theta, X, y, aux, off) -> np.ndarray:
    """The unweighted score of each row with respect to ``theta``: ``n x (p k + m)``."""
    n, p = X.shape
    k = model.k
    theta = np.asarray(theta, dtype=float)
    eta = X @ theta[: p * k].reshape(k, p).T + (0.0 if off is None else np.asarray(off)[:, None])
    aux = np.zeros(n) if aux is None else np.asarray(aux, dtype=float)
    ge, gp = _row_gradients(model, jnp.asarray(eta), jnp.asarray(theta[p * k:]), jnp.asarray(y, dtype=float),
                            jnp.asarray(aux))
    ge, gp = np.asarray(ge), np.asarray(gp)
    return np.concatenate([X * ge[:, [a]] for a in range(k)] + [gp], axis=1)


def _sandwich(bread, scores, w, groups=None):
    """``bread (S' S) bread`` with ``S`` the rows' scores (times the frequency weight's
    square root) or, with ``groups``, the per-group sums of the weighted scores."""
    ww = np.ones(scores.shape[0]) if w is None else np.asarray(w, dtype=float)
    if groups is None:
        S = scores * np.sqrt(ww)[:, None]
    else:
        S = np.zeros((int(groups.max()) + 1, scores.shape[1]))
        np.add.at(S, groups, scores * ww[:, None])
    meat = S.T @ S
    cov = bread @ meat @ bread
    return (cov + cov.T) / 2


def _leverages(X, w) -> np.ndarray:
    """The diagonal of the (weighted) hat matrix ``W^1/2 X (X'WX)^-1 X' W^1/2``."""
    sw = np.ones(X.shape[0]) if w is None else np.sqrt(np.asarray(w, dtype=float))
    Q = np.linalg.qr(X * sw[:, None])[0]
    return np.sum(Q * Q, axis=1)


def _robust_cov(ct, model, theta, cov_obs, X, y, aux, w, off, groups, nobs) -> np.ndarray:
    """The ``HC0``-``HC3`` or ``cluster`` covariance of ``theta`` (bread: ``cov_obs``, the
    inverse observed information)."""
    p = X.shape[1] * model.k
    scores = _row_scores(model, theta, X, y, aux, off)
    if ct in ("HC2", "HC3"):
        if w is not None:
            raise OptionError(f"cov_type={ct!r} with frequency weights is not defined here (the leverage of a "
                              "weighted row is shared by its copies); use HC0, HC1 or cluster")
        h = _leverages(X, w)
        if np.any(h >= 1 - 1e-12):
            i = int(np.argmax(h))
            raise DataError(f"cov_type={ct!r}: data row {i + 1} has leverage 1 (it alone determines a "
                            "coefficient), so its residual is 0 and the correction is undefined")
        scores = scores / ((1 - h) ** (0.5 if ct == "HC2" else 1.0))[:, None]
    cov = _sandwich(cov_obs, scores, w, groups if ct == "cluster" else None)
    if ct == "HC1":
        cov = cov * nobs / (nobs - p)
    elif ct == "cluster":
        n_groups = int(groups.max()) + 1
        k = cov.shape[0] - (len(model.extra) if model.name in _DISPERSION else 0)
        cov = cov * n_groups / (n_groups - 1) * (nobs - 1) / (nobs - k)
    return cov


def _expected_cov(model, theta, H, X, y, aux, w, off, nobs) -> np.ndarray:
    """The ``expected`` covariance of ``theta`` (see the module's docstring), for GLM families."""
    if not (model.glm or model.name == "negative_binomial") or model.k != 1 or model.uses_aux in ("event", "censoring"):
        raise OptionError(f"cov_type='expected' is defined for the GLM families (normal, bernoulli, binomial, "
                          f"poisson, negative_binomial, gamma, inverse_gaussian) without censoring, not "
                          f"{model.name}{' with censored rows' if model.uses_aux == 'event' else ''}")
    n, p = X.shape
    theta = np.asarray(theta, dtype=float)
    phi = theta[p:]
    eta = X @ theta[:p] + (0.0 if off is None else np.asarray(off))
    mean = jax.vmap(lambda e: model.mean(e[None], jnp.asarray(phi)))
    mu = np.asarray(mean(jnp.asarray(eta))).reshape(-1)
    dmu = np.asarray(jax.vmap(jax.grad(lambda e: model.mean(e[None], jnp.asarray(phi)).reshape(())))(
        jnp.asarray(eta))).reshape(-1)
    if model.name == "negative_binomial":
        var = mu + np.exp(phi[0]) * mu ** 2
    else:
        var = np.asarray(model.variance(mu, aux), dtype=float) * np.ones(n)
    ww = np.ones(n) if w is None else np.asarray(w, dtype=float)
    dispersion = 1.0
    if model.name in _DISPERSION:  # summary.glm: Pearson chi^2 / residual degrees of freedom
        dispersion = float(np.sum(ww * (y - mu) ** 2 / var) / (nobs - p))
    with np.errstate(divide="ignore", invalid="ignore"):  # a binary mean at 0 or 1 carries no information
        wi = np.where(var > 0, ww * dmu ** 2 / np.where(var > 0, var, 1.0), 0.0)
    info = (X * wi[:, None]).T @ X / dispersion
    from .estimates import inverse_information

    cov = np.zeros((len(theta), len(theta)))
    cov_b, note = inverse_information(-info)
    if cov_b is None:
        raise DataError(f"cov_type='expected': {note}")
    cov[:p, :p] = cov_b
    if len(phi):
        cov_phi, note = inverse_information(np.asarray(H)[p:, p:])
        if cov_phi is None:
            raise DataError(f"cov_type='expected': {note}")
        cov[p:, p:] = cov_phi
    return cov


def covariance(ct, model, theta, cov_obs, H, X, y, aux, w, off, groups, nobs):
    """The covariance of ``theta`` for the checked ``cov_type`` ``ct``; ``cov_obs`` is the
    inverse observed information and ``H`` the Hessian (None for the normal model's
    closed form, whose information is the inverse of ``cov_obs``).

    Examples
    --------
    >>> import numpy as np
    >>> from thetahat.regression.models import get_model
    >>> X = np.column_stack([np.ones(4), [0.0, 1, 2, 3]])
    >>> cov = covariance("ols", get_model("normal"), np.zeros(3), np.eye(3), None, X, np.zeros(4), None, None,
    ...                  None, None, 4.0)
    >>> float(cov[0, 0]), float(cov[2, 2])   # the coefficients' block times n / (n - p); log sigma's is kept
    (2.0, 1.0)
    """
    if ct == "observed":
        return cov_obs
    if H is None:
        H = -np.linalg.inv(cov_obs)
    if ct == "expected":
        return _expected_cov(model, theta, H, X, y, aux, w, off, nobs)
    if ct == "ols":  # sigma^2 by RSS / (n - p) instead of RSS / n in the coefficients' block
        p = X.shape[1]
        cov = np.array(cov_obs, dtype=float)
        cov[:p, :p] *= nobs / (nobs - p)
        return cov
    return _robust_cov(ct, model, theta, cov_obs, X, y, aux, w, off, groups, nobs)
