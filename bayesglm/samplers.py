"""Which NUTS backend runs a fit, and its draws back on the model's scale.

This module imports no PyMC: a fit on the precompiled engine (``sampler="compiled"``)
whose program is already stored needs only numpy, jaxlib and the program. The PyMC and
nutpie backends (:func:`bayesglm.model.run_backend`) and the PyMC sampling model
(built only when a program must be compiled) are loaded when a fit asks for them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .design import Design
from .errors import BayesGLMError
from .families import Spec
from .laplace import LaplaceApprox
from .priors import ResolvedPriors

__all__ = [
    "SAMPLERS",
    "NutsRun",
    "SampleRun",
    "SamplingProblem",
    "available_samplers",
    "check_run",
    "check_sampler",
    "glm_problem",
    "run_nuts",
    "sample",
]

SAMPLERS = ("compiled", "numpyro", "nutpie", "pymc")
"""Sampler backends in the order "auto" tries them: it takes the first installed.

"compiled" runs a precompiled JAX program per model structure, stored in the user's
cache folder (:mod:`bayesglm.compiled`): a structure's first fit compiles it, and
later fits of the structure, in any process, read its executable and skip the
compile and JAX's import (benchmarks/results/engine.md).
Measured in benchmarks/bench_bayes.py: numpyro (JAX) compiles and samples a first fit
faster than nutpie (29 s against 49 s, PyMC's 64 s on the logistic benchmark); nutpie
reuses its compiled model for repeated fits of one structure in a session.
"""


def available_samplers() -> list[str]:
    """The sampler backends importable here (pymc always is)."""
    return [name for name in SAMPLERS if _installed(name)]


_NEEDS = {"compiled": ("jax", "numpyro", "flatbuffers")}
"""What a backend needs installed, where that is not a package of its own name."""


@functools.cache
def _installed(name: str) -> bool:
    import importlib.util

    return all(importlib.util.find_spec(need) is not None for need in _NEEDS.get(name, (name,)))


@dataclass(frozen=True)
class SamplingProblem:
    """A posterior as NUTS runs it, whatever the family: coordinates ``z`` whitened
    by a Gaussian approximation, :math:`u = m + L z` (a constant Jacobian), ``u``
    the family's unconstrained parameters.

    The backends read it through two builders, called only by the backend that
    needs them: ``build_model()`` gives the PyMC model of the density of ``z`` (a
    ``pm.Flat("z")`` of length k plus potentials; numpyro, nutpie, pymc), and
    ``engine_plan(chains=, tune=, draws=, target_accept=)`` what the precompiled
    engine needs (:class:`bayesglm.compiled.EnginePlan`: the structure, the numbers
    by ``pm.Data`` name, rows padded, and the builder of the padded model).
    """

    mode: np.ndarray  # m, (k,)
    chol: np.ndarray  # L, (k, k)
    build_model: Callable[[], Any]
    engine_plan: Callable[..., Any]


@dataclass(frozen=True)
class NutsRun:
    """Draws of the unconstrained parameters ``u`` (chain, draw, k), the sampler's
    statistics as (chain, draw) arrays under ArviZ's names (:data:`_STAT_NAMES`,
    whichever the backend gives), what ran and how long it took."""

    u: np.ndarray
    sample_stats: dict[str, np.ndarray]
    sampler: str
    timings: dict[str, float]


def run_nuts(
    problem: SamplingProblem,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    sampler: str,
    target_accept: float,
    progressbar: bool,
) -> NutsRun:
    """Run NUTS on a whitened posterior with the chosen backend (resolved by
    :func:`check_sampler`); the one place every family's fit samples."""
    if sampler == "compiled":
        from .compiled import run_compiled

        start = time.perf_counter()
        plan = problem.engine_plan(
            chains=chains, tune=tune, draws=draws, target_accept=target_accept
        )
        compiled = run_compiled(plan, chains=chains, seed=seed, progressbar=progressbar)
        z, timings = compiled.z, {"plan": time.perf_counter() - start, **compiled.timings}
        stats = _standard_stats(compiled.sample_stats)
    else:
        from .model import run_backend

        start = time.perf_counter()
        model = problem.build_model()
        build = time.perf_counter() - start
        z, raw_stats, timings = run_backend(
            model,
            sampler=sampler,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            target_accept=target_accept,
            progressbar=progressbar,
        )
        timings = {"build": build, **timings}
        stats = _standard_stats(raw_stats)
    if z.shape[:2] != (chains, draws):
        # The backends stop on Ctrl-C and return what they have; a fit with fewer
        # draws than asked for is not a result.
        raise KeyboardInterrupt(f"sampling interrupted after {z.shape[1]} of {draws} draws")
    # Back from whitened coordinates, draw by draw.
    return NutsRun(problem.mode + z @ problem.chol.T, stats, sampler, timings)


@dataclass(frozen=True)
class SampleRun:
    """Raw draws of a GLM's sampling model, with what ran and how long it took.

    ``sample_stats`` as :class:`NutsRun`'s.
    """

    beta: np.ndarray  # (chain, draw, p)
    natural: np.ndarray | None  # (chain, draw)
    sample_stats: dict[str, np.ndarray]
    sampler: str
    timings: dict[str, float]


def glm_problem(
    design: Design, spec: Spec, priors: ResolvedPriors, laplace: LaplaceApprox
) -> SamplingProblem:
    """A GLM's posterior whitened by its Laplace approximation (PyMC model:
    :func:`bayesglm.model.build_sampling_model`)."""

    def build_model() -> Any:
        from .model import build_sampling_model
        from .sampling_data import reduce_data

        return build_sampling_model(design, spec, priors, laplace, reduce_data(design, spec))

    def engine_plan(**run: Any) -> Any:
        from .compiled import glm_plan

        return glm_plan(design, spec, priors, laplace, build_model=_build_sampling_model, **run)

    return SamplingProblem(laplace.mode, laplace.chol, build_model, engine_plan)


def sample(
    design: Design,
    spec: Spec,
    priors: ResolvedPriors,
    laplace: LaplaceApprox,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    sampler: str,
    target_accept: float,
    progressbar: bool,
) -> SampleRun:
    """Run NUTS on a GLM's whitened posterior with the chosen backend."""
    run = run_nuts(
        glm_problem(design, spec, priors, laplace),
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        sampler=sampler,
        target_accept=target_accept,
        progressbar=progressbar,
    )
    p = design.p
    beta = run.u[..., :p]
    if priors.fixed_natural is not None:
        natural = np.full(beta.shape[:2], priors.fixed_natural)
    elif spec.family.natural_param is not None:
        natural = np.exp(run.u[..., p])
    else:
        natural = None
    return SampleRun(beta, natural, run.sample_stats, run.sampler, run.timings)


def _build_sampling_model(*args: Any, **kwargs: Any) -> Any:
    """:func:`bayesglm.model.build_sampling_model`, importing PyMC only when called."""
    from .model import build_sampling_model

    return build_sampling_model(*args, **kwargs)


_STAT_NAMES: dict[str, tuple[str, ...]] = {
    "diverging": ("diverging",),
    "tree_depth": ("tree_depth", "depth"),
    "reached_max_treedepth": ("reached_max_treedepth", "maxdepth_reached"),
    "energy": ("energy",),
    "step_size": ("step_size",),
    "n_steps": ("n_steps",),
    "acceptance_rate": ("acceptance_rate", "mean_tree_accept"),
    "lp": ("lp", "logp"),
}


def _standard_stats(stats: Any) -> dict[str, np.ndarray]:
    """Sample stats under one set of names, whatever the backend called them, as
    (chain, draw) arrays."""
    dataset = stats.to_dataset() if hasattr(stats, "to_dataset") else stats
    out = {}
    for name, candidates in _STAT_NAMES.items():
        for candidate in candidates:
            if candidate in dataset:
                out[name] = np.asarray(dataset[candidate])
                break
    return out


_MIN_TUNE = {"nutpie": 1}  # nutpie's adaptation schedule panics without a tuning step


def check_sampler(sampler: str, *, tune: int | None = None) -> str:
    """Resolve "auto" and check that the backend is installed (and can run ``tune``)."""
    installed = available_samplers()
    if sampler == "auto":
        sampler = installed[0]
    if sampler not in SAMPLERS:
        raise BayesGLMError(
            f"unknown sampler; the samplers are auto, {', '.join(SAMPLERS)}; "
            f"got (sampler={sampler!r})."
        )
    if sampler not in installed:
        raise BayesGLMError(
            f"the {sampler} sampler is not installed; install it (pip install "
            f"'bayesglm[fast]') or use sampler='auto'; got (sampler={sampler!r})."
        )
    if tune is not None and tune < _MIN_TUNE.get(sampler, 0):
        raise BayesGLMError(
            f"the {sampler} sampler needs tune >= {_MIN_TUNE[sampler]}; raise tune or use "
            f"sampler='pymc'; got (tune={tune!r})."
        )
    return sampler


def check_run(
    *, draws: Any, tune: Any, chains: Any, seed: Any, sampler: str, target_accept: Any
) -> tuple[str, int]:
    """Check a fit's run options, the same for every family: the backend
    (:func:`check_sampler`) and the seed, drawn at random when None.

    Returns
    -------
    (sampler, seed)
    """
    from ._validation import check_seed, is_whole

    for name, value in (("draws", draws), ("tune", tune), ("chains", chains)):
        minimum = 0 if name == "tune" else 1
        if not is_whole(value) or value < minimum:
            raise BayesGLMError(f"{name} must be an integer >= {minimum}; got ({name}={value!r}).")
    real = isinstance(target_accept, float | int) and not isinstance(target_accept, bool)
    if not (real and 0 < target_accept < 1):
        raise BayesGLMError(
            f"target_accept must be between 0 and 1; got (target_accept={target_accept!r})."
        )
    check_seed(seed)
    sampler = check_sampler(sampler, tune=tune)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    return sampler, seed
