"""The precompiled NUTS engine: one exported JAX program per model structure.

The PyMC sampling model (:func:`bayesglm.model.build_sampling_model`) stays the
specification of the density. Its log-density, with every ``pm.Data`` an explicit
input, is translated by PyTensor's JAX backend and wrapped in numpyro's functional
NUTS (warm-up adapting the step size and a diagonal mass matrix, then the draws, in
one ``lax.scan``; chains by ``vmap``). The whole run is exported with ``jax.export``
and stored under a key naming everything that changes the program
(:func:`structure_key`); rows are padded to a bucket with a mask
(:func:`bayesglm.sampling_data.pad_rows`) so that one program serves many datasets.
A later fit of the same structure, in this process or another, reads the program
and its numbers (:func:`bayesglm.sampling_data.sampling_inputs`) without building
the PyMC model; JAX's persistent compilation cache beside it saves the XLA compile.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ._cache import compilation_cache_dir, key_digest, read_artifact, write_artifact
from .design import Design
from .errors import CacheWarning
from .families import Spec
from .laplace import LaplaceApprox
from .priors import ResolvedPriors
from .sampling_data import (
    SamplingData,
    pad_rows,
    prior_groups,
    reduce_data,
    row_bucket,
    sampling_inputs,
)

__all__ = ["CompiledRun", "Structure", "run_compiled", "structure_key"]

MAX_TREE_DEPTH = 10
"""numpyro's default, as the numpyro backend through PyMC uses."""

ARTIFACT_KIND = "nuts"
_MAGIC = b"BAYESGLM-NUTS-1\n"
_GRAPH_MODULES = ("model", "sampling_data", "compiled", "families", "links", "priors", "_xp")
"""Modules whose code shapes the exported program: a change in any makes a new key."""
_VERSIONED = ("pymc", "pytensor", "numpyro", "jax", "jaxlib")

_PROGRAMS: dict[str, tuple[tuple[str, ...], Any]] = {}
"""Programs of this process by key digest: their input names and the callable."""

COUNTERS = {"built": 0, "loaded": 0, "reused": 0}
"""How each program was obtained in this process: exported anew, read from the
cache folder, or reused from memory (tests count cache hits with these)."""


@dataclass(frozen=True)
class Structure:
    """Everything about a fit that changes the compiled program (not its numbers)."""

    family: str
    link: str
    coef_priors: tuple[tuple[str, int], ...]  # prior class name, group size
    natural_prior: str | None  # class name; "fixed:<class>" when held at a value
    kind: str  # "rows" | "sufficient"
    has_trials: bool
    p: int
    k: int
    n_bucket: int  # padded rows; 0 for sufficient statistics
    chains: int
    tune: int
    draws: int
    target_accept: float
    max_tree_depth: int
    dtype: str


@dataclass(frozen=True)
class CompiledRun:
    """What the engine returns: whitened draws and ArviZ-named sample stats."""

    z: np.ndarray  # (chain, draw, k)
    sample_stats: dict[str, np.ndarray]  # each (chain, draw)
    timings: dict[str, float]


def structure_of(
    spec: Spec,
    priors: ResolvedPriors,
    laplace: LaplaceApprox,
    reduced: SamplingData,
    *,
    chains: int,
    tune: int,
    draws: int,
    target_accept: float,
    max_tree_depth: int = MAX_TREE_DEPTH,
) -> Structure:
    """The structure of a fit whose rows are already padded."""
    natural = None
    if priors.natural is not None:
        natural = type(priors.natural).__name__
        if priors.fixed_natural is not None:
            natural = f"fixed:{natural}"
    groups = tuple((cls.__name__, len(idx)) for cls, (idx, _) in prior_groups(priors).items())
    return Structure(
        family=spec.family.name,
        link=spec.link.name,
        coef_priors=groups,
        natural_prior=natural,
        kind=reduced.kind,
        has_trials=reduced.has_trials,
        p=len(priors.coef),
        k=int(laplace.mode.size),
        n_bucket=int(reduced.data["y"].shape[0]) if reduced.kind == "rows" else 0,
        chains=int(chains),
        tune=int(tune),
        draws=int(draws),
        target_accept=float(target_accept),
        max_tree_depth=int(max_tree_depth),
        dtype="float64",
    )


def structure_key(structure: Structure) -> dict[str, Any]:
    """The cache key: the structure, the versions and the code that build the program."""
    versions = {}
    for name in ("bayesglm", *_VERSIONED):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "structure": {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in vars(structure).items()
        },
        "versions": versions,
        "code": _code_digest(),
    }


@functools.cache
def _code_digest() -> str:
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in _GRAPH_MODULES:
        digest.update((here / f"{name}.py").read_bytes())
    return digest.hexdigest()


# --- JAX ------------------------------------------------------------------------------


@functools.cache
def _jax():
    """JAX in 64-bit, with its persistent compilation cache in our cache folder."""
    import jax

    jax.config.update("jax_enable_x64", True)
    if jax.config.jax_compilation_cache_dir is None:
        jax.config.update("jax_compilation_cache_dir", str(compilation_cache_dir()))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return jax


def log_density(model: Any) -> tuple[tuple[str, ...], Any]:
    """The sampling model's log-density as a JAX function ``f(z, *inputs)``.

    Every shared variable (``pm.Data``) of the graph becomes an explicit input, in
    the order of their names, which come back with the function.
    """
    _jax()
    from pytensor.compile.mode import get_mode
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph import FunctionGraph, clone_replace
    from pytensor.graph.traversal import graph_inputs
    from pytensor.link.jax.dispatch import jax_funcify

    logp = model.logp()
    z_value = model.rvs_to_values[model["z"]]
    shared = sorted(
        {var for var in graph_inputs([logp]) if isinstance(var, SharedVariable)},
        key=lambda var: var.name,
    )
    replacements = {var: var.type(name=var.name) for var in shared}
    [logp_inputs] = clone_replace([logp], replacements)
    graph = FunctionGraph(inputs=[z_value, *replacements.values()], outputs=[logp_inputs])
    get_mode("JAX").optimizer.rewrite(graph)
    with warnings.catch_warnings():
        # The checks it skips are PyMC's parameter checks; logp_fn maps their NaN.
        warnings.filterwarnings("ignore", "Skipping .* as JAX tracing would remove it")
        jax_fn = jax_funcify(graph)
    jnp = _jax().numpy

    def logp_fn(z, *inputs):
        # PyMC's parameter checks give -inf where JAX, which drops them, gives NaN.
        value = jax_fn(z, *inputs)[0]
        return jnp.where(jnp.isnan(value), -jnp.inf, value)

    return tuple(var.name for var in shared), logp_fn


_STATS = ("diverging", "energy", "n_steps", "step_size", "acceptance_rate", "lp")


def nuts_run(logp: Any, structure: Structure):
    """All chains' warm-up and draws as one function ``run(keys, z0, *inputs)``."""
    jax = _jax()
    from numpyro.infer.hmc import hmc

    init_kernel, sample_kernel = hmc(
        potential_fn_gen=lambda *inputs: lambda z: -logp(z, *inputs), algo="NUTS"
    )
    tune, draws = structure.tune, structure.draws

    def one_chain(key, z0, *inputs):
        state = init_kernel(
            z0,
            tune,
            target_accept_prob=structure.target_accept,
            max_tree_depth=structure.max_tree_depth,
            model_args=inputs,
            rng_key=key,
        )

        def step(state, _):
            state = sample_kernel(state, model_args=inputs)
            stats = (
                state.diverging,
                state.energy,
                state.num_steps,
                state.adapt_state.step_size,
                state.accept_prob,
                -state.potential_energy,
            )
            return state, (state.z, stats)

        _, (z, stats) = jax.lax.scan(step, state, None, length=tune + draws)
        return z[tune:], tuple(stat[tune:] for stat in stats)

    def run(keys, z0, *inputs):
        in_axes = (0, 0) + (None,) * len(inputs)
        return jax.vmap(one_chain, in_axes=in_axes)(keys, z0, *inputs)

    return run


def export_program(model: Any, inputs: dict[str, np.ndarray], structure: Structure) -> bytes:
    """Translate the PyMC sampling model and export the whole run: the artifact.

    ``inputs`` are the model's data by name (:func:`sampling_inputs`); their shapes
    and types become the program's.
    """
    jax = _jax()
    names, logp = log_density(model)
    avals = [
        jax.ShapeDtypeStruct((structure.chains, 2), np.uint32),
        jax.ShapeDtypeStruct((structure.chains, structure.k), np.float64),
        *(jax.ShapeDtypeStruct(inputs[name].shape, inputs[name].dtype) for name in names),
    ]
    exported = jax.export.export(jax.jit(nuts_run(logp, structure)))(*avals)
    blob = bytes(exported.serialize())
    # The store checks the whole file's checksum; the header says what the inputs are.
    header = json.dumps({"names": names}).encode()
    return _MAGIC + len(header).to_bytes(8, "little") + header + blob


def load_program(artifact: bytes) -> tuple[tuple[str, ...], Any]:
    """The input names and a callable of an artifact; ValueError when it is damaged."""
    jax = _jax()
    if not artifact.startswith(_MAGIC):
        raise ValueError("not an exported NUTS program")
    start = len(_MAGIC) + 8
    size = int.from_bytes(artifact[len(_MAGIC) : start], "little")
    try:
        header = json.loads(artifact[start : start + size])
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError("damaged header") from error
    blob = artifact[start + size :]
    if not isinstance(header, dict) or not isinstance(header.get("names"), list):
        raise ValueError("damaged header")
    exported = jax.export.deserialize(bytearray(blob))
    return tuple(header["names"]), jax.jit(exported.call)


def _program(key: dict[str, Any], build) -> tuple[tuple[str, ...], Any]:
    """The program of ``key``: from memory, from the cache folder, or built and stored."""
    digest = key_digest(key)
    if digest in _PROGRAMS:
        COUNTERS["reused"] += 1
        return _PROGRAMS[digest]
    artifact = read_artifact(ARTIFACT_KIND, key)
    program = None
    if artifact is not None:
        try:
            program = load_program(artifact)
            COUNTERS["loaded"] += 1
        except Exception as error:  # any damage means rebuild, never trust
            warnings.warn(
                f"a stored compiled program could not be read ({error}); rebuilding it",
                CacheWarning,
                stacklevel=3,
            )
    if program is None:
        artifact = build()
        COUNTERS["built"] += 1
        write_artifact(ARTIFACT_KIND, key, artifact)
        # The fresh program runs from its own serialized form, exactly as a later
        # process will: a cached fit then equals a fresh one draw for draw.
        program = load_program(artifact)
    _PROGRAMS[digest] = program
    return program


def plan(
    design: Design,
    spec: Spec,
    priors: ResolvedPriors,
    laplace: LaplaceApprox,
    **run: Any,
) -> tuple[SamplingData, Structure]:
    """The reduced data, rows padded to their bucket, and the fit's structure.

    ``run`` holds chains, tune, draws and target_accept.
    """
    reduced = reduce_data(design, spec)
    if reduced.kind == "rows":
        reduced = pad_rows(reduced, spec, row_bucket(reduced.n_rows))
    return reduced, structure_of(spec, priors, laplace, reduced, **run)


def run_compiled(
    design: Design,
    spec: Spec,
    priors: ResolvedPriors,
    laplace: LaplaceApprox,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    target_accept: float,
    build_model: Callable[..., Any],
) -> CompiledRun:
    """NUTS on the whitened posterior with the precompiled program of this structure.

    Parameters
    ----------
    design, spec, priors, laplace
        The fit's pieces, as :func:`bayesglm.samplers.sample` takes them.
    draws, tune, chains, seed, target_accept
        As :meth:`bayesglm.GLM.fit`.
    build_model
        :func:`bayesglm.model.build_sampling_model`, called only when no program of
        this structure is stored (passed in, as the model module runs this one).

    Returns
    -------
    CompiledRun
        Draws of ``z`` (chain, draw, k) and sample stats under ArviZ's names.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    reduced, structure = plan(
        design,
        spec,
        priors,
        laplace,
        chains=chains,
        tune=tune,
        draws=draws,
        target_accept=target_accept,
    )
    key = structure_key(structure)
    timings["build"] = time.perf_counter() - start
    start = time.perf_counter()
    jax = _jax()
    inputs = sampling_inputs(spec, priors, laplace, reduced)

    def build() -> bytes:
        model = build_model(design, spec, priors, laplace, reduced)
        return export_program(model, inputs, structure)

    names, call = _program(key, build)
    timings["program"] = time.perf_counter() - start
    start = time.perf_counter()
    keys = jax.random.key_data(jax.random.split(jax.random.key(seed), chains))
    z, stats = call(keys, np.zeros((chains, structure.k)), *(inputs[name] for name in names))
    z = np.asarray(z)
    sample_stats = {name: np.asarray(stat) for name, stat in zip(_STATS, stats, strict=True)}
    timings["compile_and_sample"] = time.perf_counter() - start
    # A tree of depth d takes at most 2**d - 1 leapfrog steps.
    depth = np.floor(np.log2(sample_stats["n_steps"])).astype(np.int64) + 1
    sample_stats["tree_depth"] = depth
    sample_stats["reached_max_treedepth"] = depth >= structure.max_tree_depth
    return CompiledRun(z, sample_stats, timings)
