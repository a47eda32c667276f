r"""Marginal effects of a categorical outcome, one row per response level.

marginaleffects' ``avg_predictions``, ``avg_comparisons`` and ``avg_slopes`` for a
categorical or cumulative model: the mean of a row is its vector of category
probabilities, so every estimand of :mod:`bayesglm.marginal` comes once per level,
the level in the ``group`` column as marginaleffects names it. What moves a
predictor is :mod:`bayesglm.marginal`'s: its :class:`~bayesglm.marginal.Rows`
rebuild the fitted rows through the formula with the predictor changed (every
column that reads it follows) and give :math:`\partial X/\partial x`; its parsing of
``variables=`` and ``by=`` gives the estimands and the groups. Every fitted row
counts once, as for the other families.

The slope of a probability is exact, by the chain rule through the linear
predictors (:func:`probability_slopes`):

- categorical (softmax, :math:`\eta_{\mathrm{ref}} = 0`):
  :math:`dP_k/dx = P_k\,(\dot\eta_k - \sum_j P_j \dot\eta_j)`,
  :math:`\dot\eta_k = (\partial X/\partial x)\,\beta_k`;
- cumulative, :math:`P_k = F(\zeta_k - \eta) - F(\zeta_{k-1} - \eta)`:
  :math:`dP_k/dx = -\{f(\zeta_k - \eta) - f(\zeta_{k-1} - \eta)\}\,\dot\eta`.

The MLE takes the delta method (the gradient of each average in the parameters,
closed-form as well; estimate ± q·SE); the posterior takes every draw (median,
``p_direction`` and equal-tailed interval of the draws' averages).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ._xp import Interval
from .category_families import density_slope
from .errors import BayesGLMError
from .marginal import (
    DeltaMethod,
    Draws,
    Estimand,
    Part,
    Rows,
    comparison_estimands,
    row_groups,
    slope_estimands,
)
from .predict import check_prob, percent

__all__ = ["average_probabilities", "category_marginal", "probability_slopes"]

_ANY_ETA = Interval(-np.inf, np.inf)  # every linear predictor gives probabilities
_KINDS = ("predictions", "comparisons", "slopes")
_JACOBIAN_ELEMENTS = 2_000_000  # rows x levels x parameters of a block's gradients


def probability_slopes(
    mle: Any, X: np.ndarray, dX: np.ndarray, theta: np.ndarray, gradient: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    r""":math:`dP(Y = k)/dx` per row (n, K), and optionally its gradient in the
    parameters (n, K, parameters).

    Parameters
    ----------
    mle : CategoryMLEResult
        The fit (family, link, levels).
    X, dX : ndarray
        The linear predictor's columns of the rows and their derivative in ``x``.
    theta : ndarray
        The parameters, in the fit's order.
    gradient : bool
        Whether to return the gradient too (the delta method needs it).

    Examples
    --------
    >>> import numpy as np, bayesglm as bg
    >>> X = np.c_[np.ones(6), [0.0, 1, 2, 3, 4, 5]]
    >>> fit = bg.fit_mle(X, ["a", "b", "a", "c", "b", "c"], family="categorical",
    ...                  names=["Intercept", "x"])
    >>> slopes, _ = probability_slopes(fit, X, np.c_[np.zeros(6), np.ones(6)], fit.params_array)
    >>> bool(np.allclose(slopes.sum(axis=1), 0.0))  # the probabilities sum to 1
    True
    """
    cd, link = mle.cdesign, mle.link
    n, p = X.shape
    K = cd.K
    if mle.family.ordered:
        beta, zeta = theta[:p], theta[p:]
        x = zeta[None, :] - (X @ beta)[:, None]
        d_eta = dX @ beta
        edge = np.zeros((n, 1))
        f = np.concatenate([edge, link.inverse_deriv(x), edge], axis=1)
        slopes = -(f[:, 1:] - f[:, :-1]) * d_eta[:, None]
        if not gradient:
            return slopes, None
        fp = np.concatenate([edge, density_slope(link, x), edge], axis=1)
        J = np.empty((n, K, p + K - 1))
        J[:, :, :p] = ((fp[:, 1:] - fp[:, :-1]) * d_eta[:, None])[:, :, None] * X[:, None, :]
        J[:, :, :p] -= (f[:, 1:] - f[:, :-1])[:, :, None] * dX[:, None, :]
        J[:, :, p:] = 0.0
        for j in range(K - 1):  # cutpoint j bounds level j above and level j + 1 below
            J[:, j, p + j] -= fp[:, j + 1] * d_eta
            J[:, j + 1, p + j] += fp[:, j + 1] * d_eta
        return slopes, J
    others = [k for k in range(K) if k != cd.reference]
    B = theta.reshape(K - 1, p)
    eta, d_eta = np.zeros((n, K)), np.zeros((n, K))
    eta[:, others], d_eta[:, others] = X @ B.T, dX @ B.T
    P = mle.spec.probabilities(eta)
    slopes = P * (d_eta - (P * d_eta).sum(axis=1, keepdims=True))
    if not gradient:
        return slopes, None
    J = np.empty((n, K, K - 1, p))
    for j, level in enumerate(others):
        # d slope_k / d beta_j = x [(1{k=j} - P_j) slope_k - P_k slope_j] + dx P_k (1{k=j} - P_j)
        indicator = (np.arange(K) == level)[None, :] - P[:, [level]]
        on_x = indicator * slopes - P * slopes[:, [level]]
        on_dx = P * indicator
        J[:, :, j, :] = on_x[:, :, None] * X[:, None, :] + on_dx[:, :, None] * dX[:, None, :]
    return slopes, J.reshape(n, K, (K - 1) * p)


class _CategoryRows:
    """The fitted rows of :class:`~bayesglm.marginal.Rows`, cut to the linear
    predictor's columns (the cumulative family leaves the intercept out)."""

    def __init__(self, mle: Any) -> None:
        self.mle = mle
        self.rows = Rows(mle.cdesign.design, _ANY_ETA)
        # The delta method holds rows x levels x parameters of gradients at once.
        per_row = mle.cdesign.K * len(mle.params_array)
        self.block = max(1, min(self.rows.block, _JACOBIAN_ELEMENTS // per_row))

    def blocks(self) -> list[slice]:
        n = self.rows.n
        return [slice(lo, min(lo + self.block, n)) for lo in range(0, n, self.block)]

    def matrices(self, block: slice, part: Part) -> tuple[np.ndarray, np.ndarray | None]:
        cd = self.mle.cdesign
        X = cd.matrix(self.rows.matrix(block, part.change))
        if part.slope_of is None:
            return X, None
        return X, cd.matrix(self.rows.derivative(block, part.slope_of))


class _DeltaMethod:
    """Averages (groups × levels) and their gradients in the parameters at the MLE."""

    def __init__(self, mle: Any, prob: float) -> None:
        self.mle, self.q = mle, float(special.ndtri(0.5 + prob / 2.0))
        self.interval = f"{percent(prob)} Wald (normal, delta method)"

    def average(self, rows: _CategoryRows, part: Part, onehot: np.ndarray) -> tuple:
        mle, theta = self.mle, self.mle.params_array
        value, grad = 0.0, 0.0
        for block in rows.blocks():
            X, dX = rows.matrices(block, part)
            if dX is None:
                r = mle.probabilities(X, theta)
                R = mle.probability_jacobian(X, r)
            else:
                r, R = probability_slopes(mle, X, dX, theta, gradient=True)
            value = value + onehot[:, block] @ r
            grad = grad + np.einsum("gn,nkq->gkq", onehot[:, block], R)
        return value, grad

    # averages and their Jacobians combined as for one mean per row, per level
    combine = staticmethod(DeltaMethod.combine)

    def summarize(self, combined: tuple, null: float | None) -> dict[str, np.ndarray]:
        value, grad = combined
        se = np.sqrt(np.maximum(np.einsum("gkq,qr,gkr->gk", grad, self.mle.cov_array, grad), 0))
        return {
            "estimate": value,
            "std_error": se,
            "conf_low": value - self.q * se,
            "conf_high": value + self.q * se,
        }


class _Draws:
    """Averages (groups × levels × draws), one per posterior draw."""

    def __init__(self, mle: Any, draws: np.ndarray, prob: float) -> None:
        self.mle, self.draws = mle, draws
        self.tails = [(1 - prob) / 2, (1 + prob) / 2]
        self.interval = f"{percent(prob)} equal-tailed, posterior draws"

    def average(self, rows: _CategoryRows, part: Part, onehot: np.ndarray) -> np.ndarray:
        mle = self.mle
        total = np.zeros((onehot.shape[0], mle.cdesign.K, len(self.draws)))
        for block in rows.blocks():
            X, dX = rows.matrices(block, part)
            weights = onehot[:, block]
            for d, theta in enumerate(self.draws):
                if dX is None:
                    r = mle.probabilities(X, theta)
                else:
                    r, _ = probability_slopes(mle, X, dX, theta)
                total[:, :, d] += weights @ r
        return total

    # averages of the draws combined as for one mean per row, per level
    combine = staticmethod(Draws.combine)

    def summarize(self, combined: np.ndarray, null: float | None) -> dict[str, np.ndarray]:
        low, high = np.quantile(combined, self.tails, axis=-1)
        record = {"estimate": np.median(combined, axis=-1)}
        if null is not None:
            above = (combined > null).mean(axis=-1)
            record["p_direction"] = np.maximum(above, (combined < null).mean(axis=-1))
        return record | {"conf_low": low, "conf_high": high}


def category_marginal(
    mle: Any,
    kind: str,
    prob: float = 0.95,
    variables: Any = None,
    by: Any = None,
    comparison: str = "difference",
    draws: np.ndarray | None = None,
) -> pd.DataFrame:
    """Average predictions, comparisons or slopes of each level's probability.

    Parameters
    ----------
    mle : CategoryMLEResult
        The fit (its rows, estimates and covariance).
    kind : {"predictions", "comparisons", "slopes"}
    prob : float
        Interval probability.
    variables, by, comparison
        As :meth:`bayesglm.category_mle.CategoryMLEResult.avg_comparisons` takes them.
    draws : ndarray, optional
        Posterior draws (draw, parameter): averaged draw by draw instead of the
        delta method.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``group`` (the level), ``term`` and ``contrast`` (but for
        predictions), ``estimate``, ``std_error`` (MLE) or ``p_direction`` (posterior;
        not for predictions), ``conf_low``, ``conf_high``; the interval is named in
        ``attrs["interval"]``.

    Examples
    --------
    >>> import numpy as np, bayesglm as bg
    >>> X = np.c_[np.ones(6), [0.0, 1, 2, 3, 4, 5]]
    >>> fit = bg.fit_mle(X, ["a", "b", "a", "c", "b", "c"], family="categorical",
    ...                  names=["Intercept", "x"])
    >>> category_marginal(fit, "slopes")[["group", "term", "contrast"]].values.tolist()[0]
    ['a', 'x', 'dY/dX']
    """
    if kind not in _KINDS:
        raise BayesGLMError(f"kind must be one of {', '.join(_KINDS)}; got (kind={kind!r}).")
    check_prob(prob)
    rows = _CategoryRows(mle)
    if kind == "predictions":
        estimands = [Estimand(None, None, (Part(),), "identity", "")]
    elif kind == "comparisons":
        estimands = comparison_estimands(rows.rows, variables, comparison)
    else:
        estimands = slope_estimands(rows.rows, variables)
    names, codes, keys = row_groups(rows.rows, by)
    G, K = len(keys), mle.cdesign.K
    counts = np.bincount(codes, minlength=G).astype(float)
    onehot = (codes[None, :] == np.arange(G)[:, None]) / counts[:, None]  # (G, n)
    method = _DeltaMethod(mle, prob) if draws is None else _Draws(mle, draws, prob)
    cache: dict[Part, Any] = {}
    frames = []
    for estimand in estimands:
        for part in estimand.parts:
            if part not in cache:
                cache[part] = method.average(rows, part, onehot)
        combined = method.combine(estimand.combine, [cache[part] for part in estimand.parts])
        null = None if kind == "predictions" else 1.0 if estimand.combine == "ratio" else 0.0
        frame = pd.DataFrame({name: np.repeat(keys[name].to_numpy(), K) for name in names})
        frame["group"] = np.tile(np.asarray(mle.cdesign.level_names, dtype=object), G)
        if kind != "predictions":
            frame["term"], frame["contrast"] = estimand.term, estimand.contrast
        for column, values in method.summarize(combined, null).items():
            frame[column] = np.asarray(values).ravel()
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table.attrs["prob"] = prob
    table.attrs["interval"] = method.interval
    return table


def average_probabilities(
    result: Any, by: Any = None, prob: float = 0.95, draws: np.ndarray | None = None
) -> pd.DataFrame:
    """The average probability of each level over the fitted rows (per ``by`` group):
    :func:`category_marginal` of the predictions."""
    return category_marginal(result, "predictions", prob, by=by, draws=draws)
