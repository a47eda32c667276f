"""The error and warning classes of bayesglm.

Bad input raises :class:`BayesGLMError` with one message template:
``"<what is wrong>; <what is allowed>; got (<arg>=<value>)."``.
Numerical trouble is a warning, recorded on the result as well.

Messages name rows and columns as the user knows them: a pandas input by its own
index labels and name (a column of the user's data), anything else by position and
the argument's name (:func:`row_label`, :func:`value_name`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "BayesGLMError",
    "CacheWarning",
    "ConvergenceWarning",
    "DomainWarning",
    "MissingDataWarning",
    "PerfectFitWarning",
    "SamplingWarning",
    "SeparationWarning",
    "UnusedLevelWarning",
    "row_label",
    "value_name",
    "warn_recorded",
]


class BayesGLMError(ValueError):
    """Bad input: the message names what is wrong, what is allowed and what was given."""


class CacheWarning(UserWarning):
    """The folder of compiled models cannot be written: fits still work, compiling
    in memory each time (set ``BAYESGLM_CACHE_DIR`` to a writable folder)."""


class ConvergenceWarning(UserWarning):
    """An iterative fit did not converge: the IRLS, or the posterior mode search."""


class SeparationWarning(UserWarning):
    """Some coefficients have no finite maximum-likelihood estimate.

    The likelihood keeps rising as they grow: a binary or binomial outcome
    (quasi-)completely separated by the predictors, or a count model with a level (or
    all rows) whose counts are all zero.
    """


class SamplingWarning(UserWarning):
    """The posterior sampler reports a problem (divergences, R-hat, low ESS, ...)."""


class PerfectFitWarning(UserWarning):
    """The response is an exact function of the predictors (zero dispersion)."""


class DomainWarning(UserWarning):
    """A prediction's linear predictor lies where the model defines no mean (the
    inverse link of a negative eta, a probability above 1, ...)."""


class MissingDataWarning(UserWarning):
    """Rows with missing values were dropped (``missing="drop"``)."""


class UnusedLevelWarning(UserWarning):
    """Levels of a categorical column that no row has were dropped (as R does)."""


def row_label(values: Any, position: int) -> Any:
    """The row at ``position`` as a message names it.

    Examples
    --------
    >>> row_label(pd.Series([1.0, 2.0], index=["a", "b"]), 1), row_label([1.0, 2.0], 1)
    ('b', 1)
    """
    if isinstance(values, pd.Series | pd.DataFrame):
        return _plain(values.index[position])
    return int(position)


def _plain(label: Any) -> Any:
    """numpy scalars as Python numbers (also inside a MultiIndex tuple)."""
    if isinstance(label, tuple):
        return tuple(map(_plain, label))
    return label.item() if isinstance(label, np.generic) else label


def value_name(values: Any, arg: str) -> str:
    """The name a message gives ``values``: a named Series' name, else ``arg``.

    Examples
    --------
    >>> value_name(pd.Series([1.0], name="count"), "y"), value_name([1.0], "y")
    ('count', 'y')
    """
    if isinstance(values, pd.Series) and values.name is not None:
        return str(values.name)
    return arg


def warn_recorded(
    messages: list[str], category: type[Warning], text: str, stacklevel: int
) -> None:
    """Issue a warning and record its text in ``messages`` (the fit's record of
    what it warned about); ``stacklevel`` as :func:`warnings.warn`'s, counted from
    the caller of this function.

    Examples
    --------
    >>> import warnings
    >>> messages = []
    >>> with warnings.catch_warnings(record=True):
    ...     warn_recorded(messages, ConvergenceWarning, "did not converge", 1)
    >>> messages
    ['did not converge']
    """
    messages.append(text)
    warnings.warn(text, category, stacklevel=stacklevel + 1)
