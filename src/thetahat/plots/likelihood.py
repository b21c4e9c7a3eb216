"""The likelihood surface: profiles, two-parameter contours with the optimiser's path, traces."""

from __future__ import annotations

import numpy as np

from .._jax import x64
from ..errors import OptionError
from ._figure import finish, new_figure

GRID_ELEMENTS = 1 << 22  # grid points x padded rows evaluated per block (bounds memory)


@x64
def plot_profile(fit, name, path=None, ax=None, level=0.95, points=41, deviance=False, figsize=None, dpi=None):
    """The profile log-likelihood of one parameter, with the χ²₁ cutoff and the interval.

    Parameters
    ----------
    fit : Fit
    name : str
        A free scalar parameter.
    level : float
        Level of the profile interval marked on the plot.
    points : int
        Grid points of the profile (see :meth:`thetahat.Fit.profile`).
    deviance : bool
        Plot the deviance ``2 (ℓ̂ - ℓ_p)`` (cutoff χ²₁ quantile) instead of ``ℓ_p``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> from thetahat.plots import plot_profile
    >>> x = np.random.default_rng(0).exponential(2.0, 100)
    >>> fig = plot_profile(thetahat.fit(x, "exponential"), "lam")
    >>> fig.axes[0].get_xlabel()
    'lam'
    """
    prof = fit.profile(name, level=level, points=points)
    fig, a = new_figure(figsize, dpi, ax=ax)
    if deviance:
        y, cut, ylab = prof.deviance, prof.cutoff, "deviance 2(ℓ̂ - ℓ_p)"
        top = 0.0
    else:
        y, cut, ylab = prof.loglik, prof.loglik_max - prof.cutoff / 2.0, "profile log-likelihood"
        top = prof.loglik_max
    a.plot(prof.values, y, color="C0", lw=2, label="profile")
    a.axhline(cut, color="C3", ls="--", lw=1, label=f"χ²₁ cutoff ({level:.0%})")
    lo, hi = prof.interval
    for end in (lo, hi):
        if end is not None and np.isfinite(end) and prof.values.min() <= end <= prof.values.max():
            a.axvline(end, color="C3", ls=":", lw=1)
    a.plot([prof.estimate], [top], "o", color="k", label="estimate")
    a.set_xlabel(name)
    a.set_ylabel(ylab)
    a.set_title(f"Profile of {name}: {level:.0%} interval [{_g(lo)}, {_g(hi)}]")
    a.legend(frameon=False)
    for note in prof.notes:
        a.annotate(note, (0.01, 0.01), xycoords="axes fraction", fontsize=7, color="0.3")
    if ax is None:
        fig.tight_layout()
    return finish(fig, path)


@x64
def loglik_grid(fit, a, b, points=60, span=3.0):
    """The log-likelihood over a grid of two free scalar parameters, the others held at θ̂.

    The grid spans ``estimate ± span·se`` of each (kept inside the parameter's space)
    and is widened to include the optimiser's path. Returns ``(values_a, values_b, Z)``
    with ``Z[i, j]`` the log-likelihood at ``(values_a[j], values_b[i])`` (``nan`` where
    the data have zero likelihood).

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> from thetahat.plots import loglik_grid
    >>> x = np.array([2.1, 3.9, 3.2, 5.0, 4.4])
    >>> va, vb, Z = loglik_grid(thetahat.fit(x, "normal"), "mu", "sigma", points=5)
    >>> Z.shape, bool(np.nanmax(Z) <= thetahat.fit(x, "normal").loglik)
    ((5, 5), True)
    """
    import jax
    import jax.numpy as jnp

    from ..engine.layout import Layout

    ctx = _context(fit)
    names = ctx.layout.names
    for k in (a, b):
        if k not in names:
            why = "is fixed" if k in fit.params else "is not a parameter"
            raise OptionError(f"{k!r} {why} of this {fit.family.name} fit: a contour needs two free parameters")
        if ctx.layout.slots[names.index(k)].shape:
            raise OptionError(f"{k!r} is not a scalar parameter: a contour needs two scalar parameters")
    if a == b:
        raise OptionError("a contour needs two different parameters")
    path_a, path_b = path_values(fit, a, b)
    va = _axis(fit, a, span, path_a, points)
    vb = _axis(fit, b, span, path_b, points)
    fam = ctx.family
    shapes = {s.name: s.shape for s in ctx.layout.slots}
    others = {k: np.asarray(fit.params[k]) for k in names if k not in (a, b)}
    obj = ctx.objective(Layout.build(fam, shapes, [a, b]), {**ctx.fixed, **others})
    A, B = np.meshgrid(va, vb)
    flat_a, flat_b = A.ravel(), B.ravel()
    rows = 1 if ctx.sample is None else max(1, int(np.asarray(ctx.sample.x).shape[0]))
    block = max(1, GRID_ELEMENTS // max(rows, 1)) if ctx.stats is None else flat_a.size
    f = jax.vmap(lambda pa, pb: obj.loglik_theta({a: pa, b: pb}))
    out = np.concatenate([np.asarray(f(jnp.asarray(flat_a[i:i + block]), jnp.asarray(flat_b[i:i + block])))
                          for i in range(0, flat_a.size, block)])
    Z = out.reshape(A.shape)
    return va, vb, np.where(np.isfinite(Z), Z, np.nan)


@x64
def plot_contour(fit, a, b, path=None, ax=None, points=60, span=3.0, figsize=None, dpi=None):
    """Contours of the log-likelihood over two parameters, with the optimiser's path.

    The other free parameters are held at their estimates (the title says so). Contour
    lines are drawn at ``ℓ̂ - χ²₂(q)/2`` for q = 50, 80, 90, 95, 99 %: the boundaries of
    the likelihood-ratio confidence regions, labelled by level, when no other parameter
    is free. The optimiser's iterates (``Fit.path``) are joined from the start (open
    circle) to the estimate (filled).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> from thetahat.plots import plot_contour
    >>> x = np.random.default_rng(1).weibull(1.5, 200) * 3
    >>> fig = plot_contour(thetahat.fit(x, "weibull"), "shape", "scale", points=20)
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('shape', 'scale')
    """
    from scipy import stats as sst

    va, vb, Z = loglik_grid(fit, a, b, points=points, span=span)
    fig, ax_ = new_figure(figsize, dpi, ax=ax)
    top = float(fit.loglik)
    floor = top - 50.0
    filled = ax_.contourf(va, vb, np.clip(np.nan_to_num(Z, nan=floor), floor, None), levels=30, cmap="viridis")
    fig.colorbar(filled, ax=ax_, label="log-likelihood")
    qs = np.array([0.5, 0.8, 0.9, 0.95, 0.99])
    levels = top - sst.chi2.ppf(qs[::-1], 2) / 2.0
    if np.nanmin(Z) < levels[0]:
        cs = ax_.contour(va, vb, Z, levels=levels, colors="white", linewidths=1, linestyles="solid")
        ax_.clabel(cs, fmt={lv: f"{q:.0%}" for lv, q in zip(levels, qs[::-1])}, fontsize=8)
    pa, pb = path_values(fit, a, b)
    ax_.plot(pa, pb, ".-", color="C3", lw=1.5, label="optimiser path")
    ax_.plot(pa[:1], pb[:1], "o", mfc="none", mec="C3", label="start")
    ax_.plot([fit.params[a]], [fit.params[b]], "o", color="C3", label="estimate")
    ax_.set_xlabel(a)
    ax_.set_ylabel(b)
    others = [k for k in fit.context.layout.names if k not in (a, b)]
    held = f"; {', '.join(others)} held at θ̂" if others else ""
    ax_.set_title(f"{fit.family.name} log-likelihood over ({a}, {b}){held}", fontsize=10)
    ax_.legend(frameon=True, fontsize=8)
    if ax is None:
        fig.tight_layout()
    return finish(fig, path)


@x64
def plot_trace(fit, path=None, ax=None, figsize=None, dpi=None):
    """The log-likelihood at each iteration of the optimiser (``Fit.trace``).

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> from thetahat.plots import plot_trace
    >>> x = np.random.default_rng(1).weibull(1.5, 200) * 3
    >>> fig = plot_trace(thetahat.fit(x, "weibull"))
    >>> fig.axes[0].get_ylabel()
    'log-likelihood'
    """
    fig, a = new_figure(figsize, dpi, ax=ax)
    trace = np.asarray(fit.trace, dtype=float)
    a.plot(np.arange(trace.size), trace, "o-", color="C0", ms=4)
    a.set_xlabel("iteration")
    a.set_ylabel("log-likelihood")
    how = {"closed": "closed form: no iterations", "bfgs": "BFGS: start and end only"}.get(fit.method, fit.method)
    a.set_title(f"{fit.family.name} fit: {trace.size - 1} iterations ({how}); "
                f"{'converged' if fit.converged else 'NOT converged'}", fontsize=10)
    if ax is None:
        fig.tight_layout()
    return finish(fig, path)


# ---- helpers ----------------------------------------------------------------------
def path_values(fit, a, b):
    """The optimiser's iterates mapped to parameters ``a`` and ``b`` (arrays)."""
    import jax.numpy as jnp

    lay = _context(fit).layout
    if not fit.path:
        return np.array([float(fit.params[a])]), np.array([float(fit.params[b])])
    pts = [lay.to_params(jnp.asarray(u)) for u in fit.path]
    return (np.array([float(p[a]) for p in pts]), np.array([float(p[b]) for p in pts]))


def _axis(fit, name, span, along_path, points):
    from .. import constraints as C

    est = float(fit.params[name])
    se = fit.se.get(name)
    half = span * float(se) if se is not None and np.isfinite(se) and se > 0 else 0.5 * max(abs(est), 1.0)
    lo, hi = est - half, est + half
    fin = along_path[np.isfinite(along_path)]
    if fin.size:
        lo, hi = min(lo, fin.min()), max(hi, fin.max())
        pad = 0.05 * (hi - lo)
        lo, hi = lo - pad, hi + pad
    con = fit.family.params[name]
    if isinstance(con, (C.GreaterThan, C.Interval)):
        lo = max(lo, con.lower + 1e-3 * (est - con.lower))
    if isinstance(con, C.Interval):
        hi = min(hi, con.upper - 1e-3 * (con.upper - est))
    return np.linspace(lo, hi, int(points))


def _context(fit):
    ctx = getattr(fit, "context", None)
    if ctx is None:
        raise OptionError("this fit carries no data: the likelihood surface needs it")
    return ctx


def _g(v):
    return "open" if v is None else f"{float(v):.4g}"
