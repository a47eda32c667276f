"""Every family's fit samples through one dispatch (bayesglm.samplers.run_nuts).

The draws of small categorical, cumulative and poisson fits were recorded per
sampler by the code path before the dispatch was shared
(tests/fixtures/sampler_draws/make.py); the same seed gives the same draws now.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import bayesglm as bg
from bayesglm import samplers

from .fixtures.sampler_draws.make import SETTINGS, fits, frame

RECORDED = np.load(Path(__file__).parent / "fixtures" / "sampler_draws" / "draws.npz")

# Categorical fits used to run nutpie through pm.sample(nuts_sampler="nutpie"), which
# seeds and starts nutpie its own way; they now run it as the other families do
# (bayesglm.model.run_backend), so their nutpie draws are checked against that call.
CHANGED = {"categorical_nutpie", "cumulative_nutpie"}


@pytest.mark.parametrize("sampler", ["numpyro", "nutpie", "pymc"])
def test_the_shared_dispatch_gives_the_draws_recorded_before_it(sampler) -> None:
    if sampler not in samplers.available_samplers():
        pytest.skip(f"the {sampler} sampler is not installed")
    for name, draws in fits((sampler,)).items():
        if name in CHANGED:
            continue
        recorded = RECORDED[name]
        if name.startswith("poisson"):
            np.testing.assert_array_equal(draws, recorded, err_msg=name)
        else:
            # The categorical graph now reads its numbers as inputs, sums its priors'
            # terms by prior class and picks the cumulative's level by its indicator:
            # the density's last bits differ, and a chain carries that through its
            # warm-up (1e-7 at most here). Each draw is still the same draw: a
            # different NUTS step would move it by a posterior sd, about 0.3 here.
            np.testing.assert_allclose(draws, recorded, rtol=1e-5, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("family", ["categorical", "cumulative"])
def test_nutpie_runs_the_category_model_as_a_direct_call_does(family) -> None:
    if "nutpie" not in samplers.available_samplers():
        pytest.skip("nutpie is not installed")
    import nutpie

    from bayesglm.category_model import category_problem, theta_draws

    model = bg.GLM("y ~ x", frame(), family=family, weights="w")
    fit = model.fit(sampler="nutpie", **SETTINGS)
    mle = model.fit_mle()
    problem = category_problem(
        model.spec, model.cdesign, model.resolve_priors(), mle.params_array, mle.cov_array
    )
    trace = nutpie.sample(
        nutpie.compile_pymc_model(problem.build_model(), var_names=["z"]),
        draws=SETTINGS["draws"],
        tune=SETTINGS["tune"],
        chains=SETTINGS["chains"],
        cores=SETTINGS["chains"],
        seed=SETTINGS["seed"],
        progress_bar=False,
        target_accept=0.8,
        init_mean=np.zeros(problem.mode.size),
        save_warmup=False,
    )
    u = problem.mode + np.asarray(trace["posterior"]["z"]) @ problem.chol.T
    np.testing.assert_array_equal(
        fit.theta_draws, theta_draws(model.spec, u, len(model.cdesign.columns))
    )
