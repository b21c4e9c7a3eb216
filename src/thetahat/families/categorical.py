r"""Categorical and multinomial families: a probability vector ``p`` on the simplex.

A category that never occurs has the estimate p_j = 0, on the boundary of the
simplex; the engine reports that rather than refusing the data.

Example
-------
>>> import thetahat
>>> f = thetahat.fit([0, 1, 1, 2, 1, 0], "categorical")
>>> [round(float(v), 12) for v in f.params["p"]]
[0.333333333333, 0.5, 0.166666666667]
"""

from __future__ import annotations

import numpy as np

from .. import constraints as C
from .._jax import jnp, jsp
from .._xp import namespace
from ..kernels.blocks import map_row_blocks
from ..kernels.summary import count_integers, pool, summarize
from ..errors import DegenerateDataError, OptionError, SupportError
from ._base import Family, _fmt, register


@register
class Categorical(Family):
    r"""Categorical(p): P(X = j) = p_j for the labels j = 0, ..., K - 1.

    K is the largest label plus one. scipy.stats has no categorical; the same law is
    scipy.stats.multinomial(1, p) on the one-hot vector of the label, and ``to_scipy``
    gives scipy.stats.rv_discrete(values=(range(K), p)). Closed form: p_j = count_j / n.
    """

    name = "categorical"
    params = {"p": C.simplex}
    support = C.nonnegative_integer
    discrete = True

    def logpdf(self, x, p):
        probs = p["p"]
        k = probs.shape[-1]
        ok = (x == jnp.floor(x)) & (x >= 0) & (x < k)
        idx = jnp.clip(x, 0, k - 1).astype(jnp.int32)
        pj = probs[idx]
        return jnp.where(ok, jnp.log(jnp.where(ok, pj, 1.0)), -jnp.inf)

    def logpdf_natural(self, x, eta):
        """The log-pmf at the logits ``eta`` (``p = softmax(eta)``): ``eta_x - logsumexp(eta)``."""
        k = eta.shape[-1]
        ok = (x == jnp.floor(x)) & (x >= 0) & (x < k)
        idx = jnp.clip(x, 0, k - 1).astype(jnp.int32)
        return jnp.where(ok, eta[idx] - jsp.logsumexp(eta), -jnp.inf)

    def param_shapes(self, x):
        return {"p": (int(np.max(x)) + 1,)}

    def _counts(self, x, w):
        w = np.ones(x.shape[0]) if w is None else np.asarray(w, dtype=float)
        return np.bincount(np.asarray(x, dtype=np.int64), weights=w, minlength=int(np.max(x)) + 1)

    def start(self, x, w):
        c = self._counts(x, w) + 0.5  # keep every entry strictly inside the simplex
        return {"p": c / c.sum()}

    # The number of categories is known only from the data, so the counts cannot be
    # compiled statistics of a fixed shape: the closed form reads the data instead.
    def closed_form_data(self, x, w):
        c = self._counts(x, w)
        return {"p": c / c.sum()}

    def check_degenerate(self, x, w):
        v = x if w is None else x[np.asarray(w) > 0]
        if v.size and np.all(v == 0):
            raise DegenerateDataError(
                f"all {v.size} observations are label 0: a categorical needs at least two categories "
                "(K = largest label + 1 = 1 leaves nothing to estimate)")

    def nondegenerate_by_summary(self, s):
        return s["max"] > 0

    def to_scipy(self, p):
        from scipy import stats as st

        probs = np.asarray(p["p"], dtype=float)
        return st.rv_discrete(values=(np.arange(probs.size), probs))


@register
class Multinomial(Family):
    r"""Multinomial(n, p) with known n: each row is d counts summing to n,
    f(x) = n! / (x_1! ... x_d!) p_1^x_1 ... p_d^x_d.

    scipy.stats.multinomial(n, p). Pass the trials per row as ``fixed={"n": 10}``.
    Closed form: p = column sums / (n * rows).
    """

    name = "multinomial"
    params = {"p": C.simplex}
    known = {"n": None}
    support = C.nonnegative_integer
    discrete = True
    ndim = 1
    min_obs = 1

    def logpdf(self, x, p):
        n, probs = p["n"], p["p"]
        ok = jnp.all((x == jnp.floor(x)) & (x >= 0)) & (jnp.sum(x) == n)
        xs = jnp.where(ok, x, 0.0)
        val = jsp.gammaln(n + 1.0) - jnp.sum(jsp.gammaln(xs + 1.0)) + jnp.sum(jsp.xlogy(xs, probs))
        return jnp.where(ok, val, -jnp.inf)

    def param_shapes(self, x):
        return {"p": (int(x.shape[1]),)}

    def check_known(self, k, value):
        a = np.asarray(value, dtype=float)
        if a.ndim or not np.isfinite(a) or a < 1 or a != np.floor(a):
            raise OptionError(f"multinomial needs a known number of trials n that is a positive integer, "
                              f"got {_fmt(a)}")

    def check_support(self, x, fixed=None):
        if not fixed or "n" not in fixed:
            raise OptionError("multinomial needs the known value of 'n': pass fixed={'n': ...}")
        n = float(np.asarray(fixed["n"], dtype=float))
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] < 2:
            raise SupportError(f"multinomial data must be rows of at least 2 counts, got shape {x.shape}")
        cell = ~((x == np.floor(x)) & (x >= 0))
        if cell.any():
            i = int(np.argmax(cell.any(axis=1)))
            raise SupportError(f"data row {i + 1} ({_fmt(x[i])}) of the multinomial data has an entry that is not "
                               "a non-negative integer")
        bad = x.sum(axis=1) != n
        if bad.any():
            i = int(np.argmax(bad))
            raise SupportError(f"data row {i + 1} ({_fmt(x[i])}) sums to {x[i].sum():g}, not the known n = {n:g}")

    def check_degenerate(self, x, w):
        pass  # a column of zeros puts p_j = 0 on the boundary, which the engine reports

    def start(self, x, w):
        w = np.ones(x.shape[0]) if w is None else np.asarray(w, dtype=float)
        c = (w[:, None] * x).sum(axis=0) + 0.5
        return {"p": c / c.sum()}

    # Sufficient statistics: the rows, the column sums and the sum of log(x_ij!) (the
    # multinomial coefficients' part of the log-likelihood).
    def statistics(self, x, w):
        xp = namespace(x, w)
        w = w if w.ndim == 1 else w[:, 0]
        xs = xp.where(w[:, None] > 0, x, 0.0)
        return {"n": xp.sum(w), "counts": xp.sum(w[:, None] * xs, axis=0),
                "log_fact": xp.sum(w * xp.sum(xp.gammaln(xs + 1.0), axis=1))}

    def loglik_from_statistics(self, s, p):
        return s["n"] * jsp.gammaln(p["n"] + 1.0) - s["log_fact"] + jnp.sum(jsp.xlogy(s["counts"], p["p"]))

    def closed_form(self, s):
        c = jnp.asarray(s["counts"])
        return {"p": c / jnp.sum(c)}

    def statistics_validated(self, x, fixed=None):
        # three reads, none of them a log-gamma per entry: the summary of all entries (finite,
        # whole, between 0 and n), the counts of each entry value (sum of log(x!) = sum over values
        # of count * log(v!)), and the column and row sums by blocks (every row must sum to n)
        n = float(np.asarray(fixed["n"], dtype=float)) if fixed and "n" in fixed else None
        flat = x.reshape(-1)
        s = summarize(flat, pool(), ("min", "max", "integral"))
        if (n is None or x.shape[1] < 2 or s is None or not s["finite"] or not s["integral"]
                or not 0 <= s["min"] <= s["max"] <= n):
            return None
        counts = count_integers(flat, 0.0, s["max"], pool())
        if counts is None:  # (counts above MAX_COUNT_SPAN: the compiled log-gamma per entry instead)
            return None
        ones = np.ones(x.shape[1])
        parts = map_row_blocks(lambda b: (np.ones(b.shape[0]) @ b, bool(np.all(b @ ones == n))), x, pool())
        if not all(p[1] for p in parts):
            return None
        from scipy.special import gammaln as sp_gammaln  # (here: importing it costs the CLI ~0.1 s)

        log_fact = float(counts @ sp_gammaln(np.arange(counts.size) + 1.0))
        return {"n": float(x.shape[0]), "counts": np.add.reduce([p[0] for p in parts]), "log_fact": log_fact}

    def to_scipy(self, p):
        from scipy import stats as st

        return st.multinomial(int(round(float(p["n"]))), np.asarray(p["p"], dtype=float))
