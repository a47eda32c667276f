"""The validated design: response, model matrix and the per-row extras.

:func:`design_from_arrays` checks everything a user hands over once, copies nothing
it does not have to, and never changes the caller's objects. Every fitter reads the
resulting :class:`Design`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import BayesGLMError
from .families import Spec

__all__ = ["Design", "design_from_arrays"]


@dataclass(frozen=True)
class Design:
    """Response, model matrix and per-row extras, validated against a :class:`Spec`.

    Attributes
    ----------
    y : ndarray
        The response as given (successes for the binomial), float64.
    X : ndarray
        The model matrix, float64, shape (n, p).
    names : tuple of str
        Column names of ``X``.
    offset, weights, trials : ndarray or None
        Per-row offset on the linear-predictor scale, prior weights, and binomial
        trials; None when not given.
    intercept : int or None
        Index of the constant column, None if there is none.
    formula : str or None
        The model formula, when the design came from one (see
        :mod:`bayesglm.formula`), with its formulaic ``model_spec``, the
        ``training`` columns it was built from, the ``dropped_rows`` (index labels
        of rows with missing values), the bernoulli ``event`` level, and the
        ``offset_term`` / ``exposure`` that new data must supply.
    """

    y: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    offset: np.ndarray | None
    weights: np.ndarray | None
    trials: np.ndarray | None
    intercept: int | None
    formula: str | None = None
    model_spec: Any = None
    training: pd.DataFrame | None = None
    dropped_rows: tuple = ()
    event: str | None = None
    offset_term: str | None = None
    exposure: str | None = None

    @property
    def n(self) -> int:
        """Number of rows."""
        return self.X.shape[0]

    @property
    def p(self) -> int:
        """Number of columns."""
        return self.X.shape[1]


def design_from_arrays(
    X: Any,
    y: Any,
    spec: Spec,
    *,
    names: Sequence[str] | None = None,
    offset: Any = None,
    weights: Any = None,
    trials: Any = None,
) -> Design:
    """Validate arrays (or a DataFrame ``X``) into a :class:`Design`.

    Examples
    --------
    >>> from bayesglm.families import resolve
    >>> d = design_from_arrays([[1, 0.5], [1, 1.5], [1, 2.0]], [0, 1, 1],
    ...                        resolve("bernoulli"), names=["Intercept", "x"])
    >>> d.names, d.intercept
    (('Intercept', 'x'), 0)
    """
    matrix, column_names = _model_matrix(X, names)
    n = matrix.shape[0]
    response = _vector(y, "y", n)
    family = spec.family
    offset_ = None if offset is None else _vector(offset, "offset", n)
    weights_ = None if weights is None else _vector(weights, "weights", n)
    trials_ = None if trials is None else _vector(trials, "trials", n)
    if trials_ is not None and not family.has_trials:
        raise BayesGLMError(
            f"trials= only applies to the binomial family; use family='binomial' or "
            f"drop trials=; got (family={family.name!r})."
        )
    if weights_ is not None:
        _check_weights(weights_)
    family.check_y(response, trials_)
    return Design(
        y=response,
        X=matrix,
        names=column_names,
        offset=offset_,
        weights=weights_,
        trials=trials_,
        intercept=_intercept_index(matrix),
    )


def _model_matrix(X: Any, names: Sequence[str] | None) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(X, pd.DataFrame):
        if names is None:
            names = [str(c) for c in X.columns]
        for column in X.columns:
            if not (
                pd.api.types.is_numeric_dtype(X[column]) or pd.api.types.is_bool_dtype(X[column])
            ):
                raise BayesGLMError(
                    f"column {column!r} of X is not numeric; X must hold numbers (encode "
                    f"categories first, or use a formula); got (dtype={X[column].dtype})."
                )
        X = X.to_numpy(dtype=float)
    matrix = _as_float(X, "X")
    if matrix.ndim != 2:
        raise BayesGLMError(
            f"X must be 2-D (rows × columns); reshape it, e.g. x.reshape(-1, 1); "
            f"got (X.shape={matrix.shape})."
        )
    n, p = matrix.shape
    if n == 0 or p == 0:
        raise BayesGLMError(
            f"X must have at least one row and one column; got (X.shape={matrix.shape})."
        )
    names = tuple(f"x{j}" for j in range(p)) if names is None else tuple(map(str, names))
    if len(names) != p:
        raise BayesGLMError(
            f"names must give one name per column of X ({p}); got (len(names)={len(names)})."
        )
    seen: set[str] = set()
    duplicates = [name for name in names if name in seen or seen.add(name)]
    if duplicates:
        raise BayesGLMError(
            f"column names must be unique; rename the repeats; got (names={duplicates!r})."
        )
    bad = ~np.isfinite(matrix)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise BayesGLMError(
            f"X has {int(bad.sum())} NaN or infinite value(s); all must be finite (drop "
            f"or impute those rows); the first is row {row} of column {names[col]!r}; "
            f"got (X[{row}, {col}]={matrix[row, col].item()!r})."
        )
    return matrix, names


def _as_float(values: Any, arg: str) -> np.ndarray:
    if isinstance(values, pd.Series | pd.DataFrame):
        values = values.to_numpy()
    array = np.asarray(values)
    if array.dtype == bool:
        return array.astype(float)
    if not np.issubdtype(array.dtype, np.number):
        raise BayesGLMError(
            f"{arg} must hold numbers; convert text columns first (e.g. "
            f"pd.to_numeric); got ({arg}.dtype={array.dtype})."
        )
    if np.iscomplexobj(array):
        raise BayesGLMError(f"{arg} must be real; got ({arg}.dtype={array.dtype}).")
    return np.asarray(array, dtype=np.float64)


def _vector(values: Any, arg: str, n: int) -> np.ndarray:
    array = _as_float(values, arg)
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.ndim == 0:
        array = np.full(n, float(array))
    if array.ndim != 1 or array.shape[0] != n:
        raise BayesGLMError(
            f"{arg} must have one value per row of X ({n}); got ({arg}.shape={array.shape})."
        )
    bad = ~np.isfinite(array)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise BayesGLMError(
            f"{arg} has {rows.size} NaN or infinite value(s); all must be finite (drop "
            f"or impute those rows); the first is row {rows[0]}; "
            f"got ({arg}[{rows[0]}]={array[rows[0]].item()!r})."
        )
    return array


def _check_weights(weights: np.ndarray) -> None:
    negative = weights < 0
    if negative.any():
        rows = np.flatnonzero(negative)
        raise BayesGLMError(
            f"weights must be >= 0; {rows.size} row(s) are negative, the first is row "
            f"{rows[0]}; got (weights[{rows[0]}]={weights[rows[0]].item()!r})."
        )
    if not (weights > 0).any():
        raise BayesGLMError("weights must not all be zero; got (weights=all 0).")


def _intercept_index(X: np.ndarray) -> int | None:
    first = X[0]
    constant = np.flatnonzero((first != 0) & (X == first).all(axis=0))
    return int(constant[0]) if constant.size else None
