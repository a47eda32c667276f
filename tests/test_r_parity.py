"""fit_mle against R's glm() / MASS::glm.nb() at tight convergence.

Reference values are in tests/fixtures/r_glm/, made by make_fixtures.R and
make_quasi_fixtures.R there (R 4.2.2, MASS 7.3.58.2, glm.control(epsilon = 1e-14, maxit = 100)).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayesglm as bg
from bayesglm.families import FAMILIES

from .conftest import as_array, r_cases

CASES = r_cases()


def _fit(case: dict) -> bg.MLEResult:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no R case separates or fails to converge
        return bg.fit_mle(
            np.asarray(case["X"], dtype=float),
            np.asarray(case["y"], dtype=float),
            family=case["family"],
            link=case["link"],
            offset=as_array(case["offset"]),
            weights=as_array(case["weights"]),
            trials=as_array(case["trials"]),
            names=case["columns"],
        )


@pytest.fixture(scope="module", params=CASES, ids=[c["name"] for c in CASES])
def case_and_fit(request: pytest.FixtureRequest) -> tuple[dict, bg.MLEResult]:
    return request.param, _fit(request.param)


def test_at_least_twenty_cases_cover_every_family_link_pair() -> None:
    covered = {(c["family"], c["link"]) for c in CASES}
    allowed = {(name, link) for name, fam in FAMILIES.items() for link in fam.links}
    assert len(CASES) >= 20
    assert allowed <= covered, sorted(allowed - covered)
    assert sum(c["offset"] is not None for c in CASES) >= 3
    assert sum(c["weights"] is not None for c in CASES) >= 3
    assert sum(c["trials"] is not None for c in CASES) >= 4


def test_converges(case_and_fit) -> None:
    _, fit = case_and_fit
    assert fit.converged
    assert fit.separation == ()


def test_coefficients_within_1e_6_se(case_and_fit) -> None:
    case, fit = case_and_fit
    se = np.asarray(case["se"])
    np.testing.assert_array_less(np.abs(fit.params.to_numpy() - case["coef"]) / se, 1e-6)
    assert list(fit.params.index) == case["columns"]


def test_standard_errors_within_1e_6_relative(case_and_fit) -> None:
    case, fit = case_and_fit
    np.testing.assert_allclose(fit.bse.to_numpy(), case["se"], rtol=1e-6)
    reference = np.asarray(case["cov_unscaled"])
    atol = 1e-12 * np.abs(reference).max()
    np.testing.assert_allclose(fit.cov_unscaled, reference, rtol=1e-5, atol=atol)


def test_deviances_within_1e_9_relative(case_and_fit) -> None:
    case, fit = case_and_fit
    if case["family"] == "negative_binomial":
        # glm.nb stops theta's Newton iteration early (MASS's theta.ml: |step| <
        # eps^0.25), so compare deviances at R's own theta.
        theta = bg.NegativeBinomial(theta=case["theta"])
        fit = _fit({**case, "family": theta})
    np.testing.assert_allclose(fit.deviance, case["deviance"], rtol=1e-9)
    np.testing.assert_allclose(fit.null_deviance, case["null_deviance"], rtol=1e-9)
    assert fit.df_resid == case["df_residual"]
    assert fit.df_null == case["df_null"]


def test_dispersion_likelihood_and_aic(case_and_fit) -> None:
    case, fit = case_and_fit
    # R's Pearson statistic mixes working weights from the start of the last
    # iteration with residuals from its end: a 1e-8 relative difference.
    np.testing.assert_allclose(fit.dispersion, case["dispersion"], rtol=1e-7)
    if case["loglik"] is None:  # a quasi-family: R's logLik() and AIC are NA
        assert np.isnan([fit.llf, fit.aic, fit.bic]).all()
        return
    np.testing.assert_allclose(fit.llf, case["loglik"], rtol=1e-9)
    np.testing.assert_allclose(fit.aic, case["aic"], rtol=1e-9)


def test_wald_statistics_and_fitted_values(case_and_fit) -> None:
    case, fit = case_and_fit
    np.testing.assert_allclose(fit.tvalues.to_numpy(), case["tvalues"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fit.pvalues.to_numpy(), case["pvalues"], rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(fit.fitted, case["fitted"], rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c["family"] == "negative_binomial"],
    ids=lambda c: c["name"],
)
def test_negative_binomial_theta(case: dict) -> None:
    fit = _fit(case)
    np.testing.assert_allclose(fit.theta, case["theta"], rtol=1e-7)
    # MASS evaluates the information one (early-stopped) Newton step before its
    # final theta; ours is at the converged theta.
    np.testing.assert_allclose(fit.theta_se, case["theta_se"], rtol=1e-4)
    np.testing.assert_allclose(fit.llf * 2, case["twologlik"], rtol=1e-9)


def test_cases_where_r_needs_start_converge_without_it() -> None:
    hard = [c for c in CASES if c["r_default_start_fails"]]
    assert {c["family"] for c in hard} >= {"bernoulli", "inverse_gaussian"}
    for case in hard:
        fit = _fit(case)
        error = np.abs(fit.params.to_numpy() - case["coef"]) / np.asarray(case["se"])
        np.testing.assert_array_less(error, 1e-6)


def test_a_fixed_theta_is_not_counted_as_a_parameter() -> None:
    """A theta the user gives is known, as in R's negative.binomial(theta): the
    likelihood's degrees of freedom (AIC, BIC) count the coefficients only."""
    # f <- glm(Days ~ Eth + Sex + Age + Lrn, data = MASS::quine,
    #          family = MASS::negative.binomial(1),
    #          control = glm.control(epsilon = 1e-14, maxit = 100))
    # c(AIC(f), BIC(f), logLik(f), attr(logLik(f), "df"))
    # 1110.7422552156395 1131.6275015675978 -548.37112760781974 7
    # (R 4.2.2, MASS 7.3.58.2; glm.nb's estimated theta makes df 8, see the fixture)
    case = next(c for c in CASES if c["name"] == "negative_binomial_log_quine")
    fixed = _fit({**case, "family": bg.NegativeBinomial(theta=1.0)})
    assert fixed.k_params == 7
    np.testing.assert_allclose(
        [fixed.aic, fixed.bic, fixed.llf],
        [1110.7422552156395, 1131.6275015675978, -548.37112760781974],
        rtol=1e-10,
    )
    estimated = _fit(case)
    assert estimated.k_params == 8


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["family"].startswith("quasi")], ids=lambda c: c["name"]
)
def test_a_quasi_fit_is_its_likelihood_familys_fit_with_pearsons_dispersion(case) -> None:
    """R's quasipoisson / quasibinomial: the poisson / binomial estimates and
    deviance, standard errors times sqrt(dispersion), t tests on the residual df."""
    quasi = _fit(case)
    plain = _fit({**case, "family": case["family"].removeprefix("quasi")})
    np.testing.assert_allclose(quasi.params, plain.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(quasi.deviance, plain.deviance, rtol=1e-12)
    assert plain.dispersion == 1.0 and quasi.uses_t and not plain.uses_t
    np.testing.assert_allclose(quasi.bse, plain.bse * np.sqrt(quasi.dispersion), rtol=1e-9)
    np.testing.assert_allclose(quasi.dispersion, plain.pearson_chi2 / plain.df_resid, rtol=1e-9)
    assert "AIC: NA" in quasi.summary()
