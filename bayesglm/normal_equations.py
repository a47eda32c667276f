r"""The normal equations of a Fisher-scoring step, :math:`(X^\top W X)\,\delta = X^\top W r`.

They are solved by a column-scaled Cholesky factorization; an ill-conditioned
problem switches to a QR solve of :math:`W^{1/2}X`, after the columns are checked
for aliasing (R's way) so a rank-deficient model matrix is refused by name.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import linalg

from .design import Design
from .errors import BayesGLMError
from .sweep import State

__all__ = ["SingularWeightsError", "Solver"]

_RCOND_QR = 1e-8  # below this reciprocal condition of X^T W X, solve by QR instead
_ALIAS_TOL = 1e-11  # R's qr() tolerance: relative residual norm of an aliased column


def _factor(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Column-scaled Cholesky factor and its reciprocal condition (None if it fails)."""
    scale = np.sqrt(np.diag(gram))
    if not (scale > 0).all():
        return None
    scaled = gram / np.outer(scale, scale)
    try:
        chol = linalg.cholesky(scaled, lower=False)
    except linalg.LinAlgError:
        return None
    rcond, info = linalg.lapack.dpocon(chol, 1.0 * np.abs(scaled).sum(axis=0).max())
    return chol, scale, float(rcond) if info == 0 else 0.0


class SingularWeightsError(ArithmeticError):
    """The IRLS weights vanish on rows a column needs (fitted means on a boundary)."""


class Solver:
    """Solves :math:`(X^\\top W X)\\delta = X^\\top W r` and gives the inverse.

    Cholesky of the column-scaled normal equations of the state when they are well
    conditioned; otherwise the columns are first checked for aliasing (exactly, on
    X) and the solve moves to a QR factorization of :math:`W^{1/2} X`.
    """

    def __init__(self, design: Design, state: State, use_qr: bool) -> None:
        self.use_qr = use_qr
        if not use_qr:
            factor = _factor(state.gram)
            if factor is not None and (factor[2] >= _RCOND_QR or design.chunked):
                # Chunked rows have no QR fallback (it would need W^1/2 X in memory).
                self.chol, self.scale, _ = factor
                return
            if design.chunked:
                raise SingularWeightsError
            _refuse_aliased(design)
            self.use_qr = True
        self.sqrt_w = np.sqrt(state.w)
        self.q, self.r = linalg.qr(design.X * self.sqrt_w[:, None], mode="economic")
        diagonal = np.abs(np.diag(self.r))
        if not diagonal.min() > _ALIAS_TOL * diagonal.max():
            raise SingularWeightsError

    def step(self, state: State) -> tuple[np.ndarray, float]:
        """The step and its Newton decrement step' X'W r."""
        if self.use_qr:
            rhs = self.q.T @ (self.sqrt_w * state.residual)
            return linalg.solve_triangular(self.r, rhs), float(rhs @ rhs)
        step = linalg.cho_solve((self.chol, False), state.score / self.scale) / self.scale
        return step, float(step @ state.score)

    def inverse(self) -> np.ndarray:
        r"""The unscaled covariance :math:`(X^\top W X)^{-1}`."""
        if self.use_qr:
            r_inv = linalg.solve_triangular(self.r, np.eye(self.r.shape[0]))
            return r_inv @ r_inv.T
        inv_scaled = linalg.cho_solve((self.chol, False), np.eye(self.chol.shape[0]))
        return inv_scaled / np.outer(self.scale, self.scale)


def _refuse_aliased(design: Design) -> None:
    X = design.X[design.active_rows]
    aliased = _aliased_columns(X, design.names)
    if aliased:
        raise BayesGLMError(
            "the model matrix is rank deficient: column(s) "
            f"{', '.join(map(repr, aliased))} are linear combinations of earlier columns; "
            "drop them or merge levels; got (aliased=" + repr(aliased) + ")."
        )


def _aliased_columns(X: np.ndarray, names: Sequence[str]) -> list[str]:
    """Columns that are (numerically) combinations of earlier ones, R's way.

    Sequential Gram-Schmidt (re-orthogonalized) on the column-normalized X: a
    column whose residual norm is below R's 1e-11 tolerance is aliased. Only run
    when the normal equations are ill conditioned, so its cost is rare.
    """
    norms = np.linalg.norm(X, axis=0)
    basis: list[np.ndarray] = []
    aliased = []
    for j in range(X.shape[1]):
        column = X[:, j] / norms[j] if norms[j] > 0 else X[:, j]
        residual = column
        for _ in range(2):  # classical Gram-Schmidt, re-orthogonalized
            for q in basis:
                residual = residual - (q @ residual) * q
        size = np.linalg.norm(residual)
        if norms[j] == 0 or size < _ALIAS_TOL:
            aliased.append(names[j])
        else:
            basis.append(residual / size)
    return aliased
