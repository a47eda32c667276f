"""Benchmark of the importance-sampled posterior on Dask: a logistic model from a
Parquet folder on a ``distributed.LocalCluster``.

Run from the repository root (needs the ``dask`` extra; on a quiet machine)::

    .venv/bin/python benchmarks/bench_dask_importance.py            # 2e6 x 20, 2 workers
    .venv/bin/python benchmarks/bench_dask_importance.py --rows 200000 --quick

It writes simulated rows (as ``bench_dask_irls.py`` does, one Parquet file per chunk),
fits ``GLM.fit(method="importance")`` on the cluster and reports the wall time of the
fit, of its mode search and of its proposals' pass (all K proposals' log-likelihoods
in one pass over the chunks), the number of proposals, k-hat, and the largest
difference of the draws from the same fit of the rows in memory. Results go to
``benchmarks/results/dask_importance.md`` and to stdout.
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
from bench_dask_irls import write_folder

RESULTS = Path(__file__).parent / "results" / "dask_importance.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--draws", type=int, default=250, help="per chain, 4 chains")
    parser.add_argument("--note", default="", help="a line about the machine's load")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    import bayesglm as bg

    names = [f"x{j}" for j in range(args.cols)]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-dask-importance-") as tmp:
        folder = Path(tmp)
        write_folder(folder, args.rows, args.cols, args.chunk_rows, 20261129, "bernoulli")
        options = {"method": "importance", "draws": args.draws, "chains": 4, "seed": 1}
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, memory_limit="2GB", dashboard_address=None
            ) as cluster,
            Client(cluster),
        ):
            values = dd.read_parquet(folder).optimize().to_dask_array(lengths=True)
            model = bg.GLM.from_arrays(
                values[:, : args.cols], values[:, args.cols], family="bernoulli", names=names
            )
            start = time.perf_counter()
            fit = model.fit(**options)
            fit_s = time.perf_counter() - start
        frame = pd.read_parquet(folder)
        memory = bg.GLM.from_arrays(
            frame[names].to_numpy(), frame["y"].to_numpy(), family="bernoulli", names=names
        ).fit(**options)
    load_after = os.getloadavg()
    difference = float(np.max(np.abs(fit.beta_draws - memory.beta_draws)))
    lines = [
        "# Importance-sampled posterior on Dask: logistic, from a Parquet folder",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- command: `benchmarks/bench_dask_importance.py --rows {args.rows} --cols "
        f"{args.cols} --chunk-rows {args.chunk_rows} --draws {args.draws}`",
        f"- machine: {os.cpu_count()} cores, python {platform.python_version()}; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
        + (f"; {args.note}" if args.note else ""),
        "- cluster: LocalCluster(2 workers x 1 thread, memory_limit=2GB), the client here",
        "",
        "| measure | value |",
        "|---|---|",
        f"| fit(method='importance') | {fit_s:.1f} s |",
        f"| of it, the mode search | {fit.timings['mode']:.1f} s |",
        f"| of it, the proposals' pass | {fit.timings['likelihood']:.1f} s |",
        f"| proposals, k-hat, importance ESS | {fit.method['proposals']:,}, "
        f"{fit.method['khat']:.2f}, {fit.method['ess']:.0f} |",
        f"| largest difference of the draws from the in-memory fit | {difference:.1e} |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
