"""A formula's state: what a design built from a formula carries, and its data form.

A model matrix built from a formula depends on what formulaic learned from the
training rows: spline knots, means and scales, polynomial recursions, factor
levels and contrasts, and which columns each term makes (its ``ModelSpec``).
:class:`FormulaState` holds that spec with everything else new rows are rebuilt
from (the formula, the training columns, the caller's values the formula read,
the offset or exposure to supply); a :class:`~bayesglm.design.Design` built from
a formula carries one, a design built from arrays none.

:func:`spec_to_data` writes the learned state as nested lists, dicts, strings and
numbers; :func:`spec_from_data` rebuilds the ``ModelSpec`` from it and the
formula, so a loaded fit makes the same columns for new rows without re-reading
(or re-learning from) the training data. Reading the data runs no code: only
formulaic's own enums and contrast classes, found by name in an allow-list, are
rebuilt from their fields.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import BayesGLMError

__all__ = [
    "FormulaState",
    "UnstorableState",
    "spec_from_data",
    "spec_to_data",
    "values_from_data",
    "values_to_data",
]


@dataclass(frozen=True, eq=False)
class FormulaState:
    """What a design built from a formula needs to build new rows the same way.

    Attributes
    ----------
    text : str
        The model formula, ``"response ~ terms"``, as given.
    model_spec : formulaic.ModelSpec
        The right-hand side's spec, with what it learned from the training rows.
    training : DataFrame
        The columns the formula, offset, exposure, weights and trials read, at the
        kept rows, as the user gave them (the rows' labels are the design's).
    dropped_rows : tuple
        Index labels of the rows dropped for missing values.
    dropped_levels : mapping of str to tuple
        Categories that no kept row has, by column (dropped, as R does).
    context : mapping of str to object
        Values from the caller's scope that the predictors read.
    event : str or None
        The response level counted as y = 1 (the bernoulli's), else None.
    offset_term, exposure : str or None
        The offset's column or expression, and the exposure column (log link), that
        new data must supply; None when not given as a column.
    """

    text: str
    model_spec: Any
    training: pd.DataFrame
    dropped_rows: tuple
    dropped_levels: Mapping[str, tuple]
    context: Mapping[str, Any]
    event: str | None
    offset_term: str | None
    exposure: str | None


class UnstorableState(TypeError):
    """A value in a formula's state that has no data representation."""


def spec_to_data(spec: Any) -> dict[str, Any]:
    """The state of a formulaic ``ModelSpec`` as JSON-ready data.

    Raises
    ------
    UnstorableState
        For state that is not data (e.g. a transform of the user's own that keeps
        a function in its state).

    Examples
    --------
    >>> import formulaic, pandas as pd
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 6.0]})
    >>> spec = formulaic.model_matrix("y ~ center(x)", df.assign(y=0)).rhs.model_spec
    >>> spec_to_data(spec)["transform_state"]
    {'$dict': [['center(x)', {'$dict': [['ddof', 1], ['center', {'$scalar': ['<f8', 3.0]}], \
['scale', None]]}]]}
    """
    return {
        "materializer": spec.materializer,
        "materializer_params": _encode(spec.materializer_params),
        "ensure_full_rank": spec.ensure_full_rank,
        "na_action": spec.na_action.value,
        "output": spec.output,
        "cluster_by": spec.cluster_by.value,
        "transform_state": _encode(spec.transform_state),
        "encoder_state": _encode(spec.encoder_state),
        "structure": [
            {
                "term": str(entry.term),
                "scoped_terms": [
                    {
                        "factors": [[f.factor.expr, f.reduced] for f in scoped.factors],
                        "scale": scoped.scale,
                    }
                    for scoped in entry.scoped_terms
                ],
                "columns": list(entry.columns),
            }
            for entry in spec.structure
        ],
    }


def spec_from_data(data: Mapping[str, Any], formula: str) -> Any:
    """The ``ModelSpec`` of the right-hand side of ``formula`` with the stored state.

    Raises
    ------
    BayesGLMError
        When the stored terms are not those of the formula.

    Examples
    --------
    >>> import formulaic, pandas as pd
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 6.0], "y": 0})
    >>> data = spec_to_data(formulaic.model_matrix("y ~ center(x)", df).rhs.model_spec)
    >>> spec = spec_from_data(data, "y ~ center(x)")
    >>> spec.get_model_matrix(pd.DataFrame({"x": [3.0, 5.0]}))["center(x)"].tolist()
    [0.0, 2.0]
    """
    import formulaic
    from formulaic.materializers.base import EncodedTermStructure
    from formulaic.materializers.types import EvaluatedFactor, ScopedFactor, ScopedTerm

    rhs = formulaic.Formula(formula).rhs
    terms = {str(term): term for term in rhs}
    factors = {factor.expr: factor for term in rhs for factor in term.factors}
    unknown = [entry["term"] for entry in data["structure"] if entry["term"] not in terms]
    if unknown:
        raise BayesGLMError(
            f"the stored formula state names term(s) {', '.join(map(repr, unknown))} that the "
            f"formula does not have; save the fit again; got (formula={formula!r})."
        )

    def scoped_term(entry: Mapping[str, Any]) -> Any:
        return ScopedTerm(
            [
                ScopedFactor(EvaluatedFactor(factors[expr], values=None), reduced=reduced)
                for expr, reduced in entry["factors"]
            ],
            scale=entry["scale"],
        )

    return formulaic.ModelSpec(
        formula=rhs,
        materializer=data["materializer"],
        materializer_params=_decode(data["materializer_params"]),
        ensure_full_rank=data["ensure_full_rank"],
        na_action=data["na_action"],
        output=data["output"],
        cluster_by=data["cluster_by"],
        structure=[
            EncodedTermStructure(
                terms[entry["term"]],
                [scoped_term(scoped) for scoped in entry["scoped_terms"]],
                list(entry["columns"]),
            )
            for entry in data["structure"]
        ],
        transform_state=_decode(data["transform_state"]),
        encoder_state=_decode(data["encoder_state"]),
    )


def values_to_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """Named values as data, leaving out those that are not data (functions, modules)."""
    stored = {}
    for name, value in values.items():
        try:
            stored[name] = _encode(value)
        except UnstorableState:
            continue
    return stored


def values_from_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """The named values :func:`values_to_data` stored."""
    return {name: _decode(value) for name, value in data.items()}


def _enums() -> dict[str, type[enum.Enum]]:
    from formulaic.materializers.types.enums import ClusterBy, NAAction
    from formulaic.parser.types import Factor
    from formulaic.utils.sentinels import Sentinel

    return {
        cls.__qualname__: cls
        for cls in (Factor.Kind, Factor.EvalMethod, NAAction, ClusterBy, Sentinel)
    }


def _classes() -> dict[str, type]:
    """formulaic's contrast classes (and their state): plain dataclasses of data."""
    from formulaic.transforms import contrasts

    return {
        name: cls
        for name, cls in vars(contrasts).items()
        if isinstance(cls, type)
        and dataclasses.is_dataclass(cls)
        and cls.__module__ == contrasts.__name__
    }


def _encode(value: Any) -> Any:
    """``value`` as JSON-ready data; containers and non-JSON types are tagged."""
    if isinstance(value, enum.Enum) and _enums().get(type(value).__qualname__) is type(value):
        return {"$enum": [type(value).__qualname__, value.value]}
    if isinstance(value, np.generic) and value.dtype.kind in "biufU":
        return {"$scalar": [value.dtype.str, value.item()]}
    if isinstance(value, np.generic) and value.dtype.kind in "mM":
        return {"$ticks": [value.dtype.str, int(value.view(np.int64))]}
    # Levels of a factor of dates or durations (before float: NaT is not a number here).
    if isinstance(value, pd.Timestamp):
        return {
            "$timestamp": [
                value.isoformat(),
                value.unit,
                None if value.tz is None else str(value.tz),
            ]
        }
    if isinstance(value, pd.Timedelta):
        return {"$timedelta": [value.isoformat(), value.unit]}
    # After enums and numpy scalars, which may subclass str or float.
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, tuple):
        return {"$tuple": [_encode(item) for item in value]}
    if isinstance(value, dict):
        return {"$dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray) and value.dtype.kind in "mM":
        return {
            "$array": [value.dtype.str, list(value.shape), value.view(np.int64).ravel().tolist()]
        }
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufUO":
        items = [_encode(item) for item in value.reshape(-1).tolist()]
        return {"$array": [value.dtype.str, list(value.shape), items]}
    if dataclasses.is_dataclass(value) and _classes().get(type(value).__name__) is type(value):
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$object": [type(value).__name__, fields]}
    raise UnstorableState(f"{type(value).__module__}.{type(value).__qualname__}")


def _decode(data: Any) -> Any:
    if isinstance(data, list):
        return [_decode(item) for item in data]
    if not isinstance(data, dict):
        return data
    ((tag, content),) = data.items()
    if tag == "$tuple":
        return tuple(_decode(item) for item in content)
    if tag == "$dict":
        return {_decode(k): _decode(v) for k, v in content}
    if tag == "$scalar":
        return np.dtype(content[0]).type(content[1])
    if tag == "$ticks":
        return np.array(content[1], dtype=np.int64).view(content[0])[()]
    if tag == "$timestamp":
        iso, unit, tz = content
        stamp = pd.Timestamp(iso).as_unit(unit)
        return stamp if tz is None else stamp.tz_convert(tz)
    if tag == "$timedelta":
        return pd.Timedelta(content[0]).as_unit(content[1])
    if tag == "$array":
        dtype, shape, items = content
        if np.dtype(dtype).kind in "mM":  # ticks since the epoch
            return np.array(items, dtype=np.int64).view(dtype).reshape(shape)
        return np.array([_decode(item) for item in items], dtype=dtype).reshape(shape)
    if tag == "$enum":
        return _enums()[content[0]](content[1])
    if tag == "$object":
        return _classes()[content[0]](**{k: _decode(v) for k, v in content[1].items()})
    raise ValueError(f"unknown tag {tag!r} in a stored formula state")
