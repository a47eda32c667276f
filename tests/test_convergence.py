"""bayesglm.convergence against ArviZ: R-hat, bulk/tail ESS, MCSE and E-BFMI to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest

from bayesglm import convergence

az = pytest.importorskip("arviz")


def _ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float) -> np.ndarray:
    """Autocorrelated chains: x_t = phi x_{t-1} + e_t."""
    noise = rng.normal(size=shape)
    out = np.empty(shape)
    out[:, 0] = noise[:, 0]
    for t in range(1, shape[1]):
        out[:, t] = phi * out[:, t - 1] + noise[:, t]
    return out


def _cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(12)
    return {
        "iid normal": rng.normal(size=(4, 1000)),
        "ar1 0.5": _ar1(rng, (4, 1000), 0.5),
        "ar1 0.95": _ar1(rng, (4, 500), 0.95),
        "antithetic": _ar1(rng, (2, 800), -0.6),
        "chains apart": rng.normal(size=(4, 300)) + np.array([[0.0], [0.0], [0.5], [1.0]]),
        "heavy tails": rng.standard_cauchy(size=(3, 400)),
        "ties": np.round(rng.gamma(2.0, size=(4, 250)), 1),
        "odd draws": _ar1(rng, (2, 101), 0.8),
        "one chain": _ar1(rng, (1, 600), 0.7),
        "few draws": rng.normal(size=(2, 5)),
    }


CASES = _cases()


@pytest.mark.parametrize("name", list(CASES))
def test_rhat_ess_and_mcse_match_arviz(name: str) -> None:
    draws = CASES[name]
    expected = {
        "rhat": az.rhat(draws, method="rank"),
        "ess_bulk": az.ess(draws, method="bulk"),
        # Vehtari et al.'s 5% and 95% quantiles, stated (ArviZ's default reads rcParams).
        "ess_tail": az.ess(draws, method="tail", prob=0.95),
        "ess_mean": az.ess(draws, method="mean"),
        "mcse_mean": az.mcse(draws, method="mean"),
    }
    for statistic, value in expected.items():
        ours = getattr(convergence, statistic)(draws)
        np.testing.assert_allclose(ours, float(value), rtol=1e-10, atol=0, err_msg=statistic)


def test_one_chain_has_no_rhat_and_a_nan_draw_no_statistic() -> None:
    assert np.isnan(convergence.rhat(CASES["one chain"]))
    draws = CASES["iid normal"].copy()
    draws[1, 7] = np.nan
    for statistic in (convergence.rhat, convergence.ess_bulk, convergence.ess_tail):
        assert np.isnan(statistic(draws))


def test_constant_draws_count_every_draw() -> None:
    # ArviZ's convention: no variation, ESS = number of draws.
    assert convergence.ess_bulk(np.full((2, 50), 3.0)) == 100.0


def test_chains_that_disagree_fail_rhat_where_mixed_ones_pass() -> None:
    assert convergence.rhat(CASES["chains apart"]) > 1.05
    assert convergence.rhat(CASES["iid normal"]) < 1.01


@pytest.mark.parametrize("name", ["iid normal", "ar1 0.95", "antithetic"])
def test_bfmi_matches_arviz(name: str) -> None:
    energy = CASES[name]
    np.testing.assert_allclose(
        convergence.bfmi(energy), np.asarray(az.bfmi(energy)), rtol=1e-10, atol=0
    )
