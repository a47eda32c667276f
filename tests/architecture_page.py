"""Reading docs/architecture.md: its layer table is the rule tests/test_package.py enforces."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def section(title: str) -> str:
    """The text of the ``## title`` section of the page."""
    text = PAGE.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"docs/architecture.md has no section '## {title}'"
    return match.group(1)


def table_rows(title: str) -> list[list[str]]:
    """The body rows of the first table in a section, as lists of stripped cells."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section(title).splitlines()
        if line.startswith("|")
    ]
    return rows[2:]  # past the header and its rule


def layers() -> dict[str, list[str]]:
    """Layer name -> its modules, lowest layer first, as the page's layer table says."""
    return {row[0]: row[1].replace("\\_", "_").split() for row in table_rows("Layers")}
