"""thetahat.regress against statsmodels and scikit-learn on large GLMs, warm.

* logistic regression, n = 10^6, p = 20 (intercept + 19 normal regressors):
  statsmodels ``Logit(y, X).fit()`` (Newton) and scikit-learn
  ``LogisticRegression(C=inf, tol=1e-10, max_iter=1000)`` (lbfgs, no penalty; the
  tolerance is tightened so that it converges to the same optimum);
* Poisson regression, n = 10^6, p = 20: statsmodels ``GLM(y, X, Poisson()).fit()`` (IRLS).

Every peer runs on the same arrays in the same process; agreement is the
log-likelihood to 1e-8 relative. thetahat is timed after one warm-up call (the
compiled code is then in memory); its first call is reported as "cold".
"""

from __future__ import annotations

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


def run():
    import statsmodels.api as sm
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    X, yb, yp = _data(rng)
    rows = []

    t_cold, _ = cold(lambda: thetahat.regress(X, y=yb, family="bernoulli"))
    t_ours, f = timeit(lambda: thetahat.regress(X, y=yb, family="bernoulli"), repeats=3)
    t_sm, r = timeit(lambda: sm.Logit(yb, X).fit(disp=0), repeats=1, warmup=0)
    rows.append(Row("logistic n=1e6 p=20", t_ours, "statsmodels Logit().fit()", t_sm,
                    f.converged and _agree(f.loglik, r.llf), ">= 2x", 2.0, cold_s=t_cold,
                    detail=f"loglik ours {f.loglik:.10f} vs statsmodels {r.llf:.10f}"))

    def sk():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(X[:, 1:], yb)

    t_sk, m = timeit(sk, repeats=1, warmup=0)
    eta = m.intercept_[0] + X[:, 1:] @ m.coef_[0]
    ll_sk = float(np.sum(yb * eta - np.logaddexp(0, eta)))
    rows.append(Row("logistic n=1e6 p=20", t_ours, "sklearn LogisticRegression(C=inf)", t_sk,
                    f.converged and _agree(f.loglik, ll_sk), ">= 2x", 2.0,
                    detail=f"loglik ours {f.loglik:.10f} vs sklearn {ll_sk:.10f}"))

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
