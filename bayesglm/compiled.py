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
import sys
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
    row_input_names,
    sampling_inputs,
)

__all__ = [
    "CompiledRun",
    "EnginePlan",
    "Prepared",
    "Structure",
    "compile_ahead",
    "glm_plan",
    "prepare",
    "prepare_plan",
    "run_compiled",
    "run_structure",
    "structure_key",
]

MAX_TREE_DEPTH = 10
"""numpyro's default, as the numpyro backend through PyMC uses."""

ARTIFACT_KIND = "nuts"
_MAGIC = b"BAYESGLM-NUTS-1\n"
_GRAPH_MODULES = (
    "model",
    "sampling_data",
    "compiled",
    "families",
    "links",
    "priors",
    "_xp",
    "category_model",
    "category_families",
)
"""Modules whose code shapes the exported program: a change in any makes a new key."""
_VERSIONED = ("pymc", "pytensor", "numpyro", "jax", "jaxlib")

_PROGRAMS: dict[str, Program] = {}
"""Programs of this process by key digest (:class:`Program`)."""

COUNTERS = {"built": 0, "loaded": 0, "reused": 0}
"""How each program was obtained in this process: exported anew, read from the
cache folder, or reused from memory (tests count cache hits with these)."""


@dataclass(frozen=True)
class Structure:
    """Everything about a fit that changes the compiled program (not its numbers)."""

    family: str
    link: str
    coef_priors: tuple[tuple[str, int], ...]  # prior class name, group size
    natural_prior: str | None  # class name; "fixed:<class>" when held at a value;
    # categorical outcomes: the cutpoints' prior ("Dirichlet" or "cutpoints:<class>")
    kind: str  # "rows" | "sufficient"
    has_trials: bool
    p: int
    k: int  # unconstrained parameters (the length of z)
    levels: int  # response levels of a categorical outcome; 0 for the other families
    n_bucket: int  # padded rows; 0 for sufficient statistics
    chains: int
    tune: int
    draws: int
    target_accept: float
    max_tree_depth: int
    chain_layout: str  # "sequential" | "vectorized": see chain_layout()
    chunk: int  # iterations per call: see chunk_length()
    row_block: int  # rows per block of the one-pass gradient; 0: all rows at once
    dtype: str


class Progress:
    """A one-line progress report on standard error, shown once a run lasts a second."""

    delay = 1.0
    """Seconds before the first report: a fit that takes less shows none."""

    def __init__(self, chains: int, tune: int, total: int, *, show: bool) -> None:
        self.chains, self.tune, self.total, self.show = chains, tune, total, show
        self.started = time.perf_counter()
        self.shown = False

    def update(self, done: int) -> None:
        elapsed = time.perf_counter() - self.started
        if not self.show or (elapsed < self.delay and not self.shown):
            return
        phase = "warm-up" if done <= self.tune else "draws"
        sys.stderr.write(
            f"\rNUTS, {self.chains} chains: {done}/{self.total} iterations ({phase}), "
            f"{elapsed:.0f} s "
        )
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


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
        levels=0,
        **run_structure(
            reduced,
            chains=chains,
            tune=tune,
            draws=draws,
            target_accept=target_accept,
            max_tree_depth=max_tree_depth,
        ),
    )


def run_structure(
    reduced: SamplingData,
    *,
    chains: int,
    tune: int,
    draws: int,
    target_accept: float,
    max_tree_depth: int = MAX_TREE_DEPTH,
) -> dict[str, Any]:
    """The fields of :class:`Structure` that every family fills alike: the padded
    rows and how the run goes through them, and the run's settings."""
    return dict(
        n_bucket=int(reduced.data["y"].shape[0]) if reduced.kind == "rows" else 0,
        chains=int(chains),
        tune=int(tune),
        draws=int(draws),
        target_accept=float(target_accept),
        max_tree_depth=int(max_tree_depth),
        chain_layout=chain_layout(reduced),
        chunk=chunk_length(int(tune), int(draws)),
        row_block=row_block(reduced),
        dtype="float64",
    )


VECTORIZE_FROM_CELLS = 1 << 13
"""Rows x columns from which chains run vectorized rather than one after another."""


def chain_layout(reduced: SamplingData) -> str:
    """How the program runs its chains: "sequential" or "vectorized".

    Vectorized chains (``vmap``) advance in lockstep, every chain waiting for the
    longest trajectory of the step, but all chains' linear predictors come from one
    pass over X (X @ B, B of p x chains): worth it when that pass dominates the step.
    Sequential chains (``lax.map``) trace and compile one chain's program, which
    makes a structure's first fit about a second faster.
    """
    if reduced.kind != "rows":
        return "sequential"
    rows, cols = reduced.data["X"].shape
    return "vectorized" if rows * cols >= VECTORIZE_FROM_CELLS else "sequential"


BLOCK_FROM_ROWS = 1 << 15
"""Padded rows from which the log-density and its gradient come from one blocked pass."""
BLOCK_BYTES = 1 << 18
"""About how much of X one block holds: a block stays in cache between the two uses."""


def row_block(reduced: SamplingData) -> int:
    """Rows per block of the one-pass gradient (:func:`blocked_log_density`), or 0.

    Above :data:`BLOCK_FROM_ROWS` rows, a power of two of rows holding about
    :data:`BLOCK_BYTES` of X (256 to 4096 rows): every bucket from there on is a
    multiple of 4096 rows (:func:`bayesglm.sampling_data.row_bucket`).
    """
    if reduced.kind != "rows":
        return 0
    rows, cols = reduced.data["X"].shape
    if rows < BLOCK_FROM_ROWS:
        return 0
    block = 1 << max(0, (BLOCK_BYTES // (8 * max(cols, 1))).bit_length() - 1)
    return min(4096, max(256, block))


def structure_key(structure: Structure) -> dict[str, Any]:
    """The cache key: the structure, the versions and the code that build the program,
    and the platform it runs on."""
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
        # An exported program runs only on the platform it was exported for (a cache
        # folder may be shared by CPU and GPU machines).
        "platform": _jax().default_backend(),
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


@dataclass(frozen=True)
class LogDensity:
    """The sampling model's log-density in JAX, with the work on data alone split off.

    ``precompute(*inputs)`` gives every quantity of the graph that depends on the data
    but not on the parameters (log-factorials of counts, log-binomial coefficients,
    products of weights and mask, ...); ``logp(z, *inputs, *precomputed)`` the density.
    A run computes the first once per call instead of at every gradient: the data are
    inputs, not constants, so XLA cannot fold them away as it would constants.
    """

    names: tuple[str, ...]
    precompute: Callable[..., tuple]
    logp: Callable[..., Any]

    def __call__(self, z: Any, *inputs: Any) -> Any:
        """The log-density at ``z`` (computing the data's part now)."""
        return self.logp(z, *inputs, *self.precompute(*inputs))


def log_density(model: Any) -> LogDensity:
    """The sampling model's log-density as JAX functions (:class:`LogDensity`).

    Every shared variable (``pm.Data``) of the graph becomes an explicit input, in
    the order of their names.
    """
    _jax()
    from pytensor.compile.mode import get_mode
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph import Constant, FunctionGraph, clone_replace
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
    data = list(replacements.values())
    graph = FunctionGraph(inputs=[z_value, *data], outputs=[logp_inputs], clone=False)
    get_mode("JAX").optimizer.rewrite(graph)
    # The data-only frontier: values computed from the data alone that feed a
    # computation on the parameters.
    on_z = {z_value}
    frontier: list = []
    for node in graph.toposort():
        if not any(var in on_z for var in node.inputs):
            continue
        on_z.update(node.outputs)
        for var in node.inputs:
            computed = var.owner is not None and not isinstance(var, Constant)
            if computed and var not in on_z and var not in frontier:
                frontier.append(var)
    stand_ins = [var.type(name=f"precomputed_{i}") for i, var in enumerate(frontier)]
    [split] = clone_replace(graph.outputs, dict(zip(frontier, stand_ins, strict=True)))
    with warnings.catch_warnings():
        # The checks it skips are PyMC's parameter checks; logp_fn maps their NaN.
        warnings.filterwarnings("ignore", "Skipping .* as JAX tracing would remove it")
        jax_logp = jax_funcify(FunctionGraph(inputs=[z_value, *data, *stand_ins], outputs=[split]))
        jax_pre = jax_funcify(FunctionGraph(inputs=data, outputs=frontier)) if frontier else None
    jnp = _jax().numpy

    def precompute(*inputs):
        return tuple(jax_pre(*inputs)) if jax_pre is not None else ()

    def logp_fn(z, *inputs_and_precomputed):
        # PyMC's parameter checks give -inf where JAX, which drops them, gives NaN.
        value = jax_logp(z, *inputs_and_precomputed)[0]
        return jnp.where(jnp.isnan(value), -jnp.inf, value)

    return LogDensity(tuple(var.name for var in shared), precompute, logp_fn)


def blocked_log_density(
    density: Callable[..., Any], names: tuple[str, ...], row_names: tuple[str, ...], block: int
) -> Callable[..., Any]:
    """``density(z, *inputs, *precomputed)`` with its value and gradient from one pass
    over the rows, in blocks of ``block`` rows.

    The log-density is the prior plus a sum over rows, so it is the sum over row
    blocks of the density on each block, less the prior counted once per extra block
    (the density on no rows). Its gradient through the linear predictor needs X
    twice, for X @ beta and for X' (d loglik / d eta): over all rows at once, X is
    read from memory twice per gradient; block by block, the second use finds the
    block still in cache. The value and the gradient are computed together on the
    way forward (a custom VJP hands the gradient back), which is what NUTS asks for.
    Row arguments are the inputs named in ``row_names`` and the precomputed values
    with one entry per row.
    """
    jax = _jax()
    jnp = jax.numpy

    def row_positions(args):
        n = args[names.index(row_names[0])].shape[0]
        return [
            i
            for i, arg in enumerate(args)
            if (names[i] in row_names if i < len(names) else arg.ndim and arg.shape[0] == n)
        ]

    def with_rows(args, at, rows):
        replaced = list(args)
        for index, value in zip(at, rows, strict=True):
            replaced[index] = value
        return replaced

    def value_and_grad(z, *args):
        at = row_positions(args)
        n = args[at[0]].shape[0]
        blocks = tuple(args[i].reshape(n // block, block, *args[i].shape[1:]) for i in at)
        empty = tuple(args[i][:0] for i in at)
        prior, prior_grad = jax.value_and_grad(density)(z, *with_rows(args, at, empty))

        def add_block(total, rows):
            value, grad = jax.value_and_grad(density)(z, *with_rows(args, at, rows))
            return (total[0] + value - prior, total[1] + grad - prior_grad), None

        (value, grad), _ = jax.lax.scan(add_block, (prior, prior_grad), blocks)
        return value, grad

    @jax.custom_vjp
    def blocked(z, *args):
        return value_and_grad(z, *args)[0]

    def forward(z, *args):
        value, grad = value_and_grad(z, *args)
        return value, (grad, len(args))

    def backward(residuals, cotangent):
        grad, arity = residuals
        return (cotangent * grad, *([None] * arity))

    blocked.defvjp(forward, backward)

    def blocked_density(z, *args):
        value = blocked(z, *args)
        return jnp.where(jnp.isnan(value), -jnp.inf, value)

    return blocked_density


_STATS = ("diverging", "energy", "n_steps", "step_size", "acceptance_rate", "lp")

MAX_CHUNKS = 20
"""A run is cut into at most this many calls, so that it can show progress and stop."""


def chunk_length(tune: int, draws: int) -> int:
    """Iterations per call: the run is ``ceil((tune + draws) / chunk)`` calls."""
    total = tune + draws
    return -(-total // min(MAX_CHUNKS, total))


def nuts_programs(
    density: Callable[..., Any],
    prepare_args: Callable[..., tuple],
    structure: Structure,
    input_avals: list,
) -> tuple[Any, Any]:
    """The run as two functions: ``start(keys, z0, *inputs)`` gives every chain's
    NUTS state (a flat tuple of arrays), and ``advance(state, *inputs)`` takes
    ``structure.chunk`` more iterations, giving the new state, the draws of ``z``
    and the sample stats (:data:`_STATS`) of those iterations.

    ``density(z, *args)`` is the log-density, with ``args = prepare_args(*inputs)``
    computed once per call (the inputs and what is computed from the data alone).
    One run calls ``start`` once and ``advance`` until warm-up and draws are done;
    the draws are the same however the iterations are cut, as the state carries
    everything (the step-size and mass-matrix adaptation included).
    """
    jax = _jax()
    from numpyro.infer.hmc import hmc

    init_kernel, sample_kernel = hmc(
        potential_fn_gen=lambda *args: lambda z: -density(z, *args), algo="NUTS"
    )

    def start_one(key, z0, *args):
        return init_kernel(
            z0,
            structure.tune,
            target_accept_prob=structure.target_accept,
            max_tree_depth=structure.max_tree_depth,
            model_args=args,
            rng_key=key,
        )

    def advance_one(state, *args):
        def step(state, _):
            state = sample_kernel(state, model_args=args)
            stats = (
                state.diverging,
                state.energy,
                state.num_steps,
                state.adapt_state.step_size,
                state.accept_prob,
                -state.potential_energy,
            )
            return state, (state.z, stats)

        return jax.lax.scan(step, state, None, length=structure.chunk)

    def over_chains(fn, per_chain, args):
        if structure.chain_layout == "vectorized":
            in_axes = (0,) * len(per_chain) + (None,) * len(args)
            return jax.vmap(fn, in_axes=in_axes)(*per_chain, *args)
        return jax.lax.map(lambda one: fn(*one, *args), per_chain)

    def start_tree(keys, z0, *inputs):
        return over_chains(start_one, (keys, z0), prepare_args(*inputs))

    avals = (
        jax.ShapeDtypeStruct((structure.chains, 2), np.uint32),
        jax.ShapeDtypeStruct((structure.chains, structure.k), np.float64),
        *input_avals,
    )
    treedef = jax.tree.structure(jax.eval_shape(start_tree, *avals))

    def start(keys, z0, *inputs):
        return tuple(jax.tree.leaves(start_tree(keys, z0, *inputs)))

    def advance(leaves, *inputs):
        state = jax.tree.unflatten(treedef, leaves)
        state, (z, stats) = over_chains(advance_one, (state,), prepare_args(*inputs))
        return tuple(jax.tree.leaves(state)), z, stats

    return start, advance


def export_program(
    model: Any,
    inputs: dict[str, np.ndarray],
    structure: Structure,
    row_names: tuple[str, ...] = (),
) -> bytes:
    """Translate the PyMC sampling model and export the run's two programs: the artifact.

    ``inputs`` are the model's data by name (:func:`sampling_inputs`); their shapes
    and types become the programs'. ``row_names`` name the inputs with one entry per
    row, which a blocked log-density (``structure.row_block``) cuts into blocks.
    """
    jax = _jax()
    logd = log_density(model)
    names, density = logd.names, logd.logp
    if structure.row_block:
        density = blocked_log_density(density, names, row_names, structure.row_block)
    input_avals = [jax.ShapeDtypeStruct(inputs[name].shape, inputs[name].dtype) for name in names]
    start, advance = nuts_programs(
        density, lambda *inputs: (*inputs, *logd.precompute(*inputs)), structure, input_avals
    )
    start_avals = [
        jax.ShapeDtypeStruct((structure.chains, 2), np.uint32),
        jax.ShapeDtypeStruct((structure.chains, structure.k), np.float64),
        *input_avals,
    ]
    exported_start = jax.export.export(jax.jit(start))(*start_avals)
    exported_advance = jax.export.export(jax.jit(advance))(exported_start.out_avals, *input_avals)
    blobs = [bytes(exported.serialize()) for exported in (exported_start, exported_advance)]
    # The store checks the whole file's checksum; the header says what the inputs are.
    header = json.dumps({"names": names, "sizes": [len(blob) for blob in blobs]}).encode()
    return _MAGIC + len(header).to_bytes(8, "little") + header + b"".join(blobs)


@dataclass(frozen=True)
class Program:
    """A loaded artifact: its data inputs' names and its two callables."""

    names: tuple[str, ...]
    start: Any
    advance: Any


def load_program(artifact: bytes) -> Program:
    """The program of an artifact; ValueError when it is damaged."""
    jax = _jax()
    if not artifact.startswith(_MAGIC):
        raise ValueError("not an exported NUTS program")
    begin = len(_MAGIC) + 8
    size = int.from_bytes(artifact[len(_MAGIC) : begin], "little")
    try:
        header = json.loads(artifact[begin : begin + size])
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError("damaged header") from error
    if (
        not isinstance(header, dict)
        or not isinstance(header.get("names"), list)
        or not isinstance(header.get("sizes"), list)
        or len(header["sizes"]) != 2
    ):
        raise ValueError("damaged header")
    offset = begin + size
    calls = []
    for blob_size in header["sizes"]:
        blob = artifact[offset : offset + blob_size]
        offset += blob_size
        calls.append(jax.jit(jax.export.deserialize(bytearray(blob)).call))
    if offset != len(artifact):
        raise ValueError("damaged program sizes")
    return Program(tuple(header["names"]), *calls)


def _program(key: dict[str, Any], build) -> tuple[Program, str]:
    """The program of ``key`` and how it was obtained (a :data:`COUNTERS` name): from
    memory, from the cache folder, or built and stored."""
    digest = key_digest(key)
    if digest in _PROGRAMS:
        origin, program = "reused", _PROGRAMS[digest]
    else:
        origin, program = "loaded", None
        artifact = read_artifact(ARTIFACT_KIND, key)
        if artifact is not None:
            try:
                program = load_program(artifact)
            except Exception as error:  # any damage means rebuild, never trust
                warnings.warn(
                    f"a stored compiled program could not be read ({error}); rebuilding it",
                    CacheWarning,
                    stacklevel=3,
                )
        if program is None:
            origin, artifact = "built", build()
            write_artifact(ARTIFACT_KIND, key, artifact)
            # The fresh program runs from its own serialized form, exactly as a later
            # process will: a cached fit then equals a fresh one draw for draw.
            program = load_program(artifact)
        _PROGRAMS[digest] = program
    COUNTERS[origin] += 1
    return program, origin


@dataclass(frozen=True)
class EnginePlan:
    """What the engine needs of a fit, whatever the family: the structure (the
    cache key), the numbers the program reads by ``pm.Data`` name (rows padded), the
    names of those with one entry per row, and the builder of the PyMC sampling
    model of these padded data, called only when no program of the structure is
    stored (:class:`bayesglm.samplers.SamplingProblem` makes one per fit)."""

    structure: Structure
    inputs: dict[str, np.ndarray]
    row_names: tuple[str, ...]
    build_model: Callable[[], Any]


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


def glm_plan(
    design: Design,
    spec: Spec,
    priors: ResolvedPriors,
    laplace: LaplaceApprox,
    *,
    build_model: Callable[..., Any],
    **run: Any,
) -> EnginePlan:
    """A GLM's :class:`EnginePlan`; ``build_model`` is
    :func:`bayesglm.model.build_sampling_model` (passed in, as the model module
    imports PyMC), ``run`` holds chains, tune, draws and target_accept."""
    reduced, structure = plan(design, spec, priors, laplace, **run)
    return EnginePlan(
        structure,
        sampling_inputs(spec, priors, laplace, reduced),
        row_input_names(reduced),
        lambda: build_model(design, spec, priors, laplace, reduced),
    )


@dataclass(frozen=True)
class Prepared:
    """A fit's program and the numbers it runs on."""

    program: Program
    structure: Structure
    inputs: dict[str, np.ndarray]
    origin: str  # how the program was obtained: "built", "loaded" or "reused"


def prepare_plan(engine_plan: EnginePlan) -> Prepared:
    """The program of a plan's structure (from memory, the cache folder, or built
    and stored) and the plan's inputs to it."""
    structure, inputs = engine_plan.structure, engine_plan.inputs

    def build() -> bytes:
        model = engine_plan.build_model()
        return export_program(model, inputs, structure, engine_plan.row_names)

    program, origin = _program(structure_key(structure), build)
    return Prepared(program, structure, inputs, origin)


def prepare(
    design: Design,
    spec: Spec,
    priors: ResolvedPriors,
    laplace: LaplaceApprox,
    *,
    draws: int,
    tune: int,
    chains: int,
    target_accept: float,
    build_model: Callable[..., Any],
) -> Prepared:
    """A GLM's :class:`Prepared` (:func:`glm_plan`, :func:`prepare_plan`)."""
    return prepare_plan(
        glm_plan(
            design,
            spec,
            priors,
            laplace,
            build_model=build_model,
            chains=chains,
            tune=tune,
            draws=draws,
            target_accept=target_accept,
        )
    )


def compile_ahead(prepared: Prepared) -> None:
    """Compile both programs for the inputs' shapes now, so that JAX's persistent
    compilation cache holds them and a later process's first fit skips the compile."""
    data = [prepared.inputs[name] for name in prepared.program.names]
    chains, k = prepared.structure.chains, prepared.structure.k
    state = prepared.program.start(np.zeros((chains, 2), np.uint32), np.zeros((chains, k)), *data)
    prepared.program.advance.lower(state, *data).compile()


def run_compiled(engine_plan: EnginePlan, *, seed: int, progressbar: bool) -> CompiledRun:
    """NUTS on a whitened posterior with the precompiled program of its structure.

    Parameters
    ----------
    engine_plan : EnginePlan
        The fit's structure and numbers (:meth:`bayesglm.samplers.SamplingProblem.engine_plan`).
    seed, progressbar
        As :meth:`bayesglm.GLM.fit`; the progress line goes to standard error.

    Returns
    -------
    CompiledRun
        Draws of ``z`` (chain, draw, k) and sample stats under ArviZ's names; fewer
        draws than asked for when the run was interrupted (Ctrl-C).
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    prepared = prepare_plan(engine_plan)
    program, structure, inputs = prepared.program, prepared.structure, prepared.inputs
    chains, tune, draws = structure.chains, structure.tune, structure.draws
    timings["program"] = time.perf_counter() - start
    start = time.perf_counter()
    data = [inputs[name] for name in program.names]
    # Raw threefry keys, one per chain, made in numpy: three tiny JAX programs fewer.
    keys = np.random.SeedSequence(seed).generate_state(2 * chains).reshape(chains, 2)
    state = program.start(keys, np.zeros((chains, structure.k)), *data)
    total = tune + draws
    pieces: list[tuple[Any, Any]] = []
    progress = Progress(chains, tune, total, show=progressbar)
    try:
        while len(pieces) * structure.chunk < total:
            state, z_chunk, stats_chunk = program.advance(state, *data)
            pieces.append((np.asarray(z_chunk), [np.asarray(stat) for stat in stats_chunk]))
            progress.update(min(len(pieces) * structure.chunk, total))
    except KeyboardInterrupt:
        pass  # the draws so far come back; the caller says the run was cut short
    finally:
        progress.close()
    timings["compile_and_sample"] = time.perf_counter() - start
    kept = slice(tune, total)
    if pieces:
        z = np.concatenate([piece[0] for piece in pieces], axis=1)[:, kept]
        sample_stats = {
            name: np.concatenate([piece[1][i] for piece in pieces], axis=1)[:, kept]
            for i, name in enumerate(_STATS)
        }
    else:
        z = np.empty((chains, 0, structure.k))
        sample_stats = {name: np.empty((chains, 0)) for name in _STATS}
    # A tree of depth d takes at most 2**d - 1 leapfrog steps.
    depth = np.floor(np.log2(sample_stats["n_steps"])).astype(np.int64) + 1
    sample_stats["tree_depth"] = depth
    sample_stats["reached_max_treedepth"] = depth >= structure.max_tree_depth
    return CompiledRun(z, sample_stats, timings)
