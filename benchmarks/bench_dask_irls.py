"""Benchmark of the IRLS on Dask: a poisson fit with an offset (or a logistic one) from a
Parquet folder.

Run from the repository root (needs the ``dask`` extra)::

    .venv/bin/python benchmarks/bench_dask_irls.py                    # 2e6 x 20, 2 workers
    .venv/bin/python benchmarks/bench_dask_irls.py --rows 20000000 --memory-limit 1GB
    .venv/bin/python benchmarks/bench_dask_irls.py --quick            # 2e5 x 10 smoke run
    .venv/bin/python benchmarks/bench_dask_irls.py --family bernoulli  # logistic, no offset

It writes simulated data (an intercept plus standard-normal predictors, a varying
exposure, poisson counts; or 0/1 outcomes of a logistic model) to a Parquet folder,
one file per chunk, generated chunk by chunk so the client never holds it. Then, on a
``distributed.LocalCluster``:

1. the time of one pass that only reads the folder and sums every column (the
   floor of any pass over the data), median of ``--repeats``;
2. the time of one IRLS iteration (one sweep: linear predictor, means, deviance,
   X'WX and X'Wr from every chunk, summed in a tree), median of ``--repeats``, and
   its ratio to the read-and-sum pass (the goal is at most 2);
3. the whole ``bayesglm.fit_mle`` on the Dask inputs: wall time, iterations;
4. the client's peak traced memory during that fit (tracemalloc; numpy's buffers
   included) and its peak-RSS growth;
5. agreement with the in-memory fit of the same rows (skipped above ``--max-reference-rows``).

Results go to ``benchmarks/results/dask_irls.md`` and to stdout.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results" / "dask_irls.md"


def write_folder(
    folder: Path, rows: int, cols: int, chunk_rows: int, seed: int, family: str = "poisson"
) -> np.ndarray:
    """Simulated rows, one Parquet file per chunk: poisson counts with a log-exposure
    offset, or 0/1 outcomes of a logistic model (its offset column unused)."""
    rng = np.random.default_rng(seed)
    beta = np.r_[-1.0, rng.normal(0.0, 0.1, cols - 1)]
    for k, start in enumerate(range(0, rows, chunk_rows)):
        m = min(chunk_rows, rows - start)
        part = np.random.default_rng([seed, k])
        X = np.column_stack([np.ones(m), part.standard_normal((m, cols - 1))])
        log_exposure = np.log(part.uniform(0.5, 3.0, m))
        if family == "poisson":
            y = part.poisson(np.exp(X @ beta + log_exposure)).astype(float)
        else:
            y = (part.uniform(size=m) < 1.0 / (1.0 + np.exp(-(X @ beta)))).astype(float)
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(cols)])
        frame["y"], frame["log_exposure"] = y, log_exposure
        frame.to_parquet(folder / f"part-{k:05d}.parquet", index=False)
    return beta


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=("poisson", "bernoulli"), default="poisson")
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="2GB", help="per worker")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-reference-rows", type=int, default=5_000_000)
    parser.add_argument("--quick", action="store_true", help="2e5 rows x 10 columns")
    parser.add_argument("--note", default="", help="a line about the machine's load")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.rows, args.cols, args.chunk_rows = 200_000, 10, 25_000

    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    import bayesglm as bg
    from bayesglm.chunked_design import chunked_design_from_arrays
    from bayesglm.families import resolve
    from bayesglm.sweep import sweep

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-dask-irls-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        write_folder(folder, args.rows, args.cols, args.chunk_rows, 20261128, args.family)
        write_s = time.perf_counter() - start
        folder_mb = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
        columns = [f"x{j}" for j in range(args.cols)]
        with (
            LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                memory_limit=args.memory_limit,
                dashboard_address=None,
            ) as cluster,
            Client(cluster),
        ):
            values = dd.read_parquet(folder).optimize().to_dask_array(lengths=True)
            X, y, offset = values[:, : args.cols], values[:, args.cols], values[:, -1]

            read_and_sum = median_time(lambda: values.sum(axis=0).compute(), args.repeats)

            tracemalloc.start()
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            start = time.perf_counter()
            offset = offset if args.family == "poisson" else None
            fit = bg.fit_mle(X, y, family=args.family, offset=offset, names=columns)
            fit_s = time.perf_counter() - start
            _, peak_traced = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before

            spec = resolve(args.family)
            design = chunked_design_from_arrays(X, y, spec, names=columns, offset=offset)
            beta = fit.params_array
            iteration = median_time(lambda: sweep(design, spec, beta), args.repeats)

        agreement = "skipped (more rows than --max-reference-rows)"
        if args.rows <= args.max_reference_rows:
            frame = pd.read_parquet(folder)
            memory_offset = frame["log_exposure"] if args.family == "poisson" else None
            memory = bg.fit_mle(
                frame[columns], frame["y"], family=args.family, offset=memory_offset
            )
            del frame
            rel = np.max(
                np.abs(fit.params_array - memory.params_array) / np.abs(memory.params_array)
            )
            in_se = np.max(np.abs(fit.params_array - memory.params_array) / memory.bse)
            dev = abs(fit.deviance - memory.deviance) / memory.deviance
            agreement = (
                f"max relative difference of the coefficients {rel:.2e} "
                f"({in_se:.2e} SE); of the deviance {dev:.2e}"
            )
    load_after = os.getloadavg()

    x_mb = args.rows * args.cols * 8 / 2**20
    lines = [
        f"# IRLS on Dask: {args.family}"
        + (" with an offset" if args.family == "poisson" else " (logistic)")
        + ", from a Parquet folder",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- command: `benchmarks/bench_dask_irls.py --family {args.family} "
        f"--rows {args.rows} --cols {args.cols} "
        f"--chunk-rows {args.chunk_rows} --workers {args.workers} "
        f"--memory-limit {args.memory_limit}`",
        f"- machine: {os.cpu_count()} cores, python {platform.python_version()}; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
        + (f"; {args.note}" if args.note else ""),
        f"- data: {args.rows:,} rows x {args.cols} columns (X is {x_mb:.0f} MiB as float64; "
        f"the folder {folder_mb:.0f} MiB of Parquet in {-(-args.rows // args.chunk_rows)} "
        f"files, written in {write_s:.1f} s)",
        f"- cluster: LocalCluster({args.workers} workers x 1 thread, "
        f"memory_limit={args.memory_limit}), the client in this process",
        "",
        "| measure | value |",
        "|---|---|",
        f"| one pass that reads and sums the data (median of {args.repeats}) | "
        f"{read_and_sum:.2f} s |",
        f"| one IRLS iteration (one sweep, median of {args.repeats}) | {iteration:.2f} s |",
        f"| iteration / read-and-sum pass (goal <= 2) | {iteration / read_and_sum:.2f} |",
        f"| whole fit_mle | {fit_s:.1f} s, {fit.n_iter} iterations, converged={fit.converged} |",
        f"| client peak traced memory during the fit | {peak_traced / 2**20:.1f} MiB |",
        f"| client peak-RSS growth during the fit | {rss_growth / 1024:.1f} MiB |",
        f"| agreement with the in-memory fit | {agreement} |",
        "",
        "The whole fit reads the data once for the checks, once per iteration (the "
        "first from R's starting means), and once each for the null deviance and the "
        "log-likelihood (the null deviance with an offset is an intercept-only IRLS: a "
        "few more passes).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
