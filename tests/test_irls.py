"""IRLS behaviour: input checks, aliasing, separation, weights, offsets, solvers."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import xlogy

import bayesglm as bg
from bayesglm.errors import BayesGLMError, ConvergenceWarning, SeparationWarning


def _data(n: int = 100, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    X = np.column_stack([np.ones(n), x])
    eta = 0.3 + x @ np.array([0.5, -0.4])
    return X, rng, eta


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "y", "message"),
    [
        (
            "bernoulli",
            [0, 1, 2, 1],
            r"bernoulli model \(0 or 1\) must be integers in \[0, 1\]; "
            r"1 row\(s\) are not, the first is row 2; got \(y\[2\]=2\.0\)",
        ),
        ("poisson", [0, 1, -1, 1], r"poisson model must be integers in \[0, inf\); .*row 2"),
        (
            "poisson",
            [0, 1.5, 1, 1],
            r"poisson model must be integers .*row 1; got \(y\[1\]=1\.5\)",
        ),
        ("negative_binomial", [0, 1, 2, -3], r"negative_binomial model .*row 3"),
        ("gamma", [1.0, 0.0, 2.0, 3.0], r"gamma model must be \(0, inf\); .*row 1"),
        ("inverse_gaussian", [1.0, 2.0, -2.0, 3.0], r"inverse_gaussian .*row 2"),
    ],
)
def test_response_outside_support_is_refused(family: str, y, message: str) -> None:
    X = np.column_stack([np.ones(4), [1.0, 2.0, 3.0, 4.0]])
    with pytest.raises(BayesGLMError, match=message):
        bg.fit_mle(X, y, family=family)


def test_binomial_needs_trials_and_successes_at_most_trials() -> None:
    X = np.ones((3, 1))
    with pytest.raises(BayesGLMError, match=r"needs the number of trials.*got \(trials=None\)"):
        bg.fit_mle(X, [1, 2, 3], family="binomial")
    with pytest.raises(
        BayesGLMError,
        match=r"successes cannot exceed trials; 1 row\(s\).*row 2; got \(y\[2\]=5\.0, "
        r"trials\[2\]=4\.0\)",
    ):
        bg.fit_mle(X, [1, 2, 5], trials=[4, 4, 4], family="binomial")
    with pytest.raises(BayesGLMError, match=r"trials of a binomial model must be integers"):
        bg.fit_mle(X, [1, 2, 3], trials=[4, -4, 4], family="binomial")
    with pytest.raises(BayesGLMError, match=r"trials= only applies to the binomial"):
        bg.fit_mle(X, [1, 2, 3], trials=[4, 4, 4], family="poisson")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values_are_refused_naming_row_and_column(bad: float) -> None:
    X, rng, eta = _data(10)
    y = rng.poisson(np.exp(eta)).astype(float)
    X_bad = X.copy()
    X_bad[[4, 7], 2] = bad
    with pytest.raises(
        BayesGLMError, match=r"X has 2 NaN or infinite value\(s\).*row 4 of column 'x2'"
    ):
        bg.fit_mle(X_bad, y, family="poisson")
    y_bad = y.copy()
    y_bad[3] = bad
    with pytest.raises(BayesGLMError, match=r"y has 1 NaN or infinite.*row 3"):
        bg.fit_mle(X, y_bad, family="poisson")
    with pytest.raises(BayesGLMError, match=r"offset has 1 NaN or infinite.*row 0"):
        bg.fit_mle(X, y, family="poisson", offset=np.r_[bad, np.zeros(9)])
    with pytest.raises(BayesGLMError, match=r"weights has 1 NaN or infinite.*row 9"):
        bg.fit_mle(X, y, family="poisson", weights=np.r_[np.ones(9), bad])


def test_shapes_weights_names_and_types_are_checked() -> None:
    X, rng, eta = _data(10)
    y = rng.poisson(np.exp(eta))
    with pytest.raises(
        BayesGLMError,
        match=r"y must have one value per row of X \(10\); "
        r"got \(y\.shape=\(9,\)\)",
    ):
        bg.fit_mle(X, y[:9], family="poisson")
    with pytest.raises(BayesGLMError, match=r"X must be 2-D"):
        bg.fit_mle(X[:, 1], y, family="poisson")
    with pytest.raises(
        BayesGLMError, match=r"weights must be >= 0; 1 row\(s\) are negative.*row 5"
    ):
        bg.fit_mle(X, y, family="poisson", weights=np.where(np.arange(10) == 5, -1.0, 1.0))
    with pytest.raises(BayesGLMError, match=r"weights must not all be zero"):
        bg.fit_mle(X, y, family="poisson", weights=np.zeros(10))
    with pytest.raises(BayesGLMError, match=r"names must give one name per column of X \(3\)"):
        bg.fit_mle(X, y, family="poisson", names=["a", "b"])
    with pytest.raises(BayesGLMError, match=r"column names must be unique.*\['a'\]"):
        bg.fit_mle(X, y, family="poisson", names=["a", "b", "a"])
    frame = pd.DataFrame({"Intercept": 1.0, "x": ["1", "2"] * 5})
    with pytest.raises(BayesGLMError, match=r"column 'x' of X is not numeric"):
        bg.fit_mle(frame, y, family="poisson")
    with pytest.raises(BayesGLMError, match=r"y must hold numbers"):
        bg.fit_mle(X, np.array(["1"] * 10), family="poisson")


def test_inputs_are_never_modified() -> None:
    X, rng, eta = _data(50)
    y = rng.binomial(10, 1 / (1 + np.exp(-eta))).astype(float)
    trials = np.full(50, 10.0)
    offset = rng.normal(size=50) * 0.1
    weights = rng.uniform(0.5, 2, size=50)
    frame = pd.DataFrame(X, columns=["Intercept", "a", "b"])
    copies = [a.copy() for a in (X, y, trials, offset, weights)]
    frame_copy = frame.copy()
    fit = bg.fit_mle(frame, y, family="binomial", trials=trials, offset=offset, weights=weights)
    for original, copy in zip((X, y, trials, offset, weights), copies, strict=True):
        np.testing.assert_array_equal(original, copy)
    pd.testing.assert_frame_equal(frame, frame_copy)
    assert list(fit.params.index) == ["Intercept", "a", "b"]


# --- rank deficiency and conditioning ------------------------------------------------


def test_aliased_columns_are_named() -> None:
    X, rng, eta = _data(60)
    X = np.column_stack([X, X[:, 1] + 2 * X[:, 2], np.zeros(60)])
    y = rng.poisson(np.exp(eta))
    with pytest.raises(
        BayesGLMError,
        match=r"rank deficient: column\(s\) 'x3', 'x4' are linear combinations",
    ):
        bg.fit_mle(X, y, family="poisson")


def test_near_collinear_design_uses_qr_and_matches_least_squares() -> None:
    rng = np.random.default_rng(5)
    n = 500
    x1 = rng.normal(size=n)
    x2 = x1 + 1e-8 * rng.normal(size=n)  # condition number about 1e8
    X = np.column_stack([np.ones(n), x1, x2])
    y = 1 + x1 + rng.normal(size=n)
    fit = bg.fit_mle(X, y, family="gaussian")
    reference, *_ = np.linalg.lstsq(X, y, rcond=None)
    assert fit.solver == "qr"
    np.testing.assert_array_less(np.abs(fit.params.to_numpy() - reference) / fit.bse, 1e-6)


# --- separation and convergence -------------------------------------------------------


def test_complete_separation_warns_and_names_the_column() -> None:
    x = np.linspace(-2, 2, 40)
    X = np.column_stack([np.ones(40), x, np.sin(7 * x)])
    y = (x > 0.1).astype(float)
    with pytest.warns(SeparationWarning, match=r"separation.*column\(s\) x1;"):
        fit = bg.fit_mle(X, y, family="bernoulli")
    assert fit.separation == ("x1",)
    assert any("separation" in message for message in fit.warnings)


def test_quasi_complete_separation_is_detected() -> None:
    rng = np.random.default_rng(8)
    group = np.repeat([0.0, 1.0], 30)
    other = rng.normal(size=60)
    X = np.column_stack([np.ones(60), group, other])
    y = np.where(group == 1, 1.0, rng.binomial(1, 0.4, 60))  # group 1: all events
    with pytest.warns(SeparationWarning, match=r"x1"):
        fit = bg.fit_mle(X, y, family="bernoulli", names=["Intercept", "x1", "x2"])
    assert fit.separation == ("x1",)


def test_binomial_separation_with_trials() -> None:
    X = np.column_stack([np.ones(6), [0, 1, 2, 3, 4, 5.0]])
    with pytest.warns(SeparationWarning):
        fit = bg.fit_mle(X, [0, 0, 0, 5, 5, 5], trials=[5] * 6, family="binomial")
    assert fit.separation == ("x1",)


@pytest.mark.parametrize(
    "family", ["poisson", bg.NegativeBinomial(theta=2.0), "negative_binomial"]
)
def test_a_level_with_only_zero_counts_is_reported_as_separation(family) -> None:
    """The log-link MLE does not exist when a direction sends only zero counts to a
    zero mean (Santos Silva and Tenreyro 2010). R's glm() then stops silently at a
    large negative coefficient:
    set.seed(1); x <- rnorm(20); yc <- rpois(20, exp(x)); yc[x < -0.5] <- 0
    glm(yc ~ I(x > -0.5), family = poisson)  # -19.3 (SE 4216), 19.96 (SE 4216)"""
    rng = np.random.default_rng(3)
    level = np.repeat([0.0, 1.0, 0.0], [15, 15, 30])
    other = rng.normal(size=60)
    X = np.column_stack([np.ones(60), level, other])
    y = np.where(level == 1, 0, rng.negative_binomial(2, 2 / (2 + np.exp(1 + 0.3 * other))))
    names = ["Intercept", "empty", "x"]
    with pytest.warns(SeparationWarning, match=r"counts are all zero along column\(s\) empty"):
        fit = bg.fit_mle(X, y, family=family, names=names)
    assert fit.separation == ("empty",)
    assert fit.params["empty"] < -15 and fit.bse["empty"] > 1e3
    assert any("zero counts are separated" in text for text in fit.warnings)


def test_all_zero_counts_are_reported_as_separation() -> None:
    with pytest.warns(SeparationWarning, match="every count is zero"):
        fit = bg.fit_mle(np.ones((8, 1)), np.zeros(8), family="poisson", names=["Intercept"])
    assert fit.separation == ("Intercept",)


def test_zero_counts_under_a_link_with_a_finite_zero_are_not_separation() -> None:
    """Under the sqrt link a zero mean is reached at a finite coefficient: the MLE
    exists on the boundary.
    g <- c(0, 0, 0, 1, 1, 1); y <- c(2, 3, 4, 0, 0, 0)
    glm(y ~ g, family = poisson(link = "sqrt"))  # 1.732051 (SE 0.2887), -1.732032 (0.4082)
    """
    X = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = bg.fit_mle(X, [2, 3, 4, 0, 0, 0], family="poisson", link="sqrt")
    assert fit.separation == ()
    np.testing.assert_allclose(fit.params, [np.sqrt(3), -np.sqrt(3)], rtol=1e-6)


def test_no_separation_on_ordinary_data() -> None:
    X, rng, eta = _data(200)
    y = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    fit = bg.fit_mle(X, y, family="bernoulli")
    assert fit.separation == () and fit.warnings == ()


def test_non_convergence_warns_and_is_recorded() -> None:
    X, rng, eta = _data(100)
    y = rng.gamma(2.0, np.exp(eta) / 2)
    with pytest.warns(ConvergenceWarning, match=r"did not converge in 2 iterations.*max_iter="):
        fit = bg.fit_mle(X, y, family="gamma", link="log", max_iter=2)
    assert not fit.converged
    assert "did NOT converge" in fit.summary()


# --- weights, offsets, trials --------------------------------------------------------


def test_frequency_weights_equal_repeated_rows() -> None:
    X, rng, eta = _data(80)
    y = rng.poisson(np.exp(eta))
    counts = rng.integers(1, 4, size=80)
    weighted = bg.fit_mle(X, y, family="poisson", weights=counts)
    repeated = bg.fit_mle(np.repeat(X, counts, axis=0), np.repeat(y, counts), family="poisson")
    np.testing.assert_allclose(weighted.params, repeated.params, rtol=1e-10)
    np.testing.assert_allclose(weighted.bse, repeated.bse, rtol=1e-10)
    np.testing.assert_allclose(weighted.deviance, repeated.deviance, rtol=1e-10)
    np.testing.assert_allclose(weighted.llf, repeated.llf, rtol=1e-10)


def test_zero_weight_rows_are_left_out() -> None:
    X, rng, eta = _data(80)
    y = rng.normal(eta, 1.0)
    weights = np.where(np.arange(80) % 4 == 0, 0.0, 1.0)
    weighted = bg.fit_mle(X, y, family="gaussian", weights=weights)
    dropped = bg.fit_mle(X[weights > 0], y[weights > 0], family="gaussian")
    np.testing.assert_allclose(weighted.params, dropped.params, rtol=1e-10)
    np.testing.assert_allclose(weighted.bse, dropped.bse, rtol=1e-10)
    assert weighted.df_resid == dropped.df_resid == 60 - 3
    np.testing.assert_allclose(weighted.aic, dropped.aic, rtol=1e-10)


def test_gaussian_weights_are_precision_weights() -> None:
    X, rng, eta = _data(80)
    y = rng.normal(eta, 1.0)
    w = rng.uniform(0.5, 2.0, size=80)
    a = bg.fit_mle(X, y, family="gaussian", weights=w)
    b = bg.fit_mle(X, y, family="gaussian", weights=10 * w)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-10)
    np.testing.assert_allclose(b.dispersion, 10 * a.dispersion, rtol=1e-10)


def test_binomial_trials_match_expanded_bernoulli_rows() -> None:
    X = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
    k, n = np.array([1, 3, 6, 8]), np.array([10, 10, 10, 10])
    grouped = bg.fit_mle(X, k, trials=n, family="binomial", link="probit")
    rows = np.repeat(X, n, axis=0)
    outcome = np.concatenate(
        [np.r_[np.ones(ki), np.zeros(ni - ki)] for ki, ni in zip(k, n, strict=True)]
    )
    expanded = bg.fit_mle(rows, outcome, family="bernoulli", link="probit")
    np.testing.assert_allclose(grouped.params, expanded.params, rtol=1e-9)
    np.testing.assert_allclose(grouped.bse, expanded.bse, rtol=1e-9)


def test_offset_is_a_fixed_coefficient() -> None:
    X, rng, eta = _data(120)
    exposure = rng.uniform(1, 10, size=120)
    y = rng.poisson(exposure * np.exp(eta))
    with_offset = bg.fit_mle(X, y, family="poisson", offset=np.log(exposure))
    free = bg.fit_mle(np.column_stack([X, np.log(exposure)]), y, family="poisson")
    assert with_offset.deviance >= free.deviance - 1e-9
    # The null model keeps the offset: its deviance is that of rate = ybar / mean exposure.
    rate = y.sum() / exposure.sum()
    null = 2 * np.sum(xlogy(y, y / (rate * exposure)) - (y - rate * exposure))
    np.testing.assert_allclose(with_offset.null_deviance, null, rtol=1e-10)


def test_model_without_intercept_uses_the_offset_for_the_null_deviance() -> None:
    X, rng, eta = _data(60)
    y = rng.poisson(np.exp(eta))
    fit = bg.fit_mle(X[:, 1:], y, family="poisson")
    null = 2 * np.sum(xlogy(y, y) - (y - 1))
    np.testing.assert_allclose(fit.null_deviance, null, rtol=1e-12)
    assert fit.df_null == 60


def test_negative_binomial_with_fixed_theta_keeps_it() -> None:
    X, rng, eta = _data(150)
    y = rng.negative_binomial(2.0, 2.0 / (2.0 + np.exp(eta)))
    estimated = bg.fit_mle(X, y, family="negative_binomial")
    fixed = bg.fit_mle(X, y, family=bg.NegativeBinomial(theta=estimated.theta))
    assert fixed.theta == estimated.theta and fixed.theta_se is None
    np.testing.assert_allclose(fixed.params, estimated.params, rtol=1e-8)
    assert 1.0 < estimated.theta < 4.0


# --- results --------------------------------------------------------------------------


def test_summary_reads_like_r() -> None:
    X, rng, eta = _data(50)
    fit = bg.fit_mle(X, rng.gamma(2, np.exp(eta) / 2), family="gamma", link="log")
    text = fit.summary()
    for piece in (
        "t value",
        "Pr(>|t|)",
        "Dispersion parameter for gamma family taken to be",
        "Null deviance:",
        "on 49 degrees of freedom",
        "Residual deviance:",
        "on 47 degrees of freedom",
        "AIC:",
        "Number of Fisher Scoring iterations",
    ):
        assert piece in text
    assert fit.coef_table().shape == (3, 4)


def test_summary_names_a_fixed_theta_and_an_estimated_one() -> None:
    X, rng, eta = _data(80)
    y = rng.negative_binomial(2.0, 2.0 / (2.0 + np.exp(eta)))
    fixed = bg.fit_mle(X, y, family=bg.NegativeBinomial(theta=2.5)).summary()
    estimated = bg.fit_mle(X, y, family="negative_binomial")
    assert "Family: negative_binomial(theta = 2.5, fixed)" in fixed
    assert f"(theta = {estimated.theta:.6g}, SE = {estimated.theta_se:.4g})" in (
        estimated.summary()
    )


def test_residual_types_are_consistent() -> None:
    X, rng, eta = _data(70)
    y = rng.poisson(np.exp(eta))
    fit = bg.fit_mle(X, y, family="poisson")
    np.testing.assert_allclose(np.sum(fit.resid_deviance**2), fit.deviance, rtol=1e-12)
    np.testing.assert_allclose(fit.resid_response, y - fit.fitted)
    np.testing.assert_allclose(fit.resid_working, (y - fit.fitted) / fit.fitted)
    ci = fit.conf_int()
    assert (ci["conf_low"] < fit.params).all() and (fit.params < ci["conf_high"]).all()
    np.testing.assert_allclose(fit.bic - fit.aic, 3 * (np.log(70) - 2))


def test_public_names_are_exported() -> None:
    for name in ("BayesGLMError", "ConvergenceWarning", "SeparationWarning", "fit_mle"):
        assert hasattr(bg, name)
    assert issubclass(bg.BayesGLMError, ValueError)


# --- row-parallel passes ------------------------------------------------------------


@pytest.mark.parametrize("family", ["bernoulli", "poisson", "gamma"])
def test_row_parallel_sweeps_agree_with_one_thread(family, monkeypatch) -> None:
    from threadpoolctl import threadpool_info

    from bayesglm import _rowpass

    X, rng, eta = _data(n=6000, seed=11)
    mean = 1 / (1 + np.exp(-eta)) if family == "bernoulli" else np.exp(eta)
    y = {
        "bernoulli": lambda: rng.binomial(1, mean),
        "poisson": lambda: rng.poisson(mean),
        "gamma": lambda: rng.gamma(3.0, mean / 3.0),
    }[family]()
    weights = rng.integers(0, 3, size=6000).astype(float)  # zero rows cross the ranges
    offset = rng.normal(scale=0.1, size=6000)
    link = "log" if family == "gamma" else None
    kwargs = {"family": family, "link": link, "weights": weights, "offset": offset}
    assert _rowpass.n_threads(*X.shape) == 1
    one = bg.fit_mle(X, y, **kwargs)
    blas_before = [pool["num_threads"] for pool in threadpool_info()]

    monkeypatch.setattr(_rowpass, "_MIN_ELEMENTS_PER_THREAD", 1000)
    monkeypatch.setattr(_rowpass, "_cores", lambda: 3)
    assert _rowpass.n_threads(*X.shape) == 3
    many = bg.fit_mle(X, y, **kwargs)

    np.testing.assert_allclose(many.params, one.params, rtol=0, atol=1e-9 * one.bse.min())
    np.testing.assert_allclose(many.bse, one.bse, rtol=1e-10)
    np.testing.assert_allclose(many.deviance, one.deviance, rtol=1e-12)
    np.testing.assert_allclose(many.dispersion, one.dispersion, rtol=1e-10)
    assert [pool["num_threads"] for pool in threadpool_info()] == blas_before


def test_early_stop_keeps_full_accuracy() -> None:
    """Once steps shrink at a known rate, the fit stops when the next step is bounded
    below the tolerance; the estimates still agree with a much tighter fit."""
    X, rng, eta = _data(n=2000, seed=12)
    y = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    fit = bg.fit_mle(X, y, family="bernoulli")
    tight = bg.fit_mle(X, y, family="bernoulli", tol=1e-30, start=fit.params)
    assert fit.converged and fit.n_iter <= 6
    np.testing.assert_allclose(fit.params, tight.params, rtol=0, atol=1e-9 * fit.bse.min())


@pytest.mark.parametrize(("family", "link"), [("gaussian", None), ("gamma", "log")])
def test_an_exact_response_is_flagged_as_a_perfect_fit(family, link) -> None:
    x = np.arange(1.0, 11.0)
    y = 1 + 2 * x if family == "gaussian" else np.exp(0.1 + 0.2 * x)
    X = np.column_stack([np.ones(10), x])
    with pytest.warns(bg.PerfectFitWarning, match=r"essentially perfect fit.*computed from"):
        fit = bg.fit_mle(X, y, family=family, link=link)
    np.testing.assert_allclose(fit.params, [1, 2] if family == "gaussian" else [0.1, 0.2])
    assert fit.dispersion < 1e-25
    assert fit.llf == np.inf and fit.aic == -np.inf
    assert any("perfect fit" in text for text in fit.warnings)


# The families with a free dispersion and a continuous response (a quasi-family's
# response is counts).
@pytest.mark.parametrize(
    "family", [name for name, f in bg.FAMILIES.items() if f.free_phi and f.natural_param]
)
def test_no_residual_degrees_of_freedom_is_said_and_leaves_nan_as_in_r(family) -> None:
    # y <- c(1.3, 2.7, 0.4); x <- c(1, 2, 4)
    # s <- summary(glm(y ~ x + I(x^2), family = Gamma(link = "log")))
    # s$dispersion; s$coefficients[, 2]  # NaN; NaN NaN NaN (the same for gaussian and
    # inverse.gaussian; R's AIC is then rounding noise or NaN)
    x = np.array([1.0, 2.0, 4.0])
    y = np.array([1.3, 2.7, 0.4])
    X = np.column_stack([np.ones(3), x, x**2])
    with pytest.warns(bg.PerfectFitWarning) as record:
        fit = bg.fit_mle(X, y, family=family, link="log")
    messages = [str(w.message) for w in record]
    assert len(messages) == 1 and "no residual degrees of freedom" in messages[0]
    assert "computed from a predictor" not in messages[0]
    assert fit.warnings == tuple(messages)
    assert fit.df_resid == 0
    np.testing.assert_allclose(fit.fitted, y, rtol=1e-10)
    assert np.isnan(fit.dispersion) and fit.bse.isna().all() and fit.pvalues.isna().all()
    assert np.isnan([fit.llf, fit.aic, fit.bic]).all()


def test_numerical_modules_do_not_steer_by_assert() -> None:
    """``python -O`` strips assert statements, so they must not carry control flow."""
    import ast
    from pathlib import Path

    package = Path(bg.__file__).parent
    modules = ("irls.py", "sweep.py", "normal_equations.py", "fisher_scoring.py", "nb_theta.py")
    for module in (
        *modules,
        "separation.py",
        "mle_assembly.py",
        "mle.py",
        "families.py",
        "links.py",
    ):
        tree = ast.parse((package / module).read_text())
        lines = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
        assert lines == [], f"{module} has assert statements at lines {lines}"


def test_counts_with_means_above_one_are_not_searched_for_separation(monkeypatch) -> None:
    """1 is an edge of probabilities, not of counts: a poisson fit whose means pass 1
    must not run the separation linear program over every row (it took ~25 s and
    1.4 GB for 2e5 x 20 rows when it did)."""
    from bayesglm import separation

    def refuse(*args: object) -> list[str]:
        raise AssertionError("the separation search ran")

    monkeypatch.setattr(separation, "_separated_columns", refuse)
    x = np.linspace(0.0, 2.0, 50)
    y = np.round(np.exp(0.5 + x))  # means from 1.6 to 12
    fit = bg.fit_mle(np.column_stack([np.ones(50), x]), y, family="poisson")
    assert fit.converged and fit.separation == ()


@pytest.mark.parametrize(
    ("family", "link"), [("poisson", "log"), ("bernoulli", "probit"), ("gamma", "inverse")]
)
@pytest.mark.parametrize("start", [False, True])
def test_the_row_pass_in_small_blocks_adds_up_to_one_block_of_all_rows(family, link, start):
    """rows_pass walks the rows a few thousand at a time (bounded temporaries);
    its sums and per-row values are those of one block_pass over every row."""
    from bayesglm.families import resolve
    from bayesglm.sweep import block_pass, rows_pass

    rng = np.random.default_rng(3)
    n = 20_000  # several of rows_pass's blocks, the last one short
    X = np.column_stack([np.ones(n), rng.uniform(-0.5, 0.5, (n, 3))])
    beta = np.array([0.5, 0.2, -0.1, 0.3])
    spec = resolve(family, link)
    mu = spec.link.inverse(X @ beta)
    y = {"poisson": rng.poisson(mu), "bernoulli": rng.uniform(size=n) < mu}.get(
        family, rng.gamma(2.0, mu / 2.0)
    ).astype(float)
    weights = rng.integers(0, 3, n).astype(float)  # some rows inactive
    offset = rng.normal(0.0, 0.01, n)
    given = (X @ beta + offset, spec.link.inverse(X @ beta + offset)) if start else None
    out = tuple(np.empty(n) for _ in range(4))
    blocked = rows_pass(spec, beta, X, y, weights, offset, given, out)
    whole, per_row = block_pass(spec, beta, X, y, weights, offset, given)
    for name in ("gram", "score", "deviance", "pearson", "mean_size", "magnitude"):
        np.testing.assert_allclose(getattr(blocked, name), getattr(whole, name), rtol=1e-12)
    for blocked_rows, whole_rows in zip(out, per_row, strict=True):
        np.testing.assert_array_equal(blocked_rows, whole_rows)
