"""The fit's tables as a person reads them: rounded cells, plain headers, a glossary.

Every table the reports and ``print(fit)`` show goes through one function here, so
the HTML report, the Markdown report and the console agree digit for digit. Cells
are strings rounded by :mod:`bayesglm.rounding` (an estimate to the digit its sd
supports, effective sample sizes as integers, checks as ✓/✗ with their value); the
row label becomes an ordinary first column (no index header row); and every column
header has an entry in :data:`GLOSSARY`.

The findings table puts what a reviewer reads first in one place: per coefficient,
the effect as a factor (exp(beta)) and on the mean scale (the average comparison),
the MLE-versus-posterior verdict, the prior sensitivity and the sampler's health.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .predict import percent
from .rounding import (
    MISSING,
    check_mark,
    fixed,
    integer,
    significant,
    with_relative_uncertainty,
    with_uncertainty,
)
from .thresholds import BFMI_LIMIT, ESS_PER_CHAIN, RHAT_LIMIT

if TYPE_CHECKING:
    from .convergence import Diagnostics
    from .results import GLMResult

__all__ = [
    "GLOSSARY",
    "checks_table",
    "compare_table",
    "effects_display",
    "factor_cell",
    "findings_lines",
    "findings_table",
    "interval_heading",
    "marginal_table",
    "priors_display",
    "r2_display",
    "sampler_cell",
    "sensitivity_display",
    "separation_line",
    "summary_table",
]

GLOSSARY: dict[str, str] = {
    "parameter": "a coefficient (a column of the model matrix) or the family's dispersion "
    "parameter under its natural name (sigma, shape, lam, alpha)",
    "prior": "in the priors table, the prior distribution; in the sensitivity table, how "
    "far the posterior moves when the prior is raised to a power near 1",
    "source": "where the prior came from: given by you, or the auto-scaled default",
    "check": "a sampler health check",
    "result": "✓ passed or ✗ failed, with the value measured",
    "wanted": "the value a healthy run has (bayesglm.thresholds)",
    "mean": "posterior mean",
    "sd": "posterior standard deviation; estimates beside it are rounded to the digit it "
    "supports (its second significant digit)",
    "median": "posterior median",
    "eti_lower": "lower end of the equal-tailed interval (probability in the heading)",
    "eti_upper": "upper end of the equal-tailed interval",
    "mcse_mean": "Monte Carlo standard error of the mean: how much the mean would move "
    "with another run of the sampler",
    "ess_bulk": "effective sample size for the centre of the distribution (integer)",
    "ess_tail": "effective sample size for the tails (5% and 95% quantiles)",
    "r_hat": f"rank-normalized split R-hat; 1.00 is perfect, above {RHAT_LIMIT:g} fails",
    "effect": "what the numbers are: exp(coefficient) as a ratio (odds ratio, rate ratio, "
    "...) for a change, the odds/rate/... itself for a baseline, or the coefficient "
    "where exp() has no meaning",
    "p_direction": "probability of direction: max(P(β > 0), P(β < 0)), from 0.5 to 1",
    "p_positive": "P(β > 0): the probability that the effect raises the mean",
    "mle": "maximum-likelihood estimate (IRLS, R's glm())",
    "mle_se": "its standard error",
    "post_mean": "posterior mean",
    "post_sd": "posterior standard deviation",
    "std_diff": "(posterior mean − MLE) / SE: how far apart, in standard errors",
    "prior_shift": "(posterior mode − MLE) / SE: the part of that distance the prior causes",
    "sd_ratio": "posterior sd / prior sd: near 0 the data dominate, near 1 the prior does",
    "verdict": "MLE against posterior: agrees, prior pull, differs, separation or "
    "sampling problem (explained under the table)",
    "likelihood": "how far the posterior moves when the likelihood is raised to a power near 1",
    "diagnosis": "prior-data conflict (both sensitivities count), weak likelihood (only "
    "the prior's counts), or – (neither)",
    "power_scaling": "whether power-scaling bears out a prior-pull verdict, or flags a "
    "prior the verdict does not",
    "kind": "Bayesian R² (Gelman et al. 2019) or LOO-R² (leave-one-out)",
    "estimate": "the posterior median (R²) or the estimate named by the column",
    "conf_low": "lower end of the interval",
    "conf_high": "upper end of the interval",
    "term": "the predictor that moves",
    "contrast": "how it moves: +1 unit for a number, a level against the reference level "
    "for a factor, dY/dX for a slope",
    "posterior": "posterior median and equal-tailed interval, on the mean scale (draw by draw)",
    "MLE": "maximum-likelihood estimate and Wald interval by the delta method",
    "predictor": "a coefficient (or a predictor that has no coefficient of its own)",
    "as a factor": "exp(coefficient): the ratio the link gives a meaning to (median and "
    "interval), per one-unit change",
    "on the mean": "the average change of the predicted mean when the predictor moves "
    "(+1 unit, or the level against the reference), percentage points for a probability",
    "sensitivity": "the power-scaling diagnosis (ArviZ psense)",
    "sampler": "✓ when this parameter's R-hat and bulk ESS pass, with their values",
    "level": "a level of the categorical response",
    "observed": "the level's count in the data (frequency weights counted)",
    "predicted": "the level's count in data sets replicated from the posterior (one per "
    "draw): mean and interval",
    "p_value": "two-sided posterior predictive p-value of the observed count: near 0, the "
    "model predicts the level's frequency badly",
    "record": "what produced the fit: sampler, seed, draws, seconds per stage, versions",
    "value": "the record's value",
}


def _frame(rows: list[dict[str, str]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns).fillna("")


def _interval(low: float, high: float, fmt: Callable[[float], str]) -> str:
    joint = " to " if low < 0 else "–"
    return f"{fmt(low)}{joint}{fmt(high)}"


def _spread(low: float, high: float) -> float:
    """An sd-like uncertainty from an interval's ends, to round its numbers by."""
    return (high - low) / 4


def _effect_format(row: pd.Series, ratio: bool) -> Callable[[float], str]:
    """How an effect's numbers are rounded: exp(beta) by its relative uncertainty
    (its interval is skewed: the log scale's sd), beta by its sd."""
    low, high = row["eti_lower"], row["eti_upper"]
    if ratio and low > 0:
        log_sd = _spread(np.log(low), np.log(high))
        return lambda v: with_relative_uncertainty(v, log_sd)
    return lambda v: with_uncertainty(v, _spread(low, high))


# --- the API's tables, rounded --------------------------------------------------------


def priors_display(result: GLMResult) -> pd.DataFrame:
    return result.priors.table().reset_index()


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The posterior summary, each estimate to the digit its sd supports."""
    rows = []
    for name, row in summary.iterrows():
        by_sd = lambda v, sd=row["sd"]: with_uncertainty(v, sd)  # noqa: E731
        rows.append(
            {
                "parameter": str(name),
                "mean": by_sd(row["mean"]),
                "sd": significant(row["sd"], 2),
                "median": by_sd(row["median"]),
                "eti_lower": by_sd(row["eti_lower"]),
                "eti_upper": by_sd(row["eti_upper"]),
                "mcse_mean": significant(row["mcse_mean"], 2),
                "ess_bulk": integer(row["ess_bulk"]),
                "ess_tail": integer(row["ess_tail"]),
                "r_hat": fixed(row["r_hat"], 3),
            }
        )
    return _frame(rows, ["parameter", *summary.columns])


def checks_table(diagnostics: Diagnostics) -> pd.DataFrame:
    """One row per sampler check: ✓/✗ with the value, and what a healthy run has."""
    shown = {
        "divergent transitions": (integer, "= 0"),
        "max R-hat": (lambda v: fixed(v, 3), f"≤ {RHAT_LIMIT:g}"),
        "min bulk ESS": (integer, f"≥ {ESS_PER_CHAIN * diagnostics.chains}"),
        "min tail ESS": (integer, f"≥ {ESS_PER_CHAIN * diagnostics.chains}"),
        "min E-BFMI": (lambda v: fixed(v, 2), f"≥ {BFMI_LIMIT:g}"),
        "tree-depth saturation": (lambda v: f"{100 * v:.1f}%", "= 0%"),
    }
    rows = []
    for check, row in diagnostics.table().iterrows():
        fmt, wanted = shown[check]
        rows.append(
            {
                "check": check,
                "result": f"{check_mark(bool(row['passed']))} {fmt(row['value'])}",
                "wanted": wanted,
            }
        )
    return _frame(rows, ["check", "result", "wanted"])


def effects_display(effects: pd.DataFrame) -> pd.DataFrame:
    rows = []
    ratio = effects.attrs["effect"] is not None
    for name, row in effects.iterrows():
        by = _effect_format(row, ratio)
        rows.append(
            {
                "parameter": str(name),
                "effect": row["effect"],
                **{c: by(row[c]) for c in ("mean", "median", "eti_lower", "eti_upper")},
                "p_direction": fixed(row["p_direction"], 2),
                "p_positive": fixed(row["p_positive"], 2),
            }
        )
    columns = [c for c in effects.columns if c != "sentence"]
    return _frame(rows, ["parameter", *columns])


def compare_table(comparison: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for name, row in comparison.iterrows():
        rows.append(
            {
                "parameter": str(name),
                "mle": with_uncertainty(row["mle"], row["mle_se"]),
                "mle_se": significant(row["mle_se"], 2),
                "post_mean": with_uncertainty(row["post_mean"], row["post_sd"]),
                "post_sd": significant(row["post_sd"], 2),
                **{c: fixed(row[c], 2) for c in ("std_diff", "prior_shift", "sd_ratio")},
                "verdict": row["verdict"],
            }
        )
    return _frame(rows, ["parameter", *comparison.columns])


def sensitivity_display(table: pd.DataFrame) -> pd.DataFrame:
    rows = [
        {
            "parameter": str(name),
            "prior": fixed(row["prior"], 3),
            "likelihood": fixed(row["likelihood"], 3),
            "diagnosis": row["diagnosis"],
            "verdict": row["verdict"],
            "power_scaling": row["power_scaling"] or "–",
        }
        for name, row in table.iterrows()
    ]
    return _frame(rows, ["parameter", *table.columns])


def r2_display(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for kind, row in table.iterrows():
        spread = _spread(row["conf_low"], row["conf_high"])
        rows.append(
            {"kind": str(kind)}
            | {c: with_uncertainty(row[c], spread) for c in ("estimate", "conf_low", "conf_high")}
        )
    return _frame(rows, ["kind", "estimate", "conf_low", "conf_high"])


# --- marginal effects ---------------------------------------------------------------------


def _marginal_cell(row: pd.Series, points: bool) -> str:
    """ "-1.64 pp (-2.20 to -0.96)": estimate and interval, to the interval's digits."""
    scale = 100 if points else 1
    if not np.isfinite([row["estimate"], row["conf_low"], row["conf_high"]]).all():
        return MISSING  # the mean is undefined at some rows (a DomainWarning said where)
    low, high = scale * row["conf_low"], scale * row["conf_high"]
    fmt = lambda v: with_uncertainty(v, _spread(low, high))  # noqa: E731
    unit = " pp" if points else ""
    return f"{fmt(scale * row['estimate'])}{unit} ({_interval(low, high, fmt)})"


def marginal_table(
    posterior: pd.DataFrame, mle: pd.DataFrame | None, points: bool
) -> pd.DataFrame:
    """Average comparisons or slopes: posterior beside the MLE's delta method, one row
    per term and contrast (and response level, for a categorical outcome's tables,
    whose ``group`` column names it). ``points``: a probability, shown in percentage
    points."""
    levels = "group" in posterior.columns
    rows = []
    for j, row in posterior.iterrows():
        rows.append(
            ({"level": str(row["group"])} if levels else {})
            | {
                "term": str(row["term"]),
                "contrast": str(row["contrast"]),
                "posterior": _marginal_cell(row, points),
                "MLE": "–" if mle is None else _marginal_cell(mle.loc[j], points),
            }
        )
    columns = ["term", "contrast", "posterior", "MLE"]
    return _frame(rows, ["level", *columns] if levels else columns)


# --- findings -----------------------------------------------------------------------------


def _coefficient_of(term: str, contrast: str, names: list[str]) -> str | None:
    """The coefficient that a comparison of ``term`` is the effect of, if one is: the
    column of that name (a number), or the level's treatment column (a factor)."""
    if term in names:  # a number's own column: +1, or 1 - 0 for a 0/1 number
        return term
    level = contrast.split(" - ")[0]
    pattern = re.compile(rf"(C\()?{re.escape(term)}(\)|,.*\))?\[(T\.)?{re.escape(level)}\]")
    found = [name for name in names if pattern.fullmatch(name)]
    return found[0] if len(found) == 1 else None


def factor_cell(row: pd.Series, ratio: bool) -> str:
    """An effect as the findings show it: "odds ratio 1.25 (1.10–1.42)"."""
    fmt = _effect_format(row, ratio)
    return (
        f"{row['effect']} {fmt(row['median'])} "
        f"({_interval(row['eti_lower'], row['eti_upper'], fmt)})"
    )


def sampler_cell(row: pd.Series, chains: int) -> str:
    """✓ or ✗ for one parameter's R-hat and bulk ESS (a row of the summary), with them."""
    healthy = row["r_hat"] <= RHAT_LIMIT or np.isnan(row["r_hat"])
    healthy = healthy and row["ess_bulk"] >= ESS_PER_CHAIN * chains
    values = f"R-hat {fixed(row['r_hat'], 3)}, ESS {integer(row['ess_bulk'])}"
    return f"{check_mark(bool(healthy))} {values}"


def findings_table(
    result: GLMResult,
    effects: pd.DataFrame,
    comparisons: pd.DataFrame,
    sensitivity: pd.DataFrame | None,
) -> pd.DataFrame:
    """One row per coefficient (and per predictor that moves no single coefficient):
    its effect as a factor and on the mean scale, the MLE-versus-posterior verdict, the
    prior sensitivity (when computed) and the sampler's health for it."""
    names = result.names
    points = result.spec.family.quantity == "probability"
    summary = result.summary(effects.attrs["prob"])
    verdicts = result.compare_mle()["verdict"]
    marginal: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    for _, row in comparisons.iterrows():
        cell = f"{_marginal_cell(row, points)} for {row['contrast']}"
        coefficient = _coefficient_of(str(row["term"]), str(row["contrast"]), names)
        if coefficient is None:
            extra.append((f"{row['term']} ({row['contrast']})", cell))
        else:
            marginal[coefficient] = cell
    rows = []
    for name in names:
        row = {
            "predictor": name,
            "as a factor": factor_cell(effects.loc[name], effects.attrs["effect"] is not None),
            "on the mean": marginal.get(name, "–"),
            "verdict": verdicts[name],
            "sampler": sampler_cell(summary.loc[name], result.chains),
        }
        if sensitivity is not None:
            diagnosis = sensitivity.loc[name, "diagnosis"]
            row["sensitivity"] = "none" if diagnosis == "–" else diagnosis
        rows.append(row)
    for label, cell in extra:
        rows.append({"predictor": label, "as a factor": "–", "on the mean": cell})
    columns = ["predictor", "as a factor", "on the mean", "verdict"]
    columns += ["sensitivity"] if sensitivity is not None else []
    return _frame(rows, [*columns, "sampler"])


def separation_line(result: GLMResult) -> str:
    return (
        "Separation in the data along " + ", ".join(result.mle.separation) + ": the MLE "
        "does not exist; the posterior is finite thanks to the prior."
    )


def findings_lines(
    result: GLMResult, diagnostics: Diagnostics, sensitivity: pd.DataFrame | None
) -> list[str]:
    """The lines above the findings table: sampler health, separation, the verdicts
    that occur, and the prior sensitivity in one line per diagnosis."""
    lines = [
        f"Sampler: {check_mark(True)} all checks passed."
        if diagnostics.ok
        else f"Sampler: {check_mark(False)} " + " ".join(diagnostics.problems)
    ]
    if result.mle.separation:
        lines.append(separation_line(result))
    counts = result.compare_mle()["verdict"].value_counts()
    lines.append("MLE vs posterior: " + ", ".join(f"{v} ({n})" for v, n in counts.items()) + ".")
    if sensitivity is None:
        return [*lines, "Prior sensitivity: fit.sensitivity() computes it."]
    threshold = sensitivity.attrs["threshold"]
    flagged = sensitivity[sensitivity["diagnosis"] != "–"]
    if flagged.empty:
        lines.append(
            f"Prior sensitivity: no prior-data conflict and no weak likelihood (every "
            f"prior sensitivity below {threshold:g})."
        )
    for diagnosis, group in flagged.groupby("diagnosis", sort=False):
        lines.append(
            f"Prior sensitivity: {diagnosis} for {len(group)} parameter(s): "
            + ", ".join(map(str, group.index))
            + "."
        )
    for reading, group in sensitivity.groupby("power_scaling", sort=False):
        if reading:
            lines.append(
                f"Power-scaling {reading} for {len(group)} parameter(s): "
                + ", ".join(map(str, group.index))
                + "."
            )
    return lines


def interval_heading(prob: float) -> str:
    return f"{percent(prob)} equal-tailed intervals"
