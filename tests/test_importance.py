"""The importance-sampled posterior of families with a natural parameter (the gaussian
``sigma`` under a non-identity link, the gamma ``shape``, the inverse gaussian ``lam``,
the negative binomial ``alpha``), sampled as u = log(natural) beside the coefficients.

The posterior of an intercept and the natural parameter is checked against the exact
one, computed on a grid (with the default priors and with a strongly informative
prior on the natural parameter); regressions are checked against NUTS over the rows
(slow); the fit on ragged Dask chunks is the fit in memory; a negative binomial with
a given theta samples no u; a quasi-family, which has no likelihood, is refused.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm import samplers
from bayesglm.errors import BayesGLMError
from bayesglm.importance import method_lines

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")

needs_compiled = pytest.mark.skipif(
    "compiled" not in samplers.available_samplers(), reason="needs jax and numpyro"
)

FORMULA = "~ x + z + C(g)"
CASES = {
    "gamma-log": dict(lhs="t", family="gamma", link="log"),
    "inverse_gaussian-log": dict(lhs="w", family="inverse_gaussian", link="log"),
    "negative_binomial-log": dict(lhs="c", family="negative_binomial", link="log"),
    "gaussian-log": dict(lhs="yn", family="gaussian", link="log"),
}


@pytest.fixture(autouse=True)
def _synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _frame(n: int, seed: int = 1) -> pd.DataFrame:
    """Two continuous predictors, a factor, and a response for each family with the
    same log-linear mean (gamma shape 3, inverse gaussian lam 8, negative binomial
    theta 2, gaussian sigma 0.5)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {"x": rng.normal(size=n), "z": rng.uniform(size=n), "g": rng.choice(list("abc"), n)}
    )
    mu = np.exp(0.5 + 0.3 * df["x"] - 0.4 * df["z"] + 0.2 * (df["g"] == "b"))
    df["t"] = rng.gamma(3.0, mu / 3.0)
    df["w"] = rng.wald(mu, 8.0)
    df["c"] = rng.negative_binomial(2.0, 2.0 / (2.0 + mu)).astype(float)
    df["yn"] = rng.normal(mu, 0.5)
    return df


def _model(name: str, data, rhs: str = FORMULA) -> bg.GLM:
    case = dict(CASES[name])
    return bg.GLM(case.pop("lhs") + " " + rhs, data=data, **case)


def _exact_moments(model: bg.GLM, fit, priors) -> dict[str, tuple[float, float]]:
    """Posterior mean and sd of the intercept and the natural parameter of an
    intercept-only model, by summing the exact posterior density over a 241 x 241 grid
    of (intercept, log natural) spanning +-7 sds of the Laplace approximation."""
    resolved = model.resolve_priors(priors)
    family, link = model.spec.family, model.spec.link
    y = model.design.y
    sd = np.sqrt(np.diag(fit.laplace.cov))
    b = fit.laplace.mode[0] + np.linspace(-7, 7, 241) * sd[0]
    u = fit.laplace.mode[1] + np.linspace(-7, 7, 241) * sd[1]
    mu = link.inverse(b)[:, None] * np.ones_like(y)
    loglike = np.array(
        [family.loglike_obs(y, mu, np.exp(value)).sum(axis=1) for value in u]
    ).T  # (intercept, u)
    intercept_prior = next(iter(resolved.coef.values()))
    log_post = (
        loglike
        + intercept_prior.logpdf(b)[:, None]
        + resolved.natural.logpdf(np.exp(u))[None, :]
        + u[None, :]  # Jacobian of natural = e^u: the grid is uniform in u
    )
    density = np.exp(log_post - log_post.max())
    density /= density.sum()
    natural = np.exp(u)[None, :]
    B = b[:, None]
    out = {}
    for key, values in (("Intercept", B), (resolved.natural_name, natural)):
        mean = float((density * values).sum())
        out[key] = (mean, float(np.sqrt((density * (values - mean) ** 2).sum())))
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


EXACT_CASES = [(name, None) for name in CASES] + [
    # A prior on the shape with mean 1.5 and sd 0.05 against data that say 2.4 (sd
    # 0.1; the intercept-only model leaves the predictors' effects in the spread): the
    # posterior lands between, where the exact calculation puts it.
    ("gamma-log", {"dispersion": bg.Gamma(alpha=900.0, beta=600.0)}),
    # theta 1.5 in the data, a prior at 4 with sd 0.2.
    ("negative_binomial-log", {"dispersion": bg.Gamma(alpha=400.0, beta=100.0)}),
]


@pytest.mark.parametrize(("name", "priors"), EXACT_CASES)
def test_the_posterior_of_an_intercept_and_the_natural_parameter_is_the_exact_one(
    name, priors
) -> None:
    model = _model(name, _frame(1000, seed=2), rhs="~ 1")
    fit = model.fit(priors=priors, draws=1000, seed=3, method="importance")
    method = fit.method
    assert method["method"] == "importance" and method["khat"] < 0.5
    natural = model.spec.family.natural_param
    assert fit.natural_draws.shape == (4, 1000) and fit.sampled_natural_name == natural
    exact = _exact_moments(model, fit, priors)
    summary = fit.summary()
    for parameter, (mean, sd) in exact.items():
        # Monte Carlo error of the mean of resampled draws: the weights' (sd^2 / ESS)
        # plus the resampling's (sd^2 / draws). Four of them: a false alarm about once
        # in 16,000 comparisons; a bias of a tenth of an sd would show (4 errors here
        # are 0.1 sd).
        error = sd * np.sqrt(1 / method["ess"] + 1 / 4000)
        assert abs(summary.loc[parameter, "mean"] - mean) < 4 * error, parameter
        # The sd of near-normal draws is known to sqrt(1 / (2 ESS)), 1.5% here: 6%.
        assert summary.loc[parameter, "sd"] == pytest.approx(sd, rel=0.06), parameter
    if priors is not None:
        # The prior moved the posterior far from where the data alone put it.
        default = model.fit(draws=1000, seed=3, method="importance").summary()
        assert abs(summary.loc[natural, "mean"] - default.loc[natural, "mean"]) > 3 * (
            summary.loc[natural, "sd"] + default.loc[natural, "sd"]
        )


@pytest.mark.parametrize("name", list(CASES))
def test_a_fit_on_ragged_dask_chunks_is_the_fit_in_memory(name, tmp_path) -> None:
    df = _frame(2000)
    rows = _model(name, df).fit(draws=250, seed=5, method="importance")
    ragged = dd.from_pandas(df, npartitions=1).repartition(divisions=[0, 1, 40, 900, 911, 1999])
    chunked = _model(name, ragged).fit(draws=250, seed=5)  # "auto" on Dask data
    assert chunked.method["method"] == "importance" and chunked.method["khat"] < 0.5
    assert chunked.laplace.n_iter <= 6 and not chunked.laplace.warnings
    np.testing.assert_allclose(chunked.laplace.mode, rows.laplace.mode, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(chunked.beta_draws, rows.beta_draws, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(chunked.natural_draws, rows.natural_draws, rtol=1e-8)
    assert chunked.method["khat"] == pytest.approx(rows.method["khat"], abs=1e-6)
    # The printed fit shows the natural parameter's row and the method, also after load.
    natural = rows.sampled_natural_name
    text = str(chunked)
    assert method_lines(chunked.method)[0] in text
    rows = [line.split() for line in text.splitlines() if line.split()[:1] == [natural]]
    assert any(_is_number(row[1]) for row in rows if len(row) > 1)  # the summary's row
    loaded = bg.load(chunked.save(tmp_path / "fit.nc"))
    assert loaded.method == chunked.method
    np.testing.assert_array_equal(loaded.natural_draws, chunked.natural_draws)
    pd.testing.assert_frame_equal(loaded.summary(), chunked.summary())


@pytest.mark.parametrize("name", ["gamma-log", "negative_binomial-log"])
def test_no_length_n_array_reaches_the_client(name) -> None:
    # The fit and compare_mle()'s row of the natural parameter: only sums come back.
    from .test_dask_mle import _SizeCheckingScheduler

    model = _model(name, dd.from_pandas(_frame(5000), npartitions=6))
    scheduler = _SizeCheckingScheduler()
    with dask.config.set(scheduler=scheduler):
        fit = model.fit(draws=100, chains=2, seed=1)
        table = fit.compare_mle()
    assert fit.method["method"] == "importance"
    assert np.isfinite(table.loc[model.spec.family.natural_param, ["mle", "mle_se"]]).all()
    assert scheduler.largest and max(scheduler.largest) < 5000


def test_a_negative_binomial_with_a_given_theta_samples_no_natural_parameter() -> None:
    # The data have theta 2; holding it at 0.5 widens the posterior (a variance of
    # mu + mu^2 / 0.5 instead of mu + mu^2 / 2), as the fixed-theta MLE says.
    df = _frame(2000)
    family = bg.NegativeBinomial(theta=0.5)
    model = bg.GLM("c " + FORMULA, data=df, family=family)
    fit = model.fit(draws=1000, seed=1, method="importance")
    assert fit.natural_draws is None and fit.sampled_natural_name is None
    assert fit.laplace.mode.shape == (model.design.p,) and fit.method["khat"] < 0.5
    assert "alpha" not in fit.summary().index
    assert (fit.draws()["alpha"] == 0.5).all()
    summary, mle = fit.summary(), model.fit_mle()
    # Under the weak default priors at n = 2000 the posterior is the likelihood's
    # normal approximation (Bernstein-von Mises): sds within 10% of the MLE's
    # standard errors, means within a fifth of them.
    np.testing.assert_allclose(summary["sd"], mle.bse, rtol=0.1)
    assert (np.abs(summary["mean"] - mle.params) < 0.2 * mle.bse).all()
    free = _model("negative_binomial-log", df).fit(draws=1000, seed=1, method="importance")
    assert (summary["sd"] > 1.3 * free.summary()["sd"].iloc[:-1]).all()


def test_the_natural_parameters_estimates_in_passes_are_those_of_the_search_in_memory() -> None:
    # compare_mle()'s row of the natural parameter: a one-dimensional search over the
    # rows in memory, Newton steps in passes over the rows of an importance-sampled
    # fit (which may be Dask chunks); both maximize the same functions, the in-memory
    # one to a tolerance of 1e-10 in u (about 1e-5 relative in natural units).
    from bayesglm import importance, laplace

    model = _model("gamma-log", _frame(2000))
    fit = model.fit(draws=250, seed=5, method="importance")
    args = (model.design, model.spec, fit.priors, fit.mle, fit.laplace.mode[: model.design.p])
    expected, found = laplace.natural_estimates(*args), importance.natural_estimates(*args)
    np.testing.assert_allclose(
        [found.mle, found.se, found.mode], [expected.mle, expected.se, expected.mode], rtol=1e-6
    )
    assert found.mode != found.mle  # the prior's own pull, at the mode's means


@pytest.mark.parametrize("family", ["quasipoisson", "quasibinomial"])
def test_a_quasi_family_has_no_likelihood_to_weigh_proposals_by(family) -> None:
    df = _frame(200)
    df["n"] = 3.0
    df["k"] = np.minimum(df["c"], 3.0)
    lhs, trials = ("c", None) if family == "quasipoisson" else ("k", "n")
    for data in (df, dd.from_pandas(df, npartitions=3)):
        model = bg.GLM(lhs + " ~ x", data=data, family=family, trials=trials)
        pattern = rf"the {family} family has no posterior.*; got \(family='{family}'\)\.$"
        for method in ("importance", "auto"):
            with pytest.raises(BayesGLMError, match=pattern):
                model.fit(method=method)


@pytest.mark.slow
@needs_compiled
@pytest.mark.parametrize("name", list(CASES))
def test_a_regression_agrees_with_nuts_over_the_rows(name) -> None:
    model = _model(name, _frame(3000))
    fit = model.fit(draws=1000, seed=1, method="importance")
    assert fit.method["khat"] < 0.5
    reference = model.fit(draws=1000, seed=1, progressbar=False, sampler="compiled")
    a, b = fit.summary(), reference.summary()
    assert list(a.index) == list(b.index) and a.index[-1] == model.spec.family.natural_param
    # Monte Carlo error of the difference of means: the importance sampler's weights
    # (sd^2 / ESS) and resampling (sd^2 / draws), and NUTS's own MCSE. Four errors, 24
    # comparisons: a false alarm about once in 600 runs of the four cases.
    error = np.sqrt(a["sd"] ** 2 * (1 / fit.method["ess"] + 1 / 4000) + b["mcse_mean"] ** 2)
    assert (np.abs(a["mean"] - b["mean"]) < 4 * error).all(), (a["mean"] - b["mean"]) / error
    # sds to about 1.5% each (sqrt(1 / (2 ESS))): 10% is a wide margin, as in
    # tests/test_dask_posterior.py.
    np.testing.assert_allclose(a["sd"], b["sd"], rtol=0.1)
