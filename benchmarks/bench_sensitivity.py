"""Benchmark of power-scaling sensitivity and R² on many fitted rows (issue #14).

Run from the repository root::

    .venv/bin/python benchmarks/bench_sensitivity.py               # 100,000 rows
    .venv/bin/python benchmarks/bench_sensitivity.py --rows 20000  # smoke run

A poisson(log) model ``y ~ x + z`` from arrays on ``--rows`` simulated rows; 4 chains ×
1000 draws from the Laplace approximation to its posterior. It times
``fit.sensitivity()`` (one row-chunked pass for the log-likelihood sums, then ArviZ's
``psense_summary``), the Bayesian R² and the LOO-R², and measures their working
memory (tracemalloc peak, which sees numpy's buffers) against one draws × n array of
float64, which the sensitivity and the Bayesian R² never make. The LOO-R²'s own peak
includes ArviZ's Bayesian bootstrap, 4000 × n Dirichlet weights. The machine's load
is written beside the numbers: timings on a shared machine are indicative only.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench_predict import busy_cores  # noqa: E402  (this folder is on the path)

import bayesglm as bg  # noqa: E402
from bayesglm.r2 import bayesian_r2_draws, loo_r2_draws  # noqa: E402
from bayesglm.sensitivity import sensitivity_table  # noqa: E402
from tests.laplace_fit import laplace_fit  # noqa: E402


def make_fit(n: int, chains: int, draws: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=n), rng.normal(size=n)
    y = rng.poisson(np.exp(0.2 + 0.3 * x - 0.2 * z)).astype(float)
    model = bg.GLM.from_arrays(np.c_[np.ones(n), x, z], y, family="poisson")
    return laplace_fit(model, seed=seed, chains=chains, draws=draws)


def measured(fn) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and the tracemalloc peak of one call."""
    tracemalloc.start()
    cpu, wall = time.process_time(), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return wall, cpu, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "sensitivity.md")
    args = parser.parse_args()

    fit = make_fit(args.rows, args.chains, args.draws)
    fit.idata  # built once, outside the measurements  # noqa: B018
    n_draws = args.chains * args.draws
    load_before = busy_cores()
    calls = [
        ("sensitivity()", lambda: sensitivity_table(fit)),
        ("Bayesian R²", lambda: bayesian_r2_draws(fit)),
        ("LOO-R²", lambda: loo_r2_draws(fit)),
    ]
    rows = [(name, *measured(call)) for name, call in calls]
    load_after = busy_cores()
    full = 8 * n_draws * args.rows

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    lines = [
        "# Sensitivity and R² benchmark: many fitted rows",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; git {commit}; "
        f"command: `python benchmarks/bench_sensitivity.py --rows {args.rows}`",
        f"- {args.rows:,} rows, p = {len(fit.names)}, {n_draws} draws; busy cores "
        f"(all processes) {load_before:.1f} before, {load_after:.1f} after",
        f"- one draws × n array of float64: {full / 2**20:.0f} MiB",
        "",
        "| call | wall s | cpu s | peak MiB |",
        "|---|---|---|---|",
        *[
            f"| {name} | {wall:.2f} | {cpu:.2f} | {peak / 2**20:.1f} |"
            for name, wall, cpu, peak in rows
        ],
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
