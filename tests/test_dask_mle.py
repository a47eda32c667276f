"""fit_mle on row-chunked Dask inputs equals the in-memory fit (and so R's glm()).

Every R fixture is refitted through Dask with small, ragged row chunks on the
synchronous scheduler and compared with the in-memory fit to 1e-10 relative; a
scheduler that inspects every computed result shows that no length-n array reaches
the client during a fit; a ``distributed`` cluster fits a Parquet folder.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm.errors import BayesGLMError

from .conftest import as_array, r_cases

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

CASES = r_cases()
RTOL = 1e-10


def _ragged_chunks(n: int, seed: int) -> tuple[int, ...]:
    """Row chunks of uneven sizes, several of a few rows (one row at least)."""
    rng = np.random.default_rng(seed)
    cuts = np.unique(rng.integers(1, n, size=max(2, n // 8)))
    return tuple(np.diff(np.r_[0, cuts, n]).tolist())


def _chunked(values: np.ndarray | None, chunks: tuple[int, ...]):
    if values is None:
        return None
    if values.ndim == 2:
        return da.from_array(values, chunks=(chunks, -1))
    return da.from_array(values, chunks=(chunks,))


def _fits(case: dict, family: object = None) -> tuple[bg.MLEResult, bg.MLEResult]:
    X, y = np.asarray(case["X"], dtype=float), np.asarray(case["y"], dtype=float)
    extras = {arg: as_array(case[arg]) for arg in ("offset", "weights", "trials")}
    given = {"family": family or case["family"], "link": case["link"], "names": case["columns"]}
    chunks = _ragged_chunks(len(y), seed=len(case["name"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        memory = bg.fit_mle(X, y, **extras, **given)
        with dask.config.set(scheduler="synchronous"):
            chunked = bg.fit_mle(
                _chunked(X, chunks),
                _chunked(y, chunks),
                **{arg: _chunked(v, chunks) for arg, v in extras.items()},
                **given,
            )
    return memory, chunked


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_chunked_fit_equals_the_in_memory_fit(case: dict) -> None:
    memory, chunked = _fits(case)
    assert chunked.converged and chunked.n_iter == memory.n_iter
    assert chunked.names == memory.names
    np.testing.assert_allclose(chunked.params_array, memory.params_array, rtol=RTOL)
    scale = np.abs(memory.cov_unscaled).max()
    np.testing.assert_allclose(
        chunked.cov_unscaled, memory.cov_unscaled, rtol=RTOL, atol=RTOL * scale
    )
    for field in ("deviance", "null_deviance", "dispersion", "llf", "aic", "bic"):
        np.testing.assert_allclose(getattr(chunked, field), getattr(memory, field), rtol=RTOL)
    assert (chunked.df_resid, chunked.df_null, chunked.nobs, chunked.k_params) == (
        memory.df_resid,
        memory.df_null,
        memory.nobs,
        memory.k_params,
    )
    if memory.theta is not None:
        np.testing.assert_allclose(chunked.theta, memory.theta, rtol=RTOL)
        np.testing.assert_allclose(chunked.theta_se, memory.theta_se, rtol=1e-8)
    # Per-row results stay lazy and equal the in-memory ones once computed.
    assert isinstance(chunked.fitted, da.Array)
    with dask.config.set(scheduler="synchronous"):
        np.testing.assert_allclose(chunked.fitted.compute(), memory.fitted, rtol=RTOL)
        for residual in ("resid_response", "resid_pearson", "resid_deviance", "resid_working"):
            np.testing.assert_allclose(
                getattr(chunked, residual).compute(),
                getattr(memory, residual),
                rtol=1e-8,
                atol=1e-12 * np.abs(getattr(memory, residual)).max(),
            )


def test_the_fixtures_cover_every_family_link_pair_offsets_weights_and_trials() -> None:
    from bayesglm.families import FAMILIES

    covered = {(c["family"], c["link"]) for c in CASES}
    assert {(f, link) for f, fam in FAMILIES.items() for link in fam.links} <= covered
    assert all(any(c[arg] is not None for c in CASES) for arg in ("offset", "weights", "trials"))


class _SizeCheckingScheduler:
    """The synchronous scheduler, recording the largest array in each computed result."""

    def __init__(self) -> None:
        self.largest: list[int] = []

    def __call__(self, dsk, keys, **kwargs):
        result = dask.local.get_sync(dsk, keys, **kwargs)
        self.largest.append(_largest_array(result))
        return result


def _largest_array(value: object) -> int:
    if isinstance(value, np.ndarray):
        return value.size
    if isinstance(value, dict):
        return max((_largest_array(v) for v in value.values()), default=0)
    if isinstance(value, list | tuple):
        return max((_largest_array(v) for v in value), default=0)
    if hasattr(value, "__dict__"):  # the sums of a pass
        return _largest_array(vars(value))
    return 0


def test_no_length_n_array_reaches_the_client_during_a_fit() -> None:
    rng = np.random.default_rng(3)
    n, p = 4000, 3
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    exposure = rng.uniform(0.5, 2.0, n)
    y = rng.poisson(exposure * np.exp(X @ [0.2, 0.4, -0.3])).astype(float)
    chunks = (700,) * 5 + (500,)
    scheduler = _SizeCheckingScheduler()
    with dask.config.set(scheduler=scheduler):
        fit = bg.fit_mle(
            _chunked(X, chunks),
            _chunked(y, chunks),
            family="poisson",
            offset=_chunked(np.log(exposure), chunks),
        )
    # One compute per pass (the pre-pass, each iteration, the null fit, the likelihood).
    assert len(scheduler.largest) >= fit.n_iter + 2
    assert max(scheduler.largest) <= p * p
    reference = bg.fit_mle(X, y, family="poisson", offset=np.log(exposure))
    np.testing.assert_allclose(fit.params_array, reference.params_array, rtol=RTOL)
    # The check sees a length-n array when one is asked for.
    with dask.config.set(scheduler=scheduler):
        fit.fitted.compute()
    assert scheduler.largest[-1] == n


def test_a_distributed_cluster_fits_a_parquet_folder(tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    dd = pytest.importorskip("dask.dataframe")
    rng = np.random.default_rng(11)
    n = 3000
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.uniform(size=n)})
    frame["exposure"] = rng.uniform(0.5, 3.0, n)
    eta = -0.5 + 0.3 * frame["x1"] - 0.8 * frame["x2"]
    frame["y"] = rng.poisson(frame["exposure"] * np.exp(eta)).astype(float)
    frame["Intercept"] = 1.0
    frame["region"] = rng.choice(["north", "south", "east"], n)
    folder = tmp_path / "claims"
    folder.mkdir()
    for k, start in enumerate(range(0, n, 750)):  # files of 750, 713, 676 and 639 rows
        frame.iloc[start : start + 750 - 37 * k].to_parquet(folder / f"part-{k}.parquet")
    kept = pd.concat(pd.read_parquet(folder / f"part-{k}.parquet") for k in range(4))
    columns = ["Intercept", "x1", "x2"]
    reference = bg.fit_mle(
        kept[columns], kept["y"], family="poisson", offset=np.log(kept["exposure"])
    )
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        data = dd.read_parquet(folder)
        fit = bg.fit_mle(
            data[columns],
            data["y"],
            family="poisson",
            offset=np.log(data["exposure"]),
        )
        fitted = fit.fitted.compute()
        by_formula = bg.GLM(
            "y ~ x1 + x2 + region", data=data, family="poisson", exposure="exposure"
        ).fit_mle()
    in_memory = bg.GLM(
        "y ~ x1 + x2 + region", data=kept, family="poisson", exposure="exposure"
    ).fit_mle()
    assert by_formula.names == in_memory.names
    np.testing.assert_allclose(by_formula.params_array, in_memory.params_array, rtol=RTOL)
    np.testing.assert_allclose(by_formula.llf, in_memory.llf, rtol=RTOL)
    assert fit.names == tuple(columns)
    np.testing.assert_allclose(fit.params_array, reference.params_array, rtol=RTOL)
    np.testing.assert_allclose(fit.cov_unscaled, reference.cov_unscaled, rtol=RTOL)
    np.testing.assert_allclose(fit.llf, reference.llf, rtol=RTOL)
    np.testing.assert_allclose(fitted, reference.fitted, rtol=RTOL)


def _poisson_rows(n: int = 40):
    rng = np.random.default_rng(5)
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    return X, rng.poisson(2.0, n).astype(float)


def test_x_chunked_along_columns_is_refused() -> None:
    X, y = _poisson_rows()
    with pytest.raises(BayesGLMError, match=r"chunked by rows only.*got \(X.chunks\[1\]="):
        bg.fit_mle(da.from_array(X, chunks=(10, 1)), da.from_array(y, chunks=10), family="poisson")


def test_mismatched_row_chunks_are_refused() -> None:
    X, y = _poisson_rows()
    with pytest.raises(BayesGLMError, match=r"row chunks of X.*got \(y.chunks="):
        bg.fit_mle(da.from_array(X, chunks=(10, -1)), da.from_array(y, chunks=8), family="poisson")


def test_an_in_memory_vector_beside_a_chunked_x_is_refused() -> None:
    X, y = _poisson_rows()
    with pytest.raises(BayesGLMError, match=r"weights must be a Dask array.*got \(weights="):
        bg.fit_mle(
            da.from_array(X, chunks=(10, -1)),
            da.from_array(y, chunks=10),
            family="poisson",
            weights=np.ones(len(y)),
        )


def test_unknown_chunk_sizes_are_refused() -> None:
    X, y = _poisson_rows()
    Xd = da.from_array(X, chunks=(10, -1))
    unknown = Xd[Xd[:, 1] > -10]  # a boolean selection: sizes unknown until computed
    with pytest.raises(BayesGLMError, match=r"unknown sizes.*got \(X.chunks=unknown\)"):
        bg.fit_mle(unknown, da.from_array(y, chunks=10), family="poisson")


def test_a_bad_value_is_named_by_its_row_in_the_whole_data() -> None:
    X, y = _poisson_rows()
    y[27] = -1.0
    with (
        dask.config.set(scheduler="synchronous"),
        pytest.raises(BayesGLMError, match=r"the first is row 27; got \(y\[27\]=-1.0\)"),
    ):
        bg.fit_mle(_chunked(X, (10,) * 4), _chunked(y, (10,) * 4), family="poisson")


def test_a_constant_response_is_refused_on_the_totals() -> None:
    X, _ = _poisson_rows()
    y = np.full(len(X), 2.5)
    with (
        dask.config.set(scheduler="synchronous"),
        pytest.raises(BayesGLMError, match=r"must vary.*got \(y=2.5 in all 40 rows\)"),
    ):
        bg.fit_mle(da.from_array(X, chunks=(10, -1)), da.from_array(y, chunks=10), family="gamma")


def test_importing_bayesglm_and_fitting_in_memory_never_import_dask() -> None:
    code = (
        "import sys, numpy as np, bayesglm as bg\n"
        "bg.fit_mle(np.ones((5, 1)), [0, 0, 1, 2, 3], family='poisson')\n"
        "print(any(m == 'dask' or m.startswith('dask.') for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _poisson_with_exposure(n: int = 900):
    rng = np.random.default_rng(8)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.uniform(size=n)])
    exposure = rng.uniform(0.5, 2.0, n)
    y = rng.poisson(exposure * np.exp(X @ [0.1, 0.3, -0.5])).astype(float)
    return X, y, exposure


def test_predict_on_dask_rows_is_a_lazy_dataframe_equal_to_the_in_memory_one() -> None:
    dd = pytest.importorskip("dask.dataframe")
    X, y, exposure = _poisson_with_exposure()
    chunks = (250, 250, 400)
    memory = bg.fit_mle(X, y, family="poisson", offset=np.log(exposure))
    with dask.config.set(scheduler="synchronous"):
        chunked = bg.fit_mle(
            _chunked(X, chunks),
            _chunked(y, chunks),
            family="poisson",
            offset=_chunked(np.log(exposure), chunks),
        )
        fitted_rows = chunked.predict()
        new_rows = memory.predict(
            _chunked(X[:100], (30, 70)), scale="link", exposure=_chunked(exposure[:100], (30, 70))
        )
        assert isinstance(fitted_rows, dd.DataFrame) and isinstance(new_rows, dd.DataFrame)
        fitted_rows, new_rows = fitted_rows.compute(), new_rows.compute()
    expected = memory.predict()
    assert list(fitted_rows.columns) == list(expected.columns)
    assert fitted_rows.index.equals(expected.index)
    np.testing.assert_allclose(fitted_rows.to_numpy(), expected.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        new_rows.to_numpy(),
        memory.predict(X[:100], scale="link", exposure=exposure[:100]).to_numpy(),
        rtol=1e-12,
    )


def test_predict_on_a_dask_dataframe_rebuilds_the_formula_partition_by_partition() -> None:
    dd = pytest.importorskip("dask.dataframe")
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {"x": rng.normal(size=60), "group": rng.choice(["a", "b", "c"], 60), "t": 2.0}
    )
    frame["y"] = rng.poisson(np.exp(0.2 + 0.3 * frame["x"]) * frame["t"])
    fit = bg.GLM("y ~ x + C(group)", data=frame, family="poisson", exposure="t").fit_mle()
    new = dd.from_pandas(frame, npartitions=4)
    with dask.config.set(scheduler="synchronous"):
        lazy = fit.predict(new, exposure="t")
        assert isinstance(lazy, dd.DataFrame)
        got = lazy.compute()
    np.testing.assert_allclose(got.to_numpy(), fit.predict(frame, exposure="t").to_numpy())


def test_a_glm_from_dask_arrays_fits_by_maximum_likelihood_and_refuses_nuts_over_rows() -> None:
    X, y, exposure = _poisson_with_exposure(300)
    chunks = (100, 200)
    model = bg.GLM.from_arrays(
        _chunked(X, chunks),
        _chunked(y, chunks),
        family="poisson",
        offset=_chunked(np.log(exposure), chunks),
        names=["Intercept", "x1", "x2"],
    )
    with dask.config.set(scheduler="synchronous"):
        fit = model.fit_mle()
    reference = bg.fit_mle(X, y, family="poisson", offset=np.log(exposure))
    np.testing.assert_allclose(fit.params_array, reference.params_array, rtol=RTOL)
    with pytest.raises(BayesGLMError, match=r"NUTS over every row needs the rows in memory"):
        model.fit(method="nuts")
    with pytest.raises(BayesGLMError, match=r"PyMC model or its priors on chunked.*got \(data="):
        model.build()


def _claims(n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(21)
    frame = pd.DataFrame(
        {
            "age": rng.uniform(18, 80, n),
            "zone": rng.choice(["A", "B", "C", "D"], n),
            "years": rng.uniform(0.2, 2.0, n),
        }
    )
    frame["claims"] = rng.poisson(frame["years"] * np.exp(-2 + 0.02 * frame["age"]))
    frame.loc[: n // 3, "zone"] = "A"  # the first partitions lack levels B, C and D
    frame.loc[[7, 300], "age"] = np.nan
    frame["big"] = np.where(frame["claims"] > 0, "yes", "no")
    return frame


@pytest.mark.parametrize(
    ("formula", "family", "given"),
    [
        ("claims ~ age + C(zone)", "poisson", {"exposure": "years"}),
        ("claims ~ age + zone", "negative_binomial", {"offset": "np.log(years)"}),
        ("big ~ age + zone", "bernoulli", {"weights": "years"}),
    ],
)
def test_a_formula_over_a_dask_dataframe_equals_the_in_memory_fit(formula, family, given) -> None:
    dd = pytest.importorskip("dask.dataframe")
    frame = _claims()
    with pytest.warns(bg.MissingDataWarning):
        memory = bg.GLM(formula, data=frame, family=family, **given).fit_mle()
    with dask.config.set(scheduler="synchronous"), pytest.warns(bg.MissingDataWarning):
        chunked = bg.GLM(
            formula, data=dd.from_pandas(frame, npartitions=5), family=family, **given
        ).fit_mle()
    assert chunked.names == memory.names and chunked.nobs == memory.nobs
    np.testing.assert_allclose(chunked.params_array, memory.params_array, rtol=RTOL)
    for field in ("deviance", "null_deviance", "llf", "dispersion"):
        np.testing.assert_allclose(getattr(chunked, field), getattr(memory, field), rtol=RTOL)


def test_a_formula_with_a_transform_that_learns_from_the_data_is_refused() -> None:
    dd = pytest.importorskip("dask.dataframe")
    data = dd.from_pandas(_claims().dropna(), npartitions=2)
    with (
        dask.config.set(scheduler="synchronous"),
        pytest.raises(BayesGLMError, match=r"transforms that learn from the data.*got \(center"),
    ):
        bg.GLM("claims ~ center(age)", data=data, family="poisson")


def test_a_formula_over_a_dask_dataframe_refuses_values_given_on_the_client() -> None:
    dd = pytest.importorskip("dask.dataframe")
    frame = _claims().dropna()
    with pytest.raises(BayesGLMError, match=r"weights= names a column of it.*got \(weights="):
        bg.GLM(
            "claims ~ age",
            data=dd.from_pandas(frame, npartitions=2),
            family="poisson",
            weights=np.ones(len(frame)),
        )


def _separated_rows():
    x = np.r_[np.linspace(-2, -0.1, 20), np.linspace(0.1, 2, 20)]
    return np.column_stack([np.ones(40), x]), (x > 0).astype(float)


def test_separation_on_chunked_data_is_found_by_column_as_in_memory() -> None:
    X, y = _separated_rows()
    with pytest.warns(bg.SeparationWarning):
        memory = bg.fit_mle(X, y, family="bernoulli", names=["Intercept", "x"])
    with dask.config.set(scheduler="synchronous"), pytest.warns(bg.SeparationWarning):
        chunked = bg.fit_mle(
            _chunked(X, (15, 25)),
            _chunked(y, (15, 25)),
            family="bernoulli",
            names=["Intercept", "x"],
        )
    assert chunked.separation == memory.separation == ("x",)


def test_separation_on_chunked_data_too_large_to_gather_is_warned_about(monkeypatch) -> None:
    from bayesglm import separation

    monkeypatch.setattr(separation, "GATHER_LIMIT", 10)
    X, y = _separated_rows()
    with (
        dask.config.set(scheduler="synchronous"),
        pytest.warns(bg.SeparationWarning, match="not searched for the separating columns"),
    ):
        fit = bg.fit_mle(_chunked(X, (15, 25)), _chunked(y, (15, 25)), family="bernoulli")
    assert fit.separation == ()


def test_a_chunk_without_rows_is_harmless() -> None:
    X, y = _poisson_rows()
    chunks = (10, 0, 30)
    with dask.config.set(scheduler="synchronous"):
        fit = bg.fit_mle(_chunked(X, chunks), _chunked(y, chunks), family="poisson")
        predicted = fit.predict().compute()
    reference = bg.fit_mle(X, y, family="poisson")
    np.testing.assert_allclose(fit.params_array, reference.params_array, rtol=RTOL)
    np.testing.assert_allclose(predicted.to_numpy(), reference.predict().to_numpy(), rtol=1e-12)


def test_a_block_function_gets_a_matrix_chunk_as_it_is_held() -> None:
    """The row pass hands each chunk of X over as Dask holds it, not a copy: Dask's
    own joining of a matrix's column chunks copies even a single one (40 MB a chunk
    of 250,000 x 20)."""
    from bayesglm.chunked_design import block_results

    X = np.arange(60.0).reshape(20, 3)
    held = [X[:8], X[8:16], X[16:]]
    chunked = da.concatenate(
        [da.from_delayed(dask.delayed(lambda c=c: c)(), c.shape, float) for c in held]
    )
    seen = block_results(lambda Xb: np.shares_memory(Xb, X), chunked)
    with dask.config.set(scheduler="synchronous"):
        assert dask.compute(*seen) == (True, True, True)


def test_a_matrix_in_several_column_chunks_reaches_a_block_function_whole() -> None:
    from bayesglm.chunked_design import _map_rows

    X = np.arange(60.0).reshape(20, 3)
    sums = _map_rows(
        lambda Xb: Xb @ np.array([1.0, 10.0, 100.0]), (da.from_array(X, chunks=(8, 1)),), float
    )
    with dask.config.set(scheduler="synchronous"):
        np.testing.assert_array_equal(sums.compute(), X @ np.array([1.0, 10.0, 100.0]))
