"""Compile the precompiled engine's programs ahead of time, as rstanarm does at install.

A program serves every fit of one structure (:class:`bayesglm.compiled.Structure`):
family, link, prior classes, number of coefficients, rows rounded up to a bucket, and
the run's settings. :func:`warm_up` builds the programs of the common structures —
each family with its canonical link (or the links asked for), the default priors,
an intercept and up to ``max_p - 1`` predictors, each row bucket up to ``max_rows``
— from small simulated datasets, and stores them in the cache folder. The fits it
makes are thrown away: only the programs, which do not depend on the numbers, stay.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import BayesGLMError
from .families import FAMILIES, Family
from .glm import GLM
from .links import LINKS
from .sampling_data import MIN_BUCKET, row_bucket

if TYPE_CHECKING:
    from .compiled import Prepared

__all__ = ["WarmedProgram", "warm_up"]


@dataclass(frozen=True)
class WarmedProgram:
    """One structure :func:`warm_up` went through."""

    family: str
    link: str
    p: int
    rows: int  # the row bucket; 0 where fits run on sufficient statistics
    origin: str  # "built" (compiled and stored now), "loaded" or "reused" (already there)
    seconds: float

    def __str__(self) -> str:
        rows = f"rows <= {self.rows}" if self.rows else "any rows"
        done = "compiled and stored" if self.origin == "built" else "already stored"
        return f"{self.family} ({self.link}), p = {self.p}, {rows}: {done} ({self.seconds:.1f} s)"


def warm_up(
    families: Sequence[str] | None = None,
    *,
    links: Sequence[str] | None = None,
    max_p: int = 6,
    max_rows: int = 1024,
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
        Family names (default: every family).
    links : sequence of str, optional
        Links to compile for each family that allows them (default: its canonical link).
    max_p : int
        Programs for 1 (the intercept alone) to ``max_p`` coefficients.
    max_rows : int
        Programs for every row bucket up to the one holding ``max_rows`` rows.
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
    else:
        names = list(families)
    unknown = [name for name in names if name not in FAMILIES]
    if unknown:
        raise BayesGLMError(
            f"unknown family; the families are {', '.join(FAMILIES)}; got (families={unknown!r})."
        )
    for name, value in (("max_p", max_p), ("max_rows", max_rows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BayesGLMError(f"{name} must be an integer >= 1; got ({name}={value!r}).")
    done = []
    seen = set()
    for family, link, p, rows in _structures(names, links, max_p, max_rows):
        start = time.perf_counter()
        prepared = _prepare(family, link, p, rows, draws, tune, chains, target_accept)
        if prepared.structure in seen:
            continue  # sufficient statistics: one program for every number of rows
        seen.add(prepared.structure)
        warmed = WarmedProgram(
            family.name,
            link,
            p,
            prepared.structure.n_bucket,
            prepared.origin,
            time.perf_counter() - start,
        )
        done.append(warmed)
        if report is not None:
            report(warmed)
    return done


def _structures(
    names: Sequence[str], links: Sequence[str] | None, max_p: int, max_rows: int
) -> Iterator[tuple[Family, str, int, int]]:
    buckets = []
    rows = MIN_BUCKET
    while True:
        buckets.append(rows)
        if rows >= row_bucket(max_rows):
            break
        rows = row_bucket(rows + 1)
    for name in names:
        family = FAMILIES[name]
        wanted = [family.canonical_link] if links is None else links
        for link in (link for link in wanted if link in family.links):
            for p in range(1, max_p + 1):
                for rows in buckets:
                    yield family, link, p, rows


def _prepare(
    family: Family,
    link: str,
    p: int,
    rows: int,
    draws: int,
    tune: int,
    chains: int,
    target_accept: float,
) -> Prepared:
    """The program of one structure, made from a dataset of that shape."""
    from .compiled import compile_ahead, prepare
    from .model import build_sampling_model

    X, y, trials = _simulated(family, link, p, rows)
    model = GLM.from_arrays(X, y, family=family.name, link=link, trials=trials)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resolved, _, laplace = model._sampling_start(None, True)
        prepared = prepare(
            model.design,
            model.spec,
            resolved,
            laplace,
            draws=draws,
            tune=tune,
            chains=chains,
            target_accept=target_accept,
            build_model=build_sampling_model,
        )
        compile_ahead(prepared)
    return prepared


def _simulated(
    family: Family, link: str, p: int, rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``rows`` rows from the family, with means near the middle of its range."""
    rng = np.random.default_rng(rows * 100 + p)
    X = np.column_stack([np.ones(rows), rng.normal(size=(rows, p - 1))])
    center = LINKS[link].link(np.array([0.4 if family.is_probability else 2.0]))[0]
    eta = center + X[:, 1:] @ np.full(p - 1, 0.02 * max(abs(center), 1.0))
    mu = LINKS[link].inverse(eta)
    trials = np.full(rows, 10.0) if family.has_trials else None
    natural = family.natural_from_phi(0.25)
    if natural is None and family.natural_param is not None:
        natural = 0.25
    return X, family.sample(mu, natural, trials, rng), trials
