"""One word, one thing: "dispersion" and ``phi`` are the GLM's φ only; a family's own
parameter of spread (``sigma``, ``shape``, ``lam``, ``alpha``) is its natural parameter
(the vocabulary is defined in the docstring of :class:`bayesglm.families.Family`)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from bayesglm.families import FAMILIES, Family
from bayesglm.mle import MLEResult
from bayesglm.priors import ResolvedPriors
from bayesglm.results import GLMResult

PACKAGE = Path(__file__).resolve().parents[1] / "bayesglm"

# Where the word still means φ: MLEResult.dispersion (R's summary.glm()$dispersion)
# and the modules that compute or print it. The prior key "dispersion" and the saved
# file's keys are strings, not names, and are not checked here.
PHI_MODULES = {"mle.py", "mle_assembly.py"}  # may name locals and helpers after φ

# PyMC's keyword where it differs from the natural parameter's name.
PYMC_KEYWORD = {"shape": "alpha"}  # the gamma's shape is PyMC's alpha


# The natural parameter and the PyMC likelihood: facts of the families with a likelihood.
WITH_LIKELIHOOD = [family for family in FAMILIES.values() if family.has_likelihood]


@pytest.mark.parametrize("family", WITH_LIKELIHOOD, ids=str)
def test_phi_and_natural_from_phi_are_inverse(family: Family) -> None:
    for phi in (0.25, 1.0, 4.0):
        natural = family.natural_from_phi(phi)
        if family.free_phi:
            assert family.natural_param is not None
            assert family.phi(natural) == pytest.approx(phi, rel=1e-14)
        else:  # phi is 1, whatever the natural parameter (the negative binomial's theta)
            assert natural is None
            assert family.phi(2.0) == 1.0


@pytest.mark.parametrize("family", WITH_LIKELIHOOD, ids=str)
def test_natural_param_is_what_the_pymc_likelihood_takes(family: Family) -> None:
    value = 2.5
    mu = np.array([0.3, 0.6])
    trials = np.array([3.0, 4.0]) if family.has_trials else None
    _, kwargs = family.pymc_likelihood(mu, value, trials)
    if family.natural_param is None:
        assert all(v is not value for v in kwargs.values())
        return
    keyword = PYMC_KEYWORD.get(family.natural_param, family.natural_param)
    assert kwargs[keyword] is value, f"{family} passes its natural parameter as {keyword}"


@pytest.mark.parametrize("family", WITH_LIKELIHOOD, ids=str)
def test_with_natural_sets_what_the_family_holds(family: Family) -> None:
    held = family.with_natural(3.0)
    if family.natural_in_variance:  # the negative binomial's theta
        assert held.known_natural == 3.0 and not held.estimates_natural
        assert family.known_natural is None and family.estimates_natural
    else:
        assert held is family and family.known_natural is None
        assert family.estimates_natural == family.free_phi


def test_no_member_is_called_dispersion_except_phi() -> None:
    for cls in (Family, ResolvedPriors, GLMResult, *map(type, FAMILIES.values())):
        assert [name for name in dir(cls) if "dispersion" in name.lower()] == [], cls
    assert "dispersion" in MLEResult.__dataclass_fields__


def _names(node: ast.AST) -> list[tuple[str, str]]:
    """(kind, identifier) of every name the node introduces or reads."""
    if isinstance(node, ast.Attribute):
        return [("attribute", node.attr)]
    if isinstance(node, ast.Name):
        return [("name", node.id)]
    if isinstance(node, ast.arg):
        return [("parameter", node.arg)]
    if isinstance(node, ast.keyword) and node.arg:
        return [("keyword", node.arg)]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [("definition", node.name)]
    return []


def test_no_module_names_the_natural_parameter_dispersion() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for kind, name in _names(node):
                if "dispersion" not in name.lower():
                    continue
                if kind == "attribute" and name == "dispersion":
                    owner = ast.unparse(node.value)  # type: ignore[attr-defined]
                    if owner.endswith("mle") or (owner == "self" and path.name == "mle.py"):
                        continue  # MLEResult.dispersion, R's phi
                elif path.name in PHI_MODULES:
                    continue
                found.append(f"{path.name}:{node.lineno} {kind} {name}")  # type: ignore[attr-defined]
    assert found == [], "'dispersion' is phi only; the family's own parameter is 'natural'"
