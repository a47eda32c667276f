"""Power-scaling sensitivity (fit.sensitivity()) and R² (fit.r2()).

References: ArviZ's own psense_summary, bayesian_r2 and loo_r2 run on the full
pointwise DataTrees built the slow way (every draw x row), scipy's densities for the
log prior, Gelman et al.'s R² written out per draw, and deliberately conflicting,
vague and data-starved priors on a gaussian model with a known sigma, where the
Laplace draws are the exact posterior.
"""

from __future__ import annotations

import warnings

import arviz_stats as azs
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

import bayesglm as bg
from bayesglm.compare import log_likelihood_tree
from bayesglm.r2 import bayesian_r2_draws, loo_r2_draws
from bayesglm.sensitivity import log_likelihood_sums

from .laplace_fit import laplace_fit

# Families with a likelihood: the quasi families have no posterior to be sensitive.
LIKELIHOODS = [family for family in bg.FAMILIES.values() if family.has_likelihood]
PAIRS = [(family, link) for family in LIKELIHOODS for link in family.links]
PAIR_IDS = [f"{family.name}-{link}" for family, link in PAIRS]


def _quiet(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call()


def _gaussian(n: int, seed: int, slope: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return np.c_[np.ones(n), x], 0.5 + slope * x + rng.normal(size=n)


def _known_sigma_fit(n: int, priors: dict, seed: int = 1, draws: int = 2000) -> bg.GLMResult:
    """sigma held at its true 1: the posterior of beta is exactly normal, so the Laplace
    draws are exact posterior draws."""
    X, y = _gaussian(n, seed)
    model = bg.GLM.from_arrays(X, y, family="gaussian", names=["Intercept", "x"])
    priors = {"dispersion": bg.Fixed(1.0), **priors}
    return _quiet(lambda: laplace_fit(model, seed=seed, chains=2, draws=draws, priors=priors))


@pytest.fixture(scope="module")
def gaussian_fit() -> bg.GLMResult:
    X, y = _gaussian(80, 3)
    model = bg.GLM.from_arrays(X, y, family="gaussian", names=["Intercept", "x"])
    priors = {"x": bg.Normal(2.0, 0.3), "Intercept": bg.StudentT(4, 0, 2)}
    return _quiet(lambda: laplace_fit(model, seed=4, chains=2, draws=400, priors=priors))


# --- power-scaling ------------------------------------------------------------------------


def _pointwise_tree(fit: bg.GLMResult) -> xr.DataTree:
    """The slow way: one log-likelihood per draw and row, one log prior per draw and
    parameter from scipy, as a PyMC model's DataTree would hold them."""
    tree = log_likelihood_tree(fit)
    beta = fit.beta_draws
    priors = fit.priors
    centred = beta @ priors.centering.T
    log_prior = {}
    for j, name in enumerate(fit.names):
        prior = priors.coef[name]
        if type(prior).__name__ == "Normal":
            values = stats.norm.logpdf(centred[..., j], prior.mu, prior.sigma)
        else:
            values = stats.t.logpdf(centred[..., j], prior.nu, prior.mu, prior.sigma)
        log_prior[f"beta_{name}"] = (("chain", "draw"), values)
    if fit.sampled_natural_name is not None:
        lam = priors.natural.lam
        log_prior["sigma"] = (("chain", "draw"), stats.expon.logpdf(fit.natural_draws, 0, 1 / lam))
    tree["log_prior"] = xr.DataTree(xr.Dataset(log_prior))
    return tree


def test_sensitivity_equals_arviz_on_the_pointwise_tree(gaussian_fit) -> None:
    assert type(gaussian_fit.priors.natural).__name__ == "Exponential"  # what the tree assumes
    ours = gaussian_fit.sensitivity()
    reference = azs.psense_summary(_pointwise_tree(gaussian_fit), round_to=15)
    reference.index = ["Intercept", "x", "sigma"]
    np.testing.assert_allclose(ours["prior"], reference["prior"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours["likelihood"], reference["likelihood"], rtol=1e-9, atol=1e-12)
    assert ours.attrs["threshold"] == 0.05


def test_the_log_likelihood_sum_is_the_sum_of_the_pointwise_values(gaussian_fit) -> None:
    pointwise = np.concatenate([v for _, v in gaussian_fit.log_likelihood(chunk=1000)], axis=1)
    for chunk in (None, 7, 80):
        np.testing.assert_allclose(
            log_likelihood_sums(gaussian_fit, chunk), pointwise.sum(axis=1), rtol=1e-12
        )
    pd.testing.assert_frame_equal(gaussian_fit.sensitivity(chunk=7), gaussian_fit.sensitivity())


def test_a_conflicting_prior_is_flagged_and_the_verdict_reconciled() -> None:
    # The data say slope 1 (se ~ 0.1); the prior says -1 +- 0.1.
    fit = _known_sigma_fit(100, {"x": bg.Normal(-1.0, 0.1)})
    table = fit.sensitivity()
    assert table.loc["x", "diagnosis"] == "prior-data conflict"
    assert table.loc["x", "prior"] > 0.05 and table.loc["x", "likelihood"] > 0.05
    assert table.loc["x", "verdict"] == "prior pull"
    assert table.loc["x", "power_scaling"] == "agrees: the prior is informative"


def test_a_vague_prior_is_not_flagged() -> None:
    fit = _known_sigma_fit(100, {"coef": bg.Normal(0.0, 100.0), "Intercept": bg.Normal(0, 100)})
    table = fit.sensitivity()
    assert (table["diagnosis"] == "–").all()
    assert (table["prior"] < 0.01).all() and (table["likelihood"] > 0.05).all()
    assert (table["power_scaling"] == "").all()


def test_a_tiny_dataset_under_a_strong_prior_is_a_weak_likelihood() -> None:
    # Three rows against a prior 20 times as precise as them, centred where they point.
    fit = _known_sigma_fit(3, {"coef": bg.Normal(1.0, 0.05), "Intercept": bg.Normal(0.5, 0.05)})
    table = fit.sensitivity()
    assert (table["diagnosis"] == "weak likelihood").all()
    assert (table["likelihood"] < 0.05).all() and (table["prior"] > 0.05).all()


def test_a_flat_prior_has_no_prior_sensitivity() -> None:
    fit = _known_sigma_fit(50, {"coef": bg.Flat(), "Intercept": bg.Flat()})
    assert (fit.sensitivity()["prior"] == 0).all()


# --- R² ---------------------------------------------------------------------------------


def test_bayesian_r2_is_gelmans_definition_per_draw(gaussian_fit) -> None:
    beta = gaussian_fit._beta()
    mu = beta @ gaussian_fit.design.X.T
    sigma = gaussian_fit.natural_draws.reshape(-1)
    explained = mu.var(axis=1, ddof=1)
    np.testing.assert_allclose(
        bayesian_r2_draws(gaussian_fit, chunk=9), explained / (explained + sigma**2), rtol=1e-10
    )


def _means_tree(fit: bg.GLMResult) -> xr.DataTree:
    """Every draw's means of every row, with the observed data and the pointwise
    log-likelihood: what ArviZ's r2 functions read when handed everything."""
    shape = (fit.chains, fit.draws_per_chain, -1)
    mu = fit.spec.link.inverse(fit._beta() @ fit.design.X.T + fit.design.eta_offset)
    tree = log_likelihood_tree(fit)
    dims = ("chain", "draw", "obs")
    tree["posterior_predictive"] = xr.DataTree(xr.Dataset({"y": (dims, mu.reshape(shape))}))
    tree["observed_data"] = xr.DataTree(xr.Dataset({"y": (("obs",), fit.design.y_mean)}))
    return tree


@pytest.fixture(scope="module")
def bernoulli_fit() -> bg.GLMResult:
    rng = np.random.default_rng(8)
    x = rng.normal(size=150)
    y = (rng.random(150) < 1 / (1 + np.exp(-1.2 * x))).astype(float)
    model = bg.GLM.from_arrays(np.c_[np.ones(150), x], y, family="bernoulli")
    return _quiet(lambda: laplace_fit(model, seed=2, chains=2, draws=300))


def test_bayesian_r2_equals_arviz_with_its_own_bernoulli_variance(bernoulli_fit) -> None:
    # ArviZ's scale=None is the bernoulli's mean of mu (1 - mu): computed by ArviZ itself.
    tree = _means_tree(bernoulli_fit)
    tree["posterior"]["mu"] = tree["posterior_predictive"]["y"]
    reference = azs.bayesian_r2(tree, pred_mean="mu", scale=None, summary=False)
    np.testing.assert_allclose(bayesian_r2_draws(bernoulli_fit, chunk=11), reference, rtol=1e-10)


@pytest.mark.parametrize("name", ["gaussian", "bernoulli"])
def test_loo_r2_equals_arviz_on_the_full_tree(name, gaussian_fit, bernoulli_fit) -> None:
    fit = {"gaussian": gaussian_fit, "bernoulli": bernoulli_fit}[name]
    reference = _quiet(lambda: azs.loo_r2(_means_tree(fit), var_name="y", summary=False))
    np.testing.assert_allclose(_quiet(lambda: loo_r2_draws(fit, chunk=13)), reference, rtol=1e-10)


def test_r2_table(gaussian_fit) -> None:
    table = _quiet(lambda: gaussian_fit.r2(prob=0.9))
    assert list(table.index) == ["bayesian", "loo"]
    draws = bayesian_r2_draws(gaussian_fit)
    np.testing.assert_allclose(
        table.loc["bayesian"], np.quantile(draws, [0.5, 0.05, 0.95]), rtol=1e-12
    )
    assert table.attrs["interval"] == "90% equal-tailed"
    assert (table["conf_low"] < table["estimate"]).all()


# --- every pair, formula models, saved fits -----------------------------------------------


def _pair_model(family, link: str) -> bg.GLM:
    # Enough rows that the Laplace draws stay where the pair defines a mean (a NUTS fit
    # is kept there by the model; these draws are not).
    rng = np.random.default_rng(6)
    n = 300
    x = rng.uniform(-1, 1, size=n)
    base = 0.2 if family.is_probability else 2.0
    mu = base * (1 + 0.2 * x)
    natural = {"sigma": 0.5, "shape": 5.0, "lam": 4.0, "alpha": 3.0}.get(family.natural_param)
    trials = np.full(n, 10.0) if family.has_trials else None
    y = family.sample(mu, natural, trials, rng)
    return bg.GLM.from_arrays(
        np.c_[np.ones(n), x], y, family=family.name, link=link, trials=trials
    )


@pytest.mark.parametrize(("family", "link"), PAIRS, ids=PAIR_IDS)
def test_every_pair_has_a_sensitivity_and_an_r2(family, link) -> None:
    fit = _quiet(lambda: laplace_fit(_pair_model(family, link), seed=1, chains=2, draws=200))
    table = fit.sensitivity()
    expected = fit.names + ([fit.sampled_natural_name] if fit.sampled_natural_name else [])
    assert list(table.index) == expected
    assert np.isfinite(table[["prior", "likelihood"]].to_numpy()).all()
    r2 = _quiet(fit.r2)
    assert np.isfinite(r2.to_numpy()).all()
    assert ((r2.loc["bayesian"] >= 0) & (r2.loc["bayesian"] <= 1)).all()


def test_a_formula_model_saved_and_loaded(tmp_path) -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"x": rng.normal(size=70), "g": rng.choice(["a", "b", "c"], 70)})
    df["n"] = 12
    df["k"] = rng.binomial(12, 1 / (1 + np.exp(-(0.3 * df["x"] + (df["g"] == "b")))))
    model = bg.GLM("k ~ x + C(g)", data=df, family="binomial", trials="n")
    fit = _quiet(lambda: laplace_fit(model, seed=5, chains=2, draws=200))
    loaded = bg.load(fit.save(tmp_path / "fit.nc"))
    pd.testing.assert_frame_equal(loaded.sensitivity(), fit.sensitivity())
    pd.testing.assert_frame_equal(_quiet(loaded.r2), _quiet(fit.r2))
    assert list(fit.sensitivity().index) == ["Intercept", "x", "C(g)[T.b]", "C(g)[T.c]"]


# --- where it is shown ----------------------------------------------------------------------


def test_print_shows_the_sensitivity_once_computed() -> None:
    fit = _known_sigma_fit(100, {"x": bg.Normal(-1.0, 0.1)})
    assert "Prior sensitivity: fit.sensitivity() computes it" in str(fit)
    table = fit.sensitivity()
    text = str(fit)
    assert "Prior sensitivity (power-scaling, threshold 0.05):" in text
    line = next(line for line in text.splitlines() if line.startswith("  - x: "))
    assert line == (
        f"  - x: prior-data conflict (prior {table.loc['x', 'prior']:.3f}, likelihood "
        f"{table.loc['x', 'likelihood']:.3f}); the 'prior pull' verdict: power-scaling "
        "agrees: the prior is informative"
    )
    vague = _known_sigma_fit(100, {"coef": bg.Normal(0, 100), "Intercept": bg.Normal(0, 100)})
    vague.sensitivity()
    assert "  - no prior-data conflict and no weak likelihood" in str(vague)


@pytest.mark.parametrize("family", LIKELIHOODS, ids=[family.name for family in LIKELIHOODS])
def test_the_residual_variance_is_the_variance_of_the_familys_draws(family) -> None:
    # Var(Y) at a mean and a natural parameter per draw, against the family's own sampler.
    rng = np.random.default_rng(9)
    mu = np.full((2, 200_000), 0.3 if family.is_probability else 2.0)
    values = {"sigma": [0.5, 2.0], "shape": [2.0, 8.0], "lam": [3.0, 10.0], "alpha": [1.5, 6.0]}
    natural = None
    if family.natural_param is not None and family.estimates_natural:
        natural = np.array(values[family.natural_param])[:, None]
    drawn = family.sample(mu, natural, np.ones(mu.shape), rng)
    np.testing.assert_allclose(
        np.broadcast_to(family.response_variance(mu, natural), mu.shape)[:, 0],
        drawn.var(axis=1),
        rtol=0.03,
    )
