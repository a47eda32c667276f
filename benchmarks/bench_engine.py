"""The compiled engine on the nine small classic GLMs of issue #12, cold and warm.

Run from the repository root::

    .venv/bin/python benchmarks/bench_engine.py [--sampler compiled] [--out PATH]

Each case is fitted (4 chains x 1000 + 1000 draws) in a fresh Python process, first
with an empty cache folder (cold: the program is built and stored) and then again in
another fresh process with that folder (warm: the program and JAX's compiled
executable are read). Printed and written to benchmarks/results/engine.md: the time
of the ``fit()`` call alone, and the process's whole time from start to draws.
airquality, mtcars and warpbreaks are not bundled: they are written from R's
``datasets`` package with Rscript (the cases are skipped without it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "engine.md"

# name: (data source, formula, GLM keyword arguments); "R:<name>" reads R's datasets.
CASES = {
    "budworm (binomial logit)": (
        "budworm",
        "numdead ~ C(sex) * ldose",
        {"family": "binomial", "trials": "total"},
    ),
    "menarche (binomial logit)": (
        "menarche",
        "Menarche ~ Age",
        {"family": "binomial", "trials": "Total"},
    ),
    "birthwt (bernoulli logit)": (
        "birthwt",
        "low ~ age + lwt + C(race) + smoke + ptl + ht + ui",
        {"family": "bernoulli", "link": "logit"},
    ),
    "birthwt (bernoulli probit)": (
        "birthwt",
        "low ~ age + lwt + C(race) + smoke + ptl + ht + ui",
        {"family": "bernoulli", "link": "probit"},
    ),
    "airquality (gaussian)": (
        "R:airquality",
        "Ozone ~ Solar.R + Wind + Temp",
        {"family": "gaussian"},
    ),
    "clotting (gamma inverse)": (
        "clotting",
        "time ~ log(u) * C(lot)",
        {"family": "gamma"},
    ),
    "mtcars (gaussian)": ("R:mtcars", "mpg ~ wt + hp", {"family": "gaussian"}),
    "ships (poisson log, exposure)": (
        "ships",
        "incidents ~ C(type) + C(year) + C(period)",
        {"family": "poisson", "exposure": "service"},
    ),
    "warpbreaks (poisson log)": (
        "R:warpbreaks",
        "breaks ~ C(wool) * C(tension)",
        {"family": "poisson"},
    ),
}

# One fit in a fresh process; prints the fit() time and the process's time so far.
FIT = """
import time
start = time.perf_counter()
import json, sys, warnings
import pandas as pd
import bayesglm as bg
from bayesglm import datasets
source, formula, kwargs, sampler = json.loads(sys.argv[1])
if source.startswith("R:"):
    data = pd.read_csv(sys.argv[2]).dropna()
else:
    data = datasets.load(source)
if "exposure" in kwargs:
    data = data[data[kwargs["exposure"]] > 0]
model = bg.GLM(formula, data=data, **kwargs)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    fit = model.fit(seed=1, progressbar=False, sampler=sampler)
    fit_s = time.perf_counter() - t
print(json.dumps({"fit_s": fit_s, "process_s": time.perf_counter() - start,
                  "n": model.design.n, "p": model.design.p, "timings": fit.timings}))
"""


def _r_dataset(name: str, folder: Path) -> Path | None:
    path = folder / f"{name}.csv"
    if not path.exists():
        if shutil.which("Rscript") is None:
            return None
        script = f'write.csv({name}, "{path}", row.names = FALSE)'
        subprocess.run(["Rscript", "-e", script], check=True, capture_output=True)
        # R writes dotted names (Solar.R); formulas need identifiers.
        text = path.read_text().replace("Solar.R", "Solar_R")
        path.write_text(text)
    return path


def _run(case: tuple, sampler: str, cache: Path, data_path: Path | None) -> dict:
    source, formula, kwargs = case
    formula = formula.replace("Solar.R", "Solar_R")
    env = {**os.environ, "BAYESGLM_CACHE_DIR": str(cache)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    args = [json.dumps([source, formula, kwargs, sampler]), str(data_path or "")]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", FIT, *args], env=env, check=True, capture_output=True, text=True
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - start
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sampler", default="compiled")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        folder = Path(tmp)
        for name, case in CASES.items():
            source = case[0]
            data_path = None
            if source.startswith("R:"):
                data_path = _r_dataset(source[2:], folder)
                if data_path is None:
                    print(f"{name}: skipped (needs Rscript for R's {source[2:]})")
                    continue
            cache = folder / f"cache-{len(rows)}"
            cold = _run(case, args.sampler, cache, data_path)
            warm = _run(case, args.sampler, cache, data_path)
            rows.append((name, cold, warm))
            print(
                f"{name:32s} n={cold['n']:4d} p={cold['p']:2d}  fit() cold {cold['fit_s']:6.2f} s"
                f"  warm {warm['fit_s']:5.2f} s  (warm process {warm['process_s']:5.2f} s)",
                flush=True,
            )
    total_cold = sum(cold["fit_s"] for _, cold, _ in rows)
    total_warm = sum(warm["fit_s"] for _, _, warm in rows)
    print(f"{'total':32s} fit() cold {total_cold:6.2f} s  warm {total_warm:5.2f} s")
    lines = [
        "# The compiled engine on the small classic GLMs (issue #12)",
        "",
        f"`python benchmarks/bench_engine.py --sampler {args.sampler}`; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{time.strftime('%Y-%m-%d')}. 4 chains x (1000 + 1000), each fit in a fresh process;",
        "cold: empty cache folder; warm: a later process with the folder the cold one filled.",
        "",
        "| case | n | p | fit() cold (s) | fit() warm (s) | warm process, start to draws (s) |",
        "|---|---|---|---|---|---|",
    ]
    for name, cold, warm in rows:
        lines.append(
            f"| {name} | {cold['n']} | {cold['p']} | {cold['fit_s']:.2f} | {warm['fit_s']:.2f} "
            f"| {warm['process_s']:.2f} |"
        )
    lines.append(f"| total | | | {total_cold:.2f} | {total_warm:.2f} | |")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
