"""The hidden Markov model's algorithms: forward, forward-backward and Viterbi, on
padded and permuted sequences, and the compiled Baum--Welch loop.

:func:`thetahat.hmm` (in :mod:`.hmm`) is the front door; :mod:`.hmm_result` and
:mod:`.hmm_fit` use these for decoding and the observed information.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import _common as cm
from .components import GaussianComponents


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
def em_runner(model, max_iter):
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
