"""The :class:`Family` base class and the family registry.

A family is static configuration -- parameter names and constraints, support,
log-density -- and holds no data. Subclasses fill in the hooks they can; the engine
uses the optional ones (closed form, sufficient statistics, expected information)
when present.

The hooks of a closed-form fit -- ``statistics``, ``closed_form``,
``loglik_from_statistics``, ``expected_information`` -- are written once for NumPy and
JAX: they take their array module from ``thetahat._xp.namespace(...)`` of their inputs, so
that a closed-form fit runs on NumPy without importing JAX (``thetahat.fitting.closed``) and
the same functions trace inside compiled code. The log-density and the other hooks are
JAX (``thetahat._jax``'s proxies: imported at their first use), and compute in their
caller's precision: float64 inside thetahat's calls.

Example
-------
>>> import thetahat
>>> fam = thetahat.family("gamma")
>>> sorted(fam.params)
['rate', 'shape']
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np

from .. import constraints as C
from .._jax import jax, jnp
from .._xp import namespace
from ..errors import DegenerateDataError, SupportError, UnknownFamilyError

_REGISTRY: dict[str, "Family"] = {}


def register(cls):
    """Class decorator: instantiate the family and add it to the registry."""
    inst = cls()
    _REGISTRY[inst.name] = inst
    for alias in cls.aliases:
        _REGISTRY[alias] = inst
    return cls


def get_family(name_or_family) -> "Family":
    """Look up a family by name (``"gamma"``), or pass a :class:`Family` through."""
    if isinstance(name_or_family, Family):
        return name_or_family
    key = str(name_or_family).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in _REGISTRY:
        names = ", ".join(sorted({f.name for f in _REGISTRY.values()}))
        raise UnknownFamilyError(f"unknown family {name_or_family!r}; known families: {names}")
    return _REGISTRY[key]


def all_families() -> list["Family"]:
    """Every registered family, once each, sorted by name."""
    return sorted({id(f): f for f in _REGISTRY.values()}.values(), key=lambda f: f.name)


@dataclass(frozen=True)
class Limit:
    """A model that a family reaches at an edge of its parameter space.

    When the likelihood keeps rising towards that edge -- a t fitted to normal data
    (df to infinity), a negative binomial to counts without overdispersion (r to
    infinity), a zero-inflated poisson to data without excess zeros (pi = 0) -- the
    maximum is the limiting model's, and the fit reports it as a boundary estimate.

    Attributes
    ----------
    family : str
        The limiting family.
    at : dict
        This family's parameters at the limit, e.g. ``{"df": inf}``.
    keep : dict
        ``{this family's parameter: the limiting family's}`` for the parameters that
        stay in the interior (the t's loc and scale are the normal's mu and sigma).
    score : callable
        ``score(x, w, params)``: the derivative of the log-likelihood at the limit along
        the path into the interior (in 1/df, 1/r, pi, ...), at the limiting family's MLE
        ``params``, from NumPy data. By the envelope theorem it is the slope of the
        profile likelihood there: at most 0 means the supremum is at the limit.
        ``None`` where the limit is not regular (the skew normal's half-normal, whose
        location is a sample extreme): the verdict then compares the likelihoods alone.
    why : str
        The verdict in words, naming the limiting model.
    known : tuple
        Known values passed on to the limiting family (the beta-binomial's ``n``).
    prepare : callable or None
        ``prepare(x) -> (data for the limiting family, {parameter: value})``, where the
        limiting model sees transformed data and some parameters come from the data
        themselves (the skew normal's loc at the sample minimum).

    Examples
    --------
    >>> import thetahat
    >>> [(m.family, m.at) for m in thetahat.family("t").limits]
    [('normal', {'df': inf})]
    """

    family: str
    at: dict
    keep: dict
    score: Callable | None
    why: str
    known: tuple = field(default=())
    prepare: Callable | None = None


@dataclass(frozen=True)
class Predictor:
    """What a regression's linear predictor can model in a family: a fact of the distribution.

    ``target`` is ``"mean"`` (a GLM: ``g(E[y]) = eta`` for a link ``g`` of ``links``) or
    ``"log_scale"`` (accelerated failure time: ``eta`` is the log of a scale, so
    ``log y = eta + log z`` with ``z`` free of it; the link is named ``"log"``).
    ``params(m, q)`` gives the family's parameters from ``m`` (the mean, or the scale) and
    ``q``, the dict of the parameters ``free`` names (``(name, Constraint)`` pairs, estimated
    beside the coefficients). ``modelled`` names the family parameter that equals ``m``,
    if one does; ``mean(m, q)`` gives ``E[y]`` where it is not ``m`` (a zero-inflated count).

    Examples
    --------
    >>> import thetahat
    >>> pr = thetahat.family("gamma").predictor
    >>> pr.target, pr.links, pr.params(2.0, {"shape": 3.0})
    ('mean', ('log', 'inverse', 'identity'), {'shape': 3.0, 'rate': 1.5})
    """

    target: str
    links: tuple
    params: Callable
    free: tuple = ()
    modelled: str | None = None
    mean: Callable | None = None


class Family:
    """A parametric family of distributions: the protocol between a family and the engine.

    A family declares facts about its distribution; the engine decides how to compute from
    them -- NumPy or XLA, how many passes over the data, how to validate them. A hook should not be
    a second route, written by hand, to a number the engine can get from the others; the few that
    remain (statistics_np, statistics_validated, profile_batch, closed_form_derivs) are kept
    for their measured speed (docs/design/family_protocol.md).

    Required
    --------
    params : dict[str, Constraint]
        The parameters estimated by maximum likelihood, in order, each with its constraint.
    support : Constraint
        The support of one observation (for multivariate data, of each entry).
    logpdf(x, p)
        The log-density (log-pmf) of ONE observation; ``-inf`` outside the support.
    start(x, w)
        A starting point (usually the method of moments), from NumPy data.

    Optional facts (``None`` where the family has none; one line each)
    ------------------------------------------------------------------
    statistics(x, w)
        Sufficient statistics (NumPy or JAX as ``x``, ``w``: :mod:`thetahat._xp`), combined by ``merge``.
    loglik_from_statistics(s, p)
        The log-likelihood from the statistics.
    closed_form(s)
        The MLE from the statistics.
    closed_form_data(x, w)
        The MLE from the rows, where no fixed-shape statistics carry it (binomial, categorical, laplace).
    closed_form_derivs(x, w)
        ``closed_form_data``, with the log-likelihood and its derivatives from the same pass (laplace).
    exponential_family : bool
        ``closed_form`` is the MLE of a regular full exponential family in ``statistics``: the observed
        information there is the total weight times ``expected_information`` (engine: no compiled call).
    expected_information(p)
        Fisher information per observation (flat parameters), NumPy or JAX as ``p``.
    start_from_statistics(s)
        A start from the statistics (JAX), so that a batch of fits needs no pass for starts.
    summary_statistics : dict
        ``{statistic: field}`` of the statistics that are fields of the one-read summary (kernels.summary).
    statistics_np(x)
        The statistics of an unweighted 1-D NumPy array, where NumPy beats the compiled pass (lognormal).
    statistics_validated(x, fixed)
        The statistics of a large unweighted sample with its validation in one read, or ``None``.
    profile_mle(x, w)
        The MLE by the family's profile iteration: ``(estimates, converged, (loglik, grad, Hessian))``.
    profile_batch(X, W)
        ``profile_mle`` for a batch (the engine's choice for ``fit_many``/bootstrap: ~4.5x its solver).
    censored_mle(lower, upper, w)
        Exact maxima of a censored non-regular likelihood: ``(estimates, non-regular names)``.
    nonregular_mle(x, w)
        ``censored_mle`` on the censoring wrapper's rows (:class:`thetahat.censoring.Censored`, which also
        has ``with_nonregular(names)``: itself with those parameters marked non-regular).
    cdf(x, p), sf(x, p)
        Distribution and survival functions (censoring, truncation, tests of fit).
    logcdf(x, p), logsf(x, p)
        log F and log S, accurate in the far tails (a censored row there); else log of cdf / sf.
    sample(key, p, size), to_scipy(p)
        Draws (default: through scipy), and the frozen scipy.stats distribution.
    symbolic()
        The density in SymPy (:func:`thetahat.derive`).
    predictor : Predictor
        What a regression's linear predictor models (see :class:`Predictor`); ``None``: no regression.
    logpdf_natural(x, eta)
        The log-density at the natural parameter (bernoulli's logit), exact where mapping to p is not.
    limits : tuple of Limit
        Models reached at an edge of the parameter space, where a fit can end (see :class:`Limit`).
    check_known(k, value)
        Checks a known value (binomial ``n``) before the fit.

    Further declarations
    --------------------
    name : str
        Registry name (``aliases``: other names).
    known : dict[str, float | None]
        Parameters known rather than estimated (binomial ``n``); ``None``: the user must supply them.
    discrete : bool
        Whether observations are counts or labels.
    min_obs : int
        The fewest observations a fit accepts.
    ndim : int
        0 for scalar observations, 1 for vector observations (rows of a matrix).
    nonregular : tuple[str, ...]
        Parameters whose MLE sits on the edge of the support (uniform's end points, pareto's scale):
        Fisher-information standard errors do not apply (``nonregular_reason``: why, in words).
    param_support : bool
        Whether the support depends on the parameters (GEV, generalized Pareto, Pareto, uniform).
    information : str
        ``"observed"`` normally; ``"expected"`` where the log-likelihood is not twice differentiable at
        the optimum (laplace's median).
    unbounded_below, collapses_on_ties
        Where the likelihood is unbounded, so that a fit ending there is no MLE.
    censored, truncate, has_truncation
        The censoring wrapper's: whether its rows are censored, and its truncation bounds.
    """

    name: str = "family"
    aliases: tuple = ()
    params: dict = {}
    known: dict = {}
    support: C.Constraint = C.real
    discrete: bool = False
    ndim: int = 0
    nonregular: tuple = ()
    nonregular_reason: str | None = None  # why the non-regular parameters are so, where not the default words
    information: str = "observed"
    min_obs: int = 2
    param_support: bool = False  # whether the support depends on the parameters (GEV, GPD, ...)
    known_values: dict = {}  # set by bind(): the known values of the fit in progress
    limits: tuple = ()  # Limit: models reached at an edge of the parameter space
    # {parameter: (value, why)}: past this value the likelihood is unbounded (GEV and generalized Pareto
    # with shape < -1), so only a local maximum above it is an MLE
    unbounded_below: dict = {}
    # a scale parameter that can run to 0 on tied data with an unbounded likelihood (polynomial tails:
    # the t, the Cauchy): a fit that ends there is no MLE
    collapses_on_ties: str | None = None
    # the censoring wrapper's (censoring.Censored): whether its rows are censored, and its truncation bounds
    censored: bool = False
    truncate: tuple | None = None
    has_truncation: bool = False

    # ---- required -------------------------------------------------------------
    def logpdf(self, x, p):
        """Log-density (or log-pmf) of ONE observation ``x`` at parameters ``p``."""
        raise NotImplementedError

    def start(self, x, w):
        """A starting point (usually the method-of-moments estimate), from NumPy data."""
        raise NotImplementedError

    # ---- optional facts (see the class docstring) ----------------------------
    statistics = None  # statistics(x, w) -> dict of arrays (NumPy or JAX, as x and w are); merged by merge()
    loglik_from_statistics = None  # (s, p) -> log-likelihood
    closed_form = None  # (s) -> dict of estimates, from the merged statistics
    # closed_form is the MLE of a regular full exponential family in the statistics: at it the score is 0
    # and the observed information is the total weight times expected_information, in any parametrisation
    # (the engine's NumPy derivatives: fitting.closed.information_derivs, tested against autodiff)
    exponential_family: bool = False
    start_from_statistics = None  # (s) -> a start (JAX), so a batch of fits needs no pass for starts
    # (x) -> the statistics of an unweighted 1-D NumPy array, with "n" and "sum" (of x) or the moments
    # "n", "mean", "m2": where NumPy, beside a min on another thread, beats the compiled pass (the
    # lognormal's log, once per value; see engine.objective.compute_statistics)
    statistics_np = None
    # {statistic: summary field} where the statistics are fields of the one-read summary of the data
    # (kernels.summary: "n", "sum", "sum_sq", "min", "max"), e.g. the exponential's {"n": "n", "sum": "sum"}
    summary_statistics = None
    # (x, fixed) -> the statistics of a large unweighted sample (at least 2^20 rows, C-contiguous
    # float64), computed with its validation in one read (NumPy by blocks, kernels.summary), or None
    # unless they also show every row inside the support and the data not degenerate: then the fit
    # runs its row-by-row checks, which name the bad row
    statistics_validated = None
    # (x, w) -> (estimates, converged, (loglik, grad, Hessian) in the natural parameters): the MLE by a
    # family's own profile iteration (weibull), which the engine prefers to its solvers for one fit
    profile_mle = None
    # (X, W) -> (params, converged, loglik, grad, Hessian in the natural parameters), each with the
    # batch first: profile_mle for a batch (the engine's choice in fit_many and the bootstrap: about 4.5x
    # its batched Newton solver on 1,000 fits of 1,000 rows, warm; docs/design/family_protocol.md)
    profile_batch = None
    # (lower, upper, w) -> (estimates, the parameters non-regular at them): exact maxima of a censored
    # likelihood with kinks (the uniform)
    censored_mle = None
    nonregular_mle = None  # (x, w) -> censored_mle on the censoring wrapper's rows (set by censoring.Censored)
    closed_form_data = None  # (x, w) -> dict, when the closed form needs the data
    # (x, w) -> (closed_form_data's dict, (loglik, gradient, Hessian) in the natural parameters there,
    # or None): where the family has them from its own pass, the fit makes no compiled pass for them
    closed_form_derivs = None
    cdf = None
    sf = None
    # (x, p) -> log F(x), log S(x), where the family has them accurate in the far tails (a censored
    # row there); else log cdf / log sf
    logcdf = None
    logsf = None
    # (x, p) -> (cdf, sf) from one evaluation, for censored rows that need both (the t: one incomplete
    # beta per element); measured 46 s against 55 s for the first censored t fit of 3,000 rows (its
    # compilation), 2.3-3.0 s against 2.9-3.2 s warm, docs/design/family_protocol.md
    expected_information = None  # (p) -> per-observation information matrix (flat params), NumPy or JAX as p
    symbolic = None  # () -> families.symbolic_form.SymbolicFamily: the density in SymPy, for derive
    predictor = None  # Predictor: what a regression's linear predictor models (None: no regression)
    # (x, eta) -> the log-density of one observation at the natural parameter eta (bernoulli's logit,
    # poisson's log lam, categorical's logits), exact where mapping eta to p and taking logs is not
    # (the logit losses of thetahat.losses)
    logpdf_natural = None
    check_known = None  # (k, value) -> None, or raises OptionError: a known value (binomial n) checked

    def bind(self, known: dict) -> "Family":
        """This family with its known values (binomial ``n``) attached, for the hooks that
        need them outside the log-density (``start``, ``closed_form_data``,
        ``check_degenerate``). Cached, so compiled code is reused for the same values."""
        if not self.known:
            return self
        key = tuple(sorted((k, float(np.asarray(v))) for k, v in known.items() if k in self.known))
        return _bound(self, key)

    def merge(self, a: dict, b: dict) -> dict:
        """Combine the statistics of two disjoint parts of the data (default: add)."""
        return {k: a[k] + b[k] for k in a}

    def sample(self, key, p, size):
        """Draw ``size`` observations (default: through scipy with a seed from ``key``)."""
        seed = int(jax.random.randint(key, (), 0, 2**31 - 1))
        return np.asarray(self.to_scipy(p).rvs(size=size, random_state=seed), dtype=float)

    def to_scipy(self, p):
        """The frozen scipy.stats distribution with these parameters."""
        raise NotImplementedError(f"{self.name} has no scipy.stats equivalent")

    def param_shapes(self, x) -> dict:
        """Shapes of the parameters for data ``x`` (scalars unless overridden)."""
        return {k: () for k in self.params}

    # ---- data checks (NumPy, before anything compiles) -------------------------
    def check_support(self, x, fixed=None) -> None:
        """Raise :class:`SupportError` naming the first observation outside the support."""
        bad = ~in_support(self.support, x)
        if bad.ndim > 1:
            bad = bad.any(axis=tuple(range(1, bad.ndim)))
        if bad.any():
            i = int(np.argmax(bad))
            raise SupportError(
                f"value {_fmt(x[i])} at data row {i + 1} is outside the support of {self.name} "
                f"({self.support.name})"
            )

    def check_degenerate(self, x, w) -> None:
        """Raise :class:`DegenerateDataError` when the data cannot identify the parameters."""
        if not self.discrete and x.ndim == 1 and x.size and np.all(x == x[0]):
            raise DegenerateDataError(
                f"all {x.size} observations equal {_fmt(x[0])}: a {self.name} fit needs "
                "variation in the data"
            )

    def summary_fields(self) -> tuple:
        """The fields of :func:`thetahat.kernels.summary.summarize` that the fit of unweighted 1-D
        data needs besides the minimum: those of :attr:`summary_statistics`; whether every value
        is whole, for a discrete family; the maximum, for a support with an upper end; and
        whether all values are equal, where :meth:`check_degenerate` rejects some such data."""
        fields = set((self.summary_statistics or {}).values()) - {"n"}
        if self.discrete:
            fields.add("integral")
        if getattr(self.support, "upper", None) is not None:
            fields.add("max")
        if not self.discrete or type(self).check_degenerate is not Family.check_degenerate:
            fields.add("equal")
        return tuple(sorted(fields))

    def nondegenerate_by_summary(self, s) -> bool:
        """Whether the summary ``s`` of unweighted 1-D data (``min``, ``max``: see
        :mod:`thetahat.kernels.summary`) already shows that :meth:`check_degenerate` would
        pass; ``False`` where it cannot tell, and the check runs."""
        return type(self).check_degenerate is Family.check_degenerate and (self.discrete or s["min"] != s["max"])

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}: {c.name}" for k, c in self.params.items())
        return f"<family {self.name}({ps})>"

    @property
    def has_closed_form(self) -> bool:
        return self.closed_form is not None or self.closed_form_data is not None

    def loglik_chunk(self, x, w, p):
        """Weighted sum of log-densities over a chunk (``w`` = 0 drops padding)."""
        lp = jax.vmap(lambda xi: self.logpdf(xi, p))(x)
        return jnp.sum(jnp.where(w > 0, w * lp, 0.0))


@lru_cache(maxsize=None)
def _bound(family, key):
    out = copy.copy(family)
    out.known_values = dict(key)
    return out


def in_support(support, x):
    x = np.asarray(x, dtype=float)
    if isinstance(support, C.IntegerInterval):
        ok = (x == np.floor(x)) & (x >= support.lower)
        if support.upper is not None:
            ok &= x <= support.upper
        return ok
    if isinstance(support, (C.GreaterThan, C.Interval)):
        return support.contains(x)
    return np.isfinite(x)


def _fmt(v) -> str:
    a = np.asarray(v)
    if a.ndim:
        return "[" + ", ".join(f"{float(t):g}" for t in a.ravel()) + "]"
    return f"{float(a):g}"


def sqrt(v):
    """NumPy's ``sqrt`` on NumPy input, JAX's on JAX arrays and tracers: a closed form called on
    NumPy statistics (one fit) costs no eager JAX dispatch, and stays traceable for a batch."""
    return namespace(v).sqrt(v)


def log(v):
    """``log`` in the namespace of ``v`` (see :func:`sqrt`)."""
    return namespace(v).log(v)


def weighted_moments(x, w):
    """Weighted mean and variance (divisor sum of weights), NumPy."""
    sw = w.sum()
    m = (w * x).sum() / sw
    v = (w * (x - m) ** 2).sum() / sw
    return m, v


def log_safe(x, mask):
    """log(x) where mask, 0 elsewhere: keeps gradients finite off the support."""
    return jnp.log(jnp.where(mask, x, 1.0))
