"""Priors stated on the effect scale: bg.EffectRange(low, high, prob) is the normal on beta
whose equal-tailed prob interval of exp(beta) is [low, high] (checked by scipy's quantiles),
refused where exp(beta) has no meaning, and the same prior as that normal everywhere a
prior is used: the sampling model, the command line, a saved fit, the display."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

import bayesglm as bg
from bayesglm.cli import parse_prior
from bayesglm.errors import BayesGLMError

from .laplace_fit import laplace_fit


@pytest.mark.parametrize(
    ("low", "high", "prob"), [(0.5, 2.0, 0.95), (1.1, 4.0, 0.8), (0.01, 0.5, 0.99)]
)
def test_the_range_is_the_priors_equal_tailed_interval_of_exp_beta(low, high, prob) -> None:
    normal = bg.EffectRange(low, high, prob).normal
    tails = [(1 - prob) / 2, (1 + prob) / 2]
    np.testing.assert_allclose(
        np.exp(stats.norm(normal.mu, normal.sigma).ppf(tails)), [low, high], rtol=1e-12
    )
    # And the probability between the two ends is prob.
    inside = np.diff(stats.norm(normal.mu, normal.sigma).cdf(np.log([low, high])))[0]
    assert inside == pytest.approx(prob, abs=1e-12)


def test_the_display_shows_both_scales() -> None:
    assert str(bg.EffectRange(0.5, 2, 0.95)) == (
        "EffectRange(0.5, 2, 0.95): exp(beta) in [0.5, 2] with 95%, i.e. Normal(0, 0.353653)"
    )


@pytest.mark.parametrize(
    ("args", "wrong"),
    [
        ((2.0, 0.5, 0.95), "low < high"),
        ((0.5, 2.0, 1.0), "between 0 and 1"),
        ((0.0, 2.0), "must be positive"),
        # Found by the engine-cache property test: a range 6e-16 wide made the posterior
        # mode's curvature 1e29 in one direction and the Laplace covariance not factor.
        ((0.9999999999999994, 1.0, 0.155), "too narrow to be a prior"),
    ],
)
def test_bad_ranges_are_refused(args, wrong) -> None:
    with pytest.raises(BayesGLMError, match=wrong):
        bg.EffectRange(*args)


def _data(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    x = rng.normal(size=n)
    return np.c_[np.ones(n), x], rng.poisson(np.exp(0.5 + 0.3 * x)).astype(float)


@pytest.mark.parametrize(
    ("family", "link"), [("gaussian", "identity"), ("bernoulli", "probit"), ("gamma", "inverse")]
)
def test_a_link_without_a_meaning_for_exp_beta_is_refused(family, link) -> None:
    X, y = _data()
    y = (y > 1).astype(float) if family == "bernoulli" else y + 1.0
    model = bg.GLM.from_arrays(X, y, family=family, link=link, names=["Intercept", "x"])
    with pytest.raises(BayesGLMError, match=rf"the {link} link has none.*got \(x=EffectRange"):
        model.resolve_priors({"x": bg.EffectRange(0.5, 2.0)})


def test_the_command_line_spells_it() -> None:
    assert parse_prior("x=effect_range(0.5, 2, 0.9)") == ("x", bg.EffectRange(0.5, 2.0, 0.9))


def test_the_sampling_model_is_that_of_the_normal() -> None:
    from bayesglm.laplace import laplace_approx
    from bayesglm.model import build_sampling_model
    from bayesglm.sampling_data import reduce_data

    X, y = _data()
    model = bg.GLM.from_arrays(X, y, family="poisson", names=["Intercept", "x"])
    stated = bg.EffectRange(0.8, 1.5, 0.9)
    terms = []
    for prior in (stated, stated.normal):
        resolved = model.resolve_priors({"x": prior})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            laplace = laplace_approx(model.design, model.spec, resolved, model.fit_mle())
        sampling = build_sampling_model(
            model.design, model.spec, resolved, laplace, reduce_data(model.design, model.spec)
        )
        term = sampling.compile_fn(
            sampling.replace_rvs_by_values([sampling["coef_prior"]]), inputs=sampling.value_vars
        )({"z": np.full(laplace.mode.size, 0.3)})
        terms.append((float(np.asarray(term).ravel()[0]), laplace.mode))
    (term_stated, mode_stated), (term_normal, mode_normal) = terms
    np.testing.assert_allclose(mode_stated, mode_normal, rtol=1e-10)
    np.testing.assert_allclose(term_stated, term_normal, rtol=1e-12)


def test_a_fit_with_it_is_saved_and_loaded(tmp_path) -> None:
    X, y = _data()
    model = bg.GLM.from_arrays(X, y, family="poisson", names=["Intercept", "x"])
    prior = bg.EffectRange(0.5, 2.0, 0.95)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = laplace_fit(model, seed=2, draws=100, priors={"x": prior})
    loaded = bg.load(fit.save(tmp_path / "fit.nc"))
    assert loaded.priors.coef["x"] == prior
    assert "exp(beta) in [0.5, 2] with 95%, i.e. Normal(0, 0.353653)" in str(loaded)
    # The log prior of a draw: the intercept's prior at the centred intercept.
    beta = np.array([0.1, math.log(2)])
    centred = beta[0] + model.design.X[:, 1].mean() * beta[1]
    expected = fit.priors.coef["Intercept"].logpdf(centred) + stats.norm.logpdf(
        math.log(2), 0, (math.log(2) - math.log(0.5)) / (2 * stats.norm.ppf(0.975))
    )
    np.testing.assert_allclose(loaded.priors.log_prior(beta[None, :]), [expected], rtol=1e-12)
