"""Components of any thetahat family, with a weighted Newton M-step.

The parameters of component ``j`` live in the family's unconstrained coordinates
(``engine.layout.Layout``), one row ``u[j]`` each. The M-step maximises
Q_j(u) = sum_i r_ij log f(x_i; theta(u)) for all components at once (``vmap``) with a
few damped Newton steps from the current value, each accepted only if Q_j does not
fall. That is a generalised EM step: the likelihood still never decreases, and at a
fixed point the score of every Q_j vanishes, so the fixed point is a stationary point
of the mixture likelihood, as with an exact M-step.

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

NEWTON_STEPS = 6
MAX_HALVINGS = 40


@dataclass(frozen=True)
class GenericComponents:
    family: object
    k: int
    layout: Layout
    name = "generic"

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
