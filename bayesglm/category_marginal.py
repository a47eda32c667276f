"""Average predicted probabilities of each level, overall or per group.

marginaleffects' ``avg_predictions`` for a categorical outcome: every fitted row's
probability of each level (each row counting once, as the other families' average
predictions count them), averaged over the rows of each group; the response level is
the ``group`` column, as marginaleffects names it. By the delta method at the MLE
(Wald interval, estimate ± q·SE) or draw by draw for a posterior (median and
equal-tailed interval of the draws' averages).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .category_design import CategoryDesign
from .errors import BayesGLMError
from .predict import check_prob, percent

__all__ = ["average_probabilities"]


def _groups(cdesign: CategoryDesign, by: Any) -> tuple[list[str], np.ndarray, pd.DataFrame]:
    """``by``'s columns, each fitted row's group number and the groups' values."""
    design = cdesign.design
    if by is None:
        return [], np.zeros(design.n, dtype=np.intp), pd.DataFrame(index=[0])
    names = [by] if isinstance(by, str) else list(by) if isinstance(by, list | tuple) else None
    if not names or not all(isinstance(name, str) for name in names):
        raise BayesGLMError(f"by must be a column name or a list of them; got (by={by!r}).")
    if design.formula is not None:
        frame = design.formula.training.reset_index(drop=True)
    else:
        frame = pd.DataFrame(design.X, columns=list(design.names))
    absent = [name for name in names if name not in frame.columns]
    if absent:
        raise BayesGLMError(
            f"by names column(s) {', '.join(map(repr, absent))} that the fitted rows do not "
            f"have (the model's columns: {', '.join(map(str, frame.columns))}); group by "
            f"one of them; got (by={by!r})."
        )
    grouped = frame.groupby(names, sort=True, observed=True)
    return names, grouped.ngroup().to_numpy(dtype=np.intp), grouped.size().reset_index()[names]


def _table(names: list[str], keys: pd.DataFrame, levels: tuple, columns: dict) -> pd.DataFrame:
    G, K = len(keys), len(levels)
    frame = pd.DataFrame({name: np.repeat(keys[name].to_numpy(), K) for name in names})
    frame["group"] = np.tile(np.asarray(levels, dtype=object), G)
    for column, values in columns.items():
        frame[column] = np.asarray(values).ravel()
    return frame


def average_probabilities(
    result: Any, by: Any = None, prob: float = 0.95, draws: np.ndarray | None = None
) -> pd.DataFrame:
    """The average probability of each level over the fitted rows (per ``by`` group).

    Parameters
    ----------
    result : CategoryMLEResult
        The fit (its rows, estimates and covariance).
    by : str or list of str, optional
        Columns of the model's data (a formula's) or of X (arrays).
    prob : float
        Interval probability.
    draws : ndarray, optional
        Posterior draws (draw, parameter): averaged draw by draw instead of the
        delta method.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``group`` (the level), ``estimate``, (MLE: ``std_error``),
        ``conf_low``, ``conf_high``; the interval is named in ``attrs["interval"]``.
    """
    check_prob(prob)
    cd = result.cdesign
    names, codes, keys = _groups(cd, by)
    G = len(keys)
    counts = np.bincount(codes, minlength=G).astype(float)
    onehot = (codes[None, :] == np.arange(G)[:, None]) / counts[:, None]  # (G, n)
    X = cd.X
    if draws is None:
        probs = result.probabilities(X, result.params_array)
        J = result.probability_jacobian(X, probs)
        estimate = onehot @ probs  # (G, K)
        Jbar = np.einsum("gn,nkq->gkq", onehot, J)
        se = np.sqrt(np.einsum("gkq,qr,gkr->gk", Jbar, result.cov_array, Jbar))
        q = float(stats.norm.ppf(0.5 + prob / 2.0))
        frame = _table(
            names,
            keys,
            cd.level_names,
            {
                "estimate": estimate,
                "std_error": se,
                "conf_low": estimate - q * se,
                "conf_high": estimate + q * se,
            },
        )
        frame.attrs["interval"] = f"{percent(prob)} Wald (normal, delta method)"
        return frame
    averages = np.stack([onehot @ result.probabilities(X, theta) for theta in draws])
    low, high = np.quantile(averages, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    frame = _table(
        names,
        keys,
        cd.level_names,
        {"estimate": np.median(averages, axis=0), "conf_low": low, "conf_high": high},
    )
    frame.attrs["interval"] = f"{percent(prob)} equal-tailed, posterior draws"
    return frame
