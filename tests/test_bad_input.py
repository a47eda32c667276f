"""The bad-input battery (issue #7): every public entry point, one table per kind of input.

Each case names the bad input and a ``match=`` regex that checks the message names the
problem, the column and the first offending row where those exist. Every case runs
through each entry point it applies to: arrays (``bg.fit_mle``, ``bg.GLM.from_arrays``
and its ``.fit``), a DataFrame and formula (``bg.GLM``, ``.fit_mle()``, ``.fit()``),
``predict`` on new data (maximum likelihood and posterior, formula and arrays models),
``bg.load`` and the command line (status 2, one line on stderr). Refusals come before
any sampling (sampling is switched off in these tests), and the caller's DataFrames and
arrays are unchanged afterwards. Rows of the DataFrames are labelled ``r0, r1, ...``
(new data ``p, q, r``), so a message that names a position instead of the user's label
fails.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bayesglm as bg
from bayesglm import samplers as backend
from bayesglm.cli import main
from bayesglm.design import design_from_arrays
from bayesglm.errors import BayesGLMError, SamplingWarning

N = 12
CHEAP = {"draws": 200, "tune": 200, "chains": 1, "sampler": "nutpie", "progressbar": False}


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    x = rng.normal(size=N)
    return pd.DataFrame(
        {
            "x": x,
            "g": ["a", "b", "c"] * (N // 3),
            "e": rng.uniform(1, 3, N),
            "n": np.full(N, 10),
            "k": rng.integers(0, 10, N),
            "w": np.ones(N),
            "o": np.zeros(N),
            "count": rng.poisson(2.0, N),
            "size": rng.gamma(2.0, 1.0, N),
            "line": 1.0 + 2.0 * x,
        },
        index=[f"r{i}" for i in range(N)],
    )


def _at(column: str, value: Any, row: int = 3, dtype: Any = None) -> Callable:
    """A change to the frame: ``column`` holds ``value`` in row ``r<row>``."""

    def change(df: pd.DataFrame) -> pd.DataFrame:
        values = df[column].astype(dtype or float).to_numpy(copy=True)
        values[row] = value
        return df.assign(**{column: values})

    return change


def _assert_unchanged(before: Any, after: Any) -> None:
    """The caller's object equals its deep copy taken before the call: values, dtypes,
    index, shape."""
    assert type(before) is type(after)
    if isinstance(before, pd.DataFrame):
        pd.testing.assert_frame_equal(after, before, check_exact=True)
    elif isinstance(before, pd.Series):
        pd.testing.assert_series_equal(after, before, check_exact=True)
    elif isinstance(before, np.ndarray):
        assert after.dtype == before.dtype and after.shape == before.shape
        np.testing.assert_array_equal(after, before)
    elif isinstance(before, dict):
        assert before.keys() == after.keys()
        for key in before:
            _assert_unchanged(before[key], after[key])
    elif isinstance(before, list | tuple):
        assert len(before) == len(after)
        for left, right in zip(before, after, strict=True):
            _assert_unchanged(left, right)
    else:
        assert before == after or (before != before and after != after)  # NaN


def _refused(call: Callable[[], Any], match: str, *inputs: Any) -> None:
    """``call`` raises a BayesGLMError matching ``match`` and leaves ``inputs`` as they were."""
    before = copy.deepcopy(inputs)
    with pytest.raises(BayesGLMError, match=match):
        call()
    _assert_unchanged(before, inputs)


@pytest.fixture()
def no_sampling(monkeypatch) -> None:
    """Every refusal here must come before NUTS runs."""

    def refuse(*args, **kwargs):
        raise AssertionError("sampling ran; the bad input should have been refused before")

    monkeypatch.setattr(backend, "sample", refuse)


# --- the tables -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad input and what its message must say.

    ``stage`` is where the refusal happens: building the model ("model": every entry
    point refuses), fitting it ("mle": the maximum-likelihood fit and the posterior
    fit refuse), or sampling it ("fit": only the posterior fit refuses, before NUTS).
    """

    id: str
    kwargs: dict
    match: str
    stage: str = "model"


def _arrays() -> dict[str, Any]:
    frame = _frame()
    return {
        "X": np.c_[np.ones(N), frame["x"].to_numpy()],
        "y": frame["count"].to_numpy(dtype=float),
        "family": "poisson",
        "names": ["Intercept", "x"],
    }


def _array_case(id: str, match: str, stage: str = "model", **changes: Any) -> Case:
    return Case(id, changes, match, stage)


def _put(array: np.ndarray, where: Any, value: Any) -> np.ndarray:
    out = np.array(array, dtype=float)
    out[where] = value
    return out


_A = _arrays()
_X, _Y = _A["X"], _A["y"]
_LABELLED = pd.Series(_put(_Y, 3, -1.0), index=[f"r{i}" for i in range(N)], name="count")

ARRAY_CASES = [
    _array_case(
        "nan-in-X",
        r"X has 1 NaN or infinite value\(s\).*the first is row 3 of column 'x'; "
        r"got \(x\[3\]=nan\)",
        X=_put(_X, (3, 1), np.nan),
    ),
    _array_case(
        "inf-in-y", r"y has 1 NaN or infinite.*row 3; got \(y\[3\]=inf\)", y=_put(_Y, 3, np.inf)
    ),
    _array_case(
        "nan-in-offset",
        r"offset has 1 NaN or infinite.*row 5; got \(offset\[5\]=nan\)",
        offset=_put(np.zeros(N), 5, np.nan),
    ),
    _array_case(
        "inf-in-weights",
        r"weights has 1 NaN or infinite.*row 5; got \(weights\[5\]=-?inf\)",
        weights=_put(np.ones(N), 5, -np.inf),
    ),
    _array_case(
        "negative-count",
        r"poisson model must be integers in \[0, inf\); 1 row\(s\) are not, the first is "
        r"row 3; got \(y\[3\]=-1\.0\)",
        y=_put(_Y, 3, -1.0),
    ),
    _array_case(
        "fractional-count",
        r"poisson model must be integers.*row 4; got \(y\[4\]=0\.5\)",
        y=_put(_Y, 4, 0.5),
    ),
    _array_case(
        "bernoulli-y-2",
        r"bernoulli model \(0 or 1\) must be integers in \[0, 1\].*row 3; got \(y\[3\]=2\.0\)",
        y=_put(np.zeros(N), 3, 2.0),
        family="bernoulli",
    ),
    _array_case(
        "gamma-y-0",
        r"gamma model must be \(0, inf\).*row 3; got \(y\[3\]=0\.0\)",
        y=_put(np.full(N, 2.0), 3, 0.0),
        family="gamma",
    ),
    _array_case(
        "inverse-gaussian-y-negative",
        r"inverse_gaussian model must be \(0, inf\).*row 3; got \(y\[3\]=-1\.0\)",
        y=_put(np.full(N, 2.0), 3, -1.0),
        family="inverse_gaussian",
    ),
    _array_case(
        "labelled-y-names-its-labels",
        r"poisson model must be integers.*the first is row 'r3'; got \(count\['r3'\]=-1\.0\)",
        y=_LABELLED,
    ),
    _array_case(
        "successes-over-trials",
        r"successes cannot exceed trials; 1 row\(s\) have more, the first is row 3; "
        r"got \(y\[3\]=11\.0, trials\[3\]=10\.0\)",
        y=_put(np.zeros(N), 3, 11.0),
        trials=np.full(N, 10.0),
        family="binomial",
    ),
    _array_case(
        "negative-trials",
        r"trials of a binomial model must be integers in \[0, inf\).*row 3; "
        r"got \(trials\[3\]=-1\.0\)",
        y=np.zeros(N),
        trials=_put(np.full(N, 10.0), 3, -1.0),
        family="binomial",
    ),
    _array_case(
        "binomial-without-trials",
        r"needs the number of trials per row; pass trials=",
        family="binomial",
    ),
    _array_case(
        "trials-on-poisson",
        r"trials= only applies to the binomial family.*got \(family='poisson'\)",
        trials=np.full(N, 10.0),
    ),
    _array_case(
        "negative-weights",
        r"weights must be >= 0; 1 row\(s\) are negative, the first is row 3; "
        r"got \(weights\[3\]=-1\.0\)",
        weights=_put(np.ones(N), 3, -1.0),
    ),
    _array_case("zero-weights", r"weights must not all be zero", weights=np.zeros(N)),
    _array_case("empty", r"X must have at least one row and one column", X=np.empty((0, 2)), y=[]),
    _array_case(
        "one-row",
        r"rank deficient: column\(s\) 'x' are linear combinations",
        stage="mle",
        X=_X[:1],
        y=_Y[:1],
    ),
    _array_case(
        "p-greater-than-n",
        r"rank deficient: column\(s\) 'x2' are",
        stage="mle",
        X=np.c_[_X[:2], [3.0, 5.0]],
        y=_Y[:2],
        names=["Intercept", "x", "x2"],
    ),
    _array_case(
        "constant-column",
        r"rank deficient: column\(s\) 'c' are linear combinations",
        stage="mle",
        X=np.c_[_X, np.full(N, 2.0)],
        names=["Intercept", "x", "c"],
    ),
    _array_case(
        "constant-response",
        r"gaussian model must vary.*got \(y=2\.0 in all 12 rows\)",
        y=np.full(N, 2.0),
        family="gaussian",
    ),
    _array_case(
        "duplicate-names",
        r"column names must be unique; rename the repeats; got \(names=\['x'\]\)",
        names=["x", "x"],
    ),
    _array_case(
        "duplicate-frame-columns",
        r"column names must be unique; rename the repeats; got \(names=\['x'\]\)",
        X=pd.DataFrame(_X, columns=["x", "x"]),
    ),
    _array_case(
        "numbers-as-text-in-X",
        r"X must hold numbers; it holds numbers stored as text.*the first in row 0 of "
        r"column 0; got \(X\[0, 0\]='1\.0'\)",
        X=_X.astype(str),
    ),
    _array_case(
        "word-among-numbers-in-X",
        r"X must hold numbers; it holds values that are not numbers.*row 2 of column 1; "
        r"got \(X\[2, 1\]='n/a'\)",
        X=np.array([[1.0, v] for v in [0.5, 1.5, "n/a", *range(N - 3)]], dtype=object),
    ),
    _array_case(
        "numbers-as-text-in-y",
        r"y must hold numbers; it holds numbers stored as text.*row 0; got \(y\[0\]='",
        y=_Y.astype(str),
    ),
    _array_case(
        "text-column-of-frame-X",
        r"column 'x' of X is not numeric.*numbers stored as text.*the first in row 'r0'; "
        r"got \(x\['r0'\]='",
        X=pd.DataFrame({"Intercept": 1.0, "x": _X[:, 1].astype(str)}, index=_LABELLED.index),
    ),
    _array_case(
        "ragged-X",
        r"X must be a rectangular array of numbers; its rows differ in length",
        X=[[1.0, 0.5], [1.0]],
        y=[1.0, 2.0],
    ),
    _array_case("X-is-None", r"X must hold numbers.*got \(X=None\)", X=None),
    _array_case(
        "y-too-short",
        r"y must have one value per row of X \(12\); got \(y.shape=\(11,\)\)",
        y=_Y[:11],
    ),
    _array_case("y-two-columns", r"y must have one value per row of X \(12\)", y=np.c_[_Y, _Y]),
    _array_case("X-one-dimensional", r"X must be 2-D", X=_X[:, 1]),
    _array_case("X-three-dimensional", r"X must be 2-D", X=_X[None]),
    _array_case(
        "offset-wrong-length",
        r"offset must have one value per row of X \(12\)",
        offset=np.zeros(3),
    ),
    _array_case(
        "names-wrong-length", r"names must give one name per column of X \(2\)", names=["a"]
    ),
    _array_case(
        "unknown-family",
        r"unknown family; the families are gaussian, .*; got \(family='poison'\)",
        family="poison",
    ),
    _array_case(
        "unknown-link",
        r"unknown link; the links are identity, .*; got \(link='lgo'\)",
        link="lgo",
    ),
    _array_case(
        "impossible-family-link",
        r"the poisson family does not allow the logit link; its links are log, identity, "
        r"sqrt; got \(link='logit'\)",
        link="logit",
    ),
]


def _array_entries(case: Case) -> list[str]:
    entries = ["fit_mle", "GLM.from_arrays.fit"]
    return ["GLM.from_arrays", *entries] if case.stage == "model" else entries


def _call_arrays(entry: str, kwargs: dict) -> Any:
    if entry == "fit_mle":
        return bg.fit_mle(**kwargs)
    model = bg.GLM.from_arrays(**kwargs)
    return model if entry == "GLM.from_arrays" else model.fit(**CHEAP)


@pytest.mark.parametrize(
    ("case", "entry"),
    [
        pytest.param(case, entry, id=f"{entry}-{case.id}")
        for case in ARRAY_CASES
        for entry in _array_entries(case)
    ],
)
def test_bad_arrays(case: Case, entry: str, no_sampling) -> None:
    kwargs = {**_arrays(), **case.kwargs}
    X, y = kwargs.pop("X"), kwargs.pop("y")
    _refused(lambda: _call_arrays(entry, {"X": X, "y": y, **kwargs}), case.match, X, y, kwargs)


# --- DataFrames and formulas -----------------------------------------------------------


def _frame_case(
    id: str,
    match: str,
    change: Callable | None = None,
    stage: str = "model",
    formula: str = "count ~ x + g",
    **kwargs: Any,
) -> Case:
    return Case(id, {"formula": formula, "change": change, **kwargs}, match, stage)


FRAME_CASES = [
    _frame_case(
        "nan-in-x-refused",
        r"1 row\(s\) have missing values, in columns x \(1\);.*the first is row 'r3'",
        _at("x", np.nan),
        missing="raise",
    ),
    _frame_case(
        "inf-in-x",
        r"X has 1 NaN or infinite value\(s\).*the first is row 'r3' of column 'x'; "
        r"got \(x\['r3'\]=inf\)",
        _at("x", np.inf),
    ),
    _frame_case(
        "inf-in-response",
        r"y has 1 NaN or infinite value\(s\).*row 'r3'; got \(count\['r3'\]=inf\)",
        _at("count", np.inf),
    ),
    _frame_case(
        "inf-in-offset-column",
        r"offset has 1 NaN or infinite.*row 'r3'; got \(o\['r3'\]=inf\)",
        _at("o", np.inf),
        offset="o",
    ),
    _frame_case(
        "nan-in-offset-values-refused",
        r"missing values, in columns offset= \(1\);.*the first is row 'r5'",
        offset=_put(np.zeros(N), 5, np.nan),
        missing="raise",
    ),
    _frame_case(
        "inf-in-weights-column",
        r"weights has 1 NaN or infinite.*row 'r3'; got \(w\['r3'\]=inf\)",
        _at("w", np.inf),
        weights="w",
    ),
    _frame_case(
        "rows-dropped-before-the-bad-row",
        r"poisson model must be integers.*the first is row 'r7'; got \(count\['r7'\]=-1\.0\)",
        lambda df: _at("count", -1.0, row=7)(_at("x", np.nan, row=2)(df)),
    ),
    _frame_case(
        "negative-count",
        r"poisson model must be integers in \[0, inf\); 1 row\(s\) are not, the first is "
        r"row 'r3'; got \(count\['r3'\]=-1\.0\)",
        _at("count", -1.0),
    ),
    _frame_case(
        "bernoulli-response-2",
        r"bernoulli model \(0 or 1\).*row 'r3'; got \(k\['r3'\]=2\.0\)",
        lambda df: _at("k", 2.0)(df.assign(k=0)),
        formula="k ~ x",
        family="bernoulli",
    ),
    _frame_case(
        "gamma-response-0",
        r"gamma model must be \(0, inf\).*row 'r3'; got \(size\['r3'\]=0\.0\)",
        _at("size", 0.0),
        formula="size ~ x",
        family="gamma",
    ),
    _frame_case(
        "successes-over-trials",
        r"successes cannot exceed trials.*the first is row 'r3'; "
        r"got \(k\['r3'\]=11\.0, n\['r3'\]=10\.0\)",
        _at("k", 11.0),
        formula="k ~ x",
        family="binomial",
        trials="n",
    ),
    _frame_case(
        "negative-trials",
        r"trials of a binomial model must be integers.*row 'r3'; got \(n\['r3'\]=-1\.0\)",
        lambda df: _at("n", -1.0)(df.assign(k=0)),
        formula="k ~ x",
        family="binomial",
        trials="n",
    ),
    _frame_case(
        "negative-weights",
        r"weights must be >= 0; 1 row\(s\) are negative, the first is row 'r3'; "
        r"got \(w\['r3'\]=-1\.0\)",
        _at("w", -1.0),
        weights="w",
    ),
    _frame_case(
        "exposure-zero",
        r"exposure must be positive.*the first is row 'r3'; got \(e\['r3'\]=0\.0\)",
        _at("e", 0.0),
        exposure="e",
    ),
    _frame_case(
        "log-of-negative-in-formula",
        r"X has 1 NaN or infinite value\(s\).*row 'r3' of column 'np.log\(e\)'",
        _at("e", -1.0),
        formula="count ~ np.log(e)",
    ),
    _frame_case(
        "log-of-zero-in-offset",
        r"offset has 1 NaN or infinite.*row 'r3'; got \(np.log\(e\)\['r3'\]=-inf\)",
        _at("e", 0.0),
        offset="np.log(e)",
    ),
    _frame_case("empty", r"X must have at least one row", lambda df: df.iloc[:0]),
    _frame_case(
        "every-row-missing",
        r"every row has a missing value, in columns x \(12\).*the first is row 'r0'",
        lambda df: df.assign(x=np.nan),
    ),
    _frame_case(
        "one-row",
        r"rank deficient: column\(s\) 'x'",
        lambda df: df.iloc[:1],
        stage="mle",
        formula="count ~ x",
    ),
    _frame_case(
        "p-greater-than-n",
        r"rank deficient: column\(s\) 'g\[T\.c\]'",
        lambda df: df.iloc[:3],
        stage="mle",
    ),
    _frame_case(
        "constant-column",
        r"rank deficient: column\(s\) 'c' are linear combinations",
        lambda df: df.assign(c=5.0),
        stage="mle",
        formula="count ~ x + c",
    ),
    _frame_case(
        "constant-response",
        r"gaussian model must vary.*got \(size=2\.0 in all 12 rows\)",
        lambda df: df.assign(size=2.0),
        formula="size ~ x",
        family="gaussian",
    ),
    _frame_case(
        "response-computed-from-x",
        r"the model fits the response exactly \(residual deviance .*\), so the data say "
        r"nothing about the sigma",
        stage="fit",
        formula="line ~ x",
        family="gaussian",
    ),
    _frame_case(
        "repeated-column-name",
        r"column names must be unique; the data have more than one column named 'x'",
        lambda df: pd.concat([df, df[["x"]]], axis=1),
    ),
    _frame_case(
        "numbers-as-text",
        r"column 'x' holds numbers stored as text; convert it with pd.to_numeric.*"
        r"the first is row 'r0'; got \(x\['r0'\]='",
        lambda df: df.assign(x=df["x"].astype(str)),
    ),
    _frame_case(
        "word-among-numbers",
        r"column 'x' mixes numbers with 1 value\(s\) that are not numbers.*the first is "
        r"row 'r3'; got \(x\['r3'\]='oops'\)",
        _at("x", "oops", dtype=object),
    ),
    _frame_case(
        "response-as-text",
        r"column 'count' holds numbers stored as text.*row 'r0'",
        lambda df: df.assign(count=df["count"].astype(str)),
    ),
    _frame_case(
        "dates",
        r"column 'x' holds datetime64.* values, which a model matrix cannot use",
        lambda df: df.assign(x=pd.date_range("2024-01-01", periods=N)),
    ),
    _frame_case(
        "weights-as-words",
        r"column 'w' must hold numbers \(weights= needs numbers\), but 12 value\(s\) are "
        r"not.*row 'r0'; got \(w\['r0'\]='a'\)",
        lambda df: df.assign(w="a"),
        formula="count ~ x",
        weights="w",
    ),
    _frame_case(
        "offset-values-wrong-length",
        r"offset must have one value per row of the data \(12\); got \(offset of length 3\)",
        offset=np.zeros(3),
    ),
    _frame_case(
        "weights-column-absent", r"weights= names a column that is not in the data", weights="wt"
    ),
    _frame_case("trials-on-poisson", r"trials= only applies to the binomial family", trials="n"),
    _frame_case(
        "binomial-without-trials",
        r"needs the number of trials per row",
        formula="k ~ x",
        family="binomial",
    ),
    _frame_case(
        "three-level-bernoulli-response",
        r"exactly two levels.*'g' has levels \['a', 'b', 'c'\]",
        formula="g ~ x",
        family="bernoulli",
    ),
    _frame_case(
        "unknown-family",
        r"unknown family; the families are .*; got \(family='poison'\)",
        family="poison",
    ),
    _frame_case("unknown-link", r"unknown link; the links are .*; got \(link='lgo'\)", link="lgo"),
    _frame_case(
        "impossible-family-link",
        r"the gamma family does not allow the logit link",
        formula="size ~ x",
        family="gamma",
        link="logit",
    ),
    _frame_case(
        "formula-syntax",
        r"the formula could not be parsed \(Operator `\+`.*\); check its syntax; "
        r"got \(formula='count ~ x \+'\)",
        formula="count ~ x +",
    ),
    _frame_case(
        "formula-without-response", r"formula must name the response left of '~'", formula="~ x"
    ),
    _frame_case(
        "formula-unknown-column", r"could not be evaluated.*`nope`", formula="count ~ nope"
    ),
    _frame_case("missing-option", r"missing must be 'drop' or 'raise'", missing="keep"),
    _frame_case(
        "data-not-a-frame",
        r"data must be a pandas DataFrame",
        lambda df: df.to_numpy().tolist(),
    ),
    _frame_case(
        "dict-of-ragged-columns",
        r"data given as a dict must hold columns of one length",
        lambda df: {"count": [1, 2, 3], "x": [0.5, 1.5]},
        formula="count ~ x",
    ),
]


def _frame_entries(case: Case) -> list[str]:
    return {"model": ["GLM", "GLM.fit_mle", "GLM.fit"], "mle": ["GLM.fit_mle", "GLM.fit"]}.get(
        case.stage, ["GLM.fit"]
    )


def _call_frame(entry: str, formula: str, data: Any, kwargs: dict) -> Any:
    model = bg.GLM(formula, data=data, **{"family": "poisson", **kwargs})
    if entry == "GLM.fit_mle":
        return model.fit_mle()
    return model.fit(**CHEAP) if entry == "GLM.fit" else model


@pytest.mark.parametrize(
    ("case", "entry"),
    [
        pytest.param(case, entry, id=f"{entry}-{case.id}")
        for case in FRAME_CASES
        for entry in _frame_entries(case)
    ],
)
def test_bad_data_frames(case: Case, entry: str, no_sampling) -> None:
    kwargs = dict(case.kwargs)
    formula, change = kwargs.pop("formula"), kwargs.pop("change")
    data = _frame() if change is None else change(_frame())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bg.MissingDataWarning)
        _refused(lambda: _call_frame(entry, formula, data, kwargs), case.match, data, kwargs)


FIT_CASES = [
    (
        "prior-key-unknown",
        lambda: {"priors": {"zz": bg.Normal(0, 1)}},
        r"unknown prior key\(s\) 'zz'; the keys are coef, Intercept, x",
    ),
    (
        "prior-for-dispersion-of-poisson",
        lambda: {"priors": {"dispersion": bg.Exponential(1)}},
        r"unknown prior key\(s\) 'dispersion'",
    ),
    (
        "prior-not-a-prior",
        lambda: {"priors": {"x": "normal(0, 1)"}},
        r"the prior for 'x' must be a real-valued prior",
    ),
    (
        "priors-not-a-dict",
        lambda: {"priors": [bg.Normal(0, 1)]},
        r"priors must be a dict of prior per key.*; got \(priors=list\)",
    ),
    (
        "prior-negative-scale",
        lambda: {"priors": {"x": bg.Normal(0, -1)}},
        r"Normal's sigma must be positive; got \(sigma=-1\)",
    ),
    (
        "sampler-unknown",
        lambda: {"sampler": "stan"},
        r"unknown sampler; the samplers are auto, compiled, numpyro, nutpie, pymc; "
        r"got \(sampler='stan'\)",
    ),
    ("draws-zero", lambda: {"draws": 0}, r"draws must be an integer >= 1; got \(draws=0\)"),
    (
        "draws-fraction",
        lambda: {"draws": 10.5},
        r"draws must be an integer >= 1; got \(draws=10\.5\)",
    ),
    ("draws-bool", lambda: {"draws": True}, r"draws must be an integer >= 1; got \(draws=True\)"),
    ("tune-negative", lambda: {"tune": -1}, r"tune must be an integer >= 0; got \(tune=-1\)"),
    (
        "tune-zero-with-nutpie",
        lambda: {"tune": 0},
        r"the nutpie sampler needs tune >= 1; raise tune or use sampler='pymc'",
    ),
    (
        "chains-text",
        lambda: {"chains": "2"},
        r"chains must be an integer >= 1; got \(chains='2'\)",
    ),
    (
        "target-accept-one",
        lambda: {"target_accept": 1},
        r"target_accept must be between 0 and 1; got \(target_accept=1\)",
    ),
    (
        "target-accept-text",
        lambda: {"target_accept": "high"},
        r"target_accept must be between 0 and 1",
    ),
    (
        "seed-text",
        lambda: {"seed": "a"},
        r"seed must be a whole number >= 0 or None; got \(seed='a'\)",
    ),
    (
        "seed-negative",
        lambda: {"seed": -3},
        r"seed must be a whole number >= 0 or None; got \(seed=-3\)",
    ),
    (
        "center-text",
        lambda: {"center": "no"},
        r"center must be True or False; got \(center='no'\)",
    ),
]


@pytest.mark.parametrize(("kwargs", "match"), [pytest.param(k, m, id=i) for i, k, m in FIT_CASES])
def test_bad_fit_arguments(kwargs: Callable, match: str, no_sampling) -> None:
    data = _frame()
    model = bg.GLM("count ~ x", data=data, family="poisson")
    _refused(lambda: model.fit(**{**CHEAP, **kwargs()}), match, data)


# --- predictions on new data -----------------------------------------------------------


@pytest.fixture(scope="module")
def fits() -> dict[str, Any]:
    """One model, its maximum-likelihood fit and one cheap posterior, as a formula model
    and as an arrays model (the same design and posterior without the formula)."""
    model = bg.GLM("count ~ x + g", data=_frame(), family="poisson", exposure="e")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        posterior = model.fit(**CHEAP, seed=1)
    design = model.design
    arrays = design_from_arrays(
        design.X, design.y, model.spec, names=list(design.names), offset=design.offset
    )
    return {
        "mle": model.fit_mle(),
        "posterior": posterior,
        "mle (arrays)": bg.fit_mle(
            design.X, design.y, family="poisson", names=list(design.names), offset=design.offset
        ),
        "posterior (arrays)": dataclasses.replace(posterior, design=arrays),
    }


def _new() -> pd.DataFrame:
    return pd.DataFrame(
        {"x": [0.1, -0.4, 1.2], "g": ["a", "b", "c"], "e": [1.0, 2.0, 3.0]}, index=["p", "q", "r"]
    )


def _new_at(column: str, value: Any, dtype: Any = None) -> pd.DataFrame:
    new = _new()
    values = new[column].astype(dtype or new[column].dtype).to_numpy(copy=True)
    values[1] = value
    return new.assign(**{column: values})


PREDICT_FRAME_CASES = [
    (
        "column-absent",
        lambda: (_new().drop(columns="g"), {}),
        r"the new data lack column\(s\) 'g' that the model uses",
    ),
    (
        "nan",
        lambda: (_new_at("x", np.nan), {}),
        r"missing values in 1 row\(s\), in columns x \(1\);.*the first is row 'q'",
    ),
    (
        "inf",
        lambda: (_new_at("x", np.inf), {}),
        r"X has 1 NaN or infinite value\(s\).*row 'q' of column 'x'; got \(x\['q'\]=inf\)",
    ),
    (
        "numbers-as-text",
        lambda: (_new().assign(x=["0.1", "-0.4", "1.2"]), {}),
        r"column 'x' holds numbers stored as text.*the model was fitted on numbers.*row 'p'; "
        r"got \(x\['p'\]='0\.1'\)",
    ),
    (
        "word-among-numbers",
        lambda: (_new_at("x", "oops", object), {}),
        r"column 'x' must hold numbers \(the model was fitted on numbers\), but 1 value\(s\) "
        r"are not.*row 'q'; got \(x\['q'\]='oops'\)",
    ),
    (
        "dates",
        lambda: (_new().assign(x=pd.date_range("2024-01-01", periods=3)), {}),
        r"column 'x' must hold numbers.*3 value\(s\) are not.*row 'p'",
    ),
    (
        "unseen-level",
        lambda: (_new_at("g", "z"), {}),
        r"column 'g' has level\(s\) 'z' not seen in the training data \(known: a, b, c\).*"
        r"the first is row 'q'; got \(g\['q'\]='z'\)",
    ),
    (
        "numbers-for-a-factor",
        lambda: (_new().assign(g=[1, 2, 3]), {}),
        r"column 'g' has level\(s\) '1', '2', '3' not seen.*row 'p'; got \(g\['p'\]=1\)",
    ),
    (
        "exposure-zero",
        lambda: (_new_at("e", 0.0), {}),
        r"exposure must be positive.*the first is row 'q'; got \(e\['q'\]=0\.0\)",
    ),
    (
        "exposure-infinite",
        lambda: (_new_at("e", np.inf), {}),
        r"offset has 1 NaN or infinite.*row 'q'; got \(log\(e\)\['q'\]=inf\)",
    ),
    ("no-rows", lambda: (_new().iloc[:0], {}), r"the new data have no rows"),
    (
        "repeated-column",
        lambda: (pd.concat([_new(), _new()[["x"]]], axis=1), {}),
        r"more than one column named 'x'",
    ),
    (
        "array-for-a-formula-model",
        lambda: (np.ones((3, 4)), {}),
        r"pass new data as a DataFrame with the same columns; got \(new_data=ndarray\)",
    ),
    (
        "offset-wrong-length",
        lambda: (_new(), {"offset": [0.0, 1.0]}),
        r"offset must have one value per row of X \(3\); got \(offset.shape=\(2,\)\)",
    ),
    (
        "offset-nan",
        lambda: (_new(), {"offset": [0.0, np.nan, 1.0]}),
        r"offset has 1 NaN or infinite.*row 1; got \(offset\[1\]=nan\)",
    ),
    (
        "probability-out-of-range",
        lambda: (_new(), {"prob": 1.5}),
        r"prob must be between 0 and 1; got \(prob=1\.5\)",
    ),
    (
        "scale-unknown",
        lambda: (_new(), {"scale": "probability"}),
        r"scale must be one of link, mean",
    ),
]

PREDICT_POSTERIOR_CASES = [
    (
        "trials-for-poisson",
        lambda: (_new(), {"scale": "response", "trials": [1, 2, 3]}),
        r"trials= only applies to binomial models; drop it; got \(family='poisson'\)",
    ),
    (
        "chunk-zero",
        lambda: (_new(), {"chunk": 0}),
        r"chunk must be a whole number of rows >= 1; got \(chunk=0\)",
    ),
    (
        "chunk-negative",
        lambda: (_new(), {"chunk": -1}),
        r"chunk must be a whole number of rows >= 1",
    ),
    (
        "seed-text",
        lambda: (_new(), {"scale": "response", "seed": "a"}),
        r"seed must be a whole number >= 0 or None; got \(seed='a'\)",
    ),
]

_ROW = np.array([[1.0, 0.1, 0.0, 0.0], [1.0, -0.4, 1.0, 0.0]])
PREDICT_ARRAY_CASES = [
    (
        "wrong-columns",
        lambda: (np.ones((2, 3)), {"offset": 0.0}),
        r"new X must have 4 columns \(Intercept, x, g\[T\.b\], g\[T\.c\]\); "
        r"got \(X.shape=\(2, 3\)\)",
    ),
    (
        "one-dimensional",
        lambda: (np.ones(4), {"offset": 0.0}),
        r"new X must have 4 columns.*got \(X.shape=\(4,\)\)",
    ),
    (
        "three-dimensional",
        lambda: (np.ones((1, 2, 4)), {"offset": 0.0}),
        r"new X must have 4 columns.*got \(X.shape=\(1, 2, 4\)\)",
    ),
    (
        "nan",
        lambda: (_put(_ROW, (1, 1), np.nan), {"offset": 0.0}),
        r"X has 1 NaN or infinite value\(s\).*the first is row 1 of column 'x'; "
        r"got \(x\[1\]=nan\)",
    ),
    (
        "numbers-as-text",
        lambda: (_ROW.astype(str), {"offset": 0.0}),
        r"new X must hold numbers; it holds numbers stored as text.*row 0 of column 0",
    ),
    (
        "ragged",
        lambda: ([[1.0, 0.1, 0.0, 0.0], [1.0]], {"offset": 0.0}),
        r"new X must be a rectangular array of numbers",
    ),
    ("no-rows", lambda: (np.ones((0, 4)), {"offset": 0.0}), r"X must have at least one row"),
    (
        "offset-absent",
        lambda: (_ROW, {}),
        r"the model was fitted with an offset given as values, so the new rows need theirs: "
        r"pass offset=",
    ),
    (
        "offset-wrong-length",
        lambda: (_ROW, {"offset": [0.0, 1.0, 2.0]}),
        r"offset must have one value per row of X \(2\); got \(offset.shape=\(3,\)\)",
    ),
    (
        "offset-as-words",
        lambda: (_ROW, {"offset": ["a", "b"]}),
        r"offset must hold numbers; it holds values that are not numbers.*row 0; "
        r"got \(offset\[0\]='a'\)",
    ),
]


def _predict_params() -> list:
    tables = {
        "mle": PREDICT_FRAME_CASES,
        "posterior": PREDICT_FRAME_CASES + PREDICT_POSTERIOR_CASES,
        "mle (arrays)": PREDICT_ARRAY_CASES,
        "posterior (arrays)": PREDICT_ARRAY_CASES,
    }
    return [
        pytest.param(result, make, match, id=f"{result}.predict-{id}")
        for result, cases in tables.items()
        for id, make, match in cases
    ]


@pytest.mark.parametrize(("result", "make", "match"), _predict_params())
def test_bad_new_data(fits, result: str, make: Callable, match: str) -> None:
    new_data, kwargs = make()
    fitted = fits[result]
    _refused(lambda: fitted.predict(new_data, **kwargs), match, new_data, kwargs)


def test_a_refused_prediction_leaves_the_fit_as_it_was(fits) -> None:
    for name in ("mle", "posterior"):
        fitted = fits[name]
        good = fitted.predict(_new())
        with pytest.raises(BayesGLMError):
            fitted.predict(_new().assign(x=["0.1", "-0.4", "1.2"]))
        pd.testing.assert_frame_equal(fitted.predict(_new()), good)


# --- saved fits ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(fits, tmp_path_factory) -> Any:
    return fits["posterior"].save(tmp_path_factory.mktemp("saved") / "fit.nc")


def _edited(saved, path, edit: Callable[[dict, xr.DataTree], xr.DataTree]) -> None:
    with xr.open_datatree(saved, engine="h5netcdf") as opened:
        tree = opened.load()
    info = json.loads(tree.attrs["bayesglm"])
    edit(info, tree).to_netcdf(path, engine="h5netcdf")


def _without(group: str) -> Callable:
    def edit(info: dict, tree: xr.DataTree) -> xr.DataTree:
        kept = xr.DataTree.from_dict(
            {name: tree[name].to_dataset() for name in tree.children if name != group}
        )
        kept.attrs.update(tree.attrs)
        return kept

    return edit


def _described(**changes: Any) -> Callable:
    def edit(info: dict, tree: xr.DataTree) -> xr.DataTree:
        tree.attrs["bayesglm"] = json.dumps({**info, **changes})
        return tree

    return edit


def _description_text(text: str) -> Callable:
    def edit(info: dict, tree: xr.DataTree) -> xr.DataTree:
        tree.attrs["bayesglm"] = text
        return tree

    return edit


def _bytes(make: Callable[[bytes], bytes]) -> Callable:
    def write(saved, path) -> None:
        path.write_bytes(make(saved.read_bytes()))

    return write


def _flipped(data: bytes) -> bytes:
    damaged = bytearray(data)
    middle = len(damaged) // 3
    damaged[middle : middle + 2000] = bytes(b ^ 0xFF for b in damaged[middle : middle + 2000])
    return bytes(damaged)


LOAD_CASES = [
    ("missing-file", None, r"no such file; give the path of a saved fit"),
    ("a-folder", "folder", r"the path is a folder; give the path of a saved fit"),
    ("empty-file", _bytes(lambda data: b""), r"could not be read as a saved bayesglm fit"),
    (
        "truncated-half",
        _bytes(lambda data: data[: len(data) // 2]),
        r"could not be read as a saved bayesglm fit \(OSError: .*truncated file",
    ),
    (
        "truncated-header",
        _bytes(lambda data: data[:100]),
        r"could not be read as a saved bayesglm fit",
    ),
    (
        "bytes-damaged",
        _bytes(_flipped),
        r"could not be read as a saved bayesglm fit|damaged bayesglm save file",
    ),
    (
        "not-netcdf",
        _bytes(lambda data: b"y,x\n1,2\n"),
        r"could not be read as a saved bayesglm fit.*file signature not found",
    ),
    ("foreign-netcdf", "foreign", r"not a bayesglm save file \(no model description\)"),
    (
        "description-not-json",
        lambda saved, path: _edited(saved, path, _description_text("{oops")),
        r"damaged bayesglm save file \(its model description is not valid JSON: JSONDecodeError",
    ),
    (
        "description-a-list",
        lambda saved, path: _edited(saved, path, _description_text("[1, 2]")),
        r"damaged bayesglm save file \(its model description is a list, not a JSON object",
    ),
    (
        "posterior-missing",
        lambda saved, path: _edited(saved, path, _without("posterior")),
        r"damaged bayesglm save file \(the group 'posterior' is missing",
    ),
    (
        "design-missing",
        lambda saved, path: _edited(saved, path, _without("bayesglm_design")),
        r"damaged bayesglm save file \(the group 'bayesglm_design' is missing",
    ),
    (
        "unknown-family",
        lambda saved, path: _edited(saved, path, _described(family="poison")),
        r"damaged bayesglm save file \(family 'poison' with link 'log' is not a model",
    ),
    (
        "impossible-link",
        lambda saved, path: _edited(saved, path, _described(link="logit")),
        r"damaged bayesglm save file \(family 'poisson' with link 'logit' is not a model",
    ),
    (
        "newer-format",
        lambda saved, path: _edited(saved, path, _described(format_version=99)),
        r"format version 99, which this bayesglm",
    ),
]


@pytest.mark.parametrize(("make", "match"), [pytest.param(m, r, id=i) for i, m, r in LOAD_CASES])
def test_bad_save_files(saved, tmp_path, make: Any, match: str) -> None:
    path = tmp_path / "fit.nc"
    if make == "folder":
        path.mkdir()
    elif make == "foreign":
        xr.DataTree.from_dict({"a": xr.Dataset({"v": ("x", [1.0])})}).to_netcdf(
            path, engine="h5netcdf"
        )
    elif make is not None:
        make(saved, path)
    with pytest.raises(BayesGLMError, match=match):
        bg.load(path)


@pytest.mark.parametrize("path", [None, 3, ["fit.nc"]])
def test_a_path_that_is_not_a_path(path) -> None:
    with pytest.raises(BayesGLMError, match=r"path must be a file path \(str or pathlib.Path\)"):
        bg.load(path)


# --- the command line ------------------------------------------------------------------

GOOD_CSV = _frame()[["x", "g", "e", "count"]].round(3).to_csv(index=False)


def _csv(text: str) -> Callable:
    return lambda tmp_path: _write(tmp_path / "data.csv", text)


def _write(path, text: str) -> str:
    path.write_text(text)
    return str(path)


CSV_CASES = [
    (
        "cut-mid-row",
        _csv(GOOD_CSV[: GOOD_CSV.index("\n", 100) + 4]),
        r"line \d+ of the CSV file has 1 field\(s\) but the header has 4; "
        r"the file may be cut short",
    ),
    (
        "ragged-line-in-the-middle",
        _csv(GOOD_CSV.replace("\n", "\n0.5,a\n", 1)),
        r"line 2 of the CSV file has 2 field\(s\) but the header has 4",
    ),
    (
        "ragged-last-line-long",
        _csv(GOOD_CSV + "0.5,a,1.0,2,9\n"),
        r"the CSV file could not be read \(Error tokenizing data.*"
        r"Expected 4 fields in line 14, saw 5",
    ),
    (
        "ragged-last-line-short",
        _csv(GOOD_CSV + "0.5,a\n"),
        r"line 14 of the CSV file has 2 field\(s\) but the header has 4",
    ),
    ("empty-file", _csv(""), r"the CSV file could not be read \(No columns to parse from file\)"),
    ("blank-lines-only", _csv("\n\n\n"), r"the CSV file could not be read"),
    ("header-only", _csv("x,g,e,count\n"), r"the CSV file has a header but no data rows"),
    (
        "open-quote",
        _csv('x,g,e,count\n0.5,"a,1.0,2\n'),
        r"the CSV file could not be read \(.*EOF inside string",
    ),
    (
        "repeated-header",
        _csv(GOOD_CSV.replace("x,g,", "x,x,", 1)),
        r"the CSV header repeats column name\(s\) 'x'",
    ),
    (
        "missing-file",
        lambda tmp_path: str(tmp_path / "absent.csv"),
        r"no such file; give a CSV file",
    ),
    ("a-folder", lambda tmp_path: str(tmp_path), r"no such file; give a CSV file"),
    (
        "negative-count",
        _csv(GOOD_CSV.replace("\n", "\n0.5,a,1.0,-1\n", 1)),
        r"poisson model must be integers.*the first is row 0; got \(count\[0\]=-1\.0\)",
    ),
    (
        "word-among-numbers",
        _csv(GOOD_CSV.replace("\n", "\noops,a,1.0,2\n", 1)),
        r"column 'x' mixes numbers with 1 value\(s\).*the first is row 0; got \(x\[0\]='oops'\)",
    ),
    (
        "inf",
        _csv(GOOD_CSV.replace("\n", "\ninf,a,1.0,2\n", 1)),
        r"X has 1 NaN or infinite value\(s\).*row 0 of column 'x'",
    ),
]

MLE = ["--formula", "count ~ x + g", "--family", "poisson"]


@pytest.mark.parametrize(("make", "match"), [pytest.param(m, r, id=i) for i, m, r in CSV_CASES])
def test_bad_csv_files(make: Callable, match: str, tmp_path, capsys) -> None:
    _status_2(["mle", make(tmp_path), *MLE], match, capsys)


ARGUMENT_CASES = [
    (
        "unknown-family",
        ["mle", "{csv}", "--formula", "count ~ x", "--family", "poison"],
        r"unknown family.*got \(family='poison'\)",
    ),
    ("unknown-link", ["mle", "{csv}", *MLE, "--link", "lgo"], r"unknown link.*got \(link='lgo'\)"),
    (
        "impossible-family-link",
        ["mle", "{csv}", *MLE, "--link", "logit"],
        r"the poisson family does not allow the logit link",
    ),
    (
        "formula-syntax",
        ["mle", "{csv}", "--formula", "count ~ x +", "--family", "poisson"],
        r"the formula could not be parsed",
    ),
    (
        "formula-unknown-column",
        ["mle", "{csv}", "--formula", "count ~ nope", "--family", "poisson"],
        r"could not be evaluated",
    ),
    (
        "weights-column-absent",
        ["mle", "{csv}", *MLE, "--weights", "wt"],
        r"weights= names a column that is not in the data",
    ),
    (
        "missing-value-refused",
        ["mle", "{holes}", *MLE, "--missing", "raise"],
        r"1 row\(s\) have missing values, in columns x \(1\).*the first is row 0",
    ),
    (
        "prior-unknown-distribution",
        ["fit", "{csv}", *MLE, "--prior", "x=gauss(0,1)"],
        r"unknown prior distribution.*got \('gauss'\)",
    ),
    (
        "prior-malformed",
        ["fit", "{csv}", *MLE, "--prior", "x=1"],
        r"a prior is written name=distribution\(args\)",
    ),
    (
        "prior-unknown-key",
        ["fit", "{csv}", *MLE, "--prior", "zz=normal(0,1)"],
        r"unknown prior key\(s\) 'zz'",
    ),
    (
        "prior-negative-scale",
        ["fit", "{csv}", *MLE, "--prior", "x=normal(0,-1)"],
        r"Normal's sigma must be positive",
    ),
    (
        "sampler-unknown",
        ["fit", "{csv}", *MLE, "--sampler", "stan"],
        r"argument --sampler: invalid choice: 'stan'.*see 'bayesglm fit --help'",
    ),
    (
        "draws-not-a-number",
        ["fit", "{csv}", *MLE, "--draws", "many"],
        r"argument --draws: invalid int value: 'many'",
    ),
    (
        "draws-zero",
        ["fit", "{csv}", *MLE, "--draws", "0"],
        r"draws must be an integer >= 1; got \(draws=0\)",
    ),
    (
        "tune-zero-nutpie",
        ["fit", "{csv}", *MLE, "--tune", "0", "--sampler", "nutpie"],
        r"the nutpie sampler needs tune >= 1",
    ),
    (
        "save-to-missing-folder",
        ["fit", "{csv}", *MLE, "--save", "{tmp}/no/such/fit.nc"],
        r"the folder '.*/no/such' does not exist; create it or choose another path",
    ),
    ("no-command", [], r"the following arguments are required: command"),
    ("unknown-option", ["mle", "{csv}", *MLE, "--colour"], r"unrecognized arguments: --colour"),
    (
        "predict-damaged-fit",
        ["predict", "{damaged}", "{new}"],
        r"could not be read as a saved bayesglm fit",
    ),
    (
        "predict-truncated-new-csv",
        ["predict", "{fit}", "{cut}"],
        r"line 3 of the CSV file has 2 field\(s\) but the header has 3",
    ),
    (
        "predict-column-absent",
        ["predict", "{fit}", "{csv_no_g}"],
        r"the new data lack column\(s\) 'g'",
    ),
    (
        "predict-unseen-level",
        ["predict", "{fit}", "{unseen}"],
        r"column 'g' has level\(s\) 'z' not seen.*row 1",
    ),
    (
        "predict-trials-for-poisson",
        ["predict", "{fit}", "{new}", "--scale", "response", "--trials", "e"],
        r"trials= only applies to binomial models",
    ),
    (
        "predict-output-to-missing-folder",
        ["predict", "{fit}", "{new}", "--output", "{tmp}/no/out.csv"],
        r"the folder '.*/no' does not exist; create it or choose another path",
    ),
    (
        "predict-prob",
        ["predict", "{fit}", "{new}", "--prob", "2"],
        r"prob must be between 0 and 1",
    ),
]


@pytest.fixture()
def files(tmp_path, saved) -> dict[str, str]:
    new = "x,g,e\n0.1,a,1.0\n-0.4,b,2.0\n"
    damaged = tmp_path / "damaged.nc"
    damaged.write_bytes(saved.read_bytes()[:5000])
    return {
        "tmp": str(tmp_path),
        "fit": str(saved),
        "damaged": str(damaged),
        "csv": _write(tmp_path / "data.csv", GOOD_CSV),
        "holes": _write(tmp_path / "holes.csv", GOOD_CSV.replace("\n", "\n,a,1.0,2\n", 1)),
        "new": _write(tmp_path / "new.csv", new),
        "cut": _write(tmp_path / "cut.csv", new[:-6]),
        "csv_no_g": _write(tmp_path / "no_g.csv", "x,e\n0.1,1.0\n"),
        "unseen": _write(tmp_path / "unseen.csv", new.replace("-0.4,b", "-0.4,z")),
    }


@pytest.mark.parametrize(
    ("argv", "match"), [pytest.param(a, r, id=i) for i, a, r in ARGUMENT_CASES]
)
def test_bad_command_lines(argv: list[str], match: str, files, capsys, no_sampling) -> None:
    _status_2([arg.format(**files) for arg in argv], match, capsys)


def _status_2(argv: list[str], match: str, capsys) -> None:
    """Status 2 and one line on stderr: the error (so no traceback)."""
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("bayesglm: error: "), err
    assert re.search(match, err[0]), (match, err[0])


def test_names_that_relabel_a_frames_own_columns_are_refused() -> None:
    # names= is positional: with X's columns [x, Intercept] and names=[Intercept, x]
    # the slope was reported as the intercept and the intercept as the slope.
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"x": rng.normal(size=50), "Intercept": 1.0})
    y = rng.poisson(np.exp(0.2 + 0.5 * X["x"]))
    with pytest.raises(BayesGLMError, match="names= disagrees with the column names"):
        bg.fit_mle(X, y, family="poisson", names=["Intercept", "x"])
    same = bg.fit_mle(X, y, family="poisson", names=["x", "Intercept"])
    unnamed = bg.fit_mle(X.to_numpy(), y, family="poisson", names=["x", "Intercept"])
    pd.testing.assert_series_equal(same.params, unnamed.params)
