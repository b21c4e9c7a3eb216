"""thetahat.hmm against hmmlearn (same start, same iterations) and brute-force enumeration of state paths."""

import itertools

import numpy as np
import pytest
from hmmlearn import hmm as hl
from scipy import stats as st

import thetahat
from thetahat.em._common import SequenceError
from thetahat.errors import NonFiniteDataError, SupportError

# the brute-force enumeration takes log 0 = -inf for a transition probability of exactly 0
pytestmark = pytest.mark.filterwarnings("ignore:divide by zero")

A = np.array([[0.85, 0.10, 0.05], [0.10, 0.80, 0.10], [0.05, 0.15, 0.80]])
PI = np.array([0.5, 0.3, 0.2])


def _states(rng, T):
    s = [rng.choice(3, p=PI)]
    for _ in range(T - 1):
        s.append(rng.choice(3, p=A[s[-1]]))
    return np.array(s)


def _nondecreasing(f):
    t = np.asarray(f.trace)
    assert np.all(np.diff(t) >= -1e-9 * abs(t[-1]))


def _start(mu=None, sigma=None, p=None):
    tr = 0.6 * np.eye(3) + 0.4 / 3
    d = {"start": np.full(3, 1 / 3), "transition": tr}
    if mu is not None:
        d.update(mu=mu, sigma=sigma)
    if p is not None:
        d["p"] = p
    return d


def test_gaussian_matches_hmmlearn_two_sequences():
    rng = np.random.default_rng(0)
    seqs = []
    for T in (700, 500):
        s = _states(rng, T)
        seqs.append(rng.normal(np.array([-2.0, 0.0, 3.0])[s], np.array([1.0, 0.5, 1.5])[s]))
    st0 = _start(mu=[-1.0, 0.5, 2.0], sigma=[1.0, 1.0, 1.0])
    n_iter = 40
    f = thetahat.hmm(seqs, 3, start=st0, max_iter=n_iter, tol=0, cov_prior=0, se=False)
    m = hl.GaussianHMM(3, covariance_type="full", min_covar=0, covars_prior=0, init_params="",
                       n_iter=f.iterations, tol=-np.inf)
    m.startprob_, m.transmat_ = st0["start"], st0["transition"]
    m.means_, m.covars_ = np.array(st0["mu"])[:, None], np.ones((3, 1, 1))
    X = np.concatenate(seqs)[:, None]
    m.fit(X, lengths=[700, 500])
    ref = m.score(X, lengths=[700, 500])
    np.testing.assert_allclose(f.loglik, ref, rtol=1e-6 / 1e3, atol=1e-6)
    np.testing.assert_allclose(f.params["mu"], np.sort(m.means_[:, 0]), rtol=1e-6)
    _nondecreasing(f)
    # hmmlearn's own trace (loglik before each M-step) equals ours, iteration by iteration
    np.testing.assert_allclose(f.trace[:len(m.monitor_.history)][-3:], list(m.monitor_.history)[-3:], rtol=1e-9)


def test_categorical_matches_hmmlearn():
    rng = np.random.default_rng(1)
    s = _states(rng, 1500)
    B = np.array([[0.7, 0.2, 0.1, 0.0], [0.1, 0.6, 0.2, 0.1], [0.05, 0.05, 0.3, 0.6]])
    x = np.array([rng.choice(4, p=B[j]) for j in s])
    p0 = np.array([[0.4, 0.3, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4]])
    st0 = _start(p=p0)
    f = thetahat.hmm(x, 3, emission="categorical", start=st0, max_iter=30, tol=0, se=False)
    m = hl.CategoricalHMM(3, n_features=4, init_params="", n_iter=f.iterations, tol=-np.inf,
                          emissionprob_prior=1.0, startprob_prior=1.0, transmat_prior=1.0)
    m.startprob_, m.transmat_, m.emissionprob_ = st0["start"], st0["transition"], p0
    m.fit(x[:, None])
    np.testing.assert_allclose(f.loglik, m.score(x[:, None]), rtol=1e-9, atol=1e-6)
    _nondecreasing(f)


def _brute(x, pi, A, logb):
    T, k = logb.shape
    best, tot = (-np.inf, None), []
    for path in itertools.product(range(k), repeat=T):
        lp = np.log(pi[path[0]]) + logb[0, path[0]]
        lp += sum(np.log(A[path[t - 1], path[t]]) + logb[t, path[t]] for t in range(1, T))
        tot.append(lp)
        if lp > best[0]:
            best = (lp, path)
    return np.logaddexp.reduce(tot), np.array(best[1])


@pytest.mark.parametrize("T,k", [(8, 2), (7, 3)])
def test_forward_and_viterbi_against_enumeration(T, k):
    rng = np.random.default_rng(T + k)
    x = rng.normal(size=T) * 2
    f = thetahat.hmm(x, k, max_iter=3, se=False)
    p = f.params
    logb = np.stack([st.norm(p["mu"][j], p["sigma"][j]).logpdf(x) for j in range(k)], 1)
    ll, path = _brute(x, p["start"], p["transition"], logb)
    np.testing.assert_allclose(f.score(x), ll, rtol=1e-12)
    np.testing.assert_array_equal(f.viterbi(x)[0], path)
    # posterior of the first state by enumeration
    post = np.zeros(k)
    for pth in itertools.product(range(k), repeat=T):
        lp = np.log(p["start"][pth[0]]) + logb[0, pth[0]] + sum(
            np.log(p["transition"][pth[t - 1], pth[t]]) + logb[t, pth[t]] for t in range(1, T))
        post[pth[0]] += np.exp(lp - ll)
    np.testing.assert_allclose(f.posterior(x)[0][0], post, atol=1e-12)
    _nondecreasing(f)


def test_several_sequences_loglik_is_sum_and_viterbi_splits():
    rng = np.random.default_rng(5)
    seqs = [rng.normal(size=6), rng.normal(size=5) + 2]
    f = thetahat.hmm(seqs, 2, max_iter=5, se=False)
    np.testing.assert_allclose(f.score(seqs), f.score([seqs[0]]) + f.score([seqs[1]]), rtol=1e-12)
    paths = f.viterbi(seqs)
    assert [len(q) for q in paths] == [6, 5]
    np.testing.assert_array_equal(paths[1], f.viterbi([seqs[1]])[0])


def test_standard_errors_recover_truth():
    rng = np.random.default_rng(9)
    s = _states(rng, 3000)
    mu, sd = np.array([-2.0, 0.0, 3.0]), np.array([1.0, 0.5, 1.5])
    x = rng.normal(mu[s], sd[s])
    f = thetahat.hmm(x, 3, cov_prior=0)
    assert f.converged and f.se["mu"] is not None
    assert np.all(np.abs(f.params["mu"] - mu) <= 4 * f.se["mu"])
    assert np.all(np.abs(f.params["sigma"] - sd) <= 4 * f.se["sigma"])
    assert np.all(np.abs(f.params["transition"] - A) <= 4 * f.se["transition"])
    xs, ss = f.sample(50, seed=1)
    assert xs.shape == (50,) and set(np.unique(ss)) <= {0, 1, 2}


def test_bad_input_errors():
    with pytest.raises(SequenceError, match="length at least 2"):
        thetahat.hmm([np.arange(5.0), np.array([1.0])], 2)
    with pytest.raises(SupportError, match="alphabet"):
        thetahat.hmm([0, 1, 2, 5, 1, 0], 2, emission="categorical", n_symbols=3)
    with pytest.raises(NonFiniteDataError, match="sequence 1 contains NaN at data row 2"):
        thetahat.hmm([np.arange(4.0), np.array([1.0, np.nan, 2.0])], 2)
    with pytest.raises(thetahat.errors.DataError, match="distinct"):
        thetahat.hmm([1.0, 1.0, 2.0, 2.0], 3)


def test_cli_hmm_json_and_error(capsys):
    import json

    from thetahat.cli.main import main

    assert main(["hmm", "tests/data/faithful.csv", "--k", "2", "--column", "waiting", "--json", "--viterbi"]) == 0
    d = json.loads(capsys.readouterr().out)
    x = np.loadtxt("tests/data/faithful.csv", delimiter=",", skiprows=1)[:, 1]
    p = d["params"]
    logb = np.stack([st.norm(m, s).logpdf(x) for m, s in zip(p["mu"], p["sigma"])], 1)
    # forward recursion in NumPy (log space) at the reported estimates
    la = np.log(p["start"]) + logb[0]
    for t in range(1, x.size):
        la = np.logaddexp.reduce(la[:, None] + np.log(p["transition"]), axis=0) + logb[t]
    np.testing.assert_allclose(d["loglik"], np.logaddexp.reduce(la), rtol=1e-10)
    assert len(d["viterbi"]) == x.size
    assert main(["hmm", "tests/data/faithful.csv", "--k", "0", "--column", "waiting"]) == 2
    assert capsys.readouterr().err.startswith("thetahat: error:")


def test_sequences_of_many_lengths_match_hmmlearn():
    """Segments of the parallel forward-backward cross sequence boundaries (lengths 2 .. 2400)."""
    rng = np.random.default_rng(11)
    lengths = [2, 1500, 3, 37, 2400, 5]
    seqs = [rng.normal(np.array([-2.0, 0.0, 3.0])[s], np.array([1.0, 0.5, 1.5])[s])
            for s in (_states(rng, n) for n in lengths)]
    st0 = _start(mu=[-1.0, 0.5, 2.0], sigma=[1.0, 1.0, 1.0])
    f = thetahat.hmm(seqs, 3, start=st0, max_iter=15, tol=0, cov_prior=0, se=False)
    m = hl.GaussianHMM(3, covariance_type="full", min_covar=0, covars_prior=0, init_params="",
                       n_iter=f.iterations, tol=-np.inf)
    m.startprob_, m.transmat_ = st0["start"], st0["transition"]
    m.means_, m.covars_ = np.array(st0["mu"])[:, None], np.ones((3, 1, 1))
    X = np.concatenate(seqs)[:, None]
    m.fit(X, lengths=lengths)
    assert f.iterations == 15
    np.testing.assert_allclose(f.trace[:15], list(m.monitor_.history), rtol=1e-10)
    np.testing.assert_allclose(f.loglik, m.score(X, lengths=lengths), rtol=1e-10)
    order = np.argsort(m.means_[:, 0])
    np.testing.assert_allclose(np.concatenate(f.posterior()), m.predict_proba(X, lengths=lengths)[:, order],
                               atol=1e-9)
    # score of new sequences (another padded length) equals hmmlearn's at the fitted parameters
    new = [rng.normal(size=n) for n in (777, 2, 64)]
    np.testing.assert_allclose(f.score(new), m.score(np.concatenate(new)[:, None], lengths=[777, 2, 64]), rtol=1e-10)
    _nondecreasing(f)


@pytest.mark.parametrize("seed", [25, 27, 30])
def test_collapsed_state_stops_with_reason(seed):
    """Without the covariance prior a state can sit on one observation (unbounded likelihood); the fit
    must say so instead of reporting convergence, and its trace must not fall."""
    x = np.random.default_rng(seed).normal(size=7) * 2
    f = thetahat.hmm(x, 3, max_iter=60, se=False, cov_prior=0)
    assert not f.converged and "collapsed" in f.reason
    j = int(f.reason.split()[1])
    assert f.params["sigma"][j] < 1e-12 * np.max(np.abs(x))
    assert np.min(np.abs(x - f.params["mu"][j])) < 1e-12 * np.max(np.abs(x))  # it sits on a data point
    _nondecreasing(f)
    # with the default prior the same data give a bounded objective and a fit that is not collapsed
    g = thetahat.hmm(x, 3, max_iter=60, se=False)
    assert "collapsed" not in g.reason and np.all(g.params["sigma"] > 1e-6 * np.std(x))
    _nondecreasing(g)
