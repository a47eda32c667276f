"""The posterior mode's curvature stays a valid whitening metric under any prior."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg as sla

import bayesglm as bg
from bayesglm.laplace import curvature


def test_a_heavy_tailed_prior_far_from_the_data_keeps_the_curvature_positive() -> None:
    # A narrow Cauchy prior centred far from where the data put the slope: in its
    # tail the prior curves upward, and information less its Hessian is indefinite.
    info = np.array([[4.0, 1.0], [1.0, 2.0]])
    prior_hess = np.diag([0.0, 25.0])  # Cauchy(-2, 0.1) about 0.17 from its location
    with pytest.raises(sla.LinAlgError):
        sla.cholesky(info - prior_hess)
    fixed = curvature(info, prior_hess)
    np.testing.assert_array_equal(fixed, info)  # the positive part left out
    sla.cholesky(fixed)
    # Information singular to working precision as well: a ridge makes it factor.
    singular = np.array([[1.0, 1.0], [1.0, 1.0]])
    sla.cholesky(curvature(singular, prior_hess))
    concave = np.diag([-1.0, -3.0])
    np.testing.assert_array_equal(curvature(info, concave), info - concave)

    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, 20)
    y = rng.poisson(np.exp(0.2 + 1.0 * x)).astype(float)
    model = bg.GLM.from_arrays(
        np.column_stack([np.ones(20), x]), y, family="poisson", names=["Intercept", "x"]
    )
    fit = model.fit(
        priors={"x": bg.Cauchy(-2, 0.1)}, draws=300, tune=300, chains=2, seed=1, progressbar=False
    )
    assert np.isfinite(fit.draws().to_numpy()).all()
