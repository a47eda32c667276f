"""rstanarm's ``stan_glm()`` against bayesglm's warm ``fit()`` on the nine classic GLMs.

Issue #12 asks that, with the compiled artifacts on disk, each case's ``fit()`` in a
fresh process take no longer than rstanarm's own ``stan_glm()`` call for that case
(4 chains x (1000 + 1000), rstanarm's defaults otherwise). Run from the repository
root, on a quiet machine, with R and rstanarm installed (Debian: ``r-cran-rstanarm``)::

    .venv/bin/python benchmarks/bench_rstanarm.py [--runs 3] [--out PATH]

Every case is written to a CSV file (bayesglm's bundled data, or R's ``datasets``)
so that both fit the same rows. For each case and run: ``stan_glm()`` in a fresh
``Rscript`` process (the call alone timed, rstanarm already loaded; "failed" where it
gives no draws), and bayesglm's
``fit()`` in a fresh Python process with the case's program stored by an untimed
first fit (``benchmarks/bench_engine.py``'s script). The medians go to
benchmarks/results/rstanarm.md. The project does not depend on R: this is a
benchmark run by hand.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_engine import CASES, _r_dataset, _run  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "rstanarm.md"

# The same model in R's terms: formula and family.
R_MODELS = {
    "budworm (binomial logit)": (
        "cbind(numdead, total - numdead) ~ factor(sex) * ldose",
        "binomial()",
    ),
    "menarche (binomial logit)": ("cbind(Menarche, Total - Menarche) ~ Age", "binomial()"),
    "birthwt (bernoulli logit)": (
        "low ~ age + lwt + factor(race) + smoke + ptl + ht + ui",
        'binomial(link = "logit")',
    ),
    "birthwt (bernoulli probit)": (
        "low ~ age + lwt + factor(race) + smoke + ptl + ht + ui",
        'binomial(link = "probit")',
    ),
    "airquality (gaussian)": ("Ozone ~ Solar_R + Wind + Temp", "gaussian()"),
    "clotting (gamma inverse)": ("time ~ log(u) * factor(lot)", "Gamma()"),
    "mtcars (gaussian)": ("mpg ~ wt + hp", "gaussian()"),
    "ships (poisson log, exposure)": (
        "incidents ~ factor(type) + factor(year) + factor(period) + offset(log(service))",
        "poisson()",
    ),
    "warpbreaks (poisson log)": ("breaks ~ factor(wool) * factor(tension)", "poisson()"),
}

R_SCRIPT = """
suppressPackageStartupMessages(library(rstanarm))
args <- commandArgs(trailingOnly = TRUE)
data <- na.omit(read.csv(args[1]))
if ("service" %in% names(data)) data <- data[data$service > 0, ]
elapsed <- system.time(
  fit <- tryCatch(
    stan_glm(as.formula(args[2]), family = eval(parse(text = args[3])), data = data,
             chains = 4, iter = 2000, seed = 1, refresh = 0),
    error = function(e) NULL)
)[["elapsed"]]
# A failed run (no draws) says so: its time is not a fit's.
if (!inherits(fit, "stanreg")) elapsed <- NA
cat(if (is.na(elapsed)) "nan" else sprintf("%.4f", elapsed), nrow(data), "\\n")
"""


def _csv(source: str, folder: Path) -> Path:
    """The case's rows as a CSV file both programs read."""
    if source.startswith("R:"):
        path = _r_dataset(source[2:], folder)
        if path is None:
            raise SystemExit("needs Rscript")
        return path
    from bayesglm import datasets

    path = folder / f"{source}.csv"
    datasets.load(source).to_csv(path, index=False)
    return path


def _seconds(value: float) -> str:
    return "failed" if math.isnan(value) else f"{value:.2f}"


def _stan_glm(csv: Path, formula: str, family: str, script: Path) -> tuple[float, int]:
    done = subprocess.run(
        ["Rscript", str(script), str(csv), formula, family],
        check=True,
        capture_output=True,
        text=True,
    )
    elapsed, rows = done.stdout.split()[-2:]
    return float(elapsed), int(rows)  # nan when stan_glm() failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-rstanarm-") as tmp:
        folder = Path(tmp)
        script = folder / "stan_glm.R"
        script.write_text(R_SCRIPT)
        for name, case in CASES.items():
            csv = _csv(case[0], folder)
            formula, family = R_MODELS[name]
            cache = folder / f"cache-{len(rows)}"
            data_path = csv if case[0].startswith("R:") else None
            _run(case, "compiled", cache, data_path)  # stores the program: untimed
            stan, ours, n = [], [], 0
            for _ in range(args.runs):
                elapsed, n = _stan_glm(csv, formula, family, script)
                stan.append(elapsed)
                ours.append(_run(case, "compiled", cache, data_path)["fit_s"])
            failed = any(math.isnan(value) for value in stan)
            stan_s = math.nan if failed else statistics.median(stan)
            rows.append((name, n, stan_s, statistics.median(ours)))
            print(
                f"{name:32s} n={n:4d}  stan_glm() {_seconds(stan_s)}  "
                f"bayesglm fit() {rows[-1][3]:5.2f} s",
                flush=True,
            )
    lines = [
        "# rstanarm's stan_glm() against bayesglm's warm fit() (issue #12)",
        "",
        f"`python benchmarks/bench_rstanarm.py --runs {args.runs}`; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Median of {args.runs} "
        "fresh processes per case and program; 4 chains x (1000 + 1000); bayesglm's "
        "program stored by an earlier (untimed) fit.",
        "",
        "| case | n | stan_glm() (s) | bayesglm fit() (s) | bayesglm / rstanarm |",
        "|---|---|---|---|---|",
    ]
    for name, n, stan, ours in rows:
        ratio = "-" if math.isnan(stan) else f"{ours / stan:.2f}"
        lines.append(f"| {name} | {n} | {_seconds(stan)} | {ours:.2f} | {ratio} |")
    fitted = [row for row in rows if not math.isnan(row[2])]
    total_stan = sum(row[2] for row in fitted)
    total_ours = sum(row[3] for row in fitted)
    lines.append(
        f"| total of the cases rstanarm fitted | | {total_stan:.2f} | {total_ours:.2f} "
        f"| {total_ours / total_stan:.2f} |"
    )
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(json.dumps({"stan_glm": total_stan, "bayesglm": total_ours}))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
