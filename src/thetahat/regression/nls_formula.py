"""``nls_formula("y ~ b1*(1 - exp(-b2*x))", data, start)``: nonlinear least squares from a formula.

The right-hand side is read, never evaluated as Python: it is parsed into a syntax tree and only
numbers, column names, parameter names (the keys of ``start``), ``+ - * / **`` (and ``^``, as in R),
unary minus and the functions in :data:`FUNCTIONS` are accepted; anything else (attribute access,
subscripts, strings, other calls, ...) is refused naming it. The model is then the tree walked with
``jax.numpy`` -- the same fit as :func:`thetahat.nls` with the model written by hand.

Example
-------
>>> import numpy as np
>>> from thetahat.errors import FormulaError
>>> data = {"x": np.arange(1.0, 7.0), "y": [4.9, 8.4, 11.2, 13.0, 14.6, 15.7]}
>>> f = nls_formula("y ~ b1*(1 - exp(-b2*x))", data, {"b1": 20.0, "b2": 0.2})
>>> f.names, f.converged
(('b1', 'b2'), True)
>>> try:
...     nls_formula("y ~ b1*__import__('os').getpid()", data, {"b1": 1.0})
... except FormulaError as exc:
...     print(str(exc).split(": ")[1])
attribute access (__import__('os').getpid) is not allowed; use numbers, columns, the parameters of start, + - * / ** and exp, log, log10, log1p, expm1, sqrt, abs, sin, cos, tan, arcsin, arccos, arctan, sinh, cosh, tanh
"""

from __future__ import annotations

import ast

import numpy as np

from ..errors import DataError, FormulaError

FUNCTIONS = ("exp", "log", "log10", "log1p", "expm1", "sqrt", "abs", "sin", "cos", "tan", "arcsin", "arccos",
             "arctan", "sinh", "cosh", "tanh")
ALIASES = {"atan": "arctan", "asin": "arcsin", "acos": "arccos"}
CONSTANTS = {"pi": float(np.pi)}
MAX_LENGTH = 5000  # characters: a longer formula is refused (Python's parser recurses on nesting)
MAX_DEPTH = 200  # operations nested in one another (the model is built by recursion over the tree)
_OPS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide", ast.Pow: "power",
        ast.BitXor: "power"}


def parse(formula: str, params, columns) -> tuple:
    """``(response column, right-hand tree, columns used)``; a :class:`FormulaError` for anything outside
    the allowed set, or a name that is neither a parameter nor a column."""
    if not isinstance(formula, str):
        raise FormulaError(f"an nls formula is a string 'y ~ expression', got {type(formula).__name__}")
    lhs, sep, rhs = formula.partition("~")
    if not sep or "~" in rhs:
        raise FormulaError(f"nls formula {formula!r}: expected one '~', as in 'y ~ b1*(1 - exp(-b2*x))'")
    if len(formula) > MAX_LENGTH:
        raise FormulaError(f"nls formula of {len(formula)} characters: at most {MAX_LENGTH}")
    lhs = lhs.strip()
    if lhs not in columns:
        raise FormulaError(f"nls formula {formula!r}: the response {lhs!r} is not a column of the data"
                           f" (columns: {', '.join(map(str, columns))})")
    try:
        tree = ast.parse(rhs.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise FormulaError(f"nls formula {formula!r}: cannot read the right-hand side "
                           f"({getattr(exc, 'msg', None) or type(exc).__name__})") from None
    if _depth(tree) > MAX_DEPTH:
        raise FormulaError(f"nls formula {formula[:60]!r}...: operations nested more than {MAX_DEPTH} deep")
    used = []
    for node in ast.walk(tree):
        why = _refusal(node)
        if why:
            raise FormulaError(f"nls formula {formula!r}: {why} is not allowed; use numbers, columns, the "
                               f"parameters of start, + - * / ** and {', '.join(FUNCTIONS)}")
        if isinstance(node, ast.Name) and not _is_callee(node, tree):
            name = node.id
            if name in params or name in CONSTANTS and name not in columns:
                continue
            if name not in columns:
                raise FormulaError(f"nls formula {formula!r}: {name!r} is neither a column of the data nor a "
                                   f"parameter of start ({', '.join(params)})")
            if name not in used:
                used.append(name)
    return lhs, tree, used


def _depth(tree) -> int:
    """How deep the tree is (without recursion)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in ast.iter_child_nodes(node))
    return deepest


def _is_callee(node, tree) -> bool:
    return any(isinstance(c, ast.Call) and c.func is node for c in ast.walk(tree))


def _refusal(node):
    """Why ``node`` is refused, or None."""
    if isinstance(node, (ast.Expression, ast.Load, ast.Name, ast.USub, ast.UAdd)) or type(node) in _OPS:
        return None
    if isinstance(node, ast.Constant):
        ok = type(node.value) in (int, float)
        return None if ok else f"the constant {ast.unparse(node)}"
    if isinstance(node, ast.BinOp):
        return None if type(node.op) in _OPS else f"the operator in {ast.unparse(node)}"
    if isinstance(node, ast.UnaryOp):
        return None if isinstance(node.op, (ast.USub, ast.UAdd)) else f"the operator in {ast.unparse(node)}"
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name is None:
            return f"{'attribute access' if isinstance(node.func, ast.Attribute) else 'calls'} ({ast.unparse(node.func)})"
        if ALIASES.get(name, name) not in FUNCTIONS:
            return f"the function {name}()"
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            return f"{ast.unparse(node)} (one argument, no keywords)"
        return None
    return f"{type(node).__name__.lower()} ({ast.unparse(node)})"


def model_function(tree, columns):
    """``f(x, b)``: the tree walked with ``jax.numpy``; ``x`` is ``(n, len(columns))``, ``b`` a dict."""
    import jax.numpy as jnp

    index = {c: j for j, c in enumerate(columns)}

    def walk(node, x, b):
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id in b:
                return b[node.id]
            return x[:, index[node.id]] if node.id in index else CONSTANTS[node.id]
        if isinstance(node, ast.UnaryOp):
            v = walk(node.operand, x, b)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            return getattr(jnp, _OPS[type(node.op)])(walk(node.left, x, b), walk(node.right, x, b))
        name = node.func.id
        return getattr(jnp, ALIASES.get(name, name))(walk(node.args[0], x, b))

    def f(x, b):
        return walk(tree, x, b) + jnp.zeros(x.shape[0])  # (a model free of x still gives one value a row)

    return f


def nls_formula(formula: str, data, start: dict, *, weights=None, **options):
    """Fit ``formula`` (``"y ~ expression"``) to the columns of ``data`` (a DataFrame or a dict of
    arrays) by :func:`thetahat.nls`, from ``start`` (a dict: the parameter names and starting values).

    ``weights`` is a column name or an array of positive precision weights; ``options`` go to
    :func:`thetahat.nls` (``max_iter``, ``ftol``, ``xtol``, ``gtol``).

    Examples
    --------
    >>> import numpy as np
    >>> d = {"t": [1.0, 2.0, 3.0, 4.0], "y": [2.1, 3.9, 6.2, 7.8]}
    >>> f = nls_formula("y ~ b*t", d, {"b": 1.0})
    >>> bool(np.isclose(f.params["b"], np.dot(d["t"], d["y"]) / np.dot(d["t"], d["t"])))
    True
    """
    from .nls import nls

    if not isinstance(start, dict) or not start:
        raise FormulaError("an nls formula needs start: a dict of parameter names and starting values")
    columns = [str(c) for c in data.keys()]
    clash = [k for k in start if k in columns]
    if clash:
        raise FormulaError(f"{clash[0]!r} is both a parameter in start and a column of the data; rename one")
    lhs, tree, used = parse(formula, list(start), columns)
    y = _column(data, lhs)
    x = np.column_stack([_column(data, c) for c in used]) if used else np.zeros((y.size, 1))
    if isinstance(weights, str):
        if weights not in columns:
            raise DataError(f"the weights column {weights!r} is not a column of the data")
        weights = _column(data, weights)
    return nls(model_function(tree, used), x, y, dict(start), weights=weights, **options)


def _column(data, name):
    try:
        return np.asarray(data[name], dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"column {name!r} is not numeric") from None
