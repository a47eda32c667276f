r"""Prior and likelihood sensitivity by power-scaling (ArviZ's ``psense_summary``).

Power-scaling (Kallioinen et al. 2024) raises the prior, or the likelihood, to a power
:math:`\alpha` near 1 and measures by importance sampling how far each parameter's
posterior moves (the derivative of a cumulative Jensen–Shannon distance in
:math:`\log_2 \alpha`). ArviZ computes it all; this module gives it the two numbers per
draw it reads:

- the log prior, from the priors' own densities
  (:meth:`bayesglm.priors.ResolvedPriors.log_prior`);
- the log-likelihood summed over the rows, accumulated over row chunks. ArviZ sums
  its ``log_likelihood`` group over every observation before it weights the draws
  (:math:`\log w_s = (\alpha - 1) \sum_i \log p(y_i \mid \theta_s)`), so one summed
  "observation" per draw gives the same weights as the draws × n pointwise array,
  which is never built.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .effects import compare_mle_table
from .thresholds import PSENSE_THRESHOLD

if TYPE_CHECKING:
    import xarray as xr

    from .results import GLMResult

__all__ = ["log_likelihood_sums", "sensitivity_lines", "sensitivity_table", "sensitivity_tree"]

# ArviZ's diagnoses, in the words of our tables.
_DIAGNOSES = {
    "potential prior-data conflict": "prior-data conflict",
    "potential strong prior / weak likelihood": "weak likelihood",
    "✓": "–",
}
_NUMBERS_PER_CHUNK = 500_000  # draws x rows held at once


def log_likelihood_sums(result: GLMResult, chunk: int | None = None) -> np.ndarray:
    """The log-likelihood of all rows at each draw, shape (chain * draw,).

    Summed over chunks of ``chunk`` rows (by default about half a million numbers'
    worth of rows at a time), so no draws × n array is ever held.
    """
    draws = result.chains * result.draws_per_chain
    rows = chunk or max(1, _NUMBERS_PER_CHUNK // draws)
    total = np.zeros(draws)
    for _, values in result.log_likelihood(rows):
        total += values.sum(axis=1)
    return total


def sensitivity_tree(result: GLMResult, chunk: int | None = None) -> xr.DataTree:
    """The DataTree ``psense`` reads: ``posterior``, ``log_prior`` (``prior``: the log
    prior per draw) and ``log_likelihood`` (``y``: the log-likelihood per draw, summed
    over the rows; see the module's note)."""
    import xarray as xr

    shape = (result.chains, result.draws_per_chain)
    natural = None if result.natural_draws is None else result.natural_draws.reshape(-1)
    log_prior = result.priors.log_prior(result._beta(), natural).reshape(shape)
    log_lik = log_likelihood_sums(result, chunk).reshape(shape)
    dims = ("chain", "draw")
    return xr.DataTree.from_dict(
        {
            "posterior": result._posterior,
            "log_prior": xr.Dataset({"prior": (dims, log_prior)}),
            "log_likelihood": xr.Dataset({"y": (dims, log_lik)}),
        }
    )


def sensitivity_table(result: GLMResult, chunk: int | None = None) -> pd.DataFrame:
    """Power-scaling sensitivity per parameter, and what it says of the MLE verdicts.

    Columns: ``prior`` and ``likelihood`` (ArviZ's sensitivities), ``diagnosis``
    ("prior-data conflict" where both reach the threshold, "weak likelihood" where
    the prior's does and the likelihood's does not, else "–"), ``verdict`` (the
    MLE-versus-posterior verdict of :func:`bayesglm.effects.compare_mle_table`) and
    ``power_scaling`` (whether power-scaling bears a "prior pull" verdict out, or
    flags a prior the verdict does not). The threshold is in
    ``frame.attrs["threshold"]``.
    """
    import arviz_stats as azs
    from arviz_base import dataset_to_dataframe

    tree = sensitivity_tree(result, chunk)
    if np.ptp(tree["log_prior"]["prior"].values) > 0:
        # round_to: ArviZ rounds to 3 decimals by default; keep full precision. Its
        # logged advice on a diagnosis is ours to word (the table's columns, print(fit)).
        logger = logging.getLogger("arviz_stats.psense")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            table = azs.psense_summary(tree, threshold=PSENSE_THRESHOLD, round_to=15)
        finally:
            logger.setLevel(level)
    else:
        # Flat priors throughout: power-scaling the prior changes nothing (ArviZ's
        # Pareto smoothing refuses constant weights), so the prior's sensitivity is 0,
        # and with it ArviZ's diagnosis is "✓" whatever the likelihood's.
        likelihood = azs.psense(tree, group="likelihood")
        table = dataset_to_dataframe(
            likelihood.expand_dims(component=["likelihood"]), sample_dims=["component"]
        ).T
        table.insert(0, "prior", 0.0)
        table["diagnosis"] = "✓"
    names = {f"beta[{name}]": name for name in result.names}
    table.index = pd.Index([names.get(label, label) for label in table.index], name="parameter")
    table["diagnosis"] = table["diagnosis"].map(_DIAGNOSES)
    verdicts = compare_mle_table(result)["verdict"]
    table["verdict"] = verdicts.reindex(table.index).fillna("")
    table["power_scaling"] = [
        _reconcile(verdict, prior)
        for verdict, prior in zip(table["verdict"], table["prior"], strict=True)
    ]
    table.attrs["threshold"] = PSENSE_THRESHOLD
    return table


def _reconcile(verdict: str, prior_sensitivity: float) -> str:
    """Whether power-scaling agrees with the verdict that the prior moved the estimate."""
    informative = prior_sensitivity >= PSENSE_THRESHOLD
    if verdict == "prior pull":
        return "agrees: the prior is informative" if informative else "does not flag the prior"
    if informative:
        return "flags the prior the verdict does not"
    return ""


def sensitivity_lines(table: pd.DataFrame) -> list[str]:
    """The sensitivity table in words: one line per flagged parameter or disputed
    verdict, or one line saying that nothing was flagged."""
    threshold = table.attrs["threshold"]
    lines = []
    for name, row in table.iterrows():
        flagged = row["diagnosis"] != "–"
        if not (flagged or row["power_scaling"]):
            continue
        what = row["diagnosis"] if flagged else "informative prior"
        line = f"{name}: {what} (prior {row['prior']:.3f}, likelihood {row['likelihood']:.3f})"
        if row["power_scaling"]:
            line += f"; the '{row['verdict']}' verdict: power-scaling {row['power_scaling']}"
        lines.append(line)
    if not lines:
        lines = [
            f"no prior-data conflict and no weak likelihood (every prior sensitivity below "
            f"{threshold:g})"
        ]
    return lines
