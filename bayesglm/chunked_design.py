r"""A design whose rows live in the row chunks of Dask arrays, not in memory.

:class:`ChunkedDesign` is the Dask counterpart of :class:`~bayesglm.design.Design`:
the same fields and derived views, held as lazy Dask arrays, and the executor of
passes over the rows. :meth:`ChunkedDesign.sum_blocks` calls a block function on
each row chunk where the chunk lives (a ``distributed`` worker when a client is
active, else Dask's default scheduler) and adds the results in a tree, so only
what the function returns (p²-sized sums, or numbers) reaches the client;
:meth:`ChunkedDesign.map_rows` gives a lazy per-row array, computed only when asked.

:func:`chunked_design_from_arrays` checks the data in one pre-pass over the chunks,
with the in-memory design's own checks applied chunk by chunk (messages name the
rows by their position in the whole data) and the checks that need every row
(a response that varies, weights not all zero) applied to the pass's totals.

Dask is imported only here and only when a chunked design is built: ``import
bayesglm`` and in-memory fits never import it.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ._rowpass import one_blas_thread
from .design import Design, _check_weights, _model_matrix, _refuse_no_trials, _vector
from .errors import BayesGLMError
from .families import Spec
from .formula_state import FormulaState

__all__ = [
    "ChunkedDesign",
    "block_results",
    "check_rows",
    "check_vector",
    "chunked_design_from_arrays",
    "is_chunked",
]

_FAN_IN = 8  # partial sums added together per task of the tree reduction


def is_chunked(*values: Any) -> bool:
    """Whether any of ``values`` is a Dask collection (without importing Dask)."""
    if "dask" not in sys.modules:
        return False
    import dask

    return any(dask.is_dask_collection(value) for value in values)


@dataclass(frozen=True)
class ChunkedDesign:
    """Response, model matrix and per-row extras as row-chunked Dask arrays.

    The fields mean what they mean on :class:`~bayesglm.design.Design`; every
    per-row array has the row chunks of ``X``, which has one chunk of columns.
    ``facts`` holds the totals of the checking pre-pass (active rows, the weighted
    mean of the response, the columns' sizes).
    """

    y: Any
    X: Any
    names: tuple[str, ...]
    offset: Any
    weights: Any
    trials: Any
    intercept: int | None
    facts: dict[str, Any]
    formula: FormulaState | None = None
    row_labels: pd.Index | None = None

    chunked: ClassVar[bool] = True

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.X.shape[0])

    @property
    def p(self) -> int:
        """Number of columns."""
        return int(self.X.shape[1])

    # --- the data on the mean scale (lazy) ----------------------------------------------

    @cached_property
    def y_mean(self) -> Any:
        """The response on the mean scale (see :attr:`Design.y_mean`)."""
        if self.trials is None:
            return self.y
        import dask.array as da

        some = self.trials > 0
        return da.where(some, self.y / da.where(some, self.trials, 1.0), 0.0)

    @cached_property
    def prior_weights(self) -> Any:
        """The prior weights per row, ones when none were given."""
        return self._ones() if self.weights is None else self.weights

    @cached_property
    def trial_counts(self) -> Any:
        """The number of trials per row (1 without trials)."""
        return self._ones() if self.trials is None else self.trials

    @cached_property
    def case_weights(self) -> Any:
        """Prior weights times trials (see :attr:`Design.case_weights`)."""
        if self.trials is None:
            return self.prior_weights
        return self.prior_weights * self.trials

    @cached_property
    def active(self) -> Any:
        """Which rows carry information: those of positive case weight."""
        return self.case_weights > 0

    @property
    def n_active(self) -> int:
        """Number of active rows (from the pre-pass)."""
        return int(self.facts["n_active"])

    @cached_property
    def eta_offset(self) -> Any:
        """The offset added to the linear predictor (zeros without one)."""
        return self._zeros() if self.offset is None else self.offset

    @property
    def offset_nonzero(self) -> bool:
        """Whether any row's offset is nonzero (from the pre-pass)."""
        return bool(self.facts["offset_nonzero"])

    @property
    def ybar(self) -> float:
        """The weighted mean of :attr:`y_mean` over the active rows (from the pre-pass)."""
        return float(self.facts["ybar"])

    @property
    def column_sizes(self) -> np.ndarray:
        """The largest absolute value of each column of ``X`` (from the pre-pass)."""
        return np.asarray(self.facts["column_sizes"])

    def weighted_mean(self, values: Any) -> float:
        """The case-weighted mean of per-row ``values`` over the active rows."""

        def block(v: np.ndarray, w: np.ndarray) -> np.ndarray:
            a = w > 0
            return np.array([w[a] @ v[a], w[a].sum()])

        total, weight = self.sum_blocks(block, values, self.case_weights)
        return float(total / weight)

    def _ones(self) -> Any:
        import dask.array as da

        return da.ones(self.n, chunks=self.X.chunks[0])

    def _zeros(self) -> Any:
        import dask.array as da

        return da.zeros(self.n, chunks=self.X.chunks[0])

    # --- the executor of passes over the rows -------------------------------------------

    def sum_blocks(
        self,
        fn: Callable[..., Any],
        *rows: Any,
        combine: Callable[[Any, Any], Any] = operator.add,
    ) -> Any:
        """``fn`` of each row chunk of the per-row arrays ``rows``, merged with
        ``combine`` (a sum by default) in a tree; one compute, whose result is what
        ``fn`` returns, never the rows."""
        return _map_reduce(fn, rows, combine)

    def map_rows(self, fn: Callable[..., np.ndarray], *rows: Any, dtype: Any = float) -> Any:
        """The lazy per-row array ``fn`` gives on each row chunk of ``rows``."""
        return _map_rows(fn, rows, dtype)

    def gathered(self) -> Design:
        """The rows in memory, as a :class:`~bayesglm.design.Design` (for checks
        that need every row at once, on data small enough to bring over)."""
        import dask

        fields = ("y", "X", "offset", "weights", "trials")
        values = dask.compute(*(getattr(self, name) for name in fields))
        return Design(
            **dict(zip(fields, values, strict=True)),
            names=self.names,
            intercept=self.intercept,
            formula=self.formula,
            row_labels=self.row_labels,
        )

    def intercept_only(self) -> ChunkedDesign:
        """The same rows with a model matrix of ones (R's null model)."""
        import dask.array as da

        ones = da.ones((self.n, 1), chunks=(self.X.chunks[0], 1))
        facts = {**self.facts, "column_sizes": np.ones(1)}
        return replace(self, X=ones, names=("(Intercept)",), intercept=0, facts=facts)


@dataclass(frozen=True)
class _Boxed:
    """A block function whose result is held in a one-element object array (what
    a Dask array's block must be)."""

    fn: Callable[..., Any]

    def __call__(self, *blocks: np.ndarray) -> np.ndarray:
        box = np.empty(1, dtype=object)
        box[0] = self.fn(*blocks)
        return box


@dataclass(frozen=True)
class _Joined:
    """A block function given each matrix's row chunk whole: Dask hands a matrix's
    column chunks over as a list, joined here only when there are several (Dask's
    own joining copies even a single chunk: 40 MB a chunk of 250,000 × 20)."""

    fn: Callable[..., Any]

    def __call__(self, *blocks: Any) -> Any:
        return self.fn(*(_joined(block) for block in blocks))


def _joined(block: Any) -> np.ndarray:
    if not isinstance(block, list):
        return block
    return block[0] if len(block) == 1 else np.concatenate(block, axis=1)


def _map_rows(fn: Callable[..., Any], rows: tuple[Any, ...], dtype: Any) -> Any:
    import dask.array as da

    pairs: list[Any] = []
    for array in rows:
        pairs += [array, "ij" if array.ndim == 2 else "i"]
    meta = np.empty(0, dtype=dtype)
    return da.blockwise(_Joined(fn), "i", *pairs, dtype=dtype, concatenate=False, meta=meta)


def _map_reduce(
    fn: Callable[..., Any], rows: tuple[Any, ...], combine: Callable[[Any, Any], Any]
) -> Any:
    """``fn`` on each row chunk, merged in a tree; one compute. All the arrays go
    into one graph, so that what they share (reading a chunk of a Parquet file,
    say) runs once per chunk."""
    import dask

    parts = block_results(fn, *rows)
    merge = dask.delayed(_merge)
    while len(parts) > 1:
        parts = [merge(combine, *parts[i : i + _FAN_IN]) for i in range(0, len(parts), _FAN_IN)]
    with one_blas_thread():  # when the blocks run in this process (Dask's local schedulers)
        return dask.compute(parts[0])[0]


def block_results(fn: Callable[..., Any], *rows: Any) -> list[Any]:
    """``fn`` of each row chunk of the per-row Dask arrays ``rows``: one lazy result
    (a ``dask.delayed``) per chunk, all from one graph."""
    import dask

    unbox = dask.delayed(operator.itemgetter(0))
    return [unbox(part) for part in _map_rows(_Boxed(fn), rows, object).to_delayed()]


def _merge(combine: Callable[[Any, Any], Any], *parts: Any) -> Any:
    total = parts[0]
    for part in parts[1:]:
        total = combine(total, part)
    return total


# --- building a chunked design ---------------------------------------------------------


def chunked_design_from_arrays(
    X: Any,
    y: Any,
    spec: Spec,
    *,
    names: Any = None,
    offset: Any = None,
    weights: Any = None,
    trials: Any = None,
    formula: FormulaState | None = None,
) -> ChunkedDesign:
    """Check row-chunked Dask inputs into a :class:`ChunkedDesign`, in one pre-pass.

    ``X`` is a 2-D ``dask.array`` chunked by rows only (or a ``dask.dataframe``
    of numbers, whose columns name the coefficients); ``y``, ``offset``,
    ``weights`` and ``trials`` are 1-D Dask arrays (or Series) with the row chunks
    of ``X``, or None. Numbers are read as float64.
    """
    import dask.array as da

    matrix, names = check_rows(X, names)
    rows = matrix.chunks[0]
    family = spec.family
    if trials is not None and not family.has_trials:
        raise BayesGLMError(
            f"trials= only applies to the binomial family; use family='binomial' or "
            f"drop trials=; got (family={family.name!r})."
        )
    given = {"y": y, "offset": offset, "weights": weights, "trials": trials}
    vectors = {arg: check_vector(v, arg, rows) for arg, v in given.items() if v is not None}
    positions = da.arange(matrix.shape[0], chunks=(rows,))  # to name rows in messages
    present = tuple(arg for arg in given if arg in vectors)

    def check(position: np.ndarray, X: np.ndarray, *values: np.ndarray) -> dict[str, Any]:
        named = dict(zip(present, values, strict=True))
        start = int(position[0]) if position.size else 0
        return _check_block(spec, names, start, X, *(named.get(a) for a in given))

    facts = _map_reduce(check, (positions, matrix, *(vectors[a] for a in present)), _combine_facts)
    _check_totals(spec, facts, vectors)
    sizes = facts["column_sizes"]
    constant = (facts["column_low"] == facts["column_high"]) & (facts["column_low"] != 0)
    intercept = int(np.flatnonzero(constant)[0]) if constant.any() else None
    return ChunkedDesign(
        y=vectors["y"],
        X=matrix,
        names=names,
        offset=vectors.get("offset"),
        weights=vectors.get("weights"),
        trials=vectors.get("trials"),
        intercept=intercept,
        facts={
            "n_active": facts["n_active"],
            "ybar": facts["weighted_y"] / facts["weight"],
            "column_sizes": sizes,
            "offset_nonzero": facts["offset_nonzero"] > 0,
        },
        formula=formula,
        row_labels=pd.RangeIndex(int(matrix.shape[0])),
    )


def check_rows(X: Any, names: Any) -> tuple[Any, tuple[str, ...]]:
    """X as a float64 Dask array with one chunk of columns, and its column names."""
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(X, dd.DataFrame):
        columns = [str(c) for c in X.columns]
        if names is not None and list(map(str, names)) != columns:
            raise BayesGLMError(
                "names= disagrees with the column names of the DataFrame X; drop names= "
                "(the columns name the coefficients); "
                f"got (names={list(names)!r}, columns={columns!r})."
            )
        names = columns
        X = _dataframe_array(X)
    if not isinstance(X, da.Array):
        raise BayesGLMError(
            "a chunked fit needs X as a dask.array or dask.dataframe (the other inputs "
            "follow its row chunks); pass X chunked by rows; "
            f"got (X={type(X).__name__})."
        )
    if X.ndim != 2:
        raise BayesGLMError(
            f"X must be 2-D (rows × columns); reshape it; got (X.shape={X.shape})."
        )
    if any(np.isnan(c) for c in X.chunks[0]):
        raise BayesGLMError(
            "X's row chunks have unknown sizes; compute them first (X.compute_chunk_sizes(), "
            "or to_dask_array(lengths=True) for a dataframe); got (X.chunks=unknown)."
        )
    if len(X.chunks[1]) != 1:
        raise BayesGLMError(
            "X must be chunked by rows only, with all columns in each chunk; rechunk it, "
            f"e.g. X.rechunk({{1: -1}}); got (X.chunks[1]={X.chunks[1]})."
        )
    n, p = X.shape
    if n == 0 or p == 0:
        raise BayesGLMError(
            f"X must have at least one row and one column; got (X.shape={X.shape})."
        )
    names = tuple(f"x{j}" for j in range(p)) if names is None else tuple(map(str, names))
    if len(names) != p or len(set(names)) != p:
        raise BayesGLMError(
            f"names must give one unique name per column of X ({p}); got (names={names!r})."
        )
    return X.astype(np.float64), names


def _dataframe_array(frame: Any) -> Any:
    """A dask dataframe's values as an array with known row chunks. Optimized first:
    Dask fuses the partitions of a projection of a few columns, and the row lengths
    must be those of the partitions the array is made of."""
    return frame.optimize().to_dask_array(lengths=True)


def check_vector(values: Any, arg: str, rows: tuple[int, ...]) -> Any:
    """A per-row input as a float64 Dask array with the row chunks ``rows``."""
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(values, dd.Series | dd.DataFrame):
        values = _dataframe_array(values)
    if not isinstance(values, da.Array):
        raise BayesGLMError(
            f"with a chunked X, {arg} must be a Dask array or Series with X's row chunks "
            f"(a value per row, where the rows live); got ({arg}={type(values).__name__})."
        )
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or values.chunks[0] != tuple(rows):
        raise BayesGLMError(
            f"{arg} must be 1-D with the row chunks of X (rechunk it: "
            f"{arg}.rechunk(X.chunks[0])); got ({arg}.chunks={values.chunks}, "
            f"X row chunks={tuple(rows)})."
        )
    return values.astype(np.float64)


def _check_block(
    spec: Spec,
    names: tuple[str, ...],
    start: int,
    X: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray | None,
    weights: np.ndarray | None,
    trials: np.ndarray | None,
) -> dict[str, Any]:
    """One chunk through the in-memory design's checks (rows named by their place
    in the whole data), and its share of the pre-pass totals."""
    index = pd.RangeIndex(start, start + X.shape[0])
    if X.shape[0]:  # a chunk of no rows (an empty file) has nothing to check
        _model_matrix(pd.DataFrame(X, index=index, columns=list(names)), names)
    labelled = {
        arg: pd.Series(values, index=index, name=arg)
        for arg, values in (("y", y), ("offset", offset), ("weights", weights), ("trials", trials))
        if values is not None
    }
    for arg, series in labelled.items():
        _vector(series, arg, X.shape[0])
    if weights is not None and (weights < 0).any():
        _check_weights(weights, labelled["weights"])
    family = spec.family
    if family.has_trials or not family.support.contains_all(y):
        # Outside the support, or a binomial: the family's own message (it names
        # the row); inside it, what is left of check_y needs every row.
        family.check_y(labelled["y"], labelled.get("trials"))
    prior = np.ones_like(y) if weights is None else weights
    case = prior if trials is None else prior * trials
    a = case > 0
    y_mean = y if trials is None else np.divide(y, trials, out=np.zeros_like(y), where=trials > 0)
    return {
        "n_active": int(a.sum()),
        "weight": float(case[a].sum()),
        "weighted_y": float(case[a] @ y_mean[a]),
        "y_low": float(y.min(initial=np.inf)),
        "y_high": float(y.max(initial=-np.inf)),
        "positive_weights": int((prior > 0).sum()),
        "offset_nonzero": 0 if offset is None else int(np.count_nonzero(offset)),
        "weighted_trials": 0 if trials is None else int((trials[prior > 0] > 0).sum()),
        "column_sizes": np.abs(X).max(axis=0, initial=0.0),
        "column_low": X.min(axis=0, initial=np.inf),
        "column_high": X.max(axis=0, initial=-np.inf),
    }


def _combine_facts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    low = {"y_low", "column_low"}
    high = {"y_high", "column_sizes", "column_high"}
    return {
        key: np.minimum(a[key], b[key])
        if key in low
        else np.maximum(a[key], b[key])
        if key in high
        else a[key] + b[key]
        for key in a
    }


def _check_totals(spec: Spec, facts: dict[str, Any], vectors: dict[str, Any]) -> None:
    """The checks of the in-memory design that need every row, on the totals."""
    if "weights" in vectors and facts["positive_weights"] == 0:
        _check_weights(np.zeros(1), None)
    family = spec.family
    if not family.has_trials and facts["y_low"] == facts["y_high"]:
        # A constant response: the family's own check, on a view of that one value.
        n = int(vectors["y"].shape[0])
        family.check_y(np.broadcast_to(np.float64(facts["y_low"]), (n,)))
    if "trials" in vectors and facts["weighted_trials"] == 0:
        rows = facts["positive_weights"]
        _refuse_no_trials(np.zeros(rows), None)
