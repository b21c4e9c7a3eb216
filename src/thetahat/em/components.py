"""Component models with their own structure, shared by mixtures and hidden Markov models:
Gaussian components (covariance types and a prior), and products of Bernoulli or categorical
items (latent class models). Components of any other family are :mod:`.generic`'s, from the
family itself.

A component model is static configuration (hashable, no data) for ``k`` components
of one family. Its parameters are a dict of JAX arrays, each with the component axis
first, so that permuting components (label switching) is one ``take`` along axis 0.
Every model offers

* ``log_density(x, p)``: the ``(n, k)`` matrix of log f(x_i; theta_j);
* ``m_step(x, r, p)``: the parameters maximising sum_i r_ij log f(x_i; theta_j) for
  each j (closed form where one exists, else damped Newton steps that never lower
  it: a generalised EM step);
* for the closed-form M-steps of sums (normal here; :class:`~.generic.ClosedFormComponents`)
  also ``statistics(x, r, shift)``, the M-step's weighted sums (batches merge them),
  ``m_step_from(sums, shift)`` and ``shift(p)``: ``m_step`` is ``m_step_from`` of the rows'
  sums, so the streamed mixture, which merges the sums over a pass, takes the same M-step;
* ``chunked``: whether an in-memory E-step may sum the statistics over chunks of rows;
* ``pack(p)`` / ``unpack(u)``: a bijection to unconstrained coordinates, through
  which standard errors are computed (observed information plus the delta method);
* ``natural(p)``: the parameters as reported (``mu``, ``sigma``, ``cov``, ``lam``, ...);
* ``from_natural(d)``: the inverse of ``natural`` for user-supplied starting values.

Example
-------
>>> import numpy as np
>>> from thetahat.em.components import BernoulliComponents
>>> m = BernoulliComponents(2, 2)
>>> p = m.from_natural({"p": [[0.5, 0.5], [0.9, 0.2]]})
>>> np.round(np.exp(np.asarray(m.log_density(np.array([[1.0, 0.0]]), p))), 4).tolist()
[[0.25, 0.72]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._jax import jax, jnp, jsl
from .. import constraints as C
from ..errors import OptionError

_LOG2PI = float(np.log(2 * np.pi))
TINY = 10 * np.finfo(np.float64).eps  # added to component totals, as scikit-learn does


def _f(v):
    return jnp.asarray(np.asarray(v, dtype=float))


# ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GaussianComponents:
    """Gaussian components in ``d`` dimensions, covariance ``full``, ``diag``, ``spherical`` or ``tied``.

    Internally every component carries a full ``(d, d)`` covariance (identical copies
    when tied), so the E-step is one code path: the expanded quadratic form through
    the Cholesky factor of each covariance, one matrix product for all components.

    ``prior`` (a length-``d`` tuple ψ) is a weak prior that keeps a component from
    collapsing onto one point: the M-step maximises
    sum_i r_ij log N(x_i; mu_j, S_j) - (1/2) tr(S_j^{-1} diag ψ), whose maximiser is
    S_j = (scatter_j + diag ψ) / N_j. EM is then exact for the penalised likelihood,
    so its trace is non-decreasing; ψ = 0 gives plain maximum likelihood.
    """

    k: int
    d: int
    cov_type: str = "full"
    prior: tuple = ()
    univariate: bool = False  # report mu, sigma as (k,) vectors (the "normal" family)

    name = "gaussian"
    chunked = True  # in memory, the E-step sums the statistics over chunks of rows (mixture_memory)
    streams = True  # a streamed mixture merges the statistics over batches (streamed)

    @property
    def family_name(self):
        return "normal" if self.univariate else "mvnormal"

    def _x(self, x):
        return x[:, None] if x.ndim == 1 else x

    def log_density(self, x, p):
        x = self._x(x)
        mu, cov = p["mu"], p["cov"]
        L = jnp.linalg.cholesky(cov)  # (k, d, d)
        eye = jnp.eye(self.d)
        Linv = jax.vmap(lambda l: jsl.solve_triangular(l, eye, lower=True))(L)  # L^{-1}
        W = jnp.swapaxes(Linv, 1, 2)  # z = (x - mu) L^{-T}: one matmul for every component
        Wf = jnp.transpose(W, (1, 0, 2)).reshape(self.d, self.k * self.d)
        y = (x @ Wf).reshape(x.shape[0], self.k, self.d) - jnp.einsum("kd,kde->ke", mu, W)[None]
        logdet = 2 * jnp.sum(jnp.log(jnp.diagonal(L, axis1=1, axis2=2)), axis=1)
        return -0.5 * (self.d * _LOG2PI + logdet)[None, :] - 0.5 * jnp.sum(y * y, axis=2)

    def statistics(self, x, r, shift):
        """The sums the M-step needs, about ``shift`` (k, d): ``nk`` = sum_i r_ij,
        ``sx`` = sum_i r_ij (x_i - m_j), ``sxx`` = sum_i r_ij (x_i - m_j)(x_i - m_j)^T. Sums of
        batches merge by addition (the streamed mixture adds them over a pass)."""
        diff = self._x(x)[:, None, :] - shift[None]
        return {"nk": r.sum(0), "sx": jnp.einsum("nk,nkd->kd", r, diff),
                "sxx": jnp.einsum("nk,nkd,nke->kde", r, diff, diff)}

    def m_step_from(self, st, shift):
        """The M-step from :meth:`statistics` about ``shift``: mu = m + sx / N, and the scatter
        about mu is sxx - sx sx^T (2 / N - N_raw / N^2), exactly (N = N_raw + TINY)."""
        nk_raw = jnp.asarray(st["nk"])
        nk, sx = nk_raw + TINY, jnp.asarray(st["sx"])
        mu = shift + sx / nk[:, None]
        outer = sx[:, :, None] * sx[:, None, :]
        scatter = jnp.asarray(st["sxx"]) - outer * (2.0 / nk - nk_raw / nk**2)[:, None, None]
        psi = jnp.asarray(self.prior, dtype=jnp.float64) if self.prior else jnp.zeros(self.d)
        eye = jnp.eye(self.d)
        if self.cov_type == "full":
            cov = (scatter + jnp.diag(psi)[None]) / nk[:, None, None]
        elif self.cov_type == "diag":
            dg = jnp.diagonal(scatter, axis1=1, axis2=2)
            cov = ((dg + psi[None]) / nk[:, None])[:, :, None] * eye[None]
        elif self.cov_type == "spherical":
            tr = jnp.trace(scatter, axis1=1, axis2=2)
            cov = ((tr + psi.sum()) / (self.d * nk))[:, None, None] * eye[None]
        else:  # tied
            pooled = (scatter.sum(0) + jnp.diag(psi)) / nk.sum()
            cov = jnp.broadcast_to(pooled, (self.k, self.d, self.d))
        return {"mu": mu, "cov": 0.5 * (cov + jnp.swapaxes(cov, 1, 2))}

    def shift(self, p):
        """The point the M-step's sums are taken about: the current means."""
        return p["mu"]

    def m_step(self, x, r, p):
        # the sums about the new means themselves: the scatter has no cancellation when
        # |mean| >> sd, and sx is zero (what its sum holds is rounding, which the correction
        # would turn into a negative variance of a component on one point)
        shift = (r.T @ self._x(x)) / (r.sum(0) + TINY)[:, None]
        return self.m_step_from({**self.statistics(x, r, shift), "sx": jnp.zeros_like(shift)}, shift)

    def log_prior(self, p):
        if not self.prior:
            return 0.0
        psi = jnp.asarray(self.prior, dtype=jnp.float64)
        cov = p["cov"][:1] if self.cov_type == "tied" else p["cov"]
        inv_diag = jax.vmap(lambda c: jnp.diagonal(jnp.linalg.inv(c)))(cov)
        return -0.5 * jnp.sum(inv_diag * psi[None])

    # ---- coordinates ----------------------------------------------------------------
    def pack(self, p):
        mu, cov = np.asarray(p["mu"]), np.asarray(p["cov"])
        parts = [mu.ravel()]
        if self.cov_type == "full":
            parts += [np.asarray(C.positive_definite.inverse(c)) for c in cov]
        elif self.cov_type == "diag":
            parts.append(np.log(np.diagonal(cov, axis1=1, axis2=2)).ravel())
        elif self.cov_type == "spherical":
            parts.append(np.log(cov[:, 0, 0]))
        else:
            parts.append(np.asarray(C.positive_definite.inverse(cov[0])))
        return np.concatenate(parts)

    def unpack(self, u):
        k, d = self.k, self.d
        mu = u[: k * d].reshape(k, d)
        rest = u[k * d:]
        eye = jnp.eye(d)
        if self.cov_type == "full":
            m = d * (d + 1) // 2
            cov = jnp.stack([C.positive_definite.forward(rest[j * m:(j + 1) * m]) for j in range(k)])
        elif self.cov_type == "diag":
            cov = jnp.exp(rest.reshape(k, d))[:, :, None] * eye[None]
        elif self.cov_type == "spherical":
            cov = jnp.exp(rest)[:, None, None] * eye[None]
        else:
            cov = jnp.broadcast_to(C.positive_definite.forward(rest), (k, d, d))
        return {"mu": mu, "cov": cov}

    @property
    def n_free(self):
        k, d = self.k, self.d
        per = {"full": k * d * (d + 1) // 2, "diag": k * d, "spherical": k, "tied": d * (d + 1) // 2}
        return k * d + per[self.cov_type]

    def natural(self, p):
        mu, cov = p["mu"], p["cov"]
        if self.univariate:
            return {"mu": mu[:, 0], "sigma": jnp.sqrt(cov[:, 0, 0])}
        if self.cov_type == "full":
            return {"mu": mu, "cov": cov}
        if self.cov_type == "diag":
            return {"mu": mu, "var": jnp.diagonal(cov, axis1=1, axis2=2)}
        if self.cov_type == "spherical":
            return {"mu": mu, "var": cov[:, 0, 0]}
        return {"mu": mu, "cov": cov[0]}

    def from_natural(self, d):
        k, dd = self.k, self.d
        mu = np.asarray(_need(d, "mu"), dtype=float).reshape(k, dd)
        if self.univariate:
            s = np.asarray(_need(d, "sigma"), dtype=float).reshape(k)
            cov = (s**2)[:, None, None] * np.ones((k, 1, 1))
        elif self.cov_type == "full":
            cov = np.asarray(_need(d, "cov"), dtype=float).reshape(k, dd, dd)
        elif self.cov_type == "diag":
            cov = np.asarray(_need(d, "var"), dtype=float).reshape(k, dd)[:, :, None] * np.eye(dd)[None]
        elif self.cov_type == "spherical":
            cov = np.asarray(_need(d, "var"), dtype=float).reshape(k)[:, None, None] * np.eye(dd)[None]
        else:
            cov = np.broadcast_to(np.asarray(_need(d, "cov"), dtype=float).reshape(dd, dd), (k, dd, dd)).copy()
        for j in range(k):
            if not C.positive_definite.check(cov[j]):
                raise OptionError(f"starting covariance of component {j} is not symmetric positive definite")
        return {"mu": _f(mu), "cov": _f(cov)}

    def init_from_labels(self, x, labels):
        x = np.asarray(self._x(x))
        r = np.eye(self.k)[labels]
        return self.m_step(jnp.asarray(x), jnp.asarray(r), None)

    def sample(self, rng, p, labels):
        mu, cov = np.asarray(p["mu"]), np.asarray(p["cov"])
        L = np.linalg.cholesky(cov)
        z = rng.standard_normal((labels.size, self.d))
        out = mu[labels] + np.einsum("nde,ne->nd", L[labels], z)
        return out[:, 0] if self.univariate else out


def _need(d, key):
    if key not in d:
        raise OptionError(f"starting values need {key!r}; got {', '.join(map(repr, d)) or 'nothing'}")
    return d[key]


# ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BernoulliComponents:
    """Products of ``d`` independent Bernoullis (latent class model for binary items).

    M-step: p_jc = sum_i r_ij x_ic / N_j.
    """

    k: int
    d: int
    name = "bernoulli"
    family_name = "bernoulli"
    chunked = streams = False

    def _x(self, x):
        return x[:, None] if x.ndim == 1 else x

    def log_density(self, x, p):
        x = self._x(x)
        q = p["p"]  # (k, d)
        return x @ jnp.log(q).T + (1 - x) @ jnp.log1p(-q).T

    def m_step(self, x, r, p):
        x = self._x(x)
        q = (r.T @ x) / (r.sum(0) + TINY)[:, None]
        return {"p": jnp.clip(q, 1e-12, 1 - 1e-12)}

    def log_prior(self, p):
        return 0.0

    def pack(self, p):
        q = np.asarray(p["p"])
        return (np.log(q) - np.log1p(-q)).ravel()

    def unpack(self, u):
        return {"p": jax.nn.sigmoid(u).reshape(self.k, self.d)}

    n_free = property(lambda self: self.k * self.d)

    def natural(self, p):
        return {"p": p["p"][:, 0] if self.d == 1 else p["p"]}

    def from_natural(self, d):
        q = np.asarray(_need(d, "p"), dtype=float).reshape(self.k, self.d)
        if np.any((q <= 0) | (q >= 1)):
            raise OptionError("starting probabilities p must lie strictly between 0 and 1")
        return {"p": _f(q)}

    def init_from_labels(self, x, labels):
        return self.m_step(jnp.asarray(x), jnp.asarray(np.eye(self.k)[labels]), None)

    def sample(self, rng, p, labels):
        out = (rng.random((labels.size, self.d)) < np.asarray(p["p"])[labels]).astype(float)
        return out[:, 0] if self.d == 1 else out


@dataclass(frozen=True)
class CategoricalComponents:
    """Products of ``d`` independent categorical items with labels 0..K-1.

    M-step: p_jcm = sum_i r_ij [x_ic = m] / N_j. With ``d = 1`` this is the usual
    categorical emission of a hidden Markov model.
    """

    k: int
    d: int
    n_symbols: int
    name = "categorical"
    family_name = "categorical"
    chunked = streams = False

    def _onehot(self, x):
        x = x[:, None] if x.ndim == 1 else x
        return jax.nn.one_hot(x.astype(jnp.int32), self.n_symbols, dtype=jnp.float64)  # (n, d, K)

    def log_density(self, x, p):
        oh = self._onehot(x)
        lp = jnp.log(p["p"])  # (k, d, K)
        return jnp.einsum("ndm,kdm->nk", oh, jnp.where(jnp.isfinite(lp), lp, -1e300))

    def m_step(self, x, r, p):
        oh = self._onehot(x)
        counts = jnp.einsum("nk,ndm->kdm", r, oh)
        q = counts / (counts.sum(-1, keepdims=True) + TINY)
        return {"p": jnp.clip(q, 1e-300, None)}

    def log_prior(self, p):
        return 0.0

    def pack(self, p):
        q = np.asarray(p["p"])
        return (np.log(q[..., :-1]) - np.log(q[..., -1:])).ravel()

    def unpack(self, u):
        z = u.reshape(self.k, self.d, self.n_symbols - 1)
        z = jnp.concatenate([z, jnp.zeros((self.k, self.d, 1))], axis=-1)
        return {"p": jax.nn.softmax(z, axis=-1)}

    n_free = property(lambda self: self.k * self.d * (self.n_symbols - 1))

    def natural(self, p):
        return {"p": p["p"][:, 0, :] if self.d == 1 else p["p"]}

    def from_natural(self, d):
        q = np.asarray(_need(d, "p"), dtype=float).reshape(self.k, self.d, self.n_symbols)
        if np.any(q <= 0) or not np.allclose(q.sum(-1), 1.0, atol=1e-9):
            raise OptionError(f"starting probabilities p must be positive and sum to 1 over the "
                              f"{self.n_symbols} symbols")
        return {"p": _f(q)}

    def init_from_labels(self, x, labels):
        r = np.eye(self.k)[labels]
        q = self.m_step(jnp.asarray(x), jnp.asarray(r), None)["p"]
        q = (q + 0.5 / self.n_symbols) / (1 + 0.5)  # keep every symbol possible at the start
        return {"p": q / q.sum(-1, keepdims=True)}

    def sample(self, rng, p, labels):
        q = np.asarray(p["p"])[labels]  # (n, d, K)
        u = rng.random(q.shape[:2])[..., None]
        out = (q.cumsum(-1) < u).sum(-1).clip(0, self.n_symbols - 1).astype(float)
        return out[:, 0] if self.d == 1 else out
