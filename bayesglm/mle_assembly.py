"""The maximum-likelihood result at the final Fisher-scoring state, in named steps.

From the state: the unscaled covariance, the dispersion (R's Pearson estimate), the
null deviance (the intercept-only fit, with the offset), R's ``logLik()`` (with the
perfect-fit and no-residual-df cases), separation, and the warnings gathered on the
way, all put into an :class:`~bayesglm.mle.MLEResult`.
"""

from __future__ import annotations

import numpy as np

from .design import Design
from .errors import ConvergenceWarning, PerfectFitWarning, warn_recorded
from .families import Family, Spec
from .fisher_scoring import null_fit
from .mle import MLEResult
from .normal_equations import SingularWeightsError, Solver
from .separation import check_separation
from .sweep import State, deviance

__all__ = ["assemble"]


def assemble(
    design: Design,
    spec: Spec,
    state: State,
    *,
    counted_natural: bool,
    theta_se: float | None = None,
    settled: bool = True,
) -> MLEResult:
    """The result at ``state``; ``counted_natural`` says whether the family's natural
    parameter was estimated, so that the likelihood's degrees of freedom count it;
    ``settled`` is False when an outer iteration (theta's) did not converge."""
    family, link = spec.family, spec.link
    df_resid = design.n_active - design.p
    cov_unscaled = _unscaled_covariance(design, state)
    dispersion = _dispersion(family, state, df_resid)
    null_deviance = _null_deviance(design, spec)

    messages = list(state.messages)
    llf = _loglik(design, family, state, df_resid, messages)
    separation = check_separation(design, spec, state, messages)
    if not state.converged and not separation:
        warn_recorded(messages, ConvergenceWarning, _not_converged(state.n_iter), 3)

    return MLEResult(
        names=design.names,
        params=state.beta.copy(),
        cov_unscaled=cov_unscaled,
        dispersion=dispersion,
        deviance=state.deviance,
        null_deviance=null_deviance,
        df_resid=df_resid,
        df_null=design.n_active - (1 if design.intercept is not None else 0),
        llf=llf,
        k_params=design.p + (1 if counted_natural else 0),
        nobs=design.n_active,
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


def _unscaled_covariance(design: Design, state: State) -> np.ndarray:
    """:math:`(X^\\top W X)^{-1}` at the final estimates, NaN where W vanishes on rows
    a column needs. R's glm takes the weights of the iteration before; the two agree
    to far below 1e-9 SE once converged."""
    try:
        return Solver(design, state, state.used_qr).inverse()
    except SingularWeightsError:
        return np.full((design.p, design.p), np.nan)


def _dispersion(family: Family, state: State, df_resid: int) -> float:
    """R's dispersion: Pearson's chi-square over the residual degrees of freedom
    where the family estimates it (NaN without residual df), else 1."""
    if not family.free_phi:
        return 1.0
    return float(state.pearson / df_resid) if df_resid > 0 else float("nan")


def _null_deviance(design: Design, spec: Spec) -> float:
    """The deviance of R's null model: the intercept-only fit with the offset (the
    weighted mean of y without one), or the offset alone without an intercept."""
    if design.intercept is not None and design.offset_nonzero:
        return float(null_fit(design, spec).deviance)
    if design.intercept is not None:
        return float(deviance(design, spec.family, design.ybar))
    return float(deviance(design, spec.family, spec.link.inverse(design.eta_offset)))


def _loglik(
    design: Design,
    family: Family,
    state: State,
    df_resid: int,
    messages: list[str],
) -> float:
    """R's ``logLik()``: NaN when a free dispersion has no residual degrees of
    freedom, +inf for an essentially perfect fit (both warned about), NaN for a
    quasi-family."""
    if family.free_phi and df_resid == 0:
        warn_recorded(messages, PerfectFitWarning, _NO_RESIDUAL_DF.format(n=design.n_active), 4)
        return float("nan")
    if family.free_phi and _perfect_fit(state):
        warn_recorded(messages, PerfectFitWarning, _PERFECT_FIT, 4)
        # A zero dispersion makes the likelihood unbounded (R: logLik Inf, or a huge
        # number set by rounding noise).
        return float("inf") if family.has_likelihood else float("nan")
    if not family.has_likelihood:
        return float("nan")  # a quasi-family has none: R's logLik() and AIC are NA
    natural = family.aic_natural(state.deviance, design.prior_weights[design.active])

    def block(
        y: np.ndarray, mu: np.ndarray, trials: np.ndarray, prior: np.ndarray, case: np.ndarray
    ) -> float:
        a = case > 0
        with np.errstate(all="ignore"):
            terms = family.loglike_obs(y[a], mu[a], natural, trials=trials[a], weights=prior[a])
        return float(np.sum(terms))

    rows = (design.y, state.mu, design.trial_counts, design.prior_weights, design.case_weights)
    return float(design.sum_blocks(block, *rows))


def _perfect_fit(state: State) -> bool:
    """R's "essentially perfect fit": Pearson's chi-square below 1e-30 of the same
    sum for the means themselves (so for any scale of the response)."""
    return state.pearson <= 1e-30 * state.mean_size


def _not_converged(n_iter: int) -> str:
    return (
        f"IRLS did not converge in {n_iter} iterations; the estimates may be "
        "unreliable; check for separation or extreme values, rescale predictors, "
        "raise max_iter=, or pass start= values."
    )


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
