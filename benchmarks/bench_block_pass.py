"""Benchmark of one block of the IRLS row pass: what a Dask worker does per chunk.

Run from the repository root::

    .venv/bin/python benchmarks/bench_block_pass.py                       # bernoulli, 1e6 x 20
    .venv/bin/python benchmarks/bench_block_pass.py --family poisson --rows 500000
    .venv/bin/python benchmarks/bench_block_pass.py --profile             # cProfile, top 15

It times :func:`bayesglm.sweep.block_pass` on one in-memory block (an intercept plus
standard-normal predictors; 0/1 outcomes of a logistic model, or poisson counts with
a log-exposure offset) at the true coefficients, with BLAS on one thread as on a
worker with ``threads_per_worker=1``, and beside it the floor of any pass: reading
the block once (a column sum). Median of ``--repeats``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats

import numpy as np
from bench_dask_irls import median_time
from threadpoolctl import threadpool_limits

from bayesglm.families import resolve
from bayesglm.sweep import block_pass


def block(rows: int, cols: int, family: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    beta = np.r_[-1.0, rng.normal(0.0, 0.1, cols - 1)]
    X = np.column_stack([np.ones(rows), rng.standard_normal((rows, cols - 1))])
    if family == "poisson":
        offset = np.log(rng.uniform(0.5, 3.0, rows))
        y = rng.poisson(np.exp(X @ beta + offset)).astype(float)
    else:
        offset = np.zeros(rows)
        y = (rng.uniform(size=rows) < 1.0 / (1.0 + np.exp(-(X @ beta)))).astype(float)
    return beta, X, y, np.ones(rows), offset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="bernoulli", choices=["bernoulli", "poisson"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    spec = resolve(args.family)
    beta, X, y, weights, offset = block(args.rows, args.cols, args.family)
    with threadpool_limits(limits=1, user_api="blas"):
        run = lambda: block_pass(spec, beta, X, y, weights, offset)  # noqa: E731
        run()
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.repeats):
                run()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        passed = median_time(run, args.repeats)
        read = median_time(lambda: X.sum(axis=0), args.repeats)
    print(f"block_pass {args.family} {args.rows:,} x {args.cols}: {passed * 1e3:.1f} ms")
    print(f"read the block once (column sums): {read * 1e3:.1f} ms; ratio {passed / read:.2f}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
