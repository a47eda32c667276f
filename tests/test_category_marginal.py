"""Marginal effects of categorical and cumulative outcomes at the MLE (issue #15).

References nobody here wrote: statsmodels' ``MNLogit.get_margeff(at="overall")``
(average derivatives of each category's probability, delta-method SEs) for the
multinomial logit; for the cumulative links, whose statsmodels ``OrderedModel`` has no
``get_margeff``, central differences of its own predicted probabilities at its own
estimates, with the delta method taken by a numerical Jacobian in statsmodels'
parameters and its ``cov_params()``. Data: R's fixtures (MASS::birthwt, MASS::survey).
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
from bayesglm.category_marginal import category_marginal, probability_slopes
from bayesglm.errors import BayesGLMError
from bayesglm.predict import prediction_inputs

FIXTURES = Path(__file__).parent / "fixtures" / "r_ordinal"


def _case(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _arrays_fit(case: dict, link: str = "logit"):
    y = pd.Categorical.from_codes(np.asarray(case["y"]), case["levels"], ordered=True)
    return bg.fit_mle(
        np.asarray(case["X"], dtype=float),
        pd.Series(y),
        family=case["family"],
        link=link,
        names=case["columns"],
    )


def _numerical_delta(function, params: np.ndarray, cov: np.ndarray, h: float = 1e-5):
    """The delta method's SE of ``function(params)`` by a central-difference Jacobian."""
    J = np.array(
        [
            (function(params + h * e) - function(params - h * e)) / (2 * h)
            for e in np.eye(len(params))
        ]
    ).T
    return np.sqrt(np.einsum("ip,pq,iq->i", J, cov, J))


def _by_term(table: pd.DataFrame, column: str) -> np.ndarray:
    """A table's column as terms × levels, in the table's order."""
    return (
        table.pivot(index="term", columns="group", values=column)
        .loc[list(dict.fromkeys(table["term"])), list(dict.fromkeys(table["group"]))]
        .to_numpy()
    )


# --- the multinomial logit against statsmodels' MNLogit -----------------------------------


@pytest.fixture(scope="module")
def birthwt():
    import statsmodels.api as sm

    case = _case("categorical_logit_birthwt")
    X, y = np.asarray(case["X"], dtype=float), np.asarray(case["y"])
    ref = sm.MNLogit(y, X).fit(method="newton", disp=False, tol=1e-12, maxiter=100)
    fit = bg.fit_mle(
        X,
        pd.Categorical.from_codes(y, case["levels"]),
        family="categorical",
        names=case["columns"],
    )
    return case, fit, ref


def test_categorical_slopes_equal_mnlogit_get_margeff(birthwt) -> None:
    _, fit, ref = birthwt
    table = fit.avg_slopes()
    margeff = ref.get_margeff(at="overall", method="dydx")
    assert list(table.columns) == [
        "group", "term", "contrast", "estimate", "std_error", "conf_low", "conf_high"
    ]  # fmt: skip
    assert list(dict.fromkeys(table["term"])) == ["age", "lwt", "smoke"]
    assert list(dict.fromkeys(table["group"])) == ["white", "black", "other"]
    np.testing.assert_allclose(_by_term(table, "estimate"), margeff.margeff, rtol=1e-7)
    np.testing.assert_allclose(_by_term(table, "std_error"), margeff.margeff_se, rtol=1e-5)
    q = stats.norm.ppf(0.975)
    np.testing.assert_allclose(table["conf_high"], table["estimate"] + q * table["std_error"])
    # The probabilities sum to 1, so their slopes sum to 0.
    np.testing.assert_allclose(table.groupby("term")["estimate"].sum(), 0.0, atol=1e-15)


def test_categorical_comparisons_equal_mnlogit_predictions(birthwt) -> None:
    case, fit, ref = birthwt
    X = np.asarray(case["X"], dtype=float)
    table = fit.avg_comparisons(variables={"age": [20, 30], "smoke": [0, 1]})
    assert list(table["contrast"]) == ["30 - 20"] * 3 + ["1 - 0"] * 3

    # statsmodels' parameters level by level (the order of its cov_params).
    params, cov = np.asarray(ref.params).T.ravel(), np.asarray(ref.cov_params())

    def change(theta: np.ndarray, column: int, lo: float, hi: float) -> np.ndarray:
        theta = theta.reshape(ref.params.shape[::-1]).T
        at = [X.copy(), X.copy()]
        at[0][:, column], at[1][:, column] = hi, lo
        return (ref.model.predict(theta, at[0]) - ref.model.predict(theta, at[1])).mean(axis=0)

    for k, (column, lo, hi) in enumerate([(1, 20, 30), (3, 0, 1)]):
        rows = table.iloc[3 * k : 3 * k + 3]
        np.testing.assert_allclose(rows["estimate"], change(params, column, lo, hi), rtol=1e-7)
        se = _numerical_delta(lambda t, c=column, a=lo, b=hi: change(t, c, a, b), params, cov)
        np.testing.assert_allclose(rows["std_error"], se, rtol=1e-5)


# --- the cumulative links against statsmodels' OrderedModel -------------------------------


@pytest.fixture(scope="module", params=["logit", "probit", "cloglog"])
def survey(request):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    link = request.param
    distr = {"logit": "logit", "probit": "probit", "cloglog": stats.gumbel_l}[link]
    case = _case("cumulative_logit_survey")
    X = np.asarray(case["X"], dtype=float)[:, 1:]  # the cutpoints take the intercept's place
    y = pd.Series(pd.Categorical.from_codes(np.asarray(case["y"]), case["levels"], ordered=True))
    model = OrderedModel(y, X, distr=distr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = model.fit(method="bfgs", disp=False, maxiter=5000, gtol=1e-10)
    return X, _arrays_fit(case, link), model, ref


def test_cumulative_slopes_equal_ordered_model_differences(survey) -> None:
    X, fit, model, ref = survey
    table = fit.avg_slopes()
    assert list(dict.fromkeys(table["term"])) == ["SexMale", "Age"]
    params, cov = ref.params.to_numpy(), ref.cov_params().to_numpy()

    def slopes(theta: np.ndarray) -> np.ndarray:
        out = []
        for j in range(X.shape[1]):
            h = 1e-4 * X[:, j].std()
            up, down = X.copy(), X.copy()
            up[:, j] += h
            down[:, j] -= h
            out.append((model.predict(theta, up) - model.predict(theta, down)).mean(0) / (2 * h))
        return np.concatenate(out)

    np.testing.assert_allclose(table["estimate"], slopes(params), rtol=1e-6)
    se = _numerical_delta(slopes, params, cov, h=1e-4)
    np.testing.assert_allclose(table["std_error"], se, rtol=1e-4)


def test_cumulative_comparisons_equal_ordered_model_predictions(survey) -> None:
    X, fit, model, ref = survey
    table = fit.avg_comparisons(variables={"Age": 10})
    assert list(table["contrast"]) == ["+10"] * 3
    params, cov = ref.params.to_numpy(), ref.cov_params().to_numpy()

    def change(theta: np.ndarray) -> np.ndarray:
        up, down = X.copy(), X.copy()
        up[:, 1] += 5
        down[:, 1] -= 5
        return (model.predict(theta, up) - model.predict(theta, down)).mean(axis=0)

    np.testing.assert_allclose(table["estimate"], change(params), rtol=1e-6)
    se = _numerical_delta(change, params, cov, h=1e-4)
    np.testing.assert_allclose(table["std_error"], se, rtol=1e-4)


# --- the mechanism ---------------------------------------------------------------------------


def _small(family: str, link: str, seed: int = 5):
    rng = np.random.default_rng(seed)
    n = 300
    x, z = rng.normal(size=n), rng.normal(size=n)
    if family == "cumulative":
        y = np.digitize(0.8 * x - 0.5 * z + rng.logistic(size=n), [-1.0, 0.3, 1.2])
    else:
        y = rng.integers(0, 3, n) * (rng.random(n) < 0.6) + (x > 0.8)
    X = np.c_[np.ones(n), x, z]
    return bg.fit_mle(X, y, family=family, link=link, names=["Intercept", "x", "z"])


@pytest.mark.parametrize(
    ("family", "link"),
    [("categorical", "logit")]
    + [("cumulative", link) for link in ("logit", "probit", "cloglog", "loglog", "cauchit")],
)
def test_probability_slopes_and_their_gradient_are_exact(family, link) -> None:
    fit = _small(family, link)
    X = fit.cdesign.X
    rng = np.random.default_rng(0)
    dX = rng.normal(size=X.shape)  # any direction of the columns
    theta = fit.params_array
    slopes, J = probability_slopes(fit, X, dX, theta, gradient=True)
    h = 1e-6
    numeric = (fit.probabilities(X + h * dX, theta) - fit.probabilities(X - h * dX, theta)) / (
        2 * h
    )
    np.testing.assert_allclose(slopes, numeric, atol=1e-8)
    for q in range(theta.size):
        e = np.eye(theta.size)[q] * h
        step = (
            probability_slopes(fit, X, dX, theta + e)[0]
            - probability_slopes(fit, X, dX, theta - e)[0]
        )
        np.testing.assert_allclose(J[:, :, q], step / (2 * h), atol=1e-7)


def test_slopes_follow_every_column_the_formula_builds() -> None:
    case = _case("cumulative_logit_survey")
    frame = pd.DataFrame({"Age": np.asarray(case["X"], dtype=float)[:, 2]})
    frame["Sex"] = np.where(np.asarray(case["X"])[:, 1] == 1, "Male", "Female")
    frame["Exer"] = pd.Categorical.from_codes(np.asarray(case["y"]), case["levels"], ordered=True)
    fit = bg.GLM("Exer ~ Sex * Age + I(Age**2)", frame, family="cumulative").fit_mle()
    table = fit.avg_slopes(by="Sex")
    assert list(table.columns[:4]) == ["Sex", "group", "term", "contrast"] and len(table) == 6
    h = 1e-3

    def at(shift: float) -> pd.DataFrame:
        moved = frame.assign(Age=frame["Age"] + shift)
        probs = fit.predict(moved)["estimate"].to_numpy().reshape(len(frame), 3)
        return pd.DataFrame(probs).groupby(frame["Sex"].to_numpy()).mean()

    numeric = ((at(h) - at(-h)) / (2 * h)).to_numpy().ravel()
    np.testing.assert_allclose(table["estimate"], numeric, rtol=1e-6, atol=1e-10)
    # A comparison by one sd moves Age by sd(Age), the square and the interaction following.
    sd = frame["Age"].std()
    step = fit.avg_comparisons(variables={"Age": "sd"})
    diff = (at(sd / 2) - at(-sd / 2)).to_numpy()
    counts = frame["Sex"].value_counts().sort_index().to_numpy()
    np.testing.assert_allclose(step["estimate"], (counts @ diff) / counts.sum(), rtol=1e-10)
    assert (step["contrast"] == "+sd").all()


def test_factor_comparisons_and_ratios() -> None:
    case = _case("cumulative_logit_housing")
    frame = pd.DataFrame(case["data"])
    for column, levels in case["factor_levels"].items():
        frame[column] = pd.Categorical(frame[column], levels, ordered=column == "Sat")
    fit = bg.GLM("Sat ~ Infl + Type + Cont", frame, family="categorical", weights="Freq").fit_mle()
    table = fit.avg_comparisons(variables="Infl")
    assert list(table["contrast"]) == ["Medium - Low"] * 3 + ["High - Low"] * 3

    def matrix(level: str) -> np.ndarray:
        infl = pd.Categorical([level] * len(frame), frame["Infl"].cat.categories)
        rows = prediction_inputs(fit.cdesign.design, fit.link, frame.assign(Infl=infl))
        return fit.cdesign.matrix(rows.X)

    low, medium, high = (matrix(level) for level in ("Low", "Medium", "High"))

    def average(X: np.ndarray, theta: np.ndarray = fit.params_array) -> np.ndarray:
        return fit.probabilities(X, theta).mean(axis=0)

    expected = np.r_[average(medium) - average(low), average(high) - average(low)]
    np.testing.assert_allclose(table["estimate"], expected, rtol=1e-12)
    ratio = fit.avg_comparisons(variables={"Infl": ["Low", "High"]}, comparison="ratio")
    assert list(ratio["contrast"]) == ["High / Low"] * 3
    np.testing.assert_allclose(ratio["estimate"], average(high) / average(low), rtol=1e-12)
    se = _numerical_delta(
        lambda t: average(high, t) / average(low, t), fit.params_array, fit.cov_array
    )
    np.testing.assert_allclose(ratio["std_error"], se, rtol=1e-6)


@pytest.mark.parametrize("family", ["categorical", "cumulative"])
def test_tables_in_blocks_of_rows_equal_the_whole(family, monkeypatch) -> None:
    import bayesglm.category_marginal as category_marginal_module

    case = _case("cumulative_logit_survey")
    frame = pd.DataFrame({"Age": np.asarray(case["X"], dtype=float)[:, 2]})
    frame["Sex"] = np.where(np.asarray(case["X"])[:, 1] == 1, "Male", "Female")
    frame["Exer"] = pd.Categorical.from_codes(np.asarray(case["y"]), case["levels"], ordered=True)
    fit = bg.GLM("Exer ~ Sex + Age + I(Age**2)", frame, family=family).fit_mle()
    draws = np.random.default_rng(1).multivariate_normal(fit.params_array, fit.cov_array, 50)
    calls = [
        lambda: fit.avg_slopes(by="Sex"),
        lambda: fit.avg_comparisons(variables={"Age": "sd", "Sex": "reference"}),
        lambda: category_marginal(fit, "slopes", draws=draws),
    ]
    whole = [call() for call in calls]
    monkeypatch.setattr(category_marginal_module, "_JACOBIAN_ELEMENTS", 7 * fit.cdesign.K * 6)
    for call, expected in zip(calls, whole, strict=True):
        pd.testing.assert_frame_equal(call(), expected, rtol=1e-12)


def test_bad_requests_are_refused_by_the_shared_checks() -> None:
    fit = _small("cumulative", "logit")
    with pytest.raises(BayesGLMError, match="comparison must be one of"):
        fit.avg_comparisons(comparison="lift")
    with pytest.raises(BayesGLMError, match="not a predictor of the model"):
        fit.avg_slopes(variables="w")
    with pytest.raises(BayesGLMError, match="by names column"):
        fit.avg_comparisons(by="w")
    with pytest.raises(BayesGLMError, match="kind must be one of"):
        category_marginal(fit, "effects")
