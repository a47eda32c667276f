r"""Priors of a categorical outcome's posterior, defaults auto-scaled as the others'.

Coefficients (every level's, for the categorical) get the defaults of the binary
families: :math:`N(0, 2.5/s_j)` for a slope (:math:`s_j` the case-weighted sd of its
column) and, for the categorical's intercepts, :math:`N(\log(\hat\pi_k/\hat\pi_{ref}),
2.5)` on the intercept at the predictors' means (``center=True``), where the
:math:`\hat\pi` are the observed shares.

The cumulative family's cutpoints get, by default, rstanarm's ``stan_polr`` prior: a
Dirichlet(1, …, 1) on the category probabilities at the predictors' means,

.. math::
    \pi_k = F(\zeta_k - \bar x^\top\beta) - F(\zeta_{k-1} - \bar x^\top\beta), \qquad
    p(\zeta \mid \beta) = \Gamma(K) \prod_{k=1}^{K-1} f(\zeta_k - \bar x^\top\beta),

uniform over the simplex, so it says the same whatever the number of levels or
their labels. ``priors={"cutpoints": bg.Normal(0, 5)}`` puts that prior on each
cutpoint instead (kept increasing).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .category_design import CategoryDesign
from .category_families import CategorySpec
from .design import weighted_mean, weighted_sd
from .errors import BayesGLMError
from .priors import CoefPrior, check_prior_keys, default_coef_prior

__all__ = ["CategoryPriors", "resolve_category_priors"]

_DEFAULT = "default (auto-scaled)"
_DIRICHLET = "Dirichlet(1) on the probabilities at the predictors' means"


@dataclass(frozen=True)
class CategoryPriors:
    """The priors a posterior of a categorical outcome uses.

    Attributes
    ----------
    labels : tuple
        The coefficients' labels, as the MLE's (cutpoints not included).
    coef : tuple of CoefPrior
        A prior per coefficient, on ``centering @ beta``.
    centering : ndarray
        C with ``C @ beta`` the priors' arguments (the categorical's intercept rows
        add the column means; determinant 1).
    cutpoints : CoefPrior or None
        The cumulative's prior on each cutpoint, or None for the Dirichlet.
    x_means : ndarray
        Case-weighted means of the linear predictor's columns.
    source : tuple of str
        "user" or the default's name, per coefficient.
    cutpoint_source : str or None
        Where the cutpoints' prior came from (None: the family has none).
    levels : int
        The number of levels K.
    """

    labels: tuple
    coef: tuple[CoefPrior, ...]
    centering: np.ndarray
    cutpoints: CoefPrior | None
    x_means: np.ndarray
    source: tuple[str, ...]
    cutpoint_source: str | None
    levels: int

    @property
    def all_proper(self) -> bool:
        """Whether every prior is proper (the Dirichlet is)."""
        priors = [*self.coef, *([self.cutpoints] if self.cutpoints is not None else [])]
        return all(prior.proper for prior in priors)

    def table(self) -> pd.DataFrame:
        """The prior of every parameter and where it came from, for printing."""
        index = [label if isinstance(label, str) else ":".join(label) for label in self.labels]
        rows = {"prior": [str(prior) for prior in self.coef], "source": list(self.source)}
        if self.cutpoint_source is not None:
            index.append("cutpoints")
            rows["prior"].append(str(self.cutpoints) if self.cutpoints else "Dirichlet(1)")
            rows["source"].append(self.cutpoint_source)
        return pd.DataFrame(rows, index=pd.Index(index, name="parameter"))

    def log_prior(
        self, beta: np.ndarray, zeta: np.ndarray | None = None, link: Any = None
    ) -> float:
        """The log prior density at one value: coefficients ``beta`` (and the
        cumulative's increasing cutpoints ``zeta``), in numpy; the sampling model's
        own terms are :func:`bayesglm.model.coef_log_prior` and the cutpoints' in
        :mod:`bayesglm.category_model`."""
        args = self.centering @ beta
        total = sum(_logpdf(prior, args[j]) for j, prior in enumerate(self.coef))
        if zeta is None:
            return total
        if self.cutpoints is not None:
            return total + sum(_logpdf(self.cutpoints, zeta[k]) for k in range(self.levels - 1))
        m = self.x_means @ beta
        return (
            total + math.lgamma(self.levels) + float(np.sum(np.log(link.inverse_deriv(zeta - m))))
        )


def _logpdf(prior: CoefPrior, value: float) -> float:
    return float(prior.logpdf(np.asarray([value]))[0])


def resolve_category_priors(
    priors: Mapping[str, Any] | None,
    cdesign: CategoryDesign,
    spec: CategorySpec,
    labels: list,
    *,
    center: bool = True,
) -> CategoryPriors:
    """The user's priors with the auto-scaled defaults.

    Parameters
    ----------
    priors : dict, optional
        Keys ``"coef"`` (every coefficient but intercepts), a term name (its
        coefficient for every level), ``"Intercept"``, and for the cumulative
        family ``"cutpoints"``; more specific keys win.
    cdesign, spec
        The data and the family.
    labels : list
        The coefficients' labels, as the MLE names them (no cutpoints).
    center : bool
        Whether the categorical's intercept priors refer to the intercepts at the
        predictors' means.
    """
    if not isinstance(priors, Mapping | None):
        raise BayesGLMError(
            "priors must be a dict of prior per key, e.g. {'coef': bg.Normal(0, 1)}; "
            f"got (priors={type(priors).__name__})."
        )
    priors = dict(priors or {})
    design = cdesign.design
    terms = list(cdesign.terms)
    intercept = None if design.intercept is None else design.names[design.intercept]
    valid = ["coef", *terms] + (["cutpoints"] if spec.family.ordered else [])
    check_prior_keys(priors, valid)
    for key, prior in priors.items():
        if not isinstance(prior, CoefPrior):
            raise BayesGLMError(
                f"the prior for {key!r} must be a real-valued prior (e.g. bg.Normal(0, 1)); "
                f"got ({key}={prior!r})."
            )
    X, w = cdesign.X, design.case_weights
    x_means = np.array([float(weighted_mean(X[:, j], w)) for j in range(X.shape[1])])
    x_sds = np.array([float(weighted_sd(X[:, j], w)) for j in range(X.shape[1])])
    counts = np.bincount(cdesign.codes, weights=w, minlength=cdesign.K)
    shares = counts / counts.sum()
    coef, source = [], []
    for label in labels:
        term = label if isinstance(label, str) else label[1]
        j = terms.index(term)
        if term in priors:
            coef.append(priors[term])
            source.append("user")
        elif term == intercept:
            level = cdesign.level_names.index(label[0])
            location = math.log(shares[level] / shares[cdesign.reference])
            coef.append(default_coef_prior(location, 2.5))
            source.append(_DEFAULT)
        elif "coef" in priors:
            coef.append(priors["coef"])
            source.append("user")
        else:
            coef.append(default_coef_prior(0.0, 2.5 / (x_sds[j] if x_sds[j] > 0 else 1.0)))
            source.append(_DEFAULT)
    centering = np.eye(len(labels))
    center_at = x_means.copy()
    if intercept is not None and intercept in terms:
        center_at[terms.index(intercept)] = 0.0
    if center and intercept is not None and not spec.family.ordered:
        p = len(terms)
        for level in range(cdesign.K - 1):
            row = level * p + terms.index(intercept)
            centering[row, level * p : (level + 1) * p] += center_at
    cutpoints, cutpoint_source = None, None
    if spec.family.ordered:
        cutpoints = priors.get("cutpoints")
        cutpoint_source = "user" if cutpoints is not None else _DIRICHLET
    return CategoryPriors(
        labels=tuple(labels),
        coef=tuple(coef),
        centering=centering,
        cutpoints=cutpoints,
        x_means=x_means,
        source=tuple(source),
        cutpoint_source=cutpoint_source,
        levels=cdesign.K,
    )
