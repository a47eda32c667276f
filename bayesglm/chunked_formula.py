"""A formula over a dask dataframe, into a :class:`~bayesglm.chunked_design.ChunkedDesign`.

One pre-pass gathers what the formula learns from the data: the rows with a missing
value (counted, and dropped or refused as in memory), each partition's length, and
rows that show every level of every categorical column read by the formula. The
formula is built on those few rows (its :class:`~bayesglm.formula_state.FormulaState`:
the levels, the bernoulli's event) and then applied to each partition as new data is
(:func:`bayesglm.formula.new_data_matrix`), so every partition gets the same columns.

Transforms that learn from the numbers themselves (``center(x)``, ``scale(x)``,
``bs(x)``, ``poly(x)``, ...) would learn from those few rows, not from all rows, so a
formula with any is refused: compute such columns in the dataframe first.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .chunked_design import ChunkedDesign, chunked_design_from_arrays
from .errors import BayesGLMError, MissingDataWarning
from .families import Spec
from .formula import (
    _binary,
    _binary_response,
    _columns_read,
    _context_read,
    _evaluate,
    _names_read,
    _parse,
    _plain,
    _prepared,
    _require_column,
    _response,
    new_data_matrix,
)
from .formula_state import FormulaState

__all__ = ["chunked_design_from_formula"]


def chunked_design_from_formula(
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
) -> ChunkedDesign:
    """Build a chunked design from a formula and a dask dataframe.

    The arguments mean what they mean for
    :func:`bayesglm.formula.design_from_formula`, except that ``offset``,
    ``exposure``, ``weights`` and ``trials`` name columns (or, for ``offset``, an
    expression of columns) of ``data``: values given on the client would not be
    where the rows are.
    """
    import dask
    import dask.array as da

    context = dict(context or {})
    meta = data._meta
    if not isinstance(formula, str) or "~" not in formula:
        raise BayesGLMError(
            f"formula must be a string 'response ~ predictors'; got (formula={formula!r})."
        )
    if missing not in ("drop", "raise"):
        raise BayesGLMError(f"missing must be 'drop' or 'raise'; got (missing={missing!r}).")
    if exposure is not None and offset is not None:
        raise BayesGLMError(
            "give offset= or exposure=, not both (exposure=E means offset=log(E)); "
            "got (offset=..., exposure=...)."
        )
    extras = {"offset": offset, "exposure": exposure, "weights": weights, "trials": trials}
    for arg, value in extras.items():
        if value is not None and not isinstance(value, str):
            raise BayesGLMError(
                f"with a dask dataframe, {arg}= names a column of it (the values must "
                f"live where the rows are); got ({arg}={type(value).__name__})."
            )
    parsed = _parse(formula)
    if not hasattr(parsed, "lhs"):
        raise BayesGLMError(
            f"formula must name the response left of '~' ('response ~ predictors'); "
            f"got (formula={formula!r})."
        )
    lhs, rhs = str(parsed.lhs), parsed.rhs
    used = _columns_read(parsed, meta)
    for arg in ("exposure", "weights", "trials"):
        if extras[arg] is not None:
            _require_column(meta, extras[arg], arg)
            used.append(extras[arg])
    if offset is not None:
        used += _columns_read(_parse(offset), meta)
    used = list(dict.fromkeys(used))
    categorical = [c for c in used if not _numeric(meta[c])]

    rows = data[used]
    kept = rows.dropna() if missing == "drop" else rows
    lengths, na_counts, level_rows = dask.compute(
        kept.map_partitions(len),
        rows.isna().sum(),
        kept.map_partitions(_rows_showing_levels, categorical, meta=kept._meta),
    )
    _handle_missing(na_counts, int(sum(lengths)), missing)
    shown = _rows_showing_levels(level_rows, categorical)

    frame, dropped_levels = _prepared(shown, used)
    matrix = _evaluate(rhs, frame, context, "the formula's right-hand side")
    if matrix.model_spec.transform_state:
        transforms = ", ".join(sorted(matrix.model_spec.transform_state))
        raise BayesGLMError(
            "a formula over a dask dataframe cannot use transforms that learn from the "
            "data (they would see the pre-pass's few rows, not all of them); compute "
            f"those columns in the dataframe first; got ({transforms})."
        )
    event = None
    if lhs in frame.columns and _binary(spec):
        if not _numeric(frame[lhs]):
            event = _binary_response(frame[lhs], lhs)[1]
        elif pd.api.types.is_bool_dtype(frame[lhs]):
            event = "True"
    state = FormulaState(
        text=formula,
        model_spec=matrix.model_spec,
        training=shown,
        dropped_rows=(),
        dropped_levels=dropped_levels,
        context=_context_read(rhs, offset, frame, context),
        event=event,
        offset_term=offset if isinstance(offset, str) else None,
        exposure=exposure,
    )
    names = list(matrix.columns)
    width = len(names) + 2 + (weights is not None) + (trials is not None)
    # Only the names the response reads travel with each partition's task.
    response_context = {
        name: context[name]
        for name in _names_read(parsed.lhs)
        if name in context and name not in meta.columns
    }

    def values_of(part: pd.DataFrame) -> np.ndarray:
        return _partition_values(part, state, spec, lhs, used, weights, trials, response_context)

    build = dask.delayed(values_of)
    parts = [
        da.from_delayed(build(part), shape=(int(n), width), dtype=float)
        for part, n in zip(kept.to_delayed(), lengths, strict=True)
        if n > 0
    ]
    values = da.concatenate(parts, axis=0)
    p = len(names)
    columns = {"offset": p + 1}
    if weights is not None:
        columns["weights"] = p + 2
    if trials is not None:
        columns["trials"] = width - 1
    has_offset = offset is not None or exposure is not None
    return chunked_design_from_arrays(
        values[:, :p],
        values[:, p],
        spec,
        names=names,
        offset=values[:, p + 1] if has_offset else None,
        weights=values[:, columns["weights"]] if weights is not None else None,
        trials=values[:, columns["trials"]] if trials is not None else None,
        formula=state,
    )


def _numeric(values: pd.Series) -> bool:
    dtype = _plain(values).dtype if len(values) else values.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)


def _rows_showing_levels(frame: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    """A few rows of ``frame`` in which every level of each column in
    ``categorical`` appears (the first two rows when there are none)."""
    keep = np.zeros(len(frame), dtype=bool)
    keep[:2] = True
    for column in categorical:
        keep |= ~frame[column].duplicated().to_numpy()
    return frame[keep]


def _handle_missing(na_counts: pd.Series, kept: int, missing: str) -> None:
    """Refuse or warn about rows with missing values, as the in-memory formula does
    (counted per column; the rows themselves are not gathered to be named)."""
    counts = {str(c): int(k) for c, k in na_counts.items() if k > 0}
    if not counts:
        return
    listed = ", ".join(f"{c} ({k})" for c, k in sorted(counts.items()))
    if kept == 0:
        raise BayesGLMError(
            f"every row has a missing value, in columns {listed}, so no row is left to "
            "fit; fill them in or drop those columns; got (0 rows left)."
        )
    if missing == "raise":
        raise BayesGLMError(
            f"rows have missing values, in columns {listed}; drop or impute them, or "
            "pass missing='drop'; got (missing='raise')."
        )
    warnings.warn(
        f"dropped the rows with missing values, in columns {listed}; pass "
        "missing='raise' to refuse instead.",
        MissingDataWarning,
        stacklevel=4,
    )


def _partition_values(
    part: pd.DataFrame,
    state: FormulaState,
    spec: Spec,
    lhs: str,
    used: list[str],
    weights: str | None,
    trials: str | None,
    context: Mapping[str, Any],
) -> np.ndarray:
    """One partition's model matrix, response, offset, weights and trials."""
    matrix, offset = new_data_matrix(state, part)
    frame, _ = _prepared(part, used)
    if state.event is not None and not _numeric(frame[lhs]):
        y = (frame[lhs].astype(str) == state.event).to_numpy(dtype=float)
    else:
        y, _ = _response(lhs, frame, spec, dict(context))
    columns = [matrix.to_numpy(dtype=float), y[:, None]]
    columns.append(np.zeros((len(part), 1)) if offset is None else np.asarray(offset)[:, None])
    for column in (weights, trials):
        if column is not None:
            columns.append(frame[column].to_numpy(dtype=float)[:, None])
    return np.hstack(columns)
