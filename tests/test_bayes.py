"""The Bayesian core: exact posteriors, Bernstein-von Mises, priors, samplers, plumbing.

Compiled models are cached per structure inside bayesglm.model, so fits of the same
family, link and prior kinds in this session reuse one compilation.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm import model as backend
from bayesglm import samplers
from bayesglm.errors import BayesGLMError, SamplingWarning
from bayesglm.families import FAMILIES
from bayesglm.laplace import laplace_approx
from bayesglm.sampling_data import SamplingData, reduce_data

from .test_statsmodels_oracle import simulate

# nutpie reuses its compiled model for every fit of one structure in this session.
FAST = {"draws": 500, "tune": 500, "chains": 2, "progressbar": False, "sampler": "nutpie"}


def _fit(model: bg.GLM, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return model.fit(**{**FAST, **kwargs})


# --- exact posteriors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("center", "sampler"), [(False, "nutpie"), (True, "nutpie"), (True, "compiled")]
)
def test_gaussian_known_sigma_matches_the_conjugate_posterior(center: bool, sampler: str) -> None:
    rng = np.random.default_rng(11)
    n, sigma = 60, 1.5
    x = rng.normal(2.0, 1.0, size=(n, 2))
    X = np.column_stack([np.ones(n), x])
    y = X @ np.array([1.0, -0.5, 0.8]) + rng.normal(0, sigma, n)
    prior_mean, prior_sd = np.array([0.5, 0.0, 0.2]), np.array([2.0, 1.0, 0.7])
    names = ["Intercept", "a", "b"]
    priors = {nm: bg.Normal(m, s) for nm, m, s in zip(names, prior_mean, prior_sd, strict=True)}
    priors["dispersion"] = bg.Fixed(sigma)
    model = bg.GLM.from_arrays(X, y, family="gaussian", names=names)
    fit = _fit(model, priors=priors, center=center, draws=2000, chains=4, seed=3, sampler=sampler)
    assert fit.sampler == sampler

    # Exact: the prior is Normal on C beta (C = I, or the centring map), so on beta
    # it is Normal with precision C' D C; the likelihood adds X'X / sigma^2.
    C = np.eye(3)
    if center:
        C[0, 1:] = x.mean(axis=0)
    prior_precision = C.T @ np.diag(1 / prior_sd**2) @ C
    precision = prior_precision + X.T @ X / sigma**2
    cov = np.linalg.inv(precision)
    mean = cov @ (prior_precision @ np.linalg.solve(C, prior_mean) + X.T @ y / sigma**2)

    draws = fit.draws()[names].to_numpy()
    summary = fit.summary()
    mc_error = summary["sd"].to_numpy()[:3] / np.sqrt(summary["ess_bulk"].to_numpy()[:3])
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - mean), 4 * mc_error)
    np.testing.assert_allclose(draws.std(axis=0), np.sqrt(np.diag(cov)), rtol=0.05)
    np.testing.assert_allclose(np.corrcoef(draws.T), _corr(cov), atol=0.05)
    assert (fit.draws()["sigma"] == sigma).all()


def _corr(cov: np.ndarray) -> np.ndarray:
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


@pytest.mark.parametrize(
    ("family", "sampler"),
    # On the compiled engine the 3000 poisson rows are padded to 4096.
    [(f, "nutpie") for f, fam in FAMILIES.items() if fam.has_likelihood]
    + [("poisson", "compiled")],
)
def test_flat_priors_and_large_n_agree_with_the_mle(family: str, sampler: str) -> None:
    """Bernstein-von Mises: posterior mean within 0.1 SE of the MLE, sd within 5%."""
    link = FAMILIES[family].canonical_link
    X, y, trials = simulate(FAMILIES[family], link, n=3000, seed=7)
    model = bg.GLM.from_arrays(X, y, family=family, trials=trials)
    priors = {"coef": bg.Flat(), "x0": bg.Flat()}
    if FAMILIES[family].natural_param:
        priors["dispersion"] = bg.HalfFlat()
    fit = _fit(model, priors=priors, draws=1000, chains=4, seed=5, sampler=sampler)
    assert fit.sampler == sampler
    mle = model.fit_mle()
    summary = fit.summary().iloc[: len(mle.params)]
    z = (summary["mean"].to_numpy() - mle.params.to_numpy()) / mle.bse.to_numpy()
    np.testing.assert_array_less(np.abs(z), 0.1)
    np.testing.assert_allclose(summary["sd"].to_numpy(), mle.bse.to_numpy(), rtol=0.05)
    assert fit.diagnostics().ok, fit.diagnostics().problems


# --- the data reductions are exact -------------------------------------------------------


def _logp_difference(model: bg.GLM, priors, reduced, z_pair) -> float:
    resolved = model.resolve_priors(priors)
    laplace = laplace_approx(model.design, model.spec, resolved, model.fit_mle())
    pm_model = backend.build_sampling_model(model.design, model.spec, resolved, laplace, reduced)
    logp = pm_model.compile_logp()
    return float(logp({"z": z_pair[0]}) - logp({"z": z_pair[1]}))


def test_merging_identical_rows_leaves_the_posterior_unchanged() -> None:
    rng = np.random.default_rng(2)
    levels = np.column_stack([np.ones(6), np.arange(6.0)])
    X = levels[rng.integers(0, 6, size=300)]
    y = rng.binomial(1, 1 / (1 + np.exp(-(X[:, 1] - 2.5))))
    for family, response in (("bernoulli", y), ("poisson", rng.poisson(np.exp(X[:, 1] / 3)))):
        model = bg.GLM.from_arrays(X, response, family=family)
        merged = reduce_data(model.design, model.spec)
        assert merged.n_rows == 6 and merged.has_trials
        rows = SamplingData(
            "rows",
            {"X": X, "offset": np.zeros(300), "weights": np.ones(300), "y": response * 1.0},
            False,
            300,
        )
        pair = (np.array([0.3, -0.2]), np.array([-0.5, 0.4]))
        np.testing.assert_allclose(
            _logp_difference(model, None, merged, pair),
            _logp_difference(model, None, rows, pair),
            rtol=1e-9,
        )


def test_gaussian_sufficient_statistics_leave_the_posterior_unchanged() -> None:
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(200), rng.normal(size=(200, 2))])
    y = X @ np.array([1.0, 2.0, -1.0]) + rng.normal(size=200) + 100.0
    w = rng.uniform(0.5, 2.0, 200)
    offset = rng.normal(size=200)
    model = bg.GLM.from_arrays(X, y, family="gaussian", weights=w, offset=offset)
    sufficient = reduce_data(model.design, model.spec)
    assert sufficient.kind == "sufficient"
    rows = SamplingData("rows", {"X": X, "offset": offset, "weights": w, "y": y}, False, 200)
    pair = (np.array([0.3, -0.2, 0.1, 0.5]), np.array([-0.5, 0.4, 1.0, -0.3]))
    np.testing.assert_allclose(
        _logp_difference(model, None, sufficient, pair),
        _logp_difference(model, None, rows, pair),
        rtol=1e-9,
    )


# --- priors --------------------------------------------------------------------------------


def _poisson_model(n: int = 120, seed: int = 0) -> bg.GLM:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3.0, size=n)
    return bg.GLM.from_arrays(
        np.column_stack([np.ones(n), x]),
        rng.poisson(np.exp(0.3 + 0.2 * x)),
        family="poisson",
        names=["Intercept", "x"],
    )


def test_default_priors_are_auto_scaled_like_rstanarm() -> None:
    model = _poisson_model()
    resolved = model.resolve_priors()
    x = model.design.X[:, 1]
    assert resolved.coef["x"].mu == 0.0
    np.testing.assert_allclose(resolved.coef["x"].sigma, 2.5 / x.std(), rtol=1e-12)
    ybar = model.design.y.mean()
    np.testing.assert_allclose(resolved.coef["Intercept"].mu, np.log(ybar), rtol=1e-12)
    assert resolved.coef["Intercept"].sigma == 2.5
    assert resolved.center and resolved.natural is None
    gaussian = bg.GLM.from_arrays(
        model.design.X, model.design.y * 10.0, family="gaussian", names=["Intercept", "x"]
    )
    sd_y = (model.design.y * 10.0).std()
    g = gaussian.resolve_priors()
    np.testing.assert_allclose(g.coef["x"].sigma, 2.5 * sd_y / x.std())
    np.testing.assert_allclose(g.coef["Intercept"].sigma, 2.5 * sd_y)
    np.testing.assert_allclose(g.natural.lam, 1 / sd_y, rtol=1e-5)
    positive = model.design.y + 1.0
    gamma = bg.GLM.from_arrays(model.design.X, positive, family="gamma", names=["a", "b"])
    cv = positive.std() / positive.mean()
    assert gamma.resolve_priors().natural == bg.InvSqrtExponential(float(f"{1 / cv:.6g}"))
    negbin = bg.GLM.from_arrays(model.design.X, model.design.y, family="negative_binomial")
    assert negbin.resolve_priors().natural == bg.InvSqrtExponential(1.0)


def test_inv_sqrt_exponential_is_an_exponential_on_one_over_sqrt() -> None:
    from scipy import integrate, stats

    prior = bg.InvSqrtExponential(2.0)
    x = np.array([0.05, 0.3, 1.0, 7.0, 150.0])
    # Change of variables: s = x**-0.5 ~ Exponential(2), |ds/dx| = x**-1.5 / 2.
    expected = stats.expon.logpdf(x**-0.5, scale=0.5) + np.log(0.5 * x**-1.5)
    np.testing.assert_allclose(prior.logpdf(x), expected, rtol=1e-12)
    total, _ = integrate.quad(lambda v: np.exp(prior.logpdf(v)), 0, np.inf, limit=200)
    np.testing.assert_allclose(total, 1.0, rtol=1e-6)


def test_prior_keys_resolve_from_general_to_specific() -> None:
    model = bg.GLM.from_arrays(
        np.column_stack([np.ones(5), np.arange(5.0), np.arange(5.0) ** 2]),
        [1.0, 2.0, 2.5, 4.0, 5.5],
        family="gamma",
        names=["Intercept", "a", "b"],
    )
    resolved = model.resolve_priors(
        {"coef": bg.StudentT(3, 0, 1), "b": bg.Laplace(0, 0.5), "dispersion": bg.Gamma(2, 1)}
    )
    assert resolved.coef["a"] == bg.StudentT(3, 0, 1)
    assert resolved.coef["b"] == bg.Laplace(0, 0.5)
    assert isinstance(resolved.coef["Intercept"], bg.Normal)
    assert resolved.natural == bg.Gamma(2, 1)
    table = resolved.table()
    assert table.loc["shape", "prior"] == "Gamma(2, 1)"
    assert table.loc["b", "source"] == "user"


def test_bad_priors_are_refused_with_the_valid_keys() -> None:
    model = _poisson_model()
    with pytest.raises(
        BayesGLMError, match=r"unknown prior key\(s\) 'slope'; the keys are coef, Intercept, x;"
    ):
        model.resolve_priors({"slope": bg.Normal(0, 1)})
    with pytest.raises(BayesGLMError, match=r"unknown prior key\(s\) 'dispersion'"):
        model.resolve_priors({"dispersion": bg.Exponential(1)})
    with pytest.raises(BayesGLMError, match=r"the prior for 'x' must be a real-valued prior"):
        model.resolve_priors({"x": bg.HalfNormal(1)})
    with pytest.raises(BayesGLMError, match=r"Normal's sigma must be positive; got \(sigma=0\)"):
        bg.Normal(0, 0)


def test_center_moves_the_intercept_prior_to_the_column_means() -> None:
    model = _poisson_model(seed=4)
    tight = {"Intercept": bg.Normal(0.1, 0.01)}
    xbar = model.design.X[:, 1].mean()
    centred = _fit(model, priors=tight, center=True, seed=1).draws()
    raw = _fit(model, priors=tight, center=False, seed=1).draws()
    assert abs((centred["Intercept"] + xbar * centred["x"]).mean() - 0.1) < 0.01
    assert abs(raw["Intercept"].mean() - 0.1) < 0.01


# --- improper posteriors and diagnostics ------------------------------------------------------


def _separated() -> bg.GLM:
    x = np.linspace(-2, 2, 40)
    return bg.GLM.from_arrays(
        np.column_stack([np.ones(40), x]),
        (x > 0.1).astype(float),
        family="bernoulli",
        names=["Intercept", "x"],
    )


def test_flat_priors_under_separation_are_refused() -> None:
    with pytest.raises(BayesGLMError, match=r"posterior is improper.*separated along x.*x=Flat"):
        _separated().fit(priors={"coef": bg.Flat()}, progressbar=False)


def test_proper_priors_sample_a_separated_outcome(tmp_path) -> None:
    fit = _fit(_separated(), seed=2)
    assert fit.mle.separation == ("x",)
    assert fit.diagnostics().divergences == 0
    assert np.isfinite(fit.summary()["mean"]).all()
    assert 0 < fit.summary().loc["x", "mean"] < 20
    report = fit.report(tmp_path / "separated.md").read_text()
    assert "Separation in the data along x: the MLE does not exist" in report


def test_sampling_problems_raise_one_warning_and_are_recorded() -> None:
    with pytest.warns(SamplingWarning, match=r"effective sample size.*draw more") as record:
        fit = _poisson_model().fit(draws=15, tune=15, chains=2, seed=1, progressbar=False)
    assert len([w for w in record if issubclass(w.category, SamplingWarning)]) == 1
    diagnostics = fit.diagnostics()
    assert not diagnostics.ok
    assert not diagnostics.table().loc["min bulk ESS", "passed"]


def test_the_checks_table_and_the_verdict_agree_when_a_check_cannot_be_computed() -> None:
    # One chain has no R-hat (NaN): the verdict passes it, and so must the table.
    fit = _fit(_poisson_model(), chains=1, seed=2)
    diagnostics = fit.diagnostics()
    assert np.isnan(diagnostics.max_rhat)
    table = diagnostics.table()
    assert diagnostics.ok == table["passed"].all()
    assert bool(table.loc["max R-hat", "passed"])


# --- results and samplers ------------------------------------------------------------


@pytest.fixture(scope="module")
def gamma_fit():
    rng = np.random.default_rng(9)
    X = np.column_stack([np.ones(150), rng.uniform(0, 1, size=150)])
    y = rng.gamma(3.0, np.exp(0.5 + X[:, 1]) / 3.0)
    model = bg.GLM.from_arrays(X, y, family="gamma", link="log", names=["Intercept", "x"])
    return model, _fit(model, seed=12)


def test_draws_table_has_one_row_per_draw(gamma_fit) -> None:
    _, fit = gamma_fit
    draws = fit.draws()
    assert list(draws.columns) == ["chain", "draw", "Intercept", "x", "shape"]
    assert len(draws) == 2 * 500
    assert (draws["shape"] > 0).all()
    assert fit.idata["posterior"]["beta"].dims == ("chain", "draw", "coef")


def test_summary_columns_and_interval(gamma_fit) -> None:
    _, fit = gamma_fit
    summary = fit.summary(prob=0.9)
    assert list(summary.columns) == [
        "mean",
        "sd",
        "median",
        "eti_lower",
        "eti_upper",
        "mcse_mean",
        "ess_bulk",
        "ess_tail",
        "r_hat",
    ]
    assert list(summary.index) == ["Intercept", "x", "shape"]
    draws = fit.draws()["x"]
    np.testing.assert_allclose(summary.loc["x", "eti_lower"], draws.quantile(0.05), rtol=1e-6)
    assert summary.attrs["interval"] == "90% equal-tailed"
    text = str(fit)
    assert "Priors:" in text and "InvSqrtExponential(" in text and "95% equal-tailed" in text


def test_predictive_draws_and_pointwise_log_likelihood(gamma_fit) -> None:
    model, fit = gamma_fit
    replicated = fit.posterior_predictive(rng=1)
    assert replicated.shape == (1000, 150) and (replicated > 0).all()
    np.testing.assert_allclose(replicated.mean(), model.design.y.mean(), rtol=0.1)
    chunks = list(fit.log_likelihood(chunk=40))
    assert [rows.start for rows, _ in chunks] == [0, 40, 80, 120]
    full = np.concatenate([values for _, values in chunks], axis=1)
    beta = fit.draws()[["Intercept", "x"]].to_numpy()[0]
    shape = fit.draws()["shape"].to_numpy()[0]
    expected = model.spec.family.loglike_obs(model.design.y, np.exp(model.design.X @ beta), shape)
    np.testing.assert_allclose(full[0], expected, rtol=1e-10)


@pytest.mark.parametrize("sampler", samplers.available_samplers())
def test_each_sampler_is_reproducible_and_recorded(sampler: str) -> None:
    model = _poisson_model(n=80, seed=3)
    first = _fit(model, sampler=sampler, seed=21)
    second = _fit(model, sampler=sampler, seed=21)
    assert first.sampler == sampler
    pd.testing.assert_frame_equal(first.draws(), second.draws())
    mle = model.fit_mle()
    np.testing.assert_allclose(first.summary()["mean"], mle.params, atol=3 * mle.bse.max())


@pytest.mark.skipif("numpyro" not in samplers.available_samplers(), reason="needs numpyro")
def test_repeated_numpyro_fits_release_jax_programs(monkeypatch) -> None:
    """Each numpyro fit compiles a program that JAX would keep forever (a loop of fits
    once crashed out of memory); the caches are cleared every few fits."""
    import jax

    cleared = []
    monkeypatch.setattr(jax, "clear_caches", lambda: cleared.append(True))
    monkeypatch.setattr(backend, "_JAX_FITS_PER_CLEAR", 2)
    monkeypatch.setattr(backend, "_JAX_FITS", [0])
    for seed in range(3):
        _fit(_poisson_model(n=40, seed=seed), sampler="numpyro", seed=seed)
    assert len(cleared) == 1 and backend._JAX_FITS == [1]


def test_auto_picks_the_fastest_installed_sampler() -> None:
    fit = _fit(_poisson_model(n=50), seed=1, sampler="auto")
    assert fit.sampler == samplers.available_samplers()[0]


def test_unknown_or_missing_sampler_is_refused(monkeypatch) -> None:
    model = _poisson_model(n=30)
    with pytest.raises(
        BayesGLMError,
        match=r"unknown sampler; the samplers are auto, compiled, numpyro, nutpie, pymc",
    ):
        model.fit(sampler="stan")
    monkeypatch.setattr(samplers, "available_samplers", lambda: ["pymc"])
    with pytest.raises(BayesGLMError, match=r"the nutpie sampler is not installed"):
        model.fit(sampler="nutpie")
    with pytest.raises(BayesGLMError, match=r"draws must be an integer >= 1; got \(draws=0\)"):
        model.fit(draws=0)


def test_generative_model_names_and_likelihood() -> None:
    import pymc as pm

    model = _poisson_model(n=40)
    pm_model = model.build()
    assert list(pm_model.coords["coef"]) == ["Intercept", "x"]
    assert {"X", "y", "offset", "weights"} <= {v.name for v in pm_model.data_vars}
    beta = np.array([0.2, 0.1])
    point = {"Intercept_centered": beta[0] + beta[1] * model.design.X[:, 1].mean(), "x": beta[1]}
    loglik = pm_model.compile_logp(vars=pm_model.observed_RVs)(point)
    mu = np.exp(model.design.X @ beta)
    np.testing.assert_allclose(
        loglik, model.spec.family.loglike_obs(model.design.y, mu).sum(), rtol=1e-10
    )
    prior = pm.sample_prior_predictive(draws=50, model=pm_model, random_seed=1)
    assert prior["prior_predictive"]["y_obs"].shape == (1, 50, 40)


def test_prior_predictive_draws_respect_the_support() -> None:
    model = _poisson_model(n=40)
    prior = model.sample_prior_predictive(draws=100, seed=3)
    y = prior["prior_predictive"]["y_obs"].to_numpy()
    assert y.shape == (1, 100, 40)
    assert (y >= 0).all() and (y == np.floor(y)).all()
    assert prior["prior"]["beta"].shape == (1, 100, 2)
    with pytest.raises(BayesGLMError, match=r"prior predictive draws need proper priors"):
        model.sample_prior_predictive(priors={"coef": bg.Flat()})


def test_binomial_default_intercept_is_at_the_pooled_proportion() -> None:
    model = bg.GLM.from_arrays(
        np.column_stack([np.ones(3), [0.0, 1.0, 2.0]]),
        [1, 5, 30],
        trials=[10, 10, 40],
        family="binomial",
        names=["Intercept", "dose"],
    )
    pooled = 36 / 60
    intercept = model.resolve_priors().coef["Intercept"]
    np.testing.assert_allclose(intercept.mu, np.log(pooled / (1 - pooled)), rtol=1e-12)
    assert intercept.sigma == 2.5


@pytest.mark.parametrize(
    ("family", "link"),
    [(f, link) for f, fam in FAMILIES.items() if fam.has_likelihood for link in fam.links],
    ids=lambda v: str(v),
)
def test_every_pair_builds_a_sampling_model_with_the_families_likelihood(family, link) -> None:
    """At z = 0 (the posterior mode) the model's likelihood term is sum(w * loglike_obs)."""
    import pytensor

    X, y, trials = simulate(FAMILIES[family], link, n=120, seed=11)
    weights = np.random.default_rng(0).integers(1, 3, size=120).astype(float)
    model = bg.GLM.from_arrays(X, y, family=family, link=link, trials=trials, weights=weights)
    resolved = model.resolve_priors()
    laplace = laplace_approx(model.design, model.spec, resolved, model.fit_mle())
    reduced = reduce_data(model.design, model.spec)
    pm_model = backend.build_sampling_model(model.design, model.spec, resolved, laplace, reduced)
    loglik = next(v for v in pm_model.potentials if v.name == "loglik")
    expression = pm_model.replace_rvs_by_values([loglik])[0]
    value = pytensor.function(pm_model.value_vars, expression, mode="FAST_COMPILE")(
        np.zeros(laplace.mode.size)
    )
    p = model.design.p
    beta = laplace.mode[:p]
    natural = float(np.exp(laplace.mode[p])) if laplace.mode.size > p else None
    mu = bg.LINKS[link].inverse(X @ beta)
    fam = FAMILIES[family]
    expected = fam.loglike_obs(
        y, mu, natural, trials=1.0 if trials is None else trials, weights=weights
    ).sum()
    # Continuous X: no two rows merge, so the sums compare term by term.
    assert reduced.n_rows == 120
    np.testing.assert_allclose(value, expected, rtol=1e-7)


def test_proper_posteriors_without_an_mle_are_sampled() -> None:
    """All-ones outcome (no finite MLE) and under-dispersed counts (theta -> infinity)."""
    X = np.column_stack([np.ones(20), np.linspace(0.0, 1.0, 20)])
    ones = bg.GLM.from_arrays(X, np.ones(20), family="bernoulli", names=["Intercept", "x"])
    fit = _fit(ones, seed=1)
    assert fit.summary().loc["Intercept", "mean"] > 1
    counts = bg.GLM.from_arrays(
        X, np.tile([2.0, 3.0], 10), family="negative_binomial", names=["Intercept", "x"]
    )
    with pytest.warns(bg.ConvergenceWarning, match=r"theta .* no finite maximum-likelihood"):
        mle = counts.fit_mle()
    assert mle.theta == 1e6
    fit = _fit(counts, seed=1)
    assert fit.summary().loc["alpha", "mean"] > 1


def test_sqrt_link_posterior_keeps_the_linear_predictor_positive() -> None:
    X = np.column_stack([np.ones(20), np.linspace(0.0, 1.0, 20)])
    y = np.r_[np.zeros(10), np.full(10, 2.0)]
    model = bg.GLM.from_arrays(X, y, family="poisson", link="sqrt", names=["Intercept", "x"])
    fit = _fit(
        model, priors={"Intercept": bg.Normal(0, 1), "x": bg.Normal(0, 2)}, center=False, seed=3
    )
    draws = fit.draws()
    assert (draws["Intercept"] > 0).all()
    assert (draws["Intercept"] + draws["x"] > 0).all()
