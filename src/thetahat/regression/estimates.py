"""What every regression fit shares, in memory or streamed: the start of its Newton, the
normal linear model's ML quantities, the reported estimates with their covariance, and
the :class:`~thetahat.regression.result.RegressionFit`."""

from __future__ import annotations

import numpy as np

from .result import RegressionFit



def linear_ml(b, rss, xtx_inv, nobs, names, scale_y):
    """The normal linear model's ML quantities from a least-squares solution: ``theta``
    (coefficients, log sigma), its covariance (sigma^2 by MLE, divisor n), the
    log-likelihood, ``extra`` (both sigma^2, the RSS, the classical OLS standard errors)
    and notes. Shared by the in-memory and the streamed (TSQR) fits."""
    p = b.shape[0]
    s2_mle, s2_unb = rss / nobs, rss / (nobs - p)
    exact = s2_mle <= (1e-15 * scale_y) ** 2
    notes = []
    if exact:
        # y is an exact linear function of X (NIST Wampler1-2): the coefficients are exact, but
        # the likelihood is unbounded as sigma -> 0, so sigma's MLE is 0 and loglik is +inf
        notes.append("the model fits every row exactly (residuals at rounding level): the likelihood is "
                     "unbounded as sigma -> 0; loglik is reported as inf and sigma has no standard error")
        loglik = float("inf")
    else:
        loglik = -0.5 * nobs * (np.log(2 * np.pi * s2_mle) + 1.0)
    sigma = np.sqrt(s2_mle)
    cov_theta = np.zeros((p + 1, p + 1))
    cov_theta[:p, :p] = s2_mle * xtx_inv
    cov_theta[p, p] = 0.0 if exact else 1.0 / (2 * nobs)  # var of log sigma-hat
    theta = np.concatenate([b, [np.log(sigma) if sigma > 0 else -np.inf]])
    se_unb = np.sqrt(s2_unb * np.diag(xtx_inv))
    extra = {"sigma2_mle": s2_mle, "sigma2_unbiased": s2_unb, "rss": rss,
             "se_unbiased": dict(zip(names, se_unb.tolist())), "residual_sd_unbiased": float(np.sqrt(s2_unb))}
    notes.append("standard errors use sigma^2 by MLE (divisor n); info['se_unbiased'] holds the classical OLS "
                 "ones (divisor n - p)")
    return theta, cov_theta, loglik, extra, notes


def _link_of(link, m):
    return {"log": np.log(m), "inverse": 1 / m, "identity": m}[link]


def _family_start(model, link, y, w):
    """(start of the linear predictor, phi) of a family without a rule of its own here: the
    family's start on the response alone (an AFT model's scale, a GLM's mean through the link)."""
    from .family_model import free_start

    m, phi = free_start(model.family, y, w)
    aft = model.family.predictor.target == "log_scale"
    return (np.log(m) if aft else _link_of(link, m)), phi


def _glm_start(model, fam, link, y, aux, ww, phi):
    """The start of the linear predictor of the binary and GLM families, and their phi."""
    mean = lambda v: float(np.sum(ww * v) / np.sum(ww))  # noqa: E731
    ybar = mean(y)
    var = max(mean((y - ybar) ** 2), 1e-12)
    if model.binary:
        pbar = min(max(ybar, 1e-3), 1 - 1e-3)
        if fam == "binomial":
            pbar = min(max(float(np.sum(ww * y) / np.sum(ww * aux)), 1e-3), 1 - 1e-3)
        from scipy.special import logit, ndtri

        return {"logit": logit(pbar), "probit": ndtri(pbar), "cloglog": np.log(-np.log1p(-pbar))}[link]
    if fam in ("poisson", "negative_binomial"):
        if fam == "negative_binomial":
            phi[0] = np.log(min(max((var - ybar) / max(ybar, 1e-3) ** 2, 0.05), 20.0))
        return np.log(max(ybar, 1e-3))
    if fam in ("gamma", "inverse_gaussian"):
        phi[0] = np.log(ybar ** 2 / var) if fam == "gamma" else np.log(ybar ** 3 / var)
        return _link_of(link, ybar)
    if fam == "tobit":
        phi[0] = 0.5 * np.log(var)
        return ybar
    return None


def _class_start(model, fam, link, d, y, ww, beta):
    """phi (cut points) of an ordered model; the multinomial's intercepts go into ``beta``."""
    n_classes = len(model.extra) + 1 if fam == "ordered" else model.k + 1
    props = np.array([np.sum(ww * (y == j)) for j in range(n_classes)]) / np.sum(ww)
    if fam == "multinomial":
        if d.intercept is not None:
            beta[:, d.intercept] = np.log(np.maximum(props[1:], 1e-6) / max(props[0], 1e-6))
        return np.zeros(0)
    from scipy.special import logit, ndtri

    cum = np.clip(np.cumsum(props)[:-1], 1e-4, 1 - 1e-4)
    phi = logit(cum) if link == "logit" else ndtri(cum)
    return np.maximum.accumulate(phi + 1e-3 * np.arange(len(phi)))


def start_values(model, fam, link, d, y, aux, w):
    """The start of the regression Newton: the model's mean (or class shares) through its link in
    the intercept, the extra parameters from the moments of ``y`` (or the family's own start)."""
    p, k = d.X.shape[1], model.k
    beta = np.zeros((k, p))
    phi = np.zeros(len(model.extra))
    ww = np.ones(len(y)) if w is None else w
    if fam in ("multinomial", "ordered"):
        return np.concatenate([beta.reshape(-1), _class_start(model, fam, link, d, y, ww, beta)])
    target = _glm_start(model, fam, link, y, aux, ww, phi)
    aft = model.family is not None and model.family.predictor.target == "log_scale"
    if target is None and fam not in ("gamma_censored", "normal") and model.family is not None:
        target, phi = _family_start(model, link, y, w)
    if target is not None:
        if d.intercept is not None:
            beta[0, d.intercept] = target
        elif link in ("inverse", "identity") or aft or fam == "tobit":
            # no intercept: least squares of the linearised response gives a valid start
            z = {"inverse": 1 / y, "identity": y}.get(link, np.log(y) if aft else y)
            beta[0] = np.linalg.lstsq(d.X, z, rcond=None)[0]
    return np.concatenate([beta.reshape(-1), phi])


def reported_estimates(model, theta, nb, cov_theta, H, notes):
    """The reported parameters from the internal vector ``theta`` (coefficients first, ``nb``
    of them, then the model's extra parameters on their internal scale: log alpha, log
    sigma, ...), with their covariance by the delta method. Returns ``(extra names,
    estimates, cov or None, se)``; a note is appended when the information is singular.
    Shared by the in-memory and the streamed regression."""
    est = np.array(theta, dtype=float)
    J = np.eye(len(est))
    names = []
    for i, (name, tr) in enumerate(model.reported):
        names.append(name)
        u = theta[nb + i]
        if tr != "identity":  # a constraint's bijection, and its derivative for the delta method
            est[nb + i] = tr.forward_np(float(u))
            J[nb + i, nb + i] = tr.chain_np(est[nb + i])[0]
    if cov_theta is None and H is not None:
        cov_theta, note = inverse_information(H)
        if note:
            notes.append(note)
    cov = None if cov_theta is None else J @ cov_theta @ J.T
    se = np.full(len(est), np.nan) if cov is None else np.sqrt(np.clip(np.diag(cov), 0, None))
    return names, est, cov, se


def build_result(d, model, fam, link, theta, H, loglik, nobs, y, aux, w, off, classes, converged, reason, method, iters,
            notes, cov_theta=None, extra=None, penalty=None, n_params=None, eta=None, deviance=None,
            cov_type="observed"):
    """The :class:`RegressionFit` of an in-memory regression from its internal ``theta``."""
    p, k = d.X.shape[1], model.k
    names = list(d.names) if k == 1 else [f"{classes[j + 1]}:{nm}" for j in range(k) for nm in d.names]
    extra_names, est, cov, se = reported_estimates(model, theta, p * k, cov_theta, H, notes)
    names += extra_names
    state = {"model": model, "theta": np.asarray(theta, dtype=float), "X": d.X, "y": y, "aux": aux, "w": w,
             "off": off, "spec": d.spec, "design_names": d.names, "classes": classes, "intercept": d.intercept}
    info = dict(extra or {})
    if classes is not None:
        info["classes"] = [c if isinstance(c, (str, int, float)) else str(c) for c in
                           (c.item() if hasattr(c, "item") else c for c in classes)]
    if penalty is not None:
        info["penalty"] = penalty
    for n in model.notes:
        notes.append(n)
    dev = model_deviance(model, state, loglik, eta) if deviance is None else deviance
    return RegressionFit(family=fam, link=link, names=tuple(names), estimates=est, se=se, cov=cov,
                         loglik=float(loglik), nobs=nobs, n_params=int(n_params if n_params is not None else len(est)),
                         deviance=dev, converged=bool(converged), reason=reason, method=method, iterations=int(iters),
                         notes=tuple(notes), info=info, dropped=d.dropped, cov_type=cov_type, _state=state)


def model_deviance(model, state, loglik, eta=None):
    """The GLM deviance at the fit (minus twice the log-likelihood for the other models)."""
    if not model.glm:
        return float(-2 * loglik)
    from ._predict import fitted_mean

    if eta is None:
        mu = fitted_mean(state)
    else:  # the fit's own linear predictor: no second pass over X
        import jax.numpy as jnp

        p = state["X"].shape[1] * model.k
        mu = np.asarray(model.mean(jnp.asarray(eta), jnp.asarray(state["theta"][p:])))
    dev = model.unit_deviance(state["y"], mu, state["aux"])
    w = state["w"]
    return float(np.sum(dev if w is None else w * dev))


def inverse_information(H):
    """(−H)⁻¹ after diagonal scaling (columns of very different scales are no problem), or a note."""
    A = -(np.asarray(H) + np.asarray(H).T) / 2
    dg = np.diag(A)
    if not np.all(np.isfinite(A)) or np.any(dg <= 0):
        return None, "the Hessian at the estimate is not negative definite: no standard errors"
    s = 1 / np.sqrt(dg)
    As = A * np.outer(s, s)
    ev = np.linalg.eigvalsh(As)
    if ev[0] <= 0:
        return None, "the Hessian at the estimate is not negative definite: no standard errors"
    if ev[-1] / ev[0] > 1e14:
        return None, (f"the observed information is numerically singular (scaled condition number "
                      f"{ev[-1] / ev[0]:.2g}): standard errors would be meaningless")
    cov = np.linalg.inv(As) * np.outer(s, s)
    return (cov + cov.T) / 2, None
