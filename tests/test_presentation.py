"""The report as a reader sees it: numbers rounded to their uncertainty, the findings
table, the glossary, print(fit), and plots that stay readable whatever the
predictors' scales (the statsmodels star98 data: binomial, 21 coefficients).

Fits here draw from the Laplace approximation (milliseconds): what is tested is what
the report makes of the draws.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm import plots, presentation
from bayesglm.rounding import (
    decimals_for,
    integer,
    significant,
    with_relative_uncertainty,
    with_uncertainty,
)

from .laplace_fit import laplace_fit
from .test_report import _browser, _measure


@pytest.fixture(autouse=True)
def _close_figures():
    """The plots' figures are the caller's to close: pyplot warns past 20 open ones."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="module")
def star98():
    """statsmodels' star98 (test-only data source): maths scores of 303 Californian
    school districts, NABOVE of NABOVE + NBELOW pupils above the median, 20 predictors
    in units from percentages to products of three of them."""
    sm = pytest.importorskip("statsmodels.api")
    data = sm.datasets.star98.load_pandas().data
    data["total"] = data["NABOVE"] + data["NBELOW"]
    predictors = [c for c in data.columns if c not in ("NABOVE", "NBELOW", "total")]
    model = bg.GLM(
        "NABOVE ~ " + " + ".join(predictors), data=data, family="binomial", trials="total"
    )
    return laplace_fit(model, seed=1, chains=4, draws=250)


@pytest.fixture(scope="module")
def star98_report(star98, tmp_path_factory):
    """The star98 fit's HTML and Markdown reports, written once (after its prior
    sensitivity was computed, so that print(fit) shows it too)."""
    folder = tmp_path_factory.mktemp("star98")
    star98.sensitivity()
    return star98.report(folder / "report.html"), star98.report(folder / "report.md")


@pytest.fixture(scope="module")
def mixed_scales():
    """Twelve predictors whose sds run from 10⁻³ to 10⁴, each moving the log rate by
    about 0.15 per sd: per unit, the coefficients span seven orders of magnitude."""
    rng = np.random.default_rng(11)
    n = 400
    scales = np.logspace(-3, 4, 12)
    X = rng.normal(size=(n, 12)) * scales
    beta = 0.15 * rng.choice([-1, 1], 12) / scales
    y = rng.poisson(np.exp(0.5 + X @ beta))
    names = ["Intercept", *[f"x{j}" for j in range(12)]]
    model = bg.GLM.from_arrays(np.c_[np.ones(n), X], y, family="poisson", names=names)
    return laplace_fit(model, seed=2, chains=2, draws=400)


# --- rounding -------------------------------------------------------------------------------


def test_an_estimate_is_shown_to_the_digit_its_sd_supports() -> None:
    # R's summary and ArviZ's summary: the sd's second significant digit sets the place.
    assert [decimals_for(u) for u in (0.573, 0.0573, 5.73, 573.0)] == [2, 3, 1, -1]
    assert with_uncertainty(1.408496, 0.573) == "1.41"
    assert with_uncertainty(1.408496, 0.0573) == "1.408"
    assert with_uncertainty(1408.496, 57.3) == "1408"
    assert with_uncertainty(1408.496, 573.0) == "1410"
    assert with_uncertainty(-0.0001, 0.5) == "0.00"  # no "-0.00"
    assert integer(10610.4) == "10610"  # an ESS, never 1.061e+04
    assert significant(0.000184, 3) == "0.000184"
    assert significant(2.5e-9, 2) == "2.5e-09"
    # A ratio's interval is skewed: rounded by its relative error (the log scale's sd),
    # an odds of 6.13 with interval 0.50–87.5 keeps its lower end (not "6 (0–87)").
    log_sd = (np.log(87.5) - np.log(0.5012)) / 4
    shown = [with_relative_uncertainty(v, log_sd) for v in (6.13, 0.5012, 87.5)]
    assert shown == ["6.1", "0.50", "88"]


def test_summary_cells_follow_their_sd(star98) -> None:
    summary = star98.summary()
    shown = presentation.summary_table(summary).set_index("parameter")
    for name, row in summary.iterrows():
        places = decimals_for(row["sd"])
        mean = shown.loc[name, "mean"]
        assert len(mean.split(".")[1]) if "." in mean else 0 == max(places, 0)
        assert float(mean) == pytest.approx(row["mean"], abs=0.51 * 10.0**-places)
        assert re.fullmatch(r"\d+", shown.loc[name, "ess_bulk"])
        assert re.fullmatch(r"\d\.\d{3}", shown.loc[name, "r_hat"])


def test_report_has_no_pandas_artefacts(star98_report) -> None:
    page = star98_report[0].read_text()
    text = re.sub(r"data:image/png;base64,[^\"]+", "", page)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", text)
    # Large numbers in plain digits (an ESS is never 1.061e+04); only numbers below
    # 10⁻⁴ (the sds of coefficients of products of three predictors) are scientific.
    assert cells and not [c for c in cells if re.search(r"\d[eE]\+\d", c)]
    assert "True" not in cells and "False" not in cells
    assert "<th></th>" not in text and 'class="dataframe"' not in text
    checks = re.search(r'<section id="diagnostics">.*?</section>', text).group(0)
    assert checks.count('<span class="pass">✓</span>') == 6


# --- findings, glossary, print(fit) ----------------------------------------------------------


def test_findings_put_each_coefficients_story_in_one_row() -> None:
    rng = np.random.default_rng(21)
    n = 300
    df = pd.DataFrame(
        {"age": rng.integers(18, 45, n).astype(float), "smoker": rng.choice(["no", "yes"], n)}
    )
    df["ht"] = rng.binomial(1, 0.2, n).astype(float)
    eta = 1.0 - 0.06 * df["age"] + 0.8 * (df["smoker"] == "yes") + 0.5 * df["ht"]
    df["low"] = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    fit = laplace_fit(bg.GLM("low ~ age + smoker + ht", data=df, family="bernoulli"), seed=3)
    table = presentation.findings_table(
        fit, fit.effects(), fit.avg_comparisons(), fit.sensitivity()
    ).set_index("predictor")
    # A 0/1 number compares 1 with 0, in its own coefficient's row: no extra rows.
    assert list(table.index) == ["Intercept", "age", "smoker[T.yes]", "ht"]
    assert table.loc["ht", "on the mean"].endswith("for 1 - 0")
    assert list(table["verdict"]) == list(fit.compare_mle()["verdict"])
    # The mean-scale effect of a factor level is its comparison with the reference.
    smoker = fit.avg_comparisons().set_index("term").loc["smoker"]
    cell = table.loc["smoker[T.yes]", "on the mean"]
    number = float(cell.split(" pp")[0])
    assert number == pytest.approx(100 * smoker["estimate"], abs=0.1)
    assert cell.endswith("for yes - no")
    odds = table.loc["age", "as a factor"]
    assert odds.startswith("odds ratio 0.9")
    assert table.loc["Intercept", "on the mean"] == "–"
    assert table["sampler"].str.startswith("✓ R-hat ").all()


def test_every_column_in_the_report_is_in_the_glossary(star98_report) -> None:
    page = star98_report[0].read_text()
    headers = set(re.findall(r'<th scope="col">(.*?)</th>', page))
    glossary = re.search(r'<dl class="glossary">(.*?)</dl>', page).group(1)
    defined = set(re.findall(r"<dt>(.*?)</dt>", glossary))
    assert headers and headers == defined


def test_print_shows_the_reports_findings_and_marginal_effects(star98, star98_report) -> None:
    printed = str(star98)
    markdown = star98_report[1].read_text()
    table = presentation.findings_table(
        star98, star98.effects(), star98.avg_comparisons(), star98.sensitivity()
    )
    for row in table.itertuples(index=False):
        assert "| " + " | ".join(row) + " |" in markdown
        assert re.search(r"\s+".join(re.escape(cell) for cell in row), printed)
    for sentence in [*star98.avg_comparisons()["sentence"], *star98.avg_slopes()["sentence"]]:
        assert sentence in printed and sentence in markdown
    assert "Average comparisons:" in printed and "### Average comparisons" in markdown
    assert "Average slopes:" in printed and "### Average slopes" in markdown
    # The slopes' table, rounded as the report's: each row's cells in the Markdown
    # table are those printed.
    slopes = presentation.marginal_table(star98.avg_slopes(), star98.mle.avg_slopes(), True)
    for row in slopes.astype(str).itertuples(index=False):
        assert "| " + " | ".join(row) + " |" in markdown
        assert re.search(r"\s+".join(re.escape(cell) for cell in row), printed)


def test_print_leaves_marginal_effects_of_a_large_fit_to_be_asked_for(star98, monkeypatch) -> None:
    # Every draw at every row, twice per predictor: past the limit printing says how.
    from bayesglm import report

    monkeypatch.setattr(report, "_PRINT_MARGINAL_LIMIT", star98.design.n * 999)
    calls = []
    for name in ("avg_comparisons", "avg_slopes"):
        monkeypatch.setattr(type(star98), name, lambda *a, **k: calls.append(a))
    printed = str(star98)
    assert not calls
    assert "fit.avg_comparisons() and fit.avg_slopes() compute them" in printed
    assert "odds ratio 0.98" in printed  # the findings keep the factor effects


def test_the_star98_report_fits_a_phone(star98_report, tmp_path) -> None:
    page = star98_report[0]
    seen = _measure(_browser(), page, 390, tmp_path)
    assert seen["scrollWidth"] <= 390 and seen["loaded"] == seen["images"] == 8
    # The 21-row findings table scrolls inside its box, the page does not.
    assert seen["scrolling"] > 0


# --- plots readable whatever the scales -------------------------------------------------------


def _rows(ax) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each posterior interval's (low, high) and mean, as fractions of the axis from
    its zero (the first set of horizontal lines and of markers are the posterior's)."""
    left, right = ax.get_xlim()
    segments = np.array(ax.collections[0].get_segments())
    centers = ax.lines[0].get_xdata()
    return (
        segments[:, 0, 0] / (right - left),
        segments[:, 1, 0] / (right - left),
        np.asarray(centers) / (right - left),
    )


@pytest.mark.parametrize("case", ["mixed_scales", "star98"])
def test_forest_rows_do_not_collapse(case, request) -> None:
    fit = request.getfixturevalue(case)
    center = _rows(plots.forest(fit).axes[0])[2]
    assert len(center) == len(fit.names) - 1  # every coefficient but the intercept
    # A coefficient stands visibly off the zero line when its mean is more than 1% of
    # the axis away (6 px of the report's figure). Per sd of its column, nearly all do
    # (in star98 a few are truly small beside collinear products of predictors); per
    # unit on one axis, as before, most collapse onto it.
    assert (np.abs(center) > 0.01).mean() >= 0.8
    raw_center = _rows(plots.forest(fit, standardize=False).axes[0])[2]
    assert (np.abs(raw_center) < 0.01).mean() >= 2 / 3
    # Effects, each on its own axis: every interval fills a visible part of it.
    effects = plots.forest(fit, effects=True)
    assert len(effects.axes) == len(fit.names)
    assert min(float(np.subtract(*_rows(ax)[1::-1])[0]) for ax in effects.axes) > 0.1


def test_marginal_and_sensitivity_plots(star98) -> None:
    figure = plots.marginal(star98)
    comparisons = star98.avg_comparisons()
    assert len(figure.axes) == len(comparisons)
    for ax, (_, row) in zip(figure.axes, comparisons.iterrows(), strict=True):
        (segment,) = ax.collections[0].get_segments()
        np.testing.assert_allclose(
            [segment[0][0], segment[1][0]], [row["conf_low"], row["conf_high"]]
        )
    table = star98.sensitivity()
    ax = plots.sensitivity(star98).axes[0]
    widths = [bar.get_width() for bar in ax.patches[: len(table)]]
    np.testing.assert_allclose(widths, table["prior"])


def test_conditional_effect_holds_the_others_at_typical_values() -> None:
    rng = np.random.default_rng(4)
    n = 200
    df = pd.DataFrame({"x": rng.normal(2, 1, n), "z": rng.normal(-1, 3, n)})
    df["g"] = rng.choice(["a", "b", "c"], n, p=[0.2, 0.5, 0.3])
    df["y"] = 1 + 0.5 * df["x"] - 0.2 * df["z"] + (df["g"] == "c") + rng.normal(size=n)
    fit = laplace_fit(bg.GLM("y ~ x + z + g", data=df, family="gaussian"), seed=5)
    ax = plots.conditional(fit, "x").axes[0]
    x, mean = ax.lines[0].get_data()
    assert x.min() == df["x"].min() and x.max() == df["x"].max()
    # Identity link: the posterior mean line is the mean of b0 + b1 x + b2 mean(z) with
    # g at its most common level, "b".
    draws = fit.draws()
    expected = (
        draws["Intercept"].mean()
        + draws["x"].mean() * x
        + draws["z"].mean() * df["z"].mean()
        + draws["g[T.b]"].mean()
    )
    np.testing.assert_allclose(mean, expected, rtol=1e-10)
    mle_line = ax.lines[1].get_ydata()
    params = fit.mle.params
    np.testing.assert_allclose(
        mle_line,
        params["Intercept"] + params["x"] * x + params["z"] * df["z"].mean() + params["g[T.b]"],
    )
    factor = plots.conditional(fit, ["g", "z"])
    assert [t.get_text() for t in factor.axes[0].get_xticklabels()] == ["a", "b", "c"]
    # A number the formula reads as a factor moves over its levels, not a range.
    df["k"] = rng.choice([60, 65, 70], n)
    by_level = laplace_fit(bg.GLM("y ~ x + C(k)", data=df, family="gaussian"), seed=5)
    panel = plots.conditional(by_level, ["k", "x"]).axes[0]
    assert [t.get_text() for t in panel.get_xticklabels()] == ["60", "65", "70"]
    with pytest.raises(
        bg.BayesGLMError, match=r"a predictor the formula reads.*got \(variable='w'"
    ):
        plots.conditional(fit, "w")
