"""Separation: outcomes at the edge of their range that a direction in the
coefficients predicts perfectly, so the maximum-likelihood estimates diverge.

Checked after the fit, only where it can happen (probabilities; counts under the
log link) and only when the fit suggests it (means at the edge, or no convergence);
the columns involved are named in a :class:`~bayesglm.errors.SeparationWarning`.
"""

from __future__ import annotations

import numpy as np

from .design import Design
from .errors import SeparationWarning, warn_recorded
from .families import Spec
from .sweep import State

__all__ = ["GATHER_LIMIT", "check_separation"]

# Chunked data up to this many numbers of X are brought to the client for the exact
# check (only when the fit suggests separation); larger data are warned about.
GATHER_LIMIT = 1 << 22


def _separable(spec: Spec) -> bool:
    """Whether means can reach the edge of their range only as the linear predictor
    diverges, so that outcomes at the edge can push coefficients to infinity:
    probabilities (0 and 1), and counts (0) under the log link."""
    family = spec.family
    counts = family.support.integer and family.mean_domain.low == 0.0
    return family.is_probability or (counts and spec.link.name == "log")


def _suspect_separation(design: Design, spec: Spec, state: State) -> bool:
    """Means at the edge of their range (1 is an edge of probabilities only, not of
    counts), or no convergence; one reduction over the rows."""
    if not state.converged:
        return True
    upper = 1.0 - 1e-8 if spec.family.is_probability else np.inf

    def block(mu: np.ndarray, weights: np.ndarray) -> int:
        mu = mu[weights > 0]
        return int(np.count_nonzero((mu < 1e-8) | (mu > upper)))

    return design.sum_blocks(block, state.mu, design.case_weights) > 0


def check_separation(
    design: Design, spec: Spec, state: State, messages: list[str]
) -> tuple[str, ...]:
    """The columns along which the maximum-likelihood estimates diverge (warned about)."""
    if not (_separable(spec) and _suspect_separation(design, spec, state)):
        return ()
    if design.chunked and design.n * design.p > GATHER_LIMIT:
        # The linear program below needs every row in memory.
        text = (
            "the fitted means reach the edge of their range (or the fit did not "
            "converge), a sign of separation; chunked data this large are not searched "
            "for the separating columns; fit the rows in memory (or a sample of them) "
            "to name them, or use proper priors."
        )
        warn_recorded(messages, SeparationWarning, text, 4)
        return ()
    if design.chunked:
        design = design.gathered()
    probability = spec.family.is_probability
    upper = 1.0 if probability else np.inf
    separation = tuple(_separated_columns(design, upper))
    if separation and probability:
        text = (
            "complete or quasi-complete separation: the outcome is perfectly predicted "
            f"along column(s) {', '.join(separation)}; their maximum-likelihood "
            "estimates do not exist (they diverge) and the standard errors are "
            "meaningless; use proper priors (the Bayesian fit) or remove or merge "
            "the separating predictors."
        )
        warn_recorded(messages, SeparationWarning, text, 4)
    elif separation:
        where = (
            "every count is zero"
            if not design.y_mean[design.active].any()
            else f"the counts are all zero along column(s) {', '.join(separation)} (e.g. "
            "a level with only zeros)"
        )
        text = (
            f"the zero counts are separated: {where}, so the fitted means "
            "there go to 0 as those coefficients diverge; their maximum-likelihood "
            "estimates do not exist and the standard errors are meaningless; use proper "
            "priors (the Bayesian fit) or remove or merge the levels or predictors with "
            "only zero counts."
        )
        warn_recorded(messages, SeparationWarning, text, 4)
    return separation


def _separated_columns(design: Design, upper: float) -> list[str]:
    """The predictors along which the outcomes are separated (empty if none).

    Konis's (2007) linear program, in a form that also picks the sparsest
    direction: minimize the L1 norm of b (the intercept free) subject to
    x_i b >= 0 where y_i = ``upper``, x_i b <= 0 where y_i = 0, x_i b = 0 otherwise,
    and the sum of |x_i b| equal to 1. It is feasible exactly when the data are
    (quasi-)completely separated: the likelihood then keeps rising along b. Counts
    have no upper edge (``upper`` infinite): then it finds zero counts that a
    direction drives to a zero mean (Santos Silva and Tenreyro, 2010).
    """
    a, intercept = design.active, design.intercept
    X, y = design.X[a], design.y_mean[a]
    scale = np.abs(X).max(axis=0)
    scale[scale == 0] = 1.0
    Xs = X / scale
    extreme = (y <= 0.0) | (y >= upper)
    signed = np.where(y[extreme] >= upper, 1.0, -1.0)[:, None] * Xs[extreme]
    middle = Xs[~extreme]
    p = X.shape[1]
    penalty = np.ones(p)
    if intercept is not None:
        penalty[intercept] = 1e-6
    split = np.hstack  # b = b_plus - b_minus, both >= 0
    from scipy import optimize  # here: its import (50 ms) would be in every fit

    result = optimize.linprog(
        np.r_[penalty, penalty],
        A_ub=split([-signed, signed]),
        b_ub=np.zeros(signed.shape[0]),
        A_eq=np.vstack([split([middle, -middle]), split([signed.sum(0), -signed.sum(0)])]),
        b_eq=np.r_[np.zeros(middle.shape[0]), 1.0],
        bounds=(0, None),
        method="highs",
    )
    if result.status != 0:
        return []
    direction = result.x[:p] - result.x[p:]
    involved = np.flatnonzero(np.abs(direction) > 1e-9 * np.abs(direction).max())
    # The intercept only shifts the separating threshold: name the predictors,
    # unless the intercept alone separates (all outcomes the same).
    predictors = [j for j in involved if j != intercept]
    return [design.names[j] for j in (predictors or involved)]
