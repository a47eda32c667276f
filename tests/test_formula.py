"""Formulas and DataFrames: model matrices, responses, offsets, weights, missing values."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm.errors import BayesGLMError, MissingDataWarning, SamplingWarning, UnusedLevelWarning
from bayesglm.formula import new_data_matrix
from bayesglm.formula_state import spec_to_data


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
    assert as_bool.design.formula.event == "True" and as_text.design.formula.event == "dead"
    np.testing.assert_allclose(as_bool.fit_mle().params, as_text.fit_mle().params)
    ordered = frame.assign(status=pd.Categorical(frame["status"], ["dead", "alive"]))
    flipped = bg.GLM("status ~ x1", data=ordered, family="bernoulli")
    assert flipped.design.formula.event == "alive"
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
        match=r"dropped 3 of 120 rows.*columns expo \(1\), x1 \(2\) \(rows 3, 10, 20\)",
    ):
        model = bg.GLM(
            "count ~ x1", data=holes, family="poisson", exposure="expo", weights=weights
        )
    assert model.design.formula.dropped_rows == (3, 10, 20)
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


# --- missing values inside transforms (issue #11) -------------------------------------


@pytest.fixture()
def holes_frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 90
    df = pd.DataFrame(
        {
            "x": rng.uniform(0.5, 4.0, size=n),
            "g": rng.choice(["a", "b", "c"], size=n),
        }
    )
    df["y"] = rng.poisson(np.exp(0.2 + 0.3 * df["x"] + 0.4 * (df["g"] == "b")))
    return df


HOLES = [4, 17, 40, 41]


@pytest.mark.parametrize(
    ("term", "column"),
    [
        ("bs(x, df=3)", "x"),
        ("center(x)", "x"),
        ("scale(x)", "x"),
        ("poly(x, 2)", "x"),
        ("log(x)", "x"),
        ("np.log1p(x)", "x"),
        ("I(x**2)", "x"),
        ("C(g)", "g"),
    ],
)
def test_missing_values_inside_a_transform_are_dropped(holes_frame, term, column) -> None:
    holes = holes_frame.copy()
    holes.loc[HOLES, column] = np.nan
    formula = f"y ~ {term} + g" if column == "x" else f"y ~ {term} + x"
    with pytest.warns(MissingDataWarning, match=r"dropped 4 of 90 rows.*\(rows 4, 17, 40, 41\)"):
        model = bg.GLM(formula, data=holes, family="poisson")
    complete = bg.GLM(formula, data=holes_frame.drop(index=HOLES), family="poisson")
    assert model.design.formula.dropped_rows == tuple(HOLES)
    assert model.design.names == complete.design.names
    np.testing.assert_array_equal(model.design.X, complete.design.X)
    # Knots, means and scales are learned from the complete rows only.
    learned = spec_to_data(model.design.formula.model_spec)
    assert learned == spec_to_data(complete.design.formula.model_spec)
    pd.testing.assert_series_equal(model.fit_mle().params, complete.fit_mle().params)


# --- dtypes: whatever pandas chose, the same design ------------------------------------

try:
    import pyarrow  # noqa: F401

    HAS_PYARROW = True
except ImportError:
    HAS_PYARROW = False
NEEDS_PYARROW = pytest.mark.skipif(not HAS_PYARROW, reason="pyarrow is not installed")


@pytest.mark.parametrize(
    "dtype",
    ["string[python]", pytest.param("string[pyarrow]", marks=NEEDS_PYARROW), "category"],
)
def test_text_of_any_string_dtype_is_a_factor(holes_frame, dtype) -> None:
    as_object = bg.GLM("y ~ x + g", data=holes_frame.astype({"g": object}), family="poisson")
    typed = holes_frame.astype({"g": dtype})
    model = bg.GLM("y ~ x + g", data=typed, family="poisson")
    assert model.design.names == ("Intercept", "x", "g[T.b]", "g[T.c]")
    pd.testing.assert_series_equal(model.fit_mle().params, as_object.fit_mle().params)
    new = holes_frame.head(5).astype({"g": dtype})
    pd.testing.assert_frame_equal(
        model.fit_mle().predict(new), as_object.fit_mle().predict(holes_frame.head(5))
    )


@pytest.mark.parametrize(
    ("column", "dtype"),
    [
        ("x", "Float64"),
        ("k", "Int64"),
        ("flag", "boolean"),
        pytest.param("x", "double[pyarrow]", marks=NEEDS_PYARROW),
        pytest.param("k", "int64[pyarrow]", marks=NEEDS_PYARROW),
        pytest.param("flag", "bool[pyarrow]", marks=NEEDS_PYARROW),
    ],
)
def test_nullable_and_pyarrow_dtypes_with_pd_na(holes_frame, column, dtype) -> None:
    df = holes_frame.assign(k=np.arange(90) % 4, flag=holes_frame["x"] > 2)
    holes = df.astype({column: dtype})
    holes.loc[HOLES, column] = pd.NA
    formula = f"y ~ {column} + C(k)" if column != "k" else "y ~ x + C(k)"
    with pytest.warns(MissingDataWarning, match=r"\(rows 4, 17, 40, 41\)"):
        model = bg.GLM(formula, data=holes, family="poisson")
    complete = bg.GLM(formula, data=df.drop(index=HOLES), family="poisson")
    assert model.design.names == complete.design.names
    pd.testing.assert_series_equal(model.fit_mle().params, complete.fit_mle().params)


@pytest.mark.parametrize(
    "as_given",
    [
        lambda event: event,  # bool
        lambda event: event.astype(object),  # True/False as Python objects
        lambda event: event.astype("boolean"),
        lambda event: event.astype(object).where(event.index != 4, None),  # with a blank
        lambda event: event.astype("boolean").where(event.index != 4, pd.NA),
    ],
    ids=["bool", "object", "boolean", "object-with-None", "boolean-with-NA"],
)
def test_a_bernoulli_response_of_booleans_in_any_dtype(holes_frame, as_given) -> None:
    event = holes_frame["y"] > 2
    df = holes_frame.assign(event=as_given(event))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        model = bg.GLM("event ~ x", data=df, family="bernoulli")
    kept = holes_frame.assign(event=event).drop(index=list(model.design.formula.dropped_rows))
    reference = bg.GLM("event ~ x", data=kept, family="bernoulli")
    assert model.design.formula.event == "True"
    pd.testing.assert_series_equal(model.fit_mle().params, reference.fit_mle().params)


def test_the_callers_data_keeps_its_dtypes_and_values(holes_frame) -> None:
    df = holes_frame.astype({"g": "string"}).assign(
        k=pd.array(np.arange(90) % 3, dtype="Int64"),
        h=pd.Categorical(np.arange(90) % 2, categories=[0, 1, 2]),
    )
    df.loc[3, "x"] = np.nan
    before = df.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (MissingDataWarning, UnusedLevelWarning))
        model = bg.GLM("y ~ bs(x, df=3) + g + C(k) + h", data=df, family="poisson")
        model.fit_mle().predict(df.drop(index=3))
    pd.testing.assert_frame_equal(df, before)


# --- unused levels (R's droplevels) ----------------------------------------------------


def test_unused_levels_are_dropped_as_r_does(holes_frame) -> None:
    df = holes_frame.assign(g=pd.Categorical(holes_frame["g"], categories=["a", "b", "c", "d"]))
    with pytest.warns(UnusedLevelWarning, match=r"column 'g' has level\(s\) 'd' that no row"):
        model = bg.GLM("y ~ x + g", data=df, family="poisson")
    dropped = df.assign(g=df["g"].cat.remove_unused_categories())  # R: droplevels(df)
    reference = bg.GLM("y ~ x + g", data=dropped, family="poisson")
    assert model.design.names == ("Intercept", "x", "g[T.b]", "g[T.c]")
    assert model.design.formula.dropped_levels == {"g": ("d",)}
    pd.testing.assert_series_equal(model.fit_mle().params, reference.fit_mle().params)
    new = pd.DataFrame({"x": [1.0, 2.0], "g": ["a", "d"]}, index=["p", "q"])
    with pytest.raises(
        BayesGLMError,
        match=r"column 'g' has level\(s\) 'd' not seen in the training data \('d' had no "
        r"training rows and was dropped\).*the first is row 'q'",
    ):
        model.fit_mle().predict(new)


def test_a_level_left_without_rows_by_missing_values_is_dropped(holes_frame) -> None:
    df = holes_frame.assign(g=pd.Categorical(holes_frame["g"]))
    df.loc[df["g"] == "c", "x"] = np.nan
    with pytest.warns(UnusedLevelWarning, match=r"'g' has level\(s\) 'c'"):
        with pytest.warns(MissingDataWarning):
            model = bg.GLM("y ~ x + g", data=df, family="poisson")
    assert model.design.names == ("Intercept", "x", "g[T.b]")
    model.fit_mle()  # not rank deficient


# --- factor levels compare by value ----------------------------------------------------


@pytest.fixture()
def years() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"year": rng.choice([60, 65, 70], size=80), "x": rng.normal(size=80)})
    df["y"] = rng.poisson(np.exp(0.5 + 0.02 * (df["year"] - 60) + 0.2 * df["x"]))
    return df


def test_a_numeric_level_matches_whether_written_65_or_65_0(years) -> None:
    mle = bg.GLM("y ~ x + C(year)", data=years, family="poisson").fit_mle()
    as_int = pd.DataFrame({"x": [0.1, -0.3], "year": [65, 70]})
    as_float = as_int.astype({"year": float})
    pd.testing.assert_frame_equal(mle.predict(as_float), mle.predict(as_int))
    trained_on_floats = bg.GLM(
        "y ~ x + C(year)", data=years.astype({"year": float}), family="poisson"
    ).fit_mle()
    np.testing.assert_array_equal(
        trained_on_floats.predict(as_int)["estimate"], mle.predict(as_int)["estimate"]
    )
    with pytest.raises(BayesGLMError, match=r"column 'year' has level\(s\) '66.0' not seen"):
        mle.predict(as_float.assign(year=[65.0, 66.0]))


def test_the_cli_predicts_a_level_written_as_65_0(years, tmp_path, capsys) -> None:
    from bayesglm.cli import main

    years.to_csv(tmp_path / "train.csv", index=False)
    saved = tmp_path / "fit.nc"
    argv = ["fit", str(tmp_path / "train.csv"), "--formula", "y ~ x + C(year)"]
    argv += ["--family", "poisson", "--draws", "50", "--tune", "50", "--chains", "1"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        assert main([*argv, "--seed", "1", "--quiet", "--save", str(saved)]) == 0
    new = pd.DataFrame({"x": [0.1, -0.3], "year": [65, 70]})
    new.to_csv(tmp_path / "int.csv", index=False)
    new.astype({"year": float}).to_csv(tmp_path / "float.csv", index=False)
    assert "65.0" in (tmp_path / "float.csv").read_text()
    tables = []
    for name in ("int", "float"):
        output = tmp_path / f"{name}-predictions.csv"
        assert (
            main(["predict", str(saved), str(tmp_path / f"{name}.csv"), "--output", str(output)])
            == 0
        )
        tables.append(pd.read_csv(output, index_col=0))
    capsys.readouterr()
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_a_factor_of_computed_values_is_checked_on_its_values(holes_frame) -> None:
    mle = bg.GLM("y ~ C(np.round(x))", data=holes_frame, family="poisson").fit_mle()
    rounded = mle.predict(pd.DataFrame({"x": [1.3]}))  # C(np.round(x)) is 1.0: known
    np.testing.assert_allclose(
        rounded["estimate"], mle.predict(pd.DataFrame({"x": [1.0]}))["estimate"]
    )
    with pytest.raises(BayesGLMError, match=r"has level\(s\) that the model has no coefficient"):
        mle.predict(pd.DataFrame({"x": [9.0]}))


def test_names_from_the_callers_scope_serve_predictions_too(frame) -> None:
    scale = 2.5
    mle = bg.GLM("count ~ I(x1 * scale)", data=frame, family="poisson").fit_mle()
    plain = bg.GLM("count ~ x1", data=frame, family="poisson").fit_mle()
    assert mle.design.formula.context == {"scale": scale}  # ours, not formulaic's scale()
    new = frame.head(4)
    np.testing.assert_allclose(mle.predict(new)["estimate"], plain.predict(new)["estimate"])


def test_a_function_from_the_callers_scope_is_named_when_it_is_gone(frame) -> None:
    def doubled(values):
        return 2 * values

    mle = bg.GLM("count ~ I(doubled(x1))", data=frame, family="poisson").fit_mle()
    plain = bg.GLM("count ~ x1", data=frame, family="poisson").fit_mle()
    new = frame.head(3)
    np.testing.assert_allclose(mle.predict(new)["estimate"], plain.predict(new)["estimate"])
    # A saved fit keeps data, not functions: what a loaded one has.
    loaded = dataclasses.replace(mle.design.formula, context={})
    with pytest.raises(
        BayesGLMError,
        match=r"new data could not be evaluated.*name 'doubled' is not defined.*not "
        r"functions\); got \(formula='count ~ I\(doubled\(x1\)\)'\)",
    ):
        new_data_matrix(loaded, new)
