"""thetahat.nls against scipy.optimize.least_squares(method="lm") on NIST StRD nonlinear problems, warm.

scipy's "lm" is MINPACK's lmdif (Fortran) with a forward-difference Jacobian, called with the
model written in NumPy and scipy's default tolerances (1e-8), which is what users run. thetahat
uses exact JAX Jacobians and tolerances of 1e-15 plus a Gauss–Newton polish, so it does more
iterations on purpose. Agreement: both residual sums of squares within 1e-6 (relative) of NIST's
certified RSS. The data and starting points (NIST "Start 2") come from tests/data/nist_nonlinear.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from scipy import optimize

import thetahat
from _common import Row, cold, timeit_pair

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import _nist_nonlinear as nist  # noqa: E402

# NumPy versions of the models (the JAX ones in _nist_nonlinear would make scipy pay for JAX dispatch)
NUMPY_MODELS = {
    "Misra1a": lambda x, b: b[0] * (1 - np.exp(-b[1] * x)),
    "Thurber": lambda x, b: ((b[0] + b[1] * x + b[2] * x ** 2 + b[3] * x ** 3)
                             / (1 + b[4] * x + b[5] * x ** 2 + b[6] * x ** 3)),
    "MGH09": lambda x, b: b[0] * (x ** 2 + x * b[1]) / (x ** 2 + x * b[2] + b[3]),
    "Gauss3": lambda x, b: (b[0] * np.exp(-b[1] * x) + b[2] * np.exp(-((x - b[3]) ** 2) / b[4] ** 2)
                            + b[5] * np.exp(-((x - b[6]) ** 2) / b[7] ** 2)),
    "Bennett5": lambda x, b: b[0] * (b[1] + x) ** (-1 / b[2]),
}


def run():
    rows = []
    for name, npf in NUMPY_MODELS.items():
        P = nist.load(name)
        t_cold, _ = cold(lambda: thetahat.nls(P.model, P.x, P.y, P.start2))
        # alternating runs with untimed calls first (see timeit_pair): each fit takes well under a
        # millisecond, and a slow spell of the machine or a BLAS thread still spinning from the
        # previous benchmark would otherwise fall on one side only
        t_ours, f, t_peer, res = timeit_pair(
            lambda: thetahat.nls(P.model, P.x, P.y, P.start2),
            lambda: optimize.least_squares(lambda b: npf(P.x, b) - P.y, P.start2, method="lm"), repeats=21)
        rss_peer = float(np.sum(res.fun ** 2))
        rel_ours, rel_peer = abs(f.rss - P.rss) / P.rss, abs(rss_peer - P.rss) / P.rss
        agree = f.converged and rel_ours <= 1e-6 and rel_peer <= 1e-6
        lre_ours = nist.lre([f.params[k] for k in f.names], P.certified, P.digits).min()
        lre_peer = nist.lre(res.x, P.certified, P.digits).min()
        detail = (f"RSS rel. error vs NIST: ours {rel_ours:.1e}, scipy {rel_peer:.1e}; min LRE of the "
                  f"parameters: ours {lre_ours:.1f}, scipy {lre_peer:.1f}; Jacobian evaluations: ours "
                  f"{f.iterations}, scipy njev {res.njev}")
        rows.append(Row(f"nls NIST {name} (n={P.y.size}, p={P.certified.size})", t_ours,
                        'least_squares(method="lm")', t_peer, agree, ">= 1x", 1.0, cold_s=t_cold, detail=detail))
    return rows


if __name__ == "__main__":
    for r in run():
        print(f"{r.workload:40s} ours {r.ours_s * 1e3:7.2f} ms  scipy {r.peer_s * 1e3:7.2f} ms  "
              f"ratio {r.ratio:5.2f}x  agree {r.agree}  cold {r.cold_s * 1e3:.0f} ms\n    {r.detail}")
