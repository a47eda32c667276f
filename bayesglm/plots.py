"""Figures of a Bayesian GLM fit (matplotlib; each function returns a Figure).

- :func:`forest`: posterior intervals per coefficient (or exp(beta) effect) with the
  MLE and its Wald interval overlaid;
- :func:`ppc`: a posterior predictive check suited to the family: a rootogram for
  counts, binned calibration for binary outcomes, a density overlay otherwise;
- :func:`trace`: trace and rank plots per parameter;
- :func:`components`: the fitted GLM's parts: linear predictor, mean through the
  inverse link, variance function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from scipy import stats

from .predict import percent

if TYPE_CHECKING:
    from .results import GLMResult

__all__ = ["components", "forest", "ppc", "trace"]

POSTERIOR, MLE_COLOR, DATA = "#1f5f8b", "#c0392b", "#333333"


def forest(result: GLMResult, effects: bool = False, prob: float = 0.95) -> Figure:
    """Posterior mean and ``prob`` interval per coefficient, MLE ± Wald interval beside."""
    if effects:
        table = result.effects(prob)
        label = table.attrs["effect"]
        names = list(table.index)
        center, low, high = table["median"], table["eti_lower"], table["eti_upper"]
        mle = result.mle.conf_int(prob).loc[names]
        estimate = result.mle.params[names]
        transform = np.exp if label else (lambda v: v)
        m_est, m_low, m_high = (
            transform(estimate),
            transform(mle["conf_low"]),
            transform(mle["conf_high"]),
        )
        reference = 1.0 if label else 0.0
        xlabel = label or "coefficient"
    else:
        table = result.summary(prob).loc[result.names]
        names = result.names
        center, low, high = table["mean"], table["eti_lower"], table["eti_upper"]
        ci = result.mle.conf_int(prob)
        m_est, m_low, m_high = result.mle.params, ci["conf_low"], ci["conf_high"]
        reference, xlabel, label = 0.0, "coefficient", None
    fig, ax = plt.subplots(figsize=(7, 0.55 * len(names) + 1.4))
    y = np.arange(len(names))[::-1]
    ax.hlines(y + 0.12, low, high, color=POSTERIOR, lw=2.5, label=f"posterior {percent(prob)}")
    ax.plot(center, y + 0.12, "o", color=POSTERIOR)
    ax.hlines(y - 0.12, m_low, m_high, color=MLE_COLOR, lw=1.5, label=f"MLE {percent(prob)} Wald")
    ax.plot(m_est, y - 0.12, "s", color=MLE_COLOR, ms=5)
    ax.axvline(reference, color="grey", lw=0.8, ls="--")
    if label:
        ax.set_xscale("log")
    ax.set_yticks(y, names)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.set_xlabel(xlabel)
    ax.set_title("Effects: exp(coefficient)" if effects and label else "Coefficients")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def ppc(result: GLMResult, n_draws: int = 200, seed: int = 0) -> Figure:
    """Posterior predictive check chosen by the family's support."""
    family = result.spec.family
    rng = np.random.default_rng(seed)
    replicated = result.posterior_predictive(rng=rng)
    pick = rng.choice(replicated.shape[0], size=min(n_draws, replicated.shape[0]), replace=False)
    replicated = replicated[pick]
    y = result.design.y
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if family.is_probability:
        _calibration(ax, result, y, replicated)
    elif family.support.integer:
        _rootogram(ax, y, replicated)
    else:
        # Rows of weight 0 (gaussian precision weights) have no replicated response.
        drawn = np.isfinite(replicated).all(axis=0)
        _density(ax, y[drawn], replicated[:, drawn])
    fig.tight_layout()
    return fig


def _rootogram(ax, y: np.ndarray, replicated: np.ndarray) -> None:
    top = int(np.quantile(np.r_[y, replicated.ravel()], 0.995)) + 1
    bins = np.arange(top + 1)
    observed = np.bincount(np.minimum(y.astype(int), top), minlength=top + 1)[: top + 1]
    expected = np.array(
        [
            np.bincount(np.minimum(r.astype(int), top), minlength=top + 1)[: top + 1]
            for r in replicated
        ]
    )
    mean, low, high = expected.mean(0), *np.quantile(expected, [0.05, 0.95], axis=0)
    ax.bar(bins, np.sqrt(observed), color="#bbbbbb", label="observed", width=0.9)
    ax.plot(bins, np.sqrt(mean), "o-", color=POSTERIOR, label="posterior predictive")
    ax.fill_between(bins, np.sqrt(low), np.sqrt(high), color=POSTERIOR, alpha=0.2)
    ax.set_xlabel("count")
    ax.set_ylabel("sqrt(frequency)")
    ax.set_title("Rootogram: observed vs predicted count frequencies")
    ax.legend(fontsize="small")


def _calibration(ax, result: GLMResult, y: np.ndarray, replicated: np.ndarray) -> None:
    trials = result.design.trial_counts
    fitted = result.predict(scale="mean")["estimate"].to_numpy()
    edges = np.unique(np.quantile(fitted, np.linspace(0, 1, 11)))
    group = np.clip(np.searchsorted(edges, fitted, side="right") - 1, 0, len(edges) - 2)
    rows = [g for g in range(len(edges) - 1) if (group == g).any()]
    predicted = [np.average(fitted[group == g], weights=trials[group == g]) for g in rows]
    observed = [y[group == g].sum() / trials[group == g].sum() for g in rows]
    bands = np.array(
        [[r[group == g].sum() / trials[group == g].sum() for g in rows] for r in replicated]
    )
    low, high = np.quantile(bands, [0.05, 0.95], axis=0)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.vlines(
        predicted, low, high, color=POSTERIOR, lw=3, alpha=0.4, label="90% posterior predictive"
    )
    ax.plot(predicted, observed, "o", color=DATA, label="observed proportion")
    ax.set_xlabel("predicted probability (bin mean)")
    ax.set_ylabel("observed proportion")
    ax.set_title("Binned calibration")
    ax.legend(fontsize="small")


def _density(ax, y: np.ndarray, replicated: np.ndarray) -> None:
    grid = np.linspace(*np.quantile(np.r_[y, replicated.ravel()], [0.005, 0.995]), 200)
    for r in replicated[:50]:
        ax.plot(grid, stats.gaussian_kde(r)(grid), color=POSTERIOR, alpha=0.08, lw=1)
    ax.plot(grid, stats.gaussian_kde(y)(grid), color=DATA, lw=2, label="observed")
    ax.plot([], [], color=POSTERIOR, label="replicated")
    ax.set_xlabel("response")
    ax.set_ylabel("density")
    ax.set_title("Density overlay: observed vs posterior predictive")
    ax.legend(fontsize="small")


def trace(result: GLMResult) -> Figure:
    """Trace (left) and rank histograms per chain (right) for each parameter."""
    draws = result.draws()
    names = [c for c in draws.columns if c not in ("chain", "draw")]
    fig, axes = plt.subplots(len(names), 2, figsize=(9, 1.7 * len(names) + 0.6), squeeze=False)
    ranks = stats.rankdata(draws[names].to_numpy(), axis=0)
    bins = np.linspace(0, len(draws), 21)
    for row, name in enumerate(names):
        for _, part in draws.groupby("chain"):
            axes[row, 0].plot(part["draw"], part[name], lw=0.5, alpha=0.7)
            axes[row, 1].hist(ranks[part.index, row], bins=bins, histtype="step")
        axes[row, 0].set_ylabel(name, fontsize="small")
    axes[0, 0].set_title("trace")
    axes[0, 1].set_title("rank histogram per chain (flat is good)")
    fig.tight_layout()
    return fig


def components(result: GLMResult) -> Figure:
    """The GLM's parts at the posterior mean: eta, mu = g^-1(eta) with the data, V(mu)."""
    # The MLE's family carries everything the variance needs (the NB's theta).
    family, link = result.mle.family, result.spec.link
    eta = result.predict(scale="link")["estimate"].to_numpy()
    trials = result.design.trial_counts
    y = result.design.y_mean
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    axes[0].hist(eta, bins=30, color=POSTERIOR, alpha=0.8)
    axes[0].set_title("linear predictor η = Xβ + offset")
    axes[0].set_xlabel("η")
    grid = np.linspace(eta.min(), eta.max(), 200)
    axes[1].plot(eta, y, ".", color=DATA, alpha=0.4, ms=3, label="data")
    axes[1].plot(grid, link.inverse(grid), color=POSTERIOR, lw=2, label=f"{link.name}⁻¹(η)")
    axes[1].set_title(f"mean through the inverse {link.name} link")
    axes[1].set_xlabel("η")
    axes[1].legend(fontsize="small")
    mu = link.inverse(eta)
    mu_grid = np.linspace(mu.min(), mu.max(), 200)
    phi = result.mle.dispersion
    axes[2].plot(
        mu, (y - mu) ** 2 * trials / phi, ".", color=DATA, alpha=0.4, ms=3, label="(y - μ)² / φ"
    )
    axes[2].plot(mu_grid, family.variance(mu_grid), color=POSTERIOR, lw=2, label="V(μ)")
    axes[2].set_yscale("symlog")
    axes[2].set_title(f"variance function of the {family.name}")
    axes[2].set_xlabel("μ")
    axes[2].legend(fontsize="small")
    fig.tight_layout()
    return fig
