"""Families of vector observations (rows of a 2-D array): multivariate normal, Dirichlet."""

import numpy as np

from .. import constraints as C
from .._jax import jnp, jsl, jsp
from .._xp import namespace
from ..kernels.blocks import centred_moments, map_row_blocks
from ..kernels.summary import pool
from ..errors import DegenerateDataError, SupportError
from ._base import Family, _fmt, log_safe, register

_LOG2PI = float(np.log(2 * np.pi))


def _weights(x, w):
    return np.ones(x.shape[0]) if w is None else np.asarray(w, dtype=float)


def _row_weights(w):
    """One weight per row. The engine's unweighted statistics pass hands ``ones_like(x)``,
    shaped like the data (n, d) rather than (n,): every column then holds the row's weight."""
    return w if w.ndim == 1 else w[:, 0]


# ------------------------------------------------------------------------------------
@register
class MultivariateNormal(Family):
    r"""Multivariate normal N_d(mu, cov); each observation is a row of length d.

    .. math:: f(x) = (2\pi)^{-d/2} |\Sigma|^{-1/2}
              \exp(-\tfrac12 (x-\mu)^T \Sigma^{-1} (x-\mu))

    scipy.stats.multivariate_normal(mean=mu, cov=cov). Closed form: ``mu`` = column
    means, ``cov`` = (1/n) sum (x - mu)(x - mu)^T (divisor n, the MLE). Sufficient
    statistics: n, the mean and the centred cross-product matrix, merged across chunks
    by Chan's formula. ``cov`` is optimised through its Cholesky factor; the standard
    errors of its entries come from the delta method.
    """

    name = "mvnormal"
    aliases = ("multivariate_normal", "mvn")
    params = {"mu": C.real, "cov": C.positive_definite}
    support = C.real
    ndim = 1

    def param_shapes(self, x):
        d = int(np.shape(x)[1])
        return {"mu": (d,), "cov": (d, d)}

    def logpdf(self, x, p):
        mu, cov = p["mu"], p["cov"]
        L = jnp.linalg.cholesky(cov)
        z = jsl.solve_triangular(L, x - mu, lower=True)
        d = mu.shape[-1]
        return -0.5 * d * _LOG2PI - jnp.sum(jnp.log(jnp.diag(L))) - 0.5 * jnp.dot(z, z)

    def start(self, x, w):
        w = _weights(x, w)
        m = (w[:, None] * x).sum(0) / w.sum()
        r = x - m
        cov = (w[:, None] * r).T @ r / w.sum()
        # a ridge keeps the start positive definite when the sample covariance is nearly singular
        cov = (cov + cov.T) / 2 + 1e-10 * np.trace(cov) / len(m) * np.eye(len(m))
        return {"mu": m, "cov": cov}

    def statistics(self, x, w):
        xp = namespace(x, w)
        w = _row_weights(w)
        n = xp.sum(w)
        m = xp.sum(w[:, None] * x, axis=0) / xp.where(n > 0, n, 1.0)
        r = x - m
        return {"n": n, "mean": m, "m2": (w[:, None] * r).T @ r}

    def merge(self, a, b):
        n = a["n"] + b["n"]
        d = b["mean"] - a["mean"]
        frac = b["n"] / n if n > 0 else 0.0
        return {"n": n, "mean": a["mean"] + d * frac,
                "m2": a["m2"] + b["m2"] + np.outer(d, d) * a["n"] * frac}

    def loglik_from_statistics(self, s, p):
        mu, cov, n = p["mu"], p["cov"], s["n"]
        L = jnp.linalg.cholesky(cov)
        dm = s["mean"] - mu
        scatter = s["m2"] + n * jnp.outer(dm, dm)
        # tr(cov^{-1} S) as tr(L^{-1} S L^{-T}): two triangular solves, no explicit inverse
        A = jsl.solve_triangular(L, scatter, lower=True)
        B = jsl.solve_triangular(L, A.T, lower=True)
        d = mu.shape[-1]
        return -0.5 * n * (d * _LOG2PI + 2 * jnp.sum(jnp.log(jnp.diag(L)))) - 0.5 * jnp.trace(B)

    def closed_form(self, s):
        m2 = jnp.asarray(s["m2"])
        return {"mu": jnp.asarray(s["mean"]), "cov": (m2 + jnp.swapaxes(m2, -1, -2)) / (2 * s["n"])}

    def check_degenerate(self, x, w):
        w = _weights(x, w)
        d = x.shape[1]
        rows = int(np.count_nonzero(w > 0))
        if rows < d + 1:
            raise DegenerateDataError(f"{rows} rows with positive weight cannot identify a {d}-dimensional "
                                      f"covariance matrix: {self.name} needs at least {d + 1}")
        live = x[w > 0]
        flat = np.ptp(live, axis=0) == 0  # (exactly: a centred sum of squares can leave 1e-34 for 0)
        if flat.any():
            j = int(np.argmax(flat))
            raise DegenerateDataError(f"column {j} is constant ({_fmt(live[0, j])}): the sample covariance "
                                      "is singular")
        m = (w[:, None] * x).sum(0) / w.sum()
        r = x - m
        self._check_covariance((w[:, None] * r).T @ r / w.sum(), x)

    def statistics_validated(self, x, fixed=None):
        # one read (kernels.blocks): a NaN or an infinity anywhere shows in the sums
        n, mean, m2 = centred_moments(x, pool())
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(m2))):
            return None
        if n < x.shape[1] + 1:
            self.check_degenerate(x, None)
        self._check_covariance(m2 / n, x)
        return {"n": float(n), "mean": mean, "m2": m2}

    def _check_covariance(self, cov, x):
        sd = np.sqrt(np.diag(cov))
        if np.any(sd == 0):
            j = int(np.argmax(sd == 0))
            raise DegenerateDataError(f"column {j} is constant ({_fmt(x[0, j])}): the sample covariance "
                                      "is singular")
        corr = cov / np.outer(sd, sd)
        eig = np.linalg.eigvalsh((corr + corr.T) / 2)
        if eig.min() <= 1e-12 * max(eig.max(), 1.0):
            raise DegenerateDataError("the columns are collinear (the sample covariance matrix is singular, "
                                      f"smallest correlation eigenvalue {eig.min():.3g}): the MLE of cov does not "
                                      "exist")

    def to_scipy(self, p):
        from scipy import stats as st

        return st.multivariate_normal(mean=np.asarray(p["mu"]), cov=np.asarray(p["cov"]))


# ------------------------------------------------------------------------------------
class _RowsDirichlet:
    """scipy.stats' frozen Dirichlet, with ``logpdf``/``pdf`` taking observations as rows.

    scipy's Dirichlet reads ``x`` with the components along the first axis (columns are
    observations) while its ``rvs`` returns rows; every other attribute passes through.
    """

    def __init__(self, dist):
        self.dist = dist

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        return self.dist.logpdf(x.T if x.ndim == 2 else x)

    def pdf(self, x):
        return np.exp(self.logpdf(x))

    def __getattr__(self, name):
        if name == "dist":  # not yet set (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.dist, name)


@register
class Dirichlet(Family):
    r"""Dirichlet(alpha) on the simplex; each observation is a row of K proportions.

    .. math:: f(x) = \frac{\Gamma(\sum_j \alpha_j)}{\prod_j \Gamma(\alpha_j)} \prod_j x_j^{\alpha_j - 1}

    scipy.stats.dirichlet(alpha), whose ``logpdf`` takes observations as columns
    (``logpdf(x.T)``); :meth:`to_scipy` returns it wrapped so that ``logpdf`` takes rows.
    Sufficient statistics: n and the column sums of log x. Numerical (Newton) from the
    method-of-moments start.
    """

    name = "dirichlet"
    params = {"alpha": C.positive}
    support = C.unit_interval
    ndim = 1

    def param_shapes(self, x):
        return {"alpha": (int(np.shape(x)[1]),)}

    def logpdf(self, x, p):
        a = p["alpha"]
        ok = jnp.all(x > 0) & (jnp.abs(jnp.sum(x) - 1) <= 1e-9)
        lx = log_safe(x, (x > 0) & ok)
        val = jsp.gammaln(jnp.sum(a)) - jnp.sum(jsp.gammaln(a)) + jnp.sum((a - 1) * lx)
        return jnp.where(ok, val, -jnp.inf)

    def check_support(self, x, fixed=None):
        x = np.asarray(x, dtype=float)
        if x.shape[1] < 2:
            raise SupportError(f"{self.name} needs rows of at least 2 proportions, got {x.shape[1]} column")
        bad = (x <= 0).any(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise SupportError(f"data row {i + 1} {_fmt(x[i])} has an entry <= 0: outside the support of {self.name} "
                               "(the open simplex)")
        off = np.abs(x.sum(axis=1) - 1)
        if np.any(off > 1e-9):
            i = int(np.argmax(off > 1e-9))
            raise SupportError(f"data row {i + 1} {_fmt(x[i])} sums to {x[i].sum():.12g}, not 1: outside the support "
                               f"of {self.name} (rows must sum to 1 within 1e-9)")

    def check_degenerate(self, x, w):
        if x.shape[0] and np.all(x == x[0]):
            raise DegenerateDataError(f"all {x.shape[0]} rows equal {_fmt(x[0])}: a {self.name} fit needs "
                                      "variation in the data")

    def statistics_validated(self, x, fixed=None):
        # one read (kernels.blocks): the column sums of log x, and whether any row's sum is off 1;
        # an entry <= 0, a NaN or an infinity shows in the sums of logs
        if x.shape[1] < 2:
            return None
        ones = np.ones(x.shape[1])

        def part(b):
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.ones(b.shape[0]) @ np.log(b), bool(np.any(np.abs(b @ ones - 1) > 1e-9))

        parts = map_row_blocks(part, x, pool())
        sum_log = np.add.reduce([p[0] for p in parts])
        if any(p[1] for p in parts) or not np.all(np.isfinite(sum_log)):
            return None
        n = x.shape[0]
        if np.allclose(sum_log / n, np.log(x[0]), rtol=1e-12, atol=1e-12):
            self.check_degenerate(x, None)  # (the means of log x fit all rows equal: look)
        return {"n": float(n), "sum_log": sum_log}

    def start(self, x, w):
        w = _weights(x, w)
        sw = w.sum()
        m = (w[:, None] * x).sum(0) / sw
        v = (w[:, None] * (x - m) ** 2).sum(0) / sw
        # each component gives m_j (1 - m_j) / v_j - 1 as an estimate of alpha_0 = sum alpha
        ests = m * (1 - m) / np.where(v > 0, v, np.inf) - 1
        ests = ests[np.isfinite(ests) & (ests > 0)]
        a0 = float(np.exp(np.mean(np.log(ests)))) if ests.size else 1.0
        return {"alpha": np.maximum(m * a0, 1e-3)}

    def statistics(self, x, w):
        xp = namespace(x, w)
        w = _row_weights(w)
        lx = xp.log(xp.where(w[:, None] > 0, x, 1.0))
        return {"n": xp.sum(w), "sum_log": xp.sum(w[:, None] * lx, axis=0)}

    def loglik_from_statistics(self, s, p):
        a = p["alpha"]
        return s["n"] * (jsp.gammaln(jnp.sum(a)) - jnp.sum(jsp.gammaln(a))) + jnp.sum((a - 1) * s["sum_log"])

    def to_scipy(self, p):
        from scipy import stats as st

        return _RowsDirichlet(st.dirichlet(np.asarray(p["alpha"], dtype=float)))
