"""The posterior mode: its one-dimensional search in u = log(natural), and its curvature a
valid whitening metric under any prior."""

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


def test_the_one_dimensional_search_finds_the_root_of_the_exact_derivative() -> None:
    # Gamma log-likelihoods in u = log(shape), with a normal prior on u, from starts
    # on either side: the search's maximum against the root of the exact derivative
    # (digamma), as precisely as scipy's Brent search it replaced.
    from scipy import optimize
    from scipy.special import digamma, gammaln

    from bayesglm.laplace import _argmax

    rng = np.random.default_rng(0)
    for _ in range(100):
        n, shape = int(rng.integers(5, 5000)), rng.uniform(0.2, 50)
        x = rng.gamma(shape, 1.0, n)
        logs, total, mean = np.log(x).sum(), x.sum(), x.mean()

        def objective(u, n=n, logs=logs, total=total, mean=mean):
            if abs(u) > 700:
                return -np.inf
            k = np.exp(u)
            return (
                n * (k * np.log(k / mean) - gammaln(k))
                + (k - 1) * logs
                - k * total / mean
                - u * u / 2
            )

        def slope(u, n=n, logs=logs, total=total, mean=mean):
            k = np.exp(u)
            return k * (n * (np.log(k / mean) + 1 - digamma(k)) + logs - total / mean) - u

        start = rng.normal(0.0, 2.0)
        found = _argmax(objective, start)
        root = optimize.brentq(slope, found - 1.0, found + 1.0, xtol=1e-15)
        assert abs(found - root) < 1e-7 * (1 + abs(root)), (n, shape, start)
    # Where the objective is not finite at the start, the start comes back.
    assert _argmax(lambda u: -np.inf, 0.3) == 0.3
    # A concave objective with its maximum far from the start (unit steps uphill first).
    assert _argmax(lambda u: -((u - 40.0) ** 2) - np.exp(-u), -3.0) == pytest.approx(
        40.0, abs=1e-9
    )
