"""thetahat.derive: SymPy closed forms against the numerical Newton fit, Fisher information against
textbook formulas and against the Monte Carlo mean of the squared score."""

import numpy as np
import pytest
import sympy as sp

import thetahat
from thetahat.errors import OptionError

RNG = np.random.default_rng(20240611)
# family -> (data, known values for evaluate, fixed for fit)
CASES = {
    "bernoulli": (RNG.binomial(1, 0.3, 80), {}, {}),
    "binomial": (RNG.binomial(12, 0.35, 80), {"n": 12}, {"n": 12}),
    "geometric": (RNG.geometric(0.3, 80), {}, {}),
    "poisson": (RNG.poisson(3.5, 80), {}, {}),
    "exponential": (RNG.exponential(2.0, 80), {}, {}),
    "normal": (RNG.normal(1.5, 2.0, 80), {}, {}),
    "lognormal": (RNG.lognormal(0.7, 0.6, 80), {}, {}),
    "rayleigh": (RNG.rayleigh(1.7, 80), {}, {}),
    "halfnormal": (np.abs(RNG.normal(0, 2.5, 80)), {}, {}),
    "pareto": (RNG.pareto(2.5, 80) + 1.0, {}, "min"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_closed_form_equals_newton_fit(name):
    x, known, fixed = CASES[name]
    d = thetahat.derive(name)
    assert d.closed_form and d.regular and d.estimators
    est = d.evaluate(x, **known)
    if fixed == "min":  # pareto: the scale's MLE is the sample minimum; Newton fits the shape given it
        fixed = {"scale": float(x.min())}
        assert est["scale"] == float(x.min())
    f = thetahat.fit(x, name, method="newton", fixed=fixed)
    assert f.converged
    for k in f.estimated:
        np.testing.assert_allclose(est[k], f.params[k], rtol=1e-10, err_msg=f"{name}.{k}")


@pytest.mark.parametrize("name", list(CASES))
def test_hessian_negative_definite_at_solution(name):
    d = thetahat.derive(name)
    assert d.negative_definite is True, d.negative_definite_how


def test_closed_forms_are_the_textbook_ones():
    n = sp.Symbol("n", positive=True, integer=True)
    i = sp.Symbol("i", integer=True, positive=True)
    x = sp.IndexedBase("x")
    sx = sp.Sum(x[i], (i, 1, n))
    assert sp.simplify(thetahat.derive("bernoulli").estimators["p"] - sx / n) == 0
    assert sp.simplify(thetahat.derive("poisson").estimators["lam"] - sx / n) == 0
    assert sp.simplify(thetahat.derive("exponential").estimators["lam"] - n / sx) == 0
    assert sp.simplify(thetahat.derive("geometric").estimators["p"] - n / sx) == 0
    # sigma^2-hat with divisor n: (Σx² − (Σx)²/n) / n
    s2 = thetahat.derive("normal").estimators["sigma2"]
    sxx = sp.Sum(x[i] ** 2, (i, 1, n))
    assert sp.simplify(s2 - (sxx - sx**2 / n) / n) == 0


def _info(name):
    d = thetahat.derive(name)
    return d, {str(s): s for s in d.fisher_information.free_symbols}


def test_fisher_information_known_formulas():
    d, s = _info("bernoulli")
    p = s["p"]
    assert sp.simplify(d.fisher_information[0, 0] - 1 / (p * (1 - p))) == 0
    d, s = _info("poisson")
    assert sp.simplify(d.fisher_information[0, 0] - 1 / s["lambda"]) == 0
    d, s = _info("exponential")
    assert sp.simplify(d.fisher_information[0, 0] - 1 / s["lambda"] ** 2) == 0
    d, s = _info("normal")
    v = s["sigma^2"]
    assert sp.simplify(d.fisher_information - sp.Matrix([[1 / v, 0], [0, 1 / (2 * v**2)]])) == sp.zeros(2, 2)
    d, s = _info("geometric")
    p = s["p"]
    assert sp.simplify(d.fisher_information[0, 0] - 1 / (p**2 * (1 - p))) == 0
    d = thetahat.derive("binomial")
    N = next(t for t in d.fisher_information.free_symbols if str(t) == "N")
    p = next(t for t in d.fisher_information.free_symbols if str(t) == "p")
    assert sp.simplify(d.fisher_information[0, 0] - N / (p * (1 - p))) == 0
    # the Cramér–Rao bound of the exponential rate: lam^2 / n
    d, s = _info("exponential")
    n = sp.Symbol("n", positive=True, integer=True)
    assert sp.simplify(d.cramer_rao[0, 0] - s["lambda"] ** 2 / n) == 0


# per-observation score written out here by hand, numpy draws: E[s s^T] by Monte Carlo
MC = {
    "bernoulli": ({"p": 0.3}, lambda r, m: r.binomial(1, 0.3, m),
                  lambda x: [x / 0.3 - (1 - x) / 0.7]),
    "poisson": ({"lambda": 2.5}, lambda r, m: r.poisson(2.5, m), lambda x: [x / 2.5 - 1]),
    "exponential": ({"lambda": 1.7}, lambda r, m: r.exponential(1 / 1.7, m), lambda x: [1 / 1.7 - x]),
    "normal": ({"mu": 0.5, "sigma^2": 2.0}, lambda r, m: r.normal(0.5, np.sqrt(2.0), m),
               lambda x: [(x - 0.5) / 2.0, -1 / (2 * 2.0) + (x - 0.5) ** 2 / (2 * 2.0**2)]),
}


@pytest.mark.parametrize("name", list(MC))
def test_fisher_information_equals_monte_carlo_squared_score(name):
    vals, draw, score = MC[name]
    d = thetahat.derive(name)
    subs = {s: vals[str(s)] for s in d.fisher_information.free_symbols}
    info = np.asarray(d.fisher_information.subs(subs).evalf(), dtype=float)
    x = draw(np.random.default_rng(5), 400_000).astype(float)
    s = np.array(score(x))
    outer = s[:, None, :] * s[None, :, :]
    mean, se = outer.mean(axis=2), outer.std(axis=2, ddof=1) / np.sqrt(x.size)
    assert np.all(np.abs(mean - info) <= 3 * se + 1e-12), (mean, info, se)


@pytest.mark.parametrize("name,word", [("gamma", "digamma"), ("beta", "digamma"), ("weibull", "separate")])
def test_no_closed_form_says_why(name, word):
    d = thetahat.derive(name)
    assert not d.closed_form and not d.estimators
    assert "no closed form" in d.reason and word in d.reason
    with pytest.raises(OptionError, match="no closed-form MLE"):
        d.evaluate([1.0, 2.0])


def test_gamma_profile_equation_and_information():
    d = thetahat.derive("gamma")
    assert "profile" in d.reason and "lambda = k*n/Sum(x[i], (i, 1, n))" in d.reason
    k = next(s for s in d.fisher_information.free_symbols if str(s) == "k")
    lam = next(s for s in d.fisher_information.free_symbols if str(s) == "lambda")
    want = sp.Matrix([[sp.polygamma(1, k), -1 / lam], [-1 / lam, k / lam**2]])
    assert sp.simplify(d.fisher_information - want) == sp.zeros(2, 2)


def test_uniform_is_non_regular():
    d = thetahat.derive("uniform")
    assert not d.regular and d.fisher_information is None and d.cramer_rao is None
    assert "boundary" in d.reason and "min" in d.reason
    x = np.array([0.3, 1.9, 1.2, 0.7])
    assert d.evaluate(x) == {"a": 0.3, "b": 1.9}
    assert "Non-regular" in d.to_text()


def test_user_density():
    x, th = sp.symbols("x theta", positive=True)
    d = thetahat.derive(th * x ** (th - 1), x=x, params=[th], support=(0, 1))
    data = np.random.default_rng(3).beta(2.5, 1.0, 200)  # density theta x^(theta-1) is beta(theta, 1)
    assert d.evaluate(data)["theta"] == pytest.approx(-data.size / np.log(data).sum(), rel=1e-12)
    assert sp.simplify(d.fisher_information[0, 0] - 1 / th**2) == 0
    assert d.negative_definite is True


def test_user_density_without_closed_form_integrates_information(monkeypatch):
    # SymPy needs ~10 s for this integral alone; on 2 loaded cores the default 20 s limit can trip
    import importlib

    derive_mod = importlib.import_module("thetahat.theory.derive")
    monkeypatch.setattr(derive_mod, "INTEGRATION_SECONDS", 180)
    # Cauchy location: no sufficient statistics; I = 1/2 (known result)
    x, m = sp.Symbol("x", real=True), sp.Symbol("m", real=True)
    d = thetahat.derive(1 / (sp.pi * (1 + (x - m) ** 2)), x=x, params=[m])
    assert not d.closed_form and "separate" in d.reason
    assert sp.simplify(d.fisher_information[0, 0] - sp.Rational(1, 2)) == 0
    assert "integrating" in d.fisher_how


def test_renderings():
    d = thetahat.derive("poisson")
    assert "Score equations" in d.to_text() and "Sum(x[i], (i, 1, n))/n" in d.to_text()
    md = d.to_markdown()
    assert md.startswith("## Derivation of the MLE: poisson") and "$$" in md and r"\hat{\lambda}" in md
    tex = d.to_latex()
    assert r"\begin{align*}" in tex and r"\sum_{i=1}^{n}" in tex


def test_bad_input():
    with pytest.raises(OptionError, match="no SymPy density"):
        thetahat.derive("t")
    x, th = sp.symbols("x theta", positive=True)
    with pytest.raises(OptionError, match="x="):
        thetahat.derive(th * sp.exp(-th * x))
    with pytest.raises(OptionError, match="parameter"):
        thetahat.derive(th * sp.exp(-th * x), x=x, params=[sp.Symbol("zeta")])
    with pytest.raises(OptionError, match="known value"):
        thetahat.derive("binomial").evaluate([1, 2, 3])


@pytest.mark.parametrize("name", ["zinb", "gengamma", "gompertz", "burr12", "kumaraswamy"])
def test_symbolic_densities_of_the_new_families_are_their_log_densities(name):
    # the SymPy density that derive starts from, at the table's parameters and grid, against the family's
    # log-density (itself held against scipy or an independent formula by the family table)
    from cases import CASES
    from thetahat._jax import jnp, scope

    case = next(c for c in CASES if c.family == name)
    sym = thetahat.family(name).symbolic()
    subs = {s: case.params[n] for s, n in zip(sym.params, sym.names)}
    fam = thetahat.family(name)
    pts = [v for v in case.grid if np.isfinite(case.scipy(case.params).logpdf(v) if hasattr(case.scipy(case.params), "logpdf")
                                                 else case.scipy(case.params).logpmf(v))][:5]
    with scope():
        p = {k: jnp.asarray(v) for k, v in case.params.items()}
        for v in pts:
            exact = sp.N(sp.log(sym.density.subs(subs).subs(sym.x, sp.nsimplify(v) if sym.discrete else v)), 30)
            assert float(fam.logpdf(jnp.asarray(v), p)) == pytest.approx(float(exact), rel=1e-10, abs=1e-12)


def test_zinb_derivation_has_no_closed_form_and_its_score_is_the_gradient():
    # the score equations' summands at counts 0..6, summed, against autodiff of the family's log-pmf
    import jax

    from thetahat._jax import jnp, scope

    d = thetahat.derive("zinb")
    assert not d.closed_form and len(d.score) == 3
    x = np.array([0.0, 0.0, 1.0, 2.0, 3.0, 6.0])
    theta = {"pi": 0.3, "r": 2.0, "p": 0.4}
    sym = dict(zip(d.names, d.params))
    grads = []
    for s_j in d.score:
        summand = s_j.function.subs({sym[k]: v for k, v in theta.items()})
        (xi,) = summand.atoms(sp.Indexed)
        grads.append(sum(float(summand.subs(xi, int(v)).doit()) for v in x))
    fam = thetahat.family("zinb")
    with scope():
        g = jax.grad(lambda p: sum(fam.logpdf(jnp.asarray(v), p) for v in x))(
            {k: jnp.asarray(v) for k, v in theta.items()})
    assert np.allclose(grads, [float(g[k]) for k in d.names], rtol=1e-10)
