"""Benchmark of posterior predictions for many new rows (issue #12, "Prediction").

Run from the repository root::

    .venv/bin/python benchmarks/bench_predict.py               # 1,000,000 rows (minutes)
    .venv/bin/python benchmarks/bench_predict.py --rows 100000 # smoke run
    .venv/bin/python benchmarks/bench_predict.py --previous    # also the code predict() ran before

A poisson model with the log link and an offset, p = 10 (an intercept and nine
standard-normal predictors), 4 chains × 1000 draws from the Laplace approximation to
its posterior on 5,000 simulated training rows (prediction reads draws however they
were made). For the new rows (offset log(exposure), exposure ~ U(1, 10)) it times,
in one run:

1. ``GLMResult.predict(scale="mean")``: mean, sd and the 95% equal-tailed interval;
2. a plain chunked numpy version of the same four columns: per 1000 rows (4 million
   numbers, predict()'s chunk before), X @ Bᵀ + offset, exp, mean, sd, and
   ``np.partition`` at the four order statistics of the two interval ends; with BLAS
   on one thread (its threads only spin on these thin products when the machine is
   busy, which would flatter the comparison);
3. ``GLMResult.predict(scale="response")``: the same from poisson draws;
4. with ``--previous``: the computation predict() made before (draws × rows per
   chunk, ``np.quantile``), single-threaded.

It checks that 1 and 2 agree (interval ends to the last bit where the linear
predictors agree), and measures working memory (tracemalloc peak, which sees
numpy's buffers) on 100,000 rows, where no draws × all-rows array may appear.
The machine's load is written beside the numbers: timings on a shared machine are
indicative only.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import bayesglm as bg  # noqa: E402
from bayesglm.draw_summaries import quantile_positions  # noqa: E402
from bayesglm.results import GLMResult  # noqa: E402
from tests.laplace_fit import laplace_fit  # noqa: E402

P = 10
PROB = 0.95
TRAINING_ROWS = 5_000
PLAIN_CHUNK_ELEMENTS = 4_000_000


def make_fit(chains: int, draws: int, seed: int = 1) -> GLMResult:
    """A poisson(log) fit with an offset, its draws from the Laplace approximation."""
    rng = np.random.default_rng(seed)
    X = np.c_[np.ones(TRAINING_ROWS), rng.normal(size=(TRAINING_ROWS, P - 1))]
    beta = np.r_[-1.0, rng.normal(0, 0.1, P - 1)]
    offset = np.log(rng.uniform(1, 10, TRAINING_ROWS))
    y = rng.poisson(np.exp(X @ beta + offset))
    model = bg.GLM.from_arrays(X, y, family="poisson", offset=offset)
    return laplace_fit(model, seed=seed, chains=chains, draws=draws)


def new_rows(n: int, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.empty((n, P))
    X[:, 0] = 1.0
    X[:, 1:] = rng.standard_normal((n, P - 1))
    return X, np.log(rng.uniform(1, 10, n))


def _lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def plain(X: np.ndarray, B: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Mean, sd and interval ends per row: chunked numpy, one partition per chunk."""
    n, n_draws = X.shape[0], B.shape[0]
    ends = [quantile_positions(n_draws, q) for q in ((1 - PROB) / 2, (1 + PROB) / 2)]
    kth = sorted({k for low, high, _ in ends for k in (low, high)})
    out = np.empty((4, n))
    step = max(1, PLAIN_CHUNK_ELEMENTS // n_draws)
    for lo in range(0, n, step):
        rows = slice(lo, min(lo + step, n))
        mu = np.exp(X[rows] @ B.T + offset[rows, None])
        out[0, rows], out[1, rows] = mu.mean(axis=1), mu.std(axis=1, ddof=1)
        mu.partition(kth, axis=1)
        for column, (low, high, weight) in zip((2, 3), ends, strict=True):
            out[column, rows] = _lerp(mu[:, low], mu[:, high], weight)
    return out


def previous(X: np.ndarray, B: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """What predict() computed before: draws × rows chunks and np.quantile."""
    n, n_draws = X.shape[0], B.shape[0]
    out = np.empty((4, n))
    step = max(1, PLAIN_CHUNK_ELEMENTS // n_draws)
    for lo in range(0, n, step):
        rows = slice(lo, min(lo + step, n))
        mu = np.exp(B @ X[rows].T + offset[rows])
        out[0, rows], out[1, rows] = mu.mean(axis=0), mu.std(axis=0, ddof=1)
        tails = [(1 - PROB) / 2, (1 + PROB) / 2]
        out[2:, rows] = np.quantile(mu, tails, axis=0, method="linear")
    return out


def timed(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def peak_bytes(fn) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def busy_cores(seconds: float = 1.0) -> float:
    """CPU cores in use by all processes over ``seconds`` (from /proc/stat)."""

    def ticks() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(fields) - fields[3] - fields[4], sum(fields)

    busy0, total0 = ticks()
    time.sleep(seconds)
    busy1, total1 = ticks()
    return (busy1 - busy0) / max(total1 - total0, 1) * os.cpu_count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--previous", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "predict.md")
    args = parser.parse_args()

    fit = make_fit(args.chains, args.draws)
    B = fit.draws()[fit.names].to_numpy()
    X, offset = new_rows(args.rows)
    load_before = busy_cores()
    rows = []

    fast, wall, cpu = timed(lambda: fit.predict(X, scale="mean", offset=offset))
    rows.append(("predict(scale='mean')", wall, cpu))
    with threadpool_limits(1, user_api="blas"):
        reference, wall, cpu = timed(lambda: plain(X, B, offset))
    rows.append(("plain chunked numpy (np.partition)", wall, cpu))
    _, wall, cpu = timed(lambda: fit.predict(X, scale="response", offset=offset))
    rows.append(("predict(scale='response')", wall, cpu))
    if args.previous:
        with threadpool_limits(1, user_api="blas"):
            _, wall, cpu = timed(lambda: previous(X, B, offset))
        rows.append(("previous predict() mean scale (np.quantile)", wall, cpu))
    load_after = busy_cores()

    found = fast[["estimate", "std_error", "conf_low", "conf_high"]].to_numpy().T
    differences = np.max(np.abs(found - reference) / np.abs(reference), axis=1)
    same_ends = [int(np.sum(found[i] == reference[i])) for i in (2, 3)]

    m = min(args.rows, 100_000)
    Xm, om = X[:m], offset[:m]
    memory = [
        ("predict(scale='mean')", peak_bytes(lambda: fit.predict(Xm, scale="mean", offset=om))),
        ("plain chunked numpy", peak_bytes(lambda: plain(Xm, B, om))),
        (
            "predict(scale='response')",
            peak_bytes(lambda: fit.predict(Xm, scale="response", offset=om)),
        ),
    ]
    write(args, rows, differences, same_ends, memory, m, B.shape[0], load_before, load_after)


def write(args, rows, differences, same_ends, memory, m, n_draws, before, after) -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    plain_wall = rows[1][1]
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        "# Prediction benchmark: posterior predictions for many new rows",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; "
        f"git {commit}; command: `python benchmarks/bench_predict.py"
        f"{' --previous' if args.previous else ''} --rows {args.rows}`",
        f"- machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}); "
        f"python {platform.python_version()}, numpy {np.__version__}",
        f"- load: {before:.2f} busy cores just before, {after:.2f} just after "
        "(all processes; the machine is shared, so the times are indicative)",
        f"- poisson(log) with an offset, p = {P}, {args.chains} × {args.draws} draws, "
        f"{args.rows:,} new rows, {PROB:.0%} equal-tailed intervals",
        f"- peak RSS of the process: {peak_rss:.0f} MiB",
        "",
        "| computation | wall s | CPU s | plain / this (wall) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {wall:.1f} | {cpu:.1f} | {plain_wall / wall:.2f} |"
        for name, wall, cpu in rows
    ]
    lines += [
        "",
        "predict(scale='mean') against the plain version, largest relative difference: "
        + ", ".join(
            f"{name} {d:.1e}"
            for name, d in zip(("mean", "sd", "low", "high"), differences, strict=True)
        )
        + f"; interval ends equal to the last bit in {same_ends[0]:,} and {same_ends[1]:,} "
        f"of {args.rows:,} rows (the rest differ where the matrix product rounds "
        "differently in a different chunk shape).",
        "",
        f"Working memory, {m:,} rows × {n_draws} draws (a draws × all-rows array would be "
        f"{m * n_draws * 8 / 2**20:,.0f} MiB): "
        + ", ".join(f"{name} {peak / 2**20:.1f} MiB" for name, peak in memory)
        + " (tracemalloc peak).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
