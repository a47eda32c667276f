"""A fit's answers do not depend on what the caller does with the tables it hands out."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import bayesglm as bg
from bayesglm.errors import SamplingWarning


@pytest.fixture(scope="module")
def poisson_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    x = rng.normal(size=80)
    X = np.column_stack([np.ones_like(x), x])
    return X, rng.poisson(np.exp(0.3 + 0.5 * x))


def test_changing_the_covariance_table_in_place_leaves_the_fit_alone(poisson_data) -> None:
    X, y = poisson_data
    mle = bg.fit_mle(X, y, family="poisson")
    reference = sm.GLM(y, X, family=sm.families.Poisson()).fit()
    table = mle.cov_params
    table *= 4.0  # e.g. a user rescaling "their" copy
    table.iloc[0, 0] = 99.0
    np.testing.assert_allclose(mle.cov_params.to_numpy(), reference.cov_params(), rtol=1e-8)
    np.testing.assert_allclose(mle.bse.to_numpy(), reference.bse, rtol=1e-8)
    np.testing.assert_allclose(
        mle.predict(X[:3], scale="link")["std_error"],
        np.sqrt(np.einsum("ij,jk,ik->i", X[:3], reference.cov_params(), X[:3])),
        rtol=1e-8,
    )


def test_changing_the_posterior_dataset_in_place_leaves_the_fit_alone(poisson_data) -> None:
    X, y = poisson_data
    model = bg.GLM.from_arrays(X, y, family="poisson", names=["Intercept", "x"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        fit = model.fit(draws=100, tune=100, chains=1, seed=3, progressbar=False)
    beta = fit.idata["posterior"]["beta"].to_numpy().reshape(-1, 2).copy()
    before = fit.predict(X[:3], scale="link")
    posterior = fit.posterior
    posterior["beta"] *= 10.0  # e.g. coefficients per 10 units
    posterior["beta"].values[:] = 0.0
    np.testing.assert_array_equal(fit.draws()[["Intercept", "x"]].to_numpy(), beta)
    np.testing.assert_allclose(fit.summary()["mean"].to_numpy(), beta.mean(axis=0))
    pd.testing.assert_frame_equal(fit.predict(X[:3], scale="link"), before)
