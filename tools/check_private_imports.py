"""List private names that one part of thetahat takes from another.

A *unit* is the first directory under ``src/thetahat/`` (``engine``, ``families``, ...);
each top-level module (``fitting.py``, ``result.py``, ...) is a unit of its own. A private
name (one leading underscore, not a dunder) may be imported from a sibling module of the
same unit, but not from another unit: a name two units share belongs one layer down,
public.

Counted, in every file under ``src/thetahat`` and at any depth (module level or inside a
function):

* ``from X import _name`` where ``X`` lies in another unit (``_name`` may be a function,
  a constant or a private submodule);
* ``import thetahat.a._b`` where the private part lies in another unit;
* ``alias._name`` where ``alias`` is bound by an import to a module of another unit.

Importing a public name from a private module (``from ..families._base import Family``)
is not counted.

Usage::

    python tools/check_private_imports.py [--max N] [--root src/thetahat]

Prints each crossing as ``file:line name from module``, then the count; exits 1 when
the count is above ``--max`` (default 0).
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import sys
from dataclasses import dataclass

PACKAGE = "thetahat"


def is_private(name: str) -> bool:
    """True for ``_name``; false for public names and dunders (``__all__``)."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@dataclass(frozen=True)
class Crossing:
    """One private name taken across units."""

    path: pathlib.Path
    line: int
    name: str
    module: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.name} from {self.module}"


class Package:
    """The modules under ``root`` (the directory of the ``thetahat`` package)."""

    def __init__(self, root: pathlib.Path):
        self.root = root

    def module_of(self, path: pathlib.Path) -> str:
        """Dotted module name of a file: ``thetahat.engine.batch``, ``thetahat.engine``."""
        parts = list(path.relative_to(self.root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join([PACKAGE, *parts])

    def is_package(self, path: pathlib.Path) -> bool:
        return path.name == "__init__.py"

    def is_module(self, dotted: str) -> bool:
        """Whether ``dotted`` names a module or package inside ``root``."""
        rel = pathlib.Path(*dotted.split(".")[1:]) if "." in dotted else pathlib.Path()
        base = self.root / rel
        return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()

    @staticmethod
    def unit_of(dotted: str) -> str | None:
        """The unit of a module: ``thetahat.engine.batch`` -> ``engine``; ``thetahat.fitting``
        -> ``fitting``; the package itself -> ``__init__``; outside thetahat -> None."""
        parts = dotted.split(".")
        if parts[0] != PACKAGE:
            return None
        return parts[1] if len(parts) > 1 else "__init__"

    def resolve(self, path: pathlib.Path, module: str | None, level: int) -> str:
        """The absolute module of ``from <level dots><module> import ...`` in ``path``."""
        if level == 0:
            return module or ""
        here = self.module_of(path).split(".")
        if not self.is_package(path):
            here = here[:-1]  # a plain module's relative imports start at its package
        base = here[: len(here) - (level - 1)]
        return ".".join(base + ([module] if module else []))


class Checker(ast.NodeVisitor):
    """Collects the crossings of one file."""

    def __init__(self, pkg: Package, path: pathlib.Path, shown: pathlib.Path):
        self.pkg = pkg
        self.path = path
        self.shown = shown
        self.unit = pkg.unit_of(pkg.module_of(path))
        self.aliases: dict[str, str] = {}  # local name -> module of another unit
        self.found: list[Crossing] = []

    def _foreign(self, dotted: str) -> bool:
        unit = self.pkg.unit_of(dotted)
        return unit is not None and unit != self.unit

    def _add(self, node: ast.AST, name: str, module: str) -> None:
        self.found.append(Crossing(self.shown, node.lineno, name, module))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = self.pkg.resolve(self.path, node.module, node.level)
        for alias in node.names:
            target = f"{source}.{alias.name}"
            is_mod = self.pkg.is_module(target)
            # a submodule's unit is its own (``from . import grouped`` in a top-level module)
            owner = target if is_mod else source
            if is_private(alias.name) and self._foreign(owner):
                self._add(node, alias.name, source)
            if is_mod and self._foreign(target):
                self.aliases[alias.asname or alias.name] = target
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            parts = alias.name.split(".")
            for i, part in enumerate(parts[1:], start=1):
                owner = ".".join(parts[: i + 1])
                if is_private(part) and self._foreign(owner):
                    self._add(node, part, ".".join(parts[:i]))
                    break
            if alias.asname and self._foreign(alias.name):
                self.aliases[alias.asname] = alias.name
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and node.value.id in self.aliases and is_private(node.attr):
            self._add(node, node.attr, self.aliases[node.value.id])
        self.generic_visit(node)


def _shown(path: pathlib.Path, root: pathlib.Path) -> pathlib.Path:
    """``path`` as printed: relative to the repository (the directory above ``src/``)."""
    try:
        return path.relative_to(root.resolve().parent.parent)
    except ValueError:
        return path


def find_crossings(root: pathlib.Path) -> list[Crossing]:
    """Every crossing in the files under ``root`` (the ``thetahat`` package directory)."""
    pkg = Package(root)
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        checker = Checker(pkg, path, _shown(path, root))
        # first pass: the module aliases bound anywhere in the file (an import inside a
        # function may follow the code that uses its name); second pass: the crossings
        checker.visit(tree)
        checker.found.clear()
        checker.visit(tree)
        found.extend(checker.found)
    return sorted(set(found), key=lambda c: (str(c.path), c.line, c.name))


def main(argv: list[str] | None = None) -> int:
    default_root = pathlib.Path(__file__).resolve().parent.parent / "src" / PACKAGE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=0, help="crossings allowed (a baseline); default 0")
    parser.add_argument("--root", type=pathlib.Path, default=default_root, help="the thetahat package directory")
    args = parser.parse_args(argv)
    found = find_crossings(args.root)
    for crossing in found:
        print(crossing)
    print(f"{len(found)} private name(s) imported across units (allowed: {args.max})")
    return 1 if len(found) > args.max else 0


if __name__ == "__main__":
    sys.exit(main())
