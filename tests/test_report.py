"""Reporting: summaries, effects, MLE comparison, plots, report files, LOO comparison."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm import plots
from bayesglm import report as report_module
from bayesglm.effects import _row
from bayesglm.errors import BayesGLMError, SamplingWarning
from bayesglm.rounding import with_relative_uncertainty

GOLDEN = Path(__file__).parent / "fixtures" / "golden" / "report.md"
FIGURES = [
    "effects",
    "coefficients",
    "sensitivity",
    "posterior_predictive_check",
    "glm_components",
    "trace_and_rank",
    "marginal_effects",
    "conditional_effects",
]
SECTIONS = [
    "findings",
    "model",
    "diagnostics",
    "summary",
    "effects",
    "marginal",
    "mle",
    "sensitivity",
    "r2",
    "checks",
    "traces",
    "glossary",
    "reproducibility",
]
# nutpie reuses its compiled model for every fit of one structure in this session.
FAST = {"draws": 500, "tune": 500, "chains": 2, "progressbar": False, "sampler": "nutpie"}


def _fit(model: bg.GLM, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return model.fit(**{**FAST, **kwargs})


@pytest.fixture(scope="module")
def smoking():
    rng = np.random.default_rng(21)
    n = 300
    df = pd.DataFrame(
        {"age": rng.integers(18, 45, n).astype(float), "smoker": rng.choice(["no", "yes"], n)}
    )
    df["low"] = rng.binomial(
        1, 1 / (1 + np.exp(-(1.0 - 0.06 * df["age"] + 0.8 * (df["smoker"] == "yes"))))
    )
    return _fit(bg.GLM("low ~ age + smoker", data=df, family="bernoulli"), seed=4)


def test_summary_ignores_arviz_settings(smoking) -> None:
    import arviz as az

    key = "stats.ci_prob"
    old = az.rcParams[key]
    az.rcParams[key] = 0.5
    try:
        summary = smoking.summary()
    finally:
        az.rcParams[key] = old
    draws = smoking.draws()["age"]
    np.testing.assert_allclose(summary.loc["age", "eti_lower"], draws.quantile(0.025))
    assert summary.attrs["interval"] == "95% equal-tailed"


def test_effects_are_exp_of_draws_with_sentences(smoking) -> None:
    effects = smoking.effects(prob=0.9)
    assert list(effects.index) == ["Intercept", "age", "smoker[T.yes]"]
    assert effects["effect"].tolist() == ["odds", "odds ratio", "odds ratio"]
    odds = np.exp(smoking.draws()["age"])
    np.testing.assert_allclose(effects.loc["age", "eti_lower"], np.quantile(odds, 0.05))
    np.testing.assert_allclose(effects.loc["age", "median"], np.median(odds))
    assert re.fullmatch(
        r"with every predictor at 0 \(factors at their reference levels\), the odds of low "
        r"are \d+(\.\d+)? \(90% interval [\d.]+–[\d.]+\)",
        effects.loc["Intercept", "sentence"],
    )
    assert re.fullmatch(
        r"each one-unit increase in age multiplies the odds of low by 0\.\d+ "
        r"\(90% interval 0\.\d+–0\.\d+\)",
        effects.loc["age", "sentence"],
    )
    assert effects.loc["smoker[T.yes]", "sentence"].startswith(
        "smoker = yes (vs its reference level) multiplies the odds of low by"
    )


@pytest.mark.parametrize(
    ("family", "link", "label"),
    [
        ("poisson", "log", "rate ratio"),
        ("gamma", "log", "mean ratio"),
        ("bernoulli", "cloglog", "hazard ratio"),
        ("bernoulli", "log", "risk ratio"),
        ("gaussian", "identity", None),
        ("bernoulli", "probit", None),
    ],
)
def test_effect_labels_follow_family_and_link(family: str, link: str, label) -> None:
    assert bg.FAMILIES[family].effect_label(bg.LINKS[link]) == label


def test_identity_link_effects_stay_on_the_coefficient_scale() -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.normal(size=80)})
    df["y"] = 1 + 2 * df["x"] + rng.normal(size=80)
    effects = _fit(bg.GLM("y ~ x", data=df, family="gaussian"), seed=1).effects()
    assert effects.loc["x", "effect"] == "change in identity(mean)"
    assert 1.5 < effects.loc["x", "median"] < 2.5
    assert "exp(beta) has no meaning under the identity link" in effects.loc["x", "sentence"]


def test_effects_of_terms_in_an_interaction_say_where_they_hold() -> None:
    # In y ~ x * C(g) the x coefficient is the slope at g's reference level only, and
    # the g contrast holds at x = 0: a bare "each one-unit increase in x" misleads.
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"x": rng.normal(size=150), "g": rng.choice(["a", "b"], 150)})
    df["y"] = rng.poisson(np.exp(0.3 + 0.2 * df["x"] + 0.5 * df["x"] * (df["g"] == "b")))
    fit = _fit(bg.GLM("y ~ x * C(g)", data=df, family="poisson"), draws=100, tune=100)
    sentences = fit.effects()["sentence"]
    assert sentences["x"].startswith(
        "each one-unit increase in x, with C(g) at its reference level, multiplies"
    )
    assert sentences["C(g)[T.b]"].startswith(
        "C(g) = b (vs its reference level), with x at 0, multiplies"
    )
    assert "with" not in sentences["x:C(g)[T.b]"]
    # Without the interaction each is the effect everywhere, and says nothing more.
    plain = _fit(bg.GLM("y ~ x + C(g)", data=df, family="poisson"), draws=100, tune=100)
    assert plain.effects()["sentence"]["x"].startswith("each one-unit increase in x multiplies")


def test_probability_of_direction_is_that_of_the_sign_either_way(smoking) -> None:
    # age lowers the odds (-0.06 per year): P(beta > 0) is near 0, the direction is sure.
    effects = smoking.effects()
    age = smoking.draws()["age"]
    assert effects.loc["age", "p_direction"] == max(np.mean(age > 0), np.mean(age < 0)) > 0.95
    assert effects.loc["age", "p_positive"] == np.mean(age > 0) < 0.05
    assert (effects["p_direction"] >= 0.5).all()
    assert (effects["p_direction"] >= effects["p_positive"]).all()


def test_level_columns_without_an_intercept_are_read_as_that_levels_rate() -> None:
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"g": np.repeat(["a", "b"], 30), "x": rng.normal(size=60)})
    df["t"] = rng.uniform(1.0, 3.0, 60)
    df["y"] = rng.poisson(df["t"] * np.where(df["g"] == "a", 2.0, 5.0))
    fit = _fit(bg.GLM("y ~ 0 + g", data=df, family="poisson", exposure="t"), seed=1)
    effects = fit.effects()
    assert effects["effect"].tolist() == ["rate", "rate"]
    rate_a = np.median(np.exp(fit.draws()["g[a]"]))
    low, high = effects.loc["g[a]", "eti_lower"], effects.loc["g[a]", "eti_upper"]
    # Rounded as the tables round a ratio: to its relative error (the log scale's sd).
    shown = lambda v: with_relative_uncertainty(v, np.log(high / low) / 4)  # noqa: E731
    assert effects.loc["g[a]", "sentence"] == (
        f"at g = a, the rate of y per unit of t is {shown(rate_a)} (95% interval "
        f"{shown(low)}–{shown(high)})"
    )
    assert 1.5 < effects.loc["g[a]", "median"] < 2.7 and 4 < effects.loc["g[b]", "median"] < 6
    with_slope = _fit(bg.GLM("y ~ 0 + g + x", data=df, family="poisson"), seed=1).effects()
    assert with_slope.loc["g[b]", "sentence"].startswith(
        "at g = b with the other predictors at 0, the rate of y is"
    )
    assert with_slope.loc["x", "sentence"].startswith("each one-unit increase in x multiplies")
    assert with_slope.loc["x", "effect"] == "rate ratio"


def test_dispersion_mle_is_the_maximum_likelihood_one_on_the_trees() -> None:
    from bayesglm import datasets

    trees = datasets.load("trees")
    model = bg.GLM(
        "Volume ~ log(Girth) + log(Height)", data=trees, family="inverse_gaussian", link="log"
    )
    row = _fit(model, seed=1).compare_mle().loc["lam"]
    n, deviance = len(trees), model.fit_mle().deviance
    # n / deviance (4502), not the Pearson estimate 1 / phi (4198).
    np.testing.assert_allclose(row["mle"], n / deviance, rtol=1e-6)
    np.testing.assert_allclose(row["mle_se"], n / deviance * np.sqrt(2 / n), rtol=1e-4)
    if row["verdict"] == "prior pull":
        assert np.sign(row["prior_shift"]) == np.sign(row["std_diff"])


def test_compare_mle_verdicts(smoking) -> None:
    table = smoking.compare_mle()
    assert list(table.columns) == [
        "mle",
        "mle_se",
        "post_mean",
        "post_sd",
        "std_diff",
        "prior_shift",
        "sd_ratio",
        "verdict",
    ]
    assert (table["verdict"] == "agrees").all()
    np.testing.assert_allclose(table["mle"], smoking.mle.params)
    pulled = _fit(
        bg.GLM.from_design(smoking.design, smoking.spec),
        priors={"age": bg.Normal(0.1, 0.01)},
        seed=4,
        chains=4,
        draws=1000,
    ).compare_mle()
    assert pulled.loc["age", "verdict"] == "prior pull"
    assert pulled.loc["Intercept", "verdict"] == "prior pull"  # moved along with age
    x = np.linspace(-2, 2, 40)
    separated = _fit(
        bg.GLM.from_arrays(
            np.c_[np.ones(40), x],
            (x > 0).astype(float),
            family="bernoulli",
            names=["Intercept", "x"],
        ),
        seed=1,
    ).compare_mle()
    assert separated.loc["x", "verdict"] == "separation"
    short = _fit(bg.GLM.from_design(smoking.design, smoking.spec), draws=20, tune=20, seed=1)
    assert "sampling problem" in set(short.compare_mle()["verdict"])


def _verdict(*, std_diff: float, prior_shift: float, post_sd: float = 1.0, sd_ratio=0.01):
    # MLE 0 with SE 1: std_diff is the posterior mean, prior_shift the mode.
    posterior = pd.Series({"mean": std_diff, "sd": post_sd, "r_hat": 1.0, "ess_bulk": 4000.0})
    return _row(0.0, 1.0, posterior, prior_shift, sd_ratio, False, 400)["verdict"]


def test_prior_pull_needs_the_prior_to_pull_the_way_the_estimate_moved() -> None:
    # The bundled trees' lam: the mode moved up, the mean down. Not the prior's doing.
    assert _verdict(std_diff=-0.29, prior_shift=0.17) == "differs"
    assert _verdict(std_diff=0.6, prior_shift=-0.5) == "differs"
    assert _verdict(std_diff=-0.29, prior_shift=-0.17) == "prior pull"
    assert _verdict(std_diff=0.6, prior_shift=0.2) == "differs"  # too small a share
    assert _verdict(std_diff=0.2, prior_shift=0.2) == "agrees"


def test_a_prior_narrows_a_posterior_it_never_widens_it() -> None:
    assert _verdict(std_diff=0.0, prior_shift=0.0, post_sd=0.5, sd_ratio=0.8) == "prior pull"
    assert _verdict(std_diff=0.0, prior_shift=0.0, post_sd=2.0, sd_ratio=0.8) == "differs"
    assert _verdict(std_diff=0.0, prior_shift=0.0, post_sd=0.5, sd_ratio=0.1) == "differs"


def test_dispersion_row_in_the_comparison() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"x": rng.uniform(size=120)})
    df["y"] = rng.gamma(4.0, np.exp(1 + df["x"]) / 4.0)
    fit = _fit(bg.GLM("y ~ x", data=df, family="gamma", link="log"), seed=2)
    row = fit.compare_mle().loc["shape"]
    # The shape's MLE solves log k - digamma(k) = deviance / (2n) (not R's Pearson 1/phi).
    from scipy import optimize, special

    target = fit.mle.deviance / (2 * len(df))
    k = optimize.brentq(lambda v: np.log(v) - special.digamma(v) - target, 1e-3, 1e4)
    np.testing.assert_allclose(row["mle"], k, rtol=1e-6)
    assert np.isfinite(row["mle_se"]) and row["mle_se"] > 0
    assert 2 < row["post_mean"] < 8


def test_plots_follow_the_family(smoking) -> None:
    assert matplotlib.get_backend().lower() == "agg"
    titles = {
        "forest": plots.forest(smoking).axes[0].get_title(),
        "effects": plots.forest(smoking, effects=True).axes[0].get_title(),
        "ppc": plots.ppc(smoking).axes[0].get_title(),
    }
    assert titles == {
        "forest": "Coefficients × sd of their column",
        "effects": "Effects: exp(coefficient), each on its own axis",
        "ppc": "Binned calibration",
    }
    assert plots.forest(smoking, standardize=False).axes[0].get_title() == "Coefficients"
    assert len(plots.trace(smoking).axes) == 2 * 3
    assert len(plots.components(smoking).axes) == 3
    rng = np.random.default_rng(0)
    counts = pd.DataFrame({"x": rng.normal(size=60)})
    counts["y"] = rng.poisson(np.exp(0.5 + 0.3 * counts["x"]))
    poisson = _fit(bg.GLM("y ~ x", data=counts, family="poisson"), seed=1)
    assert plots.ppc(poisson).axes[0].get_title().startswith("Rootogram")
    counts["z"] = rng.gamma(3.0, 1.0, size=60)
    gamma = _fit(bg.GLM("z ~ x", data=counts, family="gamma", link="log"), seed=1)
    assert plots.ppc(gamma).axes[0].get_title().startswith("Density overlay")


def test_plots_leave_the_callers_matplotlib_backend_alone() -> None:
    # Forcing Agg on import would make a caller's later plt.show() show nothing after
    # a report; the backend is the session's choice (svg: a non-GUI one, no display).
    code = (
        "import matplotlib; matplotlib.use('svg'); "
        "import bayesglm.plots; print(matplotlib.get_backend())"
    )
    package_root = Path(bg.__file__).parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(package_root)},
    )
    assert out.stdout.strip() == "svg"


def test_html_report_is_self_contained_and_escaped(tmp_path) -> None:
    rng = np.random.default_rng(5)
    X = np.c_[np.ones(50), rng.normal(size=50)]
    y = rng.poisson(np.exp(0.2 + 0.3 * X[:, 1]))
    fit = _fit(
        bg.GLM.from_arrays(X, y, family="poisson", names=["Intercept", "<b>dose</b>"]), seed=1
    )
    text = fit.report(tmp_path / "report.html").read_text()
    assert "&lt;b&gt;dose&lt;/b&gt;" in text and "<b>dose</b>" not in text
    assert text.count("data:image/png;base64,") == len(FIGURES)
    assert not re.search(r"(src|href)=\"(https?:|//)", text)
    for heading in (
        "Findings",
        "Model and priors",
        "Sampler checks",
        "Posterior summary",
        "Effects",
        "Marginal effects",
        "Maximum likelihood vs posterior",
        "Prior sensitivity",
        "Glossary of the columns",
        "Reproducibility",
    ):
        assert f"<h2>{heading}" in text
    with pytest.raises(BayesGLMError, match=r"path must end in \.html, \.htm or \.md"):
        fit.report(tmp_path / "report.pdf")


def test_report_of_an_intercept_only_model(tmp_path) -> None:
    counts = pd.DataFrame({"y": np.random.default_rng(7).poisson(3.0, 40)})
    fit = _fit(bg.GLM("y ~ 1", data=counts, family="poisson"), seed=1, draws=200, tune=200)
    markdown = fit.report(tmp_path / "report.md").read_text()
    # The intercept's exp(beta) is the rate itself: the one effect, in words.
    rate = fit.effects().loc["Intercept"]
    assert rate["effect"] == "rate"
    assert abs(rate["median"] - counts["y"].mean()) < 3 * counts["y"].std() / np.sqrt(40)
    assert f"- {rate['sentence']}" in markdown.split("### In words", 1)[1]
    assert "(report_figures/effects.png)" in markdown
    # Nothing to move: no marginal-effects figures, and the section says why.
    assert "The model has no predictor to move." in markdown
    page = fit.report(tmp_path / "report.html").read_text()
    assert rate["sentence"] in page
    assert page.count("data:image/png;base64,") == len(FIGURES) - 2


@pytest.mark.parametrize("suffix", [".html", ".md"])
def test_an_interrupted_report_leaves_the_previous_files(
    smoking, tmp_path, monkeypatch, suffix
) -> None:
    smoking.report(tmp_path / f"report{suffix}")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    write_text, write_bytes = Path.write_text, Path.write_bytes

    def half_text(self, text, *args, **kwargs):
        write_text(self, text[: len(text) // 2], *args, **kwargs)
        raise KeyboardInterrupt

    def half_bytes(self, data):
        write_bytes(self, data[: len(data) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", half_text)
    monkeypatch.setattr(Path, "write_bytes", half_bytes)
    with pytest.raises(KeyboardInterrupt):
        smoking.report(tmp_path / f"report{suffix}")
    monkeypatch.undo()
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_report_paths_are_refused_before_any_work(smoking, tmp_path, monkeypatch) -> None:
    def work(*args):
        raise AssertionError("the report was computed before its path was checked")

    monkeypatch.setattr(report_module, "_marginal", work)
    monkeypatch.setattr(report_module, "_sections", work)
    monkeypatch.setattr(report_module, "_figures", work)
    (tmp_path / "taken_figures").write_text("a file where the figures folder would go")
    for path, message in [
        (tmp_path / "missing" / "report.html", r"the folder .*missing' does not exist"),
        (tmp_path / "report.pdf", r"path must end in \.html, \.htm or \.md; got"),
        (tmp_path / "folder.html", r"the path is a folder"),
        (tmp_path / "taken.md", r"figures in the folder .*taken_figures', which is a file"),
    ]:
        if path.name == "folder.html":
            path.mkdir()
        with pytest.raises(BayesGLMError, match=message):
            smoking.report(path)


def _normalized(text: str) -> str:
    # The snapshot pins the report's layout and wording; the numbers are tested
    # elsewhere and may differ in the last digit between CPUs. Timings and
    # versions change from run to run.
    lines = [
        line for line in text.splitlines() if not line.startswith(("| time: ", "| version: "))
    ]
    return re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "<n>", "\n".join(lines))


def test_markdown_report_matches_the_golden_snapshot(smoking, tmp_path) -> None:
    path = smoking.report(tmp_path / "report.md")
    text = _normalized(path.read_text())
    assert sorted(p.name for p in (tmp_path / "report_figures").iterdir()) == sorted(
        f"{name}.png" for name in FIGURES
    )
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


# Loaded around the report in the browser: it renders the page in a frame of the
# given width (a frame, since headless Chromium's window is at least 500 px wide) and
# writes what it measured into the DOM, which --dump-dom prints.
_MEASURE = """
<!DOCTYPE html><html><body style="margin:0">
<script>
const frame = document.createElement("iframe");
frame.style.cssText = "border:0;width:%(width)dpx;height:900px";
frame.srcdoc = %(page)s;
frame.onload = () => {
  const doc = frame.contentDocument;
  const images = Array.from(doc.images);
  const out = {
    width: frame.contentWindow.innerWidth,
    scrollWidth: doc.documentElement.scrollWidth,
    images: images.length,
    loaded: images.filter((img) => img.complete && img.naturalWidth > 0).length,
    sections: Array.from(doc.querySelectorAll("section[id]")).map((s) => s.id),
    collapsed: Array.from(doc.querySelectorAll("details")).length,
    scrolling: Array.from(doc.querySelectorAll(".table-scroll")).filter(
      (box) => box.scrollWidth > box.clientWidth).length,
  };
  const pre = document.createElement("pre");
  pre.id = "measurements";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
};
document.body.appendChild(frame);
</script></body></html>
"""


def _browser() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        message = "chromium is not installed (Debian package 'chromium')"
        if os.environ.get("CI"):
            pytest.fail(message + "; .ci/run installs it")
        pytest.skip(message)
    return browser


def _measure(browser: str, page: Path, width: int, folder: Path) -> dict:
    """The report rendered at ``width`` CSS pixels: page and image measurements."""
    import json

    wrapper = folder / f"measure_{width}.html"
    wrapper.write_text(
        _MEASURE % {"width": width, "page": json.dumps(page.read_text(encoding="utf-8"))},
        encoding="utf-8",
    )
    out = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={folder / 'profile'}",
            "--virtual-time-budget=10000",
            "--window-size=1400,1000",
            "--dump-dom",
            wrapper.as_uri(),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    found = re.search(r'<pre id="measurements">(.*?)</pre>', out)
    assert found, "the page did not finish loading in the browser"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("width", [1280, 390])
def test_html_report_renders_in_headless_chromium(smoking, tmp_path, width) -> None:
    browser = _browser()
    page = smoking.report(tmp_path / "report.html")
    seen = _measure(browser, page, width, tmp_path)
    assert seen["width"] == width
    # The page never scrolls sideways; a wide table scrolls inside its own box.
    assert seen["scrollWidth"] <= width
    assert seen["images"] == len(FIGURES) == seen["loaded"]
    assert seen["sections"] == SECTIONS
    assert seen["collapsed"] == 1  # the traces
    if width == 390:
        assert seen["scrolling"] > 0  # the phone scrolls the summary table, not the page


def test_loo_and_compare_prefer_the_right_family() -> None:
    rng = np.random.default_rng(6)
    df = pd.DataFrame({"x": rng.normal(size=150)})
    mu = np.exp(1.0 + 0.4 * df["x"])
    df["y"] = rng.negative_binomial(1.5, 1.5 / (1.5 + mu))
    poisson = _fit(bg.GLM("y ~ x", data=df, family="poisson"), seed=1)
    negbin = _fit(bg.GLM("y ~ x", data=df, family="negative_binomial"), seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        elpd = negbin.loo()
        table = bg.compare({"poisson": poisson, "negative_binomial": negbin})
    assert elpd.n_data_points == 150
    assert table.index[0] == "negative_binomial"
    assert {"elpd", "se", "weight", "pareto_k_bad"} <= set(table.columns)
    assert abs(table.loc["poisson", "elpd_diff"]) > 10
    from bayesglm.compare import plot_compare

    assert plot_compare(table).axes[0].get_xlabel().startswith("ELPD")
    with pytest.raises(BayesGLMError, match=r"at least two fits"):
        bg.compare({"one": poisson})


# --- a predictor whose move leaves a spline's range ---------------------------------------


@pytest.fixture(scope="module")
def spline_fit():
    from tests.laplace_fit import laplace_fit

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"v": rng.uniform(0, 10, 300), "g": rng.choice(["a", "b"], 300)})
    df["y"] = rng.poisson(np.exp(0.5 + np.sin(df["v"] / 3)))
    model = bg.GLM("y ~ bs(v, df=4) + g", data=df, family="poisson")
    return laplace_fit(model, seed=1, chains=2, draws=200)


def test_a_comparison_past_a_splines_boundary_is_refused_with_the_range_and_the_fix(
    spline_fit,
) -> None:
    # The +1 comparison moves v by 0.5 either way; at the data's edges that leaves the
    # boundary knots, where the spline basis is not defined.
    low, high = spline_fit.design.formula.training["v"].agg(["min", "max"])
    for fit in (spline_fit, spline_fit.mle):
        with pytest.raises(BayesGLMError) as refused:
            fit.avg_comparisons("v")
        message = str(refused.value)
        assert "'v'" in message and f"{low:g} to {high:g}" in message
        assert "variables={'v': [a, b]}" in message
        inside = fit.avg_comparisons({"v": [2.0, 8.0]})
        assert inside["contrast"].tolist() == ["8 - 2"] and np.isfinite(inside["estimate"]).all()


def test_the_report_keeps_the_other_predictors_and_says_why_one_is_left_out(
    spline_fit, tmp_path
) -> None:
    path = tmp_path / "report.md"
    spline_fit.report(path)
    for text in (path.read_text(encoding="utf-8"), str(spline_fit)):
        marginal = text[text.index("Marginal effects") :]
        assert "b - a" in marginal  # the factor's comparison
        assert "dY/dX" in marginal  # v's slope (one-sided steps at the edges)
        assert "Left out" in marginal and "v: moving 'v' takes it outside" in marginal
