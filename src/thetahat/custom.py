"""Custom likelihoods: a log-density written as a JAX function becomes a full family."""

from __future__ import annotations

import inspect

import numpy as np

from . import constraints as C
from .errors import OptionError
from .families._base import Family

_NAMED = {
    "real": C.real,
    "positive": C.positive,
    "unit_interval": C.unit_interval,
    "probability": C.unit_interval,
    "simplex": C.simplex,
    "positive_definite": C.positive_definite,
    "nonnegative_integer": C.nonnegative_integer,
    "positive_integer": C.positive_integer,
    "boolean": C.boolean,
}


def _constraint(c, what):
    if isinstance(c, C.Constraint):
        return c
    if isinstance(c, str) and c in _NAMED:
        return _NAMED[c]
    if isinstance(c, tuple) and len(c) == 2:
        return C.interval(*c)
    raise OptionError(f"{what}: unknown constraint {c!r}; use one of {', '.join(_NAMED)}, "
                      "a (lower, upper) pair, or a thetahat.constraints object")


def custom(logpdf, params: dict, start, *, support="real", name="custom", discrete=None,
           ndim: int = 0) -> Family:
    """Make a family from a log-density written with ``jax.numpy``.

    Parameters
    ----------
    logpdf : callable
        ``logpdf(x, **params)`` -> log-density of ONE observation ``x``. It must be
        written with ``jax.numpy`` so that it can be differentiated; return
        ``-jnp.inf`` outside the support.
    params : dict
        Parameter name -> constraint: ``"real"``, ``"positive"``,
        ``"unit_interval"``, ``"simplex"``, a ``(lower, upper)`` pair, or a
        :mod:`thetahat.constraints` object.
    start : dict or callable
        Starting values, or ``start(x) -> dict`` computed from the data.
    support : str or Constraint
        Support of an observation; data outside it are rejected before fitting.
    name : str
        Name shown in results.

    Returns
    -------
    Family
        Usable everywhere a built-in family is: ``thetahat.fit(x, fam)`` gives
        estimates, standard errors from the exact autodiff Hessian, intervals, AIC.

    Examples
    --------
    >>> import jax.numpy as jnp, numpy as np, thetahat
    >>> def logpdf(x, rate):              # an exponential written by hand
    ...     return jnp.log(rate) - rate * x
    >>> fam = thetahat.custom(logpdf, {"rate": "positive"}, start={"rate": 1.0}, support="positive")
    >>> f = thetahat.fit(np.array([0.5, 1.5, 2.0, 0.2]), fam)
    >>> round(f.params["rate"], 6) == round(4 / 4.2, 6)
    True
    """
    if not callable(logpdf):
        raise OptionError("logpdf must be a function logpdf(x, **params)")
    if not params:
        raise OptionError("a custom family needs at least one parameter")
    cons = {k: _constraint(v, f"parameter {k!r}") for k, v in params.items()}
    sig = inspect.signature(logpdf)
    if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        missing = [k for k in cons if k not in sig.parameters]
        if missing:
            raise OptionError(f"logpdf has no argument for parameter(s) {', '.join(missing)}")
    sup = _constraint(support, "support")
    if callable(start):
        start_fn = start
    else:
        start = dict(start)
        missing = [k for k in cons if k not in start]
        if missing:
            raise OptionError(f"start has no value for {', '.join(missing)}")
        start_fn = None

    fn = logpdf

    class Custom(Family):
        def logpdf(self, x, p):
            return fn(x, **p)

        def start(self, x, w):
            return dict(start_fn(x)) if start_fn is not None else {k: np.asarray(v) for k, v in start.items()}

        def param_shapes(self, x):
            st = self.start(x, None)
            return {k: np.shape(st[k]) for k in cons}

    Custom.__name__ = Custom.__qualname__ = f"Custom_{name}"
    Custom.__doc__ = f"Custom family {name!r} from {getattr(fn, '__name__', 'a function')}."
    Custom.name = name
    Custom.params = cons
    Custom.support = sup
    Custom.discrete = sup.discrete if discrete is None else bool(discrete)
    Custom.ndim = int(ndim)
    return Custom()
