"""Marginal effects of thetahat.regress against statsmodels' get_margeff, to 1e-8 relative.

statsmodels' Logit, Probit, Poisson, NegativeBinomial (NB2) and MNLogit are fitted by Newton
to a tight tolerance; their covariance is the inverse observed Hessian, as thetahat's (the
test checks the SEs agree first, so that what is compared next is the marginal effects). The
effects and their delta-method SEs are ``margeff``/``margeff_se`` at ``at="overall"`` and
``at="mean"`` (``dummy=False``: every column treated as continuous, as thetahat does).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import thetahat
from thetahat.errors import OptionError

N = 300


def close(a, b, rtol=1e-8):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol, atol=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(2)
    x1, x2 = rng.normal(size=N), rng.uniform(-1, 1, size=N)
    X = np.column_stack([np.ones(N), x1, x2])
    eta = np.column_stack([np.zeros(N), 0.3 + x1, -0.2 - x2 + 0.5 * x1])
    pr = np.exp(eta)
    pr /= pr.sum(1, keepdims=True)
    mu = np.exp(0.3 + 0.4 * x1 - 0.5 * x2)
    return {"X": X,
            "binary": (rng.random(N) < 1 / (1 + np.exp(-(0.2 + x1 - x2)))).astype(float),
            "count": rng.poisson(mu).astype(float),
            "nb": rng.negative_binomial(2.0, 2.0 / (2.0 + mu)).astype(float),
            "classes": (rng.random(N)[:, None] > np.cumsum(pr, axis=1)).sum(1).astype(float)}


CASES = [("bernoulli", "logit", "binary", sm.Logit), ("bernoulli", "probit", "binary", sm.Probit),
         ("poisson", None, "count", sm.Poisson), ("negative_binomial", None, "nb", sm.NegativeBinomial),
         ("multinomial", None, "classes", sm.MNLogit)]


@pytest.mark.parametrize("family,link,column,cls", CASES, ids=[c[0] + "-" + str(c[1]) for c in CASES])
def test_margeff_matches_statsmodels(data, family, link, column, cls):
    X, y = data["X"], data[column]
    fit = thetahat.regress(X, y=y, family=family, link=link)
    ref = cls(y, X).fit(method="newton", tol=1e-14, maxiter=200, disp=0)
    k = ref.params.size
    # statsmodels' MNLogit params are (p, K - 1), one column per non-base class
    close(fit.se[:k], np.ravel(ref.bse, order="F"))
    for at in ("overall", "mean"):
        me, m = fit.marginal_effects(at=at), ref.get_margeff(at=at)
        squeeze = (lambda a: a) if family == "multinomial" else (lambda a: a[:, 0])
        close(squeeze(me.effect), m.margeff)
        close(squeeze(me.se), m.margeff_se)
        if family != "multinomial":  # the frame's z, p and interval are statsmodels' summary_frame's
            ref_frame = m.summary_frame(alpha=0.1)
            fr = me.frame(alpha=0.1)
            close(fr["z"], ref_frame["z"])
            close(fr["p"], ref_frame["Pr(>|z|)"])
            close(fr["ci_lower"], ref_frame["Conf. Int. Low"])
            close(fr["ci_upper"], ref_frame["Cont. Int. Hi."])


def test_multinomial_frame_has_one_block_per_class(data):
    fit = thetahat.regress(data["X"], y=data["classes"], family="multinomial")
    fr = fit.marginal_effects().frame()
    assert fr.index.names == ["outcome", "column"] and len(fr) == 3 * 2
    # the class probabilities sum to 1, so the effects on them sum to 0 column by column
    close(fr["effect"].groupby(level="column").sum().abs() + 1, np.ones(2), rtol=1e-14)


def test_formula_names_and_offset(data):
    X, y = data["X"], data["count"]
    df = pd.DataFrame({"y": y, "a": X[:, 1], "b": X[:, 2], "e": np.linspace(0.5, 2, N)})
    fit = thetahat.regress("y ~ a + b", df, family="poisson", offset=np.log(df["e"]))
    me = fit.marginal_effects()
    assert me.names == ("a", "b")
    # poisson/log: d mu_i / d x_j = mu_i b_j, so the average effect is mean(mu_i) b_j, offsets and all
    close(me.effect[:, 0], np.mean(fit.fitted) * np.array([fit.params["a"], fit.params["b"]]), rtol=1e-12)
    with pytest.raises(OptionError, match="offset"):
        fit.marginal_effects(at="mean")


def test_refusals(data):
    X = data["X"]
    fit = thetahat.regress(X, y=data["binary"], family="logit")
    with pytest.raises(OptionError, match="at must be"):
        fit.marginal_effects(at="median")
    with pytest.raises(OptionError, match="method must be"):
        fit.marginal_effects(method="eyex")
    t = np.exp(0.1 * X[:, 1]) * data["nb"] + 0.5
    weib = thetahat.regress(X, y=t, family="weibull")
    with pytest.raises(OptionError, match="marginal effects are defined here"):
        weib.marginal_effects()
