"""The :class:`Fit` result: immutable, complete, and plain about what it knows."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._jax import x64_methods
from .errors import OptionError
from .families._base import Family


class InformationCriteria:
    """AIC and BIC of any result with ``loglik``, ``n_estimated`` (free parameters) and ``nobs``."""

    @property
    def aic(self) -> float:
        """Akaike's criterion, −2ℓ + 2k, k = number of estimated (free) parameters."""
        return -2 * self.loglik + 2 * self.n_estimated

    @property
    def bic(self) -> float:
        """Schwarz's criterion, −2ℓ + k log n."""
        return -2 * self.loglik + self.n_estimated * np.log(self.nobs)


@dataclass(frozen=True)
class Diagnostics:
    """How the optimum was reached and what the second-derivative check found."""

    grad_norm: float | None  # max |d loglik / du| over regular parameters at the optimum (u coordinates)
    hessian_negative_definite: bool | None  # None where the check does not apply
    hessian_condition: float | None
    iterations: int
    starts: int = 1
    starts_converged: int = 1


@x64_methods
@dataclass(frozen=True)
class Fit(InformationCriteria):
    """A maximum likelihood fit.

    Attributes
    ----------
    family : Family
    params : dict
        Every parameter, estimated and fixed.
    se : dict
        Standard error of each estimated parameter; ``None`` where it does not apply
        (a non-regular parameter, one on a boundary, a singular information matrix)
        -- ``notes`` says which and why.
    cov : numpy.ndarray or None
        Covariance of the estimated parameters, flattened in ``cov_labels`` order.
    cov_type : str
        ``"observed"`` (inverse observed information) or ``"expected"``.
    loglik, aic, bic, nobs : float
    converged : bool
    reason : str
    method : str
        ``"closed"`` for a closed-form estimate, else the optimiser that produced it.
    trace : tuple
        Log-likelihood per iteration.
    boundary : dict
        The parameters whose estimate is a limit of their space, e.g. ``{"df": inf}``
        for a t fitted to normal data; empty for an estimate in the interior. A fit on
        the boundary is the limiting model's (``limit``); ``reason`` names it.
    limit : Fit or None
        The limiting model (:class:`~thetahat.families.Limit`) fitted directly, for a
        family that has one (t: the normal; negative binomial, zip: the poisson).
    limit_test : LRTResult or None
        The likelihood-ratio test of that limiting model within this family, with the
        χ̄² p-value of a boundary restriction.

    Examples
    --------
    >>> import thetahat
    >>> f = thetahat.fit([1, 0, 1, 1, 0], "bernoulli")
    >>> round(f.params["p"], 6), round(f.se["p"], 6)
    (0.6, 0.219089)
    """

    family: Family
    params: dict
    se: dict
    cov: np.ndarray | None
    cov_labels: tuple
    cov_type: str
    loglik: float
    nobs: float
    n_estimated: int
    converged: bool
    reason: str
    method: str
    trace: tuple
    diagnostics: Diagnostics
    fixed: dict = field(default_factory=dict)
    notes: tuple = ()
    dropped: int = 0
    path: tuple = ()
    context: object = field(default=None, repr=False, compare=False)  # what refits need (FitContext)
    boundary: dict = field(default_factory=dict)
    limit: object = field(default=None, repr=False, compare=False)
    limit_test: object = field(default=None, repr=False, compare=False)

    # ---- information criteria -------------------------------------------------
    @property
    def estimated(self) -> list:
        return [k for k in self.family.params if k not in self.fixed]

    # ---- intervals ---------------------------------------------------------------
    def confint(self, level: float = 0.95, method: str = "wald", **options):
        """Confidence intervals for each estimated parameter.

        Parameters
        ----------
        level : float
        method : {"wald", "profile", "bootstrap"}
            ``wald``: estimate ± z·se. ``profile``: the likelihood-ratio interval, the
            other parameters re-optimised; a side where the profile never reaches the
            cutoff is open (its end is the parameter's bound) and ``notes`` says so.
            ``bootstrap``: refits of resampled data, vmapped.
        **options
            For the bootstrap: ``n_boot`` (2000), ``kind`` ("parametric" or
            "nonparametric"), ``interval`` ("percentile" or "bca"), ``seed``, ``progress``.

        Returns
        -------
        Intervals
            A dict ``{name: (lo, hi)}`` (``None`` where no interval applies) with
            ``method``, ``level`` and ``notes`` attributes.

        Examples
        --------
        >>> import numpy as np, thetahat
        >>> x = np.array([2.1, 3.9, 3.2, 5.0, 4.4])
        >>> lo, hi = thetahat.fit(x, "normal").confint(0.95)["mu"]
        >>> se = x.std() / np.sqrt(x.size)          # sigma-hat (divisor n) / sqrt(n)
        >>> bool(np.allclose([lo, hi], [x.mean() - 1.959964 * se, x.mean() + 1.959964 * se]))
        True
        """
        from .inference import intervals as iv

        iv.check_level(level)
        if method == "wald":
            if options:
                raise OptionError(f"Wald intervals take no options, got {', '.join(options)}")
            return iv.wald(self, level)
        if method == "profile":
            return iv.profile(self, level)
        if method == "bootstrap":
            self._refuse_at_boundary("bootstrap")
            return iv.bootstrap(self, level, **options)
        raise OptionError(f"unknown interval method {method!r}; choose wald, profile or bootstrap")

    def profile(self, name: str, level: float = 0.95, points: int = 41):
        """The profile log-likelihood of one parameter (a :class:`~thetahat.inference.profile.Profile`):
        values, profile log-likelihood, deviance, and the interval at ``level``."""
        self._refuse_at_boundary('profile')
        from .inference.profile import profile_curve

        return profile_curve(self, name, level=level, points=points)

    def transform(self, g, name: str = "g"):
        """Inference on a function ``g(params)`` of the parameters.

        By invariance the MLE of ``g(θ)`` is ``g(θ̂)``; its standard error comes from the
        delta method with an autodiff gradient, and ``.confint(method="profile")`` gives
        its profile-likelihood interval (Lagrange--Newton with exact derivatives).

        Examples
        --------
        >>> import numpy as np, thetahat
        >>> x = np.random.default_rng(0).exponential(2.0, 400)
        >>> f = thetahat.fit(x, "exponential")
        >>> m = f.transform(lambda p: 1 / p["lam"], name="mean")
        >>> bool(np.isclose(m.estimate, x.mean())), bool(np.isclose(m.se, x.mean() / np.sqrt(400)))
        (True, True)
        """
        self._refuse_at_boundary('transform')
        from .inference.delta import transform

        return transform(self, g, name)

    def bootstrap(self, n_boot: int = 2000, kind: str = "parametric", seed: int = 0, progress=None):
        """Bootstrap replicates of the estimates (see :mod:`thetahat.inference.bootstrap`)."""
        self._refuse_at_boundary('bootstrap')
        from .inference.bootstrap import bootstrap

        return bootstrap(self, n_boot=n_boot, kind=kind, seed=seed, progress=progress)

    def gof(self, tests=None, n_boot: int = 999, seed: int = 0):
        """Tests of fit: KS, Anderson--Darling and Cramér--von Mises with parametric-bootstrap
        p-values (parameters re-estimated in every bootstrap sample), or χ² for discrete
        families (see :func:`thetahat.inference.gof.gof`)."""
        self._refuse_at_boundary('gof')
        from .inference.gof import gof

        return gof(self, tests=tests, n_boot=n_boot, seed=seed)

    def plot(self, kind: str = "panel", path=None, **options):
        """Density/PMF over a histogram, QQ, PP, CDF, or the four as a panel; written to ``path``
        when given (see :mod:`thetahat.plots`). Returns the matplotlib Figure."""
        from .plots import plot_fit

        return plot_fit(self, kind=kind, path=path, **options)

    def update(self, more, *, column=None, dropna: bool = False) -> "Fit":
        """This fit with the observations ``more`` added (in memory, files, or Dask).

        Exact and cheap for families with sufficient statistics: only the new rows are
        read, their statistics merge with this fit's, and the estimate is recomputed
        from the merged statistics -- equal to a fit of all the rows. Other families
        refit the old and new rows, warm-started here (this fit must hold its rows).
        See :mod:`thetahat.fitting.update`.

        Examples
        --------
        >>> import numpy as np, thetahat
        >>> a, b = np.array([1.2, 0.4, 2.2, 0.9]), np.array([1.7, 0.3])
        >>> f = thetahat.fit(a, "exponential").update(b)
        >>> bool(np.isclose(f.params["lam"], 6 / (a.sum() + b.sum()), rtol=1e-14))
        True
        """
        if self.context is None:
            raise OptionError("this fit keeps no data context to update")
        return self.context.update(self, more, column=column, dropna=dropna)

    def fisher_information(self, kind: str = "observed") -> np.ndarray:
        """The information matrix of the estimated parameters, in ``cov_labels`` order.

        ``observed``: minus the Hessian of the log-likelihood at θ̂ (natural
        coordinates). ``expected``: ``n`` times the family's per-observation Fisher
        information at θ̂, where the family gives it.
        """
        self._refuse_at_boundary("fisher_information")
        from .inference.information import information

        return information(self, kind)

    def _refuse_at_boundary(self, what):
        if not self.boundary:
            return
        lim = self.limit.family.name
        head = f"this {self.family.name} fit is on the boundary ({boundary_text(self.boundary)}), "
        limits = [m for m in self.family.limits if set(m.at) == set(self.boundary)]
        if limits and limits[0].prepare is not None:
            raise OptionError(head + f"where it is a {lim} of shifted data (fit.limit): its {what} is not "
                                     "available here")
        names = ", ".join(f"{k} is {v}" for k, v in (limits[0].keep if limits else {}).items())
        raise OptionError(head + f"where it is the {lim} model: call fit.limit.{what}(...) for the {lim} fit"
                          + (f" ({names} there)" if names else ""))

    # ---- the fitted distribution ------------------------------------------------
    def _limit_distribution(self, what):
        """For a fit on the boundary, the limiting model's fit, which is the fitted distribution
        (unless the limit sees transformed data, as the skew normal's half-normal does)."""
        if not self.boundary:
            return None
        if any(lim.prepare is not None for lim in self.family.limits if set(lim.at) == set(self.boundary)):
            self._refuse_at_boundary(what)
        return self.limit

    def to_scipy(self):
        """The fitted distribution as a frozen scipy.stats object (for a fit on the boundary,
        the limiting model's: a t with df = inf is the normal)."""
        lim = self._limit_distribution("to_scipy")
        return lim.to_scipy() if lim is not None else self.family.to_scipy(self.params)

    def logpdf(self, x):
        """Log-density (log-pmf) of the fitted distribution at ``x``."""
        lim = self._limit_distribution("logpdf")
        if lim is not None:
            return lim.logpdf(x)
        import jax
        import jax.numpy as jnp

        p = {k: jnp.asarray(v) for k, v in self.params.items()}
        xs = jnp.asarray(np.asarray(x, dtype=float))
        if xs.ndim == self.family.ndim:
            return float(self.family.logpdf(xs, p))
        return np.asarray(jax.vmap(lambda xi: self.family.logpdf(xi, p))(xs))

    def sample(self, size: int, seed: int = 0) -> np.ndarray:
        """Draw ``size`` observations from the fitted distribution."""
        lim = self._limit_distribution("sample")
        if lim is not None:
            return lim.sample(size, seed)
        import jax

        return self.family.sample(jax.random.PRNGKey(seed), self.params, size)

    # ---- reporting ---------------------------------------------------------------
    def to_dict(self, level: float = 0.95) -> dict:
        """A JSON-ready dict: family, params, se, ci, loglik, aic, bic, nobs, converged, ..."""

        def clean(v):  # JSON has no infinity or NaN: null (a limit of the space is in "boundary")
            if v is None:
                return None
            a = np.asarray(v, dtype=float)
            if a.ndim == 0:
                return float(a) if np.isfinite(a) else None
            return np.where(np.isfinite(a), a, None).tolist()

        ci = self.confint(level)
        return {
            "family": self.family.name,
            "params": {k: clean(v) for k, v in self.params.items()},
            "se": {k: clean(self.se.get(k)) for k in self.estimated},
            "ci": {k: (None if v is None else [clean(v[0]), clean(v[1])]) for k, v in ci.items()},
            "loglik": float(self.loglik),
            "aic": float(self.aic),
            "bic": float(self.bic),
            "nobs": float(self.nobs) if self.nobs != int(self.nobs) else int(self.nobs),
            "converged": bool(self.converged),
            "reason": self.reason,
            "method": self.method,
            "cov_type": self.cov_type,
            "fixed": {k: clean(v) for k, v in self.fixed.items()},
            "dropped": int(self.dropped),
            "notes": list(self.notes),
            "boundary": {k: f"{float(v):g}" for k, v in self.boundary.items()},  # JSON has no infinity
            "limit_test": None if self.limit_test is None else self.limit_test.to_dict(),
        }

    def summary(self, level: float = 0.95) -> str:
        """A plain-text table in the manner of statsmodels' ``summary()``."""
        d = self.diagnostics
        ci = self.confint(level)
        lines = []
        w = 78
        lines.append("=" * w)
        lines.append(f"{'Maximum likelihood fit: ' + self.family.name:^{w}}")
        lines.append("=" * w)
        left = [("Family", self.family.name), ("Method", self.method), ("Observations", _num(self.nobs)),
                ("Dropped rows", str(self.dropped)), ("Converged", "yes" if self.converged else "NO")]
        right = [("Log-likelihood", f"{self.loglik:.6f}"), ("AIC", f"{self.aic:.4f}"), ("BIC", f"{self.bic:.4f}"),
                 ("Iterations", str(d.iterations)), ("Covariance", self.cov_type)]
        for (a, b), (c, e) in zip(left, right):
            lines.append(f"{a + ':':<16}{b:>22}   {c + ':':<16}{e:>21}")
        lines.append("-" * w)
        lo_h, hi_h = f"[{(1 - level) / 2:.3f}", f"{1 - (1 - level) / 2:.3f}]"
        lines.append(f"{'':<14}{'estimate':>14}{'std err':>14}{lo_h:>14}{hi_h:>14}")
        lines.append("-" * w)
        for k in self.family.params:
            for label, est, se, interval in _rows(k, self.params[k], self.se.get(k), ci.get(k)):
                if k in self.fixed:
                    lines.append(f"{label:<14}{est:>14.6g}{'(fixed)':>14}")
                    continue
                se_s = "n/a" if se is None else f"{se:.6g}"
                lo_s = "n/a" if interval is None else f"{interval[0]:.6g}"
                hi_s = "n/a" if interval is None else f"{interval[1]:.6g}"
                lines.append(f"{label:<14}{est:>14.6g}{se_s:>14}{lo_s:>14}{hi_s:>14}")
        for k, v in self.fixed.items():
            if k not in self.family.params:
                lines.append(f"{k:<14}{float(v):>14.6g}{'(known)':>14}")
        lines.append("=" * w)
        hnd = {True: "yes", False: "NO", None: "n/a"}[d.hessian_negative_definite]
        cond = "n/a" if d.hessian_condition is None else f"{d.hessian_condition:.3g}"
        lines.append(f"Stopped: {self.reason}")
        if self.boundary:
            lines.append(f"Boundary: {boundary_text(self.boundary)}")
        if self.limit_test is not None:
            t = self.limit_test
            lines.append(f"LR test against the limiting {t.restricted} model: LR {t.statistic:.4g}, "
                         f"p-value {t.pvalue:.4g} ({t.distribution})")
        gn = "n/a" if d.grad_norm is None else f"{d.grad_norm:.3g}"
        lines.append(f"Gradient norm at optimum: {gn}; Hessian negative definite: {hnd}; "
                     f"condition number: {cond}")
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        return f"<Fit {self.family.name}({ps}) loglik={self.loglik:.6g} converged={self.converged}>"


def boundary_text(b) -> str:
    """``{"df": inf}`` as ``df = inf``: the parameters of a fit that sit at a limit of their space.

    >>> boundary_text({"df": float("inf")})
    'df = inf'
    """
    return ", ".join(f"{k} = {float(v):g}" for k, v in b.items())


def _num(v):
    return str(int(v)) if float(v) == int(v) else f"{v:g}"


def _short(v):
    a = np.asarray(v)
    return f"{float(a):.6g}" if a.ndim == 0 else np.array2string(a, precision=4)


def _rows(name, est, se, interval):
    a = np.asarray(est, dtype=float)
    if a.ndim == 0:
        return [(name, float(a), None if se is None else float(se), interval)]
    rows = []
    for idx in np.ndindex(*a.shape):
        lab = f"{name}[{','.join(map(str, idx))}]"
        s = None if se is None else float(np.asarray(se)[idx])
        iv = None if interval is None else (float(interval[0][idx]), float(interval[1][idx]))
        rows.append((lab, float(a[idx]), s, iv))
    return rows
