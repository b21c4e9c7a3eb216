"""The :class:`RegressionFit` result: an immutable coefficient table with everything around it."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from .._jax import x64_methods
from ..result import InformationCriteria


@x64_methods
@dataclass(frozen=True, eq=False)
class RegressionFit(InformationCriteria):
    """A regression fitted by maximum likelihood (or MAP, with a penalty).

    Attributes
    ----------
    family, link : str
    names : tuple of str
        One label per reported parameter: the coefficients (``"class:column"`` for
        multinomial), then the model's extra parameters (``sigma``, ``alpha``, ``shape``,
        cut points ``cut1``, ...).
    estimates, se : numpy.ndarray
        ``se`` is NaN where no standard error applies (``notes`` says why).
    cov : numpy.ndarray or None
        Covariance of ``estimates`` (inverse observed information, delta method for
        the extra parameters); for an L2 penalty, the Laplace approximation of the
        posterior.
    loglik : float
        The log-likelihood at the estimates (without the penalty).
    nobs : float
        Observations (the sum of the weights when weights are frequency weights).
    n_params : int
        Number of estimated parameters (for AIC/BIC).
    deviance : float
        Sum of the GLM unit deviances for GLM families (statsmodels' ``deviance``; the
        residual sum of squares for normal), else ``-2 loglik``.
    converged : bool
    reason : str
    info : dict
        Family-specific extras: ``sigma2_mle`` and ``sigma2_unbiased`` and
        ``se_unbiased`` for normal, ``classes`` for multinomial/ordered, ``penalty``...
    cov_type : str
        How ``cov`` was computed (``observed``, ``expected``, ``HC0``-``HC3``, ``cluster``,
        ``ols``; :mod:`thetahat.regression.covariance_types`). With ``ols``, ``z``,
        ``pvalues`` and ``confint`` are t-based on ``info["df_resid"]`` degrees of freedom.

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> x = np.array([0.0, 1, 2, 3, 4])
    >>> f = thetahat.regress(np.column_stack([np.ones(5), x]), y=2 + 3 * x + np.array([.1, -.1, 0, .1, -.1]))
    >>> [round(v, 6) for v in f.params.values()]
    [2.04, 2.98, 0.084853]
    """

    family: str
    link: str
    names: tuple
    estimates: np.ndarray
    se: np.ndarray
    cov: np.ndarray | None
    loglik: float
    nobs: float
    n_params: int
    deviance: float
    converged: bool
    reason: str
    method: str
    iterations: int
    notes: tuple = ()
    info: dict = field(default_factory=dict)
    dropped: int = 0
    cov_type: str = "observed"
    _state: dict = field(default_factory=dict, repr=False)

    # ---- the table -------------------------------------------------------------------
    @property
    def params(self) -> dict:
        """Estimates by label."""
        return {k: float(v) for k, v in zip(self.names, self.estimates)}

    @property
    def bse(self) -> dict:
        """Standard errors by label (NaN where none applies)."""
        return {k: float(v) for k, v in zip(self.names, self.se)}

    @property
    def z(self) -> dict:
        return {k: float(e / s) if np.isfinite(s) and s > 0 else float("nan")
                for k, e, s in zip(self.names, self.estimates, self.se)}

    @property
    def pvalues(self) -> dict:
        """Two-sided Wald p-values, 2 Φ(-|z|) (with ``cov_type="ols"``, from the t distribution
        on ``info["df_resid"]`` degrees of freedom)."""
        from scipy.special import ndtr
        from scipy.stats import t as student_t

        df = self.info.get("df_resid") if self.cov_type == "ols" else None
        tail = (lambda v: 2 * ndtr(-abs(v))) if df is None else (lambda v: 2 * student_t.sf(abs(v), df))
        return {k: float(tail(v)) if np.isfinite(v) else float("nan") for k, v in self.z.items()}

    def confint(self, level: float = 0.95, method: str = "wald", params=None, transform=None) -> dict:
        """Confidence intervals by label: ``wald`` (``estimate ± z·se``, the default) or ``profile``
        (likelihood-ratio intervals of the coefficients, :mod:`.profile_intervals`; an open side
        is ``±inf`` with a note). ``params`` picks coefficients, or (profile) gives linear
        combinations ``{label: {coefficient: weight}}`` or functions ``{label: g}`` of the
        coefficients by name (``lambda b: b["x1"] / b["x2"]``); ``transform`` (a monotone map
        such as ``np.exp``) is applied to the ends."""
        if method == "profile":
            from .profile_intervals import profile_confint

            return profile_confint(self, level, params, transform)
        from ..errors import OptionError

        if method != "wald":
            raise OptionError(f"unknown interval method {method!r}; choose wald or profile")
        if not 0 < level < 1:
            raise OptionError(f"confidence level must be between 0 and 1, got {level}")
        q = NormalDist().inv_cdf(0.5 + level / 2)
        if self.cov_type == "ols":
            from scipy.stats import t as student_t

            q = float(student_t.ppf(0.5 + level / 2, self.info["df_resid"]))
        out = {k: (float(e - q * s), float(e + q * s)) for k, e, s in zip(self.names, self.estimates, self.se)}
        if params is not None:
            keep = [params] if isinstance(params, str) else list(params)
            if any(k not in out for k in keep):
                raise OptionError(f"{[k for k in keep if k not in out]} not parameters of this fit: {list(out)}")
            out = {k: out[k] for k in keep}
        if transform is not None:
            from .profile_intervals import mapped_ends

            out = {k: mapped_ends(v, transform) for k, v in out.items()}
        return out

    def table(self, level: float = 0.95) -> list:
        """One dict per parameter: name, estimate, se, z, p, ci_low, ci_high."""
        ci, z, p = self.confint(level), self.z, self.pvalues
        return [{"name": k, "estimate": float(e), "se": float(s), "z": z[k], "p": p[k], "ci_low": ci[k][0],
                 "ci_high": ci[k][1]} for k, e, s in zip(self.names, self.estimates, self.se)]

    @property
    def n_estimated(self) -> int:
        """Parameters counted by AIC/BIC (``aic``, ``bic`` from
        :class:`~thetahat.result.InformationCriteria`)."""
        return self.n_params

    # ---- model-level statistics (:mod:`.model_statistics`) ---------------------------------
    @property
    def llnull(self) -> float:
        """The log-likelihood of the intercept-only model of the same family (with the fit's
        offset and weights), fitted by thetahat.

        Examples
        --------
        >>> import numpy as np, thetahat
        >>> X = np.column_stack([np.ones(6), np.arange(6.0)])
        >>> f = thetahat.regress(X, y=np.array([0, 1, 0, 1, 1, 1.0]), family="bernoulli")
        >>> round(f.llnull, 6), round(f.llr, 6), f.df_model
        (-3.819085, 2.75792, 1)
        """
        from .model_statistics import null_loglik

        return null_loglik(self)

    @property
    def df_model(self) -> int:
        """The coefficients beyond the intercept: the degrees of freedom of ``llr``."""
        from .model_statistics import model_df

        return model_df(self)

    @property
    def llr(self) -> float:
        """The likelihood-ratio statistic against the null model, ``2 (loglik - llnull)``."""
        return 2.0 * (self.loglik - self.llnull)

    @property
    def llr_pvalue(self) -> float:
        """The p-value of ``llr`` on ``df_model`` degrees of freedom (chi-squared)."""
        from scipy.stats import chi2

        return float(chi2.sf(self.llr, self.df_model))

    @property
    def prsquared(self) -> float:
        """McFadden's pseudo-R², ``1 - loglik / llnull``."""
        return 1.0 - self.loglik / self.llnull

    @property
    def rsquared(self) -> float:
        """R² of the normal linear model (centered with an intercept, else uncentered, as statsmodels).

        Examples
        --------
        >>> import numpy as np, thetahat
        >>> X = np.column_stack([np.ones(5), np.arange(5.0)])
        >>> f = thetahat.regress(X, y=np.array([1.0, 3, 2, 5, 4]), cov_type="ols")
        >>> round(f.rsquared, 6), round(f.fvalue, 6), f.cov_type
        (0.64, 5.333333, 'ols')
        """
        from .model_statistics import linear_statistics

        return linear_statistics(self)["rsquared"]

    @property
    def rsquared_adj(self) -> float:
        """Adjusted R², ``1 - (n - k0) / (n - p) (1 - R²)`` (k0 = 1 with an intercept)."""
        from .model_statistics import linear_statistics

        return linear_statistics(self)["rsquared_adj"]

    @property
    def fvalue(self) -> float:
        """The F statistic of the normal linear model against the intercept-only model."""
        from .model_statistics import linear_statistics

        return linear_statistics(self)["fvalue"]

    @property
    def f_pvalue(self) -> float:
        """The p-value of ``fvalue`` on (``df_model``, n - p) degrees of freedom."""
        from .model_statistics import linear_statistics

        return linear_statistics(self)["f_pvalue"]

    # ---- predictions and residuals -------------------------------------------------------
    def predict(self, data=None, *, X=None, offset=None, se=False, interval=None, alpha=0.05):
        """The fitted mean (class probabilities for multinomial/ordered, one column per class).

        With neither ``data`` nor ``X``, the fit's own rows. ``data`` is a frame for a
        formula fit; ``X`` a design matrix with the fit's columns. With ``se=True`` or
        ``interval="confidence"`` a pandas DataFrame as statsmodels' ``summary_frame()``:
        ``mean``, ``mean_se`` (delta method) and ``mean_ci_lower``/``mean_ci_upper``
        (level ``1 - alpha``, on the link scale mapped through the inverse link);
        ``interval="prediction"`` adds ``obs_ci_lower``/``obs_ci_upper`` (normal family
        only). See :mod:`thetahat.regression.prediction`.

        Examples
        --------
        >>> import numpy as np, thetahat
        >>> X = np.column_stack([np.ones(6), np.arange(6.0)])
        >>> fit = thetahat.regress(X, y=np.array([0.0, 1, 0, 2, 3, 3]), family="poisson")
        >>> fr = fit.predict(X=np.array([[1.0, 2.5]]), se=True)
        >>> bool(fr["mean_ci_lower"][0] < fr["mean"][0] < fr["mean_ci_upper"][0])
        True
        """
        from ._predict import predict, rows

        if not se and interval is None:
            return predict(self, data, X, offset)
        from .prediction import predict_frame

        Xn, off = rows(self, data, X, offset)
        return predict_frame(self, Xn, off, interval, alpha)

    @property
    def fitted(self) -> np.ndarray:
        return self.predict()

    def residuals(self, kind: str = "response") -> np.ndarray:
        """``response`` (y − μ̂), ``pearson`` ((y − μ̂)/√V(μ̂)), ``deviance`` or ``working``
        ((y − μ̂)·g'(μ̂), the IRLS working residual) residuals.

        Multinomial and ordered fits have no scalar residual; censored models give
        ``response`` only.
        """
        from ._predict import residuals

        return residuals(self, kind)

    def influence(self):
        """Leverage, studentised Pearson residuals and Cook's distance, one row per observation
        (a pandas DataFrame), for the normal and GLM families: see
        :mod:`thetahat.regression.influence`.

        Examples
        --------
        >>> import numpy as np, thetahat
        >>> X = np.column_stack([np.ones(5), np.arange(5.0)])
        >>> fit = thetahat.regress(X, y=np.array([1.0, 3, 2, 5, 4]))
        >>> round(float(fit.influence()["leverage"].sum()), 10)   # the trace is p
        2.0
        """
        from .influence import influence_frame

        return influence_frame(self)

    def marginal_effects(self, at: str = "overall", method: str = "dydx"):
        """Average marginal effects (``at="overall"``) or effects at the means (``at="mean"``) of
        the design columns on the mean, with delta-method SEs: a
        :class:`~thetahat.regression.margins.MarginalEffects` (``.frame()`` for a table).

        Examples
        --------
        >>> import numpy as np, thetahat
        >>> X = np.column_stack([np.ones(6), np.arange(6.0)])
        >>> fit = thetahat.regress(X, y=np.array([0.0, 1, 0, 2, 3, 3]), family="poisson")
        >>> me = fit.marginal_effects()
        >>> bool(np.isclose(me.effect[0, 0], fit.params["x1"] * fit.fitted.mean()))
        True
        """
        from .margins import marginal_effects

        return marginal_effects(self, at, method)

    # ---- reporting ------------------------------------------------------------------
    def to_dict(self, level: float = 0.95) -> dict:
        """A JSON-ready dict: family, link, the coefficient table, loglik, aic, bic, deviance, ..."""
        info = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.info.items()}
        return {"family": self.family, "link": self.link, "nobs": _num(self.nobs), "coefficients": self.table(level),
                "loglik": float(self.loglik), "aic": float(self.aic), "bic": float(self.bic),
                "deviance": float(self.deviance), "n_params": int(self.n_params), "converged": bool(self.converged),
                "reason": self.reason, "method": self.method, "iterations": int(self.iterations),
                "cov_type": self.cov_type,
                "dropped": int(self.dropped), "notes": list(self.notes), "info": info}

    def summary(self, level: float = 0.95) -> str:
        """A plain-text coefficient table in the manner of statsmodels' ``summary()``."""
        w = 86
        lines = ["=" * w, f"{'Regression by ' + self.method + ': ' + self.family + ' (' + self.link + ' link)':^{w}}",
                 "=" * w]
        left = [("Observations", _fmt(self.nobs)), ("Dropped rows", str(self.dropped)),
                ("Converged", "yes" if self.converged else "NO"), ("Iterations", str(self.iterations))]
        right = [("Log-likelihood", f"{self.loglik:.6f}"), ("AIC", f"{self.aic:.4f}"), ("BIC", f"{self.bic:.4f}"),
                 ("Deviance", f"{self.deviance:.6g}")]
        from .model_statistics import summary_rows

        extra_left, extra_right = summary_rows(self)
        left, right = left + extra_left, right + extra_right
        right += [("", "")] * (len(left) - len(right))
        left += [("", "")] * (len(right) - len(left))
        for (a, b), (c, e) in zip(left, right):
            lines.append(f"{a + ':' if a else '':<16}{b:>24}   {c + ':' if c else '':<16}{e:>25}")
        lines.append("-" * w)
        lo_h, hi_h = f"[{(1 - level) / 2:.3f}", f"{1 - (1 - level) / 2:.3f}]"
        zh, ph = ("t", "P>|t|") if self.cov_type == "ols" else ("z", "P>|z|")
        lines.append(f"{'':<22}{'estimate':>12}{'std err':>11}{zh:>9}{ph:>9}{lo_h:>11}{hi_h:>11}")
        lines.append("-" * w)
        for r in self.table(level):
            nm = r["name"] if len(r["name"]) <= 21 else r["name"][:20] + "…"
            cells = (_cell(f"{r['estimate']:.6g}", 12), _cell(_g(r["se"]), 11), _cell(_g(r["z"], 4), 9),
                     _cell(_p(r["p"]), 9), _cell(_g(r["ci_low"]), 11), _cell(_g(r["ci_high"]), 11))
            lines.append(f"{nm:<22}" + "".join(cells))
        lines.append("=" * w)
        if "sigma2_mle" in self.info:
            lines.append(f"sigma^2: MLE (divisor n) {self.info['sigma2_mle']:.6g}; unbiased (divisor n - p) "
                         f"{self.info['sigma2_unbiased']:.6g}")
        lines.append(f"Stopped: {self.reason}")
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"<RegressionFit {self.family}/{self.link}: {len(self.names)} parameters, "
                f"loglik={self.loglik:.6g}, converged={self.converged}, covariance={self.cov_type}>")


def _cell(text, width):
    """``text`` right-aligned in ``width`` columns, always after at least one space: a wide value
    (a p-value of 8.36e-259) pushes the row along instead of running into its neighbour."""
    return (" " + text).rjust(width)


def _p(v):
    """A p-value as R prints it: three significant digits, and ``<2e-16`` below the double
    precision epsilon, where its digits mean nothing."""
    if v is None or not np.isfinite(v):
        return "n/a"
    return "<2e-16" if v < 2.220446049250313e-16 else f"{v:.3g}"


def _g(v, digits=5):
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.{digits}g}"


def _fmt(v):
    return str(int(v)) if float(v) == int(v) else f"{v:g}"


def _num(v):
    return int(v) if float(v) == int(v) else float(v)
