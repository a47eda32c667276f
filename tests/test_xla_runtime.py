"""Compiled XLA programs run through jaxlib: compile, store, read back, run.

The engine's use of it (a warm fit in a fresh process runs the stored executable and
imports no JAX, with the draws of the process that compiled it) is tested in
tests/test_compiled_cache.py; here the runtime itself, on a small exported function.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bayesglm import samplers, xla_runtime

pytestmark = pytest.mark.skipif(
    "compiled" not in samplers.available_samplers(), reason="needs jax and numpyro"
)
ROOT = Path(__file__).resolve().parents[1]


def _exported():
    """sin(a) @ b and the sum of a, with a third argument the module does not read."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def f(a, b, unused):
        return jnp.sin(a) @ b, a.sum()

    avals = [
        jax.ShapeDtypeStruct((3, 4), np.float64),
        jax.ShapeDtypeStruct((4,), np.float64),
        jax.ShapeDtypeStruct((2,), np.int64),
    ]
    exported = jax.export.export(jax.jit(f))(*avals)
    signature = xla_runtime.Signature(
        tuple((tuple(a.shape), str(a.dtype)) for a in exported.in_avals),
        tuple((tuple(a.shape), str(a.dtype)) for a in exported.out_avals),
        tuple(exported.module_kept_var_idx),
    )
    return bytes(exported.mlir_module_serialized), signature


def _inputs():
    rng = np.random.default_rng(0)
    return rng.normal(size=(3, 4)), rng.normal(size=4), np.array([7, 8])


def test_a_compiled_module_gives_what_numpy_computes_and_skips_the_argument_it_drops() -> None:
    module, signature = _exported()
    assert signature.kept == (0, 1)
    program = xla_runtime.compile_module(module, signature)
    a, b, unused = _inputs()
    product, total = (xla_runtime.to_numpy(out) for out in program(a, b, unused))
    np.testing.assert_allclose(product, np.sin(a) @ b, rtol=1e-15, atol=1e-15)
    assert total.shape == () and total == pytest.approx(a.sum(), rel=1e-15)
    # A device array from one call goes into the next as it is.
    b_on_device = xla_runtime.to_device(b, "float64")
    again = program(a, b_on_device, unused)
    np.testing.assert_array_equal(xla_runtime.to_numpy(again[0]), product)


def test_a_stored_executable_reads_back_and_gives_the_same_numbers() -> None:
    module, signature = _exported()
    program = xla_runtime.compile_module(module, signature)
    stored = program.serialize()
    assert isinstance(stored, bytes) and len(stored) > 1000
    read = xla_runtime.deserialize(stored, signature)
    a, b, unused = _inputs()
    for one, two in zip(program(a, b, unused), read(a, b, unused), strict=True):
        np.testing.assert_array_equal(xla_runtime.to_numpy(one), xla_runtime.to_numpy(two))


def test_wrong_inputs_are_refused_before_they_reach_the_program() -> None:
    program = xla_runtime.compile_module(*_exported())
    a, b, unused = _inputs()
    with pytest.raises(TypeError, match="takes 3 inputs; got 2"):
        program(a, b)
    with pytest.raises(TypeError, match=r"shape \(5,\) where \(4,\) is wanted"):
        program(a, np.ones(5), unused)


def test_the_signature_round_trips_and_a_damaged_one_is_refused() -> None:
    _, signature = _exported()
    assert xla_runtime.Signature.from_json(signature.to_json()) == signature
    damaged = signature.to_json()
    damaged["kept"] = [0, 9]  # an argument that is not there
    for bad in (damaged, {"inputs": []}, {"inputs": [[[3], "no-such-dtype"]], "outputs": []}):
        with pytest.raises(ValueError, match="damaged program signature"):
            xla_runtime.Signature.from_json(bad)


def test_the_machine_names_what_an_executable_is_valid_for() -> None:
    machine = xla_runtime.machine()
    assert set(machine) == {"platform", "platform_version", "jaxlib", "processor"}
    import jax
    from jaxlib import version

    assert machine["platform"] == jax.default_backend()
    assert machine["jaxlib"] == version.__version__
    assert len(machine["processor"]) == 16


def test_without_jax_imported_the_runtime_makes_its_own_cpu_client_and_stays_quiet() -> None:
    script = (
        "import sys\n"
        "from bayesglm import xla_runtime\n"
        "print(xla_runtime.machine()['platform'], 'jax' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["cpu", "False"]
    assert done.stderr == ""  # jaxlib's INFO lines are not shown, as with JAX's own client


@pytest.mark.parametrize(
    ("platforms", "installed", "possible"),
    [
        (None, ["numpy"], False),
        (None, ["numpy", "jax_plugins"], True),
        (None, ["jax_cuda12_plugin-0.6.2.dist-info"], True),
        ("cpu", ["jax_plugins"], False),
        ("cuda,cpu", [], True),
    ],
)
def test_jax_s_client_is_used_where_jax_might_pick_an_accelerator(
    fresh_listing, tmp_path, platforms, installed, possible
) -> None:
    for name in installed:
        (tmp_path / name).mkdir()
    fresh_listing.setattr(sys, "path", [str(tmp_path)])
    if platforms is None:
        fresh_listing.delenv("JAX_PLATFORMS", raising=False)
    else:
        fresh_listing.setenv("JAX_PLATFORMS", platforms)
    assert xla_runtime._accelerator_possible() is possible
