"""A prior class carries everything about itself: adding one is one class in
bayesglm/priors.py, its rows in the docs and one test row (tests/test_prior_moments.py).

The registry PRIORS is what the package namespace, the command line, the PyMC models,
the displays and saved fits read; a prior class defined in a test, and registered
only there, goes through all of them without another file knowing it.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from scipy import stats

import bayesglm as bg
from bayesglm.cli import parse_prior
from bayesglm.priors import PRIORS, CoefPrior, PositivePrior

from .stand_in_nutpie import python_nutpie

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


# --- every registered prior: exported, documented, spelled ------------------------------------


@pytest.mark.parametrize("cls", list(PRIORS.values()), ids=list(PRIORS))
def test_every_prior_is_exported_at_the_top_level(cls: type) -> None:
    # Exported by name in bayesglm/__init__.py, so that type checkers see bg.<Name>.
    where = (
        f"add {cls.__name__} to the TYPE_CHECKING prior imports, __all__ and _EXPORTS of "
        "bayesglm/__init__.py"
    )
    assert getattr(bg, cls.__name__, None) is cls, where
    assert cls.__name__ in bg.__all__, where


def _signature(cls: type) -> str:
    """How docs/priors.md shows a class: ``bg.Name(field=default, ...)``."""
    args = ", ".join(f"{f.name}={f.default:g}" for f in fields(cls))
    return f"`bg.{cls.__name__}({args})`"


@pytest.mark.parametrize("cls", list(PRIORS.values()), ids=list(PRIORS))
def test_every_prior_has_its_row_in_the_priors_page(cls: type) -> None:
    text = (DOCS / "priors.md").read_text(encoding="utf-8")
    coefficients, positive = text.split("**On the natural parameter**", 1)
    table = positive if issubclass(cls, PositivePrior) else coefficients
    rows = [line for line in table.splitlines() if line.startswith(f"| {_signature(cls)} |")]
    assert len(rows) == 1, f"docs/priors.md needs the row | {_signature(cls)} | ... |"


@pytest.mark.parametrize("cls", list(PRIORS.values()), ids=list(PRIORS))
def test_every_prior_has_its_row_in_the_command_line_page(cls: type) -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    cells = [line.strip("|").split("|") for line in text.splitlines() if line.startswith("|")]
    rows = [row for row in cells if row[-1].strip().startswith(f"`bg.{cls.__name__}`")]
    first, *others = cls.cli_names
    usage = f"`{first}({', '.join(f.name for f in fields(cls))})`"
    assert len(rows) == 1, f"docs/cli.md needs the row | {usage} ... | `bg.{cls.__name__}` |"
    assert rows[0][0].strip().startswith(usage), rows[0]
    for spelling in others:
        assert f"`{spelling}`" in rows[0][0], (spelling, rows[0])


def test_every_command_line_spelling_names_one_prior() -> None:
    spellings = [name for cls in PRIORS.values() for name in cls.cli_names]
    assert len(spellings) == len(set(spellings))
    assert all(name == name.lower() for name in spellings)


def _prior_classes_named(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Prior classes a module imports from bayesglm.priors or reads off that module."""
    module_names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("priors"):
            yield from ((node.lineno, a.name) for a in node.names if a.name in PRIORS)
        if isinstance(node, ast.ImportFrom | ast.Import):
            for alias in node.names:
                if alias.name.endswith("priors"):
                    module_names.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and ast.unparse(node.value) in module_names
            and node.attr in PRIORS
        ):
            yield node.lineno, node.attr


def test_no_module_but_priors_names_a_prior_class() -> None:
    # What a prior does differently is a method of its class, never a type test
    # (isinstance(prior, Fixed)) or an import of the class elsewhere.
    offenders = [
        f"{path.name}:{line}: {name}"
        for path in sorted((ROOT / "bayesglm").rglob("*.py"))
        if path.name not in ("priors.py", "__init__.py")  # __init__ re-exports them by name
        for line, name in _prior_classes_named(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not offenders, offenders


# --- a new prior, end to end ------------------------------------------------------------------


@pytest.fixture
def new_priors() -> Iterator[tuple[type, type]]:
    """A coefficient prior and a prior on a positive parameter defined here, registered only
    for the test: nothing but these class bodies describes them."""

    @dataclass(frozen=True)
    class Logistic(CoefPrior):
        """Logistic with location ``mu`` and scale ``s``."""

        mu: float = 0.0
        s: float = 1.0
        pymc_name: ClassVar[str] = "Logistic"
        cli_names: ClassVar[tuple[str, ...]] = ("logistic",)

        @property
        def mean(self) -> float:
            return float(self.mu)

        @property
        def sd(self) -> float:
            return self.s * math.pi / math.sqrt(3.0)

        def logpdf(self, x):
            return stats.logistic.logpdf(x, self.mu, self.s)

        def grad(self, x):
            return -np.tanh((x - self.mu) / (2 * self.s)) / self.s

        def hess(self, x):
            return -0.5 / (self.s * np.cosh((x - self.mu) / (2 * self.s))) ** 2

    @dataclass(frozen=True)
    class LogNormal(PositivePrior):
        """Log-normal: log of the parameter is Normal(``mu``, ``sigma``)."""

        mu: float = 0.0
        sigma: float = 1.0
        pymc_name: ClassVar[str] = "LogNormal"
        cli_names: ClassVar[tuple[str, ...]] = ("log_normal", "lognormal")

        @property
        def mean(self) -> float:
            return math.exp(self.mu + self.sigma**2 / 2)

        @property
        def sd(self) -> float:
            return self.mean * math.sqrt(math.expm1(self.sigma**2))

        @property
        def log_sd(self) -> float:
            return float(self.sigma)

        def logpdf(self, x):
            return stats.lognorm.logpdf(x, self.sigma, scale=math.exp(self.mu))

    try:
        yield Logistic, LogNormal
    finally:
        del PRIORS["Logistic"], PRIORS["LogNormal"]


def test_a_prior_class_alone_works_end_to_end(new_priors, tmp_path) -> None:
    from bayesglm.laplace import laplace_approx
    from bayesglm.model import build_sampling_model
    from bayesglm.sampling_data import reduce_data

    Logistic, LogNormal = new_priors
    # The command line reads its spellings.
    assert parse_prior("x=logistic(0.5, 2)") == ("x", Logistic(0.5, 2.0))
    assert parse_prior("dispersion=LogNormal(0, 0.8)") == ("dispersion", LogNormal(0.0, 0.8))

    rng = np.random.default_rng(2)
    x = rng.normal(size=30)
    X = np.column_stack([np.ones(30), x])
    y = 1.0 + 0.5 * x + rng.normal(scale=0.7, size=30)
    model = bg.GLM.from_arrays(X, y, family="gaussian", names=["Intercept", "x"])
    priors = {"x": Logistic(0.5, 2.0), "dispersion": LogNormal(0.0, 0.8)}
    resolved = model.resolve_priors(priors)
    # Its display.
    table = resolved.table()
    assert table.loc["x", "prior"] == "Logistic(0.5, 2)"
    assert table.loc["sigma", "prior"] == "LogNormal(0, 0.8)"

    # The generative model: the log density at a point is scipy's.
    generative = model.build(priors)
    point = {"Intercept_centered": 0.3, "x": -1.2, "sigma_log__": math.log(1.7)}
    priors_only = generative.compile_logp(
        vars=[generative["x"], generative["sigma"]], jacobian=False, sum=False
    )(point)
    np.testing.assert_allclose(
        priors_only,
        [stats.logistic.logpdf(-1.2, 0.5, 2.0), stats.lognorm.logpdf(1.7, 0.8)],
        rtol=1e-9,
        atol=1e-8,  # PyMC adds some constants with float32 rounding
    )

    # The sampling model: its prior terms at the mode are the classes' own densities.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mle = model.fit_mle()
    laplace = laplace_approx(model.design, model.spec, resolved, mle)
    sampling = build_sampling_model(
        model.design, model.spec, resolved, laplace, reduce_data(model.design, model.spec)
    )
    terms = sampling.compile_fn(
        sampling.replace_rvs_by_values([sampling["coef_prior"], sampling["natural_prior"]]),
        inputs=sampling.value_vars,
    )
    coef_term, dispersion_term = terms({"z": np.zeros(laplace.mode.size)})
    args = resolved.centering @ laplace.mode[:2]
    expected = sum(prior.logpdf(args[j]) for j, prior in enumerate(resolved.coef.values()))
    np.testing.assert_allclose(coef_term, expected, rtol=1e-9, atol=1e-8)
    log_sigma = laplace.mode[2]
    np.testing.assert_allclose(
        dispersion_term, stats.lognorm.logpdf(np.exp(log_sigma), 0.8) + log_sigma, rtol=1e-9
    )

    # A fit (on the quick stand-in sampler), its tables, and a saved fit loaded back.
    with python_nutpie(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(priors, draws=30, tune=30, chains=1, seed=3, sampler="nutpie")
    assert np.isfinite(fit.compare_mle().loc[["x", "sigma"], "sd_ratio"]).all()
    path = tmp_path / "fit.nc"
    fit.save(path)
    loaded = bg.load(path)
    assert loaded.priors.coef == fit.priors.coef
    assert loaded.priors.natural == LogNormal(0.0, 0.8)
    assert str(loaded.priors) == str(fit.priors)
