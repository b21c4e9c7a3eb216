"""``thetahat.nls``: nonlinear least squares, the maximum likelihood estimate under Gaussian noise.

The model is ``y_i = f(x_i, θ) + ε_i`` with ``ε_i ~ N(0, σ²/w_i)``. For any σ the likelihood is
maximised in θ by minimising the (weighted) residual sum of squares, and σ̂² = RSS/n then maximises
it in σ, so the maximised log-likelihood is ``−n/2·(log(2π·RSS/n) + 1) + ½·Σ log w_i``.

Standard errors are the usual NLS ones, ``s²·(JᵀWJ)⁻¹`` with ``s² = RSS/(n − p)`` (what NIST
certifies, and what R's ``nls`` and scipy's ``curve_fit`` report); the MLE of σ (divisor n) is
given beside ``s``. Intervals are t-based with n − p degrees of freedom.

Example
-------
>>> import jax.numpy as jnp, numpy as np, thetahat
>>> x = np.arange(6.0)
>>> y = np.array([5.1, 3.0, 1.9, 1.1, 0.8, 0.4])
>>> f = thetahat.nls(lambda x, b: b["a"] * jnp.exp(-b["k"] * x), x, y, {"a": 5.0, "k": 0.5})
>>> f.converged, round(f.params["a"], 4), round(f.params["k"], 4), round(f.se["k"], 4)
(True, 5.0676, 0.4982, 0.0127)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .._jax import x64, x64_methods
from ..errors import DataError, EmptyDataError, NonFiniteDataError, OptionError
from ..result import InformationCriteria
from ._lm_jit import LMResult, make_solver, reason_text, unpack

METHODS = ("lm",)


class ModelFunctionError(OptionError):
    """The model function ``f(x, θ)`` cannot be used as given (wrong shape, non-finite at the start)."""


@x64_methods
@dataclass(frozen=True)
class NLSFit(InformationCriteria):
    """A nonlinear least-squares fit, read as the Gaussian maximum likelihood fit.

    Attributes
    ----------
    params, se : dict
        Estimates and standard errors ``sqrt(diag(s²·(JᵀWJ)⁻¹))``; ``se`` values are ``None`` when
        ``JᵀWJ`` is singular at the estimate (``notes`` says so).
    cov : numpy.ndarray or None
        ``s²·(JᵀWJ)⁻¹``, rows and columns in ``names`` order.
    rss : float
        Residual sum of squares (weighted, ``Σ w_i r_i²``).
    sigma : float
        ``s = sqrt(RSS/(n − p))``, the usual residual standard deviation.
    sigma_mle : float
        ``sqrt(RSS/n)``, the maximum likelihood estimate of σ.
    loglik : float
        Gaussian log-likelihood at (θ̂, σ̂_MLE).
    nobs, df_resid : int
    converged : bool
    reason : str
    iterations : int
        Jacobian evaluations.
    trace : tuple
        Log-likelihood after each accepted step (the start first): never decreasing.
    fitted, residuals : numpy.ndarray
        ``f(x, θ̂)`` and ``y − f(x, θ̂)`` (unweighted).

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> x = np.array([1.0, 2.0, 3.0, 4.0]); y = np.array([2.1, 3.9, 6.2, 7.8])
    >>> f = thetahat.nls(lambda x, b: b[0] * x, x, y, [1.0])
    >>> round(f.params["b1"], 6) == round(float(x @ y / (x @ x)), 6)
    True
    """

    params: dict
    se: dict
    cov: np.ndarray | None
    names: tuple
    rss: float
    sigma: float
    sigma_mle: float
    loglik: float
    nobs: int
    df_resid: int
    converged: bool
    reason: str
    iterations: int
    nfev: int
    trace: tuple
    fitted: np.ndarray
    residuals: np.ndarray
    gradient_cosine: float
    jacobian_condition: float
    method: str = "lm"
    notes: tuple = ()
    model: object = field(default=None, repr=False, compare=False)
    named: bool = False

    @property
    def n_estimated(self) -> int:
        """Parameters counted by AIC/BIC (``aic``, ``bic`` from
        :class:`~thetahat.result.InformationCriteria`): the p in θ and σ, as in R's ``AIC(nls(...))``."""
        return len(self.names) + 1

    def confint(self, level: float = 0.95) -> dict:
        """t-based Wald intervals ``θ̂ ± t_{n−p}·se`` (what R's ``confint.default`` gives with t).

        Examples
        --------
        >>> import numpy as np, thetahat
        >>> from scipy import stats
        >>> x = np.array([1.0, 2.0, 3.0, 4.0]); y = np.array([2.1, 3.9, 6.2, 7.8])
        >>> f = thetahat.nls(lambda x, b: b[0] * x, x, y, [1.0])
        >>> lo, hi = f.confint(0.95)["b1"]
        >>> b = x @ y / (x @ x); s = np.sqrt(np.sum((y - b * x) ** 2) / 3)   # the textbook formulas
        >>> bool(np.allclose([lo, hi], b + np.array([-1, 1]) * stats.t.ppf(0.975, 3) * s / np.sqrt(x @ x)))
        True
        """
        if not 0 < level < 1:
            raise OptionError(f"confidence level must be between 0 and 1, got {level}")
        from scipy.stats import t

        q = float(t.ppf(0.5 + level / 2, self.df_resid))
        return {k: None if self.se[k] is None else (self.params[k] - q * self.se[k], self.params[k] + q * self.se[k])
                for k in self.names}

    def predict(self, x) -> np.ndarray:
        """``f(x, θ̂)`` at new ``x``."""
        import jax.numpy as jnp

        theta = ({k: jnp.asarray(v) for k, v in self.params.items()} if self.named
                 else jnp.asarray([self.params[k] for k in self.names]))
        return np.asarray(self.model(jnp.asarray(np.asarray(x, dtype=float)), theta), dtype=float)

    def to_dict(self, level: float = 0.95) -> dict:
        """A JSON-ready dict."""
        ci = self.confint(level)
        return {
            "model": "nls", "method": self.method,
            "params": dict(self.params), "se": dict(self.se),
            "ci": {k: None if v is None else [float(v[0]), float(v[1])] for k, v in ci.items()},
            "rss": self.rss, "sigma": self.sigma, "sigma_mle": self.sigma_mle,
            "loglik": self.loglik, "aic": self.aic, "bic": self.bic,
            "nobs": self.nobs, "df_resid": self.df_resid,
            "converged": self.converged, "reason": self.reason, "iterations": self.iterations,
            "gradient_cosine": self.gradient_cosine, "jacobian_condition": self.jacobian_condition,
            "notes": list(self.notes),
        }

    def summary(self, level: float = 0.95) -> str:
        """A plain-text table: estimates, SEs, t-intervals, RSS, σ (both divisors), loglik, AIC, BIC."""
        ci = self.confint(level)
        w = 78
        lines = ["=" * w, f"{'Nonlinear least squares (Gaussian maximum likelihood)':^{w}}", "=" * w]
        left = [("Method", "Levenberg-Marquardt"), ("Observations", str(self.nobs)),
                ("Residual df", str(self.df_resid)), ("Converged", "yes" if self.converged else "NO"),
                ("Iterations", str(self.iterations))]
        right = [("RSS", f"{self.rss:.8g}"), ("s (n-p)", f"{self.sigma:.6g}"), ("sigma MLE (n)", f"{self.sigma_mle:.6g}"),
                 ("Log-likelihood", f"{self.loglik:.6f}"), ("AIC / BIC", f"{self.aic:.4f} / {self.bic:.4f}")]
        for (a, b), (c, e) in zip(left, right):
            lines.append(f"{a + ':':<16}{b:>22}   {c + ':':<16}{e:>21}")
        lines.append("-" * w)
        lo_h, hi_h = f"[{(1 - level) / 2:.3f}", f"{1 - (1 - level) / 2:.3f}]"
        lines.append(f"{'':<14}{'estimate':>14}{'std err':>14}{lo_h:>14}{hi_h:>14}")
        lines.append("-" * w)
        for k in self.names:
            se, iv = self.se[k], ci[k]
            se_s = "n/a" if se is None else f"{se:.6g}"
            lo_s, hi_s = ("n/a", "n/a") if iv is None else (f"{iv[0]:.6g}", f"{iv[1]:.6g}")
            lines.append(f"{k:<14}{self.params[k]:>14.6g}{se_s:>14}{lo_s:>14}{hi_s:>14}")
        lines.append("=" * w)
        lines.append(f"Stopped: {self.reason}")
        lines.append(f"Standard errors: s^2 (J'WJ)^-1; intervals: t with {self.df_resid} df; "
                     f"largest gradient cosine {self.gradient_cosine:.2g}; cond(J) {self.jacobian_condition:.3g}")
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


@x64
def nls(f, x, y, start, *, weights=None, method="lm", names=None, max_iter=2000, ftol=1e-15, xtol=1e-15,
        gtol=1e-15) -> NLSFit:
    """Fit ``y ≈ f(x, θ)`` by least squares: the maximum likelihood estimate under Gaussian noise.

    Parameters
    ----------
    f : callable
        ``f(x, theta)``, written with ``jax.numpy``, returning one value per observation. ``theta`` is
        a 1-D array when ``start`` is a sequence, a dict of scalars when ``start`` is a dict.
    x : array_like
        Predictors: ``(n,)`` or ``(n, k)``; passed to ``f`` as a JAX array.
    y : array_like
        ``(n,)`` responses. Where ``x`` or ``y`` is a ``numpy.longdouble`` array (and the
        platform's long double is wider than float64, as on x86-64 Linux), the fit runs in
        float64 and then the residuals at the estimate are evaluated in extended precision
        (the model's jaxpr interpreted in long double, one Gauss–Newton step on them), so
        the RSS, ``s`` and the standard errors are not limited by rounding the data to
        float64. That matters only for residuals within ~1e3 float64 spacings of ``y``
        (NIST Lanczos1); a note says so when it happens with float64 data.
    start : sequence or dict
        Starting values. A dict names the parameters; otherwise ``names`` does (default
        ``b1, ..., bp``, as NIST writes them).
    weights : array_like, optional
        Positive precision weights: ``Var(ε_i) = σ²/w_i``.
    method : {"lm"}
        Levenberg–Marquardt as a trust region with Moré's scaling (MINPACK's algorithm), exact
        JAX Jacobians, then a Gauss–Newton polish.
    ftol, xtol, gtol : float
        MINPACK's convergence tests (relative reduction, relative step, gradient cosine).
    max_iter : int
        Jacobian evaluations allowed.

    Returns
    -------
    NLSFit

    Raises
    ------
    NonFiniteDataError, DataError, EmptyDataError
        NaN or infinite data, mismatched lengths, no more observations than parameters.
    ModelFunctionError
        ``f`` fails, returns the wrong shape, or is not finite (or has a non-finite Jacobian)
        at the start.

    Examples
    --------
    >>> import jax.numpy as jnp, numpy as np, thetahat
    >>> x = np.array([1.0, 2.0, 3.0, 5.0, 7.0, 10.0])
    >>> y = np.array([109.0, 149.0, 149.0, 191.0, 213.0, 224.0])     # NIST BoxBOD
    >>> fit = thetahat.nls(lambda x, b: b[0] * (1 - jnp.exp(-b[1] * x)), x, y, [100.0, 0.75])
    >>> round(fit.params["b1"], 5), round(fit.params["b2"], 7), round(fit.rss, 4)
    (213.80941, 0.5472375, 1168.0089)
    >>> fit.converged, fit.reason[:45]
    (True, 'relative reduction of the sum of squares belo')
    """
    _check_options(method, max_iter)
    named = isinstance(start, dict)
    names, theta0 = _start(start, names, named)
    xa, ya, wa = _data(x, y, weights)
    n, p = ya.size, theta0.size
    if n <= p:
        raise EmptyDataError(f"nls needs more observations than parameters: {n} observations, {p} parameters")
    compiled = _compiled(f, names if named else None)
    out = _solve(compiled, names, theta0, xa, ya, wa, ftol, xtol, gtol, int(max_iter))
    out, notes = _data_precision(out, compiled, x, y, weights, xa, ya, wa)
    return _result(out, names, named, f, xa, ya, wa, n, p, notes)


def _check_options(method, max_iter):
    if method not in METHODS:
        raise OptionError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if int(max_iter) < 1:
        raise OptionError(f"max_iter must be at least 1, got {max_iter}")


def _solve(compiled, names, theta0, xa, ya, wa, ftol, xtol, gtol, max_iter) -> LMResult:
    """The compiled Levenberg–Marquardt fit (``compiled`` from :func:`_compiled`); the model's
    output shape checked once per shape, and a non-finite start explained."""
    model_fn, resjac_fn, solve, shapes_checked = compiled
    n, p = ya.size, theta0.size
    sw = np.sqrt(wa)
    key = (xa.shape, theta0.shape)
    if key not in shapes_checked:  # once per shape; the solver reports a non-finite start itself
        _check_model(model_fn, xa, theta0, n)  # NumPy straight into jit: its C++ path converts fastest
        shapes_checked.add(key)
    noise = 16 * np.finfo(float).eps * float(np.linalg.norm(sw * ya))
    st = unpack(solve(theta0, (xa, ya, sw), ftol, xtol, gtol, 1.0, noise, max_iter=max_iter, polish=8), n, p)
    if st["bad_start"]:
        _check_model(model_fn, xa, theta0, n)
        _check_jacobian(names, xa, theta0, resjac_fn, ya, sw)
    return _lm_result(st, ftol, xtol, gtol, max_iter)


def _data_precision(out, compiled, x, y, weights, xa, ya, wa):
    """``(out, notes)``: for long double data, the residuals at the estimate redone in extended
    precision (:func:`_extended_polish`); for float64 data, a note when rounding the data to
    float64 limits the RSS."""
    model_fn, resjac_fn, _, _ = compiled
    sw = np.sqrt(wa)
    ext = _extended_data(x, y, weights, wa)
    if ext is not None:
        out, note = _extended_polish(out, model_fn, resjac_fn, xa, ya, sw, ext)
        return out, [note]
    notes = []
    if out.rss > 0:
        # float64 data: the RSS cannot be better than the rounding of y (half a spacing per row)
        rel = 0.5 * np.finfo(float).eps * float(np.linalg.norm(sw * ya)) / np.sqrt(out.rss)
        if rel > 1e-5:
            notes.append(f"the residuals are within ~{0.5 / rel:.0f} float64 spacings of y: rounding the "
                         f"data to float64 limits the RSS, s and the standard errors to about "
                         f"{max(-np.log10(rel), 0):.0f} significant digits; pass x and y as numpy.longdouble (parsed "
                         "from the source text) to have the residuals at the estimate evaluated in extended precision")
    return out, notes


# ---------------------------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _compiled(f, names):
    """For one model ``f`` (cached on the function object; jit then caches per shape): the
    jitted model, (residuals, Jacobian) of ``√w·(f(x, θ) − y)``, and the whole compiled
    Levenberg–Marquardt solver; and the set of (x, θ) shapes whose output shape was checked."""
    import jax

    def model(theta, x):
        return f(x, dict(zip(names, theta))) if names is not None else f(x, theta)

    def resid(theta, args):
        x, y, sw = args
        return sw * (model(theta, x) - y)

    def resjac(theta, x, y, sw):
        return resid(theta, (x, y, sw)), jax.jacfwd(resid)(theta, (x, y, sw))

    return jax.jit(model), jax.jit(resjac), make_solver(resid), set()


def _lm_result(st, ftol, xtol, gtol, max_iter):
    reason, converged = reason_text(st["code"], st["gcos"], ftol, xtol, gtol, max_iter)
    return LMResult(st["theta"], st["r"], st["J"], st["fnorm"] ** 2, converged, reason, st["it"], st["nfev"],
                    st["trace"].tolist(), st["gcos_final"])


def _start(start, names, named):
    if named:
        names = tuple(str(k) for k in start)
        if not names:
            raise OptionError("start is an empty dict: there is nothing to estimate")
        vals = []
        for k, v in start.items():
            a = np.asarray(v, dtype=float)
            if a.ndim != 0:
                raise OptionError(f"start value of {k!r} must be a scalar, got shape {a.shape}")
            vals.append(float(a))
        theta0 = np.array(vals)
    else:
        try:
            theta0 = np.asarray(start, dtype=float)
        except (TypeError, ValueError):
            raise OptionError(f"start must be a sequence of numbers or a dict, got {start!r}") from None
        if theta0.ndim != 1 or theta0.size == 0:
            raise OptionError(f"start must be a non-empty 1-D sequence or a dict, got shape {theta0.shape}")
        if names is None:
            names = tuple(f"b{i + 1}" for i in range(theta0.size))
        names = tuple(str(k) for k in names)
        if len(names) != theta0.size:
            raise OptionError(f"names has {len(names)} entries but start has {theta0.size} values")
    if len(set(names)) != len(names):
        raise OptionError(f"parameter names must be distinct, got {list(names)}")
    bad = np.flatnonzero(~np.isfinite(theta0))
    if bad.size:
        raise OptionError(f"start value of {names[bad[0]]!r} is not finite ({theta0[bad[0]]})")
    return names, theta0


def _data(x, y, weights):
    try:
        ya = np.asarray(y, dtype=float)
        xa = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as e:
        raise DataError(f"x and y must be numeric arrays ({e})") from None
    if ya.ndim != 1:
        raise DataError(f"y must be 1-D, got shape {ya.shape}")
    if ya.size == 0:
        raise EmptyDataError("y is empty")
    if xa.ndim == 0 or xa.shape[0] != ya.size:
        raise DataError(f"x has {xa.shape[0] if xa.ndim else 0} rows but y has {ya.size} values")
    for label, a in (("y", ya), ("x", xa)):
        if np.isfinite(a).all():
            continue
        rows = np.flatnonzero(~np.all(np.isfinite(a.reshape(a.shape[0], -1)), axis=1))
        if rows.size:
            v = a[rows[0]]
            kind = "NaN" if np.any(np.isnan(v)) else "an infinite value"
            raise NonFiniteDataError(f"{label} contains {kind} at data row {rows[0] + 1} ({rows.size} non-finite rows)")
    if weights is None:
        return xa, ya, np.ones_like(ya)
    wa = np.asarray(weights, dtype=float)
    if wa.shape != ya.shape:
        raise DataError(f"weights has shape {wa.shape} but y has {ya.size} values")
    bad = np.flatnonzero(~(np.isfinite(wa) & (wa > 0)))
    if bad.size:
        raise DataError(f"weights must be positive and finite: weight {wa[bad[0]]} at data row {bad[0] + 1}")
    return xa, ya, wa


def _extended_data(x, y, weights, wa):
    """(x, y, √w) in long double when x or y was given as ``numpy.longdouble`` (and the
    platform's long double is wider than float64), else None."""
    from ._extended import LD, wider_than_float64

    def is_ld(a):
        return isinstance(a, np.ndarray) and a.dtype == LD

    if not (is_ld(x) or is_ld(y)) or not wider_than_float64():
        return None
    w = np.asarray(weights, dtype=LD) if is_ld(weights) else np.asarray(wa, dtype=LD)
    return np.asarray(x, dtype=LD), np.asarray(y, dtype=LD), np.sqrt(w)


def _extended_polish(out, model_fn, resjac_fn, xa, ya, sw, ext):
    """The residuals at the estimate in long double (data and model, see :mod:`._extended`),
    then one Gauss–Newton step on them, kept if it lowers the extended-precision RSS."""
    from ._extended import evaluate

    x_ld, y_ld, sw_ld = ext

    def resid(theta):
        fx = evaluate(model_fn, theta, x_ld)
        if fx is None or fx.shape != y_ld.shape or not np.all(np.isfinite(fx)):
            return None
        return sw_ld * (fx - y_ld)

    r = resid(out.theta)
    if r is None:
        return out, "the data are long double, but the model uses an operation the extended-precision " \
                    "evaluation does not know: residuals in float64"
    theta, J = out.theta, out.J
    step = -np.linalg.lstsq(J, r.astype(np.float64), rcond=None)[0]
    cand = theta + step
    r2 = resid(cand) if np.all(np.isfinite(cand)) else None
    if r2 is not None and np.sum(r2 * r2) < np.sum(r * r):
        theta, r = cand, r2
        J = np.asarray(resjac_fn(cand, xa, ya, sw)[1])
    rss = float(np.sum(r * r))
    res = LMResult(theta, r.astype(np.float64), J, rss, out.converged, out.reason, out.iterations, out.nfev,
                   list(out.rss_trace) + [rss], out.gradient_cosine)
    return res, ("the data are long double: the residuals at the estimate (and the RSS, s and standard errors) "
                 "are evaluated in extended precision, after one Gauss-Newton step on them")


def _check_model(model_fn, xj, theta0, n):
    try:
        fx = np.asarray(model_fn(theta0, xj), dtype=float)
    except ModelFunctionError:
        raise
    except Exception as e:  # a user's function can fail in any way; say where
        raise ModelFunctionError(f"f(x, start) failed: {type(e).__name__}: {e}") from e
    if fx.shape != (n,):
        raise ModelFunctionError(f"f(x, start) returned shape {fx.shape}; expected ({n},), one value per observation")
    rows = np.flatnonzero(~np.isfinite(fx))
    if rows.size:
        raise ModelFunctionError(f"f(x, start) is not finite at data row {rows[0] + 1} (value {fx[rows[0]]}; "
                                 f"{rows.size} rows); choose another start")


def _check_jacobian(names, xj, theta0, resjac_fn, yj, swj):
    _, J = resjac_fn(theta0, xj, yj, swj)
    J = np.asarray(J)
    bad = np.argwhere(~np.isfinite(J))
    if bad.size:
        i, j = bad[0]
        raise ModelFunctionError(f"the Jacobian of f at the start is not finite (data row {i + 1}, parameter {names[j]!r}); "
                                 "choose another start")
    raise ModelFunctionError("the residuals or the Jacobian of f are not finite at the start; choose another start")


def _result(out, names, named, f, xa, ya, wa, n, p, notes):
    rss = float(out.rss)
    sw = np.sqrt(wa)
    log_w = 0.5 * float(np.sum(np.log(wa)))

    def loglik(s):  # (math, not NumPy: called once per entry of the trace; log s apart, for s near 5e-324)
        return -0.5 * n * (math.log(2 * math.pi) + math.log(s) - math.log(n) + 1.0) + log_w if s > 0 else math.inf

    J = out.J
    _, sv, Vt = np.linalg.svd(J, full_matrices=False)
    cond = float(sv[0] / sv[-1]) if sv[-1] > 0 else np.inf
    s2 = rss / (n - p)
    converged, reason = bool(out.converged), out.reason
    if sv[-1] <= sv[0] * np.finfo(float).eps * max(J.shape):
        cov = None
        se = {k: None for k in names}
        flat = ", ".join(repr(names[j]) for j in _flat_directions(J))
        notes.append(f"the Jacobian is rank deficient at the estimate (flat along {flat}): "
                     "some parameters are not identified, so there are no standard errors")
        if converged:
            # MINPACK's tests also fire on a plateau (BoxBOD from (1, 1) runs to b2 -> inf, where
            # b2 no longer changes the fit): that is not a minimum, and the verdict says so
            converged = False
            reason = (f"stopped ({reason}) where the Jacobian is rank deficient: the fit does not change "
                      f"along {flat}, so this is a plateau, not a strict minimum; try another start")
    else:
        cov = s2 * (Vt.T / sv ** 2) @ Vt  # (JᵀJ)⁻¹ from the SVD, never forming JᵀJ
        se = {k: float(np.sqrt(cov[i, i])) for i, k in enumerate(names)}
    if rss == 0:
        notes.append("the residuals are exactly zero: the log-likelihood is infinite")
    fitted = ya + out.r / sw
    return NLSFit(params={k: float(v) for k, v in zip(names, out.theta)}, se=se, cov=cov, names=tuple(names),
                  rss=rss, sigma=float(np.sqrt(s2)), sigma_mle=float(np.sqrt(rss / n)), loglik=loglik(rss),
                  nobs=n, df_resid=n - p, converged=converged, reason=reason,
                  iterations=out.iterations, nfev=out.nfev, trace=tuple(loglik(v) for v in out.rss_trace),
                  fitted=fitted, residuals=-out.r / sw, gradient_cosine=float(out.gradient_cosine),
                  jacobian_condition=cond, notes=tuple(notes), model=f, named=named)


def _flat_directions(J):
    """Parameters that load on the Jacobian's null space (the smallest right-singular vector)."""
    _, s, Vt = np.linalg.svd(J / np.where(np.linalg.norm(J, axis=0) > 0, np.linalg.norm(J, axis=0), 1.0))
    v = np.abs(Vt[-1])
    return [int(j) for j in np.flatnonzero(v >= 0.3 * v.max())]
