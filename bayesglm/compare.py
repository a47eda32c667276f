"""Out-of-sample fit by PSIS-LOO (ArviZ) and model comparison.

The pointwise log-likelihood is computed on demand from the draws (never stored in
the fit), weighted as in the fit, and handed to ArviZ.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .errors import BayesGLMError, SamplingWarning
from .thresholds import PARETO_K_LIMIT

__all__ = ["compare", "log_likelihood_tree", "loo"]


def log_likelihood_tree(result: Any) -> xr.DataTree:
    """Posterior plus a ``log_likelihood`` group (``y`` over chain, draw, obs)."""
    values = np.concatenate([chunk for _, chunk in result.log_likelihood()], axis=1)
    chains, draws = result.chains, result.draws_per_chain
    log_lik = xr.Dataset({"y": (("chain", "draw", "obs"), values.reshape(chains, draws, -1))})
    return xr.DataTree.from_dict({"posterior": result.posterior, "log_likelihood": log_lik})


def loo(result: Any) -> Any:
    """PSIS-LOO of a fit; warns (SamplingWarning) when Pareto k exceeds 0.7."""
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # we word the Pareto-k warning ourselves
        elpd = az.loo(log_likelihood_tree(result), pointwise=True)
    bad = int(np.sum(np.asarray(elpd.pareto_k) > PARETO_K_LIMIT))
    if bad:
        warnings.warn(
            f"PSIS-LOO: {bad} observation(s) have Pareto k > {PARETO_K_LIMIT}, so their "
            "leave-one-out estimates are unreliable (influential points); consider "
            "K-fold cross-validation or a more robust family.",
            SamplingWarning,
            stacklevel=3,
        )
    return elpd


def compare(fits: Mapping[str, Any]) -> pd.DataFrame:
    """Rank fits by expected log predictive density (PSIS-LOO, stacking weights).

    Parameters
    ----------
    fits : dict of str to GLMResult
        Fits of the same response (same rows).

    Returns
    -------
    DataFrame
        ArviZ's comparison (``elpd``, ``p``, ``elpd_diff``, ``dse``, ``weight``, …)
        with a ``pareto_k_bad`` column counting observations with k > 0.7.
    """
    import arviz as az

    if len(fits) < 2:
        raise BayesGLMError(
            f"compare needs at least two fits in a dict; got ({len(fits)} fit(s))."
        )
    sizes = {name: fit.design.n for name, fit in fits.items()}
    if len(set(sizes.values())) != 1:
        raise BayesGLMError(
            f"the fits must describe the same observations; got (rows per fit={sizes!r})."
        )
    elpds = {name: loo(fit) for name, fit in fits.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = az.compare(elpds)
    table["pareto_k_bad"] = [
        int(np.sum(np.asarray(elpds[name].pareto_k) > PARETO_K_LIMIT)) for name in table.index
    ]
    return table


def plot_compare(table: pd.DataFrame):
    """ELPD with its standard error per model, best first (matplotlib Figure)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 0.6 * len(table) + 1.2))
    y = np.arange(len(table))[::-1]
    ax.errorbar(table["elpd"], y, xerr=table["se"], fmt="o", color="#1f5f8b", capsize=3)
    ax.set_yticks(y, list(table.index))
    ax.set_xlabel("ELPD (PSIS-LOO), higher is better")
    ax.set_title("Model comparison")
    fig.tight_layout()
    return fig
