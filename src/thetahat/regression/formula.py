"""Formulas that cannot run code: every term is checked before formulaic sees it.

formulaic evaluates a formula's function calls as Python, so ``y ~ I(__import__("os")...)``
or ``y ~ {...}`` would run whatever the formula's author wrote. :func:`check_formula` splits
the formula with formulaic's own tokenizer (so it checks exactly the pieces formulaic will
evaluate) and parses each Python piece with :mod:`ast`; nothing is evaluated. Allowed:

* column names (plain or in backticks), numbers, and formulaic's operators
  (``+ - : * / ** ( ) |``, ``-1``, ``+0``, ``+1``);
* ``I(expr)`` where ``expr`` is arithmetic: ``+ - * / **``, unary minus, numbers, column
  names and the calls below;
* ``log``, ``exp``, ``sqrt``, ``log1p``, ``abs`` -- bare or as ``np.log`` and so on -- of
  such an expression;
* ``C(column)``, with an optional contrast (a literal, or ``contr.treatment``, ``contr.sum``,
  ``contr.helmert``, ``contr.poly``, ``contr.diff``, called with literal arguments or not) and
  literal ``levels=[...]`` / ``spans_intercept=``;
* formulaic's transforms ``poly``, ``center``, ``scale`` and ``bs`` of an expression, their
  other arguments literal numbers.

Everything else (attribute access other than ``np.<function>``, subscripts, lambdas,
comprehensions, other calls, dunder names, strings outside ``C()``, the ``{...}`` Python
block) raises :class:`~thetahat.errors.FormulaError` naming the term.
``allow_python=True`` skips the check: the full language, unsafe for untrusted input.

Example
-------
>>> check_formula("y ~ np.log(x) + I(x**2) + C(g)")
>>> try:
...     check_formula("y ~ a + exec('print(1)')")
... except FormulaError as e:
...     print(str(e).split(":")[0])
term "exec('print(1)')" is not allowed in a formula
"""

from __future__ import annotations

import ast
import keyword

import numpy as np

from ..errors import DegenerateDataError, FormulaError, OptionError

FUNCTIONS = ("log", "exp", "sqrt", "log1p", "abs")
TRANSFORMS = ("poly", "center", "scale", "bs")
MAX_BASIS = 100  # the most columns poly() or bs() may make (poly(x, 1e8) would allocate a design of 1e8 columns)
CONTRASTS = ("treatment", "sum", "helmert", "poly", "diff")
ALLOWED = ("column names, numbers, the operators + - : * ( ), I() of + - * / ** arithmetic, "
           "log/exp/sqrt/log1p/abs (or np.log, ...), C(column[, literal contrast or levels=[...]]) and "
           "poly/center/scale/bs with literal arguments; in Python, regress(..., allow_python=True) evaluates "
           "any Python (unsafe for untrusted input)")
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_DESCRIBE = {ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambdas",
             ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
             ast.GeneratorExp: "comprehensions", ast.Compare: "comparisons", ast.BoolOp: "boolean operators",
             ast.IfExp: "conditional expressions", ast.NamedExpr: "assignments", ast.Starred: "starred arguments",
             ast.JoinedStr: "strings", ast.List: "lists", ast.Tuple: "tuples", ast.Dict: "dicts", ast.Set: "sets",
             ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield"}


class _Refused(Exception):
    pass


def eval_context() -> dict:
    """The names a checked formula may call, for formulaic's evaluation (formulaic adds its
    own transforms, ``I``, ``C``, ``contr`` and ``np``)."""
    return {"np": np, "log": np.log, "exp": np.exp, "sqrt": np.sqrt, "log1p": np.log1p, "abs": np.abs}


def split_formula(formula: str, y) -> tuple:
    """``(response, right-hand side)`` of ``'y ~ x1 + x2'``, refusing a formula without a
    response, and a response given both in the formula and as ``y=``.

    Examples
    --------
    >>> split_formula("dist ~ speed + I(speed**2)", None)
    ('dist', 'speed + I(speed**2)')
    """
    if y is not None:
        raise OptionError("give the response either in the formula or as y=, not both")
    if "~" not in formula:
        raise OptionError(f"a regression formula needs a response: 'y ~ x1 + x2', got {formula!r}")
    lhs, rhs = (s.strip() for s in formula.split("~", 1))
    if not lhs:
        raise OptionError(f"the formula {formula!r} has no response on the left of '~'")
    return lhs, rhs


def check_formula(formula: str, *, allow_python: bool = False) -> None:
    """Raise :class:`~thetahat.errors.FormulaError` unless every term of ``formula`` is in
    the allowed set (see the module's docstring); nothing of the formula is evaluated.

    Parameters
    ----------
    formula : str
        A formula or one side of it, as it will be given to formulaic.
    allow_python : bool
        Skip the check (unsafe for untrusted input).

    Examples
    --------
    >>> check_formula("y ~ C(g, levels=['b', 'a']) + poly(x, 2) - 1")
    >>> check_formula("y ~ {x + 1}", allow_python=True)
    """
    if allow_python:
        return
    from formulaic.errors import FormulaicError
    from formulaic.parser.algos.tokenize import tokenize

    try:
        tokens = list(tokenize(formula))
    except FormulaicError as exc:
        raise FormulaError(f"cannot parse the formula {formula!r}: {' '.join(str(exc).split())}") from None
    for tok, term in zip(tokens, _terms(formula, tokens)):
        try:
            _check_token(formula, tok)
        except _Refused as why:
            raise FormulaError(f"term {term!r} is not allowed in a formula: {why}; allowed are {ALLOWED}") from None


def _terms(formula, tokens):
    """For each token, the text of the additive term (between top-level ``~ + - |``) holding it."""
    out, start, depth = [formula.strip()] * len(tokens), 0, 0
    for i, tok in enumerate(tokens + [None]):
        if tok is not None and tok.kind.value == "context":
            depth += 1 if tok.token in "([" else -1
        elif tok is None or tok.kind.value == "operator" and depth == 0 and tok.token in ("~", "+", "-", "|"):
            if start < i:
                lo, hi = tokens[start].source_start, tokens[i - 1].source_end
                text = formula[lo:hi + 1]
                if formula[lo] == "{" and "}" not in text:
                    text += "}"
                out[start:i] = [text.strip()] * (i - start)
            start = i + 1
    return out


def _check_token(formula, tok):
    kind, text = tok.kind.value, tok.token
    if kind == "context" and text not in ("(", ")"):
        raise _Refused(f"brackets {text!r} (subscripts, lists, comprehensions)")
    if kind == "name":
        if keyword.iskeyword(text):
            raise _Refused(f"the Python keyword {text!r}")
        if _dunder(text):
            raise _Refused("dunder names")
    if kind == "value" and text != ".":
        try:
            float(text)
        except ValueError:
            raise _Refused("strings (other than C()'s levels)") from None
    if kind == "python":
        if formula[tok.source_start] == "{":
            raise _Refused("the {...} Python block")
        _check_python(text)


def _dunder(name):
    return any(part.startswith("__") for part in name.split("."))


def _check_python(text):
    # the expression exactly as formulaic will evaluate it: its own sanitiser turns `quoted names` into
    # identifiers, and skips backticks inside string literals (a regex of our own that did not once let
    # code between two quoted backticks through unchecked)
    from formulaic.utils.code import sanitize_variable_names

    src = sanitize_variable_names(text, {}, {})
    try:
        tree = ast.parse(src.strip(), mode="eval")
    except SyntaxError:
        raise _Refused("it is not a valid expression") from None
    _expr(tree.body)


def _expr(node):
    """Arithmetic: numbers, names, + - * / **, unary minus, and the allowed calls."""
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise _Refused("strings (other than C()'s levels)" if isinstance(node.value, str)
                           else f"the constant {node.value!r}")
    elif isinstance(node, ast.Name):
        if _dunder(node.id):
            raise _Refused("dunder names")
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINOPS):
            raise _Refused(f"the operator {type(node.op).__name__} (only + - * / **)")
        if isinstance(node.op, ast.Pow):
            _exponent(node.right, node.left)
        _expr(node.left)
        _expr(node.right)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise _Refused(f"the operator {type(node.op).__name__} (only + - * / **)")
        _expr(node.operand)
    elif isinstance(node, ast.Call):
        _call(node)
    else:
        raise _Refused(_DESCRIBE.get(type(node), f"the expression {ast.unparse(node)!r}"))


def _exponent(node, base):
    """An exponent without a column must be a number of at most 1000 in size, and a base without a
    column a plain number: ``10**10**10`` and ``((10**1000)**1000)**1000`` would compute Python integers
    of billions of digits."""
    if not any(isinstance(n, ast.Name) for n in ast.walk(node)):
        v = node.operand if isinstance(node, ast.UnaryOp) else node
        if not (isinstance(v, ast.Constant) and type(v.value) in (int, float) and abs(v.value) <= 1000):
            raise _Refused(f"the exponent {ast.unparse(node)} (a number of at most 1000, or one with a column)")
    if not any(isinstance(n, ast.Name) for n in ast.walk(base)):
        v = base.operand if isinstance(base, ast.UnaryOp) else base
        if not (isinstance(v, ast.Constant) and type(v.value) in (int, float)):
            raise _Refused(f"the base {ast.unparse(base)} of a power (a plain number, or one with a column)")


def _callee(func):
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("np", "numpy") \
            and func.attr in FUNCTIONS:
        return func.attr
    raise _Refused(f"calls of {ast.unparse(func)!r}" if not isinstance(func, ast.Attribute)
                   else f"attribute access ({ast.unparse(func)})")


def _call(node):
    name = _callee(node.func)
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        raise _Refused("starred arguments")
    if name in FUNCTIONS or name == "I":
        if len(node.args) != 1 or node.keywords:
            raise _Refused(f"{name}() takes one expression")
        _expr(node.args[0])
    elif name == "C":
        _c_call(node)
    elif name in TRANSFORMS:
        if not node.args:
            raise _Refused(f"{name}() needs an expression")
        _expr(node.args[0])
        for a in node.args[1:] + [k.value for k in node.keywords]:
            _literal(a, strings=False)
        sizes = node.args[1:2] + [k.value for k in node.keywords if k.arg in ("degree", "df")]
        for a in sizes if name in ("poly", "bs") else ():
            if isinstance(a, ast.Constant) and type(a.value) in (int, float) and not 0 <= a.value <= MAX_BASIS:
                raise _Refused(f"{name}() with {ast.unparse(a)} columns (at most {MAX_BASIS})")
    else:
        raise _Refused(f"calls of {name!r}")


def _c_call(node):
    if not 1 <= len(node.args) <= 2:
        raise _Refused("C() takes a column and an optional contrast")
    _expr(node.args[0])
    contrasts = node.args[1:] + [k.value for k in node.keywords if k.arg == "contrasts"]
    for c in contrasts:
        _contrast(c)
    for k in node.keywords:
        if k.arg == "levels":
            _literal(k.value, strings=True)
        elif k.arg == "spans_intercept":
            if not (isinstance(k.value, ast.Constant) and isinstance(k.value.value, bool)):
                raise _Refused("C()'s spans_intercept must be True or False")
        elif k.arg != "contrasts":
            raise _Refused(f"C() has no argument {k.arg!r} here (contrasts, levels, spans_intercept)")


def _contrast(node):
    target, args = (node.func, node.args + [k.value for k in node.keywords]) if isinstance(node, ast.Call) \
        else (node, [])
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "contr":
        if target.attr not in CONTRASTS:
            raise _Refused(f"the contrast contr.{target.attr} (allowed: contr.{', contr.'.join(CONTRASTS)})")
        for a in args:
            _literal(a, strings=True)
    elif isinstance(node, ast.Call):
        raise _Refused(f"calls of {ast.unparse(node.func)!r}")
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        raise _Refused(f"the contrast {node.value!r} (name one as contr.{', contr.'.join(CONTRASTS)})")
    else:
        _literal(node, strings=True)


def _literal(node, strings):
    """A literal number, bool, None, (string), or list/tuple/dict of them."""
    if isinstance(node, (ast.List, ast.Tuple)):
        for e in node.elts:
            _literal(e, strings)
    elif isinstance(node, ast.Dict) and None not in node.keys:
        for e in node.keys + node.values:
            _literal(e, strings)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _literal(node.operand, False)
    elif isinstance(node, ast.Constant) and (type(node.value) in (int, float, bool) or node.value is None
                                             or (strings and isinstance(node.value, str))):
        pass
    else:
        raise _Refused("non-literal arguments" if not isinstance(node, ast.Constant) else
                       f"the argument {ast.unparse(node)} (a literal number is needed)")


def check_terms(spec, where="in the data", hint=""):
    """Raise :class:`~thetahat.errors.DegenerateDataError` for a term of formulaic's ``spec``
    that gives no column (a factor with one level beside an intercept), as R does. ``where``
    says where the levels were counted and ``hint`` is added to the advice.

    Examples
    --------
    >>> import formulaic, pandas as pd
    >>> df = pd.DataFrame({"x": [1.0, 2.0], "g": ["a", "b"]})
    >>> check_terms(formulaic.model_matrix("x + C(g)", df).model_spec)
    """
    for term, sl in (getattr(spec, "term_slices", None) or {}).items():
        if sl.stop > sl.start or str(term) in ("1", "0"):
            continue
        levels = [(expr, st["categories"]) for expr, (k, st) in (spec.encoder_state or {}).items()
                  if "categories" in st and len(st["categories"]) < 2 and expr in str(term)]
        if levels:
            expr, lv = levels[0]
            raise DegenerateDataError(
                f"{expr} has one level {where} ({', '.join(map(str, lv)) or 'none'}): the term {str(term)!r} "
                f"cannot be told apart from the intercept; drop it from the formula{hint} (R refuses it too: "
                "'contrasts can be applied only to factors with 2 or more levels')")
        raise DegenerateDataError(f"the formula term {str(term)!r} gives no column of the design")
