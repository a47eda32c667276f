"""Every prior class knows its own mean and sd (and a dispersion prior the sd of its log),
checked against scipy.stats, quadrature or Monte Carlo written independently."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from bayesglm.priors import PRIORS, DispersionPrior

# --- moments of every prior class -----------------------------------------------------------

# Each class with parameter sets on both sides of where its moments stop existing.
PARAMS = {
    "Normal": [(0.3, 2.0)],
    "StudentT": [(5.0, 1.0, 2.0), (2.0, 0.5, 1.0), (0.8, 0.0, 1.0)],
    "Cauchy": [(0.5, 2.0)],
    "Laplace": [(1.0, 0.7)],
    "Flat": [()],
    "HalfNormal": [(2.0,)],
    "HalfStudentT": [(3.0, 2.0), (7.0, 0.5), (1.5, 1.0), (1.0, 1.0)],
    "HalfCauchy": [(1.5,)],
    "Exponential": [(0.4,)],
    "Gamma": [(2.5, 3.0)],
    "InverseGamma": [(3.5, 2.0), (1.5, 1.0), (0.8, 1.0)],
    "HalfFlat": [()],
    "InvSqrtExponential": [(2.0,)],
    "Fixed": [(3.0,)],
}


def test_every_prior_class_has_test_parameters() -> None:
    assert set(PARAMS) == set(PRIORS), "a new prior class needs parameters in PARAMS"


def _scipy_twin(prior) -> stats.rv_continuous | None:
    """The same distribution from scipy.stats, written from each class's docstring."""
    name, p = type(prior).__name__, prior.params
    twins = {
        "Normal": lambda: stats.norm(p.get("mu"), p.get("sigma")),
        "StudentT": lambda: stats.t(p.get("nu"), p.get("mu"), p.get("sigma")),
        "Cauchy": lambda: stats.cauchy(p.get("alpha"), p.get("beta")),
        "Laplace": lambda: stats.laplace(p.get("mu"), p.get("b")),
        "HalfNormal": lambda: stats.halfnorm(scale=p.get("sigma")),
        "HalfCauchy": lambda: stats.halfcauchy(scale=p.get("beta")),
        "Exponential": lambda: stats.expon(scale=1 / p.get("lam", 1.0)),
        "Gamma": lambda: stats.gamma(p.get("alpha"), scale=1 / p.get("beta", 1.0)),
        "InverseGamma": lambda: stats.invgamma(p.get("alpha"), scale=p.get("beta")),
    }
    return twins[name]() if name in twins else None


def _cases():
    for name, sets in PARAMS.items():
        for args in sets:
            yield pytest.param(PRIORS[name](*args), id=f"{name}{args}")


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
    "prior", [c for c in _cases() if issubclass(type(c.values[0]), DispersionPrior)]
)
def test_dispersion_prior_log_sd_matches_monte_carlo(prior) -> None:
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
