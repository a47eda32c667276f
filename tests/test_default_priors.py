"""Default priors do not depend on the units of the data (exposure) or on how the rows are
written down (frequency weights)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm.errors import SamplingWarning
from bayesglm.laplace import laplace_approx

# --- default priors: units and layout of the data ---------------------------------------------


def _data(seed: int = 3, n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=n), "e": rng.uniform(0.5, 3.0, n)})
    mu = df["e"] * np.exp(0.4 + 0.6 * df["x"])
    df["count"] = rng.poisson(mu)
    df["extra"] = rng.negative_binomial(2.0, 2.0 / (2.0 + mu))
    df["cost"] = rng.gamma(3.0, mu / 3.0)
    df["n"] = rng.integers(5, 20, n)
    df["k"] = rng.binomial(df["n"], 1 / (1 + np.exp(-(-0.5 + 0.6 * df["x"] + np.log(df["e"])))))
    return df


# (outcome, family, link, how the exposure enters)
OFFSET_MODELS = [
    ("count", "poisson", "log", "exposure"),
    ("extra", "negative_binomial", "log", "exposure"),
    ("cost", "gamma", "log", "exposure"),
    ("k", "binomial", "logit", "offset"),
]


def _model(df: pd.DataFrame, outcome: str, family: str, link: str, kind: str, scale: float):
    data = df.assign(e=df["e"] * scale)
    extra = {"trials": "n"} if family == "binomial" else {}
    if kind == "exposure":
        extra["exposure"] = "e"
    else:
        extra["offset"] = "log(e)"
    return bg.GLM(f"{outcome} ~ x", data=data, family=family, link=link, **extra)


@pytest.mark.parametrize(("outcome", "family", "link", "kind"), OFFSET_MODELS)
def test_rescaling_the_exposure_shifts_the_intercept_prior_and_leaves_slopes_alone(
    outcome: str, family: str, link: str, kind: str
) -> None:
    df = _data()
    small, large = (_model(df, outcome, family, link, kind, s) for s in (1.0, 1e5))
    prior = {s: m.resolve_priors() for s, m in ((1.0, small), (1e5, large))}
    shift = prior[1.0].coef["Intercept"].mu - prior[1e5].coef["Intercept"].mu
    np.testing.assert_allclose(shift, np.log(1e5), rtol=1e-12)
    assert prior[1.0].coef["x"] == prior[1e5].coef["x"]
    # The posterior mode and its curvature, for the slope: identical in both units.
    modes = []
    for model, resolved in ((small, prior[1.0]), (large, prior[1e5])):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mle = model.fit_mle()
        laplace = laplace_approx(model.design, model.spec, resolved, mle)
        modes.append((laplace.mode[1], laplace.cov[1, 1]))
    np.testing.assert_allclose(modes[0], modes[1], rtol=1e-6)


def test_default_intercept_location_is_the_log_mean_rate_per_unit_exposure() -> None:
    df = _data(seed=8)
    model = bg.GLM("count ~ x", data=df, family="poisson", exposure="e")
    location = model.resolve_priors().coef["Intercept"].mu
    # By hand: the log of total counts over total exposure, which is also the MLE of
    # the intercept-only Poisson model with this offset (statsmodels as the oracle).
    np.testing.assert_allclose(location, np.log(df["count"].sum() / df["e"].sum()), rtol=1e-12)
    import statsmodels.api as sm

    only = sm.GLM(
        df["count"], np.ones((len(df), 1)), family=sm.families.Poisson(), offset=np.log(df["e"])
    ).fit()
    np.testing.assert_allclose(location, only.params.iloc[0], rtol=1e-8)
    # The logit with an offset: again the intercept-only MLE (canonical link).
    binomial = bg.GLM("k ~ x", data=df, family="binomial", trials="n", offset="log(e)")
    endog = np.column_stack([df["k"], df["n"] - df["k"]])
    logit = sm.GLM(
        endog, np.ones((len(df), 1)), family=sm.families.Binomial(), offset=np.log(df["e"])
    ).fit()
    np.testing.assert_allclose(
        binomial.resolve_priors().coef["Intercept"].mu, logit.params[0], rtol=1e-8
    )


def test_posterior_slope_does_not_depend_on_the_exposure_units() -> None:
    # The example: a small Poisson sample where the intercept prior matters.
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(size=12)})
    df["y"] = rng.poisson(np.exp(0.7 * df["x"]))
    slopes = []
    for scale in (1.0, 1e5):
        model = bg.GLM("y ~ x", data=df.assign(e=scale), family="poisson", exposure="e")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SamplingWarning)
            fit = model.fit(draws=1000, tune=500, chains=2, seed=4, progressbar=False)
        slopes.append(fit.summary().loc["x"])
    # Equal up to Monte Carlo error (the chains start from differently placed modes).
    mc_error = np.hypot(slopes[0]["mcse_mean"], slopes[1]["mcse_mean"])
    assert abs(slopes[0]["mean"] - slopes[1]["mean"]) < 4 * mc_error
    np.testing.assert_allclose(slopes[0]["sd"], slopes[1]["sd"], rtol=0.15)


@pytest.mark.parametrize("family", ["poisson", "bernoulli"])
def test_rows_given_with_weights_get_the_priors_of_the_rows_written_out(family: str) -> None:
    rng = np.random.default_rng(9)
    x = np.array([0.0, 1.0, 2.0, 5.0])
    copies = np.array([1, 7, 2, 20])
    y = rng.poisson(np.exp(0.3 * x)) if family == "poisson" else np.array([0, 1, 1, 1])
    X = np.column_stack([np.ones(4), x])
    grouped = bg.GLM.from_arrays(X, y, family=family, weights=copies, names=["Intercept", "x"])
    expanded = bg.GLM.from_arrays(
        np.repeat(X, copies, axis=0), np.repeat(y, copies), family=family, names=["Intercept", "x"]
    )
    a, b = grouped.resolve_priors(), expanded.resolve_priors()
    np.testing.assert_allclose(a.x_means, b.x_means, rtol=1e-12)
    for name in ("Intercept", "x"):
        np.testing.assert_allclose(
            list(a.coef[name].params.values()), list(b.coef[name].params.values()), rtol=1e-12
        )


def test_k_of_n_rows_get_the_priors_of_their_bernoulli_trials() -> None:
    x = np.array([0.0, 1.0, 4.0])
    successes, trials = np.array([1, 6, 2]), np.array([3, 10, 2])
    X = np.column_stack([np.ones(3), x])
    grouped = bg.GLM.from_arrays(
        X, successes, trials=trials, family="binomial", names=["Intercept", "x"]
    )
    pairs = zip(successes, trials, strict=True)
    ones = np.concatenate([np.r_[np.ones(k), np.zeros(n - k)] for k, n in pairs])
    expanded = bg.GLM.from_arrays(
        np.repeat(X, trials, axis=0), ones, family="bernoulli", names=["Intercept", "x"]
    )
    a, b = grouped.resolve_priors(), expanded.resolve_priors()
    np.testing.assert_allclose(a.x_means, b.x_means, rtol=1e-12)
    np.testing.assert_allclose(a.coef["x"].sigma, b.coef["x"].sigma, rtol=1e-12)
    np.testing.assert_allclose(a.coef["Intercept"].mu, b.coef["Intercept"].mu, rtol=1e-12)


def test_a_theta_given_on_the_family_is_held_in_the_bayesian_fit_too() -> None:
    # bg.NegativeBinomial(theta=2) is R's negative.binomial(2): theta is known, so the
    # posterior must not re-estimate it (as the MLE does not).
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"x": rng.normal(size=120)})
    mu = np.exp(1.0 + 0.4 * df["x"])
    df["y"] = rng.negative_binomial(2.0, 2.0 / (2.0 + mu))
    model = bg.GLM("y ~ x", data=df, family=bg.NegativeBinomial(theta=2.0))
    resolved = model.resolve_priors()
    assert resolved.natural == bg.Fixed(2.0)
    assert resolved.table().loc["alpha", "source"] == "family (theta given)"
    fit = model.fit(draws=200, tune=200, chains=1, seed=1, progressbar=False)
    assert "alpha" not in fit.summary().index
    # A prior the user gives for it still wins.
    assert model.resolve_priors({"dispersion": bg.Exponential(1.0)}).natural == (
        bg.Exponential(1.0)
    )
