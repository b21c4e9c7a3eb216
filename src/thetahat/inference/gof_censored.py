r"""Tests of fit for censored, truncated and weighted data.

The statistics compare the fitted distribution function :math:`F_{\hat\theta}` (the
*truncated* one for a truncated fit) with a nonparametric estimate :math:`\hat F` that
respects the design, over the range where :math:`\hat F` is determined:

==========================  ==========================================================
design                      nonparametric estimate :math:`\hat F`
==========================  ==========================================================
every value observed        the empirical distribution function (weighted: each row
                            carries its weight; frequency weights give exactly the
                            EDF of the expanded data)
right-censored              Kaplan--Meier, up to the largest time :math:`\tau`
left-censored               Kaplan--Meier of the reflected data :math:`-x`
interval / mixed censoring  Turnbull's NPMLE; inside each of its cells the cell's mass
                            is spread in proportion to :math:`F_{\hat\theta}`
==========================  ==========================================================

With :math:`N` the number of observations (the sum of frequency weights) and
:math:`u = F_{\hat\theta}(x)`:

* Kolmogorov--Smirnov: :math:`\sup |\hat F - F_{\hat\theta}|` over the observed range;
* Cramér--von Mises: :math:`N \int (\hat F - F_{\hat\theta})^2 \, dF_{\hat\theta}`, which is
  Koziol & Green's (1976) statistic :math:`N\int_0^{\tau}` for right-censored data;
* Anderson--Darling: :math:`N \int (\hat F - F_{\hat\theta})^2 / (F_{\hat\theta}(1 - F_{\hat\theta}))
  \, dF_{\hat\theta}` over the same range (the integrand of Pettitt & Stephens' censored
  :math:`A^2`).

Every estimate above is piecewise linear in :math:`u` (a step function for the EDF and
Kaplan--Meier, linear inside a Turnbull cell), so the integrals are exact closed forms,
summed piece by piece; the Anderson--Darling pieces are written in terms of
:math:`\log u` and :math:`\log(1-u)` from the family's cdf and sf, so the tails keep
their digits. For uncensored, unweighted data these are the textbook statistics.

Their null distributions depend on the design, so the p-values come from a parametric
bootstrap that reproduces it (refitting every replicate with the same censoring and
truncation, one compiled batch):

* values are drawn from the fitted distribution (truncated by inverse cdf);
* right censoring: censoring times are drawn from the reverse Kaplan--Meier estimate of
  the censoring distribution (its mass beyond the largest time means "not censored"),
  and each unit observes ``min(X*, C*)`` and whether ``X* <= C*`` (Efron 1981);
  left censoring is the same after reflection;
* interval censoring: every row keeps its own inspection times (its finite bounds) and
  reports the interval between them that holds ``X*``; exact rows stay exact;
* frequency weights: a row of weight ``k`` is ``k`` units, so the bootstrap sample size is
  the sum of weights; analytic weights stay attached to their rows.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..censoring import EXACT, INTERVAL, LEFT, RIGHT, Censored, safe_points, support_lower
from ..errors import OptionError
from .gof_npmle import EM_ACCEPT, EM_MAX_ITER, EM_TOL, grid_of, kaplan_meier, km_cdf, turnbull_masses

BLOCK_ELEMENTS = 4_000_000
DESIGN_NOTES = {
    "exact": "the empirical distribution function",
    "right": "the Kaplan-Meier estimate up to the largest observed time (Cramér-von Mises: Koziol & Green "
             "1976; Anderson-Darling: the same integral weighted by 1/(F(1-F)))",
    "left": "the Kaplan-Meier estimate of the reflected data -x (left censoring), down to the smallest time",
    "interval": "Turnbull's nonparametric MLE, each cell's mass spread in proportion to the fitted cdf",
}
BOOT_NOTES = {
    "exact": "values drawn from the fitted distribution",
    "right": "values drawn from the fit, censoring times from the reverse Kaplan-Meier estimate",
    "left": "values drawn from the fit, detection limits from the reverse Kaplan-Meier estimate of the "
            "reflected data",
    "interval": "values drawn from the fit, each row keeping its own inspection times (a censored row's "
                "unseen one: its bound plus or minus the width of a random interval row)",
}


# ---- the design ------------------------------------------------------------------------
class Design:
    """What was observed, as rows ``(a, b, kind)`` with weights, and the units the
    bootstrap redraws (frequency weights expanded)."""

    def __init__(self, ctx):
        fam = ctx.family
        raw = ctx.rows("a test of fit")
        self.wrapped = isinstance(fam, Censored)
        self.base = fam.base if self.wrapped else fam
        self.truncate = fam.truncate if self.wrapped else None
        if self.wrapped:
            rows = np.asarray(raw.x, dtype=float)[:, :3].copy()
        else:
            x = np.asarray(raw.x, dtype=float)
            rows = np.column_stack([x, x, np.zeros_like(x)])
        w = None if raw.w is None else np.asarray(raw.w, dtype=float)
        if w is not None:
            live = w > 0
            rows, w = rows[live], w[live]
        rows[rows[:, 2] == LEFT, 0] = -np.inf
        rows[rows[:, 2] == RIGHT, 1] = np.inf
        kinds = set(np.unique(rows[:, 2]).astype(int))
        self.kind = ("exact" if kinds <= {EXACT} else "right" if kinds <= {EXACT, RIGHT}
                     else "left" if kinds <= {EXACT, LEFT} else "interval")
        self.rows, self.w = rows, w
        self.weight_kind = ctx.weight_kind if w is not None else None
        if w is not None and self.weight_kind == "frequency":
            if not np.all(w == np.round(w)):
                i = int(np.argmax(w != np.round(w)))
                raise OptionError(f"frequency weight {w[i]:g} at data row {i + 1} is not a whole number: the bootstrap draws "
                                  "sum(weights) units; use weight_kind='analytic' for non-integer weights")
            self.units, self.unit_w = np.repeat(rows, w.astype(np.int64), axis=0), None
        else:
            self.units, self.unit_w = rows, w
        self.N = float(rows.shape[0] if w is None else w.sum())
        self.spec = (self.base, self.truncate, self.kind == "left")

    def weights(self):
        return np.ones(self.rows.shape[0]) if self.w is None else self.w


# ---- the fitted cdf --------------------------------------------------------------------
def _model_fn(base, truncate, reflect):
    """``(t, p) -> (u, log u, log(1 - u))`` for one point: the fitted cdf, truncated to
    ``truncate`` when given, of ``-t`` reflected when ``reflect`` (then u = S(-t))."""
    import jax.numpy as jnp

    def fs(x, p):
        return base.cdf(x, p), base.sf(x, p)

    if truncate is not None:
        lo, hi = truncate

        def at(x, p):
            F, S = fs(x, p)
            Flo, Slo = fs(jnp.asarray(lo), p) if np.isfinite(lo) else (0.0, 1.0)
            Fhi, Shi = fs(jnp.asarray(hi), p) if np.isfinite(hi) else (1.0, 0.0)
            upper = Flo > 0.5  # the window in the upper tail: differences of survival functions
            mass = jnp.where(upper, Slo - Shi, Fhi - Flo)
            below = jnp.clip(jnp.where(upper, Slo - S, F - Flo), 0.0, mass)
            above = jnp.clip(jnp.where(upper, S - Shi, Fhi - F), 0.0, mass)
            return below / mass, above / mass
    else:
        at = fs

    def model(t, p):
        if reflect:
            F, S = at(-t, p)
            return S, jnp.log(S), jnp.log(F)
        F, S = at(t, p)
        return F, jnp.log(F), jnp.log(S)

    return model


# ---- statistics of a piecewise-linear estimate ------------------------------------------
def _g_h(L):
    """``g = 1 - L/r`` and ``h = 1/2 - 1/r + L/r^2`` with ``r = expm1(L)`` (the two kernels of
    the Anderson-Darling piece integrals), by their series where ``r`` is small."""
    import jax.numpy as jnp

    Lc = jnp.minimum(L, 700.0)
    r = jnp.expm1(Lc)
    small = r < 0.05
    s = jnp.where(small, r, 0.0)
    g_s = sum(((-1) ** (k + 1)) * s ** k / (k + 1) for k in range(1, 10))
    h_s = sum(((-1) ** (k + 1)) * s ** k / (k + 2) for k in range(1, 10))
    rb = jnp.where(small, 1.0, r)
    Lb = jnp.where(small, 1.0, Lc)
    return jnp.where(small, g_s, 1.0 - Lb / rb), jnp.where(small, h_s, 0.5 - 1.0 / rb + Lb / rb ** 2)


def piece_statistics(u0, lu0, lv0, u1, lu1, lv1, d0, d1, N, tests):
    """KS, CvM and AD of ``D = F_hat - u``, linear in ``u`` on each piece ``[u0, u1]`` from
    ``d0`` to ``d1`` (``lu = log u``, ``lv = log(1 - u)``); ``N`` observations."""
    import jax.numpy as jnp

    out = {}
    if "ks" in tests:
        out["ks"] = jnp.maximum(jnp.max(jnp.abs(d0)), jnp.max(jnp.abs(d1)))
    width = jnp.maximum(jnp.where(u0 > 0.5, jnp.exp(lv0) - jnp.exp(lv1), u1 - u0), 0.0)
    if "cvm" in tests:
        out["cvm"] = N * jnp.sum(width * (d0 * d0 + d0 * d1 + d1 * d1) / 3.0)
    if "ad" in tests:
        # 1/(u(1-u)) = 1/u + 1/(1-u); each part integrates (d + slope * s)^2 / s exactly
        delta = d1 - d0
        L = jnp.where(lu1 == lu0, 0.0, lu1 - lu0)
        Lv = jnp.where(lv0 == lv1, 0.0, lv0 - lv1)
        g, h = _g_h(L)
        gv, hv = _g_h(Lv)
        part_u = jnp.where(d0 == 0, 0.0, d0 * d0 * L) + 2.0 * d0 * delta * g + delta * delta * h
        part_v = jnp.where(d1 == 0, 0.0, d1 * d1 * Lv) - 2.0 * d1 * delta * gv + delta * delta * hv
        out["ad"] = N * jnp.sum(jnp.where(width > 0, part_u + part_v, 0.0))
    return out


@lru_cache(maxsize=None)
def step_statistics_fn(spec, tests):
    """Batched ``(t, event, w, params) -> {test: statistic}`` against the Kaplan--Meier
    estimate (the weighted EDF when every event is 1)."""
    import jax
    import jax.numpy as jnp

    model = _model_fn(*spec)

    def stats(t, e, w, p):
        ts, F, _ = km_cdf(t, e, w)
        u, lu, lv = jax.vmap(model, in_axes=(0, None))(ts, p)
        complete = F[-1] >= 1.0  # the estimate reaches 1: it is determined on the whole line
        top = (jnp.where(complete, 1.0, u[-1]), jnp.where(complete, 0.0, lu[-1]),
               jnp.where(complete, -jnp.inf, lv[-1]))
        u0 = jnp.concatenate([jnp.zeros(1), u])
        lu0 = jnp.concatenate([jnp.full(1, -jnp.inf), lu])
        lv0 = jnp.concatenate([jnp.zeros(1), lv])
        u1 = jnp.concatenate([u, top[0][None]])
        lu1 = jnp.concatenate([lu, top[1][None]])
        lv1 = jnp.concatenate([lv, top[2][None]])
        c = jnp.concatenate([jnp.zeros(1), F])
        return piece_statistics(u0, lu0, lv0, u1, lu1, lv1, c - u0, c - u1, jnp.sum(w), tests)

    return jax.jit(jax.vmap(stats))


@lru_cache(maxsize=None)
def interval_statistics_fn(spec, tests):
    """Batched ``(grid, a, b, kind, w, params) -> ({test: statistic}, gap)`` against
    Turnbull's NPMLE on ``grid`` (``gap``: its optimality gap, see :func:`turnbull_masses`)."""
    import jax
    import jax.numpy as jnp

    model = _model_fn(*spec)

    def stats(g, a, b, kind, w, p):
        m, _, gap = turnbull_masses(g, a, b, kind, w)
        cells, pts = m[0::2], m[1::2]
        before = jnp.concatenate([jnp.zeros(1), jnp.cumsum(cells[:-1] + pts)])
        # the grid is padded with +inf (fewer shapes to compile): there u = 1
        fin = jnp.isfinite(g)
        u, lu, lv = jax.vmap(model, in_axes=(0, None))(jnp.where(fin, g, g[0]), p)
        u, lu, lv = jnp.where(fin, u, 1.0), jnp.where(fin, lu, 0.0), jnp.where(fin, lv, -jnp.inf)
        u0 = jnp.concatenate([jnp.zeros(1), u])
        lu0 = jnp.concatenate([jnp.full(1, -jnp.inf), lu])
        lv0 = jnp.concatenate([jnp.zeros(1), lv])
        u1 = jnp.concatenate([u, jnp.ones(1)])
        lu1 = jnp.concatenate([lu, jnp.zeros(1)])
        lv1 = jnp.concatenate([lv, jnp.full(1, -jnp.inf)])
        # where the fitted cdf reaches 1 the estimate has all its mass (the sum of the masses is
        # 1 up to rounding, which 1/(1-u) would blow up)
        d1 = jnp.where(u1 >= 1.0, 0.0, before + cells - u1)
        out = piece_statistics(u0, lu0, lv0, u1, lu1, lv1, before - u0, d1, jnp.sum(w), tests)
        return out, gap

    # one replicate after another: EM's while_loop under vmap would run every replicate for
    # as many sweeps as the slowest needs, with batched gathers (25 times slower on CPU)
    return jax.jit(lambda *args: jax.lax.map(lambda z: stats(*z), args))


# ---- observed statistics ---------------------------------------------------------------
def observed_statistics(design, params, tests):
    """The statistics of the data themselves: ``{test: float}``."""
    import jax.numpy as jnp

    p = {k: jnp.asarray(np.asarray(v, dtype=float))[None] for k, v in params.items()}
    rows, w = design.rows, design.weights()
    if design.kind == "interval":
        g = _pad(grid_of(rows[:, 0], rows[:, 1], rows[:, 2])[None])[0]
        out, gap = interval_statistics_fn(design.spec, tests)(
            *(jnp.asarray(v)[None] for v in (g, rows[:, 0], rows[:, 1], rows[:, 2], w)), p)
        design.npmle_gap = float(gap[0])
        if not design.npmle_gap <= EM_ACCEPT:
            raise OptionError(f"Turnbull's estimate did not converge on these data in {EM_MAX_ITER} EM iterations "
                              f"(optimality gap {design.npmle_gap:.2g}): the interval-censored tests of fit "
                              "cannot be computed")
    else:
        t, e = _times(design.kind, rows)
        out = step_statistics_fn(design.spec, tests)(*(jnp.asarray(v)[None] for v in (t, e, w)), p)
    return {k: float(v[0]) for k, v in out.items()}


def _times(kind, rows):
    """Times and event flags for the Kaplan--Meier designs (reflected for left censoring)."""
    if kind == "left":
        value = np.where(rows[:, 2] == LEFT, rows[:, 1], rows[:, 0])
        return -value, (rows[:, 2] == EXACT).astype(float)
    return rows[:, 0], (rows[:, 2] == EXACT).astype(float)


# ---- the bootstrap ---------------------------------------------------------------------
def bootstrap_statistics(fit, ctx, design, tests, n_boot, seed):
    """Replicates ``{test: array}`` and the number of failed refits."""
    import jax.numpy as jnp

    from ..engine.batch import fit_batch

    free = list(ctx.layout.names)
    start = {k: np.asarray(fit.params[k]) for k in free}
    params = dict(fit.params)
    rng = np.random.default_rng(seed)
    n = design.units.shape[0]
    per_block = max(1, min(n_boot, BLOCK_ELEMENTS // (4 * max(n, 1))))
    draw_c = _censoring_sampler(design)
    reps = {t: [] for t in tests}
    failed = done = 0
    while done < n_boot:
        m = min(per_block, n_boot - done)
        data, W, (a, b, kind) = simulate_design(design, params, rng, m, draw_c)
        bf = fit_batch(ctx.family, data, weights=W, fixed=dict(ctx.fixed), start=start)
        p = {k: jnp.asarray(np.asarray(v, dtype=float)) for k, v in bf.params.items()}
        Wj = jnp.ones((m, n)) if W is None else jnp.asarray(W)
        ok = np.array(bf.converged, dtype=bool)
        if design.kind == "interval":
            # the grid holds the rows' bounds only: an inspection time that bounds no row would
            # cut one of Turnbull's innermost intervals in two
            ends = np.concatenate([np.where(np.isfinite(a) & (kind != LEFT), a, np.inf),
                                   np.where(np.isfinite(b) & (kind != EXACT) & (kind != RIGHT), b, np.inf)], axis=1)
            G = _pad(np.sort(ends, axis=1))
            # each replicate's estimate gets the same iteration budget as the data's (no exclusion)
            vals, _ = interval_statistics_fn(design.spec, tests)(
                jnp.asarray(G), jnp.asarray(a), jnp.asarray(b), jnp.asarray(kind), Wj, p)
        else:
            t, e = _times(design.kind, np.stack([a, b, kind], axis=-1).reshape(-1, 3))
            vals = step_statistics_fn(design.spec, tests)(jnp.asarray(t.reshape(m, n)),
                                                          jnp.asarray(e.reshape(m, n)), Wj, p)
        vals = {k: np.asarray(v) for k, v in vals.items()}
        for k in tests:
            ok &= np.isfinite(vals[k])
        failed += int((~ok).sum())
        for k in tests:
            reps[k].append(vals[k][ok])
        done += m
    return {k: np.concatenate(v) for k, v in reps.items()}, failed


def simulate_design(design, params, rng, m, draw_c=None):
    """``m`` data sets as the design would report them under ``params``: values drawn from
    the fit (truncated where it is), then censored as the data were (censoring times from
    the reverse Kaplan--Meier estimate, or each row's inspection times). Returns the rows
    for :func:`~thetahat.engine.batch.fit_batch` (``(m, n, 4)`` for a censored family,
    ``(m, n)`` otherwise), their weights (None when unweighted) and ``(a, b, kind)``.
    """
    if draw_c is None:
        draw_c = _censoring_sampler(design)
    n = design.units.shape[0]
    X = _draw_values(design, params, rng, m * n).reshape(m, n)
    a, b, kind = _observe(design, X, draw_c, rng)
    W = None if design.unit_w is None else np.broadcast_to(design.unit_w, (m, n))
    if design.wrapped:
        safe = safe_points(design.base, a.ravel(), b.ravel(), kind.ravel()).reshape(m, n)
        data = np.stack([a, b, kind, safe], axis=-1)
    else:
        data = a
    return data, W, (a, b, kind)


def _draw_values(design, params, rng, size):
    """Draws from the fitted distribution, truncated by inverse cdf when the fit is."""
    base = design.base
    if design.truncate is None:
        import jax

        try:
            key = jax.random.PRNGKey(int(rng.integers(2**31 - 1)))
            return np.asarray(base.sample(key, params, size), dtype=float)
        except NotImplementedError:
            raise OptionError(f"{base.name} cannot simulate (no sampler or scipy equivalent): the bootstrap "
                              "p-values need one") from None
    try:
        dist = base.to_scipy(params)
    except NotImplementedError:
        raise OptionError(f"{base.name} has no scipy equivalent: drawing from its truncated fit needs an "
                          "inverse cdf") from None
    lo, hi = design.truncate
    U = rng.random(size)
    Flo, Fhi = dist.cdf(lo), dist.cdf(hi)
    if Flo > 0.5:  # the window in the upper tail: invert the survival function
        Slo, Shi = dist.sf(lo), dist.sf(hi)
        x = dist.isf(Slo - U * (Slo - Shi))
    else:
        x = dist.ppf(Flo + U * (Fhi - Flo))
    return np.clip(x, lo, hi)


def _censoring_sampler(design):
    """For right (left) censoring: a sampler of censoring times (detection limits) from the
    reverse Kaplan--Meier estimate of the units; None for the other designs."""
    if design.kind not in ("right", "left"):
        return None
    units = design.units
    t, e = _times(design.kind, units)
    times, surv = kaplan_meier(t, 1.0 - e, design.unit_w)
    mass = -np.diff(np.r_[1.0, surv])
    support = np.r_[times, np.inf]  # what the estimate leaves beyond the last time: never censored
    prob = np.clip(np.r_[mass, surv[-1] if surv.size else 1.0], 0.0, None)
    prob = prob / prob.sum()

    def draw(rng, shape):
        return support[rng.choice(support.size, size=shape, p=prob)]

    return draw


def _observe(design, X, draw_c, rng):
    """The rows ``(a, b, kind)`` that the design reports for true values ``X``."""
    m, n = X.shape
    if design.kind == "exact":
        return X, X.copy(), np.zeros_like(X)
    if design.kind == "right":
        C = draw_c(rng, (m, n))
        seen = X <= C
        a = np.where(seen, X, C)
        return a, np.where(seen, X, np.inf), np.where(seen, EXACT, RIGHT).astype(float)
    if design.kind == "left":
        C = -draw_c(rng, (m, n))  # detection limits, back on the data's scale
        seen = X > C
        b = np.where(seen, X, C)
        return np.where(seen, X, -np.inf), b, np.where(seen, EXACT, LEFT).astype(float)
    i1, i2, exact = _inspections(design, rng, m)
    lower = np.where(X > i2, i2, np.where(X > i1, i1, -np.inf))
    upper = np.where(X <= i1, i1, np.where(X <= i2, i2, np.inf))
    kind = np.where(np.isinf(lower), LEFT, np.where(np.isinf(upper), RIGHT, INTERVAL))
    a = np.where(exact, X, lower)
    b = np.where(exact, X, upper)
    return a, b, np.where(exact, EXACT, kind).astype(float)


def _inspections(design, rng, m):
    """Each unit's two inspection times ``i1 < i2`` (-inf / inf where there is none), per
    replicate, and the exact flags.

    An interval row ``(a, b]`` keeps ``(a, b)``. A left-censored row saw only its first
    inspection ``b`` and a right-censored row only its last ``a``: the missing one is
    ``b + gap`` or ``a - gap``, with the gap drawn afresh in every replicate from the
    widths of the interval rows (with none, as in current-status data, every unit has
    one inspection time, which is then the whole design).
    """
    r = design.units
    kind = r[:, 2]
    n = kind.size
    i1 = np.where(kind == LEFT, r[:, 1], np.where(kind == RIGHT, -np.inf, r[:, 0]))
    i2 = np.where(kind == INTERVAL, r[:, 1], np.where(kind == RIGHT, r[:, 0], np.inf))
    i1, i2 = np.broadcast_to(i1, (m, n)).copy(), np.broadcast_to(i2, (m, n)).copy()
    widths = r[kind == INTERVAL, 1] - r[kind == INTERVAL, 0]
    if widths.size:
        gap = widths[rng.integers(widths.size, size=(m, n))]
        left, right = kind == LEFT, kind == RIGHT
        i2[:, left] = i1[:, left] + gap[:, left]
        floor = max(support_lower(design.base), -np.inf if design.truncate is None else design.truncate[0])
        first = i2[:, right] - gap[:, right]
        i1[:, right] = np.where(first > floor, first, -np.inf)
    return i1, i2, np.broadcast_to(kind == EXACT, (m, n))


def _pad(G, step=64):
    """Grids padded with +inf to a multiple of ``step`` points, so that data sets of
    similar size share one compiled estimator."""
    K = G.shape[1]
    extra = -K % step
    return np.concatenate([G, np.full((G.shape[0], extra), np.inf)], axis=1) if extra else G


def describe(design) -> tuple:
    """(method text, notes) for the result."""
    notes = [f"the statistics compare the fitted cdf"
             f"{' (truncated to [%g, %g])' % design.truncate if design.truncate else ''} with "
             f"{DESIGN_NOTES[design.kind]}"]
    gap = getattr(design, "npmle_gap", None)
    if gap is not None and gap > EM_TOL:
        notes.append(f"Turnbull's estimate stopped at its iteration limit ({EM_MAX_ITER}) with optimality gap "
                     f"{gap:.2g} (log-likelihood within {gap * design.N:.2g} of its maximum)")
    if design.weight_kind == "analytic":
        notes.append("analytic weights: a weighted empirical estimate; the bootstrap keeps each row's weight")
    elif design.weight_kind == "frequency":
        notes.append(f"frequency weights: a row of weight k counts as k observations (N = {design.N:g}), in the "
                     "statistics and in the bootstrap sample size")
    return BOOT_NOTES[design.kind], notes
