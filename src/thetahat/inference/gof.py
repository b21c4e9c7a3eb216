"""Tests of fit: Kolmogorov--Smirnov, Anderson--Darling, Cramér--von Mises and Pearson's χ².

The EDF statistics compare the fitted CDF with the empirical one. With the parameters
*estimated* from the same data, their textbook null distributions (which assume known
parameters) no longer apply: the fitted CDF sits closer to the data than the true one,
so those p-values would be far too large. The p-values here come from a parametric
bootstrap that repeats the whole procedure (Stute, Gonzáles Manteiga & Presedo Quindimil
1993; scipy.stats.goodness_of_fit does the same):

1. simulate ``B`` samples of size ``n`` from the fitted distribution θ̂;
2. REFIT each sample (one vmapped, compiled call of
   :func:`thetahat.engine.batch.fit_batch`);
3. recompute the statistic with each refit's own parameters (vmapped over the batch,
   through the family's JAX cdf);
4. ``p = (1 + #{T* >= T}) / (B + 1)``; refits that fail are counted and left out.

Discrete families get Pearson's χ² on the observed values, with bins of expected count
below 5 merged into their neighbours and ``df = bins - 1 - (number of estimated
parameters)``; a truncated discrete fit (zero-truncated Poisson) takes its expected
counts from the truncated pmf, and frequency weights count as observations.

Censored, truncated and weighted fits are tested by :mod:`thetahat.inference.gof_censored`:
the fitted (truncated) cdf against the Kaplan--Meier estimate, Turnbull's NPMLE or a
weighted EDF, with a bootstrap that reproduces the censoring design.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .._jax import x64, x64_methods
from ..errors import OptionError

EDF_TESTS = ("ks", "ad", "cvm")
TEST_NAMES = {"ks": "Kolmogorov-Smirnov", "ad": "Anderson-Darling", "cvm": "Cramér-von Mises",
              "chi2": "Pearson chi-square"}
MIN_EXPECTED = 5.0
BLOCK_ELEMENTS = 4_000_000  # simulated values per refit block (bounds memory)


@x64_methods
@dataclass(frozen=True)
class GofResult:
    """The tests of fit of one fitted model.

    Attributes
    ----------
    family : str
    nobs : int
    params : dict
        The fitted parameters the tests are about.
    table : tuple of dict
        One row per test: ``test``, ``statistic``, ``pvalue``, ``n_boot`` and
        ``n_failed`` (bootstrap refits asked for and failed; ``None`` for χ²),
        ``df`` (χ² only, else ``None``) and ``method`` (how the p-value was computed).
    bins : tuple of dict
        For the χ² test: each merged bin's ``lo``, ``hi`` (``inf`` for an open tail),
        ``observed`` and ``expected`` counts; empty otherwise.
    notes : tuple of str
    seed : int
    """

    family: str
    nobs: int
    params: dict
    table: tuple
    bins: tuple = ()
    notes: tuple = ()
    seed: int = 0
    statistics: dict = field(default_factory=dict, repr=False)  # bootstrap replicates, per test

    def __getitem__(self, test: str) -> dict:
        for row in self.table:
            if row["test"] == test:
                return row
        raise KeyError(f"no {test!r} test in this result; it has {', '.join(r['test'] for r in self.table)}")

    def to_dict(self) -> dict:
        """A JSON-ready dict (the replicates left out)."""
        return {"family": self.family, "nobs": self.nobs,
                "params": {k: _plain(v) for k, v in self.params.items()},
                "table": [dict(r) for r in self.table], "bins": [dict(b) for b in self.bins],
                "notes": list(self.notes), "seed": self.seed}

    def summary(self) -> str:
        lines = [f"Tests of fit: {self.family}, n = {self.nobs}",
                 f"{'test':<22}{'statistic':>14}{'p-value':>11}  method"]
        for r in self.table:
            lines.append(f"{TEST_NAMES[r['test']]:<22}{' ' + format(r['statistic'], '.6g'):>14}"
                         f"{' ' + format(r['pvalue'], '.4g'):>11}  {r['method']}")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


@x64
def gof(fit, tests=None, n_boot=999, seed=0) -> GofResult:
    """Test how well a fitted distribution describes its data.

    Parameters
    ----------
    fit : Fit
        A converged fit of a univariate family, held in memory: plain, weighted
        (frequency or analytic), right-, left- or interval-censored, or truncated
        (see :mod:`thetahat.inference.gof_censored` for what the tests then compare).
    tests : sequence of str, optional
        For continuous families any of ``"ks"`` (Kolmogorov--Smirnov), ``"ad"``
        (Anderson--Darling), ``"cvm"`` (Cramér--von Mises); default all three
        (Anderson--Darling left out, with a note, for families with a non-regular end
        point such as uniform, where an observation sits on the edge of the fitted
        support). For discrete families ``"chi2"`` (the default).
    n_boot : int
        Parametric bootstrap refits for the EDF p-values.
    seed : int
        Results are reproducible from it.

    Returns
    -------
    GofResult

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> from thetahat.inference.gof import gof
    >>> x = np.random.default_rng(0).gamma(2.0, 1.5, 200)
    >>> r = gof(thetahat.fit(x, "gamma"), tests=("ks",), n_boot=199)
    >>> r["ks"]["n_boot"], r["ks"]["n_failed"], bool(r["ks"]["pvalue"] > 0.05)
    (199, 0, True)
    """
    ctx = _check_fit(fit)
    fam = _base(ctx.family)
    if fam.discrete:
        tests = _check_tests(tests, ("chi2",), ("chi2",), fam)
        if ctx.raw.w is not None and ctx.weight_kind == "analytic":
            raise OptionError("Pearson's χ² needs counts: analytic weights are not counts (fit frequency weights, "
                              "or the unweighted data)")
        return _chi2_test(fit, ctx)
    notes = []
    if tests is None:
        tests = EDF_TESTS
        if fam.nonregular:
            tests = ("ks", "cvm")
            notes.append(f"Anderson-Darling is left out: {fam.name}'s MLE puts an observation on the edge of the "
                         "fitted support, where its log(F) or log(1 - F) term is infinite")
    tests = _check_tests(tests, EDF_TESTS, EDF_TESTS, fam)
    if fam.cdf is None or fam.sf is None:
        raise OptionError(f"{fam.name} has no cdf/sf in thetahat: the EDF tests of fit need them")
    n_boot = int(n_boot)
    if n_boot < 1:
        raise OptionError(f"n_boot must be at least 1, got {n_boot}")
    if fam is not ctx.family or ctx.raw.w is not None:
        return _design_gof(fit, ctx, tests, n_boot, seed, notes)
    x = np.sort(np.asarray(ctx.raw.x, dtype=float))
    params = {**ctx.fixed, **fit.params}
    stat_fn = _statistic_fn(fam, tests)[0]
    import jax.numpy as jnp

    observed = {k: float(v) for k, v in stat_fn(jnp.asarray(x), _jnp_dict(params)).items()}
    reps, n_failed = _bootstrap(fit, ctx, x.size, tests, n_boot, seed)
    rows = _bootstrap_rows(tests, observed, reps, n_boot, n_failed, "parametric bootstrap", notes)
    return GofResult(fam.name, int(x.size), dict(fit.params), tuple(rows), (), tuple(notes), int(seed),
                     {t: reps[t] for t in tests})


def _bootstrap_rows(tests, observed, reps, n_boot, n_failed, how, notes):
    """One table row per test: p = (1 + #{replicates >= observed}) / (replicates + 1); a note
    (appended to ``notes``) for the refits that failed."""
    rows = []
    for t in tests:
        good = reps[t]
        p = (1.0 + np.sum(good >= observed[t])) / (good.size + 1.0)
        rows.append({"test": t, "statistic": observed[t], "pvalue": float(p), "n_boot": n_boot,
                     "n_failed": int(n_failed), "df": None, "method": f"{how}, {good.size} refits"})
    if n_failed:
        notes.append(f"{n_failed} of {n_boot} bootstrap refits failed to converge and were left out")
    return rows


def _design_gof(fit, ctx, tests, n_boot, seed, notes):
    """Censored, truncated or weighted data (see :mod:`thetahat.inference.gof_censored`)."""
    from . import gof_censored as gc

    design = gc.Design(ctx)
    observed = gc.observed_statistics(design, {**ctx.fixed, **fit.params}, tests)
    if design.kind == "exact" and not design.wrapped and design.weight_kind == "frequency":
        # k copies of a row are k observations: exactly the bootstrap of the expanded data
        reps, n_failed = _bootstrap(fit, ctx, int(round(design.N)), tests, n_boot, seed)
    else:
        reps, n_failed = gc.bootstrap_statistics(fit, ctx, design, tests, n_boot, seed)
    how, more = gc.describe(design)
    notes = list(notes) + more
    rows = _bootstrap_rows(tests, observed, reps, n_boot, n_failed, f"parametric bootstrap ({how})", notes)
    return GofResult(_base(ctx.family).name, int(round(design.N)), dict(fit.params), tuple(rows), (),
                     tuple(notes), int(seed), {t: reps[t] for t in tests})


# ---- checks ----------------------------------------------------------------------
def _base(fam):
    """The family inside a censoring/truncation wrapper (or the family itself)."""
    from ..censoring import Censored

    return fam.base if isinstance(fam, Censored) else fam


def _check_fit(fit):
    ctx = getattr(fit, "context", None)
    if ctx is None:
        raise OptionError("this fit carries no data: a test of fit needs the fit's data")
    if not fit.converged:
        raise OptionError(f"the {fit.family.name} fit did not converge ({fit.reason}): test a converged fit")
    ctx.rows("a test of fit")  # a streamed fit kept no rows: say so
    if _base(ctx.family).ndim:
        raise OptionError(f"tests of fit apply to univariate families, not {ctx.family.name}")
    return ctx


def _check_tests(tests, allowed, default, fam):
    if tests is None:
        return tuple(default)
    if isinstance(tests, str):
        tests = (tests,)
    tests = tuple(str(t).lower() for t in tests)
    if not tests:
        raise OptionError("tests is empty; choose from " + ", ".join(allowed))
    for t in tests:
        if t not in allowed:
            kind = "discrete" if fam.discrete else "continuous"
            raise OptionError(f"test {t!r} does not apply to the {kind} family {fam.name}; choose from "
                              + ", ".join(allowed))
    return tuple(dict.fromkeys(tests))


# ---- EDF statistics (JAX) -----------------------------------------------------------
@lru_cache(maxsize=None)
def _statistic_fn(fam, tests):
    """``(sorted x, params) -> {test: statistic}``, jitted; vmap it over a batch."""
    import jax
    import jax.numpy as jnp

    def stats(xs, p):
        n = xs.shape[0]
        i = jnp.arange(1, n + 1, dtype=xs.dtype)
        u = jax.vmap(lambda v: fam.cdf(v, p))(xs)
        out = {}
        if "ks" in tests:
            out["ks"] = jnp.maximum(jnp.max(i / n - u), jnp.max(u - (i - 1.0) / n))
        if "cvm" in tests:
            out["cvm"] = 1.0 / (12.0 * n) + jnp.sum((u - (2.0 * i - 1.0) / (2.0 * n)) ** 2)
        if "ad" in tests:
            log_s = jnp.log(jax.vmap(lambda v: fam.sf(v, p))(xs))
            out["ad"] = -n - jnp.sum((2.0 * i - 1.0) / n * (jnp.log(u) + log_s[::-1]))
        return out

    return jax.jit(stats), jax.jit(jax.vmap(stats))


def _bootstrap(fit, ctx, n, tests, n_boot, seed):
    import jax
    import jax.numpy as jnp

    from ..engine.batch import fit_batch

    fam = ctx.family
    batched = _statistic_fn(fam, tests)[1]
    free = list(ctx.layout.names)
    start = {k: np.asarray(fit.params[k]) for k in free}
    rng = np.random.default_rng(seed)
    per_block = max(1, min(n_boot, BLOCK_ELEMENTS // max(n, 1)))
    reps = {t: [] for t in tests}
    failed, done = 0, 0
    while done < n_boot:
        m = min(per_block, n_boot - done)
        key = jax.random.PRNGKey(int(rng.integers(2**31 - 1)))
        try:
            X = np.asarray(fam.sample(key, fit.params, m * n), dtype=float)
        except NotImplementedError:
            raise OptionError(f"{fam.name} cannot simulate (no sampler or scipy equivalent): the bootstrap "
                              "p-values need one") from None
        X = np.sort(X.reshape(m, n), axis=1)
        b = fit_batch(fam, X, fixed=dict(ctx.fixed), start=start)
        vals = batched(jnp.asarray(X), _jnp_dict(b.params))
        vals = {t: np.asarray(v) for t, v in vals.items()}
        ok = np.array(b.converged, dtype=bool)
        for t in tests:
            ok &= ~np.isnan(vals[t])
        failed += int((~ok).sum())
        for t in tests:
            reps[t].append(vals[t][ok])
        done += m
    return {t: np.concatenate(v) for t, v in reps.items()}, failed


# ---- Pearson's χ² for discrete families --------------------------------------------
def _chi2_test(fit, ctx):
    import jax
    import jax.numpy as jnp
    from scipy import stats as sst

    from .. import constraints as C

    fam = _base(ctx.family)
    truncate = ctx.family.truncate
    if not isinstance(fam.support, C.IntegerInterval):
        raise OptionError(f"the χ² test needs integer-valued data; {fam.name}'s support is {fam.support.name}")
    if truncate is None:
        vals = np.asarray(ctx.sample.x, dtype=float)
        counts = np.ones(vals.size) if ctx.sample.w is None else np.asarray(ctx.sample.w, dtype=float)
    else:  # the wrapper keeps rows (value, value, kind, safe)
        vals = np.asarray(ctx.raw.x, dtype=float)[:, 0]
        counts = np.ones(vals.size) if ctx.raw.w is None else np.asarray(ctx.raw.w, dtype=float)
    lo, hi = int(fam.support.lower), int(vals.max())
    if truncate is not None:
        lo = max(lo, int(np.ceil(truncate[0])))
    ks = np.arange(lo, hi + 1, dtype=float)
    obs = np.zeros(ks.size)
    np.add.at(obs, (vals - lo).astype(np.int64), counts)
    n = float(counts.sum())
    p = _jnp_dict({**ctx.fixed, **fit.params})
    prob = np.exp(np.asarray(jax.vmap(lambda k: fam.logpdf(k, p))(jnp.asarray(ks))))
    # the last bin is the open upper tail P(X >= max observed), so the bins cover the support
    sf = (lambda k: float(fam.sf(jnp.asarray(float(k)), p))) if fam.sf is not None else None  # noqa: E731
    top = 0.0 if truncate is None or not np.isfinite(truncate[1]) else sf(np.floor(truncate[1]))
    if sf is not None:
        prob[-1] = sf(hi - 1.0) - top
    else:
        prob[-1] = max(0.0, 1.0 - prob[:-1].sum())
    if truncate is not None:  # P(lo <= X <= hi_t): the truncated pmf divides by it
        prob = prob / ((1.0 if lo <= int(fam.support.lower) else sf(lo - 1.0)) - top)
    exp = n * prob
    bins = _merge(ks, obs, exp)
    k_est = int(fit.n_estimated)
    df = len(bins) - 1 - k_est
    if df < 1:
        raise OptionError(f"after merging bins with expected counts below {MIN_EXPECTED:g} only {len(bins)} bins "
                          f"remain, too few for a χ² test with {k_est} estimated parameters (df = {df})")
    o = np.array([b["observed"] for b in bins])
    e = np.array([b["expected"] for b in bins])
    stat = float(np.sum((o - e) ** 2 / e))
    pval = float(sst.chi2.sf(stat, df))
    note = (f"Pearson χ² on {len(bins)} bins (expected counts < {MIN_EXPECTED:g} merged), df = {len(bins)} - 1 - "
            f"{k_est}; the p-value is from the χ²({df}) distribution. With θ̂ estimated from the ungrouped data "
            f"the exact null law lies between χ²({df}) and χ²({len(bins) - 1}) (Chernoff & Lehmann 1954), so "
            "this p-value is slightly small")
    row = {"test": "chi2", "statistic": stat, "pvalue": pval, "n_boot": None, "n_failed": None, "df": int(df),
           "method": f"asymptotic chi2({df})"}
    return GofResult(fam.name, int(round(n)), dict(fit.params), (row,), tuple(bins), (note,), 0, {})


def _merge(ks, obs, exp):
    """Adjacent bins joined from the left until each expects at least MIN_EXPECTED; a short
    last group joins the one before it. The first bin is the lower end of the support and
    the last the open upper tail."""
    groups, cur = [], None
    for k, o, e in zip(ks, obs, exp):
        if cur is None:
            cur = {"lo": float(k), "hi": float(k), "observed": 0.0, "expected": 0.0}
        cur["hi"] = float(k)
        cur["observed"] += float(o)
        cur["expected"] += float(e)
        if cur["expected"] >= MIN_EXPECTED:
            groups.append(cur)
            cur = None
    if cur is not None:
        if groups:
            last = groups[-1]
            last["hi"] = cur["hi"]
            last["observed"] += cur["observed"]
            last["expected"] += cur["expected"]
        else:
            groups.append(cur)
    groups[-1]["hi"] = float("inf")
    return groups


def _jnp_dict(p):
    import jax.numpy as jnp

    return {k: jnp.asarray(np.asarray(v, dtype=float)) for k, v in p.items()}


def _plain(v):
    a = np.asarray(v, dtype=float)
    return float(a) if a.ndim == 0 else a.tolist()
