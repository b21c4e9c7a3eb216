"""``thetahat.hmm``: hidden Markov models by Baum-Welch, with Viterbi paths and standard errors.

Several sequences are concatenated into one time axis with a flag at each sequence
start. The forward and backward recursions are products of k x k matrices,

    alpha_t = alpha_{t-1} M_t,    M_t = A diag(b_t)            (inside a sequence)
                                  M_t = 1 (pi o b_t)^T         (at a sequence start),

so the rank-one matrix at a start restarts the recursion from pi while carrying the
previous sequences' likelihood in its scale; segments may therefore cross sequence boundaries.

Forward-backward is parallel in time by segments (a plain scan over T steps is latency-bound
on the CPU): time is cut into S segments of L ~ sqrt(2 T) steps, laid out as (L, k, S) so that
every step works on S contiguous lanes. One scan of L steps forms every segment's product
P_s (normalised, log scale alongside); a short scan across the S segments gives the forward
vector entering and the backward vector leaving each segment, and the log-likelihood; then a
forward scan and a backward scan of L steps run the scaled recursions inside all segments at
once, the backward one also producing the posteriors and summing the pair posteriors, so no
(T, k, k) array is formed. Sequential depth ~ 3 L + S instead of T; float64 throughout and the
same E-step quantities as the textbook recursion, so the EM update is unchanged.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._jax import x64
from ..errors import OptionError
from . import _common as cm
from .components import GaussianComponents
from .hmm_result import HMMFit

TOL = 1e-10
MAX_ITER = 1000


@x64
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
    starts = cm.check_run(starts, max_iter, tol)
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
    Tp = xp.shape[0]
    xj, sj, wj = (jnp.asarray(permute(a, Tp)) for a in (xp, sp, wp))
    runner = _runner(model, int(max_iter))
    rng = np.random.default_rng(seed)
    runs = []
    tol_total = float(tol) * x.shape[0]
    scale = cm.data_scale(x)
    if start is not None:
        runs.append(runner(xj, sj, wj, *_from_start(model, start, k), tol_total, scale))
    for _ in range(int(starts) if start is None else int(starts) - 1):
        labels = cm.kmeans_labels(x, k, rng)
        p0 = model.init_from_labels(x, labels)
        A0 = np.full((k, k), 0.5 / k) + 0.5 * np.eye(k)
        runs.append(runner(xj, sj, wj, p0, jnp.full(k, -np.log(k)), jnp.log(jnp.asarray(A0)), tol_total, scale))
    # a run with a collapsed state (unbounded likelihood) ranks below every regular one
    best = max(runs, key=lambda r: (not bool(np.any(np.asarray(r[8]))),
                                    float(r[4]) if np.isfinite(float(r[4])) else -np.inf))
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
MIN_BLOCK, MAX_BLOCK = 16, 2048


def _cap(T):
    """A power of two near sqrt(2 T): the segment length. Three scans of L steps (the segment
    products, the forward and the backward vectors) and one cheap scan across the T / L segments:
    sequential depth about 3 L + T / L; measured fastest near L = 512 for T = 10^5."""
    return int(min(max(2 ** round(np.log2(np.sqrt(2.0 * max(T, 1)))), MIN_BLOCK), MAX_BLOCK))


def block_length(Tp):
    """The segment length for a padded length ``Tp``: the largest power of two that divides it, up to the cap."""
    L = _cap(Tp)
    while Tp % L:
        L //= 2
    return L


def padded_length(T):
    """``T`` rounded up to a shape bucket: a multiple of g L, with L the segment length and g the
    largest power of two <= S / 16 (S = ceil(T / L)), so nearby lengths share one compiled
    function, at the cost of less than one segment or T / 16 rows of padding."""
    L = _cap(T)
    S = -(-T // L)
    g = 2 ** max(0, int(np.floor(np.log2(S))) - 4)
    return -(-S // g) * g * L


def pad(x, is_start):
    """Pad the time axis to :func:`padded_length` with weight-0 rows (their emission density
    is set to 1, so they change neither the likelihood nor any posterior)."""
    T = x.shape[0]
    Tp = padded_length(T)
    w = np.zeros(Tp)
    w[:T] = 1.0
    xp = np.concatenate([x, np.repeat(x[-1:], Tp - T, axis=0)]) if Tp > T else x
    sp = np.concatenate([is_start, np.zeros(Tp - T, dtype=bool)])
    return xp, sp, w


def _safe(s):
    import jax.numpy as jnp

    return jnp.where(s > 0, s, 1.0)


# Small k: k x k products as k fused multiply-adds over contiguous rows (XLA's CPU dot is slow for
# tiny matrices); larger k: einsum.
UNROLLED_K = 8


def _rows_times(a, M):
    """out[..., j, s] = sum_i a[..., i, s] M[i, j] for a of shape (..., k, S)."""
    import jax.numpy as jnp

    k = M.shape[0]
    if k > UNROLLED_K:
        return jnp.einsum("...is,ij->...js", a, M)
    out = a[..., 0:1, :] * M[0][:, None]
    for i in range(1, k):
        out = out + a[..., i:i + 1, :] * M[i][:, None]
    return out


def _layout(a, L, S, permuted):
    """(T, ...) -> (L, ..., S): position in the segment, then the state axis, then the segment (the
    vectorised axis). Natural order is t = s L + l; ``permuted`` arrays are already in order l S + s."""
    a = a.reshape((L, S) + a.shape[1:]) if permuted else a.reshape((S, L) + a.shape[1:]).swapaxes(0, 1)
    return a if a.ndim == 2 else a.transpose(0, 2, 1)


def permute(a, Tp):
    """Natural time order -> the segment-major order l S + s used inside the EM loop (NumPy)."""
    L = block_length(Tp)
    return a.reshape((Tp // L, L) + a.shape[1:]).swapaxes(0, 1).reshape(a.shape)


def _emissions(logb, w, L, S, permuted):
    """Emission densities (L, k, S) scaled by their largest entry at each time (1 at padded rows),
    and the sum of the log scales."""
    import jax
    import jax.numpy as jnp

    lb = _layout(jnp.where(w[:, None] > 0, logb, 0.0), L, S, permuted)
    m = jax.lax.stop_gradient(jnp.max(lb, axis=1))
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    return jnp.exp(lb - m[:, None, :]), jnp.sum(m)


def _segment_products(b, st, pi, A):
    """The product P_s = M_{sL} ... M_{sL+L-1} of each segment, M_t = A diag(b_t) (1 (pi o b_t)^T at a
    sequence start), normalised by its largest entry with the log scale alongside: one scan of L
    steps carrying the (k, k, S) products of all segments."""
    import jax
    import jax.numpy as jnp

    L, k, S = b.shape

    def step(carry, inp):
        P, ls = carry
        bt, s = inp
        R = jnp.where(s, P.sum(1, keepdims=True) * pi[:, None], _rows_times(P, A)) * bt
        n = jnp.max(R, axis=(0, 1))
        return (R / _safe(n), ls + jnp.log(n)), None

    init = (jnp.broadcast_to(jnp.eye(k)[:, :, None], (k, k, S)), jnp.zeros(S))
    (P, ls), _ = jax.lax.scan(step, init, (b, st))
    return P, ls


def _across(P, ls, backward=True):
    """The normalised forward vector entering each segment, the backward vector at each segment's
    last step (with ``backward``), both (k, S), and the log-likelihood: one scan over the segments."""
    import jax
    import jax.numpy as jnp

    k = P.shape[0]
    Ps = P.transpose(2, 0, 1)

    def step(carry, inp):
        v, u, ll = carry
        Pf, lf, Pb = inp
        v2 = v @ Pf
        n = jnp.sum(v2)
        out = (v, u)
        if backward:
            u2 = Pb @ u
            u = u2 / _safe(jnp.sum(u2))
        return (v2 / _safe(n), u, ll + lf + jnp.log(n)), out

    init = (jnp.full(k, 1.0 / k), jnp.full(k, 1.0 / k), jnp.zeros(()))
    (_, _, ll), (v_in, u_out) = jax.lax.scan(step, init, (Ps, ls, Ps[::-1] if backward else Ps))
    return v_in.T, u_out[::-1].T, ll


def forward_loglik(logb, is_start, w, log_pi, log_A, permuted=False):
    """Total log-likelihood of all sequences (differentiable: used for standard errors)."""
    import jax.numpy as jnp

    T = logb.shape[0]
    L = block_length(T)
    S = T // L
    b, msum = _emissions(logb, w, L, S, permuted)
    P, ls = _segment_products(b, _layout(is_start, L, S, permuted), jnp.exp(log_pi), jnp.exp(log_A))
    return _across(P, ls, backward=False)[2] + msum


def forward_backward(logb, is_start, w, log_pi, log_A, permuted=False):
    """Posterior state probabilities gamma (T, k; padded rows 0), summed pair posteriors (k, k), loglik.

    Parallel in time by segments: the segment products (:func:`_segment_products`), the vectors
    at the segment ends (:func:`_across`), then one scan of L steps for the normalised forward
    recursion alpha_t ∝ (alpha_{t-1} A) o b_t and one for the backward recursion
    beta_{t-1} ∝ A (b_t o beta_t), each inside all segments at once. The pair posteriors are
    summed without forming a (T, k, k) array: sum_t xi_t = A o sum_t alpha_{t-1}^T (b_t o beta_t) / Z_t.
    ``permuted``: the rows are in the order of :func:`permute` (gamma is returned in that order).
    """
    import jax
    import jax.numpy as jnp

    T, k = logb.shape
    L = block_length(T)
    S = T // L
    b, msum = _emissions(logb, w, L, S, permuted)
    st, w3 = _layout(is_start, L, S, permuted), _layout(w, L, S, permuted)
    pi, A = jnp.exp(log_pi), jnp.exp(log_A)
    P, ls = _segment_products(b, st, pi, A)
    v_in, u_out, ll = _across(P, ls)
    AT = A.T

    def forward(a, inp):
        bt, s = inp
        a = jnp.where(s, a.sum(0, keepdims=True) * pi[:, None], _rows_times(a, A)) * bt
        a = a / _safe(a.sum(0, keepdims=True))
        return a, a

    _, alpha = jax.lax.scan(forward, v_in, (b, st))
    keep = ~st & (w3 > 0)  # the pair (t-1, t) counts unless t starts a sequence or is padding

    def pair_sum(a_prev, r, keep):
        """Per segment, a_prev^T (r / Z) with Z = (a_prev A) . r: the pair posteriors (without the factor A o)."""
        Z = jnp.sum(_rows_times(a_prev, A) * r, axis=-2)
        rz = r * jnp.where(keep & (Z > 0), 1.0 / _safe(Z), 0.0)[..., None, :]
        return a_prev[..., :, None, :] * rz[..., None, :, :]

    def backward(carry, inp):
        """Step back from t+1 to t: beta_t (carry), gamma_t, and the pair (t, t+1) added to the sums."""
        be, r_next, keep_next, xi = carry
        bt, s, at, wt, kt = inp
        g = at * be
        g = g / _safe(g.sum(0, keepdims=True)) * wt
        xi = xi + pair_sum(at, r_next, keep_next)
        r = bt * be
        be2 = jnp.where(s, jnp.sum(r * pi[:, None], 0, keepdims=True), _rows_times(r, AT))
        return (be2 / _safe(be2.sum(0, keepdims=True)), r, kt, xi), g

    init = (u_out, jnp.zeros((k, S)), jnp.zeros(S, dtype=bool), jnp.zeros((k, k, S)))
    (_, r0, _, xi), gamma = jax.lax.scan(backward, init, (b, st, alpha, w3, keep), reverse=True)
    # pairs across the segment boundaries: last step of segment s-1, first step of segment s
    xi_sum = xi.sum(-1) + pair_sum(alpha[-1, :, :-1], r0[:, 1:], keep[0, 1:]).sum(-1)
    gamma = gamma.transpose(0, 2, 1)
    gamma = gamma.reshape(T, k) if permuted else gamma.swapaxes(0, 1).reshape(T, k)
    return gamma, A * xi_sum, ll + msum


def collapsed_states(model, p, scale):
    """(k,) flags: normal states whose covariance has an eigenvalue below (1e3 eps scale)^2, scale the
    largest |x| (:func:`thetahat.em._common.collapsed_components`, shared with mixtures). Such a state
    sits on single observations (possible only with ``cov_prior=0``): the likelihood is unbounded there."""
    import jax.numpy as jnp

    if not isinstance(model, GaussianComponents):
        return jnp.zeros(model.k, dtype=bool)
    return cm.collapsed_components(model, p, scale)


@lru_cache(maxsize=None)
def _runner(model, max_iter):
    import jax
    import jax.numpy as jnp

    def run(x, is_start, w, p, log_pi, log_A, tol_total, scale):
        """EM from (p, log_pi, log_A) on rows in the order of :func:`permute`; gamma comes back in natural order.

        The E-step of the last pass is at the parameters returned (a stopping pass keeps them), so
        its posteriors and log-likelihood are returned without a further forward-backward pass. An
        M-step that would collapse a state (:func:`collapsed_states`) is not taken: EM stops there."""
        T, k = x.shape[0], log_pi.shape[0]
        L = block_length(T)
        trace = jnp.full(max_iter + 1, jnp.nan)

        def body(c):
            it, p, log_pi, log_A, trace, prev, _, _, _, _ = c
            gamma, xi, ll = forward_backward(model.log_density(x, p), is_start, w, log_pi, log_A, permuted=True)
            obj = ll + model.log_prior(p)
            trace = trace.at[it].set(obj)
            stop = (jnp.abs(obj - prev) <= tol_total) | (it >= max_iter) | ~jnp.isfinite(obj)
            g0 = jnp.sum(jnp.where(is_start[:, None], gamma, 0.0), axis=0)
            new_pi = jnp.log(g0 / g0.sum())
            new_A = jnp.log(xi / xi.sum(1, keepdims=True))
            p_new = model.m_step(x, gamma, p)
            bad = collapsed_states(model, p, scale) | (collapsed_states(model, p_new, scale) & jnp.isfinite(obj))
            stop = stop | jnp.any(bad)
            keep = lambda a, b: jnp.where(stop, a, b)  # noqa: E731
            return (it + jnp.where(stop, 0, 1), jax.tree_util.tree_map(keep, p, p_new), keep(log_pi, new_pi),
                    keep(log_A, new_A), trace, obj, stop, gamma, ll, bad)

        c = (0, p, log_pi, log_A, trace, -jnp.inf, False, jnp.zeros((T, k)), jnp.zeros(()), jnp.zeros(k, bool))
        it, p, log_pi, log_A, trace, obj, _, gamma, ll, bad = jax.lax.while_loop(lambda c: ~c[6], body, c)
        gamma = gamma.reshape(L, T // L, k).swapaxes(0, 1).reshape(T, k)
        return it, p, log_pi, log_A, obj, ll, trace, gamma, bad

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
