"""Out-of-sample fit by PSIS-LOO (ArviZ) and model comparison.

The pointwise log-likelihood is computed on demand from the draws (never stored in
the fit), weighted as in the fit, and handed to ArviZ.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import BayesGLMError, SamplingWarning, row_label
from .thresholds import PARETO_K_LIMIT

if TYPE_CHECKING:
    import xarray as xr

    from .results import GLMResult

__all__ = ["compare", "log_likelihood_tree", "loo"]


def log_likelihood_tree(result: GLMResult) -> xr.DataTree:
    """Posterior plus a ``log_likelihood`` group (``y`` over chain, draw, obs)."""
    import xarray as xr  # loaded on first use: `import bayesglm` stays lean

    values = np.concatenate([chunk for _, chunk in result.log_likelihood()], axis=1)
    chains, draws = result.chains, result.draws_per_chain
    log_lik = xr.Dataset({"y": (("chain", "draw", "obs"), values.reshape(chains, draws, -1))})
    return xr.DataTree.from_dict({"posterior": result._posterior, "log_likelihood": log_lik})


def loo(result: GLMResult) -> Any:
    """PSIS-LOO of a fit; warns (SamplingWarning) when Pareto k exceeds 0.7."""
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # we word the Pareto-k warning ourselves
        elpd = az.loo(log_likelihood_tree(result), pointwise=True)
    bad = int(np.sum(np.asarray(elpd.pareto_k) > PARETO_K_LIMIT))
    if bad:
        warnings.warn(
            f"PSIS-LOO: {bad} observation(s) have Pareto k > {PARETO_K_LIMIT}, so their "
            "leave-one-out estimates are unreliable (influential points); consider "
            "K-fold cross-validation or a more robust family.",
            SamplingWarning,
            stacklevel=3,
        )
    return elpd


def compare(fits: Mapping[str, GLMResult]) -> pd.DataFrame:
    """Rank fits of the same observations by expected log predictive density (PSIS-LOO).

    The fits must describe the same observations in the same order: the same
    response, the same row labels (when both come from a data frame), the same
    binomial trials and prior weights, and families whose log-likelihoods are on
    one scale (probabilities of counts, or densities of continuous responses, not
    one of each). Offsets and predictors may differ: they are part of the model,
    not of the data. Anything else is refused, naming the fits and what differs,
    because ArviZ would pair the pointwise values blindly.

    Parameters
    ----------
    fits : dict of str to GLMResult
        At least two posterior fits, by name.

    Returns
    -------
    DataFrame
        ArviZ's comparison at full precision (``rank``, ``elpd_diff``, ``dse``,
        ``p_worse``, ``diag_diff``, ``diag_elpd``, ``p``, ``elpd``, ``se``,
        ``weight``; stacking weights), best first, with a ``pareto_k_bad`` column
        counting observations with Pareto k > 0.7. ``elpd``, ``se`` and ``p`` equal
        each fit's :func:`loo`.

    Raises
    ------
    BayesGLMError
        Fewer than two fits, or fits that are not of the same observations.
    """
    import arviz as az

    if len(fits) < 2:
        raise BayesGLMError(
            f"compare needs at least two fits in a dict; got ({len(fits)} fit(s))."
        )
    _check_same_observations(fits)
    elpds = {name: loo(fit) for name, fit in fits.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        # round_to="none": ArviZ's default rounds to 2 significant digits for display.
        table = az.compare(elpds, round_to="none")
    table["pareto_k_bad"] = [
        int(np.sum(np.asarray(elpds[name].pareto_k) > PARETO_K_LIMIT)) for name in table.index
    ]
    return table


def _check_same_observations(fits: Mapping[str, GLMResult]) -> None:
    """Refuse fits whose pointwise log-likelihoods do not describe the same rows."""
    (first, reference), *others = fits.items()
    for name, fit in others:
        differences = _differences(reference, fit)
        if differences:
            raise BayesGLMError(
                f"fits {first!r} and {name!r} are not of the same observations: "
                f"{' and '.join(differences)}; compare needs fits of the same rows in the "
                "same order, with the same response, trials and prior weights, and families "
                "that are both discrete or both continuous; refit them on the same data; "
                f"got (fits={list(fits)!r})."
            )


def _differences(a: GLMResult, b: GLMResult) -> list[str]:
    """What makes fit ``b``'s observations other than fit ``a``'s, in words."""
    family_a, family_b = a.spec.family, b.spec.family
    differences = []
    if family_a.support.integer != family_b.support.integer:
        kinds = {True: "probabilities of a discrete response", False: "densities"}
        differences.append(
            f"the {family_a.name} log-likelihood gives {kinds[family_a.support.integer]} "
            f"and the {family_b.name} one {kinds[family_b.support.integer]}, which are "
            "not comparable"
        )
    if a.design.n != b.design.n:
        return [*differences, f"they have {a.design.n} and {b.design.n} rows"]
    rows_a, rows_b = _training_rows(a), _training_rows(b)
    if rows_a is not None and rows_b is not None and not rows_a.index.equals(rows_b.index):
        differences.append(_label_difference(rows_a, rows_b))
    for what, values_a, values_b in [
        ("responses", a.design.y, b.design.y),
        ("trials", _trials(a), _trials(b)),
        ("prior weights", a.design.prior_weights, b.design.prior_weights),
    ]:
        if (
            values_a is not None
            and values_b is not None
            and not np.array_equal(values_a, values_b)
        ):
            differences.append(_value_difference(what, values_a, values_b, rows_a))
    return differences


def _training_rows(fit: GLMResult) -> pd.DataFrame | None:
    """The training rows of a formula fit (for their labels); None for a fit from arrays."""
    formula = fit.design.formula
    return None if formula is None else formula.training


def _trials(fit: GLMResult) -> np.ndarray | None:
    """Trials per row of a successes-of-trials family (1 each for the bernoulli).

    None for the other families: a count of events has no number of trials, and a
    Poisson and a binomial model of the same counts are comparable.
    """
    if not fit.spec.family.is_probability:
        return None
    return fit.design.trial_counts


def _label_difference(rows_a: pd.DataFrame, rows_b: pd.DataFrame) -> str:
    labels_a, labels_b = list(rows_a.index), list(rows_b.index)
    position = next(i for i, (x, y) in enumerate(zip(labels_a, labels_b, strict=True)) if x != y)
    if set(labels_a) == set(labels_b):
        how = "their rows are in another order"
    else:
        how = "their row labels differ"
    return (
        f"{how} (position {position}: row {row_label(rows_a, position)!r} against "
        f"row {row_label(rows_b, position)!r})"
    )


def _value_difference(
    what: str, values_a: np.ndarray, values_b: np.ndarray, rows: pd.DataFrame | None
) -> str:
    differ = np.flatnonzero(values_a != values_b)
    first = int(differ[0])
    row = first if rows is None else row_label(rows, first)
    return (
        f"their {what} differ at {differ.size} of {values_a.size} rows (first at row "
        f"{row!r}: {values_a[first]:g} against {values_b[first]:g})"
    )


def plot_compare(table: pd.DataFrame):
    """ELPD with its standard error per model, best first (matplotlib Figure)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 0.6 * len(table) + 1.2))
    y = np.arange(len(table))[::-1]
    ax.errorbar(table["elpd"], y, xerr=table["se"], fmt="o", color="#1f5f8b", capsize=3)
    ax.set_yticks(y, list(table.index))
    ax.set_xlabel("ELPD (PSIS-LOO), higher is better")
    ax.set_title("Model comparison")
    fig.tight_layout()
    return fig
