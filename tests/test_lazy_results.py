"""A fit holds numpy draws: its tables and sampler checks load neither ArviZ nor
xarray, and its DataTree, built on first use, is what a saved file holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm import convergence
from bayesglm.results import GLMResult

from .laplace_fit import laplace_fit

ROOT = Path(__file__).resolve().parents[1]


def _result(seed: int = 3, chains: int = 4, draws: int = 300) -> GLMResult:
    """A gamma fit whose draws come from the Laplace approximation (milliseconds),
    with a sampler's statistics made up to exercise every check."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=120)})
    df["y"] = rng.gamma(4.0, np.exp(0.3 + 0.5 * df["x"]) / 4.0)
    model = bg.GLM("y ~ x", data=df, family="gamma", link="log")
    stats = {
        "diverging": rng.uniform(size=(chains, draws)) < 0.01,
        "energy": rng.normal(size=(chains, draws)).cumsum(axis=1),
        "tree_depth": np.full((chains, draws), 3),
        "reached_max_treedepth": np.zeros((chains, draws), bool),
    }
    return laplace_fit(model, seed=seed, chains=chains, draws=draws, sample_stats=stats)


def test_tables_and_checks_load_neither_arviz_nor_xarray() -> None:
    code = (
        "import sys, warnings\n"
        "from tests.test_lazy_results import _result\n"
        "from bayesglm.results import warn_if_unhealthy\n"
        "fit = _result()\n"
        "with warnings.catch_warnings(record=True):\n"
        "    warn_if_unhealthy(fit)\n"
        "str(fit); fit.compare_mle(); fit.effects(); fit.draws()\n"
        "print(sorted(m for m in ('arviz', 'arviz_stats', 'xarray') if m in sys.modules))\n"
        "fit.idata\n"
        "print('xarray' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    assert out.split("\n")[:2] == ["[]", "True"]


def test_checks_are_those_arviz_computes_on_the_datatree() -> None:
    az = pytest.importorskip("arviz")
    fit = _result()
    checks = fit.diagnostics()
    tree = fit.idata
    assert checks.divergences == int(fit.sample_stats["diverging"].sum()) > 0
    rhat = az.rhat(tree, method="rank").to_dataset()
    ess_bulk = az.ess(tree, method="bulk").to_dataset()
    ess_tail = az.ess(tree, method="tail", prob=0.95).to_dataset()
    assert checks.max_rhat == pytest.approx(
        max(float(rhat["beta"].max()), float(rhat["shape"])), rel=1e-10
    )
    assert checks.min_ess_bulk == pytest.approx(
        min(float(ess_bulk["beta"].min()), float(ess_bulk["shape"])), rel=1e-10
    )
    assert checks.min_ess_tail == pytest.approx(
        min(float(ess_tail["beta"].min()), float(ess_tail["shape"])), rel=1e-10
    )
    bfmi = np.asarray(az.bfmi(tree)["energy"])
    assert checks.min_bfmi == pytest.approx(bfmi.min(), rel=1e-10) and bfmi.min() < 0.3
    assert set(checks.failed()) == {"divergent transitions", "min E-BFMI"}


def test_summary_is_arviz_s_with_the_interval_asked_for() -> None:
    az = pytest.importorskip("arviz")
    fit = _result(seed=5)
    summary = fit.summary(prob=0.9)
    tree = fit.idata
    beta = fit.beta_draws[:, :, 1]
    eti = az.eti(tree, prob=0.9, method="linear")["beta"].sel(coef="x")
    np.testing.assert_allclose(summary.loc["x", ["eti_lower", "eti_upper"]], eti, rtol=1e-12)
    mcse = az.mcse(tree, method="mean")["beta"].sel(coef="x")
    np.testing.assert_allclose(summary.loc["x", "mcse_mean"], float(mcse), rtol=1e-10)
    np.testing.assert_allclose(summary.loc["x", "sd"], beta.std(ddof=1), rtol=1e-12)
    np.testing.assert_allclose(summary.loc["shape", "r_hat"], convergence.rhat(fit.natural_draws))
    assert list(summary.index) == ["Intercept", "x", "shape"]


def test_the_datatree_is_what_the_file_holds(tmp_path) -> None:
    import xarray as xr

    fit = _result()
    path = fit.save(tmp_path / "fit.nc")
    with xr.open_datatree(path, engine="h5netcdf") as stored:
        for group in ("posterior", "sample_stats"):
            xr.testing.assert_equal(stored[group].to_dataset(), fit.idata[group].to_dataset())
    loaded = bg.load(path)
    np.testing.assert_array_equal(loaded.beta_draws, fit.beta_draws)
    np.testing.assert_array_equal(loaded.natural_draws, fit.natural_draws)
    assert loaded.sample_stats.keys() == fit.sample_stats.keys()
    for name, values in fit.sample_stats.items():
        np.testing.assert_array_equal(loaded.sample_stats[name], values)
        assert loaded.sample_stats[name].dtype == values.dtype
    xr.testing.assert_identical(loaded.idata["posterior"], fit.idata["posterior"])
    assert loaded.diagnostics() == fit.diagnostics()
