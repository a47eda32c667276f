"""Package structure: import cost, layering, the demo."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from .architecture_page import layers

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout


# What `import bayesglm` must not load: each name of the package comes from its module
# on first use (bayesglm/__init__.py), so start-up is Python's and nothing more.
HEAVY = ("pandas", "scipy", "formulaic", "pymc", "pytensor", "jax", "arviz", "xarray")
HEAVY += ("matplotlib",)


def _loaded(modules: tuple[str, ...]) -> str:
    return f"print(sorted(m for m in {modules!r} if m in sys.modules))\n"


def test_import_loads_none_of_the_heavy_packages() -> None:
    out = _run("import sys, bayesglm\n" + _loaded(HEAVY) + _loaded(("numpy",)))
    assert out.split("\n")[:2] == ["[]", "[]"]


def test_errors_and_warnings_load_nothing_heavy() -> None:
    out = _run("import sys\nfrom bayesglm.errors import BayesGLMError\n" + _loaded(HEAVY))
    assert out.split("\n")[0] == "[]"


def test_mle_fit_does_not_import_pymc() -> None:
    out = _run(
        "import sys, numpy as np, bayesglm as bg\n"
        "bg.fit_mle(np.ones((3, 1)), [1, 2, 3], family='poisson')\n"
        + _loaded(("pymc", "pytensor", "arviz", "xarray"))
        + "print(bg.load.__module__, bg.compare.__module__)"
    )
    assert out.split("\n")[:2] == ["[]", "bayesglm.results bayesglm.compare"]


# Each costs 50-200 ms at import, paid by every command and first fit (#12).
_MODE_SCRIPTS = {
    "binomial MLE and posterior mode": (
        "x = np.linspace(-1, 1, 20)\n"
        "data = {'x': x, 'k': (x > 0.3) * 1 + (x > 0.9) * 1, 'n': np.full(20, 2)}\n"
        "model = bg.GLM('k ~ x', data=data, family='binomial', trials='n')\n"
        "fit = model.fit_mle(); fit.summary(); fit.conf_int()\n"
        "model._sampling_start(None, True)\n"
    ),
    # The posterior mode's one-dimensional search in log(natural) used scipy's Brent
    # search: 0.05-0.1 s of every warm gaussian, gamma or negative binomial fit.
    "posterior modes of families with a dispersion": (
        "x = np.linspace(-1, 1, 30)\n"
        "for family in ('gaussian', 'gamma', 'negative_binomial'):\n"
        "    y = 1.0 + (np.arange(30) % 5) * (x > 0) + (np.arange(30) % 3)\n"
        "    model = bg.GLM.from_arrays(np.column_stack([np.ones(30), x]), y, family=family)\n"
        "    model._sampling_start(None, True)\n"
    ),
}


@pytest.mark.parametrize("case", list(_MODE_SCRIPTS))
def test_mles_and_posterior_modes_load_no_scipy_stats_or_optimize(case: str) -> None:
    out = _run(
        "import sys, numpy as np, bayesglm as bg\n"
        + _MODE_SCRIPTS[case]
        + _loaded(("scipy.stats", "scipy.optimize"))
    )
    assert out.split("\n")[0] == "[]"


def test_the_fit_command_and_its_result_modules_load_no_scipy_stats_optimize_or_fft() -> None:
    # The modules `bayesglm fit` imports before it samples (the CLI, the result, the
    # report it can write, every method GLM.fit dispatches to): scipy.stats alone cost
    # the command 0.2-0.5 s when the importance sampler imported it at module level,
    # scipy.fft (for one padding length of the ESS's FFT) 15 ms of every warm fit.
    modules = ("cli", "glm", "results", "report", "samplers", "compiled", "importance", "cells")
    out = _run(
        "import sys\n"
        + "".join(f"import bayesglm.{name}\n" for name in modules)
        + _loaded(("scipy.stats", "scipy.optimize", "scipy.fft"))
    )
    assert out.split("\n")[0] == "[]"


def test_each_public_name_resolves_to_its_module() -> None:
    import importlib

    import bayesglm as bg

    assert sorted(bg._EXPORTS) == sorted(bg.__all__)
    for name, module in bg._EXPORTS.items():
        assert getattr(bg, name) is getattr(importlib.import_module(f"bayesglm.{module}"), name)
        assert name in dir(bg), name
    # What type checkers see is what runs: the TYPE_CHECKING imports name the same
    # modules as the table __getattr__ reads.
    tree = ast.parse((ROOT / "bayesglm" / "__init__.py").read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and _is_type_checking(n))
    typed = {
        alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert typed == bg._EXPORTS


def test_a_name_that_is_also_a_module_stays_the_function() -> None:
    # Loading bayesglm.compare (as results does) binds the submodule to the package's
    # attribute of that name; bg.compare must remain the function.
    out = _run(
        "import bayesglm as bg, bayesglm.results, bayesglm.compare\n"
        "from bayesglm import compare\n"
        "print(callable(bg.compare), bg.compare is compare, bg.compare.__module__)"
    )
    assert out.split("\n")[0] == "True True bayesglm.compare"


# The package's layers, lowest first, as the layer table of docs/architecture.md declares
# them (the page is the rule): a new module is one more name in its layer's row there.
LAYERS = layers()
PACKAGE = ROOT / "bayesglm"


def _modules() -> dict[str, list[Path]]:
    """Each module of the package by name (a subpackage counts as one module)."""
    modules = {path.stem: [path] for path in PACKAGE.glob("*.py")}
    for init in PACKAGE.glob("*/__init__.py"):
        modules[init.parent.name] = sorted(init.parent.rglob("*.py"))
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(path: Path, modules: set[str], root: Path = ROOT) -> set[str]:
    """The package's modules that the file at ``path`` imports, anywhere in it except
    in ``if TYPE_CHECKING:`` blocks; the package itself is ``__init__``."""
    package = path.relative_to(root).parent.parts  # ("bayesglm",) or ("bayesglm", "datasets")
    targets: set[tuple[str, ...]] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                targets.update(tuple(alias.name.split(".")) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = package[: len(package) - child.level + 1] if child.level else ()
                module = (*base, *(child.module.split(".") if child.module else ()))
                # `from bayesglm import results` imports a module, `... import GLM` the package
                targets.update((*module, alias.name) for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    found = set()
    for target in targets:
        if target[0] == "bayesglm":
            found.add(target[1] if len(target) > 1 and target[1] in modules else "__init__")
    return found


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: set().union(*(_imported(path, set(modules)) for path in paths)) - {name}
        for name, paths in modules.items()
    }


def _layer_of() -> dict[str, int]:
    return {module: rank for rank, names in enumerate(LAYERS.values()) for module in names}


def test_every_module_is_in_exactly_one_layer() -> None:
    listed = [module for names in LAYERS.values() for module in names]
    modules = set(_modules())
    unplaced = sorted(modules - set(listed))
    assert not unplaced, (
        f"module(s) in no layer: {', '.join(unplaced)}; add each name to the line of the "
        "layer it belongs to in the layer table of docs/architecture.md: a module imports only "
        "from its own layer or a lower one."
    )
    missing = set(listed) - modules
    assert not missing, f"docs/architecture.md places modules that do not exist: {missing}"
    assert len(listed) == len(set(listed)), "a module is in two layers of docs/architecture.md"


def test_modules_import_only_from_their_own_layer_or_lower() -> None:
    layer_of, names = _layer_of(), list(LAYERS)
    upward = [
        f"bayesglm.{module} ({names[layer_of[module]]}) imports bayesglm.{target} "
        f"({names[layer_of[target]]})"
        for module, targets in sorted(_import_graph().items())
        for target in sorted(targets)
        if module in layer_of and target in layer_of and layer_of[target] > layer_of[module]
    ]
    rule = "imports from a higher layer (see the layer table of docs/architecture.md):\n"
    assert not upward, rule + "\n".join(upward)


def test_the_import_graph_has_no_cycle() -> None:
    graph = _import_graph()
    done: set[str] = set()

    def cycle_from(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for target in sorted(graph[module]):
            found = cycle_from(target, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = cycle_from(module, [])
        assert cycle is None, "an import cycle: " + " -> ".join(cycle)


def test_the_layering_check_sees_lazy_imports_and_skips_type_checking_ones(tmp_path) -> None:
    source = tmp_path / "bayesglm" / "probe.py"
    source.parent.mkdir()
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import errors\n"
        "if TYPE_CHECKING:\n"
        "    from .results import GLMResult\n"
        "def f():\n"
        "    from .report import write_report\n"
        "    import bayesglm.plots\n"
        "    from bayesglm import GLM\n"
    )
    found = _imported(source, {"errors", "results", "report", "plots"}, root=tmp_path)
    assert found == {"errors", "report", "plots", "__init__"}


def test_demo_runs_end_to_end(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bayesglm.demo", str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert (tmp_path / "bayesglm_demo_report.html").stat().st_size > 50_000
    assert "Report written to" in out
    assert "Age at which half have reached menarche: 13.0" in out
    assert "Maximum likelihood vs posterior:" in out
    assert "all checks passed" in out
