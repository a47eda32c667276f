"""Effect tables: exp(beta) per coefficient, and the MLE-versus-posterior comparison.

Pure computation on a fitted :class:`~bayesglm.results.GLMResult`; every summary is
taken over draws (quantiles commute with exp, so exp(beta) intervals are exact).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from .priors import Cauchy, Flat, Laplace, Normal, Prior, StudentT

__all__ = ["compare_mle_table", "effects_table", "prior_sd"]

_DUMMY = re.compile(r"^(?P<var>.*)\[T\.(?P<level>.*)\]$")
AGREE = 0.25  # |posterior mean - MLE| in MLE standard errors still called agreement
SPREAD = 1.5  # posterior sd / MLE standard error within [1/1.5, 1.5] still called agreement


def _outcome(result: Any) -> str:
    design = result.design
    if design.formula is None:
        return "the outcome"
    response = design.formula.split("~")[0].strip()
    if design.event not in (None, "True"):
        return f"{response} = {design.event}"
    return response


def _describe_change(name: str) -> str:
    if ":" in name:
        return f"the interaction {name} (a change in another term's effect)"
    match = _DUMMY.match(name)
    if match:
        return f"{match['var']} = {match['level']} (vs its reference level)"
    return f"each one-unit increase in {name}"


def effects_table(result: Any, prob: float = 0.95) -> pd.DataFrame:
    """exp(beta) per slope, labelled by the link, with a plain sentence each.

    Columns: ``effect`` (what the number is), ``mean``, ``median``, ``eti_lower``,
    ``eti_upper``, ``p_direction`` (P(exp(beta) > 1), or P(beta > 0) where exp(beta)
    has no meaning) and ``sentence``. The intercept is left out.
    """
    family, link = result.spec.family, result.spec.link
    label = family.effect_label(link)
    draws = result.draws()
    tails = [(1 - prob) / 2, (1 + prob) / 2]
    outcome = _outcome(result)
    rows = {}
    for name in result.names:
        if name == result.priors.intercept:
            continue
        beta = draws[name].to_numpy()
        values = np.exp(beta) if label else beta
        low, high = np.quantile(values, tails)
        median = float(np.median(values))
        if label:
            what = f"the {label.replace(' ratio', '')} of {outcome}"
            sentence = (
                f"{_describe_change(name)} multiplies {what} by {median:.3g} "
                f"({prob:.0%} interval {low:.3g}–{high:.3g})"
            )
        else:
            scale = family.quantity
            if link.name != "identity":
                scale = f"{link.name} of the {family.quantity}"
            sentence = (
                f"{_describe_change(name)} changes the {scale} of {outcome} by {median:.3g} "
                f"({prob:.0%} interval {low:.3g} to {high:.3g}); exp(beta) has no "
                f"meaning under the {link.name} link"
            )
        rows[name] = {
            "effect": label or f"change in {link.name}(mean)",
            "mean": float(values.mean()),
            "median": median,
            "eti_lower": float(low),
            "eti_upper": float(high),
            "p_direction": float(np.mean(beta > 0)),
            "sentence": sentence,
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "parameter"
    frame.attrs["prob"] = prob
    frame.attrs["interval"] = f"{prob:.0%} equal-tailed"
    frame.attrs["effect"] = label
    return frame


def prior_sd(prior: Prior) -> float:
    """Standard deviation of a prior (inf where it has none)."""
    if isinstance(prior, Normal):
        return prior.sigma
    if isinstance(prior, StudentT):
        return prior.sigma * math.sqrt(prior.nu / (prior.nu - 2)) if prior.nu > 2 else math.inf
    if isinstance(prior, Laplace):
        return prior.b * math.sqrt(2.0)
    if isinstance(prior, Cauchy | Flat):
        return math.inf
    return math.inf


def compare_mle_table(result: Any) -> pd.DataFrame:
    """MLE ± SE beside posterior mean ± sd, per coefficient and for the dispersion.

    Columns: ``mle``, ``mle_se``, ``post_mean``, ``post_sd``, ``std_diff`` ((posterior
    mean - MLE) / SE; the posterior sd stands in where the MLE has no SE, as for the
    dispersion of the gaussian, gamma and inverse gaussian), ``prior_shift``
    ((posterior mode - MLE) / SE: the part of the difference the prior causes,
    since the mode maximizes likelihood x prior),
    ``sd_ratio`` (posterior sd / prior sd: how much the prior still matters; for
    the intercept with ``center=True`` both refer to the centred intercept), and
    ``verdict``: "agrees" (means within 0.25 SE and spreads within a factor 1.5),
    "prior pull", "separation", "sampling problem" or "differs" (the likelihood is
    far from normal).
    """
    mle, priors = result.mle, result.priors
    summary = result.summary()
    draws = result.draws()
    beta = draws[result.names].to_numpy()
    centering = np.eye(len(result.names))
    if priors.center and result.design.intercept is not None:
        centering[result.design.intercept] += priors.x_means
    prior_args = beta @ centering.T
    limit_ess = 100 * result.chains
    rows = {}
    for j, name in enumerate(result.names):
        prior = priors.coef[name]
        sd_ratio = float(prior_args[:, j].std(ddof=1) / prior_sd(prior))
        rows[name] = _row(
            mle.params_array[j],
            float(mle.bse.iloc[j]),
            summary.loc[name],
            float(result.laplace.mode[j]),
            sd_ratio,
            name in mle.separation,
            limit_ess,
        )
    dispersion = result.spec.family.dispersion
    if dispersion is not None and dispersion in summary.index:
        theta = getattr(mle.family, "theta", None)
        estimate = (
            theta if theta is not None else result.spec.family.dispersion_from_phi(mle.dispersion)
        )
        se = mle.theta_se if theta is not None else math.nan
        prior = priors.dispersion
        spread = prior_sd_positive(prior)
        sd_ratio = float(summary.loc[dispersion, "sd"] / spread)
        mode = float(np.exp(result.laplace.mode[len(result.names)]))
        rows[dispersion] = _row(
            estimate, se, summary.loc[dispersion], mode, sd_ratio, False, limit_ess
        )
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "parameter"
    return frame


def prior_sd_positive(prior: Prior | None) -> float:
    """Standard deviation of a dispersion prior (inf where it has none)."""
    from scipy import stats

    from .priors import Exponential, Gamma, HalfCauchy, HalfFlat, HalfNormal, InverseGamma

    if isinstance(prior, Exponential):
        return 1.0 / prior.lam
    if isinstance(prior, HalfNormal):
        return prior.sigma * math.sqrt(1 - 2 / math.pi)
    if isinstance(prior, Gamma):
        return math.sqrt(prior.alpha) / prior.beta
    if isinstance(prior, InverseGamma):
        return float(stats.invgamma(prior.alpha, scale=prior.beta).std())
    if prior is None or isinstance(prior, HalfCauchy | HalfFlat):
        return math.inf
    return math.inf


def _row(estimate, se, posterior, mode, sd_ratio, separated, limit_ess) -> dict[str, Any]:
    # Without an MLE standard error (the dispersion of most families) the posterior
    # sd is the yardstick.
    usable = bool(se) and np.isfinite(se)
    scale = se if usable else float(posterior["sd"])
    std_diff = (posterior["mean"] - estimate) / scale
    prior_shift = (mode - estimate) / scale
    if separated:
        verdict = "separation"
    elif posterior["r_hat"] > 1.01 or posterior["ess_bulk"] < limit_ess:
        verdict = "sampling problem"
    elif np.isfinite(std_diff) and abs(std_diff) > AGREE:
        # Mode - MLE is the prior's doing; mean - mode is the likelihood's shape.
        verdict = "prior pull" if abs(prior_shift) >= abs(std_diff) / 2 else "differs"
    elif usable and not 1 / SPREAD <= posterior["sd"] / se <= SPREAD:
        # Same centre, different uncertainty: an informative prior narrows it.
        verdict = "prior pull" if sd_ratio >= 0.5 else "differs"
    else:
        verdict = "agrees"
    return {
        "mle": estimate,
        "mle_se": se,
        "post_mean": float(posterior["mean"]),
        "post_sd": float(posterior["sd"]),
        "std_diff": std_diff,
        "prior_shift": prior_shift,
        "sd_ratio": sd_ratio,
        "verdict": verdict,
    }
