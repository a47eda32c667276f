"""The error and warning classes of bayesglm.

Bad input raises :class:`BayesGLMError` with one message template:
``"<what is wrong>; <what is allowed>; got (<arg>=<value>)."``.
Numerical trouble is a warning, recorded on the result as well.
"""

from __future__ import annotations

__all__ = [
    "BayesGLMError",
    "ConvergenceWarning",
    "MissingDataWarning",
    "SamplingWarning",
    "SeparationWarning",
]


class BayesGLMError(ValueError):
    """Bad input: the message names what is wrong, what is allowed and what was given."""


class ConvergenceWarning(UserWarning):
    """The maximum-likelihood fit did not converge."""


class SeparationWarning(UserWarning):
    """The binary outcome is (quasi-)completely separated by the predictors."""


class SamplingWarning(UserWarning):
    """The posterior sampler reports a problem (divergences, R-hat, low ESS, ...)."""


class MissingDataWarning(UserWarning):
    """Rows with missing values were dropped (``missing="drop"``)."""
