r"""One pass over the rows: the fit at given coefficients and the next normal equations.

Each Fisher-scoring iteration reads X once. What one block of rows contributes is
one pure function, :func:`block_pass`: the linear predictor, the means, the
deviance, the working weights (:meth:`~bayesglm.families.Spec.working_terms`) and
the block's share of the next normal equations, :math:`X^\top W X` and
:math:`X^\top W r`, with no weighted copy of X. Two executors map it over the
blocks and add the :class:`BlockSums`: threads over cache-sized blocks of an
in-memory :class:`~bayesglm.design.Design` (:mod:`bayesglm._rowpass`), and Dask
over the row chunks of a :class:`~bayesglm.chunked_design.ChunkedDesign`, where
only the p²-sized sums come back. Rows are on the mean scale with their case
weights; inactive rows (case weight 0) get weight 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._rowpass import block_rows, blocks, map_row_ranges
from .design import Design
from .families import Family, Spec

__all__ = [
    "BlockSums",
    "State",
    "block_pass",
    "deviance",
    "rows_pass",
    "state_from_sums",
    "sweep",
]

# rows whose elementwise terms are computed together: each of their temporaries is
# 64 KiB, under glibc's 128 KiB threshold for fresh memory from the system
_CHUNK_ROWS = 1 << 13


@dataclass
class State:
    """The fit at ``beta`` and the normal equations for the step from there, with
    the iteration's bookkeeping (count, convergence, solver, warnings so far).

    The per-row arrays are numpy arrays for an in-memory design and lazy Dask
    arrays for a chunked one."""

    beta: np.ndarray
    eta: Any
    mu: Any
    deviance: float
    w: Any  # IRLS weights at mu (zero on inactive rows)
    residual: Any  # what the score is taken against: the working residual
    gram: np.ndarray  # X'WX
    score: np.ndarray  # X'W residual
    pearson: float  # sum of w residual^2: Pearson's chi-square at mu
    mean_size: float = 0.0  # Pearson's chi-square of mu against 0: the response's scale
    magnitude: float = 0.0  # sum of w (|y| + |mu|): what rounding in the deviance scales with
    n_iter: int = 0
    converged: bool = False
    used_qr: bool = False
    messages: list[str] = field(default_factory=list)


@dataclass
class BlockSums:
    """A block's share of a sweep; blocks add up with ``+``."""

    gram: np.ndarray
    score: np.ndarray
    deviance: float = 0.0
    pearson: float = 0.0
    mean_size: float = 0.0
    magnitude: float = 0.0
    valid: bool = True

    @classmethod
    def zeros(cls, p: int, valid: bool = True) -> BlockSums:
        """Nothing summed yet (``valid=False``: a block whose means are invalid)."""
        return cls(np.zeros((p, p)), np.zeros(p), valid=valid)

    def __add__(self, other: BlockSums) -> BlockSums:
        return BlockSums(
            self.gram + other.gram,
            self.score + other.score,
            self.deviance + other.deviance,
            self.pearson + other.pearson,
            self.mean_size + other.mean_size,
            self.magnitude + other.magnitude,
            self.valid and other.valid,
        )


def block_pass(
    spec: Spec,
    beta: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    offset: np.ndarray,
    start_means: tuple[np.ndarray, np.ndarray] | None = None,
    scratch: np.ndarray | None = None,
) -> tuple[BlockSums, tuple[np.ndarray, ...]]:
    """One block of rows at ``beta``: its sums and its rows' (eta, mu, w, residual).

    ``y`` is on the mean scale, ``weights`` are the case weights. With
    ``start_means`` (eta, mu) it evaluates R's ``mustart`` state (``beta``
    is zero): the score is taken against the working response minus the offset,
    so the solve gives the coefficients themselves, and no deviance is summed.
    The sums are marked invalid when a mean of an active row leaves the family's
    range. ``scratch`` (at least ``block_rows(p)`` × p) holds the weighted rows of
    X; :func:`rows_pass` passes one buffer to all its blocks.
    """
    family, link = spec.family, spec.link
    p = X.shape[1]
    sums = BlockSums.zeros(p)
    with np.errstate(all="ignore"):
        if start_means is None:
            e = X @ beta
            e += offset
            m = link.inverse(e)
        else:
            e, m = start_means
        all_active = bool((weights > 0).all())
        active = slice(None) if all_active else weights > 0
        if not spec.means_valid(e[active], m[active]):
            return BlockSums.zeros(p, valid=False), (e, m, np.zeros_like(e), np.zeros_like(e))
        # Elementwise terms are formed in place: each temporary as long as the
        # block costs a fresh allocation and a pass over memory.
        if start_means is None:
            terms = family.unit_deviance(y[active], m[active])
            terms *= weights[active]
            sums.deviance = np.sum(terms)
        sums.mean_size = _mean_size_terms(family, weights[active], m[active])
        terms = np.abs(y[active])
        terms += np.abs(m[active])
        terms *= weights[active]
        sums.magnitude = float(np.sum(terms))
        w_rows, r_rows = spec.working_terms(y, e, m, weights)
        if not all_active:
            w_rows[~active] = 0.0
            r_rows[~active] = 0.0
        sqrt_w = np.sqrt(w_rows)
        target = sqrt_w * r_rows
        sums.pearson = float(target @ target)
        if start_means is not None:
            r_rows += e - offset
            target = sqrt_w * r_rows
        if scratch is None:
            scratch = np.empty((min(X.shape[0], block_rows(p)), p))
        for rows in blocks(0, X.shape[0], p):
            scaled = np.multiply(
                X[rows], sqrt_w[rows, None], out=scratch[: rows.stop - rows.start]
            )
            sums.gram += scaled.T @ scaled
            sums.score += scaled.T @ target[rows]
    return sums, (e, m, w_rows, r_rows)


def rows_pass(
    spec: Spec,
    beta: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    offset: np.ndarray,
    start_means: tuple[np.ndarray, np.ndarray] | None = None,
    out: tuple[np.ndarray, ...] | None = None,
) -> BlockSums:
    """:func:`block_pass` over rows of any length, :data:`_CHUNK_ROWS` at a time.

    The per-row (eta, mu, w, residual) go into the four arrays ``out`` when given.
    Every temporary is a block's (64 KiB a vector, one scratch buffer for the
    weighted rows of X): in a ``distributed`` worker, whose allocator hands every
    larger array back to the system (``MALLOC_TRIM_THRESHOLD_``), a temporary as
    long as the chunk is fresh memory, page-faulted in anew each time.
    """
    n, p = X.shape
    scratch = np.empty((min(n, block_rows(p)), p))
    total = BlockSums.zeros(p)
    for start in range(0, n, _CHUNK_ROWS):
        rows = slice(start, min(start + _CHUNK_ROWS, n))
        given = None if start_means is None else (start_means[0][rows], start_means[1][rows])
        sums, per_row = block_pass(
            spec, beta, X[rows], y[rows], weights[rows], offset[rows], given, scratch
        )
        if not sums.valid:
            return sums
        if out is not None:
            for values, target in zip(per_row, out, strict=True):
                target[rows] = values
        total = sums if start == 0 else total + sums
    return total


def sweep(
    design: Design,
    spec: Spec,
    beta: np.ndarray,
    start_means: tuple[Any, Any] | None = None,
) -> State | None:
    """The fit at ``beta`` and the next normal equations, in one pass over X.

    Each block of rows is read once (:func:`block_pass`). With ``start_means``
    (eta, mu) it evaluates R's ``mustart`` state (see :func:`block_pass`). None
    when a mean leaves the family's range or the deviance is not finite.
    """
    if design.chunked:
        return _chunked_sweep(design, spec, beta, start_means)
    X = design.X
    n, p = X.shape
    eta, mu = (np.empty(n), np.empty(n)) if start_means is None else start_means
    w, residual = np.empty(n), np.empty(n)

    def part(lo: int, hi: int) -> BlockSums:
        rows = slice(lo, hi)
        given = None if start_means is None else (eta[rows], mu[rows])
        return rows_pass(
            spec,
            beta,
            X[rows],
            design.y_mean[rows],
            design.case_weights[rows],
            design.eta_offset[rows],
            given,
            out=(eta[rows], mu[rows], w[rows], residual[rows]),
        )

    parts = map_row_ranges(part, n, p)
    total = parts[0]
    for other in parts[1:]:
        total = total + other
    return state_from_sums(total, beta, (eta, mu, w, residual), start=start_means is not None)


def _chunked_sweep(
    design: Any, spec: Spec, beta: np.ndarray, start_means: tuple[Any, Any] | None
) -> State | None:
    """:func:`sweep` over the row chunks of a chunked design: the sums come back
    from one pass; the per-row arrays stay lazy (computed only when asked)."""
    rows = (design.X, design.y_mean, design.case_weights, design.eta_offset)
    rows += () if start_means is None else tuple(start_means)

    def sums(X: np.ndarray, y: np.ndarray, w: np.ndarray, off: np.ndarray, *given: Any) -> Any:
        return rows_pass(spec, beta, X, y, w, off, tuple(given) if given else None)

    total = design.sum_blocks(sums, *rows)
    if not total.valid:
        return None

    def row_array(k: int) -> Any:
        def values(X: np.ndarray, y: np.ndarray, w: np.ndarray, off: np.ndarray, *given: Any):
            out = tuple(np.empty(X.shape[0]) for _ in range(4))
            rows_pass(spec, beta, X, y, w, off, tuple(given) if given else None, out)
            return out[k]

        return design.map_rows(values, *rows)

    per_row = tuple(row_array(k) for k in range(4))
    return state_from_sums(total, beta, per_row, start=start_means is not None)


def state_from_sums(
    total: BlockSums, beta: np.ndarray, rows: tuple[Any, ...], *, start: bool
) -> State | None:
    """The state of a sweep whose blocks added up to ``total`` (None if invalid)."""
    if not total.valid:
        return None
    dev = float(total.deviance)
    if start:
        dev = np.inf
    elif not np.isfinite(dev):
        return None
    eta, mu, w, residual = rows
    return State(
        beta=beta,
        eta=eta,
        mu=mu,
        deviance=dev,
        w=w,
        residual=residual,
        gram=total.gram,
        score=total.score,
        pearson=float(total.pearson),
        mean_size=float(total.mean_size),
        magnitude=float(total.magnitude),
    )


def _mean_size_terms(family: Family, weights: np.ndarray, mu: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        terms = mu * mu
        terms *= weights
        terms /= family.variance(mu)
        total = np.sum(terms)
    if np.isfinite(total):  # every term finite: no mask to take
        return float(total)
    return float(np.sum(np.where(np.isfinite(terms), terms, 0.0)))


def deviance(design: Design, family: Family, mu: Any) -> float:
    """The deviance of means ``mu`` (per row, or one value for all rows) over the
    active rows."""

    def block(y: np.ndarray, weights: np.ndarray, *means: np.ndarray) -> float:
        a = _positive(weights)
        m = means[0][a] if means else mu
        return float(np.sum(weights[a] * family.unit_deviance(y[a], m)))

    if np.ndim(mu) == 0:
        return design.sum_blocks(block, design.y_mean, design.case_weights)
    return design.sum_blocks(block, design.y_mean, design.case_weights, mu)


def _positive(weights: np.ndarray) -> slice | np.ndarray:
    return slice(None) if (weights > 0).all() else weights > 0
