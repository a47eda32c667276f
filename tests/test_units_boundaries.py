"""Units and boundary values: inputs at the edge that must be refused clearly rather than
fitted into a silently different model (issue #11, second hunt)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm.errors import BayesGLMError


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "y": [1.0, 2.0, 3.0, 5.0, 4.0, 6.0],
            "x": [1.0, 2.0, 3.0, 4.0, 6.0, 5.0],
            "g": ["a"] * 6,
            "k": [0, 1, 0, 2, 1, 0],
            "t": [0, 0, 0, 0, 0, 0],
        }
    )


@pytest.mark.parametrize("term", ["g", "C(g)", "C(g):x"])
def test_a_single_level_factor_is_refused_not_dropped(small, term) -> None:
    # R: glm(y ~ x + g) stops with "contrasts can be applied only to factors with 2 or
    # more levels"; formulaic gives the term zero columns, which used to vanish silently.
    expected = rf"term {re.escape(repr(term))}.*'g' has only \['a'\]"
    with pytest.raises(BayesGLMError, match=expected):
        bg.GLM(f"y ~ x + {term}", data=small, family="gaussian")


def test_a_factor_left_with_one_level_by_missing_rows_is_refused(small) -> None:
    df = small.assign(g=["b", "a", "a", "a", "a", "a"], x=[np.nan, 2.0, 3.0, 4.0, 6.0, 5.0])
    with pytest.warns(bg.MissingDataWarning), pytest.raises(BayesGLMError, match="'g' has only"):
        bg.GLM("y ~ x + g", data=df, family="gaussian")


@pytest.mark.parametrize("weights", [None, [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]])
def test_binomial_with_no_trials_is_refused_by_name(small, weights) -> None:
    # With every trial count zero (where weight > 0), the data say nothing; it used to
    # be reported as a rank-deficient model matrix, naming the Intercept.
    t = [0, 0, 3, 3, 3, 3] if weights is not None else small["t"]
    df = small.assign(k=0, t=t)
    with pytest.raises(BayesGLMError, match=r"every row has 0 trials.*got \(trials=0 in all"):
        bg.GLM("k ~ x", data=df, family="binomial", trials="t", weights=weights)


def _counts_and_positives(seed: int, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    mu = np.exp(0.5 + 0.3 * x)
    ys = {
        "poisson": rng.poisson(mu),
        "gamma": rng.gamma(2.0, mu / 2.0),
        "negative_binomial": rng.negative_binomial(2, 2.0 / (2.0 + mu)),
    }
    return x, ys


@pytest.mark.parametrize(
    ("family", "seed", "shift"),
    [("poisson", 1, 1e6), ("gamma", 2, 1e7), ("negative_binomial", 2, 1e7)],
)
def test_a_predictor_far_from_zero_converges_to_the_shifted_fit(family, seed, shift) -> None:
    # Shifting a predictor (x + 1e6: a year in seconds, a date, a unit with an origin)
    # leaves the slope and its SE unchanged. The IRLS used to halve steps of 1e-11 SE
    # that rounding in eta = X beta made look uphill, until max_iter, and then warned
    # that it had not converged.
    sm = pytest.importorskip("statsmodels.api")
    x, ys = _counts_and_positives(seed, 40 if family == "poisson" else 60)
    y = ys[family]
    with warnings.catch_warnings():
        warnings.simplefilter("error", bg.ConvergenceWarning)
        fit = bg.GLM("y ~ x", data=pd.DataFrame({"y": y, "x": x + shift}), family=family)
        mle = fit.fit_mle()
    assert mle.converged
    unshifted = bg.GLM("y ~ x", data=pd.DataFrame({"y": y, "x": x}), family=family).fit_mle()
    if family != "negative_binomial":  # statsmodels' GLM takes theta as known
        with warnings.catch_warnings():  # statsmodels' note on gamma's inverse link
            warnings.simplefilter("ignore")
            oracle = sm.GLM(
                y, sm.add_constant(x), family=getattr(sm.families, family.capitalize())()
            ).fit()
        np.testing.assert_allclose(unshifted.params["x"], oracle.params[1], rtol=1e-7)
    slope, se = unshifted.params["x"], unshifted.bse["x"]
    assert abs(mle.params["x"] - slope) < 1e-4 * se
    assert mle.bse["x"] == pytest.approx(se, rel=1e-4)
    intercept = unshifted.params["Intercept"] - slope * shift
    assert abs(mle.params["Intercept"] - intercept) < 1e-4 * mle.bse["Intercept"]


@pytest.fixture(scope="module")
def rates() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    return pd.DataFrame({"y": rng.poisson(np.exp(0.5 + 0.3 * x)), "x": x, "e": 2.0})


@pytest.mark.parametrize(("prob", "shown"), [(0.999, "99.9%"), (0.975, "97.5%"), (0.5, "50%")])
def test_mle_tables_state_the_interval_probability_they_use(rates, prob, shown) -> None:
    # ':.0%' printed 0.999 as "100%": an interval presented as certain.
    mle = bg.GLM("y ~ x", data=rates, family="poisson", exposure="e").fit_mle()
    assert mle.conf_int(prob).attrs["interval"] == f"{shown} Wald (normal)"
    predicted = mle.predict(rates.head(2), prob=prob)
    assert predicted.attrs["interval"].startswith(f"{shown} Wald")


def test_posterior_tables_and_sentences_state_99_9_percent(rates) -> None:
    model = bg.GLM("y ~ x", data=rates, family="poisson", exposure="e")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bg.SamplingWarning)  # 100 draws: low ESS is expected
        fit = model.fit(draws=100, tune=100, chains=1, seed=1)
    effects = fit.effects(prob=0.999)
    assert effects.attrs["interval"] == "99.9% equal-tailed"
    assert all("(99.9% interval " in sentence for sentence in effects["sentence"])
    assert fit.summary(prob=0.999).attrs["interval"] == "99.9% equal-tailed"
    assert fit.predict(rates.head(2), prob=0.999).attrs["interval"].startswith("99.9% ")
    draws = np.exp(fit.posterior["beta"].sel(coef="x").values.ravel())  # quantiles of exp(beta)
    low, high = np.quantile(draws, [0.0005, 0.9995])
    assert effects.loc["x", ["eti_lower", "eti_upper"]].tolist() == pytest.approx([low, high])


@pytest.mark.parametrize("unit", [1e-4, 1e4])
def test_gaussian_weights_in_other_units_move_sigma_and_its_prior_alike(unit) -> None:
    # Precision weights: y ~ N(mu, sigma^2 / w). Weights x c leave the coefficients as
    # they are and multiply sigma by sqrt(c) (the MLE does, as R's glm()). The default
    # prior for sigma used to ignore the weights' units, so with weights of 1e4 (a
    # variance in small units) it pulled sigma towards sd(y), 100 times too small.
    from bayesglm.laplace import laplace_approx

    rng = np.random.default_rng(3)
    x = rng.normal(size=30)
    w = rng.uniform(0.5, 2.0, size=30)
    df = pd.DataFrame({"y": 1.0 + 2.0 * x + rng.normal(size=30) / np.sqrt(w), "x": x})
    modes = []
    for weights in (w, w * unit):
        model = bg.GLM("y ~ x", data=df, family="gaussian", weights=weights)
        priors = model.resolve_priors()
        modes.append(laplace_approx(model.design, model.spec, priors, model.fit_mle()).mode)
        if weights is w:
            base_rate = priors.natural.lam
            base_coef = priors.coef
    assert priors.natural.lam == pytest.approx(base_rate / np.sqrt(unit), rel=1e-5)
    for name, prior in priors.coef.items():  # coefficients are in y's units, not the weights'
        base = base_coef[name]
        assert (prior.mu, prior.sigma) == pytest.approx((base.mu, base.sigma))
    np.testing.assert_allclose(modes[1][:2], modes[0][:2], rtol=1e-6)
    assert modes[1][2] == pytest.approx(modes[0][2] + 0.5 * np.log(unit), abs=1e-6)


@pytest.mark.parametrize(
    ("family", "link", "unit"),
    [("gamma", None, 1e-3), ("gamma", "identity", 1e4), ("poisson", "identity", None)],
)
def test_default_priors_follow_y_units_on_a_link_scale_with_units(family, link, unit) -> None:
    # Under the identity, inverse or sqrt link the coefficients carry y's units. The
    # default Normal(0, 2.5 / sd(x)) fitted them as if y were near 1: a gamma model of
    # times in seconds instead of milliseconds (default inverse link) had its slope's
    # posterior mode at 0.64 for an MLE of 200 +- 21. With 30 rows and a weak prior
    # the posterior mode sits within a small fraction of an SE of the MLE.
    from bayesglm.laplace import laplace_approx

    rng = np.random.default_rng(4)
    x = rng.normal(size=30)
    y = rng.gamma(10.0, 1.0 / (0.5 + 0.2 * x) / 10.0)
    y = rng.poisson(1000.0 * (2.0 + 0.3 * x)) if unit is None else y * unit
    model = bg.GLM("y ~ x", data=pd.DataFrame({"y": y, "x": x}), family=family, link=link)
    mle = model.fit_mle()
    mode = laplace_approx(model.design, model.spec, model.resolve_priors(), mle).mode[:2]
    assert np.all(np.abs(mode - mle.params_array) < 0.05 * mle.bse.to_numpy())


@pytest.mark.parametrize(
    ("family", "link", "size"),
    [
        ("inverse_gaussian", "log", 1e-160),  # V(mu) = mu^3 underflows: was a RecursionError
        ("gaussian", "identity", 1e160),  # (y - ybar)^2 overflows: was a RecursionError
        ("gamma", "log", 1e300),  # V(mu) = mu^2 overflows: was a "perfect fit" with SE nan
        ("gaussian", "identity", 1e-300),  # deviance underflows: was a perfect fit, SE 0
    ],
)
def test_a_response_beyond_double_precision_is_refused_with_the_cure(family, link, size) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    y = rng.gamma(5.0, np.exp(0.3 * x) / 5.0) * size
    model = bg.GLM("y ~ x", data=pd.DataFrame({"y": y, "x": x}), family=family, link=link)
    expected = r"beyond what double precision.*rescale y.*got \(\|y\| from"
    with pytest.raises(BayesGLMError, match=expected):
        model.fit_mle()


@pytest.mark.parametrize("size", [1e-150, 1e150])
def test_a_gaussian_response_far_from_1_but_representable_is_fitted_exactly(size) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    y = 1.0 + x + rng.normal(size=40)
    unit = bg.GLM("y ~ x", data=pd.DataFrame({"y": y, "x": x}), family="gaussian").fit_mle()
    scaled = bg.GLM("y ~ x", data=pd.DataFrame({"y": y * size, "x": x}), family="gaussian")
    mle = scaled.fit_mle()
    np.testing.assert_allclose(mle.params_array / size, unit.params_array, rtol=1e-10)
    np.testing.assert_allclose(mle.bse.to_numpy() / size, unit.bse.to_numpy(), rtol=1e-8)


@pytest.mark.parametrize("size", [1e160, 1e-300])
def test_a_predictor_beyond_double_precision_is_refused_by_name(size) -> None:
    # x * 1e160 overflowed X'WX (a raw ValueError from scipy's Cholesky); x * 1e-300
    # underflowed and was reported as a linear combination of the other columns.
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    df = pd.DataFrame({"y": rng.poisson(np.exp(0.5 + 0.3 * x)), "dose": x * size})
    with pytest.raises(BayesGLMError, match=r"column 'dose' has values of size .*rescale it"):
        bg.GLM("y ~ dose", data=df, family="poisson").fit_mle()


def test_a_predictor_of_1e140_is_fitted_and_its_coefficient_scales_back() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    y = rng.poisson(np.exp(0.5 + 0.3 * x))
    unit = bg.GLM("y ~ x", data=pd.DataFrame({"y": y, "x": x}), family="poisson").fit_mle()
    big = bg.GLM("y ~ x", data=pd.DataFrame({"y": y, "x": x * 1e140}), family="poisson")
    mle = big.fit_mle()
    assert mle.params["x"] * 1e140 == pytest.approx(unit.params["x"], rel=1e-9)
    assert mle.bse["x"] * 1e140 == pytest.approx(unit.bse["x"], rel=1e-8)
