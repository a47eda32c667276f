r"""Priors on the coefficients and on the family's natural parameter.

A prior is a small frozen dataclass that carries everything about itself: its
numpy log density with the first two derivatives (used to find the posterior mode),
its term and variable in a PyMC model (:meth:`Prior.pymc_logp`,
:meth:`Prior.pymc_variable`, which :mod:`bayesglm.model` calls; they import pymc
when called, so importing this module does not), its ``mean`` and ``sd`` (and, for
a prior on a positive parameter, ``log_sd``), whether it is proper, whether it holds the
parameter fixed (:attr:`PositivePrior.held_value`), its spellings on the command
line (``cli_names``) and a readable ``str``. Every concrete class registers itself
in :data:`PRIORS`, which the package namespace, the command line and saved fits
read: a new prior is one class here.

:func:`resolve_priors` combines the user's ``priors=`` dict with weakly informative
defaults auto-scaled as rstanarm does:

.. math::
    \beta_j \sim N(0,\ 2.5\, s_y / s_{x_j}), \qquad
    \alpha_c \sim N(a_0,\ 2.5\, s_y),

where :math:`s_y` is the standard deviation of :math:`y` for the gaussian and 1
otherwise, :math:`\alpha_c` is the intercept at the predictors' column means
(``center=True``) and :math:`a_0` the intercept at which the model's mean matches
the data's with every slope zero (:func:`default_intercept_location`: :math:`g(\bar
y)` without an offset). The defaults for the family's natural parameter (the
user's key ``"dispersion"``) are in :func:`default_natural_prior`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import special

from ._xp import NP, MathNamespace, pt_ns
from .design import Design, centering_matrix, positive_rows, weighted_mean, weighted_sd
from .errors import BayesGLMError
from .families import Spec
from .links import Link

__all__ = [
    "PRIORS",
    "CoefPrior",
    "PositivePrior",
    "Prior",
    "ResolvedPriors",
    "check_prior_keys",
    "default_coef_prior",
    "default_intercept_location",
    "resolve_priors",
]  # and every class in PRIORS, added below them

PRIORS: dict[str, type[Prior]] = {}
"""Every concrete prior class by name, in definition order (for tests and look-ups)."""

_NAN, _INF = math.nan, math.inf
MIN_LOG_RANGE = 1e-8
"""The narrowest :class:`EffectRange` on the log scale: log(high / low) at least this."""

# The numpy log densities are written from scipy.special rather than taken from
# scipy.stats, whose import (0.2 s) would otherwise be in every fit and every command;
# tests/test_prior_moments.py checks each against scipy.stats.
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _normal_logpdf(z):
    """The standard normal's log density at ``z``."""
    return -0.5 * z**2 - _LOG_SQRT_2PI


def _t_logpdf(z, nu: float):
    """The standard Student t's log density at ``z``, with ``nu`` degrees of freedom."""
    constant = (
        special.gammaln((nu + 1.0) / 2.0)
        - special.gammaln(nu / 2.0)
        - 0.5 * math.log(nu * math.pi)
    )
    return constant - (nu + 1.0) / 2.0 * np.log1p(z**2 / nu)


def _on_half_line(x, density, *, open_at_zero: bool = False):
    """``density`` where ``x`` is in the support [0, inf) (or (0, inf)), else -inf."""
    inside = x > 0 if open_at_zero else x >= 0
    return np.where(inside, density, -np.inf)[()]  # a scalar for a scalar, as scipy


@dataclass(frozen=True)
class Prior:
    """Base class of all priors.

    A concrete class (one that sets ``pymc_name``) registers itself in
    :data:`PRIORS` and says, as class attributes, its PyMC distribution's name,
    its spellings on the command line (``cli_names``, the first the one the docs
    show), whether it is ``proper`` and which parameters are ``locations`` (may be
    zero or negative); its dataclass fields are the distribution's keyword
    arguments, in the order the command line takes them.
    """

    pymc_name: ClassVar[str]
    cli_names: ClassVar[tuple[str, ...]]
    proper: ClassVar[bool] = True
    locations: ClassVar[tuple[str, ...]] = ("mu",)  # parameters that may be <= 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "pymc_name" in cls.__dict__:  # a concrete prior, not a base class
            if "cli_names" not in cls.__dict__:
                raise TypeError(f"prior class {cls.__name__} needs its cli_names")
            PRIORS[cls.__name__] = cls

    @property
    def mean(self) -> float:
        """Mean of the parameter under the prior (NaN where undefined, inf where infinite)."""
        raise NotImplementedError

    @property
    def sd(self) -> float:
        """Standard deviation of the parameter under the prior (inf where infinite)."""
        raise NotImplementedError

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (isinstance(value, int | float) and math.isfinite(value)):
                raise BayesGLMError(
                    f"{type(self).__name__} needs finite numbers; got ({f.name}={value!r})."
                )
            if f.name not in self.locations and value <= 0:
                raise BayesGLMError(
                    f"{type(self).__name__}'s {f.name} must be positive; got ({f.name}={value!r})."
                )

    @property
    def params(self) -> dict[str, float]:
        """Keyword arguments of the PyMC distribution."""
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density (numpy), normalized where the prior is proper."""
        raise NotImplementedError

    @classmethod
    def pymc_logp(cls, value: Any, params: Mapping[str, Any]) -> Any:
        """The log density at ``value`` as a term of a PyMC model (the same as :meth:`logpdf`).

        ``params`` holds the class's parameters by name as tensors (the model's
        ``pm.Data``, so that a fit with other numbers reuses a compiled model), each
        a scalar or a vector matching ``value``. By default the PyMC distribution
        ``pymc_name``.
        """
        import pymc as pm

        return pm.logp(getattr(pm, cls.pymc_name).dist(**params), value)

    def pymc_variable(self, name: str) -> Any:
        """The parameter with this prior as a variable named ``name`` of the PyMC model
        being built (call inside ``with model:``). By default the PyMC distribution
        ``pymc_name``."""
        import pymc as pm

        return getattr(pm, self.pymc_name)(name, **self.params)

    def check_link(self, link: Link, key: str) -> None:
        """Refuse a link under which the prior has no meaning (by default, none).

        Raises
        ------
        BayesGLMError
        """

    def __str__(self) -> str:
        args = ", ".join(f"{v:g}" for v in self.params.values())
        return f"{type(self).__name__}({args})"


@dataclass(frozen=True)
class CoefPrior(Prior):
    """A prior on a real coefficient."""

    def grad(self, x: np.ndarray) -> np.ndarray:
        """First derivative of the log density."""
        raise NotImplementedError

    def hess(self, x: np.ndarray) -> np.ndarray:
        """Second derivative of the log density."""
        raise NotImplementedError


@dataclass(frozen=True)
class Normal(CoefPrior):
    """Normal(mu, sigma).

    >>> str(Normal(0, 2.5))
    'Normal(0, 2.5)'
    """

    mu: float = 0.0
    sigma: float = 1.0
    pymc_name: ClassVar[str] = "Normal"
    cli_names: ClassVar[tuple[str, ...]] = ("normal",)

    @property
    def mean(self) -> float:
        return float(self.mu)

    @property
    def sd(self) -> float:
        return float(self.sigma)

    def logpdf(self, x):
        return _normal_logpdf((np.asarray(x, dtype=float) - self.mu) / self.sigma) - math.log(
            self.sigma
        )

    def grad(self, x):
        return -(x - self.mu) / self.sigma**2

    def hess(self, x):
        return np.full_like(np.asarray(x, dtype=float), -1.0 / self.sigma**2)


@dataclass(frozen=True)
class StudentT(CoefPrior):
    """Student's t with ``nu`` degrees of freedom, location ``mu``, scale ``sigma``."""

    nu: float = 3.0
    mu: float = 0.0
    sigma: float = 1.0
    pymc_name: ClassVar[str] = "StudentT"
    cli_names: ClassVar[tuple[str, ...]] = ("student_t", "studentt", "t")

    @property
    def mean(self) -> float:
        return float(self.mu) if self.nu > 1 else _NAN

    @property
    def sd(self) -> float:
        return self.sigma * math.sqrt(self.nu / (self.nu - 2)) if self.nu > 2 else _INF

    def logpdf(self, x):
        return _t_logpdf((np.asarray(x, dtype=float) - self.mu) / self.sigma, self.nu) - math.log(
            self.sigma
        )

    def grad(self, x):
        r = (x - self.mu) / self.sigma
        return -(self.nu + 1) * r / (self.sigma * (self.nu + r**2))

    def hess(self, x):
        r = (x - self.mu) / self.sigma
        return -(self.nu + 1) * (self.nu - r**2) / (self.sigma**2 * (self.nu + r**2) ** 2)


@dataclass(frozen=True)
class Cauchy(CoefPrior):
    """Cauchy with location ``alpha`` and scale ``beta`` (PyMC's names)."""

    alpha: float = 0.0
    beta: float = 1.0
    pymc_name: ClassVar[str] = "Cauchy"
    cli_names: ClassVar[tuple[str, ...]] = ("cauchy",)
    locations: ClassVar[tuple[str, ...]] = ("alpha",)

    @property
    def mean(self) -> float:
        return _NAN

    @property
    def sd(self) -> float:
        return _INF

    def logpdf(self, x):
        z = (np.asarray(x, dtype=float) - self.alpha) / self.beta
        return -np.log1p(z**2) - math.log(math.pi * self.beta)

    def grad(self, x):
        return StudentT(1.0, self.alpha, self.beta).grad(x)

    def hess(self, x):
        return StudentT(1.0, self.alpha, self.beta).hess(x)


@dataclass(frozen=True)
class Laplace(CoefPrior):
    """Laplace (double exponential) with location ``mu`` and scale ``b``."""

    mu: float = 0.0
    b: float = 1.0
    pymc_name: ClassVar[str] = "Laplace"
    cli_names: ClassVar[tuple[str, ...]] = ("laplace",)

    @property
    def mean(self) -> float:
        return float(self.mu)

    @property
    def sd(self) -> float:
        return self.b * math.sqrt(2.0)

    def logpdf(self, x):
        return -np.abs(np.asarray(x, dtype=float) - self.mu) / self.b - math.log(2.0 * self.b)

    def grad(self, x):
        return -np.sign(x - self.mu) / self.b

    def hess(self, x):
        return np.zeros_like(np.asarray(x, dtype=float))


@dataclass(frozen=True)
class Flat(CoefPrior):
    """Improper flat prior: the posterior is proportional to the likelihood."""

    pymc_name: ClassVar[str] = "Flat"
    cli_names: ClassVar[tuple[str, ...]] = ("flat",)
    proper: ClassVar[bool] = False

    @property
    def mean(self) -> float:
        return _NAN

    @property
    def sd(self) -> float:
        return _INF

    def logpdf(self, x):
        return np.zeros_like(np.asarray(x, dtype=float))

    def grad(self, x):
        return np.zeros_like(np.asarray(x, dtype=float))

    def hess(self, x):
        return np.zeros_like(np.asarray(x, dtype=float))

    @classmethod
    def pymc_logp(cls, value: Any, params: Mapping[str, Any]) -> Any:
        return 0.0


@dataclass(frozen=True)
class EffectRange(CoefPrior):
    r"""A normal prior on :math:`\beta` stated as a plausible range of the effect
    :math:`e^\beta` (odds ratio, rate or mean ratio, hazard ratio): :math:`e^\beta`
    lies between ``low`` and ``high`` with probability ``prob``.

    .. math::
        \beta \sim N\!\left(\frac{\log l + \log h}{2},\;
        \frac{\log h - \log l}{2\, \Phi^{-1}((1 + p)/2)}\right),

    so the prior's equal-tailed ``prob`` interval of :math:`e^\beta` is exactly
    [``low``, ``high``]. Only for links under which :math:`e^\beta` has a meaning
    (:attr:`bayesglm.links.Link.effect_label`: log, logit, cloglog).

    >>> str(EffectRange(0.5, 2.0, 0.95))
    'EffectRange(0.5, 2, 0.95): exp(beta) in [0.5, 2] with 95%, i.e. Normal(0, 0.353653)'
    """

    low: float = 0.5
    high: float = 2.0
    prob: float = 0.95
    pymc_name: ClassVar[str] = "EffectRange"
    cli_names: ClassVar[tuple[str, ...]] = ("effect_range",)
    locations: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.low < self.high:
            raise BayesGLMError(
                "EffectRange needs low < high (the range of exp(beta)); "
                f"got (low={self.low!r}, high={self.high!r})."
            )
        if math.log(self.high / self.low) < MIN_LOG_RANGE:
            # Its sd on beta would be below about 1e-9: a point mass in all but name,
            # whose curvature swamps the data's in the posterior mode's arithmetic.
            raise BayesGLMError(
                "EffectRange's range is too narrow to be a prior (high / low must exceed "
                f"1 + {MIN_LOG_RANGE:g}): it holds the effect fixed; put a known effect in "
                f"an offset, or widen the range; got (low={self.low!r}, high={self.high!r})."
            )
        if not self.prob < 1:
            raise BayesGLMError(
                "EffectRange's prob must be between 0 and 1 (the probability of the "
                f"range); got (prob={self.prob!r})."
            )

    @staticmethod
    def _normal(low: Any, high: Any, prob: Any, xp: MathNamespace) -> tuple[Any, Any]:
        """(mu, sigma) of the normal on beta, written once for numpy and for PyMC."""
        # log(low * high) / 2 rather than the mean of the two logs: a range symmetric on
        # the ratio scale (0.8, 1.25) then centres at exactly 0.
        return xp.log(low * high) / 2, xp.log(high / low) / (2 * xp.ndtri((1 + prob) / 2))

    @property
    def normal(self) -> Normal:
        """The same prior as a :class:`Normal` on beta."""
        mu, sigma = self._normal(self.low, self.high, self.prob, NP)
        return Normal(float(mu), float(sigma))

    @property
    def mean(self) -> float:
        return self.normal.mean

    @property
    def sd(self) -> float:
        return self.normal.sd

    def logpdf(self, x):
        return self.normal.logpdf(x)

    def grad(self, x):
        return self.normal.grad(x)

    def hess(self, x):
        return self.normal.hess(x)

    @classmethod
    def pymc_logp(cls, value: Any, params: Mapping[str, Any]) -> Any:
        import pymc as pm

        mu, sigma = cls._normal(params["low"], params["high"], params["prob"], pt_ns())
        return pm.logp(pm.Normal.dist(mu=mu, sigma=sigma), value)

    def pymc_variable(self, name: str) -> Any:
        """A normal variable on beta."""
        return self.normal.pymc_variable(name)

    def check_link(self, link: Link, key: str) -> None:
        if link.effect_label is None:
            raise BayesGLMError(
                f"a prior stated as a range of exp(beta) needs a link under which exp(beta) "
                f"is an effect (log, logit, cloglog); the {link.name} link has none, so give "
                f"a prior on beta itself (e.g. bg.Normal(0, 1)); got ({key}={self})."
            )

    def __str__(self) -> str:
        normal = self.normal
        return (
            f"EffectRange({self.low:g}, {self.high:g}, {self.prob:g}): exp(beta) in "
            f"[{self.low:g}, {self.high:g}] with {self.prob:.0%}, i.e. "
            f"Normal({normal.mu:g}, {normal.sigma:g})"
        )


@dataclass(frozen=True)
class PositivePrior(Prior):
    """A prior on a positive parameter: the family's natural parameter
    (:class:`~bayesglm.families.Family`), under the user's key ``"dispersion"``.

    ``mean`` and ``sd`` are those of the parameter itself. ``log_sd`` is the sd of
    its logarithm, the scale the sampler works on; it is finite for every proper
    prior, also where ``sd`` is not (:class:`HalfCauchy`, :class:`InvSqrtExponential`).
    """

    @property
    def log_sd(self) -> float:
        """Standard deviation of log(parameter) under the prior (inf where infinite)."""
        raise NotImplementedError

    @property
    def held_value(self) -> float | None:
        """The value the prior holds the parameter at (it is then not sampled), or None."""
        return None


@dataclass(frozen=True)
class HalfNormal(PositivePrior):
    """Half-normal with scale ``sigma``."""

    sigma: float = 1.0
    pymc_name: ClassVar[str] = "HalfNormal"
    cli_names: ClassVar[tuple[str, ...]] = ("half_normal", "halfnormal")

    @property
    def mean(self) -> float:
        return self.sigma * math.sqrt(2.0 / math.pi)

    @property
    def sd(self) -> float:
        return self.sigma * math.sqrt(1.0 - 2.0 / math.pi)

    @property
    def log_sd(self) -> float:
        return math.pi / math.sqrt(8.0)  # Var log|Z| = trigamma(1/2) / 4

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        return _on_half_line(x, _normal_logpdf(x / self.sigma) + math.log(2.0 / self.sigma))


@dataclass(frozen=True)
class HalfStudentT(PositivePrior):
    """Half Student's t with ``nu`` degrees of freedom and scale ``sigma``."""

    nu: float = 3.0
    sigma: float = 1.0
    pymc_name: ClassVar[str] = "HalfStudentT"
    cli_names: ClassVar[tuple[str, ...]] = ("half_student_t", "halfstudentt")

    @property
    def mean(self) -> float:
        if self.nu <= 1:
            return _INF
        log_ratio = special.gammaln((self.nu + 1) / 2) - special.gammaln(self.nu / 2)
        return 2 * self.sigma * math.sqrt(self.nu / math.pi) * math.exp(log_ratio) / (self.nu - 1)

    @property
    def sd(self) -> float:
        if self.nu <= 2:
            return _INF
        return math.sqrt(self.sigma**2 * self.nu / (self.nu - 2) - self.mean**2)

    @property
    def log_sd(self) -> float:
        # |T| = sigma |Z| / sqrt(V / nu), V ~ chi2(nu): the two logs are independent.
        return math.sqrt(math.pi**2 / 8 + float(special.polygamma(1, self.nu / 2)) / 4)

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        density = _t_logpdf(x / self.sigma, self.nu) + math.log(2.0 / self.sigma)
        return _on_half_line(x, density)


@dataclass(frozen=True)
class HalfCauchy(PositivePrior):
    """Half-Cauchy with scale ``beta``."""

    beta: float = 1.0
    pymc_name: ClassVar[str] = "HalfCauchy"
    cli_names: ClassVar[tuple[str, ...]] = ("half_cauchy", "halfcauchy")

    @property
    def mean(self) -> float:
        return _INF

    @property
    def sd(self) -> float:
        return _INF

    @property
    def log_sd(self) -> float:
        return math.pi / 2  # log|C| is hyperbolic-secant distributed

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        density = -np.log1p((x / self.beta) ** 2) + math.log(2.0 / (math.pi * self.beta))
        return _on_half_line(x, density)


@dataclass(frozen=True)
class Exponential(PositivePrior):
    """Exponential with rate ``lam`` (mean 1/lam)."""

    lam: float = 1.0
    pymc_name: ClassVar[str] = "Exponential"
    cli_names: ClassVar[tuple[str, ...]] = ("exponential",)

    @property
    def mean(self) -> float:
        return 1.0 / self.lam

    @property
    def sd(self) -> float:
        return 1.0 / self.lam

    @property
    def log_sd(self) -> float:
        return math.pi / math.sqrt(6.0)  # Var log E = trigamma(1)

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        return _on_half_line(x, math.log(self.lam) - self.lam * x)


@dataclass(frozen=True)
class Gamma(PositivePrior):
    """Gamma with shape ``alpha`` and rate ``beta``."""

    alpha: float = 2.0
    beta: float = 1.0
    pymc_name: ClassVar[str] = "Gamma"
    cli_names: ClassVar[tuple[str, ...]] = ("gamma",)

    @property
    def mean(self) -> float:
        return self.alpha / self.beta

    @property
    def sd(self) -> float:
        return math.sqrt(self.alpha) / self.beta

    @property
    def log_sd(self) -> float:
        return math.sqrt(float(special.polygamma(1, self.alpha)))

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            density = (
                self.alpha * math.log(self.beta)
                - special.gammaln(self.alpha)
                + special.xlogy(self.alpha - 1.0, x)
                - self.beta * x
            )
        return _on_half_line(x, density)


@dataclass(frozen=True)
class InverseGamma(PositivePrior):
    """Inverse gamma with shape ``alpha`` and scale ``beta``."""

    alpha: float = 2.0
    beta: float = 1.0
    pymc_name: ClassVar[str] = "InverseGamma"
    cli_names: ClassVar[tuple[str, ...]] = ("inverse_gamma", "inversegamma")

    @property
    def mean(self) -> float:
        return self.beta / (self.alpha - 1) if self.alpha > 1 else _INF

    @property
    def sd(self) -> float:
        if self.alpha <= 2:
            return _INF
        return self.beta / ((self.alpha - 1) * math.sqrt(self.alpha - 2))

    @property
    def log_sd(self) -> float:
        return math.sqrt(float(special.polygamma(1, self.alpha)))  # log X = -log Gamma

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            density = (
                self.alpha * math.log(self.beta)
                - special.gammaln(self.alpha)
                - (self.alpha + 1.0) * np.log(x)
                - self.beta / x
            )
        return _on_half_line(x, density, open_at_zero=True)


@dataclass(frozen=True)
class HalfFlat(PositivePrior):
    """Improper flat prior on the positive half-line."""

    pymc_name: ClassVar[str] = "HalfFlat"
    cli_names: ClassVar[tuple[str, ...]] = ("half_flat", "halfflat")
    proper: ClassVar[bool] = False

    @property
    def mean(self) -> float:
        return _INF

    @property
    def sd(self) -> float:
        return _INF

    @property
    def log_sd(self) -> float:
        return _INF

    def logpdf(self, x):
        return np.where(np.asarray(x) > 0, 0.0, -np.inf)

    @classmethod
    def pymc_logp(cls, value: Any, params: Mapping[str, Any]) -> Any:
        return 0.0  # the model's natural parameter is positive by construction


@dataclass(frozen=True)
class InvSqrtExponential(PositivePrior):
    """A precision ``d`` whose scale form 1/sqrt(d) is Exponential(``lam``).

    The Stan team's recommendation for precision-type parameters (the negative
    binomial's, the gamma shape): it penalizes extra spread the way an exponential
    on a standard deviation does, is nearly flat over large precisions, and keeps
    its mean scale form 1/lam. The default for gamma ``shape``, inverse gaussian
    ``lam`` and negative binomial ``alpha``.

    >>> str(InvSqrtExponential(2.0))
    'InvSqrtExponential(2)'
    """

    lam: float = 1.0
    pymc_name: ClassVar[str] = "InvSqrtExponential"
    cli_names: ClassVar[tuple[str, ...]] = ("inv_sqrt_exponential",)

    @property
    def mean(self) -> float:
        # d = s^-2 with s ~ Exponential(lam): P(d > t) ~ lam / sqrt(t), too heavy a tail
        # for a mean (the price of being nearly flat over large precisions).
        return _INF

    @property
    def sd(self) -> float:
        return _INF

    @property
    def log_sd(self) -> float:
        return 2 * math.pi / math.sqrt(6.0)  # log d = -2 log s

    @staticmethod
    def _logp(x: Any, xp: MathNamespace, lam: Any) -> Any:
        """The log density at ``x > 0``, written once for numpy and for PyMC."""
        return xp.log(lam) - lam / xp.sqrt(x) + np.log(0.5) - 1.5 * xp.log(x)

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = self._logp(x, NP, self.lam)
        return np.where(x > 0, value, -np.inf)

    @classmethod
    def pymc_logp(cls, value: Any, params: Mapping[str, Any]) -> Any:
        return cls._logp(value, pt_ns(), **params)

    def pymc_variable(self, name: str) -> Any:
        """Sampled as 1/sqrt(d) ~ Exponential(lam), with ``d`` itself recorded."""
        import pymc as pm

        inv_sqrt = pm.Exponential(f"{name}_inv_sqrt", self.lam)
        return pm.Deterministic(name, inv_sqrt**-2)


@dataclass(frozen=True)
class Fixed(PositivePrior):
    """Hold the natural parameter at ``value`` (a point mass): it is not sampled.

    >>> str(Fixed(2.0))
    'Fixed(2)'
    """

    value: float = 1.0
    pymc_name: ClassVar[str] = "Fixed"
    cli_names: ClassVar[tuple[str, ...]] = ("fixed",)

    @property
    def mean(self) -> float:
        return float(self.value)

    @property
    def sd(self) -> float:
        return 0.0

    @property
    def log_sd(self) -> float:
        return 0.0

    @property
    def held_value(self) -> float:
        return self.value

    def logpdf(self, x):
        return np.where(np.asarray(x) == self.value, 0.0, -np.inf)

    @classmethod
    def pymc_logp(cls, value: Any, params: Mapping[str, Any]) -> Any:
        import pytensor.tensor as pt

        return pt.switch(pt.eq(value, params["value"]), 0.0, -np.inf)

    def pymc_variable(self, name: str) -> Any:
        """A constant of the model, not a variable: the parameter is not sampled."""
        import pytensor.tensor as pt

        return pt.constant(self.value)


__all__ += list(PRIORS)


@dataclass(frozen=True)
class ResolvedPriors:
    """The priors a fit uses, one per coefficient plus the family's natural parameter.

    Attributes
    ----------
    coef : dict of str to CoefPrior
        Prior per coefficient name. With ``center=True`` the intercept's prior is on
        the intercept at the predictors' column means.
    natural : PositivePrior or None
        Prior on the family's natural parameter (the user's key ``"dispersion"``).
    natural_name : str or None
        That parameter's name (``sigma``, ``shape``, ``lam``, ``alpha``).
    center : bool
        Whether the intercept prior refers to the centred intercept.
    x_means : ndarray
        Column means used for centring (zero for the intercept column), weighted as
        the outcome's mean is.
    intercept : str or None
        Name of the intercept column.
    source : dict of str to str
        "user", "default (auto-scaled)" or "family (theta given)" per entry.
    """

    coef: dict[str, CoefPrior]
    natural: PositivePrior | None
    natural_name: str | None
    center: bool
    x_means: np.ndarray
    intercept: str | None
    source: dict[str, str]

    @property
    def centering(self) -> np.ndarray:
        """The matrix C with C @ beta the arguments of the coefficient priors.

        The identity, except with ``center=True`` the intercept's row adds the
        column means: its prior is on the intercept at the predictors' means.
        """
        at = list(self.coef).index(self.intercept) if self.center else None
        return centering_matrix(self.x_means, at)

    @property
    def fixed_natural(self) -> float | None:
        """The value the natural parameter is held at, or None where it is sampled
        (or the family has none)."""
        return None if self.natural is None else self.natural.held_value

    @property
    def sampled_natural_name(self) -> str | None:
        """The natural parameter's name where it is sampled, else None."""
        return None if self.fixed_natural is not None else self.natural_name

    def log_prior(self, beta: np.ndarray, natural: np.ndarray | None = None) -> np.ndarray:
        """The log prior density of each draw, from the priors' own densities.

        The coefficient priors are evaluated at ``beta @ C.T`` (:attr:`centering`:
        the intercept's prior is on the centred intercept; C has determinant 1, so
        this is the density of the user's coefficients too); the natural
        parameter's prior at ``natural`` when it is sampled, on its own scale (no
        Jacobian of the sampler's log scale).

        Parameters
        ----------
        beta : ndarray
            Draws of the coefficients, shape (draws, p).
        natural : ndarray, optional
            Draws of the natural parameter, shape (draws,); None where it is not
            sampled.

        Returns
        -------
        ndarray
            Shape (draws,).
        """
        args = np.asarray(beta, dtype=float) @ self.centering.T
        total = np.zeros(args.shape[0])
        for j, prior in enumerate(self.coef.values()):
            total += prior.logpdf(args[:, j])
        if natural is not None and self.fixed_natural is None and self.natural is not None:
            total += self.natural.logpdf(np.asarray(natural, dtype=float))
        return total

    @property
    def all_proper(self) -> bool:
        """Whether every prior is a proper distribution."""
        priors = [*self.coef.values(), *([self.natural] if self.natural else [])]
        return all(prior.proper for prior in priors)

    def table(self) -> pd.DataFrame:
        """One row per parameter: its prior and where it came from."""
        rows = []
        for name, prior in self.coef.items():
            note = self.source[name]
            if name == self.intercept and self.center:
                note += "; on the intercept at the predictors' means"
            rows.append({"parameter": name, "prior": str(prior), "source": note})
        if self.natural_name is not None and self.natural is not None:
            rows.append(
                {
                    "parameter": self.natural_name,
                    "prior": str(self.natural),
                    "source": self.source[self.natural_name],
                }
            )
        return pd.DataFrame(rows).set_index("parameter")

    def __str__(self) -> str:
        return self.table().to_string()


_DEFAULT = "default (auto-scaled)"
_FAMILY = "family (theta given)"


def check_prior_keys(priors: Mapping[str, Any], valid: list[str]) -> None:
    """Refuse keys of ``priors=`` that name nothing in ``valid``, listing the keys."""
    unknown = [key for key in priors if key not in valid]
    if unknown:
        raise BayesGLMError(
            f"unknown prior key(s) {', '.join(map(repr, unknown))}; the keys are "
            f"{', '.join(valid)}; got (priors={list(priors)!r})."
        )


def resolve_priors(
    priors: Mapping[str, Prior] | None, design: Design, spec: Spec, *, center: bool = True
) -> ResolvedPriors:
    """Combine the user's priors with the auto-scaled defaults.

    Parameters
    ----------
    priors : dict, optional
        Keys ``"coef"`` (every slope), ``"Intercept"`` (the intercept column's
        name), any coefficient name, and ``"dispersion"``, whose prior is on the
        family's natural parameter (``sigma``, ``shape``, ``lam`` or ``alpha``, not
        on the dispersion phi; see :class:`~bayesglm.families.Family`); more specific
        keys win.
    design : Design
    spec : Spec
    center : bool
        Whether the intercept prior refers to the intercept at the column means.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesglm.design import design_from_arrays
    >>> from bayesglm.families import resolve
    >>> spec = resolve("poisson")
    >>> d = design_from_arrays(np.c_[np.ones(4), [0., 1, 2, 3]], [1, 0, 2, 4], spec,
    ...                        names=["Intercept", "x"])
    >>> r = resolve_priors({"x": StudentT(3, 0, 1)}, d, spec)
    >>> str(r.coef["x"]), str(r.coef["Intercept"])
    ('StudentT(3, 0, 1)', 'Normal(0.559616, 2.5)')
    """
    if not isinstance(priors, Mapping | None):
        raise BayesGLMError(
            "priors must be a dict of prior per key, e.g. {'coef': bg.Normal(0, 1)}; "
            f"got (priors={type(priors).__name__})."
        )
    if not isinstance(center, bool | np.bool_):
        raise BayesGLMError(f"center must be True or False; got (center={center!r}).")
    family = spec.family
    family.check_posterior()  # priors are asked for only on the way to a posterior
    priors = dict(priors or {})
    names = list(design.names)
    intercept = None if design.intercept is None else names[design.intercept]
    valid = ["coef", *names] + (["dispersion"] if family.natural_param else [])
    check_prior_keys(priors, valid)
    for key, prior in priors.items():
        wanted = PositivePrior if key == "dispersion" else CoefPrior
        if not isinstance(prior, wanted):
            kind = (
                "positive (e.g. bg.Exponential(1))"
                if key == "dispersion"
                else ("a real-valued prior (e.g. bg.Normal(0, 1))")
            )
            raise BayesGLMError(f"the prior for {key!r} must be {kind}; got ({key}={prior!r}).")
        prior.check_link(spec.link, key)

    # Means and spreads on the mean scale, of the outcome and of the predictors alike,
    # are the design's case-weighted ones: rows given with frequency weights (or as
    # k of n) get the priors of the same data written out row by row.
    s_y = _outcome_scale(spec, design)
    s_x = design.column_sds
    x_means = design.column_means.copy()
    if design.intercept is not None:
        x_means[design.intercept] = 0.0
    coef: dict[str, CoefPrior] = {}
    source: dict[str, str] = {}
    for j, name in enumerate(names):
        if name in priors:
            coef[name], source[name] = priors[name], "user"
        elif name == intercept:
            location = default_intercept_location(
                design.y_mean, design.case_weights, design.offset, spec.link
            )
            coef[name], source[name] = Normal(location, 2.5 * s_y), _DEFAULT
        elif "coef" in priors:
            coef[name], source[name] = priors["coef"], "user"
        else:
            coef[name] = Normal(0.0, 2.5 * s_y / (s_x[j] if s_x[j] > 0 else 1.0))
            source[name] = _DEFAULT
    natural, natural_name = None, family.natural_param
    if natural_name:
        if "dispersion" in priors:
            natural, source[natural_name] = priors["dispersion"], "user"
        elif family.known_natural is not None:
            natural, source[natural_name] = Fixed(family.known_natural), _FAMILY
        else:
            natural = default_natural_prior(spec, design.y_mean, design.case_weights)
            source[natural_name] = _DEFAULT
    return ResolvedPriors(
        coef=coef,
        natural=natural,  # type: ignore[arg-type]
        natural_name=natural_name,
        center=center and intercept is not None,
        x_means=x_means,
        intercept=intercept,
        source=source,
    )


def default_coef_prior(location: float, scale: float) -> CoefPrior:
    """The default prior of one coefficient, ``Normal(location, scale)`` (as
    :func:`resolve_priors` gives), for the families that resolve their own priors
    (:mod:`bayesglm.category_priors`).

    Examples
    --------
    >>> default_coef_prior(0.0, 2.5)
    Normal(mu=0.0, sigma=2.5)
    """
    return Normal(location, scale)


# Links whose linear predictor carries the units of y (or of 1/y): there a coefficient
# of 2.5 is small or large depending on the units y is measured in.
_LINKS_IN_Y_UNITS = ("identity", "inverse", "inverse_squared", "sqrt")


def _outcome_scale(spec: Spec, design: Design) -> float:
    """s_y, the spread of the outcome on the link scale that the default coefficient
    priors are measured in: sd(y) for the gaussian, 1 on a unit-free link scale
    (log, logit, ...), and on a link scale with units the delta-method spread
    |g'(mean y)| sd(y), never below 1, so y in other units (seconds for
    milliseconds) does not shrink the coefficients towards 0."""
    family, link = spec.family, spec.link
    if family.normal:
        s_y = family.natural_scale(design.ybar, design.y_sd)
        return s_y if s_y > 0 else 1.0
    if link.name not in _LINKS_IN_Y_UNITS:
        return 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = abs(float(link.deriv(np.asarray(design.ybar)))) * design.y_sd
    return spread if np.isfinite(spread) and spread > 1.0 else 1.0


def default_intercept_location(
    y: np.ndarray, weights: np.ndarray, offset: np.ndarray | None, link: Link
) -> float:
    r"""Where the default intercept prior is centred: the intercept :math:`a_0` at
    which the model's weighted mean equals the data's when every slope is zero,

    .. math::
        \sum_i w_i\, g^{-1}(a_0 + o_i) = \sum_i w_i\, y_i .

    Without an offset (or with a constant one) :math:`a_0 = g(\bar y) - o`. Under
    the log link :math:`a_0 = \log(\sum_i w_i y_i / \sum_i w_i e^{o_i})`, the log of
    the mean rate per unit of exposure: shifting the offset by a constant (exposure
    in other units) shifts :math:`a_0` by exactly as much the other way, so the
    posterior of every slope is unchanged. For a canonical link :math:`a_0` is the
    maximum-likelihood intercept of the intercept-only model. Where no such
    intercept exists (e.g. all counts zero), :math:`a_0 = -\bar o` (0 without an
    offset).

    Parameters
    ----------
    y : ndarray
        Outcomes on the mean scale (successes / trials for the binomial).
    weights : ndarray
        Row weights (prior weights x trials).
    offset : ndarray, optional
    link : Link

    Examples
    --------
    >>> import numpy as np
    >>> from bayesglm.links import LINKS
    >>> y, w = np.array([1.0, 3.0]), np.ones(2)
    >>> round(default_intercept_location(y, w, np.log([1e5, 3e5]), LINKS["log"]), 6)
    -11.512925
    """
    rows = positive_rows(weights)
    y, weights = y[rows], weights[rows]
    offset = np.zeros(y.size) if offset is None else np.asarray(offset, dtype=float)[rows]
    mean_offset = float(weighted_mean(offset, weights))
    ybar = float(weighted_mean(y, weights))
    with np.errstate(all="ignore"):
        start = float(link.link(np.float64(ybar)))
    if not (np.isfinite(start) and link.domain.includes(ybar)):
        return -mean_offset
    start -= mean_offset
    if np.ptp(offset) == 0:
        return start
    root = _solve_mean_match(y, weights, offset - mean_offset, link, start + mean_offset)
    return start if root is None else root - mean_offset


def _solve_mean_match(
    y: np.ndarray, weights: np.ndarray, offset: np.ndarray, link: Link, start: float
) -> float | None:
    """The a with sum w g^-1(a + offset) = sum w y (the offset centred), or None."""
    target = float(np.sum(weights * y))

    def gap(a: float) -> float:
        eta = a + offset
        if not link.eta_domain.includes(eta).all():
            return math.nan
        with np.errstate(all="ignore"):
            return float(np.sum(weights * link.inverse(eta))) - target

    at_start = gap(start)
    if not np.isfinite(at_start):
        return None
    if at_start == 0:
        return start
    # The inverse link is monotone: walk out both ways until the gap changes sign.
    for step in 2.0 ** np.arange(-2, 8):
        for other in (start - step, start + step):
            value = gap(other)
            if np.isfinite(value) and np.sign(value) != np.sign(at_start):
                low, high = sorted((start, other))
                from scipy import optimize  # here: scipy.optimize costs 50 ms to import

                return float(optimize.brentq(gap, low, high, xtol=1e-13, rtol=1e-15))
    return None


def default_natural_prior(spec: Spec, y: np.ndarray, weights: np.ndarray) -> PositivePrior:
    """Weakly informative default for the family's natural parameter.

    An exponential on the natural parameter's scale form, with mean at the family's
    upper-end size of it (:meth:`~bayesglm.families.Family.natural_scale`):
    rstanarm's Exponential(1/sd(y)) for the gaussian ``sigma`` (with precision
    weights, Exponential(1/(sd(y) sqrt(mean w))), as sigma is the sd at weight 1); for precisions
    (gamma ``shape``, inverse gaussian ``lam``, negative binomial ``alpha``)
    :class:`InvSqrtExponential`, an exponential on 1/sqrt(parameter) with mean
    the coefficient of variation of y (gamma), sd(y)/mean(y)^1.5 (inverse
    gaussian) or 1 (negative binomial). An exponential on the precision itself,
    as rstanarm's Exponential(1) on the gamma shape, pulls hard towards large
    spread when the data are precise and n is small.
    """
    scale = spec.family.natural_scale(weighted_mean(y, weights), weighted_sd(y, weights))
    if spec.family.weights_are_precision:
        # sigma is the sd at weight 1 (a row of weight w has sd sigma/sqrt(w)), so the
        # data's sd bounds sigma/sqrt(mean w): weights in other units (x c) move sigma
        # by sqrt(c), and its prior with it.
        scale *= math.sqrt(float(np.mean(weights[positive_rows(weights)])))
    lam = float(f"{1.0 / scale:.6g}") if np.isfinite(scale) and scale > 0 else 1.0
    if spec.family.natural_is_precision:
        return InvSqrtExponential(lam)
    return Exponential(lam)
