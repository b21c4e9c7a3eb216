"""Hand-written regression rows against the family route (issue 21: a closed-form row is kept
only where it is measured faster).

For poisson/log and bernoulli/logit the in-memory (and streamed) Newton uses the closed-form
row terms of ``regression._canonical`` (NumPy, one fused pass over X); the family route is
the family's JAX log-density, differentiated per row. For the binary links the JAX row of
``regression.rows`` (log p, log(1-p) from eta) is timed beside the family's log-pmf at
p = expit(eta). Cold = first call, compile included; warm = median of 3 after it.

    PYTHONPATH=src python benchmarks/study_regress_rows.py [n]
"""

import sys
import time

import numpy as np

import thetahat
from thetahat.regression import _newton, models
from thetahat.regression.family_model import family_model


def _time(fn, reps=3):
    t0 = time.perf_counter()
    first = fn()
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
    return first, cold, float(np.median(warm))


def _route(name, link, route):
    """Patch the model lookup of regress to the given route: 'closed' (today's), 'jaxrow' (the
    hand JAX row, no canonical terms) or 'family' (the family's log-density)."""
    canonical = _newton.terms_for
    make = models._make

    def model_for(n, lk):
        if route == "family":
            fam = thetahat.family(n)
            meta = {"binary": n == "bernoulli"}  # (the deviance is not part of the timing)
            return family_model(fam, n, lk, None, **meta)
        return make(n, lk)  # closed and jaxrow: the model of the registry (the hand row for binary links)

    _newton.terms_for = canonical if route == "closed" else (lambda m: None)
    models.get_model = lambda f, lk=None: model_for(*models.resolve(f, lk))
    return canonical


def main(n=1_000_000, p=10):
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1)) * 0.3])
    b = rng.normal(size=p) * 0.3
    data = {"poisson": rng.poisson(np.exp(X @ b)).astype(float),
            "bernoulli": (rng.random(n) < 1 / (1 + np.exp(-X @ b))).astype(float)}
    get = models.get_model
    print(f"| model | n | route | cold (s) | warm (s) | loglik |")
    print("|---|---|---|---|---|---|")
    for fam, link, routes in (("poisson", "log", ("closed", "family")),
                              ("bernoulli", "logit", ("closed", "jaxrow", "family")),
                              ("bernoulli", "probit", ("jaxrow", "family"))):
        for route in routes:
            canonical = _route(fam, link, route)
            try:
                f, cold, warm = _time(lambda: thetahat.regress(X, y=data[fam], family=fam, link=link))
            finally:
                _newton.terms_for, models.get_model = canonical, get
            print(f"| {fam}/{link} | {n:.0e} | {route} | {cold:.3f} | {warm:.3f} | {f.loglik:.6f} |")


if __name__ == "__main__":
    main(int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000)
