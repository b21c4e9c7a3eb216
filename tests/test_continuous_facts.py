"""Known facts about the continuous families, each checked against an independent source."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats as st

import thetahat
import cases  # noqa: F401  (imports cases_continuous in the right order)
from cases_continuous import CASES
from thetahat.errors import SupportError


def test_exponential_rate_is_reciprocal_mean_with_se_rate_over_root_n():
    x = st.expon(scale=1 / 2.5).rvs(size=777, random_state=np.random.default_rng(3))
    f = thetahat.fit(x, "exponential")
    lam = 1.0 / x.mean()
    assert f.params["lam"] == pytest.approx(lam, rel=1e-14)
    assert f.se["lam"] == pytest.approx(lam / np.sqrt(x.size), rel=1e-10)


# (family, true params, scipy draw, scipy fit of the same model -> frozen distribution)
SCIPY_FITS = [
    ("gamma", lambda rng: st.gamma(2.7, scale=1 / 1.3).rvs(2000, random_state=rng),
     lambda x: st.gamma(*st.gamma.fit(x, floc=0))),
    ("weibull", lambda rng: st.weibull_min(1.7, scale=2.2).rvs(2000, random_state=rng),
     lambda x: st.weibull_min(*st.weibull_min.fit(x, floc=0))),
    ("t", lambda rng: st.t(4.5, -1.0, 2.0).rvs(2000, random_state=rng),
     lambda x: st.t(*st.t.fit(x))),
    ("gev", lambda rng: st.genextreme(-0.15, 10.0, 2.0).rvs(2000, random_state=rng),
     lambda x: st.genextreme(*st.genextreme.fit(x))),
    ("beta", lambda rng: st.beta(2.3, 4.1).rvs(2000, random_state=rng),
     lambda x: st.beta(*st.beta.fit(x, floc=0, fscale=1))),
]


@pytest.mark.parametrize("name, draw, scipy_fit", SCIPY_FITS, ids=[r[0] for r in SCIPY_FITS])
def test_our_optimum_is_at_least_scipys(name, draw, scipy_fit):
    x = draw(np.random.default_rng(99))
    f = thetahat.fit(x, name)
    assert f.converged, f.reason
    ref = float(np.sum(scipy_fit(x).logpdf(x)))
    assert f.loglik >= ref - 1e-9 * abs(ref)
    # and our log-likelihood is scipy's sum at our estimate
    assert f.loglik == pytest.approx(float(np.sum(f.family.to_scipy(f.params).logpdf(x))), rel=1e-10)


def test_negative_value_for_gamma_raises_support_error_naming_the_row():
    with pytest.raises(SupportError, match="data row 3"):
        thetahat.fit([1.0, 2.0, -0.5, 3.0], "gamma")


def test_genpareto_rejects_data_below_the_threshold():
    with pytest.raises(SupportError, match="data row 2"):
        thetahat.fit([5.5, 4.0, 7.0], "genpareto", fixed={"loc": 5.0})


def test_pareto_closed_form_is_the_textbook_estimator():
    x = st.pareto(3.0, scale=2.0).rvs(size=500, random_state=np.random.default_rng(5))
    f = thetahat.fit(x, "pareto")
    assert f.params["scale"] == x.min()
    assert f.params["shape"] == pytest.approx(x.size / np.log(x / x.min()).sum(), rel=1e-12)
    assert f.se["scale"] is None
    # shape's SE conditional on the scale: b / sqrt(n)
    assert f.se["shape"] == pytest.approx(f.params["shape"] / np.sqrt(x.size), rel=1e-8)


def test_laplace_closed_form_is_median_and_mean_absolute_deviation():
    x = st.laplace(-0.5, 1.8).rvs(size=301, random_state=np.random.default_rng(6))
    f = thetahat.fit(x, "laplace")
    med = np.median(x)
    assert f.params["loc"] == med
    assert f.params["scale"] == pytest.approx(np.mean(np.abs(x - med)), rel=1e-14)
    assert f.cov_type == "expected"
    assert f.se["scale"] == pytest.approx(f.params["scale"] / np.sqrt(x.size), rel=1e-10)


@pytest.mark.parametrize("x, w", [
    (np.array([0.3, -1.2, 2.5, 0.9, 4.1, -0.7, 1.1]), None),
    (np.array([0.3, -1.2, 2.5, 0.9, 4.1, -0.7]), None),
    (np.array([1.0, 2.0, 2.0, 2.0, 5.0, 9.0]), None),  # ties at the median
    (np.array([3.0, -1.0, 0.5, 2.0, 7.0]), np.array([1.0, 3.0, 2.0, 0.0, 2.0])),
])
@pytest.mark.usefixtures("x64")  # (the test computes with JAX itself)
def test_laplace_closed_form_derivatives_match_autodiff(x, w):
    # the closed form reports the log-likelihood and its scale derivatives itself: JAX's on the
    # rows agree; in loc, ell is not differentiable, and the reported 0 is a subgradient: the
    # one-sided difference quotients of scipy's log-likelihood bracket it
    from thetahat.scale.arrays import Sample
    from thetahat.engine.layout import Layout
    from thetahat.engine.objective import ChunkObjective

    fam = thetahat.family("laplace")
    est, (v, g, H) = fam.closed_form_derivs(x, w)
    mu, b = est["loc"], est["scale"]
    ww = np.ones_like(x) if w is None else w
    layout = Layout.build(fam, fam.param_shapes(x), ["loc", "scale"])
    obj = ChunkObjective(fam, layout, {}, Sample(x, w, float(ww.sum()), 0))
    theta = {"loc": jnp.asarray(mu), "scale": jnp.asarray(b)}
    assert v == pytest.approx(float(np.sum(ww * st.laplace(mu, b).logpdf(x))), rel=1e-13)
    d_scale = jax.grad(lambda s: obj.loglik_theta({**theta, "scale": s}))(jnp.asarray(b))
    d2_scale = jax.hessian(lambda s: obj.loglik_theta({**theta, "scale": s}))(jnp.asarray(b))
    assert g[1] == pytest.approx(float(d_scale), abs=1e-10)
    assert H[1, 1] == pytest.approx(float(d2_scale), rel=1e-12)
    h = 1e-6
    ll = lambda m: float(np.sum(ww * st.laplace(m, b).logpdf(x)))  # noqa: E731
    assert (ll(mu + h) - v) / h <= g[0] + 1e-6 <= (v - ll(mu - h)) / h + 2e-6


def test_laplace_weighted_median_equals_the_repeated_data_median():
    x = np.array([3.0, -1.0, 0.5, 2.0, 7.0])
    w = np.array([1.0, 3.0, 2.0, 1.0, 2.0])
    f = thetahat.fit(x, "laplace", weights=w)
    g = thetahat.fit(np.repeat(x, w.astype(int)), "laplace")
    assert f.params["loc"] == g.params["loc"]
    assert f.params["scale"] == pytest.approx(g.params["scale"], rel=1e-14)


@pytest.mark.usefixtures("x64")  # (the test computes with JAX itself)
def test_gev_is_continuous_through_the_gumbel_limit():
    fam = thetahat.family("gev")
    x = jnp.linspace(-3.0, 8.0, 23)

    def lp(xi):
        p = {"loc": jnp.asarray(0.0), "scale": jnp.asarray(1.0), "shape": xi}
        return jax.vmap(lambda t: fam.logpdf(t, p))(x)

    gumbel = st.gumbel_r.logpdf(np.asarray(x))
    np.testing.assert_allclose(np.asarray(lp(jnp.asarray(0.0))), gumbel, rtol=1e-13)
    for xi in (1e-9, -1e-9, 1e-4, -1e-4, 0.03, -0.06):
        np.testing.assert_allclose(np.asarray(lp(jnp.asarray(xi))),
                                   st.genextreme.logpdf(np.asarray(x), -xi), rtol=1e-10)
        # d/dxi logpdf is finite and matches central differences across 0
        d = np.asarray(jax.jacfwd(lp)(jnp.asarray(xi)))
        h = 1e-5
        xn = np.asarray(x)
        fd = (st.genextreme.logpdf(xn, -(xi + h)) - st.genextreme.logpdf(xn, -(xi - h))) / (2 * h)
        np.testing.assert_allclose(d, fd, rtol=1e-5, atol=1e-6)


_INFO = [c for c in CASES if thetahat.family(c.family).expected_information is not None]


@pytest.mark.usefixtures("x64")  # (the test computes with JAX itself)
@pytest.mark.parametrize("case", _INFO, ids=[c.id for c in _INFO])
def test_expected_information_is_the_variance_of_the_score(case):
    # Monte Carlo outer product of the autodiff score, n = 400k: a check independent of the formula
    fam = thetahat.family(case.family)
    x = jnp.asarray(case.scipy(case.params).rvs(size=400_000, random_state=np.random.default_rng(8)))
    names = list(fam.params)
    theta = jnp.asarray([case.params[k] for k in names], dtype=jnp.float64)

    def lp(th, xi):
        return fam.logpdf(xi, {**case.fixed, **dict(zip(names, th))})

    scores = np.asarray(jax.vmap(jax.grad(lp), in_axes=(None, 0))(theta, x))
    opg = scores.T @ scores / scores.shape[0]
    info = np.asarray(fam.expected_information({k: jnp.asarray(v) for k, v in case.params.items()}))
    # standard error of a sample mean of 400k products: a few 1e-3 relative to the diagonal scale
    tol = 0.03 * np.sqrt(np.outer(np.diag(info), np.diag(info)))
    assert np.all(np.abs(opg - info) <= tol), (opg, info)


@pytest.mark.usefixtures("x64")  # (the test calls the family's cdf and sf itself)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cdf_and_sf_match_scipy(case):
    fam = thetahat.family(case.family)
    p = {k: jnp.asarray(v) for k, v in {**case.params, **case.fixed}.items()}
    dist = case.scipy({**case.params, **case.fixed})
    x = np.asarray(case.grid)
    cdf = np.asarray(jax.vmap(lambda t: fam.cdf(t, p))(jnp.asarray(x)))
    sf = np.asarray(jax.vmap(lambda t: fam.sf(t, p))(jnp.asarray(x)))
    np.testing.assert_allclose(cdf, dist.cdf(x), rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(sf, dist.sf(x), rtol=1e-9, atol=1e-300)
