"""A Bayesian fit in milliseconds: draws from the model's Laplace approximation.

For tests (and benchmarks) of what is computed from draws — predictions, tables,
checks, files — where running a sampler would only cost time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

import bayesglm as bg
from bayesglm.laplace import laplace_approx
from bayesglm.results import GLMResult


def laplace_fit(
    model: bg.GLM,
    *,
    seed: int,
    chains: int = 1,
    draws: int = 200,
    sample_stats: Mapping[str, np.ndarray] | None = None,
    priors: Mapping[str, Any] | None = None,
) -> GLMResult:
    """A fit of ``model`` with ``priors`` (the defaults when None) whose draws come
    from the Laplace approximation at the posterior mode, under the sampler name
    "laplace"; its ``sample_stats`` are given, or no divergences."""
    design, spec = model.design, model.spec
    priors, mle = model.resolve_priors(priors), model.fit_mle()
    laplace = laplace_approx(design, spec, priors, mle)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((chains, draws, laplace.mode.size))
    theta = laplace.mode + z @ laplace.chol.T
    sampled = priors.sampled_natural_name is not None
    if sample_stats is None:
        sample_stats = {"diverging": np.zeros((chains, draws), bool)}
    return GLMResult(
        beta_draws=theta[..., : design.p],
        natural_draws=np.exp(theta[..., design.p]) if sampled else None,
        sample_stats=dict(sample_stats),
        design=design,
        spec=spec,
        priors=priors,
        mle=mle,
        laplace=laplace,
        sampler="laplace",
        seed=seed,
        timings={},
        draws_per_chain=draws,
        tune=0,
        chains=chains,
    )
