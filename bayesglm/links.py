r"""Link functions :math:`\eta = g(\mu)`.

Every formula is written once against the math namespace ``xp`` (see
:mod:`bayesglm._xp`): the IRLS evaluates it with numpy, the PyMC model with pytensor.
Nothing here clips: the tails are kept accurate with ``expit``, ``log1p``, ``expm1``
and complementary forms, and the IRLS guards its iterates itself.

Each link carries ``effect_label``, what :math:`\exp(\beta)` means under it (None where
it has no meaning).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._xp import NP, Interval, MathNamespace
from .errors import BayesGLMError

__all__ = ["LINKS", "Link", "get_link"]

Formula = Callable[[Any, MathNamespace], Any]

_REALS = Interval(float("-inf"), float("inf"))
_POSITIVE = Interval(0.0, float("inf"))
_UNIT = Interval(0.0, 1.0)


@dataclass(frozen=True)
class Link:
    r"""A link function with its inverse and both derivatives.

    Parameters
    ----------
    name : str
        Canonical lower-snake name, the registry key.
    formula : str
        The link in words, for tables and docs.
    domain : Interval
        The means :math:`\mu` the link is defined for.
    eta_domain : Interval
        The linear predictors :math:`\eta` it maps back to valid means.
    effect_label : str or None
        What :math:`\exp(\beta)` means under this link.

    Examples
    --------
    >>> import numpy as np
    >>> logit = LINKS["logit"]
    >>> float(logit.inverse(np.float64(0.0)))
    0.5
    >>> float(logit.deriv(np.float64(0.5)))
    4.0
    """

    name: str
    formula: str
    _link: Formula
    _inverse: Formula
    _deriv: Formula
    _inverse_deriv: Formula
    domain: Interval
    eta_domain: Interval
    effect_label: str | None

    @property
    def scales_by_exposure(self) -> bool:
        """Whether log(exposure) added to the linear predictor multiplies the mean by the
        exposure: the log link only. Exposures then mean something (``exposure=``),
        and rows that differ only in exposure merge with their exposures summed."""
        return self.name == "log"

    def link(self, mu: Any, xp: MathNamespace = NP) -> Any:
        r""":math:`\eta = g(\mu)`."""
        return self._link(mu, xp)

    def inverse(self, eta: Any, xp: MathNamespace = NP) -> Any:
        r""":math:`\mu = g^{-1}(\eta)`."""
        return self._inverse(eta, xp)

    def deriv(self, mu: Any, xp: MathNamespace = NP) -> Any:
        r""":math:`d\eta/d\mu = g'(\mu)`."""
        return self._deriv(mu, xp)

    def inverse_deriv(self, eta: Any, xp: MathNamespace = NP) -> Any:
        r""":math:`d\mu/d\eta = 1/g'(g^{-1}(\eta))`, evaluated from :math:`\eta`."""
        return self._inverse_deriv(eta, xp)

    def __repr__(self) -> str:
        return f"Link({self.name!r}: {self.formula})"


def _cloglog_inverse_deriv(eta: Any, xp: MathNamespace) -> Any:
    return xp.exp(eta - xp.exp(eta))


def _loglog_inverse_deriv(eta: Any, xp: MathNamespace) -> Any:
    return xp.exp(-eta - xp.exp(-eta))


_LINK_LIST = (
    Link(
        name="identity",
        formula="eta = mu",
        _link=lambda mu, xp: mu,
        _inverse=lambda eta, xp: eta,
        _deriv=lambda mu, xp: mu * 0.0 + 1.0,
        _inverse_deriv=lambda eta, xp: eta * 0.0 + 1.0,
        domain=_REALS,
        eta_domain=_REALS,
        effect_label=None,
    ),
    Link(
        name="log",
        formula="eta = log(mu)",
        _link=lambda mu, xp: xp.log(mu),
        _inverse=lambda eta, xp: xp.exp(eta),
        _deriv=lambda mu, xp: 1.0 / mu,
        _inverse_deriv=lambda eta, xp: xp.exp(eta),
        domain=_POSITIVE,
        eta_domain=_REALS,
        effect_label="ratio",
    ),
    Link(
        name="logit",
        formula="eta = log(mu / (1 - mu))",
        _link=lambda mu, xp: xp.logit(mu),
        _inverse=lambda eta, xp: xp.expit(eta),
        _deriv=lambda mu, xp: 1.0 / (mu * (1.0 - mu)),
        # expit(eta) * expit(-eta) keeps full relative precision in both tails.
        _inverse_deriv=lambda eta, xp: xp.expit(eta) * xp.expit(-eta),
        domain=_UNIT,
        eta_domain=_REALS,
        effect_label="odds ratio",
    ),
    Link(
        name="probit",
        formula="eta = Phi^-1(mu)",
        _link=lambda mu, xp: xp.ndtri(mu),
        _inverse=lambda eta, xp: xp.ndtr(eta),
        _deriv=lambda mu, xp: xp.sqrt(2.0 * xp.pi) * xp.exp(0.5 * xp.ndtri(mu) ** 2),
        _inverse_deriv=lambda eta, xp: xp.exp(-0.5 * eta**2) / xp.sqrt(2.0 * xp.pi),
        domain=_UNIT,
        eta_domain=_REALS,
        effect_label=None,
    ),
    Link(
        name="cloglog",
        formula="eta = log(-log(1 - mu))",
        _link=lambda mu, xp: xp.log(-xp.log1p(-mu)),
        _inverse=lambda eta, xp: -xp.expm1(-xp.exp(eta)),
        _deriv=lambda mu, xp: -1.0 / ((1.0 - mu) * xp.log1p(-mu)),
        _inverse_deriv=_cloglog_inverse_deriv,
        domain=_UNIT,
        eta_domain=_REALS,
        effect_label="hazard ratio",
    ),
    Link(
        name="loglog",
        formula="eta = -log(-log(mu))",
        _link=lambda mu, xp: -xp.log(-xp.log(mu)),
        _inverse=lambda eta, xp: xp.exp(-xp.exp(-eta)),
        _deriv=lambda mu, xp: -1.0 / (mu * xp.log(mu)),
        _inverse_deriv=_loglog_inverse_deriv,
        domain=_UNIT,
        eta_domain=_REALS,
        effect_label=None,
    ),
    Link(
        name="cauchit",
        formula="eta = tan(pi * (mu - 1/2))",
        # -1/tan(pi mu) equals tan(pi (mu - 1/2)) and keeps precision as mu -> 0;
        # atan2(1, -eta) / pi is the Cauchy cdf without cancellation as eta -> -inf.
        _link=lambda mu, xp: -1.0 / xp.tan(xp.pi * mu),
        _inverse=lambda eta, xp: xp.arctan2(1.0, -eta) / xp.pi,
        _deriv=lambda mu, xp: xp.pi / xp.sin(xp.pi * mu) ** 2,
        _inverse_deriv=lambda eta, xp: 1.0 / (xp.pi * (1.0 + eta**2)),
        domain=_UNIT,
        eta_domain=_REALS,
        effect_label=None,
    ),
    Link(
        name="inverse",
        formula="eta = 1 / mu",
        _link=lambda mu, xp: 1.0 / mu,
        _inverse=lambda eta, xp: 1.0 / eta,
        _deriv=lambda mu, xp: -1.0 / mu**2,
        _inverse_deriv=lambda eta, xp: -1.0 / eta**2,
        domain=_POSITIVE,
        eta_domain=_POSITIVE,
        effect_label=None,
    ),
    Link(
        name="inverse_squared",
        formula="eta = 1 / mu^2",
        _link=lambda mu, xp: 1.0 / mu**2,
        _inverse=lambda eta, xp: 1.0 / xp.sqrt(eta),
        _deriv=lambda mu, xp: -2.0 / mu**3,
        _inverse_deriv=lambda eta, xp: -0.5 / (eta * xp.sqrt(eta)),
        domain=_POSITIVE,
        eta_domain=_POSITIVE,
        effect_label=None,
    ),
    Link(
        name="sqrt",
        formula="eta = sqrt(mu)",
        _link=lambda mu, xp: xp.sqrt(mu),
        _inverse=lambda eta, xp: eta**2,
        _deriv=lambda mu, xp: 0.5 / xp.sqrt(mu),
        _inverse_deriv=lambda eta, xp: 2.0 * eta,
        domain=_POSITIVE,
        eta_domain=_POSITIVE,
        effect_label=None,
    ),
)

LINKS: dict[str, Link] = {link.name: link for link in _LINK_LIST}
"""Registry of links by canonical name."""


def get_link(name: str | Link) -> Link:
    """Look a link up by name (a :class:`Link` passes through).

    Examples
    --------
    >>> get_link("probit").name
    'probit'
    """
    if isinstance(name, Link):
        return name
    if isinstance(name, str) and name in LINKS:
        return LINKS[name]
    raise BayesGLMError(f"unknown link; the links are {', '.join(LINKS)}; got (link={name!r}).")
