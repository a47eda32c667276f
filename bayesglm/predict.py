"""Predictions for new data, in row chunks (never a draws x n array in memory).

Shared by :meth:`bayesglm.mle.MLEResult.predict` (delta-method intervals) and
:meth:`bayesglm.results.GLMResult.predict` (posterior draws).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from .design import Design, new_rows
from .errors import BayesGLMError

__all__ = [
    "SCALES",
    "PredictionInputs",
    "check_prob",
    "check_scale",
    "check_seed",
    "is_whole",
    "prediction_inputs",
    "row_chunks",
]

SCALES = ("link", "mean", "response")

_ELEMENTS_PER_CHUNK = 4_000_000  # draws x rows held at once (32 MB of float64)


class PredictionInputs:
    """Model matrix, offset, trials and row labels of the rows to predict."""

    def __init__(self, X: np.ndarray, offset: np.ndarray, trials: np.ndarray | None, index):
        self.X, self.offset, self.trials, self.index = X, offset, trials, index


def prediction_inputs(
    design: Design, new_data: Any = None, offset: Any = None, trials: Any = None
) -> PredictionInputs:
    """The rows to predict: the training rows, a DataFrame (formula models) or an X.

    An explicit ``offset=`` (values) overrides the one the model rebuilds;
    ``trials=`` takes values or a column of the new data. Everything is checked as
    the training rows were (:func:`bayesglm.design.new_rows`).
    """
    index = None
    if new_data is None:
        X, rebuilt, index = design.X, design.offset, pd.RangeIndex(design.n)
        if trials is None:
            trials = design.trials
    elif design.model_spec is not None:
        from .formula import new_data_matrix

        if not isinstance(new_data, pd.DataFrame):
            raise BayesGLMError(
                "this model was built from a formula: pass new data as a DataFrame with "
                f"the same columns; got (new_data={type(new_data).__name__})."
            )
        X, rebuilt = new_data_matrix(design, new_data)
        index = new_data.index
        if isinstance(trials, str):
            if trials not in new_data.columns:
                raise BayesGLMError(
                    "trials= names a column that is not in the new data; the columns are "
                    f"{', '.join(map(str, new_data.columns))}; got (trials={trials!r})."
                )
            trials = new_data[trials]
    elif design.offset is not None and offset is None:
        raise BayesGLMError(
            "the model was fitted with an offset: pass offset= for the new rows; "
            "got (offset=None)."
        )
    else:
        X, rebuilt = new_data, None
    X, offset, trials = new_rows(design, X, rebuilt if offset is None else offset, trials)
    n = X.shape[0]
    return PredictionInputs(
        X,
        np.zeros(n) if offset is None else offset,
        trials,
        pd.RangeIndex(n) if index is None else index,
    )


def row_chunks(n_rows: int, n_draws: int, chunk: int | None = None) -> Iterator[slice]:
    """Row slices sized so that draws x rows stays near 4 million numbers."""
    if chunk is not None and not (is_whole(chunk) and chunk >= 1):
        raise BayesGLMError(f"chunk must be a whole number of rows >= 1; got (chunk={chunk!r}).")
    size = chunk or max(1, _ELEMENTS_PER_CHUNK // max(n_draws, 1))
    for lo in range(0, n_rows, size):
        yield slice(lo, min(lo + size, n_rows))


def check_scale(scale: str, allowed: tuple[str, ...] = SCALES) -> None:
    """Refuse an unknown prediction scale."""
    if scale not in allowed:
        raise BayesGLMError(f"scale must be one of {', '.join(allowed)}; got (scale={scale!r}).")


def check_prob(prob: float) -> None:
    """Refuse an interval probability outside (0, 1)."""
    if not (isinstance(prob, float | int) and 0 < prob < 1):
        raise BayesGLMError(f"prob must be between 0 and 1; got (prob={prob!r}).")


def is_whole(value: Any) -> bool:
    """Whether ``value`` is an integer (a Python or numpy int; not a bool).

    Examples
    --------
    >>> is_whole(3), is_whole(np.int64(3)), is_whole(3.0), is_whole(True)
    (True, True, False, False)
    """
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def check_seed(seed: Any) -> None:
    """Refuse a seed that is not a whole number >= 0 (None: drawn at random)."""
    if seed is not None and not (is_whole(seed) and seed >= 0):
        raise BayesGLMError(f"seed must be a whole number >= 0 or None; got (seed={seed!r}).")
