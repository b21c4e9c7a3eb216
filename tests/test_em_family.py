"""Mixture components from the families: the closed-form M-step of every family that has one against
scipy.optimize on the same weighted log-likelihood (scipy.stats densities), a lognormal mixture against
L-BFGS-B on its marginal log-likelihood, streamed mixtures of the families that newly stream against the
in-memory fit, and the refusal of a family whose M-step needs the rows."""

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import optimize, stats
from scipy.special import logsumexp

import thetahat
from thetahat._jax import scope
from thetahat.em._common import build_model, model_class
from thetahat.em.generic import ClosedFormComponents, GenericComponents
from thetahat.errors import OptionError

RNG = np.random.default_rng(2024)

# family: (data, scipy logpdf(x, natural params), natural params -> unconstrained vector, and back)
CASES = {
    "poisson": (RNG.poisson(3.0, 300).astype(float), lambda x, t: stats.poisson.logpmf(x, t[0]), ("lam",)),
    "exponential": (RNG.exponential(2.0, 300), lambda x, t: stats.expon.logpdf(x, scale=1 / t[0]), ("lam",)),
    "geometric": (RNG.geometric(0.3, 300).astype(float), lambda x, t: stats.geom.logpmf(x, t[0]), ("p",)),
    "lognormal": (RNG.lognormal(1.0, 0.5, 300), lambda x, t: stats.lognorm.logpdf(x, t[1], scale=np.exp(t[0])),
                  ("mu", "sigma")),
    "rayleigh": (RNG.rayleigh(2.0, 300), lambda x, t: stats.rayleigh.logpdf(x, scale=t[0]), ("sigma",)),
    "halfnormal": (np.abs(RNG.normal(0, 1.5, 300)), lambda x, t: stats.halfnorm.logpdf(x, scale=t[0]), ("sigma",)),
    "inverse_gaussian": (RNG.wald(2.0, 3.0, 300),
                         lambda x, t: stats.invgauss.logpdf(x, t[0] / t[1], scale=t[1]), ("mu", "lam")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_closed_form_m_step_maximises_the_weighted_loglik(name):
    """The M-step of each component is the maximiser of sum_i r_ij log f(x_i; theta_j) (scipy's density,
    Nelder-Mead from the closed form and from a moment start): never beaten, and equal to the optimum."""
    x, logpdf, names = CASES[name]
    r = RNG.dirichlet([1.0, 1.0], x.size)
    with scope():
        model = build_model(name, x, 2)
        assert isinstance(model, ClosedFormComponents)
        nat = model.natural(model.m_step(x, r, model.init_from_labels(x, np.arange(x.size) % 2)))
    for j in range(2):
        ours = np.array([float(nat[n][j]) for n in names])

        def nll(t):
            v = logpdf(x, t)
            return np.inf if not np.all(np.isfinite(v)) else -np.sum(r[:, j] * v)

        best = min((optimize.minimize(nll, t0, method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-14,
                                                                                  "maxiter": 20000})
                    for t0 in (ours * 1.1, ours)), key=lambda o: o.fun)
        assert nll(ours) <= best.fun + 1e-10 * abs(best.fun)
        np.testing.assert_allclose(ours, best.x, rtol=1e-5)


def test_which_families_take_the_closed_form():
    """The components model is the family's: a closed form where the family declares statistics and a
    closed-form MLE, the Newton M-step elsewhere (gamma: statistics but no closed form; pareto, uniform:
    closed forms that are sample extremes)."""
    for name in ("poisson", "exponential", "geometric", "lognormal", "rayleigh", "halfnormal", "inverse_gaussian"):
        fam = thetahat.family(name)
        assert fam.statistics is not None and fam.closed_form is not None
        assert model_class(name) is ClosedFormComponents
    for name in ("gamma", "weibull", "pareto", "uniform"):
        assert model_class(name) is GenericComponents


def test_lognormal_mixture_vs_scipy():
    """Closed-form M-steps (once Newton ones) reach the maximum of the marginal log-likelihood found by
    L-BFGS-B with scipy's lognormal density, from thetahat's answer and from a crude start."""
    rng = np.random.default_rng(5)
    n = 1500
    lab = rng.random(n) < 0.4
    x = np.where(lab, rng.lognormal(0.0, 0.5, n), rng.lognormal(1.5, 0.4, n))

    def nll(v):
        a, mu, sg = v[0], v[1:3], np.exp(v[3:5])
        lw = np.array([-np.logaddexp(0.0, -a), -np.logaddexp(0.0, a)])
        lp = lw + np.stack([stats.lognorm.logpdf(x, sg[j], scale=np.exp(mu[j])) for j in range(2)], 1)
        return -logsumexp(lp, axis=1).sum()

    f = thetahat.mixture(x, 2, family="lognormal")
    p = f.params
    ours = np.r_[np.log(p["weights"][0] / p["weights"][1]), p["mu"], np.log(p["sigma"])]
    crude = np.r_[0.0, np.quantile(np.log(x), [0.2, 0.8]), np.log([0.5, 0.5])]
    opts = {"ftol": 1e-15, "gtol": 1e-10, "maxiter": 20000}
    best = min((optimize.minimize(nll, v0, method="L-BFGS-B", options=opts) for v0 in (ours, crude)),
               key=lambda o: o.fun)
    assert f.converged
    assert f.loglik >= -best.fun - 1e-12 * abs(best.fun)
    np.testing.assert_allclose(f.loglik, -nll(ours), rtol=1e-12)
    np.testing.assert_allclose(ours, best.x, rtol=1e-4, atol=1e-5)


def _same(f, g):
    assert abs(f.iterations - g.iterations) <= 1 and f.converged and g.converged
    for k in g.params:
        np.testing.assert_allclose(f.params[k], g.params[k], rtol=1e-8, atol=0, err_msg=k)
        np.testing.assert_allclose(f.se[k], g.se[k], rtol=1e-6, atol=0, err_msg=f"se of {k}")
    np.testing.assert_allclose(f.loglik, g.loglik, rtol=1e-10)


def test_lognormal_streams_from_parquet_as_in_memory(tmp_path):
    """Lognormal statistics merge by Chan's formula (the family's merge), component by component."""
    rng = np.random.default_rng(12)
    x = np.concatenate([rng.lognormal(0.0, 0.5, 3000), rng.lognormal(2.0, 0.4, 2000)])
    rng.shuffle(x)
    for i, part in enumerate(np.array_split(x, 3)):
        pq.write_table(pa.table({"t": part}), os.path.join(tmp_path, f"part{i}.parquet"), row_group_size=700)
    start = {"weights": [0.5, 0.5], "mu": [0.5, 1.5], "sigma": [1.0, 1.0]}
    f = thetahat.mixture(str(tmp_path / "*.parquet"), 2, "lognormal", column="t", start=start, tol=1e-13)
    assert any("passes over the data" in n for n in f.notes)
    _same(f, thetahat.mixture(x, 2, "lognormal", start=start, tol=1e-13))
    # without start=: the pilot's in-memory fit, then streamed EM, to the in-memory optimum
    g = thetahat.mixture(str(tmp_path / "*.parquet"), 2, "lognormal", column="t")
    h = thetahat.mixture(x, 2, "lognormal")
    np.testing.assert_allclose(g.loglik, h.loglik, rtol=1e-10)
    np.testing.assert_allclose(g.params["mu"], h.params["mu"], rtol=1e-6)


def test_geometric_streams_from_csv_as_in_memory(tmp_path):
    rng = np.random.default_rng(13)
    x = np.concatenate([rng.geometric(0.6, 3000), rng.geometric(0.08, 2000)]).astype(float)
    rng.shuffle(x)
    for i, part in enumerate(np.array_split(x, 2)):
        pd.DataFrame({"n": part}).to_csv(tmp_path / f"c{i}.csv", index=False)
    start = {"weights": [0.5, 0.5], "p": [0.5, 0.2]}
    f = thetahat.mixture(str(tmp_path / "*.csv"), 2, "geometric", column="n", start=start, tol=1e-13)
    _same(f, thetahat.mixture(x, 2, "geometric", start=start, tol=1e-13))


def test_a_family_without_a_closed_form_is_refused_with_the_reason(tmp_path):
    pq.write_table(pa.table({"x": np.arange(1.0, 50.0)}), tmp_path / "a.parquet")
    with pytest.raises(OptionError, match="gamma has no closed-form M-step from mergeable statistics") as e:
        thetahat.mixture(str(tmp_path / "a.parquet"), 2, "gamma", column="x")
    assert "lognormal" in str(e.value)  # the families that do stream are named
    with pytest.raises(OptionError, match="latent class"):
        thetahat.mixture(str(tmp_path / "a.parquet"), 2, "bernoulli", column="x")


def test_m_step_on_the_edge_and_without_weight():
    """A Poisson component whose weight is all on zeros has the closed form lam = 0, on the edge of its
    space: it is held at 10 eps (the TINY the hand-written M-step added); a component with no weight at
    all (0/0) keeps its parameters, and the other component gets the weighted mean (a known formula)."""
    x = np.array([0.0, 0.0, 3.0, 5.0])
    with scope():
        model = build_model("poisson", x, 2)
        p0 = model.from_natural({"lam": [0.7, 9.0]})
        edge = model.natural(model.m_step(x, np.array([[1.0, 0], [1, 0], [0, 1], [0, 1]]), p0))["lam"]
        empty = model.natural(model.m_step(x, np.array([[0.0, 1], [0, 1], [0, 1], [0, 1]]), p0))["lam"]
    np.testing.assert_allclose(np.asarray(edge), [10 * np.finfo(float).eps, 4.0], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(empty), [0.7, 2.0], rtol=1e-12)
