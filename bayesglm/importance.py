r"""A checked approximation of the posterior for data too large for NUTS over the rows.

Where the data have no exact reduction (:mod:`bayesglm.cells`), the posterior is
approximated by the Laplace approximation at its mode and corrected by importance
sampling against the exact log-likelihood.

:math:`\theta` stacks the coefficients :math:`\beta` and, where the family's natural
parameter :math:`d` (the gaussian ``sigma``, gamma ``shape``, inverse gaussian ``lam``,
negative binomial ``alpha``) is sampled, :math:`u = \log d`, as for NUTS
(:mod:`bayesglm.laplace`); the target density in :math:`u` carries the Jacobian
:math:`e^u` of :math:`d = e^u`. The steps:

1. The mode: one pass over the rows per step, started at the MLE. Each pass sums, block
   by block, the log-likelihood and the score in :math:`\beta` (divided by
   :math:`\phi(d)`) at :math:`\beta` and :math:`u + jh`, :math:`j = -2, \dots, 2`
   (the natural parameter as a length-5 vector broadcast over the rows), and the
   expected information in :math:`\beta` at :math:`u`. Finite differences of these
   give the derivatives in :math:`u` and across; the step is Newton's on the joint
   curvature (Fisher scoring in :math:`\beta`), halved until the log posterior does
   not fall. The Laplace covariance is the inverse of that curvature at the mode
   (block diagonal where the observed cross term leaves it indefinite:
   :math:`\beta` and :math:`u` are orthogonal in the GLM's expected information).
2. ``K`` proposals :math:`\theta_k` from a multivariate Student-t centred at the
   mode, with the inverse of the negative log posterior's curvature there as scale
   (heavier tails than the posterior keep the weights bounded).
3. One more pass evaluates the log-likelihood of all ``K`` proposals: each block
   computes :math:`X_b B + o_b` for the matrix :math:`B` of proposals and sums its
   rows' log-likelihoods, each proposal at its own natural parameter (a length-``K``
   vector broadcast over the rows), so only ``K`` numbers per block travel.
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
from .laplace import LaplaceApprox, NaturalEstimates, curvature, positive_definite
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
    "natural_estimates",
    "prior_view",
]

PROPOSAL_DF = 7.0
"""Degrees of freedom of the Student-t proposal."""
# The proposals' pass works in tiles of rows x proposals, sized for its executor
# (benchmarks/results/medium.md, n = 100,000, 8,000 proposals):
# - in memory, 1 MiB of rows across all proposals (16 rows of 8,000): few numpy calls,
#   so that threads sharing the rows rarely wait for the GIL (2.5 s on two threads;
#   tiles of 64 x 128 took 4.2 s there);
# - in a Dask task, 64 rows x 128 proposals: each temporary 64 KiB, under glibc's
#   128 KiB threshold above which an array is fresh memory from the system, page-faulted
#   in anew each time in a distributed worker, whose allocator returns freed memory
#   (MALLOC_TRIM_THRESHOLD_): 5.6 s on one core with that allocator, against 19.3 s in
#   slices of 1 MiB.
_CELLS_IN_MEMORY = 1 << 17
_TILE_ROWS = 64
_TILE_PROPOSALS = 128


@dataclass(frozen=True)
class ImportanceRun:
    """Resampled draws of the coefficients and the natural parameter (None where it
    is not sampled), the Laplace approximation they came from, the record of the
    method and the timings."""

    beta: np.ndarray  # (draws, p)
    natural: np.ndarray | None  # (draws,)
    laplace: LaplaceApprox
    method: dict[str, Any]
    timings: dict[str, float]


def check_family(spec: Spec) -> None:
    """Refuse a family without a likelihood to weigh the proposals by (a
    quasi-family: :meth:`~bayesglm.families.Family.check_posterior`)."""
    spec.family.check_posterior()


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

_H = 1e-3
"""The first step h in u = log(natural) of the mode search's finite differences; later
ones are half the approximate posterior sd of u, so that the differences are far
above the rounding of the summed log-likelihoods (whose relative error in a second
difference grows as 1/h^2)."""
# Five-point central differences at u + h * _STENCIL: first and second derivatives
# with errors of order h^4. With h wide for rounding's sake, a three-point gradient's
# error of order h^2 would put its zero a few hundredths of u's sd off the mode, where
# the line search, which reads the log posterior itself, rejects the steps to it.
_STENCIL = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
_FIRST = np.array([1.0, -8.0, 0.0, 8.0, -1.0]) / 12.0
_SECOND = np.array([-1.0, 16.0, -30.0, 16.0, -1.0]) / 12.0


@dataclass(frozen=True)
class _Score:
    """The block function of a mode-search step: the log-likelihood at ``beta`` and
    each of ``naturals`` (one value where None: the family has no natural parameter),
    the score in ``beta`` at each of them and the expected information in ``beta`` at
    the middle one, both divided by phi (log-likelihoods -inf where a mean leaves the
    range)."""

    spec: Spec
    beta: np.ndarray
    naturals: np.ndarray | None

    def __call__(self, X, y, y_mean, offset, weights, trials, case) -> np.ndarray:
        a = case > 0
        X, y, y_mean, offset, weights, trials, case = (
            v[a] for v in (X, y, y_mean, offset, weights, trials, case)
        )
        p = X.shape[1]
        m = 1 if self.naturals is None else self.naturals.size
        family, link = self.spec.family, self.spec.link
        with np.errstate(all="ignore"):
            eta = X @ self.beta + offset
            mu = link.inverse(eta)
            if not self.spec.means_valid(eta, mu, boundary=False):
                return np.concatenate([np.full(m, -np.inf), np.zeros(m * p + p * p)])
            if self.naturals is None:
                loglike = family.loglike_obs(y, mu, trials=trials, weights=weights).sum()
                w, residual = self.spec.working_terms(y_mean, eta, mu, case)
                scores, info_weights = [X.T @ (w * residual)], w
            else:
                loglike = family.loglike_obs(
                    y[:, None],
                    mu[:, None],
                    self.naturals,
                    trials=trials[:, None],
                    weights=weights[:, None],
                ).sum(axis=0)
                phis = [family.phi(natural) for natural in self.naturals.tolist()]
                if family.natural_in_variance:  # the working weights change with it
                    scores = []
                    for natural, phi in zip(self.naturals.tolist(), phis, strict=True):
                        spec = Spec(family.with_natural(natural), link)
                        w, residual = spec.working_terms(y_mean, eta, mu, case)
                        scores.append(X.T @ (w * residual) / phi)
                        if len(scores) == m // 2 + 1:
                            info_weights = w / phi
                else:  # phi alone scales one score
                    w, residual = self.spec.working_terms(y_mean, eta, mu, case)
                    score = X.T @ (w * residual)
                    scores = [score / phi for phi in phis]
                    info_weights = w / phis[m // 2]
        info = X.T @ (X * info_weights[:, None])
        return np.concatenate([np.atleast_1d(loglike), *scores, info.ravel()])


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


def _log_prior_u(priors: ResolvedPriors, u: np.ndarray) -> np.ndarray:
    """The log prior density of u = log(natural), with the Jacobian of natural = e^u."""
    with np.errstate(over="ignore"):
        natural = np.exp(u)
    values = priors.natural.logpdf(natural) + u
    return np.where(np.isfinite(values), values, -np.inf)


def _prior_derivatives(priors: ResolvedPriors, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    C = priors.centering
    args = C @ beta
    coef = list(priors.coef.values())
    grad = np.array([float(prior.grad(args[j])) for j, prior in enumerate(coef)])
    hess = np.array([float(prior.hess(args[j])) for j, prior in enumerate(coef)])
    return C.T @ grad, C.T @ (hess[:, None] * C)


@dataclass(frozen=True)
class _Point:
    """What one pass of the mode search knows at (beta, u): the log posterior, its
    gradient and the negative of its curvature (Fisher information in beta; in u and
    across, finite differences from the pass's values at u - 2h, ..., u + 2h)."""

    beta: np.ndarray
    u: float | None
    log_post: float
    grad: np.ndarray
    newton: np.ndarray

    @property
    def h(self) -> float:
        """The finite-difference step in u for the next pass: half u's approximate
        posterior sd, within [1e-5, 0.05] (:data:`_H` where the log posterior does not
        curve down in u)."""
        curving = self.newton[-1, -1]
        if self.u is None or not (np.isfinite(curving) and curving > 0):
            return _H
        return float(np.clip(0.5 / np.sqrt(curving), 1e-5, 0.05))


def _evaluate(
    design: Any,
    spec: Spec,
    priors: ResolvedPriors,
    beta: np.ndarray,
    u: float | None,
    h: float = _H,
) -> _Point:
    p = design.p
    fixed = priors.fixed_natural
    steps = h * _STENCIL
    if u is not None:
        with np.errstate(over="ignore"):
            naturals = np.exp(u + steps)
    else:
        naturals = None if fixed is None else np.array([fixed])
    sums = design.sum_blocks(_Score(spec, beta, naturals), *_rows(design))
    m = 1 if naturals is None else naturals.size
    loglike = sums[:m]
    scores = sums[m : m + m * p].reshape(m, p)
    info = sums[m + m * p :].reshape(p, p)
    prior_grad, prior_hess = _prior_derivatives(priors, beta)
    log_prior = float(_log_prior(priors, beta))
    grad, newton = scores[m // 2] + prior_grad, curvature(info, prior_hess)
    if u is None:
        return _Point(beta, u, float(loglike[0]) + log_prior, grad, newton)
    f = loglike + _log_prior_u(priors, u + steps)
    with np.errstate(invalid="ignore"):
        grad_u = float(_FIRST @ f) / h
        curving_u = -float(_SECOND @ f) / h**2
        across = -(_FIRST @ scores) / h
    joint = np.block([[newton, across[:, None]], [across[None, :], np.array([[curving_u]])]])
    if not (np.isfinite(joint).all() and positive_definite(joint)):
        # beta and u are orthogonal in the expected information: without the observed
        # cross term, and a unit curvature in u where it does not curve down there.
        fallback = curving_u if np.isfinite(curving_u) and curving_u > 0 else 1.0
        joint = linalg.block_diag(newton, fallback)
    return _Point(beta, u, float(f[2]) + log_prior, np.r_[grad, grad_u], joint)


def _start_natural(spec: Spec, mle: MLEResult) -> float:
    """The natural parameter the MLE holds or implies (1 where it has none)."""
    natural = mle.family.known_natural  # the negative binomial's fitted theta
    if natural is None:
        natural = spec.family.natural_from_phi(mle.dispersion)
    if natural is None or not (np.isfinite(natural) and natural > 0):
        return 1.0
    return float(natural)


def posterior_mode(
    design: Any, spec: Spec, priors: ResolvedPriors, mle: MLEResult, max_iter: int = 50
) -> LaplaceApprox:
    """The posterior mode of the coefficients (and of u = log(natural) where it is
    sampled), one pass over the rows per step, and the Laplace covariance there.

    Each step is Newton's on the joint curvature of :class:`_Point` (Fisher scoring in
    beta), halved until the log posterior does not fall; it stops when the step's
    Newton decrement is below rounding. The step in u is at most 3 (a factor of 20).
    """
    p = design.p
    sampled = priors.sampled_natural_name is not None
    u = float(np.log(_start_natural(spec, mle))) if sampled else None
    point = _evaluate(design, spec, priors, np.asarray(mle.params_array, dtype=float), u)
    if not np.isfinite(point.log_post):  # an MLE off at infinity (separation): start at 0
        point = _evaluate(design, spec, priors, np.zeros(p), u)
    if not np.isfinite(point.log_post):
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
        if not np.isfinite(point.grad).all():
            break
        step = linalg.solve(point.newton, point.grad, assume_a="pos")
        if sampled and abs(step[-1]) > 3.0:
            step *= 3.0 / abs(step[-1])
        decrement = float(step @ point.newton @ step)
        current = point.log_post
        for _ in range(30):
            found = _evaluate(
                design,
                spec,
                priors,
                point.beta + step[:p],
                point.u + step[p] if sampled else None,
                point.h,
            )
            if np.isfinite(found.log_post) and found.log_post >= current - 1e-10 * (
                abs(current) + 1.0
            ):
                break
            step = step / 2.0
        else:
            break
        point = found
        if decrement < 1e-16 * (abs(current) + 1.0):
            warnings = ()
            break
    cov = linalg.inv(point.newton)
    cov = (cov + cov.T) / 2.0
    mode = point.beta if point.u is None else np.r_[point.beta, point.u]
    return LaplaceApprox(mode, cov, np.linalg.cholesky(cov), n_iter, warnings)


# --- the natural parameter's estimates, one pass per step --------------------------------


@dataclass(frozen=True)
class _NaturalLogLik:
    """The block function of a step of :func:`natural_estimates`: the log-likelihood at
    each row of ``betas`` (k, p) and each natural value in the same row of
    ``naturals`` (k, m), as a flat (k * m,) vector (-inf where a mean leaves the range)."""

    spec: Spec
    betas: np.ndarray
    naturals: np.ndarray

    def __call__(self, X, y, y_mean, offset, weights, trials, case) -> np.ndarray:
        a = case > 0
        X, y, offset, weights, trials = (v[a] for v in (X, y, offset, weights, trials))
        out = np.full(self.naturals.shape, -np.inf)
        for j, beta in enumerate(self.betas):
            with np.errstate(all="ignore"):
                eta = X @ beta + offset
                mu = self.spec.link.inverse(eta)
                if self.spec.means_valid(eta, mu, boundary=False):
                    out[j] = self.spec.family.loglike_obs(
                        y[:, None],
                        mu[:, None],
                        self.naturals[j],
                        trials=trials[:, None],
                        weights=weights[:, None],
                    ).sum(axis=0)
        return out.ravel()


def natural_estimates(
    design: Any,
    spec: Spec,
    priors: ResolvedPriors,
    mle: MLEResult,
    mode_beta: np.ndarray,
    max_iter: int = 30,
) -> NaturalEstimates:
    """The natural parameter's MLE and standard error at the MLE's means, and its
    prior-penalized mode at the posterior mode's means
    (:func:`bayesglm.laplace.natural_estimates`), by Newton steps in u = log(natural)
    from five-point differences, both searches in one pass over the rows per step.

    Returns NaNs where the search fails (means out of range, no maximum).
    """
    betas = np.vstack([mle.params_array, mode_beta])
    u = np.full(2, np.log(_start_natural(spec, mle)))
    h = np.full(2, _H)
    prior = priors.natural
    failed = NaturalEstimates(np.nan, np.nan, np.nan)
    for _ in range(max_iter):
        with np.errstate(over="ignore"):
            naturals = np.exp(u[:, None] + h[:, None] * _STENCIL)
        f = design.sum_blocks(_NaturalLogLik(spec, betas, naturals), *_rows(design))
        f = f.reshape(naturals.shape)
        if prior is not None:
            f[1] += prior.logpdf(naturals[1])  # the mode of the parameter itself
        with np.errstate(invalid="ignore"):
            grad, curving = f @ _FIRST / h, -(f @ _SECOND) / h**2
        if not (np.isfinite(grad).all() and np.isfinite(curving).all()):
            return failed
        # Newton where the function curves down, else a step uphill; at most 1 (a
        # factor of e) at a time.
        step = np.where(curving > 0, grad / np.where(curving > 0, curving, 1.0), np.sign(grad))
        step = np.clip(step, -1.0, 1.0)
        if (curving > 0).all() and np.abs(step).max() < 1e-9:
            estimate = float(np.exp(u[0]))
            return NaturalEstimates(
                estimate, estimate / float(np.sqrt(curving[0])), float(np.exp(u[1]))
            )
        u = u + step
        h = np.where(curving > 0, np.clip(0.5 / np.sqrt(np.abs(curving)), 1e-5, 0.05), _H)
    return failed


# --- the proposals' log-likelihood, one pass --------------------------------------------


@dataclass(frozen=True)
class _LogLik:
    """The block function of the proposals' pass: the block's log-likelihood at each
    column of ``B`` and its entry of ``natural`` (-inf where a mean leaves the family's
    range)."""

    spec: Spec
    B: np.ndarray  # (p, K)
    natural: np.ndarray | float | None  # (K,), one held value, or None (no such parameter)
    threaded: bool  # False in a Dask task: its worker's threads are the parallelism

    @property
    def tile(self) -> tuple[int, int]:
        """Rows and proposals evaluated at once (see _CELLS_IN_MEMORY)."""
        K = self.B.shape[1]
        if self.threaded:
            return max(1, _CELLS_IN_MEMORY // K), K
        return _TILE_ROWS, _TILE_PROPOSALS

    def __call__(self, X, y, y_mean, offset, weights, trials, case) -> np.ndarray:
        a = case > 0
        X, y, offset, weights, trials = (v[a] for v in (X, y, offset, weights, trials))
        K = self.B.shape[1]
        family, link = self.spec.family, self.spec.link
        per_proposal = np.ndim(self.natural) == 1
        tile_rows, tile_proposals = self.tile

        def sum_rows(lo: int, hi: int) -> np.ndarray:
            total = np.zeros(K)
            for first in range(0, K, tile_proposals):
                columns = slice(first, first + tile_proposals)
                B = np.ascontiguousarray(self.B[:, columns])
                natural = self.natural[columns] if per_proposal else self.natural
                for start in range(lo, hi, tile_rows):
                    rows = slice(start, min(start + tile_rows, hi))
                    with np.errstate(all="ignore"):
                        eta = X[rows] @ B
                        eta += offset[rows, None]
                        terms = family.loglike_obs(
                            y[rows, None],
                            link.inverse(eta),
                            natural,
                            trials=trials[rows, None],
                            weights=weights[rows, None],
                        )
                        total[columns] += terms.sum(axis=0)
            return total

        # In memory, row ranges shared out over threads (numpy and BLAS release the
        # GIL) as the IRLS's row pass does; the ranges' totals are added in row order.
        if self.threaded:
            total = sum(map_row_ranges(sum_rows, X.shape[0], K), np.zeros(K))
        else:
            total = sum_rows(0, X.shape[0])
        return np.where(np.isfinite(total), total, -np.inf)


def proposal_loglik(
    design: Any, spec: Spec, B: np.ndarray, natural: np.ndarray | float | None = None
) -> np.ndarray:
    """The exact log-likelihood of each column of ``B`` (p, K), at the natural
    parameter ``natural`` (one value per column, one for all, or None where the
    family has none), in one pass."""
    return design.sum_blocks(_LogLik(spec, B, natural, not design.chunked), *_rows(design))


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
    """The posterior of the coefficients and the natural parameter by Pareto-smoothed
    importance sampling from the Laplace approximation (module docstring), as
    ``draws`` resampled draws.

    Parameters
    ----------
    design : Design or ChunkedDesign
    spec : Spec
        A family with a likelihood (:func:`check_family`).
    priors : ResolvedPriors
        Where they sample the natural parameter, its draws are returned too.
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
    laplace = posterior_mode(design, spec, priors, mle)
    timings["mode"] = time.perf_counter() - clock
    K = max(2 * draws, 2000) if proposals is None else int(proposals)
    rng = np.random.default_rng(seed)
    from scipy import stats  # here, not at import: the fit path of other methods skips its 0.2 s

    proposal = stats.multivariate_t(laplace.mode, laplace.cov, df=PROPOSAL_DF, seed=rng)
    theta = np.reshape(proposal.rvs(size=K), (K, laplace.mode.size))
    p = design.p
    beta = theta[:, :p]
    log_prior = _log_prior(priors, beta)
    if laplace.mode.size > p:  # u = log(natural) sampled
        with np.errstate(over="ignore"):
            natural = np.exp(theta[:, p])
        log_prior = log_prior + _log_prior_u(priors, theta[:, p])
    else:
        natural = priors.fixed_natural
    clock = time.perf_counter()
    loglik = proposal_loglik(design, spec, np.ascontiguousarray(beta.T), natural)
    timings["likelihood"] = time.perf_counter() - clock
    log_ratios = loglik + log_prior - proposal.logpdf(theta)
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
    sampled = None if laplace.mode.size == p else natural[picked]
    return ImportanceRun(beta[picked], sampled, laplace, method, timings)


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
