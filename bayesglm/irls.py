r"""Maximum likelihood by iteratively reweighted least squares (Fisher scoring).

numpy/scipy only. Each iteration solves for the *step* rather than the new
coefficients,

.. math::
    (X^\top W X)\,\delta = X^\top W (z - \eta), \qquad
    z - \eta = (y - \mu)\,\frac{d\eta}{d\mu}, \qquad
    W = \frac{w}{V(\mu)\,(d\eta/d\mu)^2},

so rounding in the solve shrinks with the step and the fixed point is the exact
root of the score equations.

Each iteration reads X once: one sweep over cache-sized row blocks (split across
cores, ``_rowpass``) gives the linear predictor, the means, the deviance and the
next normal equations, :math:`X^\top W X` and :math:`X^\top W r`, with no
weighted copy of X. They are solved by a column-scaled Cholesky factorization; an
ill-conditioned design switches to a QR solve of :math:`W^{1/2}X`.

Iterates are guarded here, never inside the links: a step that leaves the family's
domain or raises the deviance is halved. Convergence is declared when the Newton
decrement :math:`\delta^\top X^\top W X \delta / \phi` (the squared step in
standard-error units) falls below ``tol``, or when the rate seen so far bounds the
next one below it, or when a step under 1e-5 SE has to be cut to lower the
deviance (it is rounding then; see ``_converged``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import linalg, optimize, special

from ._rowpass import blocks, map_row_ranges
from .design import Design, design_from_arrays
from .errors import BayesGLMError, ConvergenceWarning, PerfectFitWarning, SeparationWarning
from .families import Family, NegativeBinomial, Spec, resolve
from .mle import MLEResult

__all__ = ["fit_design", "fit_mle"]

_MAX_HALVINGS = 40
# A step under 1e-5 standard errors that had to be cut to lower the deviance is rounding.
_ROUNDING_DECREMENT = 1e-10
_CHUNK_ROWS = 1 << 15  # rows whose elementwise terms are computed together
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
    _refuse_extreme_columns(design)
    beta0 = None if start is None else _start_vector(start, design.p)
    family = spec.family
    if isinstance(family, NegativeBinomial) and family.theta is None:
        return _fit_negative_binomial(design, spec, beta0, tol, max_iter)
    state = _irls(design, spec, beta0, tol, max_iter)
    return _result(design, spec, state, counted_dispersion=family.estimates_dispersion)


# Columns whose squares (summed in X'WX) overflow or underflow double precision.
_COLUMN_SIZE_LIMITS = (1e-150, 1e150)


def _refuse_extreme_columns(design: Design) -> None:
    """Refuse a model-matrix column beyond what X'WX can hold: a column of 1e160
    overflowed inside the Cholesky solve (a raw ValueError), one of 1e-300 underflowed
    to zeros and was called a linear combination of the others."""
    low, high = _COLUMN_SIZE_LIMITS
    sizes = np.abs(design.X).max(axis=0)
    for name, size in zip(design.names, sizes, strict=True):
        if size > high or 0 < size < low:
            raise BayesGLMError(
                f"column {name!r} has values of size {size:.3g}, beyond what the fit's "
                f"normal equations (sums of its squares) hold in double precision; keep "
                f"columns between {low:g} and {high:g} in size: rescale it (a power of 10; "
                f"its coefficient scales inversely); got ({name} max |value|={size:.3g})."
            )


@dataclass
class _State:
    """The fit at ``beta`` and the normal equations for the step from there."""

    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    deviance: float
    w: np.ndarray  # IRLS weights at mu (zero on inactive rows)
    residual: np.ndarray  # what the score is taken against: the working residual
    gram: np.ndarray  # X'WX
    score: np.ndarray  # X'W residual
    pearson: float  # sum of w residual^2: Pearson's chi-square at mu
    n_iter: int = 0
    converged: bool = False
    used_qr: bool = False
    messages: list[str] = field(default_factory=list)


def _start_vector(start: Any, p: int) -> np.ndarray:
    beta = np.array(start, dtype=float).reshape(-1)
    if beta.shape != (p,) or not np.isfinite(beta).all():
        raise BayesGLMError(
            f"start must hold {p} finite coefficients, one per column; got (start={start!r})."
        )
    return beta


# --- one pass over the rows -----------------------------------------------------------


@dataclass
class _Sums:
    """A row range's share of a sweep."""

    p: int
    valid: bool = True
    deviance: float = 0.0
    pearson: float = 0.0
    gram: np.ndarray = field(init=False)
    score: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.gram = np.zeros((self.p, self.p))
        self.score = np.zeros(self.p)


def _sweep(
    design: Design,
    spec: Spec,
    beta: np.ndarray,
    start_means: tuple[np.ndarray, np.ndarray] | None = None,
) -> _State | None:
    """The fit at ``beta`` and the next normal equations, in one pass over X.

    Each block of rows is read once for the linear predictor, the means, the
    deviance, the IRLS weights, :math:`X^\\top W X` and the score. With
    ``start_means`` (eta, mu) it evaluates R's ``mustart`` state instead (``beta``
    is zero): the score is taken against the working response minus the offset,
    so the solve gives the coefficients themselves. None when a mean leaves the
    family's range or the deviance is not finite.
    """
    X = design.X
    n, p = X.shape
    eta, mu = (np.empty(n), np.empty(n)) if start_means is None else start_means
    w, residual = np.empty(n), np.empty(n)
    arrays = (eta, mu, w, residual)

    def part(lo: int, hi: int) -> _Sums:
        sums = _Sums(p)
        with np.errstate(all="ignore"):
            for start in range(lo, hi, _CHUNK_ROWS):
                rows = slice(start, min(start + _CHUNK_ROWS, hi))
                if not _sweep_rows(design, spec, beta, rows, arrays, sums, start_means):
                    return _Sums(p, valid=False)
        return sums

    parts = map_row_ranges(part, n, p)
    if not all(part.valid for part in parts):
        return None
    deviance = float(sum(part.deviance for part in parts))
    if start_means is not None:
        deviance = np.inf
    elif not np.isfinite(deviance):
        return None
    return _State(
        beta=beta,
        eta=eta,
        mu=mu,
        deviance=deviance,
        w=w,
        residual=residual,
        gram=sum((part.gram for part in parts), start=np.zeros((p, p))),
        score=sum((part.score for part in parts), start=np.zeros(p)),
        pearson=float(sum(part.pearson for part in parts)),
    )


def _sweep_rows(
    design: Design,
    spec: Spec,
    beta: np.ndarray,
    rows: slice,
    arrays: tuple[np.ndarray, ...],
    sums: _Sums,
    start_means: tuple[np.ndarray, np.ndarray] | None,
) -> bool:
    """Add one chunk of rows to ``sums`` (False when its means are invalid)."""
    eta, mu, w, residual = arrays
    X, family, link = design.X[rows], spec.family, spec.link
    if start_means is None:
        np.matmul(X, beta, out=eta[rows])
        eta[rows] += design.eta_offset[rows]
        mu[rows] = link.inverse(eta[rows])
    e, m, y, weights = eta[rows], mu[rows], design.y_mean[rows], design.case_weights[rows]
    all_active = design.n_active == design.n
    active = slice(None) if all_active else design.active[rows]
    if not spec.means_valid(e[active], m[active]):
        return False
    if start_means is None:
        sums.deviance += np.sum(weights[active] * family.unit_deviance(y[active], m[active]))
    w_rows, r_rows = spec.working_terms(y, e, m, weights)
    if not all_active:
        w_rows[~active] = 0.0
        r_rows[~active] = 0.0
    sqrt_w = np.sqrt(w_rows)
    target = sqrt_w * r_rows
    sums.pearson += float(target @ target)
    if start_means is not None:
        r_rows += e - design.eta_offset[rows]
        target = sqrt_w * r_rows
    w[rows], residual[rows] = w_rows, r_rows
    for block in blocks(0, X.shape[0], X.shape[1]):
        scaled = X[block] * sqrt_w[block, None]
        sums.gram += scaled.T @ scaled
        sums.score += scaled.T @ target[block]
    return True


def _deviance(design: Design, family: Family, mu: np.ndarray) -> float:
    a = design.active_rows
    return float(np.sum(design.case_weights[a] * family.unit_deviance(design.y_mean[a], mu[a])))


# --- linear algebra -----------------------------------------------------------------


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

    Cholesky of the column-scaled normal equations of the state when they are well
    conditioned; otherwise the columns are first checked for aliasing (exactly, on
    X) and the solve moves to a QR factorization of :math:`W^{1/2} X`.
    """

    def __init__(self, design: Design, state: _State, use_qr: bool) -> None:
        self.use_qr = use_qr
        if not use_qr:
            factor = _factor(state.gram)
            if factor is not None and factor[2] >= _RCOND_QR:
                self.chol, self.scale, _ = factor
                return
            _refuse_aliased(design)
            self.use_qr = True
        self.sqrt_w = np.sqrt(state.w)
        self.q, self.r = linalg.qr(design.X * self.sqrt_w[:, None], mode="economic")
        diagonal = np.abs(np.diag(self.r))
        if not diagonal.min() > _ALIAS_TOL * diagonal.max():
            raise _SingularWeightsError

    def step(self, state: _State) -> tuple[np.ndarray, float]:
        """The step and its Newton decrement step' X'W r."""
        if self.use_qr:
            rhs = self.q.T @ (self.sqrt_w * state.residual)
            return linalg.solve_triangular(self.r, rhs), float(rhs @ rhs)
        step = linalg.cho_solve((self.chol, False), state.score / self.scale) / self.scale
        return step, float(step @ state.score)

    def inverse(self) -> np.ndarray:
        r"""The unscaled covariance :math:`(X^\top W X)^{-1}`."""
        if self.use_qr:
            r_inv = linalg.solve_triangular(self.r, np.eye(self.r.shape[0]))
            return r_inv @ r_inv.T
        inv_scaled = linalg.cho_solve((self.chol, False), np.eye(self.chol.shape[0]))
        return inv_scaled / np.outer(self.scale, self.scale)


def _refuse_aliased(design: Design) -> None:
    X = design.X[design.active_rows]
    aliased = _aliased_columns(X, design.names)
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


def _first_state(design: Design, spec: Spec, beta0: np.ndarray | None) -> _State:
    """A valid starting state: the user's, R's mustart step, or the null model."""
    if beta0 is not None:
        state = _sweep(design, spec, beta0)
        if state is None:
            raise BayesGLMError(
                "the starting coefficients give means outside the family's range; "
                "pass other start= values or none; got (start=" + repr(beta0.tolist()) + ")."
            )
        return state
    with np.errstate(all="ignore"):
        mu0 = spec.family.starting_mu(design.y_mean, design.case_weights)
        eta0 = spec.link.link(mu0)
    start = _sweep(design, spec, np.zeros(design.X.shape[1]), start_means=(eta0, mu0))
    _refuse_unrepresentable_scale(design, spec, start)
    if start is not None:
        try:
            beta, _ = _Solver(design, start, use_qr=False).step(start)
        except _SingularWeightsError:
            return _null_start(design, spec)
        state = _sweep(design, spec, beta)
        if state is not None:
            state.n_iter = 1  # R counts this first weighted least-squares fit
            return state
    return _null_start(design, spec)


def _refuse_unrepresentable_scale(design: Design, spec: Spec, start: _State | None) -> None:
    """Refuse a response whose size puts the family's variance or deviance beyond
    double precision (V(mu) = mu^3 of 1e-160 is 0, (y - ybar)^2 of 1e160 is inf): the
    IRLS weights or the deviance are then 0, inf or nan, and the fit would recurse,
    stall or report a perfect fit. Rescaling y is the cure."""
    a = design.active_rows
    y, weights = design.y_mean[a], design.case_weights[a]
    with np.errstate(all="ignore"):
        null_deviance = _deviance(design, spec.family, np.full(design.n, design.ybar))
    w = None if start is None else start.w[a][weights > 0]
    broken = (
        not np.isfinite(null_deviance)
        or (null_deviance == 0.0 and np.ptp(y) > 0)  # underflow: y varies
        or (w is not None and (not np.isfinite(w).all() or not (w > 0).any()))
    )
    if broken:
        sizes = np.abs(y[y != 0]) if (y != 0).any() else np.abs(y)
        raise BayesGLMError(
            f"the response's size is beyond what double precision can fit for the "
            f"{spec.family.name}({spec.link.name}) model (its variance or deviance "
            "overflows or underflows); rescale y, e.g. multiply or divide it by a power "
            "of 10, and scale the coefficients back; "
            f"got (|y| from {sizes.min():.3g} to {sizes.max():.3g})."
        )


def _null_start(design: Design, spec: Spec) -> _State:
    """Start from the intercept-only fit (slopes zero), valid by construction."""
    X = design.X
    if design.intercept is None:
        raise BayesGLMError(
            "no valid starting values could be found (the model has no intercept and the "
            "default start leaves the family's range); pass start= coefficients; "
            "got (start=None)."
        )
    j = design.intercept
    null = _null_fit(design, spec)
    beta = np.zeros(X.shape[1])
    beta[j] = null.beta[0] / X[0, j]
    state = _sweep(design, spec, beta)
    if state is None:  # pragma: no cover - the null fit is valid by construction
        raise BayesGLMError("no valid starting values; pass start=; got (start=None).")
    return state


def _null_fit(design: Design, spec: Spec) -> _State:
    """Intercept-only fit with the offset (R's null model)."""
    ones = replace(design, X=np.ones((design.n, 1)), names=("(Intercept)",), intercept=0)
    with np.errstate(all="ignore"):
        start = spec.link.link(np.float64(design.ybar)) - design.weighted_mean(design.eta_offset)
    state = _sweep(ones, spec, np.array([start]))
    if state is None:
        # An intercept-only design has been through _first_state already: scan instead.
        retry = not design.eta_offset.any() and design.X.shape[1] > 1
        state = _first_state(ones, spec, None) if retry else None
    if state is None:
        state = _scan_intercept(ones, spec)
    return _iterate(ones, spec, state, 1e-24, 200)


def _scan_intercept(design: Design, spec: Spec) -> _State:
    for value in np.concatenate([np.linspace(-30, 30, 121), [1e-3, 1.0, 10.0]]):
        state = _sweep(design, spec, np.array([value]))
        if state is not None:
            return state
    raise BayesGLMError(
        "no valid intercept-only starting value exists for this offset and link; "
        "pass start= coefficients; got (start=None)."
    )


def _irls(
    design: Design, spec: Spec, beta0: np.ndarray | None, tol: float, max_iter: int
) -> _State:
    return _iterate(design, spec, _first_state(design, spec, beta0), tol, max_iter)


def _phi_estimate(design: Design, spec: Spec, state: _State) -> float:
    """The dispersion that puts the decrement in SE units; never below a 1e-10
    relative spread, where rounding in the means would pass for signal."""
    df = design.n_active - design.X.shape[1]
    if not spec.family.free_phi or df <= 0:
        return 1.0
    floor = 1e-20 * _mean_size(design, spec.family, state.mu)
    return max(state.pearson, floor, np.finfo(float).tiny) / df


def _iterate(design: Design, spec: Spec, state: _State, tol: float, max_iter: int) -> _State:
    previous_decrement = np.inf
    while state.n_iter < max_iter:
        try:
            solver = _Solver(design, state, state.used_qr)
        except _SingularWeightsError:
            break  # means have run onto the boundary (separation): stop, not converged
        step, decrement = solver.step(state)
        decrement /= _phi_estimate(design, spec, state)
        new, halved = _halve(design, spec, state, step)
        new.n_iter = state.n_iter + 1
        new.used_qr = solver.use_qr
        new.messages = state.messages
        state = new
        if _converged(decrement, previous_decrement, halved, tol):
            state.converged = True
            break
        previous_decrement = decrement
    return state


def _converged(decrement: float, previous: float, halved: bool, tol: float) -> bool:
    """Whether the step just taken leaves the fit within ``tol`` of the root.

    ``decrement`` is that step's squared length in standard-error units. Once steps
    are small (below 1e-3 SE) and untruncated, the next one is at most
    ``decrement**2 / previous``: Fisher scoring converges at least linearly at the
    rate just seen (Newton's rate, with the canonical link, is quadratic), so no
    further pass over the data is needed when that bound is below ``tol``.
    """
    if decrement < tol:
        return True
    if halved and decrement < _ROUNDING_DECREMENT:
        # The deviance cannot confirm a step this small above its rounding: eta = X beta
        # cancels large terms when a predictor sits far from zero (a year, a shifted
        # unit), so the fit is at the optimum to rounding and more passes only repeat.
        return True
    if decrement >= previous:
        return decrement < 1e-12  # stalled at the level of rounding
    return not halved and decrement < 1e-6 and decrement * decrement < tol * previous


def _halve(design: Design, spec: Spec, state: _State, step: np.ndarray) -> tuple[_State, bool]:
    """Take the step, halving it while it leaves the domain or raises the deviance.

    Returns the new state and whether the step was shortened.
    """
    for halvings in range(_MAX_HALVINGS):
        candidate = _sweep(design, spec, state.beta + step)
        if candidate is not None and not _deviance_rose(design, state, candidate):
            return candidate, halvings > 0
        step = step / 2.0
    return replace(state), True


def _deviance_rose(design: Design, state: _State, candidate: _State) -> bool:
    """Whether the candidate's deviance is higher by more than rounding can explain."""
    rise = candidate.deviance - state.deviance
    if rise <= 1e-12 * (abs(state.deviance) + 1.0):
        return False
    # What rounding alone can change in the deviance: its terms are computed from
    # y and mu, each good to a few ulps (large counts make this far above 1e-12).
    a = design.active_rows
    y, mu = design.y_mean[a], state.mu[a]
    magnitude = float(np.sum(design.case_weights[a] * (np.abs(y) + np.abs(mu))))
    return rise > 1e-12 * (abs(state.deviance) + 1.0) + 100 * np.finfo(float).eps * magnitude


# --- negative binomial theta ----------------------------------------------------------


THETA_MAX = 1e6  # a theta this large is a Poisson for every practical purpose
_THETA_MIN = 1e-8  # a maximum below this needs counts that are nearly all zero
_FIRST_STEP = 0.25  # first step of the bracket search, in log(theta)
_PROFILE_GRID = 10.0 ** np.arange(-1, 6)  # thetas where a held theta's profile is checked


@dataclass(frozen=True)
class _ThetaLikelihood:
    r"""The log-likelihood of theta at fixed means (MASS's ``theta.ml`` objective),
    as a function of :math:`t = \log\theta`:

    .. math::
        \ell(\theta) = \sum_i w_i\Bigl[\log\Gamma(y_i+\theta) - \log\Gamma(\theta)
            - \theta\log\Bigl(1 + \frac{\mu_i}{\theta}\Bigr)
            + y_i\log\frac{\mu_i}{\mu_i+\theta}\Bigr]

    without the :math:`-\log y_i!` terms. As :math:`\theta\to\infty` it tends to the
    Poisson log-likelihood :math:`\sum_i w_i(y_i\log\mu_i - \mu_i)`, with slope
    :math:`\tfrac12\sum_i w_i[(y_i-\mu_i)^2 - y_i]` in :math:`1/\theta`.
    """

    y: np.ndarray
    w: np.ndarray
    mu: np.ndarray

    def loglik(self, t: float) -> float:
        theta, y, mu = np.exp(t), self.y, self.mu
        terms = (
            special.gammaln(y + theta)
            - special.gammaln(theta)
            - theta * np.log1p(mu / theta)
            + special.xlogy(y, mu)
            - y * np.log(mu + theta)
        )
        return float(self.w @ terms)

    def score(self, t: float) -> float:
        """The slope of :meth:`loglik` in log(theta)."""
        theta, y, mu = np.exp(t), self.y, self.mu
        terms = (
            special.digamma(y + theta)
            - special.digamma(theta)
            - np.log1p(mu / theta)
            + (mu - y) / (mu + theta)
        )
        return float(theta * (self.w @ terms))

    def information(self, theta: float) -> float:
        """Minus the second derivative in theta (MASS's ``SE.theta`` comes from it)."""
        y, mu = self.y, self.mu
        terms = (
            special.polygamma(1, theta)
            - special.polygamma(1, theta + y)
            - 1.0 / theta
            + 2.0 / (mu + theta)
            - (y + theta) / (mu + theta) ** 2
        )
        return float(self.w @ terms)

    def poisson_limit(self) -> float:
        """:meth:`loglik` as theta grows without bound."""
        return float(self.w @ (special.xlogy(self.y, self.mu) - self.mu))

    def rises_to_the_limit(self) -> bool:
        """Whether the likelihood is still rising as theta grows without bound (the
        counts are not overdispersed about these means)."""
        return float(self.w @ ((self.y - self.mu) ** 2 - self.y)) <= 0.0

    def moment_log_theta(self) -> float:
        """MASS's starting value, sum(w) / sum(w (y/mu - 1)^2), on the log scale."""
        with np.errstate(all="ignore"):  # a mean of 0 or a perfect fit: no start here
            return float(np.log(np.sum(self.w)) - np.log(self.w @ (self.y / self.mu - 1.0) ** 2))


@dataclass(frozen=True)
class _ThetaEstimate:
    """Theta at given means, its SE, and why it is held at THETA_MAX (None if not)."""

    theta: float
    se: float
    held: str | None = None  # "poisson": no finite maximum; "beyond": one above THETA_MAX


def _theta_ml(design: Design, mu: np.ndarray, theta0: float | None) -> _ThetaEstimate:
    """Maximum-likelihood theta given the means, as MASS's ``theta.ml`` but safeguarded.

    The maximum is bracketed in log(theta) by steps that double from ``theta0`` (the
    moment estimate if None) and then located by Brent's method, so no step can
    overshoot. Theta is held at THETA_MAX only when the likelihood rises all the way
    there, or when it rises towards the Poisson limit and that limit is higher than
    the maximum found.
    """
    a = design.active
    likelihood = _ThetaLikelihood(design.y_mean[a], design.case_weights[a], mu[a])
    low, high = np.log(_THETA_MIN), np.log(THETA_MAX)
    t0 = likelihood.moment_log_theta() if theta0 is None else float(np.log(theta0))
    t0 = float(np.clip(np.nan_to_num(t0, nan=high, posinf=high, neginf=low), low, high))
    bracket = _bracket_maximum(likelihood.score, t0, low, high)
    if bracket is None:
        return _held_theta(likelihood)
    t_hat = bracket[0] if bracket[0] == bracket[1] else _brent_root(likelihood.score, bracket)
    if likelihood.rises_to_the_limit() and likelihood.poisson_limit() > likelihood.loglik(t_hat):
        return _held_theta(likelihood)
    theta = float(np.exp(t_hat))
    information = likelihood.information(theta)
    se = float(np.sqrt(1.0 / information)) if information > 0 else float("inf")
    return _ThetaEstimate(theta, se)


def _held_theta(likelihood: _ThetaLikelihood) -> _ThetaEstimate:
    held = "poisson" if likelihood.rises_to_the_limit() else "beyond"
    return _ThetaEstimate(THETA_MAX, float("inf"), held)


def _bracket_maximum(score: Any, t0: float, low: float, high: float) -> tuple[float, float] | None:
    """An interval of log(theta) where the score changes from + to - (a maximum).

    Steps from ``t0`` uphill, doubling in length. None when the likelihood still
    rises at ``high`` (THETA_MAX); a refusal when it still rises at ``low``.
    """
    t, slope = t0, score(t0)
    if slope == 0.0:
        return t, t
    uphill = 1.0 if slope > 0 else -1.0
    step = _FIRST_STEP
    while True:
        t_next = min(max(t + uphill * step, low), high)
        if t_next == t:
            if uphill > 0:
                return None
            raise BayesGLMError(
                "theta of the negative binomial has no maximum-likelihood estimate above "
                f"{_THETA_MIN:g}: the likelihood keeps rising as theta falls, which needs "
                "counts that are almost all zero; fix theta with NegativeBinomial(theta=...) "
                f"or use family='poisson'; got (theta<{_THETA_MIN:g})."
            )
        slope_next = score(t_next)
        if uphill * slope_next <= 0.0:
            return min(t, t_next), max(t, t_next)
        t, step = t_next, 2.0 * step


def _brent_root(score: Any, bracket: tuple[float, float]) -> float:
    # xtol in log(theta) is a relative tolerance on theta.
    return float(optimize.brentq(score, *bracket, xtol=1e-14, rtol=4 * np.finfo(float).eps))


@dataclass
class _NegativeBinomialFit:
    spec: Spec  # the family with theta filled in
    state: _State
    theta: _ThetaEstimate
    settled: bool  # whether theta and the coefficients stopped changing together


def _fit_negative_binomial(
    design: Design,
    spec: Spec,
    beta0: np.ndarray | None,
    tol: float,
    max_iter: int,
) -> MLEResult:
    """Alternate IRLS for beta at fixed theta and ML for theta, as MASS::glm.nb."""
    from .families import Poisson

    state = _irls(design, Spec(Poisson(), spec.link), beta0, tol, max_iter)
    fit = _alternate(design, spec, state, None, tol, max_iter)
    if fit.theta.held:
        fit = _check_profile(design, spec, fit, tol, max_iter)
    state = fit.state
    if fit.theta.held:
        _warn(state.messages, ConvergenceWarning, _held_message(fit.theta.held), 4)
    if state.converged and not fit.settled:
        text = (
            f"theta and the coefficients of the negative binomial did not settle in "
            f"{max_iter} alternations (theta = {fit.theta.theta:.6g}); the estimates may "
            "be unreliable; raise max_iter=."
        )
        _warn(state.messages, ConvergenceWarning, text, 4)
    return _result(
        design,
        fit.spec,
        state,
        counted_dispersion=True,
        theta_se=fit.theta.se,
        settled=fit.settled,
    )


def _alternate(
    design: Design,
    spec: Spec,
    state: _State,
    theta0: float | None,
    tol: float,
    max_iter: int,
) -> _NegativeBinomialFit:
    """MASS::glm.nb's alternation from ``state``: theta at the means, then IRLS at theta."""
    estimate = _theta_ml(design, state.mu, theta0)
    settled = False
    for _ in range(max_iter):
        fixed = _with_theta(spec, estimate.theta)
        state = _iterate(design, fixed, _rescore(design, fixed, state), tol, max_iter)
        new = _theta_ml(design, state.mu, estimate.theta)
        change = abs(new.theta - estimate.theta) / estimate.theta
        estimate = new
        if change < 1e-11 and state.converged:
            settled = True
            break
    fixed = _with_theta(spec, estimate.theta)
    state = _iterate(design, fixed, _rescore(design, fixed, state), tol, max_iter)
    return _NegativeBinomialFit(fixed, state, estimate, settled)


def _check_profile(
    design: Design, spec: Spec, fit: _NegativeBinomialFit, tol: float, max_iter: int
) -> _NegativeBinomialFit:
    """Confirm a held theta on the profile likelihood (beta refitted at each theta).

    The alternation holds theta when, at its means, the likelihood rises towards the
    Poisson limit. The profile at :data:`_PROFILE_GRID` must then stay below its value
    at THETA_MAX; where it does not, the alternation restarts from the best theta
    there, and the better of the two fits is kept.
    """
    held_llf = _nb_loglik(design, fit.spec.family, fit.state.mu)
    best_llf, best = held_llf, None
    for theta in _PROFILE_GRID:
        fixed = _with_theta(spec, float(theta))
        probe = _iterate(design, fixed, _rescore(design, fixed, fit.state), tol, max_iter)
        llf = _nb_loglik(design, fixed.family, probe.mu)
        if llf > best_llf + 1e-10 * abs(held_llf):
            best_llf, best = llf, (probe, float(theta))
    if best is None:
        return fit
    restarted = _alternate(design, spec, best[0], best[1], tol, max_iter)
    if _nb_loglik(design, restarted.spec.family, restarted.state.mu) > held_llf:
        return restarted
    return fit


def _nb_loglik(design: Design, family: Family, mu: np.ndarray) -> float:
    a = design.active_rows
    with np.errstate(all="ignore"):
        terms = family.loglike_obs(design.y_mean[a], mu[a], weights=design.case_weights[a])
    return float(np.sum(terms))


def _with_theta(spec: Spec, theta: float) -> Spec:
    return Spec(spec.family.with_params(theta=theta), spec.link)


def _held_message(held: str) -> str:
    if held == "poisson":
        return (
            "theta of the negative binomial has no finite maximum-likelihood estimate: "
            "the counts are not overdispersed, and the likelihood (profiled over the "
            f"coefficients, checked from theta = {_PROFILE_GRID[0]:g} up) keeps rising "
            f"towards the Poisson limit; theta is held at {THETA_MAX:g} (a Poisson fit); "
            "consider family='poisson'."
        )
    return (
        f"theta of the negative binomial has its maximum-likelihood estimate above "
        f"{THETA_MAX:g}: the counts are barely overdispersed; theta is held at "
        f"{THETA_MAX:g}, where the fit is a Poisson fit for every practical purpose; "
        "consider family='poisson'."
    )


def _rescore(design: Design, spec: Spec, state: _State) -> _State:
    """The state's coefficients under a new theta. They stay valid: theta moves
    neither the means nor whether the deviance is finite (both need mu > 0 where
    y > 0). An explicit check rather than an assert, which ``python -O`` removes."""
    fresh = _sweep(design, spec, state.beta)
    if fresh is None:  # pragma: no cover - unreachable, as the docstring says
        raise RuntimeError(
            "internal error: coefficients valid for one theta of the negative binomial "
            f"are invalid for another ({spec.family}); please report this."
        )
    fresh.messages = state.messages
    return fresh


# --- separation ---------------------------------------------------------------------


def _separable(spec: Spec) -> bool:
    """Whether means can reach the edge of their range only as the linear predictor
    diverges, so that outcomes at the edge can push coefficients to infinity:
    probabilities (0 and 1), and counts (0) under the log link."""
    family = spec.family
    counts = family.support.integer and family.mean_domain.low == 0.0
    return family.is_probability or (counts and spec.link.name == "log")


def _suspect_separation(design: Design, state: _State) -> bool:
    mu = state.mu[design.active]
    return bool((mu < 1e-8).any() or (mu > 1.0 - 1e-8).any() or not state.converged)


def _separation(design: Design, spec: Spec, state: _State, messages: list[str]) -> tuple[str, ...]:
    """The columns along which the maximum-likelihood estimates diverge (warned about)."""
    if not (_separable(spec) and _suspect_separation(design, state)):
        return ()
    probability = spec.family.is_probability
    upper = 1.0 if probability else np.inf
    separation = tuple(_separated_columns(design, design.names, design.intercept, upper))
    if separation and probability:
        text = (
            "complete or quasi-complete separation: the outcome is perfectly predicted "
            f"along column(s) {', '.join(separation)}; their maximum-likelihood "
            "estimates do not exist (they diverge) and the standard errors are "
            "meaningless; use proper priors (the Bayesian fit) or remove or merge "
            "the separating predictors."
        )
        _warn(messages, SeparationWarning, text, 4)
    elif separation:
        where = (
            "every count is zero"
            if not design.y_mean[design.active].any()
            else f"the counts are all zero along column(s) {', '.join(separation)} (e.g. "
            "a level with only zeros)"
        )
        text = (
            f"the zero counts are separated: {where}, so the fitted means "
            "there go to 0 as those coefficients diverge; their maximum-likelihood "
            "estimates do not exist and the standard errors are meaningless; use proper "
            "priors (the Bayesian fit) or remove or merge the levels or predictors with "
            "only zero counts."
        )
        _warn(messages, SeparationWarning, text, 4)
    return separation


def _separated_columns(
    design: Design, names: Sequence[str], intercept: int | None, upper: float
) -> list[str]:
    """The predictors along which the outcomes are separated (empty if none).

    Konis's (2007) linear program, in a form that also picks the sparsest
    direction: minimize the L1 norm of b (the intercept free) subject to
    x_i b >= 0 where y_i = ``upper``, x_i b <= 0 where y_i = 0, x_i b = 0 otherwise,
    and the sum of |x_i b| equal to 1. It is feasible exactly when the data are
    (quasi-)completely separated: the likelihood then keeps rising along b. Counts
    have no upper edge (``upper`` infinite): then it finds zero counts that a
    direction drives to a zero mean (Santos Silva and Tenreyro, 2010).
    """
    a = design.active
    X, y = design.X[a], design.y_mean[a]
    scale = np.abs(X).max(axis=0)
    scale[scale == 0] = 1.0
    Xs = X / scale
    extreme = (y <= 0.0) | (y >= upper)
    signed = np.where(y[extreme] >= upper, 1.0, -1.0)[:, None] * Xs[extreme]
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


def _mean_size(design: Design, family: Family, mu: np.ndarray) -> float:
    """Pearson's chi-square of the means against zero: the scale of the response."""
    a = design.active_rows
    with np.errstate(all="ignore"):
        terms = design.case_weights[a] * mu[a] ** 2 / family.variance(mu[a])
    return float(np.sum(np.where(np.isfinite(terms), terms, 0.0)))


def _loglik(
    design: Design,
    family: Family,
    state: _State,
    df_resid: int,
    messages: list[str],
) -> float:
    """R's ``logLik()``: NaN when a free dispersion has no residual degrees of
    freedom, +inf for an essentially perfect fit (both warned about)."""
    if family.free_phi and df_resid == 0:
        _warn(messages, PerfectFitWarning, _NO_RESIDUAL_DF.format(n=design.n_active), 4)
        return float("nan")
    if family.free_phi and _perfect_fit(design, family, state):
        _warn(messages, PerfectFitWarning, _PERFECT_FIT, 4)
        # A zero dispersion makes the likelihood unbounded (R: logLik Inf, or a huge
        # number set by rounding noise).
        return float("inf")
    a = design.active
    prior_weights = design.prior_weights[a]
    natural = family.aic_dispersion(state.deviance, prior_weights)
    trials = 1.0 if design.trials is None else design.trials[a]
    with np.errstate(all="ignore"):
        terms = family.loglike_obs(
            design.y[a], state.mu[a], natural, trials=trials, weights=prior_weights
        )
    return float(np.sum(terms))


_NO_RESIDUAL_DF = (
    "no residual degrees of freedom: the model has as many coefficients as "
    "observations (n = p = {n}), so it reproduces the response exactly and leaves "
    "nothing to estimate the dispersion from; as in R, the dispersion, standard "
    "errors and tests are NaN, and so are the log-likelihood, AIC and BIC (the "
    "likelihood is unbounded as the dispersion goes to zero); drop predictors or add "
    "observations."
)
_PERFECT_FIT = (
    "essentially perfect fit: the response is an exact function of the "
    "predictors, so the estimated dispersion is zero and the standard errors, "
    "tests and likelihood are meaningless; check that the response is not "
    "computed from a predictor."
)


def _warn(messages: list[str], category: type[Warning], text: str, stacklevel: int) -> None:
    """Record a warning on the result and issue it (``stacklevel`` as warnings.warn's,
    counted from the caller of this function)."""
    messages.append(text)
    warnings.warn(text, category, stacklevel=stacklevel + 1)


def _perfect_fit(design: Design, family: Family, state: _State) -> bool:
    """R's "essentially perfect fit": Pearson's chi-square below 1e-30 of the same
    sum for the means themselves (so for any scale of the response)."""
    return state.pearson <= 1e-30 * _mean_size(design, family, state.mu)


# --- result -------------------------------------------------------------------------


def _result(
    design: Design,
    spec: Spec,
    state: _State,
    *,
    counted_dispersion: bool,
    theta_se: float | None = None,
    settled: bool = True,
) -> MLEResult:
    """The result at ``state``; ``counted_dispersion`` says whether the dispersion
    parameter was estimated, so that the likelihood's degrees of freedom count it;
    ``settled`` is False when an outer iteration (theta's) did not converge."""
    family, link = spec.family, spec.link
    X = design.X
    a = design.active
    p = X.shape[1]
    n_ok = int(a.sum())
    try:
        # The covariance at the final estimates (R's glm takes the weights of the
        # iteration before; the two agree to far below 1e-9 SE once converged).
        cov_unscaled = _Solver(design, state, state.used_qr).inverse()
    except _SingularWeightsError:
        cov_unscaled = np.full((p, p), np.nan)
    df_resid = n_ok - p
    if family.free_phi:
        dispersion = state.pearson / df_resid if df_resid > 0 else float("nan")
    else:
        dispersion = 1.0

    if design.intercept is not None and design.eta_offset.any():
        null_deviance = _null_fit(design, spec).deviance
    elif design.intercept is not None:
        null_deviance = _deviance(design, family, np.full(design.n, design.ybar))
    else:
        null_deviance = _deviance(design, family, link.inverse(design.eta_offset))
    df_null = n_ok - (1 if design.intercept is not None else 0)

    messages = list(state.messages)
    llf = _loglik(design, family, state, df_resid, messages)
    k = p + (1 if counted_dispersion else 0)

    separation = _separation(design, spec, state, messages)
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
        converged=state.converged and settled,
        n_iter=state.n_iter,
        family=family,
        link=link,
        fitted=state.mu.copy(),
        eta=state.eta.copy(),
        y_mean=design.y_mean,
        irls_weights=state.w,
        prior_weights=design.case_weights,
        theta_se=theta_se,
        solver="qr" if state.used_qr else "cholesky",
        separation=separation,
        warnings=tuple(messages),
        design=design,
    )
