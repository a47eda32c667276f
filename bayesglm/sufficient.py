r"""The gaussian likelihood with the identity link, through its sufficient statistics.

With :math:`y_i \sim N(x_i^\top\beta + o_i,\ \sigma^2 / w_i)` (prior weights are
precisions) and :math:`r = y - o`, the log-likelihood of the active rows

.. math::
    -\frac{n}{2}\log(2\pi\sigma^2) + \frac12\sum_i \log w_i
    - \frac{Q(\beta)}{2\sigma^2}, \qquad
    Q(\beta) = r^\top W r - 2\beta^\top X^\top W r + \beta^\top X^\top W X \beta

depends on the rows only through :math:`X^\top W X`, :math:`X^\top W r`,
:math:`r^\top W r`, :math:`n` and :math:`\sum \log w`. :func:`block_statistics`
computes them for one block of rows; the in-memory engine reads it for all rows at
once (:func:`bayesglm.sampling_data.reduce_data`), and :func:`sufficient_design`
adds it up over the row chunks of a Dask design, in the same pass as the rows'
moments the default priors read (:class:`~bayesglm.row_moments.RowMoments`), so only
p²-sized sums reach the client. The posterior of the rows is then the posterior of
these numbers, exactly.

:math:`Q` near its minimum is a small difference of large terms; the statistics
also hold :math:`r_0 = r - X\beta_0` taken at a centre :math:`\beta_0` (the MLE), so
that :meth:`GaussianStatistics.quadratic` (the posterior mode's search) evaluates
:math:`Q` without that cancellation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from .cells import CellDesign, totals_design
from .chunked_design import ChunkedDesign
from .errors import BayesGLMError
from .families import Spec
from .row_moments import RowMoments

__all__ = [
    "GaussianStatistics",
    "SufficientDesign",
    "block_statistics",
    "check_sufficient",
    "has_sufficient_statistics",
    "sufficient_design",
]


def has_sufficient_statistics(spec: Spec) -> bool:
    """Whether the pair's likelihood reduces to :class:`GaussianStatistics`: the
    gaussian family with the identity link."""
    return spec.family.normal and spec.link.name == "identity"


def check_sufficient(spec: Spec) -> None:
    """Refuse a pair whose likelihood has no sufficient statistics."""
    if not has_sufficient_statistics(spec):
        raise BayesGLMError(
            "sufficient statistics exist for the gaussian family with the identity link "
            "only; use method='cells' (exact, for the binomial, bernoulli and poisson-log "
            "pairs) or method='importance' (checked by Pareto k-hat); got "
            f"(family={spec.family.name!r}, link={spec.link.name!r})."
        )


@dataclass(frozen=True)
class GaussianStatistics:
    """The sufficient statistics of the gaussian likelihood with the identity link
    over some rows (module docstring), about zero and about a centre ``center``."""

    xtwx: np.ndarray
    xtwr: np.ndarray
    rtwr: float
    n_rows: int
    weight: float  # sum of w
    half_sum_log_w: float
    center: np.ndarray
    xtwr_centered: np.ndarray  # X'W(r - X center)
    rtwr_centered: float  # (r - X center)'W(r - X center)

    def __add__(self, other: GaussianStatistics) -> GaussianStatistics:
        return GaussianStatistics(
            self.xtwx + other.xtwx,
            self.xtwr + other.xtwr,
            self.rtwr + other.rtwr,
            self.n_rows + other.n_rows,
            self.weight + other.weight,
            self.half_sum_log_w + other.half_sum_log_w,
            self.center,
            self.xtwr_centered + other.xtwr_centered,
            self.rtwr_centered + other.rtwr_centered,
        )

    @property
    def sampling_data(self) -> dict[str, np.ndarray]:
        """The numbers the sampling model reads, by the names it reads them."""
        return {
            "xtwx": self.xtwx,
            "xtwr": self.xtwr,
            "rtwr": np.array(self.rtwr),
            "n_rows": np.array(float(self.n_rows)),
            "half_sum_log_w": np.array(self.half_sum_log_w),
        }

    def quadratic(self, beta: np.ndarray) -> float:
        r""":math:`Q(\beta)`, the weighted residual sum of squares at ``beta``."""
        step = beta - self.center
        return float(
            self.rtwr_centered - 2.0 * step @ self.xtwr_centered + step @ self.xtwx @ step
        )

    def score(self, beta: np.ndarray) -> np.ndarray:
        r""":math:`X^\top W (r - X\beta)`, the gradient of :math:`-Q/2`."""
        return self.xtwr_centered - self.xtwx @ (beta - self.center)

    def loglike(self, beta: np.ndarray, sigma: float) -> float:
        """The log-likelihood of the rows at ``beta`` and ``sigma``."""
        variance = sigma * sigma
        return float(
            -0.5 * self.n_rows * np.log(2.0 * np.pi * variance)
            + self.half_sum_log_w
            - self.quadratic(beta) / (2.0 * variance)
        )


def block_statistics(
    X: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    weights: np.ndarray,
    center: np.ndarray | None = None,
) -> GaussianStatistics:
    """The statistics of one block of rows (``weights`` the prior weights; rows of
    weight 0 take no part), about ``center`` (zero if None or not finite).

    Examples
    --------
    >>> X = np.c_[np.ones(3), [0.0, 1.0, 2.0]]
    >>> stats = block_statistics(X, np.array([1.0, 3.0, 5.0]), np.zeros(3), np.ones(3))
    >>> stats.xtwr.tolist(), stats.quadratic(np.array([1.0, 2.0]))
    ([9.0, 13.0], 0.0)
    """
    active = weights > 0
    if not active.all():
        X, y, offset, weights = X[active], y[active], offset[active], weights[active]
    r = y - offset
    xtwx = X.T @ (X * weights[:, None])
    xtwr = X.T @ (weights * r)
    rtwr = float(r @ (weights * r))
    if center is None or not np.isfinite(center).all():
        center, xtwr_centered, rtwr_centered = np.zeros(X.shape[1]), xtwr, rtwr
    else:
        r0 = r - X @ center
        xtwr_centered, rtwr_centered = X.T @ (weights * r0), float(r0 @ (weights * r0))
    return GaussianStatistics(
        xtwx=xtwx,
        xtwr=xtwr,
        rtwr=rtwr,
        n_rows=int(weights.size),
        weight=float(weights.sum()),
        half_sum_log_w=float(0.5 * np.log(weights).sum()),
        center=center,
        xtwr_centered=xtwr_centered,
        rtwr_centered=rtwr_centered,
    )


@dataclass(frozen=True)
class _Pass:
    """The block function of the one pass: the statistics and the rows' moments."""

    center: np.ndarray

    def __call__(
        self, X: np.ndarray, y: np.ndarray, offset: np.ndarray, weights: np.ndarray
    ) -> tuple[GaussianStatistics, RowMoments]:
        statistics = block_statistics(X, y, offset, weights, self.center)
        return statistics, RowMoments.of_block(X, y, offset, weights)


def _add_pair(a: tuple[Any, Any], b: tuple[Any, Any]) -> tuple[Any, Any]:
    return a[0] + b[0], a[1] + b[1]


@dataclass(frozen=True)
class SufficientDesign(ChunkedDesign):
    """Rows in Dask chunks, with their :class:`GaussianStatistics` and the
    :class:`~bayesglm.row_moments.RowMoments` their default priors read: the posterior
    mode (:func:`bayesglm.laplace.laplace_approx`) and the sampling model
    (:func:`bayesglm.sampling_data.reduce_data`) read the statistics instead of the
    rows."""

    statistics: GaussianStatistics | None = None
    moments: RowMoments | None = None

    @property
    def y_sd(self) -> float:
        """The weighted standard deviation of the response over the rows."""
        return self._moments.y_sd

    @property
    def ybar(self) -> float:
        """The weighted mean of the response over the rows."""
        return self._moments.y_mean

    @property
    def _moments(self) -> RowMoments:
        if self.moments is None:
            raise ValueError("a SufficientDesign needs the moments of its rows")
        return self.moments


def sufficient_design(
    design: ChunkedDesign,
    spec: Spec,
    priors: Any = None,
    center: np.ndarray | None = None,
) -> tuple[SufficientDesign, CellDesign]:
    """The sufficient statistics of a chunked design's rows and the design its
    default priors are resolved on (:func:`~bayesglm.cells.totals_design`), in one
    pass.

    Parameters
    ----------
    design : ChunkedDesign
    spec : Spec
        The gaussian family with the identity link.
    priors : dict, optional
        The user's priors (to know whether the intercept has one).
    center : ndarray, optional
        Where the centred statistics are taken: the MLE, near which the posterior
        mode search evaluates the likelihood.

    Raises
    ------
    BayesGLMError
        For another pair.
    """
    check_sufficient(spec)
    center = None if center is None else np.asarray(center, dtype=float)
    statistics, moments = design.sum_blocks(
        _Pass(center),
        design.X,
        design.y,
        design.eta_offset,
        design.prior_weights,
        combine=_add_pair,
    )
    fields = {field.name: getattr(design, field.name) for field in dataclasses.fields(design)}
    rows = SufficientDesign(**{**fields, "statistics": statistics, "moments": moments})
    return rows, totals_design(design, spec, priors, moments)
