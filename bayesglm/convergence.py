r"""Convergence statistics of MCMC draws, in numpy: R-hat, ESS, MCSE, E-BFMI.

The sampler checks of every fit need them, and ArviZ (with xarray) takes longer to
import than a small fit takes to sample, so they are computed here, as ArviZ's
array layer (``arviz_stats.base``) computes them, following Vehtari et al. (2021),
"Rank-normalization, folding, and localization: an improved :math:`\hat R`":

- :func:`rhat`: rank-normalized split R-hat, the larger of the bulk and the folded
  (tail) value;
- :func:`ess_bulk`: ESS of the rank-normalized split chains;
- :func:`ess_tail`: the smaller ESS of the indicators of the 5% and 95% quantiles
  (the paper's choice, stated here rather than taken from ArviZ's ``rcParams``);
- :func:`mcse_mean`: sd / sqrt(ESS of the split chains);
- :func:`bfmi`: E-BFMI per chain (Betancourt 2016).

Each takes one quantity's draws as a (chain, draw) array. tests/test_convergence.py
checks them against ArviZ to 1e-10.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.special import ndtri

from .thresholds import BFMI_LIMIT, ESS_PER_CHAIN, RHAT_LIMIT

__all__ = [
    "Diagnostics",
    "bfmi",
    "ess_bulk",
    "ess_mean",
    "ess_tail",
    "mcse_mean",
    "rhat",
    "sampler_checks",
]

_TAIL_PROBS = (0.05, 0.95)
_MIN_DRAWS = 4


def _invalid(draws: np.ndarray, min_chains: int) -> bool:
    """Too few chains or draws, or a NaN: the statistic is NaN (as ArviZ's)."""
    chains, n = draws.shape
    return chains < min_chains or n < _MIN_DRAWS or bool(np.isnan(draws).any())


def _split(draws: np.ndarray) -> np.ndarray:
    """Each chain's first and last halves as two chains (the middle draw of an odd
    count is dropped)."""
    half = draws.shape[1] // 2
    return np.vstack((draws[:, :half], draws[:, -half:]))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..N over all values, ties sharing their average rank."""
    flat = values.ravel()
    order = np.argsort(flat, kind="mergesort")
    ordered = flat[order]
    starts = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    group = np.cumsum(starts) - 1
    edges = np.concatenate((np.flatnonzero(starts), [flat.size]))
    average = 0.5 * (edges[:-1] + 1 + edges[1:])
    ranks = np.empty(flat.size)
    ranks[order] = average[group]
    return ranks.reshape(values.shape)


def _z_scale(values: np.ndarray) -> np.ndarray:
    """Rank-normalized values: normal quantiles of the Blom-offset ranks."""
    c = 3 / 8
    return ndtri((_average_ranks(values) - c) / (values.size - 2 * c + 1))


def _rhat(draws: np.ndarray) -> float:
    """Gelman-Rubin R-hat of the chains as given."""
    n = draws.shape[1]
    between = n * np.var(np.mean(draws, axis=1), ddof=1)
    within = np.mean(np.var(draws, axis=1, ddof=1))
    return float(np.sqrt((between / within + n - 1) / n))


def _autocov(draws: np.ndarray) -> np.ndarray:
    """Each chain's autocovariance at every lag (by FFT)."""
    n = draws.shape[1]
    # Zero-padded to a power of two of at least 2n - 1, where the FFT's circular
    # correlation is the linear one (without scipy.fft's import in every fit).
    m = 1 << (2 * n - 1).bit_length()
    centred = draws - draws.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=m, axis=1)
    spectrum *= np.conjugate(spectrum)
    return np.fft.irfft(spectrum, n=m, axis=1)[:, :n] / n


def _ess(draws: np.ndarray) -> float:
    """ESS of the chains as given, with Geyer's initial monotone sequence."""
    draws = np.asarray(draws, dtype=float)
    if np.max(draws) - np.min(draws) < np.finfo(float).resolution:
        return float(draws.size)
    chains, n = draws.shape
    acov = _autocov(draws)
    mean_var = np.mean(acov[:, 0]) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if chains > 1:
        var_plus += np.var(draws.mean(axis=1), ddof=1)
    rho = np.zeros(n)
    rho_even, rho_odd = 1.0, 1.0 - (mean_var - np.mean(acov[:, 1])) / var_plus
    rho[0], rho[1] = rho_even, rho_odd
    # Geyer's initial positive sequence: sum autocorrelations in pairs while positive.
    t = 1
    while t < n - 3 and rho_even + rho_odd > 0.0:
        rho_even = 1.0 - (mean_var - np.mean(acov[:, t + 1])) / var_plus
        rho_odd = 1.0 - (mean_var - np.mean(acov[:, t + 2])) / var_plus
        if rho_even + rho_odd >= 0:
            rho[t + 1], rho[t + 2] = rho_even, rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:
        rho[max_t + 1] = rho_even
    # ... made monotone.
    t = 1
    while t <= max_t - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    total = chains * n
    tau = -1.0 + 2.0 * np.sum(rho[: max_t + 1]) + np.sum(rho[max_t + 1 : max_t + 2])
    tau = max(tau, 1 / np.log10(total))
    return float("nan") if np.isnan(rho).any() else float(total / tau)


def rhat(draws: np.ndarray) -> float:
    """Rank-normalized split R-hat of (chain, draw) draws; NaN with one chain.

    Examples
    --------
    >>> draws = np.random.default_rng(0).normal(size=(4, 500))
    >>> 1.0 <= rhat(draws) < 1.01
    True
    """
    draws = np.asarray(draws, dtype=float)
    if _invalid(draws, min_chains=2):
        return float("nan")
    split = _split(draws)
    folded = np.abs(split - np.median(split))
    return max(_rhat(_z_scale(split)), _rhat(_z_scale(folded)))


def ess_bulk(draws: np.ndarray) -> float:
    """Bulk effective sample size of (chain, draw) draws.

    Examples
    --------
    >>> draws = np.random.default_rng(0).normal(size=(4, 500))
    >>> 1500 < ess_bulk(draws) < 2500
    True
    """
    draws = np.asarray(draws, dtype=float)
    if _invalid(draws, min_chains=1):
        return float("nan")
    return _ess(_z_scale(_split(draws)))


def ess_tail(draws: np.ndarray) -> float:
    """Tail effective sample size: the smaller ESS of the 5% and 95% quantiles.

    Examples
    --------
    >>> draws = np.random.default_rng(0).normal(size=(4, 500))
    >>> 1000 < ess_tail(draws) < 3000
    True
    """
    draws = np.asarray(draws, dtype=float)
    if _invalid(draws, min_chains=1):
        return float("nan")
    return min(
        _ess(_split(draws <= np.quantile(draws, prob, method="linear"))) for prob in _TAIL_PROBS
    )


def ess_mean(draws: np.ndarray) -> float:
    """Effective sample size for the mean (split chains, no rank normalization)."""
    draws = np.asarray(draws, dtype=float)
    if _invalid(draws, min_chains=1):
        return float("nan")
    return _ess(_split(draws))


def mcse_mean(draws: np.ndarray) -> float:
    """Monte Carlo standard error of the mean: sd / sqrt(:func:`ess_mean`).

    Examples
    --------
    >>> draws = np.random.default_rng(0).normal(size=(4, 500))
    >>> 0.015 < mcse_mean(draws) < 0.03
    True
    """
    draws = np.asarray(draws, dtype=float)
    return float(np.std(draws, ddof=1) / np.sqrt(ess_mean(draws)))


def bfmi(energy: np.ndarray) -> np.ndarray:
    """E-BFMI of each chain from the (chain, draw) Hamiltonian energies.

    Examples
    --------
    >>> energy = np.random.default_rng(0).normal(size=(2, 1000)).cumsum(axis=1)
    >>> bool((bfmi(energy) < 0.3).all())  # a random walk: energy barely resampled
    True
    """
    energy = np.atleast_2d(np.asarray(energy, dtype=float))
    return np.square(np.diff(energy, axis=1)).mean(axis=1) / np.var(energy, axis=1, ddof=1)


# --- the sampler checks of a fit ------------------------------------------------------


@dataclass(frozen=True)
class Diagnostics:
    """Sampler health: what was checked, what failed, and what to try.

    The limits are those of :mod:`bayesglm.thresholds`.
    """

    divergences: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    min_bfmi: float
    treedepth_saturation: float
    chains: int
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not self.problems

    def _checks(self) -> list[tuple[str, float, float, bool]]:
        """(check, value, limit, failed): the one place a check is decided. A value
        that cannot be computed (R-hat of one chain, E-BFMI without energies: NaN)
        fails nothing."""
        per_chain = ESS_PER_CHAIN * self.chains
        return [
            ("divergent transitions", self.divergences, 0, self.divergences > 0),
            ("max R-hat", self.max_rhat, RHAT_LIMIT, self.max_rhat > RHAT_LIMIT),
            ("min bulk ESS", self.min_ess_bulk, per_chain, self.min_ess_bulk < per_chain),
            ("min tail ESS", self.min_ess_tail, per_chain, self.min_ess_tail < per_chain),
            ("min E-BFMI", self.min_bfmi, BFMI_LIMIT, self.min_bfmi < BFMI_LIMIT),
            (
                "tree-depth saturation",
                self.treedepth_saturation,
                0.0,
                self.treedepth_saturation > 0.0,
            ),
        ]

    def failed(self) -> tuple[str, ...]:
        """The names of the checks that failed."""
        return tuple(check for check, _, _, failed in self._checks() if failed)

    def table(self) -> pd.DataFrame:
        """One row per check: value, limit, passed."""
        rows = [(check, value, limit, not bad) for check, value, limit, bad in self._checks()]
        return pd.DataFrame(rows, columns=["check", "value", "limit", "passed"]).set_index("check")


def sampler_checks(
    parameters: list[np.ndarray],
    sample_stats: Mapping[str, np.ndarray],
    chains: int,
    total: int,
) -> Diagnostics:
    """The sampler checks of a fit: each parameter's (chain, draw) draws, the
    sampler's statistics (``diverging``, ``energy``, ``reached_max_treedepth``, each
    optional) and the number of draws, with what to try for each failed check."""

    def extreme(statistic: Callable[[np.ndarray], float], pick: Callable) -> float:
        # R-hat is undefined (NaN) with one chain: the check then has nothing to say.
        values = [statistic(draws) for draws in parameters]
        values = [value for value in values if not np.isnan(value)]
        return float(pick(values)) if values else float("nan")

    stats = sample_stats
    divergences = int(stats["diverging"].sum()) if "diverging" in stats else 0
    max_rhat = extreme(rhat, max)
    min_bulk = extreme(ess_bulk, min)
    min_tail = extreme(ess_tail, min)
    min_bfmi = float(np.min(bfmi(stats["energy"]))) if "energy" in stats else np.nan
    saturation = (
        float(stats["reached_max_treedepth"].mean()) if "reached_max_treedepth" in stats else 0.0
    )
    checks = Diagnostics(divergences, max_rhat, min_bulk, min_tail, min_bfmi, saturation, chains)
    failed = checks.failed()
    problems = []
    if "divergent transitions" in failed:
        problems.append(
            f"{divergences} of {total} transitions diverged: the posterior has regions NUTS "
            "cannot explore; raise target_accept (e.g. 0.95) or use stronger priors."
        )
    if "max R-hat" in failed:
        problems.append(
            f"R-hat up to {max_rhat:.3f} (> {RHAT_LIMIT}): chains disagree; run longer "
            "(more tune and draws) and check for multimodality."
        )
    if "min bulk ESS" in failed or "min tail ESS" in failed:
        problems.append(
            f"effective sample size down to {min(min_bulk, min_tail):.0f} (bulk "
            f"{min_bulk:.0f}, tail {min_tail:.0f}; want >= {ESS_PER_CHAIN * chains}, "
            f"{ESS_PER_CHAIN} per chain): draw more."
        )
    if "min E-BFMI" in failed:
        problems.append(
            f"E-BFMI down to {min_bfmi:.2f} (< {BFMI_LIMIT}): poor exploration of the energy; "
            "consider a reparametrization or stronger priors on the dispersion."
        )
    if "tree-depth saturation" in failed:
        problems.append(
            f"{saturation:.1%} of transitions hit the maximum tree depth: sampling is "
            "inefficient; check for near-flat directions (weak identification)."
        )
    return replace(checks, problems=tuple(problems))
