"""The precompiled NUTS engine: one exported JAX program per model structure.

The PyMC sampling model (:func:`bayesglm.model.build_sampling_model`) stays the
specification of the density. Its log-density, with every ``pm.Data`` an explicit
input, is translated by PyTensor's JAX backend and wrapped in numpyro's functional
NUTS (warm-up adapting the step size and a diagonal mass matrix, then the draws, in
``lax.scan`` calls) for a group of chains (``vmap``). The run is exported with
``jax.export`` (StableHLO) and stored under a key naming everything that changes the program
(:func:`structure_key`); rows are padded to a bucket with a mask
(:func:`bayesglm.sampling_data.pad_rows`) so that one program serves many datasets.
The program is compiled for this machine once and its executable stored beside it
(:mod:`bayesglm.xla_runtime`): a later fit of the same structure, in this process or
another, reads the executable and its numbers
(:func:`bayesglm.sampling_data.sampling_inputs`) and runs it through jaxlib, without
importing JAX, PyMC or numpyro. The groups of chains run on threads, so that they
share the machine's cores (:func:`chain_group`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import xla_runtime
from ._cache import compilation_cache_dir, key_digest, read_artifact, write_artifact
from ._versions import version_of
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
    "glm_plan",
    "prepare_plan",
    "run_compiled",
    "run_structure",
    "structure_key",
]

MAX_TREE_DEPTH = 10
"""numpyro's default, as the numpyro backend through PyMC uses."""

ARTIFACT_KIND = "nuts"
"""The stored kind of a structure's exported programs (StableHLO, any machine)."""
EXECUTABLE_KIND = "nuts_executable"
"""The stored kind of their executables, compiled for one machine (:func:`xla_runtime.machine`)."""
_MAGIC = b"BAYESGLM-NUTS-2\n"
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
    "xla_runtime",
)
"""Modules whose code shapes the exported program: a change in any makes a new key."""
_VERSIONED = ("pymc", "pytensor", "numpyro", "jax", "jaxlib")

_PROGRAMS: dict[str, Program] = {}
"""Programs of this process by key digest (:class:`Program`)."""

COUNTERS = {"built": 0, "loaded": 0, "reused": 0, "compiled": 0}
"""How each program was obtained in this process: exported anew, read from the
cache folder, or reused from memory; and how many times one was compiled for this
machine (not when its executable was stored). Tests count cache hits with these."""


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
    tune: int
    draws: int
    target_accept: float
    max_tree_depth: int
    chain_group: int  # chains per call of the program: see chain_group()
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
        tune=int(tune),
        draws=int(draws),
        target_accept=float(target_accept),
        max_tree_depth=int(max_tree_depth),
        chain_group=chain_group(reduced, int(chains)),
        chunk=chunk_length(int(tune), int(draws)),
        row_block=row_block(reduced),
        dtype="float64",
    )


GROUP_FROM_CELLS = 1 << 13
"""Rows x columns from which a call of the program runs several chains at once."""


def chain_group(reduced: SamplingData, chains: int) -> int:
    """Chains per call of the program: the calls run on threads, one per core.

    A group's chains advance in lockstep (``vmap``), each step waiting for the
    group's longest trajectory, but they read each block of X once for all of them
    (X @ B, B of p x group), which pays when that pass dominates a step (at least
    :data:`GROUP_FROM_CELLS` rows x columns). Below it every chain is its own call;
    above it the chains are shared out evenly over the cores
    (``ceil(chains / cores)`` a call; a last call short of chains fills up with
    chains whose draws are dropped).
    """
    if reduced.kind != "rows" or chains <= 1:
        return 1
    rows, cols = reduced.data["X"].shape
    if rows * cols < GROUP_FROM_CELLS:
        return 1
    return -(-chains // min(chains, cores()))


def cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system says)."""
    count = getattr(os, "process_cpu_count", os.cpu_count)()
    return max(1, count or 1)


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
    return {
        "structure": {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in vars(structure).items()
        },
        "versions": {name: version_of(name) for name in ("bayesglm", *_VERSIONED)},
        "code": _code_digest(),
        # An exported program runs only on the platform it was exported for (a cache
        # folder may be shared by CPU and GPU machines).
        "platform": xla_runtime.machine()["platform"],
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
    """A group of chains' run as two functions: ``start(keys, z0, *inputs)`` gives the
    chains' NUTS state (a flat tuple of arrays), and ``advance(*state, *inputs)`` takes
    ``structure.chunk`` more iterations, giving the new state, then the draws of ``z``
    (group, chunk, k) and the sample stats (:data:`_STATS`, each (group, chunk)) of
    those iterations, all flat. ``keys`` are (group, 2), ``z0`` (group, k).

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

    def over_group(fn, per_chain, args):
        if structure.chain_group == 1:  # one chain: no batched while loops to compile
            one = fn(*jax.tree.map(lambda leaf: leaf[0], per_chain), *args)
            return jax.tree.map(lambda leaf: leaf[None], one)
        in_axes = (0,) * len(per_chain) + (None,) * len(args)
        return jax.vmap(fn, in_axes=in_axes)(*per_chain, *args)

    def start_state(keys, z0, *inputs):
        return over_group(start_one, (keys, z0), prepare_args(*inputs))

    group = structure.chain_group
    avals = (
        jax.ShapeDtypeStruct((group, 2), np.uint32),
        jax.ShapeDtypeStruct((group, structure.k), np.float64),
        *input_avals,
    )
    treedef = jax.tree.structure(jax.eval_shape(start_state, *avals))

    def start(keys, z0, *inputs):
        return tuple(jax.tree.leaves(start_state(keys, z0, *inputs)))

    def advance(*leaves_and_inputs):
        size = treedef.num_leaves
        state = jax.tree.unflatten(treedef, leaves_and_inputs[:size])
        args = prepare_args(*leaves_and_inputs[size:])
        state, (z, stats) = over_group(advance_one, (state,), args)
        return (*jax.tree.leaves(state), z, *stats)

    return start, advance


def export_program(
    model: Any,
    inputs: dict[str, np.ndarray],
    structure: Structure,
    row_names: tuple[str, ...] = (),
) -> bytes:
    """Translate the PyMC sampling model and export a chain group's two programs: the artifact.

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
        jax.ShapeDtypeStruct((structure.chain_group, 2), np.uint32),
        jax.ShapeDtypeStruct((structure.chain_group, structure.k), np.float64),
        *input_avals,
    ]
    exported_start = jax.export.export(jax.jit(start))(*start_avals)
    exported_advance = jax.export.export(jax.jit(advance))(*exported_start.out_avals, *input_avals)
    programs = []
    for exported in (exported_start, exported_advance):
        if len(exported.platforms) != 1 or exported.nr_devices != 1 or exported.ordered_effects:
            raise RuntimeError(
                "the engine runs programs for one platform and one device, without effects; "
                f"got {exported.platforms}, {exported.nr_devices} devices"
            )
        signature = xla_runtime.Signature(
            tuple((tuple(a.shape), str(a.dtype)) for a in exported.in_avals),
            tuple((tuple(a.shape), str(a.dtype)) for a in exported.out_avals),
            tuple(exported.module_kept_var_idx),
        )
        programs.append((bytes(exported.mlir_module_serialized), signature))
    return _pack(names, programs)


def _pack(names: tuple[str, ...], programs: list[tuple[bytes, xla_runtime.Signature]]) -> bytes:
    """The start and advance programs (StableHLO modules or executables) in one file;
    the header says what the data inputs are and each program's signature."""
    header = json.dumps(
        {
            "names": list(names),
            "programs": [
                {"signature": signature.to_json(), "bytes": len(blob)}
                for blob, signature in programs
            ],
        }
    ).encode()
    return _MAGIC + len(header).to_bytes(8, "little") + header + b"".join(b for b, _ in programs)


def _unpack(data: bytes) -> tuple[tuple[str, ...], list[tuple[bytes, xla_runtime.Signature]]]:
    """What :func:`_pack` wrote; ValueError when it is damaged."""
    if not data.startswith(_MAGIC):
        raise ValueError("not an exported NUTS program")
    begin = len(_MAGIC) + 8
    size = int.from_bytes(data[len(_MAGIC) : begin], "little")
    try:
        header = json.loads(data[begin : begin + size])
        names = tuple(str(name) for name in header["names"])
        entries = [
            (int(e["bytes"]), xla_runtime.Signature.from_json(e["signature"]))
            for e in header["programs"]
        ]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as error:
        raise ValueError("damaged header") from error
    if len(entries) != 2:
        raise ValueError("damaged header")
    offset, programs = begin + size, []
    for blob_size, signature in entries:
        programs.append((data[offset : offset + blob_size], signature))
        offset += blob_size
    if offset != len(data):
        raise ValueError("damaged program sizes")
    return names, programs


@dataclass(frozen=True)
class Program:
    """A structure's program ready to run here: its data inputs' names and a chain
    group's two executables (:func:`nuts_programs`)."""

    names: tuple[str, ...]
    start: xla_runtime.Executable
    advance: xla_runtime.Executable

    def stored(self) -> list[tuple[bytes, xla_runtime.Signature]]:
        """The two executables as stored (:func:`_pack`)."""
        return [(call.serialize(), call.signature) for call in (self.start, self.advance)]

    @property
    def state_size(self) -> int:
        """How many arrays a chain group's state is (the first outputs of ``advance``)."""
        return len(self.start.signature.outputs)


def _program_from_executables(stored: bytes) -> Program:
    names, programs = _unpack(stored)
    return Program(names, *(xla_runtime.deserialize(blob, sig) for blob, sig in programs))


def _compile(artifact: bytes) -> Program:
    """The program of an artifact, compiled for this machine."""
    names, programs = _unpack(artifact)
    COUNTERS["compiled"] += 1
    return Program(names, *(xla_runtime.compile_module(blob, sig) for blob, sig in programs))


def _program(key: dict[str, Any], build) -> tuple[Program, str]:
    """The program of ``key`` and how it was obtained (a :data:`COUNTERS` name): from
    memory, from the cache folder, or built and stored.

    Two files serve a structure: its exported programs (any machine of the platform)
    and their executables for this machine. A process that finds the executables
    runs them; one that finds only the programs compiles and stores the executables
    (and runs what it compiled: the same machine code a later process reads, which
    tests/test_compiled_cache.py checks draw for draw).
    """
    digest = key_digest(key)
    if digest in _PROGRAMS:
        COUNTERS["reused"] += 1
        return _PROGRAMS[digest], "reused"
    executable_key = {"program": digest, **xla_runtime.machine()}
    program = _read(EXECUTABLE_KIND, executable_key, _program_from_executables)
    origin = "loaded"
    if program is None:
        program = _read(ARTIFACT_KIND, key, _compile)
        if program is None:
            origin, artifact = "built", build()
            write_artifact(ARTIFACT_KIND, key, artifact)
            program = _compile(artifact)
        write_artifact(EXECUTABLE_KIND, executable_key, _pack(program.names, program.stored()))
    _PROGRAMS[digest] = program
    COUNTERS[origin] += 1
    return program, origin


def _read(kind: str, key: dict[str, Any], load: Callable[[bytes], Any]) -> Any:
    """``load`` of the stored file of ``(kind, key)``, or None when there is none or it
    cannot be read (damage means rebuild, never trust: one warning says so)."""
    stored = read_artifact(kind, key)
    if stored is None:
        return None
    try:
        return load(stored)
    except Exception as error:  # any damage means rebuild, never trust
        warnings.warn(
            f"a stored compiled program could not be read ({error}); rebuilding it",
            CacheWarning,
            stacklevel=4,
        )
        return None


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


def run_compiled(
    engine_plan: EnginePlan, *, chains: int, seed: int, progressbar: bool
) -> CompiledRun:
    """NUTS on a whitened posterior with the precompiled program of its structure.

    Parameters
    ----------
    engine_plan : EnginePlan
        The fit's structure and numbers (:meth:`bayesglm.samplers.SamplingProblem.engine_plan`).
    chains : int
        Chains to run, in groups of ``structure.chain_group`` per call of the program
        (:func:`chain_group`), the groups on as many threads as the machine has cores.
        A chain's draws depend on its seed and the group size, not on which thread
        ran it or when.
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
    program, structure = prepared.program, prepared.structure
    tune, total, group = structure.tune, structure.tune + structure.draws, structure.chain_group
    timings["program"] = time.perf_counter() - start
    start = time.perf_counter()
    signature = program.start.signature.inputs[2:]
    data = [
        xla_runtime.to_device(prepared.inputs[name], dtype)
        for name, (_, dtype) in zip(program.names, signature, strict=True)
    ]
    # Raw threefry keys, one per chain, made in numpy (and for the chains that fill up
    # the last group, whose draws are dropped).
    calls = -(-chains // group)
    keys = np.random.SeedSequence(seed).generate_state(2 * calls * group)
    keys = keys.reshape(calls, group, 2)
    stop = threading.Event()
    runs = [_ChainGroup(program, keys[i], structure, data, stop) for i in range(calls)]
    progress = Progress(chains, tune, total, show=progressbar)
    with ThreadPoolExecutor(max_workers=min(calls, cores())) as pool:
        pending = {pool.submit(run.run) for run in runs}
        try:
            while pending:
                _, pending = wait_for(pending, timeout=0.1)
                progress.update(min(total, sum(run.done for run in runs) // calls))
        except KeyboardInterrupt:
            stop.set()  # the draws so far come back; the caller says so
            wait_for(pending)
        finally:
            progress.close()
    timings["compile_and_sample"] = time.perf_counter() - start
    for run in runs:
        if run.error is not None:
            raise run.error
    # Every chain up to the iterations the shortest group reached (an interrupted run).
    kept = slice(tune, max(tune, min(total, *(run.done for run in runs))))

    def joined(pieces: list[list[np.ndarray]], *shape: int) -> np.ndarray:
        empty = np.empty((group, 0, *shape))
        per_group = [np.concatenate([*piece, empty], axis=1)[:, kept] for piece in pieces]
        return np.concatenate(per_group)[:chains]

    z = joined([run.z for run in runs], structure.k)
    sample_stats = {name: joined([run.stats[i] for run in runs]) for i, name in enumerate(_STATS)}
    # A tree of depth d takes at most 2**d - 1 leapfrog steps.
    depth = np.floor(np.log2(np.maximum(sample_stats["n_steps"], 1))).astype(np.int64) + 1
    sample_stats["tree_depth"] = depth
    sample_stats["reached_max_treedepth"] = depth >= structure.max_tree_depth
    return CompiledRun(z, sample_stats, timings)


class _ChainGroup:
    """One call's chains: ``start``, then ``advance`` until their iterations are done
    or the run is stopped (``stop``: Ctrl-C in the main thread or inside any call, or a
    call of any group that failed)."""

    def __init__(
        self,
        program: Program,
        keys: np.ndarray,
        structure: Structure,
        data: list,
        stop: threading.Event,
    ) -> None:
        self.program, self.keys, self.structure, self.data = program, keys, structure, data
        self.stop = stop
        self.done = 0
        self.z: list[np.ndarray] = []  # (group, chunk, k) each
        self.stats: list[list[np.ndarray]] = [[] for _ in _STATS]  # (group, chunk) each
        self.error: BaseException | None = None

    def run(self) -> None:
        program, structure = self.program, self.structure
        total = structure.tune + structure.draws
        size = program.state_size
        z0 = np.zeros((structure.chain_group, structure.k))
        try:
            state = program.start(self.keys, z0, *self.data)
            while self.done < total and not self.stop.is_set():
                out = program.advance(*state, *self.data)
                state = out[:size]
                self.z.append(xla_runtime.to_numpy(out[size]))
                for stats, value in zip(self.stats, out[size + 1 :], strict=True):
                    stats.append(xla_runtime.to_numpy(value))
                self.done += structure.chunk
        except KeyboardInterrupt:
            self.stop.set()
        except BaseException as error:  # raised in the caller's thread; the others stop
            self.error = error
            self.stop.set()
