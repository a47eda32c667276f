"""Start-up cost: each step timed in fresh Python processes, median of several runs.

Run from the repository root (on a quiet machine: other processes inflate every
number here)::

    .venv/bin/python benchmarks/bench_startup.py [--runs 5]

Writes benchmarks/results/startup.md. The steps:

- ``python -c pass``: the interpreter alone, the floor under everything else;
- ``import bayesglm`` (issue #12's goal: under 0.3 s);
- ``bayesglm --help`` and ``bayesglm families``: the command line's fixed cost;
- ``bayesglm mle`` on a small CSV (n = 200, p = 3, poisson);
- a fit without its sampler: read the CSV, build the model, MLE, posterior mode, then
  the result from draws of the Laplace approximation standing in for NUTS, its health
  check (what ``GLM.fit`` does after sampling) and its summary. What is left of a
  fit's time beyond this is the sampler's;
- ``bayesglm fit small.csv`` end to end (issue #12's goal: under 1.5 s) with the
  compiled engine's program of this structure stored: the step runs once untimed
  first, as ``bayesglm warmup`` or an earlier fit would have stored it.

Each row also lists which of the heavy packages the step loaded.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "startup.md"
HEAVY = ("numpy", "scipy", "pandas", "formulaic", "pymc", "pytensor", "jax", "arviz", "xarray")
HEAVY += ("matplotlib",)

# Put before each step's code: reports the heavy packages loaded when the process ends
# (also by sys.exit, as argparse's --help does).
_REPORT_LOADED = (
    "import atexit as _atexit, sys as _sys\n"
    "_atexit.register(lambda: print('LOADED', ','.join(m for m in "
    f"{HEAVY!r} if m in _sys.modules), file=_sys.stderr))\n"
)

# As the console script does: main_exit() reads sys.argv and leaves by os._exit.
_CLI = _REPORT_LOADED + "from bayesglm.cli import main_exit\nmain_exit()\n"

_FIT_WITHOUT_SAMPLER = """
import sys, warnings
import numpy as np
import pandas as pd
import bayesglm as bg
from bayesglm.laplace import laplace_approx
from bayesglm.results import GLMResult, warn_if_unhealthy

model = bg.GLM("y ~ x1 + x2", data=pd.read_csv(sys.argv[1]), family="poisson")
priors, mle = model.resolve_priors(), model._mle[0]
laplace = laplace_approx(model.design, model.spec, priors, mle)
chains, draws, p = 4, 1000, model.design.p
z = np.random.default_rng(1).standard_normal((chains, draws, laplace.mode.size))
theta = laplace.mode + z @ laplace.chol.T
fit = GLMResult(
    beta_draws=theta[..., :p], natural_draws=None,
    sample_stats={"diverging": np.zeros((chains, draws), bool)},
    design=model.design, spec=model.spec, priors=priors, mle=mle, laplace=laplace,
    sampler="laplace", seed=1, timings={}, draws_per_chain=draws, tune=1000, chains=chains,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    warn_if_unhealthy(fit)
fit.summary()
"""


def _steps(csv: Path) -> dict[str, list[str]]:
    py = sys.executable
    model = ["--formula", "y ~ x1 + x2", "--family", "poisson"]
    return {
        "python -c pass": [py, "-c", "pass"],
        "import bayesglm": [py, "-c", _REPORT_LOADED + "import bayesglm"],
        "bayesglm --help": [py, "-c", _CLI, "--help"],
        "bayesglm families": [py, "-c", _CLI, "families"],
        "bayesglm mle small.csv": [py, "-c", _CLI, "mle", str(csv), *model],
        "fit without the sampler": [py, "-c", _REPORT_LOADED + _FIT_WITHOUT_SAMPLER, str(csv)],
        "bayesglm fit small.csv (program stored)": [
            py,
            "-c",
            _CLI,
            "fit",
            str(csv),
            *model,
            "--quiet",
        ],
    }


STORED_FIRST = ("bayesglm fit small.csv (program stored)",)
"""Steps run once untimed before they are timed: their first run stores the program."""


def _time(command: list[str], runs: int, cache: Path, *, untimed_first: bool) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    env["BAYESGLM_CACHE_DIR"] = str(cache)
    if untimed_first:
        subprocess.run(command, env=env, capture_output=True, cwd=ROOT, check=True)
    seconds, loaded = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
        seconds.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"{command[:3]} failed:\n{done.stderr}")
        lines = [line for line in done.stderr.splitlines() if line.startswith("LOADED")]
        loaded = lines[-1].removeprefix("LOADED").strip() if lines else ""
    return statistics.median(seconds), loaded


def _small_csv(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(2, 200))
    y = rng.poisson(np.exp(0.3 + 0.4 * x1 - 0.2 * x2))
    path = folder / "small.csv"
    rows = "\n".join(f"{a:.6f},{b:.6f},{c}" for a, b, c in zip(x1, x2, y, strict=True))
    path.write_text("x1,x2,y\n" + rows + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        steps = _steps(_small_csv(Path(folder)))
        rows = []
        for name, command in steps.items():
            median, loaded = _time(
                command, args.runs, Path(folder) / "cache", untimed_first=name in STORED_FIRST
            )
            rows.append(f"| {name} | {median:.3f} | {loaded or '-'} |")
            print(rows[-1], flush=True)
    lines = [
        "# Start-up cost (benchmarks/bench_startup.py)",
        "",
        f"{datetime.date.today()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"1-minute load average {load_before:.2f} before and {os.getloadavg()[0]:.2f} after; "
        f"median of {args.runs} fresh processes.",
        "",
        "| step | seconds | heavy packages loaded |",
        "|---|---|---|",
        *rows,
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
