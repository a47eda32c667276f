"""The precompiled engine runs categorical and cumulative fits (issues #12, #15).

As tests/test_compiled.py does for the other families: the JAX log-density and its
gradient equal PyMC's at random points, padded or not, the numbers the
engine feeds the program are the model's own ``pm.Data``, the key names what changes
the program, the posterior equals the numpyro path's within Monte Carlo error, and a
second process reads the stored program.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pytensor.compile.sharedvalue import SharedVariable

import bayesglm as bg
import bayesglm.samplers as samplers
from bayesglm import compiled
from bayesglm.category_families import CATEGORY_FAMILIES
from bayesglm.category_model import (
    build_category_sampling_model,
    category_inputs,
    category_problem,
    category_rows,
    pad_category_rows,
)
from bayesglm.sampling_data import row_bucket

from .test_category_bayes import _frame

pytestmark = pytest.mark.skipif(
    "compiled" not in samplers.available_samplers(), reason="needs jax and numpyro"
)
ROOT = Path(__file__).resolve().parents[1]

CASES = [("categorical", "logit", {}), ("categorical", "logit", {"reference": "bike"})] + [
    ("cumulative", link, {}) for link in CATEGORY_FAMILIES["cumulative"].links
]


def _problem(family, link, extra=None, priors=None, n=90, seed=0):
    model = bg.GLM(
        "y ~ x + g",
        _frame(family, n, seed),
        family=family,
        link=link,
        weights="w",
        **(extra or {}),
    )
    resolved = model.resolve_priors(priors)
    mle = model.fit_mle()
    problem = category_problem(
        model.spec, model.cdesign, resolved, mle.params_array, mle.cov_array
    )
    return model, resolved, problem


@pytest.mark.parametrize(("family", "link", "extra"), CASES, ids=str)
@pytest.mark.parametrize("user", [False, True], ids=["default priors", "user priors"])
def test_jax_log_density_and_gradient_equal_pymcs_padded_blocked_or_not(
    family, link, extra, user
) -> None:
    import jax

    priors = None
    if user:
        priors = {"x": bg.StudentT(3, 0, 1)}
        if family == "cumulative":
            priors["cutpoints"] = bg.Normal(0, 3)
    model, resolved, problem = _problem(family, link, extra, priors)
    spec, cdesign, mode, chol = model.spec, model.cdesign, problem.mode, problem.chol
    reference = build_category_sampling_model(spec, cdesign, resolved, mode, chol)
    logp = reference.compile_logp(mode="FAST_COMPILE")
    dlogp = reference.compile_dlogp(mode="FAST_COMPILE")
    rows = category_rows(cdesign)
    padded = pad_category_rows(rows, 2 * row_bucket(rows.n_rows))
    assert padded.data["y"].shape[0] == 256 > rows.n_rows
    programs = []
    for data in (rows, padded):
        sampling = build_category_sampling_model(spec, cdesign, resolved, mode, chol, data)
        density = compiled.log_density(sampling)
        inputs = category_inputs(resolved, mode, chol, data)
        # What the engine feeds the program is exactly the model's data.
        shared = {
            name: var.get_value()
            for name, var in sampling.named_vars.items()
            if isinstance(var, SharedVariable)
        }
        assert set(density.names) <= set(shared) == set(inputs)
        for name, value in shared.items():
            np.testing.assert_array_equal(inputs[name], value, err_msg=name)
            assert inputs[name].dtype.kind == value.dtype.kind, name
        args = [inputs[name] for name in density.names]
        programs.append(jax.jit(lambda z, f=density, a=args: f(z, *a)))
    rng = np.random.default_rng(7)
    for _ in range(4):
        z = rng.normal(0.0, 0.7, size=mode.size)
        value, gradient = float(logp({"z": z})), dlogp({"z": z})
        assert np.isfinite(value)
        scale = max(np.abs(gradient).max(), 1.0)
        for program in programs:
            assert abs(float(program(z)) - value) / max(abs(value), 1.0) < 1e-12
            got = np.asarray(jax.grad(program)(z))
            np.testing.assert_array_less(np.abs(got - gradient) / scale, 1e-12)


def test_padded_rows_stay_finite_where_their_probabilities_underflow() -> None:
    """Far cutpoints: at X = 0 (a padded row) the first level's probability is 0 in
    float64, yet the padded density and gradient equal the unpadded ones."""
    import jax

    frame = _frame("cumulative", 90)
    frame["x"] -= 40.0  # linear predictors near -32, and the cutpoints with them
    model = bg.GLM("y ~ x", frame, family="cumulative", link="loglog")
    resolved, mle = model.resolve_priors(), model.fit_mle()
    spec, cdesign = model.spec, model.cdesign
    problem = category_problem(spec, cdesign, resolved, mle.params_array, mle.cov_array)
    assert spec.link.inverse(mle.params_array[1]) == 0.0
    rows = category_rows(cdesign)
    values = []
    for data in (rows, pad_category_rows(rows, 128)):
        sampling = build_category_sampling_model(
            spec, cdesign, resolved, problem.mode, problem.chol, data
        )
        density = compiled.log_density(sampling)
        inputs = category_inputs(resolved, problem.mode, problem.chol, data)
        args = [inputs[name] for name in density.names]
        z = np.full(problem.mode.size, 0.1)
        values.append(jax.value_and_grad(lambda z, a=args, f=density: f(z, *a))(z))
    (value, grad), (padded_value, padded_grad) = values
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert abs(float(padded_value) - float(value)) / abs(float(value)) < 1e-12
    np.testing.assert_array_less(np.abs(padded_grad - grad) / np.abs(grad).max(), 1e-12)


def _structure(family="cumulative", link="logit", priors=None, n=90, seed=0, extra=None):
    _, _, problem = _problem(family, link, extra, priors, n=n, seed=seed)
    run = {"chains": 4, "tune": 1000, "draws": 1000, "target_accept": 0.8}
    return problem.engine_plan(**run).structure


def test_the_key_names_levels_link_and_priors_and_not_the_numbers() -> None:
    base = _structure()
    assert base.levels == 4 and base.k == 6 and base.natural_prior == "Dirichlet"
    # Other data and prior numbers, another n in the same bucket: one program.
    assert _structure(n=80, seed=3, priors={"coef": bg.Normal(1.0, 3.0)}) == base
    assert _structure(link="probit").link == "probit"
    assert _structure(priors={"cutpoints": bg.Normal(0, 5)}).natural_prior == "cutpoints:Normal"
    assert _structure(priors={"x": bg.StudentT(3, 0, 1)}).coef_priors != base.coef_priors
    categorical = _structure("categorical")
    assert (categorical.family, categorical.levels, categorical.natural_prior) == (
        "categorical",
        3,
        None,
    )
    # The reference level is data (the codes), not structure.
    assert _structure("categorical", extra={"reference": "bike"}) == categorical
    assert _structure(n=200).n_bucket == 256 != base.n_bucket
    # No blocked pass over the rows at any n (see category_model.category_problem).
    assert _structure(n=40_000).row_block == 0
    keys = {json.dumps(compiled.structure_key(s), sort_keys=True) for s in (base, categorical)}
    assert len(keys) == 2


@pytest.fixture(scope="module", params=["categorical", "cumulative"])
def both_paths(request):
    model = bg.GLM("y ~ x + g", _frame(request.param, 400), family=request.param)
    run = {"draws": 1000, "tune": 500, "chains": 2, "progressbar": False}
    return [model.fit(sampler=s, seed=5, **run) for s in ("compiled", "numpyro")]


def test_the_engine_samples_the_numpyro_paths_posterior(both_paths) -> None:
    engine, numpyro = both_paths
    assert engine.sampler == "compiled" and numpyro.sampler == "numpyro"
    a, b = engine.summary(), numpyro.summary()
    gap = (a["mean"] - b["mean"]).abs() / np.hypot(a["mcse_mean"], b["mcse_mean"])
    assert gap.max() < 4, gap
    np.testing.assert_allclose(a["sd"], b["sd"], rtol=0.15)
    assert engine.diagnostics()["divergences"] == 0


def test_auto_runs_the_engine_for_these_families() -> None:
    model = bg.GLM("y ~ x", _frame("cumulative", 60), family="cumulative")
    fit = model.fit(draws=20, tune=20, chains=1, seed=1, progressbar=False)
    assert fit.sampler == "compiled"


FIT_SCRIPT = """
import json, sys
import numpy as np, pandas as pd
import bayesglm as bg
from bayesglm import compiled
rng = np.random.default_rng(int(sys.argv[2]))
x = rng.normal(size=70)
y = pd.Categorical.from_codes(np.digitize(x + rng.logistic(size=70), [-1.0, 0.5]),
                              ["low", "mid", "high"], ordered=True)
fit = bg.GLM("y ~ x", pd.DataFrame({"y": y, "x": x}), family="cumulative").fit(
    draws=30, tune=30, chains=2, seed=3, sampler="compiled", progressbar=False)
loaded = sorted(m for m in ("pymc", "pytensor", "numpyro", "jax") if m in sys.modules)
json.dump({"draws": fit.theta_draws.tolist(), "counters": compiled.COUNTERS,
           "loaded": loaded}, open(sys.argv[1], "w"))
"""


def _fit_in_a_new_process(tmp_path: Path, name: str, seed: int) -> dict:
    out = tmp_path / f"{name}.json"
    env = {**os.environ, "BAYESGLM_CACHE_DIR": str(tmp_path / "cache")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-W", "ignore", "-c", FIT_SCRIPT, str(out), str(seed)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


def test_a_second_process_reads_the_program_for_other_data(tmp_path) -> None:
    cold = _fit_in_a_new_process(tmp_path, "cold", 1)
    warm = _fit_in_a_new_process(tmp_path, "warm", 1)
    other = _fit_in_a_new_process(tmp_path, "other", 2)
    assert cold["counters"] == {"built": 1, "loaded": 0, "reused": 0, "compiled": 1}
    for later in (warm, other):
        assert later["counters"] == {"built": 0, "loaded": 1, "reused": 0, "compiled": 0}
        # A warm fit runs the stored executable: no PyMC model, no PyMC, pytensor,
        # numpyro or JAX.
        assert later["loaded"] == []
    np.testing.assert_array_equal(np.array(cold["draws"]), np.array(warm["draws"]))
    assert not np.array_equal(np.array(cold["draws"]), np.array(other["draws"]))


def _every_cutpoint_likelihood(spec, K, d, beta, zeta):
    """The cumulative likelihood as it was first written (the slow path): the link's
    distribution function at every cutpoint for every row, the row's own level then
    picked by a product with its indicator."""
    import pytensor.tensor as pt

    from bayesglm._xp import pt_ns

    eta = pt.dot(d["X"], beta)
    F = spec.link.inverse(zeta[None, :] - eta[:, None], pt_ns())
    edge = pt.zeros_like(eta)[:, None]
    F = pt.concatenate([edge, F, edge + 1.0], axis=1)
    mask = d["mask"][:, None]
    probabilities = mask * (F[:, 1:] - F[:, :-1]) + (1.0 - mask) / K
    chosen = pt.sum(pt.eq(d["y"][:, None], pt.arange(K)) * probabilities, axis=1)
    return pt.sum(d["mask"] * d["weights"] * pt.log(chosen))


@pytest.mark.parametrize("link", CATEGORY_FAMILIES["cumulative"].links)
def test_the_two_cutpoint_likelihood_equals_the_every_cutpoint_one(link, monkeypatch) -> None:
    """Each row reads the distribution function at its own level's two cutpoints
    only (what made a probit fit 3x slower than a logit one); the density and its
    gradient are those of the formula over every cutpoint, padded rows included."""
    from bayesglm import category_model

    model, resolved, problem = _problem("cumulative", link)
    spec, cdesign, mode, chol = model.spec, model.cdesign, problem.mode, problem.chol
    rows = pad_category_rows(category_rows(cdesign), 128)
    functions = []
    for likelihood in (None, _every_cutpoint_likelihood):
        if likelihood is not None:
            monkeypatch.setattr(category_model, "_likelihood", likelihood)
        sampling = build_category_sampling_model(spec, cdesign, resolved, mode, chol, rows)
        functions.append(
            (
                sampling.compile_logp(mode="FAST_COMPILE"),
                sampling.compile_dlogp(mode="FAST_COMPILE"),
            )
        )
    rng = np.random.default_rng(11)
    for scale in (0.5, 3.0):  # near the mode, and far out in the tails
        z = rng.normal(0.0, scale, size=mode.size)
        (logp, dlogp), (slow_logp, slow_dlogp) = functions
        assert np.isfinite(slow_logp({"z": z}))
        assert abs(logp({"z": z}) - slow_logp({"z": z})) <= 1e-12 * abs(slow_logp({"z": z}))
        gradient, slow_gradient = dlogp({"z": z}), slow_dlogp({"z": z})
        np.testing.assert_array_less(
            np.abs(gradient - slow_gradient), 1e-12 * max(np.abs(slow_gradient).max(), 1.0)
        )
