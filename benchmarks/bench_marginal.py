"""Benchmark of marginal effects on many fitted rows (issue #14).

Run from the repository root::

    .venv/bin/python benchmarks/bench_marginal.py               # 100,000 rows
    .venv/bin/python benchmarks/bench_marginal.py --rows 20000  # smoke run

A bernoulli(logit) formula model ``y ~ x + I(x**2) + z * C(g)`` (g with three
levels) on ``--rows`` simulated rows; 4 chains × 1000 draws from the Laplace
approximation to its posterior (the tables read draws however they were made). It
times ``avg_predictions(by="g")``, ``avg_comparisons()`` (four rows: two levels of g,
x and z by +1) and ``avg_slopes()`` on the posterior and on the MLE, and measures
working memory (tracemalloc peak, which sees numpy's buffers) of the posterior
``avg_slopes()`` against the size of one draws × n array of float64, which the
chunked computation never makes.

Then the case ``print(fit)`` meets: statsmodels' star98 (binomial, 303 rows, 20
predictors, 21 coefficients; 4 chains × 250 Laplace draws, as in
tests/test_presentation.py). It times ``avg_slopes()`` and ``avg_comparisons()`` on
the posterior and the MLE (the fastest of three calls), the same with every
predictor's matrices rebuilt by the formula (``linear_columns`` made to find
nothing: the path of a predictor in ``I(x**2)`` or ``x:z``), and ``print(fit)``.
Last, the marginal effects ``print(fit)`` computes at its size guard (draws × rows =
``report._PRINT_MARGINAL_LIMIT``) on the first model. The machine's load is written
beside the numbers: timings on a shared machine are indicative only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench_predict import busy_cores  # noqa: E402  (this folder is on the path)

import bayesglm as bg  # noqa: E402
from tests.laplace_fit import laplace_fit  # noqa: E402


def make_fit(n: int, chains: int, draws: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "g": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        }
    )
    eta = -0.3 + 0.8 * df.x - 0.5 * df.z + np.where(df.g == "b", 0.7, 0) + 0.3 * df.x**2
    df["y"] = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    model = bg.GLM("y ~ x + I(x**2) + z * C(g)", df, family="bernoulli")
    return laplace_fit(model, seed=seed, chains=chains, draws=draws)


def star98_fit():
    import statsmodels.api as sm  # a test-only data source

    data = sm.datasets.star98.load_pandas().data
    data["total"] = data["NABOVE"] + data["NBELOW"]
    predictors = [c for c in data.columns if c not in ("NABOVE", "NBELOW", "total")]
    formula = "NABOVE ~ " + " + ".join(predictors)
    model = bg.GLM(formula, data=data, family="binomial", trials="total")
    return laplace_fit(model, seed=1, chains=4, draws=250)


def fastest(fn, repeats: int = 3) -> tuple[float, float]:
    """The (wall, cpu) seconds of the fastest of ``repeats`` calls."""
    return min((timed(fn) for _ in range(repeats)), key=lambda t: t[0])


def star98_rows(fit) -> list[tuple[str, float, float]]:
    from unittest import mock

    from bayesglm import formula

    calls = [("avg_slopes()", lambda r: r.avg_slopes())]
    calls.append(("avg_comparisons()", lambda r: r.avg_comparisons()))
    rows = []
    for rebuilt in (False, True):
        patch = mock.patch.object(formula, "linear_columns", lambda state: {})
        with patch if rebuilt else contextlib.nullcontext():
            for name, call in calls:
                for label, result in (("posterior", fit), ("MLE", fit.mle)):
                    path = ", every predictor rebuilt" if rebuilt else ""
                    wall, cpu = fastest(lambda call=call, result=result: call(result))
                    rows.append((f"{label} {name}{path}", wall, cpu))
    rows.append(("print(fit)", *fastest(lambda: str(fit))))
    return rows


def guard_rows(draws: int) -> tuple[int, list[tuple[str, float, float]]]:
    """The marginal effects print(fit) computes, on the first model with as many rows
    as the size guard allows at ``draws`` draws."""
    from bayesglm.report import _PRINT_MARGINAL_LIMIT

    n = _PRINT_MARGINAL_LIMIT // draws
    fit = make_fit(n, chains=4, draws=draws // 4)
    calls = [
        ("posterior avg_comparisons()", fit.avg_comparisons),
        ("MLE avg_comparisons()", fit.mle.avg_comparisons),
        ("posterior avg_slopes()", fit.avg_slopes),
        ("MLE avg_slopes()", fit.mle.avg_slopes),
    ]
    return n, [(name, *timed(call)) for name, call in calls]


def timed(fn) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def peak_bytes(fn) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "marginal.md")
    args = parser.parse_args()

    fit = make_fit(args.rows, args.chains, args.draws)
    n_draws = args.chains * args.draws
    load_before = busy_cores()
    calls = [
        ("avg_predictions(by='g')", lambda r: r.avg_predictions(by="g")),
        ("avg_comparisons()", lambda r: r.avg_comparisons()),
        ("avg_slopes()", lambda r: r.avg_slopes()),
    ]
    rows = []
    for name, call in calls:
        for label, result in (("posterior", fit), ("MLE", fit.mle)):
            wall, cpu = timed(lambda call=call, result=result: call(result))
            rows.append((f"{label} {name}", wall, cpu))
    peak = peak_bytes(lambda: fit.avg_slopes())
    full = 8 * n_draws * args.rows
    star98 = star98_fit()
    star98_timed = star98_rows(star98)
    guard_n, guard = guard_rows(n_draws)
    load_after = busy_cores()

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    lines = [
        "# Marginal effects benchmark: averages over many fitted rows",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; git {commit}; "
        f"command: `python benchmarks/bench_marginal.py --rows {args.rows}`",
        f"- {args.rows:,} rows, p = {len(fit.names)}, {n_draws} draws; busy cores "
        f"(all processes) {load_before:.1f} before, {load_after:.1f} after",
        "",
        "| call | wall s | cpu s |",
        "|---|---|---|",
        *[f"| {name} | {wall:.2f} | {cpu:.2f} |" for name, wall, cpu in rows],
        "",
        f"Working memory of the posterior avg_slopes(): {peak / 2**20:.1f} MiB "
        f"(tracemalloc peak); one draws × n array would be {full / 2**20:.0f} MiB.",
        "",
        "## star98 (what print(fit) computes)",
        "",
        f"303 rows, p = {len(star98.names)}, 1000 draws; the fastest of three calls.",
        "",
        "| call | wall s | cpu s |",
        "|---|---|---|",
        *[f"| {name} | {wall:.3f} | {cpu:.3f} |" for name, wall, cpu in star98_timed],
        "",
        "## At print(fit)'s size guard",
        "",
        f"The first model on {guard_n:,} rows × {n_draws} draws (draws × rows = the guard).",
        "",
        "| call | wall s | cpu s |",
        "|---|---|---|",
        *[f"| {name} | {wall:.2f} | {cpu:.2f} |" for name, wall, cpu in guard],
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
