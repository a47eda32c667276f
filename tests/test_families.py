"""Families: deviance, variance, log-likelihood against scipy and PyMC, resolve()."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from bayesglm.errors import BayesGLMError
from bayesglm.families import FAMILIES, Family, NegativeBinomial, resolve

THETA = 2.5
# A free-theta negative binomial has no variance function; test one with theta set.
ALL_FAMILIES = [
    NegativeBinomial(theta=THETA) if f.name == "negative_binomial" else f
    for f in FAMILIES.values()
]
# The families that are distributions: a quasi-family has a mean and a variance only.
WITH_LIKELIHOOD = [f for f in ALL_FAMILIES if f.has_likelihood]
NATURAL = {"gaussian": 1.7, "gamma": 3.0, "inverse_gaussian": 4.0, "negative_binomial": THETA}


def _means(family: Family) -> np.ndarray:
    domain = family.mean_domain
    if domain.high == 1.0:
        return np.array([1e-6, 0.01, 0.3, 0.5, 0.77, 0.999])
    if domain.low == 0.0:
        return np.array([1e-3, 0.4, 1.0, 3.5, 120.0])
    return np.array([-50.0, -1.0, 0.0, 2.5, 1e3])


def _sample(family: Family, rng: np.random.Generator, n: int = 200):
    """Responses on the user's scale with their trials, means and mean-scale values."""
    mu = rng.choice(_means(family)[1:-1], size=n)
    trials = np.ones(n)
    name = family.name
    if name == "gaussian":
        y = rng.normal(mu, 1.3)
    elif name == "bernoulli":
        y = rng.binomial(1, mu).astype(float)
    elif name == "binomial":
        trials = rng.integers(1, 30, size=n).astype(float)
        y = rng.binomial(trials.astype(int), mu).astype(float)
    elif name == "poisson":
        y = rng.poisson(mu).astype(float)
    elif name == "negative_binomial":
        y = rng.negative_binomial(THETA, THETA / (THETA + mu)).astype(float)
    elif name == "gamma":
        y = rng.gamma(3.0, mu / 3.0)
    elif name == "inverse_gaussian":
        y = rng.wald(mu, 4.0)
    else:  # pragma: no cover - a new family must add its sampler here
        raise AssertionError(f"no sampler for {name}")
    return y, trials, mu


@pytest.mark.parametrize("family", ALL_FAMILIES, ids=str)
def test_unit_deviance_is_zero_at_the_mean_and_positive_elsewhere(family: Family) -> None:
    mu = _means(family)
    np.testing.assert_allclose(family.unit_deviance(mu, mu), 0.0, atol=1e-12)
    y = mu * 0.9 if family.mean_domain.low == 0.0 else mu + 0.3
    assert (family.unit_deviance(y, mu) > 0).all()


@pytest.mark.parametrize("family", ALL_FAMILIES, ids=str)
def test_variance_is_two_over_deviance_curvature(family: Family) -> None:
    for mu in _means(family)[1:-1]:
        h = 1e-3 * (min(mu, 1 - mu) if family.mean_domain.high == 1 else max(abs(mu), 1e-2))
        d = family.unit_deviance
        curvature = (d(mu, mu + h) - 2 * d(mu, mu) + d(mu, mu - h)) / h**2
        np.testing.assert_allclose(family.variance(mu), 2.0 / curvature, rtol=1e-5)


@pytest.mark.parametrize("family", WITH_LIKELIHOOD, ids=str)
def test_deviance_is_twice_the_log_likelihood_ratio(family: Family) -> None:
    rng = np.random.default_rng(1)
    y, trials, mu = _sample(family, rng)
    y_mean = y / trials
    keep = (y_mean > 0) if family.mean_domain.low == 0.0 and family.support.low > 0 else y == y
    natural = NATURAL.get(family.name)
    phi = 1.0 if natural is None else family.phi(natural)
    saturated = family.loglike_obs(y, y_mean, natural, trials=trials)
    fitted = family.loglike_obs(y, mu, natural, trials=trials)
    expected = 2.0 * phi * (saturated - fitted) / trials
    np.testing.assert_allclose(
        family.unit_deviance(y_mean, mu)[keep], expected[keep], rtol=1e-8, atol=1e-10
    )


def _scipy_logpdf(family: Family, y, mu, trials, natural):
    name = family.name
    if name == "gaussian":
        return stats.norm.logpdf(y, mu, natural)
    if name in ("bernoulli", "binomial"):
        return stats.binom.logpmf(y, trials, mu)
    if name == "poisson":
        return stats.poisson.logpmf(y, mu)
    if name == "negative_binomial":
        return stats.nbinom.logpmf(y, natural, natural / (natural + mu))
    if name == "gamma":
        return stats.gamma.logpdf(y, natural, scale=mu / natural)
    if name == "inverse_gaussian":
        return stats.invgauss.logpdf(y, mu / natural, scale=natural)
    raise AssertionError(f"no scipy reference for {name}")  # pragma: no cover


@pytest.mark.parametrize("family", WITH_LIKELIHOOD, ids=str)
def test_loglike_obs_matches_scipy(family: Family) -> None:
    rng = np.random.default_rng(2)
    y, trials, mu = _sample(family, rng)
    natural = NATURAL.get(family.name)
    ours = family.loglike_obs(y, mu, natural, trials=trials)
    np.testing.assert_allclose(ours, _scipy_logpdf(family, y, mu, trials, natural), rtol=1e-10)
    weights = rng.uniform(0.5, 3.0, size=y.shape)
    weighted = family.loglike_obs(y, mu, natural, trials=trials, weights=weights)
    if family.name == "gaussian":  # precision weights: N(mu, sigma^2 / w)
        reference = stats.norm.logpdf(y, mu, natural / np.sqrt(weights))
    else:  # frequency weights
        reference = weights * ours
    np.testing.assert_allclose(weighted, reference, rtol=1e-10)


@pytest.mark.parametrize("family", WITH_LIKELIHOOD, ids=str)
def test_pymc_likelihood_has_the_same_log_density(family: Family) -> None:
    import pymc as pm

    rng = np.random.default_rng(3)
    y, trials, mu = _sample(family, rng, n=50)
    natural = NATURAL.get(family.name)
    name, kwargs = family.pymc_likelihood(mu, natural, trials)
    dist = getattr(pm, name).dist(**kwargs)
    logp = pm.logp(dist, y).eval()
    # pytensor's gammaln is good to about 1e-8 (scipy's to 1e-15): the tolerance
    # checks the parametrization, which would be off by O(1).
    expected = family.loglike_obs(y, mu, natural, trials=trials)
    np.testing.assert_allclose(logp, expected, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("family", WITH_LIKELIHOOD, ids=str)
def test_phi_maps_to_the_variance(family: Family) -> None:
    rng = np.random.default_rng(4)
    natural = NATURAL.get(family.name)
    mu = _means(family)[2]
    y, trials = _sample_at(family, rng, mu, natural)
    phi = 1.0 if natural is None else family.phi(natural)
    expected = phi * family.variance(mu) / np.mean(trials)
    np.testing.assert_allclose(np.var(y / trials), expected, rtol=0.03)
    if family.natural_from_phi(phi) is not None:
        np.testing.assert_allclose(family.natural_from_phi(phi), natural)


def _sample_at(family: Family, rng, mu: float, natural):
    n = 400_000
    trials = np.ones(n)
    name = family.name
    if name == "gaussian":
        y = rng.normal(mu, natural, n)
    elif name == "bernoulli":
        y = rng.binomial(1, mu, n).astype(float)
    elif name == "binomial":
        trials = np.full(n, 10.0)
        y = rng.binomial(10, mu, n).astype(float)
    elif name == "poisson":
        y = rng.poisson(mu, n).astype(float)
    elif name == "negative_binomial":
        y = rng.negative_binomial(natural, natural / (natural + mu), n).astype(float)
    elif name == "gamma":
        y = rng.gamma(natural, mu / natural, n)
    else:
        y = rng.wald(mu, natural, n)
    return y, trials


def test_registry_is_consistent() -> None:
    for name, family in FAMILIES.items():
        assert family.name == name
        assert name == name.lower() and " " not in name
        assert family.canonical_link in family.links
        assert len(set(family.links)) == len(family.links)
        assert resolve(name).link.name == family.canonical_link


@pytest.mark.parametrize(
    ("family", "links"),
    [
        ("gaussian", {"identity", "log", "inverse"}),
        ("binomial", {"logit", "probit", "cauchit", "log", "cloglog"}),
        ("poisson", {"log", "identity", "sqrt"}),
        ("gamma", {"inverse", "identity", "log"}),
        ("inverse_gaussian", {"inverse_squared", "inverse", "identity", "log"}),
        ("negative_binomial", {"log", "sqrt", "identity"}),
        ("quasipoisson", {"log", "identity", "sqrt"}),
        ("quasibinomial", {"logit", "probit", "cauchit", "log", "cloglog"}),
    ],
)
def test_allowed_links_include_rs_set(family: str, links: set[str]) -> None:
    assert links <= set(FAMILIES[family].links)


def test_resolve_rejects_an_impossible_pair_listing_the_allowed_links() -> None:
    with pytest.raises(
        BayesGLMError,
        match=r"the poisson family does not allow the logit link; its links are "
        r"log, identity, sqrt; got \(link='logit'\)\.",
    ):
        resolve("poisson", "logit")


def test_resolve_rejects_unknown_family() -> None:
    with pytest.raises(BayesGLMError, match=r"unknown family; .*got \(family='poison'\)"):
        resolve("poison")


def test_negative_binomial_theta_must_be_positive() -> None:
    with pytest.raises(BayesGLMError, match=r"theta=-1"):
        NegativeBinomial(theta=-1)


def test_bernoulli_deviance_shortcut_matches_the_binomial_formula() -> None:
    rng = np.random.default_rng(7)
    mu = special.expit(rng.normal(scale=12.0, size=2000))  # down to ~1e-15 and up to 1 - 1e-15
    y = (rng.random(2000) < 0.5).astype(float)
    bernoulli, binomial = FAMILIES["bernoulli"], FAMILIES["binomial"]
    np.testing.assert_allclose(
        bernoulli.unit_deviance(y, mu), binomial.unit_deviance(y, mu), rtol=1e-12, atol=1e-14
    )


@pytest.mark.parametrize(
    ("quasi", "base"), [("quasipoisson", "poisson"), ("quasibinomial", "binomial")]
)
def test_a_quasi_family_is_its_base_with_a_free_dispersion_and_no_likelihood(quasi, base) -> None:
    q, b = FAMILIES[quasi], FAMILIES[base]
    mu = _means(b)[1:-1]
    y = mu * 0.9
    np.testing.assert_array_equal(q.variance(mu), b.variance(mu))
    np.testing.assert_array_equal(q.unit_deviance(y, mu), b.unit_deviance(y, mu))
    assert (q.links, q.canonical_link, q.has_trials) == (b.links, b.canonical_link, b.has_trials)
    assert q.free_phi and not b.free_phi
    assert not q.has_likelihood and b.has_likelihood
    assert q.natural_param is None and not q.estimates_natural
    assert np.isnan(q.loglike_obs(y, mu)).all()
    b.check_posterior()  # a likelihood: nothing to refuse
    with pytest.raises(
        BayesGLMError,
        match=rf"the {quasi} family has no posterior: .*"
        rf"got \(family='{quasi}'\)\.",
    ):
        q.check_posterior()
    for refused in (lambda: q.pymc_likelihood(mu), lambda: q.sample(mu, None, 1, None)):
        with pytest.raises(BayesGLMError, match=rf"the {quasi} family has no posterior"):
            refused()


def test_a_quasi_family_allows_a_constant_response() -> None:
    """R: a constant response gives dispersion 0, not an error (there is no natural
    parameter whose likelihood would be unbounded)."""
    FAMILIES["quasipoisson"].check_y(np.full(5, 3.0))
    with pytest.raises(BayesGLMError, match="must vary"):
        FAMILIES["gamma"].check_y(np.full(5, 3.0))


@pytest.mark.parametrize("layout", ["C", "F"])
def test_bernoulli_draws_are_uniforms_below_their_probabilities(layout: str) -> None:
    rng = np.random.default_rng(4)
    p = (
        np.asfortranarray(rng.uniform(size=(300, 40)))
        if layout == "F"
        else rng.uniform(size=(300, 40))
    )
    p.flat[:6] = [0.0, 1.0, 5e-324, np.nextafter(1.0, 0.0), 0.5, 1e-17]
    drawn = FAMILIES["bernoulli"].sample(p, None, None, np.random.default_rng(9))
    uniforms = np.random.default_rng(9).random(p.shape)
    assert drawn.shape == p.shape and drawn.dtype == np.float64
    assert np.array_equal(drawn, (uniforms < p).astype(float))
    assert drawn.flat[0] == 0.0 and drawn.flat[1] == 1.0


@pytest.mark.parametrize("prob", [0.001, 0.3, 0.5, 0.97])
def test_bernoulli_draws_have_their_probability(prob: float) -> None:
    n = 400_000
    drawn = FAMILIES["bernoulli"].sample(np.full(n, prob), None, None, np.random.default_rng(2))
    assert set(np.unique(drawn)) <= {0.0, 1.0}
    # The count of events is binomial(n, prob): within 5 standard deviations.
    assert stats.binom.cdf(drawn.sum(), n, prob) > 3e-7
    assert stats.binom.sf(drawn.sum() - 1, n, prob) > 3e-7


@pytest.mark.parametrize("bad", [-0.1, 1.5, np.nan])
def test_a_bernoulli_probability_outside_zero_one_is_refused(bad: float) -> None:
    p = np.array([0.2, bad, 0.7])
    with pytest.raises(ValueError, match=r"bernoulli probability must lie in \[0, 1\]; got"):
        FAMILIES["bernoulli"].sample(p, None, None, np.random.default_rng(0))
