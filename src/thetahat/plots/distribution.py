"""The fitted distribution against the data: density/PMF, QQ, PP and CDF plots."""

from __future__ import annotations

import numpy as np

from .._jax import x64
from ..errors import OptionError
from ._figure import fit_data, finish, new_figure

KINDS = ("density", "qq", "pp", "cdf", "panel")


@x64
def plot_fit(fit, kind="density", path=None, ax=None, figsize=None, dpi=None):
    """Plot a fitted univariate distribution against its data.

    Parameters
    ----------
    fit : Fit
    kind : {"density", "qq", "pp", "cdf", "panel"}
        ``density``: the fitted density over a density-scaled histogram (discrete
        families: the fitted PMF over the observed proportions). ``qq``: ordered data
        against fitted quantiles ``F⁻¹((i - ½)/n)`` (``fit.to_scipy().ppf``). ``pp``:
        fitted ``F(x_(i))`` against ``(i - ½)/n``. ``cdf``: the fitted CDF over the
        empirical one. ``panel``: the four in a 2×2 figure. Weights, if the fit has
        them, weight the histogram and the empirical distribution.
    path : str or path-like, optional
        Write the figure there; the extension picks the format.
    ax : matplotlib Axes, optional
        Draw into it (not for ``panel``).
    figsize, dpi : optional
        Default 6.4×4.8 inches (10×8 for the panel) at 100 dpi.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> from thetahat.plots import plot_fit
    >>> x = np.random.default_rng(0).gamma(2.0, 1.5, 200)
    >>> fig = plot_fit(thetahat.fit(x, "gamma"), kind="qq")
    >>> fig.get_size_inches() * fig.dpi
    array([640., 480.])
    """
    if kind not in KINDS:
        raise OptionError(f"unknown plot kind {kind!r}; choose one of {', '.join(KINDS)}")
    x, w = fit_data(fit, "plot of the fit")
    if kind == "panel":
        fig, axes = new_figure(figsize, dpi, 2, 2, ax)
        for a, k in zip(axes.ravel(), ("density", "qq", "pp", "cdf")):
            _DRAW[k](a, fit, x, w)
        fig.suptitle(f"{fit.family.name} fit, n = {_g(fit.nobs)}")
        fig.tight_layout()
        return finish(fig, path)
    fig, a = new_figure(figsize, dpi, ax=ax)
    _DRAW[kind](a, fit, x, w)
    if ax is None:
        fig.tight_layout()
    return finish(fig, path)


# ---- the four drawings -------------------------------------------------------------
def _density(ax, fit, x, w):
    fam = fit.family
    if fam.discrete:
        vals, counts = _distinct(x, w)
        ax.bar(vals, counts / counts.sum(), width=0.8, color="0.8", edgecolor="0.5", label="observed proportion")
        ks = np.arange(np.floor(vals.min()), np.ceil(vals.max()) + 1)
        pmf = np.exp(fit.logpdf(ks))
        ax.vlines(ks, 0, pmf, color="C0")
        ax.plot(ks, pmf, "o", color="C0", label=f"fitted {fam.name} PMF")
        ax.set_ylabel("probability")
    else:
        edges = np.histogram_bin_edges(x, bins="auto")
        if edges.size > 101:  # "auto" can ask for thousands of bins on long-tailed data
            edges = np.histogram_bin_edges(x, bins=100)
        ax.hist(x, bins=edges, weights=w, density=True, color="0.8", edgecolor="0.5", label="data")
        grid = _grid(fit, x)
        ax.plot(grid, np.exp(fit.logpdf(grid)), color="C0", lw=2, label=f"fitted {fam.name} density")
        ax.set_ylabel("density")
    ax.set_xlabel("x")
    ax.set_title("Density" if not fam.discrete else "Probability mass")
    ax.legend(frameon=False)


def _qq(ax, fit, x, w):
    xs, pos = _positions(x, w)
    dist = _scipy(fit, "QQ plot", "ppf")
    q = np.asarray(dist.ppf(pos), dtype=float)
    ax.plot(q, xs, "o", ms=3, color="C0", label="ordered data")
    lo, hi = _finite_range(np.r_[q, xs])
    ax.plot([lo, hi], [lo, hi], color="0.4", lw=1, label="y = x")
    ax.set_xlabel(f"fitted {fit.family.name} quantile")
    ax.set_ylabel("data quantile")
    ax.set_title("QQ plot")
    ax.legend(frameon=False)


def _pp(ax, fit, x, w):
    xs, pos = _positions(x, w)
    u = _cdf(fit, xs)
    ax.plot(u, pos, "o", ms=3, color="C0", label="data")
    ax.plot([0, 1], [0, 1], color="0.4", lw=1, label="y = x")
    ax.set_xlabel(f"fitted {fit.family.name} CDF at the data")
    ax.set_ylabel("empirical probability (i - 1/2)/n")
    ax.set_title("PP plot")
    ax.legend(frameon=False)


def _cdf_plot(ax, fit, x, w):
    xs, ecdf = _ecdf(x, w)
    ax.step(xs, ecdf, where="post", color="0.3", label="empirical CDF")
    if fit.family.discrete:
        grid = np.arange(np.floor(xs.min()) - 1, np.ceil(xs.max()) + 1)
        ax.step(grid, _cdf(fit, grid), where="post", color="C0", lw=2, alpha=0.7, label=f"fitted {fit.family.name}")
    else:
        grid = _grid(fit, x)
        ax.plot(grid, _cdf(fit, grid), color="C0", lw=2, label=f"fitted {fit.family.name} CDF")
    ax.set_xlabel("x")
    ax.set_ylabel("F(x)")
    ax.set_title("Cumulative distribution")
    ax.legend(frameon=False)


_DRAW = {"density": _density, "qq": _qq, "pp": _pp, "cdf": _cdf_plot}


# ---- helpers ----------------------------------------------------------------------
def _positions(x, w):
    """Sorted data and their plotting positions (i - 1/2)/n (weighted: mid-points of the
    weighted empirical CDF's steps)."""
    order = np.argsort(x, kind="stable")
    xs = np.asarray(x, dtype=float)[order]
    if w is None:
        n = xs.size
        return xs, (np.arange(1, n + 1) - 0.5) / n
    ws = np.asarray(w, dtype=float)[order]
    keep = ws > 0
    xs, ws = xs[keep], ws[keep]
    c = np.cumsum(ws)
    return xs, (c - 0.5 * ws) / c[-1]


def _ecdf(x, w):
    order = np.argsort(x, kind="stable")
    xs = np.asarray(x, dtype=float)[order]
    ws = np.ones(xs.size) if w is None else np.asarray(w, dtype=float)[order]
    return xs, np.cumsum(ws) / ws.sum()


def _distinct(x, w):
    vals, inv = np.unique(np.asarray(x, dtype=float), return_inverse=True)
    counts = np.bincount(inv, weights=None if w is None else np.asarray(w, dtype=float), minlength=vals.size)
    return vals, counts.astype(float)


def _grid(fit, x, points=400):
    """Points spanning the data (5 % beyond each end), kept inside the support."""
    from .. import constraints as C

    lo, hi = float(np.min(x)), float(np.max(x))
    pad = 0.05 * (hi - lo if hi > lo else max(abs(lo), 1.0))
    lo, hi = lo - pad, hi + pad
    sup = fit.family.support
    if isinstance(sup, (C.GreaterThan, C.Interval)):
        lo = max(lo, sup.lower)
    if isinstance(sup, C.Interval):
        hi = min(hi, sup.upper)
    return np.linspace(lo, hi, points)


def _cdf(fit, x):
    fam = fit.family
    if fam.cdf is not None:
        import jax
        import jax.numpy as jnp

        p = {k: jnp.asarray(np.asarray(v, dtype=float)) for k, v in {**fit.fixed, **fit.params}.items()}
        return np.asarray(jax.vmap(lambda v: fam.cdf(v, p))(jnp.asarray(np.asarray(x, dtype=float))))
    return np.asarray(_scipy(fit, "CDF", "cdf").cdf(x), dtype=float)


def _scipy(fit, what, method):
    try:
        dist = fit.to_scipy()
    except NotImplementedError:
        dist = None
    if dist is None or not hasattr(dist, method):
        raise OptionError(f"the {what} needs the fitted distribution's {method} (through Fit.to_scipy()), which "
                          f"{fit.family.name} does not provide")
    return dist


def _finite_range(v):
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.min()), float(v.max())


def _g(v):
    return f"{float(v):g}"
