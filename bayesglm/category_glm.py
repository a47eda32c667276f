"""The model object of a categorical outcome: ``bg.GLM(..., family="categorical")``.

:class:`bayesglm.GLM` hands a ``categorical`` or ``cumulative`` family to
:class:`CategoryGLM`, which holds the :class:`~bayesglm.category_design.CategoryDesign`
and fits it by maximum likelihood (:mod:`bayesglm.category_mle`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping, Sequence
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

    @property
    def _coef_labels(self) -> list:
        """The coefficients' labels (the MLE's, cutpoints left out)."""
        labels = list(self._mle[0].index)
        return labels[: len(labels) - (self.cdesign.K - 1)] if self.spec.family.ordered else labels

    def resolve_priors(self, priors: Mapping[str, Any] | None = None, center: bool = True):
        """The priors a fit would use, defaults included
        (:func:`~bayesglm.category_priors.resolve_category_priors`)."""
        from .category_priors import resolve_category_priors

        return resolve_category_priors(
            priors, self.cdesign, self.spec, self._coef_labels, center=center
        )

    def fit(
        self,
        priors: Mapping[str, Any] | None = None,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        seed: int | None = None,
        sampler: str = "auto",
        center: bool = True,
        target_accept: float = 0.8,
        progressbar: bool = True,
    ):
        """Sample the posterior with NUTS, from the maximum likelihood, in coordinates
        whitened by its covariance (see :mod:`bayesglm.category_model`).

        Parameters follow :meth:`bayesglm.GLM.fit` (checked and sampled by the same
        code, :mod:`bayesglm.samplers`), ``sampler`` included: "auto" runs the
        precompiled engine.
        Priors: ``"coef"``, a term name, ``"Intercept"`` and (cumulative)
        ``"cutpoints"`` (:mod:`bayesglm.category_priors`).

        Returns
        -------
        CategoryPosterior
        """
        from .category_model import category_problem, theta_draws
        from .category_results import CategoryPosterior
        from .samplers import check_run, run_nuts

        sampler, seed = check_run(
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            sampler=sampler,
            target_accept=target_accept,
        )
        resolved = self.resolve_priors(priors, center)
        mle = self._mle[0]
        if mle.separation and not resolved.all_proper:
            raise BayesGLMError(
                "the posterior is improper: the outcome is separated along "
                f"{', '.join(mle.separation)} and a flat prior does not stop the likelihood "
                "from rising; use proper priors (the defaults); got (priors=Flat)."
            )
        problem = category_problem(
            self.spec,
            self.cdesign,
            resolved,
            mle.params_array,
            None if mle.separation else mle.cov_array,
        )
        run = run_nuts(
            problem,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            sampler=sampler,
            target_accept=target_accept,
            progressbar=progressbar,
        )
        return CategoryPosterior(
            theta_draws=theta_draws(self.spec, run.u, len(self.cdesign.columns)),
            mle=mle,
            priors=resolved,
            sample_stats=run.sample_stats,
            sampler=run.sampler,
            seed=seed,
        )

    def __repr__(self) -> str:
        return f"<GLM {self.spec} n={self.design.n} levels={self.cdesign.K}>"
