"""Rows of the family table for the continuous families (positive, location-scale, extremes).

Each scipy constructor is written from scipy.stats' own parametrisation, not taken
from the family's ``to_scipy``. Grids include points near the support's edges and
far in the tails; they avoid points where the log-density crosses 0 (a relative
comparison is meaningless there).
"""

import numpy as np
from scipy import stats as st

from cases import Case

CASES = [
    Case("exponential", {"lam": 2.5}, lambda p: st.expon(scale=1 / p["lam"]),
         np.array([0.0, 1e-300, 1e-12, 1e-6, 0.1, 1.0, 7.0, 300.0, 1e6])),
    Case("gamma", {"shape": 2.7, "rate": 1.3}, lambda p: st.gamma(p["shape"], scale=1 / p["rate"]),
         np.array([1e-300, 1e-12, 1e-5, 0.05, 0.4, 4.0, 9.0, 60.0, 1e4])),
    Case("gamma", {"shape": 0.45, "rate": 3.0}, lambda p: st.gamma(p["shape"], scale=1 / p["rate"]),
         np.array([1e-300, 1e-12, 1e-5, 0.05, 2.0, 9.0, 60.0, 1e4]), id="gamma-small-shape"),
    Case("weibull", {"shape": 1.7, "scale": 2.2}, lambda p: st.weibull_min(p["shape"], scale=p["scale"]),
         np.array([1e-300, 1e-12, 1e-5, 0.05, 0.5, 4.0, 9.0, 30.0, 200.0])),
    Case("weibull", {"shape": 0.6, "scale": 0.8}, lambda p: st.weibull_min(p["shape"], scale=p["scale"]),
         np.array([1e-300, 1e-12, 1e-5, 0.05, 3.0, 30.0, 2000.0]), id="weibull-small-shape"),
    Case("beta", {"a": 2.3, "b": 4.1}, lambda p: st.beta(p["a"], p["b"]),
         np.array([1e-300, 1e-12, 1e-6, 0.02, 0.6, 0.9, 1 - 1e-6, 1 - 1e-12])),
    Case("beta", {"a": 0.4, "b": 0.7}, lambda p: st.beta(p["a"], p["b"]),
         np.array([1e-300, 1e-12, 1e-6, 0.03, 0.97, 1 - 1e-6, 1 - 1e-12]), id="beta-u-shaped"),
    Case("t", {"df": 4.5, "loc": -1.0, "scale": 2.0}, lambda p: st.t(p["df"], p["loc"], p["scale"]),
         np.array([-1e8, -1e3, -30.0, -5.0, -1.0, 0.5, 6.0, 100.0, 1e5, 1e10])),
    Case("t", {"df": 1.5, "loc": 3.0, "scale": 0.5}, lambda p: st.t(p["df"], p["loc"], p["scale"]),
         np.array([-1e8, -1e3, -30.0, 3.0, 3.4, 6.0, 100.0, 1e5, 1e10]), id="t-heavy"),
    Case("cauchy", {"loc": 2.0, "scale": 0.7}, lambda p: st.cauchy(p["loc"], p["scale"]),
         np.array([-1e12, -1e3, -4.0, 2.0, 2.3, 9.0, 1e4, 1e15])),
    Case("laplace", {"loc": -0.5, "scale": 1.8}, lambda p: st.laplace(p["loc"], p["scale"]),
         np.array([-1200.0, -40.0, -3.0, -0.5, 0.7, 4.0, 90.0, 1200.0])),
    Case("logistic", {"loc": 1.0, "scale": 0.6}, lambda p: st.logistic(p["loc"], p["scale"]),
         np.array([-1e4, -300.0, -12.0, -1.0, 1.0, 1.5, 5.0, 40.0, 700.0, 1e5])),
    Case("gumbel", {"loc": 0.5, "scale": 1.5}, lambda p: st.gumbel_r(p["loc"], p["scale"]),
         np.array([-600.0, -30.0, -4.0, 0.5, 2.0, 6.0, 40.0, 1e3, 1e6])),
    Case("gev", {"loc": 10.0, "scale": 2.0, "shape": 0.15},
         lambda p: st.genextreme(-p["shape"], loc=p["loc"], scale=p["scale"]),
         # lower end of the support at loc - scale/shape = -3.333...
         np.array([-3.3333, -3.3, -2.0, 5.0, 10.0, 20.0, 60.0, 1e3, 1e6])),
    Case("gev", {"loc": 10.0, "scale": 2.0, "shape": -0.2},
         lambda p: st.genextreme(-p["shape"], loc=p["loc"], scale=p["scale"]),
         # upper end of the support at loc + scale/0.2 = 20
         np.array([-60.0, -10.0, 0.0, 8.0, 12.0, 17.0, 19.9, 19.99999]), id="gev-bounded"),
    Case("gev", {"loc": 10.0, "scale": 2.0, "shape": 1e-12},
         lambda p: st.genextreme(-p["shape"], loc=p["loc"], scale=p["scale"]),
         np.array([-60.0, -10.0, 0.0, 8.0, 14.0, 30.0, 200.0]), id="gev-gumbel-limit"),
    Case("genpareto", {"scale": 1.5, "shape": 0.2}, lambda p: st.genpareto(p["shape"], loc=0.0, scale=p["scale"]),
         np.array([0.0, 1e-12, 1e-4, 0.5, 3.0, 30.0, 1e4, 1e10])),
    Case("genpareto", {"scale": 2.0, "shape": -0.25},
         lambda p: st.genpareto(p["shape"], loc=5.0, scale=p["scale"]),
         # support [loc, loc + scale/0.25] = [5, 13]
         np.array([5.0, 5 + 1e-9, 6.0, 9.0, 12.0, 12.9999, 13 - 1e-9]), fixed={"loc": 5.0}, id="genpareto-bounded"),
    Case("pareto", {"shape": 3.0, "scale": 2.0}, lambda p: st.pareto(p["shape"], scale=p["scale"]),
         np.array([2.0, 2.0 + 1e-12, 2.001, 2.5, 10.0, 1e3, 1e12])),
]
