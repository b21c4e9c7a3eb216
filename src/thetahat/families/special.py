r"""Regularized incomplete gamma and beta functions with derivatives in every argument.

JAX's own ``gammainc`` and ``betainc`` have no (usable, twice-differentiable)
derivative in their shape parameters, which a censored or truncated gamma, beta or
Student t likelihood needs. The functions here evaluate

* :math:`P(a, x) = \gamma(a, x) / \Gamma(a)` by its power series
  :math:`P = x^a e^{-x} / \Gamma(a + 1) \sum_{n \ge 0} x^n / ((a+1) \cdots (a+n))` for
  ``x < a + 1``, and :math:`Q = 1 - P` by its continued fraction (modified Lentz)
  otherwise, so that the smaller of P and Q always has full relative precision;
* :math:`I_x(a, b)` by its continued fraction (Numerical Recipes' ``betacf``) for
  ``x < (a + 1) / (a + b + 2)``, and through :math:`I_x(a, b) = 1 - I_{1-x}(b, a)`
  otherwise (again the smaller of I and 1 - I keeps its relative precision).

Each series or fraction runs until its terms stop changing the result (a
``lax.while_loop``, at most 2000 steps), so the functions are jit- and vmap-able and
differentiable to any order in forward mode, and reverse-over-forward (``jax.grad``,
``jax.hessian`` = ``jacfwd(jacrev)``): the custom rules' tangents are linear. Their derivatives
are ``jax.custom_jvp`` rules: in ``x`` the density, in closed form; in the shape
parameters the derivative of the convergent series or continued fraction, term by
term (forward-mode differentiation of the same recurrences, as Boik and
Robison-Cox (1998) do for the beta). At ``x`` on the edge of the support (0, inf,
or 1 for the beta) the value is the limit, its shape derivatives 0, and its
derivative in ``x`` is reported as 0 where the density is infinite there (a
``where`` with a safe argument inside: no NaN leaks into a gradient).

Accuracy (``tests/test_special.py``, against ``mpmath``): values and derivatives to
about 1e-12 relative for shape parameters from 0.05 to a few hundred. The cap of 2000
steps covers shapes up to about 1e5 (the steps needed grow like the square root of the
shape); beyond it a series or fraction is cut off before it converges.
"""

from __future__ import annotations

from .._jax import load

jax = load()  # (this module is JAX through and through: imported at the first use, see thetahat._jax)
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402
from jax.scipy.special import gammaln  # noqa: E402

_MAX_STEPS = 2000  # a cap on the terms of a series or continued fraction (see the module docstring)
_QUIET = 4  # consecutive steps that change the result by under _EPS before stopping
_EPS = 1e-16
_TINY = 1e-300


def _converge(step, init, max_steps=_MAX_STEPS):
    """Run ``carry, change = step(carry, i)`` (i = 1, 2, ...) until every element's relative
    change has stayed under _EPS for _QUIET steps in a row (or max_steps). A
    ``lax.while_loop``: forward-differentiable (the shape derivatives are forward-mode
    derivatives of these loops), and the steps stop when the slowest element converges."""

    def cond(state):
        i, quiet, _ = state
        return (i < max_steps) & jnp.any(quiet < _QUIET)

    def body(state):
        i, quiet, carry = state
        carry, change = step(carry, i + 1.0)
        return i + 1.0, jnp.where(change <= _EPS, quiet + 1, 0), carry

    quiet0 = jnp.zeros(jnp.shape(init[0]), dtype=jnp.int32)
    return lax.while_loop(cond, body, (jnp.zeros(()), quiet0, init))[2]


def _guard(v):
    """``v`` kept at least _TINY away from 0: the divisions of a continued fraction (Lentz)."""
    return jnp.where(jnp.abs(v) < _TINY, _TINY, v)


def _floats(*args):
    """The arguments as float arrays of one broadcast shape."""
    return jnp.broadcast_arrays(*(jnp.asarray(v, float) for v in args))


def _tails(direct, small, inside, below):
    """(lower, upper) tails from ``small``: the lower tail where ``direct``, else the upper
    one (so each tail is accurate where it is the smaller). Outside the open support the
    limits: (0, 1) where ``below``, else (1, 0)."""
    lower = jnp.where(direct, small, 1.0 - small)
    upper = jnp.where(direct, 1.0 - small, small)
    lower = jnp.where(below, 0.0, jnp.where(inside, lower, 1.0))
    upper = jnp.where(below, 1.0, jnp.where(inside, upper, 0.0))
    return lower, upper


def _d_shape(fun, a, *rest):
    """Derivative of ``fun(a, *rest)`` in ``a`` by forward differentiation of its recurrences."""
    return jax.jvp(lambda s: fun(s, *rest), (a,), (jnp.ones_like(a),))[1]


def _incomplete(name, tails, density, upper, doc):
    """A regularized incomplete function ``f(*shapes, x)`` as a ``jax.custom_jvp``: the lower
    tail ``tails(*shapes, x)[0]``, or with ``upper`` the upper one. Its derivative in each
    shape is the forward derivative of the series or fraction (:func:`_d_shape`); in ``x``
    it is ``density(*shapes, x)``, negated for the upper tail."""
    which, sign = (1, -1.0) if upper else (0, 1.0)

    def value(*args):
        return tails(*_floats(*args))[which]

    value.__name__ = value.__qualname__ = name
    value.__doc__ = doc
    fun = jax.custom_jvp(value)

    @fun.defjvp
    def _jvp(primals, tangents):
        args = _floats(*primals)
        dot = None
        for i in range(len(args) - 1):  # the shapes
            d = _d_shape(lambda s, i=i: value(*args[:i], s, *args[i + 1:]), args[i]) * tangents[i]
            dot = d if dot is None else dot + d
        return fun(*args), dot + sign * density(*args) * tangents[-1]

    return fun


def _docstring(summary, parameters, value, examples):
    """A numpydoc docstring from its parts: the ``Parameters`` entries, the returned ``value``."""
    return (f"{summary}\n\n    Parameters\n    ----------\n{parameters}\n    Returns\n    -------\n"
            f"    jax.Array\n        {value}, broadcast over the arguments.\n\n    Examples\n    --------\n{examples}"
            "    ")


# ---- the incomplete gamma ---------------------------------------------------------
def _p_series(a, x):
    """P(a, x) by its power series (accurate for x < a + 1, x > 0)."""

    def step(carry, _):
        term, total, ap = carry
        ap = ap + 1.0
        term = term * x / ap
        total = total + term
        return (term, total, ap), jnp.abs(term / total)

    one = jnp.ones_like(x * a)
    _, total, _ = _converge(step, (one, one, a * one))
    return jnp.exp(a * jnp.log(x) - x - gammaln(a + 1.0)) * total


def _q_fraction(a, x):
    """Q(a, x) by its continued fraction, modified Lentz (accurate for x >= a + 1)."""

    def step(carry, i):
        b, c, d, h = carry
        an = -i * (i - a)
        b = b + 2.0
        d = _guard(an * d + b)
        c = _guard(b + an / c)
        d = 1.0 / d
        delta = d * c
        return (b, c, d, h * delta), jnp.abs(delta - 1.0)

    b = x + 1.0 - a
    d = 1.0 / b
    _, _, _, h = _converge(step, (b, jnp.full_like(b, 1.0 / _TINY), d, d))
    return jnp.exp(a * jnp.log(x) - x - gammaln(a)) * h


def _gamma_pq(a, x):
    """(P, Q), each with full relative precision where it is the smaller."""
    a, x = _floats(a, x)
    inside = (x > 0) & jnp.isfinite(x)
    low = x < a + 1.0
    # each branch sees only arguments where it converges (and is finite): a safe stand-in elsewhere
    p = _p_series(a, jnp.where(inside & low, x, 0.5))
    q = _q_fraction(a, jnp.where(inside & ~low, x, a + 2.0))
    return _tails(low, jnp.where(low, p, q), inside, x <= 0)


def _gamma_density(a, x):
    """x^(a-1) e^(-x) / Gamma(a) inside (0, inf); 0 elsewhere (no NaN, no inf)."""
    inside = (x > 0) & jnp.isfinite(x)
    xs = jnp.where(inside, x, 1.0)
    return jnp.where(inside, jnp.exp((a - 1.0) * jnp.log(xs) - xs - gammaln(a)), 0.0)


_GAMMA_PARAMETERS = """\
    a : array_like
        Shape, positive.
    x : array_like
        Argument, non-negative.
"""

gammainc = _incomplete("gammainc", _gamma_pq, _gamma_density, upper=False, doc=_docstring(
    r"""Regularized lower incomplete gamma function :math:`P(a, x)`.

    :math:`P(a, x) = \frac{1}{\Gamma(a)} \int_0^x t^{a-1} e^{-t}\, dt`, with
    derivatives in both ``a`` and ``x`` (to any order), for ``a > 0`` and ``x >= 0``
    (``x = inf`` gives 1).""", _GAMMA_PARAMETERS, "P(a, x)", """\
    >>> import jax
    >>> from thetahat.families.special import gammainc
    >>> round(float(gammainc(1.0, 2.0)), 12)  # 1 - exp(-2)
    0.864664716763
    >>> import math
    >>> abs(float(jax.grad(gammainc, 1)(1.0, 2.0)) - math.exp(-2.0)) < 1e-15  # the density
    True
    >>> float(jax.grad(gammainc)(1.0, 2.0)) < 0  # P falls as the shape grows
    True
"""))

gammaincc = _incomplete("gammaincc", _gamma_pq, _gamma_density, upper=True, doc=_docstring(
    r"""Regularized upper incomplete gamma function :math:`Q(a, x) = 1 - P(a, x)`.

    Computed directly (not as ``1 - P``) in the upper tail, so it keeps full relative
    precision there; derivatives in both arguments, to any order.""", _GAMMA_PARAMETERS, "Q(a, x)", """\
    >>> from thetahat.families.special import gammaincc
    >>> import math
    >>> q = float(gammaincc(2.0, 50.0))  # (1 + x) e^-x, about 1e-20: no 1 - P cancellation
    >>> abs(q / (51.0 * math.exp(-50.0)) - 1.0) < 1e-13
    True
"""))


# ---- the incomplete beta ----------------------------------------------------------
def betaln(a, b):
    """log B(a, b) as log-gammas: ``jax.scipy.special.betaln`` (jax 0.10) is off by up to
    about 1e-9 relative (4e-8 at a = 9.8, b = 26.8), this to rounding for moderate shapes.

    Examples
    --------
    >>> import math
    >>> from thetahat.families.special import betaln
    >>> abs(float(betaln(2.0, 3.0)) - math.log(1 / 12)) < 1e-14
    True
    """
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def _beta_fraction(a, b, x, y):
    """I_x(a, b) by its continued fraction (y = 1 - x); converges fast for x < (a+1)/(a+b+2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0

    def step(carry, m):
        c, d, h = carry
        m2 = 2.0 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 / _guard(1.0 + aa * d)
        c = _guard(1.0 + aa / c)
        h = h * d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 / _guard(1.0 + aa * d)
        c = _guard(1.0 + aa / c)
        delta = d * c
        return (c, d, h * delta), jnp.abs(delta - 1.0)

    d = 1.0 / _guard(1.0 - qab * x / qap)
    _, _, h = _converge(step, (jnp.ones_like(d), d, d))
    return jnp.exp(a * jnp.log(x) + b * jnp.log(y) - jnp.log(a) - betaln(a, b)) * h


def _beta_pair(a, b, x):
    """(I_x(a, b), 1 - I_x(a, b)), each accurate where it is the smaller.

    One continued fraction per element: of I_x(a, b) below (a+1)/(a+b+2), else of
    I_y(b, a) = 1 - I_x(a, b) with y = 1 - x (the arguments swapped elementwise)."""
    a, b, x = _floats(a, b, x)
    y = 1.0 - x
    inside = (x > 0) & (y > 0)
    direct = x * (a + b + 2.0) < a + 1.0
    p, q = jnp.where(direct, a, b), jnp.where(direct, b, a)
    u, v = jnp.where(direct, x, y), jnp.where(direct, y, x)
    stand_in = 0.5 * (p + 1.0) / (p + q + 2.0)  # where the fraction converges, for the ends 0 and 1
    u, v = jnp.where(inside, u, stand_in), jnp.where(inside, v, 1.0 - stand_in)
    return _tails(direct, _beta_fraction(p, q, u, v), inside, x <= 0)


def _beta_density(a, b, x):
    """x^(a-1) (1-x)^(b-1) / B(a, b) inside (0, 1); 0 elsewhere (no NaN, no inf)."""
    y = 1.0 - x
    inside = (x > 0) & (y > 0)
    xs, ys = jnp.where(inside, x, 0.5), jnp.where(inside, y, 0.5)
    return jnp.where(inside, jnp.exp((a - 1.0) * jnp.log(xs) + (b - 1.0) * jnp.log(ys) - betaln(a, b)), 0.0)


_BETA_PARAMETERS = """\
    a, b : array_like
        Shapes, positive.
    x : array_like
        Argument in [0, 1].
"""

betainc = _incomplete("betainc", _beta_pair, _beta_density, upper=False, doc=_docstring(
    r"""Regularized incomplete beta function :math:`I_x(a, b)`.

    :math:`I_x(a, b) = \frac{1}{B(a, b)} \int_0^x t^{a-1} (1-t)^{b-1}\, dt`, with
    derivatives in ``a``, ``b`` and ``x`` (to any order), for ``a, b > 0`` and
    ``0 <= x <= 1``.""", _BETA_PARAMETERS, "I_x(a, b)", """\
    >>> import jax
    >>> from thetahat.families.special import betainc
    >>> round(float(betainc(2.0, 1.0, 0.3)), 12)  # x^2
    0.09
    >>> import math
    >>> abs(float(jax.grad(betainc)(2.0, 1.0, 0.3)) - 0.09 * math.log(0.3)) < 1e-14  # d/da x^a
    True
"""))

betaincc = _incomplete("betaincc", _beta_pair, _beta_density, upper=True, doc=_docstring(
    r"""Complement of the regularized incomplete beta function, :math:`1 - I_x(a, b)`.

    Equal to :math:`I_{1-x}(b, a)`; computed directly where it is small, so that it keeps
    full relative precision in the upper tail. Derivatives in every argument.""", _BETA_PARAMETERS,
    "1 - I_x(a, b)", """\
    >>> from thetahat.families.special import betaincc
    >>> round(float(betaincc(1.0, 3.0, 0.9)) / 1e-3, 12)  # (1 - x)^3
    1.0
"""))
