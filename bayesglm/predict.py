"""Predictions for new data, in row chunks (never a draws x n array in memory).

Shared by :meth:`bayesglm.mle.MLEResult.predict` (delta-method intervals) and
:meth:`bayesglm.results.GLMResult.predict` (posterior draws).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._validation import is_whole
from ._xp import Interval
from .design import Design, new_rows
from .errors import BayesGLMError, DomainWarning, row_label, value_name
from .families import Family
from .links import Link

__all__ = [
    "SCALES",
    "PredictionInputs",
    "check_prob",
    "check_scale",
    "cut_warning",
    "eta_range",
    "outside_warning",
    "percent",
    "prediction_inputs",
    "row_chunks",
]

SCALES = ("link", "mean", "response")

_ELEMENTS_PER_CHUNK = 4_000_000  # draws x rows held at once (32 MB of float64)
_NAMED_ROWS = 10  # rows a warning names before it only counts them


@dataclass(frozen=True)
class PredictionInputs:
    """Model matrix, offset, trials, prior weights and row labels of the rows to predict."""

    X: np.ndarray
    offset: np.ndarray
    trials: np.ndarray | None
    weights: np.ndarray | None
    index: pd.Index


def prediction_inputs(
    design: Design,
    link: Link,
    new_data: Any = None,
    *,
    offset: Any = None,
    exposure: Any = None,
    trials: Any = None,
    weights: Any = None,
) -> PredictionInputs:
    """The rows to predict: the fitted rows, a DataFrame (formula models) or an X.

    Rows keep their labels: the new data's index, or for the fitted rows the
    labels the model was built with (:attr:`Design.row_labels`), so that a column
    of predictions lines up with the rows it belongs to.

    ``offset=`` (on the linear-predictor scale) or ``exposure=`` (with the log
    link: offset = log(exposure)) override the offset the model rebuilds from the
    new data, and are required when the model's offset was given as values.
    ``offset=``, ``exposure=``, ``trials=`` and ``weights=`` each take values or the
    name of a column of the new data (of the fitted rows' columns when ``new_data`` is
    None; the fitted rows' trials and weights are the default there).
    Everything is checked as the training rows were
    (:func:`bayesglm.design.new_rows`).
    """
    _check_offset_args(design, offset, exposure)
    X, rebuilt, columns, index = _rows(design, new_data)
    if new_data is None:
        trials = design.trials if trials is None else trials
        weights = design.weights if weights is None else weights
    offset, exposure, trials, weights = (
        _column_or_values(values, arg, columns)
        for values, arg in (
            (offset, "offset"),
            (exposure, "exposure"),
            (trials, "trials"),
            (weights, "weights"),
        )
    )
    offset = _offset(design, link, rebuilt, offset, exposure)
    if index is not None:
        for values, arg in ((offset, "offset"), (trials, "trials"), (weights, "weights")):
            _check_labels(values, arg, index)
    X, offset, trials, weights = new_rows(design, X, offset, trials, weights)
    n = X.shape[0]
    index = pd.RangeIndex(n) if index is None else index
    return PredictionInputs(X, np.zeros(n) if offset is None else offset, trials, weights, index)


def _rows(design: Design, new_data: Any) -> tuple[Any, Any, pd.DataFrame | None, Any]:
    """Model matrix (unchecked), rebuilt offset, columns and labels of the rows."""
    if new_data is None:
        index = design.row_labels if design.row_labels is not None else pd.RangeIndex(design.n)
        training = None if design.formula is None else design.formula.training
        return design.X, design.offset, training, index
    if design.formula is None:
        index = new_data.index if isinstance(new_data, pd.DataFrame) else None
        return new_data, None, None, index
    from .formula import new_data_matrix

    if not isinstance(new_data, pd.DataFrame):
        raise BayesGLMError(
            "this model was built from a formula: pass new data as a DataFrame with "
            f"the same columns; got (new_data={type(new_data).__name__})."
        )
    X, rebuilt = new_data_matrix(design.formula, new_data)
    return X, rebuilt, new_data, new_data.index


def _check_offset_args(design: Design, offset: Any, exposure: Any) -> None:
    if offset is not None and exposure is not None:
        raise BayesGLMError(
            "give offset= or exposure= for the new rows, not both (exposure=E means "
            "offset=log(E)); got (offset=..., exposure=...)."
        )
    if design.offset is None and (offset is not None or exposure is not None):
        arg = "offset" if offset is not None else "exposure"
        raise BayesGLMError(
            f"the model was fitted without an offset, so {arg}= would change what it "
            f"predicts rather than describe the new rows; drop {arg}= (or refit with an "
            f"offset); got ({arg}={_short(offset if offset is not None else exposure)})."
        )


def _offset(design: Design, link: Link, rebuilt: Any, offset: Any, exposure: Any) -> Any:
    """The rows' offset: given (as an offset or an exposure) or rebuilt from their data."""
    if exposure is not None:
        return _log_exposure(exposure, link)
    if offset is not None:
        return offset
    if rebuilt is None and design.offset is not None:
        raise BayesGLMError(
            "the model was fitted with an offset given as values, so the new rows "
            "need theirs: pass offset= (values or a column of the new data), or "
            "exposure= with the log link; got (offset=None)."
        )
    return rebuilt


def _short(values: Any) -> str:
    return repr(values) if np.ndim(values) == 0 else f"{type(values).__name__} of values"


def _column_or_values(values: Any, arg: str, columns: pd.DataFrame | None) -> Any:
    """The named column of the rows to predict, or the values as given."""
    if not isinstance(values, str):
        return values
    if columns is None or values not in columns.columns:
        available = "none" if columns is None else ", ".join(map(str, columns.columns))
        raise BayesGLMError(
            f"{arg}= names a column that is not in the rows to predict (their columns: "
            f"{available}); pass a column of the new data or values; got ({arg}={values!r})."
        )
    return columns[values]


def _log_exposure(exposure: Any, link: Link) -> pd.Series | np.ndarray:
    """log(exposure), refusing a link other than log and exposures that are not > 0."""
    if not link.scales_by_exposure:
        raise BayesGLMError(
            f"exposure= needs the log link (it adds log(exposure) to the linear predictor); "
            f"pass offset= with the {link.name} link; got (link={link.name!r})."
        )
    values = _as_vector(exposure, "exposure")
    bad = np.flatnonzero(~(values > 0))
    if bad.size:
        row, name = row_label(exposure, bad[0]), value_name(exposure, "exposure")
        raise BayesGLMError(
            f"exposure must be positive (its log is the offset); {bad.size} row(s) are not, "
            f"the first is row {row!r}; got ({name}[{row!r}]={values[bad[0]].item()!r})."
        )
    logs = np.log(values)
    return pd.Series(logs, index=exposure.index) if isinstance(exposure, pd.Series) else logs


def _as_vector(values: Any, arg: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise BayesGLMError(
            f"{arg} must be a column name or numbers; got ({arg}={_short(values)})."
        ) from None


def _check_labels(values: Any, arg: str, index: pd.Index) -> None:
    """Refuse a Series whose labels are not the rows' own: values pair by position."""
    if isinstance(values, pd.Series) and not values.index.equals(index):
        raise BayesGLMError(
            f"{arg}= is a Series whose row labels differ from those of the rows to predict, "
            f"and values pair by position; align it first (e.g. {arg}.loc[new_data.index]) "
            f"or pass plain values; got ({arg} labels {list(values.index[:3])!r}…, rows "
            f"{list(index[:3])!r}…)."
        )


# --- where the model defines a mean ------------------------------------------------------


def eta_range(family: Family, link: Link) -> Interval:
    """The linear predictors at which the (family, link) pair defines a mean.

    The link's own range (:attr:`Link.eta_domain`) cut to the linear predictors whose
    mean lies in the family's :attr:`Family.mean_domain`: the log link with a
    binomial needs eta < 0 (a probability below 1), the identity link with a count
    family eta > 0, the inverse link eta > 0. Links are monotone, so the ends of
    the means both allow map to the ends of the range.

    Examples
    --------
    >>> from bayesglm.families import FAMILIES
    >>> from bayesglm.links import LINKS
    >>> str(eta_range(FAMILIES["gamma"], LINKS["inverse"]))
    '(0, inf)'
    >>> str(eta_range(FAMILIES["binomial"], LINKS["log"]))
    '(-inf, 0)'
    """
    means, own = family.mean_domain, link.domain
    low, low_in = max((means.low, means.low_inclusive), (own.low, own.low_inclusive))
    high, high_in = min((means.high, means.high_inclusive), (own.high, own.high_inclusive))
    with np.errstate(all="ignore"):
        at_low, at_high = link.link(np.array([low, high]))
    increasing = bool(at_low < at_high)
    eta_low, eta_high = link.eta_domain.low, link.eta_domain.high
    etas = link.eta_domain.low_inclusive, link.eta_domain.high_inclusive
    # An end of the link's own domain maps to an end of its eta_domain (exactly,
    # where evaluating the link there would only come close); an end inside it
    # maps through the link.
    low_end = (eta_low, etas[0]) if increasing else (eta_high, etas[1])
    high_end = (eta_high, etas[1]) if increasing else (eta_low, etas[0])
    if low != own.low:
        low_end = (float(at_low), low_in)
    if high != own.high:
        high_end = (float(at_high), high_in)
    first, second = (low_end, high_end) if increasing else (high_end, low_end)
    return Interval(first[0], second[0], first[1], second[1])


def outside_warning(
    frame: pd.DataFrame,
    outside: np.ndarray,
    family: Family,
    link: Link,
    scale: str,
    of_draws: bool,
) -> dict:
    """Warn (:class:`DomainWarning`) about rows whose linear predictor leaves
    :func:`eta_range`; returns {row label: fraction outside} for ``frame.attrs``.

    ``outside`` is the fraction of draws (posterior) or 0/1 (the MLE) per row.
    """
    rows = np.flatnonzero(outside > 0)
    if not rows.size:
        return {}
    record = {row_label(frame, i): float(outside[i]) for i in rows}
    named = _named_rows(frame, rows, lambda i: f" ({outside[i]:.0%} of draws)" if of_draws else "")
    consequence = (
        "the link-scale values are the linear predictor as computed, but the model "
        "defines no mean there"
        if scale == "link"
        else f"their {scale}-scale predictions are NaN, as the model defines no mean there"
    )
    warnings.warn(
        f"the linear predictor leaves the range where the {family.name}({link.name}) model "
        f"defines a mean (eta in {eta_range(family, link)}) on {rows.size} of {len(frame)} "
        f"row(s): {named}; {consequence}. These rows lie beyond what the "
        "data support; a link that maps every linear predictor to a valid mean (e.g. log) "
        "extrapolates without leaving the model.",
        DomainWarning,
        stacklevel=3,
    )
    return record


def cut_warning(
    frame: pd.DataFrame, cut: np.ndarray, family: Family, link: Link, prob: float
) -> list:
    """Warn about intervals cut at the edge of the model's range; their row labels."""
    rows = np.flatnonzero(cut)
    if not rows.size:
        return []
    named = _named_rows(frame, rows, lambda i: "")
    warnings.warn(
        f"the {percent(prob)} Wald interval of {rows.size} row(s) ({named}) reaches past the "
        f"linear predictors where the {family.name}({link.name}) model defines a mean "
        f"(eta in {eta_range(family, link)}); it is cut at that edge, so its end there is "
        "the limit of the mean (an open-ended interval): the data do not bound the mean "
        "on that side at this level.",
        DomainWarning,
        stacklevel=3,
    )
    return [row_label(frame, i) for i in rows]


def _named_rows(frame: pd.DataFrame, rows: np.ndarray, detail: Any) -> str:
    """The first rows' labels (each with ``detail(i)``), then how many more."""
    named = ", ".join(f"{row_label(frame, i)!r}{detail(i)}" for i in rows[:_NAMED_ROWS])
    return named + (f" and {rows.size - _NAMED_ROWS} more" if rows.size > _NAMED_ROWS else "")


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


def percent(prob: float) -> str:
    """``prob`` as a percentage with the digits it has: 95%, 99.9%, 97.5%.

    A fixed ``:.0%`` would print 0.999 as "100%", an interval that sounds certain.
    """
    return f"{100 * prob:.10g}%"
