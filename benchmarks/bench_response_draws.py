"""Benchmark of the response samplers of predictions (issue #12, "Prediction"): ns a draw.

Run from the repository root::

    .venv/bin/python benchmarks/bench_response_draws.py

Poisson: for each mean, a rows x draws chunk of 125 x 4000 equal means (the size
``GLMResult.predict`` draws at once on one thread) is drawn by numpy's
``Generator.poisson`` and by :func:`bayesglm.poisson_draws.poisson_draws` with the
inversion limit lifted, best of three, one thread. The crossover is where
:data:`~bayesglm.poisson_draws.INVERSION_LIMIT` belongs.

Bernoulli: for each probability, and for probabilities that differ from draw to draw
(uniform on [0.05, 0.95], as a prediction's do), the same chunk drawn by numpy's
``Generator.binomial(1, p)`` and by ``Bernoulli.sample`` (a uniform below p), best of
three, one thread.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bayesglm import poisson_draws as sampler
from bayesglm.families import FAMILIES

MEANS = (0.1, 1.0, 3.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 50.0)
PROBABILITIES = (0.01, 0.2, 0.5, 0.9)


def best_ns(draw, mu: np.ndarray) -> float:
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        draw(mu)
        best = min(best, time.perf_counter() - start)
    return best / mu.size * 1e9


def main() -> None:
    rng = np.random.default_rng(1)
    sampler.INVERSION_LIMIT = np.inf
    print("| mean | numpy Generator.poisson (ns) | inversion (ns) |")
    print("|---|---|---|")
    for mean in MEANS:
        mu = np.full((125, 4000), mean)
        numpy_ns = best_ns(lambda m: rng.poisson(m).astype(float), mu)
        inversion_ns = best_ns(lambda m: sampler.poisson_draws(m, rng), mu)
        print(f"| {mean:g} | {numpy_ns:.1f} | {inversion_ns:.1f} |")
    bernoulli = FAMILIES["bernoulli"]
    print()
    print("| probability | numpy Generator.binomial(1, p) (ns) | Bernoulli.sample (ns) |")
    print("|---|---|---|")
    for prob in (*PROBABILITIES, "U(0.05, 0.95)"):
        shape = (125, 4000)
        p = rng.uniform(0.05, 0.95, shape) if isinstance(prob, str) else np.full(shape, prob)
        numpy_ns = best_ns(lambda m: rng.binomial(1, m).astype(float), p)
        ours_ns = best_ns(lambda m: bernoulli.sample(m, None, None, rng), p)
        print(f"| {prob} | {numpy_ns:.1f} | {ours_ns:.1f} |")


if __name__ == "__main__":
    main()
