"""Simulation-based calibration of the categorical and cumulative posteriors.

As tests/test_sbc.py (Talts et al. 2018), for the families of categorical outcomes:
draw the parameters from the prior, simulate the outcome, fit it with the same prior,
and record the rank of each true parameter among 100 thinned posterior draws; each
rank is uniform on 0..100 when prior, likelihood and sampler are right.

Choices, fixed in advance:

* Design: 40 rows; the categorical has an intercept and one covariate in [0, 1]
  (K = 3 levels: 4 coefficients), the cumulative two covariates in [0, 1] and
  K = 4 levels (2 coefficients, 3 cutpoints).
* Priors: N(0, 1) on every coefficient (``center=False``: on the intercept itself);
  the cumulative's cutpoints get the default, the flat Dirichlet on the category
  probabilities at the predictors' means, so the test checks that prior, its
  Jacobian and the ordered transform together.
* Sampling: 2 chains x 400 draws after 300 tuning steps, thinned to every 8th, on
  the precompiled engine (the default sampler; one program serves every data set,
  where numpyro through PyMC compiled one per data set: 685 s against 18 s for the
  categorical case's 100-200 fits).
* Test: a chi-square test of each parameter's ranks in 10 bins, Bonferroni-adjusted
  within the combination (every p > 0.01 / parameters); fits with a divergence under
  5% of the replications.

Run with ``.venv/bin/python -m pytest -m slow tests/test_category_sbc.py``;
``python tests/test_category_sbc.py [reps] [sampler] [family-link ...]`` prints the
table.
"""

from __future__ import annotations

import sys
import time
import warnings
import zlib

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import bayesglm as bg
from bayesglm.links import LINKS

pytestmark = pytest.mark.slow

N_ROWS = 40
N_REPLICATIONS = 100
CASES = [("categorical", "logit"), ("cumulative", "logit"), ("cumulative", "probit")]
SAMPLER = "compiled"


def _simulate(family: str, link: str, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    x = rng.random((N_ROWS, 2))
    if family == "categorical":
        beta = rng.normal(size=(2, 2))  # levels 1, 2 x (intercept, x1)
        eta = np.c_[np.zeros(N_ROWS), np.c_[np.ones(N_ROWS), x[:, 0]] @ beta.T]
        cumulative = np.cumsum(special.softmax(eta, axis=1), axis=1)
        y = (rng.random(N_ROWS)[:, None] > cumulative).sum(axis=1)
        return pd.DataFrame({"y": y, "x1": x[:, 0]}), beta.ravel()
    beta = rng.normal(size=2)
    pi = rng.dirichlet(np.ones(4))
    F = LINKS[link]
    zeta = F.link(np.cumsum(pi)[:-1]) + x.mean(axis=0) @ beta
    upper = F.inverse(zeta[None, :] - (x @ beta)[:, None])
    y = (rng.random(N_ROWS)[:, None] > upper).sum(axis=1)
    return pd.DataFrame({"y": y, "x1": x[:, 0], "x2": x[:, 1]}), np.r_[beta, zeta]


def run_category_sbc(
    family: str, link: str, replications: int = N_REPLICATIONS, sampler: str = SAMPLER
) -> dict:
    """Ranks (replications x parameters), divergent fits and skipped draws."""
    rng = np.random.default_rng(zlib.crc32(f"{family}-{link}".encode()))
    formula = "y ~ x1" if family == "categorical" else "y ~ x1 + x2"
    priors = {"coef": bg.Normal(0, 1)} | (
        {"Intercept": bg.Normal(0, 1)} if family == "categorical" else {}
    )
    ranks, divergent, skipped = [], 0, 0
    start = time.perf_counter()
    while len(ranks) < replications:
        frame, truth = _simulate(family, link, rng)
        if frame["y"].nunique() < (3 if family == "categorical" else 4):
            skipped += 1  # a level with no rows: the model has fewer levels
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = bg.GLM(formula, frame, family=family, link=link)
            fit = model.fit(
                priors=priors,
                draws=400,
                tune=300,
                chains=2,
                seed=int(rng.integers(2**31)),
                sampler=sampler,
                center=False,
                progressbar=False,
            )
        if sampler == "numpyro":
            # Each data set compiles its own JAX program; cached ones ran one
            # process out of LLVM section memory after about a hundred fits.
            import jax

            jax.clear_caches()
        draws = fit.theta_draws[:, 7::8, :].reshape(-1, len(truth))
        ranks.append((draws < truth).sum(axis=0))
        divergent += int(fit.diagnostics()["divergences"] > 0)
    return {
        "ranks": np.array(ranks),
        "labels": [":".join(i) if isinstance(i, tuple) else i for i in fit.mle.index],
        "divergent": divergent,
        "skipped": skipped,
        "seconds": time.perf_counter() - start,
        "draws": draws.shape[0],
    }


def p_values(result: dict) -> np.ndarray:
    bins = np.linspace(0, result["draws"] + 1, 11)
    counts = np.array([np.histogram(r, bins=bins)[0] for r in result["ranks"].T])
    return np.array([stats.chisquare(c).pvalue for c in counts])


@pytest.mark.parametrize(
    ("family", "link"), CASES, ids=[f"{family}-{link}" for family, link in CASES]
)
def test_category_sbc_ranks_are_uniform(family, link) -> None:
    result = run_category_sbc(family, link)
    p = p_values(result)
    assert np.all(p > 0.01 / len(p)), dict(zip(result["labels"], p, strict=True))
    assert result["divergent"] < 0.05 * N_REPLICATIONS


if __name__ == "__main__":
    # python tests/test_category_sbc.py [replications] [sampler] [family-link ...]
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else N_REPLICATIONS
    sampler = sys.argv[2] if len(sys.argv) > 2 else SAMPLER
    chosen = [c for c in CASES if len(sys.argv) <= 3 or "-".join(c) in sys.argv[3:]]
    print(f"sampler: {sampler}")
    print("| family | link | parameter | p (chi-square, 10 bins) | mean rank / L |")
    print("|---|---|---|---|---|")
    for family, link in chosen:
        result = run_category_sbc(family, link, reps, sampler)
        for label, p, r in zip(result["labels"], p_values(result), result["ranks"].T, strict=True):
            print(f"| {family} | {link} | {label} | {p:.4f} | {r.mean() / result['draws']:.3f} |")
        print(
            f"| {family} | {link} | ({reps} fits, {result['divergent']} with divergences, "
            f"{result['skipped']} draws skipped, {result['seconds']:.0f} s) | | |",
            flush=True,
        )
