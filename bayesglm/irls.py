r"""Maximum likelihood by iteratively reweighted least squares (Fisher scoring).

numpy/scipy only. Each iteration solves for the *step* rather than the new
coefficients,

.. math::
    (X^\top W X)\,\delta = X^\top W (z - \eta), \qquad
    z - \eta = (y - \mu)\,\frac{d\eta}{d\mu}, \qquad
    W = \frac{w}{V(\mu)\,(d\eta/d\mu)^2},

so rounding in the solve shrinks with the step and the fixed point is the exact
root of the score equations. :math:`X^\top W X` is accumulated in row blocks (no
weighted copy of :math:`X`) and solved by a column-scaled Cholesky factorization;
an ill-conditioned problem switches to a QR solve of :math:`W^{1/2}X`.

Iterates are guarded here, never inside the links: a step that leaves the family's
domain or raises the deviance is halved. Convergence is declared when the Newton
decrement :math:`\delta^\top X^\top W X \delta / \phi` (the squared step in
standard-error units) falls below ``tol``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import linalg, optimize, special

from ._xp import Interval
from .design import Design, design_from_arrays
from .errors import BayesGLMError, ConvergenceWarning, SeparationWarning
from .families import Family, NegativeBinomial, Spec, resolve
from .mle import MLEResult

__all__ = ["fit_design", "fit_mle"]

_BLOCK_BYTES = 1 << 22  # rows per block of X^T W X: about 4 MB of weighted rows
_MAX_HALVINGS = 40
_RCOND_QR = 1e-8  # below this reciprocal condition of X^T W X, solve by QR instead
_ALIAS_TOL = 1e-11  # R's qr() tolerance: relative residual norm of an aliased column


def fit_mle(
    X: Any,
    y: Any,
    *,
    family: str | Family,
    link: str | None = None,
    offset: Any = None,
    weights: Any = None,
    trials: Any = None,
    names: Sequence[str] | None = None,
    start: Any = None,
    tol: float = 1e-20,
    max_iter: int = 100,
) -> MLEResult:
    r"""Fit a GLM by maximum likelihood (IRLS / Fisher scoring).

    Parameters
    ----------
    X : array_like or DataFrame, shape (n, p)
        The model matrix, including the intercept column if wanted.
    y : array_like, shape (n,)
        The response; for the binomial the number of successes.
    family : str or Family
        A name from :data:`bayesglm.families.FAMILIES`, or a family instance
        (e.g. ``NegativeBinomial(theta=2.0)`` to hold theta fixed).
    link : str, optional
        A link allowed for the family; the canonical link by default.
    offset : array_like, optional
        Known term added to the linear predictor.
    weights : array_like, optional
        Prior weights, as R's ``glm(weights=)``: precision weights for the gaussian,
        frequency weights for the other families.
    trials : array_like, optional
        Number of trials per row (binomial only).
    names : sequence of str, optional
        Column names (taken from a DataFrame's columns by default).
    start : array_like, optional
        Starting coefficients; rarely needed.
    tol : float
        Convergence threshold on the squared Newton step in standard-error units.
    max_iter : int
        Maximum number of Fisher-scoring iterations.

    Returns
    -------
    MLEResult

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 0, 1, 2, 3])
    >>> fit = fit_mle(np.ones((5, 1)), y, family="poisson", names=["Intercept"])
    >>> round(fit.deviance, 6)  # R: glm(y ~ 1, family = poisson)$deviance
    7.176404
    """
    spec = resolve(family, link)
    design = design_from_arrays(
        X, y, spec, names=names, offset=offset, weights=weights, trials=trials
    )
    return fit_design(design, spec, start=start, tol=tol, max_iter=max_iter)


def fit_design(
    design: Design,
    spec: Spec,
    *,
    start: Any = None,
    tol: float = 1e-20,
    max_iter: int = 100,
) -> MLEResult:
    """Fit a validated :class:`~bayesglm.design.Design` (see :func:`fit_mle`)."""
    problem = _Problem.from_design(design, spec)
    beta0 = None if start is None else _start_vector(start, design.p)
    family = spec.family
    if isinstance(family, NegativeBinomial) and family.theta is None:
        return _fit_negative_binomial(problem, design, spec, beta0, tol, max_iter)
    state = _irls(problem, spec, beta0, tol, max_iter)
    return _result(problem, design, spec, state)


@dataclass(frozen=True)
class _Problem:
    """The data on the IRLS scale: mean-scale response and effective weights."""

    X: np.ndarray
    y: np.ndarray  # mean scale: y / trials
    weights: np.ndarray  # prior weights x trials
    offset: np.ndarray
    active: np.ndarray  # rows with positive weight
    names: tuple[str, ...]
    intercept: int | None  # index of the constant column

    @classmethod
    def from_design(cls, design: Design, spec: Spec) -> _Problem:
        n = design.n
        weights = np.ones(n) if design.weights is None else design.weights
        y = design.y
        if design.trials is not None:
            trials = design.trials
            y = np.divide(y, trials, out=np.zeros(n), where=trials > 0)
            weights = weights * trials
        offset = np.zeros(n) if design.offset is None else design.offset
        return cls(design.X, y, weights, offset, weights > 0, design.names, design.intercept)


@dataclass
class _State:
    """Iteration state, kept apart from the immutable problem."""

    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    deviance: float
    n_iter: int = 0
    converged: bool = False
    solver: _Solver | None = None  # the last linear solve, reused for the covariance
    messages: list[str] = field(default_factory=list)


def _start_vector(start: Any, p: int) -> np.ndarray:
    beta = np.array(start, dtype=float).reshape(-1)
    if beta.shape != (p,) or not np.isfinite(beta).all():
        raise BayesGLMError(
            f"start must hold {p} finite coefficients, one per column; got (start={start!r})."
        )
    return beta


# --- linear algebra -----------------------------------------------------------------


def _block_rows(p: int) -> int:
    return max(256, _BLOCK_BYTES // (8 * p))


def weighted_gram(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    r""":math:`X^\top W X`, accumulated over row blocks without a weighted copy of X."""
    n, p = X.shape
    gram = np.zeros((p, p))
    block = _block_rows(p)
    sqrt_w = np.sqrt(w)
    for lo in range(0, n, block):
        rows = X[lo : lo + block] * sqrt_w[lo : lo + block, None]
        gram = linalg.blas.dsyrk(1.0, rows.T, c=gram, beta=1.0, overwrite_c=True)
    return np.triu(gram) + np.triu(gram, 1).T


def _factor(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Column-scaled Cholesky factor and its reciprocal condition (None if it fails)."""
    scale = np.sqrt(np.diag(gram))
    if not (scale > 0).all():
        return None
    scaled = gram / np.outer(scale, scale)
    try:
        chol = linalg.cholesky(scaled, lower=False)
    except linalg.LinAlgError:
        return None
    rcond, info = linalg.lapack.dpocon(chol, 1.0 * np.abs(scaled).sum(axis=0).max())
    return chol, scale, float(rcond) if info == 0 else 0.0


class _SingularWeightsError(ArithmeticError):
    """The IRLS weights vanish on rows a column needs (fitted means on a boundary)."""


class _Solver:
    """Solves :math:`(X^\\top W X)\\delta = X^\\top W r` and gives the inverse.

    Cholesky of the column-scaled normal equations when they are well conditioned;
    otherwise the columns are first checked for aliasing (exactly, on X) and the
    solve moves to a QR factorization of :math:`W^{1/2} X`.
    """

    def __init__(self, problem: _Problem, w: np.ndarray, use_qr: bool) -> None:
        X = problem.X
        self.use_qr = use_qr
        if not use_qr:
            factor = _factor(weighted_gram(X, w))
            if factor is not None and factor[2] >= _RCOND_QR:
                self.chol, self.scale, _ = factor
                return
            _refuse_aliased(problem)
            self.use_qr = True
        self.sqrt_w = np.sqrt(w)
        self.q, self.r = linalg.qr(X * self.sqrt_w[:, None], mode="economic")
        diagonal = np.abs(np.diag(self.r))
        if not diagonal.min() > _ALIAS_TOL * diagonal.max():
            raise _SingularWeightsError

    def step(
        self, X: np.ndarray, w: np.ndarray, working_residual: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """The step and its Newton decrement step' X'W r (one pass over X)."""
        if self.use_qr:
            rhs = self.q.T @ (self.sqrt_w * working_residual)
            return linalg.solve_triangular(self.r, rhs), float(rhs @ rhs)
        score = X.T @ (w * working_residual)
        step = linalg.cho_solve((self.chol, False), score / self.scale) / self.scale
        return step, float(step @ score)

    def inverse(self) -> np.ndarray:
        r"""The unscaled covariance :math:`(X^\top W X)^{-1}`."""
        if self.use_qr:
            r_inv = linalg.solve_triangular(self.r, np.eye(self.r.shape[0]))
            return r_inv @ r_inv.T
        inv_scaled = linalg.cho_solve((self.chol, False), np.eye(self.chol.shape[0]))
        return inv_scaled / np.outer(self.scale, self.scale)


def _refuse_aliased(problem: _Problem) -> None:
    X = problem.X if problem.active.all() else problem.X[problem.active]
    aliased = _aliased_columns(X, problem.names)
    if aliased:
        raise BayesGLMError(
            "the model matrix is rank deficient: column(s) "
            f"{', '.join(map(repr, aliased))} are linear combinations of earlier columns; "
            "drop them or merge levels; got (aliased=" + repr(aliased) + ")."
        )


def _aliased_columns(X: np.ndarray, names: Sequence[str]) -> list[str]:
    """Columns that are (numerically) combinations of earlier ones, R's way.

    Sequential Gram-Schmidt (re-orthogonalized) on the column-normalized X: a
    column whose residual norm is below R's 1e-11 tolerance is aliased. Only run
    when the normal equations are ill conditioned, so its cost is rare.
    """
    norms = np.linalg.norm(X, axis=0)
    basis: list[np.ndarray] = []
    aliased = []
    for j in range(X.shape[1]):
        column = X[:, j] / norms[j] if norms[j] > 0 else X[:, j]
        residual = column
        for _ in range(2):  # classical Gram-Schmidt, re-orthogonalized
            for q in basis:
                residual = residual - (q @ residual) * q
        size = np.linalg.norm(residual)
        if norms[j] == 0 or size < _ALIAS_TOL:
            aliased.append(names[j])
        else:
            basis.append(residual / size)
    return aliased


# --- Fisher scoring -----------------------------------------------------------------


def _mean_valid(spec: Spec, eta: np.ndarray, mu: np.ndarray) -> bool:
    """Whether the means are usable; a mean on the closed boundary (a probability
    that rounds to 1) is kept when the deviance stays finite there."""
    domain = spec.family.mean_domain
    closed = Interval(domain.low, domain.high, True, True)
    return bool(
        np.isfinite(mu).all()
        and spec.link.eta_domain.includes(eta).all()
        and closed.includes(mu).all()
    )


def _deviance(problem: _Problem, family: Family, mu: np.ndarray) -> float:
    a = problem.active
    return float(np.sum(problem.weights[a] * family.unit_deviance(problem.y[a], mu[a])))


def _evaluate(problem: _Problem, spec: Spec, beta: np.ndarray) -> _State | None:
    eta = problem.X @ beta + problem.offset
    with np.errstate(all="ignore"):
        mu = spec.link.inverse(eta)
        if not _mean_valid(spec, eta[problem.active], mu[problem.active]):
            return None
        deviance = _deviance(problem, spec.family, mu)
    if not np.isfinite(deviance):
        return None
    return _State(beta, eta, mu, deviance)


def _working(problem: _Problem, spec: Spec, state: _State) -> tuple[np.ndarray, np.ndarray]:
    """IRLS weights and working residual :math:`z - \\eta` at the current state."""
    dmu_deta = spec.link.inverse_deriv(state.eta)
    variance = spec.family.variance(state.mu)
    with np.errstate(all="ignore"):
        # Means that round onto the boundary carry no information (0/0 there).
        w = _finite_or_zero(problem.weights * dmu_deta**2 / variance)
        residual = _finite_or_zero((problem.y - state.mu) / dmu_deta)
    w[~problem.active] = 0.0
    residual[~problem.active] = 0.0
    return w, residual


def _finite_or_zero(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, 0.0)


def _first_state(problem: _Problem, spec: Spec, beta0: np.ndarray | None) -> _State:
    """A valid starting state: the user's, R's mustart step, or the null model."""
    if beta0 is not None:
        state = _evaluate(problem, spec, beta0)
        if state is None:
            raise BayesGLMError(
                "the starting coefficients give means outside the family's range; "
                "pass other start= values or none; got (start=" + repr(beta0.tolist()) + ")."
            )
        return state
    family, link = spec.family, spec.link
    with np.errstate(all="ignore"):
        mu0 = family.starting_mu(problem.y, problem.weights)
        eta0 = link.link(mu0)
        if _mean_valid(spec, eta0[problem.active], mu0[problem.active]):
            pseudo = _State(np.zeros(problem.X.shape[1]), eta0, mu0, np.inf)
            w, residual = _working(problem, spec, pseudo)
            z = eta0 - problem.offset + residual
            solver = _Solver(problem, w, use_qr=False)
            state = _evaluate(problem, spec, solver.step(problem.X, w, z)[0])
            if state is not None:
                return state
    return _null_start(problem, spec)


def _null_start(problem: _Problem, spec: Spec) -> _State:
    """Start from the intercept-only fit (slopes zero), valid by construction."""
    X = problem.X
    if problem.intercept is None:
        raise BayesGLMError(
            "no valid starting values could be found (the model has no intercept and the "
            "default start leaves the family's range); pass start= coefficients; "
            "got (start=None)."
        )
    j = problem.intercept
    null = _null_fit(problem, spec)
    beta = np.zeros(X.shape[1])
    beta[j] = null.beta[0] / X[0, j]
    state = _evaluate(problem, spec, beta)
    if state is None:  # pragma: no cover - the null fit is valid by construction
        raise BayesGLMError("no valid starting values; pass start=; got (start=None).")
    return state


def _null_fit(problem: _Problem, spec: Spec) -> _State:
    """Intercept-only fit with the offset (R's null model)."""
    ones = _Problem(
        np.ones((problem.X.shape[0], 1)),
        problem.y,
        problem.weights,
        problem.offset,
        problem.active,
        ("(Intercept)",),
        0,
    )
    a = problem.active
    ybar = np.sum(problem.weights[a] * problem.y[a]) / np.sum(problem.weights[a])
    with np.errstate(all="ignore"):
        start = spec.link.link(np.float64(ybar)) - np.average(
            problem.offset[a], weights=problem.weights[a]
        )
    state = _evaluate(ones, spec, np.array([start]))
    if state is None:
        state = _first_state(ones, spec, None) if not problem.offset.any() else None
    if state is None:
        state = _scan_intercept(ones, spec)
    return _iterate(ones, spec, state, 1e-24, 200)


def _scan_intercept(problem: _Problem, spec: Spec) -> _State:
    for value in np.concatenate([np.linspace(-30, 30, 121), [1e-3, 1.0, 10.0]]):
        state = _evaluate(problem, spec, np.array([value]))
        if state is not None:
            return state
    raise BayesGLMError(
        "no valid intercept-only starting value exists for this offset and link; "
        "pass start= coefficients; got (start=None)."
    )


def _irls(
    problem: _Problem, spec: Spec, beta0: np.ndarray | None, tol: float, max_iter: int
) -> _State:
    return _iterate(problem, spec, _first_state(problem, spec, beta0), tol, max_iter)


def _phi_estimate(problem: _Problem, spec: Spec, state: _State, rank: int) -> float:
    if not spec.family.free_phi:
        return 1.0
    df = int(problem.active.sum()) - rank
    if df <= 0:
        return 1.0
    pearson = _pearson(problem, spec.family, state.mu)
    return max(pearson / df, np.finfo(float).tiny)


def _pearson(problem: _Problem, family: Family, mu: np.ndarray) -> float:
    a = problem.active
    residual = problem.y[a] - mu[a]
    with np.errstate(all="ignore"):
        terms = problem.weights[a] * residual**2 / family.variance(mu[a])
    return float(np.sum(np.where(residual == 0, 0.0, terms)))


def _iterate(problem: _Problem, spec: Spec, state: _State, tol: float, max_iter: int) -> _State:
    X = problem.X
    use_qr = False
    previous_decrement = np.inf
    for iteration in range(1, max_iter + 1):
        w, residual = _working(problem, spec, state)
        try:
            solver = _Solver(problem, w, use_qr)
        except _SingularWeightsError:
            break  # means have run onto the boundary (separation): stop, not converged
        use_qr = solver.use_qr
        step, decrement = solver.step(X, w, residual)
        decrement /= _phi_estimate(problem, spec, state, X.shape[1])
        new = _halve(problem, spec, state, step)
        new.n_iter = iteration
        new.solver = solver
        new.messages = state.messages
        state = new
        stalled = decrement >= previous_decrement and decrement < 1e-12
        if decrement < tol or stalled:
            state.converged = True
            break
        previous_decrement = decrement
    return state


def _halve(problem: _Problem, spec: Spec, state: _State, step: np.ndarray) -> _State:
    """Take the step, halving it while it leaves the domain or raises the deviance."""
    # What rounding alone can change in the deviance: its terms are computed from
    # y and mu, each good to a few ulps (large counts make this far above 1e-12).
    a = problem.active
    rounding = (
        100
        * np.finfo(float).eps
        * float(np.sum(problem.weights[a] * (np.abs(problem.y[a]) + np.abs(state.mu[a]))))
    )
    allowance = 1e-12 * (abs(state.deviance) + 1.0) + rounding
    for _ in range(_MAX_HALVINGS):
        candidate = _evaluate(problem, spec, state.beta + step)
        if candidate is not None and candidate.deviance <= state.deviance + allowance:
            return candidate
        step = step / 2.0
    return _State(state.beta, state.eta, state.mu, state.deviance)


# --- negative binomial theta ----------------------------------------------------------


THETA_MAX = 1e6  # a theta this large is a Poisson for every practical purpose


def _theta_ml(
    problem: _Problem, mu: np.ndarray, theta0: float | None
) -> tuple[float, float, bool]:
    """Maximum-likelihood theta given the means (MASS::theta.ml), its SE, and whether
    it had to be held at THETA_MAX (no finite maximum: counts not overdispersed)."""
    a = problem.active
    y, w, mu = problem.y[a], problem.weights[a], mu[a]
    if theta0 is None:
        theta0 = float(np.sum(w) / np.sum(w * (y / mu - 1.0) ** 2))
    theta = theta0
    for _ in range(200):
        theta = abs(theta)
        score = np.sum(
            w
            * (
                special.digamma(theta + y)
                - special.digamma(theta)
                + np.log(theta)
                + 1.0
                - np.log(theta + mu)
                - (y + theta) / (mu + theta)
            )
        )
        info = np.sum(
            w
            * (
                -special.polygamma(1, theta + y)
                + special.polygamma(1, theta)
                - 1.0 / theta
                + 2.0 / (mu + theta)
                - (y + theta) / (mu + theta) ** 2
            )
        )
        delta = score / info
        theta = theta + delta
        if not np.isfinite(theta) or abs(theta) > THETA_MAX or (info <= 0 and score > 0):
            return THETA_MAX, float("inf"), True
        if abs(delta) <= 1e-12 * max(theta, 1.0):
            break
    else:
        return THETA_MAX, float("inf"), True
    if not theta > 0:
        raise BayesGLMError(
            "theta of the negative binomial has no positive maximum-likelihood "
            "estimate; use family='poisson'; got (theta=" + repr(theta) + ")."
        )
    info = np.sum(
        w
        * (
            -special.polygamma(1, theta + y)
            + special.polygamma(1, theta)
            - 1.0 / theta
            + 2.0 / (mu + theta)
            - (y + theta) / (mu + theta) ** 2
        )
    )
    return float(theta), float(np.sqrt(1.0 / info)), False


def _fit_negative_binomial(
    problem: _Problem,
    design: Design,
    spec: Spec,
    beta0: np.ndarray | None,
    tol: float,
    max_iter: int,
) -> MLEResult:
    """Alternate IRLS for beta at fixed theta and ML for theta, as MASS::glm.nb."""
    from .families import Poisson

    state = _irls(problem, Spec(Poisson(), spec.link), beta0, tol, max_iter)
    theta, _, capped = _theta_ml(problem, state.mu, None)
    for _ in range(max_iter):
        fixed = Spec(spec.family.with_params(theta=theta), spec.link)
        state = _iterate(problem, fixed, _rescore(problem, fixed, state), tol, max_iter)
        new_theta, theta_se, capped = _theta_ml(problem, state.mu, theta)
        change = abs(new_theta - theta) / theta
        theta = new_theta
        if change < 1e-11 and state.converged:
            break
    else:
        state.converged = False
    fixed = Spec(spec.family.with_params(theta=theta), spec.link)
    state = _iterate(problem, fixed, _rescore(problem, fixed, state), tol, max_iter)
    if capped:
        text = (
            "theta of the negative binomial has no finite maximum-likelihood estimate: "
            "the counts are not overdispersed, so the likelihood keeps rising towards "
            f"the Poisson limit; theta is held at {THETA_MAX:g} (a Poisson fit); "
            "consider family='poisson'."
        )
        state.messages.append(text)
        warnings.warn(text, ConvergenceWarning, stacklevel=3)
    return _result(problem, design, fixed, state, theta_se=theta_se)


def _rescore(problem: _Problem, spec: Spec, state: _State) -> _State:
    fresh = _evaluate(problem, spec, state.beta)
    assert fresh is not None
    return fresh


# --- separation ---------------------------------------------------------------------


def _separated_columns(
    problem: _Problem, names: Sequence[str], intercept: int | None
) -> list[str]:
    """The predictors along which the outcomes are separated (empty if none).

    Konis's (2007) linear program, in a form that also picks the sparsest
    direction: minimize the L1 norm of b (the intercept free) subject to
    x_i b >= 0 where y_i = 1, x_i b <= 0 where y_i = 0, x_i b = 0 otherwise, and
    the sum of |x_i b| equal to 1. It is feasible exactly when the data are
    (quasi-)completely separated: the likelihood then keeps rising along b.
    """
    a = problem.active
    X, y = problem.X[a], problem.y[a]
    scale = np.abs(X).max(axis=0)
    scale[scale == 0] = 1.0
    Xs = X / scale
    extreme = (y <= 0.0) | (y >= 1.0)
    signed = np.where(y[extreme] >= 1.0, 1.0, -1.0)[:, None] * Xs[extreme]
    middle = Xs[~extreme]
    p = X.shape[1]
    penalty = np.ones(p)
    if intercept is not None:
        penalty[intercept] = 1e-6
    split = np.hstack  # b = b_plus - b_minus, both >= 0
    result = optimize.linprog(
        np.r_[penalty, penalty],
        A_ub=split([-signed, signed]),
        b_ub=np.zeros(signed.shape[0]),
        A_eq=np.vstack([split([middle, -middle]), split([signed.sum(0), -signed.sum(0)])]),
        b_eq=np.r_[np.zeros(middle.shape[0]), 1.0],
        bounds=(0, None),
        method="highs",
    )
    if result.status != 0:
        return []
    direction = result.x[:p] - result.x[p:]
    involved = np.flatnonzero(np.abs(direction) > 1e-9 * np.abs(direction).max())
    # The intercept only shifts the separating threshold: name the predictors,
    # unless the intercept alone separates (all outcomes the same).
    predictors = [j for j in involved if j != intercept]
    return [names[j] for j in (predictors or involved)]


def _suspect_separation(problem: _Problem, state: _State) -> bool:
    mu = state.mu[problem.active]
    return bool((mu < 1e-8).any() or (mu > 1.0 - 1e-8).any() or not state.converged)


# --- result -------------------------------------------------------------------------


def _result(
    problem: _Problem,
    design: Design,
    spec: Spec,
    state: _State,
    theta_se: float | None = None,
) -> MLEResult:
    family, link = spec.family, spec.link
    X = problem.X
    a = problem.active
    p = X.shape[1]
    n_ok = int(a.sum())
    w, _ = _working(problem, spec, state)
    try:
        # As R: the covariance from the last iteration's weights (the fit has
        # converged to well below 1e-9 SE, so they equal the final weights).
        solver = state.solver or _Solver(problem, w, use_qr=False)
        cov_unscaled = solver.inverse()
    except _SingularWeightsError:
        cov_unscaled = np.full((p, p), np.nan)
    df_resid = n_ok - p
    pearson = _pearson(problem, family, state.mu)
    if family.free_phi:
        dispersion = pearson / df_resid if df_resid > 0 else float("nan")
    else:
        dispersion = 1.0

    if design.intercept is not None and problem.offset.any():
        null_deviance = _null_fit(problem, spec).deviance
    elif design.intercept is not None:
        ybar = np.sum(problem.weights[a] * problem.y[a]) / np.sum(problem.weights[a])
        null_deviance = _deviance(problem, family, np.full(X.shape[0], ybar))
    else:
        null_deviance = _deviance(problem, family, link.inverse(problem.offset))
    df_null = n_ok - (1 if design.intercept is not None else 0)

    prior_weights = np.ones(design.n) if design.weights is None else design.weights
    natural = family.aic_dispersion(state.deviance, prior_weights[a])
    trials = 1.0 if design.trials is None else design.trials[a]
    llf = float(
        np.sum(
            family.loglike_obs(
                design.y[a],
                state.mu[a],
                natural,
                trials=trials,
                weights=prior_weights[a],
            )
        )
    )
    k = p + (1 if family.dispersion is not None else 0)

    messages = list(state.messages)
    separation: tuple[str, ...] = ()
    if family.is_probability and _suspect_separation(problem, state):
        separation = tuple(_separated_columns(problem, design.names, design.intercept))
        if separation:
            text = (
                "complete or quasi-complete separation: the outcome is perfectly predicted "
                f"along column(s) {', '.join(separation)}; their maximum-likelihood "
                "estimates do not exist (they diverge) and the standard errors are "
                "meaningless; use proper priors (the Bayesian fit) or remove or merge "
                "the separating predictors."
            )
            messages.append(text)
            warnings.warn(text, SeparationWarning, stacklevel=3)
    if not state.converged and not separation:
        text = (
            f"IRLS did not converge in {state.n_iter} iterations; the estimates may be "
            "unreliable; check for separation or extreme values, rescale predictors, "
            "raise max_iter=, or pass start= values."
        )
        messages.append(text)
        warnings.warn(text, ConvergenceWarning, stacklevel=3)

    return MLEResult(
        names=design.names,
        params=state.beta.copy(),
        cov_unscaled=cov_unscaled,
        dispersion=float(dispersion),
        deviance=state.deviance,
        null_deviance=float(null_deviance),
        df_resid=df_resid,
        df_null=df_null,
        llf=llf,
        k_params=k,
        nobs=n_ok,
        converged=state.converged,
        n_iter=state.n_iter,
        family=family,
        link=link,
        fitted=state.mu.copy(),
        eta=state.eta.copy(),
        y_mean=problem.y,
        irls_weights=w,
        prior_weights=problem.weights,
        theta_se=theta_se,
        solver="qr" if state.solver is not None and state.solver.use_qr else "cholesky",
        separation=separation,
        warnings=tuple(messages),
        design=design,
    )
