"""Marginal effects (bayesglm.marginal) against references nobody here wrote.

statsmodels' ``get_margeff(at="overall")`` for average slopes with delta-method
standard errors, the marginaleffects package on a statsmodels formula fit for
comparisons, ratios, groups and transformed predictors, closed forms for the
derivative of the design matrix, the posterior against the MLE (Bernstein–von
Mises), and the draw-wise averages against the plain computation on the draws.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

import bayesglm as bg
from bayesglm import marginal
from bayesglm.errors import BayesGLMError, DomainWarning, SamplingWarning
from bayesglm.rounding import with_uncertainty

# --- statsmodels get_margeff: average slopes and delta-method SEs ----------------------


def _array_data(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.uniform(-1, 1, size=n)])
    return rng, X, X @ [0.2, 0.7, -0.5]


@pytest.mark.parametrize(
    ("model", "family", "link", "draw"),
    [
        (sm.Logit, "bernoulli", "logit", lambda rng, eta: rng.binomial(1, 1 / (1 + np.exp(-eta)))),
        (sm.Probit, "bernoulli", "probit", lambda rng, eta: rng.binomial(1, stats.norm.cdf(eta))),
        (sm.Poisson, "poisson", "log", lambda rng, eta: rng.poisson(np.exp(eta))),
    ],
    ids=["logit", "probit", "poisson"],
)
def test_average_slopes_match_statsmodels_get_margeff(model, family, link, draw) -> None:
    rng, X, eta = _array_data(3)
    y = draw(rng, eta)
    reference = model(y, X).fit(disp=0)
    margeff = reference.get_margeff(at="overall", method="dydx")
    ours = bg.fit_mle(X, y, family=family, link=link, names=["Intercept", "x1", "x2"])
    np.testing.assert_allclose(ours.params, reference.params, rtol=1e-7)
    # The mechanism with statsmodels' own covariance: its Probit uses the observed
    # information, R's glm() (and so the MLEResult) the expected one, which differ
    # for a link that is not canonical.
    method = marginal.DeltaMethod(
        reference.params, reference.cov_params(), ours.link, 1.96, "statsmodels' covariance"
    )
    slopes = marginal.avg_slopes(ours.design, ours.family, method, 0.95)
    assert slopes["term"].tolist() == ["x1", "x2"]
    np.testing.assert_allclose(slopes["estimate"], margeff.margeff, rtol=1e-6)
    np.testing.assert_allclose(slopes["std_error"], margeff.margeff_se, rtol=1e-4)
    if link != "probit":  # canonical links: observed and expected information are equal
        table = ours.avg_slopes()
        np.testing.assert_allclose(table["std_error"], margeff.margeff_se, rtol=1e-4)
        np.testing.assert_allclose(table["conf_low"], margeff.conf_int()[:, 0], rtol=1e-4)
        np.testing.assert_allclose(table["conf_high"], margeff.conf_int()[:, 1], rtol=1e-4)


# --- the marginaleffects package on a statsmodels formula fit --------------------------


@pytest.fixture(scope="module")
def me():
    """marginaleffects 0.6, made to run with polars 2 (test-only): it asks polars for
    two things polars 2 removed (``is_in`` of floats in a list of ints, and
    ``cat.get_categories``); both are answered as polars 1 did. Our code is untouched."""
    import marginaleffects
    import polars as pl
    from marginaleffects.sanitize import utils, validation
    from polars.series.categorical import CatNameSpace

    original = utils.get_type_dictionary

    def types(formula=None, modeldata=None):
        floats = [c for c, t in modeldata.schema.items() if t in (pl.Float32, pl.Float64)]
        found = original(formula, modeldata.drop(floats))
        for column in floats:
            values = modeldata[column]
            binary = ((values == 0.0) | (values == 1.0)).all()
            found[column] = "binary" if binary else "numeric"
        return found

    def categories(self):
        dtype = self._s.dtype
        if isinstance(dtype, pl.Enum):
            return pl.Series(dtype.categories)
        return pl.wrap_s(self._s).unique().sort().cast(pl.String)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validation, "get_type_dictionary", types)
        patch.setattr(CatNameSpace, "get_categories", categories, raising=False)
        yield marginaleffects


FORMULA = "y ~ x + I(x**2) + z * C(g)"


@pytest.fixture(scope="module")
def logistic():
    rng = np.random.default_rng(1)
    n = 500
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "g": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        }
    )
    eta = -0.3 + 0.8 * df.x - 0.5 * df.z + np.where(df.g == "b", 0.7, 0) + 0.3 * df.x**2
    df["y"] = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    reference = smf.glm(FORMULA, df, family=sm.families.Binomial()).fit()
    return df, reference, bg.GLM(FORMULA, df, family="bernoulli").fit_mle()


def _frame(result) -> pd.DataFrame:
    return result.to_polars().to_pandas()


def _agree(ours: pd.DataFrame, theirs: pd.DataFrame, slopes=False, intervals=True):
    """Comparisons to 1e-9 (both sides exact), SEs to 1e-4 (a numerical Jacobian there).
    For slopes marginaleffects differentiates twice by finite differences (eps 1e-4):
    estimates to 1e-6, SEs to 1e-3 (ours are checked exactly in
    test_slope_standard_errors_equal_a_closed_form_gradient)."""
    rtol = (1e-6, 1e-3) if slopes else (1e-9, 1e-4)
    np.testing.assert_allclose(ours["estimate"], theirs["estimate"], rtol=rtol[0])
    np.testing.assert_allclose(ours["std_error"], theirs["std_error"], rtol=rtol[1])
    if intervals:
        for end in ("conf_low", "conf_high"):
            np.testing.assert_allclose(ours[end], theirs[end], rtol=rtol[1], atol=1e-9)


def test_comparisons_match_marginaleffects(me, logistic) -> None:
    """Factor levels against the reference and +1 (centred) for numbers, with x in
    two columns (x and I(x**2)) and z in an interaction with C(g)."""
    _, reference, ours = logistic
    theirs = _frame(me.avg_comparisons(reference))
    table = ours.avg_comparisons()
    assert list(table[["term", "contrast"]].itertuples(index=False, name=None)) == [
        ("g", "b - a"),
        ("g", "c - a"),
        ("x", "+1"),
        ("z", "+1"),
    ]
    assert table[["term", "contrast"]].equals(theirs[["term", "contrast"]])
    _agree(table, theirs)


def test_sd_steps_and_given_values_match_marginaleffects(me, logistic) -> None:
    _, reference, ours = logistic
    for spec in ("sd", [-1.0, 2.0]):
        theirs = _frame(me.avg_comparisons(reference, variables={"x": spec}))
        _agree(ours.avg_comparisons({"x": spec}), theirs)
    theirs = _frame(me.avg_comparisons(reference, variables={"g": ["c", "b"]}))
    table = ours.avg_comparisons({"g": ["c", "b"]})
    assert table["contrast"].tolist() == ["b - c"]
    _agree(table, theirs)


def test_ratios_match_marginaleffects_ratio_of_averages(me, logistic) -> None:
    _, reference, ours = logistic
    theirs = _frame(me.avg_comparisons(reference, variables="g", comparison="ratioavg"))
    table = ours.avg_comparisons("g", comparison="ratio")
    assert table["contrast"].tolist() == ["b / a", "c / a"]
    _agree(table, theirs)


def test_slopes_match_marginaleffects(me, logistic) -> None:
    """marginaleffects differentiates by a finite difference (eps 1e-4): estimates
    agree to its accuracy."""
    _, reference, ours = logistic
    theirs = _frame(me.avg_slopes(reference, variables=["x", "z"]))
    table = ours.avg_slopes()
    assert table["term"].tolist() == ["x", "z"]
    _agree(table, theirs, slopes=True)


def test_groups_match_marginaleffects(me, logistic) -> None:
    _, reference, ours = logistic
    theirs = _frame(me.avg_predictions(reference, by="g"))
    table = ours.avg_predictions(by="g")
    assert table["g"].tolist() == ["a", "b", "c"]
    _agree(table, theirs)
    theirs = _frame(me.avg_comparisons(reference, variables="x", by="g"))
    _agree(ours.avg_comparisons("x", by="g"), theirs)
    theirs = _frame(me.avg_slopes(reference, variables="z", by="g"))
    _agree(ours.avg_slopes("z", by="g"), theirs, slopes=True)


def test_gamma_log_model_matches_marginaleffects(me) -> None:
    """A family with a free dispersion: the covariance scales with Pearson's φ (R's
    and statsmodels' alike); our interval uses t quantiles (as conf_int), theirs z."""
    rng = np.random.default_rng(5)
    n = 300
    df = pd.DataFrame(
        {"x": rng.uniform(0, 2, n), "w": rng.normal(size=n), "s": rng.integers(0, 2, n)}
    )
    mu = np.exp(0.5 + 0.4 * df.x - 0.2 * df.w + 0.1 * df.x * df.w + 0.3 * df.s)
    df["y"] = rng.gamma(4.0, mu / 4.0)
    formula = "y ~ x * w + s"
    reference = smf.glm(formula, df, family=sm.families.Gamma(sm.families.links.Log())).fit()
    ours = bg.GLM(formula, df, family="gamma", link="log").fit_mle()
    comparisons = ours.avg_comparisons()
    assert comparisons["contrast"].tolist() == ["1 - 0", "+1", "+1"]  # s is 0/1: s = 1 vs 0
    _agree(comparisons, _frame(me.avg_comparisons(reference)), intervals=False)
    # marginaleffects answers a slope of a 0/1 column with its 1 - 0 contrast; ours is
    # the derivative, so the slopes compared are those of x and w.
    theirs = _frame(me.avg_slopes(reference, variables=["w", "x"]))
    _agree(ours.avg_slopes(["w", "x"]), theirs, True, intervals=False)
    _agree(ours.avg_predictions(), _frame(me.avg_predictions(reference)), intervals=False)
    q = stats.t.ppf(0.975, ours.df_resid)
    table = ours.avg_slopes(["w", "x"])
    np.testing.assert_allclose(table["conf_high"] - table["estimate"], q * table["std_error"])


# --- the derivative of the design matrix: closed forms -------------------------------------


def test_slope_standard_errors_equal_a_closed_form_gradient(logistic) -> None:
    """z's slope among rows with g = c is mean(p(1 - p)) (beta_z + beta_z:c); its
    gradient in beta, by central differences of that closed form, gives the SE."""
    df, _, ours = logistic
    names, X, rows = ours.names, ours.design.X, (df.g == "c").to_numpy()
    z, zc = names.index("z"), names.index("z:C(g)[T.c]")

    def slope(beta):
        p = 1 / (1 + np.exp(-(X @ beta)))
        return np.mean((p * (1 - p))[rows]) * (beta[z] + beta[zc])

    beta, h = ours.params_array, 1e-6
    grad = np.array([(slope(beta + e) - slope(beta - e)) / (2 * h) for e in h * np.eye(beta.size)])
    se = np.sqrt(grad @ ours.cov_params.to_numpy() @ grad)
    table = ours.avg_slopes("z", by="g").iloc[2]
    assert table["estimate"] == pytest.approx(slope(beta), rel=1e-10)
    assert table["std_error"] == pytest.approx(se, rel=1e-7)


def test_slopes_through_transformed_columns_equal_their_closed_forms() -> None:
    """x + I(x**2): exact (dη/dx = β1 + 2β2 x, the wide step); log(x): the narrow
    finite difference, 1/x to about 1e-9."""
    rng = np.random.default_rng(2)
    n = 200
    df = pd.DataFrame({"x": rng.uniform(0.5, 3, n)})
    df["y"] = 1 + 2 * df.x - 0.5 * df.x**2 + np.log(df.x) + rng.normal(0, 0.3, n)
    fit = bg.GLM("y ~ x + I(x**2) + np.log(x)", df, family="gaussian").fit_mle()
    b = fit.params
    exact = np.mean(b["x"] + 2 * b["I(x ** 2)"] * df.x + b["np.log(x)"] / df.x)
    assert fit.avg_slopes()["estimate"].iloc[0] == pytest.approx(exact, rel=1e-9)
    quadratic = bg.GLM("y ~ x + I(x**2)", df, family="gamma", link="log").fit_mle()
    b = quadratic.params
    eta = b["Intercept"] + b["x"] * df.x + b["I(x ** 2)"] * df.x**2
    exact = np.mean(np.exp(eta) * (b["x"] + 2 * b["I(x ** 2)"] * df.x))
    assert quadratic.avg_slopes()["estimate"].iloc[0] == pytest.approx(exact, rel=1e-12)


def test_spline_slopes_equal_differences_of_predict_to_the_ends_of_the_data() -> None:
    """bs(x): the basis is not defined past the training values, so rows at the ends
    take one-sided differences; the average equals differences of predict() itself."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.uniform(0, 3, 300)})
    df["y"] = rng.poisson(np.exp(np.sin(df.x)))
    fit = bg.GLM("y ~ bs(x, df=4)", df, family="poisson").fit_mle()
    x, h = df.x.to_numpy(), 1e-5
    low, high = np.clip(x - h, x.min(), x.max()), np.clip(x + h, x.min(), x.max())
    rise = fit.predict(df.assign(x=high))["estimate"] - fit.predict(df.assign(x=low))["estimate"]
    expected = np.mean(rise.to_numpy() / (high - low))
    assert fit.avg_slopes()["estimate"].iloc[0] == pytest.approx(expected, rel=1e-6)


# --- the fast paths against the formula's rebuild --------------------------------------


@pytest.fixture(scope="module")
def mixed_formula():
    """Every kind of term: plain numeric columns (w, and u of integers, each read once
    as itself), a square, an interaction, a spline, a factor and a boolean; a
    Laplace posterior and the MLE."""
    from .laplace_fit import laplace_fit

    rng = np.random.default_rng(12)
    n = 240
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "v": rng.uniform(0, 3, n),
            "w": rng.normal(5, 2, n),
            "u": rng.integers(0, 6, n),
            "g": rng.choice(["a", "b", "c"], n),
            "b": rng.random(n) < 0.4,
        }
    )
    eta = 0.2 + 0.5 * df.x - 0.2 * df.x**2 + 0.3 * df.x * df.z + np.sin(df.v) - 0.1 * df.w
    df["y"] = rng.binomial(1, 1 / (1 + np.exp(-(eta + 0.1 * df.u + 0.4 * (df.g == "b")))))
    formula = "y ~ x + I(x**2) + x:z + z + bs(v, df=4) + w + u + C(g) + b"
    fit = laplace_fit(bg.GLM(formula, df, family="bernoulli"), seed=5, chains=2, draws=300)
    return df, fit


def _tables(fit) -> list[pd.DataFrame]:
    """Every table kind, on the posterior and on the MLE (comparisons without the
    spline's predictor: a step of 1 takes rows past its basis's training range)."""
    moved = ["x", "z", "w", "u", "g", "b"]
    spec = {"w": "sd", "u": [0, 3], "x": [-1.0, 1.0], "g": ["b", "c"]}
    return [
        table
        for result in (fit, fit.mle)
        for table in (
            result.avg_slopes(),
            result.avg_slopes(by="g"),
            result.avg_comparisons(moved),
            result.avg_comparisons(spec, comparison="ratio", by="b"),
            result.avg_predictions(by="g"),
        )
    ]


def test_plain_columns_are_found_and_nothing_else(mixed_formula) -> None:
    from bayesglm.formula import linear_columns

    _, fit = mixed_formula
    assert linear_columns(fit.design.formula) == {"w": "w", "u": "u"}


def test_the_fast_paths_give_the_tables_of_the_formulas_rebuild(mixed_formula, monkeypatch):
    """A plain column moved in place, every slope and every mean of a table in one
    pass: the same numbers as each predictor's matrices rebuilt by the formula and
    each part computed on its own (``linear_columns`` found nothing: the path every
    predictor took before)."""
    from bayesglm import formula

    _, fit = mixed_formula
    fast = _tables(fit)
    monkeypatch.setattr(formula, "linear_columns", lambda state: {})
    rebuilt = _tables(fit)
    numbers = ["estimate", "conf_low", "conf_high", "std_error"]
    for ours, reference in zip(fast, rebuilt, strict=True):
        assert ours.drop(columns=numbers, errors="ignore").equals(
            reference.drop(columns=numbers, errors="ignore")
        )
        for column in [c for c in numbers if c in ours]:
            np.testing.assert_allclose(ours[column], reference[column], rtol=1e-12, atol=1e-15)


def test_a_plain_columns_derivative_and_move_equal_the_rebuild(mixed_formula) -> None:
    _, fit = mixed_formula
    rows = marginal.Rows(fit.design, marginal.eta_range(fit.spec.family, fit.spec.link))
    general = marginal.Rows(fit.design, rows.valid)
    general.linear = {}
    everything = slice(0, rows.n)
    for column in ("w", "u"):
        np.testing.assert_allclose(
            rows.derivative(everything, column),
            general.derivative(everything, column),
            rtol=0,
            atol=1e-12,
        )
        change = marginal.Change(column, lambda x: x + 0.5)
        np.testing.assert_array_equal(
            rows.matrix(everything, change), general.matrix(everything, change)
        )


@pytest.mark.parametrize("batch_rows", [40, 10_000])
def test_rows_moved_in_one_stacked_evaluation_equal_one_rebuild_each(
    mixed_formula, monkeypatch, batch_rows
) -> None:
    """The shifted copies of a predictor are built by one evaluation of the formula
    on them stacked, in batches of up to ``batch_rows`` rows (two copies of about 15
    rows, or all four): each equals the matrix built from its own rows alone."""
    _, fit = mixed_formula
    rows = marginal.Rows(fit.design, marginal.eta_range(fit.spec.family, fit.spec.link))
    monkeypatch.setattr(marginal, "_STACKED_ELEMENTS", batch_rows * fit.design.p)
    block = np.arange(10, 40)
    rng = np.random.default_rng(0)
    wanted = [(rng.random(block.size) < 0.5, shift) for shift in (0.01, -0.01, 1e-5, 2e-5)]
    for column in ("x", "z", "v"):
        moved = list(rows._moved(block, column, wanted))
        for (index, shift), matrix in zip(wanted, moved, strict=True):
            expected = rows.matrix(block[index], marginal.Change(column, lambda x, s=shift: x + s))
            np.testing.assert_allclose(matrix, expected, rtol=1e-15, atol=1e-15)


def test_array_models_move_one_column_by_name() -> None:
    rng, X, eta = _array_data(4, 100)
    y = rng.poisson(np.exp(eta))
    fit = bg.fit_mle(X, y, family="poisson", names=["Intercept", "x1", "x2"])
    b = fit.params_array
    table = fit.avg_comparisons({"x2": [0.0, 1.0]})
    expected = np.mean(np.exp(X[:, :2] @ b[:2] + b[2]) - np.exp(X[:, :2] @ b[:2]))
    assert table["estimate"].iloc[0] == pytest.approx(expected, rel=1e-12)
    assert fit.avg_slopes()["term"].tolist() == ["x1", "x2"]
    assert fit.avg_predictions()["estimate"].iloc[0] == pytest.approx(np.mean(y), rel=1e-9)


def test_offsets_count_in_each_rows_mean() -> None:
    """Predictions are of each row's mean at its own exposure, as predict() gives it."""
    rng = np.random.default_rng(6)
    n = 150
    df = pd.DataFrame({"x": rng.normal(size=n), "t": rng.uniform(1, 5, n)})
    df["y"] = rng.poisson(df.t * np.exp(0.3 + 0.5 * df.x))
    fit = bg.GLM("y ~ x", df, family="poisson", exposure="t").fit_mle()
    assert fit.avg_predictions()["estimate"].iloc[0] == pytest.approx(
        fit.predict()["estimate"].mean(), rel=1e-12
    )


def test_means_the_model_does_not_define_give_nan_with_a_warning() -> None:
    """poisson(identity): moving x to -1 makes negative linear predictors, where
    predict() gives NaN; so does the average."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.uniform(0, 3, 100)})
    df["y"] = rng.poisson(0.2 + 2 * df.x)
    fit = bg.GLM("y ~ x", df, family="poisson", link="identity").fit_mle()
    with pytest.warns(DomainWarning, match=r"1 of 1 row\(s\) of the table are NaN"):
        table = fit.avg_comparisons({"x": [-1.0, 2.0]})
    assert table[["estimate", "std_error", "conf_low"]].isna().all(axis=None)
    assert np.isfinite(fit.avg_comparisons({"x": [0.0, 2.0]})["estimate"]).all()


def test_a_diverged_mle_says_so_instead_of_blaming_the_links_range() -> None:
    """Separated outcomes: the MLE diverges and its covariance is NaN, so the tables
    have estimates without intervals; the warning names the separation (the logit
    link defines a mean for every eta, so the range is not the reason)."""
    x = np.linspace(-2, 2, 40)
    model = bg.GLM.from_arrays(
        np.column_stack([np.ones(40), x]),
        (x > 0.1).astype(float),
        family="bernoulli",
        names=["Intercept", "x"],
    )
    with pytest.warns(bg.SeparationWarning):
        fit = model.fit_mle()
    tables = []
    for call in (fit.avg_predictions, fit.avg_comparisons, fit.avg_slopes):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tables.append(table := call())
        assert [w.category for w in caught] == [bg.SeparationWarning]
        message = str(caught[0].message)
        assert "1 of 1 row(s) of the table have no standard error or interval" in message
        assert "the maximum-likelihood fit diverged (separation along x)" in message
        assert caught[0].filename == __file__
        assert np.isfinite(table["estimate"]).all()
        assert table[["std_error", "conf_low", "conf_high"]].isna().all(axis=None)
    # The mean at the rows as they are: the share of events, as the diverged fit
    # predicts each row's outcome.
    assert tables[0]["estimate"].iloc[0] == pytest.approx(np.mean(x > 0.1))


# --- sentences ----------------------------------------------------------------------------


def test_sentences_say_the_change_in_the_outcomes_units(logistic) -> None:
    _, _, ours = logistic
    table = ours.avg_comparisons("x")
    row = table.iloc[0]
    low, high = 100 * row["conf_low"], 100 * row["conf_high"]
    # Rounded as the tables are: to the digit a quarter of the interval supports.
    shown = [with_uncertainty(v, (high - low) / 4) for v in (100 * row["estimate"], low, high)]
    assert row["sentence"] == (
        f"raising x by 1 raises the probability of y by {shown[0]} "
        f"percentage points on average (95% interval {shown[1]}–{shown[2]})"
    )
    assert shown == ["15.1", "11.0", "19.1"]
    slope = ours.avg_slopes("z", prob=0.9).iloc[0]
    assert slope["sentence"].startswith("at the margin, each unit of z lowers the probability")
    assert "(90% interval" in slope["sentence"]
    prediction = ours.avg_predictions(by="g").iloc[1]["sentence"]
    assert prediction.startswith("for g = b, the average predicted probability of y is ")


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: f.avg_comparisons("q"), r"variables names 'q', which is not a predictor"),
        (lambda f: f.avg_slopes(by="q"), r"by names column\(s\) 'q' that the fitted rows"),
        (lambda f: f.avg_comparisons({"g": 1}), r"'g' is a factor \(levels: a, b, c\)"),
        (lambda f: f.avg_comparisons({"g": ["a", "d"]}), r"'g' is a factor"),
        (lambda f: f.avg_slopes("g"), r"'g' is a factor, which has no slope"),
        (lambda f: f.avg_comparisons({"x": "iqr"}), r"numeric predictor 'x' is a step"),
        (lambda f: f.avg_comparisons(comparison="lift"), r"comparison must be one of"),
        (lambda f: f.avg_predictions(prob=1.5), r"prob must be between 0 and 1"),
    ],
)
def test_bad_input_is_refused_with_the_house_template(logistic, call, message) -> None:
    _, _, ours = logistic
    with pytest.raises(BayesGLMError, match=message) as error:
        call(ours)
    assert "; got (" in str(error.value) and str(error.value).endswith(").")


# --- the posterior -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def posterior(tmp_path_factory):
    """A large-n logistic fit with weak default priors, and the same fit saved and loaded."""
    rng = np.random.default_rng(11)
    n = 3000
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "g": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        }
    )
    eta = -0.2 + 0.6 * df.x + 0.2 * df.x**2 + np.where(df.g == "c", -0.6, 0.0)
    df["y"] = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    model = bg.GLM("y ~ x + I(x**2) + C(g)", df, family="bernoulli")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        fit = model.fit(draws=1000, tune=500, chains=2, seed=3, progressbar=False)
    path = fit.save(tmp_path_factory.mktemp("marginal") / "fit.nc")
    return df, fit, bg.load(path)


def test_posterior_agrees_with_the_mle_on_large_n(posterior) -> None:
    """Bernstein–von Mises: medians within a fraction of the delta-method SE, 95%
    interval widths within 10%."""
    _, fit, _ = posterior
    for name in ("avg_predictions", "avg_comparisons", "avg_slopes"):
        bayes, mle = getattr(fit, name)(by=None), getattr(fit.mle, name)()
        gap = (bayes["estimate"] - mle["estimate"]).abs() / mle["std_error"]
        assert (gap < 0.2).all(), (name, gap.tolist())
        width = (bayes["conf_high"] - bayes["conf_low"]) / (mle["conf_high"] - mle["conf_low"])
        assert ((width > 0.9) & (width < 1.1)).all(), (name, width.tolist())
    comparisons = fit.avg_comparisons()
    assert comparisons["p_direction"].between(0.5, 1).all()
    assert comparisons.loc[comparisons["contrast"] == "c - a", "p_direction"].iloc[0] > 0.999


def test_draw_wise_averages_in_chunks_equal_the_plain_computation(posterior) -> None:
    """Summed over chunks of 7 rows (threads included), the averages per draw are
    those of the whole draws × n matrix."""
    df, fit, _ = posterior
    beta = fit.draws()[fit.names].to_numpy()
    X = fit.design.X

    def mean(matrix):
        return (1 / (1 + np.exp(-(matrix @ beta.T)))).mean(axis=0)

    prediction = fit.avg_predictions(chunk=7).iloc[0]
    per_draw = mean(X)
    assert prediction["estimate"] == pytest.approx(np.median(per_draw), rel=1e-12)
    assert prediction["conf_low"] == pytest.approx(np.quantile(per_draw, 0.025), rel=1e-12)
    hi, lo = X.copy(), X.copy()
    hi[:, 1], hi[:, 2] = df.x + 0.5, (df.x + 0.5) ** 2
    lo[:, 1], lo[:, 2] = df.x - 0.5, (df.x - 0.5) ** 2
    per_draw = mean(hi) - mean(lo)
    table = fit.avg_comparisons("x", chunk=7).iloc[0]
    assert table["estimate"] == pytest.approx(np.median(per_draw), rel=1e-10)
    assert table["conf_high"] == pytest.approx(np.quantile(per_draw, 0.975), rel=1e-10)
    p = 1 / (1 + np.exp(-(X @ beta.T)))
    slope = (p * (1 - p) * (beta[:, 1] + 2 * beta[:, 2] * df.x.to_numpy()[:, None])).mean(0)
    assert fit.avg_slopes(chunk=7)["estimate"].iloc[0] == pytest.approx(
        np.median(slope), rel=1e-10
    )


def test_saved_then_loaded_fits_give_identical_tables(posterior) -> None:
    _, fit, loaded = posterior
    for name, kwargs in (
        ("avg_predictions", {"by": "g"}),
        ("avg_comparisons", {"comparison": "ratio"}),
        ("avg_slopes", {"by": "g"}),
    ):
        pd.testing.assert_frame_equal(
            getattr(loaded, name)(**kwargs), getattr(fit, name)(**kwargs)
        )
        pd.testing.assert_frame_equal(
            getattr(loaded.mle, name)(**kwargs), getattr(fit.mle, name)(**kwargs)
        )


# --- every family and link, both result types --------------------------------------------

LIKELIHOOD_PAIRS = [
    (name, link) for name, fam in bg.FAMILIES.items() if fam.has_likelihood for link in fam.links
]


@pytest.mark.parametrize(("family", "link"), LIKELIHOOD_PAIRS, ids=str)
def test_every_family_and_link_gives_the_three_tables_on_both_results(family, link) -> None:
    from bayesglm.predict import eta_range
    from tests.laplace_fit import laplace_fit
    from tests.test_statsmodels_oracle import simulate

    X, y, trials = simulate(bg.FAMILIES[family], link, n=80, seed=11)
    model = bg.GLM.from_arrays(
        X, y, family=family, link=link, trials=trials, names=["Intercept", "x1", "x2"]
    )
    mle = model.fit_mle()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        fit = laplace_fit(model, seed=3, chains=2, draws=100)
    valid = eta_range(bg.FAMILIES[family], bg.LINKS[link])

    def average(eta: np.ndarray) -> np.ndarray:
        """The average mean over rows (last axis); NaN where a row leaves the domain."""
        mean = bg.LINKS[link].inverse(eta).mean(axis=-1)
        return np.where(valid.includes(eta).all(axis=-1), mean, np.nan)

    # The average predicted mean, and a +1 change of x1 (x1 -/+ 1/2), computed here.
    step = np.outer(np.ones(len(X)), [0.0, 0.5, 0.0])
    beta = mle.params_array
    expected = {
        "prediction": average(X @ beta),
        "comparison": average((X + step) @ beta) - average((X - step) @ beta),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)  # NaN where a mean leaves its domain
        tables = {
            result: (
                result.avg_predictions(),
                result.avg_comparisons().set_index("term"),
                result.avg_slopes().set_index("term"),
            )
            for result in (mle, fit)
        }
    predictions, comparisons, _ = tables[mle]
    np.testing.assert_allclose(predictions["estimate"], expected["prediction"], rtol=1e-12)
    np.testing.assert_allclose(
        comparisons.loc["x1", "estimate"], expected["comparison"], rtol=1e-10
    )
    draws = fit.beta_draws.reshape(-1, X.shape[1])
    per_draw = average(draws @ X.T)
    posterior = np.median(per_draw) if np.isfinite(per_draw).all() else np.nan
    np.testing.assert_allclose(tables[fit][0]["estimate"], posterior, rtol=1e-10)
    for predictions, comparisons, slopes in tables.values():
        assert set(comparisons.index) == set(slopes.index) == {"x1", "x2"}
        table = pd.concat([predictions, comparisons, slopes])
        numbers = table[["estimate", "conf_low", "conf_high"]].dropna().to_numpy(float)
        assert np.all(numbers[:, 0] >= numbers[:, 1]) and np.all(numbers[:, 0] <= numbers[:, 2])
    # Where every row and draw stays in the domain (the canonical links), all is defined.
    if link == bg.FAMILIES[family].canonical_link:
        for predictions, comparisons, slopes in tables.values():
            assert pd.concat([predictions, comparisons, slopes])["estimate"].notna().all()


def test_an_intercept_only_model_has_nothing_to_move() -> None:
    frame = pd.DataFrame({"y": np.random.default_rng(1).poisson(2.0, 50)})
    fit = bg.GLM("y ~ 1", data=frame, family="poisson").fit_mle()
    np.testing.assert_allclose(fit.avg_predictions()["estimate"], frame["y"].mean())
    for call in (fit.avg_comparisons, fit.avg_slopes):
        with pytest.raises(BayesGLMError, match=r"no predictor to move \(an intercept-only"):
            call()
