"""The posterior of categorical and cumulative outcomes (issue #15).

The sampling model's density is checked against the numpy log-likelihood of the
maximum-likelihood fit plus the priors' own densities; the default cutpoint prior
against the Dirichlet it stands for; large-n posteriors against the MLE
(Bernstein–von Mises); a saved fit against the one in the session.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import bayesglm as bg
from bayesglm.category_families import CATEGORY_FAMILIES
from bayesglm.category_model import (
    build_category_sampling_model,
    from_unconstrained,
    log_posterior,
    to_unconstrained,
)
from bayesglm.category_results import load_category
from bayesglm.errors import BayesGLMError
from bayesglm.links import LINKS


def _frame(family: str, n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = rng.choice(["a", "b", "c"], size=n)
    shift = np.where(g == "b", 0.5, np.where(g == "c", -0.4, 0.0))
    if family == "cumulative":
        grade = np.digitize(0.8 * x + shift + rng.logistic(size=n), [-1.0, 0.2, 1.3])
        y = pd.Categorical.from_codes(grade, ["none", "mild", "severe", "fatal"], ordered=True)
    else:
        eta = np.c_[np.zeros(n), 0.3 + 0.7 * x + shift, -0.2 - 0.5 * x - shift]
        p = special.softmax(eta, axis=1)
        codes = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
        y = np.array(["car", "bus", "bike"])[codes]
    return pd.DataFrame({"y": y, "x": x, "g": g, "w": rng.integers(1, 3, n)})


CASES = [("categorical", "logit"), ("cumulative", "logit"), ("cumulative", "cloglog")]


@pytest.mark.parametrize(
    ("family", "link", "cutpoints"),
    [(family, link, None) for family, link in CASES] + [("cumulative", "probit", bg.Normal(0, 3))],
)
def test_the_sampling_model_is_the_numpy_posterior(family, link, cutpoints) -> None:
    model = bg.GLM("y ~ x + g", _frame(family, 60), family=family, link=link, weights="w")
    priors = {"x": bg.StudentT(3, 0, 1)} | ({} if cutpoints is None else {"cutpoints": cutpoints})
    resolved = model.resolve_priors(priors)
    mle = model.fit_mle()
    p = len(model.cdesign.columns)
    mode = to_unconstrained(model.spec, mle.params_array, p)
    rng = np.random.default_rng(1)
    chol = np.tril(rng.normal(scale=0.1, size=(len(mode), len(mode)))) + 0.3 * np.eye(len(mode))
    pymc_model = build_category_sampling_model(model.spec, model.cdesign, resolved, mode, chol)
    logp = pymc_model.compile_logp()
    values = []
    for _ in range(3):
        z = rng.normal(size=len(mode))
        beta, zeta, _ = from_unconstrained(model.spec, mode + chol @ z, p)
        theta = beta if zeta is None else np.r_[beta, zeta]
        values.append((logp({"z": z}), log_posterior(model.spec, model.cdesign, resolved, theta)))
    got, want = np.array(values).T
    # Flat(z) adds nothing; the densities agree up to no constant at all.
    np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.parametrize("link", CATEGORY_FAMILIES["cumulative"].links)
def test_the_default_cutpoint_prior_is_a_flat_dirichlet_on_the_probabilities(link) -> None:
    """log p(zeta | beta) = log Dirichlet(pi; 1) + log |d pi / d zeta|, the
    probabilities pi at the predictors' means, whatever the link."""
    model = bg.GLM("y ~ x + g", _frame("cumulative", 80), family="cumulative", link=link)
    resolved = model.resolve_priors()
    beta = np.array([0.4, -0.3, 0.2])
    zeta = np.array([-0.7, 0.1, 1.1])
    m = resolved.x_means @ beta
    F = LINKS[link].inverse

    def probabilities(z: np.ndarray) -> np.ndarray:
        return np.diff(np.r_[0.0, F(z - m), 1.0])[:-1]  # K - 1 free coordinates

    h = 1e-6
    jacobian = np.array(
        [(probabilities(zeta + h * e) - probabilities(zeta - h * e)) / (2 * h) for e in np.eye(3)]
    ).T
    want = math.lgamma(4) + np.log(abs(np.linalg.det(jacobian)))
    got = resolved.log_prior(beta, zeta, LINKS[link]) - resolved.log_prior(beta)
    np.testing.assert_allclose(got, want, rtol=1e-7)


def test_default_priors_are_auto_scaled_and_printed() -> None:
    frame = _frame("categorical", 200)
    table = bg.GLM("y ~ x + g", frame, family="categorical").resolve_priors().table()
    sd_x = frame["x"].std(ddof=0)
    assert table.loc["bus:x", "prior"] == str(bg.Normal(0.0, 2.5 / sd_x))
    shares = frame["y"].value_counts(normalize=True)
    location = math.log(shares["car"] / shares["bike"])
    assert table.loc["car:Intercept", "prior"] == str(bg.Normal(location, 2.5))
    cumulative = bg.GLM("y ~ x", _frame("cumulative"), family="cumulative").resolve_priors()
    assert cumulative.table().loc["cutpoints", "prior"] == "Dirichlet(1)"
    with pytest.raises(BayesGLMError, match="unknown prior key"):
        bg.GLM("y ~ x", frame, family="categorical").resolve_priors({"cutpoints": bg.Normal()})


def test_run_options_are_checked_as_the_other_families_are() -> None:
    model = bg.GLM("y ~ x", _frame("cumulative"), family="cumulative")
    with pytest.raises(BayesGLMError, match="unknown sampler; the samplers are auto, compiled"):
        model.fit(sampler="stan")
    with pytest.raises(BayesGLMError, match="target_accept must be between 0 and 1"):
        model.fit(target_accept=1.5)
    with pytest.raises(BayesGLMError, match="chains must be an integer >= 1"):
        model.fit(chains=0)


@pytest.fixture(scope="module", params=["categorical", "cumulative"])
def large_fit(request):
    """n = 3000 with weak default priors: the posterior is close to the likelihood."""
    family = request.param
    model = bg.GLM("y ~ x + g", _frame(family, 3000), family=family)
    fit = model.fit(draws=400, tune=400, chains=2, seed=7, sampler="pymc", progressbar=False)
    return model, fit


def test_large_n_posterior_agrees_with_the_mle(large_fit) -> None:
    _, fit = large_fit
    table = fit.compare_mle()
    gap = (table["posterior_mean"] - table["mle"]).abs() / table["mle_se"]
    assert gap.max() < 0.25, table
    np.testing.assert_allclose(table["posterior_sd"], table["mle_se"], rtol=0.2)
    diagnostics = fit.diagnostics()
    assert diagnostics["divergences"] == 0 and diagnostics["max_r_hat"] < 1.05
    summary = fit.summary()
    assert list(summary.index) == list(fit.mle.index)
    assert (summary["eti_lower"] < summary["mean"]).all()


def test_effects_are_ratios_on_the_draws_with_sentences(large_fit) -> None:
    model, fit = large_fit
    effects = fit.effects()
    ordered = model.spec.family.ordered
    label = "cumulative odds ratio" if ordered else "relative-risk ratio"
    assert (effects["effect"] == label).all()
    assert "x" in effects.index if ordered else "bus:x" in effects.index
    assert not any("Intercept" in name or "|" in name for name in effects.index)
    summary = fit.summary()
    key = "x" if ordered else ("bus", "x")
    # Quantiles commute with exp (up to averaging the two middle draws of an even count).
    row = effects.loc["x" if ordered else "bus:x"]
    np.testing.assert_allclose(row["median"], np.exp(summary.loc[key, "median"]), rtol=1e-4)
    assert row["sentence"].startswith("Per unit of x") and "95% interval" in row["sentence"]
    # The MLE's table has the same rows and columns, near the posterior's at this n.
    mle = fit.mle.effects()
    assert list(mle.index) == list(effects.index) and list(mle.columns) == list(effects.columns)
    np.testing.assert_allclose(mle["median"], effects["median"], rtol=0.03)
    np.testing.assert_allclose(mle["eti_upper"], effects["eti_upper"], rtol=0.05)


def test_posterior_average_probabilities_near_the_mle_ones(large_fit) -> None:
    _, fit = large_fit
    bayes, mle = fit.avg_predictions(by="g"), fit.mle.avg_predictions(by="g")
    assert list(bayes["group"]) == list(mle["group"])
    np.testing.assert_allclose(bayes["estimate"], mle["estimate"], atol=0.01)
    width = (bayes["conf_high"] - bayes["conf_low"]) / (mle["conf_high"] - mle["conf_low"])
    assert width.between(0.75, 1.3).all()


@pytest.mark.parametrize("kind", ["avg_comparisons", "avg_slopes"])
def test_posterior_marginal_effects_near_the_mle_ones(large_fit, kind) -> None:
    """Bernstein-von Mises: at n = 3000 with weak priors the draws' averages center on
    the MLE's and spread as its delta-method SEs."""
    _, fit = large_fit
    bayes, mle = getattr(fit, kind)(by="g"), getattr(fit.mle, kind)(by="g")
    keys = ["g", "group", "term", "contrast"]
    assert list(bayes.columns) == [*keys, "estimate", "p_direction", "conf_low", "conf_high"]
    pd.testing.assert_frame_equal(bayes[keys], mle[keys])
    gap = (bayes["estimate"] - mle["estimate"]).abs() / mle["std_error"]
    assert gap.max() < 0.2, pd.concat([bayes, mle], axis=1)
    width = (bayes["conf_high"] - bayes["conf_low"]) / (mle["conf_high"] - mle["conf_low"])
    assert width.between(0.85, 1.15).all()
    # p_direction against the Wald z: P(effect > 0) ~ Phi(estimate / SE).
    z = (mle["estimate"] / mle["std_error"]).abs().to_numpy()
    np.testing.assert_allclose(bayes["p_direction"], stats.norm.cdf(z), atol=0.05)


def test_posterior_predictive_counts_cover_the_observed_ones(large_fit) -> None:
    model, fit = large_fit
    table = fit.ppc(seed=1)
    np.testing.assert_array_equal(table["observed"], np.bincount(model.cdesign.codes))
    assert (table["conf_low"] <= table["observed"]).all()
    assert (table["observed"] <= table["conf_high"]).all()
    np.testing.assert_allclose(table["predicted"].sum(), model.cdesign.design.n)
    np.testing.assert_allclose(table["predicted"], table["observed"], rtol=0.05)


def test_posterior_predictions_are_probabilities_near_the_mle_ones(large_fit) -> None:
    model, fit = large_fit
    new = _frame(model.spec.family.name, 5, seed=9).drop(columns=["y", "w"])
    bayes, mle = fit.predict(new), fit.mle.predict(new)
    K = model.cdesign.K
    np.testing.assert_allclose(bayes["estimate"].to_numpy().reshape(5, K).sum(axis=1), 1.0)
    np.testing.assert_allclose(bayes["estimate"], mle["estimate"], atol=0.02)
    np.testing.assert_allclose(bayes["std_error"], mle["std_error"], rtol=0.35, atol=0.003)


def test_a_saved_fit_loads_and_predicts_the_same(large_fit, tmp_path) -> None:
    model, fit = large_fit
    path = fit.save(tmp_path / "fit.npz")
    loaded = load_category(path)
    np.testing.assert_array_equal(loaded.theta_draws, fit.theta_draws)
    pd.testing.assert_frame_equal(loaded.summary(), fit.summary())
    new = _frame(model.spec.family.name, 4, seed=3).drop(columns=["y", "w"])
    pd.testing.assert_frame_equal(loaded.predict(new), fit.predict(new))
    assert loaded.sampler == fit.sampler and loaded.seed == fit.seed


def test_a_fit_from_arrays_saves_and_loads(tmp_path) -> None:
    frame = _frame("cumulative", 300)
    X = np.c_[np.ones(len(frame)), frame["x"]]
    model = bg.GLM.from_arrays(X, frame["y"], family="cumulative", names=["Intercept", "x"])
    fit = model.fit(draws=100, tune=200, chains=1, seed=2, sampler="pymc", progressbar=False)
    loaded = load_category(fit.save(tmp_path / "arrays.npz"))
    pd.testing.assert_frame_equal(loaded.predict(X[:3]), fit.predict(X[:3]))
    user = model.fit(
        priors={"x": bg.Normal(0, 1)},
        draws=50,
        tune=50,
        chains=1,
        seed=2,
        sampler="pymc",
        progressbar=False,
    )
    loaded = load_category(user.save(tmp_path / "user.npz"))
    assert loaded.priors.table().loc["x", "source"] == "user"
    pd.testing.assert_frame_equal(loaded.summary(), user.summary())


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["numpyro", "nutpie"])
def test_every_backend_samples_the_same_posterior(sampler, large_fit) -> None:
    model, reference = large_fit
    fit = model.fit(draws=400, tune=400, chains=2, seed=7, sampler=sampler, progressbar=False)
    a, b = fit.summary(), reference.summary()
    gap = (a["mean"] - b["mean"]).abs() / np.hypot(a["mcse_mean"], b["mcse_mean"])
    assert gap.max() < 5, pd.concat([a["mean"], b["mean"]], axis=1)
    assert fit.sampler == sampler


def test_the_cli_fits_the_posterior_and_saves_it(tmp_path, capsys) -> None:
    from bayesglm.cli import main

    data, saved = tmp_path / "grades.csv", tmp_path / "fit.npz"
    _frame("cumulative", 200).drop(columns="w").to_csv(data, index=False)
    argv = ["fit", str(data), "--formula", "y ~ x", "--family", "cumulative"]
    options = ["--levels", "none,mild,severe,fatal", "--draws", "60", "--tune", "60"]
    run = ["--chains", "1", "--sampler", "pymc", "--seed", "4", "--quiet", "--save", str(saved)]
    assert main([*argv, *options, *run]) == 0
    out = capsys.readouterr().out
    assert "Dirichlet(1)" in out and "none|mild" in out and "odds of a level above" in out
    assert load_category(saved).theta_draws.shape == (1, 60, 4)


@pytest.mark.parametrize("family", list(CATEGORY_FAMILIES))
def test_separated_data_sample_from_the_posterior_mode(family) -> None:
    """No MLE to start from: the proper default priors keep the posterior finite."""
    x = np.r_[np.linspace(-3, -1, 15), np.linspace(1, 3, 30)]
    if family == "cumulative":
        y = np.digitize(x, [0.0, 2.0])
    else:
        y = np.r_[np.zeros(15, int), np.where(np.arange(30) % 2 == 0, 1, 2)]
    frame = pd.DataFrame({"y": y, "x": x})
    model = bg.GLM("y ~ x", frame, family=family)
    with pytest.warns(bg.SeparationWarning):
        assert model.fit_mle().separation == ("x",)
    fit = model.fit(draws=200, tune=300, chains=1, seed=3, sampler="pymc", progressbar=False)
    assert np.isfinite(fit.theta_draws).all()
    assert fit.diagnostics()["divergences"] < 10
