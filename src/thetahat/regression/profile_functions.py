"""The profile likelihood of a function g(b) of a regression's coefficients (a ratio b1/b2, a
product, any smooth function written with ``jax.numpy``).

``ℓ_p(t) = max ℓ(θ)`` subject to ``g(b) = t``, over all the parameters θ (the coefficients b and
the model's extra parameters), is found by Newton's method on the Lagrange (KKT) system

    ∇ℓ(θ) - λ ∇g(θ) = 0,   g(θ) - t = 0,

with the regression's exact gradient and Hessian of ℓ (:func:`._newton.derivatives`) and JAX's of
g, each step halved until the KKT residual falls; the same method as ``Fit.transform(g)``'s
profiles (:mod:`thetahat.inference.profile`). Each ``ℓ_p(t)`` is warm started from the nearest
point already solved, and :func:`thetahat.inference.profile.interval` walks the profile to its
crossings of the cutoff, as for a coefficient.

Example
-------
>>> import numpy as np, thetahat
>>> rng = np.random.default_rng(0)
>>> X = np.column_stack([np.ones(200), rng.normal(size=(200, 2))])
>>> y = rng.poisson(np.exp(0.2 + 0.5 * X[:, 1] + 0.25 * X[:, 2])).astype(float)
>>> f = thetahat.regress(X, y=y, family="poisson")
>>> lo, hi = f.confint(method="profile", params={"x1 / x2": lambda b: b["x1"] / b["x2"]})["x1 / x2"]
>>> bool(lo < f.params["x1"] / f.params["x2"] < hi)
True
"""

from __future__ import annotations

import numpy as np

from .._jax import jax, jnp
from ._newton import derivatives

MAX_ITER = 100


class FunctionProfile:
    """The profile of ``g(b)`` in the shape :func:`thetahat.inference.profile.interval` walks:
    ``loglik(t) -> (value, state)``, with ``state`` the parameters and the multiplier there."""

    bounded_coordinate = False

    def __init__(self, fit, data, name, g, coefs):
        st = fit._state
        self.fit, self.model, self.data, self.name = fit, st["model"], data, name
        self.theta_hat = np.asarray(st["theta"], dtype=float)
        nb = len(coefs)

        def gu(theta):
            return jnp.asarray(g({k: theta[i] for i, k in enumerate(coefs)}), dtype=jnp.float64).reshape(())

        self.g, self.dg, self.d2g = jax.jit(gu), jax.jit(jax.grad(gu)), jax.jit(jax.hessian(gu))
        self.s_hat = float(self.g(jnp.asarray(self.theta_hat)))
        a = np.asarray(self.dg(jnp.asarray(self.theta_hat)))[:nb]
        var = float(a @ fit.cov[:nb, :nb] @ a) if fit.cov is not None else float("nan")
        self.step = np.sqrt(var) if var > 0 else 0.1 * (1.0 + abs(self.s_hat))
        self.solved = {self.s_hat: (float(fit.loglik), (self.theta_hat, 0.0))}

    def value_at(self, t):
        return float(t)

    def bound(self, side):
        return -np.inf if side < 0 else np.inf

    def loglik(self, t):
        """``ℓ_p(t)`` and ``(θ, λ)`` there (see :func:`walk_to`)."""
        return walk_to(self.solved, t, lambda target, state: self._solve(target, *state))

    def _residual(self, theta, lam, t):
        v, grad, H = derivatives(self.model, self.data, theta)
        th = jnp.asarray(theta)
        gval, dg = float(self.g(th)) - t, np.asarray(self.dg(th))
        r = np.concatenate([grad - lam * dg, [gval]])
        return v, r, H, dg, np.asarray(self.d2g(th))

    def _solve(self, t, theta, lam):
        """Newton on the KKT system from ``(theta, lam)``: ``(ℓ, (θ, λ))`` at the constrained
        maximum, or ``(nan, None)`` where it is not reached."""
        theta = np.asarray(theta, dtype=float)
        v, r, H, dg, d2g = self._residual(theta, lam, t)
        for _ in range(MAX_ITER):
            scale = 1.0 + abs(lam) * float(np.linalg.norm(dg))
            if abs(r[-1]) <= 1e-12 * (1.0 + abs(t)) and np.linalg.norm(r[:-1]) <= 1e-8 * scale:
                return float(v), (theta, lam)
            n = theta.size
            K = np.zeros((n + 1, n + 1))
            K[:n, :n], K[:n, n], K[n, :n] = H - lam * d2g, -dg, dg
            try:
                step = np.linalg.solve(K, -r)
            except np.linalg.LinAlgError:
                return float("nan"), None
            norm, a = float(np.linalg.norm(r)), 1.0
            for _ in range(30):  # halve until the KKT residual falls
                cand = theta + a * step[:n], lam + a * step[n]
                out = self._residual(cand[0], cand[1], t)
                if np.isfinite(out[0]) and np.all(np.isfinite(out[1])) and np.linalg.norm(out[1]) < norm:
                    break
                a /= 2.0
            else:
                return float("nan"), None
            (theta, lam), (v, r, H, dg, d2g) = cand, out
        return float("nan"), None


def walk_to(solved, t, solve, tries=60):
    """``solve(t, state)`` started from the nearest point in ``solved`` (``{t: (value, state)}``);
    where it fails from there (``state`` None), the way to ``t`` is walked in shorter steps, each
    started from the last (halved on failure, doubled on success), so every start is inside the
    model's space. ``(nan, None)`` where ``t`` cannot be reached."""
    cur = min(solved, key=lambda k: abs(k - t))
    h = t - cur
    for _ in range(tries):
        target = t if abs(h) >= abs(t - cur) else cur + h
        value, state = solve(target, solved[cur][1])
        if state is None:
            h /= 2.0
            if abs(h) < 1e-12 * (1.0 + abs(t)):
                return float("nan"), None
            continue
        if target == t:
            return value, state
        solved[target] = (value, state)
        cur, h = target, 2.0 * h
    return float("nan"), None
