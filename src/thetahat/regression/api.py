"""``thetahat.regress``: regression by maximum likelihood (or MAP with a penalty)."""

from __future__ import annotations

import numpy as np

from .._jax import x64
from ..errors import DataError, OptionError
from . import models as M
from ._canonical import deviance as canonical_deviance
from ._canonical import terms_for
from ._design import build, encode_classes
from ._newton import Data, linear_predictor, newton
from .checks import SeparationError, check_rank, gram_is_singular, separating_columns, separation_message
from .linear import least_squares
from .covariance_types import check_cov_type, covariance, cov_type_name, group_codes, group_column
from .estimates import build_result, inverse_information, linear_ml, start_values
from .result import RegressionFit


@x64
def regress(formula_or_X, data=None, y=None, *, family="normal", link=None, weights=None, offset=None,
            penalty=None, lam=None, l1_ratio=None, event=None, trials=None, left=None, right=None,
            dropna=False, max_iter=100, dask=False, allow_python=False, cov_type="observed",
            groups=None) -> RegressionFit:
    """Fit a regression model by maximum likelihood.

    Parameters
    ----------
    formula_or_X : str or array_like
        A Wilkinson formula such as ``"y ~ x1 + C(group) + np.log(x2)"`` (built by
        formulaic on ``data``), or a design matrix (used as given: include a column of
        ones for an intercept) with the response in ``y``. A formula term outside a safe
        set (:mod:`thetahat.regression.formula`: arithmetic in ``I()``, ``C()``, ``np.log``
        and the like) is a :class:`~thetahat.errors.FormulaError`; nothing of it runs.
    data : pandas.DataFrame or dict, optional
    y : array_like, optional
        The response, with a design matrix.
    family : str
        ``normal`` (linear), ``bernoulli``, ``binomial``, ``poisson``,
        ``negative_binomial`` (NB2, α estimated), ``gamma``, ``inverse_gaussian``,
        ``multinomial`` (softmax; the first class is the base), ``ordered`` (ordered
        logit; ``link="probit"`` for ordered probit), ``tobit`` (censored normal),
        the accelerated-failure-time models ``weibull``, ``exponential``, ``lognormal``,
        ``loglogistic``, ``gengamma``, ``gompertz``, ``burr12``, and ``zinb`` (zero-inflated
        NB2): any family that declares a :class:`~thetahat.families.Predictor`.
    link : str, optional
        bernoulli/binomial: ``logit`` (default), ``probit``, ``cloglog``; gamma and
        inverse gaussian: ``log`` (default), ``inverse``, ``identity``.
    weights : str or array_like, optional
        Frequency weights (a column name or one value per row).
    offset : str or array_like, optional
        Added to the linear predictor (e.g. log exposure for poisson).
    penalty : {"l2", "l1", "elasticnet"}, optional
        MAP estimation: maximise ``loglik - lam * (l1_ratio*|b|_1 + (1 - l1_ratio)/2*|b|_2^2)``
        over the coefficients other than the intercept (a Laplace / Gaussian prior).
        normal, bernoulli, binomial and poisson. For normal the penalty is on the
        least-squares scale (``RSS/2 + lam * pen``, the prior scaled by σ²), so that
        ``lam = n * alpha`` of scikit-learn's Lasso/ElasticNet and ``lam = 1/C`` of its LogisticRegression.
    lam, l1_ratio : float
        Penalty strength, and the L1 share for ``elasticnet``.
    event : str or array_like, optional
        AFT models and the gamma GLM: 1 where the time is an observed event, 0 where
        right-censored (default: every row is an event). A censored gamma keeps the GLM's
        mean and shape, with the survival function Q(shape, shape y / mu) for censored rows.
    trials : str or array_like
        binomial: the number of trials of each row (the response counts successes).
    left, right : float, optional
        tobit: censoring points; rows with ``y <= left`` are left-censored at ``left``,
        rows with ``y >= right`` right-censored at ``right`` (default ``left=0``). A
        response beyond a limit counts as censored at the limit, as in R's
        ``AER::tobit`` (``survreg`` of the response clipped to the limits).
    dropna : bool
        Drop (and count) rows with missing values (NaN, ``None``), or with a term that is
        not finite (``np.log`` of a negative number), instead of raising.
    dask : bool
        With files as ``data``: Dask workers read them (:func:`~thetahat.regression.streamed.regress_stream`).
        Files, globs, folders and Dask collections as ``data`` are streamed, never loaded whole.
    allow_python : bool
        Let the formula evaluate any Python expression (formulaic's full language, ``{...}``
        blocks included). Unsafe for untrusted input: it could run any code (never in the CLI).
    cov_type, groups : str, optional
        ``observed`` (default), ``expected`` (R's ``glm``), ``HC0``-``HC3``, ``cluster`` (each row's
        cluster in ``groups``: a column or labels), ``ols`` (normal: RSS/(n-p), t-tests); rows in
        memory only. Definitions: :mod:`thetahat.regression.covariance_types`.

    Returns
    -------
    RegressionFit

    Examples
    --------
    >>> import pandas as pd, thetahat
    >>> df = pd.DataFrame({"y": [0, 0, 1, 0, 1, 1, 0, 1], "x": [1.0, 2, 3, 4, 5, 6, 3.5, 2.5]})
    >>> f = thetahat.regress("y ~ x", df, family="bernoulli")
    >>> f.converged, [round(v, 4) for v in f.params.values()]
    (True, [-2.7232, 0.8148])
    """
    options = {k: v for k, v in locals().items() if k not in ("formula_or_X", "data", "y", "dask")}
    return _route(formula_or_X, data, y, options, dask=dask)


def _route(formula_or_X, data, y, options, *, dask):
    """Files, globs, folders and Dask collections to
    :func:`~thetahat.regression.streamed.regress_stream` (streamed, never loaded whole);
    anything else to :func:`_fit_in_memory`. ``options`` holds the rest of ``regress``'s."""
    from .streamed import is_streamed_regression, regress_stream

    if is_streamed_regression(formula_or_X, data):
        cov_type, groups = options.pop("cov_type"), options.pop("groups")
        if cov_type_name(cov_type) != "observed" or groups is not None:
            raise OptionError(f"cov_type={cov_type!r} needs the rows in memory (each row's score, or the "
                              "residuals): a streamed regression reports the observed information only")
        return regress_stream(formula_or_X, data, y, dask=dask, **options)
    if dask:
        raise OptionError("dask=True reads files on Dask workers: pass file paths or a Dask collection as data")
    return _fit_in_memory(formula_or_X, data, y, **options)


def _fit_in_memory(formula_or_X, data, y, *, family, link, weights, offset, penalty, lam, l1_ratio, event,
                   trials, left, right, dropna, max_iter, allow_python, cov_type, groups):
    """``regress`` on data in memory: the design built and checked, then the penalised (MAP),
    least-squares or Newton fit."""
    fam, link = M.resolve(family, link)
    if fam == "gamma" and event is not None:  # right-censored gamma: the GLM's density and survival function
        fam, link = M.resolve("gamma_censored", link)
    ct = check_cov_type(cov_type, groups, fam, penalty is not None)
    extra = _roles(fam, weights, offset, trials, event, left, right)
    if groups is not None:
        extra["groups"] = group_column(groups, data)
    d = build(formula_or_X, data, y, extra=extra, dropna=dropna, allow_python=allow_python)
    w = _checked_weights(d)
    off = d.columns.get("offset")
    d, model, yv, classes = _model_and_response(d, fam, link, off)
    aux = _aux(model, fam, d, yv, left, right)
    M.check_response(model, yv, aux, repr(d.y_name))
    if penalty is not None:
        from .penalized import fit_penalized

        pen = _penalty(penalty, lam, l1_ratio, model)
        return fit_penalized(d, model, yv, aux, w, off, pen, max_iter)
    if lam is not None or l1_ratio is not None:
        raise OptionError("lam= and l1_ratio= need penalty='l1', 'l2' or 'elasticnet'")
    nobs = _identified_nobs(d, model, w)
    cov = {"type": ct, "groups": group_codes(d.columns["groups"]) if ct == "cluster" else None}
    if fam == "normal":
        return _fit_linear(d, model, yv, w, off, nobs, cov)
    return _fit_newton(d, model, fam, link, yv, aux, w, off, classes, nobs, max_iter, cov)


def _checked_weights(d):
    """The design's frequency weights (None without them); an error for a negative one."""
    w = d.columns.get("weights")
    if w is not None and (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise DataError(f"weights must be non-negative; the weight at data row {i + 1} is {w[i]:g}")
    return w


def _identified_nobs(d, model, w):
    """The number of observations (the weights' sum, with weights); an error when they are
    too few for the model's parameters."""
    n_rows, p = d.X.shape
    n_par = p * model.k + len(model.extra)
    nobs = float(n_rows if w is None else w.sum())
    if nobs <= n_par:
        raise DataError(f"{nobs:g} observations cannot identify {n_par} parameters")
    return nobs


def _roles(fam, weights, offset, trials, event, left, right):
    """The per-row columns the family takes (weights, offset, trials, event); an error for one it does not."""
    extra = {"weights": weights, "offset": offset}
    if fam == "binomial":
        if trials is None:
            raise OptionError("binomial regression needs trials= (a column or one count per row); for 0/1 "
                              "outcomes use family='bernoulli'")
        extra["trials"] = trials
    elif trials is not None:
        raise OptionError(f"trials= applies to the binomial family, not {fam}")
    if M.takes_event(fam):
        extra["event"] = event
    elif event is not None:
        raise OptionError(f"event= applies to the survival (AFT) families {', '.join(M.aft_names())}, not {fam}")
    if fam != "tobit" and (left is not None or right is not None):
        raise OptionError(f"left=/right= censoring points apply to family='tobit', not {fam}")
    return extra


def _model_and_response(d, fam, link, off):
    """``(design, model, numeric response, classes or None)``: class labels coded 0..K-1 for multinomial
    and ordered (whose design loses its intercept to the cut points)."""
    if fam in ("multinomial", "ordered"):
        classes, yv = encode_classes(d.y, d.y_name, fam)
        model = M.multinomial_model(len(classes)) if fam == "multinomial" else M.ordered_model(len(classes), link)
        if fam == "ordered":
            d = _drop_intercept(d)
        if off is not None and fam == "multinomial":
            raise OptionError("offset= is not supported for multinomial regression")
        return d, model, yv, classes
    if d.y.dtype.kind not in "fiub":
        raise DataError(f"the response {d.y_name!r} is not numeric; class labels need family='multinomial' "
                        "or 'ordered'")
    return d, M.get_model(fam, link), d.y.astype(np.float64), None


def _fit_newton(d, model, fam, link, yv, aux, w, off, classes, nobs, max_iter, cov):
    n_rows, p = d.X.shape
    notes = []
    theta0 = start_values(model, fam, link, d, yv, aux, w)
    data_dev = Data.build(d.X, yv, aux, w, off)

    def first_hessian(H):
        if gram_is_singular(H[:p, :p]):
            check_rank(d.X, d.names)

    big = n_rows > SUBSAMPLE_ABOVE
    if big:
        theta0 = _subsamplestart_values(model, d, yv, aux, w, off, theta0)
    res = newton(model, None, None, None, None, None, theta0, data=data_dev, max_iter=max_iter,
                 first_hessian=first_hessian, chord=big)
    if model.binary:
        _check_separation(res, model, data_dev, d, yv, aux)
    eta = linear_predictor(model, data_dev, res.theta)
    if not res.converged:
        notes.append(f"the fit did not converge ({res.reason}); no standard errors are reported")
    terms = terms_for(model)
    dev = None if terms is None else canonical_deviance(terms, yv, aux, w, res.loglik)
    cov_theta = None
    if res.converged and cov["type"] != "observed":
        cov_obs, note = inverse_information(res.hess)
        if cov_obs is None:
            raise DataError(f"cov_type={cov['type']!r} needs the observed information: {note}")
        cov_theta = covariance(cov["type"], model, res.theta, cov_obs, res.hess, d.X, yv, aux, w, off,
                               cov["groups"], nobs)
    return build_result(d, model, fam, link, res.theta, res.hess if res.converged else None, res.loglik, nobs, yv, aux,
                   w, off, classes, res.converged, res.reason, "newton", res.iterations, notes, eta=eta,
                   deviance=dev, cov_theta=cov_theta, cov_type=cov["type"])


# ---------------------------------------------------------------------------------------
SUBSAMPLE_ABOVE = 1 << 17  # rows; larger fits start from the MLE of a systematic subsample
SUBSAMPLE_ROWS = 1 << 15


def _subsamplestart_values(model, d, y, aux, w, off, theta0):
    """The MLE on every k-th row: a start within a few standard errors of the full MLE, so the
    full-data Newton needs 2-3 Hessians. Any trouble there (separation in the subsample, no
    convergence) just falls back to the ordinary start."""
    step = d.X.shape[0] // SUBSAMPLE_ROWS
    sl = slice(0, None, step)
    try:
        r = newton(model, d.X[sl], y[sl], None if aux is None else aux[sl], None if w is None else w[sl],
                   None if off is None else off[sl], theta0, max_iter=50)
    except (FloatingPointError, np.linalg.LinAlgError):
        return theta0
    return r.theta if r.converged and np.all(np.isfinite(r.theta)) else theta0


def _drop_intercept(d):
    if d.intercept is None:
        return d
    if d.spec is None:
        raise OptionError(f"column {d.names[d.intercept]!r} is constant: an ordered model has cut points instead "
                          "of an intercept; drop the column")
    keep = [j for j in range(d.X.shape[1]) if j != d.intercept]
    d.X, d.names, d.intercept = d.X[:, keep], tuple(d.names[j] for j in keep), None
    return d


def _aux(model, fam, d, yv, left, right):
    if model.uses_aux == "trials":
        n = d.columns["trials"]
        if (n <= 0).any() or (n != np.round(n)).any():
            i = int(np.flatnonzero((n <= 0) | (n != np.round(n)))[0])
            raise DataError(f"trials must be positive whole numbers; the count at data row {i + 1} is {n[i]:g}")
        return n
    if model.uses_aux == "event":
        e = d.columns.get("event")
        if e is None:
            return np.ones(len(yv))
        bad = (e != 0) & (e != 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"event must be 1 (event observed) or 0 (censored); the value at data row {i + 1} is {e[i]:g}")
        if not e.any():
            raise DataError("every row is censored (event = 0): there is no event to fit")
        return e
    if model.uses_aux == "censoring":
        return _censoring(yv, left, right)
    return None


def _censoring(yv, left, right):
    """-1 (left-censored), +1 (right-censored) or 0 per row; the response is clipped to the limits in place,
    so a value beyond a limit is censored at the limit (AER::tobit: survreg of the clipped response)."""
    if left is None and right is None:
        left = 0.0
    if any(v is not None and v != v for v in (left, right)):
        raise OptionError("tobit: a censoring point is NaN; give a number (or leave it out)")
    if left is not None and right is not None and not left < right:
        raise OptionError(f"tobit: the left censoring point ({left:g}) must be below the right one ({right:g})")
    c = np.zeros(len(yv))
    if left is not None:
        c[yv <= left] = -1
        yv[yv < left] = left
    if right is not None:
        c[yv >= right] = 1
        yv[yv > right] = right
    if np.all(c != 0):
        raise DataError("tobit: every row is censored")
    return c


def _penalty(penalty, lam, l1_ratio, model):
    kind = str(penalty).lower().replace("-", "").replace("_", "")
    kinds = {"l1": "l1", "lasso": "l1", "l2": "l2", "ridge": "l2", "elasticnet": "elasticnet", "enet": "elasticnet"}
    if kind not in kinds:
        raise OptionError(f"unknown penalty {penalty!r}; choose l1, l2 or elasticnet")
    kind = kinds[kind]
    if not model.penalizable:
        raise OptionError(f"penalties are available for normal, bernoulli, binomial and poisson regression, "
                          f"not {model.name}")
    if lam is None or not np.isfinite(lam) or lam < 0:
        raise OptionError(f"penalty={kind!r} needs lam= (a non-negative strength), got {lam!r}")
    if kind == "elasticnet":
        if l1_ratio is None or not 0 <= l1_ratio <= 1:
            raise OptionError(f"elasticnet needs l1_ratio= between 0 and 1, got {l1_ratio!r}")
    elif l1_ratio is not None:
        raise OptionError(f"l1_ratio= applies to penalty='elasticnet', not {kind!r}")
    r = {"l1": 1.0, "l2": 0.0}.get(kind, l1_ratio)
    return {"kind": kind, "lam": float(lam), "l1_ratio": float(r)}


def _fit_linear(d, model, yv, w, off, nobs, cov):
    b, info = least_squares(d.X, yv if off is None else yv - off, w)
    if b is None:
        check_rank(d.X, d.names)
        raise DataError("the design matrix is numerically rank-deficient")
    theta, cov_theta, loglik, extra, notes = linear_ml(b.astype(np.float64), float(info["rss"]), info["xtx_inv"],
                                                        nobs, d.names, float(np.max(np.abs(yv))) if yv.size else 0.0)
    extra["qr_refinements"] = info["refinements"]
    if cov["type"] != "observed":
        notes = [n for n in notes if not n.startswith("standard errors use sigma^2 by MLE")]
        cov_theta = covariance(cov["type"], model, theta, cov_theta, None, d.X, yv, None, w, off, cov["groups"], nobs)
    if cov["type"] == "ols":
        extra["df_resid"] = nobs - d.X.shape[1]
    return build_result(d, model, "normal", "identity", theta, None, loglik, nobs, yv, None, w, off, None, True,
                   "exact least-squares solution (pivoted QR with iterative refinement)", "qr", 0, notes,
                   cov_theta=cov_theta, extra=extra, cov_type=cov["type"])


def _check_separation(res, model, data_dev, d, y, aux):
    eta = linear_predictor(model, data_dev, res.theta)
    terms = terms_for(model)
    p = terms.mean(eta[:, 0]) if terms is not None else np.asarray(model.mean(eta, np.zeros(0)))
    extreme = np.minimum(p, 1 - p) < 1e-10
    if not res.converged or extreme.any():
        cols = separating_columns(d.X, y, aux if model.uses_aux == "trials" else None, d.names)
        if cols:
            raise SeparationError(separation_message(cols, model.name))


