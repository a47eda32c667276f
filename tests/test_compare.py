"""bg.compare: full-precision numbers, and refusal of fits of different observations."""

from __future__ import annotations

import dataclasses
import functools
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm.errors import BayesGLMError, SamplingWarning

# Tiny draws: the bookkeeping and the pairing of rows are under test, not the posterior.
TINY = {"draws": 100, "tune": 100, "chains": 2, "progressbar": False, "sampler": "numpyro"}


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(6)
    n = 80
    df = pd.DataFrame({"x": rng.normal(size=n), "w": rng.integers(1, 4, n).astype(float)})
    df["y"] = rng.poisson(np.exp(1.0 + 0.6 * df["x"]))
    df["n"] = df["y"] + 3
    # Labels that are not positions, so a message naming a row is checked to use them.
    return df.set_axis([f"r{i}" for i in range(n)])


def _one_row_per_trial(df: pd.DataFrame) -> pd.DataFrame:
    """The binomial k-of-n rows as n bernoulli rows each (k successes)."""
    rows = df.loc[df.index.repeat(df["n"].astype(int))]
    trial = rows.groupby(level=0).cumcount().to_numpy()
    return rows.assign(y=(trial < rows["y"].to_numpy()).astype(float)).reset_index(drop=True)


def _model(case: str) -> bg.GLM:
    df = _data()
    shuffled = df.sample(frac=1, random_state=3)
    noise = np.random.default_rng(7).normal(size=len(df))
    X = np.column_stack([np.ones(len(df)), df["x"]])
    models = {
        "poisson": lambda: bg.GLM("y ~ x", data=df, family="poisson"),
        "noise": lambda: bg.GLM("y ~ x", data=df.assign(x=noise), family="poisson"),
        "offset": lambda: bg.GLM("y ~ x", data=df, family="poisson", offset="log(w)"),
        "arrays": lambda: bg.GLM.from_arrays(X, df["y"].to_numpy(), family="poisson"),
        "shuffled": lambda: bg.GLM("y ~ x", data=shuffled, family="poisson"),
        "shuffled_relabelled": lambda: bg.GLM(
            "y ~ x", data=shuffled.set_axis(df.index), family="poisson"
        ),
        "weighted": lambda: bg.GLM("y ~ x", data=df, family="poisson", weights="w"),
        "fewer_rows": lambda: bg.GLM("y ~ x", data=df.iloc[:60], family="poisson"),
        "gaussian": lambda: bg.GLM("y ~ x", data=df, family="gaussian"),
        "binomial": lambda: bg.GLM("y ~ x", data=df, family="binomial", trials="n"),
        "more_trials": lambda: bg.GLM(
            "y ~ x", data=df.assign(n=df["n"] + 2), family="binomial", trials="n"
        ),
        "bernoulli_expanded": lambda: bg.GLM(
            "y ~ x", data=_one_row_per_trial(df), family="bernoulli"
        ),
    }
    return models[case]()


@functools.cache
def _fit(case: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return _model(case).fit(seed=1, **TINY)


def _with_data_of(case: str):
    """The draws of the Poisson fit carrying another model's data and family.

    compare must refuse fits of other observations from their data alone, before any
    log-likelihood is computed, so the draws need not be that model's own (which
    saves sampling a model per case).
    """
    model = _model(case)
    return dataclasses.replace(_fit("poisson"), design=model.design, spec=model.spec)


def _loo(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return fit.loo()


def test_table_is_at_full_precision_and_pairs_rows() -> None:
    fits = {"x": _fit("poisson"), "noise": _fit("noise")}
    table = bg.compare(fits)
    elpds = {name: _loo(fit) for name, fit in fits.items()}
    for name, elpd in elpds.items():
        np.testing.assert_allclose(table.loc[name, "elpd"], elpd.elpd, rtol=1e-12)
        np.testing.assert_allclose(table.loc[name, "se"], elpd.se, rtol=1e-12)
        np.testing.assert_allclose(table.loc[name, "p"], elpd.p, rtol=1e-12)
    best, worse = table.index
    assert table.loc[best, "elpd_diff"] == 0.0
    np.testing.assert_allclose(
        table.loc[worse, "elpd_diff"], elpds[worse].elpd - elpds[best].elpd, rtol=1e-12
    )
    # The standard error of a paired difference (Vehtari, Gelman & Gabry 2017, eq. 24):
    # sqrt(n * variance of the pointwise differences), row i against row i. ArviZ takes
    # the variance with divisor n (R's loo: n - 1).
    pointwise = np.asarray(elpds[worse].elpd_i) - np.asarray(elpds[best].elpd_i)
    expected_dse = np.sqrt(pointwise.size * np.var(pointwise))
    np.testing.assert_allclose(table.loc[worse, "dse"], expected_dse, rtol=1e-9)
    np.testing.assert_allclose(table["weight"].sum(), 1.0, rtol=1e-9)


def test_fits_that_differ_only_in_model_terms_are_compared() -> None:
    """Predictors, offsets, the family and the data source (formula or arrays) belong to
    the model, not to the observations."""
    fits = {
        "x": _fit("poisson"),
        "offset": _with_data_of("offset"),
        "arrays": _with_data_of("arrays"),
        "binomial": _with_data_of("binomial"),  # probabilities of the same counts
    }
    table = bg.compare(fits)
    assert set(table.index) == set(fits)
    # The same draws, model and observations from arrays: the same log-likelihood.
    assert table.loc["arrays", "elpd"] == table.loc["x", "elpd"]
    assert table.loc["offset", "elpd"] != table.loc["x", "elpd"]


@pytest.mark.parametrize(
    ("first", "other", "message"),
    [
        ("poisson", "shuffled", r"their rows are in another order \(position 0: row 'r0' against"),
        (
            "poisson",
            "shuffled_relabelled",
            r"their responses differ at \d+ of 80 rows \(first at row 'r\d+': ",
        ),
        ("poisson", "weighted", r"their prior weights differ at \d+ of 80 rows"),
        ("poisson", "fewer_rows", r"they have 80 and 60 rows"),
        (
            "poisson",
            "gaussian",
            r"the poisson log-likelihood gives probabilities .* gaussian one ",
        ),
        ("binomial", "more_trials", r"their trials differ at 80 of 80 rows \(first at row 'r0': "),
        ("binomial", "bernoulli_expanded", r"they have 80 and \d+ rows"),
    ],
)
def test_fits_of_other_observations_are_refused(first: str, other: str, message: str) -> None:
    fits = {first: _with_data_of(first), other: _with_data_of(other)}
    with pytest.raises(BayesGLMError, match=f"fits '{first}' and '{other}' ") as error:
        bg.compare(fits)
    assert re.search(message, str(error.value)), str(error.value)
    assert str(error.value).endswith(f"got (fits=['{first}', '{other}']).")


def test_fewer_than_two_fits_are_refused() -> None:
    with pytest.raises(BayesGLMError, match=r"at least two fits"):
        bg.compare({"one": _fit("poisson")})
