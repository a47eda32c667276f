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

import ast
import copy
import dataclasses
import re
import sys
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .design import Design, design_from_arrays, row_labels
from .errors import BayesGLMError, MissingDataWarning, UnusedLevelWarning, row_label
from .families import Spec
from .formula_state import FormulaState

__all__ = [
    "caller_context",
    "design_from_formula",
    "factor_columns",
    "linear_columns",
    "new_data_matrix",
    "predictor_columns",
]

_MISSING = ("drop", "raise")
_ROWS_SHOWN = 10  # row labels a warning lists


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
    frame = _as_frame(data)
    # Values given as a Series pair with the data's rows by position: refuse other labels.
    row_labels(
        len(frame), data=frame, offset=offset, exposure=exposure, weights=weights, trials=trials
    )
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
    if exposure is not None and not spec.link.scales_by_exposure:
        raise BayesGLMError(
            f"exposure= needs the log link (it adds log(exposure) to the linear predictor); "
            f"use offset= with the {spec.link.name} link; got (link={spec.link.name!r})."
        )
    context = dict(context or {})
    parsed = _parse(formula)
    if not hasattr(parsed, "lhs"):
        raise BayesGLMError(
            f"formula must name the response left of '~' ('response ~ predictors'); "
            f"got (formula={formula!r})."
        )
    # The parsed right-hand side keeps "0 +" / "- 1"; its str() would not.
    lhs, rhs = str(parsed.lhs), parsed.rhs
    used = _columns_read(parsed, frame)
    extras = {"weights": weights, "trials": trials, "exposure": exposure}
    for name, value in extras.items():
        if isinstance(value, str):
            _require_column(frame, value, name)
            used.append(value)
    offset_term = None
    if isinstance(offset, str):
        offset_term = offset
        used += _columns_read(_parse(offset), frame)
    used = list(dict.fromkeys(used))
    _refuse_repeated_columns(frame, used)
    for column in used:
        if not re.search(rf"C\(\s*{re.escape(str(column))}\b", formula):
            _check_column(frame[column], column)
    keep = _drop_missing(frame, used, missing, extras, offset)
    dropped = tuple(_label(row) for row in frame.index[~keep])
    # The kept rows as the user gave them; formulaic reads their prepared copy, and
    # everything the formula learns (levels, knots, means) comes from those rows.
    training = frame.loc[keep, used].copy()
    frame, dropped_levels = _prepared(training, used)
    _warn_dropped_levels(dropped_levels)

    y, event = _response(lhs, frame, spec, context)
    matrix = _evaluate(rhs, frame, context, "the formula's right-hand side")
    _refuse_empty_terms(matrix, frame)
    offset_values = _offset_values(offset, exposure, frame, context, keep)
    # Labelled values: messages name the user's columns and rows.
    design = design_from_arrays(
        matrix,
        pd.Series(y, index=frame.index, name=lhs),
        spec,
        names=list(matrix.columns),
        offset=offset_values,
        weights=_values(weights, frame, keep, "weights"),
        trials=_values(trials, frame, keep, "trials"),
    )
    return dataclasses.replace(
        design,
        intercept=names.index("Intercept")
        if "Intercept" in (names := list(matrix.columns))
        else None,
        formula=FormulaState(
            text=formula,
            model_spec=matrix.model_spec,
            training=training,
            dropped_rows=dropped,
            dropped_levels=dropped_levels,
            context=_context_read(rhs, offset_term, frame, context),
            event=event,
            offset_term=offset_term,
            exposure=exposure if isinstance(exposure, str) else None,
        ),
    )


def _as_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame(dict(data))
        except ValueError as error:
            raise BayesGLMError(
                f"data given as a dict must hold columns of one length; got ({error})."
            ) from None
    raise BayesGLMError(
        "data must be a pandas DataFrame (or a dict of columns) when a formula is used; "
        f"got (data={type(data).__name__})."
    )


def _parse(expression: str) -> Any:
    import formulaic

    try:
        return formulaic.Formula(expression)
    except Exception as error:  # formulaic's parse errors have no common base class
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BayesGLMError(
            f"the formula could not be parsed ({reason}); check its syntax; "
            f"got (formula={expression!r})."
        ) from None


def _columns_read(parsed: Any, frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` that a parsed formula (or expression) reads, sorted.

    formulaic's ``required_variables`` leaves out the arguments of stateful
    transforms (``bs(x)``, ``center(x)``, ``poly(x, 2)``), so the names are read
    from each factor's own code as well.
    """
    names = _names_read(parsed)
    return sorted(c for c in frame.columns if isinstance(c, str) and c in names)


def _names_read(parsed: Any) -> set[str]:
    """Every name a parsed formula's factors read: columns, and names from the
    caller's scope."""
    sides = (parsed.lhs, parsed.rhs) if hasattr(parsed, "lhs") else (parsed,)
    names: set[str] = set()
    for factor in (factor for side in sides for term in side for factor in term.factors):
        names |= _names_read_by(factor)
    return names


def _names_read_by(factor: Any) -> set[str]:
    """The names one factor of a formula reads."""
    from formulaic.parser.types import Factor

    names = {str(variable.root) for variable in factor.required_variables}
    if factor.eval_method is Factor.EvalMethod.LOOKUP:
        names.add(factor.expr)
    elif factor.eval_method is Factor.EvalMethod.PYTHON:
        names |= _python_names(factor.expr)
    return names


def _python_names(expression: str) -> set[str]:
    from formulaic.utils.code import sanitize_variable_names

    aliases: dict[str, str] = {}
    try:
        tree = ast.parse(sanitize_variable_names(expression, {}, aliases), mode="eval")
    except SyntaxError:  # formulaic reports it when it evaluates the factor
        return set()
    return {aliases.get(n.id, n.id) for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _context_read(
    rhs: Any, offset_term: str | None, frame: pd.DataFrame, context: Mapping[str, Any]
) -> dict[str, Any]:
    """The values from the caller's scope that the predictors and offset read
    (``k`` in ``I(x * k)``): new rows are evaluated with the same values. As in
    formulaic, columns come first, then these, then formulaic's transforms."""
    names = _names_read(rhs)
    if offset_term is not None:
        names |= _names_read(_parse(offset_term))
    return {name: context[name] for name in sorted(names) if name in context and name not in frame}


def _refuse_repeated_columns(frame: pd.DataFrame, used: list[str]) -> None:
    repeated = [c for c in dict.fromkeys(used) if (frame.columns == c).sum() > 1]
    if repeated:
        raise BayesGLMError(
            f"column names must be unique; the data have more than one column named "
            f"{', '.join(map(repr, repeated))}; rename them; got (columns="
            f"{list(map(str, frame.columns))!r})."
        )


def _check_column(values: pd.Series, column: str, required: str | None = None) -> None:
    """Refuse a column that a model matrix would misread, naming the first offending row.

    Text whose values all (or mostly) read as numbers would silently become a
    factor with a level per number: numbers stored as text, or a stray word among
    numbers (a damaged cell). Where numbers are ``required`` (the reason), any
    value that is not a number is refused. Dates, and other kinds that are neither
    numbers, text nor categories, are refused.
    """
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return
    if _object_kind(values) is not None:
        return
    categorical = isinstance(values.dtype, pd.CategoricalDtype)
    textual = not categorical and (
        pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)
    )
    if not (required or textual or categorical):
        raise BayesGLMError(
            f"column {column!r} holds {values.dtype} values, which a model matrix cannot "
            "use; convert them to numbers (e.g. days since a start date) or wrap the "
            f"column in C() to treat it as categories; got ({column}.dtype={values.dtype})."
        )
    present = values.dropna()
    if not len(present) or not (required or textual):
        return
    numbers = pd.to_numeric(present, errors="coerce").notna() if textual else present.isna()
    categories = "or wrap it in C() in the formula to treat it as categories"
    if numbers.all():
        first = row_label(present, 0)
        raise BayesGLMError(
            f"column {column!r} holds numbers stored as text; convert it with "
            f"pd.to_numeric ({required or categories}); the first is row {first!r}; "
            f"got ({column}[{first!r}]={_label(present.iloc[0])!r})."
        )
    if not (required or numbers.mean() >= 0.5):
        return
    position = int(np.flatnonzero(~numbers.to_numpy())[0])
    first, value = row_label(present, position), _label(present.iloc[position])
    count = int((~numbers).sum())
    problem = (
        f"must hold numbers ({required}), but {count} value(s) are not"
        if required
        else f"mixes numbers with {count} value(s) that are not numbers"
    )
    raise BayesGLMError(
        f"column {column!r} {problem}; fix or drop those rows (pd.to_numeric(..., "
        f"errors='coerce') makes them missing){'' if required else ', ' + categories}; "
        f"the first is row {first!r}; got ({column}[{first!r}]={value!r})."
    )


# An object column that pandas could not type (a CSV column of True/False with a
# blank, a list of Python numbers with None) reads as its values' kind.
_OBJECT_KINDS = {
    "boolean": "bool",
    "integer": "number",
    "floating": "number",
    "mixed-integer-float": "number",
}


def _object_kind(values: pd.Series) -> str | None:
    """The kind of an object column holding only booleans or only numbers (missing
    values aside): "bool" or "number"; None otherwise."""
    if values.dtype != object:
        return None
    return _OBJECT_KINDS.get(pd.api.types.infer_dtype(values, skipna=True))


def _prepared(frame: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """The ``columns`` of rows without missing values, as formulaic should read them,
    and the levels dropped from categorical columns because no row has them.

    A column means the same whatever dtype pandas gave it: nullable and pyarrow
    numbers and booleans become numpy ones, text of any string dtype becomes
    object text (formulaic takes pandas' ``string`` dtype for numbers), object
    columns of only booleans or numbers become bool or numbers. Unused categories
    are dropped, as R's ``droplevels`` (their column would be all zeros).
    """
    prepared, dropped = {}, {}
    for column in columns:
        values = _plain(frame[column])
        if isinstance(values.dtype, pd.CategoricalDtype):
            present = values.cat.remove_unused_categories()
            unused = values.cat.categories.difference(present.cat.categories, sort=False)
            if len(unused):
                dropped[column] = tuple(_label(level) for level in unused)
                values = present
        prepared[column] = values.array
    return pd.DataFrame(prepared, index=frame.index), dropped


def _plain(values: pd.Series) -> pd.Series:
    """``values`` with a numpy dtype, or object text, or categories."""
    dtype = values.dtype
    kind = _object_kind(values)
    if kind == "bool":
        return values.astype(bool)
    if kind == "number":
        return pd.to_numeric(values)
    if isinstance(dtype, pd.CategoricalDtype) or values.dtype == np.dtype(object):
        return values
    if pd.api.types.is_string_dtype(dtype):
        return values.astype(object)
    numpy_dtype = getattr(dtype, "numpy_dtype", None)  # nullable and pyarrow dtypes
    if numpy_dtype is not None and numpy_dtype.kind in "biuf":
        return pd.Series(values.to_numpy(dtype=numpy_dtype), index=values.index, name=values.name)
    return values


def _warn_dropped_levels(dropped: Mapping[str, tuple]) -> None:
    for column, levels in dropped.items():
        warnings.warn(
            f"column {column!r} has level(s) {', '.join(map(repr, levels))} that no row "
            "(of those kept) has; dropped them, as R does, so the model has no coefficient "
            "for them and new data with them are refused.",
            UnusedLevelWarning,
            stacklevel=4,
        )


def _refuse_empty_terms(matrix: Any, frame: pd.DataFrame) -> None:
    """Refuse a term that gives the model no column. formulaic codes a factor with a
    single level (among the rows kept) as zero columns, so the term would vanish from
    the fit without a word; R's ``glm()`` stops there too ("contrasts can be applied
    only to factors with 2 or more levels")."""
    if frame.empty:
        return  # no rows at all: the design refuses that, by its own name
    for term, columns in matrix.model_spec.term_indices.items():
        if columns:
            continue
        single = {
            column: sorted(map(str, frame[column].dropna().unique()))
            for column in _columns_read(_parse(str(term)), frame)
            if frame[column].nunique(dropna=True) <= 1
        }
        shown = ", ".join(f"{column!r} has only {levels!r}" for column, levels in single.items())
        raise BayesGLMError(
            f"the term {str(term)!r} gives the model no coefficient: a factor needs at "
            "least two levels among the rows used (a single level is absorbed by the "
            "intercept); drop the term, or fit on data where the factor varies; "
            f"got ({shown or f'term={str(term)!r}'})."
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
    if rows.all():
        raise BayesGLMError(
            f"every row has a missing value, in columns {counts}, so no row is left to "
            f"fit; fill them in or drop those columns; the first is row {first!r}; "
            f"got ({len(frame)} rows)."
        )
    if missing == "raise":
        raise BayesGLMError(
            f"{int(rows.sum())} row(s) have missing values, in columns {counts}; drop or "
            f"impute them, or pass missing='drop'; the first is row {first!r}; "
            "got (missing='raise')."
        )
    labels = [_label(row) for row in frame.index[rows.to_numpy()]]
    shown = ", ".join(map(repr, labels[:_ROWS_SHOWN]))
    more = f" and {len(labels) - _ROWS_SHOWN} more" if len(labels) > _ROWS_SHOWN else ""
    warnings.warn(
        f"dropped {len(labels)} of {len(frame)} rows with missing values, in columns "
        f"{counts} (rows {shown}{more}); pass missing='raise' to refuse instead.",
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


def _evaluate(
    expression: Any,
    frame: pd.DataFrame,
    context: Mapping[str, Any],
    what: str,
    shown: str | None = None,
) -> Any:
    """The model matrix of ``expression`` (a formula, or a fitted ``ModelSpec``);
    errors end with ``got (<shown>)``, the expression by default."""
    import formulaic

    errors = formulaic.errors
    shown = repr(expression) if shown is None else shown
    try:
        # Rows where a transform gives NaN (log of a negative) are kept, not dropped:
        # the design checks name them. numpy's own warning about them is noise then.
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("error", errors.DataMismatchWarning)
            matrix = formulaic.model_matrix(
                expression, frame, context=dict(context), na_action="ignore"
            )
    except errors.DataMismatchWarning as warning:
        raise BayesGLMError(
            f"a factor in {what} has level(s) that the model has no coefficient for "
            f"({str(warning).split('. They')[0]}); drop those rows, or give the factor "
            f"those levels; got ({shown})."
        ) from None
    except errors.FormulaicError as error:
        raise BayesGLMError(
            f"{what} could not be evaluated: {error}; check the column names and "
            "functions (a saved fit keeps the numbers, text and arrays a formula takes "
            f"from the fitting session, not functions); got ({shown})."
        ) from None
    return matrix


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


def _values(value: Any, frame: pd.DataFrame, keep: np.ndarray, arg: str) -> pd.Series | None:
    """A column (of the kept rows) or user values (subset to the kept rows), labelled
    with the rows of ``frame`` and named after the column (or ``arg``)."""
    if value is None:
        return None
    if isinstance(value, str):
        column = frame[value]
        _check_column(column, value, f"{arg}= needs numbers")
        return pd.Series(column.to_numpy(dtype=float), index=frame.index, name=value)
    return pd.Series(_array(value, keep.size, arg)[keep], index=frame.index, name=arg)


def _offset_values(
    offset: Any, exposure: Any, frame: pd.DataFrame, context: dict, keep: np.ndarray
) -> pd.Series | None:
    if exposure is not None:
        values = _values(exposure, frame, keep, "exposure")
        bad = np.flatnonzero(~(values > 0))
        if bad.size:
            row = row_label(values, bad[0])
            raise BayesGLMError(
                f"exposure must be positive (its log is the offset); {bad.size} row(s) are "
                f"not, the first is row {row!r}; got ({values.name}[{row!r}]="
                f"{values.iloc[bad[0]].item()!r})."
            )
        return np.log(values).rename(f"log({values.name})")
    if isinstance(offset, str):
        if offset in frame.columns:
            return _values(offset, frame, keep, "offset")
        values = _evaluate(f"{offset} - 1", frame, context, "the offset expression")
        if values.shape[1] != 1:
            raise BayesGLMError(
                f"the offset must be one column; got ({offset!r} gives {values.shape[1]})."
            )
        return pd.Series(values.to_numpy(dtype=float).reshape(-1), index=frame.index, name=offset)
    return _values(offset, frame, keep, "offset")


def new_data_matrix(state: FormulaState, data: Any, context: Mapping[str, Any] | None = None):
    """Model matrix and offset for new data, built as the formula built the training rows'.

    Raises :class:`BayesGLMError`, naming the column and the first offending row,
    for no rows, a missing or repeated column, text where the model was fitted on
    numbers, an unseen factor level, or a missing value (offset and exposure
    columns included).

    Returns
    -------
    matrix : DataFrame
        The model matrix, indexed like ``data``.
    offset : Series or None
        None when the model has no offset, or was given its offset as values (the
        caller then supplies the new rows' values).
    """
    frame = _as_frame(data)
    needed = _predictor_columns(state)
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise BayesGLMError(
            f"the new data lack column(s) {', '.join(map(repr, absent))} that the model "
            f"uses; add them; got (columns={list(map(str, frame.columns))!r})."
        )
    if not len(frame):
        raise BayesGLMError("the new data have no rows; pass at least one; got (0 rows).")
    _refuse_repeated_columns(frame, needed)
    for column in needed:
        trained = _plain(state.training[column])
        if pd.api.types.is_numeric_dtype(trained) or pd.api.types.is_bool_dtype(trained):
            _check_column(frame[column], column, "the model was fitted on numbers")
    missing = frame[needed].isna()
    rows = missing.any(axis=1).to_numpy()
    if rows.any():
        columns = ", ".join(f"{c} ({int(missing[c].sum())})" for c in needed if missing[c].any())
        raise BayesGLMError(
            f"the new data have missing values in {int(rows.sum())} row(s), in columns "
            f"{columns}; fill or drop them; the first is row {_label(frame.index[rows][0])!r}; "
            "got (missing values)."
        )
    frame, _ = _prepared(frame, needed)
    _check_levels(state, frame)
    names = {**state.context, **(context or {})}
    # formulaic updates the spec's state as it builds a matrix: work on a copy, so
    # that a failed call cannot change the fitted model.
    spec = copy.deepcopy(state.model_spec)
    matrix = _evaluate(spec, frame, names, "the new data", f"formula={state.text!r}")
    everything = np.ones(len(frame), dtype=bool)
    offset = _offset_values(state.offset_term, state.exposure, frame, names, everything)
    return matrix, offset


def predictor_columns(state: FormulaState) -> list[str]:
    """The training columns that the right-hand side reads (the predictors), in the
    training frame's order; offset, exposure, weights and trials columns only when a
    predictor reads them too."""
    import formulaic

    names = _names_read(formulaic.Formula(state.text).rhs)
    return [c for c in state.training.columns if c in names]


def factor_columns(state: FormulaState) -> dict[str, tuple[list, Any]]:
    """{column: (levels, reference level)} for each column the formula encodes as a
    factor as it is (``g``, ``C(g)``, ``C(g, contr.treatment("b"))``).

    The reference is the level without a treatment column of its own (``[T.level]``)
    where the coding has one, else the first level.
    """
    from formulaic.parser.types import Factor

    found: dict[str, tuple[list, Any]] = {}
    columns = [str(c) for c in state.model_spec.column_names]
    for factor, (kind, encoding) in state.model_spec.encoder_state.items():
        column = _factor_column(factor, state.training)
        if kind is not Factor.Kind.CATEGORICAL or column is None or "categories" not in encoding:
            continue
        levels = list(encoding["categories"])
        own = [lv for lv in levels if any(f"{factor}[T.{lv}]" in c for c in columns)]
        missing = [lv for lv in levels if lv not in own]
        reference = missing[0] if own and len(missing) == 1 else levels[0]
        found.setdefault(column, (levels, reference))
    return found


def linear_columns(state: FormulaState) -> dict[str, str]:
    """{column: its model-matrix column} for each numeric training column that the
    right-hand side reads once, as itself: a term ``x`` alone, not ``I(x**2)``,
    ``x:z``, ``log(x)`` nor ``C(x)``, and in no other term. That model-matrix column
    holds the column's values, so moving the column moves it, and only it, by as much.
    """
    from formulaic.parser.types import Factor

    spec = state.model_spec
    readers: dict[str, list] = {}
    for term in spec.terms:
        for factor in term.factors:
            for name in _names_read_by(factor):
                readers.setdefault(name, []).append((term, factor))
    found: dict[str, str] = {}
    for column, uses in readers.items():
        values = state.training.get(column)
        if values is None or len(uses) != 1:
            continue
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        term, factor = uses[0]
        indices = spec.term_indices[term]
        if (
            len(term.factors) == 1
            and factor.eval_method is Factor.EvalMethod.LOOKUP
            and factor.expr == column
            and spec.encoder_state.get(column, (None,))[0] is Factor.Kind.NUMERICAL
            and len(indices) == 1
        ):
            found[column] = str(spec.column_names[indices[0]])
    return found


def _predictor_columns(state: FormulaState) -> list[str]:
    """The training columns that the right-hand side, offset or exposure read."""
    import formulaic

    names = _names_read(formulaic.Formula(state.text).rhs)
    if state.offset_term is not None:
        names |= _names_read(_parse(state.offset_term))
    if state.exposure is not None:
        names.add(state.exposure)
    return [c for c in state.training.columns if c in names]


def _check_levels(state: FormulaState, frame: pd.DataFrame) -> None:
    """Refuse values of a factor's column that the training rows did not have.

    Levels compare by value, as the encoder compares them: a CSV that writes 65 as
    65.0 names the level 65. Factors of computed values (``C(np.round(x))``) are
    checked by formulaic as it encodes them (see :func:`_evaluate`).
    """
    from formulaic.parser.types import Factor

    for factor, (kind, encoding) in state.model_spec.encoder_state.items():
        column = _factor_column(factor, frame)
        if kind is not Factor.Kind.CATEGORICAL or column is None or "categories" not in encoding:
            continue
        known = list(encoding["categories"])
        values = frame[column]
        unseen = np.flatnonzero(~values.isin(known).to_numpy())
        if not unseen.size:
            continue
        first, value = row_label(values, unseen[0]), _label(values.iloc[unseen[0]])
        new = list(dict.fromkeys(_label(v) for v in values.iloc[unseen]))
        dropped = [v for v in new if v in state.dropped_levels.get(column, ())]
        why = (
            f" ({', '.join(repr(str(v)) for v in dropped)} had no training rows and was dropped)"
            if dropped
            else ""
        )
        raise BayesGLMError(
            f"column {column!r} has level(s) {', '.join(repr(str(v)) for v in new)} not seen "
            f"in the training data{why} (known: {', '.join(map(str, known))}); the "
            f"model has no coefficient for them; the first is row {first!r}; "
            f"got ({column}[{first!r}]={value!r})."
        )


def _factor_column(factor: str, frame: pd.DataFrame) -> str | None:
    """The column whose values a categorical factor encodes as they are: ``g`` for
    ``g``, ``C(g)`` and ``C(g, contr.sum)``; None for computed values."""
    if factor in frame.columns:
        return factor
    from formulaic.utils.code import sanitize_variable_names

    aliases: dict[str, str] = {}
    try:
        call = ast.parse(sanitize_variable_names(factor, {}, aliases), mode="eval").body
    except SyntaxError:
        return None
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "C"
        and call.args
        and isinstance(call.args[0], ast.Name)
    ):
        return None
    column = aliases.get(call.args[0].id, call.args[0].id)
    return column if column in frame.columns else None
