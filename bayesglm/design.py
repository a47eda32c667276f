"""The validated design: response, model matrix and the per-row extras.

:func:`design_from_arrays` checks everything a user hands over once, copies nothing
it does not have to, and never changes the caller's objects. Every fitter reads the
resulting :class:`Design`; :func:`new_rows` checks rows to predict the same way.
Messages name pandas inputs by their own index labels and names.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import BayesGLMError, row_label, value_name
from .families import Spec
from .formula_state import FormulaState

__all__ = ["Design", "design_from_arrays", "new_rows", "row_labels"]


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
    row_labels : pandas.Index
        The label of each row: the index of a pandas ``X`` or ``y`` (the kept
        rows' own labels for a formula), else 0 … n-1. Per-row outputs (in-sample
        predictions) carry these labels, so they align with the user's data.
    formula : FormulaState or None
        What the formula made and new rows are rebuilt from, when the design came
        from one (see :mod:`bayesglm.formula`); None for a design from arrays.
    """

    y: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    offset: np.ndarray | None
    weights: np.ndarray | None
    trials: np.ndarray | None
    intercept: int | None
    formula: FormulaState | None = None
    row_labels: pd.Index | None = None

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
    labels = row_labels(n, X=X, y=y, offset=offset, weights=weights, trials=trials)
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
        _check_weights(weights_, weights)
    family.check_y(_labelled(response, y), _labelled(trials_, trials))
    if trials_ is not None:
        _refuse_no_trials(trials_, weights_)
    return Design(
        y=response,
        X=matrix,
        names=column_names,
        offset=offset_,
        weights=weights_,
        trials=trials_,
        intercept=_intercept_index(matrix),
        row_labels=labels,
    )


def row_labels(n: int, **given: Any) -> pd.Index:
    """The row labels that the pandas inputs among ``given`` share (0 … n-1 if none).

    Values are used by position; a Series or DataFrame whose labels differ from
    another's (a filtered or re-sorted copy) would pair the wrong rows, so it is
    refused.

    Examples
    --------
    >>> import pandas as pd
    >>> row_labels(2, X=[[1.0], [2.0]], y=pd.Series([0.0, 1.0], index=["a", "b"])).tolist()
    ['a', 'b']
    """
    labelled = {
        arg: values.index
        for arg, values in given.items()
        if isinstance(values, pd.Series | pd.DataFrame) and len(values.index) == n
    }
    if not labelled:
        return pd.RangeIndex(n)
    (first, labels), *others = labelled.items()
    for arg, index in others:
        if not index.equals(labels):
            position = next(
                (i for i, (a, b) in enumerate(zip(labels, index, strict=True)) if a != b), 0
            )
            raise BayesGLMError(
                f"{first} and {arg} have different row labels, and values pair by position; "
                f"align them first (e.g. {arg}.loc[{first}.index]) or pass plain arrays; the "
                f"first difference is at position {position}; got ({first} row "
                f"{row_label(given[first], position)!r}, {arg} row "
                f"{row_label(given[arg], position)!r})."
            )
    return labels


def new_rows(
    design: Design, X: Any, offset: Any = None, trials: Any = None, weights: Any = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Check rows to predict as :func:`design_from_arrays` checks the training rows.

    Returns the model matrix, offset, trials and weights as float arrays (None where
    not given).

    Examples
    --------
    >>> from bayesglm.families import resolve
    >>> d = design_from_arrays([[1, 0.5], [1, 1.5], [1, 2.0]], [0, 1, 1], resolve("poisson"))
    >>> new_rows(d, [[1, 3.0]])[0]
    array([[1., 3.]])
    """
    if isinstance(X, pd.DataFrame):
        X = _columns_by_name(X, design.names)
    shape = X.shape if isinstance(X, pd.DataFrame) else _as_float(X, "new X").shape
    if len(shape) != 2 or shape[1] != design.p:
        raise BayesGLMError(
            f"new X must have {design.p} columns ({', '.join(design.names)}); "
            f"got (X.shape={shape})."
        )
    matrix, _ = _model_matrix(X, design.names)
    n = matrix.shape[0]
    weights_ = None if weights is None else _vector(weights, "weights", n)
    if weights_ is not None:
        _check_weights(weights_, weights)
    return (
        matrix,
        None if offset is None else _vector(offset, "offset", n),
        None if trials is None else _vector(trials, "trials", n),
        weights_,
    )


def _columns_by_name(X: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    """A new X's columns in the model's order, matched by name.

    A frame that carries the model's column names is read by name (by position, a
    frame in another column order would pair values with the wrong coefficients);
    one that carries none of them (e.g. ``pd.DataFrame(array)``) by position.
    """
    columns = [str(column) for column in X.columns]
    if not set(columns) & set(names):
        return X
    missing = [name for name in names if name not in columns]
    if missing:
        raise BayesGLMError(
            f"new X lacks column(s) {', '.join(map(repr, missing))} of the model; a frame "
            f"with the model's column names is read by name, so it needs all of them "
            f"({', '.join(names)}); got (columns={columns!r})."
        )
    return X.iloc[:, [columns.index(name) for name in names]]


def _model_matrix(X: Any, names: Sequence[str] | None) -> tuple[np.ndarray, tuple[str, ...]]:
    given = X
    if isinstance(X, pd.DataFrame):
        if X.columns.has_duplicates:
            repeated = sorted({str(c) for c in X.columns[X.columns.duplicated()]})
            raise BayesGLMError(
                f"column names must be unique; rename the repeats; got (names={repeated!r})."
            )
        columns = [str(c) for c in X.columns]
        if names is None:
            names = columns
        elif set(columns) & set(map(str, names)) and columns != list(map(str, names)):
            # names= relabels columns by position: a frame whose own names disagree
            # would have its coefficients reported under each other's names.
            raise BayesGLMError(
                "names= disagrees with the column names of the DataFrame X; drop names= "
                "(the columns name the coefficients) or pass X's values; "
                f"got (names={list(names)!r}, columns={columns!r})."
            )
        for column in X.columns:
            values = X[column]
            if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
                _refuse_non_numbers(
                    values,
                    values.to_numpy(),
                    str(column),
                    f"column {column!r} of X is not numeric; X must hold numbers (encode "
                    "categories first, or use a formula)",
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
    # A column's sum is finite only if all its values are; the exact search runs
    # only when a sum is not (a bad value, or a sum that overflows).
    column_sums = np.add.reduce(matrix, axis=0)
    bad = np.zeros(1, bool) if np.isfinite(column_sums).all() else ~np.isfinite(matrix)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        label = row_label(given, row)
        raise BayesGLMError(
            f"X has {int(bad.sum())} NaN or infinite value(s); all must be finite (drop "
            f"or impute those rows); the first is row {label!r} of column {names[col]!r}; "
            f"got ({names[col]}[{label!r}]={matrix[row, col].item()!r})."
        )
    return matrix, names


def _as_float(values: Any, arg: str) -> np.ndarray:
    given = values
    if isinstance(values, pd.Series | pd.DataFrame):
        values = values.to_numpy()
    try:
        array = np.asarray(values)
    except ValueError:  # nested sequences of different lengths
        raise BayesGLMError(
            f"{arg} must be a rectangular array of numbers; its rows differ in length; "
            f"got ({arg}={type(given).__name__} of ragged rows)."
        ) from None
    if array.dtype == bool:
        return array.astype(float)
    if np.iscomplexobj(array):
        raise BayesGLMError(f"{arg} must be real; got ({arg}.dtype={array.dtype}).")
    if not np.issubdtype(array.dtype, np.number):
        _refuse_non_numbers(given, array, arg, f"{arg} must hold numbers")
    return np.asarray(array, dtype=np.float64)


def _refuse_non_numbers(given: Any, array: np.ndarray, arg: str, what: str) -> None:
    """Refuse text, dates or None among numbers, naming the first such entry of
    ``array`` (the values of ``given``); an object array of numbers passes."""
    flat = array.reshape(-1)
    position = next((i for i, v in enumerate(flat) if not isinstance(v, numbers.Real)), None)
    if position is None:
        return
    value = flat[position]
    value = value.item() if isinstance(value, np.generic) else value
    kind = "numbers stored as text" if _is_number_text(value) else "values that are not numbers"
    where, cell = "", arg
    if array.ndim:
        at = tuple(int(i) for i in np.unravel_index(position, array.shape))
        row = row_label(given, at[0])
        where = f", the first in row {row!r}" + (f" of column {at[1]}" if array.ndim == 2 else "")
        cell = f"{value_name(given, arg)}[{', '.join(map(repr, (row, *at[1:])))}]"
    raise BayesGLMError(
        f"{what}; it holds {kind} (convert them, e.g. with pd.to_numeric){where}; "
        f"got ({cell}={value!r})."
    )


def _is_number_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _labelled(values: np.ndarray | None, given: Any) -> Any:
    """``values`` with the labels and name of ``given`` when that is a Series."""
    if values is None or not isinstance(given, pd.Series):
        return values
    return pd.Series(values, index=given.index, name=given.name, copy=False)


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
        row, name = row_label(values, rows[0]), value_name(values, arg)
        raise BayesGLMError(
            f"{arg} has {rows.size} NaN or infinite value(s); all must be finite (drop "
            f"or impute those rows); the first is row {row!r}; "
            f"got ({name}[{row!r}]={array[rows[0]].item()!r})."
        )
    return array


def _check_weights(weights: np.ndarray, given: Any) -> None:
    negative = weights < 0
    if negative.any():
        rows = np.flatnonzero(negative)
        row, name = row_label(given, rows[0]), value_name(given, "weights")
        raise BayesGLMError(
            f"weights must be >= 0; {rows.size} row(s) are negative, the first is row "
            f"{row!r}; got ({name}[{row!r}]={weights[rows[0]].item()!r})."
        )
    if not (weights > 0).any():
        raise BayesGLMError("weights must not all be zero; got (weights=all 0).")


def _refuse_no_trials(trials: np.ndarray, weights: np.ndarray | None) -> None:
    """A row with 0 trials carries no information (its weight in the likelihood is
    weights × trials); with none left, the fit would fail later as a misleading
    'rank deficient' model matrix."""
    weighted = np.ones(trials.size, bool) if weights is None else weights > 0
    if not (trials[weighted] > 0).any():
        raise BayesGLMError(
            "every row has 0 trials, so the data carry no information; a binomial fit "
            "needs some rows with trials > 0 (and weight > 0); "
            f"got (trials=0 in all {int(weighted.sum())} row(s) with weight > 0)."
        )


def _intercept_index(X: np.ndarray) -> int | None:
    """The first nonzero constant column; candidates from the first rows are checked
    on every row (no n × p comparison)."""
    first = X[0]
    candidates = np.flatnonzero((first != 0) & (X[:64] == first).all(axis=0))
    return next((int(j) for j in candidates if (X[:, j] == first[j]).all()), None)
