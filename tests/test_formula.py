"""Formulas and DataFrames: model matrices, responses, offsets, weights, missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm.errors import BayesGLMError, MissingDataWarning


@pytest.fixture()
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 120
    df = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.uniform(0.5, 2.0, size=n),
            "group": rng.choice(["ctrl", "low", "high"], size=n),
            "expo": rng.uniform(1, 4, size=n),
            "n": rng.integers(5, 15, size=n),
            "w": rng.integers(1, 4, size=n).astype(float),
        }
    )
    eta = 0.2 + 0.4 * df["x1"] + 0.3 * (df["group"] == "high")
    df["count"] = rng.poisson(df["expo"] * np.exp(eta))
    df["k"] = rng.binomial(df["n"], 1 / (1 + np.exp(-eta)))
    df["event"] = rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(bool)
    df["status"] = np.where(df["event"], "dead", "alive")
    return df


def _dummies(df: pd.DataFrame, base: str) -> np.ndarray:
    levels = sorted(set(df["group"]) - {base})
    return np.column_stack([(df["group"] == level).to_numpy(float) for level in levels])


def test_formula_matches_the_hand_built_matrix(frame) -> None:
    model = bg.GLM("count ~ x1 + group", data=frame, family="poisson")
    assert model.design.names == ("Intercept", "x1", "group[T.high]", "group[T.low]")
    X = np.column_stack([np.ones(len(frame)), frame["x1"], _dummies(frame, "ctrl")])
    by_hand = bg.fit_mle(X, frame["count"], family="poisson")
    np.testing.assert_allclose(model.fit_mle().params, by_hand.params, rtol=1e-12)


def test_reference_level_interactions_transforms_and_no_intercept(frame) -> None:
    model = bg.GLM(
        "count ~ x1 * x2 + C(group, contr.treatment('low')) + np.log(x2) - 1",
        data=frame,
        family="poisson",
    )
    names = model.design.names
    assert model.design.intercept is None
    assert "x1:x2" in names and "np.log(x2)" in names
    assert not any("[T.low]" in name for name in names)
    assert sum("C(group" in name for name in names) == 3  # no intercept: every level
    splines = bg.GLM("count ~ bs(x1, df=4)", data=frame, family="poisson")
    assert splines.design.p == 5


def test_names_from_the_callers_scope(frame) -> None:
    scale = 2.5
    model = bg.GLM("count ~ I(x1 * scale)", data=frame, family="poisson")
    plain = bg.GLM("count ~ x1", data=frame, family="poisson")
    np.testing.assert_allclose(
        model.fit_mle().params.iloc[1] * scale, plain.fit_mle().params.iloc[1], rtol=1e-10
    )


def test_binomial_trials_and_bernoulli_responses(frame) -> None:
    grouped = bg.GLM("k ~ x1", data=frame, family="binomial", trials="n")
    np.testing.assert_array_equal(grouped.design.trials, frame["n"])
    as_bool = bg.GLM("event ~ x1", data=frame, family="bernoulli")
    as_text = bg.GLM("status ~ x1", data=frame, family="bernoulli")
    assert as_bool.design.event == "True" and as_text.design.event == "dead"
    np.testing.assert_allclose(as_bool.fit_mle().params, as_text.fit_mle().params)
    ordered = frame.assign(status=pd.Categorical(frame["status"], ["dead", "alive"]))
    flipped = bg.GLM("status ~ x1", data=ordered, family="bernoulli")
    assert flipped.design.event == "alive"
    np.testing.assert_allclose(flipped.fit_mle().params, -as_text.fit_mle().params, rtol=1e-9)
    with pytest.raises(BayesGLMError, match=r"exactly two levels.*'group' has levels"):
        bg.GLM("group ~ x1", data=frame, family="bernoulli")


def test_offsets_exposure_and_weights(frame) -> None:
    by_column = bg.GLM(
        "count ~ x1",
        data=frame.assign(lexpo=np.log(frame["expo"])),
        family="poisson",
        offset="lexpo",
    )
    by_expression = bg.GLM("count ~ x1", data=frame, family="poisson", offset="log(expo)")
    by_exposure = bg.GLM("count ~ x1", data=frame, family="poisson", exposure="expo")
    by_values = bg.GLM("count ~ x1", data=frame, family="poisson", offset=np.log(frame["expo"]))
    for model in (by_expression, by_exposure, by_values):
        np.testing.assert_allclose(model.design.offset, by_column.design.offset, rtol=1e-15)
    weighted = bg.GLM("count ~ x1", data=frame, family="poisson", weights="w")
    np.testing.assert_array_equal(weighted.design.weights, frame["w"])
    with pytest.raises(BayesGLMError, match=r"exposure= needs the log link"):
        bg.GLM("count ~ x1", data=frame, family="poisson", link="sqrt", exposure="expo")
    with pytest.raises(BayesGLMError, match=r"give offset= or exposure=, not both"):
        bg.GLM("count ~ x1", data=frame, family="poisson", offset="x2", exposure="expo")
    with pytest.raises(BayesGLMError, match=r"weights= names a column that is not in the data"):
        bg.GLM("count ~ x1", data=frame, family="poisson", weights="wt")


def test_missing_values_are_dropped_with_a_warning_and_stay_aligned(frame) -> None:
    holes = frame.copy()
    holes.loc[[3, 10], "x1"] = np.nan
    holes.loc[20, "expo"] = np.nan
    weights = np.arange(1.0, len(frame) + 1)
    with pytest.warns(
        MissingDataWarning,
        match=r"dropped 3 of 120 rows.*columns expo \(1\), x1 \(2\) \(first dropped row: 3\)",
    ):
        model = bg.GLM(
            "count ~ x1", data=holes, family="poisson", exposure="expo", weights=weights
        )
    assert model.design.dropped_rows == (3, 10, 20)
    kept = holes.drop(index=[3, 10, 20])
    manual = bg.GLM(
        "count ~ x1",
        data=kept,
        family="poisson",
        exposure="expo",
        weights=np.delete(weights, [3, 10, 20]),
    )
    np.testing.assert_array_equal(model.design.y, manual.design.y)
    np.testing.assert_array_equal(model.design.weights, manual.design.weights)
    np.testing.assert_array_equal(model.design.offset, manual.design.offset)
    with pytest.raises(
        BayesGLMError,
        match=r"3 row\(s\) have missing values, in columns expo \(1\), x1 \(2\);.*row 3",
    ):
        bg.GLM("count ~ x1", data=holes, family="poisson", exposure="expo", missing="raise")


def test_bad_formulas_and_data_are_refused(frame) -> None:
    with pytest.raises(BayesGLMError, match=r"formula must be a string 'response ~ predictors'"):
        bg.GLM("count x1", data=frame, family="poisson")
    with pytest.raises(BayesGLMError, match=r"could not be evaluated.*nope"):
        bg.GLM("count ~ nope", data=frame, family="poisson")
    with pytest.raises(BayesGLMError, match=r"data must be a pandas DataFrame"):
        bg.GLM("count ~ x1", data=[1, 2, 3], family="poisson")
    with pytest.raises(BayesGLMError, match=r"response column 'group' must hold numbers"):
        bg.GLM("group ~ x1", data=frame, family="poisson")


def test_the_callers_data_is_not_modified(frame) -> None:
    before = frame.copy()
    holes = frame.copy()
    holes.loc[5, "x1"] = np.nan
    holes_before = holes.copy()
    with pytest.warns(MissingDataWarning):
        bg.GLM("count ~ x1 + group", data=holes, family="poisson", exposure="expo").fit_mle()
    bg.GLM("status ~ x1", data=frame, family="bernoulli").fit_mle()
    pd.testing.assert_frame_equal(frame, before)
    pd.testing.assert_frame_equal(holes, holes_before)


# --- maximum-likelihood prediction -------------------------------------------------------


R_DATA = pd.DataFrame(
    {
        "y": [2, 3, 6, 7, 8, 9, 10, 12, 15, 20],
        "x": np.arange(1.0, 11.0),
        "g": ["a", "b"] * 5,
        "e": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5.0],
    }
)


def test_mle_predictions_match_r_predict_glm() -> None:
    # d <- data.frame(y = c(2,3,6,7,8,9,10,12,15,20), x = 1:10,
    #                 g = factor(rep(c("a","b"), 5)), e = rep(1:5, each = 2))
    # fit <- glm(y ~ x + g, family = poisson, data = d, offset = log(e))
    # nd <- data.frame(x = c(2.5, 11), g = factor(c("b","a"), levels = c("a","b")), e = c(1, 3))
    # predict(fit, nd, type = "link", se.fit = TRUE)  # fit, se.fit below
    # predict(fit, nd, type = "response")
    model = bg.GLM("y ~ x + g", data=R_DATA, family="poisson", offset="log(e)")
    new = pd.DataFrame({"x": [2.5, 11.0], "g": ["b", "a"], "e": [1.0, 3.0]})
    link = model.fit_mle().predict(new, scale="link")
    np.testing.assert_allclose(link["estimate"], [1.08929503900331, 2.22946600340494], rtol=1e-9)
    np.testing.assert_allclose(
        link["std_error"], [0.255301100210262, 0.247593616457684], rtol=1e-7
    )
    mean = model.fit_mle().predict(new, scale="mean", prob=0.9)
    np.testing.assert_allclose(mean["estimate"], [2.9721780642373, 9.29490130836607], rtol=1e-9)
    z = 1.6448536269514722
    np.testing.assert_allclose(
        mean["conf_low"], np.exp(link["estimate"] - z * link["std_error"]), rtol=1e-12
    )
    training = model.fit_mle().predict()
    np.testing.assert_allclose(training["estimate"], model.fit_mle().fitted, rtol=1e-12)


def test_prediction_errors_name_the_problem() -> None:
    model = bg.GLM("y ~ x + g", data=R_DATA, family="poisson", offset="log(e)")
    mle = model.fit_mle()
    with pytest.raises(BayesGLMError, match=r"column 'g' has level\(s\) 'c' not seen"):
        mle.predict(pd.DataFrame({"x": [1.0], "g": ["c"], "e": [1.0]}))
    with pytest.raises(BayesGLMError, match=r"lack column\(s\) 'e'"):
        mle.predict(pd.DataFrame({"x": [1.0], "g": ["a"]}))
    with pytest.raises(BayesGLMError, match=r"scale must be one of link, mean"):
        mle.predict(scale="response")
    arrays = bg.fit_mle(
        np.c_[np.ones(10), R_DATA["x"]], R_DATA["y"], family="poisson", offset=np.log(R_DATA["e"])
    )
    with pytest.raises(BayesGLMError, match=r"new rows need theirs: pass offset="):
        arrays.predict(np.array([[1.0, 2.0]]))
    np.testing.assert_allclose(
        arrays.predict(np.array([[1.0, 2.0]]), offset=[0.0])["estimate"],
        np.exp(arrays.params.iloc[0] + 2 * arrays.params.iloc[1]),
    )


def test_numbers_stored_as_text_are_refused_unless_asked_for_as_categories() -> None:
    df = pd.DataFrame({"y": [1, 2, 3, 4, 2, 1], "dose": ["1.5", "2", "3", "4.1", "2", "3"]})
    with pytest.raises(BayesGLMError, match=r"column 'dose' holds numbers stored as text"):
        bg.GLM("y ~ dose", data=df, family="poisson")
    model = bg.GLM("y ~ C(dose)", data=df, family="poisson")
    assert model.design.p == 4
