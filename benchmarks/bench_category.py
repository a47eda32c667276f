"""Benchmark of the categorical and cumulative families: Newton-Raphson and NUTS.

Run from the repository root::

    .venv/bin/python benchmarks/bench_category.py            # n = 1e5 for the MLE
    .venv/bin/python benchmarks/bench_category.py --quick    # n = 1e4, no posterior

Measures, on simulated data (intercept plus p - 1 standard-normal predictors, K
levels), the wall time and Newton iterations of ``bg.fit_mle`` for the categorical
and the cumulative (logit, probit) families, against statsmodels' ``MNLogit``
(Newton) and ``OrderedModel`` (BFGS) on the same rows, with the largest gap between
the estimates in standard errors; then the wall time of one posterior fit (1000
tuning + 1000 draws, 4 chains) per sampler on n = 2000. Results go to stdout and to
``benchmarks/results/category.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import special

import bayesglm as bg

RESULTS = Path(__file__).resolve().parent / "results" / "category.md"


def simulate(family: str, n: int, p: int, K: int, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    X = np.c_[np.ones(n), rng.normal(size=(n, p - 1))]
    if family == "cumulative":
        beta = rng.normal(scale=0.3, size=p - 1)
        latent = X[:, 1:] @ beta + rng.logistic(size=n)
        y = np.digitize(latent, np.linspace(-1.5, 1.5, K - 1))
    else:
        B = rng.normal(scale=0.3, size=(K - 1, p))
        eta = np.c_[np.zeros(n), X @ B.T]
        cumulative = np.cumsum(special.softmax(eta, axis=1), axis=1)
        y = (rng.random(n)[:, None] > cumulative).sum(axis=1)
    return X, y


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def mle_rows(n: int, p: int, K: int) -> list[str]:
    import statsmodels.api as sm
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    rows = []
    for family, link in (
        ("categorical", "logit"),
        ("cumulative", "logit"),
        ("cumulative", "probit"),
    ):
        X, y = simulate(family, n, p, K)
        fit, ours = timed(bg.fit_mle, X, y, family=family, link=link)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if family == "categorical":
                ref, theirs = timed(sm.MNLogit(y, X).fit, method="newton", disp=False, tol=1e-10)
                other = np.asarray(ref.params).T.ravel()
            else:
                model = OrderedModel(y, X[:, 1:], distr=link)
                ref, theirs = timed(model.fit, method="bfgs", disp=False, maxiter=5000, gtol=1e-10)
                q = p - 1
                other = np.r_[
                    ref.params[:q], np.cumsum(np.r_[ref.params[q], np.exp(ref.params[q + 1 :])])
                ]
        gap = float(np.max(np.abs(fit.params_array - other) / fit.bse.to_numpy()))
        rows.append(
            f"| {family}({link}) | {n} | {p} | {K} | {ours:.2f} s ({fit.n_iter} it.) | "
            f"{theirs:.2f} s | {gap:.1e} |"
        )
        print(rows[-1], flush=True)
    return rows


def posterior_rows(n: int) -> list[str]:
    rows = []
    for family in ("categorical", "cumulative"):
        X, y = simulate(family, n, 4, 4, seed=1)
        model = bg.GLM.from_arrays(X, y, family=family, names=["Intercept", "x1", "x2", "x3"])
        for sampler in ("numpyro", "nutpie", "pymc"):
            fit, seconds = timed(
                model.fit,
                draws=1000,
                tune=1000,
                chains=4,
                seed=1,
                sampler=sampler,
                progressbar=False,
            )
            d = fit.diagnostics()
            rows.append(
                f"| {family} | {n} | {sampler} | {seconds:.1f} s | {d['min_ess_bulk']:.0f} | "
                f"{d['max_r_hat']:.3f} | {d['divergences']:g} |"
            )
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 10_000 if args.quick else 100_000
    lines = [
        "# Categorical and cumulative families",
        "",
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the start.",
        "",
        "## Maximum likelihood (one fit each)",
        "",
        "| model | n | p | K | bayesglm | statsmodels | max gap / SE |",
        "|---|---|---|---|---|---|---|",
        *mle_rows(n, 10, 4),
    ]
    if not args.quick:
        lines += [
            "",
            "## Posterior (1000 + 1000 draws, 4 chains, first fit in the process: compiles)",
            "",
            "| family | n | sampler | wall | min bulk ESS | max R-hat | divergences |",
            "|---|---|---|---|---|---|---|",
            *posterior_rows(2000),
        ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
