"""Categorical (multinomial logit) and cumulative-link outcomes by maximum likelihood.

Reference values: tests/fixtures/r_ordinal/, made by make_fixtures.R there with
MASS::polr and nnet::multinom (R 4.2.2, MASS 7.3.58.2, nnet 7.3.18), each fit
restarted from its own estimates until its deviance stopped changing, polr's Hessian
with finite-difference steps 1e-5 (see the script). statsmodels' MNLogit and
OrderedModel are the second oracle.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayesglm as bg
from bayesglm.category_design import category_design_from_arrays
from bayesglm.category_families import (
    CATEGORY_FAMILIES,
    density_slope,
    resolve_category,
    survival,
)
from bayesglm.category_mle import CategoryMLEResult
from bayesglm.category_newton import objective
from bayesglm.errors import (
    BayesGLMError,
    MissingDataWarning,
    SeparationWarning,
    UnusedLevelWarning,
)
from bayesglm.links import LINKS

FIXTURES = Path(__file__).parent / "fixtures" / "r_ordinal"
CASES = [json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))]
# polr clamps the cauchit's argument to [-100, 100] (pcauchy(100) = 0.9968): it fits
# another likelihood, checked separately below.
PARITY = [case for case in CASES if case["link"] != "cauchit"]
CUMULATIVE_LINKS = CATEGORY_FAMILIES["cumulative"].links


def _response(case: dict) -> pd.Series:
    codes = np.asarray(case["y"], dtype=int)
    return pd.Series(pd.Categorical.from_codes(codes, categories=case["levels"], ordered=True))


def _fit_arrays(case: dict) -> CategoryMLEResult:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return bg.fit_mle(
            np.asarray(case["X"], dtype=float),
            _response(case),
            family=case["family"],
            link=case["link"],
            names=case["columns"],
            weights=case["weights"],
        )


def _frame(case: dict) -> pd.DataFrame:
    frame = pd.DataFrame(case["data"])
    # R's polr reads a plain factor's levels as the order; here the order is declared.
    declared = case["family"] == "cumulative"
    for column, levels in case["factor_levels"].items():
        ordered = column in case["ordered"] or (declared and column == case["response"])
        frame[column] = pd.Categorical(frame[column], categories=levels, ordered=ordered)
    return frame


@pytest.fixture(scope="module", params=PARITY, ids=[c["name"] for c in PARITY])
def case_and_fit(request: pytest.FixtureRequest) -> tuple[dict, CategoryMLEResult]:
    return request.param, _fit_arrays(request.param)


def test_the_fixtures_cover_every_link_weights_and_both_families() -> None:
    covered = {(c["family"], c["link"]) for c in CASES}
    assert {("cumulative", link) for link in CUMULATIVE_LINKS} <= covered
    assert ("categorical", "logit") in covered
    for family in CATEGORY_FAMILIES:
        kinds = {c["weights"] is None for c in CASES if c["family"] == family}
        assert kinds == {True, False}, family


def test_names_read_as_r_prints_them(case_and_fit) -> None:
    case, fit = case_and_fit
    if case["family"] == "cumulative":
        assert list(fit.params.index) == case["param_names"]
    else:
        assert list(fit.params.index) == list(
            zip(case["param_levels"], case["param_terms"], strict=True)
        )


def test_coefficients_within_1e_5_se(case_and_fit) -> None:
    case, fit = case_and_fit
    assert fit.converged and fit.separation == ()
    gap = np.abs(fit.params.to_numpy() - case["params"]) / np.asarray(case["se"])
    np.testing.assert_array_less(gap, 1e-5)


def test_standard_errors_within_1e_4_relative(case_and_fit) -> None:
    case, fit = case_and_fit
    np.testing.assert_allclose(fit.bse.to_numpy(), case["se"], rtol=1e-4)
    reference = np.asarray(case["vcov"])
    np.testing.assert_allclose(
        fit.cov_params.to_numpy(), reference, rtol=1e-3, atol=1e-6 * np.abs(reference).max()
    )


def test_deviance_likelihood_and_criteria_match_r(case_and_fit) -> None:
    case, fit = case_and_fit
    np.testing.assert_allclose(fit.deviance, case["deviance"], rtol=1e-8)
    np.testing.assert_allclose(fit.llf, case["loglik"], rtol=1e-8)
    np.testing.assert_allclose(fit.aic, case["aic"], rtol=1e-8)
    assert fit.k_params == case["df"] and fit.nobs == case["nobs"]
    np.testing.assert_allclose(fit.bic, fit.deviance + np.log(case["nobs"]) * case["df"])


def test_effects_are_r_exp_confint_default(case_and_fit) -> None:
    """Relative-risk / cumulative odds ratios with Wald intervals: R's
    ``exp(cbind(coef(fit), confint.default(fit)))`` from the fixture's coef and SE."""
    case, fit = case_and_fit
    table = fit.effects()
    ratio = case["family"] == "categorical" or case["link"] == "logit"
    label = "latent shift" if not ratio else "cumulative odds ratio"
    label = "relative-risk ratio" if case["family"] == "categorical" else label
    assert (table["effect"] == label).all() and table.attrs["interval"] == "95% Wald (normal)"
    names = [":".join(n) if isinstance(n, tuple) else n for n in fit.params.index]
    kept = [j for j, n in enumerate(names) if n in table.index]
    assert [names[j] for j in kept] == list(table.index)
    assert not any("Intercept" in n or "|" in n for n in table.index)
    beta, se = np.asarray(case["params"])[kept], np.asarray(case["se"])[kept]
    q = stats.norm.ppf(0.975)
    scale = np.exp if ratio else (lambda v: v)
    np.testing.assert_allclose(table["median"], scale(beta), rtol=1e-5 * se.max() + 1e-9)
    for column, bound in (("eti_lower", beta - q * se), ("eti_upper", beta + q * se)):
        np.testing.assert_allclose(table[column], scale(bound), rtol=2e-4, atol=1e-6)
    # p_direction is 1 - p/2 for the Wald p-value p.
    p_values = fit.pvalues.to_numpy()[kept]
    np.testing.assert_allclose(table["p_direction"], 1 - p_values / 2, rtol=1e-12)
    assert list(table.columns) == [
        "effect", "mean", "median", "eti_lower", "eti_upper", "p_direction", "p_positive",
        "sentence",
    ]  # fmt: skip


def test_fitted_probabilities_match_r(case_and_fit) -> None:
    case, fit = case_and_fit
    np.testing.assert_allclose(fit.fitted.to_numpy(), case["fitted"], atol=1e-7)


def test_the_formula_path_fits_what_the_arrays_give(case_and_fit) -> None:
    case, fit = case_and_fit
    weights = {} if case["weights_column"] is None else {"weights": case["weights_column"]}
    frame = _frame(case)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = bg.GLM(case["formula"], frame, family=case["family"], link=case["link"], **weights)
    dropped = frame[case["formula"].replace("~", "+").replace(" ", "").split("+")].isna()
    if dropped.any(axis=None):  # the survey rows with a missing value
        assert any(issubclass(w.category, MissingDataWarning) for w in caught)
    from_formula = model.fit_mle()
    assert from_formula.cdesign.design.n == len(case["y"])
    np.testing.assert_allclose(from_formula.params_array, fit.params_array, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(from_formula.deviance, case["deviance"], rtol=1e-8)


def test_polr_cauchit_fits_a_clamped_likelihood() -> None:
    """MASS::polr evaluates pcauchy(pmin(100, z)) - pcauchy(pmax(-100, z)): the top
    level's probability misses 1 - pcauchy(100). At R's estimates that clamped
    likelihood gives R's deviance; ours (the cauchit's own) is lower at our fit."""
    (case,) = [c for c in CASES if c["link"] == "cauchit"]
    X = np.asarray(case["X"], dtype=float)[:, 1:]
    p = X.shape[1]
    theta = np.asarray(case["params"])
    zeta = np.r_[-np.inf, theta[p:], np.inf]
    eta = X @ theta[:p]
    y = np.asarray(case["y"], dtype=int)
    prob = stats.cauchy.cdf(np.minimum(100, zeta[y + 1] - eta)) - stats.cauchy.cdf(
        np.maximum(-100, zeta[y] - eta)
    )
    clamped = -2 * np.sum(np.asarray(case["weights"]) * np.log(prob))
    np.testing.assert_allclose(clamped, case["deviance"], rtol=1e-9)
    fit = _fit_arrays(case)
    assert fit.converged and fit.deviance < case["deviance"] - 10


@pytest.fixture(scope="module")
def housing() -> pd.DataFrame:
    (case,) = [c for c in CASES if c["name"] == "cumulative_logit_housing"]
    return _frame(case)


@pytest.mark.parametrize("link", CUMULATIVE_LINKS)
def test_cumulative_matches_statsmodels_ordered_model(housing, link) -> None:
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    distr = {"logit": "logit", "probit": "probit", "cauchit": stats.cauchy}
    if link not in distr:  # statsmodels has no Gumbel in its ordered model's names
        distr[link] = stats.gumbel_l if link == "cloglog" else stats.gumbel_r
    fit = bg.GLM(
        "Sat ~ Infl + Type + Cont", housing, family="cumulative", link=link, weights="Freq"
    ).fit_mle()
    # statsmodels takes no weights: the rows repeated Freq times.
    rows = housing.loc[housing.index.repeat(housing["Freq"])].reset_index(drop=True)
    X = pd.get_dummies(rows[["Infl", "Type", "Cont"]], drop_first=True, dtype=float)
    model = OrderedModel(rows["Sat"], X, distr=distr[link])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = model.fit(method="bfgs", disp=False, maxiter=2000, gtol=1e-10)
    p = X.shape[1]
    np.testing.assert_allclose(fit.llf, ref.llf, rtol=1e-9)
    np.testing.assert_allclose(fit.params_array[:p], ref.params[:p], atol=1e-5)
    # statsmodels' thresholds: the first cutpoint, then log increments.
    cuts = np.cumsum(np.r_[ref.params.iloc[p], np.exp(ref.params.iloc[p + 1 :])])
    np.testing.assert_allclose(fit.params_array[p:], cuts, atol=1e-5)
    np.testing.assert_allclose(fit.bse.to_numpy()[:p], ref.bse[:p], rtol=1e-3)


def test_categorical_matches_statsmodels_mnlogit() -> None:
    import statsmodels.api as sm

    (case,) = [c for c in CASES if c["name"] == "categorical_logit_birthwt"]
    fit = _fit_arrays(case)
    ref = sm.MNLogit(np.asarray(case["y"]), np.asarray(case["X"])).fit(
        method="newton", disp=False, tol=1e-12, maxiter=100
    )
    np.testing.assert_allclose(fit.params_array, np.asarray(ref.params).T.ravel(), rtol=1e-7)
    np.testing.assert_allclose(fit.bse.to_numpy(), np.asarray(ref.bse).T.ravel(), rtol=1e-6)
    np.testing.assert_allclose(fit.llf, ref.llf, rtol=1e-12)


# --- the mechanism ---------------------------------------------------------------------


@pytest.mark.parametrize("link", CUMULATIVE_LINKS)
def test_density_slope_and_survival_against_the_link(link) -> None:
    lnk = LINKS[link]
    x = np.linspace(-4, 4, 17)
    h = 1e-5
    numeric = (lnk.inverse_deriv(x + h) - lnk.inverse_deriv(x - h)) / (2 * h)
    np.testing.assert_allclose(density_slope(lnk, x), numeric, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(survival(lnk, x), 1 - lnk.inverse(x), rtol=1e-12, atol=1e-15)


def _small(family: str, link: str, seed: int = 3) -> tuple:
    rng = np.random.default_rng(seed)
    n = 120
    X = np.c_[np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)]
    if family == "cumulative":
        latent = X[:, 1:] @ [0.8, -0.5] + rng.logistic(size=n)
        y = np.digitize(latent, [-1.0, 0.3, 1.2])
    else:
        eta = np.c_[np.zeros(n), X @ [0.2, 0.7, -0.4], X @ [-0.3, -0.6, 0.5]]
        y = np.array([rng.choice(3, p=np.exp(e) / np.exp(e).sum()) for e in eta])
    weights = rng.integers(1, 4, n).astype(float)
    return X, y, weights


@pytest.mark.parametrize(
    ("family", "link"),
    [("categorical", "logit")] + [("cumulative", link) for link in CUMULATIVE_LINKS],
)
def test_gradient_and_hessian_are_exact(family, link) -> None:
    X, y, weights = _small(family, link)
    spec = resolve_category(family, link)
    cdesign = category_design_from_arrays(X, y, spec, weights=weights)
    fn = objective(spec, cdesign)
    theta = bg.fit_mle(X, y, family=family, link=link, weights=weights).params_array + 0.05
    _, gradient, hessian = fn(theta)
    h = 1e-6
    eye = np.eye(len(theta))
    numeric_g = [(fn(theta + h * e)[0] - fn(theta - h * e)[0]) / (2 * h) for e in eye]
    numeric_h = np.array([(fn(theta + h * e)[1] - fn(theta - h * e)[1]) / (2 * h) for e in eye])
    np.testing.assert_allclose(gradient, numeric_g, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(hessian, numeric_h, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("family", list(CATEGORY_FAMILIES))
def test_frequency_weights_equal_repeated_rows(family) -> None:
    X, y, weights = _small(family, "logit")
    weighted = bg.fit_mle(X, y, family=family, weights=weights)
    repeat = np.repeat(np.arange(len(y)), weights.astype(int))
    repeated = bg.fit_mle(X[repeat], y[repeat], family=family)
    np.testing.assert_allclose(weighted.params_array, repeated.params_array, rtol=1e-9)
    np.testing.assert_allclose(weighted.bse, repeated.bse, rtol=1e-9)
    np.testing.assert_allclose(weighted.deviance, repeated.deviance, rtol=1e-12)


@pytest.mark.parametrize("family", list(CATEGORY_FAMILIES))
def test_predict_delta_method_against_numerical_derivatives(family) -> None:
    X, y, _ = _small(family, "logit")
    fit = bg.fit_mle(X, y, family=family, names=["Intercept", "x", "g"])
    new = X[:4]
    table = fit.predict(new)
    K = fit.cdesign.K
    probs = table["estimate"].to_numpy().reshape(4, K)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    rows = fit.cdesign.matrix(new)
    h = 1e-6
    J = np.stack(
        [
            (
                fit.probabilities(rows, fit.params_array + h * e)
                - fit.probabilities(rows, fit.params_array - h * e)
            )
            / (2 * h)
            for e in np.eye(len(fit.params_array))
        ],
        axis=-1,
    )
    se = np.sqrt(np.einsum("nkp,pq,nkq->nk", J, fit.cov_params.to_numpy(), J))
    np.testing.assert_allclose(table["std_error"].to_numpy().reshape(4, K), se, rtol=1e-5)
    assert (table["conf_low"] < table["estimate"]).all()
    assert (table["estimate"] < table["conf_high"]).all()
    assert table.attrs["interval"].startswith("95% Wald (delta method)")


def test_predict_new_rows_of_a_formula_model(housing) -> None:
    fit = bg.GLM(
        "Sat ~ Infl + Type + Cont", housing, family="cumulative", weights="Freq"
    ).fit_mle()
    new = housing.iloc[[0, 3]].drop(columns=["Sat", "Freq"])
    table = fit.predict(new)
    assert list(table["level"]) == ["Low", "Medium", "High"] * 2
    np.testing.assert_allclose(
        table["estimate"].to_numpy(), fit.fitted.to_numpy()[[0, 3]].ravel(), rtol=1e-12
    )


# --- the response: labels, order, reference ---------------------------------------------


def _labelled() -> pd.DataFrame:
    X, y, _ = _small("cumulative", "logit")
    names = np.array(["none", "mild", "severe", "fatal"])
    return pd.DataFrame({"grade": names[y], "x": X[:, 1], "g": X[:, 2]})


def test_cumulative_refuses_a_response_of_unknown_order() -> None:
    frame = _labelled()
    with pytest.raises(BayesGLMError, match=r"pass levels=\[lowest, \.\.\., highest\]"):
        bg.GLM("grade ~ x + g", frame, family="cumulative")
    unordered = frame.assign(grade=pd.Categorical(frame["grade"]))
    with pytest.raises(BayesGLMError, match="an unordered pandas Categorical"):
        bg.GLM("grade ~ x + g", unordered, family="cumulative")


def test_levels_text_categoricals_and_codes_give_one_fit() -> None:
    frame = _labelled()
    order = ["none", "mild", "severe", "fatal"]
    by_levels = bg.GLM("grade ~ x + g", frame, family="cumulative", levels=order).fit_mle()
    ordered = frame.assign(grade=pd.Categorical(frame["grade"], categories=order, ordered=True))
    by_categorical = bg.GLM("grade ~ x + g", ordered, family="cumulative").fit_mle()
    codes = frame.assign(grade=ordered["grade"].cat.codes * 10)
    by_codes = bg.GLM("grade ~ x + g", codes, family="cumulative").fit_mle()
    for other in (by_categorical, by_codes):
        np.testing.assert_allclose(other.params_array, by_levels.params_array, rtol=1e-12)
    assert by_levels.cutpoint_names == ("none|mild", "mild|severe", "severe|fatal")
    assert by_codes.cutpoint_names == ("0|10", "10|20", "20|30")


def test_reference_level_changes_the_coefficients_not_the_probabilities() -> None:
    frame = _labelled()
    first = bg.GLM("grade ~ x + g", frame, family="categorical").fit_mle()
    assert first.cdesign.level_names[first.cdesign.reference] == "fatal"  # sorted, as R
    other = bg.GLM("grade ~ x + g", frame, family="categorical", reference="none").fit_mle()
    assert ("fatal", "x") in other.params.index and ("none", "x") not in other.params.index
    np.testing.assert_allclose(other.fitted.to_numpy(), first.fitted.to_numpy(), atol=1e-9)
    np.testing.assert_allclose(other.deviance, first.deviance, rtol=1e-12)
    # beta_k against "none" is beta_k against "fatal" minus beta_none against "fatal".
    np.testing.assert_allclose(
        other.params[("fatal", "x")], -first.params[("none", "x")], rtol=1e-7
    )


def test_unused_levels_are_dropped_and_too_few_refused() -> None:
    frame = _labelled()
    grade = pd.Categorical(
        frame["grade"], categories=["none", "mild", "severe", "fatal", "unseen"], ordered=True
    )
    with pytest.warns(UnusedLevelWarning, match="'unseen'"):
        fit = bg.GLM("grade ~ x", frame.assign(grade=grade), family="cumulative").fit_mle()
    assert fit.cdesign.K == 4
    two = frame[frame["grade"].isin(["none", "mild"])]
    with pytest.raises(BayesGLMError, match="family='bernoulli'"):
        bg.GLM("grade ~ x", two, family="categorical")


def test_bad_arguments_are_refused_with_the_template() -> None:
    frame = _labelled()
    with pytest.raises(BayesGLMError, match="does not allow the probit link"):
        bg.GLM("grade ~ x", frame, family="categorical", link="probit")
    with pytest.raises(BayesGLMError, match="takes no offset"):
        bg.GLM("grade ~ x", frame, family="categorical", offset="x")
    with pytest.raises(BayesGLMError, match="reference= must be one of"):
        bg.GLM("grade ~ x", frame, family="categorical", reference="nope")
    with pytest.raises(BayesGLMError, match="applies to the categorical and cumulative"):
        bg.GLM("x ~ g", frame, family="gaussian", levels=[1, 2])
    with pytest.raises(BayesGLMError, match="linearly dependent with the cutpoints"):
        bg.GLM("grade ~ 0 + C(g)", frame, family="cumulative", levels=sorted(set(frame.grade)))


@pytest.mark.parametrize("family", list(CATEGORY_FAMILIES))
def test_separation_is_warned_and_named(family) -> None:
    x = np.r_[np.linspace(-3, -1, 10), np.linspace(1, 3, 20)]
    noise = np.random.default_rng(0).normal(size=30)
    if family == "cumulative":  # x orders the levels perfectly
        y = np.digitize(x, [0.0, 2.0])
    else:  # x tells the first level from the other two, which it does not separate
        y = np.r_[np.zeros(10, int), np.where(np.arange(20) % 2 == 0, 1, 2)]
    X = np.c_[np.ones(30), x, noise]
    with pytest.warns(SeparationWarning, match="along column"):
        fit = bg.fit_mle(X, y, family=family, names=["Intercept", "x", "noise"])
    assert "x" in fit.separation and fit.warnings


def test_summaries_are_laid_out_as_r_prints_them(housing) -> None:
    polr = bg.GLM("Sat ~ Infl + Type + Cont", housing, family="cumulative", weights="Freq")
    text = polr.fit_mle().summary()
    assert "Coefficients:" in text and "Intercepts:" in text and "Low|Medium" in text
    assert "Residual Deviance: 3479.15" in text and "AIC: 3495.15" in text  # R's, rounded
    multinom = bg.GLM("Sat ~ Infl + Type + Cont", housing, family="categorical", weights="Freq")
    lines = multinom.fit_mle().summary().splitlines()
    start = lines.index("Coefficients:")
    assert lines[start + 2].split()[0] == "Medium" and lines[start + 3].split()[0] == "High"
    assert "Std. Errors:" in lines and "Residual Deviance: 3470.08" in lines


def test_cli_fits_an_ordinal_outcome(tmp_path, capsys) -> None:
    from bayesglm.cli import main

    path = tmp_path / "grades.csv"
    _labelled().to_csv(path, index=False)
    argv = ["mle", str(path), "--formula", "grade ~ x + g", "--family", "cumulative"]
    assert main([*argv, "--levels", "none,mild,severe,fatal", "--link", "probit"]) == 0
    assert "none|mild" in capsys.readouterr().out
    assert main(argv) == 2
    assert "levels=" in capsys.readouterr().err
    assert main(["families"]) == 0
    assert "cumulative         logit*, probit, cloglog, loglog, cauchit" in capsys.readouterr().out


def test_average_probabilities_by_group_with_the_delta_method(housing) -> None:
    model = bg.GLM("Sat ~ Infl + Type + Cont", housing, family="categorical", weights="Freq")
    fit = model.fit_mle()
    table = fit.avg_predictions(by="Infl")
    assert list(table.columns[:2]) == ["Infl", "group"] and len(table) == 9
    fitted = fit.fitted.reset_index(drop=True)
    for infl in ("Low", "High"):
        rows = (housing["Infl"] == infl).to_numpy()
        got = table[table["Infl"] == infl].set_index("group")["estimate"]
        np.testing.assert_allclose(got.to_numpy(), fitted[rows].mean().to_numpy(), rtol=1e-12)
    # The delta method's SE against numerical derivatives of the averages.
    rows = (housing["Infl"] == "Medium").to_numpy()
    X = fit.cdesign.X[rows]

    def averages(theta: np.ndarray) -> np.ndarray:
        return fit.probabilities(X, theta).mean(axis=0)

    h = 1e-6
    J = np.array(
        [
            (averages(fit.params_array + h * e) - averages(fit.params_array - h * e)) / (2 * h)
            for e in np.eye(len(fit.params_array))
        ]
    ).T
    se = np.sqrt(np.diag(J @ fit.cov_params.to_numpy() @ J.T))
    got = table[table["Infl"] == "Medium"]["std_error"].to_numpy()
    np.testing.assert_allclose(got, se, rtol=1e-6)
    overall = fit.avg_predictions()
    np.testing.assert_allclose(overall["estimate"].sum(), 1.0)


def test_mle_of_an_ordinal_outcome_does_not_import_pymc(tmp_path) -> None:
    import subprocess
    import sys

    path = tmp_path / "grades.csv"
    _labelled().to_csv(path, index=False)
    code = (
        "import sys; from bayesglm.cli import main; "
        f"main(['mle', {str(path)!r}, '--formula', 'grade ~ x', '--family', 'cumulative', "
        "'--levels', 'none,mild,severe,fatal']); "
        "print(any(m in sys.modules for m in ('pymc', 'pytensor', 'arviz')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert "none|mild" in out and out.strip().endswith("False")


def test_the_family_and_link_say_what_exp_beta_is() -> None:
    # exp(beta) is a ratio only where the link makes it one: the softmax's
    # relative-risk ratio, the cumulative logit's odds ratio (the same at every
    # cutpoint); under the other cumulative links beta is a latent shift.
    from bayesglm.category_families import resolve_category

    labels = {
        link: resolve_category("cumulative", link).family.effect_label(
            resolve_category("cumulative", link).link
        )
        for link in ("logit", "probit", "cloglog", "loglog", "cauchit")
    }
    assert labels == {
        "logit": "cumulative odds ratio",
        "probit": None,
        "cloglog": None,
        "loglog": None,
        "cauchit": None,
    }
    categorical = resolve_category("categorical", "logit")
    assert categorical.family.effect_label(categorical.link) == "relative-risk ratio"
