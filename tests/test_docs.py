"""The documentation site: it builds with ``mkdocs build --strict``, its reference tables
match the registries, and (slow) every Python example in it runs."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import bayesglm as bg

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FAMILIES_PAGE = DOCS / "families-and-links.md"
TABLE_START = "<!-- family-link-table:start -->"
TABLE_END = "<!-- family-link-table:end -->"


def _cells(line: str) -> list[str]:
    """The cells of a Markdown pipe-table row, stripped, backticks removed."""
    return [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]


def _family_link_table() -> tuple[list[str], dict[str, list[str]]]:
    text = FAMILIES_PAGE.read_text(encoding="utf-8")
    assert TABLE_START in text and TABLE_END in text, "table markers missing"
    block = text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
    lines = [line for line in block.strip().splitlines() if line.strip()]
    header = _cells(lines[0])
    assert header[0] == "family"
    assert set(lines[1].replace("|", "").strip()) <= {"-", ":", " "}, "no separator row"
    rows = {(cells := _cells(line))[0]: cells[1:] for line in lines[2:]}
    return header[1:], rows


def _expected_cell(family: bg.Family, link: str) -> str:
    if link == family.canonical_link:
        return "**canonical**"
    return "✓" if link in family.links else ""


def test_family_link_table_matches_registries():
    links, rows = _family_link_table()
    assert links == list(bg.LINKS), "columns must be the links of bg.LINKS, in order"
    assert list(rows) == list(bg.FAMILIES), "rows must be the families of bg.FAMILIES, in order"
    for name, family in bg.FAMILIES.items():
        expected = [_expected_cell(family, link) for link in links]
        assert rows[name] == expected, f"row {name!r} of the family x link table is stale"


def test_link_formulas_on_the_page_match_the_registry():
    text = FAMILIES_PAGE.read_text(encoding="utf-8")
    for name, link in bg.LINKS.items():
        label = link.effect_label or "none"
        pattern = rf"\| `{re.escape(name)}` \| `{re.escape(link.formula)}` \|.*\| `?{label}`?"
        assert re.search(pattern, text), f"the links table row for {name!r} is stale"


def test_mkdocs_build_strict(tmp_path):
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]' or make docs)")
    site = tmp_path / "site"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(site),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING" not in run.stderr, run.stderr
    for page in ("index.html", "api/index.html", "families-and-links/index.html"):
        assert (site / page).is_file(), page
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for anchor in ("bayesglm.GLM", "bayesglm.fit_mle", "bayesglm.MLEResult"):
        assert f'id="{anchor}"' in api, f"API reference lacks {anchor}"


def _python_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), re.M | re.S)


PAGES_WITH_CODE = sorted(p.name for p in DOCS.glob("*.md") if _python_blocks(p))


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES_WITH_CODE)
def test_python_examples_run(page, tmp_path, monkeypatch):
    """Every ```python block of a page runs, in order, in one namespace (files in tmp)."""
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page}"}
    for number, block in enumerate(_python_blocks(DOCS / page), start=1):
        code = compile(block, f"{page} block {number}", "exec")
        exec(code, namespace)
