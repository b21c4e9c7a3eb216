"""Mixtures of data in memory: the data object of :func:`~thetahat.em.mixture_fit.fit_mixture`
(one compiled call per EM iteration: E-step, M-step and the collapse check fused), and the
fit from k-means++ (or given) starts.

:func:`thetahat.mixture` (:mod:`.mixture`) is the front door; the streamed mixture
(:mod:`.streamed`) fits its pilot subsample here for its starting values.

Example
-------
>>> import numpy as np
>>> from thetahat._jax import scope
>>> from thetahat.em.mixture_memory import fit_in_memory
>>> x = np.concatenate([np.linspace(-1, 1, 300), np.linspace(5, 7, 200)])
>>> with scope():
...     f = fit_in_memory(x, 2, "normal", cov_type="full", starts=1, seed=0, max_iter=1000, tol=1e-10,
...                       start=None, cov_prior="auto", se=False, newton_steps=20)
>>> np.round(f.params["mu"], 3).tolist()
[0.0, 6.0]
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._jax import jax, jnp, jsp
from ..errors import OptionError
from . import _common as cm
from . import polish as pl
from .mixture_fit import (EMStep, add_statistics, collapse_flags, densest, e_step_statistics, fit_mixture,
                          mixing_log_weights)
from .mixture_result import MixtureFit


CHUNK = 1 << 15  # rows per step of the E-step's scan (a closed-form component model)


class InMemory:
    """The rows of a mixture fit, held in memory (see :mod:`.mixture_fit` for the protocol).

    An EM iteration is one compiled call. For a component model whose M-step is a closed form of
    sums that add over chunks (``model.chunked``: normal components, and a family's closed form
    where its statistics merge by addition), the E-step scans the rows in chunks of ``CHUNK`` and
    sums the M-step's sums, as a streamed pass does, so that no (n, k) array is written. Other
    models (a weighted Newton M-step; a closed form of statistics with another merge, the
    lognormal's; Bernoulli and categorical items) take the E- and M-step on all rows.
    """

    fit_class = MixtureFit

    def __init__(self, x):
        self.x = np.asarray(x, dtype=float)
        self.xj = jnp.asarray(self.x)
        self.n = self.x.shape[0]
        self.scale = cm.data_scale(self.x)
        self._chunks = None

    def chunks(self):
        """The rows as (chunks, rows, ...) with weights, the last chunk padded with weight 0."""
        if self._chunks is None:
            size = min(self.n, CHUNK)
            m = -(-self.n // size)
            pad = m * size - self.n
            w = np.r_[np.ones(self.n), np.zeros(pad)]
            x = np.concatenate([self.x, np.repeat(self.x[-1:], pad, axis=0)]) if pad else self.x
            self._chunks = (jnp.asarray(x.reshape(m, size, *self.x.shape[1:])), jnp.asarray(w.reshape(m, size)))
        return self._chunks

    def em_step(self, model, p, logw):
        if model.chunked:
            numbers, p_new, logw_new = _statistics_step(model)(*self.chunks(), p, logw, self.scale)
        else:
            numbers, p_new, logw_new = _rows_step(model)(self.xj, p, logw, self.scale)
        numbers = np.asarray(numbers)  # (one transfer: the only wait of the iteration)
        # (no state: the responsibilities, n x k, are computed once, by order(), at the end)
        return EMStep(float(numbers[0]), float(numbers[1]), p_new, logw_new, numbers[2:] > 0, None)

    def evaluate(self, model):
        def evaluate(u, hessian=True):
            ll, g, H = pl.loglik_derivatives(model, self.x, u, hessian)
            lp, gp, Hp = pl.prior_derivatives(model, u)
            return ll + lp, g + gp, (H + Hp if hessian else None), (ll, H, None)

        return evaluate

    def log_density(self, model, p):
        return model.log_density(self.xj, p)

    def order(self, model, p, logw, r):
        """Order by the responsibility-weighted mean of the first coordinate."""
        if r is None:
            lp = model.log_density(self.xj, p) + jnp.asarray(logw)[None]
            r = jnp.exp(lp - jsp.logsumexp(lp, axis=1)[:, None])
        r = np.asarray(r)
        return cm.order_by_first_coordinate(self.x, r), r.sum(0), r

    def closing_notes(self):
        return []


def _numbers(obj, ll, bad):
    return jnp.concatenate([jnp.stack([obj, ll]), bad.astype(jnp.float64)])


@lru_cache(maxsize=None)
def _statistics_step(model):
    """One EM iteration of a closed-form component model, compiled: the chunks' E-step sums
    (:func:`~thetahat.em.mixture_fit.e_step_statistics`, as a streamed pass takes them), the
    M-step from them and the collapse check."""

    def step(xc, wc, p, logw, scale):
        shift = model.shift(p)

        def add(total, chunk):
            part = e_step_statistics(model, chunk[0], chunk[1], p, logw, shift)
            return add_statistics(total, part), None

        first = e_step_statistics(model, xc[0], wc[0], p, logw, shift)
        st, _ = jax.lax.scan(add, first, (xc[1:], wc[1:]))
        obj = st["ll"] + model.log_prior(p)
        p_new = model.m_step_from(st, shift)
        bad = collapse_flags(model, p, p_new, obj, scale, densest(st))
        return _numbers(obj, st["ll"], bad), p_new, mixing_log_weights(st["nk"])

    return jax.jit(step)


@lru_cache(maxsize=None)
def _rows_step(model):
    """One EM iteration of ``model`` on all rows, compiled: the E-step, the M-step and the collapse check."""
    generic = isinstance(model, cm.GenericComponents)

    def step(x, p, logw, scale):
        dens = model.log_density(x, p)
        lp = dens + logw[None, :]
        lse = jsp.logsumexp(lp, axis=1)
        r = jnp.exp(lp - lse[:, None])
        ll = jnp.sum(lse)
        obj = ll + model.log_prior(p)
        p_new = model.m_step(x, r, p)
        bad = collapse_flags(model, p, p_new, obj, scale, dens if generic else None)
        return _numbers(obj, ll, bad), p_new, mixing_log_weights(r.sum(0))

    return jax.jit(step)


def fit_in_memory(data, k, family, *, cov_type, starts, seed, max_iter, tol, start, cov_prior, se, newton_steps):
    """A mixture of ``k`` components fitted to in-memory data: the options and data checked,
    and :func:`~thetahat.em.mixture_fit.fit_mixture` run from every start."""
    k = cm.check_k(k)
    starts = cm.check_run(starts, max_iter, tol)
    newton_steps = pl.check_steps(newton_steps)
    key = cm.family_key(family)
    x = cm.as_data(data, key)
    model = cm.build_model(key, x, k, cov_type, cov_prior)
    if key in ("bernoulli", "categorical") and x.ndim == 1 and k > 1:
        raise OptionError(f"a mixture of {key} distributions of one variable is again a {key} distribution: "
                          "its components are not identifiable; give several columns (items)")
    cm.check_distinct(x, k)
    points = _starting_points(model, x, k, starts, seed, start)
    return fit_mixture(model, InMemory(x), points, max_iter=max_iter, tol=tol, se=se, newton_steps=newton_steps)


def _starting_points(model, x, k, starts, seed, start):
    """``starts`` starting points: the first ``start`` when it is given, the others from
    k-means++ labels drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    points = [from_start(model, start, k)] if start is not None else []
    for _ in range(starts if start is None else starts - 1):
        labels = cm.kmeans_labels(x, k, rng)
        counts = np.bincount(labels, minlength=k) + 1e-3
        points.append((model.init_from_labels(x, labels), jnp.log(jnp.asarray(counts / counts.sum()))))
    return points


def from_start(model, start, k):
    """``(p, logw)`` of user-supplied starting values (``weights`` and the natural parameters)."""
    start = dict(start)
    w = np.asarray(start.pop("weights", np.full(k, 1.0 / k)), dtype=float)
    if w.shape != (k,) or np.any(w <= 0) or abs(w.sum() - 1) > 1e-9:
        raise OptionError(f"starting weights must be {k} positive numbers summing to 1")
    return model.from_natural(start), jnp.log(jnp.asarray(w))


def memory_columns(data, column=None, columns=None):
    """``data[column]`` / ``data[columns]`` of an in-memory table (a pandas DataFrame or a
    dict of arrays), for :func:`thetahat.mixture`'s ``column=``/``columns=``."""
    if column is not None and columns is not None:
        raise OptionError("give column= or columns=, not both")
    names = columns if column is None else ([c.strip() for c in column.split(",")] if isinstance(column, str)
                                            else list(column))
    names = [names] if isinstance(names, str) else list(names)
    if not hasattr(data, "__getitem__") or isinstance(data, np.ndarray) or not (hasattr(data, "columns")
                                                                              or isinstance(data, dict)):
        raise OptionError("column=/columns= name columns of files, a Dask DataFrame, a pandas DataFrame or a dict; "
                          "pass an array as it is")
    have = list(data.columns) if hasattr(data, "columns") else list(data)
    missing = [c for c in names if c not in have]
    if missing:
        from ..errors import MissingColumnError

        raise MissingColumnError(f"column {missing[0]!r} is not in the data; its columns are "
                                 f"{', '.join(map(str, have))}")
    cols = [np.asarray(data[c], dtype=float) for c in names]
    return cols[0] if len(cols) == 1 else np.column_stack(cols)
