"""Benchmark of the marginal effects of categorical and cumulative fits (issue #15).

Run from the repository root::

    .venv/bin/python benchmarks/bench_category_marginal.py               # 3,000 rows
    .venv/bin/python benchmarks/bench_category_marginal.py --rows 20000

A ``y ~ x + g`` model (x normal, g with three levels) for each family, K = 3
(categorical) and K = 4 (cumulative logit) levels, fitted by maximum likelihood;
``--draws`` draws from the normal approximation stand in for the posterior (the
tables read draws however they were made). It times ``avg_comparisons(by="g")``
(x by +1, g's two levels) and ``avg_slopes(by="g")`` by the delta method and draw
by draw. The draw-wise averages loop over the draws (each draw one pass over a block
of rows), so their time grows as draws x rows. The load average is written beside
the numbers: timings on a shared machine are indicative only.
"""

from __future__ import annotations

import argparse
import functools
import os
import time

import numpy as np
import pandas as pd
from scipy import special

import bayesglm as bg
from bayesglm.category_marginal import category_marginal


def frame(family: str, n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = rng.choice(["a", "b", "c"], size=n)
    shift = np.where(g == "b", 0.5, np.where(g == "c", -0.4, 0.0))
    if family == "cumulative":
        grade = np.digitize(0.8 * x + shift + rng.logistic(size=n), [-1.0, 0.2, 1.3])
        y = pd.Categorical.from_codes(grade, ["none", "mild", "severe", "fatal"], ordered=True)
    else:
        eta = np.c_[np.zeros(n), 0.3 + 0.7 * x + shift, -0.2 - 0.5 * x - shift]
        cumulative = np.cumsum(special.softmax(eta, axis=1), axis=1)
        y = np.array(["car", "bus", "bike"])[(rng.random(n)[:, None] > cumulative).sum(axis=1)]
    return pd.DataFrame({"y": y, "x": x, "g": g})


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--draws", type=int, default=4000)
    args = parser.parse_args()
    print(f"rows {args.rows}, draws {args.draws}, load average {os.getloadavg()[0]:.1f}")
    print("| family | table | delta method (s) | draw by draw (s) |")
    print("|---|---|---|---|")
    for family in ("categorical", "cumulative"):
        fit = bg.GLM("y ~ x + g", frame(family, args.rows), family=family).fit_mle()
        rng = np.random.default_rng(1)
        draws = rng.multivariate_normal(fit.params_array, fit.cov_array, args.draws)
        for kind, method in (("comparisons", fit.avg_comparisons), ("slopes", fit.avg_slopes)):
            mle = timed(functools.partial(method, by="g"))
            posterior = timed(functools.partial(category_marginal, fit, kind, by="g", draws=draws))
            print(f"| {family} | avg_{kind} | {mle:.2f} | {posterior:.1f} |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
