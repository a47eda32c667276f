r"""Negative binomial theta by maximum likelihood, alternating with the IRLS.

As ``MASS::glm.nb``: Fisher scoring for the coefficients at fixed theta
(:mod:`bayesglm.fisher_scoring`), then the maximum-likelihood theta at the fitted
means, until both settle. The theta search is Newton's method in log(theta),
safeguarded by doubling steps uphill and by bisection of a bracket, so no step
overshoots; each step is one pass over the rows. A theta whose likelihood keeps rising
towards the Poisson limit is held at :data:`THETA_MAX`, after a check of the
profile likelihood.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from .design import Design
from .errors import BayesGLMError, ConvergenceWarning, warn_recorded
from .families import Family, Poisson, Spec
from .fisher_scoring import fit_state, iterate
from .sweep import State, sweep

__all__ = ["THETA_MAX", "NegativeBinomialFit", "fit_negative_binomial"]

THETA_MAX = 1e6  # a theta this large is a Poisson for every practical purpose
_THETA_MIN = 1e-8  # a maximum below this needs counts that are nearly all zero
_FIRST_STEP = 0.25  # first uphill step before a bracket is found, in log(theta)
_PROFILE_GRID = 10.0 ** np.arange(-1, 6)  # thetas where a held theta's profile is checked
_T_TOL = 1e-13  # a Newton step in log(theta) this small ends the search
_MAX_STEPS = 200


@dataclass(frozen=True)
class _Slopes:
    """What one pass of :meth:`_ThetaLikelihood.slopes` gives at a log(theta)."""

    score: float  # d loglik / d log(theta)
    slope: float  # its derivative in log(theta)
    information: float  # minus the second derivative in theta (MASS's SE.theta)
    rises_to_the_limit: bool  # the likelihood still rising as theta grows without bound


@dataclass(frozen=True)
class _Counts:
    """The distinct counts of the active rows and the total weight of each: all the
    theta likelihood needs of y alone (its log-gamma and digamma terms), so that
    those are evaluated once per distinct count rather than once per row."""

    values: np.ndarray
    weights: np.ndarray

    @classmethod
    def of_block(cls, y: np.ndarray, w: np.ndarray) -> _Counts:
        a = w > 0
        values, which = np.unique(y[a], return_inverse=True)
        return cls(values, np.bincount(which, weights=w[a], minlength=values.size))

    def __add__(self, other: _Counts) -> _Counts:
        values, which = np.unique(np.r_[self.values, other.values], return_inverse=True)
        weights = np.bincount(
            which, weights=np.r_[self.weights, other.weights], minlength=values.size
        )
        return _Counts(values, weights)

    @classmethod
    def of(cls, design: Design) -> _Counts:
        """One pass over the rows."""
        return design.sum_blocks(cls.of_block, design.y_mean, design.case_weights)


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
    :math:`\tfrac12\sum_i w_i[(y_i-\mu_i)^2 - y_i]` in :math:`1/\theta`. The terms
    in y alone are summed over the distinct counts (:class:`_Counts`); a pass over
    the rows sums the rest.
    """

    design: Design
    counts: _Counts
    mu: Any  # the means, per row

    def _sum(self, terms: Any) -> Any:
        """The sum over the active rows of ``terms(y, w, mu)`` (block by block)."""

        def block(y: np.ndarray, w: np.ndarray, mu: np.ndarray) -> Any:
            a = w > 0
            return terms(y[a], w[a], mu[a])

        design = self.design
        return design.sum_blocks(block, design.y_mean, design.case_weights, self.mu)

    def loglik(self, t: float) -> float:
        theta = np.exp(t)
        counts = self.counts
        gammas = counts.weights @ (special.gammaln(counts.values + theta) - special.gammaln(theta))

        def terms(y: np.ndarray, w: np.ndarray, mu: np.ndarray) -> float:
            each = -theta * np.log1p(mu / theta) + special.xlogy(y, mu) - y * np.log(mu + theta)
            return float(w @ each)

        return float(gammas + self._sum(terms))

    def slopes(self, t: float) -> _Slopes:
        """The score in log(theta) at ``t``, its derivative, and whether the counts
        are overdispersed about the means: one pass over the rows."""
        theta = np.exp(t)
        counts = self.counts
        digammas = counts.weights @ (
            special.digamma(counts.values + theta) - special.digamma(theta)
        )
        trigammas = counts.weights @ (
            special.polygamma(1, theta) - special.polygamma(1, theta + counts.values)
        )

        def terms(y: np.ndarray, w: np.ndarray, mu: np.ndarray) -> np.ndarray:
            score = (mu - y) / (mu + theta) - np.log1p(mu / theta)
            information = 2.0 / (mu + theta) - (y + theta) / (mu + theta) ** 2 - 1.0 / theta
            return np.array([w @ score, w @ information, w @ ((y - mu) ** 2 - y)])

        score, information, spread = self._sum(terms)
        score += digammas
        information += trigammas
        # d/dt of theta * dl/dtheta, with dl/dtheta = score and d2l/dtheta2 = -information
        return _Slopes(
            float(theta * score),
            float(theta * score - theta**2 * information),
            float(information),
            bool(spread <= 0.0),
        )

    def poisson_limit(self) -> float:
        """:meth:`loglik` as theta grows without bound."""
        return float(self._sum(lambda y, w, mu: float(w @ (special.xlogy(y, mu) - mu))))

    def moment_log_theta(self) -> float:
        """MASS's starting value, sum(w) / sum(w (y/mu - 1)^2), on the log scale."""

        design = self.design

        def block(y: np.ndarray, w: np.ndarray, mu: np.ndarray) -> np.ndarray:
            a = w > 0
            y, w, mu = y[a], w[a], mu[a]
            with np.errstate(all="ignore"):
                return np.array([np.sum(w), w @ (y / mu - 1.0) ** 2])

        total, spread = design.sum_blocks(block, design.y_mean, design.case_weights, self.mu)
        with np.errstate(all="ignore"):  # a mean of 0 or a perfect fit: no start here
            return float(np.log(total) - np.log(spread))


@dataclass(frozen=True)
class _ThetaEstimate:
    """Theta at given means, its SE, and why it is held at THETA_MAX (None if not)."""

    theta: float
    se: float
    held: str | None = None  # "poisson": no finite maximum; "beyond": one above THETA_MAX


def _theta_ml(
    design: Design, counts: _Counts, mu: np.ndarray, theta0: float | None
) -> _ThetaEstimate:
    """Maximum-likelihood theta given the means, as MASS's ``theta.ml`` but safeguarded.

    Newton's method on the score in log(theta) from ``theta0`` (the moment estimate if
    None), each step one pass over the rows for the score and its slope; a step that
    would go downhill or overshoot a bracket of the maximum is replaced by one that
    doubles uphill (no bracket yet) or bisects the bracket. Theta is held at
    THETA_MAX only when the likelihood rises all the way there, or when it rises
    towards the Poisson limit and that limit is higher than the maximum found.
    """
    likelihood = _ThetaLikelihood(design, counts, mu)
    low, high = np.log(_THETA_MIN), np.log(THETA_MAX)
    t0 = likelihood.moment_log_theta() if theta0 is None else float(np.log(theta0))
    t0 = float(np.clip(np.nan_to_num(t0, nan=high, posinf=high, neginf=low), low, high))
    t_hat, at = _score_root(likelihood.slopes, t0, low, high)
    if t_hat is None or (
        at.rises_to_the_limit and likelihood.poisson_limit() > likelihood.loglik(t_hat)
    ):
        held = "poisson" if at.rises_to_the_limit else "beyond"
        return _ThetaEstimate(THETA_MAX, float("inf"), held)
    theta = float(np.exp(t_hat))
    se = float(np.sqrt(1.0 / at.information)) if at.information > 0 else float("inf")
    return _ThetaEstimate(theta, se)


def _score_root(
    slopes: Callable[[float], _Slopes], t0: float, low: float, high: float
) -> tuple[float | None, _Slopes]:
    """The log(theta) in [low, high] where the score changes from + to - (a maximum),
    with the pass at the last point evaluated (whose ``rises_to_the_limit`` does not
    depend on theta); None in place of the point when the likelihood still rises at
    ``high`` (THETA_MAX); a refusal when it still rises at ``low``.

    Safeguarded Newton: the Newton step is taken when it goes uphill and stays
    within the bracket (or, before there is one, within a step that doubles each
    time, as a bracket search would); otherwise the doubling step or the bracket's
    midpoint. It stops when a step is below :data:`_T_TOL`.
    """
    t, at = t0, slopes(t0)
    rising, falling = -np.inf, np.inf  # the bracket: score > 0 at rising, < 0 at falling
    step = _FIRST_STEP
    for _ in range(_MAX_STEPS):
        if at.score == 0.0:
            return t, at
        if at.score > 0.0:
            rising = t
        else:
            falling = t
        newton = t - at.score / at.slope if at.slope < 0.0 else np.nan
        if np.isfinite(rising) and np.isfinite(falling):
            if not rising < newton < falling and not falling < newton < rising:
                newton = (rising + falling) / 2.0
        else:
            uphill = 1.0 if at.score > 0.0 else -1.0
            doubled = t + uphill * step
            step *= 2.0
            if not (0.0 < uphill * (newton - t) <= step / 2.0):
                newton = doubled
            newton = min(max(newton, low), high)
            if newton == t:
                if uphill > 0:
                    return None, at
                raise BayesGLMError(
                    "theta of the negative binomial has no maximum-likelihood estimate "
                    f"above {_THETA_MIN:g}: the likelihood keeps rising as theta falls, "
                    "which needs counts that are almost all zero; fix theta with "
                    "NegativeBinomial(theta=...) or use family='poisson'; "
                    f"got (theta<{_THETA_MIN:g})."
                )
        if abs(newton - t) <= _T_TOL * max(1.0, abs(t)):
            return newton, at
        t, at = newton, slopes(newton)
    return t, at


@dataclass
class NegativeBinomialFit:
    """The joint maximum of theta and the coefficients."""

    spec: Spec  # the family with theta filled in
    state: State
    theta: _ThetaEstimate
    settled: bool  # whether theta and the coefficients stopped changing together


def fit_negative_binomial(
    design: Design,
    spec: Spec,
    beta0: np.ndarray | None,
    tol: float,
    max_iter: int,
) -> NegativeBinomialFit:
    """Alternate IRLS for beta at fixed theta and ML for theta, as MASS::glm.nb.

    A theta held at :data:`THETA_MAX`, and an alternation that did not settle, are
    warned about and recorded in the state's messages.
    """
    state = fit_state(design, Spec(Poisson(), spec.link), beta0, tol, max_iter)
    counts = _Counts.of(design)
    fit = _alternate(design, counts, spec, state, None, tol, max_iter)
    if fit.theta.held:
        fit = _check_profile(design, counts, spec, fit, tol, max_iter)
    state = fit.state
    if fit.theta.held:
        warn_recorded(state.messages, ConvergenceWarning, _held_message(fit.theta.held), 4)
    if state.converged and not fit.settled:
        text = (
            f"theta and the coefficients of the negative binomial did not settle in "
            f"{max_iter} alternations (theta = {fit.theta.theta:.6g}); the estimates may "
            "be unreliable; raise max_iter=."
        )
        warn_recorded(state.messages, ConvergenceWarning, text, 4)
    return fit


def _alternate(
    design: Design,
    counts: _Counts,
    spec: Spec,
    state: State,
    theta0: float | None,
    tol: float,
    max_iter: int,
) -> NegativeBinomialFit:
    """MASS::glm.nb's alternation from ``state``: theta at the means, then IRLS at theta."""
    estimate = _theta_ml(design, counts, state.mu, theta0)
    settled = False
    for _ in range(max_iter):
        fixed = _with_theta(spec, estimate.theta)
        state = iterate(design, fixed, _rescore(design, fixed, state), tol, max_iter)
        new = _theta_ml(design, counts, state.mu, estimate.theta)
        change = abs(new.theta - estimate.theta) / estimate.theta
        estimate = new
        if change < 1e-11 and state.converged:
            settled = True
            break
    fixed = _with_theta(spec, estimate.theta)
    state = iterate(design, fixed, _rescore(design, fixed, state), tol, max_iter)
    return NegativeBinomialFit(fixed, state, estimate, settled)


def _check_profile(
    design: Design,
    counts: _Counts,
    spec: Spec,
    fit: NegativeBinomialFit,
    tol: float,
    max_iter: int,
) -> NegativeBinomialFit:
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
        probe = iterate(design, fixed, _rescore(design, fixed, fit.state), tol, max_iter)
        llf = _nb_loglik(design, fixed.family, probe.mu)
        if llf > best_llf + 1e-10 * abs(held_llf):
            best_llf, best = llf, (probe, float(theta))
    if best is None:
        return fit
    restarted = _alternate(design, counts, spec, best[0], best[1], tol, max_iter)
    if _nb_loglik(design, restarted.spec.family, restarted.state.mu) > held_llf:
        return restarted
    return fit


def _nb_loglik(design: Design, family: Family, mu: Any) -> float:
    def block(y: np.ndarray, w: np.ndarray, means: np.ndarray) -> float:
        a = slice(None) if (w > 0).all() else w > 0
        with np.errstate(all="ignore"):
            terms = family.loglike_obs(y[a], means[a], weights=w[a])
        return float(np.sum(terms))

    return float(design.sum_blocks(block, design.y_mean, design.case_weights, mu))


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


def _rescore(design: Design, spec: Spec, state: State) -> State:
    """The state's coefficients under a new theta. They stay valid: theta moves
    neither the means nor whether the deviance is finite (both need mu > 0 where
    y > 0). An explicit check rather than an assert, which ``python -O`` removes."""
    fresh = sweep(design, spec, state.beta)
    if fresh is None:  # pragma: no cover - unreachable, as the docstring says
        raise RuntimeError(
            "internal error: coefficients valid for one theta of the negative binomial "
            f"are invalid for another ({spec.family}); please report this."
        )
    fresh.messages = state.messages
    return fresh
