"""The compiled engine's programs on disk: a cached fit is a fresh fit.

A second process reads the program the first stored and gives the same draws; the
key changes with every field of the structure, the versions and the code, and not
with the numbers; a damaged or foreign program is rebuilt, never run.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import bayesglm as bg
import bayesglm.samplers as samplers
from bayesglm import _cache, compiled, xla_runtime
from bayesglm.errors import CacheWarning, SamplingWarning
from bayesglm.families import FAMILIES
from bayesglm.laplace import laplace_approx
from bayesglm.sampling_data import pad_rows, reduce_data, row_bucket

from .test_statsmodels_oracle import simulate

pytestmark = pytest.mark.skipif(
    "compiled" not in samplers.available_samplers(), reason="needs jax and numpyro"
)
ROOT = Path(__file__).resolve().parents[1]
TINY = {"draws": 30, "tune": 30, "chains": 2, "progressbar": False, "sampler": "compiled"}

# One fit in a fresh process: its draws, how it got its program, what it imported.
FIT_SCRIPT = """
import json, sys
import numpy as np
import bayesglm as bg
from bayesglm import compiled
rng = np.random.default_rng(1)
X = np.column_stack([np.ones(50), rng.normal(size=50)])
y = rng.binomial(1, 1 / (1 + np.exp(-X[:, 1]))).astype(float)
fit = bg.GLM.from_arrays(X, y, family="bernoulli").fit(
    draws=30, tune=30, chains=2, seed=3, sampler="compiled", progressbar=False)
loaded = sorted(m for m in ("pymc", "pytensor", "numpyro", "arviz", "jax") if m in sys.modules)
json.dump({"draws": fit.draws().to_numpy().tolist(), "counters": compiled.COUNTERS,
           "loaded": loaded}, open(sys.argv[1], "w"))
"""


def _start_a_fit_in_a_new_process(tmp_path: Path, name: str) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / f"{name}.json"
    env = {**os.environ, "BAYESGLM_CACHE_DIR": str(tmp_path / "cache")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-W", "ignore", "-c", FIT_SCRIPT, str(out)]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True), out


def _result(started: tuple[subprocess.Popen, Path]) -> dict:
    process, out = started
    _, error = process.communicate(timeout=600)
    assert process.returncode == 0, error
    return json.loads(out.read_text())


def _fit_in_a_new_process(tmp_path: Path, name: str) -> dict:
    return _result(_start_a_fit_in_a_new_process(tmp_path, name))


def test_a_second_process_reads_the_program_and_gives_the_same_draws(tmp_path) -> None:
    cold = _fit_in_a_new_process(tmp_path, "cold")
    warm = _fit_in_a_new_process(tmp_path, "warm")
    assert cold["counters"] == {"built": 1, "loaded": 0, "reused": 0, "compiled": 1}
    # The warm process read the executable: no XLA compile.
    assert warm["counters"] == {"built": 0, "loaded": 1, "reused": 0, "compiled": 0}
    # A warm fit runs the stored executable through jaxlib: no PyMC model, and no
    # PyMC, pytensor, numpyro or JAX imported.
    assert "jax" in cold["loaded"] and warm["loaded"] == []
    np.testing.assert_array_equal(np.array(cold["draws"]), np.array(warm["draws"]))


def test_two_processes_building_one_program_at_once_agree_and_store_it_once(tmp_path) -> None:
    started = [_start_a_fit_in_a_new_process(tmp_path, name) for name in ("one", "two")]
    one, two = (_result(process) for process in started)
    # Both built it (neither found it stored); each wrote it whole, the last rename won.
    assert one["counters"]["built"] + one["counters"]["loaded"] == 1
    assert two["counters"]["built"] + two["counters"]["loaded"] == 1
    stored = sorted(
        path.name.split("-")[0] for path in (tmp_path / "cache" / "artifacts").iterdir()
    )
    assert stored == [compiled.ARTIFACT_KIND, compiled.EXECUTABLE_KIND]
    later = _fit_in_a_new_process(tmp_path, "later")
    assert later["counters"] == {"built": 0, "loaded": 1, "reused": 0, "compiled": 0}
    for result in (two, later):
        np.testing.assert_array_equal(np.array(result["draws"]), np.array(one["draws"]))


def _structure(family="poisson", link="log", priors=None, n=60, seed=0, **run):
    X, y, trials = simulate(FAMILIES[family], link, n=n, seed=seed)
    model = bg.GLM.from_arrays(X, y, family=family, link=link, trials=trials)
    resolved = model.resolve_priors(priors)
    laplace = laplace_approx(model.design, model.spec, resolved, model.fit_mle())
    reduced = reduce_data(model.design, model.spec)
    padded = pad_rows(reduced, model.spec, row_bucket(reduced.n_rows))
    settings = {"chains": 4, "tune": 1000, "draws": 1000, "target_accept": 0.8, **run}
    return compiled.structure_of(model.spec, resolved, laplace, padded, **settings)


def test_the_key_names_the_structure_and_not_the_numbers() -> None:
    base = _structure()
    # Other data, other prior numbers, another n in the same bucket: one program.
    same = _structure(n=50, seed=4, priors={"coef": bg.Normal(1.0, 3.0)})
    assert same == base
    # Another bucket, prior class, family, link, reduction, run settings: another.
    assert _structure(n=65).n_bucket == 128 != base.n_bucket
    assert _structure(priors={"coef": bg.StudentT(3, 0, 1)}).coef_priors != base.coef_priors
    assert _structure(family="gamma").natural_prior not in (None, base.natural_prior)
    assert _structure(family="gaussian", link="identity").kind == "sufficient"
    assert _structure(family="binomial", link="logit").has_trials
    assert _structure(draws=500).draws == 500


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(compiled.Structure)])
def test_every_field_of_the_structure_changes_the_key(field: str) -> None:
    base = _structure()
    value = getattr(base, field)
    match value:
        case bool():
            other = not value
        case int() | float():
            other = value + 1
        case str():
            other = f"{value}x"
        case tuple():
            other = (*value, ("Cauchy", 1))
        case None:
            other = "Exponential"
    changed = dataclasses.replace(base, **{field: other})
    assert _cache.key_digest(compiled.structure_key(changed)) != _cache.key_digest(
        compiled.structure_key(base)
    )


def test_versions_code_and_platform_are_in_the_key(monkeypatch) -> None:
    key = compiled.structure_key(_structure())
    assert set(key["versions"]) == {"bayesglm", "pymc", "pytensor", "numpyro", "jax", "jaxlib"}
    assert all(key["versions"].values())
    assert len(key["code"]) == 64
    assert (
        key["platform"] == compiled._jax().default_backend() == xla_runtime.machine()["platform"]
    )
    changed = {**key, "platform": "gpu"}  # a program exported for another platform
    assert _cache.key_digest(changed) != _cache.key_digest(key)
    compiled._code_digest.cache_clear()
    try:
        monkeypatch.setattr(compiled, "_GRAPH_MODULES", compiled._GRAPH_MODULES[:-1])
        assert compiled.structure_key(_structure())["code"] != key["code"]
    finally:
        monkeypatch.undo()
        compiled._code_digest.cache_clear()


def _tiny_model() -> bg.GLM:
    X, y, _ = simulate(FAMILIES["poisson"], "log", n=40, seed=9)
    return bg.GLM.from_arrays(X, y, family="poisson")


def _tiny_fit(seed: int = 2):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return _tiny_model().fit(seed=seed, **TINY)


def _tiny_key() -> dict:
    model = _tiny_model()
    resolved = model.resolve_priors()
    laplace = laplace_approx(model.design, model.spec, resolved, model.fit_mle())
    run = {"chains": 2, "tune": 30, "draws": 30, "target_accept": 0.8}
    _, structure = compiled.plan(model.design, model.spec, resolved, laplace, **run)
    return compiled.structure_key(structure)


def test_a_folder_that_cannot_be_written_still_fits_with_one_warning(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("BAYESGLM_CACHE_DIR", str(tmp_path / "writable"))
    monkeypatch.setattr(compiled, "_PROGRAMS", {})
    expected = _tiny_fit().draws().to_numpy()

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    # As a read-only folder refuses (root writes through chmod, so refuse the rename).
    monkeypatch.setenv("BAYESGLM_CACHE_DIR", str(tmp_path / "read-only"))
    monkeypatch.setattr(os, "replace", refuse)
    monkeypatch.setattr(_cache, "_warned", False)
    monkeypatch.setattr(compiled, "_PROGRAMS", {})
    with pytest.warns(CacheWarning, match="fits still work") as caught:
        np.testing.assert_array_equal(_tiny_fit().draws().to_numpy(), expected)
    assert len([w for w in caught if issubclass(w.category, CacheWarning)]) == 1
    assert _cache.read_artifact(compiled.ARTIFACT_KIND, _tiny_key()) is None
    assert _cache.read_artifact(compiled.EXECUTABLE_KIND, _executable_key()) is None


def _executable_key() -> dict:
    return {"program": _cache.key_digest(_tiny_key()), **xla_runtime.machine()}


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_damaged_or_foreign_programs_are_rebuilt(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BAYESGLM_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(compiled, "_PROGRAMS", {})
    first = _tiny_fit().draws().to_numpy()
    [program] = (tmp_path / "artifacts").rglob(f"{compiled.ARTIFACT_KIND}-*")
    [executable] = (tmp_path / "artifacts").rglob(f"{compiled.EXECUTABLE_KIND}-*")
    counts = dict(compiled.COUNTERS)

    def fit_again(built: int, compiled_: int) -> None:
        monkeypatch.setattr(compiled, "_PROGRAMS", {})
        np.testing.assert_array_equal(_tiny_fit().draws().to_numpy(), first)
        assert compiled.COUNTERS["built"] == counts["built"] + built
        assert compiled.COUNTERS["compiled"] == counts["compiled"] + compiled_

    # A flipped byte in the executable: the store's checksum refuses it, and the
    # stored program is compiled again (not exported again).
    _flip_a_byte(executable)
    fit_again(built=0, compiled_=1)
    # A flipped byte in the program, with no executable: exported and compiled anew.
    _flip_a_byte(program)
    executable.unlink()
    fit_again(built=1, compiled_=2)

    # Whole files of the right keys that are not programs: refused with a warning.
    _cache.write_artifact(compiled.EXECUTABLE_KIND, _executable_key(), b"not an executable")
    with pytest.warns(CacheWarning, match="could not be read"):
        fit_again(built=1, compiled_=3)
    _cache.write_artifact(compiled.EXECUTABLE_KIND, _executable_key(), b"not an executable")
    _cache.write_artifact(compiled.ARTIFACT_KIND, _tiny_key(), b"not a program")
    with pytest.warns(CacheWarning, match="could not be read"):
        fit_again(built=2, compiled_=4)
