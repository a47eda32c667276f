"""A quick stand-in for nutpie, for tests of what happens around the sampler.

nutpie compiles each model with numba (about ten seconds); the stand-in compiles
the same log-density graph with PyTensor's Python linker (a fraction of a second)
and keeps nutpie's contract: constants are frozen into the program when it is
compiled, every ``pm.Data`` is an input whose value ``with_data`` replaces by name
(cast to the compiled dtype, the rank checked), and ``sample`` returns draws of
``z`` and their energies (minus the log density) that depend on the seed and on
everything the program computes. The draws come from a random-walk Metropolis
chain: not a good sampler, but a deterministic function of (program, data, seed),
which is what the cache tests compare.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest
import xarray as xr
from pymc.pytensorf import compile as compile_pymc
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.replace import clone_replace
from pytensor.graph.traversal import graph_inputs

import bayesglm.model as backend


class PythonProgram:
    """The model's log density as a PyTensor function of ``z`` and its data."""

    def __init__(self, model, **_: object) -> None:
        z = model.rvs_to_values[model["z"]]
        logp = model.logp()
        shared = [var for var in graph_inputs([logp]) if isinstance(var, SharedVariable)]
        inputs = [var.type(name=var.name) for var in shared]
        graph = clone_replace(logp, dict(zip(shared, inputs, strict=True)))
        # PyMC's compile, as nutpie's: invalid parameters give -inf, not an error.
        self.function = compile_pymc([z, *inputs], graph, mode="FAST_COMPILE")
        self.data = {var.name: np.array(var.get_value()) for var in shared}

    def with_data(self, **updates: object) -> PythonProgram:
        data = dict(self.data)
        for name, value in updates.items():
            if name not in data:
                raise KeyError(f"Unknown shared variable: {name}")
            new = np.array(value, dtype=data[name].dtype)
            if new.ndim != data[name].ndim:
                raise ValueError(f"Shared variable {name} must have rank {data[name].ndim}")
            data[name] = new
        program = object.__new__(PythonProgram)
        program.function, program.data = self.function, data
        return program

    def logp(self, z: np.ndarray) -> float:
        return float(self.function(z, *self.data.values()))


def metropolis(
    program: PythonProgram, *, draws: int, tune: int, chains: int, seed: int, init_mean, **_
) -> dict:
    """nutpie.sample's signature and result layout, with random-walk Metropolis."""
    rng = np.random.default_rng(seed)
    out = np.empty((chains, draws, len(init_mean)))
    energy = np.empty((chains, draws))
    for chain in range(chains):
        z = np.array(init_mean, dtype=float)
        current = program.logp(z)
        for step in range(tune + draws):
            proposal = z + 0.5 * rng.standard_normal(z.size)
            value = program.logp(proposal)
            if np.log(rng.uniform()) < value - current:
                z, current = proposal, value
            if step >= tune:
                out[chain, step - tune] = z
                energy[chain, step - tune] = -current
    # Accept-or-reject hides small changes of the density from the draws; the
    # energy (minus the log density at each draw) shows every change.
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), np.zeros((chains, draws), bool)),
            "energy": (("chain", "draw"), energy),
        }
    )
    return {"posterior": {"z": out}, "sample_stats": stats}


@contextlib.contextmanager
def python_nutpie() -> Iterator[dict]:
    """Fits with ``sampler="nutpie"`` run on the stand-in, with an empty cache of
    compiled models (yielded) that replaces the session's for the duration."""
    import nutpie

    cache: dict = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nutpie, "compile_pymc_model", PythonProgram)
        patch.setattr(nutpie, "sample", metropolis)
        patch.setattr(backend, "_COMPILED", cache)
        yield cache
