"""The result of :func:`thetahat.hmm`: :class:`HMMFit`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._jax import x64_methods
from ..result import InformationCriteria

from . import _common as cm


@x64_methods
@dataclass(frozen=True)
class HMMFit(InformationCriteria):
    """A hidden Markov model fitted by Baum-Welch.

    Attributes
    ----------
    params : dict
        ``start`` (k,), ``transition`` (k, k; row i holds P(next state | state i)) and the
        emission parameters with the state axis first. States are ordered by the
        posterior-weighted mean of the first data coordinate (normal emissions: by mu).
    se : dict
        Standard errors (observed information of the forward-algorithm log-likelihood,
        delta method); ``None`` where they do not apply (see ``notes``).
    loglik, objective, trace, converged, reason, iterations, nobs, lengths

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> x = np.r_[np.zeros(20), np.ones(20), np.zeros(20)] * 4 + np.tile([-0.3, 0.3], 30)
    >>> f = thetahat.hmm(x, 2)
    >>> path = f.viterbi()[0]
    >>> path[:3].tolist(), path[20:23].tolist()
    ([0, 0, 0], [1, 1, 1])
    """

    emission: str
    k: int
    cov_type: str | None
    params: dict
    se: dict
    cov: np.ndarray | None
    cov_labels: tuple
    loglik: float
    objective: float
    nobs: int
    lengths: tuple
    n_estimated: int
    converged: bool
    reason: str
    trace: tuple
    iterations: int
    starts: int
    notes: tuple
    hessian_negative_definite: bool | None
    posterior_probs: np.ndarray = field(repr=False)
    model: object = field(repr=False)
    internal: dict = field(repr=False)
    data: np.ndarray = field(repr=False)
    is_start: np.ndarray = field(repr=False)

    def _prepare(self, sequences):
        if sequences is None:
            return self.data, self.is_start, list(self.lengths)
        from .hmm_algorithms import split_sequences

        key = "mvnormal" if self.emission == "mvnormal" else self.emission
        seqs = split_sequences(sequences, None, key)
        x = np.concatenate(seqs, axis=0)
        if self.emission == "categorical":
            cm.build_model("categorical", x, self.k, n_symbols=self.model.n_symbols)
        lens = [s.shape[0] for s in seqs]
        st = np.zeros(x.shape[0], dtype=bool)
        st[np.cumsum([0] + lens[:-1])] = True
        return x, st, lens

    def _logs(self, x):
        import jax.numpy as jnp

        logb = self.model.log_density(jnp.asarray(x), self.internal)
        with np.errstate(divide="ignore"):
            return logb, jnp.asarray(np.log(self.params["start"])), jnp.asarray(np.log(self.params["transition"]))

    def posterior(self, sequences=None) -> list:
        """Posterior state probabilities P(state_t = j | sequence), one (T_i, k) array per sequence."""
        import jax.numpy as jnp

        from .hmm_algorithms import forward_backward, pad

        x, st, lens = self._prepare(sequences)
        if sequences is None:
            g = self.posterior_probs
        else:
            xp, sp, wp = pad(x, st)
            logb, lpi, lA = self._logs(xp)
            g = np.asarray(forward_backward(logb, jnp.asarray(sp), jnp.asarray(wp), lpi, lA)[0])[: x.shape[0]]
        return np.split(g, np.cumsum(lens)[:-1])

    def score(self, sequences) -> float:
        """Log-likelihood of new sequences under the fitted model (forward algorithm)."""
        import jax.numpy as jnp

        from .hmm_algorithms import forward_loglik, pad

        x, st, _ = self._prepare(sequences)
        xp, sp, wp = pad(x, st)
        logb, lpi, lA = self._logs(xp)
        return float(forward_loglik(logb, jnp.asarray(sp), jnp.asarray(wp), lpi, lA))

    def viterbi(self, sequences=None) -> list:
        """The most probable state path of each sequence (Viterbi), as a list of int arrays."""
        import jax.numpy as jnp

        from .hmm_algorithms import viterbi_fn

        x, st, lens = self._prepare(sequences)
        logb, lpi, lA = self._logs(x)
        path, _ = viterbi_fn()(logb, jnp.asarray(st), lpi, lA)
        return np.split(np.asarray(path), np.cumsum(lens)[:-1])

    def sample(self, length: int, seed: int = 0):
        """``(x, states)``: one simulated sequence of ``length`` observations and its hidden states."""
        rng = np.random.default_rng(seed)
        pi, A = self.params["start"], self.params["transition"]
        cum = np.cumsum(A, axis=1)
        states = np.empty(int(length), dtype=int)
        s = rng.choice(self.k, p=pi / pi.sum())
        u = rng.random(int(length))
        for t in range(int(length)):
            if t:
                s = min(int(np.searchsorted(cum[s], u[t] * cum[s, -1], side="right")), self.k - 1)
            states[t] = s
        return self.model.sample(rng, self.internal, states), states

    def to_dict(self) -> dict:
        def clean(v):
            return None if v is None else np.asarray(v, dtype=float).tolist()

        return {"emission": self.emission, "k": self.k, "cov_type": self.cov_type,
                "params": {k: clean(v) for k, v in self.params.items()},
                "se": {k: clean(v) for k, v in self.se.items()},
                "loglik": self.loglik, "objective": self.objective, "aic": self.aic, "bic": self.bic,
                "nobs": self.nobs, "n_sequences": len(self.lengths), "n_estimated": self.n_estimated,
                "converged": self.converged, "reason": self.reason, "iterations": self.iterations,
                "starts": self.starts, "trace_monotone": cm.monotone(self.trace, self.objective),
                "notes": list(self.notes)}

    def summary(self) -> str:
        w = 78
        title = f"{self.k}-state hidden Markov model, {self.emission} emissions"
        lines = ["=" * w, f"{title:^{w}}", "=" * w,
                 f"Observations: {self.nobs} in {len(self.lengths)} sequence(s)   Log-likelihood: {self.loglik:.6f}",
                 f"AIC: {self.aic:.4f}   BIC: {self.bic:.4f}   Converged: {'yes' if self.converged else 'NO'}   "
                 f"EM iterations: {self.iterations}   free parameters: {self.n_estimated}",
                 "-" * w, f"{'parameter':<24}{'estimate':>16}{'std err':>16}", "-" * w]
        for name, v in self.params.items():
            a = np.asarray(v)
            s = self.se.get(name)
            for idx in np.ndindex(*a.shape):
                lab = name + (f"[{','.join(map(str, idx))}]" if idx else "")
                se_s = "n/a" if s is None else f"{float(np.asarray(s)[idx]):.6g}"
                lines.append(f"{lab:<24}{float(a[idx]):>16.6g}{se_s:>16}")
        lines += ["=" * w, f"Stopped: {self.reason}",
                  "States are ordered by the posterior-weighted mean of the first data coordinate."]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self):
        return self.summary()
