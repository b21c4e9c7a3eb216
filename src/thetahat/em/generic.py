"""Components of any thetahat family: the family's closed form where it has one, else a
weighted Newton M-step.

The parameters of component ``j`` live in the family's unconstrained coordinates
(``engine.layout.Layout``), one row ``u[j]`` each. The M-step maximises
Q_j(u) = sum_i r_ij log f(x_i; theta(u)) for all components at once (``vmap``) with a
few damped Newton steps from the current value, each accepted only if Q_j does not
fall. That is a generalised EM step: the likelihood still never decreases, and at a
fixed point the score of every Q_j vanishes, so the fixed point is a stationary point
of the mixture likelihood, as with an exact M-step.

A family that declares sufficient statistics and their closed-form MLE (``statistics(x, w)``,
``closed_form(s)``) gets :class:`ClosedFormComponents`: the M-step of component ``j`` is
``closed_form(statistics(x, r[:, j]))``, the weighted MLE itself, and the statistics of
batches merge with the family's ``merge``, so such a mixture also streams.

Example
-------
>>> import numpy as np, thetahat
>>> from thetahat.em.generic import GenericComponents
>>> m = GenericComponents.build(thetahat.family("gamma"), 2, np.array([1.0, 2.0]))
>>> p = m.from_natural({"shape": [2.0, 5.0], "rate": [1.0, 1.0]})
>>> {k: np.round(np.asarray(v), 6).tolist() for k, v in m.natural(p).items()}
{'shape': [2.0, 5.0], 'rate': [1.0, 1.0]}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._jax import jax, jnp
from ..engine.newton import newton_step
from ..engine.layout import Layout
from ..errors import OptionError
from ..families import Family

NEWTON_STEPS = 6
MAX_HALVINGS = 40
TINY = 10 * np.finfo(np.float64).eps
U_EDGE = float(-np.log(TINY))  # an estimate on the edge of its space (lam = 0, p = 1) is held this far inside


@dataclass(frozen=True)
class GenericComponents:
    family: object
    k: int
    layout: Layout
    name = "generic"
    chunked = streams = False

    @classmethod
    def build(cls, family, k, x):
        shapes = family.param_shapes(x)
        return cls(family, int(k), Layout.build(family, shapes, list(family.params)))

    @property
    def family_name(self):
        return self.family.name

    def _params(self, u):
        return self.layout.to_params(u)

    def _logpdf_rows(self, x, u):
        p = self._params(u)
        return jax.vmap(lambda xi: self.family.logpdf(xi, p))(x)

    def log_density(self, x, p):
        return jax.vmap(lambda u: self._logpdf_rows(x, u))(p["u"]).T

    def m_step(self, x, r, p):
        def q(u, w):
            lp = self._logpdf_rows(x, u)
            return jnp.sum(jnp.where(w > 0, w * lp, 0.0))

        def newton_one(u, w):
            val = q(u, w)
            g = jax.grad(q)(u, w)
            H = jax.hessian(q)(u, w)
            neg = -(H + H.T) / 2
            lo = jnp.linalg.eigvalsh(neg)[0]
            scale = 1.0 + jnp.max(jnp.abs(jnp.diag(neg)))
            lam = jnp.where(lo > 1e-10 * scale, 0.0, -lo + 1e-6 * scale)
            step, _ = newton_step(g, neg, lam, jnp)  # the estimation core's step, compiled
            step = jnp.where(jnp.all(jnp.isfinite(step)), step, g / scale)

            def cond(c):
                t, _, ok, i = c
                return (~ok) & (i < MAX_HALVINGS)

            def body(c):
                t, _, _, i = c
                cand = u + t * step
                v = q(cand, w)
                return t / 2, cand, jnp.isfinite(v) & (v >= val), i + 1

            _, cand, ok, _ = jax.lax.while_loop(cond, body, (1.0, u, False, 0))
            return jnp.where(ok, cand, u)

        def newton(u, w):
            return jax.lax.fori_loop(0, NEWTON_STEPS, lambda _, v: newton_one(v, w), u)

        return {"u": jax.vmap(newton)(p["u"], r.T)}

    def log_prior(self, p):
        return 0.0

    def pack(self, p):
        return np.asarray(p["u"]).ravel()

    def unpack(self, u):
        return {"u": u.reshape(self.k, self.layout.size)}

    @property
    def n_free(self):
        return self.k * self.layout.size

    def natural(self, p):
        out = jax.vmap(self._params)(p["u"])  # vmap returns the dict with sorted keys
        return {n: out[n] for n in self.family.params}

    def from_natural(self, d):
        rows = []
        for j in range(self.k):
            pj = {}
            for name, con in self.family.params.items():
                if name not in d:
                    raise OptionError(f"starting values need {name!r} for the {self.family.name} components")
                v = np.asarray(d[name], dtype=float)
                if v.shape[:1] != (self.k,):
                    raise OptionError(f"starting values of {name!r} need one entry per component ({self.k})")
                if not con.check(v[j]):
                    raise OptionError(f"starting {name} of component {j} is outside its constraint ({con.name})")
                pj[name] = v[j]
            rows.append(self.layout.to_unconstrained(pj))
        return {"u": jnp.asarray(np.stack(rows))}

    def init_from_labels(self, x, labels):
        x = np.asarray(x)
        overall = self.family.start(x, np.ones(x.shape[0]))
        rows = []
        for j in range(self.k):
            xj = x[labels == j]
            st = None
            if xj.shape[0] >= 2:
                with np.errstate(all="ignore"):
                    try:
                        st = self.family.start(xj, np.ones(xj.shape[0]))
                    except (ValueError, ZeroDivisionError, FloatingPointError):
                        st = None
            if st is None or not all(np.all(np.isfinite(np.asarray(v, dtype=float))) for v in st.values()):
                st = overall
            u = self.layout.to_unconstrained({n: np.asarray(v, dtype=float) for n, v in st.items()})
            if not np.all(np.isfinite(u)):
                u = self.layout.to_unconstrained({n: np.asarray(v, dtype=float) for n, v in overall.items()})
            rows.append(u)
        return {"u": jnp.asarray(np.stack(rows))}

    def sample(self, rng, p, labels):
        nat = {n: np.asarray(v) for n, v in self.natural(p).items()}
        out = np.empty(labels.size)
        for j in range(self.k):
            idx = np.flatnonzero(labels == j)
            if idx.size:
                pj = {n: v[j] for n, v in nat.items()}
                seed = int(rng.integers(0, 2**31 - 1))
                out[idx] = np.asarray(self.family.sample(jax.random.PRNGKey(seed), pj, idx.size), dtype=float)
        return out


def has_closed_form_m_step(family) -> bool:
    """Whether components of ``family`` take the closed-form M-step of :class:`ClosedFormComponents`:
    the family declares weighted sufficient statistics and their closed-form MLE, and its
    parameters are regular. (The uniform's and Pareto's closed forms are sample extremes, which
    any positive weight, however small, pins to the whole sample: they keep the Newton M-step.)"""
    return (family.statistics is not None and family.closed_form is not None and not family.nonregular
            and not family.param_support and not family.known)


@dataclass(frozen=True)
class ClosedFormComponents(GenericComponents):
    """Components whose M-step is the family's closed form of responsibility-weighted statistics.

    ``statistics(x, r, shift)`` holds, per component (first axis), the family's statistics of
    the rows weighted by ``r[:, j]`` (keys ``s:name``, merged across batches by the family's
    ``merge``), their total ``nk`` and the weighted sum ``x1`` of the first coordinate (for the
    component order); ``m_step_from(sums, shift)`` is the family's ``closed_form`` of each
    component's statistics, in the unconstrained coordinates. ``shift`` is the current ``u``:
    a component whose estimate is undefined (no weight left) keeps its value, and one on the
    edge of its space (a Poisson component of zeros, lam = 0) is held ``U_EDGE`` inside it.

    Example
    -------
    >>> import numpy as np, thetahat
    >>> from thetahat._jax import scope
    >>> from thetahat.em.generic import ClosedFormComponents
    >>> m = ClosedFormComponents.build(thetahat.family("poisson"), 2, np.array([1.0, 2.0]))
    >>> x = np.array([0.0, 1.0, 5.0, 7.0]); r = np.array([[1.0, 0], [1, 0], [0, 1], [0, 1]])
    >>> with scope():
    ...     p = m.m_step(x, r, m.from_natural({"lam": [1.0, 1.0]}))
    ...     lam = m.natural(p)["lam"]
    >>> np.round(np.asarray(lam), 12).tolist()
    [0.5, 6.0]
    """

    name = "closed_form"
    streams = True

    @property
    def additive(self):
        """Whether the family's statistics merge by addition (its ``merge`` is :class:`Family`'s)."""
        return type(self.family).merge is Family.merge

    @property
    def chunked(self):
        # sums over chunks of rows, in memory, where they add (the collapse check reads max:lp)
        return self.additive

    def statistics(self, x, r, shift=None):
        first = x if x.ndim == 1 else x[:, 0]
        if not self.additive:
            st = jax.vmap(self.family.statistics, in_axes=(None, 1))(x, r)
            return {"nk": r.sum(0), "x1": first @ r, **{"s:" + kk: v for kk, v in st.items()}}
        # weighted sums: each row's statistics once, then one product r^T F for all components
        live = (r.sum(1) > 0).astype(r.dtype)  # (a row of no weight, padding, is masked by the family)
        rows = jax.vmap(lambda xi, wi: self.family.statistics(xi[None], wi[None]))(x, live)
        cols = {"nk": jnp.ones_like(first), "x1": first, **{"s:" + kk: v for kk, v in rows.items()}}
        F = jnp.concatenate([jnp.reshape(v, (x.shape[0], -1)) for v in cols.values()], axis=1)
        S, out, at = r.T @ F, {}, 0
        for kk, v in cols.items():
            size = int(np.prod(v.shape[1:], dtype=int))
            out[kk] = S[:, at:at + size].reshape((self.k, *v.shape[1:]))
            at += size
        return out

    def merge(self, a, b):
        """The family's ``merge`` of two parts' statistics, component by component (keys without ``s:``)."""
        if self.additive:
            return {kk: a[kk] + b[kk] for kk in a}
        parts = [self.family.merge({kk: np.asarray(v)[j] for kk, v in a.items()},
                                   {kk: np.asarray(v)[j] for kk, v in b.items()}) for j in range(self.k)]
        return {kk: np.stack([np.asarray(q[kk]) for q in parts]) for kk in parts[0]}

    def _closed(self, st):
        """Each component's closed form, as rows of ``u`` (infinite on an edge, NaN where undefined)."""
        stats = {kk[2:]: jnp.asarray(v) for kk, v in st.items() if kk.startswith("s:")}

        def one(s):
            est = self.family.closed_form(s)
            return jnp.concatenate([jnp.ravel(sl.constraint.inverse(est[sl.name])) for sl in self.layout.slots])

        return jax.vmap(one)(stats)

    def m_step_from(self, st, shift):
        u = self._closed(st)
        u = jnp.where(jnp.isinf(u), jnp.sign(u) * U_EDGE, u)
        return {"u": jnp.where(jnp.isnan(u), shift, u)}

    def log_density(self, x, p):
        if self.family.ndim or any(s.shape for s in self.layout.slots):
            return GenericComponents.log_density(self, x, p)
        # scalar data and parameters: the family's log-density broadcast over (rows, components) at once
        params = jax.vmap(self._params)(p["u"])
        return self.family.logpdf(x[:, None], {n: v[None, :] for n, v in params.items()})

    def shift(self, p):
        """The current ``u``: what a component without weight keeps."""
        return p["u"]

    def m_step(self, x, r, p):
        return self.m_step_from(self.statistics(x, r), p["u"])

    def init_from_labels(self, x, labels):
        """Each group's closed form; the family's start (as for Newton components) where it is not finite."""
        u = self._closed(self.statistics(jnp.asarray(x), jnp.asarray(np.eye(self.k)[labels])))
        ok = jnp.all(jnp.isfinite(u), axis=1, keepdims=True)
        return {"u": jnp.where(ok, u, GenericComponents.init_from_labels(self, x, labels)["u"])}
