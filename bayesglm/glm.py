"""The user-facing model object: data, family and link in; MLE and posterior out.

This module does not import PyMC at top level (``import bayesglm`` stays fast);
:mod:`bayesglm.samplers` is loaded when a Bayesian fit is asked for (and PyMC only when
a PyMC model is built or a PyMC or nutpie backend runs), and the
priors and the posterior mode (scipy's optimizers) when priors are, so that a model
fitted by maximum likelihood only (``bayesglm mle``) never loads them.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._validation import is_whole
from .design import Design
from .errors import BayesGLMError
from .families import Family, Spec, resolve
from .irls import fit_design, validated_design
from .mle import MLEResult

if TYPE_CHECKING:
    from .laplace import LaplaceApprox
    from .priors import Prior, ResolvedPriors

__all__ = ["GLM"]

_EXACT = 1e-12  # residual / null deviance below which a fit counts as exact


class GLM:
    """A generalized linear model: a validated design with a (family, link) pair.

    With ``family="categorical"`` or ``"cumulative"`` (outcomes with three or more
    levels) the model made is a :class:`bayesglm.category_glm.CategoryGLM`, which
    also takes ``levels=`` (the levels' order) and ``reference=``.

    Parameters
    ----------
    formula : str
        ``"response ~ predictors"`` (formulaic syntax: ``C(g, contr.treatment("b"))``,
        interactions ``x1:x2``, transforms ``log(x)``, ``bs(x, df=4)``, ``0 +`` for no
        intercept). Names from the caller's scope can be used in expressions.
    data : DataFrame
        Never modified.
    family : str or Family
        A name from :data:`bayesglm.FAMILIES`, or a family instance.
    link : str, optional
        The canonical link by default.
    offset : str or array_like, optional
        A column, an expression such as ``"log(exposure)"``, or values.
    exposure : str or array_like, optional
        With the log link: offset = log(exposure).
    weights : str or array_like, optional
        Prior weights as R's ``glm()``: precisions for the gaussian, frequency
        weights (each row counts w times) for the other families.
    trials : str or array_like, optional
        Binomial: the number of trials per row (the response counts successes).
    missing : {"drop", "raise"}
        Rows with a missing value in a used column: dropped with a warning, or
        refused.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import bayesglm as bg
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=200)})
    >>> df["y"] = rng.poisson(np.exp(0.5 + 0.3 * df["x"]))
    >>> model = bg.GLM("y ~ x", data=df, family="poisson")
    >>> model.fit_mle().params.round(2).tolist()
    [0.56, 0.28]
    """

    design: Design
    spec: Spec

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from .category_families import is_category_family

        if cls is GLM and is_category_family(kwargs.get("family")):
            from .category_glm import CategoryGLM
            from .formula import caller_context

            return CategoryGLM(*args, context=caller_context(1), **kwargs)
        extra = [name for name in ("levels", "reference") if kwargs.get(name) is not None]
        if extra:
            raise BayesGLMError(
                f"{extra[0]}= applies to the categorical and cumulative families only; drop "
                f"it; got (family={kwargs.get('family')!r})."
            )
        return super().__new__(cls)

    def __init__(
        self,
        formula: str,
        data: Any,
        *,
        family: str | Family,
        link: str | None = None,
        offset: Any = None,
        exposure: Any = None,
        weights: Any = None,
        trials: Any = None,
        missing: str = "drop",
    ) -> None:
        from .chunked_design import is_chunked
        from .formula import caller_context, design_from_formula

        spec = resolve(family, link)
        self.spec = spec
        build: Any = design_from_formula
        if is_chunked(data):
            from .chunked_formula import chunked_design_from_formula as build
        self.design = build(
            formula,
            data,
            spec,
            offset=offset,
            exposure=exposure,
            weights=weights,
            trials=trials,
            missing=missing,
            context=caller_context(1),
        )

    @classmethod
    def from_design(cls, design: Design, spec: Spec) -> GLM:
        """A model from an already validated design."""
        model = cls.__new__(cls)
        model.design, model.spec = design, spec
        return model

    @classmethod
    def from_arrays(
        cls,
        X: Any,
        y: Any,
        *,
        family: str | Family,
        link: str | None = None,
        names: Sequence[str] | None = None,
        offset: Any = None,
        weights: Any = None,
        trials: Any = None,
    ) -> GLM:
        """A model from a model matrix ``X`` (with its intercept column) and ``y``.

        Parameters follow :func:`bayesglm.fit_mle`.
        """
        from .category_families import is_category_family

        if is_category_family(family):
            from .category_glm import CategoryGLM

            return CategoryGLM.from_arrays(  # type: ignore[return-value]
                X,
                y,
                family=family,
                link=link,
                names=names,
                weights=weights,
                offset=offset,
                trials=trials,
            )
        spec = resolve(family, link)
        design = validated_design(
            X, y, spec, names=names, offset=offset, weights=weights, trials=trials
        )
        return cls.from_design(design, spec)

    # --- maximum likelihood -------------------------------------------------------------

    @functools.cached_property
    def _mle(self) -> tuple[MLEResult, tuple[warnings.WarningMessage, ...]]:
        """The fit and the warnings it gave, recorded so that every call can give them."""
        with warnings.catch_warnings(record=True) as caught:
            # Ours always (a caller's "ignore" must not erase them from later calls);
            # any other warning meets the caller's filters (an "error" still raises).
            warnings.simplefilter("always", UserWarning)
            mle = fit_design(self.design, self.spec)
        return mle, tuple(caught)

    def fit_mle(self) -> MLEResult:
        """The maximum-likelihood fit (numpy IRLS), computed once.

        Every call gives the fit's warnings (separation, non-convergence, ...) again,
        also after :meth:`fit` computed it; they are recorded in ``warnings`` too.
        """
        mle, caught = self._mle
        for warning in caught:
            warnings.warn(warning.message, stacklevel=2)
        return mle

    # --- Bayesian -----------------------------------------------------------------------

    def _refuse_chunked(self) -> None:
        if self.design.chunked:
            raise BayesGLMError(
                "a PyMC model or its priors on chunked (Dask) data would need every row "
                "in memory; fit() samples the posterior of Dask data (method='cells' or "
                "'importance'), fit_mle() fits it by maximum likelihood; got "
                "(data=Dask arrays)."
            )

    def resolve_priors(
        self, priors: Mapping[str, Prior] | None = None, center: bool = True
    ) -> ResolvedPriors:
        """The priors a fit would use: the user's, with auto-scaled defaults."""
        from .priors import resolve_priors

        self._refuse_chunked()
        return resolve_priors(priors, self.design, self.spec, center=center)

    def build(self, priors: Mapping[str, Prior] | None = None, center: bool = True):
        """The generative PyMC model (named priors, observed ``y``).

        Returns
        -------
        pymc.Model
        """
        from .model import build_model

        return build_model(self.design, self.spec, self.resolve_priors(priors, center))

    def sample_prior_predictive(
        self,
        priors: Mapping[str, Prior] | None = None,
        draws: int = 500,
        seed: int | None = None,
        center: bool = True,
    ):
        """Draws of the coefficients, the natural parameter and responses from the
        prior alone.

        Uses PyMC on the generative model (:meth:`build`). Every prior must be
        proper.

        Returns
        -------
        xarray.DataTree
            Groups ``prior`` (``beta`` over ``coef`` and the natural parameter) and
            ``prior_predictive`` (``y_obs`` over ``obs``).
        """
        import pymc as pm

        from .model import build_model

        _check_counts(draws=draws)
        resolved = self.resolve_priors(priors, center)
        if not resolved.all_proper:
            raise BayesGLMError(
                "prior predictive draws need proper priors; replace Flat()/HalfFlat() "
                "(e.g. with the defaults); got (priors="
                + str(resolved.table()["prior"].to_dict())
                + ")."
            )
        with build_model(self.design, self.spec, resolved):
            return pm.sample_prior_predictive(draws=draws, random_seed=seed)

    def fit(
        self,
        priors: Mapping[str, Prior] | None = None,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        seed: int | None = None,
        sampler: str = "auto",
        center: bool = True,
        target_accept: float = 0.8,
        progressbar: bool = True,
        method: str = "auto",
    ):
        """Sample the posterior with NUTS.

        Chains start at the posterior mode, in coordinates whitened by the Laplace
        approximation there; priors stay on the user's coefficients.

        Parameters
        ----------
        priors : dict, optional
            See :func:`bayesglm.priors.resolve_priors`.
        draws, tune, chains : int
            Kept draws and tuning steps per chain, and the number of chains.
        seed : int, optional
            Same seed, same draws (per sampler). Drawn at random and recorded if None.
        sampler : {"auto", "compiled", "numpyro", "nutpie", "pymc"}
            "auto" takes the fastest installed.
        center : bool
            Whether the intercept prior refers to the intercept at the column means.
        target_accept : float
            NUTS target acceptance rate.
        progressbar : bool
        method : {"auto", "nuts", "cells", "sufficient", "importance"}
            How the posterior is computed (see docs/large-data.md). "nuts": NUTS over
            the rows (in memory only). "cells": NUTS over the data's covariate cells,
            exact for the binomial and bernoulli families and the poisson family with
            the log link. "sufficient": NUTS on the sufficient statistics of the
            gaussian family with the identity link, exact (computed in one pass over
            Dask rows; in memory the "nuts" path reads the same statistics).
            "importance": the Laplace approximation at the posterior mode, corrected
            by Pareto-smoothed importance sampling against the exact likelihood, for
            every family with a likelihood (the natural parameter, e.g. the gamma
            shape, sampled with the coefficients); refused when the Pareto k-hat is
            above 0.7. "auto": "nuts" in memory; on
            Dask data "sufficient" for the gaussian with the identity link, "cells"
            where the pair and the number of cells allow it, else "importance". The
            result's ``method`` records which ran.

        Returns
        -------
        GLMResult
        """
        from . import samplers

        sampler, seed = samplers.check_run(
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            sampler=sampler,
            target_accept=target_accept,
        )
        method = _check_method(method, self.design.chunked)
        options = dict(
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            sampler=sampler,
            target_accept=target_accept,
            progressbar=progressbar,
        )
        if method != "nuts":
            return self._fit_large(method, priors, center=center, **options)
        resolved, mle, laplace = self._sampling_start(priors, center)
        return self._sample(self.design, resolved, mle, laplace, options)

    def _sample(
        self,
        design: Any,
        resolved: ResolvedPriors,
        mle: MLEResult,
        laplace: LaplaceApprox,
        options: dict[str, Any],
        method: dict[str, Any] | None = None,
        timings: dict[str, float] | None = None,
    ):
        """NUTS on the whitened posterior of ``design``, as a :class:`GLMResult`."""
        from . import samplers
        from .results import GLMResult, warn_if_unhealthy

        run = samplers.sample(design, self.spec, resolved, laplace, **options)
        result = GLMResult(
            beta_draws=run.beta,
            natural_draws=run.natural if resolved.sampled_natural_name is not None else None,
            sample_stats=run.sample_stats,
            design=design,
            spec=self.spec,
            priors=resolved,
            mle=mle,
            laplace=laplace,
            sampler=run.sampler,
            seed=options["seed"],
            timings={**(timings or {}), **run.timings},
            draws_per_chain=options["draws"],
            tune=options["tune"],
            chains=options["chains"],
            method=method,
        )
        warn_if_unhealthy(result)
        return result

    def _fit_large(self, method: str, priors: Mapping[str, Prior] | None, **options: Any):
        """The posterior by an exact reduction (cells or sufficient statistics) or by
        checked importance sampling (:mod:`bayesglm.cells`, :mod:`bayesglm.sufficient`,
        :mod:`bayesglm.importance`)."""
        import time
        from dataclasses import replace

        from .cells import TooManyCells, cell_design, reduction_kind
        from .sufficient import has_sufficient_statistics

        start = time.perf_counter()
        if method == "auto" and has_sufficient_statistics(self.spec):
            method = "sufficient"
        if method == "sufficient":
            return self._fit_sufficient(priors, **options)
        if method == "auto":
            method = "cells" if reduction_kind(self.spec) is not None else "importance"
            try:
                cells = cell_design(self.design, self.spec) if method == "cells" else None
            except TooManyCells:
                method, cells = "importance", None
        elif method == "cells":
            cells = cell_design(self.design, self.spec)
        if method == "importance":
            return self._fit_importance(priors, **options)
        # The fit on the cells carries their MLE: the coefficients and standard errors
        # of the rows; its deviance and AIC are the cells' (the rows' are fit_mle()'s).
        grouped = time.perf_counter() - start
        result = GLM.from_design(cells, self.spec).fit(priors, **options)
        return replace(
            result,
            method={"method": "cells", "rows": self.design.n, "cells": cells.n},
            timings={"cells": grouped, **result.timings},
        )

    def _fit_sufficient(self, priors: Mapping[str, Prior] | None, *, center: bool, **options):
        """NUTS on the gaussian posterior from the rows' sufficient statistics, computed
        in one pass over Dask rows (:mod:`bayesglm.sufficient`); rows in memory are
        sampled from the same statistics by the ordinary path."""
        import time

        from .laplace import laplace_approx
        from .priors import resolve_priors
        from .sufficient import check_sufficient, sufficient_design

        check_sufficient(self.spec)
        if not self.design.chunked:
            return self.fit(priors, center=center, method="nuts", **options)
        mle = self._mle[0]
        start = time.perf_counter()
        rows, view = sufficient_design(self.design, self.spec, priors, mle.params_array)
        timings = {"statistics": time.perf_counter() - start}
        resolved = resolve_priors(priors, view, self.spec, center=center)
        _refuse_improper(resolved, mle)
        _refuse_exact_fit(resolved, mle)
        laplace = laplace_approx(rows, self.spec, resolved, mle)
        method = {"method": "sufficient", "rows": rows.n}
        return self._sample(rows, resolved, mle, laplace, options, method, timings)

    def _fit_importance(
        self,
        priors: Mapping[str, Prior] | None,
        *,
        center: bool,
        draws: int,
        chains: int,
        seed: int,
        **_nuts: Any,
    ):
        """The importance-sampled posterior (:mod:`bayesglm.importance`)."""
        from .importance import check_family, importance_sample, prior_view
        from .priors import resolve_priors
        from .results import GLMResult

        check_family(self.spec)
        view = prior_view(self.design, self.spec, priors)
        resolved = resolve_priors(priors, view, self.spec, center=center)
        mle = self._mle[0]
        _refuse_improper(resolved, mle)
        _refuse_exact_fit(resolved, mle)
        run = importance_sample(
            self.design, self.spec, resolved, mle, draws=chains * draws, seed=seed
        )
        return GLMResult(
            beta_draws=run.beta.reshape(chains, draws, -1),
            natural_draws=None if run.natural is None else run.natural.reshape(chains, draws),
            sample_stats={},
            design=self.design,
            spec=self.spec,
            priors=resolved,
            mle=mle,
            laplace=run.laplace,
            sampler="importance",
            seed=seed,
            timings=run.timings,
            draws_per_chain=draws,
            tune=0,
            chains=chains,
            method=run.method,
        )

    def _sampling_start(
        self, priors: Mapping[str, Prior] | None, center: bool
    ) -> tuple[ResolvedPriors, MLEResult, LaplaceApprox]:
        """The resolved priors, the MLE and the Laplace approximation NUTS starts from,
        after refusing a posterior that cannot be sampled."""
        from .laplace import laplace_approx

        resolved = self.resolve_priors(priors, center)
        mle = self._mle[0]  # its trouble is recorded on the result, not warned here
        _refuse_improper(resolved, mle)
        _refuse_exact_fit(resolved, mle)
        return resolved, mle, laplace_approx(self.design, self.spec, resolved, mle)

    def __repr__(self) -> str:
        return f"<GLM {self.spec} n={self.design.n} p={self.design.p}>"


_METHODS = ("auto", "nuts", "cells", "sufficient", "importance")


def _check_method(method: str, chunked: bool) -> str:
    """The method a fit runs: "auto" resolved to "nuts" in memory; NUTS over the rows
    of Dask data refused."""
    if method not in _METHODS:
        raise BayesGLMError(
            f"unknown posterior method; the methods are {', '.join(_METHODS)}; "
            f"got (method={method!r})."
        )
    if method == "auto" and not chunked:
        return "nuts"
    if method == "nuts" and chunked:
        raise BayesGLMError(
            "NUTS over every row needs the rows in memory (on a GPU for large n, see "
            "docs/large-data.md); on Dask data use method='cells' or 'sufficient' (exact, "
            "where the family allows) or method='importance' (checked by Pareto k-hat), or "
            "compute() the data; got (method='nuts', data=Dask)."
        )
    return method


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        minimum = 0 if name == "tune" else 1
        if not is_whole(value) or value < minimum:
            raise BayesGLMError(f"{name} must be an integer >= {minimum}; got ({name}={value!r}).")


def _refuse_improper(priors: ResolvedPriors, mle: MLEResult) -> None:
    """Flat priors on coefficients the likelihood cannot pin down: improper posterior."""
    flat = [name for name, prior in priors.coef.items() if not prior.proper]
    trapped = [name for name in mle.separation if name in flat]
    if trapped:
        raise BayesGLMError(
            "the posterior is improper: the outcome is separated along "
            f"{', '.join(trapped)}, so the likelihood keeps rising as those coefficients "
            "grow, and a flat prior does not stop it; use a proper prior for them (e.g. "
            "bg.Normal(0, 2.5) or bg.StudentT(3, 0, 2.5)) or the defaults; got (priors="
            + ", ".join(f"{name}={priors.coef[name]}" for name in trapped)
            + ")."
        )


def _refuse_exact_fit(priors: ResolvedPriors, mle: MLEResult) -> None:
    """A free spread (gaussian sigma, gamma shape, ...) with no residual spread to
    learn it from: the likelihood is unbounded at zero spread, and NUTS has nowhere
    to start."""
    if not mle.family.free_phi or priors.fixed_natural is not None:
        return
    if mle.df_resid == 0:
        raise BayesGLMError(
            f"the model has as many coefficients as rows ({mle.nobs}), so there are no "
            "residual degrees of freedom and the data say nothing about the "
            f"{priors.natural_name}; use fewer predictors or more rows, or fix the "
            "dispersion, e.g. priors={'dispersion': bg.Fixed(1.0)}; "
            f"got (n={mle.nobs}, p={len(mle.params_array)})."
        )
    if mle.deviance <= _EXACT * mle.null_deviance:
        raise BayesGLMError(
            f"the model fits the response exactly (residual deviance {mle.deviance:.3g}), so "
            f"the data say nothing about the {priors.natural_name} and the posterior "
            "cannot be sampled; check the response (is it constant, or computed from the "
            "predictors?) or fix the dispersion, e.g. priors={'dispersion': bg.Fixed(1.0)}; "
            f"got (null deviance {mle.null_deviance:.3g})."
        )
