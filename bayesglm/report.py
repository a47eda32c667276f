"""The fit's report: one self-contained HTML file, Markdown with figure files, or the
console text of ``print(fit)``: one list of sections, three renderings.

One renderer serves every kind of fit: a family's section provider builds a
:class:`ReportContent` (title, sections, figures) and :func:`write_report` writes it.
This module holds the provider of the one-mean-per-row families (:func:`glm_content`);
:mod:`bayesglm.category_report` that of categorical and cumulative outcomes.

Sections, in reading order: findings (what a reviewer reads first: each coefficient's
effect as a factor and on the mean scale, the MLE-versus-posterior verdict, the prior
sensitivity and the sampler's health, in one table, then in words), model and priors,
sampler checks, posterior summary, exp(beta) effects, marginal effects (average
comparisons and slopes, conditional effects), MLE versus posterior, prior
sensitivity, R², model checks, traces (collapsed), a glossary of every column, and a
reproducibility record. Tables are rounded by :mod:`bayesglm.presentation`; every
user string is escaped in HTML; images are embedded as data URIs and the stylesheet
(``report.css``, shipped with the package) inline, so the page needs no network.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import presentation as show
from ._output import check_report_path, report_figures_folder, write_atomic
from .errors import BayesGLMError
from .importance import method_lines
from .predict import eta_range
from .sensitivity import sensitivity_lines
from .thresholds import AGREE_SE, ESS_PER_CHAIN, PRIOR_HOLD, PRIOR_SHARE, RHAT_LIMIT, SPREAD_FACTOR

if TYPE_CHECKING:
    from .results import GLMResult

__all__ = [
    "VERDICTS",
    "FigureRef",
    "ReportContent",
    "Section",
    "console_text",
    "each_predictor",
    "glm_content",
    "glossary_section",
    "png_bytes",
    "record_section",
    "write_report",
]

VERDICTS = {
    "agrees": f"posterior mean within {AGREE_SE:g} MLE standard errors of the MLE and "
    f"posterior sd within a factor {SPREAD_FACTOR:g} of the SE: the data dominate.",
    "prior pull": "the estimates differ because of the prior: it moved the posterior mode "
    "(which maximizes likelihood x prior) away from the MLE in the direction the "
    f"posterior mean moved, by at least {PRIOR_SHARE:.0%} of that move, or it narrowed "
    f"the posterior (posterior sd at least {PRIOR_HOLD:g} of the prior sd): check the "
    "prior is intended.",
    "separation": "the outcome is separated along this predictor: the MLE does not exist "
    "(it diverges) and only the prior keeps the posterior finite.",
    "sampling problem": f"R-hat above {RHAT_LIMIT:g} or bulk ESS below {ESS_PER_CHAIN} per "
    "chain: the posterior summary is not trustworthy yet; sample longer.",
    "differs": "the posterior differs from the MLE although the prior does not account for "
    "it (the mode barely moved, or moved the other way): the likelihood is far from "
    "normal (small n, skewness), so the MLE's Wald approximation is poor.",
}

_CONDITIONAL_PANELS = 6  # predictors drawn in the report's conditional-effects figure
# print(fit) computes the average comparisons and slopes (each a pass over every row
# at every draw, its width the number of means or slopes) only up to this many
# draw-rows (benchmarks/results/marginal.md times it); past it, it says how to
# compute them, as for the prior sensitivity.
_PRINT_MARGINAL_LIMIT = 20_000_000


@dataclass(frozen=True)
class FigureRef:
    """A figure in a section, by its file name (without ``.png``)."""

    name: str
    caption: str


@dataclass(frozen=True)
class Section:
    """A section: its anchor, title, and blocks in order. A block is a table of
    strings (DataFrame), bullet lines (list), a paragraph (str), a sub-heading
    (tuple ``("h3", text)``) or a figure (:class:`FigureRef`)."""

    anchor: str
    title: str
    blocks: list[Any] = field(default_factory=list)
    collapsed: bool = False


@dataclass(frozen=True)
class ReportContent:
    """What a report shows, as a family's section provider builds it.

    Attributes
    ----------
    title : str
        The page's title.
    lede : str
        The line under the title (formula, rows, parameters).
    sections : list of Section
        In reading order.
    figures : dict of str to bytes
        The PNG of each figure the sections name (:class:`FigureRef`).
    """

    title: str
    lede: str
    sections: list[Section]
    figures: dict[str, bytes]


@dataclass(frozen=True)
class _Marginal:
    """Average comparisons and slopes of the posterior and of the MLE (None where the
    model has nothing to compare: no predictor, or no numeric one for slopes)."""

    comparisons: pd.DataFrame | None
    mle_comparisons: pd.DataFrame | None
    slopes: pd.DataFrame | None
    mle_slopes: pd.DataFrame | None
    predictors: list[str]
    left_out: list[str] = field(default_factory=list)  # why a predictor's effects are missing


def _marginal(result: GLMResult, prob: float, console: bool = False) -> _Marginal:
    """The report's marginal effects; for ``print(fit)`` only for a fit small enough
    to compute them on printing."""
    from .marginal import Rows, marginal_effects_available

    if not marginal_effects_available(result.design):
        return _Marginal(None, None, None, None, [])
    rows = Rows(result.design, eta_range(result.spec.family, result.spec.link))
    predictors = list(rows.columns)
    numeric = [c for c in predictors if not rows.is_factor(c)]
    comparisons = mle_comparisons = slopes = mle_slopes = None
    affordable = result.beta_draws[..., 0].size * result.design.n <= _PRINT_MARGINAL_LIMIT
    left_out: list[str] = []
    if predictors and (affordable or not console):
        comparisons, mle_comparisons, left_out = each_predictor(
            lambda fit, chosen: fit.avg_comparisons(chosen, prob=prob), result, predictors
        )
    if numeric and (affordable or not console):
        slopes, mle_slopes, refused = each_predictor(
            lambda fit, chosen: fit.avg_slopes(chosen, prob=prob), result, numeric
        )
        left_out += [line for line in refused if line not in left_out]
    return _Marginal(comparisons, mle_comparisons, slopes, mle_slopes, predictors, left_out)


def each_predictor(
    compute: Callable[[Any, list[str] | None], pd.DataFrame],
    result: GLMResult,
    predictors: list[str],
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, list[str]]:
    """``compute(fit, None)`` of the posterior and of the MLE; where a predictor's
    effect is refused (a move past a spline's boundary), the others' one by one and
    the refusals' reasons, so that one predictor does not take the section down."""
    try:
        return compute(result, None), compute(result.mle, None), []
    except BayesGLMError:
        pass
    posterior, mle, refused = [], [], []
    for column in predictors:
        try:
            posterior.append(compute(result, [column]))
            mle.append(compute(result.mle, [column]))
        except BayesGLMError as error:
            refused.append(f"{column}: {error}")
    if not posterior:
        return None, None, refused
    return pd.concat(posterior, ignore_index=True), pd.concat(mle, ignore_index=True), refused


def _empty_comparisons() -> pd.DataFrame:
    return pd.DataFrame(columns=["term", "contrast", "estimate", "conf_low", "conf_high"])


def _sections(
    result: GLMResult, prob: float, marginal: _Marginal, console: bool = False
) -> list[Section]:
    """The report's sections. ``console``: those of ``print(fit)``: no figures, no
    glossary, no R², and the prior sensitivity only once computed (it needs ArviZ and
    a pass over every row at every draw, which printing a fit should not cost)."""
    design, spec, formula = result.design, result.spec, result.design.formula
    effects = result.effects(prob)
    diagnostics = result.diagnostics()
    computed = not console or "_sensitivity" in result.__dict__
    sensitivity = result.sensitivity() if computed else None
    reading = sensitivity_lines(sensitivity) if sensitivity is not None else []
    comparisons = (
        marginal.comparisons if marginal.comparisons is not None else _empty_comparisons()
    )
    points = spec.family.quantity == "probability"
    interval = show.interval_heading(prob)

    findings = Section(
        "findings",
        "Findings",
        [
            show.findings_lines(result, diagnostics, sensitivity),
            show.findings_table(result, effects, comparisons, sensitivity),
            ("h3", "In words"),
            [*effects["sentence"], *comparisons.get("sentence", [])],
        ],
    )

    model_lines = [
        f"Formula: {formula.text}" if formula is not None else "Model matrix given as arrays",
        f"Family: {spec.family.name}; link: {spec.link.name}",
        f"Observations: {design.n}; coefficients: {design.p}",
        *method_lines(result.method),  # how the draws were made, when not NUTS over rows
    ]
    if formula is not None and formula.dropped_rows:
        model_lines.append(f"Rows dropped for missing values: {len(formula.dropped_rows)}")
    if formula is not None and formula.event is not None:
        model_lines.append(f"Event (y = 1): {formula.event}")
    verdict = (
        ["All sampler checks passed."]
        if diagnostics.ok
        else ["PROBLEMS — do not trust the numbers below yet:", *diagnostics.problems]
    )
    if result.mle.separation:
        verdict.append(show.separation_line(result))
    comparison = result.compare_mle()
    used = sorted(set(comparison["verdict"]))

    sections = [
        findings,
        Section(
            "model",
            "Model and priors",
            [model_lines, ("h3", "Priors"), show.priors_display(result)],
        ),
        Section("diagnostics", "Sampler checks", [verdict, show.checks_table(diagnostics)]),
        Section(
            "summary",
            f"Posterior summary ({interval})",
            [show.summary_table(result.summary(prob))],
        ),
        Section(
            "effects",
            f"Effects ({effects.attrs['effect'] or 'coefficient scale'}, {interval})",
            [show.effects_display(effects), FigureRef("effects", "each on its own axis")],
        ),
        _marginal_section(marginal, points, interval, console),
        Section(
            "mle",
            "Maximum likelihood vs posterior",
            [
                show.compare_table(comparison),
                [f"{v}: {VERDICTS[v]}" for v in used],
                FigureRef("coefficients", "coefficients × sd of their column: one scale"),
            ],
        ),
    ]
    if sensitivity is not None:
        sections.append(_sensitivity_section(sensitivity, reading))
    if not console:
        sections += [
            Section("r2", f"Fit: R² ({interval})", [show.r2_display(result.r2(prob))]),
            Section(
                "checks",
                "Model checks",
                [
                    FigureRef("posterior_predictive_check", "posterior predictive check"),
                    FigureRef("glm_components", "the GLM's parts at the posterior mean"),
                ],
            ),
            Section(
                "traces",
                "Traces and rank plots",
                [FigureRef("trace_and_rank", "trace and rank histograms per chain")],
                collapsed=True,
            ),
        ]
        sections.append(_reproducibility(result))
        sections.insert(-1, glossary_section(sections))
    return [_without_figures(s) for s in sections] if console else sections


def _marginal_section(marginal: _Marginal, points: bool, interval: str, console: bool) -> Section:
    unit = "percentage points (pp)" if points else "units of the mean"
    blocks: list[Any] = []
    if not marginal.predictors:
        blocks.append("The model has no predictor to move.")
    elif marginal.comparisons is None and marginal.left_out:
        pass  # every predictor's refusal is listed below
    elif marginal.comparisons is None:
        blocks.append(
            "fit.avg_comparisons() and fit.avg_slopes() compute them (a pass over every "
            "row at every draw, too long for printing this fit)."
        )
    else:
        blocks += [
            f"Average change in the predicted mean, in {unit}, over the fitted rows ({interval}).",
            ("h3", "Average comparisons"),
            show.marginal_table(marginal.comparisons, marginal.mle_comparisons, points),
        ]
    if marginal.slopes is not None:
        blocks += [
            ("h3", "Average slopes"),
            show.marginal_table(marginal.slopes, marginal.mle_slopes, points),
            list(marginal.slopes["sentence"]),
        ]
    if marginal.left_out:
        blocks += [("h3", "Left out"), marginal.left_out]
    if marginal.comparisons is not None:
        blocks += [
            FigureRef("marginal_effects", "average comparisons, each on its own axis"),
            FigureRef(
                "conditional_effects",
                "predicted mean against each predictor, the others at typical values; "
                "bayesglm.plots.conditional(fit, name) draws any predictor",
            ),
        ]
    return Section("marginal", "Marginal effects", blocks)


def _sensitivity_section(table: pd.DataFrame, reading: list[str]) -> Section:
    threshold = table.attrs["threshold"]
    meaning = [
        f"prior (likelihood): how far the posterior moves when the prior (likelihood) is "
        f"raised to a power near 1; {threshold:g} or more counts (ArviZ's threshold).",
        "prior-data conflict: both count; the prior and the data pull apart.",
        "weak likelihood: the prior counts and the likelihood does not; the prior decides.",
    ]
    return Section(
        "sensitivity",
        f"Prior sensitivity (power-scaling, threshold {threshold:g})",
        [
            show.sensitivity_display(table),
            [*reading, *meaning],
            FigureRef("sensitivity", "power-scaling sensitivity per parameter"),
        ],
    )


def glossary_section(sections: list[Section], meanings: dict[str, str] | None = None) -> Section:
    """The meaning of every column header of the tables above, in order of first use:
    from ``meanings`` (a kind of fit's own reading of a column), else the glossary."""
    glossary = show.GLOSSARY | (meanings or {})
    seen: dict[str, str] = {}
    for section in sections:
        for block in section.blocks:
            if isinstance(block, pd.DataFrame):
                for column in block.columns:
                    seen.setdefault(str(column), glossary[str(column)])
    return Section("glossary", "Glossary of the columns", [seen])


def _reproducibility(result: GLMResult) -> Section:
    return record_section(
        [
            ("sampler", result.sampler),
            ("seed", str(result.seed)),
            (
                "draws",
                f"{result.chains} chains × {result.draws_per_chain} draws ({result.tune} tuning)",
            ),
            *[(f"time: {stage}", f"{seconds:.2f} s") for stage, seconds in result.timings.items()],
            *[(f"version: {n}", version) for n, version in result.producing_versions.items()],
        ]
    )


def record_section(record: list[tuple[str, str]]) -> Section:
    """The reproducibility section: what produced the fit, one (record, value) a row."""
    table = pd.DataFrame(record, columns=["record", "value"])
    return Section("reproducibility", "Reproducibility", [table])


def _without_figures(section: Section) -> Section:
    blocks = [b for b in section.blocks if not isinstance(b, FigureRef)]
    return Section(section.anchor, section.title, blocks, section.collapsed)


def _figures(result: GLMResult, prob: float, marginal: _Marginal) -> dict[str, bytes]:
    """PNG bytes per figure."""
    from . import plots

    figures = {
        "effects": lambda: plots.forest(result, effects=True, prob=prob),
        "coefficients": lambda: plots.forest(result, prob=prob),
        "sensitivity": lambda: plots.sensitivity(result),
        "posterior_predictive_check": lambda: plots.ppc(result),
        "glm_components": lambda: plots.components(result),
        "trace_and_rank": lambda: plots.trace(result),
    }
    if marginal.comparisons is not None:
        shown = marginal.predictors[:_CONDITIONAL_PANELS]
        tables = (marginal.comparisons, marginal.mle_comparisons)
        figures["marginal_effects"] = lambda: plots.marginal(result, prob=prob, tables=tables)
        figures["conditional_effects"] = lambda: plots.conditional(result, shown, prob=prob)
    return {name: png_bytes(draw()) for name, draw in figures.items()}


def png_bytes(figure: Any) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


def glm_content(result: GLMResult, prob: float = 0.95) -> ReportContent:
    """The report of a fit of one mean per row (:class:`~bayesglm.results.GLMResult`)."""
    marginal = _marginal(result, prob)
    formula = result.design.formula
    lede = (
        f"{formula.text if formula is not None else 'model matrix given as arrays'} · "
        f"n = {result.design.n} · {result.design.p} coefficients"
    )
    return ReportContent(
        title=_title(result),
        lede=lede,
        sections=_sections(result, prob, marginal),
        figures=_figures(result, prob, marginal),
    )


def write_report(
    result: Any,
    path: str | Path,
    prob: float = 0.95,
    content: Callable[[Any, float], ReportContent] = glm_content,
) -> Path:
    """Write the report as HTML (``.html``/``.htm``) or Markdown (``.md``).

    ``content`` is the section provider of the fit's kind (:func:`glm_content` by
    default). Markdown figures go to ``<stem>_figures/`` beside the file. The path
    is checked before any work, everything is computed before anything is written,
    and each file replaces its previous version only once it is complete.
    """
    path = check_report_path(path)
    report = content(result, prob)
    if path.suffix.lower() == ".md":
        text = _markdown(report, path)
        folder = report_figures_folder(path)
        folder.mkdir(exist_ok=True)
        for name, png in report.figures.items():
            write_atomic(folder / f"{name}.png", lambda tmp, png=png: tmp.write_bytes(png))
    else:
        text = _html(report)
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def console_text(result: GLMResult, prob: float = 0.95) -> str:
    """What ``print(fit)`` shows: the report's sections as plain text, the same
    tables rounded the same way, without figures."""
    lines = [
        f"Bayesian GLM: {result.spec.family.name} family, {result.spec.link.name} link, "
        f"n = {result.design.n}",
        f"Sampler: {result.sampler} ({result.chains} chains x {result.draws_per_chain} "
        f"draws, {result.tune} tuning), seed {result.seed}",
    ]
    marginal = _marginal(result, prob, console=True)
    for section in _sections(result, prob, marginal, console=True):
        lines += ["", f"{section.title}:"]
        for block in section.blocks:
            if isinstance(block, pd.DataFrame):
                lines.append(block.to_string(index=False))
            elif isinstance(block, tuple):
                lines += ["", f"{block[1]}:"]
            elif isinstance(block, list):
                lines += [f"  - {line}" for line in block]
            else:
                lines.append(str(block))
    return "\n".join(lines)


def _title(result: GLMResult) -> str:
    return f"Bayesian GLM report: {result.spec.family.name} ({result.spec.link.name} link)"


# --- Markdown -------------------------------------------------------------------------------


def _markdown(report: ReportContent, path: Path) -> str:
    folder = report_figures_folder(path)
    lines = [f"# {report.title}", ""]
    for section in report.sections:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, pd.DataFrame):
                lines += [_pipe_table(block), ""]
            elif isinstance(block, dict):
                lines += [f"- `{term}`: {meaning}" for term, meaning in block.items()] + [""]
            elif isinstance(block, tuple):
                lines += [f"### {block[1]}", ""]
            elif isinstance(block, list):
                lines += [f"- {line}" for line in block] + [""]
            elif isinstance(block, FigureRef):
                label = block.name.replace("_", " ")
                lines += [f"![{label}: {block.caption}]({folder.name}/{block.name}.png)", ""]
            else:
                lines += [block, ""]
    return "\n".join(lines)


def _pipe_table(frame: pd.DataFrame) -> str:
    escape = lambda cell: str(cell).replace("|", "\\|")  # noqa: E731
    out = [
        "| " + " | ".join(escape(c) for c in frame.columns) + " |",
        "|" + "---|" * len(frame.columns),
    ]
    out += ["| " + " | ".join(map(escape, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(out)


# --- HTML -----------------------------------------------------------------------------------


def _stylesheet() -> str:
    return resources.files("bayesglm").joinpath("report.css").read_text(encoding="utf-8")


def _cell(value: Any) -> str:
    text = str(value)
    numeric = text[:1] in "-0123456789" or text[:2] in ("✓ ", "✗ ")
    css = " class=num" if numeric and text[:1] not in "✓✗" else ""
    mark = text[:1]
    if mark in "✓✗":
        kind = "pass" if mark == "✓" else "fail"
        body = f'<span class="{kind}">{mark}</span>{html.escape(text[1:])}'
    else:
        body = html.escape(text)
    return f"<td{css}>{body}</td>"


def _html_table(frame: pd.DataFrame, css: str = "") -> str:
    head = "".join(f'<th scope="col">{html.escape(str(c))}</th>' for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in frame.itertuples(index=False)
    )
    return (
        f'<div class="table-scroll"><table{css}><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _html_block(block: Any, figures: dict[str, bytes], anchor: str) -> str:
    if isinstance(block, pd.DataFrame):
        # The findings' cells are phrases: they wrap, where numbers stay on one line.
        return _html_table(block, ' class="wrap"' if anchor == "findings" else "")
    if isinstance(block, dict):
        items = "".join(
            f"<dt>{html.escape(term)}</dt><dd>{html.escape(meaning)}</dd>"
            for term, meaning in block.items()
        )
        return f'<dl class="glossary">{items}</dl>'
    if isinstance(block, tuple):
        return f"<h3>{html.escape(block[1])}</h3>"
    if isinstance(block, list):
        css = ' class="problem"' if block and str(block[0]).startswith("PROBLEMS") else ""
        items = "".join(f"<li>{html.escape(str(line))}</li>" for line in block)
        return f"<ul{css}>{items}</ul>"
    if isinstance(block, FigureRef):
        data = base64.b64encode(figures[block.name]).decode("ascii")
        label = html.escape(block.name.replace("_", " "))
        return (
            f'<figure><img alt="{label}" src="data:image/png;base64,{data}">'
            f"<figcaption>{label}: {html.escape(block.caption)}</figcaption></figure>"
        )
    return f"<p>{html.escape(str(block))}</p>"


def _html(report: ReportContent) -> str:
    title, lede = html.escape(report.title), report.lede
    sections, figures = report.sections, report.figures
    toc = "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title><style>{_stylesheet()}</style></head><body>",
        f'<header><h1>{title}</h1><p class="lede">{html.escape(lede)}</p>',
        f'<nav class="toc">{toc}</nav></header><main>',
    ]
    for section in sections:
        inner = "".join(_html_block(b, figures, section.anchor) for b in section.blocks)
        heading = html.escape(section.title)
        if section.collapsed:
            body = f"<h2>{heading}</h2><details><summary>show</summary>{inner}</details>"
        else:
            body = f"<h2>{heading}</h2>{inner}"
        parts.append(f'<section id="{section.anchor}">{body}</section>')
    parts.append("</main></body></html>")
    return "\n".join(parts)
