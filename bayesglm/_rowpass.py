"""Passes over the rows of a tall matrix, split across threads.

A pass is cut into one contiguous row range per core; each thread walks its range
in cache-sized blocks and returns partial sums that the caller adds up. BLAS runs
one thread per range while the pass lasts (threadpoolctl): several Python threads
each with a multi-threaded BLAS would oversubscribe the cores. numpy and BLAS
release the GIL, so the ranges run in parallel.

Sums are taken range by range, so results can differ in the last bits between
machines with different numbers of cores (never between runs on one machine).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

_BLOCK_BYTES = 1 << 20  # rows per block: about 1 MB of a row-major matrix
_MIN_ELEMENTS_PER_THREAD = 1 << 20  # below this, threads cost more than they save
_MAX_THREADS = 8


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def n_threads(n: int, p: int) -> int:
    """Threads a pass over an ``n`` × ``p`` matrix uses."""
    return max(1, min(_cores(), _MAX_THREADS, (n * p) // _MIN_ELEMENTS_PER_THREAD))


def map_row_ranges[T](fn: Callable[[int, int], T], n: int, p: int) -> list[T]:
    """``fn(lo, hi)`` over contiguous row ranges covering ``0..n``, one per thread.

    Results come back in row order. A "row" is any unit of ``p`` numbers' work: a
    row of a matrix, or a chunk of rows (posterior predictions map over chunks).
    """
    threads = n_threads(n, p)
    if threads == 1:
        return [fn(0, n)]
    cuts = np.linspace(0, n, threads + 1).astype(int)
    with one_blas_thread(), ThreadPoolExecutor(threads) as pool:
        return list(pool.map(fn, cuts[:-1].tolist(), cuts[1:].tolist()))


def one_blas_thread() -> Any:
    """A context in which BLAS runs on one thread: for passes whose blocks run in
    parallel threads (ours, or a local Dask scheduler's), each block's small
    products would otherwise start a team of BLAS threads and oversubscribe the
    cores. (``distributed`` workers already run BLAS on one thread.)"""
    return ThreadpoolController().limit(limits=1, user_api="blas")


def block_rows(p: int) -> int:
    """Rows of a cache-sized block of a matrix with ``p`` columns."""
    return max(256, _BLOCK_BYTES // (8 * max(p, 1)))


def blocks(lo: int, hi: int, p: int) -> Iterator[slice]:
    """Cache-sized slices of the rows ``lo..hi`` of a matrix with ``p`` columns."""
    step = block_rows(p)
    for start in range(lo, hi, step):
        yield slice(start, min(start + step, hi))


def weighted_gram(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    r""":math:`X^\top W X` in one blocked pass, without a weighted copy of X.

    Examples
    --------
    >>> X = np.array([[1.0, 2.0], [1.0, -1.0], [1.0, 0.5]])
    >>> w = np.array([1.0, 2.0, 4.0])
    >>> bool(np.allclose(weighted_gram(X, w), X.T @ (w[:, None] * X)))
    True
    """
    n, p = X.shape
    sqrt_w = np.sqrt(w)

    def part(lo: int, hi: int) -> np.ndarray:
        gram = np.zeros((p, p))
        for rows in blocks(lo, hi, p):
            scaled = X[rows] * sqrt_w[rows, None]
            gram += scaled.T @ scaled
        return gram

    return sum(map_row_ranges(part, n, p), start=np.zeros((p, p)))
