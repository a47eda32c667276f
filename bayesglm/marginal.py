r"""Marginal effects on the mean scale: average predictions, comparisons and slopes.

One mechanism serves both results. An *estimand* is the average, over the fitted
rows (or over each group of them, ``by=``), of a row quantity:

- the mean :math:`\mu_i` at the rows as they are, or with one predictor set to
  other values (a *counterfactual*: ``x + 1/2``, ``x - 1/2``, ``g = "b"``); the
  model matrix of changed rows is rebuilt by the formula
  (:func:`bayesglm.formula.new_data_matrix`), so every column that reads the
  predictor follows it (``x + I(x**2)``, ``x:z``, ``C(g)``, splines);
- the slope :math:`d\mu_i/dx = \mu'(\eta_i)\,(\partial X_i/\partial x)\,\beta`, with
  the inverse link's own derivative (:attr:`bayesglm.links.Link.inverse_deriv`).

A comparison combines two averages: their difference, or their ratio (the ratio of
the average means, marginaleffects' ``"ratioavg"``).

The MLE result takes the delta method: each average and its gradient in
:math:`\beta` are summed over blocks of rows, and the standard error is
:math:`\sqrt{J \Sigma J^\top}`. The posterior takes every draw: the average of each
draw is summed over chunks of rows (never a draws × n array, only draws × a chunk),
then summarized by its median and equal-tailed interval.

:math:`\partial X/\partial x`, column by column: the columns of an array model are
the predictors themselves (the derivative is 1). For a formula the design matrix
is rebuilt at :math:`x \pm s` and at :math:`x \pm h` (``s`` = sd(x)/100, ``h`` =
sd(x)/10⁵). A central difference is exact for a column at most quadratic in ``x``
(``x``, ``x:z``, ``I(x**2)``): there both agree and the wider step is used, whose
rounding error is the smaller; in other columns (splines, ``log(x)``) the two
differ and the narrow one is used, a finite difference as marginaleffects takes.
Rows within two steps of the largest (smallest) training value of ``x`` take the
one-sided second-order difference inward, equally exact for quadratic columns,
since a spline's basis is not defined past the training values. The shifted copies
of the rows are built by one evaluation of the formula on them stacked.

A predictor that the formula reads once, as itself (a term ``x``, not ``I(x**2)``
nor ``x:z``; :func:`bayesglm.formula.linear_columns`), and every column of an array
model, is its one model-matrix column: moving it changes that column only, and its
derivative is 1 there, so neither is rebuilt. The posterior computes every mean of a
table (every slope) in one pass over the rows: per chunk, one product of the rows
by the draws gives the linear predictor, a moved plain column shifts it by
:math:`(x' - x)\,\beta_j`, and the rebuilt matrices (derivatives) of the other
predictors, stacked, are one more product; a plain predictor's slope is
:math:`\beta_j` times the average of :math:`\mu'(\eta)`.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._rowpass import map_row_ranges
from ._xp import Interval
from .design import Design
from .draw_summaries import chunk_rows
from .errors import BayesGLMError, DomainWarning, SeparationWarning
from .families import Family
from .links import Link
from .predict import eta_range, percent, row_chunks
from .rounding import with_relative_uncertainty, with_uncertainty

__all__ = [
    "COMPARISONS",
    "DeltaMethod",
    "Draws",
    "avg_comparisons",
    "avg_predictions",
    "avg_slopes",
    "outcome_label",
]

COMPARISONS = ("difference", "ratio")

_BLOCK_ELEMENTS = 2_000_000  # rows x columns of a rebuilt model matrix held at once
# rows x columns of the stacked shifted copies built by one evaluation of the formula:
# a quarter of a block keeps a derivative's working memory that of one block per
# rebuild (formulaic holds copies of what it builds).
_STACKED_ELEMENTS = _BLOCK_ELEMENTS // 4
_WIDE_STEP, _NARROW_STEP = 1e-2, 1e-5  # of sd(x), for the difference of the matrix
_AGREE = 1e-7  # relative: the two differences agree, the column is at most quadratic


# --- what is averaged ------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One predictor set to new values: ``values(old)`` gives them, row by row."""

    column: str
    values: Callable[[np.ndarray], Any]


@dataclass(frozen=True)
class Part:
    """A row quantity to average: the mean at the rows (with a change, or as they
    are), or the slope of the mean in ``slope_of``."""

    change: Change | None = None
    slope_of: str | None = None


@dataclass(frozen=True)
class Estimand:
    """One row of the table: its parts and how they combine."""

    term: str | None
    contrast: str | None
    parts: tuple[Part, ...]
    combine: str  # "identity", "difference" (parts[0] - parts[1]), "ratio"
    words: str  # the change in words, for the sentence


def marginal_effects_available(design: Design) -> bool:
    """Whether the design's rows are the fitted rows: not Dask chunks, nor cells that
    stand for many rows each (whose formula keeps a sample of the rows)."""
    state = design.formula
    return not design.chunked and (state is None or len(state.training) == design.n)


class Rows:
    """The fitted rows: their model matrix as they are, or changed, block by block; and
    the linear predictors where the model defines a mean (``valid``)."""

    def __init__(self, design: Design, valid: Interval) -> None:
        if not marginal_effects_available(design):
            raise BayesGLMError(
                "marginal effects average over the fitted rows, and this fit's rows are "
                "not in memory (a fit on cells or on Dask data): its cells are not rows, "
                "and their average is not the rows'; fit_mle() or fit() on the rows in "
                "memory (or a sample of them) has them; got (data=cells or Dask)."
            )
        self.design, self.valid = design, valid
        self.n = design.n
        self.offset = design.eta_offset
        state = design.formula
        if state is None:
            self.columns = [name for j, name in enumerate(design.names) if j != design.intercept]
            self.frame = pd.DataFrame(np.asarray(design.X), columns=list(design.names))
            self.factors: dict[str, tuple[list, Any]] = {}
            self.linear = {name: design.names.index(name) for name in self.columns}
        else:
            from .formula import factor_columns, linear_columns, predictor_columns

            self.columns = predictor_columns(state)
            self.frame = state.training.reset_index(drop=True)
            self.factors = factor_columns(state)
            self.linear = {
                column: design.names.index(name)
                for column, name in linear_columns(state).items()
                if name in design.names
            }
            for column in self.columns:
                values = self.frame[column]
                if column not in self.factors and pd.api.types.is_bool_dtype(values):
                    self.factors[column] = ([False, True], False)
        self.block = max(1, _BLOCK_ELEMENTS // max(design.p, 1))

    def blocks(self, matrices: int = 1) -> list[slice]:
        """Slices of the rows, sized so that ``matrices`` model matrices of a slice
        stay within ``_BLOCK_ELEMENTS`` numbers."""
        size = max(1, self.block // matrices)
        return [slice(lo, min(lo + size, self.n)) for lo in range(0, self.n, size)]

    def is_factor(self, column: str) -> bool:
        return column in self.factors or not pd.api.types.is_numeric_dtype(self.frame[column])

    def is_binary(self, column: str) -> bool:
        """A numeric column of 0s and 1s, compared 1 against 0 by default."""
        return bool(self.frame[column].isin((0, 1)).all())

    def sd(self, column: str) -> float:
        sd = float(np.std(self.frame[column].to_numpy(dtype=float), ddof=1))
        return sd if np.isfinite(sd) and sd > 0 else 1.0

    def matrix(self, rows: slice | np.ndarray, change: Change | None) -> np.ndarray:
        """The model matrix of ``rows``, with ``change`` made."""
        design = self.design
        if change is None:
            return np.asarray(design.X[rows])
        j = self.linear.get(change.column)
        if j is not None:  # the predictor's one column holds its values
            X = np.array(design.X[rows])
            X[:, j] = change.values(X[:, j])
            return X
        frame = self.frame.iloc[rows].copy()
        new = change.values(frame[change.column].to_numpy())
        frame[change.column] = np.broadcast_to(new, len(frame)) if np.ndim(new) == 0 else new
        try:
            return self._rebuilt(frame)
        except BayesGLMError as error:
            raise self._beyond_range(change.column, new) or error from None

    def _beyond_range(self, column: str, moved: Any) -> BayesGLMError | None:
        """The refusal of a move that takes ``column`` past the values the formula's
        transforms were fitted on (a spline's boundary knots do not extrapolate),
        or None when the move stays inside them."""
        values = self.frame[column]
        if not pd.api.types.is_numeric_dtype(values):
            return None
        low, high = float(values.min()), float(values.max())
        moved = np.asarray(moved, dtype=float)
        if ((moved >= low) & (moved <= high)).all():
            return None
        return BayesGLMError(
            f"moving {column!r} takes it outside the values the formula's transforms were "
            f"fitted on ({low:g} to {high:g}; a spline's basis does not extend past its "
            f"boundary knots), so the moved rows have no model matrix; compare two values "
            f"inside that range, variables={{{column!r}: [a, b]}}; got (the moved values "
            f"{float(moved.min()):g} to {float(moved.max()):g})."
        )

    def derivative(self, rows: slice, column: str) -> np.ndarray:
        """∂X/∂x of ``rows`` (see the module's docstring for the steps)."""
        j = self.linear.get(column)
        if j is not None:  # the predictor's one column holds its values
            dX = np.zeros((rows.stop - rows.start, self.design.p))
            dX[:, j] = 1.0
            return dX
        sd = self.sd(column)
        wide, narrow = self._differences(rows, column, (_WIDE_STEP * sd, _NARROW_STEP * sd))
        scale = np.abs(wide).max(axis=0) + 1.0
        same = (np.abs(wide - narrow) <= _AGREE * scale).all(axis=0)
        return np.where(same, wide, narrow)

    def _differences(self, rows: slice, column: str, steps: tuple[float, ...]) -> list:
        """For each step, (X(x + step) - X(x - step)) / (2 step); at rows within two
        steps of the end of the training values, the one-sided second-order
        difference inward (a spline's basis is not defined past them). Both are exact
        for columns at most quadratic in x."""
        trained = self.frame[column].to_numpy(dtype=float)
        x = trained[rows]
        sides = []  # per step: {0 (central), 1 (forward), -1 (backward): row indices}
        for step in steps:
            backward = x + 2 * step > trained.max()
            forward = ~backward & (x - 2 * step < trained.min())
            sides.append({0: ~(backward | forward), 1: forward, -1: backward})
        wanted = [
            (index, shift)
            for step, by_side in zip(steps, sides, strict=True)
            for side, index in by_side.items()
            if index.any()
            for shift in ((step, -step) if side == 0 else (side * step, 2 * side * step))
        ]
        moved = self._moved(np.arange(rows.start, rows.stop), column, wanted)
        X = np.asarray(self.design.X[rows])
        out = []
        for step, by_side in zip(steps, sides, strict=True):
            d = np.empty((x.size, self.design.p))
            for side, index in by_side.items():
                if not index.any():
                    continue
                if side == 0:
                    d[index] = (next(moved) - next(moved)) / (2 * step)
                else:
                    h = side * step
                    d[index] = (-3 * X[index] + 4 * next(moved) - next(moved)) / (2 * h)
            out.append(d)
        return out

    def _moved(self, block: np.ndarray, column: str, wanted: list) -> Iterator[np.ndarray]:
        """The model matrix of ``block[index]`` with ``column`` moved by ``shift``, for
        each ``(index, shift)`` of ``wanted`` in turn. The formula is evaluated once
        on the moved rows stacked (its fixed cost, not the rows, dominates a small
        fit's rebuild), in batches of at most ``_STACKED_ELEMENTS`` numbers."""
        values = self.frame[column].to_numpy()
        limit = max(1, _STACKED_ELEMENTS // max(self.design.p, 1))
        batch: list[tuple[np.ndarray, float]] = []
        for k, (index, shift) in enumerate(wanted):
            batch.append((block[index], shift))
            size = sum(rows.size for rows, _ in batch)
            if k + 1 < len(wanted) and size + block[wanted[k + 1][0]].size <= limit:
                continue
            frame = self.frame.iloc[np.concatenate([rows for rows, _ in batch])].copy()
            frame[column] = np.concatenate([values[rows] + shift for rows, shift in batch])
            stacked = self._rebuilt(frame)
            bounds = np.cumsum([0] + [rows.size for rows, _ in batch])
            # Only the caller's views hold a batch once it is taken: a block's worth
            # of memory, not two.
            batch, frame = [], None
            yield from (stacked[lo:hi] for lo, hi in itertools.pairwise(bounds))
            stacked = None

    def _rebuilt(self, frame: pd.DataFrame) -> np.ndarray:
        """The model matrix of ``frame``'s rows, built by the formula."""
        from .formula import new_data_matrix

        matrix, _ = new_data_matrix(self.design.formula, frame)
        return matrix[list(self.design.names)].to_numpy(dtype=float)


# --- the two ways of computing an average ----------------------------------------------


class DeltaMethod:
    """Averages and their gradients in beta at the MLE, per group; summarized by
    the estimate, its delta-method standard error and a Wald interval.

    Parameters
    ----------
    beta, cov : ndarray
        The estimates and their covariance.
    link : Link
    q : float
        The interval's multiplier (normal or t quantile).
    interval : str
        The interval's name, for ``frame.attrs["interval"]``.
    separation : tuple of str, optional
        The columns along which the fit found separation (its estimates diverged).
    """

    def __init__(
        self,
        beta: np.ndarray,
        cov: np.ndarray,
        link: Link,
        q: float,
        interval: str,
        separation: tuple[str, ...] = (),
    ):
        self.beta, self.cov, self.link, self.q, self.interval = beta, cov, link, q, interval
        self.separation = separation

    def warn_unscaled(self, count: int, total: int) -> None:
        """Say why ``count`` rows have an estimate but no standard error: the
        covariance of the estimates is not finite."""
        if self.separation:
            why = (
                "the maximum-likelihood fit diverged (separation along "
                f"{', '.join(self.separation)}), so the covariance of its estimates is not "
                "finite and the delta method has nothing to scale; the estimates are those "
                "of its last iteration. The Bayesian fit (fit() with proper priors) gives "
                "intervals."
            )
        else:
            why = (
                "the covariance of the maximum-likelihood estimates is not finite "
                "(fit.cov_params: fitted means at the edge of their range, or no residual "
                "degrees of freedom for the dispersion), so the delta method has nothing "
                "to scale."
            )
        warnings.warn(
            f"{count} of {total} row(s) of the table have no standard error or interval: {why}",
            SeparationWarning if self.separation else UserWarning,
            stacklevel=5,
        )

    def average(self, rows: Rows, part: Part, codes: np.ndarray, n_groups: int) -> tuple:
        """Sums per group of the part's row values, and of their gradients."""
        p = self.beta.size
        value, grad = np.zeros(n_groups), np.zeros((n_groups, p))
        for block in rows.blocks():
            X = rows.matrix(block, part.change)
            eta = X @ self.beta + rows.offset[block]
            with np.errstate(all="ignore"):
                d_mu = self.link.inverse_deriv(eta)
                if part.slope_of is None:
                    r, R = self.link.inverse(eta), d_mu[:, None] * X
                    r[~rows.valid.includes(eta)] = np.nan
                else:
                    dX = rows.derivative(block, part.slope_of)
                    d_eta = dX @ self.beta
                    r = d_mu * d_eta
                    r[~rows.valid.includes(eta)] = np.nan
                    R = (_second_deriv(self.link, eta) * d_eta)[:, None] * X
                    R += d_mu[:, None] * dX
            g = codes[block]
            value += np.bincount(g, weights=r, minlength=n_groups)
            for j in range(p):
                grad[:, j] += np.bincount(g, weights=R[:, j], minlength=n_groups)
        return value, grad

    def means(self, rows: Rows, parts: list[Part], codes: np.ndarray, n_groups: int) -> list:
        """The sums of :meth:`average` for each of the ``parts``."""
        return [self.average(rows, part, codes, n_groups) for part in parts]

    def slopes(self, rows: Rows, columns: list[str], codes: np.ndarray, n_groups: int) -> list:
        """The sums of :meth:`average` for the slope in each of ``columns``."""
        return [self.average(rows, Part(slope_of=c), codes, n_groups) for c in columns]

    @staticmethod
    def scale(total: tuple, counts: np.ndarray) -> tuple:
        return total[0] / counts, total[1] / counts[:, None]

    @staticmethod
    def combine(how: str, averages: list) -> tuple:
        (a, Ja), *rest = averages
        if how == "identity":
            return a, Ja
        b, Jb = rest[0]
        if how == "difference":
            return a - b, Ja - Jb
        return a / b, Ja / b[..., None] - (a / b**2)[..., None] * Jb

    def summarize(self, combined: tuple, g: int, null: float | None) -> dict[str, float]:
        value, grad = combined
        estimate = float(value[g])
        se = float(np.sqrt(grad[g] @ self.cov @ grad[g])) if np.isfinite(estimate) else np.nan
        return {
            "estimate": estimate,
            "std_error": se,
            "conf_low": estimate - self.q * se,
            "conf_high": estimate + self.q * se,
        }


@dataclass(frozen=True)
class _MeanPlan:
    """One block's model matrices for :meth:`Draws.means`: the rows as they are
    (``X``), for the parts without change (``as_is``); the rebuilt matrices of the
    parts listed in ``moved`` (``changed``, rows × moved parts × columns); for the
    parts that move a plain column (``shifted``), the shift of that column
    (``shifts``, rows × parts, in column ``columns[part]``)."""

    X: np.ndarray
    changed: np.ndarray
    moved: list[int]
    shifted: list[int]
    as_is: list[int]
    shifts: np.ndarray
    columns: np.ndarray
    offset: np.ndarray


def _moves_matrix(rows: Rows, part: Part) -> bool:
    """Whether the part's change needs its model matrix rebuilt by the formula."""
    return part.change is not None and part.change.column not in rows.linear


class Draws:
    """Averages per posterior draw, per group (groups × draws); summarized by the
    median, the probability of direction and the equal-tailed interval.

    Parameters
    ----------
    beta : ndarray
        Coefficient draws, draws × p.
    link : Link
    prob : float
        The interval's probability.
    chunk : int, optional
        Rows per chunk of draws × rows (:func:`bayesglm.draw_summaries.chunk_rows`).
    """

    def __init__(self, beta: np.ndarray, link: Link, prob: float, chunk: int | None = None):
        self.beta_t = np.ascontiguousarray(beta.T)
        self.link, self.chunk = link, chunk
        self.tails = [(1 - prob) / 2, (1 + prob) / 2]
        self.interval = f"{percent(prob)} equal-tailed (posterior median), mean scale"

    def means(
        self, rows: Rows, parts: list[Part], codes: np.ndarray, n_groups: int
    ) -> list[np.ndarray]:
        """Sums per group and per draw of the mean at the rows with each part's change,
        in one pass over the rows. A change of a predictor whose one column holds its
        values (``Rows.linear``) moves the linear predictor by (new - old) β_j, with no
        product; the other changes' model matrices are rebuilt, stacked, and multiplied
        by the draws in one product per chunk."""
        p = self.beta_t.shape[0]
        as_is = [i for i, part in enumerate(parts) if part.change is None]
        moved = [i for i, part in enumerate(parts) if _moves_matrix(rows, part)]
        shifted = [i for i in range(len(parts)) if i not in moved and i not in as_is]
        columns = np.zeros(len(parts), dtype=np.intp)
        for i in shifted:
            columns[i] = rows.linear[parts[i].change.column]
        total = np.zeros((n_groups, len(parts), self.beta_t.shape[1]))
        for block in rows.blocks(2 + len(moved)):
            X = rows.matrix(block, None)
            changed = np.zeros((X.shape[0], len(moved), p))  # rows × parts × columns
            for k, i in enumerate(moved):
                changed[:, k] = rows.matrix(block, parts[i].change)
            shifts = np.zeros((X.shape[0], len(parts)))
            for i in shifted:
                old = X[:, columns[i]]
                shifts[:, i] = parts[i].change.values(old) - old
            plan = _MeanPlan(
                X, changed, moved, shifted, as_is, shifts, columns, rows.offset[block]
            )
            values = functools.partial(self._mean_values, plan, rows.valid)
            total += self._block_sums(X.shape[0], codes[block], n_groups, len(parts), values)
        return list(total.swapaxes(0, 1))

    def slopes(
        self, rows: Rows, columns: list[str], codes: np.ndarray, n_groups: int
    ) -> list[np.ndarray]:
        """Sums per group and per draw of the slope in each of ``columns``, in one pass
        over the rows: each chunk's linear predictor and dμ/dη serve every predictor,
        and the predictors' dη/dx are one product (∂X/∂x of all of them, stacked,
        times the draws). A predictor whose one column holds its values
        (``Rows.linear``) has dη/dx = β_j at every row: its sum is β_j times the sum
        of dμ/dη, with no product at all."""
        n_draws, p = self.beta_t.shape[1], self.beta_t.shape[0]
        moved = [c for c in columns if c not in rows.linear]
        total = np.zeros((n_groups, 1 + len(moved), n_draws))
        for block in rows.blocks(1 + len(moved)):
            X = rows.matrix(block, None)
            dX = np.zeros((X.shape[0], len(moved), p))  # rows × predictors × columns
            for k, column in enumerate(moved):
                dX[:, k] = rows.derivative(block, column)
            values = functools.partial(self._slope_values, X, dX, rows.offset[block], rows.valid)
            total += self._block_sums(X.shape[0], codes[block], n_groups, 1 + len(moved), values)
        d_mu_sum = total[:, 0]
        moved_sums = dict(zip(moved, total[:, 1:].swapaxes(0, 1), strict=True))
        return [
            d_mu_sum * self.beta_t[rows.linear[c]] if c in rows.linear else moved_sums[c]
            for c in columns
        ]

    def _eta(self, X: np.ndarray, offset: np.ndarray, rows: slice) -> np.ndarray:
        eta = X[rows] @ self.beta_t
        eta += offset[rows, None]
        return eta

    def _mean_values(self, plan: _MeanPlan, valid: Interval, rows: slice) -> np.ndarray:
        """The mean of each part at ``rows`` (rows × parts × draws)."""
        n_rows, n_parts = plan.X[rows].shape[0], plan.shifts.shape[1]
        n_draws = self.beta_t.shape[1]
        if plan.moved:
            product = plan.changed[rows].reshape(-1, plan.changed.shape[2]) @ self.beta_t
            product = product.reshape(n_rows, -1, n_draws)
            product += plan.offset[rows, None, None]
        if len(plan.moved) < n_parts:  # the rows as they are serve the other parts
            eta0 = self._eta(plan.X, plan.offset, rows)[:, None, :]
        if len(plan.moved) == n_parts:
            eta = product
        elif len(plan.as_is) == n_parts:
            eta = eta0
        else:
            eta = np.empty((n_rows, n_parts, n_draws))
            eta[:, plan.as_is] = eta0
            shifts = plan.shifts[rows][:, plan.shifted, None]
            eta[:, plan.shifted] = eta0 + shifts * self.beta_t[plan.columns[plan.shifted]]
            if plan.moved:
                eta[:, plan.moved] = product
        with np.errstate(all="ignore"):
            out = self.link.inverse(eta)
        np.copyto(out, np.nan, where=~valid.includes(eta))
        return out

    def _slope_values(
        self, X: np.ndarray, dX: np.ndarray, offset: np.ndarray, valid: Interval, rows: slice
    ) -> np.ndarray:
        """dμ/dη, then dμ/dx of each predictor of ``dX`` (rows × 1 + predictors × draws)."""
        eta = self._eta(X, offset, rows)
        n_rows, n_draws = eta.shape
        out = np.empty((n_rows, 1 + dX.shape[1], n_draws))
        with np.errstate(all="ignore"):
            d_mu = self.link.inverse_deriv(eta)
            out[:, 0] = d_mu
            if dX.shape[1]:
                d_eta = dX[rows].reshape(-1, dX.shape[2]) @ self.beta_t
                np.multiply(d_mu[:, None, :], d_eta.reshape(n_rows, -1, n_draws), out=out[:, 1:])
        np.copyto(out, np.nan, where=~valid.includes(eta)[:, None, :])
        return out

    def _block_sums(
        self,
        n_rows: int,
        g: np.ndarray,
        n_groups: int,
        width: int,
        values: Callable[[slice], np.ndarray],
    ) -> np.ndarray:
        """Sums per group, quantity and draw (groups × width × draws) over one block's
        rows of ``values(rows)`` (rows × width × draws), in chunks shared out over
        threads."""
        n_draws = self.beta_t.shape[1]
        size = chunk_rows(n_draws, self.chunk)
        chunks = list(row_chunks(n_rows, n_draws, size if self.chunk else size // width or 1))

        def sums(first: int, last: int) -> np.ndarray:
            out = np.zeros((n_groups, width, n_draws))
            for c in chunks[first:last]:
                at = values(c)
                if n_groups == 1:
                    out[0] += at.sum(axis=0)
                else:
                    onehot = (g[c][None, :] == np.arange(n_groups)[:, None]).astype(float)
                    out += np.tensordot(onehot, at, axes=1)
            return out

        weight = (n_rows * n_draws * width) // max(len(chunks), 1)
        parts = map_row_ranges(sums, len(chunks), weight)
        return sum(parts, start=np.zeros((n_groups, width, n_draws)))

    def warn_unscaled(self, count: int, total: int) -> None:
        """Nothing to say: a median of the draws has its quantiles."""

    @staticmethod
    def scale(total: np.ndarray, counts: np.ndarray) -> np.ndarray:
        return total / counts[:, None]

    @staticmethod
    def combine(how: str, averages: list) -> np.ndarray:
        a, *rest = averages
        if how == "identity":
            return a
        return a - rest[0] if how == "difference" else a / rest[0]

    def summarize(self, combined: np.ndarray, g: int, null: float | None) -> dict[str, float]:
        draws = combined[g]
        low, high = np.quantile(draws, self.tails)
        record = {"estimate": float(np.median(draws))}
        if null is not None:
            above, below = float(np.mean(draws > null)), float(np.mean(draws < null))
            record["p_direction"] = max(above, below)
        return record | {"conf_low": float(low), "conf_high": float(high)}


Method = DeltaMethod | Draws


def _second_deriv(link: Link, eta: np.ndarray) -> np.ndarray:
    """d²μ/dη² by a central difference of the link's exact dμ/dη (error ~1e-10)."""
    h = 6e-6 * np.maximum(1.0, np.abs(eta))
    return (link.inverse_deriv(eta + h) - link.inverse_deriv(eta - h)) / (2 * h)


# --- groups ------------------------------------------------------------------------------


def row_groups(rows: Rows, by: Any) -> tuple[list[str], np.ndarray, pd.DataFrame]:
    """``by``'s column names, each row's group number and the groups' values."""
    if by is None:
        return [], np.zeros(rows.n, dtype=np.intp), pd.DataFrame(index=[0])
    names = [by] if isinstance(by, str) else list(by) if isinstance(by, list | tuple) else None
    if not names or not all(isinstance(name, str) for name in names):
        raise BayesGLMError(f"by must be a column name or a list of them; got (by={by!r}).")
    absent = [name for name in names if name not in rows.frame.columns]
    if absent:
        raise BayesGLMError(
            f"by names column(s) {', '.join(map(repr, absent))} that the fitted rows do not "
            f"have (the model's columns: {', '.join(map(str, rows.frame.columns))}); "
            f"group by one of them; got (by={by!r})."
        )
    grouped = rows.frame.groupby(names, sort=True, observed=True)
    codes = grouped.ngroup().to_numpy(dtype=np.intp)
    keys = grouped.size().reset_index()[names]
    return names, codes, keys


# --- the estimands -----------------------------------------------------------------------


def _variables(rows: Rows, variables: Any, numeric_only: bool) -> dict[str, Any]:
    """{predictor: its comparison spec (None for the default)}, checked."""
    if variables is None:
        chosen: dict[str, Any] = {
            c: None for c in rows.columns if not (numeric_only and rows.is_factor(c))
        }
        if not rows.columns:
            raise BayesGLMError(
                "the model has no predictor to move (an intercept-only model); "
                "avg_predictions gives its average mean; got (variables=None, predictors=[])."
            )
        if not chosen:
            raise BayesGLMError(
                "the model has no numeric predictor to take slopes of; use avg_comparisons "
                f"for factors; got (variables=None, predictors={rows.columns!r})."
            )
        return chosen
    if isinstance(variables, str):
        chosen = {variables: None}
    elif isinstance(variables, Mapping) and not numeric_only:
        chosen = dict(variables)
    elif isinstance(variables, list | tuple):
        chosen = dict.fromkeys(variables)
    else:
        allowed = "a name or a list of names" + ("" if numeric_only else ", or a dict")
        raise BayesGLMError(f"variables must be {allowed}; got (variables={variables!r}).")
    for column in chosen:
        if column not in rows.columns:
            raise BayesGLMError(
                f"variables names {column!r}, which is not a predictor of the model "
                f"(predictors: {', '.join(map(str, rows.columns))}); pick one of them; "
                f"got (variables={variables!r})."
            )
        if numeric_only and rows.is_factor(column):
            raise BayesGLMError(
                f"{column!r} is a factor, which has no slope; compare its levels with "
                f"avg_comparisons; got (variables={variables!r})."
            )
    return chosen


def _levels(rows: Rows, column: str) -> tuple[list, Any]:
    if column in rows.factors:
        return rows.factors[column]
    levels = sorted(pd.unique(rows.frame[column]), key=str)
    return levels, levels[0]


def _comparisons(rows: Rows, column: str, spec: Any, comparison: str) -> list[Estimand]:
    sign = " / " if comparison == "ratio" else " - "

    def pair(lo: Any, hi: Any, label: str, words: str) -> Estimand:
        parts = (Part(Change(column, lambda _: hi)), Part(Change(column, lambda _: lo)))
        return Estimand(column, label, parts, comparison, words)

    if rows.is_factor(column):
        levels, reference = _levels(rows, column)
        if spec is None or spec == "reference":
            return [
                pair(
                    reference,
                    level,
                    f"{level}{sign}{reference}",
                    f"{column} = {level} rather than {reference}",
                )
                for level in levels
                if level != reference
            ]
        if isinstance(spec, list | tuple) and len(spec) == 2 and all(s in levels for s in spec):
            lo, hi = spec
            return [pair(lo, hi, f"{hi}{sign}{lo}", f"{column} = {hi} rather than {lo}")]
        raise BayesGLMError(
            f"{column!r} is a factor (levels: {', '.join(map(str, levels))}): compare each level "
            f"with its reference ('reference') or two levels [a, b]; got "
            f"(variables={{{column!r}: {spec!r}}})."
        )
    if isinstance(spec, list | tuple) and len(spec) == 2 and all(_is_number(s) for s in spec):
        lo, hi = float(spec[0]), float(spec[1])
        return [pair(lo, hi, f"{hi:g}{sign}{lo:g}", f"moving {column} from {lo:g} to {hi:g}")]
    if spec is None and rows.is_binary(column):
        return [pair(0.0, 1.0, f"1{sign}0", f"{column} = 1 rather than 0")]
    if spec is None or spec == "sd" or (_is_number(spec) and spec != 0):
        step = 1.0 if spec is None else rows.sd(column) if spec == "sd" else float(spec)
        label = "+sd" if spec == "sd" else f"+{step:g}"
        words = (
            f"raising {column} by one sd ({step:.3g})"
            if spec == "sd"
            else f"raising {column} by {step:g}"
        )
        parts = (
            Part(Change(column, lambda x: x + step / 2)),
            Part(Change(column, lambda x: x - step / 2)),
        )
        return [Estimand(column, label, parts, comparison, words)]
    raise BayesGLMError(
        f"a comparison of the numeric predictor {column!r} is a step (a number, 1 by "
        f"default), 'sd', or two values [a, b]; got (variables={{{column!r}: {spec!r}}})."
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def comparison_estimands(rows: Rows, variables: Any, comparison: str) -> list[Estimand]:
    """The comparisons ``variables`` asks for (see :meth:`bayesglm.mle.MLEResult.avg_comparisons`),
    checked: one estimand per predictor, or per level of a factor against another."""
    if comparison not in COMPARISONS:
        raise BayesGLMError(
            f"comparison must be one of {', '.join(COMPARISONS)}; got (comparison={comparison!r})."
        )
    chosen = _variables(rows, variables, numeric_only=False)
    return [e for c, spec in chosen.items() for e in _comparisons(rows, c, spec, comparison)]


def slope_estimands(rows: Rows, variables: Any) -> list[Estimand]:
    """The slopes ``variables`` asks for, one per numeric predictor, checked."""
    chosen = _variables(rows, variables, numeric_only=True)
    return [
        Estimand(c, "dY/dX", (Part(slope_of=c),), "identity", f"each unit of {c}") for c in chosen
    ]


# --- tables ------------------------------------------------------------------------------


def _table(
    rows: Rows, estimands: list[Estimand], by: Any, method: Method, family: Family, kind: str
) -> pd.DataFrame:
    names, codes, keys = row_groups(rows, by)
    n_groups = len(keys)
    counts = np.bincount(codes, minlength=n_groups).astype(float)
    # All the parts together: one pass over the rows serves every mean, another
    # every slope.
    parts = list(dict.fromkeys(part for e in estimands for part in e.parts))
    means = [part for part in parts if part.slope_of is None]
    slopes = [part for part in parts if part.slope_of is not None]
    totals = (method.means(rows, means, codes, n_groups) if means else []) + (
        method.slopes(rows, [part.slope_of for part in slopes], codes, n_groups) if slopes else []
    )
    cache = {part: method.scale(t, counts) for part, t in zip(means + slopes, totals, strict=True)}
    records = []
    for estimand in estimands:
        combined = method.combine(estimand.combine, [cache[part] for part in estimand.parts])
        null = None if kind == "predictions" else 1.0 if estimand.combine == "ratio" else 0.0
        for g in range(n_groups):
            record = {name: keys[name].iloc[g] for name in names}
            if kind != "predictions":
                record |= {"term": estimand.term, "contrast": estimand.contrast}
            record |= method.summarize(combined, g, null)
            record["sentence"] = _sentence(rows, family, estimand, record, names, kind)
            records.append(record)
    frame = pd.DataFrame.from_records(records)
    undefined = frame["estimate"].isna()
    unscaled = ~undefined & frame["conf_low"].isna()
    if unscaled.any():
        method.warn_unscaled(int(unscaled.sum()), len(frame))
    if undefined.any():
        warnings.warn(
            f"{int(undefined.sum())} of {len(frame)} row(s) of the table are NaN: at some "
            "fitted rows (some draws, for a posterior), as they are or as the predictor "
            "moves, the linear predictor leaves the range where the "
            f"{family.name}({method.link.name}) model defines a mean (eta in {rows.valid}); "
            "predict() names those rows. A link that maps every linear predictor to a "
            "valid mean (e.g. log) avoids it.",
            DomainWarning,
            stacklevel=4,
        )
    return frame


# --- sentences ---------------------------------------------------------------------------


def outcome_label(design: Design) -> str:
    """The outcome in words: the response of the formula (with the event counted as 1
    for a binary outcome), or "the outcome" for an array model."""
    formula = design.formula
    if formula is None:
        return "the outcome"
    response = formula.text.split("~")[0].strip()
    if formula.event not in (None, "True"):
        return f"{response} = {formula.event}"
    return response


def _sentence(
    rows: Rows, family: Family, estimand: Estimand, record: dict, by: list[str], kind: str
) -> str:
    points = family.quantity == "probability" and estimand.combine != "ratio"
    what = f"the {family.quantity} of {outcome_label(rows.design)}"
    where = ", ".join(f"{name} = {record[name]}" for name in by)
    est, low, high = record["estimate"], record["conf_low"], record["conf_high"]

    # Rounded as the tables are (bayesglm.rounding): to the digit the interval supports,
    # a quarter of its width standing in for the sd; a ratio to its relative error.
    scale, spread = (100.0 if points else 1.0), (high - low) / 4

    def number(value: float) -> str:
        if estimand.combine == "ratio" and low > 0 and high > 0:
            return with_relative_uncertainty(value, (math.log(high) - math.log(low)) / 4)
        text = with_uncertainty(scale * value, scale * spread)
        return f"{text}%" if kind == "predictions" and points else text

    def interval(lo: float, hi: float) -> str:
        joint = "–" if lo >= 0 else " to "
        return f"({{level}} interval {number(lo)}{joint}{number(hi)})"

    unit = " percentage points" if points else ""
    among = f" among rows with {where}" if where else ""
    if kind == "predictions":
        lead = f"for {where}, the" if where else "the"
        return f"{lead} average predicted {what[4:]} is {number(est)} {interval(low, high)}"
    if estimand.combine == "ratio":
        return (
            f"{estimand.words} multiplies the average {what[4:]} by {number(est)}{among} "
            f"{interval(low, high)}"
        )
    if low < 0 < high:  # either way: the signed change
        verb, size, ends = "changes", est, (low, high)
    elif est >= 0:
        verb, size, ends = "raises", est, (low, high)
    else:
        verb, size, ends = "lowers", -est, (-high, -low)
    if kind == "slopes":
        return (
            f"at the margin, each unit of {estimand.term} {verb} {what} by {number(size)}{unit} "
            f"on average{among} {interval(*ends)}"
        )
    return f"{estimand.words} {verb} {what} by {number(size)}{unit} on average{among} " + (
        interval(*ends)
    )


def _finish(frame: pd.DataFrame, prob: float, method: Method) -> pd.DataFrame:
    frame["sentence"] = frame["sentence"].str.replace("{level}", percent(prob), regex=False)
    frame.attrs["prob"] = prob
    frame.attrs["interval"] = method.interval
    return frame


# --- entry points ------------------------------------------------------------------------


def avg_predictions(
    design: Design, family: Family, method: Method, prob: float, by: Any = None
) -> pd.DataFrame:
    """The average predicted mean over the fitted rows, overall or per group.

    The methods of the results document the arguments
    (:meth:`bayesglm.mle.MLEResult.avg_predictions`).
    """
    rows = Rows(design, eta_range(family, method.link))
    estimand = Estimand(None, None, (Part(),), "identity", "")
    return _finish(_table(rows, [estimand], by, method, family, "predictions"), prob, method)


def avg_comparisons(
    design: Design,
    family: Family,
    method: Method,
    prob: float,
    variables: Any = None,
    by: Any = None,
    comparison: str = "difference",
) -> pd.DataFrame:
    """The average change in the predicted mean when a predictor moves
    (:meth:`bayesglm.mle.MLEResult.avg_comparisons`)."""
    rows = Rows(design, eta_range(family, method.link))
    estimands = comparison_estimands(rows, variables, comparison)
    return _finish(_table(rows, estimands, by, method, family, "comparisons"), prob, method)


def avg_slopes(
    design: Design,
    family: Family,
    method: Method,
    prob: float,
    variables: Any = None,
    by: Any = None,
) -> pd.DataFrame:
    """The average derivative of the mean in each numeric predictor
    (:meth:`bayesglm.mle.MLEResult.avg_slopes`)."""
    rows = Rows(design, eta_range(family, method.link))
    return _finish(
        _table(rows, slope_estimands(rows, variables), by, method, family, "slopes"), prob, method
    )
