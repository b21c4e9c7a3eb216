"""The end of a mixture fit: Newton steps on the marginal log-likelihood, and the test of its gradient.

EM converges linearly, at a rate set by the fraction of information the latent labels
carry; where components overlap that rate is close to 1, and EM's stopping rule (a small
change of the objective per iteration) is met long before the estimates are: a normal
mixture can stop with a variance 1e-4 relative short of the MLE. So once EM has stopped by
its rule, the fit takes damped Newton steps on the observed-data (marginal) objective
itself, with its exact gradient and Hessian by autodiff, in the unconstrained coordinates
of the standard errors (the weights' logits against the last component, then the
components' ``pack`` coordinates: means, log variances or log-Cholesky factors, log rates,
logits, ...). Each step is the Newton step of the Hessian made negative definite (``-H``
scaled to a unit diagonal, its eigenvalues ``lambda`` replaced by
``max(|lambda|, 1e-12 max|lambda|)``), halved until the objective does not fall.

The verdict is the gradient's: the fit has converged when the gain a Newton step predicts,
``g' M^{-1} g / 2`` (``M`` that modified ``-H``; ``sqrt(2 gain)`` is the distance to the
maximum in standard errors), is at most ``GAIN_TOL`` times ``max(1, |objective|)``. That
measures the gradient in the metric of the observed information, so it does not depend on
the units of the data; its value at a maximum is a rounding error of order ``eps^2 n``. A
stationary point where the objective still curves upward along some direction (a saddle)
has not converged either.

Example
-------
>>> import numpy as np
>>> from thetahat.em.polish import newton_gain
>>> g, H = np.array([2.0, 0.0]), -np.diag([4.0, 1.0])
>>> float(newton_gain(g, H)[0])  # g^2 / (2 * 4)
0.5
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

GAIN_TOL = 1e-12  # converged: a Newton step would add at most this, relative to max(1, |objective|)
STOP_GAIN = 1e-20  # the steps end when the predicted gain is below this (relative): rounding level ...
ROUNDING = 4 * np.finfo(float).eps  # (a step may lower the objective by this, relative: its rounding error)
RIDGE = 0.1  # a step that cut the gain by less than this factor: linear progress, no quadratic phase (a
#              probability creeping towards 0 or 1, whose supremum is at the boundary) ...
RIDGE_MARGIN = 1e-3  # ... where the steps end once the gain is below this times GAIN_TOL
MAX_DOUBLINGS = 30  # along such a ridge a step may be doubled up to this many times
NEWTON_STEPS = 30
MAX_HALVINGS = 40
EIG_FLOOR = 1e-12  # eigenvalues of -H below this fraction of the largest are raised to it
SADDLE_TOL = 1e-8  # a relative upward curvature above this: a saddle point, not a maximum
CHUNK = 1 << 15
WORK = 1 << 21  # rows x parameters per chunk of a Hessian evaluation


# ---- coordinates ----------------------------------------------------------------------------
def to_unconstrained(model, p, logw):
    """The unconstrained vector of a mixture: the weights' logits against the last component,
    then ``model.pack(p)``."""
    logw = np.asarray(logw, dtype=float)
    return np.concatenate([logw[:-1] - logw[-1], model.pack(p)])


def from_unconstrained(model, u):
    """``(p, logw)`` of the unconstrained vector ``u`` (JAX arrays)."""
    import jax
    import jax.numpy as jnp

    u = jnp.asarray(u)
    z = jnp.concatenate([u[: model.k - 1], jnp.zeros(1)])
    return model.unpack(u[model.k - 1:]), jax.nn.log_softmax(z)


@lru_cache(maxsize=None)
def loglik_functions(model):
    """Per component model, jitted: the (weighted) log-likelihood of a chunk of rows with its
    gradient and Hessian, ``f(u, x, w) -> (ll, g, H)``; the same without the Hessian,
    ``f(u, x, w) -> (ll, g)``; and the log prior with both, ``f(u) -> (lp, g, H)``."""
    import jax
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    def rows(u, x, w):
        p, lw = from_unconstrained(model, u)
        lp = model.log_density(x, p) + lw[None]
        return jnp.sum(w * logsumexp(lp, axis=1))

    def prior(u):
        p, _ = from_unconstrained(model, u)
        return jnp.asarray(model.log_prior(p), dtype=jnp.float64)

    def three(f):
        return jax.jit(lambda *a: (*jax.value_and_grad(f)(*a), jax.hessian(f)(*a)))

    return three(rows), jax.jit(jax.value_and_grad(rows)), three(prior)


def chunk_rows(n_params):
    """Rows per chunk of a Hessian evaluation: 2^15, fewer for many parameters (the forward
    directions of the Hessian hold ``rows x parameters`` intermediate values at once)."""
    return int(max(1024, min(CHUNK, 2 ** int(np.log2(max(1.0, WORK / max(1, n_params)))))))


def padded_chunks(x, size):
    """``(rows, weights)`` chunks of ``size`` rows; when there are several, the last one is
    padded with zero weights so that every chunk has one shape."""
    n = x.shape[0]
    for s in range(0, n, size):
        xc = x[s:s + size]
        m = xc.shape[0]
        w = np.ones(m)
        if m < size and n > size:
            xc = np.concatenate([xc, np.repeat(xc[-1:], size - m, axis=0)])
            w = np.concatenate([w, np.zeros(size - m)])
        yield xc, w


def loglik_derivatives(model, x, u, hessian=True):
    """``(ll, g, H)``: the log-likelihood of the rows ``x`` at ``u``, its gradient and (with
    ``hessian``; else ``None``) its Hessian, summed over chunks of :func:`chunk_rows` rows."""
    import jax.numpy as jnp

    full, grad, _ = loglik_functions(model)
    uj = jnp.asarray(u)
    ll, g, H = 0.0, np.zeros(u.size), np.zeros((u.size, u.size)) if hessian else None
    for xc, w in padded_chunks(x, chunk_rows(u.size) if hessian else CHUNK):
        out = (full if hessian else grad)(uj, jnp.asarray(xc), jnp.asarray(w))
        ll, g = ll + float(out[0]), g + np.asarray(out[1])
        if hessian:
            H = H + np.asarray(out[2])
    return ll, g, H


def prior_derivatives(model, u):
    """``(lp, g, H)`` of the model's log prior (zeros without one)."""
    if not getattr(model, "prior", ()):
        return 0.0, np.zeros(u.size), np.zeros((u.size, u.size))
    import jax.numpy as jnp

    _, _, f = loglik_functions(model)
    v, g, H = f(jnp.asarray(u))
    return float(v), np.asarray(g), np.asarray(H)


# ---- Newton ---------------------------------------------------------------------------------
def _modified(H):
    """``(s, V, lam)``: the Jacobi scaling ``s = |diag H|^(-1/2)``, the eigenvectors of the scaled
    ``-s H s`` and its eigenvalues made at least ``EIG_FLOOR`` times the largest in absolute
    value (scaling first, so that a coordinate of tiny curvature -- a probability near 0 --
    keeps its own Newton step)."""
    d = np.abs(np.diag(H))
    s = 1.0 / np.sqrt(np.where(d > 0, d, 1.0))
    S = -(H + H.T) / 2 * s[:, None] * s[None, :]
    lam, V = np.linalg.eigh(S)
    top = float(np.max(np.abs(lam))) if lam.size else 0.0
    floor = max(EIG_FLOOR * top, np.finfo(float).tiny)
    return s, V, np.maximum(np.abs(lam), floor)


def newton_gain(g, H):
    """``(gain, step)``: the gain ``g' M^{-1} g / 2`` a Newton step predicts and the step
    ``M^{-1} g``, ``M`` the negated Hessian, Jacobi-scaled, with its eigenvalues made at least
    ``EIG_FLOOR`` times the largest (``M = -H`` where ``-H`` is well-conditioned positive
    definite). ``(inf, None)`` if ``g`` or ``H`` is not finite."""
    g, H = np.asarray(g, dtype=float), np.asarray(H, dtype=float)
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
        return float("inf"), None
    if g.size == 0:
        return 0.0, g
    s, V, lam = _modified(H)
    c = V.T @ (s * g)
    return float(0.5 * np.sum(c * c / lam)), s * (V @ (c / lam))


@dataclass
class Polish:
    """The outcome of :func:`newton_polish`.

    ``u`` the final coordinates, ``value``/``g``/``H`` the objective and its derivatives
    there (``parts`` whatever the evaluation returned besides), ``values`` the objective
    after each accepted step, ``gain`` the gain a further Newton step predicts, ``failure``
    why the steps ended early (``None`` if they did not).
    """

    u: np.ndarray
    value: float
    g: np.ndarray
    H: np.ndarray
    parts: object
    values: list
    gain: float
    failure: str | None

    @property
    def steps(self):
        return len(self.values)

    @property
    def max_abs_gradient(self):
        return float(np.max(np.abs(self.g))) if self.g.size else 0.0


def _line_search(evaluate, u, value, step, valid, expand):
    """``(u, evaluate(u, False))`` of the accepted point along ``step`` from ``u``, or ``None``.

    The step is halved until the objective is finite, valid and not below ``value`` by more
    than rounding (``ROUNDING |value|``); with ``expand`` (progress along a ridge) a full step
    that was accepted is doubled while the objective keeps rising."""
    def ok(cand, out, floor):
        return np.isfinite(out[0]) and out[0] >= floor and (valid is None or valid(cand, out[3]))

    t = 1.0
    for _ in range(MAX_HALVINGS):
        cand = u + t * step
        out = evaluate(cand, False)
        if ok(cand, out, value - ROUNDING * abs(value)):
            break
        t /= 2
    else:
        return None
    best = (cand, out)
    if expand and t == 1.0:
        for _ in range(MAX_DOUBLINGS):
            t *= 2
            cand = u + t * step
            out = evaluate(cand, False)
            if not (ok(cand, out, best[1][0]) and out[0] > best[1][0]):
                break
            best = (cand, out)
    return best


def _done(gain, value, slow):
    """Whether the steps may end: the predicted gain at rounding level, or (``slow``: creeping
    along a ridge to a boundary) well inside the convergence tolerance."""
    scale = max(1.0, abs(value))
    return gain <= STOP_GAIN * scale or (slow and gain <= RIDGE_MARGIN * GAIN_TOL * scale)


def newton_polish(evaluate, u0, valid=None, max_steps=NEWTON_STEPS, final_hessian=False):
    """Damped Newton ascent of an objective from ``u0``.

    ``evaluate(u, hessian) -> (value, g, H, parts)`` (``H`` None without ``hessian``);
    ``valid(u, parts) -> bool`` may refuse a point (a collapsed component). The Hessian is
    evaluated at ``u0`` and kept while the steps cut the predicted gain at least tenfold
    (near the maximum it changes little, and a gradient costs a fraction of a Hessian);
    otherwise, and before the steps may end (:func:`_done`), it is evaluated afresh. Each
    step goes through :func:`_line_search`. The steps end when :func:`_done` holds with a
    fresh Hessian, when a step leaves the objective unchanged in floating point, after
    ``max_steps``, or when no step is accepted. With ``final_hessian`` the Hessian is
    evaluated at the final point if it is not already.
    """
    u = np.asarray(u0, dtype=float)
    value, g, H, parts = evaluate(u, True)
    values, failure, slow, fresh = [], None, False, True
    if not np.isfinite(value):
        return Polish(u, value, g, H, parts, values, float("inf"), "the objective is not finite at the EM estimate")
    gain, step = newton_gain(g, H)
    for _ in range(max_steps):
        if _done(gain, value, slow) and not fresh:
            value, g, H, parts = evaluate(u, True)
            fresh, (gain, step) = True, newton_gain(g, H)
        if _done(gain, value, slow):
            break
        if step is None:
            failure = "the gradient or Hessian is not finite"
            break
        new = _line_search(evaluate, u, value, step, valid, slow)
        if new is None:
            failure = "no step along the Newton direction, however short, kept the objective from falling"
            break
        same = new[1][0] == value
        (u, (value, g, _, parts)), fresh = new, False
        values.append(value)
        before, (gain, step) = gain, newton_gain(g, H)
        if gain > RIDGE * before or same:  # slow progress, or none: judge it with a fresh Hessian
            value, g, H, parts = evaluate(u, True)
            fresh, (gain, step) = True, newton_gain(g, H)
        slow = gain > RIDGE * before
        if same:
            if not converged_gain(gain, value):
                failure = "a Newton step no longer changed the objective in floating point"
            break
    else:
        if not _done(gain, value, slow) and max_steps:
            failure = f"{max_steps} Newton step{'s' if max_steps != 1 else ''} did not reach a stationary point"
    if final_hessian and not fresh:
        value, g, H, parts = evaluate(u, True)
        gain = newton_gain(g, H)[0]
    return Polish(u, value, g, H, parts, values, gain, failure)


def check_steps(steps):
    """The number of Newton steps as an int; refuses a negative or non-integer one."""
    from ..errors import OptionError

    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise OptionError(f"newton_steps must be a non-negative integer, got {steps!r}")
    return int(steps)


def converged_gain(gain, value):
    """Whether the predicted gain of a Newton step is small enough to call the fit converged."""
    return bool(np.isfinite(gain) and gain <= GAIN_TOL * max(1.0, abs(value)))


def gradient_phrase(pol):
    """How far from stationary the end of :func:`newton_polish` is, in words."""
    return (f"the largest gradient entry of the log-likelihood (unconstrained coordinates) is "
            f"{pol.max_abs_gradient:.3g} and a Newton step would gain {pol.gain:.3g} "
            f"(tolerance {GAIN_TOL:g} x max(1, |objective|) = {GAIN_TOL * max(1.0, abs(pol.value)):.3g})")


def upward_curvature(H):
    """The largest eigenvalue of ``H`` relative to its largest absolute eigenvalue: clearly
    positive (above ``SADDLE_TOL``; rounding leaves ~1e-16) at a saddle point, where the
    objective still rises along some direction."""
    H = np.asarray(H, dtype=float)
    if H.size == 0 or not np.all(np.isfinite(H)):
        return 0.0
    lam = np.linalg.eigvalsh((H + H.T) / 2)
    top = float(np.max(np.abs(lam)))
    return float(lam[-1]) / top if top > 0 else 0.0


def polish_verdict(em_reason, pol):
    """``(converged, reason)`` after EM stopped (by its rule or ``max_iter``) and
    :func:`newton_polish` ran: converged if the predicted gain passes :func:`converged_gain`
    and the point is not a saddle (:func:`upward_curvature` at most ``SADDLE_TOL``)."""
    ok = converged_gain(pol.gain, pol.value)
    steps = f"{pol.steps} Newton step{'s' if pol.steps != 1 else ''} on the marginal log-likelihood"
    up = upward_curvature(pol.H) if ok else 0.0
    if ok and up > SADDLE_TOL:
        return False, (f"{em_reason}; then {steps}: a stationary point ({gradient_phrase(pol)}) but not a "
                       f"maximum: the log-likelihood curves upward along some direction (relative curvature "
                       f"{up:.3g}), a saddle point; use other starts (starts=, seed=, start=)")
    if ok:
        return True, f"{em_reason}; then {steps}: {gradient_phrase(pol)}"
    why = f" (Newton polish failed: {pol.failure})" if pol.failure else ""
    return False, f"EM stopped ({em_reason}), but after {steps} {gradient_phrase(pol)}{why}"
