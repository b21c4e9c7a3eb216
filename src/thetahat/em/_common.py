"""Pieces shared by mixtures and hidden Markov models: validation, the component model
for a family name, k-means++ starts, standard errors by the delta method, ordering.

Example
-------
>>> import numpy as np
>>> from thetahat.em._common import kmeans_labels
>>> x = np.array([0.0, 0.1, 0.2, 10.0, 10.1, 10.2])
>>> sorted(np.bincount(kmeans_labels(x, 2, np.random.default_rng(0))).tolist())
[3, 3]
"""

from __future__ import annotations

import numpy as np

from ..scale.arrays import as_float_array
from ..errors import DataError, OptionError, SupportError
from ..families import get_family
from ..families._base import in_support
from ..inference import covariance as cv
from .components import BernoulliComponents, CategoricalComponents, GaussianComponents
from .generic import ClosedFormComponents, GenericComponents, has_closed_form_m_step

COV_TYPES = ("full", "diag", "spherical", "tied")
PRIOR_SCALE = 1e-6  # default covariance prior: 1e-6 times each column's variance


class TooManyComponentsError(DataError):
    """More components (or states) than distinct observations can identify."""


class SequenceError(DataError):
    """A sequence that a hidden Markov model cannot use (too short, wrong shape)."""


def check_k(k, what="components"):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise OptionError(f"the number of {what} must be a positive integer, got {k!r}")
    return int(k)


def check_run(starts, max_iter, tol) -> int:
    """Refuse impossible EM run options; the number of starts as an int."""
    if int(starts) < 1:
        raise OptionError(f"starts must be at least 1, got {starts}")
    if int(max_iter) < 1 or not np.isfinite(tol) or tol < 0:
        raise OptionError("max_iter must be at least 1 and tol non-negative")
    return int(starts)


def check_ks(k):
    """The list of component counts in ``k``: one positive integer, or an iterable of them
    (a range to choose from by BIC)."""
    if isinstance(k, (int, np.integer)) or isinstance(k, bool):
        return [check_k(k)]
    try:
        ks = [check_k(v) for v in k]
    except TypeError:
        raise OptionError(f"k must be a positive integer or a range of them, got {k!r}") from None
    if not ks:
        raise OptionError("k is an empty range")
    return ks


def family_key(family):
    if isinstance(family, str):
        key = family.strip().lower().replace("-", "_")
        if key in ("normal", "gaussian", "norm"):
            return "normal"
        if key in ("mvnormal", "multivariate_normal", "mvn"):
            return "mvnormal"
        return get_family(key).name
    return get_family(family).name if not hasattr(family, "logpdf") else family


def as_data(data, fam_key, where="data"):
    """Float64 array; 1-D for scalar families, 2-D (n, d) for multivariate ones. NaN names its row."""
    arr = np.asarray(data) if not isinstance(data, (str, bytes)) else data
    nd = 1 if fam_key == "mvnormal" or (getattr(arr, "ndim", 1) == 2 and arr.shape[1] > 1) else 0
    x, _ = as_float_array(data, ndim=nd, where=where)
    return x


def model_class(fam_key):
    """The class of component model that ``thetahat.mixture`` builds for a family (a name or a
    :class:`~thetahat.families.Family`): its ``streams`` says whether a mixture of it can stream
    (a closed-form M-step from statistics that merge across batches)."""
    if isinstance(fam_key, str) and fam_key in ("normal", "mvnormal"):
        return GaussianComponents
    fam = fam_key if not isinstance(fam_key, str) else get_family(fam_key)
    if fam.name in ("bernoulli", "categorical"):  # items of a latent class model
        return BernoulliComponents if fam.name == "bernoulli" else CategoricalComponents
    return ClosedFormComponents if has_closed_form_m_step(fam) else GenericComponents


def build_model(fam_key, x, k, cov_type="full", cov_prior="auto", n_symbols=None):
    """The component model for a family and data ``x`` (already validated numbers)."""
    if cov_type not in COV_TYPES:
        raise OptionError(f"unknown cov_type {cov_type!r}; choose one of {', '.join(COV_TYPES)}")
    if fam_key in ("normal", "mvnormal"):
        d = 1 if x.ndim == 1 else x.shape[1]
        if fam_key == "normal" and x.ndim == 1:
            cov_type = "full"
        prior = _prior(x, cov_prior)
        return GaussianComponents(k, d, cov_type, prior, univariate=(fam_key == "normal" and x.ndim == 1))
    if not isinstance(fam_key, str):
        fam = fam_key
    else:
        fam = get_family(fam_key)
    name = fam.name
    if name == "bernoulli":
        _check(fam, x)
        return BernoulliComponents(k, 1 if x.ndim == 1 else x.shape[1])
    if name == "categorical":
        _check(fam, x)
        top = int(np.max(x)) + 1
        if n_symbols is None:
            n_symbols = top
        elif top > n_symbols:
            bad = np.argwhere(x >= n_symbols)[0]
            raise SupportError(f"symbol {x[tuple(bad)]:g} at data row {bad[0] + 1} is outside the alphabet "
                               f"0..{n_symbols - 1} (n_symbols={n_symbols})")
        return CategoricalComponents(k, 1 if x.ndim == 1 else x.shape[1], int(n_symbols))
    if x.ndim != fam.ndim + 1:
        raise DataError(f"{name} takes {'rows of' if fam.ndim else 'one value per'} observation; the data have "
                        f"shape {x.shape}")
    if any(v is None for v in fam.known.values()):
        raise OptionError(f"{name} needs known values ({', '.join(fam.known)}); mixtures of it are not supported")
    fam.check_support(x, {})
    return model_class(fam).build(fam, k, x)


def _check(fam, x):
    ok = in_support(fam.support, x)
    if ok.ndim > 1:
        ok = ok.all(axis=1)
    if not ok.all():
        i = int(np.argmin(ok))
        raise SupportError(f"value {np.asarray(x[i]).tolist()} at data row {i + 1} is outside the support of {fam.name} "
                           f"({fam.support.name})")


def _prior(x, cov_prior):
    d = 1 if x.ndim == 1 else x.shape[1]
    if cov_prior is None or (isinstance(cov_prior, (int, float)) and cov_prior == 0):
        return ()
    if isinstance(cov_prior, str):
        if cov_prior != "auto":
            raise OptionError(f"cov_prior must be 'auto', a number or None, got {cov_prior!r}")
        var = np.var(x.reshape(x.shape[0], -1), axis=0)
        return tuple(float(v) for v in PRIOR_SCALE * np.where(var > 0, var, 1.0))
    v = np.asarray(cov_prior, dtype=float)
    if np.any(~np.isfinite(v)) or np.any(v < 0):
        raise OptionError(f"cov_prior must be non-negative, got {cov_prior!r}")
    return tuple(float(t) for t in np.broadcast_to(v, (d,)))


def check_distinct(x, k, what="components"):
    rows = x.reshape(x.shape[0], -1)
    head = rows[:max(64, 8 * k)]  # usually enough to see k distinct rows, without sorting all of them
    if np.unique(head, axis=0).shape[0] >= k:
        return
    n_distinct = np.unique(rows, axis=0).shape[0]
    if k > n_distinct:
        raise TooManyComponentsError(f"k = {k} {what} but the data have only {n_distinct} distinct "
                                     f"value{'s' if n_distinct != 1 else ''}: each {what[:-1]} needs its own")


# ---- k-means++ ------------------------------------------------------------------------
KMEANS_ROWS = 20_000


def kmeans_labels(x, k, rng, iters=25):
    """k-means++ seeding (Arthur & Vassilvitskii 2007), then Lloyd's iterations, on
    standardised columns (a subsample of at most 20,000 rows); every row is then given
    its nearest centre."""
    z = x.reshape(x.shape[0], -1).astype(float)
    sd = z.std(axis=0)
    z = (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    sub = z if z.shape[0] <= KMEANS_ROWS else z[rng.choice(z.shape[0], KMEANS_ROWS, replace=False)]
    centres = [sub[rng.integers(sub.shape[0])]]
    d2 = ((sub - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        tot = d2.sum()
        i = rng.choice(sub.shape[0], p=d2 / tot) if tot > 0 else rng.integers(sub.shape[0])
        centres.append(sub[i])
        d2 = np.minimum(d2, ((sub - sub[i]) ** 2).sum(1))
    c = np.array(centres)
    for _ in range(iters):
        lab = _nearest(sub, c)
        new = np.array([sub[lab == j].mean(0) if np.any(lab == j) else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return _nearest(z, c)


def _nearest(z, c):
    d = (z * z).sum(1)[:, None] - 2 * z @ c.T + (c * c).sum(1)[None]
    return np.argmin(d, axis=1)


# ---- standard errors --------------------------------------------------------------------
CHUNK = 1 << 15


def observed_se(loglik_rows, u, data, natural_flat, labels):
    """Delta-method standard errors from the observed information of a log-likelihood.

    ``loglik_rows(u, data_chunk, w_chunk)`` is the (weighted) log-likelihood of a chunk of
    rows; the Hessian in ``u`` is summed over chunks of 2^15 rows so memory stays bounded.
    Returns ``(se_flat or None, cov or None, note or None, hessian_negative_definite)``.
    """
    import jax
    import jax.numpy as jnp

    uj = jnp.asarray(u)
    hess = jax.jit(jax.hessian(loglik_rows))
    n = data.shape[0] if data is not None else 0
    H = np.zeros((u.size, u.size))
    if data is None:
        H = np.asarray(hess(uj, None, None))
    else:
        for s in range(0, n, CHUNK):
            xc = data[s:s + CHUNK]
            m = xc.shape[0]
            w = np.ones(m)
            if m < CHUNK and n > CHUNK:  # pad so that every chunk has one shape
                xc = np.concatenate([xc, np.repeat(xc[-1:], CHUNK - m, axis=0)])
                w = np.concatenate([w, np.zeros(CHUNK - m)])
            H += np.asarray(hess(uj, jnp.asarray(xc), jnp.asarray(w)))
    return se_from_hessian(H, np.asarray(jax.jacfwd(natural_flat)(uj)))


def se_from_hessian(H, J):
    """(flat SEs, cov, note, negative definite) from the Hessian in unconstrained
    coordinates and the Jacobian of the natural parameters; Nones and a note when the
    Hessian is not finite or not negative definite."""
    if not np.all(np.isfinite(H)):
        return None, None, "the Hessian of the log-likelihood is not finite at the estimate: no standard errors", \
            False
    c = cv.observed(H, J)
    if c.cov is None:
        return None, None, c.note, c.negative_definite
    return np.sqrt(np.clip(np.diag(c.cov), 0, None)), c.cov, None, True


def flat_labels(natural: dict):
    out = []
    for name, v in natural.items():
        a = np.asarray(v)
        if a.ndim == 0:
            out.append(name)
        else:
            out += [f"{name}[{','.join(map(str, idx))}]" for idx in np.ndindex(*a.shape)]
    return out


def unflatten(vec, natural: dict):
    out, off = {}, 0
    for name, v in natural.items():
        a = np.asarray(v)
        out[name] = vec[off:off + a.size].reshape(a.shape)
        off += a.size
    return out


def order_by_first_coordinate(x, r):
    """Component order: by the responsibility-weighted mean of the data's first coordinate
    (for Gaussian components, the first coordinate of mu). Ties keep the fitted order."""
    first = x if x.ndim == 1 else x.reshape(x.shape[0], -1)[:, 0]
    nk = r.sum(0)
    key = (first @ r) / np.where(nk > 0, nk, 1.0)
    return np.argsort(key, kind="stable")


def monotone(trace, scale):
    """Whether a trace never falls by more than rounding (1e-9 relative)."""
    t = np.asarray(trace, dtype=float)
    return bool(t.size < 2 or np.all(np.diff(t) >= -1e-9 * max(1.0, abs(scale))))


def fmt_array(v, digits=6):
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return f"{float(a):.{digits}g}"
    return np.array2string(a, precision=digits, separator=", ")


def em_verdict(obj, trace, it, max_iter, tol, n, what="component"):
    """``(converged, reason, notes)`` of an EM run stopped after ``it`` iterations: converged
    when the objective changed by less than ``tol`` per observation; notes if the trace
    ever fell by more than rounding."""
    if not np.isfinite(obj):
        converged, reason = False, f"the log-likelihood became non-finite (a {what} lost all its points?)"
    elif it < max_iter or (it == max_iter and len(trace) > 1 and abs(trace[-1] - trace[-2]) <= tol * n):
        converged = True
        reason = f"objective changed by less than tol = {tol:g} per observation after {it} EM iterations"
    else:
        converged = False
        last = abs(trace[-1] - trace[-2]) / n if len(trace) > 1 else float("nan")
        reason = f"reached max_iter = {max_iter} EM iterations; the last change was {last:.3g} per observation"
    notes = [] if monotone(trace, obj) else ["the EM trace decreased by more than rounding at some iteration"]
    return converged, reason, notes


# ---- collapsed components -----------------------------------------------------------------
COLLAPSE_ULPS = 1e3  # a component narrower than this many units in the last place of the data: collapsed


def collapse_floor(scale):
    """The width (a standard deviation) below which a component has collapsed: 1e3 eps ``scale``,
    ``scale`` the data scale of :func:`data_scale` (may be a traced value)."""
    return COLLAPSE_ULPS * np.finfo(np.float64).eps * scale


def data_scale(x):
    """The largest |x| (1 for empty or all-zero data): the unit of the collapse floor."""
    s = float(np.max(np.abs(x))) if np.size(x) else 0.0
    return s if s > 0 else 1.0


def collapsed_components(model, p, scale, lp=None):
    """(k,) flags: components that sit on fewer points than they have dimensions + 1.

    A normal component (plain ML, no ``cov_prior``) whose covariance has an eigenvalue below
    :func:`collapse_floor` squared: the likelihood is unbounded as that eigenvalue goes to 0, and
    since x - mu is then itself a few rounding errors, the computed log-likelihood is only
    accurate to O(0.1) and EM's increase can no longer be seen in it. A component of another
    continuous family (weighted Newton M-step) has collapsed when its log-density ``lp`` (n, k)
    at some observation exceeds -log(floor): its spread is below the floor (a normal density is
    at most 1 / (sqrt(2 pi) sigma)). Discrete components are bounded by 1 and never collapse.
    """
    import jax.numpy as jnp

    floor = collapse_floor(scale)
    if isinstance(model, GaussianComponents):
        if model.prior:
            return jnp.zeros(model.k, dtype=bool)
        cov = p["cov"]
        if model.d == 1 or model.cov_type in ("diag", "spherical"):  # diagonal: its entries are the eigenvalues
            low = jnp.min(jnp.diagonal(cov, axis1=1, axis2=2), axis=-1)
        else:
            low = jnp.min(jnp.linalg.eigvalsh(cov), axis=-1)
        return ~(low > floor * floor)  # NaN counts as collapsed
    if isinstance(model, GenericComponents) and not model.family.discrete and lp is not None:
        return jnp.max(lp, axis=0) > -jnp.log(floor)
    return jnp.zeros(model.k, dtype=bool)


def collapse_reason(bad, nk, it, model, what="component"):
    """The not-converged reason for collapsed components ``bad`` (indices in reported order)."""
    many = len(bad) > 1
    nk = np.asarray(nk, dtype=float)
    held = (f"holding {', '.join(f'{nk[j]:.3g}' for j in bad)} observations' weight; "
            if np.all(np.isfinite(nk[bad])) else "")
    gauss = isinstance(model, GaussianComponents)
    prior = "the default cov_prior='auto', " if gauss else ""
    d = getattr(model, "d", 1) if gauss else 1
    onto = "a single value" if d == 1 else f"fewer than {d + 1} points"
    spread = "spread" if not gauss else "variance" if d == 1 else "smallest covariance eigenvalue"
    return (f"{what}{'s' if many else ''} {', '.join(map(str, bad))} collapsed onto {onto} ({held}"
            f"{spread} at the rounding level of the "
            f"data) {'at the starting values' if it == 0 else f'after {it} EM iterations'}: "
            f"the likelihood is unbounded there, so there is no MLE; use {prior}fewer {what}s, or other starts "
            "(starts=, seed=, start=)")


def collapse_notes(weights, n):
    """A note when a component holds less than one observation's weight."""
    if np.any(np.asarray(weights) * n < 1.0):
        return ["a component holds less than one observation's weight: it has collapsed, and k may be too large"]
    return []
