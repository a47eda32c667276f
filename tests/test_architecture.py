"""docs/architecture.md against the code: owners exist, recipes name real files and tests."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from bayesglm.families import FAMILIES, Family
from bayesglm.links import LINKS, Link
from bayesglm.priors import PRIORS, Prior

from .architecture_page import section, table_rows

ROOT = Path(__file__).resolve().parents[1]
RECIPES = {"Adding a link": "LINKS", "Adding a family": "FAMILIES", "Adding a prior": "PRIORS"}


def _resolve(dotted: str) -> object:
    """The object a dotted name such as ``bayesglm.families.Spec.means_valid`` names."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(dotted)


def _owners() -> list[str]:
    return [
        name
        for row in table_rows("Who owns what")
        for name in re.findall(r"`(bayesglm[\w.]*)`", row[1])
    ]


def test_the_ownership_table_names_owners() -> None:
    owners = _owners()
    assert len(owners) >= 25, owners
    assert all(row[1] for row in table_rows("Who owns what"))


@pytest.mark.parametrize("dotted", _owners())
def test_every_owner_on_the_page_exists(dotted: str) -> None:
    try:
        _resolve(dotted)
    except (ModuleNotFoundError, AttributeError) as error:
        pytest.fail(f"docs/architecture.md names {dotted}, which does not exist ({error})")


def test_the_registries_on_the_page_hold_what_they_say() -> None:
    owners = _owners()
    for registry, kind in ((LINKS, Link), (FAMILIES, Family)):
        assert all(isinstance(value, kind) for value in registry.values())
    assert all(issubclass(cls, Prior) for cls in PRIORS.values())
    for name in ("links.LINKS", "families.FAMILIES", "priors.PRIORS"):
        assert f"bayesglm.{name}" in owners, f"the page does not name the registry {name}"


@pytest.mark.parametrize("title", list(RECIPES))
def test_each_recipe_names_files_that_exist(title: str) -> None:
    paths = re.findall(r"`((?:bayesglm|docs|tests)/[\w./]+)`", section(title))
    assert paths, f"the recipe '{title}' names no file"
    missing = [path for path in paths if not (ROOT / path).exists()]
    assert not missing, f"'{title}' names files that do not exist: {missing}"


@pytest.mark.parametrize(("title", "registry"), RECIPES.items())
def test_each_recipe_names_tests_that_read_its_registry(title: str, registry: str) -> None:
    test_files = set(re.findall(r"`(tests/test_\w+\.py)`", section(title)))
    reading = {path for path in test_files if registry in (ROOT / path).read_text()}
    assert reading, f"'{title}' names no test file that parametrizes over {registry}"


def test_no_module_but_families_type_tests_a_family() -> None:
    # What a family does differently is a method or fact of its class (the page's
    # "who owns what"), never isinstance(family, NegativeBinomial) elsewhere.
    family_classes = {type(family).__name__ for family in FAMILIES.values()}
    offenders = []
    for path in sorted((ROOT / "bayesglm").rglob("*.py")):
        if path.name == "families.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                named = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
                named |= {n.attr for n in ast.walk(node.args[1]) if isinstance(n, ast.Attribute)}
                if named & family_classes:
                    offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, f"type tests of a family outside families.py: {offenders}"
