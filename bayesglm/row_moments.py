r"""The rows' weighted means and spreads, from blocks of rows merged in any order.

The default priors are scaled by statistics of the rows: the case-weighted means
and standard deviations of the columns of X and of the response, the mean weight,
where the offsets lie. A fit on data reduced to cells, to sufficient statistics, or
sampled by importance from Dask chunks never holds the rows, so each computes these
in a pass over them: :meth:`RowMoments.of_block` summarizes one block, ``+`` merges
two summaries (Chan, Golub and LeVeque's pairwise update of the mean and the sum of
squared deviations, stable where the naive sum of squares cancels), and
:meth:`RowMoments.totals` gives the :class:`RowTotals` a design carries in place of
its rows' own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RowMoments", "RowTotals"]


@dataclass(frozen=True)
class RowTotals:
    """Statistics of the full data that the default priors and the posterior mode's
    start read (see :class:`~bayesglm.design.Design`), and the number of rows."""

    n_rows: int
    ybar: float
    y_sd: float
    column_means: np.ndarray
    column_sds: np.ndarray


@dataclass(frozen=True)
class RowMoments:
    """Case-weighted moments of the active rows (case weight > 0) of some block.

    ``*_m2`` are weighted sums of squared deviations from the weighted mean;
    ``exposure`` is :math:`\\sum_i w_i e^{o_i}`.
    """

    weight: float
    rows: int
    y_mean: float
    y_m2: float
    x_mean: np.ndarray
    x_m2: np.ndarray
    offset_mean: float
    offset_m2: float
    offset_low: float
    offset_high: float
    exposure: float

    @classmethod
    def of_block(
        cls, X: np.ndarray, y_mean: np.ndarray, offset: np.ndarray, case: np.ndarray
    ) -> RowMoments:
        """The moments of one block of rows (``y_mean`` on the mean scale, ``case``
        the case weights).

        Examples
        --------
        >>> X = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 9.0]])
        >>> a = RowMoments.of_block(X[:2], np.array([1.0, 3.0]), np.zeros(2), np.ones(2))
        >>> b = RowMoments.of_block(X[2:], np.array([5.0]), np.zeros(1), np.array([0.0]))
        >>> total = (a + b).totals(3)
        >>> float(total.ybar), float(total.y_sd), total.column_means.tolist()
        (2.0, 1.0, [1.0, 3.0])
        """
        a = case > 0
        if not a.all():
            X, y_mean, offset, case = X[a], y_mean[a], offset[a], case[a]
        weight = float(case.sum())
        if weight == 0.0:
            p = X.shape[1]
            return cls(0.0, 0, 0.0, 0.0, np.zeros(p), np.zeros(p), 0.0, 0.0, np.inf, -np.inf, 0.0)
        y_bar = float(case @ y_mean) / weight
        x_bar = (case @ X) / weight
        o_bar = float(case @ offset) / weight
        dy, do = y_mean - y_bar, offset - o_bar
        dx = X - x_bar
        return cls(
            weight=weight,
            rows=int(case.size),
            y_mean=y_bar,
            y_m2=float(case @ (dy * dy)),
            x_mean=x_bar,
            x_m2=case @ (dx * dx),
            offset_mean=o_bar,
            offset_m2=float(case @ (do * do)),
            offset_low=float(offset.min()),
            offset_high=float(offset.max()),
            exposure=float(case @ np.exp(offset)),
        )

    def __add__(self, other: RowMoments) -> RowMoments:
        if other.weight == 0.0:
            return self
        if self.weight == 0.0:
            return other
        weight = self.weight + other.weight
        share = other.weight / weight
        spread = self.weight * share  # w_a w_b / (w_a + w_b)

        def merged(mean_a, m2_a, mean_b, m2_b):
            delta = mean_b - mean_a
            return mean_a + delta * share, m2_a + m2_b + delta * delta * spread

        y_mean, y_m2 = merged(self.y_mean, self.y_m2, other.y_mean, other.y_m2)
        x_mean, x_m2 = merged(self.x_mean, self.x_m2, other.x_mean, other.x_m2)
        o_mean, o_m2 = merged(self.offset_mean, self.offset_m2, other.offset_mean, other.offset_m2)
        return RowMoments(
            weight=weight,
            rows=self.rows + other.rows,
            y_mean=y_mean,
            y_m2=y_m2,
            x_mean=x_mean,
            x_m2=x_m2,
            offset_mean=o_mean,
            offset_m2=o_m2,
            offset_low=min(self.offset_low, other.offset_low),
            offset_high=max(self.offset_high, other.offset_high),
            exposure=self.exposure + other.exposure,
        )

    @property
    def y_sd(self) -> float:
        """The weighted standard deviation of the response (divisor: the weight)."""
        return float(np.sqrt(max(self.y_m2, 0.0) / self.weight))

    @property
    def column_sds(self) -> np.ndarray:
        """The weighted standard deviation of each column (divisor: the weight)."""
        return np.sqrt(np.maximum(self.x_m2, 0.0) / self.weight)

    @property
    def offset_constant(self) -> bool:
        """Whether every active row has the same offset."""
        return self.offset_low == self.offset_high

    def totals(self, n_rows: int) -> RowTotals:
        """The :class:`RowTotals` of rows these are the moments of (``n_rows`` of
        them in all, inactive rows included)."""
        return RowTotals(
            n_rows=int(n_rows),
            ybar=self.y_mean,
            y_sd=self.y_sd,
            column_means=self.x_mean,
            column_sds=self.column_sds,
        )
