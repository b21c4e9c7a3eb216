"""List the functions under ``src/thetahat`` longer than a limit (80 lines by default).

A function's length is its lines from ``def`` (or its first decorator) to its last
line, docstring included; nested functions are measured on their own too.

Usage::

    python tools/check_function_length.py [--max-lines 80] [--root src/thetahat]

Prints each long function as ``file:line name (length)``, longest first, then the
longest of all; exits 1 when any is over the limit.

Examples
--------
>>> import ast
>>> tree = ast.parse("def f():\\n    return 1\\n")
>>> [(n.name, length(n)) for n in functions(tree)]
[('f', 2)]
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import sys


def functions(tree):
    """Every function and method definition in ``tree``, nested ones included."""
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def length(node) -> int:
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return node.end_lineno - first + 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-lines", type=int, default=80)
    ap.add_argument("--root", default="src/thetahat")
    args = ap.parse_args(argv)
    rows = []
    for path in sorted(pathlib.Path(args.root).rglob("*.py")):
        for node in functions(ast.parse(path.read_text(), str(path))):
            rows.append((length(node), f"{path}:{node.lineno} {node.name}"))
    rows.sort(reverse=True)
    long = [(n, where) for n, where in rows if n > args.max_lines]
    for n, where in long:
        print(f"{where} ({n} lines)")
    if rows:
        print(f"longest function: {rows[0][1]} ({rows[0][0]} lines); {len(long)} over {args.max_lines}")
    return 1 if long else 0


if __name__ == "__main__":
    sys.exit(main())
