"""Exact Poisson draws by inversion (bayesglm.poisson_draws).

The reference is scipy's Poisson quantile function: a draw by inversion must be the
quantile of the uniform it used, exactly. The distribution of whole draws, on both
paths (inversion and numpy's sampler), is checked against the Poisson probabilities
by a chi-square test.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayesglm.families import FAMILIES
from bayesglm.poisson_draws import _BLOCK, INVERSION_LIMIT, poisson_draws


def _means(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Means spread over [0, INVERSION_LIMIT): many small, some near the limit, zeros."""
    rng = np.random.default_rng(seed)
    mu = INVERSION_LIMIT * rng.uniform(0, 1, shape) ** 3
    mu.flat[::97] = 0.0
    mu.flat[1::89] = np.nextafter(INVERSION_LIMIT, 0.0)
    mu.flat[2::83] = 1e-300
    return mu


@pytest.mark.parametrize("layout", ["C rows x draws", "its transpose (F order)", "1-D"])
def test_every_draw_is_the_poisson_quantile_of_its_uniform(layout: str) -> None:
    # 3 whole blocks and a part of one, so the stream crosses block boundaries.
    mu = _means((7, 3 * _BLOCK // 7 + 1000), seed=1)
    if layout == "its transpose (F order)":
        mu = mu.T
    elif layout == "1-D":
        mu = mu.ravel()
    draws = poisson_draws(mu, np.random.default_rng(5))
    order = "F" if layout.startswith("its transpose") else "C"
    uniforms = np.random.default_rng(5).random(mu.size).reshape(mu.shape, order=order)
    expected = stats.poisson.ppf(uniforms, mu)
    assert draws.shape == mu.shape and draws.dtype == np.float64
    assert np.array_equal(draws, expected), np.flatnonzero(draws != expected)[:5]


@pytest.mark.parametrize("mean", [0.02, 1.0, 6.5, 24.99, INVERSION_LIMIT, 80.0, 4000.0])
def test_the_draws_follow_the_poisson_distribution(mean: float) -> None:
    n = 200_000
    draws = poisson_draws(np.full(n, mean), np.random.default_rng(11)).astype(np.int64)
    low, high = (int(v) for v in stats.poisson.ppf([1e-4, 1 - 1e-4], mean))
    # Cells: below low, each of low..high, above high.
    cells = np.clip(draws, low - 1, high + 1) - (low - 1)
    observed = np.bincount(cells, minlength=high - low + 3)
    probs = np.r_[
        stats.poisson.cdf(low - 1, mean),
        stats.poisson.pmf(np.arange(low, high + 1), mean),
        stats.poisson.sf(high, mean),
    ]
    expected = n * probs
    # Pool the sparse cells of each tail into their neighbours.
    first, last = np.flatnonzero(expected >= 5)[[0, -1]]
    observed, expected = (
        np.r_[counts[: first + 1].sum(), counts[first + 1 : last], counts[last:].sum()]
        for counts in (observed, expected)
    )
    result = stats.chisquare(observed, expected)
    assert result.pvalue > 1e-3, (mean, result)
    assert abs(draws.mean() - mean) < 5 * np.sqrt(mean / n)


def test_a_block_holding_a_large_mean_is_drawn_by_numpys_sampler() -> None:
    mu = np.full(2 * _BLOCK, 2.0)
    mu[_BLOCK + 10] = INVERSION_LIMIT
    draws = poisson_draws(mu, np.random.default_rng(3))
    replay = np.random.default_rng(3)
    first = stats.poisson.ppf(replay.random(_BLOCK), 2.0)
    second = replay.poisson(mu[_BLOCK:])
    assert np.array_equal(draws, np.r_[first, second])


@pytest.mark.parametrize("bad", [-0.5, np.nan, np.inf])
def test_a_value_that_is_not_a_mean_gets_numpys_own_error(bad: float) -> None:
    mu = np.full(100, 2.0)
    mu[40] = bad
    with pytest.raises(ValueError, match="lam"):
        poisson_draws(mu, np.random.default_rng(0))


class _UniformsAboveOne:
    """A generator whose uniforms lie above every partial sum of the probabilities
    (as a uniform within rounding of 1 can); its Poisson draws are a real generator's."""

    def __init__(self) -> None:
        self.real = np.random.default_rng(9)

    def random(self, out: np.ndarray) -> np.ndarray:
        out.fill(2.0)
        return out

    def poisson(self, lam: np.ndarray) -> np.ndarray:
        return self.real.poisson(lam)


def test_a_uniform_no_partial_sum_reaches_is_drawn_by_numpys_sampler() -> None:
    mu = np.array([0.5, 3.0, 24.0])
    draws = poisson_draws(mu, _UniformsAboveOne())
    assert np.array_equal(draws, np.random.default_rng(9).poisson(mu))


@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (2, 3, 4)])
def test_any_shape_comes_back_in_its_own_shape(shape: tuple[int, ...]) -> None:
    mu = np.full(shape, 1.5)
    draws = poisson_draws(mu, np.random.default_rng(2))
    assert draws.shape == shape
    uniforms = np.random.default_rng(2).random(mu.size).reshape(shape)
    assert np.array_equal(draws, stats.poisson.ppf(uniforms, mu))


def test_the_poisson_family_draws_its_responses_by_inversion() -> None:
    mu = _means((50, 40), seed=4)
    drawn = FAMILIES["poisson"].sample(mu, None, None, np.random.default_rng(8))
    assert np.array_equal(drawn, poisson_draws(mu, np.random.default_rng(8)))
