r"""Exponential-dispersion families: :math:`\operatorname{Var}(Y) = \phi\,V(\mu)/w`.

Each family is one frozen dataclass and is the single place for its facts: support,
variance function, unit deviance, log-likelihood, canonical and allowed links, the
natural parameter and its PyMC parametrization. :data:`FAMILIES` is the registry
and :func:`resolve` checks a (family, link) pair once for everything downstream.

Responses are seen on two scales. ``loglike_obs`` and ``check_y`` take the response
as the user gives it (successes :math:`k` of :math:`n` trials for the binomial);
``variance``, ``unit_deviance`` and ``starting_mu`` take the *mean scale*
:math:`y/n`, with the trials folded into the weights, as R's ``glm()`` does.

Prior weights :math:`w` follow R's ``glm()``: for the gaussian they are precision
weights, :math:`Y_i \sim N(\mu_i, \sigma^2/w_i)`; for every other family the
log-likelihood of observation :math:`i` is multiplied by :math:`w_i` (frequency
weights).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import special

from ._xp import NP, Interval, MathNamespace
from .errors import BayesGLMError, row_label, value_name
from .links import LINKS, Link, get_link
from .poisson_draws import poisson_draws

__all__ = [
    "FAMILIES",
    "Bernoulli",
    "Binomial",
    "Family",
    "Gamma",
    "Gaussian",
    "InverseGaussian",
    "NegativeBinomial",
    "Poisson",
    "QuasiBinomial",
    "QuasiPoisson",
    "Spec",
    "get_family",
    "resolve",
]

_INF = float("inf")


@dataclass(frozen=True)
class Family:
    """Base class: the facts every family states.

    Two words name two different things, here and throughout the package:

    - The **dispersion** :math:`\\phi` (also ``phi``) is the GLM's, in
      :math:`\\operatorname{Var}(Y) = \\phi\\,V(\\mu)/w`: what R's ``summary.glm()``
      reports as the dispersion (:attr:`bayesglm.mle.MLEResult.dispersion`), estimated
      where :attr:`free_phi` is true and 1 otherwise.
    - The **natural parameter** is the family's own parameter of spread, the one its
      PyMC likelihood takes as it is: ``sigma`` for the gaussian, ``shape`` for the
      gamma (PyMC's ``alpha``), ``lam`` for the inverse gaussian, ``alpha``
      :math:`= \\theta` for the negative binomial. :attr:`natural_param` is that
      name, also of its posterior variable; arguments called ``natural`` take its
      value; :meth:`phi` maps it to :math:`\\phi` and :meth:`natural_from_phi` back.
      The negative binomial has a natural parameter but :math:`\\phi = 1`. (It is
      not the canonical parameter of the exponential-family density.)

    The user's prior key ``"dispersion"`` (``priors={"dispersion": ...}``, ``--prior
    dispersion=...``) holds the prior on the natural parameter.

    Attributes
    ----------
    name : str
        Canonical lower-snake name, the registry key.
    support : Interval
        Values the response (as the user gives it) may take.
    mean_domain : Interval
        Valid means on the mean scale.
    canonical_link : str
        The default link.
    links : tuple of str
        The links allowed with this family (R's set, at least).
    natural_param : str or None
        Name of the natural parameter (and of its posterior variable), None when
        the family has none.
    free_phi : bool
        Whether the GLM dispersion :math:`\\phi` is estimated (t statistics) rather
        than fixed at 1 (z statistics).
    has_trials : bool
        Whether the response is a count of successes out of ``trials``.
    collapsible : bool
        Whether rows sharing covariates, offset and weight combine exactly into
        one (successes of summed trials; summed counts with a mean multiplier).
    natural_is_precision : bool
        Whether larger values of the natural parameter mean *less* spread.
    natural_in_variance : bool
        Whether the variance function :math:`V(\\mu)` depends on the natural
        parameter (the negative binomial's :math:`\\theta`): maximum likelihood then
        estimates it jointly with the coefficients, rather than from :math:`\\phi`.
    weights_are_precision : bool
        Whether prior weights divide the variance (the gaussian, as R) rather than
        multiply each row's log-likelihood (frequency weights).
    has_likelihood : bool
        Whether the family is a distribution of the response. A quasi-family
        (R's ``quasipoisson``, ``quasibinomial``) states only the mean and the
        variance: maximum likelihood (quasi-likelihood) fits it, but it has no
        log-likelihood (AIC, BIC) and no posterior; :meth:`check_posterior` refuses one.
    normal : bool
        Whether the response is normal, in the units of y: its log-likelihood is
        quadratic in the mean (sufficient statistics) and its default priors scale
        with sd(y), as rstanarm's.
    ratio_label : str
        What exp(beta) is called under the log link ("rate ratio" for counts).
    quantity : str
        What the mean is called in plain words ("probability", "rate", "mean").
    """

    name: ClassVar[str]
    support: ClassVar[Interval]
    mean_domain: ClassVar[Interval]
    canonical_link: ClassVar[str]
    links: ClassVar[tuple[str, ...]]
    natural_param: ClassVar[str | None] = None
    free_phi: ClassVar[bool] = False
    has_trials: ClassVar[bool] = False
    collapsible: ClassVar[bool] = False
    ratio_label: ClassVar[str] = "mean ratio"
    quantity: ClassVar[str] = "mean"
    natural_is_precision: ClassVar[bool] = False
    natural_in_variance: ClassVar[bool] = False
    weights_are_precision: ClassVar[bool] = False
    normal: ClassVar[bool] = False
    has_likelihood: ClassVar[bool] = True

    @property
    def estimates_natural(self) -> bool:
        """Whether a fit estimates the natural parameter from the data (so that R's
        ``logLik()`` and ``AIC()`` count it), rather than holding it known."""
        return self.free_phi

    @property
    def known_natural(self) -> float | None:
        """The natural parameter when the family object holds its value (a negative
        binomial with ``theta`` given, or filled in by a fit), else None: a Bayesian
        fit then holds it there too, unless the user gives a prior for it."""
        return None

    def with_natural(self, natural: float | None) -> Family:
        """This family with its natural parameter set to ``natural``, where the
        family object holds it (the negative binomial's ``theta``); otherwise the
        family itself, as the parameter is then passed to each method instead."""
        return self

    @property
    def is_probability(self) -> bool:
        """Whether the mean is a probability (binary or k-of-n outcomes)."""
        return self.mean_domain.low == 0.0 and self.mean_domain.high == 1.0

    def variance(self, mu: Any, xp: MathNamespace = NP) -> Any:
        r"""Variance function :math:`V(\mu)`."""
        raise NotImplementedError

    def response_variance(self, mu: Any, natural: Any = None) -> Any:
        r"""Var(Y) of one observation (one trial, weight 1) with mean ``mu``:
        :math:`\phi\, V(\mu)` at the natural parameter ``natural`` (an array
        broadcasting against ``mu``, e.g. one value per draw), or at the family's own
        where None."""
        phi = 1.0 if natural is None else self.phi(natural)
        return phi * self.variance(mu)

    def unit_deviance(self, y: np.ndarray, mu: np.ndarray) -> np.ndarray:
        r"""Unit deviance :math:`d(y, \mu)`, on the mean scale."""
        raise NotImplementedError

    def loglike_obs(
        self,
        y: np.ndarray,
        mu: np.ndarray,
        natural: float | None = None,
        *,
        trials: Any = 1,
        weights: Any = 1,
    ) -> np.ndarray:
        """Log-likelihood of each observation, prior weights applied as R does."""
        raise NotImplementedError

    def pymc_likelihood(
        self, mu: Any, natural: Any = None, trials: Any = None
    ) -> tuple[str, dict[str, Any]]:
        """The PyMC distribution name and its keyword arguments for mean ``mu``.

        ``trials`` is the binomial's number of trials; for a collapsible family it
        is also the number of identical rows combined into one.
        """
        raise NotImplementedError

    def sample(
        self, mu: np.ndarray, natural: Any, trials: Any, rng: np.random.Generator
    ) -> np.ndarray:
        """Draw responses (on the user's scale) with means ``mu`` (numpy)."""
        raise NotImplementedError

    def natural_scale(self, ybar: float, y_sd: float) -> float:
        """An upper-end size of the natural parameter's *scale form*, to scale its prior.

        The scale form is the parameter itself for a scale (the gaussian ``sigma``)
        and 1/sqrt(parameter) for a precision (gamma ``shape``, inverse gaussian
        ``lam``, negative binomial ``alpha``); marginal statistics of y bound it
        from above, as sd(y) bounds the residual sd. ``ybar`` and ``y_sd`` are the
        weighted mean and standard deviation of the response on the mean scale
        (:attr:`bayesglm.design.Design.ybar`, :attr:`~bayesglm.design.Design.y_sd`).
        """
        return 1.0

    def starting_mu(self, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Starting means for the IRLS (R's ``initialize``), on the mean scale."""
        return np.asarray(y, dtype=float).copy()

    def phi(self, natural: float) -> float:
        r"""Map the natural parameter to the GLM dispersion :math:`\phi`."""
        return 1.0

    def natural_from_phi(self, phi: float) -> float | None:
        r"""Map the GLM dispersion :math:`\phi` back to the natural parameter."""
        return None

    def aic_natural(self, deviance: float, weights: np.ndarray) -> float | None:
        """The natural parameter R's ``logLik``/``AIC`` plug in (None if none)."""
        return None

    def check_posterior(self) -> None:
        """Raise :class:`BayesGLMError` unless the family has a likelihood to sample
        (:attr:`has_likelihood`): the one check of every Bayesian entry point."""

    def check_y(self, y: np.ndarray, trials: np.ndarray | None = None) -> None:
        """Raise :class:`BayesGLMError` when ``y`` is outside the support, or has no
        spread where the family estimates one (:attr:`free_phi`, with a natural
        parameter: a quasi-family's dispersion of a constant response is 0, as in R)."""
        _check_inside(y, self.support, f"the response of a {self.name} model", "y")
        values = np.asarray(y)
        spread = self.free_phi and self.natural_param is not None
        if spread and values.size and (values == values.flat[0]).all():
            name = value_name(y, "y")
            raise BayesGLMError(
                f"the response of a {self.name} model must vary: the model estimates its "
                f"spread around the mean ({self.natural_param}), and a constant response has "
                f"none; check the response column; got ({name}={values.flat[0].item()!r} "
                f"in all {values.size} rows)."
            )

    def effect_label(self, link: Link) -> str | None:
        """What exp(beta) means under ``link`` for this family (None: no meaning)."""
        if link.effect_label == "ratio":
            return self.ratio_label
        return link.effect_label

    def with_params(self, **params: Any) -> Family:
        """A copy with its own parameters replaced (families are immutable)."""
        return dataclasses.replace(self, **params)

    def __str__(self) -> str:
        return self.name


def _check_inside(values: Any, interval: Interval, what: str, arg: str) -> None:
    array = np.asarray(values)
    bad = ~interval.includes(array)
    if bad.any():
        rows = np.flatnonzero(bad)
        row, name = row_label(values, rows[0]), value_name(values, arg)
        raise BayesGLMError(
            f"{what} must be {interval}; {rows.size} row(s) are not, the first is row "
            f"{row!r}; got ({name}[{row!r}]={array[rows[0]].item()!r})."
        )


def _finite_or_zero(values: np.ndarray) -> np.ndarray:
    """The values with NaN and infinities set to zero (a copy only when there are any)."""
    if np.isfinite(np.add.reduce(values)):  # finite sum: every value is finite
        return values
    return np.where(np.isfinite(values), values, 0.0)


def _xlogy_ratio(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """y * log(y / mu), zero where y == 0 (also where mu rounds to 0 there)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y == 0, 0.0, y * np.log(y / mu))


@dataclass(frozen=True)
class Gaussian(Family):
    r"""Normal responses.

    .. math::
        V(\mu) = 1, \quad d(y, \mu) = (y - \mu)^2, \quad
        Y \sim N(\mu, \sigma^2 / w), \quad \phi = \sigma^2.

    The natural parameter is ``sigma``.
    """

    name: ClassVar[str] = "gaussian"
    support: ClassVar[Interval] = Interval(-_INF, _INF)
    mean_domain: ClassVar[Interval] = Interval(-_INF, _INF)
    canonical_link: ClassVar[str] = "identity"
    links: ClassVar[tuple[str, ...]] = ("identity", "log", "inverse")
    natural_param: ClassVar[str | None] = "sigma"
    free_phi: ClassVar[bool] = True
    weights_are_precision: ClassVar[bool] = True
    normal: ClassVar[bool] = True

    def variance(self, mu: Any, xp: MathNamespace = NP) -> Any:
        return mu * 0.0 + 1.0

    def unit_deviance(self, y: np.ndarray, mu: np.ndarray) -> np.ndarray:
        return (y - mu) ** 2

    def loglike_obs(self, y, mu, natural=None, *, trials=1, weights=1):
        weights = np.broadcast_to(np.asarray(weights, dtype=float), np.shape(y))
        scale = natural / np.sqrt(np.where(weights > 0, weights, 1.0))
        return np.where(weights > 0, _norm_logpdf(y, mu, scale), 0.0)

    def pymc_likelihood(self, mu, natural=None, trials=None):
        return "Normal", {"mu": mu, "sigma": natural}

    def sample(self, mu, natural, trials, rng):
        return rng.normal(mu, natural)

    def natural_scale(self, ybar: float, y_sd: float) -> float:
        return y_sd

    def phi(self, natural: float) -> float:
        return natural**2

    def natural_from_phi(self, phi: float) -> float | None:
        return math.sqrt(phi)

    def aic_natural(self, deviance: float, weights: np.ndarray) -> float | None:
        return math.sqrt(deviance / np.count_nonzero(weights))


def _norm_logpdf(y: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    z = (y - mu) / sigma
    return -0.5 * z**2 - np.log(sigma) - 0.5 * math.log(2.0 * math.pi)


_BINARY_LINKS = ("logit", "probit", "cauchit", "log", "cloglog", "loglog")


@dataclass(frozen=True)
class Binomial(Family):
    r"""Successes :math:`k` out of :math:`n` trials.

    .. math::
        V(\mu) = \mu(1 - \mu), \quad
        d(y, \mu) = 2\left[y \log\frac{y}{\mu}
                    + (1 - y)\log\frac{1 - y}{1 - \mu}\right],
        \quad y = k / n, \quad \phi = 1.
    """

    name: ClassVar[str] = "binomial"
    support: ClassVar[Interval] = Interval(0.0, _INF, True, False, integer=True)
    mean_domain: ClassVar[Interval] = Interval(0.0, 1.0)
    canonical_link: ClassVar[str] = "logit"
    links: ClassVar[tuple[str, ...]] = _BINARY_LINKS
    has_trials: ClassVar[bool] = True
    collapsible: ClassVar[bool] = True
    ratio_label: ClassVar[str] = "risk ratio"
    quantity: ClassVar[str] = "probability"

    def variance(self, mu: Any, xp: MathNamespace = NP) -> Any:
        return mu * (1.0 - mu)

    def unit_deviance(self, y: np.ndarray, mu: np.ndarray) -> np.ndarray:
        return 2.0 * (_xlogy_ratio(y, mu) + _xlogy_ratio(1.0 - y, 1.0 - mu))

    def loglike_obs(self, y, mu, natural=None, *, trials=1, weights=1):
        failures = trials - y
        log_choose = (
            special.gammaln(trials + 1.0)
            - special.gammaln(y + 1.0)
            - special.gammaln(failures + 1.0)
        )
        return weights * (log_choose + special.xlogy(y, mu) + special.xlog1py(failures, -mu))

    def pymc_likelihood(self, mu, natural=None, trials=None):
        return "Binomial", {"n": trials, "p": mu}

    def sample(self, mu, natural, trials, rng):
        return rng.binomial(np.asarray(trials, dtype=np.int64), mu).astype(float)

    def starting_mu(self, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return (weights * y + 0.5) / (weights + 1.0)

    def check_y(self, y: np.ndarray, trials: np.ndarray | None = None) -> None:
        if trials is None:
            raise BayesGLMError(
                "a binomial model needs the number of trials per row; pass trials= "
                "(or use family='bernoulli' for 0/1 outcomes); got (trials=None)."
            )
        self.check_trials(trials)
        super().check_y(y)
        over = np.flatnonzero(np.asarray(y) > np.asarray(trials))
        if over.size:
            row = row_label(y, over[0])
            got = ", ".join(
                f"{value_name(values, arg)}[{row!r}]={np.asarray(values)[over[0]].item()!r}"
                for values, arg in ((y, "y"), (trials, "trials"))
            )
            raise BayesGLMError(
                f"successes cannot exceed trials; {over.size} row(s) have more, the "
                f"first is row {row!r}; got ({got})."
            )

    def check_trials(self, trials: np.ndarray) -> None:
        """Raise :class:`BayesGLMError` unless every number of trials is a count."""
        _check_inside(
            trials,
            Interval(0.0, _INF, True, False, integer=True),
            "the trials of a binomial model",
            "trials",
        )


@dataclass(frozen=True)
class Bernoulli(Binomial):
    r"""Binary 0/1 outcomes: a binomial with one trial per row.

    .. math::
        V(\mu) = \mu(1 - \mu), \quad
        \ell = y\log\mu + (1 - y)\log(1 - \mu), \quad \phi = 1.
    """

    name: ClassVar[str] = "bernoulli"
    support: ClassVar[Interval] = Interval(0.0, 1.0, True, True, integer=True)
    has_trials: ClassVar[bool] = False

    def pymc_likelihood(self, mu, natural=None, trials=None):
        if trials is None:
            return "Bernoulli", {"p": mu}
        return "Binomial", {"n": trials, "p": mu}

    def sample(self, mu, natural, trials, rng):
        # An event is a uniform below its probability: P(U < p) = p to the uniform's
        # resolution (2**-53), with one uniform and one comparison a draw, where
        # numpy's binomial(1, p) runs its general binomial sampler.
        p = np.asarray(mu, dtype=float)
        valid = (p >= 0.0) & (p <= 1.0)
        if not valid.all():
            bad = p[~valid].flat[0]
            raise ValueError(f"a bernoulli probability must lie in [0, 1]; got {bad}")
        draws = rng.random(p.shape)
        np.less(draws, p, out=draws)
        return draws

    def unit_deviance(self, y: np.ndarray, mu: np.ndarray) -> np.ndarray:
        """For 0/1 outcomes only the observed class's term remains, -2 log P(y):
        one logarithm instead of two (the IRLS evaluates this every iteration)."""
        y = np.asarray(y)
        if not ((y == 0.0) | (y == 1.0)).all():
            return super().unit_deviance(y, mu)
        with np.errstate(divide="ignore"):
            return -2.0 * np.log(np.where(y == 1.0, mu, 1.0 - mu))

    def check_y(self, y: np.ndarray, trials: np.ndarray | None = None) -> None:
        _check_inside(y, self.support, "the response of a bernoulli model (0 or 1)", "y")


@dataclass(frozen=True)
class Poisson(Family):
    r"""Counts.

    .. math::
        V(\mu) = \mu, \quad
        d(y, \mu) = 2\left[y\log\frac{y}{\mu} - (y - \mu)\right], \quad \phi = 1.
    """

    name: ClassVar[str] = "poisson"
    support: ClassVar[Interval] = Interval(0.0, _INF, True, False, integer=True)
    mean_domain: ClassVar[Interval] = Interval(0.0, _INF)
    canonical_link: ClassVar[str] = "log"
    links: ClassVar[tuple[str, ...]] = ("log", "identity", "sqrt")
    collapsible: ClassVar[bool] = True
    ratio_label: ClassVar[str] = "rate ratio"
    quantity: ClassVar[str] = "rate"

    def variance(self, mu: Any, xp: MathNamespace = NP) -> Any:
        return mu

    def unit_deviance(self, y: np.ndarray, mu: np.ndarray) -> np.ndarray:
        return 2.0 * (_xlogy_ratio(y, mu) - (y - mu))

    def loglike_obs(self, y, mu, natural=None, *, trials=1, weights=1):
        return weights * (special.xlogy(y, mu) - mu - special.gammaln(y + 1.0))

    def pymc_likelihood(self, mu, natural=None, trials=None):
        return "Poisson", {"mu": mu if trials is None else trials * mu}

    def sample(self, mu, natural, trials, rng):
        return poisson_draws(mu, rng)

    def starting_mu(self, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return y + 0.1


@dataclass(frozen=True)
class Gamma(Family):
    r"""Positive continuous responses with constant coefficient of variation.

    .. math::
        V(\mu) = \mu^2, \quad
        d(y, \mu) = 2\left[-\log\frac{y}{\mu} + \frac{y - \mu}{\mu}\right], \quad
        \phi = 1/\text{shape}.

    The natural parameter is ``shape`` (PyMC's ``alpha``), with rate
    shape/μ.
    """

    name: ClassVar[str] = "gamma"
    support: ClassVar[Interval] = Interval(0.0, _INF)
    mean_domain: ClassVar[Interval] = Interval(0.0, _INF)
    canonical_link: ClassVar[str] = "inverse"
    links: ClassVar[tuple[str, ...]] = ("inverse", "identity", "log")
    natural_param: ClassVar[str | None] = "shape"
    free_phi: ClassVar[bool] = True
    natural_is_precision: ClassVar[bool] = True

    def variance(self, mu: Any, xp: MathNamespace = NP) -> Any:
        return mu**2

    def unit_deviance(self, y: np.ndarray, mu: np.ndarray) -> np.ndarray:
        ratio = y / mu
        return 2.0 * (ratio - 1.0 - np.log(ratio))

    def loglike_obs(self, y, mu, natural=None, *, trials=1, weights=1):
        shape = natural
        return weights * (
            shape * np.log(shape / mu)
            + (shape - 1.0) * np.log(y)
            - shape * y / mu
            - special.gammaln(shape)
        )

    def pymc_likelihood(self, mu, natural=None, trials=None):
        return "Gamma", {"alpha": natural, "beta": natural / mu}

    def sample(self, mu, natural, trials, rng):
        return rng.gamma(natural, mu / natural)

    def natural_scale(self, ybar: float, y_sd: float) -> float:
        # 1/sqrt(shape) is the coefficient of variation; y's own CV bounds it.
        return y_sd / ybar

    def phi(self, natural: float) -> float:
        return 1.0 / natural

    def natural_from_phi(self, phi: float) -> float | None:
        return 1.0 / phi

    def aic_natural(self, deviance: float, weights: np.ndarray) -> float | None:
        return float(np.sum(weights)) / deviance


@dataclass(frozen=True)
class InverseGaussian(Family):
    r"""Positive continuous responses, variance growing as the cube of the mean.

    .. math::
        V(\mu) = \mu^3, \quad d(y, \mu) = \frac{(y - \mu)^2}{\mu^2 y}, \quad
        \phi = 1/\lambda.

    The natural parameter is ``lam`` (PyMC's ``Wald(mu, lam)``).
    """

    name: ClassVar[str] = "inverse_gaussian"
    support: ClassVar[Interval] = Interval(0.0, _INF)
    mean_domain: ClassVar[Interval] = Interval(0.0, _INF)
    canonical_link: ClassVar[str] = "inverse_squared"
    links: ClassVar[tuple[str, ...]] = ("inverse_squared", "inverse", "identity", "log")
    natural_param: ClassVar[str | None] = "lam"
    free_phi: ClassVar[bool] = True
    natural_is_precision: ClassVar[bool] = True

    def variance(self, mu: Any, xp: MathNamespace = NP) -> Any:
        return mu**3

    def unit_deviance(self, y: np.ndarray, mu: np.ndarray) -> np.ndarray:
        return (y - mu) ** 2 / (mu**2 * y)

    def loglike_obs(self, y, mu, natural=None, *, trials=1, weights=1):
        lam = natural
        return weights * (
            0.5 * np.log(lam / (2.0 * math.pi * y**3)) - lam * (y - mu) ** 2 / (2.0 * mu**2 * y)
        )

    def pymc_likelihood(self, mu, natural=None, trials=None):
        return "Wald", {"mu": mu, "lam": natural}

    def sample(self, mu, natural, trials, rng):
        return rng.wald(mu, natural)

    def natural_scale(self, ybar: float, y_sd: float) -> float:
        # Var(Y) = mu^3 / lam, so 1/sqrt(lam) is about sd(y) / mean(y)^1.5.
        return y_sd / ybar**1.5

    def phi(self, natural: float) -> float:
        return 1.0 / natural

    def natural_from_phi(self, phi: float) -> float | None:
        return 1.0 / phi

    def aic_natural(self, deviance: float, weights: np.ndarray) -> float | None:
        return float(np.sum(weights)) / deviance


@dataclass(frozen=True)
class NegativeBinomial(Family):
    r"""Overdispersed counts (NB2), as ``MASS::glm.nb``.

    .. math::
        V(\mu) = \mu + \mu^2/\theta, \quad
        d(y, \mu) = 2\left[y\log\frac{y}{\mu}
                    - (y + \theta)\log\frac{y + \theta}{\mu + \theta}\right],
        \quad \phi = 1.

    The natural parameter is ``alpha`` :math:`= \theta` (PyMC's
    ``NegativeBinomial(mu, alpha)``). ``theta=None`` means it is estimated.
    """

    theta: float | None = None

    name: ClassVar[str] = "negative_binomial"
    support: ClassVar[Interval] = Interval(0.0, _INF, True, False, integer=True)
    mean_domain: ClassVar[Interval] = Interval(0.0, _INF)
    canonical_link: ClassVar[str] = "log"
    links: ClassVar[tuple[str, ...]] = ("log", "sqrt", "identity")
    natural_param: ClassVar[str | None] = "alpha"
    natural_is_precision: ClassVar[bool] = True
    natural_in_variance: ClassVar[bool] = True
    ratio_label: ClassVar[str] = "rate ratio"
    quantity: ClassVar[str] = "rate"

    def __post_init__(self) -> None:
        if self.theta is not None and not (np.isfinite(self.theta) and self.theta > 0):
            raise BayesGLMError(
                "theta of the negative binomial must be a positive finite number; "
                f"got (theta={self.theta!r})."
            )

    def _theta(self) -> float:
        if self.theta is None:
            raise BayesGLMError(
                "this negative binomial has no theta yet; fit it or pass "
                "NegativeBinomial(theta=...); got (theta=None)."
            )
        return self.theta

    @property
    def estimates_natural(self) -> bool:
        """Whether theta is estimated (``theta=None``); a theta given by the user is
        known, not a parameter of the fit, as in R's ``negative.binomial(theta)``."""
        return self.theta is None

    @property
    def known_natural(self) -> float | None:
        return self.theta  # PyMC's alpha is theta

    def with_natural(self, natural: float | None) -> NegativeBinomial:
        return dataclasses.replace(self, theta=natural)

    def variance(self, mu: Any, xp: MathNamespace = NP) -> Any:
        return mu + mu**2 / self._theta()

    def response_variance(self, mu: Any, natural: Any = None) -> Any:
        theta = self._theta() if natural is None else natural
        return mu + mu**2 / theta

    def unit_deviance(self, y: np.ndarray, mu: np.ndarray) -> np.ndarray:
        theta = self._theta()
        return 2.0 * (_xlogy_ratio(y, mu) - (y + theta) * np.log((y + theta) / (mu + theta)))

    def loglike_obs(self, y, mu, natural=None, *, trials=1, weights=1):
        theta = self._theta() if natural is None else natural
        return weights * (
            special.gammaln(y + theta)
            - special.gammaln(theta)
            - special.gammaln(y + 1.0)
            + theta * np.log(theta / (theta + mu))
            + special.xlogy(y, mu / (theta + mu))
        )

    def pymc_likelihood(self, mu, natural=None, trials=None):
        return "NegativeBinomial", {"mu": mu, "alpha": natural}

    def sample(self, mu, natural, trials, rng):
        alpha = self._theta() if natural is None else natural
        return rng.negative_binomial(alpha, alpha / (alpha + mu)).astype(float)

    def starting_mu(self, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return y + (y == 0) / 6.0

    def check_y(self, y: np.ndarray, trials: np.ndarray | None = None) -> None:
        """Also refuse all-zero counts when theta is to be estimated: theta measures
        the spread of the counts, and zeros have none (the likelihood is flat in it)."""
        super().check_y(y, trials)
        values = np.asarray(y)
        if self.theta is None and values.size and not values.any():
            raise BayesGLMError(
                "the response of a negative_binomial model with estimated theta needs a "
                "positive count: theta measures the spread of the counts, and counts that "
                "are all zero have none; pass NegativeBinomial(theta=...) or use "
                f"family='poisson'; got ({value_name(y, 'y')}=0 in all {values.size} rows)."
            )

    def aic_natural(self, deviance: float, weights: np.ndarray) -> float | None:
        return self._theta()


@dataclass(frozen=True)
class _Quasi:
    """What a quasi-family changes in the family it takes its mean and variance from
    (a mixin, first among the bases): the dispersion is estimated from Pearson's
    statistic, and there is no likelihood, hence no posterior."""

    free_phi: ClassVar[bool] = True
    has_likelihood: ClassVar[bool] = False
    name: ClassVar[str]
    alternative: ClassVar[str]

    @property
    def estimates_natural(self) -> bool:
        """False: a quasi-family has no natural parameter (and no likelihood to count it)."""
        return False

    def check_posterior(self) -> None:
        raise BayesGLMError(
            f"the {self.name} family has no posterior: a quasi-likelihood states only the "
            "mean and the variance of the response, not its distribution, so there is no "
            "likelihood to sample; fit it by maximum likelihood (GLM.fit_mle(), "
            f"bayesglm mle) or, for a posterior, {self.alternative}; "
            f"got (family={self.name!r})."
        )

    def loglike_obs(self, y, mu, natural=None, *, trials=1, weights=1):
        """NaN for every row: a quasi-family has no log-likelihood (R's ``logLik()``
        is NA)."""
        return np.full(np.shape(y), np.nan)

    def pymc_likelihood(self, mu, natural=None, trials=None):
        self.check_posterior()  # raises: there is no distribution to name

    def sample(self, mu, natural, trials, rng):
        self.check_posterior()  # raises: there is no distribution to draw from


@dataclass(frozen=True)
class QuasiPoisson(_Quasi, Poisson):
    r"""Overdispersed counts by quasi-likelihood, as R's ``quasipoisson``.

    .. math::
        \operatorname{Var}(Y) = \phi\,\mu, \quad
        \hat\phi = \frac{1}{n - p}\sum_i \frac{w_i (y_i - \hat\mu_i)^2}{\hat\mu_i}.

    The estimates and the deviance are the poisson's; standard errors are the
    poisson's times :math:`\sqrt{\hat\phi}`, tests use t. No log-likelihood, AIC
    or posterior (:attr:`~Family.has_likelihood`).
    """

    name: ClassVar[str] = "quasipoisson"
    alternative: ClassVar[str] = "use family='negative_binomial' for overdispersed counts"


@dataclass(frozen=True)
class QuasiBinomial(_Quasi, Binomial):
    r"""Overdispersed successes out of trials by quasi-likelihood, as R's
    ``quasibinomial``.

    .. math::
        \operatorname{Var}(Y/n) = \phi\,\mu(1 - \mu)/n.

    The estimates and the deviance are the binomial's; standard errors are the
    binomial's times :math:`\sqrt{\hat\phi}` (Pearson's estimate), tests use t.
    No log-likelihood, AIC or posterior (:attr:`~Family.has_likelihood`).
    """

    name: ClassVar[str] = "quasibinomial"
    alternative: ClassVar[str] = (
        "use family='binomial' (a beta-binomial for overdispersed proportions is not available)"
    )


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Gaussian(),
        Bernoulli(),
        Binomial(),
        Poisson(),
        Gamma(),
        InverseGaussian(),
        NegativeBinomial(),
        QuasiPoisson(),
        QuasiBinomial(),
    )
}
"""Registry of families by canonical name."""


def get_family(name: str | Family) -> Family:
    """Look a family up by name (a :class:`Family` instance passes through).

    Examples
    --------
    >>> get_family("poisson").canonical_link
    'log'
    """
    if isinstance(name, Family):
        return name
    if isinstance(name, str) and name in FAMILIES:
        return FAMILIES[name]
    raise BayesGLMError(
        f"unknown family; the families are {', '.join(FAMILIES)}; got (family={name!r})."
    )


@dataclass(frozen=True)
class Spec:
    """A validated (family, link) pair, read by everything downstream."""

    family: Family
    link: Link

    @property
    def is_canonical(self) -> bool:
        """Whether the link is the family's canonical link."""
        return self.link.name == self.family.canonical_link

    def means_valid(self, eta: np.ndarray, mu: np.ndarray, *, boundary: bool = True) -> bool:
        """Whether linear predictors ``eta`` and their means ``mu`` are usable.

        Every ``eta`` must be inside the link's range and every ``mu`` finite and
        inside the family's :attr:`~Family.mean_domain`. ``boundary`` says whether
        a mean *on* the domain's edge counts as inside:

        - True (the IRLS): a probability that rounds to 1 is kept, as in R's
          ``glm()``, where its deviance stays finite (the deviance is checked
          separately); its working weight is 0 (see :meth:`working_terms`).
        - False (the posterior mode search): the edge is excluded, as the
          log-density there is -inf or its curvature undefined (V(mu) = 0), and the
          search needs both at every point it accepts.

        Examples
        --------
        >>> spec = resolve("bernoulli")
        >>> eta, mu = np.array([0.0, 40.0]), np.array([0.5, 1.0])
        >>> spec.means_valid(eta, mu), spec.means_valid(eta, mu, boundary=False)
        (True, False)
        """
        if mu.size == 0:
            return True
        low, high = mu.min(), mu.max()  # NaN propagates, and fails the comparisons
        domain = self.family.mean_domain
        if boundary:
            inside = domain.low <= low and high <= domain.high
        else:
            inside = domain.includes(low) and domain.includes(high)
        return bool(
            np.isfinite(low)
            and np.isfinite(high)
            and inside
            and self.link.eta_domain.contains_all(eta)
        )

    def working_terms(
        self, y: np.ndarray, eta: np.ndarray, mu: np.ndarray, weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        r"""The working weights and working residuals of Fisher scoring at ``mu``:

        .. math::
            W = \frac{w\,(d\mu/d\eta)^2}{V(\mu)}, \qquad
            r = (y - \mu)\,\frac{d\eta}{d\mu},

        with ``y`` on the mean scale and ``weights`` the case weights: the expected
        information is :math:`X^\top W X/\phi` and the score :math:`X^\top W r/\phi`.
        A mean that rounds onto the domain's edge carries no information
        there (0/0): its weight and residual are 0, as is any other that is not
        finite.

        Examples
        --------
        >>> spec = resolve("poisson")
        >>> mu = np.array([2.0, 4.0])
        >>> w, r = spec.working_terms(np.array([3.0, 4.0]), np.log(mu), mu, np.ones(2))
        >>> w.tolist(), r.tolist()
        ([2.0, 4.0], [0.5, 0.0])
        """
        with np.errstate(all="ignore"):
            dmu_deta = self.link.inverse_deriv(eta)
            w = _finite_or_zero(weights * dmu_deta**2 / self.family.variance(mu))
            residual = _finite_or_zero((y - mu) / dmu_deta)
        return w, residual

    def __str__(self) -> str:
        return f"{self.family.name}({self.link.name})"


def resolve(family: str | Family, link: str | Link | None = None) -> Spec:
    """Check a (family, link) pair; ``link=None`` picks the canonical link.

    Examples
    --------
    >>> str(resolve("binomial", "probit"))
    'binomial(probit)'
    >>> resolve("poisson", "logit")
    Traceback (most recent call last):
    ...
    bayesglm.errors.BayesGLMError: the poisson family does not allow the logit link; \
its links are log, identity, sqrt; got (link='logit').
    """
    fam = get_family(family)
    lnk = get_link(fam.canonical_link if link is None else link)
    if lnk.name not in fam.links or LINKS[lnk.name] is not lnk:
        raise BayesGLMError(
            f"the {fam.name} family does not allow the {lnk.name} link; its links are "
            f"{', '.join(fam.links)}; got (link={lnk.name!r})."
        )
    return Spec(fam, lnk)
