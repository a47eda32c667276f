"""``bayesglm warmup``: the programs it compiles are the ones later fits use, and a
fit on a warmed-up program gives the draws of a fit that compiled its own."""

from __future__ import annotations

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
from bayesglm import compiled
from bayesglm.cli import main
from bayesglm.errors import BayesGLMError, SamplingWarning
from bayesglm.warmup import WarmedProgram, _structures, warm_up

pytestmark = pytest.mark.skipif(
    "compiled" not in samplers.available_samplers(), reason="needs jax and numpyro"
)
ROOT = Path(__file__).resolve().parents[1]
RUN = {"draws": 30, "tune": 30, "chains": 2}

# A user's fit in a fresh process: its draws, how it got its program, whether it imported JAX.
USER_FIT = """
import json, sys
import numpy as np
import bayesglm as bg
from bayesglm import compiled
rng = np.random.default_rng(7)
X = np.column_stack([np.ones(90), rng.uniform(size=90)])
y = rng.poisson(np.exp(0.5 + X[:, 1])).astype(float)
fit = bg.GLM.from_arrays(X, y, family="poisson").fit(
    draws=30, tune=30, chains=2, seed=5, progressbar=False)
json.dump({"draws": fit.draws().to_numpy().tolist(), "counters": compiled.COUNTERS,
           "sampler": fit.sampler, "jax": "jax" in sys.modules}, open(sys.argv[1], "w"))
"""


def _run_script(script: str, tmp_path: Path, cache: str) -> dict:
    """What ``script`` wrote, run in a fresh process on the cache folder ``cache``."""
    out = tmp_path / f"{cache}.json"
    env = {**os.environ, "BAYESGLM_CACHE_DIR": str(tmp_path / cache)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-W", "ignore", "-c", script, str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


def _user_fit(tmp_path: Path, cache: str) -> dict:
    return _run_script(USER_FIT, tmp_path, cache)


@pytest.fixture
def empty_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("BAYESGLM_CACHE_DIR", str(tmp_path / "warm"))
    monkeypatch.setattr(compiled, "_PROGRAMS", {})
    return tmp_path


def test_warmup_compiles_each_structure_once(empty_cache) -> None:
    done = warm_up(["poisson"], max_p=2, max_rows=128, **RUN)
    # Intercept-only rows are all equal and merge into one row: one bucket serves them.
    assert [(w.family, w.link, w.p, w.rows) for w in done] == [
        ("poisson", "log", 1, 64),
        ("poisson", "log", 2, 64),
        ("poisson", "log", 2, 128),
    ]
    assert {w.origin for w in done} == {"built"}
    assert "poisson (log), p = 2, rows <= 128: compiled and stored" in str(done[-1])
    again = warm_up(["poisson"], max_p=2, max_rows=128, **RUN)
    assert {w.origin for w in again} == {"reused"}


def test_a_fit_after_warmup_loads_both_and_gives_the_draws_of_a_fresh_fit(tmp_path) -> None:
    # In processes of their own, as a user's later session would be.
    env = {**os.environ, "BAYESGLM_CACHE_DIR": str(tmp_path / "warm")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "bayesglm.cli", "warmup", "--families", "poisson"]
    options = ["--max-p", "2", "--max-rows", "128", "--draws", "30", "--tune", "30"]
    subprocess.run([*command, *options, "--chains", "2"], env=env, check=True, timeout=600)
    # The stored program and its executables compiled by warmup, not at the fit.
    warmed = _user_fit(tmp_path, "warm")
    assert warmed["sampler"] == "compiled"
    assert warmed["counters"] == {"built": 0, "loaded": 1, "reused": 0, "compiled": 0}
    assert not warmed["jax"]
    cold = _user_fit(tmp_path, "cold")
    assert cold["counters"] == {"built": 1, "loaded": 0, "reused": 0, "compiled": 1}
    np.testing.assert_array_equal(np.array(warmed["draws"]), np.array(cold["draws"]))


def test_gaussian_identity_needs_one_program_per_p_whatever_the_rows(empty_cache) -> None:
    done = warm_up(["gaussian"], max_p=2, max_rows=256, **RUN)
    assert [(w.p, w.rows) for w in done] == [(1, 0), (2, 0)]
    assert str(done[0]).startswith("gaussian (identity), p = 1, any rows: compiled and stored")


def test_links_other_than_the_canonical_one(empty_cache) -> None:
    done = warm_up(["bernoulli", "poisson"], links=["probit"], max_p=1, max_rows=64, **RUN)
    assert [(w.family, w.link) for w in done] == [("bernoulli", "probit")]
    X = np.column_stack([np.ones(40)])
    y = np.tile([0.0, 1.0, 1.0, 0.0], 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        bg.GLM.from_arrays(X, y, family="bernoulli", link="probit").fit(
            seed=1, progressbar=False, **RUN
        )
    assert compiled.COUNTERS["reused"] >= 1


def test_the_command_prints_each_structure_and_a_total(empty_cache, capsys) -> None:
    argv = ["warmup", "--families", "bernoulli", "--max-p", "1", "--max-rows", "64"]
    assert main([*argv, "--draws", "30", "--tune", "30", "--chains", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("bernoulli (logit), p = 1, rows <= 64: compiled and stored (")
    assert out[-1].startswith("1 program(s) compiled, 0 already stored, in ")


# Fits of a categorical and a cumulative outcome, from formulas, in a fresh process.
USER_CATEGORY_FITS = """
import json, sys
import numpy as np, pandas as pd
import bayesglm as bg
from bayesglm import compiled
rng = np.random.default_rng(3)
x = rng.normal(size=50)
codes = np.digitize(x + rng.logistic(size=50), [-0.8, 0.8])
ordered = pd.Categorical.from_codes(codes, ["lo", "mid", "hi"], ordered=True)
frame = pd.DataFrame({"x": x, "unordered": np.array(["car", "bus", "bike"])[codes],
                      "ordered": ordered})
draws = {}
for family, y in [("categorical", "unordered"), ("cumulative", "ordered")]:
    fit = bg.GLM(f"{y} ~ x", frame, family=family).fit(
        draws=30, tune=30, chains=2, seed=5, progressbar=False)
    assert fit.sampler == "compiled", fit.sampler
    draws[family] = fit.theta_draws.tolist()
json.dump({"draws": draws, "counters": compiled.COUNTERS, "jax": "jax" in sys.modules},
          open(sys.argv[1], "w"))
"""


def test_category_structures_after_warmup_load_and_give_the_draws_of_fresh_fits(
    tmp_path, monkeypatch, capsys
) -> None:
    env = {**os.environ, "BAYESGLM_CACHE_DIR": str(tmp_path / "warm")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "bayesglm.cli", "warmup", "--levels", "3"]
    options = ["--families", "categorical", "cumulative"]
    options += ["--max-p", "2", "--max-rows", "64", "--draws", "30", "--tune", "30"]
    done = subprocess.run(
        [*command, *options, "--chains", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    # The intercept is a cumulative outcome's cutpoints: p counts its predictors.
    assert [line.split(": ")[0] for line in done.stdout.splitlines()[:-1]] == [
        "categorical (logit), 3 levels, p = 1, rows <= 64",
        "categorical (logit), 3 levels, p = 2, rows <= 64",
        "cumulative (logit), 3 levels, p = 0, rows <= 64",
        "cumulative (logit), 3 levels, p = 1, rows <= 64",
    ]
    monkeypatch.setenv("BAYESGLM_CACHE_DIR", str(tmp_path / "warm"))
    assert main(["cache", "info"]) == 0
    assert capsys.readouterr().out.splitlines()[1:4] == [
        "compiled models: 4 (nuts: 4), with executables for 1 machine(s)",
        "  categorical (logit), 3 levels: 2 (p = 1 to 2)",
        "  cumulative (logit), 3 levels: 2 (p = 0 to 1)",
    ]
    warmed = _run_script(USER_CATEGORY_FITS, tmp_path, "warm")
    assert warmed["counters"] == {"built": 0, "loaded": 2, "reused": 0, "compiled": 0}
    assert not warmed["jax"]
    cold = _run_script(USER_CATEGORY_FITS, tmp_path, "cold")
    assert cold["counters"] == {"built": 2, "loaded": 0, "reused": 0, "compiled": 2}
    for family in ("categorical", "cumulative"):
        np.testing.assert_array_equal(
            np.array(warmed["draws"][family]), np.array(cold["draws"][family])
        )


def test_the_structures_of_categorical_outcomes_count_their_levels() -> None:
    shapes = list(_structures(["cumulative", "poisson"], None, 2, 64, [3, 5]))
    assert [(s.family, s.link, s.levels, s.columns) for s in shapes] == [
        ("cumulative", "logit", 3, 1),
        ("cumulative", "logit", 3, 2),
        ("cumulative", "logit", 5, 1),
        ("cumulative", "logit", 5, 2),
        ("poisson", "log", 0, 1),
        ("poisson", "log", 0, 2),
    ]
    # Only the links a family allows: the categorical family has the logit alone.
    shapes = _structures(["categorical", "cumulative"], ["probit"], 1, 64, [4])
    assert [(s.family, s.link, s.levels) for s in shapes] == [("cumulative", "probit", 4)]
    line = WarmedProgram("cumulative", "probit", 2, 128, "loaded", 0.04, 4)
    assert str(line) == "cumulative (probit), 4 levels, p = 2, rows <= 128: already stored (0.0 s)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"families": ["poison"]}, r"unknown family; the families are gaussian, .*"),
        ({"max_p": 0}, r"max_p must be an integer >= 1; got \(max_p=0\)\."),
        ({"max_rows": 2.5}, r"max_rows must be an integer >= 1; got \(max_rows=2\.5\)\."),
        ({"levels": [3, 2]}, r"levels must be integers >= 3 .*; got \(levels=\[3, 2\]\)\."),
        ({"levels": []}, r"levels must be integers >= 3 .*; got \(levels=\[\]\)\."),
    ],
)
def test_bad_arguments_are_refused_before_any_work(kwargs, message, empty_cache) -> None:
    with pytest.raises(BayesGLMError, match=message):
        warm_up(**kwargs)
    assert not (empty_cache / "warm").exists()


def test_the_default_families_leave_out_the_quasi_families(monkeypatch, empty_cache) -> None:
    """A quasi-family has no posterior, so no program; naming one is refused."""
    import bayesglm.warmup as warmup

    asked = []
    monkeypatch.setattr(warmup, "_structures", lambda names, *rest: asked.append(names) or [])
    assert warm_up() == []
    glm = [n for n in bg.FAMILIES if n not in ("quasipoisson", "quasibinomial")]
    assert asked == [[*glm, "categorical", "cumulative"]]
    monkeypatch.undo()
    with pytest.raises(BayesGLMError, match=r"the quasibinomial family has no posterior"):
        warm_up(["quasibinomial"], max_p=1, max_rows=64, draws=10, tune=10, chains=1)
