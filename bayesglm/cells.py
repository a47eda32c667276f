r"""Exact reductions of chunked (Dask) data: rows merged into covariate cells.

When the likelihood depends on a group of rows only through a few sums, the rows
can be replaced by those sums without changing the posterior (up to a constant that
does not involve the parameters). :func:`cell_design` computes them as a
distributed group-by: each row chunk is collapsed into its distinct covariate
patterns where it lives, and the partial tables are merged in a tree
(:meth:`~bayesglm.chunked_design.ChunkedDesign.sum_blocks`), so only the table of
cells reaches the client. The cells are an ordinary in-memory
:class:`~bayesglm.design.Design` that NUTS samples like any other.

Two reductions are exact:

- **Binomial and bernoulli, any link**: rows with the same covariates, offset and
  prior weight merge into one row of :math:`\sum k` successes out of
  :math:`\sum n` trials; the log-likelihood differs by the sum of the binomial
  coefficients only.
- **Poisson with the log link**, even when exposures differ: rows with the same
  covariates and prior weight merge into one row with :math:`\sum y` events and
  offset :math:`\log \sum e^{o_i}` (the summed exposure), since

  .. math::
      \sum_i \left[y_i (x^\top\beta + o_i) - e^{x^\top\beta + o_i}\right]
      = Y x^\top\beta - e^{x^\top\beta} \sum_i e^{o_i} + \sum_i y_i o_i .

The default priors are scaled by statistics of the rows (the columns' weighted means
and spreads, the response's mean and spread); a :class:`CellDesign` carries those
of the full data, so a fit on the cells resolves the same priors as a fit on the
rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .design import Design
from .errors import BayesGLMError
from .families import Spec
from .row_moments import RowMoments, RowTotals
from .thresholds import MAX_CELLS

__all__ = ["CellDesign", "TooManyCells", "cell_design", "reduction_kind", "totals_design"]


class TooManyCells(BayesGLMError):
    """The data have more distinct covariate patterns than an exact reduction takes."""


@dataclass(frozen=True)
class CellDesign(Design):
    """A design whose rows are cells of merged rows, with the full data's
    statistics (:class:`RowTotals`) in place of those of the cells."""

    totals: RowTotals | None = None

    @cached_property
    def ybar(self) -> float:
        return self._totals.ybar

    @cached_property
    def y_sd(self) -> float:
        return self._totals.y_sd

    @cached_property
    def column_means(self) -> np.ndarray:
        return self._totals.column_means

    @cached_property
    def column_sds(self) -> np.ndarray:
        return self._totals.column_sds

    @property
    def _totals(self) -> RowTotals:
        if self.totals is None:
            raise ValueError("a CellDesign needs the totals of its rows")
        return self.totals


def reduction_kind(spec: Spec) -> str | None:
    """Which exact reduction to cells the (family, link) pair allows: "trials"
    (binomial rows merged by covariates, offset and weight), "exposure" (log-link
    counts merged by covariates and weight, exposures summed) or None."""
    family = spec.family
    if not family.collapsible:
        return None
    if family.is_probability:
        return "trials"
    if spec.link.scales_by_exposure:
        return "exposure"
    return None


@dataclass(frozen=True)
class _Cells:
    """A partial table of cells: key columns, summed columns (y, the trials or the
    exposure, rows), the rows' moments, and how many cells were found
    when that is more than allowed (0 otherwise)."""

    keys: np.ndarray
    sums: np.ndarray
    moments: RowMoments
    too_many: int = 0


@dataclass(frozen=True)
class _Collapse:
    """The block function of the group-by (a picklable callable for the workers)."""

    kind: str
    max_cells: int

    def __call__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        offset: np.ndarray,
        weights: np.ndarray,
        trials: np.ndarray,
    ) -> _Cells:
        case = weights * trials
        a = case > 0
        X, y, offset, weights, trials, case = (v[a] for v in (X, y, offset, weights, trials, case))
        moments = RowMoments.of_block(X, y / trials, offset, case)
        ones = np.ones_like(y)
        if self.kind == "exposure":
            keys = np.column_stack([X, weights])
            sums = np.column_stack([y, np.exp(offset), ones])
        else:
            keys = np.column_stack([X, offset, weights])
            sums = np.column_stack([y, trials, ones])
        return self.limited(*_group(keys, sums), moments)

    def limited(self, keys: np.ndarray, sums: np.ndarray, moments: RowMoments) -> _Cells:
        if keys.shape[0] > self.max_cells:
            empty = np.empty((0, keys.shape[1]))
            return _Cells(empty, np.empty((0, sums.shape[1])), moments, keys.shape[0])
        return _Cells(keys, sums, moments)

    def combine(self, a: _Cells, b: _Cells) -> _Cells:
        moments = a.moments + b.moments
        if a.too_many or b.too_many:
            return _Cells(a.keys, a.sums, moments, max(a.too_many, b.too_many))
        keys, sums = _group(np.vstack([a.keys, b.keys]), np.vstack([a.sums, b.sums]))
        return self.limited(keys, sums, moments)


_MULTIPLIERS = np.random.default_rng(20261128).integers(1, 2**63, size=256, dtype=np.uint64) | 1
"""Odd 64-bit multipliers of the row hash (fixed: the same hash in every process)."""


def _group(keys: np.ndarray, sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``keys`` (in lexicographic order, whatever the order of
    the rows) and the column sums of ``sums`` over each.

    Rows are grouped by a 64-bit hash of their bits, and the grouping is verified:
    every row must equal its group's first row. Should two distinct rows share a
    hash, the rows are grouped exactly column by column instead.
    """
    n = keys.shape[0]
    if n == 0:
        return keys, sums
    # -0.0 and 0.0 hash apart: their rows stay two cells, which is still exact.
    code, first = _hash_groups(keys)
    if not np.array_equal(keys[first][code], keys):
        code, first = _exact_groups(keys)
    unique = keys[first]
    totals = np.column_stack(
        [np.bincount(code, weights=column, minlength=len(first)) for column in sums.T]
    )
    order = np.lexsort(unique.T[::-1])
    return unique[order], totals[order]


def _hash_groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bits = np.ascontiguousarray(keys).view(np.uint64)
    multipliers = _MULTIPLIERS[np.arange(bits.shape[1]) % _MULTIPLIERS.size]
    with np.errstate(over="ignore"):
        hashed = (bits * multipliers).sum(axis=1)  # modulo 2**64
    return _first_rows(pd.factorize(hashed)[0])


def _exact_groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column factorized, the codes combined into one integer per row
    (renumbered whenever the next product could overflow)."""
    code = np.zeros(keys.shape[0], dtype=np.int64)
    size = 1
    for column in np.asfortranarray(keys).T:
        codes, uniques = pd.factorize(column)
        if size * len(uniques) >= 2**62:
            code, distinct = pd.factorize(code)
            size = len(distinct)
        code = code * len(uniques) + codes
        size *= len(uniques)
    return _first_rows(pd.factorize(code)[0])


def _first_rows(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group codes 0..g-1 and the first row of each group."""
    first = np.empty(int(code.max()) + 1, dtype=np.int64)
    first[code[::-1]] = np.arange(code.size - 1, -1, -1)  # the last write is the first row
    return code, first


def cell_design(design: Any, spec: Spec, *, max_cells: int = MAX_CELLS) -> CellDesign:
    """The cells of a chunked design, in one distributed group-by.

    Parameters
    ----------
    design : ChunkedDesign
        The rows, in Dask chunks (an in-memory :class:`~bayesglm.design.Design`
        works too, as one chunk).
    spec : Spec
        A pair :func:`reduction_kind` allows.
    max_cells : int
        More distinct covariate patterns than this are refused.

    Returns
    -------
    CellDesign
        One row per cell, sorted by its covariates; rows of zero weight are left
        out, as every fit leaves them out.

    Raises
    ------
    BayesGLMError
        When the pair has no exact reduction, or the data have more than
        ``max_cells`` distinct patterns.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesglm.design import design_from_arrays
    >>> from bayesglm.families import resolve
    >>> spec = resolve("poisson")
    >>> X = np.c_[np.ones(4), [0.0, 1.0, 0.0, 1.0]]
    >>> rows = design_from_arrays(X, [1, 2, 3, 4], spec, offset=np.log([1, 2, 3, 4]))
    >>> cells = cell_design(rows, spec)
    >>> cells.y.tolist(), np.exp(cells.offset).tolist()
    ([4.0, 6.0], [4.0, 6.0])
    """
    kind = reduction_kind(spec)
    if kind is None:
        raise BayesGLMError(
            f"the {spec.family.name} family with the {spec.link.name} link has no exact "
            "reduction to cells; exact reductions exist for the binomial and bernoulli "
            "families (any link) and the poisson family with the log link; got "
            f"(family={spec.family.name!r}, link={spec.link.name!r})."
        )
    collapse = _Collapse(kind, max_cells)
    cells = design.sum_blocks(
        collapse,
        design.X,
        design.y,
        design.eta_offset,
        design.prior_weights,
        design.trial_counts,
        combine=collapse.combine,
    )
    if cells.too_many:
        raise TooManyCells(
            f"the data have too many distinct covariate patterns to reduce exactly (at "
            f"least {cells.too_many:,} in {design.n:,} rows, more than the {max_cells:,} "
            "allowed); merge rating factors into fewer levels, or use the importance-sampled "
            "posterior (fit(method='importance')), NUTS on a subsample in memory, or NUTS "
            f"over all rows on a GPU; got (max_cells={max_cells})."
        )
    return _as_design(design, kind, cells)


def _as_design(design: Any, kind: str, cells: _Cells) -> CellDesign:
    p = design.p
    keys, sums = cells.keys, cells.sums
    X = np.ascontiguousarray(keys[:, :p])
    weights = keys[:, -1]
    totals = cells.moments.totals(int(sums[:, 2].sum()))
    if kind == "exposure":
        offset, trials = np.log(sums[:, 1]), None
    else:
        offset = None if design.offset is None else keys[:, p]
        trials = sums[:, 1]
    return CellDesign(
        y=sums[:, 0],
        X=X,
        names=design.names,
        offset=offset,
        weights=None if design.weights is None else weights,
        trials=trials,
        intercept=design.intercept,
        formula=design.formula,
        totals=totals,
    )


def totals_design(
    design: Any, spec: Spec, priors: Mapping[str, Any] | None, moments: RowMoments
) -> CellDesign:
    r"""A two-row design that resolves the default priors of the rows ``moments``
    summarizes (:meth:`~bayesglm.row_moments.RowMoments.of_block` over every row).

    It carries the rows' :class:`~bayesglm.row_moments.RowTotals`, and its two
    rows, :math:`\bar y \pm s_y` at the columns' means, each with the rows' mean
    weight, have the rows' weighted mean and spread of the response and their mean
    weight (the gaussian ``sigma``'s default prior reads all three). Their offset
    puts the default intercept where the rows put it: at :math:`g(\bar y) - o` for a
    constant offset, at :math:`\bar y - \bar o` under the identity link and at
    :math:`\log(\sum w y / \sum w e^{o})` under the log link for any offsets.

    Raises
    ------
    BayesGLMError
        With varying offsets under another link, unless the intercept has a prior
        of the user's (its default is placed by a solve over every row).
    """
    if design.offset is None or moments.offset_constant:
        offset = None if design.offset is None else moments.offset_low
    elif spec.link.scales_by_exposure:
        offset = float(np.log(moments.exposure / moments.weight))
    elif spec.link.name == "identity":
        offset = moments.offset_mean
    elif design.intercept is None or design.names[design.intercept] in (priors or {}):
        offset = 0.0  # no default intercept to place
    else:
        raise BayesGLMError(
            "the default intercept prior of a model with varying offsets is placed by "
            "solving over every row, which a posterior of Dask data does not do under "
            "this link; give the intercept a prior, e.g. "
            f"priors={{{design.names[design.intercept]!r}: bg.Normal(0, 5)}}; got "
            f"(link={spec.link.name!r})."
        )
    spread = moments.y_sd
    return CellDesign(
        y=np.array([moments.y_mean + spread, moments.y_mean - spread]),
        X=np.tile(moments.x_mean, (2, 1)),
        names=design.names,
        offset=None if offset is None else np.full(2, offset),
        weights=np.full(2, moments.weight / moments.rows),
        trials=None,
        intercept=design.intercept,
        formula=design.formula,
        totals=moments.totals(design.n),
    )
