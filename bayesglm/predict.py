"""Predictions for new data, in row chunks (never a draws x n array in memory).

Shared by :meth:`bayesglm.mle.MLEResult.predict` (delta-method intervals) and
:meth:`bayesglm.results.GLMResult.predict` (posterior draws).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from .design import Design
from .errors import BayesGLMError

__all__ = ["SCALES", "PredictionInputs", "prediction_inputs", "row_chunks"]

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

    An explicit ``offset=`` (values) overrides the one the model rebuilds.
    """
    if new_data is None:
        X, new_offset, index = design.X, design.offset, pd.RangeIndex(design.n)
        if trials is None:
            trials = design.trials
    elif design.model_spec is not None:
        from .formula import new_data_matrix

        if not isinstance(new_data, pd.DataFrame):
            raise BayesGLMError(
                "this model was built from a formula: pass new data as a DataFrame with "
                f"the same columns; got (new_data={type(new_data).__name__})."
            )
        X, new_offset = (
            new_data_matrix(design, new_data)
            if offset is None
            else (new_data_matrix(design, new_data)[0], None)
        )
        index = new_data.index
        if isinstance(trials, str):
            trials = new_data[trials].to_numpy(dtype=float)
    else:
        X = np.asarray(new_data, dtype=float)
        if X.ndim != 2 or X.shape[1] != design.p:
            raise BayesGLMError(
                f"new X must have {design.p} columns ({', '.join(design.names)}); "
                f"got (X.shape={X.shape})."
            )
        if not np.isfinite(X).all():
            raise BayesGLMError("new X has NaN or infinite values; got (X non-finite).")
        new_offset, index = None, pd.RangeIndex(X.shape[0])
        if design.offset is not None and offset is None:
            raise BayesGLMError(
                "the model was fitted with an offset: pass offset= for the new rows; "
                "got (offset=None)."
            )
    n = X.shape[0]
    if offset is not None:
        new_offset = np.broadcast_to(np.asarray(offset, dtype=float), (n,)).copy()
    if new_offset is None:
        new_offset = np.zeros(n)
    if trials is not None:
        trials = np.broadcast_to(np.asarray(trials, dtype=float), (n,))
    return PredictionInputs(X, new_offset, trials, index)


def row_chunks(n_rows: int, n_draws: int, chunk: int | None = None) -> Iterator[slice]:
    """Row slices sized so that draws x rows stays near 4 million numbers."""
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
