"""Per-row summaries of posterior draws: mean, sd and an exact equal-tailed interval.

Posterior predictions for many rows summarize a draws × rows matrix that is never
held whole: rows are cut into chunks (:func:`bayesglm.predict.row_chunks`) and the
chunks are shared out over threads (:func:`bayesglm._rowpass.map_row_ranges`; numpy
releases the GIL in the matrix product, the inverse link, the reductions, the
selection and the response draws).

Each chunk is laid out rows × draws, so every row's draws are contiguous. The
interval ends are numpy's ``np.quantile(..., method="linear")`` reproduced exactly:
the same two neighbouring order statistics of each row, found by selection instead
of a sort, and the same interpolation (:func:`row_quantiles`). Selection takes one
order statistic per call of ``ndarray.partition``, working downwards: numpy selects
one position with a vectorised quickselect, but with several positions at once it
falls back to a scalar introselect several times slower, which is the cost of
``np.quantile``. The neighbour above a selected position is the minimum of the
draws after it.

The draws summarized are the linear predictors (link scale), their means through
the inverse link (mean scale, every draw transformed, since the mean and sd need
them all) or responses drawn at those means (response scale). Selecting on the
means themselves, rather than on the linear predictors, needs no argument about the
link being monotone, nor a rule for its ties.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._rowpass import map_row_ranges
from ._xp import Interval
from .links import Link
from .predict import row_chunks

__all__ = [
    "chunk_generator",
    "chunk_rows",
    "quantile_positions",
    "row_quantiles",
    "summarize_rows",
]

# draws x rows one thread holds at once (4 MB of float64, near the size of a core's
# cache); with at most 8 threads about 4 million numbers are in flight, as when the
# chunks were summarized one at a time.
_ELEMENTS_PER_CHUNK = 500_000

COLUMNS = ("estimate", "std_error", "conf_low", "conf_high")

Respond = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


def chunk_rows(n_draws: int, chunk: int | None = None) -> int | None:
    """Rows per chunk: ``chunk`` when given, else about half a million numbers' worth.

    The default depends on the number of draws only (not on the machine's cores), so
    the response draws of a seed are the same on every machine.
    """
    return chunk if chunk is not None else max(1, _ELEMENTS_PER_CHUNK // max(n_draws, 1))


def chunk_generator(seed: int | None, index: int) -> np.random.Generator:
    """The random generator of row chunk ``index``: child ``index`` of ``seed``'s
    :class:`numpy.random.SeedSequence`, the generator
    ``np.random.default_rng(seed).spawn(n)[index]`` would give.

    One stream per chunk makes the response draws independent of how chunks are
    shared out over threads.

    Examples
    --------
    >>> a = chunk_generator(7, 2).random()
    >>> b = np.random.default_rng(7).spawn(3)[2].random()
    >>> a == b
    True
    """
    base = np.random.SeedSequence(seed)
    child = np.random.SeedSequence(base.entropy, spawn_key=(index,), pool_size=base.pool_size)
    return np.random.Generator(np.random.PCG64(child))


def quantile_positions(n_draws: int, q: float) -> tuple[int, int, float]:
    """The order statistics (lower, upper) and the weight numpy's ``method="linear"``
    interpolates between for the ``q`` quantile of ``n_draws`` values.

    Examples
    --------
    >>> quantile_positions(4000, 0.025)
    (99, 100, 0.97...)
    >>> quantile_positions(1, 0.5)
    (0, 0, 1.0)
    """
    virtual = (n_draws - 1) * float(q)
    if virtual >= n_draws - 1:
        # numpy takes the last value twice, with the weight measured from index -1.
        return n_draws - 1, n_draws - 1, virtual + 1.0
    lower = int(np.floor(virtual))
    return lower, lower + 1, virtual - lower


def row_quantiles(values: np.ndarray, qs: Sequence[float]) -> list[np.ndarray]:
    """``np.quantile(values, q, axis=1, method="linear")`` for each ``q``, found by
    selection; ``values`` (rows × draws) is partitioned in place.

    The same order statistics and the same interpolation as numpy, so the results
    are numpy's to the last bit; a row holding a NaN gets NaN, as in numpy.

    Examples
    --------
    >>> draws = np.array([[3.0, 1.0, 2.0, 2.0, 9.0], [0.5, 0.25, 0.0, 1.0, 4.0]])
    >>> expected = np.quantile(draws, [0.1, 0.9], axis=1)
    >>> found = row_quantiles(draws.copy(), [0.1, 0.9])
    >>> bool(np.array_equal(found, expected))
    True
    """
    n_draws = values.shape[1]
    positions = [quantile_positions(n_draws, q) for q in qs]
    stats, nan_rows = _order_statistics(values, positions)
    out = []
    for lower, upper, weight in positions:
        found = _lerp(stats[lower], stats[upper], weight)
        found[nan_rows] = np.nan
        out.append(found)
    return out


def _order_statistics(
    values: np.ndarray, positions: list[tuple[int, int, float]]
) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """{k: the k-th smallest of each row} for the (lower, upper) pairs of
    ``positions``, and which rows hold a NaN.

    Lower positions are selected highest first: after a partition at k the first k
    places hold the k smallest, so the next selection works on them alone, and the
    (k+1)-th smallest is the minimum of the places after k. NaN sorts last, so the
    places after the highest selection hold every NaN of a row.
    """
    stats: dict[int, np.ndarray] = {}
    nan_rows = np.zeros(values.shape[0], dtype=bool)
    end = values.shape[1]
    for k in sorted({lower for lower, _, _ in positions}, reverse=True):
        head = values[:, :end]
        head.partition(k, axis=1)
        if end == values.shape[1]:
            nan_rows = np.isnan(head[:, k:]).any(axis=1)
        stats[k] = head[:, k].copy()
        if k + 1 < end:
            stats[k + 1] = head[:, k + 1 :].min(axis=1)
        end = k
    return stats, nan_rows


def _lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """numpy's quantile interpolation, operation for operation (``numpy.lib.
    _function_base_impl._lerp``): from the lower end below t = 0.5, from the upper
    end at or above it."""
    diff = b - a
    if t >= 0.5:
        return b - diff * (1 - t)
    return a + diff * t


def summarize_rows(
    beta: np.ndarray,
    X: np.ndarray,
    offset: np.ndarray,
    link: Link,
    valid: Interval,
    scale: str,
    prob: float,
    *,
    respond: Respond | None = None,
    seed: int | None = None,
    chunk: int | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Mean, sd and the ``prob`` equal-tailed interval of each row's draws on ``scale``,
    and the fraction of each row's draws whose linear predictor leaves ``valid``.

    Parameters
    ----------
    beta : ndarray
        Coefficient draws, draws × p.
    X, offset : ndarray
        The rows' model matrix (rows × p) and offset.
    link : Link
        The link whose inverse gives the mean.
    valid : Interval
        The linear predictors where the model defines a mean
        (:func:`bayesglm.predict.eta_range`). On the mean and response scales a row
        with any draw outside it is NaN; on the link scale it is summarized as it is.
    scale : {"link", "mean", "response"}
        Which draws to summarize.
    prob : float
        Probability of the interval; its ends are numpy's ``method="linear"``
        quantiles at (1 - prob)/2 and (1 + prob)/2.
    respond : callable, optional
        ``respond(mu, rows, rng)``: responses drawn at the means ``mu`` (rows ×
        draws) of the rows numbered ``rows``; required for ``scale="response"``.
    seed : int, optional
        Seeds the response draws: chunk i draws from :func:`chunk_generator`
        (seed, i), so a seed and a ``chunk`` give the same draws however many
        threads run.
    chunk : int, optional
        Rows per chunk (:func:`chunk_rows`); each thread holds a few arrays of
        chunk × draws numbers at a time.

    Returns
    -------
    columns : dict of ndarray
        ``estimate``, ``std_error`` (ddof 1), ``conf_low``, ``conf_high``.
    outside : ndarray
        Fraction of each row's draws outside ``valid``.
    """
    n, n_draws = X.shape[0], beta.shape[0]
    parts = list(row_chunks(n, n_draws, chunk_rows(n_draws, chunk)))
    columns = {name: np.full(n, np.nan) for name in COLUMNS}
    outside = np.empty(n)
    tails = [(1 - prob) / 2, (1 + prob) / 2]
    beta_t = np.ascontiguousarray(beta.T)

    def summarize(index: int) -> None:
        part = parts[index]
        eta = X[part] @ beta_t
        eta += offset[part, None]
        outside[part] = _fraction_outside(eta, valid)
        kept = np.arange(part.start, part.stop)
        values = eta
        if scale != "link":
            inside = outside[part] == 0
            if not inside.all():
                kept, eta = kept[inside], eta[inside]
            values = link.inverse(eta)
            del eta
        if scale == "response":
            values = respond(values, kept, chunk_generator(seed, index))
        columns["estimate"][kept] = values.mean(axis=1)
        columns["std_error"][kept] = values.std(axis=1, ddof=1)
        low, high = row_quantiles(values, tails)
        columns["conf_low"][kept], columns["conf_high"][kept] = low, high

    def summarize_range(first: int, last: int) -> None:
        for index in range(first, last):
            summarize(index)

    if parts:
        map_row_ranges(summarize_range, len(parts), (n * n_draws) // len(parts))
    return columns, outside


def _fraction_outside(eta: np.ndarray, valid: Interval) -> np.ndarray:
    """1 - (fraction of each row's draws inside ``valid``), counted only for rows
    whose smallest or largest draw is outside (or NaN); the others are 0."""
    fraction = np.zeros(eta.shape[0])
    ends = np.stack([eta.min(axis=1), eta.max(axis=1)])
    rows = np.flatnonzero(~valid.includes(ends).all(axis=0))
    if rows.size:
        fraction[rows] = 1.0 - valid.includes(eta[rows]).mean(axis=1)
    return fraction
