"""tools/check_private_imports.py against a small package written out by hand, where
the crossings are known."""

import importlib.util
import pathlib
import sys
import textwrap

import pytest

TOOL = pathlib.Path(__file__).resolve().parent.parent / "tools" / "check_private_imports.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("check_private_imports", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def _write(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "src" / "thetahat"
    _write(root, {
        "__init__.py": "from . import _jax\n",
        "_jax.py": "",
        "fitting.py": "def _estimate(): pass\ndef fit(): pass\n__all__ = ['fit']\n",
        "engine/__init__.py": "",
        "engine/_core.py": "def _step(): pass\ndef step(): pass\n",
        "engine/batch.py": """\
            from ._core import _step          # same unit: allowed
            from ..fitting import fit, __all__  # public, dunder: allowed
            from . import _core               # same unit: allowed

            def run():
                from ..fitting import _estimate   # crossing, inside a function
                return _estimate
            """,
        "scale/__init__.py": "",
        "scale/update.py": """\
            from ..engine._core import step     # public name of a private module: allowed
            from ..engine import _core          # crossing: a private submodule
            import thetahat.engine._core        # crossing
            from .. import fitting as F

            def go():
                return F._estimate() + _core._step()  # two crossings by attribute
            """,
    })
    return root


def test_finds_exactly_the_crossings(tool, package):
    found = [(c.path.as_posix(), c.line, c.name, c.module) for c in tool.find_crossings(package)]
    assert found == [
        ("src/thetahat/__init__.py", 1, "_jax", "thetahat"),
        ("src/thetahat/engine/batch.py", 6, "_estimate", "thetahat.fitting"),
        ("src/thetahat/scale/update.py", 2, "_core", "thetahat.engine"),
        ("src/thetahat/scale/update.py", 3, "_core", "thetahat.engine"),
        ("src/thetahat/scale/update.py", 7, "_estimate", "thetahat.fitting"),
        ("src/thetahat/scale/update.py", 7, "_step", "thetahat.engine._core"),
    ]


def test_exit_status_and_baseline(tool, package, capsys):
    assert tool.main(["--root", str(package)]) == 1
    assert "6 private name(s)" in capsys.readouterr().out
    assert tool.main(["--root", str(package), "--max", "6"]) == 0
    assert tool.main(["--root", str(package), "--max", "5"]) == 1
