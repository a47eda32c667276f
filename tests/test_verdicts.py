"""The MLE-versus-posterior verdicts and sampler checks: their logic, the natural parameter's MLE,
and one definition of every limit, which the report's prose and docs/report.md repeat."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special

import bayesglm as bg
from bayesglm import thresholds
from bayesglm.effects import _row
from bayesglm.laplace import natural_estimates

REPORT_PAGE = Path(__file__).resolve().parents[1] / "docs" / "report.md"


def test_sampling_limits_in_the_verdict_are_the_diagnostics_limits() -> None:
    ok = {"mean": 0.0, "sd": 1.0, "r_hat": 1.0, "ess_bulk": 4000.0}
    limit = thresholds.ESS_PER_CHAIN * 4
    for bad in ({"r_hat": thresholds.RHAT_LIMIT + 1e-3}, {"ess_bulk": limit - 1.0}):
        row = _row(0.0, 1.0, pd.Series({**ok, **bad}), 0.0, 0.01, False, limit)
        assert row["verdict"] == "sampling problem"
    edge = {"r_hat": thresholds.RHAT_LIMIT, "ess_bulk": float(limit)}
    assert _row(0.0, 1.0, pd.Series({**ok, **edge}), 0.0, 0.01, False, limit)["verdict"] == (
        "agrees"
    )


# --- the natural parameter's maximum-likelihood estimate ---------------------------------------


def _estimates(model: bg.GLM):
    mle = model.fit_mle()
    priors = model.resolve_priors()
    return mle, natural_estimates(model.design, model.spec, priors, mle, mle.params_array)


def _simulated(family: str, n: int = 60, seed: int = 2):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    mu = np.exp(1.0 + 0.3 * x)
    y = {
        "gaussian": lambda: mu + rng.normal(0, 0.7, n),
        "gamma": lambda: rng.gamma(4.0, mu / 4.0),
        "inverse_gaussian": lambda: rng.wald(mu, 6.0),
        "negative_binomial": lambda: rng.negative_binomial(2.0, 2.0 / (2.0 + mu)),
    }[family]()
    link = "identity" if family == "gaussian" else "log"
    return bg.GLM.from_arrays(np.c_[np.ones(n), x], y, family=family, link=link), n


def test_dispersion_mle_and_se_have_their_closed_forms() -> None:
    # gaussian: sigma = sqrt(RSS / n), SE sigma / sqrt(2n).
    model, n = _simulated("gaussian")
    mle, est = _estimates(model)
    sigma = np.sqrt(mle.deviance / n)
    np.testing.assert_allclose([est.mle, est.se], [sigma, sigma / np.sqrt(2 * n)], rtol=1e-5)
    # inverse gaussian: lam = n / deviance, SE lam sqrt(2 / n).
    model, n = _simulated("inverse_gaussian")
    mle, est = _estimates(model)
    lam = n / mle.deviance
    np.testing.assert_allclose([est.mle, est.se], [lam, lam * np.sqrt(2 / n)], rtol=1e-5)
    # gamma: log k - digamma(k) = deviance / (2n); information n (trigamma(k) - 1/k).
    model, n = _simulated("gamma")
    mle, est = _estimates(model)
    score = lambda k: np.log(k) - special.digamma(k) - mle.deviance / (2 * n)  # noqa: E731
    k = optimize.brentq(score, 1e-3, 1e4)
    se = 1 / np.sqrt(n * (special.polygamma(1, k) - 1 / k))
    np.testing.assert_allclose([est.mle, est.se], [k, se], rtol=1e-5)


def test_negative_binomial_theta_is_the_one_of_the_mle_fit() -> None:
    model, _ = _simulated("negative_binomial", n=200)
    mle, est = _estimates(model)
    np.testing.assert_allclose([est.mle, est.se], [mle.theta, mle.theta_se], rtol=1e-4)


def test_flat_dispersion_prior_puts_the_mode_at_the_mle() -> None:
    model, _ = _simulated("gamma")
    mle = model.fit_mle()
    flat = model.resolve_priors({"dispersion": bg.HalfFlat()})
    est = natural_estimates(model.design, model.spec, flat, mle, mle.params_array)
    np.testing.assert_allclose(est.mode, est.mle, rtol=1e-6)


# --- one definition of each limit ---------------------------------------------------------------


def _numbers(pattern: str, text: str) -> list[float]:
    found = re.findall(pattern, text)
    assert found, f"docs/report.md no longer states {pattern!r}"
    return [float(v) for v in found]


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        (r"R-hat[^\n]*?(?:≤|>|above) (\d[\d.]*)", thresholds.RHAT_LIMIT),
        (r"(\d+) per chain", thresholds.ESS_PER_CHAIN),
        (r"\((\d+) with 4 chains\)", 4 * thresholds.ESS_PER_CHAIN),
        (r"E-BFMI[^\n]*?(?:≥|<) (\d[\d.]*)", thresholds.BFMI_LIMIT),
        (r"Pareto k > (\d[\d.]*)", thresholds.PARETO_K_LIMIT),
        (r"\\?\|std_diff\\?\| (?:>|≤) (\d[\d.]*)", thresholds.AGREE_SE),
        (r"within (\d[\d.]*) MLE standard errors", thresholds.AGREE_SE),
        (r"\[1/(\d[\d.]*), \d", thresholds.SPREAD_FACTOR),
        (r"\[1/\d[\d.]*, (\d[\d.]*)\]", thresholds.SPREAD_FACTOR),
        (r"≥ (\d[\d.]*) · \\?\|std_diff", thresholds.PRIOR_SHARE),
        (r"sd_ratio` ≥ (\d[\d.]*)", thresholds.PRIOR_HOLD),
    ],
)
def test_documented_limits_are_the_constants(pattern: str, value: float) -> None:
    assert set(_numbers(pattern, REPORT_PAGE.read_text(encoding="utf-8"))) == {value}


def test_report_prose_states_the_constants() -> None:
    from bayesglm.report import VERDICTS

    allowed = {
        thresholds.AGREE_SE,
        thresholds.SPREAD_FACTOR,
        100 * thresholds.PRIOR_SHARE,  # written as a percentage
        thresholds.PRIOR_HOLD,
        thresholds.RHAT_LIMIT,
        thresholds.ESS_PER_CHAIN,
    }
    stated = {float(v) for text in VERDICTS.values() for v in re.findall(r"\d+(?:\.\d+)?", text)}
    assert stated == allowed


def test_diagnostics_table_uses_the_constants() -> None:
    from bayesglm.results import Diagnostics

    table = Diagnostics(0, 1.0, 1000.0, 1000.0, 1.0, 0.0, chains=3).table()
    assert table.loc["max R-hat", "limit"] == thresholds.RHAT_LIMIT
    assert table.loc["min bulk ESS", "limit"] == 3 * thresholds.ESS_PER_CHAIN
    assert table.loc["min E-BFMI", "limit"] == thresholds.BFMI_LIMIT
