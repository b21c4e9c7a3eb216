"""Censored and truncated observations, as a family wrapped around a univariate family.

Each observation becomes a row ``(a, b, kind, safe)``:

=====  ==============================  =====================================
kind   meaning                         log-likelihood term
=====  ==============================  =====================================
0      exact value ``a``               ``log f(a)``
1      right-censored: X > a           ``log S(a)``
2      left-censored: X <= b           ``log F(b)``
3      interval-censored: a < X <= b   ``log(F(b) - F(a))``
=====  ==============================  =====================================

``safe`` is a point inside the support at which every branch can be evaluated (JAX
evaluates both sides of a ``where``; their gradients must stay finite). A truncated
family (observations seen only within ``[lo, hi]``) subtracts ``log(F(hi) - F(lo))``
from every term.

Because the wrapper is itself a :class:`~thetahat.families.Family`, every part of the
engine -- Newton, standard errors of every ``cov_type``, profiles, the bootstrap --
works on censored and truncated data unchanged.
"""

from __future__ import annotations

import numpy as np

from . import constraints as C
from ._jax import jnp
from .errors import DataError, NonFiniteDataError, OptionError, SupportError
from .families._base import Family

EXACT, RIGHT, LEFT, INTERVAL = 0, 1, 2, 3
PROBABILITY_FLOOR = 1e-290  # below, a cdf difference has lost its relative precision (subnormal)


def log_probability(v):
    """``log(v)`` for a probability, -inf below :data:`PROBABILITY_FLOOR` (and with finite
    derivatives there): a probability computed in float64 under about 1e-290 is near the
    subnormal range, where its relative precision is gone; a log of it could make a
    far-off parameter value look likely (a truncated gamma whose window mass underflows
    gains ``-n log(mass)``). Such a value counts as impossible instead.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from thetahat.censoring import log_probability
    >>> [float(v) for v in log_probability(jnp.array([1.0, 1e-300]))]
    [0.0, -inf]
    """
    ok = v >= PROBABILITY_FLOOR
    return jnp.where(ok, jnp.log(jnp.where(ok, v, 1.0)), -jnp.inf)


class Censored(Family):
    """``base`` observed with censoring and/or truncation to ``[lower, upper]``."""

    ndim = 1
    support = C.real

    def __init__(self, base: Family, truncate=None, censored=True):
        if base.ndim:
            raise OptionError(f"censoring and truncation apply to univariate families, not {base.name}")
        if base.cdf is None or base.sf is None:
            raise OptionError(f"{base.name} has no cdf/sf in thetahat: it cannot be censored or truncated")
        if base.discrete and censored:
            raise OptionError(f"censoring of the discrete family {base.name} is not supported; truncation is")
        self.base = base
        self.name = base.name
        self.params = base.params
        self.known = base.known
        self.nonregular = base.nonregular
        self.min_obs = base.min_obs
        self.param_support = base.param_support
        self.discrete = False
        self.censored = bool(censored)
        self.truncate = None if truncate is None else (float(truncate[0]), float(truncate[1]))
        self.has_truncation = self.truncate is not None

    # identity: compiled functions are cached per family
    def _key(self):
        return (self.base, self.truncate, self.censored)

    def __eq__(self, other):
        return type(other) is Censored and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def bind(self, known):
        return Censored(self.base.bind(known), self.truncate, self.censored)

    @property
    def known_values(self):
        return self.base.known_values

    @property
    def description(self) -> str:
        parts = []
        if self.censored:
            parts.append("censored")
        if self.truncate is not None:
            parts.append(f"truncated to [{self.truncate[0]:g}, {self.truncate[1]:g}]")
        return f"{self.base.name} ({', '.join(parts)})"

    def __repr__(self):
        return f"<family {self.description}>"

    # ---- the likelihood ------------------------------------------------------------
    def _log_mass(self, p):
        """log P(lo <= X <= hi). An end at or beyond the support's edge (or infinite) is
        decided here, in Python, so the cdf is never evaluated there: a stand-in argument
        at a support edge (0 for a weibull or lognormal) has a NaN derivative."""
        lo, hi = self.truncate
        b = self.base
        if b.discrete:  # P(lo <= X <= hi) = F(hi) - F(lo - 1)
            lo = lo - 1.0
            open_lo = lo < support_lower(b)
        else:
            open_lo = lo <= support_lower(b)
        open_hi = hi >= _support_upper(b)
        if open_lo and open_hi:
            return jnp.zeros(())
        if open_lo:
            return log_probability(b.cdf(jnp.asarray(hi), p))
        if open_hi:
            return log_probability(b.sf(jnp.asarray(lo), p))
        lo, hi = jnp.asarray(lo), jnp.asarray(hi)
        cdf_lo = b.cdf(lo, p)
        # F(hi) - F(lo) without cancellation: through the survival function in the upper tail
        return log_probability(jnp.where(cdf_lo > 0.5, b.sf(lo, p) - b.sf(hi, p), b.cdf(hi, p) - cdf_lo))

    def logpdf(self, row, p):
        a, b, kind, safe = row[0], row[1], row[2], row[3]
        base = self.base
        # each bound only where its row uses it: an unused one (a = 0 under a weibull's
        # 0 ** shape) would give a NaN derivative even though its value is discarded
        xa = jnp.where(((kind == RIGHT) | (kind == INTERVAL)) & jnp.isfinite(a), a, safe)
        xb = jnp.where(((kind == LEFT) | (kind == INTERVAL)) & jnp.isfinite(b), b, safe)
        exact = base.logpdf(jnp.where(kind == EXACT, a, safe), p)
        if not self.censored:
            term = exact
        else:
            (cdf_a, sf_a), (cdf_b, sf_b) = (base.cdf(xa, p), base.sf(xa, p)), (base.cdf(xb, p), base.sf(xb, p))
            # an infinite end: P(X > -inf) = P(X <= inf) = 1 (a right-censored row at the support's edge)
            sf_a, cdf_b = jnp.where(jnp.isfinite(a), sf_a, 1.0), jnp.where(jnp.isfinite(b), cdf_b, 1.0)
            # F(b) - F(a) without cancellation: through the survival function in the upper tail
            width = jnp.where(cdf_a > 0.5, sf_a - sf_b, cdf_b - cdf_a)
            # each log only sees its own rows (1 elsewhere): a log(0) in an unused branch
            # would still poison the gradient with 0 * inf
            one = jnp.ones_like(sf_a)
            term = jnp.where(kind == EXACT, exact,
                             jnp.where(kind == RIGHT, log_probability(jnp.where(kind == RIGHT, sf_a, one)),
                                       jnp.where(kind == LEFT, log_probability(jnp.where(kind == LEFT, cdf_b, one)),
                                                 log_probability(jnp.where(kind == INTERVAL, width, one)))))
        return term

    def loglik_chunk(self, x, w, p):
        ll = super().loglik_chunk(x, w, p)
        if self.truncate is not None:
            ll = ll - jnp.sum(jnp.where(w > 0, w, 0.0)) * self._log_mass(p)
        return ll

    def start(self, x, w):
        exact = x[:, 2] == EXACT
        use = exact if exact.sum() >= max(2, self.base.min_obs) else np.ones(x.shape[0], bool)
        vals = np.where(use & exact, x[:, 0], x[:, 3])[use]
        ws = w[use]
        if np.all(vals == vals[0]):
            vals = vals * (1.0 + 0.1 * np.linspace(-1, 1, vals.size))
        return self.base.start(vals, ws)

    def param_shapes(self, x):
        return self.base.param_shapes(x[:, 3])

    def check_support(self, x, fixed=None):
        return None  # checked in ``censored_rows``

    @property
    def nonregular_mle(self):
        """For a base family with non-regular parameters that can locate its censored MLE
        itself (the uniform: :meth:`Uniform.censored_mle`), a function ``(x, w) ->
        (estimates, the parameters non-regular at them)``; else None."""
        find = self.base.censored_mle
        if find is None or self.truncate is not None or not self.censored:
            return None

        def mle(x, w):
            return find(x[:, 0], x[:, 1], np.ones(x.shape[0]) if w is None else w)

        return mle

    @property
    def nonregular_reason(self):
        if self.nonregular_mle is None:
            return None
        return ("its MLE sits at a kink of the censored log-likelihood: an exact value, the sample's extreme, "
                "or a censoring bound")

    def with_nonregular(self, names):
        """This family with ``names`` as its non-regular parameters (for one fit's data)."""
        out = Censored(self.base, self.truncate, self.censored)
        out.nonregular = tuple(names)
        return out

    def check_degenerate(self, x, w):
        if not np.any(x[:, 2] != RIGHT):
            raise DataError("every observation is right-censored: the likelihood has no maximum")

    def to_scipy(self, p):
        return self.base.to_scipy(p)

    @property
    def cdf(self):
        return self.base.cdf if not self.censored and self.truncate is None else None

    @property
    def sf(self):
        return self.base.sf if not self.censored and self.truncate is None else None

    expected_information = None
    statistics = None
    closed_form = None
    closed_form_data = None


def censored_rows(base: Family, data=None, *, event=None, lower=None, upper=None, truncate=None,
                  dropna=False):
    """Validate censoring inputs and build the rows of :class:`Censored`.

    Returns ``(rows, family, dropped, keep)``: ``keep`` marks the input rows kept (None
    when none were dropped), so that weights can follow.
    """
    from .scale.arrays import as_float_array

    if truncate is not None:
        try:
            lo, hi = (float(v) for v in truncate)
        except (TypeError, ValueError):
            raise OptionError(f"truncate must be a pair (lower, upper), got {truncate!r}") from None
        if not lo < hi:
            raise OptionError(f"truncation bounds must satisfy lower < upper, got ({lo:g}, {hi:g})")
        truncate = (lo, hi)
    censored = event is not None or lower is not None or upper is not None
    if event is not None and (lower is not None or upper is not None):
        raise OptionError("give either event= (right-censoring) or lower=/upper= (interval censoring), not both")

    if lower is not None or upper is not None:
        if data is not None:
            raise OptionError("with lower=/upper= the data are the bounds: pass data=None")
        if lower is None or upper is None:
            raise OptionError("interval censoring needs both lower= and upper= (use -inf or inf for open ends)")
        a, b, kind, keep, dropped = _interval_rows(base, lower, upper, dropna)
    else:
        x, dropped = as_float_array(data, dropna=False)
        if event is not None:
            e = _column(event, "event", allow_inf=False)
            if e.shape != x.shape:
                raise DataError(f"event has {e.size} rows but the data have {x.size}")
            if not np.all((e == 0) | (e == 1)):
                i = int(np.argmax(~((e == 0) | (e == 1))))
                raise DataError(f"event column must be 0 (censored) or 1 (observed); row {i} holds {e[i]:g}")
        else:
            e = np.ones_like(x)
        keep = ~np.isnan(x)
        dropped = int((~keep).sum())
        if dropped and not dropna:
            i = int(np.argmax(~keep))
            raise NonFiniteDataError(f"missing value (NaN) at row {i}")
        x, e = x[keep], e[keep]
        if np.any(np.isinf(x)):
            i = int(np.argmax(np.isinf(x)))
            raise NonFiniteDataError(f"infinite value at row {i}")
        a, b = x, x.copy()
        kind = np.where(e == 1, EXACT, RIGHT).astype(float)
        b[kind == RIGHT] = np.inf
    # every finite bound must be a possible value
    for name, v in (("value", a[np.isfinite(a)]), ("bound", b[np.isfinite(b)])):
        ok = _in_closure(base.support, v)
        if not ok.all():
            i = int(np.argmax(~ok))
            raise SupportError(f"{name} {v[i]:g} is outside the support of {base.name} ({base.support.name})")
    exact = kind == EXACT
    if exact.any():
        base.check_support(a[exact])
    if truncate is not None:
        outside = (np.where(np.isfinite(a), a, truncate[0]) < truncate[0]) | \
                  (np.where(np.isfinite(b), b, truncate[1]) > truncate[1])
        if outside.any():
            i = int(np.argmax(outside))
            raise SupportError(f"observation at row {i} lies outside the truncation range "
                               f"[{truncate[0]:g}, {truncate[1]:g}]")
    if truncate is not None:
        a, b, kind = _within_window(base, a, b, kind, truncate)
    a, b = _open_ends(base, a, b, kind)
    safe = safe_points(base, a, b, kind)
    rows = np.column_stack([a, b, kind, safe])
    return rows, Censored(base, truncate, censored=censored), dropped, (keep if dropped else None)


def _interval_rows(base, lower, upper, dropna):
    """Bounds, kinds, kept rows and the number dropped, from ``lower``/``upper``.

    A missing bound (NaN, or None in an object array) is an open end, as in R's
    ``Surv(type="interval2")``: a missing lower end is -inf (left-censored), a missing
    upper end +inf (right-censored). A row missing both carries no information: an error,
    or dropped with ``dropna``.
    """
    a, b = as_bounds(lower, "lower"), as_bounds(upper, "upper")
    if a.shape != b.shape:
        raise DataError(f"lower has {a.size} rows but upper has {b.size}")
    both = np.isnan(a) & np.isnan(b)
    if both.any() and not dropna:
        i = int(np.argmax(both))
        raise NonFiniteDataError(f"data row {i + 1} has neither a lower nor an upper bound (both missing): it "
                                 "carries no information (give one bound, or pass dropna=True to drop such rows)")
    a, b = np.where(np.isnan(a), -np.inf, a), np.where(np.isnan(b), np.inf, b)
    bad = np.isinf(a) & np.isinf(b) & ~both
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"data row {i + 1} has both bounds infinite (lower {a[i]:g}, upper {b[i]:g}): it "
                        "carries no information")
    lo_support, hi_support = support_lower(base), _support_upper(base)
    open_a, open_b = np.isinf(a) | (a <= lo_support), np.isinf(b) | (b >= hi_support)
    rev = a > b
    if rev.any():
        i = int(np.argmax(rev))
        raise DataError(f"interval bounds are reversed at data row {i + 1}: lower {a[i]:g} > upper {b[i]:g}")
    keep = ~both
    dropped = int(both.sum())
    a, b, open_a, open_b = a[keep], b[keep], open_a[keep], open_b[keep]
    if a.size == 0:
        raise DataError("no observations")
    kind = np.where(a == b, EXACT, INTERVAL).astype(float)
    right, left = (kind == INTERVAL) & open_b, (kind == INTERVAL) & open_a
    kind[right], kind[left] = RIGHT, LEFT
    return a, b, kind, keep, dropped


def _within_window(base, a, b, kind, truncate):
    """Under truncation to [lo, hi] a censored row's open end is the window's: a value
    right-censored at c lies in (c, hi], one left-censored at c in [lo, c]. (Its term is
    then log(F(hi) - F(c)), not log S(c), before the common -log(F(hi) - F(lo)).)"""
    lo, hi = truncate
    kind = kind.copy()
    if hi < _support_upper(base):
        right = kind == RIGHT
        b = np.where(right, hi, b)
        kind[right] = INTERVAL
    if lo > support_lower(base):
        left = kind == LEFT
        a = np.where(left, lo, a)
        kind[left] = INTERVAL
    return a, b, kind


def _open_ends(base, a, b, kind):
    """Bounds at or beyond the support's edges become infinite, so that no cdf is evaluated
    there (a weibull's at 0 has a NaN derivative in its shape): X > (the lower edge) and
    X <= (the upper edge) are certain, and their terms are 0."""
    lo_support, hi_support = support_lower(base), _support_upper(base)
    a = np.where((kind != EXACT) & (a <= lo_support), -np.inf, a)
    b = np.where((kind != EXACT) & (b >= hi_support), np.inf, b)
    return a, b


def as_bounds(v, name="lower"):
    """Censoring bounds as a float array, a missing cell (NaN, None, pandas' NA) as NaN.

    Examples
    --------
    >>> from thetahat.censoring import as_bounds
    >>> as_bounds([1.0, None, float("inf")]).tolist()
    [1.0, nan, inf]
    """
    try:
        return np.asarray(v, dtype=float).ravel()
    except (TypeError, ValueError):
        pass
    cells = np.asarray(v, dtype=object).ravel()
    out = np.empty(cells.size)
    for i, c in enumerate(cells):
        if c is None or (not isinstance(c, (str, bytes)) and _is_missing(c)):
            out[i] = np.nan
            continue
        try:
            out[i] = float(c)
        except (TypeError, ValueError):
            raise DataError(f"{name} holds a non-numeric value {c!r} at data row {i + 1}") from None
    return out


def _is_missing(c):
    try:
        import pandas as pd

        return bool(pd.isna(c))
    except (ImportError, TypeError, ValueError):
        return False


def _column(v, name, allow_inf):
    try:
        arr = np.asarray(v, dtype=float).ravel()
    except (TypeError, ValueError):
        raise DataError(f"{name} holds non-numeric values") from None
    if not allow_inf and not np.all(np.isfinite(arr)):
        i = int(np.argmax(~np.isfinite(arr)))
        raise NonFiniteDataError(f"{name} holds a missing or infinite value at row {i}")
    return arr


def support_lower(base):
    s = base.support
    return getattr(s, "lower", -np.inf) if isinstance(s, (C.GreaterThan, C.Interval, C.IntegerInterval)) \
        else -np.inf


def _support_upper(base):
    s = base.support
    if isinstance(s, C.Interval) or (isinstance(s, C.IntegerInterval) and s.upper is not None):
        return float(s.upper)
    return np.inf


def _in_closure(support, v):
    if isinstance(support, (C.GreaterThan, C.Interval)):
        ok = v >= support.lower
        if getattr(support, "upper", None) is not None and isinstance(support, C.Interval):
            ok &= v <= support.upper
        return ok
    return np.isfinite(v)


def safe_points(base, a, b, kind):
    """A point strictly inside the support for every row (exact values are their own)."""
    fa, fb = np.isfinite(a), np.isfinite(b)
    with np.errstate(invalid="ignore"):  # (-inf + inf: a row open at both ends, replaced below)
        mid = np.where(fa & fb, 0.5 * (a + b), np.where(fa, a, b))
    interior = _strictly_inside(base.support, mid)
    if not interior.all():
        ref = a[(kind == EXACT)] if np.any(kind == EXACT) else mid[interior]
        fallback = float(np.median(ref)) if ref.size else 1.0
        if not _strictly_inside(base.support, np.array([fallback]))[0]:
            fallback = 1.0 if isinstance(base.support, C.GreaterThan) else 0.5
        mid = np.where(interior, mid, fallback)
    return mid


def _strictly_inside(support, v):
    if isinstance(support, C.GreaterThan):
        return np.isfinite(v) & (v > support.lower)
    if isinstance(support, C.Interval):
        return (v > support.lower) & (v < support.upper)
    return np.isfinite(v)
