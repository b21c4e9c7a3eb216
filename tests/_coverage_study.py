"""Coverage of Wald, profile and parametric-bootstrap 95 % intervals, by simulation.

Profile coverage needs no root finding: the profile interval is {t : 2(l-hat - l_p(t)) <= chi2},
so it covers the truth exactly when the profile deviance AT the truth is below the cutoff --
one constrained refit per replicate (the parameter held at its true value), batched.
"""

import numpy as np
from scipy import stats as st

from thetahat.engine.batch import fit_batch

CASES = {
    "normal": ({"mu": 1.0, "sigma": 2.0}, lambda p, size, rng: rng.normal(p["mu"], p["sigma"], size)),
    "exponential": ({"lam": 0.5}, lambda p, size, rng: rng.exponential(1 / p["lam"], size)),
    "gamma": ({"shape": 2.5, "rate": 1.5}, lambda p, size, rng: rng.gamma(p["shape"], 1 / p["rate"], size)),
    "weibull": ({"shape": 1.7, "scale": 3.0},
                lambda p, size, rng: p["scale"] * rng.weibull(p["shape"], size)),
}
Z = st.norm.ppf(0.975)
Q = st.chi2.ppf(0.95, 1)


def _bc(p, extra_dims):
    return {k: np.asarray(v).reshape(np.shape(v) + (1,) * extra_dims) for k, v in p.items()}


def coverage(family, n, reps=1000, n_boot=199, seed=0, block=50):
    truth, draw = CASES[family]
    rng = np.random.default_rng(seed)
    X = draw(truth, (reps, n), rng)
    full = fit_batch(family, X)
    ok = full.converged
    out = {"reps": int(ok.sum())}
    for k, t in truth.items():
        est, se = full.params[k], full.se[k]
        out[f"wald_{k}"] = float(np.mean((np.abs(est - t) <= Z * se)[ok]))
        held = fit_batch(family, X, fixed={k: t}) if len(truth) > 1 else None
        ll0 = held.loglik if held is not None else _loglik_at(family, X, truth)
        ok_k = ok & (held.converged if held is not None else True)
        out[f"profile_{k}"] = float(np.mean((2 * (full.loglik - ll0) <= Q)[ok_k]))
    # parametric percentile bootstrap, nested: B resamples from each replicate's estimate
    cover = {k: [] for k in truth}
    cover_t = {k: [] for k in truth}
    for start in range(0, reps, block):
        idx = np.arange(start, min(reps, start + block))
        idx = idx[ok[idx]]
        p = _bc({k: full.params[k][idx] for k in truth}, 2)
        Xb = draw(p, (idx.size, n_boot, n), rng).reshape(idx.size * n_boot, n)
        b = fit_batch(family, Xb, start={k: np.repeat(full.params[k][idx], n_boot) for k in truth})
        for k, t in truth.items():
            v = b.params[k].reshape(idx.size, n_boot)
            good = b.converged.reshape(idx.size, n_boot)
            lo = np.array([np.quantile(v[i][good[i]], 0.025) for i in range(idx.size)])
            hi = np.array([np.quantile(v[i][good[i]], 0.975) for i in range(idx.size)])
            cover[k].append((lo <= t) & (t <= hi))
            # studentized on the log scale (every parameter here is positive but mu)
            logs = k != "mu"
            f = np.log if logs else (lambda a: a)
            se_u = b.se[k].reshape(idx.size, n_boot) / (v if logs else 1.0)
            u_hat = f(full.params[k][idx])
            se_hat = full.se[k][idx] / (full.params[k][idx] if logs else 1.0)
            tstat = (f(v) - u_hat[:, None]) / se_u
            tq = np.array([np.quantile(tstat[i][good[i] & np.isfinite(tstat[i])], [0.025, 0.975])
                           for i in range(idx.size)])
            lo_t, hi_t = u_hat - tq[:, 1] * se_hat, u_hat - tq[:, 0] * se_hat
            cover_t[k].append((lo_t <= f(t)) & (f(t) <= hi_t))
    for k in truth:
        out[f"bootstrap_{k}"] = float(np.mean(np.concatenate(cover[k])))
        out[f"bootstrap_t_{k}"] = float(np.mean(np.concatenate(cover_t[k])))
    return out


def _loglik_at(family, X, truth):
    import thetahat

    fam = thetahat.get_family(family)
    return np.asarray([fam.to_scipy(truth).logpdf(x).sum() for x in X])


if __name__ == "__main__":
    import sys
    import time

    for fam in sys.argv[1:] or CASES:
        for n in (20, 200):
            t = time.time()
            print(fam, n, coverage(fam, n), f"{time.time() - t:.1f}s", flush=True)
