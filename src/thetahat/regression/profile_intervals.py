"""Profile-likelihood intervals for regression coefficients.

The profile of a coefficient ``b_j`` is ``ℓ_p(t) = max ℓ(θ)`` over the other parameters (the
other coefficients and the model's extra parameters: log σ, log α, cut points) with
``b_j = t``. The interval at level ``1 - α`` is ``{t : 2 (ℓ̂ - ℓ_p(t)) <= χ²_{1, 1-α}}``; its
ends are found by :func:`thetahat.inference.profile.interval` (bracketing outward from the
estimate in steps of the Wald SE, doubling, then Brent's method), as for ``Fit.confint``. Each
``ℓ_p(t)`` is the regression's own damped Newton (:func:`._newton.newton_search`) on the full
log-likelihood with the row and column of ``b_j`` taken out of its gradient and Hessian, warm
started from the nearest profile point already solved. That holds ``b_j`` fixed for every
model with a Newton solver, including the multinomial (a coefficient of one class) and the
ordered model, where moving ``b_j x_j`` into the offset would not work.

A side where the profile never falls to the cutoff (its log-likelihood stays within the cutoff
of the maximum however far the coefficient goes) is open: its end is ``-inf`` or ``inf`` and
a note says so, the convention of ``Fit.confint(method="profile")``.

``transform``: a monotone function of one coefficient (``np.exp`` gives an odds-ratio or
rate-ratio interval) maps the coefficient's ends (profile intervals are invariant under such
maps); the ends are re-sorted, so a decreasing map is fine. A general function of several
coefficients, ``params={"label": g}`` with ``g`` taking the coefficients by name, is profiled
with ``g(b)`` held through the Lagrange system (:mod:`.profile_functions`).

Example
-------
>>> import numpy as np, thetahat
>>> X = np.column_stack([np.ones(8), np.arange(8.0)])
>>> f = thetahat.regress(X, y=np.array([0, 1, 0, 0, 1, 1, 0, 1.0]), family="bernoulli")
>>> ci = f.confint(method="profile")
>>> lo, hi = ci["x1"]
>>> bool(lo < f.params["x1"] < hi), ci.method
(True, 'profile')
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

from .._jax import x64
from ..errors import OptionError
from ..inference.intervals import Intervals
from ..inference.profile import interval
from ._newton import Data, derivatives, newton_search, value_grad
from .profile_functions import FunctionProfile, walk_to


BOUNDED_LINKS = ("gamma", "inverse_gaussian")  # with a non-log link, the linear predictor is bounded


class _Coefficient:
    """The profile of one coefficient, or of a linear combination ``c'b`` of the coefficients,
    in the shape that :func:`thetahat.inference.profile.interval` walks: ``loglik(s) -> (value,
    state)``. The coefficients are rotated to ``z = Q'b`` with ``Q`` orthonormal and its first
    column ``c/|c|`` (a permutation for one coefficient), so ``c'b = |c| z_1``: ``z_1`` is held,
    the rest (and the extra parameters) maximised."""

    bounded_coordinate = False

    def __init__(self, fit, data, name, c):
        st = fit._state
        self.fit, self.model, self.data, self.name = fit, st["model"], data, name
        theta = np.asarray(st["theta"], dtype=float)
        nb = c.size
        self.norm = float(np.linalg.norm(c))
        hot = np.flatnonzero(c)
        if hot.size == 1 and c[hot[0]] > 0:
            Q = np.eye(nb)[:, [hot[0]] + [i for i in range(nb) if i != hot[0]]]
        else:
            Q = np.linalg.qr(np.column_stack([c / self.norm, np.eye(nb)]))[0][:, :nb]
            Q[:, 0] = c / self.norm
        self.T = np.eye(theta.size)
        self.T[:nb, :nb] = Q
        z = self.T.T @ theta
        self.s_hat = float(z[0])
        var = float(c @ fit.cov[:nb, :nb] @ c) if fit.cov is not None else float("nan")
        se = np.sqrt(var) / self.norm if var > 0 else float("nan")
        self.step = se if np.isfinite(se) and se > 0 else 0.5 * (1.0 + abs(self.s_hat))
        self.solved = {self.s_hat: (float(fit.loglik), z[1:])}

    def value_at(self, s):
        return float(s) * self.norm

    def bound(self, side):
        return -np.inf if side < 0 else np.inf

    def loglik(self, s):
        """The profile log-likelihood at ``b_j = s`` and the other parameters there, warm started
        from the nearest point solved; where that start is outside the model's space at ``s`` (an
        inverse or identity link's mean leaving its support), the way to ``s`` is walked in
        shorter steps (:func:`.profile_functions.walk_to`)."""
        return walk_to(self.solved, s, self._solve)

    def _solve(self, s, start):
        model, data, T = self.model, self.data, self.T

        def evaluate(sub, hessian):
            full = T @ np.concatenate([[s], sub])
            if hessian:
                v, g, H = derivatives(model, data, full)
                return v, (T.T @ g)[1:], (T.T @ H @ T)[1:, 1:], None
            v, g = value_grad(model, data, full)
            return v, (T.T @ g)[1:], None, None

        res = newton_search(evaluate, start, max_iter=100)
        if not np.isfinite(res.loglik):
            return float("nan"), None
        # an unconverged run (the other coefficients running off: a separating direction) still
        # gives a lower bound of the profile, and the ends are found where it is well defined
        return float(res.loglik), np.asarray(res.theta, dtype=float)


def _edges(prof, ends, level):
    """Notes for ends that are no crossing of the cutoff but the edge of the space where the model
    is defined (a mean leaving its support: an inverse link's linear predictor reaching 0), met
    while the profile is still above the cutoff. There the root-finder stops at a jump of the
    profile deviance to infinity; such a side is open, its end the edge."""
    q = float(chi2.ppf(level, 1))
    notes = []
    for end, side in zip(ends, ("lower", "upper")):
        if not np.isfinite(end):
            continue
        ll, _ = prof.loglik(end / prof.norm)
        d = 2.0 * (prof.fit.loglik - ll) - q if np.isfinite(ll) else np.inf
        if abs(d) > 1e-6 * q:
            notes.append(f"the profile of {prof.name} reaches the edge of the model's space ({prof.name} = {end:g}, "
                         f"where a mean leaves its support) before the {level:.0%} cutoff: the {side} side of "
                         "the interval is open there")
    return notes


def _checked(fit, level):
    if not 0 < level < 1:
        raise OptionError(f"confidence level must be between 0 and 1, got {level}")
    st = fit._state
    if st.get("X") is None or "model" not in st:
        raise OptionError("profile intervals need the fit's rows in memory; a streamed regression does not keep "
                          "them (use method='wald')")
    if "penalty" in fit.info:
        raise OptionError("profile intervals need the maximum of the likelihood; a penalised (MAP) fit is not one")
    if not fit.converged:
        raise OptionError("the fit did not converge: a profile needs the maximum")
    if fit.family in BOUNDED_LINKS and fit.link != "log":
        raise OptionError(f"profile intervals are not available for {fit.family} with the {fit.link} link: the "
                          "mean leaves its support along the profile (use the log link, or method='wald')")
    return st


def _targets(fit, st, params):
    nb = st["X"].shape[1] * st["model"].k
    coefs = list(fit.names[:nb])
    if params is None:
        return [(k, row) for k, row in zip(coefs, np.eye(len(coefs)))]
    if isinstance(params, dict):
        return [(k, v if callable(v) else _combination(v, coefs)) for k, v in params.items()]
    wanted = [params] if isinstance(params, str) else list(params)
    out = []
    for k in wanted:
        if k not in fit.names:
            raise OptionError(f"{k!r} is not a parameter of this fit; its coefficients are {', '.join(coefs)}")
        if k not in coefs:
            raise OptionError(f"{k!r} is an extra parameter of the {fit.family} model: profile intervals are "
                              "computed for the coefficients only")
        out.append((k, np.eye(len(coefs))[coefs.index(k)]))
    return out


def _combination(weights, coefs):
    """The vector ``c`` of a linear combination given as ``{coefficient: weight}`` or a vector."""
    if isinstance(weights, dict):
        bad = [k for k in weights if k not in coefs]
        if bad:
            raise OptionError(f"{bad} are not coefficients of this fit: {', '.join(coefs)}")
        c = np.zeros(len(coefs))
        for k, w in weights.items():
            c[coefs.index(k)] = float(w)
    else:
        c = np.asarray(weights, dtype=float).ravel()
        if c.size != len(coefs):
            raise OptionError(f"a linear combination needs {len(coefs)} weights (one per coefficient), got {c.size}")
    if not np.all(np.isfinite(c)) or not np.any(c):
        raise OptionError("a linear combination needs finite weights, not all zero")
    return c


def mapped_ends(ends, transform):
    """``ends`` through a monotone ``transform``, re-sorted (``None``: unchanged)."""
    if transform is None:
        return ends
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        a, b = (float(np.asarray(transform(np.float64(e)))) for e in ends)
    return (min(a, b), max(a, b))


@x64
def profile_confint(fit, level=0.95, params=None, transform=None) -> Intervals:
    """Profile-likelihood intervals of the coefficients of an in-memory regression fit.

    Parameters
    ----------
    fit : RegressionFit
    level : float
        The confidence level, ``1 - alpha``.
    params : str, list of str or dict, optional
        The coefficients to profile (default all), or ``{label: combination}`` for linear
        combinations ``c'b`` of them, each given as ``{coefficient: weight}`` or a vector
        of weights (``{"x1 - x2": {"x1": 1, "x2": -1}}``; a row ``x0`` of the design gives
        the linear predictor there, and ``transform`` the inverse link maps it to the mean),
        or as a function of the coefficients by name, written with ``jax.numpy``
        (``{"x1 / x2": lambda b: b["x1"] / b["x2"]}``).
    transform : callable, optional
        A monotone function applied to the ends (``np.exp``: odds or rate ratios).

    Returns
    -------
    Intervals
        ``{name: (lo, hi)}`` with ``method="profile"``, ``level`` and ``notes`` (open sides).

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> X = np.column_stack([np.ones(6), np.arange(6.0)])
    >>> f = thetahat.regress(X, y=np.array([0.0, 1, 0, 2, 3, 3]), family="poisson")
    >>> lo, hi = profile_confint(f, 0.95, params="x1", transform=np.exp)["x1"]
    >>> bool(lo < np.exp(f.params["x1"]) < hi)
    True
    """
    st = _checked(fit, level)
    data = Data.build(st["X"], st["y"], st["aux"], st["w"], st["off"])
    out, notes = {}, []
    coefs = list(fit.names[:st["X"].shape[1] * st["model"].k])
    for name, c in _targets(fit, st, params):
        if callable(c):  # a function of the coefficients: profiled through the KKT system
            prof = FunctionProfile(fit, data, name, c, coefs)
            lo, hi, nk = interval(prof, level)
        else:
            prof = _Coefficient(fit, data, name, c)
            lo, hi, nk = interval(prof, level)
            nk += _edges(prof, (lo, hi), level)
        out[name] = mapped_ends((lo, hi), transform)
        notes.extend(nk)
    return Intervals(out, method="profile", level=level, notes=notes)
