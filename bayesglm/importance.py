r"""A checked approximation of the posterior for data too large for NUTS over the rows.

Where the data have no exact reduction (:mod:`bayesglm.cells`), the posterior is
approximated by the Laplace approximation at its mode and corrected by importance
sampling against the exact log-likelihood:

1. The mode: Fisher scoring on the log posterior, one pass over the rows per step
   (score, information and log-likelihood summed block by block), started at the MLE.
2. ``K`` proposals :math:`\theta_k` from a multivariate Student-t centred at the
   mode, with the inverse of the negative log posterior's curvature there as scale
   (heavier tails than the posterior keep the weights bounded).
3. One more pass evaluates the log-likelihood of all ``K`` proposals: each block
   computes :math:`X_b B + o_b` for the matrix :math:`B` of proposals and sums its
   rows' log-likelihoods, so only ``K`` numbers per block travel.
4. Pareto-smoothed importance weights and their :math:`\hat k` diagnostic, as ArviZ
   computes them (Vehtari et al. 2024). Above :data:`~bayesglm.thresholds.PARETO_K_LIMIT`
   the weights are not trusted and the fit is refused; otherwise draws are resampled
   by their weights, and the fit records the method, :math:`\hat k` and the weights'
   effective sample size.

The row passes run through the design's own executor
(:meth:`~bayesglm.chunked_design.ChunkedDesign.sum_blocks`): on a Dask design they
run where the chunks live; an in-memory design is one block.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg

from ._rowpass import map_row_ranges
from .cells import totals_design
from .design import Design
from .errors import BayesGLMError
from .families import Spec
from .laplace import LaplaceApprox, curvature
from .mle import MLEResult
from .priors import ResolvedPriors
from .row_moments import RowMoments
from .thresholds import PARETO_K_LIMIT

__all__ = [
    "PROPOSAL_DF",
    "ImportanceRun",
    "check_family",
    "importance_sample",
    "method_lines",
    "prior_view",
]

PROPOSAL_DF = 7.0
"""Degrees of freedom of the Student-t proposal."""
# rows x proposals evaluated at once inside a block: 1 MiB of float64, so that the
# slice's temporaries stay in a core's cache (9.0 ns per row and proposal at 4 MiB
# slices of 8,000 proposals, 5.7 ns at 1 MiB; benchmarks/results/medium.md)
_CELLS_PER_SLICE = 1 << 17


@dataclass(frozen=True)
class ImportanceRun:
    """Resampled draws of the coefficients, the Laplace approximation they came
    from, the record of the method and the timings."""

    beta: np.ndarray  # (draws, p)
    laplace: LaplaceApprox
    method: dict[str, Any]
    timings: dict[str, float]


def check_family(spec: Spec) -> None:
    """Refuse a family whose natural parameter the approximation would have to sample."""
    family = spec.family
    if family.normal:
        raise BayesGLMError(
            "the importance-sampled posterior does not cover the gaussian sigma; the "
            "posterior of gaussian rows in Dask chunks is exact from their sufficient "
            f"statistics, which exist with the identity link only; with the {spec.link.name} "
            "link: model the mean with link='identity', fit the posterior "
            "in memory on a subsample (and say so), or NUTS over all rows in memory on a "
            "GPU (docs/large-data.md); fit_mle() fits it on Dask by maximum likelihood; "
            f"got (family={family.name!r}, link={spec.link.name!r})."
        )
    if family.natural_param is not None:
        raise BayesGLMError(
            f"the importance-sampled posterior covers families without a dispersion "
            f"parameter (binomial, bernoulli, poisson); the {family.name} family's "
            f"{family.natural_param} is not covered yet: fit its posterior on rows in "
            f"memory (a subsample, or all rows on a GPU); got (family={family.name!r})."
        )


# --- the priors' view of chunked data ----------------------------------------------------


def prior_view(design: Any, spec: Spec, priors: Mapping[str, Any] | None) -> Design:
    """A design with the statistics the default priors read, in one pass.

    An in-memory design is its own view; a chunked one is summarized by
    :class:`~bayesglm.row_moments.RowMoments` over its rows into
    :func:`~bayesglm.cells.totals_design`.
    """
    if not design.chunked:
        return design
    moments = design.sum_blocks(
        RowMoments.of_block, design.X, design.y_mean, design.eta_offset, design.case_weights
    )
    return totals_design(design, spec, priors, moments)


# --- the posterior mode, one pass per step ----------------------------------------------


@dataclass(frozen=True)
class _Score:
    """The block function of a mode-search step: log-likelihood, score and expected
    information at ``beta`` (log-likelihood -inf where a mean leaves the range)."""

    spec: Spec
    beta: np.ndarray

    def __call__(self, X, y, y_mean, offset, weights, trials, case) -> np.ndarray:
        a = case > 0
        X, y, y_mean, offset, weights, trials, case = (
            v[a] for v in (X, y, y_mean, offset, weights, trials, case)
        )
        p = X.shape[1]
        with np.errstate(all="ignore"):
            eta = X @ self.beta + offset
            mu = self.spec.link.inverse(eta)
            if not self.spec.means_valid(eta, mu, boundary=False):
                return np.concatenate([[-np.inf], np.zeros(p + p * p)])
            w, residual = self.spec.working_terms(y_mean, eta, mu, case)
            loglike = self.spec.family.loglike_obs(y, mu, trials=trials, weights=weights)
        info = X.T @ (X * w[:, None])
        return np.concatenate([[loglike.sum()], X.T @ (w * residual), info.ravel()])


def _rows(design: Any) -> tuple[Any, ...]:
    return (
        design.X,
        design.y,
        design.y_mean,
        design.eta_offset,
        design.prior_weights,
        design.trial_counts,
        design.case_weights,
    )


def _log_prior(priors: ResolvedPriors, beta: np.ndarray) -> np.ndarray:
    """The coefficients' log prior density, for one vector or a (K, p) matrix."""
    args = np.atleast_2d(beta) @ priors.centering.T
    total = sum(prior.logpdf(args[:, j]) for j, prior in enumerate(priors.coef.values()))
    return np.asarray(total, dtype=float).reshape(np.shape(beta)[:-1])


def _prior_derivatives(priors: ResolvedPriors, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    C = priors.centering
    args = C @ beta
    coef = list(priors.coef.values())
    grad = np.array([float(prior.grad(args[j])) for j, prior in enumerate(coef)])
    hess = np.array([float(prior.hess(args[j])) for j, prior in enumerate(coef)])
    return C.T @ grad, C.T @ (hess[:, None] * C)


def posterior_mode(
    design: Any, spec: Spec, priors: ResolvedPriors, start: np.ndarray, max_iter: int = 50
) -> LaplaceApprox:
    """The posterior mode of the coefficients by Fisher scoring with step halving,
    one pass over the rows per step, and the Laplace covariance there."""
    p = design.p

    def evaluate(beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        sums = design.sum_blocks(_Score(spec, beta), *_rows(design))
        log_post = sums[0] + float(_log_prior(priors, beta))
        return log_post, sums[1 : 1 + p], sums[1 + p :].reshape(p, p)

    beta = np.asarray(start, dtype=float)
    current, score, info = evaluate(beta)
    if not np.isfinite(current):  # an MLE off at infinity (separation): start at 0
        beta = np.zeros(p)
        current, score, info = evaluate(beta)
    if not np.isfinite(current):
        raise BayesGLMError(
            "the posterior mode search has no valid start (the means at the maximum-"
            "likelihood estimate and at zero leave the family's range); check the link "
            "and offset; "
            f"got (link={spec.link.name!r})."
        )
    warnings: tuple[str, ...] = ("the posterior mode search did not converge",)
    n_iter = 0
    for _ in range(max_iter):
        n_iter += 1
        prior_grad, prior_hess = _prior_derivatives(priors, beta)
        newton = curvature(info, prior_hess)
        step = linalg.solve(newton, score + prior_grad, assume_a="pos")
        decrement = float(step @ newton @ step)
        for _ in range(30):
            found, found_score, found_info = evaluate(beta + step)
            if np.isfinite(found) and found >= current - 1e-10 * (abs(current) + 1.0):
                break
            step = step / 2.0
        else:
            break
        beta, current, score, info = beta + step, found, found_score, found_info
        if decrement < 1e-16 * (abs(current) + 1.0):
            warnings = ()
            break
    prior_hess = _prior_derivatives(priors, beta)[1]
    cov = linalg.inv(curvature(info, prior_hess))
    cov = (cov + cov.T) / 2.0
    return LaplaceApprox(beta, cov, np.linalg.cholesky(cov), n_iter, warnings)


# --- the proposals' log-likelihood, one pass --------------------------------------------


@dataclass(frozen=True)
class _LogLik:
    """The block function of the proposals' pass: the block's log-likelihood at each
    column of ``B`` (-inf where a mean leaves the family's range)."""

    spec: Spec
    B: np.ndarray  # (p, K)
    threaded: bool  # False in a Dask task: its worker's threads are the parallelism

    def __call__(self, X, y, y_mean, offset, weights, trials, case) -> np.ndarray:
        a = case > 0
        X, y, offset, weights, trials = (v[a] for v in (X, y, offset, weights, trials))
        K = self.B.shape[1]
        step = max(1, _CELLS_PER_SLICE // K)
        n_slices = -(-X.shape[0] // step)
        family, link = self.spec.family, self.spec.link

        def sum_slices(first: int, last: int) -> np.ndarray:
            total = np.zeros(K)
            for lo in range(first * step, min(last * step, X.shape[0]), step):
                rows = slice(lo, lo + step)
                with np.errstate(all="ignore"):
                    eta = X[rows] @ self.B + offset[rows, None]
                    mu = link.inverse(eta)
                    terms = family.loglike_obs(
                        y[rows, None], mu, trials=trials[rows, None], weights=weights[rows, None]
                    )
                    total += terms.sum(axis=0)
            return total

        # In memory, slices shared out over threads (numpy and BLAS release the GIL)
        # as the IRLS's row pass does; the ranges' totals are added in row order.
        if self.threaded:
            total = sum(map_row_ranges(sum_slices, n_slices, step * K), np.zeros(K))
        else:
            total = sum_slices(0, n_slices)
        return np.where(np.isfinite(total), total, -np.inf)


def proposal_loglik(design: Any, spec: Spec, B: np.ndarray) -> np.ndarray:
    """The exact log-likelihood of each column of ``B`` (p, K), in one pass."""
    return design.sum_blocks(_LogLik(spec, B, not design.chunked), *_rows(design))


def _psis(log_ratios: np.ndarray) -> tuple[np.ndarray, float]:
    """Pareto-smoothed, normalized log weights and k-hat (ArviZ's ``psislw``)."""
    import arviz_stats  # noqa: F401  (registers the azstats accessor)
    import xarray as xr

    # ArviZ's psislw takes LOO's log-likelihood, whose log ratios are its negative.
    log_lik = xr.DataArray(-log_ratios, dims=["draw"])
    log_weights, khat = log_lik.azstats.psislw(dim="draw")
    return np.asarray(log_weights), float(khat)


def importance_sample(
    design: Any,
    spec: Spec,
    priors: ResolvedPriors,
    mle: MLEResult,
    *,
    draws: int,
    seed: int,
    proposals: int | None = None,
) -> ImportanceRun:
    """The posterior of the coefficients by Pareto-smoothed importance sampling from
    the Laplace approximation (module docstring), as ``draws`` resampled draws.

    Parameters
    ----------
    design : Design or ChunkedDesign
    spec : Spec
        A family without a natural parameter (:func:`check_family`).
    priors : ResolvedPriors
    mle : MLEResult
        Where the mode search starts.
    draws : int
        Resampled draws returned.
    seed : int
    proposals : int, optional
        K; twice ``draws`` (at least 2000) by default.

    Raises
    ------
    BayesGLMError
        When k-hat is above :data:`~bayesglm.thresholds.PARETO_K_LIMIT`.
    """
    check_family(spec)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    laplace = posterior_mode(design, spec, priors, mle.params_array)
    timings["mode"] = time.perf_counter() - clock
    K = max(2 * draws, 2000) if proposals is None else int(proposals)
    rng = np.random.default_rng(seed)
    from scipy import stats  # here, not at import: the fit path of other methods skips its 0.2 s

    proposal = stats.multivariate_t(laplace.mode, laplace.cov, df=PROPOSAL_DF, seed=rng)
    theta = np.reshape(proposal.rvs(size=K), (K, laplace.mode.size))
    clock = time.perf_counter()
    loglik = proposal_loglik(design, spec, np.ascontiguousarray(theta.T))
    timings["likelihood"] = time.perf_counter() - clock
    log_ratios = loglik + _log_prior(priors, theta) - proposal.logpdf(theta)
    log_weights, khat = _psis(log_ratios)
    weights = np.exp(log_weights - log_weights.max())
    weights /= weights.sum()
    ess = float(1.0 / np.sum(weights**2))
    if not (khat <= PARETO_K_LIMIT):
        raise BayesGLMError(
            f"the importance-sampled posterior is not reliable here: the Pareto k-hat of "
            f"its weights is {khat:.2f} (> {PARETO_K_LIMIT}), so the Laplace approximation "
            "is too far from the posterior for the weights to correct it; use an exact "
            "reduction where the family allows (method='cells'), NUTS on a subsample in "
            "memory (and say so), or NUTS over all rows on a GPU (docs/large-data.md); "
            f"got (khat={khat:.2f}, proposals={K})."
        )
    picked = rng.choice(K, size=draws, p=weights)
    method = {
        "method": "importance",
        "rows": int(design.n),
        "proposals": K,
        "khat": khat,
        "ess": ess,
    }
    return ImportanceRun(theta[picked], laplace, method, timings)


def method_lines(method: Mapping[str, Any] | None) -> list[str]:
    """The line that says how the draws of a fit were made (none for NUTS over the
    rows), for the printed fit and the report."""
    if not method:
        return []
    if method["method"] == "sufficient":
        return [
            f"Method: NUTS on the sufficient statistics of {method['rows']:,} rows (an exact "
            "reduction: the posterior of the rows)"
        ]
    if method["method"] == "cells":
        return [
            f"Method: NUTS on {method['cells']:,} cells summing {method['rows']:,} rows "
            "(an exact reduction: the posterior of the rows)"
        ]
    return [
        f"Method: importance sampling from the Laplace approximation ({method['proposals']:,} "
        f"proposals, Pareto k-hat {method['khat']:.2f}, ESS {method['ess']:.0f}; "
        f"checked approximation over {method['rows']:,} rows)"
    ]
