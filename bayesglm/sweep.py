r"""One pass over the rows: the fit at given coefficients and the next normal equations.

Each Fisher-scoring iteration reads X once: one sweep over cache-sized row blocks
(split across cores by :mod:`bayesglm._rowpass`) gives the linear predictor, the
means, the deviance, the working weights (:meth:`~bayesglm.families.Spec.working_terms`)
and the next normal equations, :math:`X^\top W X` and :math:`X^\top W r`, with no
weighted copy of X. Rows are those of a :class:`~bayesglm.design.Design`, on the
mean scale with their case weights; inactive rows (case weight 0) get weight 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._rowpass import blocks, map_row_ranges
from .design import Design
from .families import Family, Spec

__all__ = ["State", "deviance", "mean_size", "sweep"]

_CHUNK_ROWS = 1 << 15  # rows whose elementwise terms are computed together


@dataclass
class State:
    """The fit at ``beta`` and the normal equations for the step from there, with
    the iteration's bookkeeping (count, convergence, solver, warnings so far)."""

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


def sweep(
    design: Design,
    spec: Spec,
    beta: np.ndarray,
    start_means: tuple[np.ndarray, np.ndarray] | None = None,
) -> State | None:
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
    total = float(sum(part.deviance for part in parts))
    if start_means is not None:
        total = np.inf
    elif not np.isfinite(total):
        return None
    return State(
        beta=beta,
        eta=eta,
        mu=mu,
        deviance=total,
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


def deviance(design: Design, family: Family, mu: np.ndarray) -> float:
    """The deviance of means ``mu`` (all rows) over the active rows."""
    a = design.active_rows
    return float(np.sum(design.case_weights[a] * family.unit_deviance(design.y_mean[a], mu[a])))


def mean_size(design: Design, family: Family, mu: np.ndarray) -> float:
    """Pearson's chi-square of the means against zero: the scale of the response."""
    a = design.active_rows
    with np.errstate(all="ignore"):
        terms = design.case_weights[a] * mu[a] ** 2 / family.variance(mu[a])
    return float(np.sum(np.where(np.isfinite(terms), terms, 0.0)))
