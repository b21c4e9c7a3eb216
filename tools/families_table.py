"""The README's table of families, generated from the registry and the families' docstrings.

    python tools/families_table.py           # print the table
    python tools/families_table.py --write   # replace the table in README.md

One row per registered family (``thetahat.all_families()``): its name, its parameters with
their constraints (and the values a user supplies, such as a binomial's ``n``), the density
as its docstring writes it, and the scipy.stats equivalent its docstring names.
tests/test_readme.py checks the README's table against the registry.
"""

from __future__ import annotations

import inspect
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
README = os.path.join(ROOT, "README.md")
BEGIN, END = "<!-- families table: begin (tools/families_table.py) -->", "<!-- families table: end -->"

# LaTeX in the docstrings' ``.. math::`` blocks, written out as plain text
_LATEX = [
    (r"\tfrac12", "½"), (r"\,", " "), (r"\quad", "  "), (r"\left", ""), (r"\right", ""),
    (r"\exp", "exp"), (r"\log", "log"), (r"\cos", "cos"), (r"\sin", "sin"),
    (r"\Gamma", "Γ"), (r"\Sigma", "Σ"), (r"\Phi", "Φ"), (r"\phi", "φ"), (r"\alpha", "α"), (r"\beta", "β"),
    (r"\kappa", "κ"), (r"\lambda", "λ"), (r"\mu", "μ"), (r"\sigma", "σ"), (r"\xi", "ξ"), (r"\pi", "π"),
    (r"\sum", "Σ"), (r"\prod", "Π"),
]
_CONSTRAINT = {"real": "", "positive": " > 0", "unit_interval": " in (0, 1)", "simplex": " on the simplex",
               "positive_definite": " positive definite"}


def _braced(s: str, i: int) -> tuple[str, int]:
    """The text inside the braces that open at ``s[i]``, and the index after them."""
    depth = 0
    for j in range(i, len(s)):
        depth += {"{": 1, "}": -1}.get(s[j], 0)
        if depth == 0:
            return s[i + 1:j], j + 1
    raise ValueError(f"unbalanced braces in {s!r}")


def latex_to_text(s: str) -> str:
    """``\\frac{a}{b}`` -> ``(a) / (b)``, ``\\sqrt{a}`` -> ``√(a)``, Greek letters, ``^{..}`` -> ``^(..)``."""
    for cmd, fmt in ((r"\frac", "({}) / ({})"), (r"\sqrt", "√({})")):
        while cmd in s:
            i = s.index(cmd)
            a, j = _braced(s, i + len(cmd))
            if cmd == r"\frac":
                b, j = _braced(s, j)
                s = s[:i] + fmt.format(a, b) + s[j:]
            else:
                s = s[:i] + fmt.format(a) + s[j:]
    for cmd, text in _LATEX:
        s = s.replace(cmd, text)
    while re.search(r"\^\{([^{}]*)\}", s):  # (innermost first: e^{Q^{-2} w} -> e^(Q^(-2) w))
        s = re.sub(r"\^\{([^{}]*)\}", r"^(\1)", s)
    s = re.sub(r"_\{([^{}]*)\}", r"_\1", s)
    s = s.replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", s).strip()


def _paragraphs(doc: str) -> list[str]:
    return [" ".join(line.strip() for line in p.splitlines()) for p in re.split(r"\n\s*\n", doc.strip())]


def _balanced_call(text: str, start: int) -> str:
    """``scipy.stats.gamma(a=shape, scale=1/rate)`` starting at ``text[start]``: the name and its parentheses."""
    i = text.index("(", start)
    depth = 0
    for j in range(i, len(text)):
        depth += {"(": 1, ")": -1}.get(text[j], 0)
        if depth == 0:
            return text[start:j + 1]
    raise ValueError(f"unbalanced parentheses in {text!r}")


def _first_formula(p: str) -> str:
    """The density's own sentence: up to the first full stop, or the first semicolon after ``f(x)``."""
    p = re.split(r"(?<=[^.])\.(?:\s|$)", p, maxsplit=1)[0]
    head, sep, _ = p.partition("; ")
    return head if sep and "f(x)" in head else p


def density(fam) -> str:
    """The docstring's summary line, with the density from the next paragraphs where the line lacks one."""
    paras = [p.replace("``", "`") for p in _paragraphs(inspect.getdoc(fam) or "")]
    line = paras[0][:-1] if paras[0].endswith(".") and not paras[0].endswith("...") else paras[0]
    if "f(x) =" in line or "P(X" in line:
        return line
    for p in paras[1:]:
        if p.startswith(".. math::"):
            return f"{line}: {latex_to_text(p[len('.. math::'):])}"
        if "f(x) =" in p or "f(0) =" in p:
            return f"{line}: {_first_formula(p[p.index('f('):])}"
    return line


def scipy_equivalent(fam) -> str:
    """The scipy.stats call the docstring names, or what ``to_scipy`` returns where scipy has none."""
    doc = " ".join(_paragraphs(inspect.getdoc(fam) or ""))
    m = re.search(r"scipy\.stats has no (\w+)", doc)
    if m:
        # the docstring names what to_scipy gives instead
        gives = re.search(r"``to_scipy``\s+(?:gives|returns)\s+(?:a\s+)?(?::class:`)?([\w.]+)", doc)
        alt = gives.group(1) if gives else "none"
        if alt.startswith("scipy.stats."):
            alt = _balanced_call(doc, gives.start(1))
        return f"none; `to_scipy()` gives `{alt.removeprefix('scipy.stats.')}`"
    m = re.search(r"scipy\.stats\.\w+\(", doc)
    if not m:
        raise ValueError(f"the docstring of {fam.name} names no scipy.stats equivalent")
    return f"`{_balanced_call(doc, m.start()).removeprefix('scipy.stats.')}`"


def _constraint(c) -> str:
    if str(c) in _CONSTRAINT:
        return _CONSTRAINT[str(c)]
    lo, hi = getattr(c, "lower", None), getattr(c, "upper", None)
    if lo is not None and hi is not None:
        ends = ["π" if abs(v - math.pi) < 1e-12 else "-π" if abs(v + math.pi) < 1e-12 else f"{v:g}" for v in (lo, hi)]
        return f" in ({ends[0]}, {ends[1]})"
    return f" ({c})"


def parameters(fam) -> str:
    out = []
    for name, constraint in fam.params.items():
        out.append(f"`{name}`{_constraint(constraint)}")
    text = ", ".join(out)
    if fam.known:
        known = ", ".join(f"`{k}`" + ("" if v is None else f" (default {v:g})") for k, v in fam.known.items())
        text += f"; given: {known}"
    return text


def _cell(s: str) -> str:
    return s.replace("|", "\\|")


def table() -> str:
    import thetahat

    rows = ["| family | parameters | density | scipy.stats |", "|---|---|---|---|"]
    for fam in thetahat.all_families():
        rows.append(f"| {fam.name} | {_cell(parameters(fam))} | {_cell(density(fam))} | "
                    f"{_cell(scipy_equivalent(fam))} |")
    return "\n".join(rows)


def write(path: str = README) -> None:
    text = open(path, encoding="utf-8").read()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path} has no '{BEGIN}' ... '{END}' block")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{head}{BEGIN}\n{table()}\n{END}{tail}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(ROOT, "src"))
    if sys.argv[1:] == ["--write"]:
        write()
    elif sys.argv[1:]:
        raise SystemExit(__doc__)
    else:
        print(table())
