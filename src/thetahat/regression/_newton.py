"""Damped Newton for regression likelihoods, with the Hessian assembled as ``X'WX``.

The parameter vector is ``theta = (vec(B), phi)``: the coefficients ``B`` (``p × k``,
stored class by class) and the model's extra parameters ``phi``. The per-observation
log-likelihood depends on ``theta`` only through ``z_i = (x_i'B + offset_i, phi)``, so
JAX differentiates the small function ``l(z_i)`` (exact first and second derivatives,
elementwise over rows, one jitted call) and the chain rule through ``X`` is a handful of
NumPy/BLAS matmuls: ``grad_B = X' g_eta`` and ``H_BB = X' diag(h_eta) X``, the latter a
symmetric rank-k update where ``h_eta <= 0``. ``X`` stays a NumPy array (no device copy of
the design); rows are padded to a few bucket sizes (with zero weight), so a new sample
size seldom recompiles. The canonical-link GLMs (bernoulli and binomial with logit,
poisson with log) skip JAX: their row derivatives have closed forms, and
:mod:`._canonical` computes everything in one blocked pass over ``X``.

Example
-------
>>> import numpy as np
>>> from thetahat.regression.models import get_model
>>> X = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
>>> y = np.array([1.0, 2.0, 2.0, 5.0])
>>> r = newton(get_model("poisson"), X, y, None, None, None, np.zeros(2))
>>> r.converged, round(float(np.exp(r.theta[0] + 1.5 * r.theta[1])), 6)   # fitted mean at x = 1.5
(True, 2.130273)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._jax import jax, jit, jnp
from ..engine.newton import newton_step
from ._canonical import fused_pass, terms_for

def bucket(n: int, pad_all: bool = False) -> int:
    """Padded row count: the next of 2^j · {1, 1.25, 1.5, 1.75} (at most 25 % padding).

    Above 2^18 rows the data are not padded: copying them would cost more than compiling
    (``pad_all``: pad anyway -- streamed batches, whose size repeats, are copied regardless).
    """
    if n <= 64:
        return 64
    if n > 1 << 18 and not pad_all:
        return n
    j = int(np.floor(np.log2(n)))
    for f in (1.0, 1.25, 1.5, 1.75, 2.0):
        b = int(f * (1 << j))
        if b >= n:
            return b
    return 1 << (j + 1)


@dataclass
class Data:
    """Padded rows (weight 0 on padding): ``X`` and ``off`` stay NumPy (the matmuls go to
    the BLAS), ``y``, ``aux``, ``w`` are device arrays for the jitted per-row derivatives."""

    X: np.ndarray
    y: jax.Array
    aux: jax.Array
    w: jax.Array
    off: np.ndarray
    n: int
    scratch: dict = field(default_factory=dict, repr=False)  # the last linear predictor

    @classmethod
    def build(cls, X, y, aux=None, w=None, off=None):
        n, p = X.shape
        b = bucket(n)
        pad = b - n

        def padded(a, fill):
            a = np.asarray(a, dtype=np.float64)
            if pad == 0:
                return a
            return np.concatenate([a, np.full((pad,) + a.shape[1:], fill, dtype=np.float64)])

        yv = np.asarray(y, dtype=np.float64)
        auxv = np.zeros(n) if aux is None else np.asarray(aux, dtype=np.float64)
        if pad:
            Xp = np.empty((b, p))
            Xp[:n] = X
            Xp[n:] = 0.0
        else:
            Xp = np.asarray(X, dtype=np.float64)  # no copy of a float64 design
        return cls(Xp, jnp.asarray(padded(yv, yv[0])), jnp.asarray(padded(auxv, auxv[0])),
                   jnp.asarray(padded(np.ones(n) if w is None else w, 0.0)),
                   padded(np.zeros(n) if off is None else off, 0.0), n)


def _linear_predictor(model, theta, data):
    """(eta, phi); the last eta is kept on ``data``, so that the checks after a fit reuse it."""
    k, p = model.k, data.X.shape[1]
    theta = np.asarray(theta, dtype=np.float64)
    last = data.scratch.get("eta")
    if last is not None and np.array_equal(last[0], theta):
        eta = last[1]
    else:
        B = theta[: p * k].reshape(k, p).T
        eta = data.X @ B
        eta += data.off[:, None]
        data.scratch["eta"] = (theta.copy(), eta)
    return eta, theta[p * k:]


def linear_predictor(model, data: Data, theta):
    """The linear predictors (n × k, NumPy) at ``theta``."""
    return _linear_predictor(model, theta, data)[0][: data.n]


@jit(static_argnums=(0, 1))
def _row_terms(model, hessian, eta, phi, y, aux, w):
    """Weighted per-row derivatives of ``l(eta_i, phi)``: value, d/deta, Σ d/dphi and, with
    ``hessian``, d²/deta², d²/deta dphi, Σ d²/dphi² (padding and zero-weight rows give 0).

    Every op stays elementwise over 1-D columns (a vmapped per-row ``jacfwd`` of ``grad``
    on ``(n, k)`` blocks costs several times more at n = 10^6). The rows are separable, so
    the gradient of ``Σ_i l_i`` with respect to the column ``eta[:, a]`` is the per-row
    derivative, and forward mode through it gives the per-row second derivatives; ``phi``
    is shared, so its derivatives are taken per row by forward mode before summing (a
    non-finite value in a dropped row then stays in that row)."""
    k, m = eta.shape[1], phi.shape[0]
    live = w > 0
    wl = jnp.where(live, w, 0.0)
    cols = tuple(eta[:, a] for a in range(k))

    def rows(cs, ph):
        return jax.vmap(lambda c, yi, ai: model.loglik(jnp.stack(c), ph, yi, ai))(cs, y, aux)

    def grad_eta(cs, ph):
        return jax.grad(lambda c: jnp.sum(rows(c, ph)))(cs)

    def unit_cols(b):
        return tuple(jnp.ones_like(c) if i == b else jnp.zeros_like(c) for i, c in enumerate(cols))

    def unit_phi(j):
        return jnp.zeros_like(phi).at[j].set(1.0)

    def dphi(j):
        return lambda cs, ph: jax.jvp(lambda q: rows(cs, q), (ph,), (unit_phi(j),))[1]

    def weigh(a):
        return jnp.where(live, a, 0.0) * wl

    value = jnp.sum(jnp.where(live, w * rows(cols, phi), 0.0))
    ge = jnp.stack([weigh(g) for g in grad_eta(cols, phi)], axis=1)
    gp = jnp.stack([jnp.sum(weigh(dphi(j)(cols, phi))) for j in range(m)]) if m else jnp.zeros(0)
    if not hessian:
        return value, ge, gp
    hee = [jax.jvp(lambda c: grad_eta(c, phi), (cols,), (unit_cols(b),))[1] for b in range(k)]  # [b][a]
    hee = jnp.stack([jnp.stack([weigh(hee[b][a]) for b in range(k)], axis=1) for a in range(k)], axis=1)
    if m:
        hep = [jax.jvp(lambda q: grad_eta(cols, q), (phi,), (unit_phi(j),))[1] for j in range(m)]  # [j][a]
        hep = jnp.stack([jnp.stack([weigh(hep[j][a]) for j in range(m)], axis=1) for a in range(k)], axis=1)
        hpp = jnp.stack([jnp.stack([jnp.sum(weigh(jax.jvp(lambda q: dphi(i)(cols, q), (phi,), (unit_phi(j),))[1]))
                                    for j in range(m)]) for i in range(m)])
    else:
        hep, hpp = jnp.zeros((eta.shape[0], k, 0)), jnp.zeros((0, 0))
    return value, ge, gp, hee, hep, hpp


BLOCK = 16384  # rows per block of the X'WX update: a block of Z stays in cache (3x faster at n = 10^6)


def _gram(X, h, G=None):
    """``X' diag(h) X`` and, with ``G``, ``X'G``, one pass over ``X`` in row blocks.

    Where ``h <= 0`` throughout (canonical links, every weight) each block's product is
    ``-Z'Z`` with ``Z = X·sqrt(-h)``: NumPy hands ``Z.T @ Z`` to the BLAS's symmetric rank-k
    update (half the flops of a general product, several times faster than XLA's CPU dot)."""
    n, p = X.shape
    H = np.zeros((p, p))
    g = None if G is None else np.zeros((p, G.shape[1]))
    neg = bool(np.all(h <= 0))
    s = np.sqrt(-h) if neg else h
    Z = np.empty((min(BLOCK, n), p))
    for i in range(0, n, BLOCK):
        xb = X[i:i + BLOCK]
        zb = Z[: xb.shape[0]]
        np.multiply(xb, s[i:i + BLOCK, None], out=zb)
        if neg:
            H -= zb.T @ zb
        else:
            H += xb.T @ zb
        if G is not None:
            g += xb.T @ G[i:i + BLOCK]
    return (H + H.T) / 2, g


def _evaluate(model, data: Data, theta, hessian):
    """(value, gradient, Hessian or None, eta) as NumPy; eta has the padded length."""
    terms = terms_for(model)
    if terms is not None:  # canonical GLM: closed-form row terms, one fused pass over X
        theta = np.asarray(theta, dtype=np.float64)
        v, g, H, eta = fused_pass(terms, data, theta, hessian)
        data.scratch["eta"] = (theta.copy(), eta[:, None])
        return v, g, H, eta[:, None]
    eta, phi = _linear_predictor(model, theta, data)
    out = _row_terms(model, hessian, jnp.asarray(eta), jnp.asarray(phi), data.y, data.aux, data.w)
    value, ge, gp = float(out[0]), np.asarray(out[1]), np.asarray(out[2])
    X, k = data.X, model.k
    if not hessian:
        return value, np.concatenate([(X.T @ ge).T.reshape(-1), gp]), None, eta
    hee, hep, hpp = (np.asarray(a) for a in out[3:])
    H_aa, g_b = _gram(X, hee[:, 0, 0], ge)
    rows = []
    for a in range(k):
        blocks = [(H_aa if a == 0 else _gram(X, hee[:, a, a])[0]) if b == a else _gram(X, hee[:, a, b])[0]
                  for b in range(k)]
        blocks.append(X.T @ hep[:, a, :])
        rows.append(np.concatenate(blocks, axis=1))
    rows.append(np.concatenate([(X.T @ hep[:, b, :]).T for b in range(k)] + [hpp], axis=1))
    return value, np.concatenate([g_b.T.reshape(-1), gp]), np.concatenate(rows, axis=0), eta


def derivatives(model, data: Data, theta, ridge=None):
    """(value, gradient, Hessian) as NumPy, with an optional ``-½ Σ λ_j θ_j²`` added."""
    v, g, H, _ = _evaluate(model, data, theta, True)
    return _ridged(v, g, H, theta, ridge)


def value_grad(model, data: Data, theta, ridge=None):
    v, g, _, _ = _evaluate(model, data, theta, False)
    return _ridged(v, g, None, theta, ridge)[:2]


def _ridged(v, g, H, theta, ridge):
    if ridge is not None:
        v -= 0.5 * float(np.sum(ridge * theta ** 2))
        g = g - ridge * theta
        H = None if H is None else H - np.diag(ridge)
    return v, g, H


@dataclass
class NewtonResult:
    theta: np.ndarray
    loglik: float  # the objective (log-likelihood, minus the ridge term if any)
    grad: np.ndarray
    hess: np.ndarray
    iterations: int
    converged: bool
    reason: str
    trace: list
    info: object = None  # what the evaluation of the accepted point gave besides its derivatives


def newton(model, X, y, aux, w, off, theta0, *, ridge=None, max_iter=100, data=None, first_hessian=None,
           chord=False):
    """Maximise the log-likelihood of rows in memory from ``theta0`` by damped Newton
    (:func:`newton_search` with the derivatives of ``model`` on the data)."""
    data = data if data is not None else Data.build(X, y, aux, w, off)

    def evaluate(theta, hessian):
        if hessian:
            return derivatives(model, data, theta, ridge) + (None,)
        return value_grad(model, data, theta, ridge) + (None, None)

    return newton_search(evaluate, theta0, max_iter=max_iter, first_hessian=first_hessian, chord=chord)


def newton_search(evaluate, theta0, *, max_iter=100, first_hessian=None, chord=False) -> NewtonResult:
    """Maximise a regression log-likelihood from ``theta0`` by damped Newton, wherever its
    data live: ``evaluate(theta, hessian)`` returns ``(value, gradient, Hessian or None,
    info)`` -- from rows in memory, or from one pass over streamed files.

    Every accepted step raises the objective (up to rounding); a Hessian that is not
    negative definite is shifted (Levenberg) until it is. Convergence: the Newton
    decrement ``g'(-H)^{-1}g`` below ``1e-12 (1 + |value|)``, then one last full step.

    With ``chord=True`` (large data, a start near the optimum) a Hessian is reused
    while the decrement keeps falling at least 20-fold per step, so most iterations
    cost a gradient instead of ``X'WX``; where the contraction so far predicts that the
    next decrement is below the tolerance, the next point gets a fresh Hessian (the last
    step must be a true Newton step). The Hessian reported
    (for standard errors) is always recomputed at the final estimate.
    """
    st = _Walk(evaluate, theta0)
    if first_hessian is not None:
        first_hessian(st.H)
    if not np.isfinite(st.v):
        return st.result(0, False, "the log-likelihood is not finite at the starting point")
    for it in range(1, max_iter + 1):
        step, shifted = regression_step(st.g, st.H)
        if step is None:
            return st.result(it, False, "the Hessian could not be made negative definite")
        dec = float(st.g @ step)
        tol = 1e-12 * (1.0 + abs(st.v))
        if chord and not st.fresh and (dec > 0.05 * st.last_dec or shifted or dec < tol):
            # refresh when the chord is not contracting, and before the last step, which must be a true
            # Newton step: a chord step only shrinks the error by a constant factor (~1e-7 relative
            # left at 4e5 rows), a Newton step squares it
            st.refresh()
            step, shifted = regression_step(st.g, st.H)
            if step is None:
                return st.result(it, False, "the Hessian could not be made negative definite")
            dec = float(st.g @ step)
        failed = st.line_search(step, dec, tol, shifted, chord)
        if failed is not None:
            done = dec < 1e3 * tol and not shifted
            return st.result(it, done, "converged (no further improvement possible in float64)" if done else
                             "the line search failed to find a step that increases the log-likelihood")
        if dec < tol and not shifted:
            if not st.fresh:
                st.refresh()
            return st.result(it, True, f"converged: Newton decrement {dec:.2g} below {tol:.2g}")
    return st.result(max_iter, False, f"no convergence in {max_iter} Newton iterations")


class _Walk:
    """The state of one regression Newton run."""

    def __init__(self, evaluate, theta0):
        self.evaluate = evaluate
        self.theta = np.asarray(theta0, dtype=float).copy()
        self.v, self.g, self.H, self.info = evaluate(self.theta, True)
        self.fresh, self.last_dec, self.trace = True, np.inf, [self.v]

    def refresh(self):
        self.v, self.g, self.H, self.info = self.evaluate(self.theta, True)
        self.fresh = True

    def result(self, it, converged, reason):
        return NewtonResult(self.theta, self.v, self.g, self.H, it, converged, reason, self.trace, self.info)

    def line_search(self, step, dec, tol, shifted, chord):
        """Backtrack along ``step`` until the value does not fall (by more than rounding at
        the optimum); move there and return None, or return "failed"."""
        t = 1.0
        while True:
            cand = self.theta + t * step
            # the last step brings its Hessian; so does a step after which the chord's contraction so far
            # predicts a decrement below tol (the Hessian is refreshed there anyway: compute it at once)
            last = (dec < tol and not shifted) or (np.isfinite(self.last_dec) and dec * dec < tol * self.last_dec)
            v2, g2, H2, info = self.evaluate(cand, not (chord and t == 1.0 and not last))
            slack = 1e-13 * (1.0 + abs(self.v)) if dec < tol else 0.0
            if np.isfinite(v2) and v2 >= self.v - slack and np.all(np.isfinite(g2)):
                break
            t *= 0.25
            if t < 1e-12:
                return "failed"
        self.theta, self.v, self.g, self.info = cand, v2, g2, info
        self.fresh = H2 is not None
        if self.fresh:
            self.H = H2
        self.last_dec = dec
        self.trace.append(self.v)
        return None


def regression_step(g, H):
    """The Newton step of a regression: the core's damped step (:func:`newton_step`) on the
    Hessian scaled to a unit diagonal, its shift raised from 0 until it is positive
    definite. Returns ``(step, shifted)``; ``(None, True)`` where no shift helped."""
    A = -H
    scale = np.sqrt(np.clip(np.abs(np.diag(A)), 1e-300, None))
    As = A / scale[:, None] / scale[None, :]
    mu = 0.0
    for _ in range(40):
        z, ok = newton_step(g / scale, As, mu)
        if ok and np.all(np.isfinite(z)):
            return z / scale, mu > 0
        mu = 1e-10 if mu == 0 else mu * 10
    return None, True
