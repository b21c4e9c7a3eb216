"""float64 within thetahat's calls only: the user's own JAX code keeps JAX's default (float32)
after ``import thetahat`` and after a fit, and thetahat's answers stay float64."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize, special, stats

import thetahat
from thetahat import _jax

pytestmark = pytest.mark.skipif(_jax.GLOBAL_X64, reason="THETAHAT_GLOBAL_X64=1: float64 for the whole process")

X = stats.gamma(2.5, scale=1 / 1.5).rvs(size=400, random_state=np.random.default_rng(0))


def _gamma_mle(x):
    """The gamma MLE from its score equation log k - digamma(k) = log mean - mean log x, by brentq."""
    d = np.log(x.mean()) - np.log(x).mean()
    k = optimize.brentq(lambda k: np.log(k) - special.digamma(k) - d, 1e-3, 1e3, xtol=1e-15, rtol=1e-15)
    return k, k / x.mean()


def _check_gamma(f):
    k, lam = _gamma_mle(X)
    np.testing.assert_allclose([f.params["shape"], f.params["rate"]], [k, lam], rtol=1e-10)
    np.testing.assert_allclose(f.loglik, stats.gamma(k, scale=1 / lam).logpdf(X).sum(), rtol=1e-12)


def test_user_float32_survives_a_fit():
    assert not jax.config.jax_enable_x64
    f = thetahat.fit(X, "gamma")
    _check_gamma(f)
    assert jnp.ones(3).dtype == jnp.float32 and not jax.config.jax_enable_x64
    assert isinstance(f.params["shape"], float) and f.cov.dtype == np.float64
    # later methods compute in float64 too, and leave float32 behind
    lo, hi = f.confint(method="profile")["shape"]
    assert lo < f.params["shape"] < hi and jnp.ones(3).dtype == jnp.float32


def test_user_float64_is_left_on(x64):
    _check_gamma(thetahat.fit(X, "gamma"))
    assert jnp.ones(3).dtype == jnp.float64


def test_float64_in_another_thread():
    with ThreadPoolExecutor(1) as pool:
        f = pool.submit(thetahat.fit, X, "gamma").result()
    _check_gamma(f)


def test_compiled_code_outside_the_scope_is_refused():
    @_jax.jit
    def double(v):
        return 2.0 * v

    with pytest.raises(_jax.OutsideFloat64):
        double(np.ones(2))
    with _jax.scope():
        assert double(np.ones(2)).dtype == jnp.float64


def test_every_entry_point_enters_float64():
    """The public functions that compute, and the result classes whose methods do: each wrapped."""
    from thetahat import em, regression, theory
    from thetahat.compare import Comparison
    from thetahat.grouped import ManyFit
    from thetahat.inference import bootstrap, delta, gof, intervals, likelihood_ratio, profile
    from thetahat.plots import distribution, likelihood

    functions = [thetahat.fit, thetahat.compare, thetahat.regress, thetahat.nls, thetahat.mixture, thetahat.hmm,
                 thetahat.fit_many, thetahat.lrt, thetahat.derive, thetahat.fisher_information, thetahat.kl,
                 thetahat.explain, theory.cramer_rao, theory.efficiency, theory.fisher_information_of_fit,
                 theory.kl_to_empirical, theory.mle_by_kl, theory.study.consistency, theory.study.normality,
                 theory.study.bias, theory.study.efficiency, distribution.plot_fit, likelihood.plot_profile,
                 likelihood.loglik_grid, likelihood.plot_contour, likelihood.plot_trace]
    classes = [thetahat.Fit, Comparison, ManyFit, regression.RegressionFit, em.MixtureFit, em.MixtureSelection,
               em.HMMFit, theory.Derivation, theory.Divergence, theory.Information, theory.Explanation,
               theory.study.Study, bootstrap.Bootstrap, delta.Derived, gof.GofResult, intervals.Intervals,
               likelihood_ratio.LRTResult, profile.Profile]
    assert [f.__name__ for f in functions if not getattr(f, "__thetahat_x64__", False)] == []
    assert [c.__name__ for c in classes if "__thetahat_x64__" not in vars(c)] == []


_USER = textwrap.dedent("""
    import json, sys
    import jax, jax.numpy as jnp
    import numpy as np
    out = {"before": str(jnp.ones(3).dtype)}
    import thetahat
    out["after_import"] = str(jnp.ones(3).dtype)
    x = np.random.default_rng(0).gamma(2.0, 1.5, 300)
    f = thetahat.fit(x, "gamma")
    g = thetahat.fit(x, "normal")
    out["after_fit"] = str(jnp.ones(3).dtype)
    out["x64"] = bool(jax.config.jax_enable_x64)
    out["cache"] = jax.config.jax_compilation_cache_dir
    out["shape"] = f.params["shape"]
    print(json.dumps(out))
""")


def test_import_and_fit_leave_user_jax_alone(tmp_path):
    """A user's script: JAX imported first, then thetahat, a JAX fit and a NumPy one."""
    src = str(pathlib.Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
           "THETAHAT_CACHE_DIR": str(tmp_path)}
    env.pop("JAX_ENABLE_X64", None)
    r = subprocess.run([sys.executable, "-c", _USER], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    x = np.random.default_rng(0).gamma(2.0, 1.5, 300)
    np.testing.assert_allclose(out.pop("shape"), _gamma_mle(x)[0], rtol=1e-10)
    # thetahat's compile cache is thetahat's too: the user's own compiled functions are not written to it
    assert out == {"before": "float32", "after_import": "float32", "after_fit": "float32", "x64": False,
                   "cache": None}

