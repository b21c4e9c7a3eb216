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

import numpy as np

from .._jax import x64
from ..errors import OptionError
from . import _common as cm
from .hmm_algorithms import em_runner, pad, permute, split_sequences

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
        ``"normal"``, ``"mvnormal"``, ``"categorical"`` (symbols 0..n_symbols-1),
        ``"bernoulli"``, any family with a closed-form MLE from sufficient statistics
        (``"poisson"``, ``"exponential"``, ...: closed-form M-steps), or any other thetahat
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
    runner = em_runner(model, int(max_iter))
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
