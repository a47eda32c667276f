"""Predictions: row labels, the range where a model defines a mean, offsets and exposures
given as values, and the one column vocabulary of both prediction tables."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayesglm as bg
from bayesglm.cli import main
from bayesglm.errors import BayesGLMError, DomainWarning, MissingDataWarning
from bayesglm.predict import eta_range
from bayesglm.results import GLMResult

from .laplace_fit import laplace_fit

COLUMNS = ["estimate", "std_error", "conf_low", "conf_high"]
PAIRS = [(family, link) for family in bg.FAMILIES.values() for link in family.links]
PAIR_IDS = [f"{family.name}-{link}" for family, link in PAIRS]


def _fit(model: bg.GLM, seed: int, draws: int = 200) -> GLMResult:
    return laplace_fit(model, seed=seed, draws=draws)


@pytest.fixture(scope="module")
def counts():
    """Counts over an exposure given as values, string row labels, one row dropped."""
    rng = np.random.default_rng(21)
    n = 60
    df = pd.DataFrame(
        {"x": rng.normal(size=n), "months": rng.uniform(1, 12, size=n)},
        index=[f"r{i}" for i in range(n)],
    )
    df["events"] = rng.poisson(df["months"] * np.exp(-0.5 + 0.4 * df["x"]))
    df.loc["r3", "x"] = np.nan
    with pytest.warns(MissingDataWarning):
        model = bg.GLM("events ~ x", data=df, family="poisson", exposure=df["months"].to_numpy())
    return df, model, _fit(model, seed=2)


def _caught(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in caught if issubclass(w.category, DomainWarning)]


# --- 1. in-sample predictions keep the rows' own labels ------------------------------------


@pytest.mark.parametrize("scale", ["link", "mean"])
@pytest.mark.parametrize("result", ["mle", "posterior"])
def test_in_sample_predictions_line_up_with_the_users_rows(counts, result, scale) -> None:
    df, model, fit = counts
    prediction = (model.fit_mle() if result == "mle" else fit).predict(scale=scale)
    assert list(prediction.index) == [label for label in df.index if label != "r3"]
    out = df.assign(prediction=prediction["estimate"])  # aligns by label
    assert np.isnan(out.loc["r3", "prediction"])
    # Each row's prediction comes from its own x and months (r4 follows the dropped row).
    kept = df.drop(index="r3")
    X = np.c_[np.ones(len(kept)), kept["x"]]
    if result == "mle":
        eta = X @ model.fit_mle().params.to_numpy() + np.log(kept["months"].to_numpy())
        expected = eta if scale == "link" else np.exp(eta)
    else:
        eta = fit.draws()[["Intercept", "x"]].to_numpy() @ X.T + np.log(kept["months"].to_numpy())
        expected = (eta if scale == "link" else np.exp(eta)).mean(axis=0)
    np.testing.assert_allclose(out["prediction"].drop("r3"), expected, rtol=1e-9)


def test_designs_from_pandas_arrays_keep_their_labels() -> None:
    index = pd.Index([30, 10, 20, 50, 40, 60], name="id")
    X = pd.DataFrame({"Intercept": 1.0, "x": [0.1, 0.5, 0.9, 1.3, 1.7, 2.1]}, index=index)
    y = pd.Series([1, 1, 2, 3, 4, 7], index=index)
    mle = bg.fit_mle(X, y, family="poisson")
    assert mle.predict().index.equals(index)
    new = X.iloc[[1, 0]].rename(index={10: 99})
    assert list(mle.predict(new).index) == [99, 30]
    assert bg.fit_mle(X, y.to_numpy(), family="poisson").predict().index.equals(index)
    with pytest.raises(BayesGLMError, match=r"X and y have different row labels.*position 0"):
        bg.fit_mle(X, y.sort_index(), family="poisson")


def test_values_given_as_a_series_must_carry_the_rows_labels() -> None:
    df = pd.DataFrame(
        {"x": [1.0, 2, 3, 4, 5, 6], "y": [1, 2, 2, 4, 5, 7], "e": [1.0, 2, 3, 4, 5, 6]}
    )
    resorted = df["e"].sort_values(ascending=False)  # values pair by position
    with pytest.raises(BayesGLMError, match=r"data and exposure have different row labels"):
        bg.GLM("y ~ x", data=df, family="poisson", exposure=resorted)
    X = df[["x"]].assign(Intercept=1.0)
    with pytest.raises(BayesGLMError, match=r"X and offset have different row labels"):
        bg.fit_mle(X, df["y"], family="poisson", offset=np.log(resorted))
    model = bg.GLM("y ~ x", data=df, family="poisson", exposure=df["e"])
    np.testing.assert_allclose(model.design.offset, np.log(df["e"]))


def test_a_saved_fit_keeps_its_row_labels(counts, tmp_path) -> None:
    _, _, fit = counts
    loaded = bg.load(fit.save(tmp_path / "fit.nc"))
    pd.testing.assert_frame_equal(loaded.predict(), fit.predict())
    assert loaded.design.formula.training.index.equals(fit.design.formula.training.index)
    for labels in (
        pd.date_range("2024-01-01", periods=fit.design.n, freq="D", name="day"),
        pd.MultiIndex.from_arrays(
            [np.arange(fit.design.n) % 3, [f"s{i}" for i in range(fit.design.n)]],
            names=["site", "id"],
        ),
    ):
        # A formula's rows are labelled by its data's index.
        training = fit.design.formula.training.set_axis(labels)
        formula = dataclasses.replace(fit.design.formula, training=training, dropped_rows=())
        design = dataclasses.replace(fit.design, row_labels=labels, formula=formula)
        labelled = dataclasses.replace(fit, design=design)
        path = labelled.save(tmp_path / f"{labels.names[0]}.nc")
        assert bg.load(path).predict().index.equals(labels)


# --- 2. predictions where the model defines no mean -------------------------------------


@pytest.mark.parametrize(("family", "link"), PAIRS, ids=PAIR_IDS)
def test_eta_range_is_where_the_pair_gives_a_valid_mean(family, link) -> None:
    link = bg.LINKS[link]
    valid = eta_range(family, link)
    ends = [end for end in (valid.low, valid.high) if np.isfinite(end)]
    inside = np.array([e + s * d for e in ends or [0.0] for s in (1, -1) for d in (1e-9, 0.5, 3)])
    inside = np.r_[inside[valid.includes(inside)], np.linspace(-30, 30, 61)]
    inside = inside[valid.includes(inside)]
    mu = link.inverse(inside)
    domain = family.mean_domain
    assert np.isfinite(mu).all() and ((mu >= domain.low) & (mu <= domain.high)).all()
    outside = np.array([e + s * d for e in ends for s in (1, -1) for d in (1e-9, 0.5, 3)])
    outside = outside[~valid.includes(outside)]
    assert outside.size == 3 * len(ends)
    with np.errstate(all="ignore"):
        mu = link.inverse(outside)
    assert (~link.eta_domain.includes(outside) | ~domain.includes(mu)).all()


def _intercept_model(family, link: str) -> bg.MLEResult:
    """An intercept-only MLE with a zero offset given as values: new rows' offsets
    then put their linear predictor wherever a test wants it."""
    rng = np.random.default_rng(5)
    n = 80
    mu = np.full(n, 0.3 if family.is_probability else 2.0)
    natural = {"sigma": 0.5, "shape": 5.0, "lam": 4.0, "alpha": 3.0}.get(family.natural_param)
    trials = np.full(n, 10.0) if family.has_trials else None
    # A quasi-family draws nothing: its data are those of its likelihood family.
    y = bg.FAMILIES[family.name.removeprefix("quasi")].sample(mu, natural, trials, rng)
    return bg.fit_mle(
        np.ones((n, 1)), y, family=family.name, link=link, offset=np.zeros(n), trials=trials
    )


@pytest.mark.parametrize(("family", "link"), PAIRS, ids=PAIR_IDS)
def test_mle_rows_outside_the_model_are_nan_and_named(family, link) -> None:
    mle = _intercept_model(family, link)
    valid = eta_range(family, mle.link)
    fitted = float(mle.params.iloc[0])
    targets = {"inside": fitted}
    if np.isfinite(valid.low):
        targets["below"] = valid.low - 0.5
    if np.isfinite(valid.high):
        targets["above"] = valid.high + 0.5
    new = pd.DataFrame({"x0": 1.0}, index=list(targets))
    offset = np.array(list(targets.values())) - fitted
    mean, messages = _caught(lambda: mle.predict(new, offset=offset))
    outside = [label for label in targets if label != "inside"]
    assert np.isfinite(mean.loc["inside"]).all()
    assert mean.loc[outside].isna().all().all()
    assert mean.attrs["outside"] == dict.fromkeys(outside, 1.0)
    if outside:
        assert len(messages) == 1 and all(f"'{label}'" in messages[0] for label in outside)
        assert "'inside'" not in messages[0] and "NaN" in messages[0]
    else:
        assert messages == []
    link_scale, messages = _caught(lambda: mle.predict(new, scale="link", offset=offset))
    np.testing.assert_allclose(link_scale["estimate"], list(targets.values()), rtol=1e-9)
    assert len(messages) == (1 if outside else 0)


@pytest.mark.parametrize(
    ("family", "link"),
    [(f, link) for f, link in PAIRS if np.isfinite(eta_range(f, bg.LINKS[link]).low)]
    + [(f, link) for f, link in PAIRS if np.isfinite(eta_range(f, bg.LINKS[link]).high)],
)
def test_mle_intervals_stop_at_the_edge_of_the_model(family, link) -> None:
    mle = _intercept_model(family, link)
    valid = eta_range(family, mle.link)
    q, se = stats.norm.ppf(0.975), float(mle.bse.iloc[0])
    if mle.uses_t:
        q = stats.t.ppf(0.975, mle.df_resid)
    edge = valid.low if np.isfinite(valid.low) else valid.high
    target = edge + (0.5 if edge == valid.low else -0.5) * q * se  # inside, interval crosses
    fitted = float(mle.params.iloc[0])
    new = pd.DataFrame({"x0": [1.0]}, index=["near"])
    mean, messages = _caught(lambda: mle.predict(new, offset=[target - fitted]))
    row = mean.loc["near"]
    with np.errstate(divide="ignore"):
        limit = mle.link.inverse(np.float64(edge))
    assert limit in (row["conf_low"], row["conf_high"])
    assert row["conf_low"] <= row["estimate"] <= row["conf_high"]
    domain = family.mean_domain
    assert domain.low <= row["conf_low"] and row["conf_high"] <= domain.high
    np.testing.assert_allclose(
        row["std_error"], abs(mle.link.inverse_deriv(np.float64(target))) * se, rtol=1e-9
    )
    assert mean.attrs["interval_cut"] == ["near"]
    assert len(messages) == 1 and "'near'" in messages[0] and "cut" in messages[0]


@pytest.fixture(scope="module")
def gamma_inverse():
    """A gamma model with the inverse link whose linear predictor falls towards 0 as x grows."""
    rng = np.random.default_rng(3)
    x = np.linspace(1, 5, 40)
    y = rng.gamma(5.0, 1 / (0.5 - 0.08 * x) / 5.0)
    model = bg.GLM("y ~ x", data=pd.DataFrame({"x": x, "y": y}), family="gamma")
    return model, _fit(model, seed=1)


def test_posterior_rows_outside_the_model_are_nan_with_the_fraction_of_draws(
    gamma_inverse,
) -> None:
    model, fit = gamma_inverse
    new = pd.DataFrame({"x": [3.0, 6.3, 9.0]}, index=["mid", "edge", "far"])
    draws = fit.draws()
    eta = draws[["Intercept", "x"]].to_numpy() @ np.c_[np.ones(3), new["x"]].T
    fraction = (eta <= 0).mean(axis=0)
    assert fraction[0] == 0 and 0 < fraction[1] < 1 and fraction[2] == 1
    for scale in ("mean", "response"):
        table, messages = _caught(lambda scale=scale: fit.predict(new, scale=scale, seed=1))
        assert np.isfinite(table.loc["mid"]).all() and table.loc["mid", "estimate"] > 0
        assert table.loc[["edge", "far"]].isna().all().all()
        assert table.attrs["outside"] == pytest.approx({"edge": fraction[1], "far": 1.0})
        assert len(messages) == 1
        assert f"'edge' ({fraction[1]:.0%} of draws)" in messages[0]
        assert "'far' (100% of draws)" in messages[0] and "'mid'" not in messages[0]
    link, messages = _caught(lambda: fit.predict(new, scale="link"))
    np.testing.assert_allclose(link["estimate"], eta.mean(axis=0), rtol=1e-12)
    assert len(messages) == 1
    mle, messages = _caught(lambda: model.fit_mle().predict(new))
    assert mle.loc["far"].isna().all() and mle.loc["mid", "estimate"] > 0
    assert "'far'" in messages[0]


# --- 3. offsets and exposures given as values ------------------------------------------------


def test_offsets_and_exposures_given_as_values_predict_new_rows(counts) -> None:
    _, model, fit = counts
    mle = model.fit_mle()
    new = pd.DataFrame({"x": [0.0, 1.0], "months": [2.0, 10.0]}, index=["a", "b"])
    expected = np.exp(mle.params["Intercept"] + mle.params["x"] * new["x"]) * new["months"]
    for kwargs in (
        {"exposure": new["months"].to_numpy()},
        {"exposure": new["months"]},
        {"exposure": "months"},
        {"offset": np.log(new["months"]).to_numpy()},
        {"offset": np.log(new["months"])},
    ):
        np.testing.assert_allclose(mle.predict(new, **kwargs)["estimate"], expected, rtol=1e-12)
    beta = fit.draws()[["Intercept", "x"]].to_numpy()
    eta = beta @ np.c_[np.ones(2), new["x"]].T + np.log(new["months"].to_numpy())
    posterior = fit.predict(new, exposure=new["months"].to_numpy())
    np.testing.assert_allclose(posterior["estimate"], np.exp(eta).mean(axis=0), rtol=1e-12)
    with pytest.raises(BayesGLMError, match=r"offset given as values, so the new rows need"):
        fit.predict(new)
    with pytest.raises(BayesGLMError, match=r"give offset= or exposure=.*not both"):
        mle.predict(new, offset=[0.0, 0.0], exposure=[1.0, 1.0])
    with pytest.raises(BayesGLMError, match=r"exposure must be positive.*row 'b'"):
        mle.predict(new, exposure=new["months"] * [1, 0])
    with pytest.raises(BayesGLMError, match=r"Series whose row labels differ"):
        mle.predict(new, exposure=new["months"].iloc[::-1])


def test_array_models_take_offsets_and_exposures_and_refuse_them_when_unfitted() -> None:
    rng = np.random.default_rng(8)
    X = np.c_[np.ones(50), rng.normal(size=50)]
    months = rng.uniform(1, 5, size=50)
    y = rng.poisson(months * np.exp(0.2 + 0.3 * X[:, 1]))
    with_offset = bg.GLM.from_arrays(X, y, family="poisson", offset=np.log(months)).fit_mle()
    new = np.array([[1.0, 0.5]])
    expected = np.exp(with_offset.params.to_numpy() @ new[0]) * 4.0
    np.testing.assert_allclose(with_offset.predict(new, exposure=[4.0])["estimate"], expected)
    without = bg.fit_mle(X, y, family="poisson")
    with pytest.raises(BayesGLMError, match=r"fitted without an offset.*drop offset="):
        without.predict(new, offset=[1.0])
    root = bg.fit_mle(X, y, family="poisson", link="sqrt", offset=np.zeros(50))
    with pytest.raises(BayesGLMError, match=r"exposure= needs the log link"):
        root.predict(new, exposure=[4.0])


def test_cli_predicts_a_fit_whose_exposure_was_given_as_values(counts, tmp_path, capsys) -> None:
    _, _, fit = counts
    saved = fit.save(tmp_path / "fit.nc")
    new = pd.DataFrame({"x": [0.0, 1.0], "months": [2.0, 10.0]})
    csv, out = tmp_path / "new.csv", tmp_path / "out.csv"
    new.to_csv(csv, index=False)
    assert (
        main(["predict", str(saved), str(csv), "--exposure", "months", "--output", str(out)]) == 0
    )
    table = pd.read_csv(out, index_col=0)
    assert list(table.columns) == COLUMNS
    expected = fit.predict(new, exposure="months")
    np.testing.assert_allclose(table.to_numpy(), expected.to_numpy(), rtol=1e-9)
    assert main(["predict", str(saved), str(csv)]) == 2
    assert "new rows need theirs" in capsys.readouterr().err


# --- 4. one vocabulary: estimate, std_error, conf_low, conf_high -----------------------------


def test_both_prediction_tables_and_conf_int_share_the_column_names(counts) -> None:
    _, model, fit = counts
    mle = model.fit_mle()
    new = pd.DataFrame({"x": [0.5]}, index=["z"])
    assert list(mle.predict(new, exposure=[3.0]).columns) == COLUMNS
    assert list(fit.predict(new, exposure=[3.0], scale="response").columns) == COLUMNS
    interval = mle.conf_int(prob=0.9)
    assert list(interval.columns) == ["conf_low", "conf_high"]
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(interval["conf_low"], mle.params - z * mle.bse, rtol=1e-12)
    np.testing.assert_allclose(interval["conf_high"], mle.params + z * mle.bse, rtol=1e-12)
    assert interval.attrs["interval"] == "90% Wald (normal)"
    with pytest.raises(TypeError):
        mle.conf_int(alpha=0.1)


def test_mean_scale_standard_errors_are_rs_delta_method() -> None:
    # d <- data.frame(y = c(2,3,6,7,8,9,10,12,15,20), x = 1:10,
    #                 g = factor(rep(c("a","b"), 5)), e = rep(1:5, each = 2))
    # fit <- glm(y ~ x + g, family = poisson, data = d, offset = log(e))
    # nd <- data.frame(x = c(2.5, 11), g = factor(c("b","a"), levels = c("a","b")), e = c(1, 3))
    # predict(fit, nd, type = "link", se.fit = TRUE)      # fit and se.fit below
    # predict(fit, nd, type = "response", se.fit = TRUE)  # fitted means below; its se.fit is
    #   R's predict.glm: se.fit (link) * abs(family(fit)$mu.eta(fit (link))) = mean * se
    data = pd.DataFrame(
        {
            "y": [2, 3, 6, 7, 8, 9, 10, 12, 15, 20],
            "x": np.arange(1.0, 11.0),
            "g": ["a", "b"] * 5,
            "e": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5.0],
        }
    )
    mle = bg.GLM("y ~ x + g", data=data, family="poisson", offset="log(e)").fit_mle()
    new = pd.DataFrame({"x": [2.5, 11.0], "g": ["b", "a"], "e": [1.0, 3.0]})
    np.testing.assert_allclose(
        mle.predict(new)["std_error"],
        [2.9721780642373 * 0.255301100210262, 9.29490130836607 * 0.247593616457684],
        rtol=1e-7,
    )


# --- precision weights of new gaussian responses -------------------------------------------


@pytest.fixture(scope="module")
def weighted_gaussian():
    """Odd rows are 25 times as precise (sd 1/5) as even rows."""
    rng = np.random.default_rng(0)
    n = 200
    weights = np.where(np.arange(n) % 2 == 0, 1.0, 25.0)
    x = rng.normal(size=n)
    df = pd.DataFrame({"x": x, "y": 1 + 2 * x + rng.normal(size=n) / np.sqrt(weights)})
    df["w"] = weights
    model = bg.GLM("y ~ x", data=df, family="gaussian", weights="w")
    return df, _fit(model, seed=4, draws=400)


def test_gaussian_response_predictions_use_the_rows_precision_weights(
    weighted_gaussian, tmp_path, capsys
) -> None:
    df, fit = weighted_gaussian
    sigma = fit.draws()["sigma"].to_numpy()
    response = fit.predict(scale="response")
    spread = response["std_error"].groupby(df["w"]).mean()
    # sd of a new response: about sigma / sqrt(w) (plus the mean's small uncertainty)
    np.testing.assert_allclose(spread, [sigma.mean(), sigma.mean() / 5], rtol=0.15)
    replicated = fit.posterior_predictive(rng=1).std(axis=0)
    np.testing.assert_allclose(replicated[1::2].mean() / replicated[::2].mean(), 0.2, rtol=0.15)
    new = pd.DataFrame({"x": [0.0, 0.0], "w": [1.0, 25.0]}, index=["loose", "tight"])
    with pytest.raises(BayesGLMError, match=r"fitted with precision weights.*need the new rows"):
        fit.predict(new, scale="response")
    tight = fit.predict(new, scale="response", weights="w")["std_error"]
    np.testing.assert_allclose(tight["tight"] / tight["loose"], 0.2, rtol=0.2)
    counts = _fit(bg.GLM.from_arrays(np.ones((3, 1)), [1, 2, 3], family="poisson"), seed=0)
    with pytest.raises(BayesGLMError, match=r"weights count observations.*drop weights="):
        counts.predict(scale="response", weights=[1.0, 2.0, 1.0])
    saved, csv = fit.save(tmp_path / "g.nc"), tmp_path / "new.csv"
    new.to_csv(csv)
    assert main(["predict", str(saved), str(csv), "--scale", "response"]) == 2
    assert "precision weights" in capsys.readouterr().err
    assert main(["predict", str(saved), str(csv), "--scale", "response", "--weights", "w"]) == 0


def test_a_frame_of_new_rows_is_read_by_column_name_for_an_array_model() -> None:
    # A model fitted from a DataFrame X takes its names from the columns; new rows in
    # another column order were paired with the coefficients by position.
    import statsmodels.api as sm

    rng = np.random.default_rng(9)
    X = pd.DataFrame({"Intercept": 1.0, "x": rng.normal(size=80), "z": rng.normal(size=80)})
    y = rng.poisson(np.exp(0.2 + 0.5 * X["x"] - 0.3 * X["z"]))
    mle = bg.GLM.from_arrays(X, y, family="poisson").fit_mle()
    reference = sm.GLM(y, X.to_numpy(), family=sm.families.Poisson()).fit()
    expected = reference.predict(X.to_numpy()[:4])
    shuffled = X.iloc[:4][["z", "Intercept", "x"]]
    np.testing.assert_allclose(mle.predict(shuffled)["estimate"], expected, rtol=1e-8)
    np.testing.assert_allclose(mle.predict(shuffled.assign(w=0.0))["estimate"], expected)
    anonymous = pd.DataFrame(X.to_numpy()[:4])  # no names: read by position
    np.testing.assert_allclose(mle.predict(anonymous)["estimate"], expected, rtol=1e-8)
    with pytest.raises(BayesGLMError, match=r"lacks column\(s\) 'x'"):
        mle.predict(X.iloc[:4].rename(columns={"x": "w"}))
