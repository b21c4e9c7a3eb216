"""Simulation studies of the MLE: consistency, asymptotic normality, bias, efficiency.

Every study simulates ``reps`` samples of each size at once (a ``(reps, n)`` array,
seeded), fits them in one compiled, vmapped call
(:func:`thetahat.engine.batch.fit_batch`), and returns a :class:`Study` whose
``table`` is a list of dicts (``to_pandas()`` for a DataFrame) and whose ``plot(path)``
draws the figure. A rich progress bar shows on a terminal for long runs.

Examples
--------
>>> import thetahat
>>> s = thetahat.study.bias(sigma=2.0, ns=[5], reps=2000, seed=1)
>>> row = s.table[0]
>>> row["theory_bias_mle"]                     # -sigma^2 / n
-0.8
>>> abs(row["bias_mle"] - row["theory_bias_mle"]) < 4 * row["mc_se_mle"]
True
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from .._jax import x64, x64_methods
from ..errors import OptionError


@x64_methods
@dataclass(frozen=True)
class Study:
    """The result of a simulation study.

    Attributes
    ----------
    kind : str
        ``consistency``, ``normality``, ``bias`` or ``efficiency``.
    table : list of dict
        One row per sample size (and parameter).
    family : str
    truth : dict
    reps : int
    seed : int
    """

    kind: str
    table: list
    family: str
    truth: dict
    reps: int
    seed: int
    extra: dict = field(default_factory=dict, repr=False)  # raw draws the plots need

    def to_pandas(self):
        """The table as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.table)

    def to_text(self) -> str:
        """The table as aligned plain text."""
        if not self.table:
            return ""
        cols = list(self.table[0])
        cells = [[_cell(r.get(c)) for c in cols] for r in self.table]
        w = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
        lines = ["  ".join(c.rjust(w[i]) for i, c in enumerate(cols))]
        lines += ["  ".join(v.rjust(w[i]) for i, v in enumerate(row)) for row in cells]
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.kind} study: {self.family} {self.truth}, {self.reps} replicates\n" + self.to_text()

    def plot(self, path) -> str:
        """Draw the study's figure to ``path`` (any format matplotlib writes) and return the path."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig = _PLOTS[self.kind](self, plt)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        return str(path)


# ---------------------------------------------------------------------------------
@x64
def consistency(family, params: dict, ns=(20, 50, 100, 500), reps: int = 1000, *, seed: int = 0,
                fixed=None, progress=None) -> Study:
    """Mean, bias, variance and MSE of θ̂ for each sample size, with the Cramér–Rao bound.

    ``var_over_crb`` (variance / bound) tends to 1 as n grows for a regular family.

    Examples
    --------
    >>> import thetahat
    >>> s = thetahat.study.consistency("exponential", {"lam": 2.0}, ns=[50, 400], reps=500)
    >>> [round(r["crb"], 5) for r in s.table]            # lam^2 / n
    [0.08, 0.01]
    """
    fam, truth, ns, reps = _check(family, params, ns, reps)
    crb = _crb(fam, truth, fixed)
    rows = []
    for n, fit in _run(fam, truth, ns, reps, seed, fixed, progress, "consistency"):
        for k in _estimated(fam, fixed):
            est = fit.params[k][fit.converged]
            e = est - truth[k]
            row = {"n": n, "param": k, "true": truth[k], "mean": float(est.mean()), "bias": float(e.mean()),
                   "variance": float(est.var(ddof=1)), "mse": float(np.mean(e**2)),
                   "mc_se_bias": float(est.std(ddof=1) / np.sqrt(est.size))}
            if k in crb:
                row["crb"] = crb[k] / n
                row["var_over_crb"] = row["variance"] / row["crb"]
            row["failed"] = int(np.sum(~fit.converged))
            rows.append(row)
    return Study("consistency", rows, fam.name, truth, reps, seed)


@x64
def normality(family, params: dict, ns=(10, 50, 500), reps: int = 2000, *, seed: int = 0, fixed=None,
              progress=None) -> Study:
    """Standardised estimates z = (θ̂ − θ) / SE against N(0, 1): Kolmogorov–Smirnov statistic per n.

    The KS statistic shrinks towards its null size (about 1.36 / √reps at the 5 % level)
    as n grows. ``plot`` draws normal QQ plots.

    Examples
    --------
    >>> import thetahat
    >>> s = thetahat.study.normality("poisson", {"lam": 3.0}, ns=[5, 500], reps=2000)
    >>> s.table[0]["ks"] > s.table[1]["ks"]
    True
    """
    from scipy import stats as st

    fam, truth, ns, reps = _check(family, params, ns, reps)
    rows, zs = [], {}
    for n, fit in _run(fam, truth, ns, reps, seed, fixed, progress, "normality"):
        for k in _estimated(fam, fixed):
            if k in fam.nonregular:
                continue
            ok = fit.converged & np.isfinite(fit.se[k]) & (fit.se[k] > 0)
            z = (fit.params[k][ok] - truth[k]) / fit.se[k][ok]
            ks = st.kstest(z, "norm")
            zs[(n, k)] = z
            rows.append({"n": n, "param": k, "mean_z": float(z.mean()), "sd_z": float(z.std(ddof=1)),
                         "ks": float(ks.statistic), "ks_pvalue": float(ks.pvalue),
                         "coverage95": float(np.mean(np.abs(z) < 1.959963984540054)),
                         "used": int(z.size), "no_se": int(reps - z.size)})
    return Study("normality", rows, fam.name, truth, reps, seed, {"z": zs})


@x64
def bias(sigma: float = 1.0, ns=(2, 5, 10, 50), reps: int = 20_000, *, mu: float = 0.0, seed: int = 0) -> Study:
    """The normal variance: the MLE σ̂² (divisor n) against the unbiased s² (divisor n − 1).

    Theory: E[σ̂²] − σ² = −σ²/n, E[s²] = σ². Each row has the simulated biases with
    their Monte Carlo standard errors.
    """
    if not (np.isfinite(sigma) and sigma > 0):
        raise OptionError(f"sigma must be positive, got {sigma}")
    _, truth, ns, reps = _check("normal", {"mu": mu, "sigma": sigma}, ns, reps, min_n=2)
    rows, draws = [], {}
    for n, X in _simulate_only("normal", truth, ns, reps, seed):
        from ..engine.batch import fit_batch

        fit = fit_batch("normal", X)
        mle = fit.params["sigma"] ** 2  # the batched MLE, divisor n
        unbiased = mle * n / (n - 1)
        s2 = sigma**2
        draws[n] = (mle, unbiased)
        rows.append({"n": n, "sigma2": s2, "mean_mle": float(mle.mean()), "bias_mle": float(mle.mean() - s2),
                     "theory_bias_mle": -s2 / n, "mc_se_mle": float(mle.std(ddof=1) / np.sqrt(reps)),
                     "mean_unbiased": float(unbiased.mean()), "bias_unbiased": float(unbiased.mean() - s2),
                     "mc_se_unbiased": float(unbiased.std(ddof=1) / np.sqrt(reps)),
                     "mse_mle": float(np.mean((mle - s2) ** 2)), "mse_unbiased": float(np.mean((unbiased - s2) ** 2))})
    return Study("bias", rows, "normal", truth, reps, seed, {"draws": draws})


@x64
def efficiency(family, params: dict, ns=(20, 100, 500), reps: int = 2000, *, seed: int = 0,
               progress=None) -> Study:
    """The MLE against the method of moments (gamma, beta, uniform), with the Cramér–Rao bound.

    ``relative_efficiency`` = MSE(moments) / MSE(MLE) (above 1: the MLE is better).
    For the uniform the bound does not apply (non-regular): its MLE's MSE falls as
    1/n², the moments estimator's as 1/n.
    """
    fam, truth, ns, reps = _check(family, params, ns, reps)
    if fam.name not in _MOMENTS:
        raise OptionError(f"efficiency compares the MLE with the method of moments for "
                          f"{', '.join(sorted(_MOMENTS))}; got {fam.name}")
    crb = _crb(fam, truth, None)
    rows = []
    for n, fit, X in _run(fam, truth, ns, reps, seed, None, progress, "efficiency", keep_data=True):
        mom = _MOMENTS[fam.name](X)
        ok = fit.converged
        for k in fam.params:
            m, e = fit.params[k][ok], mom[k][ok]
            mse_mle, mse_mom = float(np.mean((m - truth[k]) ** 2)), float(np.mean((e - truth[k]) ** 2))
            row = {"n": n, "param": k, "var_mle": float(m.var(ddof=1)), "var_moments": float(e.var(ddof=1)),
                   "mse_mle": mse_mle, "mse_moments": mse_mom, "relative_efficiency": mse_mom / mse_mle}
            if k in crb:
                row["crb"] = crb[k] / n
                row["efficiency_mle"] = row["crb"] / row["var_mle"]
                row["efficiency_moments"] = row["crb"] / row["var_moments"]
            row["failed"] = int(np.sum(~ok))
            rows.append(row)
    return Study("efficiency", rows, fam.name, truth, reps, seed)


# ---------------------------------------------------------------------------------
def _check(family, params, ns, reps, min_n=1):
    from ..families import get_family

    fam = get_family(family)
    if fam.ndim:
        raise OptionError(f"studies handle univariate families; {fam.name} is multivariate")
    missing = [k for k in fam.params if k not in params]
    if missing:
        raise OptionError(f"{fam.name} needs true values for {', '.join(missing)}")
    truth = {k: float(v) for k, v in params.items()}
    for k in fam.params:
        if not fam.params[k].check(np.asarray(truth[k])):
            raise OptionError(f"{k} = {truth[k]!r} is outside its constraint ({fam.params[k].name})")
    ns = [int(n) for n in np.atleast_1d(ns)]
    if not ns or min(ns) < max(min_n, fam.min_obs):
        raise OptionError(f"sample sizes must be at least {max(min_n, fam.min_obs)}, got {ns}")
    if int(reps) < 2:
        raise OptionError(f"reps must be at least 2, got {reps}")
    return fam, truth, ns, int(reps)


def _estimated(fam, fixed):
    return [k for k in fam.params if k not in (fixed or {})]


def _crb(fam, truth, fixed):
    """Per-observation Cramér–Rao bound of each regular estimated parameter (others estimated too)."""
    from .cramer_rao import fisher_information

    if fam.nonregular or fam.expected_information is None:
        return {}
    info = fisher_information(fam, truth)
    keep = [i for i, k in enumerate(info.labels) if k not in (fixed or {})]
    inv = np.linalg.inv(info.per_observation[np.ix_(keep, keep)])
    return {info.labels[i]: float(inv[j, j]) for j, i in enumerate(keep)}


def _simulate(fam, truth, n, reps, rng):
    import jax

    key = jax.random.PRNGKey(int(rng.integers(0, 2**31 - 1)))
    x = np.asarray(fam.sample(key, truth, reps * n), dtype=float)
    return x.reshape(reps, n)


def _simulate_only(family, truth, ns, reps, seed):
    from ..families import get_family

    fam = get_family(family)
    rng = np.random.default_rng(seed)
    for n in ns:
        yield n, _simulate(fam, truth, n, reps, rng)


def _run(fam, truth, ns, reps, seed, fixed, progress, label, keep_data=False):
    """Simulate and batch-fit each sample size, with a progress bar on a terminal."""
    from ..engine.batch import fit_batch
    from ..engine.simulate import draw_blocks

    rng = np.random.default_rng(seed)
    known = {k: truth[k] for k in fam.known if k in truth}
    fixed_all = {**known, **(fixed or {})}
    show = progress if progress is not None else (sys.stderr.isatty() and reps * sum(ns) > 2_000_000)
    bar = _Progress(show, f"{label}: {fam.name}", len(ns))
    with bar:
        for n, X in zip(ns, draw_blocks(fam, truth, [(reps, n) for n in ns], rng)):
            fit = fit_batch(fam, X, fixed=fixed_all or None)
            bar.advance()
            yield (n, fit, X) if keep_data else (n, fit)


class _Progress:
    def __init__(self, show, label, total):
        self.show, self.label, self.total, self._p = show, label, total, None

    def __enter__(self):
        if self.show:
            from rich.progress import Progress

            self._p = Progress(transient=True)
            self._p.__enter__()
            self._task = self._p.add_task(self.label, total=self.total)
        return self

    def advance(self):
        if self._p is not None:
            self._p.advance(self._task)

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)


# ---- method of moments, written out here (vectorised over rows) ----------------------
def _mom_gamma(X):
    m, v = X.mean(axis=1), X.var(axis=1)
    return {"shape": m * m / v, "rate": m / v}


def _mom_beta(X):
    m, v = X.mean(axis=1), X.var(axis=1)
    c = m * (1 - m) / v - 1
    return {"a": m * c, "b": (1 - m) * c}


def _mom_uniform(X):
    m, s = X.mean(axis=1), X.std(axis=1)
    return {"a": m - np.sqrt(3) * s, "b": m + np.sqrt(3) * s}


_MOMENTS = {"gamma": _mom_gamma, "beta": _mom_beta, "uniform": _mom_uniform}


# ---- plots ----------------------------------------------------------------------------
def _plot_consistency(s, plt):
    return _loglog_by_param(s, plt, [("mse", "o-", "MSE"), ("variance", "s--", "variance")])


def _loglog_by_param(s, plt, series, ylabel=None):
    """One log-log panel per parameter: each ``(column, style, label)`` of ``series`` against n,
    with the Cramér–Rao bound where the table has it."""
    params = sorted({r["param"] for r in s.table}, key=[r["param"] for r in s.table].index)
    fig, axes = plt.subplots(1, len(params), figsize=(5 * len(params), 4), squeeze=False)
    for ax, k in zip(axes[0], params):
        rows = [r for r in s.table if r["param"] == k]
        n = [r["n"] for r in rows]
        for col, style, label in series:
            ax.loglog(n, [r[col] for r in rows], style, label=label)
        if "crb" in rows[0]:
            ax.loglog(n, [r["crb"] for r in rows], "k:", label="Cramér–Rao bound")
        ax.set_xlabel("n")
        if ylabel:
            ax.set_ylabel(ylabel)
        ax.set_title(f"{s.family}: {k}")
        ax.legend()
    return fig


def _plot_normality(s, plt):
    from scipy import stats as st

    keys = list(s.extra["z"])
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        z = np.sort(s.extra["z"][key])
        q = st.norm.ppf((np.arange(1, z.size + 1) - 0.5) / z.size)
        ax.plot(q, z, ".", ms=2)
        ax.plot(q, q, "k-", lw=1)
        ax.set_title(f"{key[1]}, n = {key[0]}")
        ax.set_xlabel("N(0,1) quantile")
        ax.set_ylabel("(θ̂ − θ)/SE")
    return fig


def _plot_bias(s, plt):
    fig, ax = plt.subplots(figsize=(5, 4))
    n = np.array([r["n"] for r in s.table])
    ax.errorbar(n, [r["bias_mle"] for r in s.table], yerr=[2 * r["mc_se_mle"] for r in s.table], fmt="o",
                label="σ̂² (divisor n)")
    ax.errorbar(n, [r["bias_unbiased"] for r in s.table], yerr=[2 * r["mc_se_unbiased"] for r in s.table],
                fmt="s", label="s² (divisor n − 1)")
    grid = np.linspace(n.min(), n.max(), 200)
    ax.plot(grid, -s.truth["sigma"] ** 2 / grid, "k:", label="−σ²/n")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("n")
    ax.set_ylabel("bias")
    ax.legend()
    return fig


def _plot_efficiency(s, plt):
    return _loglog_by_param(s, plt, [("mse_mle", "o-", "MLE"), ("mse_moments", "s--", "method of moments")],
                            ylabel="MSE")


_PLOTS = {"consistency": _plot_consistency, "normality": _plot_normality, "bias": _plot_bias,
          "efficiency": _plot_efficiency}


def _cell(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)
