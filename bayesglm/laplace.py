r"""Posterior mode and Laplace approximation, in numpy (no PyMC).

The sampler starts at the posterior mode and sees coordinates whitened by the
Laplace approximation there: :math:`\theta = m + L z` with :math:`LL^\top` the
inverse of the negative Hessian. The transform is affine (constant Jacobian), so
the posterior is unchanged while NUTS meets a nearly standard-normal target.

:math:`\theta` stacks the coefficients :math:`\beta` and, for families with a
natural parameter :math:`d` (see :class:`~bayesglm.families.Family`), :math:`u =
\log d`. The mode is found by penalized Fisher scoring for :math:`\beta`
alternating with a one-dimensional search in :math:`u`; :math:`\beta` and
:math:`u` are orthogonal in the GLM's expected information, so the covariance is
block diagonal.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import linalg

from ._rowpass import weighted_gram
from .design import Design
from .errors import BayesGLMError, ConvergenceWarning
from .families import Family, Spec
from .mle import MLEResult
from .priors import ResolvedPriors

if TYPE_CHECKING:
    from .sufficient import GaussianStatistics

__all__ = [
    "LaplaceApprox",
    "NaturalEstimates",
    "laplace_approx",
    "natural_estimates",
    "positive_definite",
]

MAX_ITER = 200
"""Newton steps the mode search may take; reaching the limit is warned and recorded."""


@dataclass(frozen=True)
class LaplaceApprox:
    """Mode and covariance of the Gaussian approximation to the posterior.

    Attributes
    ----------
    mode : ndarray, shape (k,)
        Coefficients, then the log of the natural parameter if it is sampled.
    cov : ndarray, shape (k, k)
    chol : ndarray, shape (k, k)
        Lower Cholesky factor of ``cov``.
    n_iter : int
    warnings : tuple of str
        What the mode search warned about (it did not converge).
    """

    mode: np.ndarray
    cov: np.ndarray
    chol: np.ndarray
    n_iter: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _PriorTerms:
    """The log prior pieces of the mode search, which read no data."""

    spec: Spec
    priors: ResolvedPriors
    centering: np.ndarray  # C: prior arguments = C @ beta

    def spec_at(self, natural: float | None) -> Spec:
        family = self.spec.family.with_natural(natural)
        return self.spec if family is self.spec.family else Spec(family, self.spec.link)

    def log_prior_beta(self, beta: np.ndarray) -> float:
        args = self.centering @ beta
        return float(
            sum(prior.logpdf(args[j]) for j, prior in enumerate(self.priors.coef.values()))
        )

    def log_prior_u(self, u: float) -> float:
        prior = self.priors.natural
        if prior is None:
            raise RuntimeError(
                "the posterior mode search looked for a natural parameter the family does not "
                f"have; got (family={self.spec.family.name!r})."
            )
        return float(prior.logpdf(np.exp(u))) + u  # + log Jacobian of d = exp(u)

    def prior_derivatives(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        args = self.centering @ beta
        priors = list(self.priors.coef.values())
        grad = np.array([float(prior.grad(args[j])) for j, prior in enumerate(priors)])
        hess = np.array([float(prior.hess(args[j])) for j, prior in enumerate(priors)])
        # Only the log-concave part: keeps the Newton matrix positive definite.
        hess = np.minimum(hess, 0.0)
        C = self.centering
        return C.T @ grad, C.T @ (hess[:, None] * C)


@dataclass(frozen=True)
class _Posterior(_PriorTerms):
    """Log posterior pieces on the data's active rows (see :class:`Design`)."""

    X: np.ndarray
    y: np.ndarray  # as given (successes for the binomial)
    y_mean: np.ndarray
    trials: np.ndarray
    weights: np.ndarray  # prior weights
    case_weights: np.ndarray
    offset: np.ndarray

    def mean(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        eta = self.X @ beta + self.offset
        with np.errstate(all="ignore"):
            mu = self.spec.link.inverse(eta)
        return (eta, mu) if self.spec.means_valid(eta, mu, boundary=False) else None

    def valid_mean(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`mean` where the search keeps it valid: the start is checked and
        the line search accepts valid means only."""
        state = self.mean(beta)
        if state is None:
            raise RuntimeError(
                "the posterior mode search reached coefficients whose means leave the "
                "family's range, which its line search should prevent; please report "
                f"this with the data; got (beta={beta.tolist()!r})."
            )
        return state

    def loglike(self, mu: np.ndarray, natural: float | None) -> float:
        family = self.spec_at(natural).family
        with np.errstate(all="ignore"):
            terms = family.loglike_obs(
                self.y, mu, natural, trials=self.trials, weights=self.weights
            )
        return float(np.sum(terms))

    def fisher(self, eta, mu, natural) -> tuple[np.ndarray, np.ndarray]:
        """Score and expected information of the log-likelihood in beta."""
        spec = self.spec_at(natural)
        phi = 1.0 if natural is None else spec.family.phi(natural)
        w, residual = spec.working_terms(self.y_mean, eta, mu, self.case_weights)
        return self.X.T @ (w * residual / phi), weighted_gram(self.X, w / phi)


@dataclass(frozen=True)
class _SufficientPosterior(_PriorTerms):
    """The gaussian posterior with the identity link, from the rows' sufficient
    statistics (:class:`~bayesglm.sufficient.GaussianStatistics`) instead of the rows.

    It answers the search as :class:`_Posterior` does; the "means" it passes around
    are the coefficients themselves (the means are X beta + offset, all valid).
    """

    statistics: GaussianStatistics
    case_weights: np.ndarray  # the rows' total weight, for the search's fallback start

    def mean(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        return (beta, beta) if np.isfinite(beta).all() else None

    def valid_mean(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return beta, beta

    def loglike(self, mu: np.ndarray, natural: float | None) -> float:
        return self.statistics.loglike(mu, float(natural))

    def fisher(self, eta, mu, natural) -> tuple[np.ndarray, np.ndarray]:
        phi = self.spec.family.phi(natural)
        return self.statistics.score(mu) / phi, self.statistics.xtwx / phi


def laplace_approx(
    design: Design, spec: Spec, priors: ResolvedPriors, mle: MLEResult | None
) -> LaplaceApprox:
    """Posterior mode and Laplace covariance for a design, spec and priors.

    Parameters
    ----------
    mle : MLEResult, optional
        Its estimates start the search when they exist (converged, no separation).
    """
    post = _posterior(design, spec, priors)
    family = spec.family
    beta = _start_beta(post, design, mle)
    u = None
    fixed = priors.fixed_natural
    if fixed is None and family.natural_param is not None:
        u = float(np.log(_start_natural(design, family, mle)))
    beta, u, n_iter, converged = _find_mode(post, beta, u, fixed)
    natural = fixed if u is None else float(np.exp(u))
    messages = () if converged else (_not_converged(n_iter),)
    for message in messages:
        warnings.warn(message, ConvergenceWarning, stacklevel=3)
    eta, mu = post.valid_mean(beta)
    _, info = post.fisher(eta, mu, natural)
    newton = curvature(info, post.prior_derivatives(beta)[1])
    cov_beta = linalg.inv(newton)
    cov_beta = (cov_beta + cov_beta.T) / 2
    if u is None:
        mode, cov = beta, cov_beta
    else:
        mode = np.r_[beta, u]
        cov = linalg.block_diag(cov_beta, 1.0 / _curvature_u(post, beta, u))
    return LaplaceApprox(mode, cov, linalg.cholesky(cov, lower=True), n_iter, messages)


def _find_mode(
    post: _Posterior, beta: np.ndarray, u: float | None, fixed: float | None
) -> tuple[np.ndarray, float | None, int, bool]:
    """Newton steps in beta alternating with a search in u (None: no sampled natural
    parameter), at most :data:`MAX_ITER` of them: (beta, u, iterations, whether
    converged)."""
    natural = fixed if u is None else float(np.exp(u))
    for n_iter in range(1, MAX_ITER + 1):
        eta, mu = post.valid_mean(beta)
        score, info = post.fisher(eta, mu, natural)
        prior_grad, prior_hess = post.prior_derivatives(beta)
        newton = curvature(info, prior_hess)
        step = linalg.solve(newton, score + prior_grad, assume_a="pos")
        found = _line_search(post, beta, step, natural)
        # The Newton step shrinks to zero at a smooth mode; at a kink of the prior
        # (a Laplace prior at its location) it does not, but the move the line search
        # accepts does. A line search that accepts nothing is not convergence.
        moved = np.inf if found is None else _newton_length(found - beta, newton)
        beta = beta if found is None else found
        moved_u = 0.0
        if u is not None:
            new_u = _best_u(post, beta, u)
            moved_u, u = abs(new_u - u), new_u
            natural = float(np.exp(u))
        if min(_newton_length(step, newton), moved) < 1e-12 and moved_u < 1e-7:
            return beta, u, n_iter, True
    return beta, u, MAX_ITER, False


def curvature(info: np.ndarray, prior_hess: np.ndarray) -> np.ndarray:
    """The negative log posterior's curvature in beta: Fisher information less the
    log prior's Hessian, without the prior's positive curvature where keeping it
    leaves no positive-definite matrix.

    A heavy-tailed prior (Cauchy, Student-t) curves upward in its tails: far from its
    location, and with little information in the data, information less its Hessian
    can be indefinite. Its negative part alone keeps the Newton step an ascent
    direction (the line search shortens it as needed) and the whitening a valid
    metric; NUTS samples the exact posterior either way.
    """
    newton = info - prior_hess
    if positive_definite(newton):
        return newton
    values, vectors = np.linalg.eigh((prior_hess + prior_hess.T) / 2)
    newton = info - (vectors * np.minimum(values, 0.0)) @ vectors.T
    # Information itself can be singular to working precision (means at the edge of
    # their range): a ridge, grown until the matrix factors, as Levenberg-Marquardt.
    ridge = 1e-10 * max(float(np.abs(np.diag(newton)).max()), 1.0)
    for _ in range(30):  # up to 1e20 times the largest curvature
        if positive_definite(newton):
            break
        newton = newton + ridge * np.eye(len(newton))
        ridge *= 10.0
    return newton  # not finite: the solve after it says so


def positive_definite(matrix: np.ndarray) -> bool:
    """Whether ``matrix`` (symmetric) has a Cholesky factor."""
    try:
        linalg.cholesky(matrix, lower=True)
    except (linalg.LinAlgError, ValueError):
        return False
    return True


def _newton_length(step: np.ndarray, newton: np.ndarray) -> float:
    """The squared length of a step in the metric of the Newton matrix."""
    return float(step @ newton @ step)


def _not_converged(n_iter: int) -> str:
    return (
        f"the posterior mode search did not converge in {n_iter} iterations; NUTS starts "
        "from the last point and is whitened by the curvature there, which is still a "
        "valid sampler but may adapt slowly; check the sampling diagnostics, and "
        "consider stronger priors or rescaled predictors."
    )


@dataclass(frozen=True)
class NaturalEstimates:
    """The family's natural parameter's estimates, in its own parametrization.

    Attributes
    ----------
    mle : float
        Maximum-likelihood estimate at the MLE's means (for the gaussian sqrt of the
        weighted residual sum of squares over n, for the inverse gaussian n / deviance;
        not R's Pearson estimate).
    se : float
        Its standard error from the observed information.
    mode : float
        The maximum of likelihood x prior at the posterior mode's coefficients, in the
        parameter itself (no Jacobian): with a flat prior it is the MLE there.
    """

    mle: float
    se: float
    mode: float


def natural_estimates(
    design: Design,
    spec: Spec,
    priors: ResolvedPriors,
    mle: MLEResult,
    mode_beta: np.ndarray,
) -> NaturalEstimates:
    """MLE, standard error and prior-penalized mode of the family's natural parameter.

    Coefficients and the natural parameter are orthogonal in a GLM's information, so
    each is maximized with the coefficients held at their own estimate.
    """
    post = _posterior(design, spec, priors)
    start = float(np.log(_start_natural(design, spec.family, mle)))
    at_mle = post.mean(mle.params_array)
    at_mode = post.mean(mode_beta)
    if at_mle is None or at_mode is None:
        return NaturalEstimates(np.nan, np.nan, np.nan)
    prior = priors.natural

    def log_prior(value: float) -> float:
        return 0.0 if prior is None else float(prior.logpdf(value))

    def loglike(mu: np.ndarray, u: float) -> float:
        if not np.isfinite(u) or abs(u) > 700:
            return -np.inf
        return post.loglike(mu, float(np.exp(u)))

    u_mle = _argmax(lambda u: loglike(at_mle[1], u), start)
    u_mode = _argmax(lambda u: loglike(at_mode[1], u) + log_prior(np.exp(u)), start)
    h = 1e-3
    values = [loglike(at_mle[1], u_mle + k * h) for k in (-1, 0, 1)]
    curvature = -(values[0] - 2 * values[1] + values[2]) / h**2  # in u = log(natural)
    estimate = float(np.exp(u_mle))
    se = estimate / np.sqrt(curvature) if np.isfinite(curvature) and curvature > 0 else np.nan
    return NaturalEstimates(estimate, float(se), float(np.exp(u_mode)))


def _argmax(objective, start: float) -> float:
    """Where a smooth one-dimensional objective (of u = log(natural)) is largest,
    searched from ``start``; ``start`` when the objective is not finite there.

    Newton steps on central differences (h = 1e-5), each step halved until the
    objective does not fall; where the objective is not concave, a unit step uphill.
    Rounding in the objective limits its precision (tests/test_laplace.py checks it
    against the root of the exact derivative). Written here rather than taken from
    scipy.optimize, whose import every fit of a family with a dispersion would pay.
    """
    h = 1e-5
    u, value = start, objective(start)
    if not np.isfinite(value):
        return start
    for _ in range(100):
        above, below = objective(u + h), objective(u - h)
        slope = (above - below) / (2 * h)
        curvature = (above - 2 * value + below) / h**2
        if not (np.isfinite(slope) and np.isfinite(curvature)):
            break
        step = -slope / curvature if curvature < 0 else float(np.sign(slope))
        step = float(np.clip(step, -5.0, 5.0))
        while abs(step) > 1e-15 * (1 + abs(u)):
            candidate = objective(u + step)
            if candidate >= value:
                break
            step /= 2
        else:
            break  # no step uphill: u is the maximum to rounding
        u, value = u + step, candidate
        if abs(step) < 1e-12 * (1 + abs(u)):
            break
    return u


def _posterior(
    design: Design, spec: Spec, priors: ResolvedPriors
) -> _Posterior | _SufficientPosterior:
    statistics = getattr(design, "statistics", None)  # Dask rows held as their statistics
    if statistics is not None:
        return _SufficientPosterior(
            spec=spec,
            priors=priors,
            centering=priors.centering,
            statistics=statistics,
            case_weights=np.array([statistics.weight]),
        )
    active = design.active
    return _Posterior(
        X=design.X[active],
        y=design.y[active],
        y_mean=design.y_mean[active],
        trials=design.trial_counts[active],
        weights=design.prior_weights[active],
        case_weights=design.case_weights[active],
        offset=design.eta_offset[active],
        spec=spec,
        priors=priors,
        centering=priors.centering,
    )


def _start_beta(post: _Posterior, design: Design, mle: MLEResult | None) -> np.ndarray:
    if mle is not None and mle.converged and not mle.separation:
        if post.mean(mle.params_array) is not None:
            return mle.params_array.copy()
    beta = np.zeros(design.p)
    if design.intercept is not None:
        total = np.sum(post.case_weights)
        ybar = design.ybar
        with np.errstate(all="ignore"):
            start = float(post.spec.link.link(np.float64(ybar)))
            if not np.isfinite(start):  # all outcomes 0 (or 1): shrink off the edge
                ybar = (total * ybar + 0.5) / (total + 1.0)
                start = float(post.spec.link.link(np.float64(ybar)))
        beta[design.intercept] = start / design.X[0, design.intercept]
    if post.mean(beta) is None:
        raise BayesGLMError(
            "no valid starting point for the posterior mode (the means leave the family's "
            "range); check the link and offset; got (link="
            f"{post.spec.link.name!r})."
        )
    return beta


def _start_natural(design: Design, family: Family, mle: MLEResult | None) -> float:
    if mle is not None and mle.converged:
        held = mle.family.known_natural  # the negative binomial's fitted or given theta
        if held is not None:
            return float(held)
        natural = family.natural_from_phi(mle.dispersion)
        if natural is not None and np.isfinite(natural) and natural > 0:
            return float(natural)
    return family.natural_scale(design.ybar, design.y_sd)


def _line_search(
    post: _Posterior, beta: np.ndarray, step: np.ndarray, natural
) -> np.ndarray | None:
    """The first of beta + step, beta + step / 2, ... that is valid and not worse
    (to rounding); None when there is none."""

    def value(b: np.ndarray) -> float:
        state = post.mean(b)
        if state is None:
            return -np.inf
        return post.loglike(state[1], natural) + post.log_prior_beta(b)

    current = value(beta)
    for _ in range(50):
        candidate = beta + step
        found = value(candidate)
        # An invalid mean (-inf) is never accepted, even from a start at -inf.
        if found > -np.inf and found >= current - 1e-10 * (abs(current) + 1.0):
            return candidate
        step = step / 2.0
    return None


def _u_objective(post: _Posterior, mu: np.ndarray, u: float) -> float:
    if not np.isfinite(u) or abs(u) > 700:
        return -np.inf
    return post.loglike(mu, float(np.exp(u))) + post.log_prior_u(u)


def _best_u(post: _Posterior, beta: np.ndarray, u: float) -> float:
    mu = post.valid_mean(beta)[1]
    return _argmax(lambda v: _u_objective(post, mu, v), u)


def _curvature_u(post: _Posterior, beta: np.ndarray, u: float) -> float:
    mu = post.valid_mean(beta)[1]
    h = 1e-3
    f = [_u_objective(post, mu, u + k * h) for k in (-1, 0, 1)]
    curvature = -(f[0] - 2 * f[1] + f[2]) / h**2
    return curvature if np.isfinite(curvature) and curvature > 1e-8 else 1.0
