"""``thetahat.hmm``: hidden Markov models by Baum-Welch, with Viterbi paths and standard errors.

Several sequences are concatenated into one time axis with a flag at each sequence
start. The forward and backward recursions are written as products of k x k matrices,

    alpha_t = alpha_{t-1} M_t,    M_t = A diag(b_t)            (inside a sequence)
                                  M_t = 1 (pi o b_t)^T         (at a sequence start),

so the rank-one matrix at a start restarts the recursion from pi while carrying the
previous sequences' likelihood in its scale. Time is cut into blocks of about sqrt(T) steps: the
products inside every block are formed by one ``lax.scan`` over the block, vectorised
across the blocks, and a k-vector is then carried across the blocks (a second, short
scan). Each partial product is normalised by its largest entry with the log of the
scale carried alongside: positive matrices, so there is no cancellation, and no
underflow however long T is. (``jax.lax.associative_scan`` gives the same products in
log depth but took 10 s to compile; a plain scan over T steps is latency-bound.)
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import _jax  # noqa: F401  (float64)
from ..errors import OptionError
from . import _common as cm
from .hmm_result import HMMFit

TOL = 1e-10
MAX_ITER = 1000


def hmm(sequences, k, emission="normal", *, lengths=None, cov_type="full", n_symbols=None, starts=1, seed=0,
        max_iter=MAX_ITER, tol=TOL, start=None, cov_prior="auto", se=True):
    """Fit a hidden Markov model with ``k`` states by Baum-Welch (EM).

    Parameters
    ----------
    sequences : array_like or list of array_like
        One sequence (1-D, or 2-D rows for ``mvnormal``), or a list of sequences of
        different lengths; or one concatenated array with ``lengths``.
    k : int
        Number of hidden states.
    emission : str or Family
        ``"normal"``, ``"mvnormal"``, ``"poisson"``, ``"exponential"``, ``"categorical"``
        (symbols 0..n_symbols-1), ``"bernoulli"`` (closed-form M-steps), or any thetahat
        family (a weighted Newton M-step).
    lengths : list of int, optional
        Lengths of the sequences in a concatenated array (as hmmlearn's ``lengths``).
    cov_type : {"full", "diag", "spherical", "tied"}
        Covariance of ``mvnormal`` emissions.
    n_symbols : int, optional
        Alphabet size of categorical emissions (default: largest symbol + 1); a symbol
        outside it is an error.
    starts, seed, max_iter, tol, cov_prior, se
        As in :func:`thetahat.mixture`. ``start`` takes ``start`` (initial
        distribution), ``transition`` (k x k, rows sum to 1) and the emission
        parameters (``mu``, ``sigma``, ``lam``, ``p``, ...).

    Returns
    -------
    HMMFit

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> x = np.r_[np.zeros(30), np.full(30, 5.0), np.zeros(30)] + np.tile([-0.5, 0.5], 45)
    >>> f = thetahat.hmm(x, 2)
    >>> np.round(f.params["mu"], 3).tolist(), f.viterbi()[0][[0, 45, 89]].tolist()
    ([0.0, 5.0], [0, 1, 0])
    """
    k = cm.check_k(k, "states")
    if int(starts) < 1:
        raise OptionError(f"starts must be at least 1, got {starts}")
    if int(max_iter) < 1 or not np.isfinite(tol) or tol < 0:
        raise OptionError("max_iter must be at least 1 and tol non-negative")
    key = cm.family_key(emission)
    seqs = split_sequences(sequences, lengths, key)
    x = np.concatenate(seqs, axis=0)
    lens = [s.shape[0] for s in seqs]
    is_start = np.zeros(x.shape[0], dtype=bool)
    is_start[np.cumsum([0] + lens[:-1])] = True
    model = cm.build_model(key, x, k, cov_type, cov_prior, n_symbols=n_symbols)
    cm.check_distinct(x, k, "states")

    import jax.numpy as jnp

    xp, sp, wp = pad(x, is_start)
    xj, sj, wj = jnp.asarray(xp), jnp.asarray(sp), jnp.asarray(wp)
    runner = _runner(model, int(max_iter))
    rng = np.random.default_rng(seed)
    runs = []
    tol_total = float(tol) * x.shape[0]
    if start is not None:
        runs.append(runner(xj, sj, wj, *_from_start(model, start, k), tol_total))
    for _ in range(int(starts) if start is None else int(starts) - 1):
        labels = cm.kmeans_labels(x, k, rng)
        p0 = model.init_from_labels(x, labels)
        A0 = np.full((k, k), 0.5 / k) + 0.5 * np.eye(k)
        runs.append(runner(xj, sj, wj, p0, jnp.full(k, -np.log(k)), jnp.log(jnp.asarray(A0)), tol_total))
    best = max(runs, key=lambda r: float(r[4]) if np.isfinite(float(r[4])) else -np.inf)
    from .hmm_fit import build_result

    return build_result(model, x, is_start, lens, best, len(runs), int(max_iter), float(tol), se)


def split_sequences(sequences, lengths, key):
    """A list of validated float64 sequences (each of length >= 2; NaN names its sequence and row)."""
    if isinstance(sequences, (list, tuple)) and len(sequences) and lengths is None and \
            all(np.ndim(s) >= 1 for s in sequences) and \
            not all(np.ndim(s) == 0 for s in sequences):
        raw = list(sequences)
    else:
        arr = np.asarray(sequences) if not isinstance(sequences, (str, bytes)) else sequences
        if lengths is None:
            raw = [arr]
        else:
            lens = [int(v) for v in lengths]
            if any(v < 0 for v in lens) or sum(lens) != len(arr):
                raise cm.SequenceError(f"lengths sum to {sum(lens)} but the data have {len(arr)} rows")
            raw = np.split(arr, np.cumsum(lens)[:-1])
    if not raw:
        raise cm.SequenceError("no sequences were given")
    out = []
    for i, s in enumerate(raw):
        where = "the sequence" if len(raw) == 1 else f"sequence {i}"
        xs = cm.as_data(s, key, where=where)
        if xs.shape[0] < 2:
            raise cm.SequenceError(f"{where} has {xs.shape[0]} observation{'s' if xs.shape[0] != 1 else ''}; a "
                                   "hidden Markov model needs sequences of length at least 2")
        out.append(xs)
    if len({s.shape[1:] for s in out}) > 1:
        raise cm.SequenceError("the sequences have different numbers of columns: "
                               + ", ".join(str(s.shape[1:]) for s in out))
    return out


def _from_start(model, start, k):
    import jax.numpy as jnp

    start = dict(start)
    pi = np.asarray(start.pop("start", np.full(k, 1.0 / k)), dtype=float)
    A = np.asarray(start.pop("transition", None) if "transition" in start else np.full((k, k), 1.0 / k), dtype=float)
    if pi.shape != (k,) or np.any(pi < 0) or abs(pi.sum() - 1) > 1e-9:
        raise OptionError(f"the starting 'start' distribution must be {k} non-negative numbers summing to 1")
    if A.shape != (k, k) or np.any(A < 0) or np.any(np.abs(A.sum(1) - 1) > 1e-9):
        raise OptionError(f"the starting 'transition' matrix must be {k} x {k} with non-negative rows summing to 1")
    with np.errstate(divide="ignore"):
        return model.from_natural(start), jnp.asarray(np.log(pi)), jnp.asarray(np.log(A))


# ---- forward-backward ---------------------------------------------------------------------
MIN_BLOCK, MAX_BLOCK = 16, 1024


def _cap(T):
    """About sqrt(T), a power of two: sequential steps inside a block plus steps across blocks
    (each a fixed latency on the CPU) are then fewest."""
    return int(min(max(2 ** round(np.log2(max(T, 1)) / 2), MIN_BLOCK), MAX_BLOCK))


def block_length(Tp):
    """The block length for a padded length ``Tp``: the largest power of two that divides it, up to the cap."""
    L = _cap(Tp)
    while Tp % L:
        L //= 2
    return L


def padded_length(T):
    L = _cap(T)
    return -(-T // L) * L


def pad(x, is_start):
    """Pad the time axis to a multiple of the block length with weight-0 rows (their emission density
    is set to 1, so they change neither the likelihood nor any posterior)."""
    T = x.shape[0]
    Tp = padded_length(T)
    w = np.zeros(Tp)
    w[:T] = 1.0
    xp = np.concatenate([x, np.repeat(x[-1:], Tp - T, axis=0)]) if Tp > T else x
    sp = np.concatenate([is_start, np.zeros(Tp - T, dtype=bool)])
    return xp, sp, w


def transition_matrices(logb, is_start, w, log_pi, log_A):
    """(T, k, k) scaled matrices M_t, their log scales, and the scaled emission densities."""
    import jax.numpy as jnp

    logb = jnp.where(w[:, None] > 0, logb, 0.0)
    m = jnp.max(logb, axis=1)
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    b = jnp.exp(logb - m[:, None])
    A, pi = jnp.exp(log_A), jnp.exp(log_pi)
    k = A.shape[0]
    M = jnp.where(is_start[:, None, None], jnp.ones((k, 1)) * (pi * b)[:, None, :], A[None] * b[:, None, :])
    s = jnp.max(M, axis=(1, 2))
    s = jnp.where(s > 0, s, 1.0)
    return M / s[:, None, None], jnp.log(s) + m, b


def _bmm(a, b):
    """Batched k x k products as a broadcast multiply and sum: for small k, XLA's CPU batched
    ``dot`` is several times slower than this fused elementwise loop."""
    return (a[..., :, :, None] * b[..., None, :, :]).sum(-2)


def _norm(P):
    import jax.numpy as jnp

    s = jnp.max(P, axis=(-2, -1))
    s = jnp.where(s > 0, s, 1.0)
    return P / s[..., None, None], jnp.log(s)


def _prefix(M, c):
    """Scaled prefix products M_1 ... M_t: products inside each block of block_length(T) steps (one
    ``lax.scan`` over the block, vectorised across blocks), then a row vector carried
    across the blocks. Returns the normalised forward vectors (T, k) and the log-likelihood."""
    import jax
    import jax.numpy as jnp

    T, k = M.shape[0], M.shape[1]
    L = block_length(T)
    C = T // L
    Mb = M.reshape(C, L, k, k).swapaxes(0, 1)
    cb = c.reshape(C, L).T

    def within(carry, inp):
        P, s = carry
        P, ls = _norm(_bmm(P, inp[0]))
        s = s + inp[1] + ls
        return (P, s), (P, s)

    init = (jnp.broadcast_to(jnp.eye(k), (C, k, k)), jnp.zeros(C))
    _, (Pw, sw) = jax.lax.scan(within, init, (Mb, cb))

    def across(carry, inp):
        v, s = carry
        v2 = v @ inp[0]
        t = jnp.sum(v2)
        return (v2 / t, s + inp[1] + jnp.log(t)), v

    (_, ll), vstart = jax.lax.scan(across, (jnp.full(k, 1.0 / k), 0.0), (Pw[-1], sw[-1]))
    alpha = jnp.einsum("ck,lckj->clj", vstart, Pw).reshape(T, k)
    return alpha / alpha.sum(1, keepdims=True), ll


def _suffix(M):
    """Normalised backward vectors beta_t = M_{t+1} ... M_T 1, blocked like :func:`_prefix`."""
    import jax
    import jax.numpy as jnp

    T, k = M.shape[0], M.shape[1]
    L = block_length(T)
    C = T // L
    N = jnp.concatenate([M[1:], jnp.eye(k)[None]])
    Nb = N.reshape(C, L, k, k).swapaxes(0, 1)

    def within(S, Nt):
        S, _ = _norm(_bmm(Nt, S))
        return S, S

    _, Sw = jax.lax.scan(within, jnp.broadcast_to(jnp.eye(k), (C, k, k)), Nb, reverse=True)

    def across(u, B):
        u2 = B @ u
        return u2 / jnp.sum(u2), u

    _, uafter = jax.lax.scan(across, jnp.ones(k) / k, Sw[0], reverse=True)
    beta = jnp.einsum("lcij,cj->cli", Sw, uafter).reshape(T, k)
    return beta / beta.sum(1, keepdims=True)


def forward_loglik(logb, is_start, w, log_pi, log_A):
    """Total log-likelihood of all sequences (differentiable: used for standard errors)."""
    M, c, _ = transition_matrices(logb, is_start, w, log_pi, log_A)
    return _prefix(M, c)[1]


def forward_backward(logb, is_start, w, log_pi, log_A):
    """Posterior state probabilities gamma (T, k), summed pair posteriors (k, k), loglik."""
    import jax.numpy as jnp

    M, c, b = transition_matrices(logb, is_start, w, log_pi, log_A)
    alpha, ll = _prefix(M, c)
    beta = _suffix(M)
    gamma = alpha * beta
    gamma = gamma / gamma.sum(1, keepdims=True)
    A = jnp.exp(log_A)
    xi = alpha[:-1, :, None] * A[None] * (b * beta)[1:, None, :]
    xi = xi / xi.sum((1, 2), keepdims=True)
    drop = is_start[1:] | (w[1:] == 0)
    xi_sum = jnp.sum(jnp.where(drop[:, None, None], 0.0, xi), axis=0)
    return gamma * w[:, None], xi_sum, ll


@lru_cache(maxsize=None)
def _runner(model, max_iter):
    import jax
    import jax.numpy as jnp

    def run(x, is_start, w, p, log_pi, log_A, tol_total):
        trace = jnp.full(max_iter + 1, jnp.nan)

        def body(c):
            it, p, log_pi, log_A, trace, prev, _ = c
            gamma, xi, ll = forward_backward(model.log_density(x, p), is_start, w, log_pi, log_A)
            obj = ll + model.log_prior(p)
            trace = trace.at[it].set(obj)
            stop = (jnp.abs(obj - prev) <= tol_total) | (it >= max_iter) | ~jnp.isfinite(obj)
            g0 = jnp.sum(jnp.where(is_start[:, None], gamma, 0.0), axis=0)
            new_pi = jnp.log(g0 / g0.sum())
            new_A = jnp.log(xi / xi.sum(1, keepdims=True))
            p_new = model.m_step(x, gamma, p)
            keep = lambda a, b: jnp.where(stop, a, b)  # noqa: E731
            return (it + jnp.where(stop, 0, 1), jax.tree_util.tree_map(keep, p, p_new), keep(log_pi, new_pi),
                    keep(log_A, new_A), trace, obj, stop)

        c = (0, p, log_pi, log_A, trace, -jnp.inf, False)
        it, p, log_pi, log_A, trace, obj, _ = jax.lax.while_loop(lambda c: ~c[6], body, c)
        gamma, _, ll = forward_backward(model.log_density(x, p), is_start, w, log_pi, log_A)
        return it, p, log_pi, log_A, obj, ll, trace, gamma

    return jax.jit(run)


@lru_cache(maxsize=None)
def viterbi_fn():
    """Most probable state path of the concatenated sequences (log space, one ``lax.scan``)."""
    import jax
    import jax.numpy as jnp

    def run(logb, is_start, log_pi, log_A):
        d0 = log_pi + logb[0]

        def step(d, inp):
            lb, st = inp
            # at a sequence start the previous state does not matter: any predecessor, then pi
            cand = jnp.where(st, d[:, None] + jnp.zeros_like(log_A), d[:, None] + log_A)
            bp = jnp.argmax(cand, axis=0)
            best = jnp.max(cand, axis=0)
            new = jnp.where(st, best + log_pi, best) + lb
            return new, bp

        dT, bps = jax.lax.scan(step, d0, (logb[1:], is_start[1:]))
        last = jnp.argmax(dT)

        def back(s, bp):
            prev = bp[s]
            return prev, prev

        _, path = jax.lax.scan(back, last, bps, reverse=True)
        return jnp.concatenate([path, last[None]]), jnp.max(dT)

    return jax.jit(run)
