"""The precompiled engine on categorical and cumulative fits, cold and warm.

Run from the repository root::

    .venv/bin/python benchmarks/bench_category_engine.py [--n 500] [--out PATH]
    .venv/bin/python benchmarks/bench_category_engine.py --warm-only [--levels 4] [--repeats 3]

Each case (4 chains x 1000 + 1000 draws on simulated data, intercept plus two
predictors) is fitted in a fresh Python process: with sampler="numpyro" (the path
these families took before the engine took them), then with sampler="compiled" and
an empty cache folder (cold: the program is built and stored), then with the engine
again in another fresh process (warm: the program and JAX's executable are read).
Printed and written to benchmarks/results/category_engine.md: the time of the
``fit()`` call alone and the process's whole time.

``--warm-only`` leaves numpyro out and times ``--repeats`` warm fits per case, each
in a fresh process, every case with ``--levels`` levels (the same for all, so that
the links compare): the median ``fit()`` call and its two parts as the engine
times them (reading the program; running it, JAX's load of its executable
included), and the CPU time of the call. Written to
benchmarks/results/category_engine_warm.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "category_engine.md"
WARM_RESULTS = ROOT / "benchmarks" / "results" / "category_engine_warm.md"
CASES = [("categorical", "logit", 3), ("cumulative", "logit", 4), ("cumulative", "probit", 5)]

SCRIPT = """
import json, sys, time
import numpy as np
from scipy import special
import bayesglm as bg
from bayesglm import compiled
timings = {}
run_compiled = compiled.run_compiled
def timed(*args, **kwargs):
    run = run_compiled(*args, **kwargs)
    timings.update(run.timings)
    return run
compiled.run_compiled = timed
family, link, sampler = sys.argv[1], sys.argv[2], sys.argv[5]
K, n = int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(0)
X = np.c_[np.ones(n), rng.normal(size=(n, 2))]
if family == "cumulative":
    y = np.digitize(X[:, 1:] @ [0.5, -0.3] + rng.logistic(size=n), np.linspace(-1.5, 1.5, K - 1))
    X = X[:, 1:]
    names = ["x1", "x2"]
else:
    eta = np.c_[np.zeros(n), X @ rng.normal(scale=0.5, size=(3, K - 1))]
    y = (rng.random(n)[:, None] > np.cumsum(special.softmax(eta, axis=1), axis=1)).sum(axis=1)
    names = ["Intercept", "x1", "x2"]
model = bg.GLM.from_arrays(X, y, family=family, link=link, names=names)
start, cpu = time.perf_counter(), time.process_time()
fit = model.fit(seed=1, sampler=sampler, progressbar=False)
cpu = time.process_time() - cpu
json.dump({"fit": time.perf_counter() - start, "cpu": cpu, **timings}, open(sys.argv[6], "w"))
"""


def run(case: tuple, n: int, sampler: str, cache: str) -> dict:
    family, link, K = case
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "BAYESGLM_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
        start = time.perf_counter()
        command = [sys.executable, "-W", "ignore", "-c", SCRIPT, family, link, str(K), str(n)]
        subprocess.run([*command, sampler, out.name], env=env, check=True, capture_output=True)
        total = time.perf_counter() - start
        return {**json.loads(Path(out.name).read_text()), "process": total}


def warm_only(args: argparse.Namespace) -> None:
    lines = [
        "# Warm fits of categorical and cumulative outcomes on the precompiled engine",
        "",
        f"n = {args.n}, K = {args.levels} levels, 4 chains x 1000 + 1000, each fit in a fresh "
        f"process, the program stored; median of {args.repeats}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f} at the start.",
        "Seconds: the fit() call; reading the program; running it (JAX's load of its "
        "executable included); the CPU time of the fit() call, all threads (less "
        "sensitive to other processes on a loaded machine).",
        "",
        "| case | fit() | program | run | fit() CPU |",
        "|---|---|---|---|---|",
    ]
    for family, link, _ in CASES:
        case = (family, link, args.levels)
        with tempfile.TemporaryDirectory(prefix="bench_category_engine_") as cache:
            run(case, args.n, "compiled", cache)  # cold: builds and stores the program
            times = [run(case, args.n, "compiled", cache) for _ in range(args.repeats)]
        cells = [
            statistics.median(t[name] for t in times)
            for name in ("fit", "program", "compile_and_sample", "cpu")
        ]
        lines.append(f"| {family} {link} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
        print(lines[-1], flush=True)
    (args.out or WARM_RESULTS).write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--warm-only", action="store_true")
    parser.add_argument("--levels", type=int, default=4, help="with --warm-only")
    parser.add_argument("--repeats", type=int, default=3, help="with --warm-only")
    args = parser.parse_args()
    if args.warm_only:
        warm_only(args)
        return
    lines = [
        "# The precompiled engine on categorical and cumulative fits",
        "",
        f"n = {args.n}, 4 chains x 1000 + 1000; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the start.",
        "Seconds: the fit() call / the whole fresh process.",
        "",
        "| case | numpyro | compiled, cold | compiled, warm |",
        "|---|---|---|---|",
    ]
    for case in CASES:
        with tempfile.TemporaryDirectory(prefix="bench_category_engine_") as cache:
            times = [
                run(case, args.n, "numpyro", cache),
                run(case, args.n, "compiled", cache),
                run(case, args.n, "compiled", cache),
            ]
        cells = " | ".join(f"{t['fit']:.2f} / {t['process']:.2f}" for t in times)
        lines.append(f"| {case[0]} {case[1]}, K = {case[2]} | {cells} |")
        print(lines[-1], flush=True)
    (args.out or RESULTS).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
