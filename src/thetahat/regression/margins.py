"""Marginal effects (dy/dx) of a regression's mean, with delta-method standard errors.

The effect of design column ``j`` on outcome ``k``'s mean is ``dmu_k/dx_j``, averaged over
the fit's rows (``at="overall"``: the average marginal effect) or taken at the column means
of the design (``at="mean"``: the marginal effect at the means). Each design column is
treated as a continuous variable on its own (statsmodels' ``get_margeff(dummy=False)``;
a column built from another, such as ``I(x**2)``, gets its own effect), and an all-ones
column (the intercept) is left out. With an offset, the average effect uses each row's
offset; the effect at the means is refused (no offset belongs to the mean row). The standard errors are the delta method,
``sqrt(diag(J V J'))``, with ``J`` the derivative of the effects with respect to the
coefficients (JAX, exact) and ``V`` the fit's covariance of the coefficients as stored.

Example
-------
>>> import numpy as np, thetahat
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=200)
>>> X = np.column_stack([np.ones(200), x])
>>> fit = thetahat.regress(X, y=(rng.random(200) < 1 / (1 + np.exp(-x))).astype(float), family="logit")
>>> list(fit.marginal_effects().frame().columns)
['effect', 'se', 'z', 'p', 'ci_lower', 'ci_upper']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import OptionError


@dataclass(frozen=True)
class MarginalEffects:
    """Marginal effects ``dmu/dx`` of a regression, one row per design column (the intercept
    left out) and one column per outcome (one for a scalar mean, one per class for the
    multinomial).

    Attributes
    ----------
    names : tuple of str
        The design columns.
    outcomes : tuple
        The outcomes (``("mean",)``, or the classes).
    effect, se : numpy.ndarray
        ``(len(names), len(outcomes))``.
    cov : numpy.ndarray
        Covariance of ``effect.ravel()`` (row-major: column by column of the design).
    at : str
        ``"overall"`` or ``"mean"``.
    """

    names: tuple
    outcomes: tuple
    effect: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    at: str

    def frame(self, alpha: float = 0.05):
        """A frame of effect, se, z, p (two-sided, normal) and the Wald interval, indexed by
        design column (by outcome and design column for several outcomes)."""
        import pandas as pd
        from scipy import stats

        if not 0 < alpha < 1:
            raise OptionError(f"alpha must be between 0 and 1, got {alpha}")
        q = stats.norm.ppf(1 - alpha / 2)
        e, s = self.effect.T.ravel(), self.se.T.ravel()
        z = e / s
        if len(self.outcomes) == 1:
            index = pd.Index(self.names, name="column")
        else:
            index = pd.MultiIndex.from_product([self.outcomes, self.names], names=["outcome", "column"])
        return pd.DataFrame({"effect": e, "se": s, "z": z, "p": 2 * stats.norm.sf(np.abs(z)),
                             "ci_lower": e - q * s, "ci_upper": e + q * s}, index=index)


def _allowed(fit, model):
    from .prediction import mean_of_eta

    if model.multiclass or (mean_of_eta(model) and model.uses_aux not in ("event", "censoring")):
        return
    raise OptionError(f"marginal effects are defined here for models whose mean is a function of the linear "
                      f"predictor (binary, count, GLM and multinomial models), not for {fit.family}")


def _effects_fn(model, X, off, p, k, at):
    """``theta -> effects (p, K)``: d mean / d x averaged over rows, or at the mean row."""
    import jax
    import jax.numpy as jnp

    Xj = jnp.asarray(X)
    offj = jnp.zeros(X.shape[0]) if off is None else jnp.asarray(off, dtype=float)
    if at == "mean":
        Xj, offj = Xj.mean(axis=0, keepdims=True), offj[:1]
    phi = jnp.zeros(len(model.extra))

    def row_mean(x, o, B):  # one row's mean(s) as a function of its design row
        return jnp.atleast_1d(model.mean((x @ B + o)[None, :], phi)[0])

    def effects(b):
        B = b.reshape(k, p).T
        J = jax.vmap(jax.jacfwd(row_mean), in_axes=(0, 0, None))(Xj, offj, B)  # (n, K, p)
        return J.mean(axis=0).T  # (p, K)

    return effects


def marginal_effects(fit, at="overall", method="dydx") -> MarginalEffects:
    """The :class:`MarginalEffects` of ``fit`` (see the module docstring)."""
    import jax
    import jax.numpy as jnp

    from .prediction import coefficient_cov

    if method != "dydx":
        raise OptionError(f"method must be 'dydx' (the derivative of the mean), not {method!r}")
    if at not in ("overall", "mean"):
        raise OptionError(f"at must be 'overall' (average marginal effects) or 'mean' (at the means), not {at!r}")
    st = fit._state
    model = st["model"]
    _allowed(fit, model)
    if at == "mean" and st["off"] is not None:
        raise OptionError("marginal effects at the means are not defined here for a fit with an offset (the mean "
                          "row would need an offset of its own); at='overall' averages over the rows, offsets "
                          "and all")
    V = coefficient_cov(fit, "a marginal effect's standard error")
    X = np.asarray(st["X"], dtype=float)
    p, k = X.shape[1], model.k
    b = jnp.asarray(st["theta"][: p * k])
    f = _effects_fn(model, X, st["off"], p, k, at)
    # one compilation for the effects and their Jacobian (eager dispatch of the nested
    # derivatives took seconds)
    eff, J = jax.jit(lambda t: (f(t), jax.jacfwd(lambda u: f(u).ravel())(t)))(b)
    eff, J = np.asarray(eff), np.asarray(J)
    keep = np.flatnonzero(~np.all(X == 1.0, axis=0))
    K = eff.shape[1]
    rows = (keep[:, None] * K + np.arange(K)[None, :]).ravel()
    cov = J[rows] @ V @ J[rows].T
    se = np.sqrt(np.clip(np.diag(cov), 0, None)).reshape(len(keep), K)
    outcomes = tuple(st["classes"]) if model.multiclass else ("mean",)
    names = tuple(st["design_names"][i] for i in keep)
    return MarginalEffects(names=names, outcomes=outcomes, effect=eff[keep], se=se, cov=cov, at=at)
