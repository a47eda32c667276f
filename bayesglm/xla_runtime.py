"""Compiled XLA programs run through jaxlib's client, without importing JAX.

The engine's programs are StableHLO modules (exported by JAX once per structure,
:mod:`bayesglm.compiled`). This module compiles such a module for this machine,
serializes the executable so that a later process reads it instead of compiling,
and runs it: numpy arrays in, device arrays out, kept on the device between calls.
A warm fit therefore loads jaxlib and not JAX itself, whose import alone would take
longer than the whole fit in a fresh process.

On a machine whose JAX would run on an accelerator (a GPU or TPU plugin installed
and ``JAX_PLATFORMS`` not ``cpu``), the client is JAX's own, so the engine runs
where JAX runs; everywhere else it is a CPU client of jaxlib's, made here.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._versions import installed_names

__all__ = [
    "Executable",
    "Signature",
    "compile_module",
    "deserialize",
    "machine",
    "to_device",
    "to_numpy",
]

_ACCELERATOR_PLUGINS = ("jax_plugins", "jax_cuda", "jax_rocm", "libtpu")
"""Prefixes of the installed modules through which JAX finds a GPU or TPU."""


@dataclass(frozen=True)
class Signature:
    """The shapes and dtypes of a program's arguments and outputs, in order, and which
    arguments the compiled module reads (an unused one is dropped from it)."""

    inputs: tuple[tuple[tuple[int, ...], str], ...]
    outputs: tuple[tuple[tuple[int, ...], str], ...]
    kept: tuple[int, ...]

    def to_json(self) -> dict[str, list]:
        """A JSON-able form (:meth:`from_json` reads it back)."""
        return {
            "inputs": [[list(shape), dtype] for shape, dtype in self.inputs],
            "outputs": [[list(shape), dtype] for shape, dtype in self.outputs],
            "kept": list(self.kept),
        }

    @classmethod
    def from_json(cls, data: Any) -> Signature:
        """The signature :meth:`to_json` wrote; ValueError when it is malformed."""
        try:
            inputs, outputs = (
                tuple(
                    (tuple(int(n) for n in shape), str(np.dtype(dtype)))
                    for shape, dtype in data[side]
                )
                for side in ("inputs", "outputs")
            )
            kept = tuple(int(i) for i in data["kept"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError("damaged program signature") from error
        if any(not 0 <= i < len(inputs) for i in kept):
            raise ValueError("damaged program signature")
        return cls(inputs, outputs, kept)


class _Aval:
    """What jaxlib reads of an abstract value when it makes an array."""

    __slots__ = ("dtype", "shape", "weak_type")

    def __init__(self, shape: tuple[int, ...], dtype: str) -> None:
        self.shape, self.dtype, self.weak_type = shape, np.dtype(dtype), False


@dataclass(frozen=True)
class _Runtime:
    client: Any
    devices: Any  # the one device the programs run on, as jaxlib takes it
    sharding: Any
    platform: str


def _accelerator_possible() -> bool:
    """Whether JAX might pick a GPU or TPU here: ``JAX_PLATFORMS`` names one, or it is
    unset and a plugin module is installed."""
    wanted = os.environ.get("JAX_PLATFORMS", "").strip().lower()
    if wanted:
        return wanted.split(",")[0].strip() != "cpu"
    return any(name.startswith(_ACCELERATOR_PLUGINS) for name in installed_names())


@functools.cache
def _runtime() -> _Runtime:
    from jaxlib import _jax, xla_client

    if _accelerator_possible() or "jax" in sys.modules:
        import jax

        device = jax.devices()[0]
        client, name = device.client, jax.default_backend()
    else:
        if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
            # As quiet as JAX's own client: no INFO lines on standard error.
            from jaxlib import utils

            utils.absl_set_min_log_level(1)
        client = xla_client.make_cpu_client()
        device, name = client.local_devices()[0], "cpu"
    return _Runtime(
        client, xla_client.DeviceList((device,)), _jax.SingleDeviceSharding(device), name
    )


@functools.cache
def machine() -> dict[str, str]:
    """What a stored executable is valid for: the platform, its version, jaxlib's
    version and, on the CPU, the processor (compiled code uses its instruction set)."""
    from jaxlib import version

    runtime = _runtime()
    processor = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            lines = handle.read().split("\n\n")[0].splitlines()
        processor = "\n".join(
            line for line in lines if line.startswith(("model name", "flags", "vendor_id"))
        )
    except OSError:
        pass
    return {
        "platform": runtime.platform,
        "platform_version": str(runtime.client.platform_version),
        "jaxlib": version.__version__,
        "processor": hashlib.sha256(processor.encode()).hexdigest()[:16],
    }


class Executable:
    """A compiled program: call it with numpy arrays or arrays an earlier call returned;
    it returns device arrays (:func:`to_numpy` brings one to the host)."""

    def __init__(self, loaded: Any, signature: Signature) -> None:
        from jaxlib import _jax

        runtime = _runtime()
        self._loaded, self.signature = loaded, signature
        self._handlers = [
            _jax.array_result_handler(_Aval(shape, dtype), runtime.sharding, True)
            for shape, dtype in signature.outputs
        ]

    def __call__(self, *args: Any) -> list[Any]:
        if len(args) != len(self.signature.inputs):
            raise TypeError(
                f"the program takes {len(self.signature.inputs)} inputs; got {len(args)}"
            )
        arrays = []
        for index in self.signature.kept:
            arg, (shape, dtype) = args[index], self.signature.inputs[index]
            if isinstance(arg, np.ndarray | np.generic | int | float):
                if np.shape(arg) != shape:
                    raise TypeError(f"an input of shape {np.shape(arg)} where {shape} is wanted")
                arg = to_device(arg, dtype)
            arrays.append(arg)
        results = self._loaded.execute_sharded(arrays)
        return results.consume_with_handlers(self._handlers)

    def serialize(self) -> bytes:
        """The executable as bytes, for :func:`deserialize` on this :func:`machine`."""
        return bytes(_runtime().client.serialize_executable(self._loaded))


def compile_module(module: bytes, signature: Signature) -> Executable:
    """Compile a serialized StableHLO module (as ``jax.export`` writes it) for this machine."""
    from jaxlib import xla_client

    runtime = _runtime()
    loaded = runtime.client.compile_and_load(module, runtime.devices, xla_client.CompileOptions())
    return Executable(loaded, signature)


def deserialize(serialized: bytes, signature: Signature) -> Executable:
    """The executable :meth:`Executable.serialize` wrote on this :func:`machine`.

    Loading runs code the bytes hold: read only what this machine wrote to the
    user's own cache folder (whose files are checked whole before they get here).
    """
    runtime = _runtime()
    return Executable(
        runtime.client.deserialize_executable(serialized, runtime.devices), signature
    )


def to_device(array: Any, dtype: str) -> Any:
    """A numpy array (converted to ``dtype``) on the programs' device, to pass to
    several calls without copying it again."""
    from jaxlib import _jax

    runtime = _runtime()
    host = np.ascontiguousarray(array, dtype=dtype)
    aval = _Aval(host.shape, dtype)
    return _jax.batched_device_put(
        aval, runtime.sharding, [host], list(runtime.devices), enable_x64=True
    )


def to_numpy(array: Any) -> np.ndarray:
    """A device array's values on the host (a view where the device is the CPU)."""
    try:
        return np.asarray(memoryview(array))
    except (TypeError, BufferError):  # an accelerator's memory: JAX copies it
        return np.asarray(array)
