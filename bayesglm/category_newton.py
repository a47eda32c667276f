r"""Maximum likelihood for categorical outcomes: Newton–Raphson with the exact Hessian.

The log-likelihood :math:`\ell(\theta) = \sum_i w_i \log P(Y = y_i \mid x_i, \theta)`
(``w`` frequency weights) is maximized by Newton steps :math:`-H^{-1}g` with step
halving until the log-likelihood does not fall (and the cutpoints stay increasing),
which is the multivariate IRLS. The categorical log-likelihood is concave; the
cumulative one is for the log-concave links (logit, probit, cloglog, loglog), and
for the cauchit, where :math:`-H` may not be positive definite away from the
optimum, a ridge is added to it until it is.

The parameter vector :math:`\theta` is laid out as R reports it: the categorical's
coefficient vectors of the non-reference levels one after the other, the
cumulative's coefficients then its cutpoints.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from .category_design import CategoryDesign
from .category_families import CategorySpec, density_slope, survival

__all__ = ["NewtonFit", "Objective", "newton", "objective", "start"]

Objective = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]

_MAX_HALVINGS = 40


@dataclass(frozen=True)
class NewtonFit:
    """Where Newton–Raphson stopped: estimates, log-likelihood, Hessian there."""

    theta: np.ndarray
    llf: float
    gradient: np.ndarray
    hessian: np.ndarray
    converged: bool
    n_iter: int


def objective(spec: CategorySpec, cdesign: CategoryDesign) -> Objective:
    """``theta -> (log-likelihood, gradient, Hessian)``; -inf log-likelihood where
    ``theta`` is outside the parameter space (cutpoints not increasing)."""
    X, codes = cdesign.X, cdesign.codes
    w = cdesign.design.case_weights
    if spec.family.ordered:
        return lambda theta: _cumulative(theta, X, codes, w, cdesign.K, spec)
    return lambda theta: _categorical(theta, X, codes, w, cdesign.K, cdesign.reference)


def start(spec: CategorySpec, cdesign: CategoryDesign) -> np.ndarray:
    """The intercept-only (cutpoint-only) maximum: the observed proportions."""
    w = cdesign.design.case_weights
    counts = np.bincount(cdesign.codes, weights=w, minlength=cdesign.K)
    share = counts / counts.sum()
    p = len(cdesign.columns)
    if spec.family.ordered:
        return np.r_[np.zeros(p), spec.link.link(np.cumsum(share)[:-1])]
    B = np.zeros((cdesign.K - 1, p))
    intercept = cdesign.design.intercept
    if intercept is not None:
        others = [k for k in range(cdesign.K) if k != cdesign.reference]
        B[:, cdesign.columns.index(intercept)] = np.log(share[others] / share[cdesign.reference])
    return B.ravel()


def _categorical(
    theta: np.ndarray, X: np.ndarray, codes: np.ndarray, w: np.ndarray, K: int, ref: int
) -> tuple[float, np.ndarray, np.ndarray]:
    n, p = X.shape
    others = [k for k in range(K) if k != ref]
    B = theta.reshape(K - 1, p)
    eta = np.zeros((n, K))
    eta[:, others] = X @ B.T
    top = eta.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(eta - top).sum(axis=1))
    log_p = eta - log_norm[:, None]
    llf = float(np.sum(w * log_p[np.arange(n), codes]))
    P = np.exp(log_p)[:, others]
    Y = (codes[:, None] == np.asarray(others)[None, :]).astype(float)
    gradient = ((w[:, None] * (Y - P)).T @ X).ravel()
    # -H = sum_i w_i (diag(p_i) - p_i p_i') (x) x_i x_i', block (j, l) over levels.
    H = np.empty((K - 1, p, K - 1, p))
    for j in range(K - 1):
        for m in range(j, K - 1):
            c = w * P[:, j] * ((j == m) - P[:, m])
            block = -(X.T * c) @ X
            H[j, :, m, :] = block
            H[m, :, j, :] = block.T
    return llf, gradient, H.reshape((K - 1) * p, (K - 1) * p)


def _cumulative(
    theta: np.ndarray,
    X: np.ndarray,
    codes: np.ndarray,
    w: np.ndarray,
    K: int,
    spec: CategorySpec,
) -> tuple[float, np.ndarray, np.ndarray]:
    n, p = X.shape
    beta, zeta = theta[:p], theta[p:]
    q = len(theta)
    if np.any(np.diff(zeta) <= 0) or not np.all(np.isfinite(theta)):
        return -np.inf, np.zeros(q), np.zeros((q, q))
    eta = X @ beta
    link = spec.link
    # a: the row's upper cut, b: its lower one (+inf above the top level, -inf below
    # the bottom one, where F, f and f' are 1 or 0, 0, 0).
    has_a, has_b = codes < K - 1, codes > 0
    a = np.where(has_a, zeta[np.minimum(codes, K - 2)] - eta, 0.0)
    b = np.where(has_b, zeta[np.maximum(codes - 1, 0)] - eta, 0.0)
    upper = np.where(has_a & has_b, a + b > 0, ~has_a)
    with np.errstate(all="ignore"):
        Fa = np.where(has_a, link.inverse(a), 1.0)
        Fb = np.where(has_b, link.inverse(b), 0.0)
        Sa = np.where(has_a, survival(link, a), 0.0)
        Sb = np.where(has_b, survival(link, b), 1.0)
        prob = np.where(upper, Sb - Sa, Fa - Fb)
        fa = np.where(has_a, link.inverse_deriv(a), 0.0)
        fb = np.where(has_b, link.inverse_deriv(b), 0.0)
        dfa = np.where(has_a, density_slope(link, a), 0.0)
        dfb = np.where(has_b, density_slope(link, b), 0.0)
    if np.any(prob[w > 0] <= 0):
        return -np.inf, np.zeros(q), np.zeros((q, q))
    positive = w > 0
    llf = float(np.sum(w[positive] * np.log(prob[positive])))
    ga, gb = fa / prob, -fb / prob
    haa, hbb, hab = dfa / prob - ga**2, -dfb / prob - gb**2, -ga * gb
    # da/dtheta = (-x, e_code), db/dtheta = (-x, e_{code-1}); a missing cut has none.
    Ea = np.zeros((n, K - 1))
    Ea[np.flatnonzero(has_a), codes[has_a]] = 1.0
    Eb = np.zeros((n, K - 1))
    Eb[np.flatnonzero(has_b), codes[has_b] - 1] = 1.0
    A = np.hstack([-X, Ea])
    Bm = np.hstack([-X, Eb])
    gradient = A.T @ (w * ga) + Bm.T @ (w * gb)
    cross = (A.T * (w * hab)) @ Bm
    H = (A.T * (w * haa)) @ A + (Bm.T * (w * hbb)) @ Bm + cross + cross.T
    return llf, gradient, H


def _newton_step(gradient: np.ndarray, hessian: np.ndarray) -> np.ndarray:
    """:math:`(-H)^{-1} g`, with a growing ridge where :math:`-H` is not positive
    definite (the cauchit away from its optimum)."""
    information = -hessian
    scale = max(float(np.abs(np.diag(information)).max()), 1e-300)
    ridge = 0.0
    for _ in range(60):
        try:
            factor = linalg.cho_factor(information + ridge * np.eye(len(gradient)))
        except linalg.LinAlgError:
            ridge = max(2.0 * ridge, 1e-10 * scale)
            continue
        return linalg.cho_solve(factor, gradient)
    raise linalg.LinAlgError("the information matrix could not be made positive definite")


def newton(
    fn: Objective, theta: np.ndarray, *, tol: float = 1e-20, max_iter: int = 100
) -> NewtonFit:
    """Maximize ``fn`` by Newton–Raphson with step halving.

    Converged when the squared Newton step, in units of the estimates' standard
    errors (the diagonal of :math:`(-H)^{-1}`), is below ``tol`` for every
    parameter; or when it is below the square root of ``tol`` and a full step no
    longer changes the log-likelihood in floating point (rounding then makes the
    step noise).
    """
    llf, gradient, hessian = fn(theta)
    if not np.isfinite(llf):
        raise ValueError("the starting values are outside the parameter space")
    for iteration in range(1, max_iter + 1):
        try:
            step = _newton_step(gradient, hessian)
            with warnings.catch_warnings():
                # Diverging estimates (separation) make it ill-conditioned; the fit
                # warns about them itself.
                warnings.simplefilter("ignore", linalg.LinAlgWarning)
                variances = np.diag(linalg.inv(-hessian))
        except (linalg.LinAlgError, ValueError):
            return NewtonFit(theta, llf, gradient, hessian, False, iteration)
        with np.errstate(all="ignore"):
            size = float(np.max(step**2 / np.abs(variances)))
        if size < tol:
            return NewtonFit(theta, llf, gradient, hessian, True, iteration - 1)
        t = 1.0
        for _ in range(_MAX_HALVINGS):
            candidate = theta + t * step
            new = fn(candidate)
            if np.isfinite(new[0]) and new[0] >= llf - 1e-12 * abs(llf):
                break
            t /= 2.0
        else:
            return NewtonFit(theta, llf, gradient, hessian, size < np.sqrt(tol), iteration)
        still = new[0] == llf
        theta, (llf, gradient, hessian) = candidate, new
        if still and size < np.sqrt(tol):
            return NewtonFit(theta, llf, gradient, hessian, True, iteration)
    return NewtonFit(theta, llf, gradient, hessian, False, max_iter)
