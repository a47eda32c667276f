"""Formulas and DataFrames in, validated designs out (formulaic does the parsing).

``y ~ x1 + C(group, contr.treatment("b")) + x1:x2 + bs(age, df=4)`` builds the
model matrix with formulaic; this module adds what a GLM needs around it: the
response (0/1, bool or a two-level category for the bernoulli, with the event
named), trials, offsets (a column, an expression such as ``"log(exposure)"``, or
``exposure=`` for log links), prior weights, and missing values dropped (with a
warning naming the columns) or refused. The formulaic model spec is kept, so new
data gets exactly the same columns, levels and transform states.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .design import Design, design_from_arrays
from .errors import BayesGLMError, MissingDataWarning
from .families import Spec

__all__ = ["caller_context", "design_from_formula", "new_data_matrix"]

_MISSING = ("drop", "raise")


def caller_context(depth: int) -> dict[str, Any]:
    """Names visible in the caller's frame (globals then locals), for formulas."""
    frame = sys._getframe(depth + 1)
    return {**frame.f_globals, **frame.f_locals}


def design_from_formula(
    formula: str,
    data: Any,
    spec: Spec,
    *,
    offset: Any = None,
    exposure: Any = None,
    weights: Any = None,
    trials: Any = None,
    missing: str = "drop",
    context: Mapping[str, Any] | None = None,
) -> Design:
    """Build a :class:`~bayesglm.design.Design` from a formula and a DataFrame.

    Parameters
    ----------
    formula : str
        ``"response ~ terms"`` in formulaic's (Wilkinson) syntax.
    data : DataFrame
        Never modified.
    offset : str or array_like, optional
        A column name, an expression of columns (``"log(exposure)"``), or values.
    exposure : str or array_like, optional
        For log links: the offset is ``log(exposure)``.
    weights, trials : str or array_like, optional
        Prior weights; the binomial's number of trials. A column name or values.
    missing : {"drop", "raise"}
        Rows with a missing value in any used column are dropped with a
        :class:`~bayesglm.errors.MissingDataWarning`, or refused.
    context : mapping, optional
        Names that formula expressions may use besides the columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayesglm.families import resolve
    >>> df = pd.DataFrame({"y": [1, 0, 1, 1], "dose": [1.0, 2.0, 3.0, 4.0],
    ...                    "arm": ["a", "b", "a", "b"]})
    >>> design_from_formula("y ~ dose + arm", df, resolve("bernoulli")).names
    ('Intercept', 'dose', 'arm[T.b]')
    """
    import formulaic

    frame = _as_frame(data)
    if not isinstance(formula, str) or "~" not in formula:
        raise BayesGLMError(
            f"formula must be a string 'response ~ predictors'; got (formula={formula!r})."
        )
    if missing not in _MISSING:
        raise BayesGLMError(f"missing must be 'drop' or 'raise'; got (missing={missing!r}).")
    if exposure is not None and offset is not None:
        raise BayesGLMError(
            "give offset= or exposure=, not both (exposure=E means offset=log(E)); "
            "got (offset=..., exposure=...)."
        )
    if exposure is not None and spec.link.name != "log":
        raise BayesGLMError(
            f"exposure= needs the log link (it adds log(exposure) to the linear predictor); "
            f"use offset= with the {spec.link.name} link; got (link={spec.link.name!r})."
        )
    context = dict(context or {})
    parsed = formulaic.Formula(formula)
    # The parsed right-hand side keeps "0 +" / "- 1"; its str() would not.
    lhs, rhs = str(parsed.lhs), parsed.rhs
    used = _used_columns(formula, frame)
    extras = {"weights": weights, "trials": trials, "exposure": exposure}
    for name, value in extras.items():
        if isinstance(value, str):
            _require_column(frame, value, name)
            used.append(value)
    offset_term = None
    if isinstance(offset, str):
        offset_term = offset
        used += [c for c in _used_columns(offset, frame) if c not in used]
    _refuse_numbers_as_text(frame, used, formula)
    keep = _drop_missing(frame, list(dict.fromkeys(used)), missing, extras, offset)
    dropped = tuple(_label(row) for row in frame.index[~keep])
    frame = frame[keep]

    y, event = _response(lhs, frame, spec, context)
    matrix = _evaluate(rhs, frame, context, "the formula's right-hand side")
    offset_values = _offset_values(offset, exposure, frame, context, keep)
    design = design_from_arrays(
        matrix,
        y,
        spec,
        names=list(matrix.columns),
        offset=offset_values,
        weights=_values(weights, frame, keep, "weights"),
        trials=_values(trials, frame, keep, "trials"),
    )
    training_columns = [c for c in dict.fromkeys(used) if c in frame.columns]
    return dataclasses.replace(
        design,
        intercept=names.index("Intercept")
        if "Intercept" in (names := list(matrix.columns))
        else None,
        formula=formula,
        model_spec=matrix.model_spec,
        training=frame[training_columns].copy(),
        dropped_rows=dropped,
        event=event,
        offset_term=offset_term,
        exposure=exposure if isinstance(exposure, str) else None,
    )


def _as_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        return pd.DataFrame(dict(data))
    raise BayesGLMError(
        "data must be a pandas DataFrame (or a dict of columns) when a formula is used; "
        f"got (data={type(data).__name__})."
    )


def _used_columns(expression: str, frame: pd.DataFrame) -> list[str]:
    import formulaic

    try:
        names = formulaic.Formula(expression).required_variables
    except Exception as error:  # formulaic's parse errors have no common base class
        raise BayesGLMError(
            f"the formula could not be parsed ({error}); check its syntax; "
            f"got (formula={expression!r})."
        ) from None
    return sorted(str(name) for name in names if str(name) in frame.columns)


def _refuse_numbers_as_text(frame: pd.DataFrame, used: list[str], formula: str) -> None:
    """A text column whose every value is a number would silently become a factor
    (unless the formula asks for categories with C(column))."""
    for column in dict.fromkeys(used):
        if re.search(rf"C\(\s*{re.escape(str(column))}\b", formula):
            continue
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        if isinstance(values.dtype, pd.CategoricalDtype):
            continue
        present = values.dropna()
        if len(present) and pd.to_numeric(present, errors="coerce").notna().all():
            first = _label(present.index[0])
            raise BayesGLMError(
                f"column {column!r} holds numbers stored as text; convert it with "
                f"pd.to_numeric (or wrap it in C() in the formula to treat it as categories); "
                f"got ({column}[{first!r}]={present.iloc[0]!r})."
            )


def _require_column(frame: pd.DataFrame, column: str, arg: str) -> None:
    if column not in frame.columns:
        raise BayesGLMError(
            f"{arg}= names a column that is not in the data; the columns are "
            f"{', '.join(map(str, frame.columns))}; got ({arg}={column!r})."
        )


def _drop_missing(
    frame: pd.DataFrame, used: list[str], missing: str, extras: dict, offset: Any
) -> np.ndarray:
    """Mask of the rows to keep."""
    na = frame[used].isna()
    for name, value in {**extras, "offset": offset}.items():
        if value is not None and not isinstance(value, str):
            na[f"{name}="] = np.isnan(_array(value, len(frame), name))
    rows = na.any(axis=1)
    if not rows.any():
        return np.ones(len(frame), dtype=bool)
    columns = sorted(str(c) for c in na.columns if na[c].any())
    counts = ", ".join(f"{c} ({int(na[c].sum())})" for c in columns)
    first = _label(frame.index[rows.to_numpy()][0])
    if missing == "raise":
        raise BayesGLMError(
            f"{int(rows.sum())} row(s) have missing values, in columns {counts}; drop or "
            f"impute them, or pass missing='drop'; the first is row {first!r}; "
            "got (missing='raise')."
        )
    warnings.warn(
        f"dropped {int(rows.sum())} of {len(frame)} rows with missing values, in columns "
        f"{counts} (first dropped row: {first!r}); pass missing='raise' to refuse instead.",
        MissingDataWarning,
        stacklevel=4,
    )
    return ~rows.to_numpy()


def _label(value: Any) -> Any:
    """A row label as the user wrote it (numpy scalars as plain numbers)."""
    return value.item() if isinstance(value, np.generic) else value


def _array(value: Any, n: int, arg: str) -> np.ndarray:
    try:
        values = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise BayesGLMError(
            f"{arg} must be a column name or numbers; got ({arg}={value!r})."
        ) from None
    if values.size != n:
        raise BayesGLMError(
            f"{arg} must have one value per row of the data ({n}); got ({arg} of length "
            f"{values.size})."
        )
    return values


def _evaluate(expression: Any, frame: pd.DataFrame, context: dict, what: str):
    import formulaic

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", formulaic.errors.DataMismatchWarning)
            return formulaic.model_matrix(expression, frame, context=context)
    except formulaic.errors.FormulaicError as error:
        raise BayesGLMError(
            f"{what} could not be evaluated: {error}; check the column names and "
            f"functions; got ({expression!r})."
        ) from None


def _response(
    lhs: str, frame: pd.DataFrame, spec: Spec, context: dict
) -> tuple[np.ndarray, str | None]:
    if lhs in frame.columns:
        column = frame[lhs]
        if _binary(spec) and not pd.api.types.is_numeric_dtype(column):
            return _binary_response(column, lhs)
        if pd.api.types.is_bool_dtype(column):
            return column.to_numpy(dtype=float), "True" if _binary(spec) else None
        if not pd.api.types.is_numeric_dtype(column):
            raise BayesGLMError(
                f"the response column {lhs!r} must hold numbers for the {spec.family.name} "
                f"family; convert it (e.g. pd.to_numeric); got (dtype={column.dtype})."
            )
        return column.to_numpy(dtype=float), None
    values = _evaluate(f"{lhs} - 1", frame, context, "the formula's response")
    if values.shape[1] != 1:
        raise BayesGLMError(
            f"the response must be one column; got ({lhs!r} gives {values.shape[1]})."
        )
    return values.to_numpy(dtype=float).reshape(-1), None


def _binary(spec: Spec) -> bool:
    """A 0/1 outcome: a probability mean, one trial per row."""
    return spec.family.is_probability and not spec.family.has_trials


def _binary_response(column: pd.Series, name: str) -> tuple[np.ndarray, str]:
    levels = (
        list(column.cat.categories)
        if isinstance(column.dtype, pd.CategoricalDtype)
        else sorted(column.dropna().unique(), key=str)
    )
    if len(levels) != 2:
        raise BayesGLMError(
            f"a bernoulli response given as categories needs exactly two levels (the "
            f"second is the event, as in R); got ({name!r} has levels {levels!r})."
        )
    event = levels[1]
    return (column == event).to_numpy(dtype=float), str(event)


def _values(value: Any, frame: pd.DataFrame, keep: np.ndarray, arg: str) -> Any:
    """A column (of the kept rows) or user values (subset to the kept rows)."""
    if value is None:
        return None
    if isinstance(value, str):
        column = frame[value]
        if not pd.api.types.is_numeric_dtype(column):
            raise BayesGLMError(
                f"the {arg} column {value!r} must hold numbers; got (dtype={column.dtype})."
            )
        return column.to_numpy(dtype=float)
    return _array(value, keep.size, arg)[keep]


def _offset_values(
    offset: Any, exposure: Any, frame: pd.DataFrame, context: dict, keep: np.ndarray
) -> np.ndarray | None:
    if exposure is not None:
        values = _values(exposure, frame, keep, "exposure")
        if (values <= 0).any():
            row = _label(frame.index[np.flatnonzero(values <= 0)[0]])
            raise BayesGLMError(
                f"exposure must be positive (its log is the offset); the first bad row is "
                f"{row!r}; got (exposure={values[values <= 0][0]!r})."
            )
        return np.log(values)
    if isinstance(offset, str):
        if offset in frame.columns:
            return _values(offset, frame, keep, "offset")
        values = _evaluate(f"{offset} - 1", frame, context, "the offset expression")
        if values.shape[1] != 1:
            raise BayesGLMError(
                f"the offset must be one column; got ({offset!r} gives {values.shape[1]})."
            )
        return values.to_numpy(dtype=float).reshape(-1)
    return _values(offset, frame, keep, "offset")


def new_data_matrix(design: Design, data: Any, context: Mapping[str, Any] | None = None):
    """Model matrix and offset for new data, with the training design's spec.

    Raises :class:`BayesGLMError` for a missing column, an unseen factor level
    (naming the column and the level), or a missing offset/exposure.
    """
    import formulaic

    frame = _as_frame(data)
    spec = design.model_spec
    needed = [c for c in design.training.columns if c not in _response_columns(design)]
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise BayesGLMError(
            f"the new data lack column(s) {', '.join(map(repr, absent))} that the model "
            f"uses; add them; got (columns={list(map(str, frame.columns))!r})."
        )
    _check_levels(design, frame)
    missing = frame[[c for c in needed if c in frame.columns]].isna().any(axis=1)
    if missing.any():
        raise BayesGLMError(
            f"the new data have missing values in {int(missing.sum())} row(s); fill or "
            f"drop them; the first is row {_label(frame.index[missing.to_numpy()][0])!r}; "
            "got (missing values)."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", formulaic.errors.DataMismatchWarning)
        matrix = spec.get_model_matrix(frame, context=dict(context or {}))
    offset = None
    if design.exposure is not None:
        offset = np.log(frame[design.exposure].to_numpy(dtype=float))
    elif design.offset_term is not None:
        everything = np.ones(len(frame), dtype=bool)
        offset = _offset_values(design.offset_term, None, frame, dict(context or {}), everything)
    elif design.offset is not None:
        raise BayesGLMError(
            "the model was fitted with an offset given as values; pass offset= for the new "
            "rows too; got (offset=None)."
        )
    return matrix.to_numpy(dtype=float), offset


def _response_columns(design: Design) -> set[str]:
    import formulaic

    lhs = str(formulaic.Formula(design.formula).lhs)
    return {c for c in design.training.columns if c == lhs or c in _names_in(lhs)}


def _names_in(expression: str) -> set[str]:
    import formulaic

    return {str(name) for name in formulaic.Formula(expression).required_variables}


def _check_levels(design: Design, frame: pd.DataFrame) -> None:
    spec = design.model_spec
    for factor, (kind, state) in spec.encoder_state.items():
        if str(kind.value) != "categorical":
            continue
        variables = [v for v in _names_in(str(factor)) if v in frame.columns]
        if len(variables) != 1:
            continue
        column = variables[0]
        known = {str(level) for level in state.get("categories", [])}
        unseen = sorted({str(v) for v in frame[column].dropna().unique()} - known)
        if unseen:
            raise BayesGLMError(
                f"column {column!r} has level(s) {', '.join(map(repr, unseen))} not seen in "
                f"the training data (known: {', '.join(sorted(known))}); the model has no "
                f"coefficient for them; got ({column}={unseen[0]!r})."
            )
