"""Effect tables: exp(beta) per coefficient, and the MLE-versus-posterior comparison.

Pure computation on a fitted :class:`~bayesglm.results.GLMResult`; every summary is
taken over draws (quantiles commute with exp, so exp(beta) intervals are exact).
The limits of the verdicts are in :mod:`bayesglm.thresholds`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .effect_rows import draw_effect, effects_frame
from .laplace import natural_estimates
from .marginal import outcome_label
from .predict import percent
from .rounding import with_relative_uncertainty, with_uncertainty
from .thresholds import AGREE_SE, ESS_PER_CHAIN, PRIOR_HOLD, PRIOR_SHARE, RHAT_LIMIT, SPREAD_FACTOR

if TYPE_CHECKING:
    from .design import Design
    from .results import GLMResult

__all__ = ["compare_mle_table", "effects_table", "verdict"]

_DUMMY = re.compile(r"^(?P<var>.*)\[T\.(?P<level>.*)\]$")
_LEVEL = re.compile(r"^(?P<var>[^:]*)\[(?P<level>[^:\]]*)\]$")  # full-rank coding: g[a]
# What exp(eta) itself is, where exp(beta) of a change is the ratio of it.
_BASELINE = {"odds ratio": "odds", "hazard ratio": "cumulative hazard"}


def _baseline_label(label: str) -> str:
    """What exp(beta) of a baseline is, given the ratio a change's exp(beta) is."""
    return _BASELINE.get(label, label.replace(" ratio", ""))


def _describe_change(name: str, names: list[str]) -> str:
    if ":" in name:
        change = f"the interaction {name} (a change in another term's effect)"
    elif match := _DUMMY.match(name):
        change = f"{match['var']} = {match['level']} (vs its reference level)"
    else:
        change = f"each one-unit increase in {name}"
    partners = _interaction_partners(name, names)
    return f"{change}, with {' and '.join(partners)}," if partners else change


def _interaction_partners(name: str, names: list[str]) -> list[str]:
    """Where a term's coefficient is its effect, when higher interactions contain it.

    With ``x:C(g)[T.b]`` in the model, ``x``'s coefficient is the slope at g's
    reference level only, and ``C(g)[T.b]``'s the contrast at x = 0.
    """
    own = set(name.split(":"))
    partners: list[str] = []
    for other in names:
        parts = other.split(":")
        if own < set(parts):
            for part in parts:
                match = _DUMMY.match(part)
                at = f"{match['var']} at its reference level" if match else f"{part} at 0"
                if part not in own and at not in partners:
                    partners.append(at)
    return partners


def _level_indicators(result: GLMResult) -> dict[str, tuple[str, str]]:
    """Columns that are a factor level's own indicator, as (variable, level).

    Only in a model without an intercept, where the first factor is coded with one
    0/1 column per level and each of their coefficients is that level's baseline.
    """
    if result.design.intercept is not None:
        return {}
    found = {}
    for j, name in enumerate(result.names):
        match = _LEVEL.match(name)
        column = result.design.X[:, j]
        if match and not match["level"].startswith("T.") and np.isin(column, (0.0, 1.0)).all():
            found[name] = (match["var"], match["level"])
    return found


def _baseline_where(name: str, result: GLMResult, levels: dict[str, tuple[str, str]]) -> str:
    """The setting of the predictors at which a baseline coefficient is read."""
    others = [n for n in result.names if n != name and n not in levels]
    if name in levels:
        variable, level = levels[name]
        return f"at {variable} = {level}" + (" with the other predictors at 0" if others else "")
    if not others:
        return ""
    if any(_DUMMY.match(n) for n in others):
        return "with every predictor at 0 (factors at their reference levels)"
    return "with every predictor at 0"


def _offset_unit(design: Design) -> str:
    """Per what a baseline of exp(eta) is counted when the model has an offset."""
    if design.offset is None:
        return ""
    formula = design.formula
    if formula is not None and formula.exposure is not None:
        return f" per unit of {formula.exposure}"
    offset_term = None if formula is None else formula.offset_term
    return f" per unit of exp({offset_term or 'offset'})"


def _sentence(
    name: str,
    result: GLMResult,
    levels: dict[str, tuple[str, str]],
    median: float,
    low: float,
    high: float,
    prob: float,
) -> str:
    family, link = result.spec.family, result.spec.link
    label = family.effect_label(link)
    outcome = outcome_label(result.design)
    # As in the tables: exp(beta) to its relative error, beta to its spread.
    if label and low > 0:
        log_sd = (np.log(high) - np.log(low)) / 4
        number = lambda v: with_relative_uncertainty(v, log_sd)  # noqa: E731
    else:
        number = lambda v: with_uncertainty(v, (high - low) / 4)  # noqa: E731
    interval = f"({percent(prob)} interval {number(low)}–{number(high)})"
    scale = family.quantity if link.name == "identity" else f"{link.name} of the {family.quantity}"
    if name == result.priors.intercept or name in levels:
        where, unit = _baseline_where(name, result, levels), ""
        if label:
            what, unit = _baseline_label(label), _offset_unit(result.design)
        else:
            what = scale
            if result.design.offset is not None:  # added on the link scale
                where = f"{where} and the offset at 0" if where else "with the offset at 0"
        verb = "are" if what == "odds" else "is"
        lead = f"{where}, the" if where else "the"
        return f"{lead} {what} of {outcome}{unit} {verb} {number(median)} {interval}"
    change = _describe_change(name, result.names)
    if label:
        what = f"the {label.replace(' ratio', '')} of {outcome}"
        return f"{change} multiplies {what} by {number(median)} {interval}"
    return (
        f"{change} changes the {scale} of {outcome} by {number(median)} "
        f"({percent(prob)} interval {number(low)} to {number(high)}); exp(beta) has no "
        f"meaning under the {link.name} link"
    )


def effects_table(result: GLMResult, prob: float = 0.95) -> pd.DataFrame:
    """exp(beta) per coefficient, labelled by the link, with a plain sentence each.

    Columns: ``effect`` (what the number is), ``mean``, ``median``, ``eti_lower``,
    ``eti_upper``, ``p_direction`` (the probability of direction, max(P(beta > 0),
    P(beta < 0)), between 0.5 and 1, as bayestestR's), ``p_positive`` (P(beta > 0),
    i.e. P(exp(beta) > 1)) and ``sentence``. Changes (slopes, factor contrasts,
    interactions) get the link's ratio ("odds ratio", "rate ratio", ...). Baselines
    get what exp(beta) itself is ("odds", "rate", ...): the intercept, and in a
    model without one, each level's own indicator (``0 + g``). Where exp(beta) has
    no meaning the numbers are beta itself.
    """
    family, link = result.spec.family, result.spec.link
    label = family.effect_label(link)
    draws = result.draws()
    levels = _level_indicators(result)
    rows = {}
    for name in result.names:
        numbers = draw_effect(draws[name].to_numpy(), bool(label), prob)
        baseline = name == result.priors.intercept or name in levels
        if label:
            effect = _baseline_label(label) if baseline else label
        else:
            effect = f"{link.name}(mean)" if baseline else f"change in {link.name}(mean)"
        low, high = numbers["eti_lower"], numbers["eti_upper"]
        sentence = _sentence(name, result, levels, numbers["median"], low, high, prob)
        rows[name] = {"effect": effect, **numbers, "sentence": sentence}
    return effects_frame(rows, prob, label)


def compare_mle_table(result: GLMResult) -> pd.DataFrame:
    """MLE ± SE beside posterior mean ± sd, per coefficient and for the family's
    natural parameter.

    Columns: ``mle``, ``mle_se`` (for the natural parameter: its maximum-likelihood
    estimate at the MLE's means, with the SE from the observed information; not R's
    Pearson estimate), ``post_mean``, ``post_sd``, ``std_diff`` ((posterior mean -
    MLE) / SE; the posterior sd stands in where the MLE has no finite SE),
    ``prior_shift`` ((posterior mode - MLE) / SE: the part of the difference the
    prior causes, since the mode maximizes likelihood x prior), ``sd_ratio``
    (posterior sd / prior sd: how much the prior still matters; for the intercept
    with ``center=True`` both refer to the centred intercept, for the natural
    parameter both are sds of its logarithm, which every proper prior has) and ``verdict``
    (see :func:`verdict`).
    """
    mle, priors = result.mle, result.priors
    summary = result.summary()
    draws = result.draws()
    prior_args = draws[result.names].to_numpy() @ priors.centering.T
    limit_ess = ESS_PER_CHAIN * result.chains
    rows = {}
    for j, name in enumerate(result.names):
        sd_ratio = float(prior_args[:, j].std(ddof=1) / priors.coef[name].sd)
        rows[name] = _row(
            mle.params_array[j],
            float(mle.bse.iloc[j]),
            summary.loc[name],
            float(result.laplace.mode[j]),
            sd_ratio,
            name in mle.separation,
            limit_ess,
        )
    natural = result.sampled_natural_name
    if natural is not None:
        p = len(result.names)
        estimate = natural_estimates
        if (result.method or {}).get("method") == "importance":
            # Its rows may be Dask chunks: a search in few passes over them.
            from .importance import natural_estimates as estimate
        estimates = estimate(result.design, result.spec, priors, mle, result.laplace.mode[:p])
        log_sd = float(np.log(draws[natural].to_numpy()).std(ddof=1))
        rows[natural] = _row(
            estimates.mle,
            estimates.se,
            summary.loc[natural],
            estimates.mode,
            log_sd / priors.natural.log_sd,
            False,
            limit_ess,
        )
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "parameter"
    return frame


def verdict(
    *,
    std_diff: float,
    prior_shift: float,
    spread: float,
    sd_ratio: float,
    separated: bool,
    sampled_well: bool,
) -> str:
    """The verdict on one parameter's MLE against its posterior, checked in order.

    "separation" (the MLE does not exist), "sampling problem" (R-hat or ESS fail),
    then when |``std_diff``| > ``AGREE_SE``: "prior pull" if the prior moved the mode
    the same way the mean moved and by at least ``PRIOR_SHARE`` of it, else
    "differs"; when ``spread`` (posterior sd / SE) is outside [1/``SPREAD_FACTOR``,
    ``SPREAD_FACTOR``]: "prior pull" if the posterior is narrower and ``sd_ratio`` is
    at least ``PRIOR_HOLD`` (a prior only narrows), else "differs"; else "agrees".

    Examples
    --------
    >>> verdict(std_diff=-0.29, prior_shift=0.17, spread=1.0, sd_ratio=0.01,
    ...         separated=False, sampled_well=True)
    'differs'
    """
    if separated:
        return "separation"
    if not sampled_well:
        return "sampling problem"
    if np.isfinite(std_diff) and abs(std_diff) > AGREE_SE:
        # Mode - MLE is the prior's doing; mean - mode is the likelihood's shape.
        same_way = np.sign(prior_shift) == np.sign(std_diff)
        pulled = same_way and abs(prior_shift) >= PRIOR_SHARE * abs(std_diff)
        return "prior pull" if pulled else "differs"
    if np.isfinite(spread) and not 1 / SPREAD_FACTOR <= spread <= SPREAD_FACTOR:
        narrowed = spread < 1 and sd_ratio >= PRIOR_HOLD
        return "prior pull" if narrowed else "differs"
    return "agrees"


def _row(estimate, se, posterior, mode, sd_ratio, separated, limit_ess) -> dict[str, Any]:
    usable = bool(se) and np.isfinite(se)
    scale = se if usable else float(posterior["sd"])
    std_diff = (posterior["mean"] - estimate) / scale
    prior_shift = (mode - estimate) / scale
    sampled_well = not (posterior["r_hat"] > RHAT_LIMIT or posterior["ess_bulk"] < limit_ess)
    return {
        "mle": estimate,
        "mle_se": se,
        "post_mean": float(posterior["mean"]),
        "post_sd": float(posterior["sd"]),
        "std_diff": std_diff,
        "prior_shift": prior_shift,
        "sd_ratio": sd_ratio,
        "verdict": verdict(
            std_diff=std_diff,
            prior_shift=prior_shift,
            spread=posterior["sd"] / se if usable else np.nan,
            sd_ratio=sd_ratio,
            separated=separated,
            sampled_well=sampled_well,
        ),
    }
