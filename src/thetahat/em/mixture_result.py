"""Results of :func:`thetahat.mixture`: :class:`MixtureFit` and :class:`MixtureSelection`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._jax import x64_methods
from ..result import InformationCriteria

from . import _common as cm


@x64_methods
@dataclass(frozen=True)
class MixtureFit(InformationCriteria):
    """A finite mixture fitted by EM and finished by Newton steps.

    Attributes
    ----------
    params : dict
        ``weights`` (k,) and the component parameters with the component axis first
        (normal: ``mu``, ``sigma``; mvnormal: ``mu`` and ``cov`` (full), ``var`` (diag,
        spherical) or one shared ``cov`` (tied); poisson/exponential: ``lam``; ...).
        Components are ordered by the responsibility-weighted mean of the first data
        coordinate (for normal components: by ``mu``), which fixes the labels.
    se : dict
        Standard errors with the same shapes (``None`` where they do not exist; ``notes``
        says why): inverse observed information of the mixture log-likelihood in
        unconstrained coordinates, mapped back by the delta method.
    loglik : float
        The log-likelihood at the estimates. ``objective`` adds the log of the weak
        covariance prior (the quantity EM maximises); ``trace`` holds the objective at
        each EM iteration, then after each Newton step, and never decreases.
    responsibilities : numpy.ndarray
        (n, k) posterior component probabilities of the training rows.
    converged, reason : bool, str
        True only if, after EM and the Newton steps, the gradient test of
        :mod:`thetahat.em.polish` passes (the gain a further Newton step predicts is at most
        1e-12 of the objective, and the point is not a saddle); ``reason`` gives the
        gradient and the predicted gain either way, and what failed.
    iterations, starts, notes
        EM iterations (Newton steps are counted in ``notes``), runs, remarks.
    collapsed : tuple of int
        Components that collapsed onto fewer points than dimensions + 1 (possible only
        without ``cov_prior``): the likelihood is unbounded there, so ``converged`` is
        False and ``reason`` says which; empty for a regular fit.

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> x = np.concatenate([np.linspace(-1, 1, 50), np.linspace(9, 11, 50)])
    >>> f = thetahat.mixture(x, 2)
    >>> f.predict([0.2, 10.5]).tolist()
    [0, 1]
    >>> bool(np.all(np.diff(f.trace) >= 0))
    True
    """

    family: str
    k: int
    cov_type: str | None
    params: dict
    se: dict
    cov: np.ndarray | None
    cov_labels: tuple
    loglik: float
    objective: float
    nobs: int
    n_estimated: int
    converged: bool
    reason: str
    trace: tuple
    iterations: int
    starts: int
    notes: tuple
    hessian_negative_definite: bool | None
    responsibilities: np.ndarray = field(repr=False)
    model: object = field(repr=False)
    internal: dict = field(repr=False)
    log_weights: np.ndarray = field(repr=False)
    collapsed: tuple = ()

    @property
    def weights(self) -> np.ndarray:
        return self.params["weights"]

    def _log_joint(self, x):
        import jax.numpy as jnp

        xs = cm.as_data(x, "mvnormal" if self.family == "mvnormal" else self.family, where="x")
        lp = np.asarray(self.model.log_density(jnp.asarray(xs), self.internal)) + self.log_weights[None]
        return lp

    def predict_proba(self, x=None) -> np.ndarray:
        """Posterior component probabilities (n, k) of new rows ``x`` (default: the training rows)."""
        if x is None:
            return self.responsibilities
        from scipy.special import logsumexp

        lp = self._log_joint(x)
        return np.exp(lp - logsumexp(lp, axis=1, keepdims=True))

    def predict(self, x=None) -> np.ndarray:
        """The most probable component of each row (default: the training rows)."""
        return np.argmax(self.predict_proba(x), axis=1)

    def logpdf(self, x) -> np.ndarray:
        """Log-density of the fitted mixture at each row of ``x``."""
        from scipy.special import logsumexp

        return logsumexp(self._log_joint(x), axis=1)

    def sample(self, size: int, seed: int = 0):
        """``(x, labels)``: ``size`` draws from the fitted mixture and their components."""
        rng = np.random.default_rng(seed)
        labels = rng.choice(self.k, size=int(size), p=self.weights / self.weights.sum())
        return self.model.sample(rng, self.internal, labels), labels

    def confint(self, level: float = 0.95) -> dict:
        """Wald intervals ``estimate ± z·se`` (arrays shaped like the parameters)."""
        from statistics import NormalDist

        z = NormalDist().inv_cdf(0.5 + level / 2)
        return {k: None if s is None else (self.params[k] - z * s, self.params[k] + z * s)
                for k, s in self.se.items()}

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        def clean(v):
            return None if v is None else np.asarray(v, dtype=float).tolist()

        return {"family": self.family, "k": self.k, "cov_type": self.cov_type,
                "params": {k: clean(v) for k, v in self.params.items()},
                "se": {k: clean(v) for k, v in self.se.items()},
                "loglik": self.loglik, "objective": self.objective, "aic": self.aic, "bic": self.bic,
                "nobs": self.nobs, "n_estimated": self.n_estimated, "converged": self.converged,
                "reason": self.reason, "collapsed": list(self.collapsed), "iterations": self.iterations,
                "starts": self.starts,
                "trace_monotone": cm.monotone(self.trace, self.objective), "notes": list(self.notes)}

    def summary(self) -> str:
        """A plain-text table: one block per component, estimates and standard errors."""
        w = 78
        title = f"{self.k}-component {self.family} mixture" + (f" ({self.cov_type} covariance)"
                                                               if self.cov_type else "")
        lines = ["=" * w, f"{title:^{w}}", "=" * w,
                 f"Observations: {self.nobs:<12} Log-likelihood: {self.loglik:.6f}   AIC: {self.aic:.4f}   "
                 f"BIC: {self.bic:.4f}",
                 f"Converged: {'yes' if self.converged else 'NO'}   EM iterations: {self.iterations}   "
                 f"starts: {self.starts}   free parameters: {self.n_estimated}",
                 "-" * w, f"{'':<8}{'parameter':<16}{'estimate':>16}{'std err':>16}", "-" * w]
        for j in range(self.k):
            for name, v in self.params.items():
                a = np.asarray(v)
                shared = name == "cov" and self.cov_type == "tied"
                if shared and j:
                    continue
                sub = a if shared else a[j]
                s = self.se.get(name)
                ssub = None if s is None else (np.asarray(s) if shared else np.asarray(s)[j])
                tag = "shared" if shared else f"comp {j}"
                for idx in np.ndindex(*np.shape(sub)):
                    lab = name + (f"[{','.join(map(str, idx))}]" if idx else "")
                    se_s = "n/a" if ssub is None else f"{float(ssub[idx]):.6g}"
                    lines.append(f"{tag:<8}{lab:<16}{float(sub[idx]):>16.6g}{se_s:>16}")
        lines.append("=" * w)
        lines.append(f"Stopped: {self.reason}")
        lines.append("Components are ordered by the weighted mean of the first data coordinate.")
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def __str__(self):
        return self.summary()


@x64_methods
@dataclass(frozen=True)
class MixtureSelection:
    """Mixtures fitted for several k, with k chosen by BIC.

    Attributes
    ----------
    table : list of dict
        One row per k: ``k``, ``loglik``, ``n_estimated``, ``aic``, ``bic``, ``converged``.
    k : int
        The k with the smallest BIC among the fits without a collapsed component (their
        likelihood is unbounded, so their BIC means nothing); among all if every fit collapsed.
    best : MixtureFit
    fits : dict
        Every fit, by k.

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(0, 1, 200), rng.normal(8, 1, 200)])
    >>> thetahat.mixture(x, range(1, 4), se=False).k
    2
    """

    table: list
    k: int
    best: MixtureFit
    fits: dict

    @classmethod
    def from_fits(cls, fits):
        rows = [{"k": k, "loglik": f.loglik, "n_estimated": f.n_estimated, "aic": f.aic, "bic": f.bic,
                 "converged": f.converged, "collapsed": bool(f.collapsed)} for k, f in fits.items()]
        best = min(rows, key=lambda r: (r["collapsed"], r["bic"] if np.isfinite(r["bic"]) else np.inf))
        return cls(rows, best["k"], fits[best["k"]], fits)

    def to_dict(self) -> dict:
        return {"table": self.table, "k": self.k, "best": self.best.to_dict()}

    def summary(self) -> str:
        lines = [f"{'k':>3}{'loglik':>16}{'params':>8}{'AIC':>16}{'BIC':>16}  converged"]
        for r in self.table:
            mark = "  <- chosen (smallest BIC)" if r["k"] == self.k else ""
            lines.append(f"{r['k']:>3}{r['loglik']:>16.6f}{r['n_estimated']:>8}{r['aic']:>16.4f}{r['bic']:>16.4f}"
                         f"  {'yes' if r['converged'] else 'NO'}{' (collapsed)' if r['collapsed'] else ''}{mark}")
        return "\n".join(lines) + "\n\n" + self.best.summary()

    def __str__(self):
        return self.summary()
