r"""The rows of an effects table: exp(beta) (or beta) summarized, from posterior draws
or from a maximum-likelihood estimate; and which rows a categorical outcome has.

A row summarizes a distribution of beta: the posterior's draws
(:func:`draw_effect`), or the Wald normal :math:`N(\hat\beta, \mathrm{SE}^2)` of a
maximum-likelihood fit (:func:`wald_effect`), with the same columns, so that one
table serves both. The effects tables of the binary families are built in
:mod:`bayesglm.effects`; those of the categorical and cumulative families, for the
posterior and for the MLE alike, in :func:`category_effects`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from .predict import percent

__all__ = ["category_effects", "draw_effect", "effects_frame", "wald_effect"]


def draw_effect(beta: np.ndarray, exponentiate: bool, prob: float) -> dict[str, float]:
    """One row of an effects table from a coefficient's draws: the mean, median and
    ``prob`` equal-tailed interval of exp(beta) (of beta when not ``exponentiate``),
    and the probability of beta's sign (``p_direction``) and of it being positive."""
    values = np.exp(beta) if exponentiate else beta
    low, high = np.quantile(values, [(1 - prob) / 2, (1 + prob) / 2])
    p_positive = float(np.mean(beta > 0))
    return {
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "eti_lower": float(low),
        "eti_upper": float(high),
        "p_direction": max(p_positive, float(np.mean(beta < 0))),
        "p_positive": p_positive,
    }


def wald_effect(estimate: float, se: float, exponentiate: bool, prob: float) -> dict[str, float]:
    r""":func:`draw_effect`'s columns for the Wald normal :math:`N(\hat\beta, SE^2)` of a
    maximum-likelihood estimate, in closed form.

    ``median`` is the estimate (exp(estimate)), ``eti_lower``/``eti_upper`` the Wald
    interval :math:`\hat\beta \pm q\,SE` (exponentiated: exp commutes with the
    normal's quantiles), ``mean`` the normal's mean (the log-normal's,
    :math:`e^{\hat\beta + SE^2/2}`, for exp(beta)), ``p_positive``
    :math:`\Phi(\hat\beta/SE)` and ``p_direction`` its larger side, which is
    1 - p/2 for the two-sided Wald p-value p.

    Examples
    --------
    >>> row = wald_effect(0.0, 1.0, True, 0.95)
    >>> round(row["median"], 3), round(row["eti_upper"], 3), row["p_direction"]
    (1.0, 7.099, 0.5)
    """
    q = float(special.ndtri(0.5 + prob / 2.0))
    low, high = estimate - q * se, estimate + q * se
    p_positive = float(special.ndtr(estimate / se)) if se > 0 else float(estimate > 0)
    if exponentiate:
        mean, median = np.exp(estimate + se**2 / 2), np.exp(estimate)
        low, high = np.exp(low), np.exp(high)
    else:
        mean = median = estimate
    return {
        "mean": float(mean),
        "median": float(median),
        "eti_lower": float(low),
        "eti_upper": float(high),
        "p_direction": max(p_positive, 1.0 - p_positive),
        "p_positive": p_positive,
    }


def effects_frame(
    rows: dict[str, dict], prob: float, label: str | None, interval: str | None = None
) -> pd.DataFrame:
    """The effects table of rows by parameter (:func:`draw_effect` and the effect's
    name and sentence), with the interval (equal-tailed unless ``interval`` names
    another) and effect named in its attrs."""
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "parameter"
    frame.attrs["prob"] = prob
    frame.attrs["interval"] = interval or f"{percent(prob)} equal-tailed"
    frame.attrs["effect"] = label
    return frame


def category_effects(
    mle: Any,
    numbers: Callable[[int, bool], dict[str, float]],
    prob: float,
    interval: str | None = None,
) -> pd.DataFrame:
    """What each coefficient of a categorical or cumulative model does, with a
    sentence each.

    Categorical: exp(beta) per (level, term), the relative-risk ratio of the level
    against the reference level (how P(level) / P(reference) is multiplied).
    Cumulative logit: exp(beta), the cumulative odds ratio (how the odds of a level
    above any given one are multiplied; polr's sign: a positive beta moves the
    outcome up). Other cumulative links: beta itself, a shift of the latent variable
    in units of its distribution's scale. Intercepts and cutpoints are baselines,
    left out.

    Parameters
    ----------
    mle : CategoryMLEResult
        The fit (its parameters' names, family and link).
    numbers : callable
        ``numbers(j, exponentiate)``: the row's numbers of parameter ``j``
        (:func:`draw_effect` of its draws, or :func:`wald_effect` of its estimate).
    prob : float
        Interval probability.
    interval : str, optional
        The interval's name, for ``attrs["interval"]`` (equal-tailed by default).
    """
    cd, family = mle.cdesign, mle.family
    intercept = None if cd.design.intercept is None else cd.design.names[cd.design.intercept]
    ratio_label = family.effect_label(mle.link)
    ratio = ratio_label is not None
    label = ratio_label or "latent shift"
    reference = cd.level_names[cd.reference]
    rows = {}
    for j, name in enumerate(mle.index):
        term = name[1] if isinstance(name, tuple) else name
        if term == intercept or (family.ordered and j >= len(cd.terms)):
            continue
        row = numbers(j, ratio)
        median, low, high = row["median"], row["eti_lower"], row["eti_upper"]
        between = f"({percent(prob)} interval {low:.3g} to {high:.3g})"
        if not family.ordered:
            sentence = (
                f"Per unit of {term}, the chance of {name[0]!r} against {reference!r} "
                f"(their probabilities' ratio) is multiplied by {median:.3g} {between}."
            )
        elif ratio:
            sentence = (
                f"Per unit of {term}, the odds of a level above any given one are "
                f"multiplied by {median:.3g} {between}."
            )
        else:
            sentence = (
                f"Per unit of {term}, the latent {mle.link.name} variable moves by "
                f"{median:.3g} {between}: a higher level is more likely where it is "
                "positive."
            )
        key = ":".join(name) if isinstance(name, tuple) else name
        rows[key] = {"effect": label, **row, "sentence": sentence}
    return effects_frame(rows, prob, label, interval)
