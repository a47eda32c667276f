"""Compile the precompiled engine's programs ahead of time, as rstanarm does at install.

A program serves every fit of one structure (:class:`bayesglm.compiled.Structure`):
family, link, the number of response levels of a categorical or cumulative outcome,
prior classes, number of coefficients, rows rounded up to a bucket, and the run's
settings. :func:`warm_up` builds the programs of the common structures — each family
with its canonical link (or the links asked for), the default priors, an intercept and
up to ``max_p - 1`` predictors, each row bucket up to ``max_rows``, and for the
families of categorical outcomes each number of levels asked for — from small
simulated datasets, and stores them in the cache folder. The fits it prepares are
thrown away: only the programs, which do not depend on the numbers, stay.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .category_families import CATEGORY_FAMILIES
from .errors import BayesGLMError
from .families import FAMILIES
from .glm import GLM
from .links import LINKS
from .sampling_data import MIN_BUCKET, row_bucket

if TYPE_CHECKING:
    from .compiled import EnginePlan

__all__ = ["WarmedProgram", "warm_up"]

LEVELS = (3, 4, 5)
"""Response levels :func:`warm_up` compiles a categorical or cumulative family for."""


@dataclass(frozen=True)
class WarmedProgram:
    """One structure :func:`warm_up` went through."""

    family: str
    link: str
    p: int  # coefficients of the linear predictor (cumulative: its cutpoints left out)
    rows: int  # the row bucket; 0 where fits run on sufficient statistics
    origin: str  # "built" (compiled and stored now), "loaded" or "reused" (already there)
    seconds: float
    levels: int = 0  # response levels of a categorical outcome; 0 for the other families

    def __str__(self) -> str:
        levels = f", {self.levels} levels" if self.levels else ""
        rows = f"rows <= {self.rows}" if self.rows else "any rows"
        done = "compiled and stored" if self.origin == "built" else "already stored"
        return (
            f"{self.family} ({self.link}){levels}, p = {self.p}, {rows}: {done} "
            f"({self.seconds:.1f} s)"
        )


@dataclass(frozen=True)
class _Shape:
    """A structure to compile, as the dataset that has it: ``columns`` of the model
    matrix (an intercept and ``columns - 1`` predictors), ``rows`` rows and, for a
    categorical outcome, ``levels`` response levels (0 for the other families)."""

    family: str
    link: str
    columns: int
    rows: int
    levels: int


def warm_up(
    families: Sequence[str] | None = None,
    *,
    links: Sequence[str] | None = None,
    max_p: int = 6,
    max_rows: int = 1024,
    levels: Sequence[int] = LEVELS,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.8,
    report: Callable[[WarmedProgram], None] | None = None,
) -> list[WarmedProgram]:
    """Build and store the compiled engine's programs of the common structures.

    Parameters
    ----------
    families : sequence of str, optional
        Family names, ``categorical`` and ``cumulative`` included (default: every
        family with a likelihood).
    links : sequence of str, optional
        Links to compile for each family that allows them (default: its canonical link).
    max_p : int
        Programs for an intercept and 0 to ``max_p - 1`` predictors: 1 to ``max_p``
        coefficients (a cumulative outcome's cutpoints take the intercept's place,
        so its programs have 0 to ``max_p - 1``).
    max_rows : int
        Programs for every row bucket up to the one holding ``max_rows`` rows.
    levels : sequence of int
        Numbers of response levels to compile the ``categorical`` and ``cumulative``
        families for (default 3, 4 and 5); the other families ignore it.
    draws, tune, chains, target_accept
        The run settings the programs are for, as :meth:`bayesglm.GLM.fit` takes them
        (a fit with other settings needs a program of its own).
    report : callable, optional
        Called with each :class:`WarmedProgram` as it is done (progress).

    Returns
    -------
    list of WarmedProgram

    Examples
    --------
    >>> done = warm_up(["poisson"], max_p=1, max_rows=64, draws=20, tune=20, chains=1)
    >>> [(w.family, w.p, w.rows) for w in done]
    [('poisson', 1, 64)]
    """
    if families is None:  # a quasi-family has no posterior, so no program to compile
        names = [name for name, family in FAMILIES.items() if family.has_likelihood]
        names += list(CATEGORY_FAMILIES)
    else:
        names = list(families)
    unknown = [name for name in names if name not in FAMILIES and name not in CATEGORY_FAMILIES]
    if unknown:
        raise BayesGLMError(
            f"unknown family; the families are {', '.join([*FAMILIES, *CATEGORY_FAMILIES])}; "
            f"got (families={unknown!r})."
        )
    for name, value in (("max_p", max_p), ("max_rows", max_rows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BayesGLMError(f"{name} must be an integer >= 1; got ({name}={value!r}).")
    fewest = min(family.min_levels for family in CATEGORY_FAMILIES.values())
    levels = list(levels)
    if not levels or any(
        isinstance(K, bool) or not isinstance(K, int) or K < fewest for K in levels
    ):
        raise BayesGLMError(
            f"levels must be integers >= {fewest} (a categorical or cumulative outcome's "
            f"response levels); got (levels={levels!r})."
        )
    run = {"draws": draws, "tune": tune, "chains": chains, "target_accept": target_accept}
    done = []
    seen = set()
    for shape in _structures(names, links, max_p, max_rows, levels):
        start = time.perf_counter()
        prepared = _prepare(shape, run)
        if prepared.structure in seen:
            continue  # merged rows, sufficient statistics: one program for many shapes
        seen.add(prepared.structure)
        warmed = WarmedProgram(
            shape.family,
            shape.link,
            prepared.structure.p,
            prepared.structure.n_bucket,
            prepared.origin,
            time.perf_counter() - start,
            prepared.structure.levels,
        )
        done.append(warmed)
        if report is not None:
            report(warmed)
    return done


def _structures(
    names: Sequence[str],
    links: Sequence[str] | None,
    max_p: int,
    max_rows: int,
    levels: Sequence[int],
) -> Iterator[_Shape]:
    """Every shape to compile: family x link x levels x columns x row bucket."""
    buckets = []
    rows = MIN_BUCKET
    while True:
        buckets.append(rows)
        if rows >= row_bucket(max_rows):
            break
        rows = row_bucket(rows + 1)
    for name in names:
        # The number of levels is part of a categorical outcome's structure only.
        family: Any = CATEGORY_FAMILIES.get(name) or FAMILIES[name]
        counts = levels if name in CATEGORY_FAMILIES else (0,)
        wanted = [family.canonical_link] if links is None else links
        for link in (link for link in wanted if link in family.links):
            for K in counts:
                for columns in range(1, max_p + 1):
                    for rows in buckets:
                        yield _Shape(name, link, columns, rows, K)


def _prepare(shape: _Shape, run: dict[str, Any]):
    """The program of one structure (built and stored, or found) and its executable
    for this machine, made from a simulated dataset of that structure."""
    from .compiled import prepare_plan

    X, y, trials = _simulated(shape)
    model = GLM.from_arrays(X, y, family=shape.family, link=shape.link, trials=trials)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = _category_plan(model, run) if shape.levels else _glm_plan(model, run)
        return prepare_plan(plan)


def _glm_plan(model: GLM, run: dict[str, Any]) -> EnginePlan:
    """The engine plan ``model.fit(**run)`` would run, with the default priors."""
    from .compiled import glm_plan
    from .model import build_sampling_model

    resolved, _, laplace = model._sampling_start(None, True)
    return glm_plan(
        model.design, model.spec, resolved, laplace, build_model=build_sampling_model, **run
    )


def _category_plan(model: Any, run: dict[str, Any]) -> EnginePlan:
    """The engine plan ``model.fit(**run)`` of a categorical outcome
    (:meth:`bayesglm.category_glm.CategoryGLM.fit`) would run, default priors."""
    from .category_model import category_problem

    mle = model.fit_mle()
    problem = category_problem(
        model.spec,
        model.cdesign,
        model.resolve_priors(),
        mle.params_array,
        None if mle.separation else mle.cov_array,
    )
    return problem.engine_plan(**run)


def _simulated(shape: _Shape) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``shape.rows`` rows from the family, with means near the middle of its range
    (every level about equally often for a categorical outcome)."""
    rows, p = shape.rows, shape.columns
    rng = np.random.default_rng(rows * 100 + p)
    X = np.column_stack([np.ones(rows), rng.normal(size=(rows, p - 1))])
    if shape.levels:
        return X, rng.permutation(np.arange(rows) % shape.levels), None
    family = FAMILIES[shape.family]
    center = LINKS[shape.link].link(np.array([0.4 if family.is_probability else 2.0]))[0]
    eta = center + X[:, 1:] @ np.full(p - 1, 0.02 * max(abs(center), 1.0))
    mu = LINKS[shape.link].inverse(eta)
    trials = np.full(rows, 10.0) if family.has_trials else None
    natural = family.natural_from_phi(0.25)
    if natural is None and family.natural_param is not None:
        natural = 0.25
    return X, family.sample(mu, natural, trials, rng), trials
