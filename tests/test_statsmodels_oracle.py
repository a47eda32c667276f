"""fit_mle against statsmodels (a test-only oracle) for every allowed family x link."""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import bayesglm as bg
from bayesglm.families import FAMILIES, Family

L = sm.families.links
SM_LINKS = {
    "identity": L.Identity,
    "log": L.Log,
    "logit": L.Logit,
    "probit": L.Probit,
    "cloglog": L.CLogLog,
    "loglog": L.LogLog,
    "cauchit": L.Cauchy,
    "inverse": L.InversePower,
    "inverse_squared": L.InverseSquared,
    "sqrt": L.Sqrt,
}
THETA = 3.0
pytestmark = pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.DomainWarning")
PAIRS = [(f, link) for f, fam in FAMILIES.items() for link in fam.links]


def _sm_family(name: str, link: str):
    lnk = SM_LINKS[link]()
    return {
        "gaussian": lambda: sm.families.Gaussian(lnk),
        "bernoulli": lambda: sm.families.Binomial(lnk),
        "binomial": lambda: sm.families.Binomial(lnk),
        "poisson": lambda: sm.families.Poisson(lnk),
        "gamma": lambda: sm.families.Gamma(lnk),
        "inverse_gaussian": lambda: sm.families.InverseGaussian(lnk),
        "negative_binomial": lambda: sm.families.NegativeBinomial(lnk, alpha=1.0 / THETA),
        "quasipoisson": lambda: sm.families.Poisson(lnk),
        "quasibinomial": lambda: sm.families.Binomial(lnk),
    }[name]()


def simulate(family: Family, link: str, n: int, seed: int, p: int = 3):
    """X (intercept + uniform covariates), y, trials from the model itself."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.uniform(0, 1, size=(n, p - 1))])
    unit = family.mean_domain.high == 1.0
    beta = np.r_[-1.5 if unit else 1.0, np.full(p - 1, 0.8 / max(p - 1, 1))]
    mu = bg.LINKS[link].inverse(X @ beta)
    trials = None
    match family.name:
        case "gaussian":
            y = rng.normal(mu, 0.5)
        case "bernoulli":
            y = rng.binomial(1, mu).astype(float)
        case "binomial":
            trials = rng.integers(1, 20, size=n).astype(float)
            y = rng.binomial(trials.astype(int), mu).astype(float)
        case "poisson":
            y = rng.poisson(mu).astype(float)
        case "negative_binomial" | "quasipoisson":
            y = rng.negative_binomial(THETA, THETA / (THETA + mu)).astype(float)
        case "quasibinomial":  # overdispersed: beta-binomial with precision 10
            trials = rng.integers(1, 20, size=n).astype(float)
            p = rng.beta(10.0 * mu, 10.0 * (1.0 - mu))
            y = rng.binomial(trials.astype(int), p).astype(float)
        case "gamma":
            y = rng.gamma(4.0, mu / 4.0)
        case "inverse_gaussian":
            y = rng.wald(mu, 10.0)
    return X, y, trials


def _oracle(name: str, link: str, X, y, trials, weights=None):
    endog = y if trials is None else np.column_stack([y, trials - y])
    scale = None
    if not FAMILIES[name].has_likelihood:
        # A quasi-family is statsmodels' poisson / binomial with Pearson's scale; its
        # "X2" scale of a (successes, failures) response leaves the trials out of the
        # Pearson sum, so proportions with the trials as weights go in instead.
        scale = "X2"
        if trials is not None:
            endog, weights = y / trials, trials * (1.0 if weights is None else weights)
    return sm.GLM(endog, X, family=_sm_family(name, link), var_weights=weights).fit(
        tol=1e-13, maxiter=300, scale=scale
    )


def _compare(name: str, link: str, X, y, trials, weights=None, ref=None) -> None:
    family = bg.NegativeBinomial(theta=THETA) if name == "negative_binomial" else name
    ours = bg.fit_mle(X, y, family=family, link=link, trials=trials, weights=weights)
    ref = _oracle(name, link, X, y, trials, weights) if ref is None else ref
    assert ours.converged
    np.testing.assert_array_less(np.abs(ours.params.to_numpy() - ref.params) / ref.bse, 1e-6)
    np.testing.assert_allclose(ours.bse.to_numpy(), ref.bse, rtol=1e-5)
    np.testing.assert_allclose(ours.deviance, ref.deviance, rtol=1e-9)
    np.testing.assert_allclose(ours.pearson_chi2, ref.pearson_chi2, rtol=1e-7)
    if not FAMILIES[name].has_likelihood:
        np.testing.assert_allclose(ours.dispersion, ref.scale, rtol=1e-7)
        np.testing.assert_allclose(ours.tvalues.to_numpy(), ref.tvalues, rtol=1e-5)


PAIR_IDS = [f"{f}-{lk}" for f, lk in PAIRS]


@pytest.mark.parametrize(("name", "link"), PAIRS, ids=PAIR_IDS)
def test_every_pair_agrees_with_statsmodels(name: str, link: str) -> None:
    X, y, trials = simulate(
        FAMILIES[name], link, n=400, seed=zlib.crc32(f"{name}-{link}".encode())
    )
    _compare(name, link, X, y, trials)


@pytest.mark.parametrize(("name", "link"), PAIRS, ids=PAIR_IDS)
def test_every_pair_with_prior_weights_agrees_with_statsmodels(name: str, link: str) -> None:
    """R's prior weights are statsmodels' var_weights (they scale each row's log-likelihood
    without changing the residual degrees of freedom)."""
    seed = zlib.crc32(f"weighted-{name}-{link}".encode())
    X, y, trials = simulate(FAMILIES[name], link, n=400, seed=seed)
    weights = np.random.default_rng(seed).uniform(0.2, 3.0, size=y.size)
    _compare(name, link, X, y, trials, weights=weights)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pair=st.sampled_from(PAIRS),
    n=st.integers(60, 400),
    p=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_well_posed_problems_converge_and_agree(pair, n, p, seed) -> None:
    name, link = pair
    X, y, trials = simulate(FAMILIES[name], link, n=n, seed=seed, p=p)
    assume(_mle_exists(name, y, trials))
    ref = _valid_oracle_fit(name, link, X, y, trials)
    assume(ref is not None)
    _compare(name, link, X, y, trials, ref=ref)


def _valid_oracle_fit(name: str, link: str, X, y, trials):
    """statsmodels' fit, or None where it is no reference: it failed, or its means left
    the family's range (a log-link probability above 1, where the MLE is on the edge)."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = _oracle(name, link, X, y, trials)
    except ValueError:  # statsmodels: "NaN, inf or invalid value detected in weights"
        return None
    return ref if FAMILIES[name].mean_domain.contains_all(ref.fittedvalues) else None


def test_means_that_underflow_to_the_edge_give_statsmodels_pearson_statistic() -> None:
    # A case the random test above once drew: 22 of 60 loglog means underflow to exactly
    # 0 where y = 0, and their Pearson residuals divided 0 by 0 instead of being 0.
    X, y, trials = simulate(FAMILIES["bernoulli"], "loglog", n=60, seed=51, p=3)
    assert (bg.fit_mle(X, y, family="bernoulli", link="loglog").fitted == 0.0).sum() > 0
    _compare("bernoulli", "loglog", X, y, trials)


def _mle_exists(name: str, y: np.ndarray, trials: np.ndarray | None) -> bool:
    """False when every binary outcome is the same (all successes or all failures)."""
    if name not in ("bernoulli", "binomial", "quasibinomial"):
        return True
    successes = y if trials is None else y / trials
    return bool(0 < successes.mean() < 1)


def test_random_problems_rarely_lack_an_mle() -> None:
    """The simulation keeps means inside (0, 1), so ``assume`` above discards (almost)
    nothing: the random test really tests its 25 examples."""
    cases = [(name, seed) for name in ("bernoulli", "binomial") for seed in range(200)]
    kept = 0
    for name, seed in cases:
        link = FAMILIES[name].canonical_link
        _, y, trials = simulate(FAMILIES[name], link, n=60, seed=seed, p=1)
        kept += _mle_exists(name, y, trials)
    assert kept / len(cases) > 0.99
