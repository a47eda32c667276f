r"""Bayesian R² (Gelman et al. 2019) and LOO-R², computed by ArviZ from row chunks.

Both are on the mean scale (successes / trials for the binomial), over the rows that
carry weight, each row counted once.

**Bayesian R²**, per draw :math:`s`,

.. math::
    R^2_s = \frac{V_s}{V_s + \bar\sigma^2_s}, \qquad
    V_s = \operatorname{var}_i \mu_{is}, \qquad
    \bar\sigma^2_s = \frac{1}{n} \sum_i \frac{\phi_s V(\mu_{is})}{m_i\, w_i},

the variance of the predicted means over the rows against the model's residual
variance, the mean over the rows of the family's Var(Y) at each draw
(:meth:`bayesglm.families.Family.response_variance`, e.g. :math:`\sigma^2` for the
gaussian, :math:`\mu(1-\mu)` for the bernoulli, :math:`\mu + \mu^2/\alpha` for the
negative binomial), with :math:`m_i` the binomial's trials and :math:`w_i` the
gaussian's precision weights (1 otherwise). This is Gelman et al.'s definition for
GLMs; ArviZ's ``bayesian_r2`` computes :math:`V_s / (V_s + \text{scale})` with
``var(mu, ddof=1)`` over the rows. :math:`V_s` and :math:`\bar\sigma^2_s` are
accumulated over row chunks; ArviZ then reads, per draw, two "rows" with the same
variance :math:`V_s` (:math:`m_s \pm \sqrt{V_s/2}`) in place of the draws × n means.

**LOO-R²** (ArviZ's ``loo_r2``): :math:`1 - \operatorname{var}(y - \hat y^{loo}) /
\operatorname{var}(y)` with Bayesian-bootstrap (Dirichlet) weights, where
:math:`\hat y^{loo}_i` is the PSIS leave-one-out mean of :math:`\mu_i`
(``loo_expectations``), computed one row chunk at a time.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import SamplingWarning
from .predict import check_prob, percent
from .thresholds import PARETO_K_LIMIT

if TYPE_CHECKING:
    from .results import GLMResult

__all__ = ["bayesian_r2_draws", "loo_r2_draws", "r2_table"]

_NUMBERS_PER_CHUNK = 500_000  # draws x rows held at once


def _chunk_rows(result: GLMResult, chunk: int | None) -> int:
    return chunk or max(1, _NUMBERS_PER_CHUNK // (result.chains * result.draws_per_chain))


def _row_chunks(result: GLMResult, chunk: int | None):
    """(rows, means (draws x rows), Var(Y) per row and draw) over the active rows."""
    design, family = result.design, result.spec.family
    natural = result._natural()
    rows_at_once = _chunk_rows(result, chunk)
    for lo, mu in result._iter_means(rows_at_once):
        rows = np.arange(lo, lo + mu.shape[1])
        keep = design.active[rows]
        rows, mu = rows[keep], mu[:, keep]
        scale = design.trial_counts[rows]
        if family.weights_are_precision:
            scale = scale * design.prior_weights[rows]
        yield rows, mu, family.response_variance(mu, natural) / scale


def bayesian_r2_draws(result: GLMResult, chunk: int | None = None) -> np.ndarray:
    """Bayesian R² per draw, shape (chain * draw,); see the module's note."""
    from arviz_stats.base import array_stats

    draws = result.chains * result.draws_per_chain
    count, mean, m2, residual = 0, np.zeros(draws), np.zeros(draws), np.zeros(draws)
    for _, mu, variance in _row_chunks(result, chunk):
        k = mu.shape[1]
        if k == 0:
            continue
        # Chan et al.'s pairwise update of the mean and the sum of squared deviations.
        chunk_mean = mu.mean(axis=1)
        chunk_m2 = ((mu - chunk_mean[:, None]) ** 2).sum(axis=1)
        delta = chunk_mean - mean
        total = count + k
        mean = mean + delta * k / total
        m2 = m2 + chunk_m2 + delta**2 * count * k / total
        residual += variance.sum(axis=1)
        count = total
    var_mu = m2 / (count - 1)
    half = np.sqrt(var_mu / 2)
    same_variance = np.column_stack([mean - half, mean + half])
    return array_stats.bayesian_r2(same_variance, residual / count, scale_kind="var")


def loo_r2_draws(
    result: GLMResult, chunk: int | None = None, n_simulations: int = 4000
) -> np.ndarray:
    """LOO-R² by ArviZ's Bayesian bootstrap, shape (n_simulations,).

    The leave-one-out means are ArviZ's PSIS-weighted expectations of the means
    (what its ``loo_expectations`` computes, without the per-row Pareto k of the
    function, which costs most of the time), one row chunk at a time, at ArviZ's
    relative efficiency of the posterior draws; ArviZ's bootstrap then holds
    ``n_simulations`` x n weights. Warns (:class:`~bayesglm.errors.SamplingWarning`)
    when rows' Pareto k of the importance weights exceed the limit.
    """
    import xarray as xr
    from arviz_stats.base import array_stats

    shape = (result.chains, result.draws_per_chain)
    dims = ("chain", "draw", "obs")
    design, family = result.design, result.spec.family
    natural = result._natural()
    r_eff = _relative_efficiency(result)
    loo_means, rows_kept, k_hat = [], [], []
    for rows, mu, _ in _row_chunks(result, chunk):
        if rows.size == 0:
            continue
        log_lik = family.loglike_obs(
            design.y[rows],
            mu,
            natural,
            trials=design.trial_counts[rows],
            weights=design.prior_weights[rows],
        )
        means = xr.DataArray(mu.reshape(*shape, -1), dims=dims)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # we word the Pareto-k warning once, below
            expectation, khat = means.azstats.loo_expectation(
                log_ratios=xr.DataArray(-log_lik.reshape(*shape, -1), dims=dims),
                kind="mean",
                r_eff=r_eff,
                sample_dims=["chain", "draw"],
            )
        loo_means.append(np.asarray(expectation))
        k_hat.append(np.asarray(khat))
        rows_kept.append(rows)
    bad = int(np.sum(np.concatenate(k_hat) > PARETO_K_LIMIT))
    if bad:
        warnings.warn(
            f"LOO-R²: {bad} row(s) have Pareto k > {PARETO_K_LIMIT}, so their leave-one-out "
            "means are unreliable (influential points).",
            SamplingWarning,
            stacklevel=3,
        )
    y = design.y_mean[np.concatenate(rows_kept)]
    return array_stats.loo_r2(y, np.concatenate(loo_means), n_simulations=n_simulations)


def _relative_efficiency(result: GLMResult) -> float:
    """ArviZ's r_eff for PSIS: the mean ESS ("mean" method) of the posterior's
    parameters over the number of draws, 1 with one chain (as ``loo_expectations``)."""
    import arviz_stats as azs

    if result.chains == 1:
        return 1.0
    ess = azs.ess(result._posterior, method="mean")
    values = np.hstack([np.ravel(ess[name].values) for name in ess.data_vars])
    return float(values.mean() / (result.chains * result.draws_per_chain))


def r2_table(result: GLMResult, prob: float = 0.95, chunk: int | None = None) -> pd.DataFrame:
    """Bayesian R² and LOO-R²: median and equal-tailed ``prob`` interval of each.

    Rows ``bayesian`` (over the posterior draws) and ``loo`` (over the Bayesian
    bootstrap's draws); columns ``estimate`` (median), ``conf_low``, ``conf_high``.
    The interval is named in ``frame.attrs["interval"]``.
    """
    check_prob(prob)
    tails = [(1 - prob) / 2, 0.5, (1 + prob) / 2]
    rows = {}
    for name, draws in (
        ("bayesian", bayesian_r2_draws(result, chunk)),
        ("loo", loo_r2_draws(result, chunk)),
    ):
        low, median, high = np.quantile(draws, tails)
        rows[name] = {"estimate": median, "conf_low": low, "conf_high": high}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "kind"
    frame.attrs["prob"] = prob
    frame.attrs["interval"] = f"{percent(prob)} equal-tailed"
    return frame
