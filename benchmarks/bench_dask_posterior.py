"""Benchmark of the exact posterior of a large poisson rating table via cells.

Run from the repository root (needs the ``dask`` extra)::

    .venv/bin/python benchmarks/bench_dask_posterior.py                  # 2e7 rows
    .venv/bin/python benchmarks/bench_dask_posterior.py --rows 2000000   # smaller
    .venv/bin/python benchmarks/bench_dask_posterior.py --quick          # 2e5 smoke run

It writes a simulated motor-insurance rating table to a Parquet folder, one file per
chunk, generated chunk by chunk so the client never holds it: four categorical
rating factors (area 6 levels, driver age 8, vehicle group 10, bonus class 5: 2,400
cells), an exposure in years varying by row, and poisson claim counts. Then, on a
``distributed.LocalCluster`` (``--workers`` processes of one thread):

1. ``bg.GLM("claims ~ C(area) + C(age) + C(vehicle) + C(bonus)",
   data=dd.read_parquet(folder), family="poisson", exposure="exposure")``: the
   formula's checking pre-pass over the rows;
2. ``model.fit(method="cells")``: the distributed group-by into cells (Σ claims and
   Σ exposure per covariate pattern), then NUTS on the client over the cells;
3. end to end: 1 + 2 (the goal is under 2 minutes at 2e7 rows).

The posterior means are compared with the coefficients that made the data. Results
go to ``benchmarks/results/dask_posterior.md`` and to stdout. The machine these
numbers were taken on is shared: they are indicative.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results" / "dask_posterior.md"
FACTORS = {"area": 6, "age": 8, "vehicle": 10, "bonus": 5}
FORMULA = "claims ~ C(area) + C(age) + C(vehicle) + C(bonus)"


def effects(seed: int) -> dict[str, np.ndarray]:
    """The log rate ratio of each level (the first level's is 0)."""
    rng = np.random.default_rng(seed)
    return {name: np.r_[0.0, rng.normal(0.0, 0.3, levels - 1)] for name, levels in FACTORS.items()}


def write_folder(folder: Path, rows: int, chunk_rows: int, seed: int) -> dict[str, np.ndarray]:
    """The simulated rating table, one Parquet file per chunk (categorical columns)."""
    truth = effects(seed)
    for k, start in enumerate(range(0, rows, chunk_rows)):
        m = min(chunk_rows, rows - start)
        part = np.random.default_rng([seed, k])
        frame = pd.DataFrame({"exposure": part.uniform(0.05, 1.0, m)})
        eta = np.full(m, -2.0)
        for name, levels in FACTORS.items():
            codes = part.integers(0, levels, m)
            eta += truth[name][codes]
            labels = [f"{name}{j}" for j in range(levels)]
            frame[name] = pd.Categorical.from_codes(codes, categories=labels)
        frame["claims"] = part.poisson(frame["exposure"] * np.exp(eta)).astype(float)
        frame.to_parquet(folder / f"part-{k:05d}.parquet", index=False)
    return truth


def run(args: argparse.Namespace) -> list[str]:
    import dask
    import dask.dataframe as dd
    import distributed

    import bayesglm as bg

    lines = []
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        folder = Path(tmp) / "ratings"
        folder.mkdir()
        start = time.perf_counter()
        truth = write_folder(folder, args.rows, args.chunk_rows, args.seed)
        written = time.perf_counter() - start
        size = sum(f.stat().st_size for f in folder.iterdir())
        with (
            distributed.LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
            dask.config.set(scheduler=client),
        ):
            start = time.perf_counter()
            model = bg.GLM(
                FORMULA, data=dd.read_parquet(folder), family="poisson", exposure="exposure"
            )
            built = time.perf_counter() - start
            start = time.perf_counter()
            fit = model.fit(
                method="cells", draws=1000, tune=1000, chains=4, seed=1, progressbar=False
            )
            fitted = time.perf_counter() - start
        summary = fit.summary()
        expected = np.concatenate([[-2.0], *(values[1:] for values in truth.values())])
        error = np.abs(summary["mean"].to_numpy() - expected) / summary["sd"].to_numpy()
        timings = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in fit.timings.items())
        lines += [
            f"| {args.rows:,} | {size / 2**20:,.0f} MiB | {fit.method['cells']:,} | "
            f"{built:.1f} s | {fitted:.1f} s | **{built + fitted:.1f} s** | "
            f"{fit.diagnostics().ok} | {error.max():.2f} |",
            "",
            f"Writing the folder took {written:.1f} s (not counted). Within the fit: "
            f"{timings} (sampler: {fit.sampler}).",
        ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--tmp", default=None, help="folder for the Parquet data")
    parser.add_argument("--quick", action="store_true", help="2e5 rows smoke run")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.chunk_rows = 200_000, 50_000
    header = [
        "# Posterior of a Dask rating table via exact cells (bench_dask_posterior.py)",
        "",
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{args.workers} workers x 1 thread, chunks of {args.chunk_rows:,} rows; "
        f"load average {os.getloadavg()[0]:.1f} at the start.",
        "",
        "| rows | Parquet | cells | model (pre-pass) | fit (cells + NUTS) | end to end "
        "| checks ok | max abs(mean - truth)/sd |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines = header + run(args)
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
