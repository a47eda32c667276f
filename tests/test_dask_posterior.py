"""Posteriors of Dask data: exact reductions to cells, and checked importance sampling.

Cells: the sampling model on the cells has the log-density of the sampling model on
the rows up to a constant, and the same gradient, at random points (to 1e-10), with
the same default priors; a fit on cells agrees with NUTS over the rows in memory.
Importance sampling: its posterior agrees with NUTS within Monte Carlo error, a case
where the Laplace approximation is poor is refused by k-hat, and the method survives
save and load (families with a natural parameter: tests/test_importance.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
import bayesglm.model as backend
from bayesglm import samplers
from bayesglm.cells import TooManyCells, cell_design
from bayesglm.errors import BayesGLMError
from bayesglm.importance import _psis, method_lines, proposal_loglik
from bayesglm.laplace import laplace_approx
from bayesglm.sampling_data import reduce_data

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")

needs_compiled = pytest.mark.skipif(
    "compiled" not in samplers.available_samplers(), reason="needs jax and numpyro"
)


@pytest.fixture(autouse=True)
def _synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _ratings(n: int, seed: int = 3) -> pd.DataFrame:
    """A small rating table: two factors, a binary flag, varying exposure, integer
    weights, counts, and k-of-n outcomes with an offset on four values."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "area": rng.choice(["a", "b", "c"], n),
            "age": rng.choice(["young", "mid", "old", "senior"], n),
            "flag": rng.integers(0, 2, n).astype(float),
            "exposure": rng.uniform(0.1, 2.0, n),
            "w": rng.integers(1, 3, n).astype(float),
            "shift": rng.choice([-0.2, 0.0, 0.1, 0.3], n),
            "trials": rng.integers(1, 6, n).astype(float),
        }
    )
    eta = 0.3 * (df["area"] == "b") - 0.4 * (df["age"] == "old") + 0.2 * df["flag"]
    df["claims"] = rng.poisson(df["exposure"] * np.exp(eta - 0.5))
    df["k"] = rng.binomial(df["trials"].astype(int), 1 / (1 + np.exp(-(eta + df["shift"]))))
    df["hit"] = rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(float)
    return df


FORMULA = "~ C(area) + C(age) + flag"
CASES = {
    "poisson-log-exposure": dict(
        lhs="claims", family="poisson", link="log", exposure="exposure", weights="w"
    ),
    "binomial-logit": dict(lhs="k", family="binomial", link="logit", trials="trials"),
    "binomial-probit-offset": dict(
        lhs="k", family="binomial", link="probit", trials="trials", offset="shift", weights="w"
    ),
    "binomial-cloglog": dict(lhs="k", family="binomial", link="cloglog", trials="trials"),
    "bernoulli-logit": dict(lhs="hit", family="bernoulli", link="logit"),
}


def _models(case: dict, df: pd.DataFrame, npartitions: int = 7) -> tuple[bg.GLM, bg.GLM]:
    args = {key: value for key, value in case.items() if key != "lhs"}
    formula = case["lhs"] + " " + FORMULA
    rows = bg.GLM(formula, data=df, **args)
    chunked = bg.GLM(formula, data=dd.from_pandas(df, npartitions=npartitions), **args)
    return rows, chunked


@pytest.mark.parametrize("name", list(CASES))
def test_cells_have_the_log_density_and_gradient_of_the_rows(name: str) -> None:
    rows, chunked = _models(CASES[name], _ratings(400))
    cells = cell_design(chunked.design, chunked.spec)
    assert cells.n <= 200 and cells.totals.n_rows == 400
    cell_model = bg.GLM.from_design(cells, rows.spec)
    # The default priors are those of the rows (the cells carry the rows' statistics).
    priors = rows.resolve_priors()
    cell_priors = cell_model.resolve_priors()
    for name_ in priors.coef:
        np.testing.assert_allclose(
            cell_priors.coef[name_].params["sigma"], priors.coef[name_].params["sigma"], rtol=1e-12
        )
        np.testing.assert_allclose(
            cell_priors.coef[name_].params["mu"], priors.coef[name_].params["mu"], atol=1e-11
        )
    np.testing.assert_allclose(cell_priors.x_means, priors.x_means, rtol=1e-12)
    # One whitening for both, so that z means the same coefficients in both models.
    laplace = laplace_approx(rows.design, rows.spec, priors, rows.fit_mle())
    densities = []
    for design in (rows.design, cells):
        reduced = reduce_data(design, rows.spec)
        model = backend.build_sampling_model(design, rows.spec, priors, laplace, reduced)
        densities.append(
            (model.compile_logp(mode="FAST_COMPILE"), model.compile_dlogp(mode="FAST_COMPILE"))
        )
    rng = np.random.default_rng(0)
    gaps = []
    for _ in range(5):
        point = {"z": rng.normal(size=laplace.mode.size)}
        (logp_rows, dlogp_rows), (logp_cells, dlogp_cells) = densities
        gaps.append(float(logp_rows(point)) - float(logp_cells(point)))
        np.testing.assert_allclose(dlogp_cells(point), dlogp_rows(point), rtol=1e-10, atol=1e-9)
    # The same density up to a constant (the sums over rows the parameters do not enter).
    assert np.ptp(gaps) < 1e-10 * max(1.0, abs(gaps[0]))


def test_cells_from_a_dask_collection_equal_those_of_the_rows_in_memory() -> None:
    rows, chunked = _models(CASES["poisson-log-exposure"], _ratings(500), npartitions=11)
    from_rows = cell_design(rows.design, rows.spec)
    from_chunks = cell_design(chunked.design, chunked.spec)
    np.testing.assert_array_equal(from_chunks.X, from_rows.X)
    np.testing.assert_allclose(from_chunks.y, from_rows.y, rtol=1e-14)
    np.testing.assert_allclose(from_chunks.offset, from_rows.offset, rtol=1e-13)
    # Summed exposure of each cell, and every row counted once.
    assert from_chunks.y.sum() == rows.design.y.sum()
    np.testing.assert_allclose(
        np.exp(from_chunks.offset).sum(), np.exp(rows.design.offset).sum(), rtol=1e-12
    )


def test_too_many_patterns_are_refused_with_the_count_and_the_alternatives() -> None:
    _, chunked = _models(CASES["binomial-logit"], _ratings(300))
    with pytest.raises(TooManyCells, match=r"at least \d+ in 300 rows.*method='importance'.*GPU"):
        cell_design(chunked.design, chunked.spec, max_cells=5)


def test_a_pair_without_an_exact_reduction_is_refused() -> None:
    df = _ratings(100)
    model = bg.GLM("claims ~ flag", data=dd.from_pandas(df, 3), family="poisson", link="sqrt")
    with pytest.raises(BayesGLMError, match=r"no exact reduction.*got \(family='poisson'"):
        model.fit(method="cells")


def test_nuts_over_dask_rows_and_unknown_methods_are_refused() -> None:
    _, chunked = _models(CASES["binomial-logit"], _ratings(100))
    with pytest.raises(BayesGLMError, match=r"NUTS over every row needs the rows in memory"):
        chunked.fit(method="nuts")
    with pytest.raises(BayesGLMError, match=r"unknown posterior method.*got \(method='exact'\)"):
        chunked.fit(method="exact")


@needs_compiled
def test_a_fit_on_cells_agrees_with_nuts_over_the_rows_and_says_how_it_was_made(
    tmp_path,
) -> None:
    rows, chunked = _models(CASES["poisson-log-exposure"], _ratings(2000))
    options = dict(draws=1000, seed=5, progressbar=False)
    fit = chunked.fit(**options)
    assert fit.method == {"method": "cells", "rows": 2000, "cells": fit.design.n}
    assert "Method: NUTS on" in str(fit) and "2,000 rows" in str(fit)
    reference = rows.fit(**options)
    assert reference.method is None
    a, b = fit.summary(), reference.summary()
    error = np.sqrt(a["mcse_mean"] ** 2 + b["mcse_mean"] ** 2)
    assert (np.abs(a["mean"] - b["mean"]) < 4 * error).all()
    np.testing.assert_allclose(a["sd"], b["sd"], rtol=0.1)
    # The cells' MLE is the rows' (their deviance is their own).
    np.testing.assert_allclose(fit.mle.params_array, rows.fit_mle().params_array, rtol=1e-8)
    np.testing.assert_allclose(fit.mle.bse, rows.fit_mle().bse, rtol=1e-8)
    loaded = bg.load(fit.save(tmp_path / "cells.nc"))
    assert loaded.method == fit.method
    # Marginal effects average over rows: a cell stands for many, so they are refused
    # (print(fit) and the report leave them out) rather than averaged over cells.
    for result in (fit, fit.mle):
        with pytest.raises(BayesGLMError, match=r"this fit's rows are not in memory"):
            result.avg_comparisons()


def _poisson_continuous(n: int, seed: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "z": rng.uniform(-1, 1, n),
            "area": rng.choice(["a", "b", "c"], n),
            "exposure": rng.uniform(0.5, 2.0, n),
        }
    )
    eta = 0.2 + 0.3 * df["x"] - 0.5 * df["z"] + 0.2 * (df["area"] == "b")
    df["y"] = rng.poisson(df["exposure"] * np.exp(eta))
    return df


@needs_compiled
def test_importance_sampling_agrees_with_nuts_and_is_recorded(tmp_path) -> None:
    df = _poisson_continuous(3000)
    formula = "y ~ x + z + C(area)"
    chunked = bg.GLM(
        formula, data=dd.from_pandas(df, npartitions=9), family="poisson", exposure="exposure"
    )
    fit = chunked.fit(draws=1000, seed=2, progressbar=False, method="importance")
    method = fit.method
    assert method["method"] == "importance" and fit.sampler == "importance"
    assert method["khat"] <= 0.7 and method["ess"] > 1000 and method["rows"] == 3000
    assert "Pareto k-hat" in str(fit) and method_lines(method)[0] in str(fit)
    reference = bg.GLM(formula, data=df, family="poisson", exposure="exposure").fit(
        draws=1000, seed=2, progressbar=False
    )
    a, b = fit.summary(), reference.summary()
    # Monte Carlo error of each: the importance sampler's from its weights' ESS.
    error = np.sqrt(a["sd"] ** 2 / method["ess"] + b["mcse_mean"] ** 2)
    assert (np.abs(a["mean"] - b["mean"]) < 4 * error).all()
    np.testing.assert_allclose(a["sd"], b["sd"], rtol=0.1)
    loaded = bg.load(fit.save(tmp_path / "importance.nc"))
    assert loaded.method == method
    assert method_lines(method)[0] in str(loaded)
    # Per-row quantities of the training rows would bring every row over: refused.
    with pytest.raises(BayesGLMError, match=r"per-row quantities of the training rows"):
        fit.loo()


def test_importance_sampling_is_refused_where_the_laplace_approximation_is_poor() -> None:
    # Twenty noise slopes on forty 0/1 outcomes under wide priors: a posterior far from
    # normal in many directions at once.
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(40, 20)), columns=[f"x{j}" for j in range(20)])
    df["y"] = rng.binomial(1, 0.3, 40).astype(float)
    formula = "y ~ " + " + ".join(df.columns[:-1])
    model = bg.GLM(formula, data=dd.from_pandas(df, npartitions=4), family="bernoulli")
    priors = {"coef": bg.Normal(0, 10)}
    with pytest.raises(BayesGLMError, match=r"Pareto k-hat of its weights is .*> 0.7.*GPU"):
        model.fit(priors=priors, draws=500, seed=1, method="importance")


def test_psis_k_hat_is_small_for_good_weights_and_large_for_heavy_tailed_ones() -> None:
    rng = np.random.default_rng(1)
    # Log ratios of a normal target to a wider normal proposal: bounded weights.
    theta = rng.normal(scale=1.5, size=4000)
    good = -0.5 * theta**2 + 0.5 * (theta / 1.5) ** 2
    log_weights, khat = _psis(good)
    assert khat < 0.5
    np.testing.assert_allclose(np.exp(log_weights).sum(), 1.0)
    # Log ratios whose weights are Pareto with tail index 1 (k = 1).
    heavy = -np.log(rng.uniform(size=4000))
    assert _psis(heavy)[1] > 0.7


def test_cells_and_proposal_passes_run_on_a_distributed_cluster_from_parquet(tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    df = _ratings(3000)
    folder = tmp_path / "ratings"
    dd.from_pandas(df, npartitions=6).to_parquet(folder)
    rows, _ = _models(CASES["poisson-log-exposure"], df)
    formula = "claims " + FORMULA
    args = dict(family="poisson", exposure="exposure", weights="w")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        dask.config.set(scheduler=client),
    ):
        model = bg.GLM(formula, data=dd.read_parquet(folder), **args)
        cells = cell_design(model.design, model.spec)
        B = np.random.default_rng(0).normal(scale=0.1, size=(model.design.p, 50))
        loglik = proposal_loglik(model.design, model.spec, B)
    expected = cell_design(rows.design, rows.spec)
    np.testing.assert_array_equal(cells.X, expected.X)
    np.testing.assert_allclose(cells.y, expected.y, rtol=1e-14)
    np.testing.assert_allclose(cells.offset, expected.offset, rtol=1e-13)
    np.testing.assert_allclose(loglik, proposal_loglik(rows.design, rows.spec, B), rtol=1e-12)


@needs_compiled
@pytest.mark.filterwarnings("ignore::bayesglm.errors.SamplingWarning")  # short chains
def test_the_report_says_how_the_draws_were_made(tmp_path) -> None:
    rows, chunked = _models(CASES["binomial-logit"], _ratings(300))
    on_cells = chunked.fit(draws=200, tune=200, seed=1, progressbar=False, method="cells")
    by_importance = rows.fit(draws=200, seed=1, method="importance")
    for fit in (on_cells, by_importance):
        text = fit.report(tmp_path / f"{fit.sampler}.md").read_text()
        assert method_lines(fit.method)[0] in text


_ON_A_PLATFORM = """
import dask, dask.dataframe as dd, jax, numpy as np, pandas as pd
import bayesglm as bg
rng = np.random.default_rng(0)
df = pd.DataFrame({"zone": rng.choice(["a", "b"], 400), "years": rng.uniform(0.5, 2, 400)})
df["claims"] = rng.poisson(df["years"])
model = bg.GLM("claims ~ C(zone)", data=dd.from_pandas(df, npartitions=3),
               family="poisson", exposure="years")
with dask.config.set(scheduler="synchronous"):
    fit = model.fit(draws=100, tune=100, chains=2, seed=1, sampler="compiled",
                    progressbar=False)
print(jax.default_backend(), fit.sampler, fit.method["method"])
"""


@needs_compiled
def test_nuts_runs_on_the_platform_jax_platforms_names() -> None:
    # docs/large-data.md: NUTS runs where JAX runs, chosen by JAX_PLATFORMS before JAX
    # is imported (on a GPU machine "cuda"; here the CPU).
    import os
    import subprocess
    import sys

    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-c", _ON_A_PLATFORM], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["cpu", "compiled", "cells"]


def test_rows_that_share_a_hash_are_still_grouped_exactly(monkeypatch) -> None:
    from bayesglm import cells

    rows, _ = _models(CASES["binomial-probit-offset"], _ratings(300))
    expected = cell_design(rows.design, rows.spec)
    # Every row hashes alike: the verification finds the collision and groups by value.
    monkeypatch.setattr(cells, "_MULTIPLIERS", np.zeros(256, dtype=np.uint64))
    found = cell_design(rows.design, rows.spec)
    np.testing.assert_array_equal(found.X, expected.X)
    np.testing.assert_array_equal(found.y, expected.y)
    np.testing.assert_array_equal(found.trials, expected.trials)
    np.testing.assert_array_equal(found.offset, expected.offset)


@needs_compiled
@pytest.mark.filterwarnings("ignore::bayesglm.errors.SamplingWarning")  # short chains
def test_no_length_n_array_reaches_the_client_during_a_posterior_fit() -> None:
    from .test_dask_mle import _SizeCheckingScheduler

    df = _ratings(5000)
    rows = dd.from_pandas(df, npartitions=6)
    cells_model = bg.GLM("claims " + FORMULA, data=rows, family="poisson", exposure="exposure")
    continuous = _poisson_continuous(5000)
    importance_model = bg.GLM(
        "y ~ x + z", data=dd.from_pandas(continuous, npartitions=6), family="poisson"
    )
    scheduler = _SizeCheckingScheduler()
    with dask.config.set(scheduler=scheduler):
        on_cells = cells_model.fit(draws=100, tune=100, chains=2, seed=1, progressbar=False)
        by_importance = importance_model.fit(draws=100, chains=2, seed=1, method="importance")
    assert on_cells.method["method"] == "cells" and by_importance.method["proposals"] == 2000
    assert scheduler.largest and max(scheduler.largest) < 5000


@pytest.mark.parametrize("name", ["binomial-logit", "binomial-probit-offset", "bernoulli-logit"])
def test_binomial_cells_are_the_rows_the_in_memory_engine_merges(name: str) -> None:
    # In memory, the engine merges rows of equal covariates, offset and weight into
    # successes of summed trials (sampling_data.reduce_data); the cells computed from
    # Dask chunks are exactly those rows, in the same order: NUTS reads the same numbers.
    rows, chunked = _models(CASES[name], _ratings(2000), npartitions=9)
    merged = reduce_data(rows.design, rows.spec)
    on_cells = reduce_data(cell_design(chunked.design, chunked.spec), rows.spec)
    assert merged.kind == on_cells.kind == "rows" and merged.n_rows == on_cells.n_rows
    assert set(merged.data) == set(on_cells.data)
    for key, values in merged.data.items():
        np.testing.assert_array_equal(on_cells.data[key], values, err_msg=key)


# --- gaussian with the identity link: sufficient statistics ----------------------------


def _gaussian(n: int, seed: int = 4) -> pd.DataFrame:
    """A gaussian response far from 0 (so that its residual sum of squares is a small
    difference of large sums), a factor, precision weights and a varying offset."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "g": rng.choice(["a", "b", "c"], n),
            "w": rng.uniform(0.5, 2.0, n),
            "o": rng.choice([0.0, 0.5, 1.0], n),
        }
    )
    mean = 100.0 + 2.0 * df["x"] + 0.5 * (df["g"] == "b") + df["o"]
    df["y"] = mean + rng.normal(size=n) / np.sqrt(df["w"])
    return df


GAUSSIAN = dict(family="gaussian", weights="w", offset="o")


def _sampling_inputs(design, spec, priors, mle) -> dict[str, np.ndarray]:
    from bayesglm.sampling_data import sampling_inputs

    laplace = laplace_approx(design, spec, priors, mle)
    return sampling_inputs(spec, priors, laplace, reduce_data(design, spec))


def test_gaussian_statistics_from_ragged_chunks_feed_the_sampler_the_numbers_of_the_rows() -> None:
    # NUTS's draws follow its inputs chaotically (a change of 1e-15 in the Laplace mode
    # moves the draws by 1e-2 after tuning), so the test pins every number the sampler
    # reads: the same seed on the same numbers gives the same draws.
    from bayesglm.priors import resolve_priors
    from bayesglm.sufficient import sufficient_design

    df = _gaussian(3000)
    rows = bg.GLM("y ~ x + C(g)", data=df, **GAUSSIAN)
    ragged = dd.from_pandas(df, npartitions=1).repartition(divisions=[0, 1, 40, 1700, 1711, 2999])
    chunked = bg.GLM("y ~ x + C(g)", data=ragged, **GAUSSIAN)
    assert chunked.design.X.chunks[0] == (1, 39, 1660, 11, 1289)
    mle = chunked.fit_mle()
    design, view = sufficient_design(chunked.design, chunked.spec, None, mle.params_array)
    expected = reduce_data(rows.design, rows.spec)
    found = reduce_data(design, rows.spec)
    assert found.kind == expected.kind == "sufficient" and found.n_rows == 3000
    for key, value in expected.data.items():
        np.testing.assert_allclose(found.data[key], value, rtol=1e-13, err_msg=key)
    for given, rtol, atol in ((None, 1e-7, 1e-8), ({"dispersion": bg.Fixed(1.0)}, 1e-12, 1e-15)):
        priors = rows.resolve_priors(given)
        on_chunks = resolve_priors(given, view, chunked.spec)
        assert on_chunks.table().equals(priors.table())  # the same priors printed
        for name, prior in priors.coef.items():
            for key, value in prior.params.items():
                np.testing.assert_allclose(on_chunks.coef[name].params[key], value, rtol=1e-12)
        assert on_chunks.natural == priors.natural
        np.testing.assert_allclose(on_chunks.x_means, priors.x_means, rtol=1e-13)
        found = _sampling_inputs(design, chunked.spec, on_chunks, mle)
        expected = _sampling_inputs(rows.design, rows.spec, priors, rows.fit_mle())
        assert set(found) == set(expected)
        for key, value in expected.items():
            # The mode of log(sigma) comes from a one-dimensional search on values of
            # the log posterior, which places a maximum only to about the square root
            # of their rounding: the whitening (and, through sigma, the coefficients'
            # mode) agree to 1e-8 where sigma is sampled, to rounding where it is fixed.
            np.testing.assert_allclose(found[key], value, rtol=rtol, atol=atol, err_msg=key)


@needs_compiled
def test_a_gaussian_fit_on_a_cluster_from_parquet_is_the_fit_in_memory(tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    df = _gaussian(4000, seed=5)
    folder = tmp_path / "gaussian"
    dd.from_pandas(df, npartitions=5).to_parquet(folder)
    options = dict(draws=1000, seed=7, progressbar=False)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        dask.config.set(scheduler=client),
    ):
        fit = bg.GLM("y ~ x + C(g)", data=dd.read_parquet(folder), **GAUSSIAN).fit(**options)
    reference = bg.GLM("y ~ x + C(g)", data=df, **GAUSSIAN).fit(**options)
    assert fit.method == {"method": "sufficient", "rows": 4000} and reference.method is None
    assert "Method: NUTS on the sufficient statistics of 4,000 rows" in str(fit)
    assert fit.priors.table().equals(reference.priors.table())
    np.testing.assert_allclose(fit.laplace.chol, reference.laplace.chol, rtol=1e-8, atol=1e-12)
    a, b = fit.summary(), reference.summary()
    error = np.sqrt(a["mcse_mean"] ** 2 + b["mcse_mean"] ** 2)
    assert (np.abs(a["mean"] - b["mean"]) < 4 * error).all()
    np.testing.assert_allclose(a["sd"], b["sd"], rtol=0.1)
    # sigma's MLE and mode come from the statistics, as in memory from the rows.
    columns = ["mle", "mle_se"]
    found, expected = fit.compare_mle()[columns], reference.compare_mle()[columns]
    # (sigma's standard error is a second difference of the log-likelihood: 1e-8 apart)
    np.testing.assert_allclose(found.to_numpy(float), expected.to_numpy(float), rtol=1e-6)


@needs_compiled
@pytest.mark.filterwarnings("ignore::bayesglm.errors.SamplingWarning")  # short chains
def test_no_length_n_array_reaches_the_client_during_a_gaussian_fit() -> None:
    from .test_dask_mle import _SizeCheckingScheduler

    df = _gaussian(5000)
    model = bg.GLM("y ~ x + C(g)", data=dd.from_pandas(df, npartitions=6), **GAUSSIAN)
    scheduler = _SizeCheckingScheduler()
    with dask.config.set(scheduler=scheduler):
        fit = model.fit(draws=100, tune=100, chains=2, seed=1, progressbar=False)
        fit.compare_mle()
    assert fit.method["method"] == "sufficient"
    assert scheduler.largest and max(scheduler.largest) < 5000


def test_a_gaussian_with_another_link_on_dask_is_sampled_by_importance() -> None:
    # No sufficient statistics under the log link: "auto" samples sigma with the
    # coefficients by importance (tests/test_importance.py checks that posterior).
    df = _gaussian(200)
    model = bg.GLM("y ~ x", data=dd.from_pandas(df, 3), family="gaussian", link="log")
    fit = model.fit(draws=100, seed=1)
    assert fit.method["method"] == "importance" and fit.natural_draws.shape == (4, 100)
    with pytest.raises(BayesGLMError, match=r"sufficient statistics exist for the gaussian"):
        model.fit(method="sufficient")
    _, counts = _models(CASES["poisson-log-exposure"], _ratings(100))
    with pytest.raises(BayesGLMError, match=r"got \(family='poisson', link='log'\)"):
        counts.fit(method="sufficient")


@pytest.mark.parametrize("executor", ["one thread", "three threads", "a Dask task"])
@pytest.mark.parametrize("family", ["poisson", "gamma"])
def test_the_proposals_pass_in_tiles_equals_the_plain_sum_of_the_rows(
    monkeypatch, executor, family
) -> None:
    # In memory the tiles of rows x proposals are shared out over threads, and a Dask
    # task walks smaller ones; whatever their number and size, each proposal's
    # log-likelihood (at its own natural parameter, for the gamma) is the plain sum
    # over the rows.
    from bayesglm import _rowpass, importance

    monkeypatch.setattr(_rowpass, "_cores", lambda: 3 if executor == "three threads" else 1)
    monkeypatch.setattr(_rowpass, "_MIN_ELEMENTS_PER_THREAD", 1)
    monkeypatch.setattr(importance, "_CELLS_IN_MEMORY", 64)  # tiles of 2 rows x 32
    monkeypatch.setattr(importance, "_TILE_ROWS", 2)  # tiles of 2 rows x 5, the last short
    monkeypatch.setattr(importance, "_TILE_PROPOSALS", 5)
    rng = np.random.default_rng(5)
    X = np.column_stack([np.ones(301), rng.normal(size=(301, 2))])
    exposure = rng.uniform(1, 3, 301)
    mean = exposure * np.exp(X @ [0.2, 0.3, -0.1])
    y = rng.poisson(mean) if family == "poisson" else rng.gamma(4.0, mean / 4.0)
    model = bg.GLM.from_arrays(X, y, family=family, link="log", offset=np.log(exposure))
    B = rng.normal([[0.2], [0.3], [-0.1]], 0.05, (3, 32))
    natural = None if family == "poisson" else rng.uniform(2.0, 6.0, 32)
    threaded = executor != "a Dask task"
    rows = importance._rows(model.design)
    found = importance._LogLik(model.spec, B, natural, threaded)(*rows)
    mu = np.exp(X @ B + np.log(exposure)[:, None])
    expected = model.spec.family.loglike_obs(y[:, None], mu, natural).sum(axis=0)
    np.testing.assert_allclose(found, expected, rtol=1e-13)
