r"""Fisher scoring (IRLS) to the maximum-likelihood coefficients.

Each iteration solves for the *step* rather than the new coefficients,

.. math::
    (X^\top W X)\,\delta = X^\top W (z - \eta), \qquad
    z - \eta = (y - \mu)\,\frac{d\eta}{d\mu}, \qquad
    W = \frac{w}{V(\mu)\,(d\eta/d\mu)^2},

so rounding in the solve shrinks with the step and the fixed point is the exact
root of the score equations. The state at each coefficient vector comes from one
pass over the rows (:mod:`bayesglm.sweep`), the step from
:mod:`bayesglm.normal_equations`.

Iterates are guarded here, never inside the links: a step that leaves the family's
domain or raises the deviance is halved. Convergence is declared when the Newton
decrement :math:`\delta^\top X^\top W X \delta / \phi` (the squared step in
standard-error units) falls below ``tol``, or when the rate seen so far bounds the
next one below it, or when a step under 1e-5 SE has to be cut to lower the
deviance (it is rounding then; see ``_converged``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .design import Design
from .errors import BayesGLMError
from .families import Family, Spec
from .normal_equations import SingularWeightsError, Solver
from .sweep import State, sweep

__all__ = ["fit_state", "iterate", "null_fit"]

_MAX_HALVINGS = 40
# A step under 1e-5 standard errors that had to be cut to lower the deviance is rounding.
_ROUNDING_DECREMENT = 1e-10


def _first_state(design: Design, spec: Spec, beta0: np.ndarray | None) -> State:
    """A valid starting state: the user's, R's mustart step, or the null model."""
    if beta0 is not None:
        state = sweep(design, spec, beta0)
        if state is None:
            raise BayesGLMError(
                "the starting coefficients give means outside the family's range; "
                "pass other start= values or none; got (start=" + repr(beta0.tolist()) + ")."
            )
        return state

    def start_means(y: np.ndarray, weights: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return spec.family.starting_mu(y, weights)

    def start_eta(mu: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return spec.link.link(mu)

    mu0 = design.map_rows(start_means, design.y_mean, design.case_weights)
    eta0 = design.map_rows(start_eta, mu0)
    start = sweep(design, spec, np.zeros(design.X.shape[1]), start_means=(eta0, mu0))
    _refuse_unrepresentable_scale(design, spec, start)
    if start is not None:
        try:
            beta, _ = Solver(design, start, use_qr=False).step(start)
        except SingularWeightsError:
            return _null_start(design, spec)
        state = sweep(design, spec, beta)
        if state is not None:
            state.n_iter = 1  # R counts this first weighted least-squares fit
            return state
    return _null_start(design, spec)


def _refuse_unrepresentable_scale(design: Design, spec: Spec, start: State | None) -> None:
    """Refuse a response whose size puts the family's variance or deviance beyond
    double precision (V(mu) = mu^3 of 1e-160 is 0, (y - ybar)^2 of 1e160 is inf): the
    IRLS weights or the deviance are then 0, inf or nan, and the fit would recurse,
    stall or report a perfect fit. Rescaling y is the cure."""
    family, ybar = spec.family, design.ybar

    def facts(y: np.ndarray, weights: np.ndarray, *w: np.ndarray) -> np.ndarray:
        return _scale_facts(family, ybar, y, weights, *w)

    rows = (design.y_mean, design.case_weights) + (() if start is None else (start.w,))
    y_low, y_high, size_low, size_high, w_bad, w_positive, null_deviance = design.sum_blocks(
        facts, *rows, combine=_combine_scale_facts
    )
    broken = (
        not np.isfinite(null_deviance)
        or (null_deviance == 0.0 and y_high > y_low)  # underflow: y varies
        or (start is not None and (w_bad > 0 or w_positive == 0))
    )
    if broken:
        if not np.isfinite(size_low):  # every y is zero
            size_low = size_high = 0.0
        raise BayesGLMError(
            f"the response's size is beyond what double precision can fit for the "
            f"{spec.family.name}({spec.link.name}) model (its variance or deviance "
            "overflows or underflows); rescale y, e.g. multiply or divide it by a power "
            "of 10, and scale the coefficients back; "
            f"got (|y| from {size_low:.3g} to {size_high:.3g})."
        )


def _scale_facts(
    family: Family, ybar: float, y: np.ndarray, weights: np.ndarray, *w: np.ndarray
) -> np.ndarray:
    """A block's range of y, of its nonzero sizes, its count of non-finite and of
    positive IRLS weights, and its share of the deviance at the mean ybar, over the
    active rows."""
    active = weights > 0
    y, weights = y[active], weights[active]
    sizes = np.abs(y[y != 0])
    w_active = w[0][active] if w else np.ones(0)
    with np.errstate(all="ignore"):
        null_deviance = np.sum(weights * family.unit_deviance(y, ybar))
    return np.array(
        [
            y.min(initial=np.inf),
            y.max(initial=-np.inf),
            sizes.min(initial=np.inf),
            sizes.max(initial=0.0),
            np.count_nonzero(~np.isfinite(w_active)),
            np.count_nonzero(w_active > 0),
            null_deviance,
        ]
    )


def _combine_scale_facts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    low, high, total = np.minimum(a, b), np.maximum(a, b), a + b
    return np.array([low[0], high[1], low[2], high[3], total[4], total[5], total[6]])


def _null_start(design: Design, spec: Spec) -> State:
    """Start from the intercept-only fit (slopes zero), valid by construction."""
    if design.intercept is None:
        raise BayesGLMError(
            "no valid starting values could be found (the model has no intercept and the "
            "default start leaves the family's range); pass start= coefficients; "
            "got (start=None)."
        )
    j = design.intercept
    null = null_fit(design, spec)
    beta = np.zeros(design.p)
    beta[j] = null.beta[0] / float(design.X[0, j])
    state = sweep(design, spec, beta)
    if state is None:  # pragma: no cover - the null fit is valid by construction
        raise BayesGLMError("no valid starting values; pass start=; got (start=None).")
    return state


def null_fit(design: Design, spec: Spec) -> State:
    """Intercept-only fit with the offset (R's null model)."""
    ones = design.intercept_only()
    with np.errstate(all="ignore"):
        start = spec.link.link(np.float64(design.ybar)) - design.weighted_mean(design.eta_offset)
    state = sweep(ones, spec, np.array([start]))
    if state is None:
        # An intercept-only problem has been through _first_state already: scan instead.
        retry = not design.offset_nonzero and design.X.shape[1] > 1
        state = _first_state(ones, spec, None) if retry else None
    if state is None:
        state = _scan_intercept(ones, spec)
    return iterate(ones, spec, state, 1e-24, 200)


def _scan_intercept(design: Design, spec: Spec) -> State:
    for value in np.concatenate([np.linspace(-30, 30, 121), [1e-3, 1.0, 10.0]]):
        state = sweep(design, spec, np.array([value]))
        if state is not None:
            return state
    raise BayesGLMError(
        "no valid intercept-only starting value exists for this offset and link; "
        "pass start= coefficients; got (start=None)."
    )


def fit_state(
    design: Design, spec: Spec, beta0: np.ndarray | None, tol: float, max_iter: int
) -> State:
    """Fisher scoring from ``beta0`` (None: R's start) until it converges or stops."""
    return iterate(design, spec, _first_state(design, spec, beta0), tol, max_iter)


def _phi_estimate(design: Design, spec: Spec, state: State) -> float:
    """The dispersion that puts the decrement in SE units; never below a 1e-10
    relative spread, where rounding in the means would pass for signal."""
    df = design.n_active - design.X.shape[1]
    if not spec.family.free_phi or df <= 0:
        return 1.0
    floor = 1e-20 * state.mean_size
    return max(state.pearson, floor, np.finfo(float).tiny) / df


def iterate(design: Design, spec: Spec, state: State, tol: float, max_iter: int) -> State:
    """Fisher-scoring steps from ``state`` until convergence, a boundary, or
    ``max_iter`` iterations in all (the state's count included)."""
    previous_decrement = np.inf
    while state.n_iter < max_iter:
        try:
            solver = Solver(design, state, state.used_qr)
        except SingularWeightsError:
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


def _halve(design: Design, spec: Spec, state: State, step: np.ndarray) -> tuple[State, bool]:
    """Take the step, halving it while it leaves the domain or raises the deviance.

    Returns the new state and whether the step was shortened.
    """
    for halvings in range(_MAX_HALVINGS):
        candidate = sweep(design, spec, state.beta + step)
        if candidate is not None and not _deviance_rose(state, candidate):
            return candidate, halvings > 0
        step = step / 2.0
    return replace(state), True


def _deviance_rose(state: State, candidate: State) -> bool:
    """Whether the candidate's deviance is higher by more than rounding can explain."""
    rise = candidate.deviance - state.deviance
    if rise <= 1e-12 * (abs(state.deviance) + 1.0):
        return False
    # What rounding alone can change in the deviance: its terms are computed from
    # y and mu, each good to a few ulps (large counts make this far above 1e-12).
    rounding = 100 * np.finfo(float).eps * state.magnitude
    return rise > 1e-12 * (abs(state.deviance) + 1.0) + rounding
