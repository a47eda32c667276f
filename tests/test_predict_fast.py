"""Posterior predictions by selection over threads give what the plain computation gave.

The plain computation (``_plain`` below, the code ``GLMResult.predict`` ran before)
forms the draws × rows matrix, transforms every draw and calls ``np.quantile``. The
fast one (:mod:`bayesglm.draw_summaries`) selects two order statistics per interval
end, chunk by chunk, on several threads. Where both see the same draws, the interval
ends are the same numbers to the last bit (the same order statistics, the same
interpolation); means and sds agree to 1e-12 relative (only the order of summation
differs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm import _rowpass
from bayesglm.draw_summaries import (
    chunk_generator,
    chunk_rows,
    quantile_positions,
    row_quantiles,
    summarize_rows,
)
from bayesglm.poisson_draws import poisson_draws
from bayesglm.predict import eta_range, row_chunks

from .test_predict import _fit

COLUMNS = ["estimate", "std_error", "conf_low", "conf_high"]
# Families with a likelihood: a quasi-family has no posterior to draw responses from.
PAIRS = [
    (family, bg.LINKS[link])
    for family in bg.FAMILIES.values()
    if family.has_likelihood
    for link in family.links
]
PAIR_IDS = [f"{family.name}-{link.name}" for family, link in PAIRS]


def _plain(values: np.ndarray, prob: float) -> dict[str, np.ndarray]:
    """Mean, sd and np.quantile of each column of a draws × rows matrix."""
    tails = [(1 - prob) / 2, (1 + prob) / 2]
    low, high = np.quantile(values, tails, axis=0, method="linear")
    return {
        "estimate": values.mean(axis=0),
        "std_error": values.std(axis=0, ddof=1),
        "conf_low": low,
        "conf_high": high,
    }


def _plain_rows(beta, X, offset, link, valid, scale, prob):
    """The computation predict() made before: every draw of every row at once."""
    values = beta @ X.T + offset
    outside = 1.0 - valid.includes(values).mean(axis=0)
    columns = {name: np.full(X.shape[0], np.nan) for name in COLUMNS}
    kept = np.arange(X.shape[0])
    if scale != "link":
        kept = kept[outside == 0]
        values = link.inverse(values[:, outside == 0])
    for name, column in _plain(values, prob).items():
        columns[name][kept] = column
    return columns, outside


def _assert_same(found, expected) -> None:
    """Interval ends equal to the last bit; means and sds to 1e-12 relative."""
    for name in ("conf_low", "conf_high"):
        np.testing.assert_array_equal(found[name], expected[name], err_msg=name)
    for name in ("estimate", "std_error"):
        np.testing.assert_allclose(found[name], expected[name], rtol=1e-12, err_msg=name)


@pytest.fixture
def threads(monkeypatch):
    """Run passes on ``k`` threads (when there is work for them) on any machine."""

    def use(k: int) -> None:
        monkeypatch.setattr(_rowpass, "_cores", lambda: k)
        monkeypatch.setattr(_rowpass, "_MIN_ELEMENTS_PER_THREAD", 1)

    return use


# --- 1. the quantiles -----------------------------------------------------------------------


def _draw_sets() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    continuous = rng.normal(size=(40, 1000))
    with_nan = rng.normal(size=(6, 500))
    with_nan[1, 7] = with_nan[3, :] = np.nan
    infinite = rng.exponential(size=(5, 300))
    infinite[0, :] = np.inf
    infinite[1, :20] = np.inf
    infinite[2, :250] = -np.inf
    return {
        "continuous": continuous,
        "ties": np.round(continuous, 1),
        "all_equal": np.full((3, 200), 2.5),
        "counts": rng.poisson(1.5, size=(30, 999)).astype(float),
        "zero_one": rng.binomial(1, 0.02, size=(30, 1000)).astype(float),
        "nan": with_nan,
        "infinite": infinite,
        "one_draw": rng.normal(size=(4, 1)),
        "two_draws": rng.normal(size=(4, 2)),
    }


@pytest.mark.parametrize("prob", [0.95, 0.5, 0.999, 1e-9, 0.8])
@pytest.mark.parametrize("kind", list(_draw_sets()))
def test_row_quantiles_are_numpys_to_the_last_bit(kind, prob) -> None:
    draws = _draw_sets()[kind]
    qs = [(1 - prob) / 2, (1 + prob) / 2, 0.5]
    with np.errstate(invalid="ignore"):  # inf - inf in numpy's interpolation
        expected = np.quantile(draws, qs, axis=1, method="linear")
        found = row_quantiles(draws.copy(), qs)
    np.testing.assert_array_equal(np.array(found), expected)


def test_quantile_positions_are_numpys() -> None:
    # numpy's linear method: virtual index (n - 1) q between order statistics
    # floor and floor + 1; 4000 draws at 2.5% and 97.5%: 99.975 and 3899.025.
    low, high, weight = quantile_positions(4000, 0.025)
    assert (low, high) == (99, 100) and weight == pytest.approx(0.975)
    low, high, weight = quantile_positions(4000, 0.975)
    assert (low, high) == (3899, 3900) and weight == pytest.approx(0.025)
    assert quantile_positions(5, 0.5) == (2, 3, 0.0)


# --- 2. every family and link, against the plain computation ---------------------------------


def _dyadic_case(family, link, n_draws: int = 1000, seed: int = 0):
    """Draws and rows whose linear predictors are exact in any order of summation
    (dyadic numbers with few bits), so both computations see the very same η.

    Half the draws repeat the other half (ties everywhere); rows straddle the edges
    of the range where the pair defines a mean (partly and wholly outside), and one
    row sits far out on a saturating link (ties in the mean where η differs).
    """
    rng = np.random.default_rng(seed)
    valid = eta_range(family, link)
    if np.isfinite(valid.low):
        center, edge = valid.low + 1.0, valid.low
    elif np.isfinite(valid.high):
        center, edge = valid.high - 1.0, valid.high
    else:
        center, edge = 0.5, None
    half = np.c_[np.full(n_draws // 2, center), rng.integers(-512, 512, (n_draws // 2, 4)) / 2**12]
    beta = rng.permutation(np.r_[half, half])
    X = np.c_[np.ones(60), rng.integers(-8, 8, (60, 4)) / 2**4]
    offset = rng.integers(-16, 16, 60) / 2**6
    if edge is not None:
        offset[:4] = edge - center  # about half the draws outside
        offset[4:6] = (edge - center) * 5  # all outside
    else:
        offset[:2] = [30.0, -30.0]  # expit, ndtr, ... round to 0 or 1
    return beta, X, offset, valid


@pytest.mark.parametrize("scale", ["link", "mean"])
@pytest.mark.parametrize(("family", "link"), PAIRS, ids=PAIR_IDS)
def test_link_and_mean_scale_equal_the_plain_computation(family, link, scale, threads) -> None:
    threads(3)
    beta, X, offset, valid = _dyadic_case(family, link)
    expected, expected_outside = _plain_rows(beta, X, offset, link, valid, scale, 0.95)
    with np.errstate(all="ignore"):
        found, outside = summarize_rows(beta, X, offset, link, valid, scale, 0.95, chunk=7)
    np.testing.assert_array_equal(outside, expected_outside)
    _assert_same(found, expected)
    if np.isfinite(valid.low) or np.isfinite(valid.high):
        assert 0 < outside[:4].min() and outside[:4].max() < 1 and (outside[4:6] == 1).all()
        assert (scale == "link") == np.isfinite(found["estimate"][:6]).all()


def _respond(family, natural, trials, store):
    """Responses from the family at each draw's mean, kept in ``store`` for the test."""

    def respond(mu, kept, rng):
        drawn = family.sample(mu, natural.T, trials[kept, None], rng)
        store[:, kept] = drawn.T
        return drawn

    return respond


@pytest.mark.parametrize(("family", "link"), PAIRS, ids=PAIR_IDS)
def test_response_scale_summarizes_the_very_draws_it_made(family, link, threads) -> None:
    threads(2)
    beta, X, offset, valid = _dyadic_case(family, link, n_draws=400, seed=1)
    natural = np.random.default_rng(2).uniform(2.0, 4.0, (beta.shape[0], 1))
    trials = np.random.default_rng(3).integers(1, 20, X.shape[0])
    store = np.full((beta.shape[0], X.shape[0]), np.nan)
    respond = _respond(family, natural, trials, store)
    with np.errstate(all="ignore"):
        found, outside = summarize_rows(
            beta, X, offset, link, valid, "response", 0.9, respond=respond, seed=4, chunk=9
        )
    inside = outside == 0
    expected = _plain(store[:, inside], 0.9)
    for name in COLUMNS:
        assert np.isnan(found[name][~inside]).all()
    _assert_same({name: found[name][inside] for name in COLUMNS}, expected)


# --- 3. chunks, threads and the random streams -----------------------------------------------


@pytest.mark.parametrize("scale", ["link", "mean", "response"])
def test_threads_never_change_a_prediction_nor_chunks_a_mean(scale, threads) -> None:
    rng = np.random.default_rng(8)
    beta, X = rng.normal(0, 0.3, (500, 6)), rng.normal(size=(301, 6))
    offset, family, link = rng.normal(size=301), bg.FAMILIES["poisson"], bg.LINKS["log"]
    valid, natural = eta_range(family, link), np.ones((500, 1))
    trials = np.ones(301, dtype=int)

    def run(k: int, chunk: int | None) -> dict:
        threads(k)
        store = np.empty((500, 301))
        respond = _respond(family, natural, trials, store)
        columns, _ = summarize_rows(
            beta, X, offset, link, valid, scale, 0.95, respond=respond, seed=3, chunk=chunk
        )
        return columns

    single = run(1, 10)
    for k in (2, 5):
        for name in COLUMNS:
            np.testing.assert_array_equal(run(k, 10)[name], single[name])
    if scale != "response":
        whole = run(1, 301)
        for name in COLUMNS:
            np.testing.assert_allclose(whole[name], single[name], rtol=1e-13)


def test_each_chunk_draws_from_its_own_child_of_the_seed() -> None:
    children = np.random.default_rng(11).spawn(4)
    for index, child in enumerate(children):
        assert chunk_generator(11, index).random(3).tolist() == child.random(3).tolist()


# --- 4. through GLMResult.predict -------------------------------------------------------------


@pytest.fixture(scope="module")
def exposures():
    rng = np.random.default_rng(12)
    df = pd.DataFrame({"x": rng.normal(size=300), "months": rng.uniform(1, 12, 300)})
    df["events"] = rng.poisson(df["months"] * np.exp(-0.5 + 0.4 * df["x"]))
    model = bg.GLM("events ~ x", data=df, family="poisson", exposure="months")
    return df, _fit(model, seed=6, draws=700)


@pytest.mark.parametrize("scale", ["link", "mean"])
def test_predict_equals_the_plain_computation_on_a_fit(exposures, scale) -> None:
    df, fit = exposures
    beta = fit.draws()[fit.names].to_numpy()
    eta = beta @ fit.design.X.T + np.log(df["months"].to_numpy())
    values = eta if scale == "link" else np.exp(eta)
    found = fit.predict(scale=scale, prob=0.9, chunk=37)
    for name, column in _plain(values, 0.9).items():
        # η from another order of summation: equal to a few units in the last place
        np.testing.assert_allclose(found[name], column, rtol=1e-12)


def test_response_draws_follow_the_documented_streams(exposures) -> None:
    df, fit = exposures
    beta = fit.draws()[fit.names].to_numpy()
    mu = np.exp(beta @ fit.design.X.T + np.log(df["months"].to_numpy()))
    chunk, parts = 40, list(row_chunks(len(df), 700, 40))
    children = np.random.default_rng(99).spawn(len(parts))
    pairs = zip(children, parts, strict=True)
    # Each chunk's responses are drawn rows x draws, row after row (poisson_draws walks
    # its means in memory order).
    draws = np.hstack([poisson_draws(mu[:, part].T.copy(), child).T for child, part in pairs])
    found = fit.predict(scale="response", seed=99, chunk=chunk)
    for name, column in _plain(draws, 0.95).items():
        np.testing.assert_allclose(found[name], column, rtol=1e-12, err_msg=name)


def test_rows_of_precision_weight_zero_stay_nan() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    df = pd.DataFrame({"x": x, "y": 1 + x + rng.normal(size=50), "w": 1.0})
    fit = _fit(bg.GLM("y ~ x", data=df, family="gaussian", weights="w"), seed=1)
    new = pd.DataFrame({"x": [0.0, 1.0], "w": [0.0, 4.0]}, index=["none", "some"])
    table = fit.predict(new, scale="response", weights="w")
    assert table.loc["none"].isna().all() and table.loc["some"].notna().all()


# --- 5. memory ----------------------------------------------------------------------------------


_PEAK = """
import sys, tracemalloc
import numpy as np
import bayesglm as bg
from bayesglm import _rowpass
from bayesglm.draw_summaries import summarize_rows
from bayesglm.predict import eta_range

_rowpass._cores = lambda: 2  # two threads on any machine
_rowpass._MIN_ELEMENTS_PER_THREAD = 1
scale, n, n_draws, chunk = sys.argv[1], 20_000, 400, 50
rng = np.random.default_rng(1)
beta, X, offset = rng.normal(0, 0.1, (n_draws, 5)), rng.normal(size=(n, 5)), np.zeros(n)
family, link = bg.FAMILIES["poisson"], bg.LINKS["log"]

def summarize(rows):
    summarize_rows(
        beta, X[rows], offset[rows], link, eta_range(family, link), scale, 0.95,
        respond=lambda mu, kept, rng: family.sample(mu, None, None, rng), chunk=chunk,
    )

summarize(slice(0, 4 * chunk))  # a first use's one-time bookkeeping, before the count
tracemalloc.start()
summarize(slice(None))
print(tracemalloc.get_traced_memory()[1])
"""


@pytest.mark.parametrize("scale", ["mean", "response"])
def test_no_array_of_all_rows_draws_is_made(scale) -> None:
    # In a process of its own: tracemalloc counts every thread's allocations, and in
    # a full test run threads that earlier tests leave behind (a Dask client's event
    # loop) allocated 0.5 MB during the count.
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _PEAK, scale], capture_output=True, text=True, check=True
    )
    peak = int(done.stdout.split()[-1])
    n, n_draws, chunk = 20_000, 400, 50
    chunk_bytes, whole = chunk * n_draws * 8, n * n_draws * 8
    # Per thread at most four chunk-sized arrays (measured: about two for the mean
    # scale, three for the response scale); for the rows, the five output columns
    # and their labels; and 256 kB to spare.
    assert peak < 2 * 4 * chunk_bytes + 6 * n * 8 + 2**18
    assert 2 * 4 * chunk_bytes + 6 * n * 8 + 2**18 < whole / 20


def test_the_default_chunk_holds_about_half_a_million_numbers() -> None:
    assert chunk_rows(4000) == 125 and chunk_rows(4000, 7) == 7 and chunk_rows(10**7) == 1
