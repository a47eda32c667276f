"""The limits behind every check and verdict, defined once.

The sampler checks (:func:`bayesglm.results.GLMResult.diagnostics`), the
MLE-versus-posterior verdicts (:func:`bayesglm.effects.compare_mle_table`), the
PSIS-LOO warning (:mod:`bayesglm.compare`), the report's prose and
``docs/report.md`` all read these names; a test checks the documentation against
them. A leaf module: it imports nothing from the package.
"""

from __future__ import annotations

__all__ = [
    "AGREE_SE",
    "BFMI_LIMIT",
    "ESS_PER_CHAIN",
    "MAX_CELLS",
    "PARETO_K_LIMIT",
    "PRIOR_HOLD",
    "PRIOR_SHARE",
    "RHAT_LIMIT",
    "SPREAD_FACTOR",
]

# Sampler checks (Vehtari et al. 2021 for R-hat and ESS; Betancourt 2016 for E-BFMI).
RHAT_LIMIT = 1.01
"""Rank-normalized split R-hat above this fails."""
ESS_PER_CHAIN = 100
"""Bulk and tail effective sample sizes below this many per chain fail."""
BFMI_LIMIT = 0.3
"""E-BFMI below this fails."""
PARETO_K_LIMIT = 0.7
"""PSIS-LOO observations with Pareto k above this are unreliable."""

# Exact reductions of chunked data (bayesglm.cells).
MAX_CELLS = 1_000_000
"""More distinct covariate patterns than this are not reduced to cells: NUTS on the
client would evaluate that many rows per gradient."""

# MLE-versus-posterior verdicts.
AGREE_SE = 0.25
"""|posterior mean - MLE| in MLE standard errors (``std_diff``) still called agreement."""
SPREAD_FACTOR = 1.5
"""Posterior sd / MLE standard error within [1/1.5, 1.5] still called agreement."""
PRIOR_SHARE = 0.5
"""The prior pulls when it moves the mode, in the same direction as the posterior mean
moved, by at least this share of that move (``prior_shift`` against ``std_diff``)."""
PRIOR_HOLD = 0.5
"""A posterior narrower than the MLE is the prior's doing when posterior sd / prior sd
(``sd_ratio``) is at least this: the prior still holds the posterior."""

# Power-scaling sensitivity.
PSENSE_THRESHOLD = 0.05
"""Prior or likelihood power-scaling sensitivity at or above this counts (ArviZ's and
priorsense's default): a prior this sensitive is informative, a likelihood below it weak."""
