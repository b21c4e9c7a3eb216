"""Parametric and nonparametric bootstrap, with percentile and BCa intervals.

Refits run batched (:func:`thetahat.engine.batch.fit_batch`): thousands of refits in
one compiled, vmapped call, in blocks that bound memory. The nonparametric bootstrap
never copies the data: a resample is a row of multinomial counts used as weights.
Refits that fail to converge are counted and left out, and the count is reported.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as sst

from .._jax import jax, jnp, x64, x64_methods
from ..engine.batch import fit_batch
from ..engine.simulate import draw_blocks
from ..errors import OptionError

KINDS = ("parametric", "nonparametric")
INTERVALS = ("studentized", "percentile", "bca")


@x64_methods
@dataclass(frozen=True)
class Bootstrap:
    """Bootstrap replicates of a fit.

    Attributes
    ----------
    kind : str
        ``"parametric"`` or ``"nonparametric"``.
    replicates : dict
        Per estimated parameter, the successful refits (first axis: replicate).
    n_boot, n_failed : int
        Refits asked for, and those that did not converge (excluded).
    seed : int
    """

    kind: str
    replicates: dict
    n_boot: int
    n_failed: int
    seed: int
    fit: object = field(repr=False)
    se_replicates: dict = field(default_factory=dict, repr=False)  # each refit's own standard errors

    def se(self) -> dict:
        """Bootstrap standard errors (standard deviation of the replicates)."""
        return {k: np.std(v, axis=0, ddof=1) for k, v in self.replicates.items()}

    def of(self, g) -> np.ndarray:
        """Replicates of ``g(params)``, for a function ``g`` of the parameter dict."""
        fixed = {k: jnp.asarray(v) for k, v in self.fit.fixed.items()}
        reps = {k: jnp.asarray(v) for k, v in self.replicates.items()}
        return np.asarray(jax.vmap(lambda p: jnp.asarray(g({**fixed, **p}), dtype=jnp.float64))(reps))


@x64
def bootstrap(fit, *, n_boot=2000, kind="parametric", seed=0, progress=None, block=None) -> Bootstrap:
    """Refit ``fit``'s model to ``n_boot`` bootstrap samples.

    Parameters
    ----------
    fit : Fit
    n_boot : int
    kind : {"parametric", "nonparametric"}
        Parametric samples come from the fitted distribution -- for censored or
        truncated data, censored and truncated as the data were (censoring times from
        the reverse Kaplan--Meier estimate; interval censoring needs ``nonparametric``);
        nonparametric ones resample the rows (with their weights).
    seed : int
        Results are reproducible from it.
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal and the run is long).
    block : int, optional
        Refits per compiled call (default: as many as keep a block near 4·10⁶ values).

    Returns
    -------
    Bootstrap

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> from thetahat.inference.bootstrap import bootstrap
    >>> x = np.random.default_rng(1).exponential(2.0, 200)
    >>> b = bootstrap(thetahat.fit(x, "exponential"), n_boot=500, seed=3)
    >>> b.replicates["lam"].shape, b.n_failed
    ((500,), 0)
    """
    n_boot, ctx = _check_request(fit, kind, n_boot)
    rng = np.random.default_rng(seed)
    free = list(ctx.layout.names)
    x, w = _resample_base(ctx)
    n = x.shape[0]
    # blocks of about 4 10^6 values (memory stays bounded); their draws run ahead on two threads
    per_block = block or max(1, min(n_boot, int(4e6 // max(n, 1))))
    sizes = [min(per_block, n_boot - i) for i in range(0, n_boot, per_block)]
    reps = {k: [] for k in free}
    ses = {k: [] for k in free}
    failed = 0
    bar = _progress(progress, n_boot, n)
    for m, b in zip(sizes, _refit_blocks(fit, ctx, kind, x, w, sizes, rng)):
        ok = b.converged
        failed += int((~ok).sum())
        for k in free:
            reps[k].append(b.params[k][ok])
            ses[k].append(b.se[k][ok])
        if bar is not None:
            bar[0].update(bar[1], advance=m)
    if bar is not None:
        bar[0].stop()
    reps = {k: np.concatenate(v) for k, v in reps.items()}
    ses = {k: np.concatenate(v) for k, v in ses.items()}
    return Bootstrap(kind, reps, n_boot, failed, int(seed), fit, ses)


def _check_request(fit, kind, n_boot):
    """``(n_boot, context)`` once the options and the fit are checked: a converged fit that
    carries its data."""
    if kind not in KINDS:
        raise OptionError(f"unknown bootstrap kind {kind!r}; choose parametric or nonparametric")
    n_boot = int(n_boot)
    if n_boot < 2:
        raise OptionError(f"n_boot must be at least 2, got {n_boot}")
    ctx = getattr(fit, "context", None)
    if ctx is None:
        raise OptionError("this fit carries no data: it cannot be bootstrapped")
    if not fit.converged:
        raise OptionError("the fit did not converge: bootstrap a converged fit")
    return n_boot, ctx


def _refit_blocks(fit, ctx, kind, x, w, sizes, rng):
    """The batched refits (:func:`~thetahat.engine.batch.fit_batch`), one per block of
    ``sizes``: to rows ``x`` reweighted by multinomial counts (nonparametric), to samples
    drawn from the fit and censored or truncated as the data were, or to plain draws from
    the fit (parametric). Each refit starts from the estimates."""
    fam, fixed = ctx.family, {k: v for k, v in ctx.fixed.items()}
    start = {k: np.asarray(fit.params[k]) for k in ctx.layout.names}
    design = _censoring_design(ctx) if kind == "parametric" else None
    draws = None
    if kind == "parametric" and design is None:
        draws = draw_blocks(fam, fit.params, [(m, int(round(fit.nobs))) for m in sizes], rng)

    def blocks():
        for m in sizes:
            if kind == "nonparametric":
                yield fit_batch(fam, x, weights=_counts(rng, w, m, ctx), fixed=fixed, start=start)
            elif design is not None:  # censored or truncated: redraw the design, not just the values
                from .gof_censored import simulate_design

                data, W, _ = simulate_design(design, fit.params, rng, m)
                yield fit_batch(fam, data, weights=None if W is None else np.asarray(W), fixed=fixed, start=start)
            else:
                yield fit_batch(fam, next(draws), fixed=fixed, start=start)

    return blocks()


def _censoring_design(ctx):
    """The censoring/truncation design of a censored or truncated fit (None for plain data):
    a parametric bootstrap then draws values from the fit and censors them as the data
    were -- censoring times from the reverse Kaplan--Meier estimate (right or left
    censoring); interval censoring is refused (its inspection process is not in the
    data) -- see :mod:`thetahat.inference.gof_censored`."""
    if not (ctx.censored or ctx.family.censored or ctx.family.has_truncation):
        return None
    from .gof_censored import Design

    design = Design(ctx)
    if design.kind == "interval":
        # each row's own two inspection times would make the simulated data far coarser than
        # binned data really are (every unit inspected at every bin edge): a biased spread
        raise OptionError("a parametric bootstrap of interval-censored data needs the inspection process, which "
                          "the rows do not determine; use kind='nonparametric'")
    return design


def _resample_base(ctx):
    """The rows a resample draws from, and their weights (discrete data: distinct values)."""
    raw = ctx.rows("the bootstrap")
    if ctx.family.discrete:
        return ctx.sample.x, ctx.sample.w  # counts of distinct values
    return raw.x, raw.w


def _counts(rng, w, m, ctx):
    n = ctx.raw.x.shape[0] if w is None else w.shape[0]
    if w is None:
        return rng.multinomial(n, np.full(n, 1.0 / n), size=m).astype(float)
    if ctx.family.discrete or ctx.weight_kind == "frequency":
        total = int(round(w.sum()))
        return rng.multinomial(total, w / w.sum(), size=m).astype(float)
    # analytic weights travel with their rows
    return rng.multinomial(n, np.full(n, 1.0 / n), size=m).astype(float) * w


def _progress(progress, n_boot, n):
    show = progress if progress is not None else (n_boot * n > 2e7 and sys.stderr.isatty())
    if not show:
        return None
    from rich.progress import Progress

    p = Progress(transient=True)
    p.start()
    return p, p.add_task("bootstrap refits", total=n_boot)


# ---- intervals -------------------------------------------------------------------
def studentized_interval(values, ses, estimate, se, constraint, level):
    """Bootstrap-t: the distribution of ``(u* - u-hat) / se*`` stands in for the pivot
    ``(u-hat - u) / se``, in the parameter's unconstrained coordinate ``u`` (log for a
    positive parameter, logit for a bounded one), mapped back. Exact for pivots such as
    a normal mean or log-sigma; second-order accurate in general."""
    import jax

    u_of = jax.vmap(lambda t: constraint.inverse(t))
    du = jax.vmap(jax.grad(lambda t: constraint.inverse(t)))
    vals = jnp.asarray(values, dtype=jnp.float64)
    u_star = np.asarray(u_of(vals))
    se_star = np.asarray(ses) * np.abs(np.asarray(du(vals)))
    u_hat = float(constraint.inverse(jnp.asarray(estimate, dtype=jnp.float64)))
    se_hat = float(se * abs(float(jax.grad(lambda t: constraint.inverse(t))(jnp.asarray(estimate * 1.0)))))
    good = np.isfinite(u_star) & np.isfinite(se_star) & (se_star > 0)
    t = (u_star[good] - u_hat) / se_star[good]
    a = (1 - level) / 2
    q_lo, q_hi = np.quantile(t, [a, 1 - a])
    lo_u, hi_u = u_hat - q_hi * se_hat, u_hat - q_lo * se_hat
    fwd = lambda v: float(constraint.forward(jnp.asarray(v)))  # noqa: E731
    return fwd(lo_u), fwd(hi_u)


def percentile_interval(values, level):
    a = (1 - level) / 2
    return tuple(np.quantile(values, [a, 1 - a], axis=0))


def bca_interval(values, estimate, jackknife, level):
    """Efron's bias-corrected and accelerated interval."""
    values = np.asarray(values, dtype=float)
    B = values.shape[0]
    prop = (np.sum(values < estimate, axis=0) + 0.5 * np.sum(values == estimate, axis=0)) / B
    prop = np.clip(prop, 1.0 / (2 * B), 1 - 1.0 / (2 * B))
    z0 = sst.norm.ppf(prop)
    jk = np.asarray(jackknife, dtype=float)
    d = jk.mean(axis=0) - jk
    den = 6.0 * np.sum(d ** 2, axis=0) ** 1.5
    acc = np.where(den > 0, np.sum(d ** 3, axis=0) / np.where(den > 0, den, 1.0), 0.0)
    out = []
    for z in sst.norm.ppf([(1 - level) / 2, 1 - (1 - level) / 2]):
        q = sst.norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z)))
        out.append(np.quantile(values, q) if np.ndim(q) == 0 else
                   np.array([np.quantile(values[:, i], qi) for i, qi in enumerate(np.ravel(q))]))
    return tuple(out)


@x64
def jackknife(fit, g=None, groups=500, seed=0):
    """Leave-one-out (or, for large n, leave-one-group-out) estimates, for BCa's
    acceleration. Returns an array (units, ...) of parameter or ``g`` values."""
    ctx = fit.context
    fam = ctx.family
    x, w = _resample_base(ctx)
    n = x.shape[0]
    base = np.ones(n) if w is None else np.asarray(w, dtype=float)
    free = list(ctx.layout.names)
    start = {k: np.asarray(fit.params[k]) for k in free}
    if ctx.family.discrete:
        # one unit of each distinct value out: its jackknife value repeats count times
        W = np.repeat(base[None, :], n, axis=0) - np.eye(n)
        reps = np.asarray(base)
    elif n <= groups:
        W = np.repeat(base[None, :], n, axis=0) * (1 - np.eye(n))
        reps = None
    else:
        label = np.random.default_rng(seed).permutation(n) % groups
        W = np.repeat(base[None, :], groups, axis=0) * (label[None, :] != np.arange(groups)[:, None])
        reps = None
    b = fit_batch(fam, x, weights=W, fixed=dict(ctx.fixed), start=start)
    vals = {k: b.params[k] for k in free}
    if g is not None:
        fixed = {k: jnp.asarray(v) for k, v in fit.fixed.items()}
        out = np.asarray(jax.vmap(lambda p: jnp.asarray(g({**fixed, **p}), dtype=jnp.float64))(
            {k: jnp.asarray(v) for k, v in vals.items()}))
    else:
        out = vals
    ok = b.converged
    if reps is not None:  # expand distinct values by their counts
        rep = reps.astype(int)
        if isinstance(out, dict):
            return {k: np.repeat(v[ok], rep[ok], axis=0) for k, v in out.items()}
        return np.repeat(out[ok], rep[ok], axis=0)
    if isinstance(out, dict):
        return {k: v[ok] for k, v in out.items()}
    return out[ok]
