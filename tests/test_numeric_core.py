"""The numeric core's structure: the design's data views, the one valid-mean check, the
one working-weight formula, and the IRLS modules split by job."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import bayesglm as bg
from bayesglm import laplace
from bayesglm.design import centering_matrix, design_from_arrays
from bayesglm.families import FAMILIES, resolve
from bayesglm.priors import resolve_priors

# Successes k of n trials, prior weights; row 1 has 0 trials, so it carries no weight.
X = np.array([[1.0, 0.5], [1.0, 1.5], [1.0, 2.0], [1.0, 3.0]])
K = np.array([1.0, 0.0, 2.0, 3.0])
N = np.array([2.0, 0.0, 4.0, 5.0])
W = np.array([1.0, 3.0, 1.0, 2.0])


def _k_of_n():
    spec = resolve("binomial")
    return design_from_arrays(X, K, spec, names=["Intercept", "x"], weights=W, trials=N), spec


def test_design_views_of_k_of_n_rows_with_weights_and_a_zero_trial_row() -> None:
    design, _ = _k_of_n()
    np.testing.assert_array_equal(design.y_mean, [0.5, 0.0, 0.5, 0.6])
    np.testing.assert_array_equal(design.prior_weights, W)
    np.testing.assert_array_equal(design.trial_counts, N)
    np.testing.assert_array_equal(design.case_weights, [2.0, 0.0, 4.0, 10.0])
    np.testing.assert_array_equal(design.active, [True, False, True, True])
    assert design.n_active == 3
    np.testing.assert_array_equal(design.eta_offset, np.zeros(4))
    # By hand, over the active rows with weights 2, 4, 10: 9 successes in 16 trials.
    assert design.ybar == pytest.approx(9 / 16, rel=1e-15)
    spread = (2 * (0.5 - 9 / 16) ** 2 + 4 * (0.5 - 9 / 16) ** 2 + 10 * (0.6 - 9 / 16) ** 2) / 16
    assert design.y_sd == pytest.approx(np.sqrt(spread), rel=1e-14)
    x_bar = (2 * 0.5 + 4 * 2.0 + 10 * 3.0) / 16
    np.testing.assert_allclose(design.column_means, [1.0, x_bar], rtol=1e-15)
    x_sd = np.sqrt((2 * (0.5 - x_bar) ** 2 + 4 * (2 - x_bar) ** 2 + 10 * (3 - x_bar) ** 2) / 16)
    np.testing.assert_allclose(design.column_sds, [0.0, x_sd], rtol=1e-14, atol=1e-15)


def test_case_weights_count_k_of_n_rows_as_the_rows_written_out() -> None:
    design, _ = _k_of_n()
    counts = (design.prior_weights * N).astype(int)
    successes = (design.prior_weights * K).astype(int)
    rows = np.repeat(np.arange(4), counts)
    ones = np.concatenate([np.arange(c) < s for c, s in zip(counts, successes, strict=True)])
    written = design_from_arrays(X[rows], ones.astype(float), resolve("bernoulli"))
    # (the sd of y differs: proportions hide the spread within a row)
    for view in ("ybar", "column_means", "column_sds"):
        np.testing.assert_allclose(getattr(design, view), getattr(written, view), rtol=1e-14)


def test_views_are_read_only_derived_and_follow_replace() -> None:
    y = np.array([1.0, 0.0, 2.0, 3.0])
    design = design_from_arrays(X, y, resolve("poisson"))
    assert design.y_mean is not y and not design.y_mean.flags.writeable
    assert y.flags.writeable  # the caller's array is untouched
    np.testing.assert_array_equal(design.trial_counts, np.ones(4))
    np.testing.assert_array_equal(design.case_weights, np.ones(4))
    assert "y_mean" not in {field.name for field in dataclasses.fields(design)}
    cached = design.column_means
    doubled = dataclasses.replace(design, X=2 * X)
    np.testing.assert_array_equal(doubled.column_means, 2 * cached)


def test_every_stage_reads_the_same_views() -> None:
    design, spec = _k_of_n()
    mle = bg.fit_mle(X, K, family="binomial", weights=W, trials=N, names=["Intercept", "x"])
    np.testing.assert_array_equal(mle.y_mean, design.y_mean)
    np.testing.assert_array_equal(mle.prior_weights, design.case_weights)
    assert mle.nobs == design.n_active
    priors = resolve_priors(None, design, spec)
    np.testing.assert_array_equal(priors.x_means, [0.0, design.column_means[1]])
    np.testing.assert_array_equal(priors.centering, centering_matrix(design.column_means, 0))
    np.testing.assert_array_equal(priors.centering, [[1.0, design.column_means[1]], [0, 1]])
    assert not resolve_priors(None, design, spec, center=False).centering[0, 1]


@pytest.mark.parametrize("name", list(FAMILIES))
def test_one_valid_mean_check_with_the_boundary_rule(name) -> None:
    spec = resolve(name)
    domain = spec.family.mean_domain
    inside = 0.5 if domain.high == 1.0 else 2.0
    eta = spec.link.link(np.array([inside]))
    assert spec.means_valid(eta, np.array([inside]))
    assert spec.means_valid(eta, np.array([inside]), boundary=False)
    assert not spec.means_valid(eta, np.array([np.nan]))
    for edge in (domain.low, domain.high):
        if np.isfinite(edge):  # a mean that rounds onto the edge: the IRLS keeps it
            assert spec.means_valid(eta, np.array([edge]))
            assert not spec.means_valid(eta, np.array([edge]), boundary=False)


def test_irls_and_posterior_mode_use_the_same_working_weights() -> None:
    design, spec = _k_of_n()
    mle = bg.fit_mle(X, K, family="binomial", weights=W, trials=N, names=["Intercept", "x"])
    w, residual = spec.working_terms(design.y_mean, mle.eta, mle.fitted, design.case_weights)
    np.testing.assert_array_equal(mle.irls_weights, w)
    a = design.active
    np.testing.assert_array_equal(residual[a], mle.resid_working[a])
    # At the MLE the score vanishes, and the information is the IRLS's X'WX.
    post = laplace._posterior(design, spec, resolve_priors(None, design, spec))
    eta, mu = post.mean(mle.params_array)
    score, information = post.fisher(eta, mu, None)
    np.testing.assert_allclose(score, 0.0, atol=1e-6)
    np.testing.assert_allclose(information, X.T @ (w[:, None] * X), rtol=1e-12)
