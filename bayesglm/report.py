"""The fit's report: one self-contained HTML file, or Markdown with figure files.

Sections: model (formula, family, link, n, resolved priors), diagnostics verdict,
posterior summary, exp(beta) effects, MLE versus posterior (with what each verdict
means), prior sensitivity by power-scaling, R², figures, and a reproducibility
record (versions, sampler, seed, timings). Every user string is escaped in HTML;
images are embedded as data URIs.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._output import check_report_path, report_figures_folder, write_atomic
from .importance import method_lines
from .predict import percent
from .sensitivity import sensitivity_lines
from .thresholds import AGREE_SE, ESS_PER_CHAIN, PRIOR_HOLD, PRIOR_SHARE, RHAT_LIMIT, SPREAD_FACTOR

if TYPE_CHECKING:
    from .results import GLMResult

__all__ = ["VERDICTS", "write_report"]

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


def _figures(result: GLMResult, prob: float) -> dict[str, bytes]:
    """PNG bytes per figure."""
    import matplotlib.pyplot as plt

    from . import plots

    figures = {
        "coefficients": plots.forest(result, prob=prob),
        "effects": plots.forest(result, effects=True, prob=prob),
        "posterior_predictive_check": plots.ppc(result),
        "trace_and_rank": plots.trace(result),
        "glm_components": plots.components(result),
    }
    out = {}
    for name, figure in figures.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)
        plt.close(figure)
        out[name] = buffer.getvalue()
    return out


def _sections(result: GLMResult, prob: float, effects: pd.DataFrame) -> list[tuple[str, Any]]:
    """(title, content) pairs; content is a DataFrame, a list of lines, or text."""
    design, spec, formula = result.design, result.spec, result.design.formula
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
    diagnostics = result.diagnostics()
    verdict = (
        ["All sampler checks passed."]
        if diagnostics.ok
        else ["PROBLEMS — do not trust the numbers below yet:", *diagnostics.problems]
    )
    if result.mle.separation:
        verdict.append(
            "Separation in the data along "
            + ", ".join(result.mle.separation)
            + ": the MLE does not exist; the posterior is finite thanks to the prior."
        )
    comparison = result.compare_mle()
    used = sorted(set(comparison["verdict"]))
    versions = result.producing_versions
    record = pd.DataFrame(
        {
            "value": [
                result.sampler,
                str(result.seed),
                f"{result.chains} chains × {result.draws_per_chain} draws ({result.tune} tuning)",
                *[f"{seconds:.2f} s" for seconds in result.timings.values()],
                *versions.values(),
            ]
        },
        index=[
            "sampler",
            "seed",
            "draws",
            *[f"time: {stage}" for stage in result.timings],
            *[f"version: {name}" for name in versions],
        ],
    )
    return [
        ("Model", model_lines),
        ("Priors", result.priors.table()),
        ("Diagnostics", verdict),
        ("Sampler checks", diagnostics.table()),
        (f"Posterior summary ({percent(prob)} equal-tailed intervals)", result.summary(prob)),
        *_effects_sections(effects),
        ("Maximum likelihood vs posterior", comparison),
        ("Verdicts", [f"{v}: {VERDICTS[v]}" for v in used]),
        *_sensitivity_sections(result),
        (f"Fit: R² ({percent(prob)} equal-tailed intervals)", result.r2(prob)),
        ("Reproducibility", record),
    ]


def _effects_sections(effects: pd.DataFrame) -> list[tuple[str, Any]]:
    """The effects table (every coefficient, baselines included) and its sentences."""
    return [
        (
            f"Effects ({effects.attrs['effect'] or 'coefficient scale'})",
            effects.drop(columns="sentence"),
        ),
        ("In words", list(effects["sentence"])),
    ]


def _sensitivity_sections(result: GLMResult) -> list[tuple[str, Any]]:
    """Power-scaling sensitivity, its reading, and what the diagnoses mean."""
    table = result.sensitivity()
    threshold = table.attrs["threshold"]
    meaning = [
        f"prior (likelihood): how far the posterior moves when the prior (likelihood) is "
        f"raised to a power near 1; {threshold:g} or more counts (ArviZ's threshold).",
        "prior-data conflict: both count; the prior and the data pull apart.",
        "weak likelihood: the prior counts and the likelihood does not; the prior decides.",
    ]
    return [
        (f"Prior sensitivity (power-scaling, threshold {threshold:g})", table),
        ("Sensitivity in words", [*sensitivity_lines(table), *meaning]),
    ]


def write_report(result: GLMResult, path: str | Path, prob: float = 0.95) -> Path:
    """Write the report as HTML (``.html``/``.htm``) or Markdown (``.md``).

    Markdown figures go to ``<stem>_figures/`` beside the file. The path is checked
    before any work, everything is computed before anything is written, and each
    file replaces its previous version only once it is complete.
    """
    path = check_report_path(path)
    effects = result.effects(prob)
    sections = _sections(result, prob, effects)
    figures = _figures(result, prob)
    if path.suffix.lower() == ".md":
        text = _markdown(result, sections, figures, path)
        folder = report_figures_folder(path)
        folder.mkdir(exist_ok=True)
        for name, png in figures.items():
            write_atomic(folder / f"{name}.png", lambda tmp, png=png: tmp.write_bytes(png))
    else:
        text = _html(result, sections, figures)
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _title(result: GLMResult) -> str:
    return f"Bayesian GLM report: {result.spec.family.name} ({result.spec.link.name} link)"


def _format(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.map(lambda v: f"{v:.4g}" if isinstance(v, float) else v)


def _markdown(
    result: GLMResult,
    sections: list[tuple[str, Any]],
    figures: dict[str, bytes],
    path: Path,
) -> str:
    folder = report_figures_folder(path)
    lines = [f"# {_title(result)}", ""]
    for title, content in sections:
        lines += [f"## {title}", ""]
        if isinstance(content, pd.DataFrame):
            lines += [_pipe_table(_format(content)), ""]
        else:
            lines += [f"- {line}" for line in content] + [""]
    lines += ["## Figures", ""]
    for name in figures:
        lines += [f"![{name.replace('_', ' ')}]({folder.name}/{name}.png)", ""]
    return "\n".join(lines)


def _pipe_table(frame: pd.DataFrame) -> str:
    header = [frame.index.name or ""] + [str(c) for c in frame.columns]
    rows = [
        [str(i)] + [str(v) for v in row] for i, row in zip(frame.index, frame.values, strict=True)
    ]
    escape = lambda cell: cell.replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(map(escape, header)) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(map(escape, row)) + " |" for row in rows]
    return "\n".join(out)


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; }
img { max-width: 100%; }
.problem { color: #a40000; font-weight: bold; }
"""


def _html(result: GLMResult, sections: list[tuple[str, Any]], figures: dict[str, bytes]) -> str:
    title = html.escape(_title(result))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{title}</title><style>{_CSS}</style></head><body>",
        f"<h1>{title}</h1>",
    ]
    for heading, content in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if isinstance(content, pd.DataFrame):
            parts.append(_format(content).to_html(escape=True, border=0))
        else:
            css = (
                ' class="problem"'
                if heading == "Diagnostics" and content[0].startswith("PROBLEMS")
                else ""
            )
            parts.append(
                f"<ul{css}>"
                + "".join(f"<li>{html.escape(str(line))}</li>" for line in content)
                + "</ul>"
            )
    parts.append("<h2>Figures</h2>")
    for name, png in figures.items():
        data = base64.b64encode(png).decode("ascii")
        label = html.escape(name.replace("_", " "))
        parts.append(
            f'<figure><img alt="{label}" src="data:image/png;base64,{data}">'
            f"<figcaption>{label}</figcaption></figure>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
