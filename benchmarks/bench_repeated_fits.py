"""Memory and time of many small fits in one process (a simulation study, SBC).

Run from the repository root::

    .venv/bin/python benchmarks/bench_repeated_fits.py --sampler numpyro --fits 60

Prints the peak resident memory and the elapsed time every ten fits. Before the JAX
caches were released (bayesglm.model._release_jax_programs), numpyro grew by about
15 MB a fit.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings

import numpy as np

import bayesglm as bg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sampler", default="numpyro")
    parser.add_argument("--fits", type=int, default=60)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = np.c_[np.ones(40), rng.normal(size=40)]
    start = time.perf_counter()
    for i in range(args.fits + 1):
        y = rng.poisson(np.exp(0.3 + 0.2 * X[:, 1]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bg.GLM.from_arrays(X, y, family="poisson").fit(
                draws=100, tune=100, chains=2, progressbar=False, sampler=args.sampler, seed=i
            )
        if i % 10 == 0:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            print(f"{i} fits: peak RSS {peak} MB, {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main()
