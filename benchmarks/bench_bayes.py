"""Benchmarks of the Bayesian fit (issues 3 and 4). Run by hand:

    .venv/bin/python benchmarks/bench_bayes.py            # everything below, ~10 min
    .venv/bin/python benchmarks/bench_bayes.py --case logistic_bayesglm

Every case runs in a fresh subprocess (cold start: imports are excluded, model
building, compilation and sampling are included), prints one JSON line, and the
driver writes benchmarks/results/bayes.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "bayes.md"


def logistic_data(n: int = 10_000, p: int = 10, seed: int = 0):
    """Correlated predictors (Toeplitz, rho = 0.5) and a logistic outcome."""
    rng = np.random.default_rng(seed)
    cov = 0.5 ** np.abs(np.subtract.outer(np.arange(p), np.arange(p)))
    x = rng.multivariate_normal(np.zeros(p), cov, size=n)
    beta = rng.normal(0, 0.5, p)
    y = rng.binomial(1, 1 / (1 + np.exp(-(x @ beta - 0.5))))
    return x, y


def _min_bulk_ess(posterior, var_names) -> float:
    import arviz as az
    import xarray as xr

    tree = xr.DataTree.from_dict({"posterior": posterior})
    ess = az.ess(tree, method="bulk", var_names=var_names)
    ess = ess.to_dataset() if hasattr(ess, "to_dataset") else ess
    return float(min(float(np.min(ess[v])) for v in ess.data_vars))


def case_logistic_bayesglm(sampler: str = "auto") -> dict:
    import bayesglm as bg

    x, y = logistic_data()
    X = np.column_stack([np.ones(len(y)), x])
    start = time.perf_counter()
    model = bg.GLM.from_arrays(X, y, family="bernoulli")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(
            draws=1000, tune=1000, chains=4, seed=1, sampler=sampler, progressbar=False
        )
    wall = time.perf_counter() - start
    ess = _min_bulk_ess(fit.posterior, ["beta"])
    return {
        "wall_s": wall,
        "min_ess_bulk": ess,
        "ess_per_s": ess / wall,
        "sampler": fit.sampler,
        "timings": fit.timings,
    }


def case_logistic_pymc_default() -> dict:
    """The same model and priors written by hand, sampled with pm.sample defaults."""
    import pymc as pm

    x, y = logistic_data()
    start = time.perf_counter()
    xbar, sx = x.mean(axis=0), x.std(axis=0)
    ybar = y.mean()
    with pm.Model():
        alpha_c = pm.Normal("alpha_c", np.log(ybar / (1 - ybar)), 2.5)
        beta = pm.Normal("beta", 0, 2.5 / sx, shape=x.shape[1])
        pm.Bernoulli("y", logit_p=alpha_c + pm.math.dot(x - xbar, beta), observed=y)
        idata = pm.sample(1000, tune=1000, chains=4, random_seed=1, progressbar=False)
    wall = time.perf_counter() - start
    ess = _min_bulk_ess(idata["posterior"].to_dataset(), ["alpha_c", "beta"])
    sampler = idata["posterior"].attrs.get("inference_library", "pymc")
    return {"wall_s": wall, "min_ess_bulk": ess, "ess_per_s": ess / wall, "sampler": sampler}


def case_logistic_bambi() -> dict:
    try:
        import bambi
        import pandas as pd
    except ImportError as error:
        return {"skipped": f"bambi not importable: {error}"}
    x, y = logistic_data()
    df = pd.DataFrame(x, columns=[f"x{j}" for j in range(x.shape[1])]).assign(y=y)
    start = time.perf_counter()
    model = bambi.Model("y ~ " + " + ".join(df.columns[:-1]), df, family="bernoulli")
    idata = model.fit(draws=1000, tune=1000, chains=4, random_seed=1, progressbar=False)
    wall = time.perf_counter() - start
    ess = _min_bulk_ess(
        idata["posterior"].to_dataset() if hasattr(idata, "children") else idata.posterior, None
    )
    return {"wall_s": wall, "min_ess_bulk": ess, "ess_per_s": ess / wall}


def case_gaussian_large() -> dict:
    import bayesglm as bg

    rng = np.random.default_rng(2)
    n, p = 100_000, 50
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    y = X @ rng.normal(0, 1, p) + rng.normal(0, 2.0, n)
    start = time.perf_counter()
    fit = bg.GLM.from_arrays(X, y, family="gaussian").fit(
        draws=1000, tune=1000, chains=4, seed=1, progressbar=False
    )
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "min_ess_bulk": _min_bulk_ess(fit.posterior, None),
        "timings": fit.timings,
        "sampler": fit.sampler,
    }


def case_gaussian_large_pymc_default() -> dict:
    import pymc as pm

    rng = np.random.default_rng(2)
    n, p = 100_000, 50
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    y = X @ rng.normal(0, 1, p) + rng.normal(0, 2.0, n)
    start = time.perf_counter()
    with pm.Model():
        beta = pm.Normal("beta", 0, 2.5 * y.std(), shape=p)
        sigma = pm.Exponential("sigma", 1 / y.std())
        pm.Normal("y", pm.math.dot(X, beta), sigma, observed=y)
        pm.sample(1000, tune=1000, chains=4, random_seed=1, progressbar=False)
    return {"wall_s": time.perf_counter() - start}


def case_poisson_memory() -> dict:
    import bayesglm as bg

    rng = np.random.default_rng(3)
    n, p = 100_000, 20
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    exposure = rng.uniform(0.5, 3.0, n)
    y = rng.poisson(exposure * np.exp(X @ rng.normal(0, 0.1, p)))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    fit = bg.GLM.from_arrays(X, y, family="poisson", offset=np.log(exposure)).fit(
        draws=1000, tune=1000, chains=4, seed=1, progressbar=False
    )
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "wall_s": wall,
        "peak_rss_mb": peak / 1024,
        "rss_before_fit_mb": before / 1024,
        "X_mb": X.nbytes / 2**20,
        "min_ess_bulk": _min_bulk_ess(fit.posterior, None),
    }


def case_small_datasets() -> dict:
    """Time to posterior on small classic datasets: the first fit and a repeat."""
    import bayesglm as bg
    from bayesglm import datasets

    out = {}
    menarche = datasets.load("menarche")
    dobson = datasets.load("dobson_trial")
    jobs = {
        "menarche (binomial, n=25)": lambda: bg.GLM(
            "Menarche ~ Age", data=menarche, family="binomial", trials="Total"
        ),
        "dobson trial (poisson, n=9)": lambda: bg.GLM(
            "counts ~ C(outcome) + C(treatment)", data=dobson, family="poisson"
        ),
    }
    for sampler in ("numpyro", "nutpie"):
        for name, make in jobs.items():
            times = []
            for _ in range(2):
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    make().fit(seed=1, progressbar=False, sampler=sampler)
                times.append(time.perf_counter() - start)
            out[f"{name}, {sampler}"] = {"first_s": times[0], "repeat_s": times[1]}
    return out


def case_predict_memory() -> dict:
    """Predictions for 1,000,000 new rows from 1000 draws, with their peak memory."""
    import bayesglm as bg

    rng = np.random.default_rng(4)
    X = np.column_stack([np.ones(2000), rng.normal(size=(2000, 4))])
    y = rng.poisson(np.exp(X @ np.array([0.3, 0.2, -0.1, 0.1, 0.05])))
    fit = bg.GLM.from_arrays(X, y, family="poisson").fit(
        seed=1, progressbar=False, draws=500, chains=2
    )
    new = np.column_stack([np.ones(1_000_000), rng.normal(size=(1_000_000, 4))])
    out = {
        "draws": 1000,
        "rows": 1_000_000,
        "new_X_mb": new.nbytes / 2**20,
        "dense_draws_x_rows_mb": 1000 * 1_000_000 * 8 / 2**20,
    }
    for scale in ("mean", "response"):
        tracemalloc.start()
        start = time.perf_counter()
        fit.predict(new, scale=scale)
        out[f"predict_{scale}_s"] = time.perf_counter() - start
        out[f"predict_{scale}_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out


CASES = {
    "logistic_bayesglm": case_logistic_bayesglm,
    "logistic_bayesglm_nutpie": lambda: case_logistic_bayesglm("nutpie"),
    "logistic_bayesglm_numpyro": lambda: case_logistic_bayesglm("numpyro"),
    "logistic_bayesglm_pymc": lambda: case_logistic_bayesglm("pymc"),
    "logistic_pymc_default": case_logistic_pymc_default,
    "logistic_bambi": case_logistic_bambi,
    "gaussian_large": case_gaussian_large,
    "gaussian_large_pymc_default": case_gaussian_large_pymc_default,
    "poisson_memory": case_poisson_memory,
    "small_datasets": case_small_datasets,
    "predict_memory": case_predict_memory,
}
DEFAULT = [name for name in CASES if name != "gaussian_large_pymc_default"]


def run_case(name: str, timeout: float) -> dict:
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--case", name],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return {"timeout_s": timeout}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        return {"error": done.stderr[-2000:]}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=list(CASES))
    parser.add_argument("--cases", nargs="*", default=DEFAULT)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(CASES[args.case]()))
        return
    results = {}
    for name in args.cases:
        print(f"running {name} ...", flush=True)
        results[name] = run_case(name, args.timeout)
        print(json.dumps(results[name]), flush=True)
    write_report(results)


def write_report(results: dict) -> None:
    import platform

    lines = [
        "# Bayesian fit benchmarks",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {platform.processor() or platform.machine()}, 2 cores; python "
        f"{platform.python_version()}",
        "- command: `.venv/bin/python benchmarks/bench_bayes.py`",
        "- each case in a fresh process; wall = build + compile + sample (imports excluded)",
        "",
        "| case | result |",
        "|---|---|",
    ]
    for name, result in results.items():
        lines.append(f"| {name} | `{json.dumps(result, default=str)}` |")
    base = results.get("logistic_pymc_default", {}).get("ess_per_s")
    ours = results.get("logistic_bayesglm", {}).get("ess_per_s")
    if base and ours:
        lines += ["", f"Logistic ESS/s ratio bayesglm / PyMC default: {ours / base:.2f}x"]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
