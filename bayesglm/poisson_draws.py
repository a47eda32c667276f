r"""Exact Poisson draws by inversion, a cache-sized block of draws at a time.

A draw with mean :math:`\mu` is the quantile of a uniform :math:`U`,
:math:`Y = \min\{k : U \le F(k; \mu)\}`, the cumulative probabilities built term by
term, :math:`p_0 = e^{-\mu}`, :math:`p_k = p_{k-1}\,\mu/k`. Every draw of a block takes
the step to the next k together, in one vectorised pass, until no draw of the block is
still searching: a block costs its largest draw plus one passes, each a few numpy
operations on arrays that stay in a core's cache. For the small means of count models
this is several times cheaper than numpy's ``Generator.poisson``, which draws one
number at a time (multiplying uniforms below a mean of 10, a rejection scheme above).
Its cost grows with the mean, so a block holding a mean of :data:`INVERSION_LIMIT` or
more, or a value that is not a mean (negative, NaN), is drawn by numpy's sampler,
which also raises numpy's own error for the latter.

The draws are the exact quantiles of their uniforms (the test compares them with
``scipy.stats.poisson.ppf``). Summing the terms rounds, so a uniform within about
1e-15 of 1 can lie above every partial sum the search reaches; after
:data:`_MAX_STEPS` passes the draws still searching are drawn by numpy's sampler
instead. No mean below the limit has a draw near that many (its probability is below
1e-150).
"""

from __future__ import annotations

import numpy as np

__all__ = ["INVERSION_LIMIT", "poisson_draws"]

INVERSION_LIMIT = 25.0  # blocks whose means are all below it are drawn by inversion
_BLOCK = 16_384  # draws a pass works on: five arrays of it stay in a core's L2 cache
_MAX_STEPS = 250  # a draw counter of one byte holds the largest step count


def poisson_draws(mu: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson draws with means ``mu``, as float64 in ``mu``'s shape.

    Blocks of :data:`_BLOCK` consecutive means (in memory order: an F-ordered array,
    such as the transpose of a C-ordered one, is walked column after column) are drawn
    by inversion when all are below :data:`INVERSION_LIMIT`, each from the next
    ``rng.random`` uniforms; other blocks by ``rng.poisson``. A seed gives the same
    draws for the same means in the same layout.

    Parameters
    ----------
    mu : ndarray
        Means, >= 0.
    rng : numpy.random.Generator
        The source of the uniforms.

    Returns
    -------
    ndarray
        One draw per mean, whole numbers as float64, in ``mu``'s shape and memory order.

    Examples
    --------
    >>> from scipy import stats
    >>> mu = np.array([[0.5, 3.0], [7.0, 20.0]])
    >>> draws = poisson_draws(mu, np.random.default_rng(1))
    >>> uniforms = np.random.default_rng(1).random(4).reshape(2, 2)
    >>> bool(np.array_equal(draws, stats.poisson.ppf(uniforms, mu)))
    True
    """
    mu = np.asarray(mu, dtype=float)
    order = "F" if mu.flags.f_contiguous and not mu.flags.c_contiguous else "C"
    means = mu.ravel(order=order)
    draws = np.empty(means.size)
    scratch = _Scratch(min(_BLOCK, means.size))
    for start in range(0, means.size, _BLOCK):
        block = slice(start, start + _BLOCK)
        _draw_block(means[block], draws[block], scratch, rng)
    return draws.reshape(mu.shape, order=order)


class _Scratch:
    """Arrays one block's search works in, allocated once a call."""

    def __init__(self, size: int) -> None:
        self.uniform = np.empty(size)
        self.term = np.empty(size)
        self.cumulative = np.empty(size)
        self.searching = np.empty(size, dtype=bool)
        self.count = np.empty(size, dtype=np.uint8)


def _draw_block(
    means: np.ndarray, out: np.ndarray, scratch: _Scratch, rng: np.random.Generator
) -> None:
    """Draws for one block of means into ``out``."""
    if not (means.max() < INVERSION_LIMIT and means.min() >= 0.0):
        out[...] = rng.poisson(means)
        return
    n = means.size
    uniform, term = scratch.uniform[:n], scratch.term[:n]
    cumulative, searching, count = scratch.cumulative[:n], scratch.searching[:n], scratch.count[:n]
    rng.random(out=uniform)
    np.negative(means, out=term)
    np.exp(term, out=term)
    cumulative[...] = term
    count[...] = 0
    for k in range(1, _MAX_STEPS + 1):
        np.greater(uniform, cumulative, out=searching)
        if not searching.any():
            break
        np.add(count, searching, out=count, casting="unsafe")
        np.multiply(term, means, out=term)
        np.multiply(term, 1.0 / k, out=term)
        np.add(cumulative, term, out=cumulative)
    else:
        np.greater(uniform, cumulative, out=searching)
    out[...] = count
    stuck = np.flatnonzero(searching)
    if stuck.size:
        out[stuck] = rng.poisson(means[stuck])
