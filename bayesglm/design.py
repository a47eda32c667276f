r"""The validated design: response, model matrix and the per-row extras.

:func:`design_from_arrays` checks everything a user hands over once, copies nothing
it does not have to, and never changes the caller's objects. Every fitter reads the
resulting :class:`Design`; :func:`new_rows` checks rows to predict the same way.
Messages name pandas inputs by their own index labels and names.

A :class:`Design` also owns the views of the data that every stage reads (the IRLS,
the default priors, the posterior mode, the sampling model, the plots), each defined
here once: the response on the mean scale, the case weights, the active rows, and
the weighted means and spreads of the response and of the columns of X. *Case
weights* are the weights a row carries in the likelihood on the mean scale, prior
weights times binomial trials, as in R's ``glm()``; every weighted statistic of the
data uses them, so rows given once with a frequency weight (or as k of n) count as
the same rows written out.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .errors import BayesGLMError, row_label, value_name
from .families import Spec
from .formula_state import FormulaState

__all__ = [
    "Design",
    "centering_matrix",
    "design_from_arrays",
    "new_rows",
    "positive_rows",
    "row_labels",
    "weighted_mean",
    "weighted_sd",
]


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

    The derived views (:attr:`y_mean`, :attr:`case_weights`, :attr:`active`, …) are
    computed on first use and are read-only; they are not fields, so
    :func:`dataclasses.replace` gives a design that computes its own.
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

    #: Whether the rows live in chunks elsewhere (a Dask design); an in-memory
    #: design holds them here.
    chunked: ClassVar[bool] = False

    @property
    def n(self) -> int:
        """Number of rows."""
        return self.X.shape[0]

    @property
    def p(self) -> int:
        """Number of columns."""
        return self.X.shape[1]

    # --- the data on the mean scale ---------------------------------------------------

    @cached_property
    def y_mean(self) -> np.ndarray:
        """The response on the mean scale: successes / trials for the binomial (0 on a
        row with 0 trials, which carries no weight), else ``y`` itself."""
        if self.trials is None:
            return _read_only(self.y)
        trials = self.trials
        return _read_only(np.divide(self.y, trials, out=np.zeros(self.n), where=trials > 0))

    @cached_property
    def prior_weights(self) -> np.ndarray:
        """The prior weights per row, ones when none were given."""
        return _read_only(np.ones(self.n) if self.weights is None else self.weights)

    @cached_property
    def trial_counts(self) -> np.ndarray:
        """The number of trials per row: ``trials``, or 1 for every row without them."""
        return _read_only(np.ones(self.n) if self.trials is None else self.trials)

    @cached_property
    def case_weights(self) -> np.ndarray:
        """The weight of each row in the likelihood on the mean scale: prior weights
        times trials (the prior weights alone without trials)."""
        if self.trials is None:
            return self.prior_weights
        return _read_only(self.prior_weights * self.trials)

    @cached_property
    def active(self) -> np.ndarray:
        """Which rows carry information: those of positive case weight."""
        return _read_only(self.case_weights > 0)

    @cached_property
    def n_active(self) -> int:
        """Number of active rows (the observations a fit counts)."""
        return int(self.active.sum())

    @cached_property
    def active_rows(self) -> slice | np.ndarray:
        """Selects the active rows: a plain slice (no copies) when all are active,
        else the mask :attr:`active`."""
        return slice(None) if self.n_active == self.n else self.active

    @cached_property
    def eta_offset(self) -> np.ndarray:
        """The offset added to the linear predictor, per row (zeros without one)."""
        return _read_only(np.zeros(self.n) if self.offset is None else self.offset)

    @cached_property
    def offset_nonzero(self) -> bool:
        """Whether any row's offset is nonzero."""
        return self.offset is not None and bool(self.offset.any())

    # --- weighted statistics over the active rows -------------------------------------

    @cached_property
    def ybar(self) -> float:
        """The weighted mean of :attr:`y_mean` (see :func:`weighted_mean`)."""
        return float(weighted_mean(self.y_mean, self.case_weights))

    @cached_property
    def y_sd(self) -> float:
        """The weighted standard deviation of :attr:`y_mean` (see :func:`weighted_sd`)."""
        return float(weighted_sd(self.y_mean, self.case_weights))

    @cached_property
    def column_sizes(self) -> np.ndarray:
        """The largest absolute value of each column of ``X``."""
        return _read_only(np.abs(self.X).max(axis=0))

    @cached_property
    def column_means(self) -> np.ndarray:
        """The weighted mean of each column of ``X``; with ``center=True`` the
        intercept prior refers to the intercept at these means."""
        return _read_only(weighted_mean(self.X, self.case_weights))

    @cached_property
    def column_sds(self) -> np.ndarray:
        """The weighted standard deviation of each column of ``X``."""
        return _read_only(weighted_sd(self.X, self.case_weights))

    def weighted_mean(self, values: np.ndarray) -> Any:
        """The case-weighted mean of per-row ``values`` (along the rows)."""
        return weighted_mean(values, self.case_weights)

    # --- the executor of passes over the rows -----------------------------------------

    def sum_blocks(
        self,
        fn: Callable[..., Any],
        *rows: np.ndarray,
        combine: Callable[[Any, Any], Any] = operator.add,
    ) -> Any:
        """``fn`` of the per-row arrays ``rows``, summed over the blocks of rows.

        In memory the rows are one block: ``fn(*rows)``. A chunked design calls
        ``fn`` on each chunk where the chunk lives and merges the results with
        ``combine`` (a sum by default), so ``fn`` must give a block's share.
        """
        return fn(*rows)

    def map_rows(self, fn: Callable[..., np.ndarray], *rows: np.ndarray) -> np.ndarray:
        """The per-row array ``fn`` gives on the per-row arrays ``rows``: in memory
        ``fn(*rows)``; a chunked design applies it chunk by chunk, lazily."""
        return fn(*rows)

    def intercept_only(self) -> Design:
        """The same rows with a model matrix of ones (R's null model)."""
        return replace(self, X=np.ones((self.n, 1)), names=("(Intercept)",), intercept=0)


def positive_rows(weights: np.ndarray) -> slice | np.ndarray:
    """Selects the rows of positive weight: a plain slice when all are positive.

    Examples
    --------
    >>> positive_rows(np.array([1.0, 0.0, 2.0]))
    array([ True, False,  True])
    """
    positive = weights > 0
    return slice(None) if positive.all() else positive


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> Any:
    """The weighted mean of ``values`` along the rows, over the rows of positive weight.

    A row of weight 0 takes no part (it is no observation), so the result equals
    that of the data without it.

    Examples
    --------
    >>> weighted_mean(np.array([1.0, 3.0, 100.0]), np.array([1.0, 3.0, 0.0]))
    np.float64(2.5)
    """
    rows = positive_rows(weights)
    return np.average(values[rows], axis=0, weights=weights[rows])


def weighted_sd(values: np.ndarray, weights: np.ndarray) -> Any:
    """The weighted standard deviation (divisor: the sum of the weights) of
    ``values`` along the rows, over the rows of positive weight.

    Examples
    --------
    >>> float(weighted_sd(np.array([1.0, 3.0, 100.0]), np.array([1.0, 1.0, 0.0])))
    1.0
    """
    rows = positive_rows(weights)
    values, weights = values[rows], weights[rows]
    mean = np.average(values, axis=0, weights=weights)
    return np.sqrt(np.average((values - mean) ** 2, axis=0, weights=weights))


def centering_matrix(x_means: np.ndarray, intercept: int | None) -> np.ndarray:
    r"""The matrix :math:`C` with :math:`C\beta` the arguments of the coefficient
    priors: the identity, except that the intercept's row adds the other columns'
    means, so its prior is on the intercept at the predictors' means.

    Parameters
    ----------
    x_means : ndarray, shape (p,)
        The columns' means (:attr:`Design.column_means`); the intercept's own entry
        is not used.
    intercept : int or None
        The intercept's column; None gives the identity (no centring).

    Examples
    --------
    >>> centering_matrix(np.array([0.0, 2.0, -1.0]), 0)
    array([[ 1.,  2., -1.],
           [ 0.,  1.,  0.],
           [ 0.,  0.,  1.]])
    """
    matrix = np.eye(x_means.size)
    if intercept is not None:
        matrix[intercept] += x_means
        matrix[intercept, intercept] = 1.0
    return matrix


def _read_only(values: np.ndarray) -> np.ndarray:
    """A view of ``values`` that cannot be written to: a cached view is shared by
    every stage, and the caller's arrays stay untouched."""
    view = values.view()
    view.flags.writeable = False
    return view


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
