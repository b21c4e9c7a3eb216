"""README.md: its table of families against the registry, and its length.

The table is parsed from the README itself and compared with ``thetahat.all_families()``: the same
family names, each with the same estimated parameters in the same order, and a scipy.stats
distribution that exists. ``tools/families_table.py --write`` regenerates the table.
"""

import re
from pathlib import Path

import pytest
from scipy import stats

import thetahat

README = Path(__file__).resolve().parent.parent / "README.md"
MAX_LINES = 200


def _table_rows(text: str) -> dict:
    """``{family: (parameter names, scipy cell)}`` from the README's families table."""
    begin = text.index("<!-- families table: begin")
    end = text.index("<!-- families table: end -->")
    lines = [ln for ln in text[begin:end].splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["family", "parameters", "density", "scipy.stats"], header
    rows = {}
    for ln in lines[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", ln.strip().strip("|"))]
        assert len(cells) == 4, ln
        name, params, _, scipy_cell = cells
        estimated = params.split("; given:")[0]
        assert name not in rows, f"{name} is listed twice"
        rows[name] = (re.findall(r"`([^`]+)`", estimated), scipy_cell)
    return rows


def test_readme_lists_every_registered_family_with_its_parameters():
    rows = _table_rows(README.read_text(encoding="utf-8"))
    registry = {fam.name: list(fam.params) for fam in thetahat.all_families()}
    assert sorted(rows) == sorted(registry), (
        f"missing from the README: {sorted(set(registry) - set(rows))}; "
        f"not registered: {sorted(set(rows) - set(registry))}")
    for name, (params, _) in rows.items():
        assert params == registry[name], f"{name}: README says {params}, the family has {registry[name]}"


def test_readme_scipy_equivalents_exist():
    rows = _table_rows(README.read_text(encoding="utf-8"))
    for name, (_, cell) in rows.items():
        if cell.startswith("none"):
            continue  # scipy.stats has no such law (categorical, zip): the cell says what to_scipy gives
        dist = re.match(r"`(\w+)\(", cell)
        assert dist, f"{name}: no scipy.stats call in {cell!r}"
        assert hasattr(stats, dist.group(1)), f"{name}: scipy.stats has no {dist.group(1)!r}"


@pytest.mark.parametrize("mutation", ["drop a row", "rename a parameter"])
def test_the_check_fails_on_a_wrong_table(mutation):
    text = README.read_text(encoding="utf-8")
    row = re.search(r"^\| gamma \|.*$", text, flags=re.M).group(0)
    if mutation == "drop a row":
        bad = text.replace(row + "\n", "")
    else:
        bad = text.replace(row, re.sub(r"`[^`]+`", "`not_a_parameter`", row, count=1))
    assert bad != text
    rows = _table_rows(bad)
    registry = {fam.name: list(fam.params) for fam in thetahat.all_families()}
    assert {k: v[0] for k, v in rows.items()} != registry


def test_readme_is_at_most_200_lines():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"README.md has {n} lines; the front door stays at {MAX_LINES} or fewer"

