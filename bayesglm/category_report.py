"""The report's sections for a categorical or cumulative posterior.

:func:`category_content` is this kind of fit's section provider for
:func:`bayesglm.report.write_report`, which renders it as the other families'
reports are rendered (same layout, tables rounded by :mod:`bayesglm.presentation`,
glossary, reproducibility record). The sections: findings (relative-risk ratios or
cumulative odds ratios, the MLE-versus-posterior verdicts, the sampler's health,
the posterior predictive check, in a table and in words), model and priors, sampler
checks, the posterior summary per response level (categorical) or with the
cutpoints (cumulative), effects, MLE versus posterior, marginal effects (each level's
average comparisons and slopes), the posterior predictive check as observed against
predicted level frequencies, and a list of the other
families' sections that are left out here, each with its reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import presentation as show
from ._xp import Interval
from .report import (
    VERDICTS,
    FigureRef,
    ReportContent,
    Section,
    each_predictor,
    glossary_section,
    png_bytes,
    record_section,
)
from .rounding import check_mark, fixed, integer, significant, with_uncertainty

if TYPE_CHECKING:
    from .category_results import CategoryPosterior

__all__ = ["LEFT_OUT", "category_content"]

# The other families' sections that this report leaves out, and why.
LEFT_OUT = {
    "Prior sensitivity": "power-scaling needs each row's log-likelihood at every draw, "
    "which this fit does not keep.",
    "R²": "Bayesian and LOO R² are defined for one mean per row, not for a distribution "
    "over levels.",
    "Traces and the GLM's parts": "these figures are drawn for one mean per row; the "
    "draws are fit.theta_draws (chain, draw, parameter) for a trace plot of your own.",
}


def _label(name: Any) -> str:
    """A parameter's label as the tables show it: a categorical's (level, term) as
    ``level:term`` (the effects' and priors' keys), a cutpoint as ``lower|upper``."""
    return ":".join(name) if isinstance(name, tuple) else str(name)


def _relabel(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_axis([_label(name) for name in frame.index], axis=0)


def category_content(result: CategoryPosterior, prob: float = 0.95) -> ReportContent:
    """The report of a categorical or cumulative posterior (the section provider
    :meth:`~bayesglm.category_results.CategoryPosterior.report` hands to
    :func:`bayesglm.report.write_report`)."""
    mle = result.mle
    cd, family = mle.cdesign, mle.family
    interval = show.interval_heading(prob)
    effects = result.effects(prob)
    summary = _relabel(result.summary(prob))
    comparison = _relabel(result.compare_mle()).rename(
        columns={"posterior_mean": "post_mean", "posterior_sd": "post_sd"}
    )
    checks = result.sampler_checks()
    counted = "frequency weights counted" if cd.design.weights is not None else "one per row"
    ppc = result.ppc(prob, seed=result.seed)
    chains = result.theta_draws.shape[0]

    sections = [
        _findings(result, effects, summary, comparison, checks, ppc, chains),
        _model(result),
        Section(
            "diagnostics",
            "Sampler checks",
            [
                ["All sampler checks passed."]
                if checks.ok
                else ["PROBLEMS — do not trust the numbers below yet:", *checks.problems],
                show.checks_table(checks),
            ],
        ),
        Section("summary", f"Posterior summary ({interval})", _summary_blocks(result, summary)),
        Section(
            "effects",
            f"Effects ({effects.attrs['effect']}, {interval})",
            [
                _effects_meaning(result),
                show.effects_display(effects),
                FigureRef("effects", "each on its own axis"),
            ]
            if len(effects)
            else ["The model has no predictor: its parameters are baselines only."],
        ),
        Section(
            "mle",
            "Maximum likelihood vs posterior",
            [
                [
                    f"Maximum likelihood ({mle.family.r_function}): deviance "
                    f"{mle.deviance:.6g}, AIC {mle.aic:.6g}, {mle.n_iter} Newton iterations"
                    + ("" if mle.converged else ", not converged")
                ],
                show.compare_table(comparison),
                [f"{v}: {VERDICTS[v]}" for v in sorted(set(comparison["verdict"]))],
            ],
        ),
        _marginal(result, prob, interval),
        Section(
            "checks",
            f"Posterior predictive check ({interval})",
            [
                "Observed against predicted level frequencies: each level's count in the "
                "data beside its count in data sets replicated from the posterior, one per "
                f"draw ({counted}).",
                _ppc_display(ppc),
                FigureRef("posterior_predictive_check", "observed and predicted level counts"),
            ],
        ),
        Section(
            "left-out",
            "Not in this report",
            [[f"{title}: {reason}" for title, reason in LEFT_OUT.items()]],
        ),
    ]
    sections.append(
        record_section(
            [
                ("sampler", result.sampler),
                ("seed", str(result.seed)),
                ("draws", f"{chains} chains × {result.theta_draws.shape[1]} draws"),
            ]
        )
    )
    sections.insert(-1, glossary_section(sections, _meanings(result, effects.attrs["effect"])))
    formula = cd.design.formula
    weighted = cd.design.weights is not None
    lede = (
        f"{formula.text if formula is not None else 'model matrix given as arrays'} · "
        f"n = {cd.design.n}"
        + (f" rows ({mle.nobs:g} weighted)" if weighted else "")
        + f" · {cd.K} levels · {len(result.index)} parameters"
    )
    figures = {"posterior_predictive_check": png_bytes(_ppc_figure(ppc))}
    if len(effects):
        figures["effects"] = png_bytes(_effects_figure(effects))
    title = f"Bayesian report: {family.name} outcome ({mle.link.name} link)"
    return ReportContent(title=title, lede=lede, sections=sections, figures=figures)


# --- sections -----------------------------------------------------------------------------


def _findings(
    result: CategoryPosterior,
    effects: pd.DataFrame,
    summary: pd.DataFrame,
    comparison: pd.DataFrame,
    checks: Any,
    ppc: pd.DataFrame,
    chains: int,
) -> Section:
    mle = result.mle
    lines = [
        f"Sampler: {check_mark(True)} all checks passed."
        if checks.ok
        else f"Sampler: {check_mark(False)} " + " ".join(checks.problems)
    ]
    if mle.separation:
        lines.append(
            "Separation in the data along " + ", ".join(mle.separation) + ": the MLE does "
            "not exist; the posterior is finite thanks to the prior."
        )
    counts = comparison["verdict"].value_counts()
    lines.append("MLE vs posterior: " + ", ".join(f"{v} ({n})" for v, n in counts.items()) + ".")
    outside = ppc[(ppc["observed"] < ppc["conf_low"]) | (ppc["observed"] > ppc["conf_high"])]
    lines.append(
        "Posterior predictive check: every level's observed count is inside its "
        "predicted interval."
        if outside.empty
        else "Posterior predictive check: observed counts outside their predicted interval "
        "for " + ", ".join(map(str, outside.index)) + "."
    )
    ratio = effects.attrs["effect"] != "latent shift"
    rows = [
        {
            "predictor": name,
            "as a factor": show.factor_cell(row, ratio),
            "verdict": comparison.loc[name, "verdict"],
            "sampler": show.sampler_cell(summary.loc[name], chains),
        }
        for name, row in effects.iterrows()
    ]
    table = pd.DataFrame(rows, columns=["predictor", "as a factor", "verdict", "sampler"])
    blocks: list[Any] = [lines]
    if len(table):
        blocks += [table, ("h3", "In words"), list(effects["sentence"])]
    else:
        blocks.append("The model has no predictor: its parameters are baselines only.")
    return Section("findings", "Findings", blocks)


def _marginal(result: CategoryPosterior, prob: float, interval: str) -> Section:
    """Average comparisons and slopes of each level's probability, the posterior's
    beside the MLE's delta method (:mod:`bayesglm.category_marginal`)."""
    from .marginal import Rows

    rows = Rows(result.mle.cdesign.design, Interval(-np.inf, np.inf))
    numeric = [c for c in rows.columns if not rows.is_factor(c)]
    if not rows.columns:
        return Section("marginal", "Marginal effects", ["The model has no predictor to move."])
    blocks: list[Any] = [
        "Average change in each level's probability, in percentage points (pp), over the "
        f"fitted rows ({interval})."
    ]
    comparisons, mle_comparisons, left_out = each_predictor(
        lambda fit, chosen: fit.avg_comparisons(chosen, prob=prob), result, rows.columns
    )
    if comparisons is not None:
        blocks += [
            ("h3", "Average comparisons"),
            show.marginal_table(comparisons, mle_comparisons, points=True),
        ]
    if numeric:
        slopes, mle_slopes, refused = each_predictor(
            lambda fit, chosen: fit.avg_slopes(chosen, prob=prob), result, numeric
        )
        left_out += [line for line in refused if line not in left_out]
        if slopes is not None:
            blocks += [
                ("h3", "Average slopes"),
                show.marginal_table(slopes, mle_slopes, points=True),
            ]
    if left_out:
        blocks += [("h3", "Left out"), left_out]
    return Section("marginal", "Marginal effects", blocks)


def _model(result: CategoryPosterior) -> Section:
    mle = result.mle
    cd, family = mle.cdesign, mle.family
    design = cd.design
    names = [str(level) for level in cd.level_names]
    if family.ordered:
        levels = "Levels (ordered): " + " < ".join(names)
    else:
        levels = f"Levels: {', '.join(names)}; reference: {names[cd.reference]}"
    lines = [
        f"Formula: {design.formula.text}"
        if design.formula is not None
        else "Model matrix given as arrays",
        f"Family: {family.name} (as R's {family.r_function}); link: {mle.link.name}",
        levels,
        f"Observations: {design.n}"
        + (f" rows, {mle.nobs:g} counted with their weights" if design.weights is not None else "")
        + f"; parameters: {len(result.index)}",
    ]
    formula = design.formula
    if formula is not None and formula.dropped_rows:
        lines.append(f"Rows dropped for missing values: {len(formula.dropped_rows)}")
    return Section(
        "model", "Model and priors", [lines, ("h3", "Priors"), show.priors_display(result)]
    )


def _summary_blocks(result: CategoryPosterior, summary: pd.DataFrame) -> list[Any]:
    """One coefficient table per non-reference level (categorical), or the
    coefficients and then the cutpoints (cumulative)."""
    cd = result.mle.cdesign
    if not result.mle.family.ordered:
        reference = cd.level_names[cd.reference]
        blocks: list[Any] = [
            f"One coefficient per model column for each level against the reference level "
            f"{reference!r}: log(P(level) / P({reference})) rises by it per unit."
        ]
        for level in cd.level_names:
            if level == reference:
                continue
            rows = [name for name in summary.index if name.startswith(f"{level}:")]
            table = summary.loc[rows].set_axis([name.split(":", 1)[1] for name in rows])
            blocks += [("h3", f"{level} against {reference}"), show.summary_table(table)]
        return blocks
    p = len(result.priors.labels)
    blocks = []
    if p:
        blocks += [("h3", "Coefficients"), show.summary_table(summary.iloc[:p])]
    return [
        *blocks,
        ("h3", "Cutpoints"),
        f"P(Y ≤ level k) = F(ζ_k − η) with F the inverse {result.mle.link.name} link; the "
        "cutpoint lower|upper is ζ between those levels (polr's intercepts).",
        show.summary_table(summary.iloc[p:]),
    ]


def _meanings(result: CategoryPosterior, effect: str) -> dict[str, str]:
    """The glossary's entries that read otherwise for a categorical outcome."""
    mle = result.mle
    parameter = (
        "a coefficient (a column of the model matrix) or a cutpoint lower|upper between "
        "two adjacent levels"
        if mle.family.ordered
        else "a coefficient of a level against the reference level, as level:column"
    )
    return {
        "parameter": parameter,
        "predictor": "a coefficient (level:column for the categorical family)",
        "as a factor": f"the effect named in the cell ({effect}): "
        "median and interval, per one-unit change",
        "mle": f"maximum-likelihood estimate (Newton–Raphson, R's {mle.family.r_function})",
    }


def _effects_meaning(result: CategoryPosterior) -> str:
    mle = result.mle
    cd = mle.cdesign
    if not mle.family.ordered:
        return (
            "exp(coefficient) per level and column: how the ratio P(level) / "
            f"P({cd.level_names[cd.reference]}) is multiplied per unit (relative-risk ratio)."
        )
    if mle.family.effect_label(mle.link) is not None:
        return (
            "exp(coefficient): how the odds of a level above any given one are multiplied "
            "per unit (cumulative odds ratio, the same at every cutpoint)."
        )
    return (
        f"The coefficient itself: the shift of the latent {mle.link.name} variable per "
        "unit (exp() has no meaning here)."
    )


def _ppc_display(ppc: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for level, row in ppc.iterrows():
        spread = (row["conf_high"] - row["conf_low"]) / 4
        whole = float(row["observed"]).is_integer()
        rows.append(
            {
                "level": str(level),
                "observed": integer(row["observed"]) if whole else significant(row["observed"]),
                "predicted": with_uncertainty(row["predicted"], spread),
                "conf_low": with_uncertainty(row["conf_low"], spread),
                "conf_high": with_uncertainty(row["conf_high"], spread),
                "p_value": fixed(row["p_value"], 2),
            }
        )
    return pd.DataFrame(rows, columns=["level", *ppc.columns])


# --- figures ------------------------------------------------------------------------------


def _effects_figure(effects: pd.DataFrame) -> Any:
    import matplotlib.pyplot as plt

    ratio = effects.attrs["effect"] != "latent shift"
    figure, axis = plt.subplots(figsize=(6.5, 1.0 + 0.32 * len(effects)))
    position = np.arange(len(effects))[::-1]
    median = effects["median"].to_numpy(dtype=float)
    low, high = effects["eti_lower"].to_numpy(float), effects["eti_upper"].to_numpy(float)
    axis.errorbar(median, position, xerr=[median - low, high - median], fmt="o", color="C0")
    axis.axvline(1.0 if ratio else 0.0, color="0.5", linewidth=0.8, linestyle="--")
    if ratio:
        axis.set_xscale("log")
    axis.set_yticks(position, list(effects.index))
    axis.set_xlabel(str(effects.attrs["effect"]))
    figure.tight_layout()
    return figure


def _ppc_figure(ppc: pd.DataFrame) -> Any:
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.5, 3.2))
    x = np.arange(len(ppc))
    axis.bar(x, ppc["observed"], color="0.8", label="observed")
    predicted = ppc["predicted"].to_numpy(float)
    error = [predicted - ppc["conf_low"].to_numpy(float), ppc["conf_high"] - predicted]
    axis.errorbar(x, predicted, yerr=error, fmt="o", color="C0", label="predicted")
    axis.set_xticks(x, [str(level) for level in ppc.index])
    axis.set_ylabel("count")
    axis.legend(frameon=False)
    figure.tight_layout()
    return figure
