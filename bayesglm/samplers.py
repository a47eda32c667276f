"""Which NUTS backend runs a fit, and its draws back on the model's scale.

This module imports no PyMC: a fit on the precompiled engine (``sampler="compiled"``)
whose program is already stored needs only numpy, jax and the program. The PyMC and
nutpie backends (:func:`bayesglm.model.run_backend`) and the PyMC sampling model
(built only when a program must be compiled) are loaded when a fit asks for them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from .design import Design
from .errors import BayesGLMError
from .families import Spec
from .laplace import LaplaceApprox
from .priors import ResolvedPriors

__all__ = ["SAMPLERS", "SampleRun", "available_samplers", "check_sampler", "sample"]

SAMPLERS = ("compiled", "numpyro", "nutpie", "pymc")
"""Sampler backends in the order "auto" tries them: it takes the first installed.

"compiled" runs a precompiled JAX program per model structure, stored in the user's
cache folder (:mod:`bayesglm.compiled`): a structure's first fit takes about as long
as numpyro's (28 s for the nine small cases of benchmarks/bench_engine.py, both), and
later fits of the structure, in any process, skip the compile (7 s for the nine).
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
class SampleRun:
    """Raw draws of the sampling model, with what ran and how long it took.

    ``sample_stats`` holds the sampler's statistics as (chain, draw) arrays under
    ArviZ's names (:data:`_STAT_NAMES`), whichever of them the backend gives.
    """

    beta: np.ndarray  # (chain, draw, p)
    natural: np.ndarray | None  # (chain, draw)
    sample_stats: dict[str, np.ndarray]
    sampler: str
    timings: dict[str, float]


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
    """Run NUTS on the whitened posterior with the chosen backend."""
    if sampler == "compiled":
        from .compiled import run_compiled

        compiled = run_compiled(
            design,
            spec,
            priors,
            laplace,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            target_accept=target_accept,
            progressbar=progressbar,
            build_model=_build_sampling_model,
        )
        z, timings = compiled.z, compiled.timings
        stats = _standard_stats(compiled.sample_stats)
    else:
        from .model import run_backend

        z, raw_stats, timings = run_backend(
            design,
            spec,
            priors,
            laplace,
            sampler=sampler,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            target_accept=target_accept,
            progressbar=progressbar,
        )
        stats = _standard_stats(raw_stats)
    if z.shape[:2] != (chains, draws):
        # The backends stop on Ctrl-C and return what they have; a fit with fewer
        # draws than asked for is not a result.
        raise KeyboardInterrupt(f"sampling interrupted after {z.shape[1]} of {draws} draws")
    # Back from whitened coordinates: theta = mode + chol @ z, draw by draw.
    theta = laplace.mode + z @ laplace.chol.T
    p = design.p
    beta = theta[..., :p]
    if priors.fixed_natural is not None:
        natural = np.full(beta.shape[:2], priors.fixed_natural)
    elif spec.family.natural_param is not None:
        natural = np.exp(theta[..., p])
    else:
        natural = None
    return SampleRun(beta, natural, stats, sampler, timings)


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
