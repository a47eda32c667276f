"""The model object of a categorical outcome: ``bg.GLM(..., family="categorical")``.

:class:`bayesglm.GLM` hands a ``categorical`` or ``cumulative`` family to
:class:`CategoryGLM`, which holds the :class:`~bayesglm.category_design.CategoryDesign`
and fits it by maximum likelihood (:mod:`bayesglm.category_mle`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import Any

from .category_design import (
    CategoryDesign,
    category_design_from_arrays,
    category_design_from_formula,
    refuse_extras,
)
from .category_families import CategoryFamily, CategorySpec, resolve_category
from .category_mle import CategoryMLEResult, fit_category_design
from .errors import BayesGLMError

__all__ = ["CategoryGLM"]


class CategoryGLM:
    """A model of a categorical outcome: ``categorical`` (unordered levels, as
    ``nnet::multinom``) or ``cumulative`` (ordered levels, as ``MASS::polr``).

    Made by :class:`bayesglm.GLM` (and ``GLM.from_arrays``) when the family is one
    of these; the parameters are those of :class:`bayesglm.GLM`, plus:

    Parameters
    ----------
    levels : sequence, optional
        The response's levels in order (lowest first for ``cumulative``); by
        default a pandas Categorical's categories, integer codes in increasing
        order, or (``categorical`` only) text labels sorted, as R's ``factor()``.
    reference : optional
        ``categorical``: the reference level (the first level by default).

    Examples
    --------
    >>> import pandas as pd, bayesglm as bg
    >>> df = pd.DataFrame({"y": ["lo", "mid", "hi", "mid", "lo", "hi", "mid", "hi"],
    ...                    "x": [0.0, 1, 2, 1.5, 0.5, 1.8, 0.2, 0.9]})
    >>> model = bg.GLM("y ~ x", df, family="cumulative", levels=["lo", "mid", "hi"])
    >>> list(model.fit_mle().params.index)
    ['x', 'lo|mid', 'mid|hi']
    """

    cdesign: CategoryDesign
    spec: CategorySpec

    def __init__(
        self,
        formula: str,
        data: Any,
        *,
        family: str | CategoryFamily,
        link: str | None = None,
        weights: Any = None,
        missing: str = "drop",
        levels: Sequence[Any] | None = None,
        reference: Any = None,
        offset: Any = None,
        exposure: Any = None,
        trials: Any = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        from .formula import caller_context

        self.spec = resolve_category(family, link)
        refuse_extras(self.spec.family.name, offset=offset, exposure=exposure, trials=trials)
        self.cdesign = category_design_from_formula(
            formula,
            data,
            self.spec,
            weights=weights,
            missing=missing,
            levels=levels,
            reference=reference,
            context=caller_context(1) if context is None else context,
        )

    @classmethod
    def from_arrays(
        cls,
        X: Any,
        y: Any,
        *,
        family: str | CategoryFamily,
        link: str | None = None,
        names: Sequence[str] | None = None,
        weights: Any = None,
        levels: Sequence[Any] | None = None,
        reference: Any = None,
        offset: Any = None,
        trials: Any = None,
    ) -> CategoryGLM:
        """A model from a model matrix ``X`` (with its intercept column) and ``y``."""
        spec = resolve_category(family, link)
        refuse_extras(spec.family.name, offset=offset, trials=trials)
        model = cls.__new__(cls)
        model.spec = spec
        model.cdesign = category_design_from_arrays(
            X, y, spec, names=names, weights=weights, levels=levels, reference=reference
        )
        return model

    @property
    def design(self):
        """The predictors' :class:`~bayesglm.design.Design` (its ``y`` holds the codes)."""
        return self.cdesign.design

    @functools.cached_property
    def _mle(self) -> tuple[CategoryMLEResult, tuple[warnings.WarningMessage, ...]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            mle = fit_category_design(self.cdesign, self.spec)
        return mle, tuple(caught)

    def fit_mle(self) -> CategoryMLEResult:
        """The maximum-likelihood fit (Newton–Raphson), computed once; its warnings
        are given at every call and recorded in ``warnings``."""
        mle, caught = self._mle
        for warning in caught:
            warnings.warn(warning.message, stacklevel=2)
        return mle

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        """The posterior: not available yet for these families."""
        raise BayesGLMError(
            f"the posterior of the {self.spec.family.name} family is not available yet; "
            "its maximum-likelihood fit is (fit_mle()); got (family="
            f"{self.spec.family.name!r})."
        )

    def __repr__(self) -> str:
        return f"<GLM {self.spec} n={self.design.n} levels={self.cdesign.K}>"
