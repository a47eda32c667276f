r"""Families for outcomes with K ≥ 3 categories: a vector of linear predictors per row.

A categorical outcome does not fit the scalar-mean :class:`~bayesglm.families.Family`
(one mean, one variance function): each row has K category probabilities. Two families:

- ``categorical`` (R's ``nnet::multinom``, brms' ``categorical``): unordered levels,
  one coefficient vector :math:`\beta_k` per level besides the reference,

  .. math::
      P(Y = k) = \frac{\exp(x^\top\beta_k)}{\sum_j \exp(x^\top\beta_j)}, \qquad
      \beta_{\mathrm{ref}} = 0.

- ``cumulative`` (R's ``MASS::polr``, brms' ``cumulative``): ordered levels, one
  coefficient vector and K - 1 increasing cutpoints :math:`\zeta_k`, with the link
  :math:`F^{-1}` (its inverse link :math:`F` a distribution function),

  .. math::
      P(Y \le k) = F(\zeta_k - \eta), \qquad \eta = x^\top\beta
      \text{ (no intercept: the cutpoints take its place)}.

  polr's ``method`` names map onto the links as ``logistic`` = logit, ``probit`` =
  probit, ``cloglog`` (MASS's ``pGumbel``, :math:`1 - e^{-e^{q}}`) = cloglog,
  ``loglog`` (MASS's ``pgumbel``, :math:`e^{-e^{-q}}`) = loglog, ``cauchit`` = cauchit.

The category probabilities come from the links' own formulas (written once against
the math namespace ``xp``: numpy here and in the maximum likelihood, pytensor in the
PyMC model of :mod:`bayesglm.category_model`), with the density's slope
(:func:`density_slope`) that the exact Hessian needs. :data:`CATEGORY_FAMILIES` is
the registry; :func:`resolve_category` checks a (family, link) pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ._xp import NP, MathNamespace
from .errors import BayesGLMError
from .links import LINKS, Link, get_link

__all__ = [
    "CATEGORY_FAMILIES",
    "Categorical",
    "CategoryFamily",
    "CategorySpec",
    "Cumulative",
    "density_slope",
    "is_category_family",
    "resolve_category",
    "survival",
]

# The link whose inverse at -x is 1 - F(x): the survival function written so that it
# keeps its precision in the upper tail (1 - F(x) would round to 0 there).
_MIRROR = {
    "logit": "logit",
    "probit": "probit",
    "cauchit": "cauchit",
    "cloglog": "loglog",
    "loglog": "cloglog",
}

# f'(x), the slope of the density f = dF/dx of each cumulative link's distribution
# (the exact Hessian needs it), from F and f themselves.
_DENSITY_SLOPE = {
    "logit": lambda x, F, f, xp: f * (1.0 - 2.0 * F),
    "probit": lambda x, F, f, xp: -x * f,
    "cloglog": lambda x, F, f, xp: f * (1.0 - xp.exp(x)),
    "loglog": lambda x, F, f, xp: f * (xp.exp(-x) - 1.0),
    "cauchit": lambda x, F, f, xp: -2.0 * x * f / (1.0 + x * x),
}


def survival(link: Link, x: Any, xp: MathNamespace = NP) -> Any:
    """:math:`1 - F(x)` for a cumulative link, accurate in the upper tail.

    Examples
    --------
    >>> import numpy as np
    >>> s = survival(LINKS["cloglog"], np.float64(4.0))  # exp(-exp(4)); 1 - F rounds to 0
    >>> round(float(s) * 1e24, 6), float(1.0 - LINKS["cloglog"].inverse(np.float64(4.0)))
    (1.942338, 0.0)
    """
    return LINKS[_MIRROR[link.name]].inverse(-x, xp)


def density_slope(link: Link, x: Any, xp: MathNamespace = NP) -> Any:
    """:math:`f'(x)`, the derivative of the link's density :math:`f = dF/dx`.

    Examples
    --------
    >>> import numpy as np
    >>> float(density_slope(LINKS["logit"], np.float64(0.0)))
    0.0
    """
    return _DENSITY_SLOPE[link.name](x, link.inverse(x, xp), link.inverse_deriv(x, xp), xp)


@dataclass(frozen=True)
class CategoryFamily:
    """Base class: what a family of categorical outcomes states.

    Attributes
    ----------
    name : str
        Canonical lower-snake name, the registry key.
    links : tuple of str
        The links allowed.
    canonical_link : str
        The default link.
    ordered : bool
        Whether the levels are ordered (the response's order is required).
    r_function : str
        The R function that fits the same model (for messages and summaries).
    """

    name: ClassVar[str]
    links: ClassVar[tuple[str, ...]]
    canonical_link: ClassVar[str] = "logit"
    ordered: ClassVar[bool]
    r_function: ClassVar[str]
    #: Fewest levels the family takes (two levels are a bernoulli outcome).
    min_levels: ClassVar[int] = 3

    def effect_label(self, link: Link) -> str | None:
        """What exp(beta) is under ``link`` (as :meth:`bayesglm.families.Family.
        effect_label`), or None where exp(beta) has no meaning and the coefficient is
        read as it is."""
        raise NotImplementedError


@dataclass(frozen=True)
class Categorical(CategoryFamily):
    r"""Unordered levels, softmax probabilities against a reference level.

    .. math::
        P(Y = k \mid x) = \frac{e^{\eta_k}}{\sum_j e^{\eta_j}}, \quad
        \eta_k = x^\top\beta_k, \quad \eta_{\mathrm{ref}} = 0.

    The parameters are the :math:`\beta_k` of the non-reference levels, level by
    level (R's ``vcov(multinom(...))`` order).
    """

    name: ClassVar[str] = "categorical"
    links: ClassVar[tuple[str, ...]] = ("logit",)
    ordered: ClassVar[bool] = False
    r_function: ClassVar[str] = "nnet::multinom"

    def effect_label(self, link: Link) -> str | None:
        return "relative-risk ratio"  # exp(beta_k): how P(k) / P(reference) is multiplied


@dataclass(frozen=True)
class Cumulative(CategoryFamily):
    r"""Ordered levels, a latent variable cut at increasing cutpoints.

    .. math::
        P(Y \le k \mid x) = F(\zeta_k - x^\top\beta), \quad k = 1, \dots, K-1,
        \quad \zeta_1 < \dots < \zeta_{K-1}.

    The parameters are :math:`\beta` (no intercept) then the cutpoints, R's
    ``c(coef(polr(...)), polr(...)$zeta)`` order.
    """

    name: ClassVar[str] = "cumulative"
    links: ClassVar[tuple[str, ...]] = ("logit", "probit", "cloglog", "loglog", "cauchit")
    ordered: ClassVar[bool] = True
    r_function: ClassVar[str] = "MASS::polr"

    def effect_label(self, link: Link) -> str | None:
        # The odds of a level above any cutpoint are multiplied by exp(beta) under the
        # logit link only; under the others beta is a shift of the latent variable.
        return "cumulative odds ratio" if link.effect_label == "odds ratio" else None


CATEGORY_FAMILIES: dict[str, CategoryFamily] = {
    family.name: family for family in (Categorical(), Cumulative())
}
"""Registry of the families of categorical outcomes by canonical name."""


def is_category_family(family: Any) -> bool:
    """Whether ``family`` names (or is) a family of categorical outcomes.

    Examples
    --------
    >>> is_category_family("cumulative"), is_category_family("poisson")
    (True, False)
    """
    return isinstance(family, CategoryFamily) or (
        isinstance(family, str) and family in CATEGORY_FAMILIES
    )


@dataclass(frozen=True)
class CategorySpec:
    """A validated (family, link) pair for a categorical outcome."""

    family: CategoryFamily
    link: Link

    def probabilities(self, eta: np.ndarray, cutpoints: np.ndarray | None = None) -> np.ndarray:
        r"""Category probabilities (numpy), shape (n, K).

        Parameters
        ----------
        eta : ndarray
            Shape (n, K) for ``categorical`` (the reference level's column 0), shape
            (n,) for ``cumulative``.
        cutpoints : ndarray, shape (K - 1,), increasing
            ``cumulative`` only.

        Examples
        --------
        >>> import numpy as np
        >>> spec = resolve_category("cumulative", "logit")
        >>> spec.probabilities(np.zeros(1), np.array([0.0, 1.0])).round(4).tolist()
        [[0.5, 0.2311, 0.2689]]
        """
        if self.family.ordered:
            return self._cumulative(eta, cutpoints)
        shifted = eta - eta.max(axis=-1, keepdims=True)
        e = np.exp(shifted)
        return e / e.sum(axis=-1, keepdims=True)

    def _cumulative(self, eta: np.ndarray, cutpoints: np.ndarray) -> np.ndarray:
        # Each probability is a difference of distribution functions where its interval
        # lies below 0 and of survival functions where it lies above, so that neither
        # tail loses its precision to 1 - F rounding.
        x = cutpoints[None, :] - eta[:, None]
        n = x.shape[0]
        zeros, ones = np.zeros((n, 1)), np.ones((n, 1))
        F = np.concatenate([zeros, self.link.inverse(x), ones], axis=1)
        S = np.concatenate([ones, survival(self.link, x), zeros], axis=1)
        middle = np.concatenate([np.full((n, 1), -np.inf), x, np.full((n, 1), np.inf)], axis=1)
        upper = (middle[:, :-1] + middle[:, 1:]) > 0
        return np.where(upper, S[:, :-1] - S[:, 1:], F[:, 1:] - F[:, :-1])

    def __str__(self) -> str:
        return f"{self.family.name}({self.link.name})"


def resolve_category(family: str | CategoryFamily, link: str | Link | None = None) -> CategorySpec:
    """Check a (family, link) pair of a categorical outcome; ``None``: the logit.

    Examples
    --------
    >>> str(resolve_category("cumulative", "probit"))
    'cumulative(probit)'
    """
    if isinstance(family, CategoryFamily):
        fam = family
    elif isinstance(family, str) and family in CATEGORY_FAMILIES:
        fam = CATEGORY_FAMILIES[family]
    else:
        raise BayesGLMError(
            f"unknown family of categorical outcomes; they are {', '.join(CATEGORY_FAMILIES)}; "
            f"got (family={family!r})."
        )
    lnk = get_link(fam.canonical_link if link is None else link)
    if lnk.name not in fam.links or LINKS[lnk.name] is not lnk:
        raise BayesGLMError(
            f"the {fam.name} family does not allow the {lnk.name} link; its links are "
            f"{', '.join(fam.links)}; got (link={lnk.name!r})."
        )
    return CategorySpec(fam, lnk)
