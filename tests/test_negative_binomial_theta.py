"""Maximum-likelihood theta of the negative binomial, against statsmodels' MLE.

statsmodels' ``NegativeBinomial`` (NB2) maximizes the joint likelihood of the
coefficients and alpha = 1/theta directly, a route independent of our alternation.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import statsmodels.api as sm

import bayesglm as bg
from bayesglm.errors import BayesGLMError, ConvergenceWarning
from bayesglm.nb_theta import THETA_MAX

from .conftest import R_GLM_DIR


def _barely_overdispersed(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """400 counts with log mean 1 + x/2 and theta = 300."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=400)
    mu = np.exp(1.0 + 0.5 * x)
    return np.column_stack([np.ones(400), x]), rng.negative_binomial(300, 300 / (300 + mu))


def _statsmodels_mle(X: np.ndarray, y: np.ndarray):
    model = sm.NegativeBinomial(y, X, loglike_method="nb2")
    return model.fit(method="bfgs", gtol=1e-9, maxiter=2000, disp=0)


# MASS::glm.nb(y ~ x) on these data (written out by numpy) gives theta 85.6450828,
# 60.31636705 and 135.4257568 (R 4.2.2, MASS 7.3.58.2).
@pytest.mark.parametrize("seed", [0, 1, 6])
def test_theta_is_found_for_barely_overdispersed_counts(seed: int) -> None:
    X, y = _barely_overdispersed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit = bg.fit_mle(X, y, family="negative_binomial")
    oracle = _statsmodels_mle(X, y)
    assert oracle.mle_retvals["converged"]
    np.testing.assert_allclose(fit.theta, 1.0 / oracle.params[-1], rtol=1e-6)
    np.testing.assert_allclose(fit.params, oracle.params[:-1], rtol=1e-7)
    assert fit.llf >= oracle.llf - 1e-9
    assert fit.converged and 0 < fit.theta_se < np.inf


def _profile(X: np.ndarray, y: np.ndarray, thetas) -> np.ndarray:
    """The log-likelihood with the coefficients refitted at each fixed theta."""
    return np.array([bg.fit_mle(X, y, family=bg.NegativeBinomial(theta=t)).llf for t in thetas])


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param(lambda: _barely_overdispersed(3), id="theta-300-seed-3"),
        pytest.param(
            lambda: (
                np.column_stack([np.ones(200), np.linspace(-1, 1, 200)]),
                np.random.default_rng(4).binomial(8, 0.5, size=200),
            ),
            id="underdispersed-binomial-counts",
        ),
    ],
)
def test_theta_is_held_only_where_the_profile_rises_to_the_poisson_limit(counts) -> None:
    X, y = counts()
    with pytest.warns(ConvergenceWarning, match="no finite maximum-likelihood estimate"):
        fit = bg.fit_mle(X, y, family="negative_binomial")
    assert fit.theta == THETA_MAX and fit.theta_se == np.inf
    assert any("no finite maximum" in text for text in fit.warnings)
    profile = _profile(X, y, [0.3, 3.0, 30.0, 300.0, 3e3, 3e4, 3e5])
    poisson = bg.fit_mle(X, y, family="poisson")
    assert (np.diff(profile) > 0).all() and profile[-1] < fit.llf <= poisson.llf
    np.testing.assert_allclose(fit.params, poisson.params, rtol=1e-4)


def test_an_unsettled_theta_is_not_reported_as_converged() -> None:
    """The alternation between theta and the coefficients has its own stopping rule;
    running out of alternations is a convergence failure, not a converged fit."""
    case = json.loads((R_GLM_DIR / "negative_binomial_sqrt_quine.json").read_text())
    X, y = np.asarray(case["X"]), np.asarray(case["y"])
    full = bg.fit_mle(X, y, family="negative_binomial", link="sqrt")
    with pytest.warns(ConvergenceWarning, match="did not settle in 4 alternations"):
        short = bg.fit_mle(X, y, family="negative_binomial", link="sqrt", max_iter=4)
    assert full.converged and not short.converged
    assert abs(short.theta / full.theta - 1) > 1e-8


def test_all_zero_counts_are_refused_when_theta_is_estimated() -> None:
    X = np.column_stack([np.ones(10), np.arange(10.0)])
    with pytest.raises(BayesGLMError, match=r"needs a positive count.*got \(y=0 in all 10"):
        bg.fit_mle(X, np.zeros(10), family="negative_binomial")


def test_a_single_positive_count_has_a_finite_theta() -> None:
    """Nine zeros and a 5: heavy overdispersion about the mean 0.5 (MASS's theta.ml
    stops with an error here)."""
    from scipy import optimize, stats

    y = np.r_[np.zeros(9), 5.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = bg.fit_mle(np.ones((10, 1)), y, family="negative_binomial")

    def minus_loglik(log_theta: float) -> float:
        theta = np.exp(log_theta)
        return -stats.nbinom.logpmf(y, theta, theta / (theta + 0.5)).sum()

    best = optimize.minimize_scalar(
        minus_loglik, bounds=(-10, 10), method="bounded", options={"xatol": 1e-10}
    )
    np.testing.assert_allclose(fit.fitted, 0.5, rtol=1e-12)
    np.testing.assert_allclose(fit.theta, np.exp(best.x), rtol=1e-6)
    np.testing.assert_allclose(fit.llf, -best.fun, rtol=1e-10)


# 100 counts with mean 200.01 and a variance just above it: the maximum of theta's
# likelihood is finite but near 2e6. With m <- mean(y), R's
# sum(dnbinom(y, size = theta, mu = m, log = TRUE)) for theta = 1e6, 2e6, 1e7 is
# -406.904549259069, -406.904549010710, -406.904549170002; the Poisson limit,
# sum(dpois(y, m, log = TRUE)), is -406.904549259550; MASS::theta.ml diverges.
BARELY_OVERDISPERSED = np.array(
    (
        "201 164 201 201 208 215 207 216 189 206 204 203 204 178 204 199 225 194 202 195 185 "
        "176 210 217 192 198 189 196 174 189 190 200 193 199 229 208 198 194 182 215 196 184 "
        "194 204 207 207 225 215 192 189 213 183 203 211 189 209 233 200 209 195 194 174 189 "
        "225 213 195 199 210 190 214 189 214 220 217 181 207 195 203 182 198 191 205 201 232 "
        "199 185 172 178 214 221 221 171 214 199 204 207 198 177 186 209 "
    ).split(),
    dtype=float,
)


def test_a_maximum_beyond_the_cap_is_not_called_missing() -> None:
    y = BARELY_OVERDISPERSED
    with pytest.warns(ConvergenceWarning, match=r"estimate above 1e\+06") as record:
        fit = bg.fit_mle(np.ones((100, 1)), y, family="negative_binomial", names=["Intercept"])
    assert not any("no finite maximum" in str(w.message) for w in record)
    assert fit.theta == THETA_MAX
    np.testing.assert_allclose(fit.fitted, y.mean(), rtol=1e-12)


def _quadratic_slopes(root: float, curvature: float):
    """A score in log(theta) with a maximum at ``root`` (a concave quartic's slope,
    convex far from the root, so Newton alone would overshoot there)."""
    from bayesglm.nb_theta import _Slopes

    def slopes(t: float) -> _Slopes:
        d = t - root
        return _Slopes(-curvature * d - d**3, -curvature - 3 * d**2, 1.0, False)

    return slopes


@pytest.mark.parametrize("start", [-15.0, -3.0, 0.4, 2.0, 11.0])
@pytest.mark.parametrize("root", [-5.0, 0.3, 7.5])
def test_the_theta_search_finds_the_root_of_the_score_from_anywhere(start, root) -> None:
    from scipy import optimize

    from bayesglm.nb_theta import _score_root

    slopes = _quadratic_slopes(root, 0.5)
    low, high = np.log(1e-8), np.log(1e6)
    t_hat, _ = _score_root(slopes, start, low, high)
    expected = optimize.brentq(lambda t: slopes(t).score, low, high, xtol=1e-15)
    assert abs(t_hat - expected) < 1e-12


def test_the_theta_search_says_when_the_likelihood_rises_to_either_end() -> None:
    from bayesglm.nb_theta import _score_root

    low, high = np.log(1e-8), np.log(1e6)
    assert _score_root(_quadratic_slopes(30.0, 0.5), 1.0, low, high)[0] is None
    with pytest.raises(BayesGLMError, match="keeps rising as theta falls"):
        _score_root(_quadratic_slopes(-30.0, 0.5), 1.0, low, high)


def test_theta_takes_a_few_passes_over_dask_rows() -> None:
    """Each Newton step of the theta search is one pass for the score and its slope
    (a bracket search and Brent's method took 80 passes for this fit; this search, 45,
    one of them for the table of distinct counts)."""
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    import bayesglm.chunked_design as chunked

    rng = np.random.default_rng(1)
    n = 20_000
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 4))])
    mu = np.exp(X @ np.array([0.5, 0.2, -0.1, 0.3, 0.0]))
    y = rng.negative_binomial(2.0, 2.0 / (2.0 + mu)).astype(float)
    passes = []
    pass_over_rows = chunked._map_reduce

    def counted(*args, **kwargs):
        passes.append(1)
        return pass_over_rows(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch, dask.config.set(scheduler="synchronous"):
        patch.setattr(chunked, "_map_reduce", counted)
        fit = bg.fit_mle(
            da.from_array(X, chunks=(5_000, -1)),
            da.from_array(y, chunks=5_000),
            family="negative_binomial",
        )
    memory = bg.fit_mle(X, y, family="negative_binomial")
    assert fit.theta == pytest.approx(memory.theta, rel=1e-12)
    assert len(passes) <= 50
