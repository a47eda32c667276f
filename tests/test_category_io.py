"""A categorical or cumulative posterior through the file, the command line and the
report (issue #15).

The plumbing tests need draws, not NUTS: a posterior is made from the maximum
likelihood's normal approximation (the large-n posterior, Bernstein–von Mises) on
MASS's housing data (tests/fixtures/r_ordinal), so each test runs in a second. One
test samples for real, through ``bayesglm fit --report``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm.category_results import CategoryPosterior
from bayesglm.cli import main
from bayesglm.errors import BayesGLMError

HOUSING = Path(__file__).parent / "fixtures" / "r_ordinal" / "cumulative_logit_housing.json"
NEW_ROWS = pd.DataFrame(
    {"Infl": ["Low", "High"], "Type": ["Tower", "Terrace"], "Cont": ["Low", "High"]}
)


def housing() -> pd.DataFrame:
    """MASS::housing: 72 cells of satisfaction by influence, type and contact."""
    case = json.loads(HOUSING.read_text())
    frame = pd.DataFrame(case["data"])
    for column, levels in case["factor_levels"].items():
        ordered = column == "Sat"
        frame[column] = pd.Categorical(frame[column], categories=levels, ordered=ordered)
    return frame


def approximate_posterior(model, priors=None, chains=2, draws=150, seed=0) -> CategoryPosterior:
    """Draws from N(MLE, covariance): a stand-in for NUTS in plumbing tests."""
    mle = model.fit_mle()
    rng = np.random.default_rng(seed)
    theta = rng.multivariate_normal(mle.params_array, mle.cov_array, size=(chains, draws))
    return CategoryPosterior(
        theta_draws=theta,
        mle=mle,
        priors=model.resolve_priors(priors),
        sample_stats={"diverging": np.zeros((chains, draws), dtype=bool)},
        sampler="pymc",
        seed=seed,
    )


CUSTOM = {
    "categorical": {"coef": bg.StudentT(3, 0, 2), "Infl[T.High]": bg.Normal(0, 1)},
    "cumulative": {"Infl[T.High]": bg.Normal(0, 1), "cutpoints": bg.Normal(0, 4)},
}


@pytest.fixture(scope="module", params=["categorical", "cumulative"])
def model(request):
    return bg.GLM("Sat ~ Infl + Type + Cont", housing(), family=request.param, weights="Freq")


@pytest.mark.parametrize("custom", [False, True], ids=["default priors", "custom priors"])
def test_a_saved_fit_loads_with_bg_load_and_gives_the_same_tables(model, custom, tmp_path):
    priors = CUSTOM[model.spec.family.name] if custom else None
    fit = approximate_posterior(model, priors)
    loaded = bg.load(fit.save(tmp_path / "fit.npz"))
    assert isinstance(loaded, CategoryPosterior)
    np.testing.assert_array_equal(loaded.theta_draws, fit.theta_draws)
    pd.testing.assert_frame_equal(loaded.summary(), fit.summary())
    pd.testing.assert_frame_equal(loaded.effects(), fit.effects())
    pd.testing.assert_frame_equal(loaded.compare_mle(), fit.compare_mle())
    pd.testing.assert_frame_equal(loaded.predict(NEW_ROWS), fit.predict(NEW_ROWS))
    pd.testing.assert_frame_equal(loaded.ppc(seed=3), fit.ppc(seed=3))
    pd.testing.assert_frame_equal(loaded.priors.table(), fit.priors.table())
    np.testing.assert_array_equal(loaded.priors.centering, fit.priors.centering)
    assert str(loaded) == str(fit)
    if custom:
        table = loaded.priors.table()
        high = [label for label in table.index if "Infl[T.High]" in label]
        assert (table.loc[high, "source"] == "user").all()
        if model.spec.family.ordered:
            assert table.loc["cutpoints", "prior"] == str(bg.Normal(0, 4))
        else:
            assert table.loc["Medium:Type[T.Terrace]", "prior"] == str(bg.StudentT(3, 0, 2))
        # The log prior density is the one sampled under, at any value.
        beta = fit.theta_draws[0, 0, : len(fit.priors.labels)]
        zeta = fit.theta_draws[0, 0, len(fit.priors.labels) :]
        extra = (zeta, fit.mle.link) if model.spec.family.ordered else ()
        assert loaded.priors.log_prior(beta, *extra) == fit.priors.log_prior(beta, *extra)


def test_a_file_under_a_netcdf_name_loads_by_its_content(model, tmp_path):
    fit = approximate_posterior(model)
    loaded = bg.load(fit.save(tmp_path / "fit.nc"))
    pd.testing.assert_frame_equal(loaded.summary(), fit.summary())


def test_a_damaged_prior_in_the_file_is_named(model, tmp_path):
    path = approximate_posterior(model).save(tmp_path / "fit.npz")
    with np.load(path) as stored:
        arrays = {key: stored[key] for key in stored.files}
    info = json.loads(arrays["info"].tobytes().decode())
    info["prior_spec"]["coef"][1] = {"class": "NoSuchPrior", "params": {}}
    arrays["info"] = np.frombuffer(json.dumps(info).encode(), dtype=np.uint8)
    with open(path, "wb") as file:
        np.savez(file, **arrays)
    with pytest.raises(BayesGLMError, match=r"damaged bayesglm save file.*NoSuchPrior"):
        bg.load(path)


def test_the_cli_predicts_category_probabilities_from_a_saved_fit(model, tmp_path, capsys):
    fit = approximate_posterior(model, CUSTOM[model.spec.family.name])
    saved = fit.save(tmp_path / "fit.npz")
    new, out = tmp_path / "new.csv", tmp_path / "predictions.csv"
    NEW_ROWS.to_csv(new, index=False)
    assert main(["predict", str(saved), str(new), "--prob", "0.9", "--output", str(out)]) == 0
    table = pd.read_csv(out, index_col=0)
    expected = fit.predict(NEW_ROWS, prob=0.9)
    assert list(table["level"]) == ["Low", "Medium", "High"] * 2
    np.testing.assert_allclose(table["estimate"], expected["estimate"], rtol=1e-12)
    np.testing.assert_allclose(table["conf_low"], expected["conf_low"], rtol=1e-12)
    np.testing.assert_allclose(table["conf_high"], expected["conf_high"], rtol=1e-12)
    np.testing.assert_allclose(table.groupby("row")["estimate"].sum(), 1.0)
    assert main(["predict", str(saved), str(new)]) == 0
    printed = capsys.readouterr().out
    assert "conf_low" in printed and "Medium" in printed


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--scale", "link"], "probabilities of the levels"),
        (["--weights", "Freq"], "takes no --weights"),
        (["--offset", "Freq"], "takes no --offset"),
    ],
)
def test_the_cli_refuses_options_a_category_prediction_has_no_use_for(
    model, option, message, tmp_path, capsys
):
    saved = approximate_posterior(model).save(tmp_path / "fit.npz")
    new = tmp_path / "new.csv"
    NEW_ROWS.assign(Freq=1).to_csv(new, index=False)
    assert main(["predict", str(saved), str(new), *option]) == 2
    assert message in capsys.readouterr().err


# --- the report -----------------------------------------------------------------------------


def _section(page: str, anchor: str) -> str:
    """The HTML of one section of the report."""
    start = page.index(f'<section id="{anchor}">')
    return page[start : page.index("</section>", start)]


_REPORTS: dict[str, tuple] = {}


def _reports(family: str, tmp_path_factory) -> tuple:
    """(fit, HTML page, Markdown text, folder) of the housing model, made once."""
    if family not in _REPORTS:
        model = bg.GLM("Sat ~ Infl + Type + Cont", housing(), family=family, weights="Freq")
        fit = approximate_posterior(model, draws=500)
        folder = tmp_path_factory.mktemp(family)
        page = fit.report(folder / "report.html").read_text(encoding="utf-8")
        markdown = fit.report(folder / "report.md").read_text(encoding="utf-8")
        _REPORTS[family] = fit, page, markdown, folder
    return _REPORTS[family]


@pytest.fixture(scope="module")
def reports(model, tmp_path_factory):
    return _reports(model.spec.family.name, tmp_path_factory)


def test_the_report_has_the_sections_of_a_category_fit_in_order(reports):
    _, page, markdown, folder = reports
    anchors = ["findings", "model", "diagnostics", "summary", "effects", "mle", "marginal"]
    anchors += ["checks"]
    anchors += ["left-out", "glossary", "reproducibility"]
    found = [page.index(f'<section id="{anchor}">') for anchor in anchors]
    assert found == sorted(found)
    assert "Traceback" not in page and "Traceback" not in markdown
    # The figures are embedded in the page and written beside the Markdown.
    assert page.count("data:image/png;base64,") == 2
    figures = sorted(path.name for path in (folder / "report_figures").iterdir())
    assert figures == ["effects.png", "posterior_predictive_check.png"]
    # Each section this kind of fit has no use for is named, with its reason, once.
    left_out = _section(page, "left-out")
    for title in ("Prior sensitivity", "R²", "Traces"):
        assert left_out.count(f"<li>{title}") == 1
    assert 'id="sensitivity"' not in page and 'id="r2"' not in page


def test_the_report_shows_each_levels_average_comparisons_beside_the_mles(reports):
    fit, _, markdown, _ = reports
    marginal = markdown[markdown.index("## Marginal effects") :].split("\n## ")[0]
    mle = fit.mle.avg_comparisons("Infl")
    # Every level's change for each contrast of the factor, in percentage points, the
    # MLE's delta-method estimate beside the posterior's median.
    for _, row in mle.iterrows():
        line = next(
            line
            for line in marginal.splitlines()
            if line.startswith(f"| {row['group']} | Infl | {row['contrast']} |")
        )
        shown = float(line.split("|")[-2].split(" pp")[0])  # the MLE's column
        assert shown == pytest.approx(100 * row["estimate"], abs=0.05)
    # The levels' probabilities sum to one, so their changes sum to zero.
    assert abs(mle.groupby("contrast")["estimate"].sum()).max() < 1e-12
    assert "Average slopes" not in marginal  # every predictor here is a factor


def test_the_report_shows_the_effects_with_their_sentences(reports):
    fit, page, markdown, _ = reports
    effects = fit.effects()
    key = "Infl[T.High]" if fit.mle.family.ordered else "High:Infl[T.High]"
    sentence = effects.loc[key, "sentence"]
    assert html.escape(sentence) in _section(page, "findings") and f"- {sentence}" in markdown
    label = "cumulative odds ratio" if fit.mle.family.ordered else "relative-risk ratio"
    findings = _section(page, "findings")
    assert f"<td>{key}</td><td>{label} " in findings
    # MASS::housing: R's polr gives Infl[T.High] 1.289 (odds ratio 3.63), multinom
    # gives High:Infl[T.High] 1.613 (relative-risk ratio 5.02), each within sampling noise.
    median = float(findings.split(f"<td>{key}</td><td>{label} ")[1].split(" ")[0])
    assert median == pytest.approx(3.63 if fit.mle.family.ordered else 5.02, rel=0.05)


def test_the_cumulative_report_shows_the_cutpoints_apart(tmp_path_factory):
    _, page, markdown, _ = _reports("cumulative", tmp_path_factory)
    summary = _section(page, "summary")
    assert summary.index("<h3>Coefficients</h3>") < summary.index("<h3>Cutpoints</h3>")
    cutpoints = summary.split("<h3>Cutpoints</h3>")[1]
    assert "<td>Low|Medium</td>" in cutpoints and "<td>Medium|High</td>" in cutpoints
    assert "Infl[T.High]" not in cutpoints
    # polr: zeta Low|Medium = -0.4961 (SE 0.1248), deviance 3479.149, AIC 3495.149.
    assert "| Low\\|Medium | -0.50 | 0.12 |" in markdown
    assert "deviance 3479.15, AIC 3495.15" in _section(page, "mle")
    assert "Levels (ordered): Low &lt; Medium &lt; High" in _section(page, "model")


def test_the_categorical_report_has_a_table_per_level(tmp_path_factory):
    _, page, markdown, _ = _reports("categorical", tmp_path_factory)
    summary = _section(page, "summary")
    assert summary.index("<h3>Medium against Low</h3>") < summary.index(
        "<h3>High against Low</h3>"
    )
    assert "<h3>Low against Low</h3>" not in summary
    # Each level's table lists the model's columns once, under their own names.
    high = summary.split("<h3>High against Low</h3>")[1]
    assert high.count("<td>Intercept</td>") == 1 and high.count("<td>Cont[T.High]</td>") == 1
    # multinom: deviance 3470.084 (AIC 3498.084); High:Intercept -0.1387 (SE 0.1590).
    assert "deviance 3470.08, AIC 3498.08" in _section(page, "mle")
    assert "| High:Intercept | -0.14 | 0.16 |" in markdown
    assert "reference: Low" in _section(page, "model")
    # The glossary reads the columns as this kind of fit means them.
    glossary = _section(page, "glossary")
    assert "<dt>mle</dt><dd>maximum-likelihood estimate (Newton–Raphson, R&#x27;s " in glossary
    assert "level:column" in glossary and "IRLS" not in glossary


def test_the_report_checks_observed_against_predicted_level_counts(reports):
    fit, page, markdown, _ = reports
    checks = _section(page, "checks")
    # MASS::housing: 567 tenants Low, 446 Medium, 668 High.
    for level, count in (("Low", 567), ("Medium", 446), ("High", 668)):
        assert f"<tr><td>{level}</td><td class=num>{count}</td>" in checks
    assert "every level's observed count is inside its predicted interval" in markdown
    table = fit.ppc(seed=fit.seed)
    assert (table["conf_low"] <= table["observed"]).all()
    assert (table["observed"] <= table["conf_high"]).all()


def test_a_sampler_problem_leads_the_report(model, tmp_path):
    fit = approximate_posterior(model, chains=2, draws=150)
    stuck = fit.theta_draws.copy()
    stuck[1] += 5 * fit.mle.bse.to_numpy()  # the second chain elsewhere: R-hat fails
    broken = CategoryPosterior(
        theta_draws=stuck,
        mle=fit.mle,
        priors=fit.priors,
        sample_stats={"diverging": np.r_[[np.zeros(150, bool)], [np.arange(150) < 3]]},
        sampler="pymc",
        seed=0,
    )
    page = broken.report(tmp_path / "report.html").read_text(encoding="utf-8")
    findings = _section(page, "findings")
    assert "3 of 300 transitions diverged" in findings and "R-hat up to" in findings
    assert "PROBLEMS — do not trust the numbers below yet:" in _section(page, "diagnostics")
    assert "sampling problem" in _section(page, "mle")


def test_the_posterior_mode_is_the_mle_under_flat_priors_and_moves_with_a_prior(model):
    flat = {"coef": bg.Flat()} | ({} if model.spec.family.ordered else {"Intercept": bg.Flat()})
    if model.spec.family.ordered:
        flat["cutpoints"] = bg.Flat()
    mle = model.fit_mle()
    mode = approximate_posterior(model, flat).posterior_mode
    np.testing.assert_allclose((mode - mle.params_array) / mle.bse.to_numpy(), 0.0, atol=1e-3)
    tight = approximate_posterior(model, {"Infl[T.High]": bg.Normal(0, 0.01)})
    table = tight.compare_mle()
    key = "Infl[T.High]" if model.spec.family.ordered else ("High", "Infl[T.High]")
    # The mode sits at the prior (0), about 10 SE below the MLE: the prior's doing.
    assert table.loc[key, "prior_shift"] < -5
    assert abs(tight.posterior_mode[list(table.index).index(key)]) < 0.05


def test_the_cli_fits_and_writes_the_report_of_a_cumulative_outcome(tmp_path, capsys):
    data, report = tmp_path / "housing.csv", tmp_path / "report.html"
    housing().to_csv(data, index=False)
    argv = ["fit", str(data), "--formula", "Sat ~ Infl + Cont", "--family", "cumulative"]
    argv += ["--weights", "Freq", "--levels", "Low,Medium,High", "--draws", "100"]
    argv += ["--tune", "100", "--chains", "1", "--sampler", "pymc", "--seed", "5", "--quiet"]
    assert main([*argv, "--report", str(report)]) == 0
    assert f"report written to {report}" in capsys.readouterr().out
    page = report.read_text(encoding="utf-8")
    assert "<td>Low|Medium</td>" in _section(page, "summary")
    assert "1 chains × 100 draws" in page


def test_the_cli_refuses_a_bad_report_path_before_sampling(tmp_path, capsys, monkeypatch):
    from bayesglm.category_glm import CategoryGLM

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampled before the report path was checked")

    monkeypatch.setattr(CategoryGLM, "fit", no_sampling)
    data = tmp_path / "housing.csv"
    housing().to_csv(data, index=False)
    argv = ["fit", str(data), "--formula", "Sat ~ Infl", "--family", "cumulative"]
    argv += ["--levels", "Low,Medium,High", "--report", str(tmp_path / "report.pdf")]
    assert main(argv) == 2
    assert "--report" in capsys.readouterr().err


@pytest.mark.parametrize("family", ["categorical", "cumulative"])
def test_the_report_of_a_model_without_predictors(family, tmp_path):
    model = bg.GLM("Sat ~ 1", housing(), family=family, weights="Freq")
    page = approximate_posterior(model).report(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "The model has no predictor: its parameters are baselines only." in _section(
        page, "effects"
    )
    assert page.count("data:image/png;base64,") == 1  # the posterior predictive check only
    if family == "cumulative":
        assert "<td>Medium|High</td>" in _section(page, "summary")
    else:
        assert "<h3>High against Low</h3>" in _section(page, "summary")
