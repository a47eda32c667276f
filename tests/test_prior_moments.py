"""Every prior class knows its own density, its PyMC term and its moments: its mean and sd
(and a prior on a positive parameter the sd of its log), checked against scipy.stats, quadrature or
Monte Carlo written independently. One row per class in ROWS."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from scipy import integrate, stats

from bayesglm.priors import PRIORS, PositivePrior


@dataclass(frozen=True)
class Row:
    """A prior class's test row: parameter sets (on both sides of where its moments stop
    existing), and the same distribution written independently: as scipy.stats' twin,
    or where scipy has none, as its log density."""

    params: list[tuple[float, ...]]
    scipy: Callable[[dict[str, float]], Any] | None = None
    logpdf: Callable[[dict[str, float], np.ndarray], np.ndarray] | None = None


ROWS = {
    "Normal": Row([(0.3, 2.0)], lambda p: stats.norm(p["mu"], p["sigma"])),
    "StudentT": Row(
        [(5.0, 1.0, 2.0), (2.0, 0.5, 1.0), (0.8, 0.0, 1.0)],
        lambda p: stats.t(p["nu"], p["mu"], p["sigma"]),
    ),
    "Cauchy": Row([(0.5, 2.0)], lambda p: stats.cauchy(p["alpha"], p["beta"])),
    "Laplace": Row([(1.0, 0.7)], lambda p: stats.laplace(p["mu"], p["b"])),
    # The normal on beta whose 2.5% and 97.5% points are log(0.5) and log(2): written from
    # the range by hand, not by the class's formula.
    "EffectRange": Row(
        [(0.5, 2.0, 0.95), (1.2, 3.0, 0.8)],
        lambda p: stats.norm(
            (np.log(p["low"]) + np.log(p["high"])) / 2,
            (np.log(p["high"]) - np.log(p["low"])) / (2 * stats.norm.ppf((1 + p["prob"]) / 2)),
        ),
    ),
    "Flat": Row([()], logpdf=lambda p, x: np.zeros_like(x)),
    "HalfNormal": Row([(2.0,)], lambda p: stats.halfnorm(scale=p["sigma"])),
    "HalfStudentT": Row(
        [(3.0, 2.0), (7.0, 0.5), (1.5, 1.0), (1.0, 1.0)],
        # |T| for T ~ t(nu, 0, sigma): twice the density on the positive half.
        logpdf=lambda p, x: np.log(2 * stats.t.pdf(x, p["nu"], 0.0, p["sigma"])),
    ),
    "HalfCauchy": Row([(1.5,)], lambda p: stats.halfcauchy(scale=p["beta"])),
    "Exponential": Row([(0.4,)], lambda p: stats.expon(scale=1 / p["lam"])),
    "Gamma": Row([(2.5, 3.0)], lambda p: stats.gamma(p["alpha"], scale=1 / p["beta"])),
    "InverseGamma": Row(
        [(3.5, 2.0), (1.5, 1.0), (0.8, 1.0)],
        lambda p: stats.invgamma(p["alpha"], scale=p["beta"]),
    ),
    "HalfFlat": Row([()], logpdf=lambda p, x: np.zeros_like(x)),
    "InvSqrtExponential": Row(
        [(2.0,)],
        # Change of variables: s = x**-0.5 ~ Exponential(lam), |ds/dx| = x**-1.5 / 2.
        logpdf=lambda p, x: (
            stats.expon.logpdf(x**-0.5, scale=1 / p["lam"]) + np.log(0.5 * x**-1.5)
        ),
    ),
    "Fixed": Row([(3.0,)], logpdf=lambda p, x: np.where(x == p["value"], 0.0, -np.inf)),
}


def test_every_prior_class_has_a_test_row() -> None:
    assert set(ROWS) == set(PRIORS), "a new prior class needs its row in ROWS"


def _scipy_twin(prior) -> Any:
    """The same distribution from scipy.stats, or None where scipy has no twin."""
    make = ROWS[type(prior).__name__].scipy
    return None if make is None else make(prior.params)


def _cases():
    for name, row in ROWS.items():
        for args in row.params:
            yield pytest.param(PRIORS[name](*args), id=f"{name}{args}")


# --- the density: numpy, PyMC, derivatives ----------------------------------------------------


def _points(prior) -> np.ndarray:
    """Points in the support (with a point mass's own value)."""
    if isinstance(prior, PositivePrior):
        held = prior.held_value
        return np.array([0.05, 0.3, 1.0, 2.5, 40.0] + ([] if held is None else [held]))
    return np.array([-3.0, -0.5, 0.2, 1.7, 6.0])


@pytest.mark.parametrize("prior", list(_cases()))
def test_logpdf_matches_the_independent_density(prior) -> None:
    x = _points(prior)
    row = ROWS[type(prior).__name__]
    expected = row.scipy(prior.params).logpdf(x) if row.scipy else row.logpdf(prior.params, x)
    np.testing.assert_allclose(prior.logpdf(x), expected, rtol=1e-10)


def _has_density(prior) -> bool:
    """Proper and not a point mass."""
    return prior.proper and getattr(prior, "held_value", None) is None


@pytest.mark.parametrize("prior", [c for c in _cases() if _has_density(c.values[0])])
def test_a_proper_density_integrates_to_one(prior) -> None:
    low = 0.0 if isinstance(prior, PositivePrior) else -np.inf
    split = prior.mean if np.isfinite(prior.mean) else 1.0
    total = sum(
        integrate.quad(lambda v: np.exp(prior.logpdf(v)), a, b, limit=200)[0]
        for a, b in ((low, split), (split, np.inf))
    )
    np.testing.assert_allclose(total, 1.0, rtol=1e-6)


@pytest.mark.parametrize("prior", list(_cases()))
def test_pymc_term_equals_logpdf(prior) -> None:
    import pytensor.tensor as pt

    x = _points(prior)
    if isinstance(prior, PositivePrior):
        # As the models use it: one value, the prior's numbers scalars.
        cases = [(np.asarray(v), dict(prior.params)) for v in x]
    else:
        # A group of coefficients: a vector of values, each number a vector.
        cases = [(x, {k: np.full(x.shape, v) for k, v in prior.params.items()})]
    for value, params in cases:
        # float64 as the models' data (pytensor would make a Python float float32).
        tensors = {k: pt.as_tensor(np.asarray(v, dtype=float)) for k, v in params.items()}
        term = type(prior).pymc_logp(pt.as_tensor(value), tensors)
        evaluated = term.eval() if hasattr(term, "eval") else term  # a flat prior's 0
        expected = prior.logpdf(value)
        # PyMC's half distributions add log 2 with float32 rounding (2e-9).
        np.testing.assert_allclose(
            np.broadcast_to(evaluated, expected.shape), expected, rtol=1e-9, atol=1e-8
        )


@pytest.mark.parametrize(
    "prior", [c for c in _cases() if not isinstance(c.values[0], PositivePrior)]
)
def test_coefficient_prior_derivatives_match_finite_differences(prior) -> None:
    x, h = _points(prior), 1e-5
    grad = (prior.logpdf(x + h) - prior.logpdf(x - h)) / (2 * h)
    hess = (prior.grad(x + h) - prior.grad(x - h)) / (2 * h)
    np.testing.assert_allclose(prior.grad(x), grad, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(prior.hess(x), hess, rtol=1e-6, atol=1e-8)


# --- moments of every prior class -----------------------------------------------------------


@pytest.mark.parametrize("prior", list(_cases()))
def test_prior_mean_and_sd_match_an_independent_computation(prior) -> None:
    name = type(prior).__name__
    twin = _scipy_twin(prior)
    if twin is not None:
        # scipy returns nan where a moment is infinite or undefined; compare finite ones.
        mean, var = twin.stats("mv")
        expected_sd = math.sqrt(var) if np.isfinite(var) else math.inf
        if np.isfinite(mean):
            np.testing.assert_allclose(prior.mean, float(mean), rtol=1e-10)
        else:
            assert not np.isfinite(prior.mean)
        assert prior.sd == pytest.approx(expected_sd, rel=1e-10)
    elif name == "HalfStudentT":
        # |T| for T ~ t(nu, 0, sigma), by quadrature of scipy's density.
        t = stats.t(prior.nu, 0.0, prior.sigma)
        moment = lambda k: 2 * integrate.quad(lambda x: x**k * t.pdf(x), 0, np.inf)[0]  # noqa: E731
        if prior.nu > 2:
            mean = moment(1)
            np.testing.assert_allclose(prior.mean, mean, rtol=1e-7)
            np.testing.assert_allclose(prior.sd, math.sqrt(moment(2) - mean**2), rtol=1e-7)
        elif prior.nu > 1:  # E|T| finite, E T^2 infinite
            np.testing.assert_allclose(prior.mean, moment(1), rtol=1e-6)
            assert prior.sd == math.inf
        else:
            assert prior.mean == math.inf and prior.sd == math.inf
    elif name == "InvSqrtExponential":
        # d = s^-2, s ~ Exponential(lam): E[d; d < t] = E[s^-2; s > t^-1/2] grows like
        # lam sqrt(t) without bound, so d has no finite mean (nor sd).
        lam = prior.lam
        partial = [
            integrate.quad(lambda s: lam * np.exp(-lam * s) / s**2, t**-0.5, np.inf)[0]
            for t in (1e4, 1e6)
        ]
        assert partial[1] > 5 * partial[0]
        assert prior.mean == math.inf and prior.sd == math.inf
    elif name == "Fixed":
        assert (prior.mean, prior.sd) == (prior.value, 0.0)
    else:  # Flat, HalfFlat: improper
        assert prior.sd == math.inf and not np.isfinite(prior.mean)


@pytest.mark.parametrize(
    "prior", [c for c in _cases() if issubclass(type(c.values[0]), PositivePrior)]
)
def test_positive_prior_log_sd_matches_monte_carlo(prior) -> None:
    if not prior.proper:
        assert prior.log_sd == math.inf
        return
    if type(prior).__name__ == "Fixed":
        assert prior.log_sd == 0.0
        return
    draws = _draw(prior, 400_000, np.random.default_rng(5))
    np.testing.assert_allclose(prior.log_sd, np.log(draws).std(), rtol=0.01)
    assert np.isfinite(prior.log_sd)


def _draw(prior, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draws by each distribution's textbook construction (not by the class's code)."""
    name, p = type(prior).__name__, prior.params
    if name == "HalfStudentT":
        return np.abs(p["sigma"] * rng.standard_t(p["nu"], n))
    if name == "InvSqrtExponential":
        return rng.exponential(1 / p["lam"], n) ** -2.0
    return _scipy_twin(prior).rvs(n, random_state=rng)


@pytest.mark.parametrize(
    "prior",
    [c for c in _cases() if isinstance(c.values[0], PositivePrior) and _has_density(c.values[0])],
)
def test_a_positive_prior_has_no_density_below_zero(prior) -> None:
    assert np.all(prior.logpdf(np.array([-2.0, -1e-9])) == -np.inf)
    assert np.ndim(prior.logpdf(1.0)) == 0  # a number for a number, as scipy gives
