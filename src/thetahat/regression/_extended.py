"""A model function written with ``jax.numpy``, evaluated in NumPy long double.

JAX computes in float64 at most. Where a fit's residuals are a few hundred float64
spacings of ``y`` (NIST Lanczos1: residuals ~1e-13 on ``y`` ~ 1), the residual sum of
squares (hence ``s`` and every standard error) is only as good as the rounding of the
data and of ``f(x, θ)``. This module traces the model once to a jaxpr and interprets it
primitive by primitive with NumPy ``longdouble`` arrays (x87 extended precision on
x86-64 Linux: 64-bit significand, eps 1.1e-19), so that ``f(x, θ)`` can be evaluated
at the final estimate with about three more decimal digits. A primitive it does not
know makes :func:`evaluate` return ``None`` (the caller keeps the float64 result).

Example
-------
>>> import jax.numpy as jnp, numpy as np
>>> v = evaluate(lambda th, x: th[0] * jnp.exp(-th[1] * x), np.array([2.0, 0.5]),
...              np.array([np.longdouble(1) / 10]))
>>> v.dtype == np.longdouble, bool(abs(v[0] - 2 * np.exp(-np.longdouble(1) / 20)) < 1e-18)
(True, True)
"""

from __future__ import annotations

import numpy as np

LD = np.longdouble


def wider_than_float64() -> bool:
    """Whether this platform's ``longdouble`` carries more digits than float64."""
    return bool(np.finfo(LD).eps < np.finfo(np.float64).eps)


class _Unsupported(Exception):
    pass


_UNARY = {
    "neg": np.negative, "exp": np.exp, "exp2": np.exp2, "log": np.log, "log1p": np.log1p, "expm1": np.expm1,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "asinh": np.arcsinh, "acosh": np.arccosh,
    "atanh": np.arctanh, "sqrt": np.sqrt, "cbrt": np.cbrt, "abs": np.abs, "sign": np.sign, "floor": np.floor,
    "ceil": np.ceil, "square": np.square, "not": np.invert, "is_finite": np.isfinite,
    "rsqrt": lambda a: 1 / np.sqrt(a), "logistic": lambda a: 1 / (1 + np.exp(-a)),
    "copy": np.copy, "copy_p": np.copy, "stop_gradient": lambda a: a, "real": np.real,
}
_BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power, "max": np.maximum,
    "min": np.minimum, "atan2": np.arctan2, "rem": np.fmod, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal, "eq": np.equal, "ne": np.not_equal,
    "and": np.bitwise_and, "or": np.bitwise_or, "add_any": np.add,  # lax's and/or/not are bitwise
}


def _to_ld(v):
    a = np.asarray(v)
    return a.astype(LD) if a.dtype.kind == "f" else a


def _structural(name, params, args):
    a = args[0] if args else None
    if name == "integer_pow":
        return a ** int(params["y"])
    if name == "convert_element_type":
        dt = np.dtype(params["new_dtype"])
        return a.astype(LD) if dt.kind == "f" else a.astype(dt)
    if name == "broadcast_in_dim":
        shape, dims = tuple(params["shape"]), tuple(params["broadcast_dimensions"])
        expanded = np.reshape(a, [a.shape[dims.index(i)] if i in dims else 1 for i in range(len(shape))])
        return np.broadcast_to(expanded, shape)
    if name == "reshape":
        return np.reshape(a, tuple(params["new_sizes"]))
    if name == "squeeze":
        return np.squeeze(a, axis=tuple(params["dimensions"]))
    if name == "expand_dims":
        return np.expand_dims(a, tuple(params["dimensions"]))
    if name == "transpose":
        return np.transpose(a, tuple(params["permutation"]))
    if name == "slice":
        strides = params.get("strides") or (1,) * a.ndim
        return a[tuple(slice(s, e, st) for s, e, st in zip(params["start_indices"], params["limit_indices"], strides))]
    if name == "concatenate":
        return np.concatenate(args, axis=int(params["dimension"]))
    if name == "select_n":
        return np.choose(np.asarray(args[0]).astype(int), args[1:]) if len(args) > 2 else np.where(args[0], args[2],
                                                                                                     args[1])
    if name in ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod"):
        fn = {"reduce_sum": np.sum, "reduce_max": np.max, "reduce_min": np.min, "reduce_prod": np.prod}[name]
        return fn(a, axis=tuple(params["axes"]))
    if name == "dot_general":
        (lc, rc), (lb, rb) = params["dimension_numbers"]
        if lb or rb:
            raise _Unsupported(name)
        return np.tensordot(args[0], args[1], axes=(tuple(lc), tuple(rc)))
    if name == "iota":
        return np.broadcast_to(np.arange(params["shape"][params["dimension"]]).reshape(
            [-1 if i == params["dimension"] else 1 for i in range(len(params["shape"]))]), params["shape"]).astype(
            np.dtype(params["dtype"]) if np.dtype(params["dtype"]).kind != "f" else LD)
    raise _Unsupported(name)


def _inner(params):
    for key in ("jaxpr", "call_jaxpr", "fun_jaxpr"):
        j = params.get(key)
        if j is not None:
            return (j.jaxpr, j.consts) if hasattr(j, "consts") else (j, ())
    return None


def _eval(jaxpr, consts, args):
    env = {}

    from jax.extend.core import Literal

    def read(v):
        return _to_ld(v.val) if isinstance(v, Literal) else env[v]

    for var, val in zip(jaxpr.constvars, consts):
        env[var] = _to_ld(val)
    for var, val in zip(jaxpr.invars, args):
        env[var] = val
    for eqn in jaxpr.eqns:
        ins = [read(v) for v in eqn.invars]
        name = eqn.primitive.name
        inner = _inner(eqn.params)
        if inner is not None:
            outs = _eval(inner[0], inner[1], ins)
        elif name in _UNARY:
            outs = [_UNARY[name](ins[0])]
        elif name in _BINARY:
            outs = [_BINARY[name](ins[0], ins[1])]
        else:
            outs = [_structural(name, eqn.params, ins)]
        for var, val in zip(eqn.outvars, outs):
            env[var] = np.asarray(val)
    return [read(v) for v in jaxpr.outvars]


def evaluate(fn, theta, x_ext):
    """``fn(theta, x)`` in long double (``theta`` float64, converted exactly; ``x_ext``
    long double), or ``None`` where the function uses a primitive not handled here."""
    import jax

    theta = np.asarray(theta, dtype=np.float64)
    try:
        closed = jax.make_jaxpr(fn)(theta, np.asarray(x_ext, dtype=np.float64))
        with np.errstate(all="ignore"):
            out = _eval(closed.jaxpr, closed.consts, [theta.astype(LD), np.asarray(x_ext, dtype=LD)])[0]
    except _Unsupported:
        return None
    out = np.asarray(out)
    return out.astype(LD) if out.dtype.kind == "f" else None
