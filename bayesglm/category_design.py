"""A categorical response: its levels, their order and reference, and the design.

The response may be text labels, a pandas ``Categorical`` (its categories give the
levels and their order; an ordered one for the cumulative family), integer codes
(ordered by value), or anything with ``levels=`` giving the order. It is encoded as
codes 0 … K-1 and the predictors go through the formula (or array) path every other
family takes, so that missing values, weights, factor levels and new data are
handled the same way.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .category_families import CategorySpec
from .design import Design, design_from_arrays
from .errors import BayesGLMError, UnusedLevelWarning
from .families import resolve

__all__ = [
    "CategoryDesign",
    "category_design_from_arrays",
    "category_design_from_formula",
    "encode_response",
    "refuse_extras",
]

# The predictors and weights are checked as for a gaussian model: it accepts any
# real response, here the codes.
_CARRIER = resolve("gaussian")


@dataclass(frozen=True)
class CategoryDesign:
    """The design of a categorical outcome.

    Attributes
    ----------
    design : Design
        Predictors, weights and row labels; ``design.y`` holds the codes 0 … K-1.
    levels : tuple
        The response's levels, in order (codes index them).
    reference : int
        The reference level's code (``categorical``; 0 for ``cumulative``).
    columns : tuple of int
        The columns of ``design.X`` in the linear predictor: all of them, but the
        intercept for ``cumulative`` (its cutpoints take the intercept's place).
    """

    design: Design
    levels: tuple
    reference: int
    columns: tuple[int, ...]

    @property
    def K(self) -> int:
        """Number of levels."""
        return len(self.levels)

    @property
    def codes(self) -> np.ndarray:
        """The response's codes, as integers."""
        return self.design.y.astype(np.intp)

    @property
    def X(self) -> np.ndarray:
        """The model matrix of the linear predictor."""
        return self.design.X[:, list(self.columns)]

    @property
    def terms(self) -> tuple[str, ...]:
        """The names of the linear predictor's columns."""
        return tuple(self.design.names[j] for j in self.columns)

    @property
    def level_names(self) -> tuple[str, ...]:
        """The levels as text (names of parameters and columns)."""
        return tuple(str(level) for level in self.levels)

    def matrix(self, X: np.ndarray) -> np.ndarray:
        """The linear predictor's columns of a full model matrix of new rows."""
        return X[:, list(self.columns)]


def encode_response(
    values: Any,
    spec: CategorySpec,
    name: str,
    levels: Sequence[Any] | None = None,
) -> tuple[np.ndarray, tuple]:
    """Codes 0 … K-1 (NaN where missing) and the levels in order.

    Levels no row has are dropped with a warning, as R's ``multinom`` does.

    Examples
    --------
    >>> from bayesglm.category_families import resolve_category
    >>> codes, levels = encode_response(["b", "a", "c", "a"], resolve_category("categorical"), "y")
    >>> codes.tolist(), levels
    ([1.0, 0.0, 2.0, 0.0], ('a', 'b', 'c'))
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    family = spec.family
    if levels is not None:
        order = _given_levels(levels, series, name)
    elif isinstance(series.dtype, pd.CategoricalDtype):
        if family.ordered and not series.cat.ordered:
            raise _unknown_order(name, "an unordered pandas Categorical")
        order = list(series.cat.categories)
    elif pd.api.types.is_bool_dtype(series) or (
        pd.api.types.is_numeric_dtype(series) and _whole(series)
    ):
        order = sorted(series.dropna().unique().tolist())
    elif pd.api.types.is_numeric_dtype(series):
        raise BayesGLMError(
            f"the response {name!r} of the {family.name} family must be categories: text "
            "labels, a pandas Categorical or integer codes; got (non-integer numbers)."
        )
    else:
        if family.ordered:
            raise _unknown_order(name, "text labels")
        # R's factor(): text levels in sorted order.
        order = sorted(series.dropna().unique().tolist(), key=str)
    position = {level: code for code, level in enumerate(order)}
    missing = series.isna().to_numpy()
    present = [
        position.get(value) if not is_missing else None
        for value, is_missing in zip(series.tolist(), missing, strict=True)
    ]
    used = sorted({code for code in present if code is not None})
    unused = [order[code] for code in range(len(order)) if code not in used]
    if unused:
        warnings.warn(
            f"level(s) {', '.join(map(repr, unused))} of the response {name!r} have no "
            "rows and were dropped",
            UnusedLevelWarning,
            stacklevel=4,
        )
    kept = {code: new for new, code in enumerate(used)}
    codes = np.array(
        [np.nan if code is None else float(kept[code]) for code in present], dtype=float
    )
    final = tuple(order[code] for code in used)
    if len(final) < family.min_levels:
        raise BayesGLMError(
            f"the {family.name} family needs at least {family.min_levels} levels of the "
            f"response with rows; for two, use family='bernoulli'; got ({name!r} has "
            f"levels {list(final)!r})."
        )
    return codes, final


def refuse_extras(family: str, **extras: Any) -> None:
    """Refuse arguments of the scalar families (offset, exposure, trials, start)."""
    given = [name for name, value in extras.items() if value is not None]
    if given:
        raise BayesGLMError(
            f"the {family} family takes no {', '.join(given)} (its outcome is one category "
            "per row, frequency weights go in weights=, and its start is the observed "
            f"proportions); drop it; got ({given[0]}=...)."
        )


def _whole(series: pd.Series) -> bool:
    values = series.dropna().to_numpy(dtype=float)
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def _given_levels(levels: Sequence[Any], series: pd.Series, name: str) -> list:
    order = list(levels)
    if len(set(order)) != len(order) or len(order) == 0:
        raise BayesGLMError(
            f"levels= must list each level of the response once; got (levels={order!r})."
        )
    strange = sorted({v for v in series.dropna().tolist() if v not in set(order)}, key=str)
    if strange:
        raise BayesGLMError(
            f"the response {name!r} has values that levels= does not list; add them to "
            f"levels= (in their order) or drop those rows; got ({strange[:5]!r})."
        )
    return order


def _unknown_order(name: str, what: str) -> BayesGLMError:
    return BayesGLMError(
        f"the cumulative family needs the order of the response's levels, and {what} "
        "do not give it; pass levels=[lowest, ..., highest], or make the column an "
        "ordered pandas Categorical (pd.Categorical(values, categories=[...], "
        f"ordered=True)); got ({name!r})."
    )


def _reference_code(spec: CategorySpec, levels: tuple, reference: Any) -> int:
    if reference is None:
        return 0
    if spec.family.ordered:
        raise BayesGLMError(
            "reference= applies to the categorical family only (the cumulative family "
            f"has cutpoints, not a reference level); drop it; got (reference={reference!r})."
        )
    if reference not in levels:
        raise BayesGLMError(
            f"reference= must be one of the response's levels {list(levels)!r}; "
            f"got (reference={reference!r})."
        )
    return levels.index(reference)


def _columns(spec: CategorySpec, design: Design) -> tuple[int, ...]:
    """The linear predictor's columns, checked to be of full rank together with the
    cutpoints' constant (cumulative) or on their own (categorical)."""
    columns = [j for j in range(design.p) if not (spec.family.ordered and j == design.intercept)]
    X = design.X[:, columns]
    rows = X[design.active] if design.n else X
    check = np.column_stack([np.ones(len(rows)), rows]) if spec.family.ordered else rows
    if check.shape[1] and np.linalg.matrix_rank(check) < check.shape[1]:
        what = "with the cutpoints (which act as intercepts)" if spec.family.ordered else ""
        raise BayesGLMError(
            f"the predictors are linearly dependent {what}, so their coefficients are "
            "not identified; drop the redundant columns (for the cumulative family a "
            "formula without '0 +', whose factors then have a reference level); "
            f"got (columns={[design.names[j] for j in columns]!r})."
        )
    return tuple(columns)


def _finish(design: Design, spec: CategorySpec, levels: tuple, reference: Any) -> CategoryDesign:
    return CategoryDesign(
        design=design,
        levels=levels,
        reference=_reference_code(spec, levels, reference),
        columns=_columns(spec, design),
    )


def category_design_from_arrays(
    X: Any,
    y: Any,
    spec: CategorySpec,
    *,
    names: Sequence[str] | None = None,
    weights: Any = None,
    levels: Sequence[Any] | None = None,
    reference: Any = None,
) -> CategoryDesign:
    """A :class:`CategoryDesign` from a model matrix (with its intercept column) and
    a response of categories.

    Examples
    --------
    >>> from bayesglm.category_families import resolve_category
    >>> d = category_design_from_arrays([[1, 0.0], [1, 1], [1, 2], [1, 3]],
    ...     ["lo", "hi", "mid", "lo"], resolve_category("cumulative"),
    ...     names=["Intercept", "x"], levels=["lo", "mid", "hi"])
    >>> d.terms, d.codes.tolist()
    (('x',), [0, 2, 1, 0])
    """
    codes, found = encode_response(y, spec, "y", levels)
    if np.isnan(codes).any():
        raise BayesGLMError(
            "the response has missing values; drop those rows (a formula drops them "
            f"itself); got ({int(np.isnan(codes).sum())} missing)."
        )
    labelled = pd.Series(codes, index=y.index) if isinstance(y, pd.Series) else codes
    design = design_from_arrays(X, labelled, _CARRIER, names=names, weights=weights)
    return _finish(design, spec, found, reference)


def category_design_from_formula(
    formula: str,
    data: Any,
    spec: CategorySpec,
    *,
    weights: Any = None,
    missing: str = "drop",
    levels: Sequence[Any] | None = None,
    reference: Any = None,
    context: Mapping[str, Any] | None = None,
) -> CategoryDesign:
    """A :class:`CategoryDesign` from ``"response ~ predictors"`` and a DataFrame.

    The response must be a column of ``data``. For the cumulative family the
    formula's intercept is left out of the linear predictor (as ``MASS::polr``
    does): the cutpoints play its part.
    """
    from .formula import design_from_formula

    if not isinstance(data, pd.DataFrame):
        raise BayesGLMError(f"data must be a pandas DataFrame; got (data={type(data).__name__}).")
    if not isinstance(formula, str) or "~" not in formula:
        raise BayesGLMError(
            f"formula must be a string 'response ~ predictors'; got (formula={formula!r})."
        )
    response = formula.split("~", 1)[0].strip()
    if response not in data.columns:
        raise BayesGLMError(
            f"the response of the {spec.family.name} family must be a column of the data; "
            f"name one left of '~'; got (response={response!r})."
        )
    codes, found = encode_response(data[response], spec, response, levels)
    # A copy with the codes in place of the labels: the caller's frame is not changed.
    coded = data.copy()
    coded[response] = codes
    design = design_from_formula(
        formula, coded, _CARRIER, weights=weights, missing=missing, context=context
    )
    kept = np.unique(design.y.astype(np.intp))
    if len(kept) < len(found):
        # Rows dropped for missing predictors took every row of some level with them.
        remap = np.full(len(found), -1)
        remap[kept] = np.arange(len(kept))
        unused = [found[code] for code in range(len(found)) if code not in set(kept)]
        warnings.warn(
            f"level(s) {', '.join(map(repr, unused))} of the response {response!r} have "
            "no rows left after dropping rows with missing values, and were dropped",
            UnusedLevelWarning,
            stacklevel=3,
        )
        found = tuple(found[code] for code in kept)
        if len(found) < spec.family.min_levels:
            raise BayesGLMError(
                f"the {spec.family.name} family needs at least {spec.family.min_levels} "
                f"levels of the response with rows; got ({response!r} has levels "
                f"{list(found)!r} left)."
            )
        design = dataclasses.replace(design, y=remap[design.y.astype(np.intp)].astype(float))
    return _finish(design, spec, found, reference)
