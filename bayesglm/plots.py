"""Figures of a Bayesian GLM fit (matplotlib; each function returns a Figure).

- :func:`forest`: posterior intervals per coefficient (or exp(beta) effect) with the
  MLE and its Wald interval overlaid;
- :func:`ppc`: a posterior predictive check suited to the family: a rootogram for
  counts, binned calibration for binary outcomes, a density overlay otherwise;
- :func:`trace`: trace and rank plots per parameter;
- :func:`components`: the fitted GLM's parts: linear predictor, mean through the
  inverse link, variance function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from .errors import BayesGLMError
from .marginal import outcome_label
from .predict import percent

if TYPE_CHECKING:
    from .results import GLMResult

__all__ = [
    "components",
    "conditional",
    "conditional_grid",
    "forest",
    "marginal",
    "ppc",
    "sensitivity",
    "trace",
]

POSTERIOR, MLE_COLOR, DATA = "#1f5f8b", "#c0392b", "#333333"


def forest(
    result: GLMResult, effects: bool = False, prob: float = 0.95, standardize: bool = True
) -> Figure:
    """Posterior mean and ``prob`` interval per coefficient, MLE ± Wald interval beside.

    Coefficients (``effects=False``) share one axis, each multiplied by the sd of its
    column of the model matrix (with ``standardize``): the change in the linear
    predictor per sd of the column, comparable whatever units the predictors have.
    The intercept and constant columns, which have no sd, are left out (the
    effects show them). Effects (``effects=True``, exp(beta) where the link gives it a
    meaning) are per unit of their own predictor, so each row has its own axis.
    """
    if effects:
        return _effects_rows(result, prob)
    table = result.summary(prob).loc[result.names]
    ci = result.mle.conf_int(prob)
    scale = pd.Series(1.0, index=result.names)
    names, standardized = result.names, False
    if standardize:
        sd = pd.Series(np.asarray(result.design.X).std(axis=0, ddof=1), index=result.names)
        varying = [name for name in names if sd[name] > 0]
        if varying:
            names, scale, standardized = varying, sd[varying], True
    table, ci = table.loc[names], ci.loc[names]
    rows = pd.DataFrame(
        {
            "center": table["mean"] * scale,
            "low": table["eti_lower"] * scale,
            "high": table["eti_upper"] * scale,
            "mle": result.mle.params[names] * scale,
            "mle_low": ci["conf_low"] * scale,
            "mle_high": ci["conf_high"] * scale,
        },
        index=names,
    )
    rows = _without_diverged(rows, [name in result.mle.separation for name in names])
    fig, ax = plt.subplots(figsize=(7, 0.42 * len(names) + 1.5))
    y = np.arange(len(names))[::-1]
    _interval_pair(ax, y, rows, prob)
    ax.axvline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(y, names)
    ax.set_ylim(-0.6, len(names) - 0.4)
    if standardized:
        ax.set_xlabel("change in the linear predictor per sd of the column")
        ax.set_title("Coefficients × sd of their column")
    else:
        ax.set_xlabel("coefficient")
        ax.set_title("Coefficients")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def _without_diverged(rows: pd.DataFrame, separated: list[bool]) -> pd.DataFrame:
    """Rows of columns that separate the outcome lose their MLE (it does not exist;
    its huge Wald interval would squeeze every other row into a point)."""
    rows = rows.copy()
    rows.loc[np.asarray(separated), ["mle", "mle_low", "mle_high"]] = np.nan
    return rows


def _interval_pair(ax, y: np.ndarray, rows: pd.DataFrame, prob: float) -> None:
    """Posterior interval and mean (blue, above) and MLE with its Wald interval (red)."""
    ax.hlines(
        y + 0.12,
        rows["low"],
        rows["high"],
        color=POSTERIOR,
        lw=2.5,
        label=f"posterior {percent(prob)}",
    )
    ax.plot(rows["center"], y + 0.12, "o", color=POSTERIOR)
    ax.hlines(
        y - 0.12,
        rows["mle_low"],
        rows["mle_high"],
        color=MLE_COLOR,
        lw=1.5,
        label=f"MLE {percent(prob)} Wald",
    )
    ax.plot(rows["mle"], y - 0.12, "s", color=MLE_COLOR, ms=5)


def _own_axes(rows: pd.DataFrame, prob: float, title: str, reference: float | None) -> Figure:
    """One panel per row, each with its own x-axis: quantities in different units
    (per unit of different predictors) stay readable side by side."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(7, 0.62 * len(rows) + 1.1), squeeze=False)
    for ax, (name, row) in zip(axes[:, 0], rows.iterrows(), strict=True):
        _interval_pair(ax, np.zeros(1), row.to_frame().T, prob)
        low = np.nanmin([row["low"], row["mle_low"]])
        high = np.nanmax([row["high"], row["mle_high"]])
        if reference is not None and low <= reference <= high:
            ax.axvline(reference, color="grey", lw=0.8, ls="--")
        ax.set_yticks([0], [name])
        ax.set_ylim(-0.5, 0.5)
        ax.margins(x=0.04)
        ax.ticklabel_format(axis="x", useOffset=False)
        ax.tick_params(axis="x", labelsize="x-small")
        ax.tick_params(axis="y", labelsize="small")
        ax.spines[["top", "right", "left"]].set_visible(False)
    axes[0, 0].set_title(title)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize="small")
    fig.tight_layout(rect=(0, 0.6 / (0.62 * len(rows) + 1.1), 1, 1), h_pad=0.3)
    return fig


def _effects_rows(result: GLMResult, prob: float) -> Figure:
    table = result.effects(prob)
    label = table.attrs["effect"]
    names = list(table.index)
    mle = result.mle.conf_int(prob).loc[names]

    def transform(values: np.ndarray) -> np.ndarray:
        # A diverged MLE (separation) has exp(beta) = inf: drawn as missing.
        if not label:
            return values
        with np.errstate(over="ignore"):
            out = np.exp(values)
        return np.where(np.isfinite(out), out, np.nan)

    rows = pd.DataFrame(
        {
            "center": table["median"].to_numpy(),
            "low": table["eti_lower"].to_numpy(),
            "high": table["eti_upper"].to_numpy(),
            "mle": transform(result.mle.params[names].to_numpy()),
            "mle_low": transform(mle["conf_low"].to_numpy()),
            "mle_high": transform(mle["conf_high"].to_numpy()),
        },
        index=[f"{name}\n{effect}" for name, effect in zip(names, table["effect"], strict=True)],
    )
    rows = _without_diverged(rows, [name in result.mle.separation for name in names])
    title = (
        "Effects: exp(coefficient), each on its own axis"
        if label
        else "Coefficients, each on its own axis"
    )
    return _own_axes(rows, prob, title, 1.0 if label else 0.0)


def marginal(
    result: GLMResult,
    prob: float = 0.95,
    slopes: bool = False,
    tables: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> Figure:
    """Average comparisons (or slopes) on the mean scale: posterior median and
    interval beside the MLE's delta-method estimate and Wald interval, each term on
    its own axis (a +1 change is in each predictor's own units). ``tables``: the
    posterior's and the MLE's tables when already computed."""
    if tables is not None:
        posterior, mle = tables
    elif slopes:
        posterior, mle = result.avg_slopes(prob=prob), result.mle.avg_slopes(prob=prob)
    else:
        posterior = result.avg_comparisons(prob=prob)
        mle = result.mle.avg_comparisons(prob=prob)
    rows = pd.DataFrame(
        {
            "center": posterior["estimate"].to_numpy(),
            "low": posterior["conf_low"].to_numpy(),
            "high": posterior["conf_high"].to_numpy(),
            "mle": mle["estimate"].to_numpy(),
            "mle_low": mle["conf_low"].to_numpy(),
            "mle_high": mle["conf_high"].to_numpy(),
        },
        index=[f"{t}\n{c}" for t, c in zip(posterior["term"], posterior["contrast"], strict=True)],
    )
    what = "slopes" if slopes else "comparisons"
    return _own_axes(rows, prob, f"Average {what} on the mean scale", 0.0)


def sensitivity(result: GLMResult) -> Figure:
    """Power-scaling sensitivity per parameter, prior and likelihood, with ArviZ's
    threshold: a prior bar past the line is an informative prior."""
    table = result.sensitivity()
    threshold = table.attrs["threshold"]
    names = list(table.index)
    fig, ax = plt.subplots(figsize=(7, 0.38 * len(names) + 1.5))
    y = np.arange(len(names))[::-1]
    ax.barh(y + 0.18, table["prior"], height=0.34, color=MLE_COLOR, label="prior")
    ax.barh(y - 0.18, table["likelihood"], height=0.34, color=POSTERIOR, label="likelihood")
    ax.axvline(threshold, color="grey", lw=0.8, ls="--", label=f"threshold {threshold:g}")
    ax.set_yticks(y, names)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.set_xlabel("power-scaling sensitivity (ArviZ psense)")
    ax.set_title("Prior and likelihood sensitivity")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def conditional(
    result: GLMResult, variable: str | list[str], prob: float = 0.95, points: int = 60
) -> Figure:
    """The predicted mean against a predictor, the other predictors held at typical
    values (the mean of a number, the most common level of a factor): posterior mean
    with its ``prob`` band, and the MLE with its Wald band beside it.

    Parameters
    ----------
    result : GLMResult
    variable : str or list of str
        A predictor (a column the formula reads, or a column of an array model), or
        several: one panel each.
    prob : float
        Probability of the bands.
    points : int
        Grid points over the range of a numeric predictor.

    Examples
    --------
    >>> from bayesglm import plots  # doctest: +SKIP
    >>> plots.conditional(fit, "Age").savefig("age.png")  # doctest: +SKIP
    """
    variables = [variable] if isinstance(variable, str) else list(variable)
    columns = min(len(variables), 2)
    rows = -(-len(variables) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(7 if columns == 1 else 10, 3.8 * rows + 0.4), squeeze=False
    )
    for ax, name in zip(axes.ravel(), variables, strict=False):
        _conditional_panel(ax, result, name, prob, points)
    for ax in axes.ravel()[len(variables) :]:
        ax.set_visible(False)
    fig.suptitle("Conditional effects (other predictors at typical values)")
    fig.tight_layout()
    return fig


def _conditional_panel(ax, result: GLMResult, variable: str, prob: float, points: int) -> None:
    grid, values, numeric, offset = conditional_grid(result, variable, points)
    posterior = result.predict(grid, scale="mean", prob=prob, offset=offset)
    mle = result.mle.predict(grid, scale="mean", prob=prob, offset=offset)
    if numeric:
        ax.fill_between(
            values,
            posterior["conf_low"],
            posterior["conf_high"],
            color=POSTERIOR,
            alpha=0.25,
            label=f"posterior {percent(prob)}",
        )
        ax.plot(values, posterior["estimate"], color=POSTERIOR, lw=2)
        ax.plot(values, mle["estimate"], color=MLE_COLOR, lw=1, label=f"MLE {percent(prob)} Wald")
        for end in ("conf_low", "conf_high"):
            ax.plot(values, mle[end], color=MLE_COLOR, lw=1, ls="--")
    else:
        x = np.arange(len(values))
        for shift, table, marker, color, label in (
            (-0.08, posterior, "o", POSTERIOR, f"posterior {percent(prob)}"),
            (0.08, mle, "s", MLE_COLOR, f"MLE {percent(prob)} Wald"),
        ):
            ax.errorbar(
                x + shift,
                table["estimate"],
                yerr=[
                    table["estimate"] - table["conf_low"],
                    table["conf_high"] - table["estimate"],
                ],
                fmt=marker,
                color=color,
                label=label,
            )
        ax.set_xticks(x, [str(v) for v in values])
    ax.set_xlabel(variable)
    ax.set_ylabel(f"mean of {outcome_label(result.design)}")
    ax.legend(fontsize="x-small")


def conditional_grid(
    result: GLMResult, variable: str, points: int = 60
) -> tuple[Any, list | np.ndarray, bool, np.ndarray | None]:
    """New rows for :func:`conditional`: ``variable`` over its range (or its levels),
    every other predictor at its typical value. Returns (rows, the values of
    ``variable``, whether it is numeric, the offset to pass or None)."""
    design = result.design
    state = design.formula
    if state is None:
        X = np.asarray(design.X)
        if variable not in design.names:
            raise BayesGLMError(
                f"the variable must be a column of the model; one of "
                f"{', '.join(design.names)}; got (variable={variable!r})."
            )
        j = design.names.index(variable)
        column = X[:, j]
        values = np.unique(column)
        numeric = len(values) > 2
        if numeric:
            values = np.linspace(column.min(), column.max(), points)
        grid = np.tile(X.mean(axis=0), (len(values), 1))
        grid[:, j] = values
        offset = design.eta_offset
        fixed = None if not np.any(offset) else np.full(len(values), offset.mean())
        return grid, values, numeric, fixed
    from .formula import factor_columns, predictor_columns

    training = state.training
    if variable not in predictor_columns(state):
        raise BayesGLMError(
            f"the variable must be a predictor the formula reads; one of "
            f"{', '.join(predictor_columns(state))}; got (variable={variable!r})."
        )
    # A column the formula encodes as a factor (C(year) of a numeric year) moves over
    # its levels and is held at its most common one, whatever its dtype.
    factors = factor_columns(state)

    def is_number(name: str) -> bool:
        values = training[name]
        plain = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        return plain and name not in factors

    column = training[variable]
    numeric = is_number(variable) and column.nunique() > 2
    if numeric:
        values = np.linspace(column.min(), column.max(), points)
    elif variable in factors:
        values = list(factors[variable][0])
    elif isinstance(column.dtype, pd.CategoricalDtype):
        values = list(column.cat.categories)
    else:
        values = sorted(column.dropna().unique())
    typical = {
        name: training[name].mean() if is_number(name) else training[name].mode().iloc[0]
        for name in training.columns
    }
    grid = pd.DataFrame({name: [value] * len(values) for name, value in typical.items()})
    grid = grid.astype(
        {
            name: training[name].dtype
            for name in training.columns
            if not pd.api.types.is_numeric_dtype(training[name])
        },
        errors="ignore",
    )
    grid[variable] = pd.Series(values, dtype=column.dtype if not numeric else float)
    offset = None
    if np.any(design.eta_offset) and state.offset_term is None and state.exposure is None:
        offset = np.full(len(values), design.eta_offset.mean())
    return grid, values, numeric, offset


def ppc(result: GLMResult, n_draws: int = 200, seed: int = 0) -> Figure:
    """Posterior predictive check chosen by the family's support."""
    family = result.spec.family
    rng = np.random.default_rng(seed)
    replicated = result.posterior_predictive(rng=rng)
    pick = rng.choice(replicated.shape[0], size=min(n_draws, replicated.shape[0]), replace=False)
    replicated = replicated[pick]
    y = result.design.y
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if family.is_probability:
        _calibration(ax, result, y, replicated)
    elif family.support.integer:
        _rootogram(ax, y, replicated)
    else:
        # Rows of weight 0 (gaussian precision weights) have no replicated response.
        drawn = np.isfinite(replicated).all(axis=0)
        _density(ax, y[drawn], replicated[:, drawn])
    fig.tight_layout()
    return fig


def _rootogram(ax, y: np.ndarray, replicated: np.ndarray) -> None:
    top = int(np.quantile(np.r_[y, replicated.ravel()], 0.995)) + 1
    bins = np.arange(top + 1)
    observed = np.bincount(np.minimum(y.astype(int), top), minlength=top + 1)[: top + 1]
    expected = np.array(
        [
            np.bincount(np.minimum(r.astype(int), top), minlength=top + 1)[: top + 1]
            for r in replicated
        ]
    )
    mean, low, high = expected.mean(0), *np.quantile(expected, [0.05, 0.95], axis=0)
    ax.bar(bins, np.sqrt(observed), color="#bbbbbb", label="observed", width=0.9)
    ax.plot(bins, np.sqrt(mean), "o-", color=POSTERIOR, label="posterior predictive")
    ax.fill_between(bins, np.sqrt(low), np.sqrt(high), color=POSTERIOR, alpha=0.2)
    ax.set_xlabel("count")
    ax.set_ylabel("sqrt(frequency)")
    ax.set_title("Rootogram: observed vs predicted count frequencies")
    ax.legend(fontsize="small")


def _calibration(ax, result: GLMResult, y: np.ndarray, replicated: np.ndarray) -> None:
    trials = result.design.trial_counts
    fitted = result.predict(scale="mean")["estimate"].to_numpy()
    edges = np.unique(np.quantile(fitted, np.linspace(0, 1, 11)))
    group = np.clip(np.searchsorted(edges, fitted, side="right") - 1, 0, len(edges) - 2)
    rows = [g for g in range(len(edges) - 1) if (group == g).any()]
    predicted = [np.average(fitted[group == g], weights=trials[group == g]) for g in rows]
    observed = [y[group == g].sum() / trials[group == g].sum() for g in rows]
    bands = np.array(
        [[r[group == g].sum() / trials[group == g].sum() for g in rows] for r in replicated]
    )
    low, high = np.quantile(bands, [0.05, 0.95], axis=0)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.vlines(
        predicted, low, high, color=POSTERIOR, lw=3, alpha=0.4, label="90% posterior predictive"
    )
    ax.plot(predicted, observed, "o", color=DATA, label="observed proportion")
    ax.set_xlabel("predicted probability (bin mean)")
    ax.set_ylabel("observed proportion")
    ax.set_title("Binned calibration")
    ax.legend(fontsize="small")


def _density(ax, y: np.ndarray, replicated: np.ndarray) -> None:
    grid = np.linspace(*np.quantile(np.r_[y, replicated.ravel()], [0.005, 0.995]), 200)
    for r in replicated[:50]:
        ax.plot(grid, stats.gaussian_kde(r)(grid), color=POSTERIOR, alpha=0.08, lw=1)
    ax.plot(grid, stats.gaussian_kde(y)(grid), color=DATA, lw=2, label="observed")
    ax.plot([], [], color=POSTERIOR, label="replicated")
    ax.set_xlabel("response")
    ax.set_ylabel("density")
    ax.set_title("Density overlay: observed vs posterior predictive")
    ax.legend(fontsize="small")


def trace(result: GLMResult) -> Figure:
    """Trace (left) and rank histograms per chain (right) for each parameter."""
    draws = result.draws()
    names = [c for c in draws.columns if c not in ("chain", "draw")]
    fig, axes = plt.subplots(len(names), 2, figsize=(9, 1.7 * len(names) + 0.6), squeeze=False)
    ranks = stats.rankdata(draws[names].to_numpy(), axis=0)
    bins = np.linspace(0, len(draws), 21)
    for row, name in enumerate(names):
        for _, part in draws.groupby("chain"):
            axes[row, 0].plot(part["draw"], part[name], lw=0.5, alpha=0.7)
            axes[row, 1].hist(ranks[part.index, row], bins=bins, histtype="step")
        axes[row, 0].set_ylabel(name, fontsize="small")
    axes[0, 0].set_title("trace")
    axes[0, 1].set_title("rank histogram per chain (flat is good)")
    fig.tight_layout()
    return fig


def components(result: GLMResult) -> Figure:
    """The GLM's parts at the posterior mean: eta, mu = g^-1(eta) with the data, V(mu)."""
    # The MLE's family carries everything the variance needs (the NB's theta).
    family, link = result.mle.family, result.spec.link
    eta = result.predict(scale="link")["estimate"].to_numpy()
    trials = result.design.trial_counts
    y = result.design.y_mean
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    axes[0].hist(eta, bins=30, color=POSTERIOR, alpha=0.8)
    axes[0].set_title("linear predictor η = Xβ + offset")
    axes[0].set_xlabel("η")
    grid = np.linspace(eta.min(), eta.max(), 200)
    axes[1].plot(eta, y, ".", color=DATA, alpha=0.4, ms=3, label="data")
    axes[1].plot(grid, link.inverse(grid), color=POSTERIOR, lw=2, label=f"{link.name}⁻¹(η)")
    axes[1].set_title(f"mean through the inverse {link.name} link")
    axes[1].set_xlabel("η")
    axes[1].legend(fontsize="small")
    mu = link.inverse(eta)
    mu_grid = np.linspace(mu.min(), mu.max(), 200)
    phi = result.mle.dispersion
    axes[2].plot(
        mu, (y - mu) ** 2 * trials / phi, ".", color=DATA, alpha=0.4, ms=3, label="(y - μ)² / φ"
    )
    axes[2].plot(mu_grid, family.variance(mu_grid), color=POSTERIOR, lw=2, label="V(μ)")
    axes[2].set_yscale("symlog")
    axes[2].set_title(f"variance function of the {family.name}")
    axes[2].set_xlabel("μ")
    axes[2].legend(fontsize="small")
    fig.tight_layout()
    return fig
