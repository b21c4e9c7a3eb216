"""thetahat.regress against statsmodels and scikit-learn on large GLMs, warm.

* logistic regression, n = 10^6, p = 20 (intercept + 19 normal regressors):
  statsmodels ``Logit(y, X).fit()`` (Newton) and scikit-learn
  ``LogisticRegression(C=inf, tol=1e-10, max_iter=1000)`` (lbfgs, no penalty). The
  tolerance is tightened so that sklearn reaches the same optimum: with its default
  ``tol=1e-4`` it stops after ~3 iterations with a log-likelihood ~4e-8 (relative) short
  of the MLE, which fails the 1e-8 agreement; that run is timed too and shown in the
  detail line, for the record;
* Poisson regression, n = 10^6, p = 20: statsmodels ``GLM(y, X, Poisson()).fit()`` (IRLS).

Every peer runs on the same arrays in the same process; agreement is the log-likelihood
to 1e-8 relative. thetahat is timed after one warm-up call (the compiled code is then in
memory); its first call is reported as "cold". Against scikit-learn (the close race)
the two are timed in alternation, three rounds, medians of each, so that a burst of load
on a shared machine does not fall on one side only.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

import thetahat
from _common import Row, cold, timeit

N, P = 1_000_000, 20


def _data(rng):
    X = np.column_stack([np.ones(N), rng.normal(size=(N, P - 1))])
    beta = rng.normal(0, 0.3, size=P)
    beta[0] = -0.5
    eta = X @ beta
    yb = (rng.random(N) < 1 / (1 + np.exp(-eta))).astype(float)
    yp = rng.poisson(np.exp(0.3 * eta)).astype(float)
    return X, yb, yp


def _agree(a, b):
    return bool(abs(a - b) <= 1e-8 * abs(b))


def _alternate(fns, rounds=3):
    """Median seconds of each function, called in turn ``rounds`` times; the last results."""
    times = [[] for _ in fns]
    outs = [None] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            outs[i] = fn()
            times[i].append(time.perf_counter() - t)
    return [float(np.median(t)) for t in times], outs


def run():
    import statsmodels.api as sm
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    X, yb, yp = _data(rng)
    rows = []

    def ours_logit():
        return thetahat.regress(X, y=yb, family="bernoulli")

    t_cold, _ = cold(ours_logit)
    t_ours, f = timeit(ours_logit, repeats=3)
    t_sm, r = timeit(lambda: sm.Logit(yb, X).fit(disp=0), repeats=1, warmup=0)
    rows.append(Row("logistic n=1e6 p=20", t_ours, "statsmodels Logit().fit()", t_sm,
                    f.converged and _agree(f.loglik, r.llf), ">= 2x", 2.0, cold_s=t_cold,
                    detail=f"loglik ours {f.loglik:.10f} vs statsmodels {r.llf:.10f}"))

    def sk(tol):
        def fit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return LogisticRegression(C=np.inf, tol=tol, max_iter=1000).fit(X[:, 1:], yb)
        return fit

    def sk_loglik(m):
        eta = m.intercept_[0] + X[:, 1:] @ m.coef_[0]
        return float(np.sum(yb * eta - np.logaddexp(0, eta)))

    (t_ours2, t_sk, t_skd), (f, m, md) = _alternate([ours_logit, sk(1e-10), sk(1e-4)])
    ll_sk, ll_skd = sk_loglik(m), sk_loglik(md)
    rows.append(Row("logistic n=1e6 p=20", t_ours2, "sklearn LogisticRegression(C=inf)", t_sk,
                    f.converged and _agree(f.loglik, ll_sk), ">= 2x", 2.0,
                    detail=f"loglik ours {f.loglik:.10f} vs sklearn {ll_sk:.10f} (tol=1e-10); sklearn's default "
                           f"tol=1e-4: {t_skd * 1e3:.0f} ms ({t_skd / t_ours2:.1f}x ours), loglik {ll_skd:.10f}, "
                           f"{abs(ll_skd - f.loglik) / abs(f.loglik):.1e} relative short of the MLE"))

    t_cold, _ = cold(lambda: thetahat.regress(X, y=yp, family="poisson"))
    t_ours, f = timeit(lambda: thetahat.regress(X, y=yp, family="poisson"), repeats=3)
    t_sm, r = timeit(lambda: sm.GLM(yp, X, family=sm.families.Poisson()).fit(), repeats=1, warmup=0)
    rows.append(Row("poisson n=1e6 p=20", t_ours, "statsmodels GLM(Poisson).fit()", t_sm,
                    f.converged and _agree(f.loglik, r.llf), ">= 2x", 2.0, cold_s=t_cold,
                    detail=f"loglik ours {f.loglik:.10f} vs statsmodels {r.llf:.10f}"))
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row.workload:24} ours {row.ours_s * 1e3:8.1f} ms  {row.peer:36} {row.peer_s * 1e3:9.1f} ms  "
              f"{row.ratio:6.2f}x  agree={row.agree}  cold={row.cold_s}  {row.detail}")
