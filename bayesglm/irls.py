"""Maximum likelihood by iteratively reweighted least squares (Fisher scoring).

numpy/scipy only. The entry points check the input and dispatch; the work is done
by one module per job, each importing only those below it:

- :mod:`bayesglm.sweep`: one pass over the rows, the fit at given coefficients and
  the next normal equations (the working weights are
  :meth:`~bayesglm.families.Spec.working_terms`);
- :mod:`bayesglm.normal_equations`: the Cholesky / QR solve, aliased columns;
- :mod:`bayesglm.fisher_scoring`: start values, step halving, convergence, the
  intercept-only (null) fit;
- :mod:`bayesglm.nb_theta`: the negative binomial's theta, alternating with the
  IRLS as ``MASS::glm.nb``;
- :mod:`bayesglm.separation`: (quasi-)complete separation, named by column;
- :mod:`bayesglm.mle_assembly`: the :class:`~bayesglm.mle.MLEResult` in named steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .category_families import is_category_family
from .chunked_design import ChunkedDesign, chunked_design_from_arrays, is_chunked
from .design import Design, design_from_arrays
from .errors import BayesGLMError
from .families import Family, Spec, resolve
from .fisher_scoring import fit_state
from .mle import MLEResult
from .mle_assembly import assemble
from .nb_theta import fit_negative_binomial

__all__ = ["fit_design", "fit_mle", "validated_design"]


def fit_mle(
    X: Any,
    y: Any,
    *,
    family: str | Family,
    link: str | None = None,
    offset: Any = None,
    weights: Any = None,
    trials: Any = None,
    names: Sequence[str] | None = None,
    start: Any = None,
    tol: float = 1e-20,
    max_iter: int = 100,
) -> MLEResult:
    r"""Fit a GLM by maximum likelihood (IRLS / Fisher scoring).

    Parameters
    ----------
    X : array_like or DataFrame, shape (n, p)
        The model matrix, including the intercept column if wanted. A row-chunked
        ``dask.array`` (or ``dask.dataframe``) fits on Dask, with the other per-row
        inputs as Dask arrays of its row chunks: see the "Large data" page.
    y : array_like, shape (n,)
        The response; for the binomial the number of successes.
    family : str or Family
        A name from :data:`bayesglm.families.FAMILIES`, or a family instance
        (e.g. ``NegativeBinomial(theta=2.0)`` to hold theta fixed); or
        ``"categorical"`` / ``"cumulative"`` (:mod:`bayesglm.category_families`),
        which give a :class:`~bayesglm.category_mle.CategoryMLEResult`.
    link : str, optional
        A link allowed for the family; the canonical link by default.
    offset : array_like, optional
        Known term added to the linear predictor.
    weights : array_like, optional
        Prior weights, as R's ``glm(weights=)``: precision weights for the gaussian,
        frequency weights for the other families.
    trials : array_like, optional
        Number of trials per row (binomial only).
    names : sequence of str, optional
        Column names (taken from a DataFrame's columns by default).
    start : array_like, optional
        Starting coefficients; rarely needed.
    tol : float
        Convergence threshold on the squared Newton step in standard-error units.
    max_iter : int
        Maximum number of Fisher-scoring iterations.

    Returns
    -------
    MLEResult

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 0, 1, 2, 3])
    >>> fit = fit_mle(np.ones((5, 1)), y, family="poisson", names=["Intercept"])
    >>> round(fit.deviance, 6)  # R: glm(y ~ 1, family = poisson)$deviance
    7.176404
    """
    if is_category_family(family):
        from .category_mle import fit_category_mle

        return fit_category_mle(  # type: ignore[return-value]
            X,
            y,
            family=family,
            link=link,
            names=names,
            weights=weights,
            offset=offset,
            trials=trials,
            start=start,
            tol=tol,
            max_iter=max_iter,
        )
    spec = resolve(family, link)
    design = validated_design(
        X, y, spec, names=names, offset=offset, weights=weights, trials=trials
    )
    return fit_design(design, spec, start=start, tol=tol, max_iter=max_iter)


def validated_design(X: Any, y: Any, spec: Spec, **given: Any) -> Design | ChunkedDesign:
    """The checked design of arrays: in memory, or chunked when any input is a Dask
    collection (see :func:`bayesglm.chunked_design.chunked_design_from_arrays`)."""
    chunked = is_chunked(X, y, *given.values())
    build = chunked_design_from_arrays if chunked else design_from_arrays
    return build(X, y, spec, **given)


def fit_design(
    design: Design,
    spec: Spec,
    *,
    start: Any = None,
    tol: float = 1e-20,
    max_iter: int = 100,
) -> MLEResult:
    """Fit a validated :class:`~bayesglm.design.Design` (see :func:`fit_mle`)."""
    _refuse_extreme_columns(design)
    beta0 = None if start is None else _start_vector(start, design.p)
    family = spec.family
    # A natural parameter inside V(mu) changes the IRLS weights: it is estimated
    # alternating with the coefficients, as MASS::glm.nb does for theta.
    if family.estimates_natural and family.natural_in_variance:
        fit = fit_negative_binomial(design, spec, beta0, tol, max_iter)
        return assemble(
            design,
            fit.spec,
            fit.state,
            counted_natural=True,
            theta_se=fit.theta.se,
            settled=fit.settled,
        )
    state = fit_state(design, spec, beta0, tol, max_iter)
    return assemble(design, spec, state, counted_natural=family.estimates_natural)


# Columns whose squares (summed in X'WX) overflow or underflow double precision.
_COLUMN_SIZE_LIMITS = (1e-150, 1e150)


def _refuse_extreme_columns(design: Design) -> None:
    """Refuse a model-matrix column beyond what X'WX can hold: a column of 1e160
    overflowed inside the Cholesky solve (a raw ValueError), one of 1e-300 underflowed
    to zeros and was called a linear combination of the others."""
    low, high = _COLUMN_SIZE_LIMITS
    sizes = design.column_sizes
    for name, size in zip(design.names, sizes, strict=True):
        if size > high or 0 < size < low:
            raise BayesGLMError(
                f"column {name!r} has values of size {size:.3g}, beyond what the fit's "
                f"normal equations (sums of its squares) hold in double precision; keep "
                f"columns between {low:g} and {high:g} in size: rescale it (a power of 10; "
                f"its coefficient scales inversely); got ({name} max |value|={size:.3g})."
            )


def _start_vector(start: Any, p: int) -> np.ndarray:
    beta = np.array(start, dtype=float).reshape(-1)
    if beta.shape != (p,) or not np.isfinite(beta).all():
        raise BayesGLMError(
            f"start must hold {p} finite coefficients, one per column; got (start={start!r})."
        )
    return beta
