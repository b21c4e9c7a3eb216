"""The Levenberg–Marquardt loop of :mod:`._lm`, compiled whole: one ``jax.lax.while_loop``.

Same algorithm, step for step: Moré's scaling, the trust-region step from the SVD of
``J D⁻¹`` with the secular equation solved to 10 %, MINPACK's acceptance ratio, update of
Δ and convergence tests, then the Gauss–Newton polish. Only the bookkeeping differs: the
stopping reason travels as an integer code (turned into words by :func:`reason_text`), the
trace of sums of squares is a fixed buffer of ``max_iter + polish + 1`` entries, and the
loop over trial steps inside one Jacobian has a safety cap. A fit is then ONE compiled call
instead of two per iteration (the Python loop cost 0.1–0.5 ms per iteration in dispatch).

Example
-------
>>> import jax.numpy as jnp, numpy as np
>>> x = jnp.array([0.0, 1.0, 2.0, 3.0]); y = 2.0 * jnp.exp(-0.5 * x)
>>> resid = lambda b, a: b[0] * jnp.exp(-b[1] * a[0]) - a[1]
>>> solve = make_solver(resid)
>>> v = solve(jnp.array([1.0, 1.0]), (x, y), 1e-15, 1e-15, 1e-15, 1.0, 0.0, max_iter=100, polish=8)
>>> out = unpack(v, 4, 2)
>>> out["code"] in CONVERGED, np.round(np.asarray(out["theta"]), 12).tolist()
(True, [2.0, 0.5])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np

from .._jax import jax, jnp

EPS = float(np.finfo(float).eps)
RUNNING, GTOL, FTOL, XTOL, ZERO, EPSF, COLLAPSE, MAXITER, BAD_START = range(9)
CONVERGED = (GTOL, FTOL, XTOL, ZERO, EPSF)
INNER_CAP = 10_000  # trial steps for one Jacobian (MINPACK has no cap: Δ shrinks ≥ 10-fold per trial)


@dataclass
class LMResult:
    theta: np.ndarray
    r: np.ndarray
    J: np.ndarray
    rss: float
    converged: bool
    reason: str
    iterations: int
    nfev: int
    rss_trace: list = field(default_factory=list)  # after each accepted step, the start first
    gradient_cosine: float = float("nan")



def reason_text(code, gcos, ftol, xtol, gtol, max_iter):
    """(reason, converged) for a stopping code, in the words of :mod:`._lm`."""
    if code == GTOL:
        return f"gradient orthogonal to the residuals (cosine {gcos:.1e} <= gtol {gtol:g})", True
    if code == FTOL:
        return f"relative reduction of the sum of squares below ftol ({ftol:g})", True
    if code == XTOL:
        return f"relative step size below xtol ({xtol:g})", True
    if code == ZERO:
        return "the residuals are exactly zero", True
    if code == EPSF:
        return "no further reduction possible at machine precision", True
    if code == COLLAPSE:
        reason = "the trust region shrank to machine precision"
        if gcos <= 1e-6:
            return reason, True
        return reason + f" away from a stationary point (gradient cosine {gcos:.1e})", False
    return f"reached max_iter = {max_iter} Jacobian evaluations", False


def _gradient_cosine(J, r, colnorm, fnorm):
    g = jnp.abs(J.T @ r)
    safe = jnp.where(colnorm > 0, colnorm * fnorm, 1.0)
    cos = jnp.where(colnorm > 0, g / safe, 0.0)
    return jnp.where(fnorm == 0, 0.0, jnp.max(cos))


def _secular(s, c, delta, rank_tol):
    """λ ≥ 0 and the scaled step q with ``||q|| ≈ Δ`` (10 %): the secular equation of MINPACK's lmpar, as a loop."""
    sc = s * c
    keep = s > rank_tol
    s2 = s * s
    q0 = jnp.where(keep, sc / jnp.where(keep, s2, 1.0), 0.0)
    n0 = jnp.linalg.norm(q0)

    def cond(st):
        i, lam, lo, hi, done, lam_out, q_out = st
        return (~done) & (i < 60)

    def body(st):
        i, lam, lo, hi, done, lam_out, q_out = st
        q = jnp.where(lam <= 0.0, q0, sc / (s2 + lam))
        nq = jnp.linalg.norm(q)
        hit = jnp.abs(nq - delta) <= 0.1 * delta
        lo2 = jnp.where(nq > delta, jnp.maximum(lo, lam), lo)
        hi2 = jnp.where(nq > delta, hi, jnp.minimum(hi, lam))
        dn = -jnp.sum(q * q / (s2 + lam)) / nq
        new = jnp.where(lam > 0, lam - (nq / delta) * (nq - delta) / dn, -1.0)
        new = jnp.where((lo2 < new) & (new < hi2), new, jnp.maximum(0.001 * hi2, jnp.sqrt(lo2 * hi2)))
        return (i + 1, jnp.where(hit, lam, new), jnp.where(hit, lo, lo2), jnp.where(hit, hi, hi2), hit,
                jnp.where(hit, lam, lam_out), jnp.where(hit, q, q_out))

    small = n0 <= 1.1 * delta
    st = (0, 0.0, 0.0, jnp.linalg.norm(sc) / delta, small, 0.0, q0)
    _, lam, _, _, done, lam_out, q_out = jax.lax.while_loop(cond, body, st)
    return jnp.where(done, lam_out, lam), jnp.where(done, q_out, sc / (s2 + lam))


def make_solver(resid):
    """A jitted ``solve(theta0, args, ftol, xtol, gtol, factor, noise, *, max_iter, polish)`` for
    residuals ``resid(theta, args)``. It returns ONE float64 vector (a single transfer off the
    device), which :func:`unpack` turns into a dict of NumPy arrays."""
    def resjac(theta, args):
        return resid(theta, args), jax.jacfwd(resid)(theta, args)

    def packed(theta0, args, ftol, xtol, gtol, factor, noise, *, max_iter, polish):
        st = _solve(resid, resjac, theta0, args, ftol, xtol, gtol, factor, noise, max_iter=max_iter, polish=polish)
        return jnp.concatenate([jnp.ravel(jnp.asarray(st[k], dtype=jnp.float64)) for k in PACKED])

    return jax.jit(packed, static_argnames=("max_iter", "polish"))


PACKED = ("code", "it", "nfev", "ntr", "bad_start", "fnorm", "gcos", "gcos_final", "theta", "r", "J", "trace")


def unpack(v, n, p):
    """The solver's packed vector as a dict: scalars as Python numbers, arrays as NumPy."""
    v = np.asarray(v)
    out = {k: int(v[i]) for i, k in enumerate(PACKED[:5])}
    out.update({k: float(v[5 + i]) for i, k in enumerate(PACKED[5:8])})
    i = 8
    for k, size, shape in (("theta", p, (p,)), ("r", n, (n,)), ("J", n * p, (n, p))):
        out[k] = v[i:i + size].reshape(shape)
        i += size
    out["trace"] = v[i:i + out["ntr"]]
    return out


def _solve(resid, resjac, theta0, args, ftol, xtol, gtol, factor, noise, *, max_iter, polish):
    """The whole fit, traced: Levenberg–Marquardt iterations from ``theta0`` (none from a start
    whose residuals or Jacobian are not finite), then the Gauss–Newton polish of a converged
    fit. Returns the final state, a dict holding every entry of :data:`PACKED`."""
    st = _start_state(resjac, theta0, args, max_iter + polish + 1)
    bad_start = st["code"] == BAD_START
    m = max(st["J"].shape)
    iteration = partial(_iteration, resid, resjac, args, ftol, xtol, gtol, factor, m)

    def outer_cond(st):
        return (st["code"] == RUNNING) & (st["it"] < max_iter)

    st = jax.lax.cond(st["code"] == RUNNING, lambda s: jax.lax.while_loop(outer_cond, iteration, s), lambda s: s,
                      st)
    st["code"] = jnp.where(st["code"] == RUNNING, MAXITER, st["code"])
    converged = jnp.isin(st["code"], jnp.array(CONVERGED)) | ((st["code"] == COLLAPSE) & (st["gcos"] <= 1e-6))
    if polish:
        st = jax.lax.cond(converged, lambda s: _polish(resjac, args, s, polish, noise),
                          lambda s: _refresh(resjac, args, s), st)
    else:
        st = _refresh(resjac, args, st)
    colnorm = jnp.linalg.norm(st["J"], axis=0)
    st["gcos_final"] = _gradient_cosine(st["J"], st["r"], colnorm, st["fnorm"])
    st["bad_start"] = bad_start
    return st


def _start_state(resjac, theta0, args, trace_size):
    """The loop's state at ``theta0``: residuals, Jacobian, the trace buffer holding the first
    sum of squares, and the code ``BAD_START`` when either is not finite."""
    theta0 = jnp.asarray(theta0, dtype=jnp.float64)
    r, J = resjac(theta0, args)
    bad_start = ~(jnp.all(jnp.isfinite(r)) & jnp.all(jnp.isfinite(J)))
    fnorm = jnp.linalg.norm(r)
    trace = jnp.full(trace_size, jnp.nan).at[0].set(fnorm ** 2)
    return dict(theta=theta0, r=r, J=J, fnorm=fnorm, D=jnp.ones_like(theta0), delta=0.0, xnorm=0.0,
                first=True, it=0, nfev=1, code=jnp.where(bad_start, BAD_START, RUNNING), gcos=jnp.nan,
                trace=trace, ntr=1)


def _iteration(resid, resjac, args, ftol, xtol, gtol, factor, m, st):
    """One Jacobian: the scaling, the gradient test, the SVD of ``J D⁻¹``, trial steps until
    one is accepted, then the Jacobian at the new point (while the fit runs on)."""
    st = dict(st)
    st["it"] = st["it"] + 1
    J, r = st["J"], st["r"]
    colnorm = jnp.linalg.norm(J, axis=0)
    st.update(_scaling(st, colnorm, factor))
    gcos = _gradient_cosine(J, r, colnorm, st["fnorm"])
    st["gcos"] = gcos
    st["code"] = jnp.where(gcos <= gtol, GTOL, RUNNING)
    U, s, Vt = jnp.linalg.svd(J / st["D"], full_matrices=False)
    c = -(U.T @ r)
    rank_tol = s[0] * EPS * m
    st = _trials(st, partial(_trial, resid, args, s, c, Vt, st["D"], rank_tol, ftol, xtol))
    go = st["code"] == RUNNING
    r2, J2 = jax.lax.cond(go, lambda th: resjac(th, args), lambda th: (st["r"], st["J"]), st["theta"])
    st["r"], st["J"] = r2, J2
    st["nfev"] = st["nfev"] + go.astype(int)
    return st


def _scaling(st, colnorm, factor):
    """Moré's scaling ``D`` (the largest column norms seen), and at the first iteration the
    initial ``||D θ||`` and trust radius ``Δ = factor ||D θ||`` (``factor`` when that is 0)."""
    init = st["it"] == 1
    D = jnp.where(init, jnp.where(colnorm > 0, colnorm, 1.0), jnp.maximum(st["D"], colnorm))
    xnorm0 = jnp.linalg.norm(D * st["theta"])
    return dict(D=D, xnorm=jnp.where(init, xnorm0, st["xnorm"]),
                delta=jnp.where(init, jnp.where(xnorm0 > 0, factor * xnorm0, factor), st["delta"]))


TRIAL_KEYS = ("theta", "r", "fnorm", "delta", "xnorm", "first", "nfev", "code")  # what a trial step changes


def _trials(st, trial):
    """Trial steps (``trial``: one of them) for one Jacobian, until one is accepted, a test
    stops the fit, or ``INNER_CAP`` trials (then ``MAXITER``); the accepted step's sum of
    squares is appended to the trace."""

    def cond(it):
        return (it["code"] == RUNNING) & ~it["accepted"] & (it["n"] < INNER_CAP)

    # the trace stays out of the trial loop: a loop that carries a buffer of more than ~50
    # entries ran ~1.5x slower (NIST Misra1a: 0.18 against 0.12 ms), and a trial loop accepts
    # one step at most, so its entry is written here
    it = {k: st[k] for k in TRIAL_KEYS}
    it.update(accepted=False, n=0)
    it = jax.lax.while_loop(cond, trial, it)
    st = dict(st)
    for k in TRIAL_KEYS:
        st[k] = it[k]
    acc = it["accepted"]
    st["trace"] = st["trace"].at[st["ntr"]].set(jnp.where(acc, it["fnorm"] ** 2, st["trace"][st["ntr"]]))
    st["ntr"] = st["ntr"] + acc.astype(int)
    st["code"] = jnp.where((it["code"] == RUNNING) & ~it["accepted"], MAXITER, st["code"])
    return st


def _trial(resid, args, s, c, Vt, D, rank_tol, ftol, xtol, it):
    """One trial step: the trust-region step for Δ from the SVD ``(s, c = -Uᵀr, Vt)``, accepted
    when MINPACK's ratio of actual to predicted reduction is at least 1e-4, with the new Δ and
    the convergence tests."""
    it = dict(it)
    lam, q = _secular(s, c, it["delta"], rank_tol)
    z = Vt.T @ q
    step = z / D
    pnorm = jnp.linalg.norm(z)
    delta = jnp.where(it["first"], jnp.minimum(it["delta"], pnorm), it["delta"])
    it["first"] = False
    trial = it["theta"] + step
    r1 = resid(trial, args)
    it["nfev"] = it["nfev"] + 1
    fnorm = it["fnorm"]
    fnorm1 = jnp.where(jnp.all(jnp.isfinite(r1)), jnp.linalg.norm(r1), jnp.inf)
    actred, prered, ratio, delta = _reduction(s, q, lam, pnorm, fnorm, fnorm1, delta)
    acc = ratio >= 1e-4
    it["theta"] = jnp.where(acc, trial, it["theta"])
    it["r"] = jnp.where(acc, r1, it["r"])
    fnorm = jnp.where(acc, fnorm1, fnorm)
    it["fnorm"] = fnorm
    xnorm = jnp.where(acc, jnp.linalg.norm(D * it["theta"]), it["xnorm"])
    code = _stop_code(actred, prered, ratio, delta, xnorm, fnorm, ftol, xtol)
    it.update(delta=delta, xnorm=xnorm, code=code, accepted=acc, n=it["n"] + 1)
    return it


def _reduction(s, q, lam, pnorm, fnorm, fnorm1, delta):
    """MINPACK's actual and predicted relative reductions of ``||r||²`` for the scaled step
    ``q`` (norm ``pnorm``, Levenberg parameter ``lam``), their ratio, and the updated Δ."""
    actred = jnp.where(0.1 * fnorm1 < fnorm, 1.0 - (fnorm1 / fnorm) ** 2, -1.0)
    jnorm = jnp.linalg.norm(s * q)
    t1 = jnp.where(fnorm > 0, jnorm / fnorm, 0.0)
    t2 = jnp.where(fnorm > 0, jnp.sqrt(lam) * pnorm / fnorm, 0.0)
    prered = t1 * t1 + 2.0 * t2 * t2
    dirder = -(t1 * t1 + t2 * t2)
    ratio = jnp.where(prered != 0, actred / prered, 0.0)
    temp = jnp.where(actred >= 0, 0.5, 0.5 * dirder / (dirder + 0.5 * actred))
    temp = jnp.where((0.1 * fnorm1 >= fnorm) | (temp < 0.1), 0.1, temp)
    delta = jnp.where(ratio <= 0.25, temp * jnp.minimum(delta, pnorm / 0.1),
                      jnp.where((lam == 0.0) | (ratio >= 0.75), pnorm / 0.5, delta))
    return actred, prered, ratio, delta


def _stop_code(actred, prered, ratio, delta, xnorm, fnorm, ftol, xtol):
    """MINPACK's convergence tests after a trial step, as a code (``RUNNING`` if none holds)."""
    small = (0.5 * ratio <= 1)
    return jnp.select(
        [(jnp.abs(actred) <= ftol) & (prered <= ftol) & small, delta <= xtol * xnorm, fnorm == 0.0,
         (jnp.abs(actred) <= EPS) & (prered <= EPS) & small, delta <= EPS * xnorm],
        [FTOL, XTOL, ZERO, EPSF, COLLAPSE], RUNNING)


def _refresh(resjac, args, st):
    st = dict(st)
    st["r"], st["J"] = resjac(st["theta"], args)
    return st


def _polish(resjac, args, st, steps, noise):
    # see ._lm._polish: a Gauss–Newton step is kept when it lowers ||r||, or raises it by no
    # more than rounding and lowers the largest gradient cosine
    st = dict(st)
    r, J = resjac(st["theta"], args)
    gcos = _gradient_cosine(J, r, jnp.linalg.norm(J, axis=0), st["fnorm"])
    # the kept steps' sums of squares go to a buffer of ``steps`` entries, copied into the trace
    # after the loop (see the trial loop in _solve: no long buffer inside a loop)
    ps = dict(theta=st["theta"], r=r, J=J, fnorm=st["fnorm"], gcos=gcos, nfev=st["nfev"] + 1,
              kept=jnp.full(steps, jnp.nan), m=0, k=0, stop=False)

    def cond(ps):
        return (~ps["stop"]) & (ps["k"] < steps)

    def body(ps):
        ps = dict(ps)
        step = jnp.linalg.lstsq(ps["J"], -ps["r"])[0]
        trial = ps["theta"] + step
        r1, J1 = resjac(trial, args)
        ps["nfev"] = ps["nfev"] + 1
        finite = jnp.all(jnp.isfinite(r1)) & jnp.all(jnp.isfinite(J1))
        f1 = jnp.linalg.norm(r1)
        g1 = _gradient_cosine(J1, r1, jnp.linalg.norm(J1, axis=0), f1)
        fnorm = ps["fnorm"]
        keep = finite & ((f1 < fnorm) | ((f1 <= fnorm * (1 + 8 * EPS) + noise) & (g1 < ps["gcos"])))
        ps["theta"] = jnp.where(keep, trial, ps["theta"])
        ps["r"] = jnp.where(keep, r1, ps["r"])
        ps["J"] = jnp.where(keep, J1, ps["J"])
        ps["fnorm"] = jnp.where(keep, f1, fnorm)
        ps["gcos"] = jnp.where(keep, g1, ps["gcos"])
        ps["kept"] = ps["kept"].at[ps["m"]].set(jnp.where(keep, f1 ** 2, ps["kept"][ps["m"]]))
        ps["m"] = ps["m"] + keep.astype(int)
        tiny = jnp.all(jnp.abs(step) <= 4 * EPS * jnp.abs(ps["theta"]))
        ps["stop"] = ~keep | tiny
        ps["k"] = ps["k"] + 1
        return ps

    ps = jax.lax.while_loop(cond, body, ps)
    for k in ("theta", "r", "J", "fnorm", "nfev"):
        st[k] = ps[k]
    # kept steps are consecutive (the loop stops at the first step it does not keep); the unused
    # tail of the buffer lands past the new ntr, where the trace is not read
    st["trace"] = jax.lax.dynamic_update_slice(st["trace"], ps["kept"], (st["ntr"],))
    st["ntr"] = st["ntr"] + ps["m"]
    return st
