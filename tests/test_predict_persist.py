"""Posterior predictions on new data and lossless save/load."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bayesglm as bg
from bayesglm import persist
from bayesglm.design import Design
from bayesglm.errors import BayesGLMError, MissingDataWarning, SamplingWarning
from bayesglm.formula_state import FormulaState, UnstorableState, spec_to_data


@pytest.fixture(scope="module")
def poisson_fit():
    rng = np.random.default_rng(10)
    n = 200
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "arm": pd.Categorical(rng.choice(["placebo", "drug"], size=n), ["placebo", "drug"]),
            "months": rng.uniform(1, 12, size=n),
            "smoker": rng.random(n) < 0.3,
        }
    )
    eta = -1.0 + 0.3 * df["x"] - 0.4 * (df["arm"] == "drug") + 0.2 * df["smoker"]
    df["events"] = rng.poisson(df["months"] * np.exp(eta))
    model = bg.GLM("events ~ x + arm + smoker", data=df, family="poisson", exposure="months")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        fit = model.fit(draws=400, tune=400, chains=2, seed=8, progressbar=False, sampler="nutpie")
    return df, model, fit


NEW = pd.DataFrame(
    {
        "x": [0.0, 1.5, -1.0],
        "arm": ["drug", "placebo", "drug"],
        "months": [1.0, 6.0, 12.0],
        "smoker": [False, True, False],
    }
)


def test_same_design_feeds_mle_and_posterior(poisson_fit) -> None:
    _, model, fit = poisson_fit
    assert list(fit.summary().index) == list(model.fit_mle().params.index)
    assert list(fit.draws().columns[2:]) == list(model.design.names)


def test_posterior_predictions_on_each_scale(poisson_fit) -> None:
    _, model, fit = poisson_fit
    link = fit.predict(NEW, scale="link")
    mean = fit.predict(NEW, scale="mean", prob=0.9)
    response = fit.predict(NEW, scale="response")
    draws = fit.draws()
    beta = draws[list(model.design.names)].to_numpy()
    X = np.array([[1, 0.0, 1, 0], [1, 1.5, 0, 1], [1, -1.0, 1, 0]], dtype=float)
    eta = beta @ X.T + np.log(NEW["months"].to_numpy())
    np.testing.assert_allclose(link["estimate"], eta.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(link["std_error"], eta.std(axis=0, ddof=1), rtol=1e-10)
    np.testing.assert_allclose(mean["conf_low"], np.quantile(np.exp(eta), 0.05, axis=0))
    np.testing.assert_allclose(mean["conf_high"], np.quantile(np.exp(eta), 0.95, axis=0))
    assert mean.attrs["interval"] == "90% equal-tailed, mean scale"
    assert (response["conf_low"] >= 0).all()
    np.testing.assert_allclose(response["estimate"], mean["estimate"], rtol=0.15)
    # Poisson noise on top of the mean's spread
    assert (response["std_error"] > mean["std_error"]).all()
    mle = model.fit_mle().predict(NEW)
    np.testing.assert_allclose(mean["estimate"], mle["estimate"], rtol=0.1)


def test_predictions_are_the_same_in_any_chunking(poisson_fit) -> None:
    _, _, fit = poisson_fit
    whole = fit.predict(NEW, scale="response", seed=3)
    np.testing.assert_allclose(fit.predict(NEW, scale="mean", chunk=1), fit.predict(NEW))
    assert whole.shape == (3, 4)


def test_new_data_problems_are_named(poisson_fit) -> None:
    _, _, fit = poisson_fit
    with pytest.raises(BayesGLMError, match=r"column 'arm' has level\(s\) 'surgery' not seen"):
        fit.predict(NEW.assign(arm=["surgery", "drug", "drug"]))
    with pytest.raises(BayesGLMError, match=r"lack column\(s\) 'months'"):
        fit.predict(NEW.drop(columns="months"))
    with pytest.raises(BayesGLMError, match=r"missing values in 1 row\(s\).*row 1"):
        fit.predict(NEW.assign(x=[0.0, np.nan, 1.0]))
    with pytest.raises(BayesGLMError, match=r"scale must be one of link, mean, response"):
        fit.predict(NEW, scale="probability")
    with pytest.raises(BayesGLMError, match=r"pass new data as a DataFrame"):
        fit.predict(np.ones((2, 4)))


def test_binomial_response_predictions_need_trials() -> None:
    x = np.linspace(-1, 1, 30)
    df = pd.DataFrame({"x": x, "n": 10, "k": np.round(10 / (1 + np.exp(-2 * x)))})
    model = bg.GLM("k ~ x", data=df, family="binomial", trials="n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        fit = model.fit(draws=200, tune=200, chains=2, seed=1, progressbar=False)
    new = pd.DataFrame({"x": [0.0, 0.5], "n": [20, 5]})
    with pytest.raises(BayesGLMError, match=r"need the trials of each new row; pass trials="):
        fit.predict(new, scale="response")
    counts = fit.predict(new, scale="response", trials="n")
    assert (counts["conf_high"] <= [20, 5]).all()
    np.testing.assert_allclose(counts["estimate"], [10, 5 * 0.73], rtol=0.15)


# --- save and load --------------------------------------------------------------------


def test_round_trip_is_lossless(poisson_fit, tmp_path) -> None:
    _, _, fit = poisson_fit
    path = fit.save(tmp_path / "fit.nc")
    loaded = bg.load(path)
    xr.testing.assert_identical(
        loaded.idata["posterior"].to_dataset(), fit.idata["posterior"].to_dataset()
    )
    xr.testing.assert_equal(
        loaded.idata["sample_stats"].to_dataset(), fit.idata["sample_stats"].to_dataset()
    )
    for name in ("X", "y", "offset"):
        np.testing.assert_array_equal(getattr(loaded.design, name), getattr(fit.design, name))
    assert loaded.design.names == fit.design.names
    assert loaded.design.formula.text == fit.design.formula.text
    assert loaded.design.formula.exposure == "months"
    training = loaded.design.formula.training
    pd.testing.assert_frame_equal(training, fit.design.formula.training, check_exact=True)
    assert loaded.priors.coef == fit.priors.coef
    assert loaded.priors.source == fit.priors.source
    np.testing.assert_array_equal(loaded.priors.x_means, fit.priors.x_means)
    for name in ("mode", "cov", "chol"):
        np.testing.assert_array_equal(getattr(loaded.laplace, name), getattr(fit.laplace, name))
    for name in (
        "params",
        "bse",
        "deviance",
        "null_deviance",
        "llf",
        "aic",
        "dispersion",
        "df_resid",
        "n_iter",
        "converged",
        "separation",
        "warnings",
    ):
        left, right = getattr(loaded.mle, name), getattr(fit.mle, name)
        if isinstance(left, pd.Series):
            pd.testing.assert_series_equal(left, right)
        else:
            assert left == right, name
    np.testing.assert_array_equal(loaded.mle.fitted, fit.mle.fitted)
    assert (loaded.sampler, loaded.seed, loaded.chains, loaded.draws_per_chain) == (
        fit.sampler,
        fit.seed,
        fit.chains,
        fit.draws_per_chain,
    )
    assert loaded.spec.family.name == "poisson" and loaded.spec.link.name == "log"
    pd.testing.assert_frame_equal(loaded.summary(), fit.summary())
    pd.testing.assert_frame_equal(loaded.predict(NEW), fit.predict(NEW))
    pd.testing.assert_frame_equal(
        loaded.predict(NEW, scale="response", seed=2), fit.predict(NEW, scale="response", seed=2)
    )


def test_the_file_records_versions_sampler_and_seed(poisson_fit, tmp_path) -> None:
    _, _, fit = poisson_fit
    path = fit.save(tmp_path / "fit.nc")
    tree = xr.open_datatree(path, engine="h5netcdf")
    info = json.loads(tree.attrs["bayesglm"])
    tree.close()
    assert info["seed"] == 8 and info["sampler"] == fit.sampler
    assert {"bayesglm", "pymc", "arviz", "numpy"} <= set(info["versions"])


def test_bad_files_give_clear_errors(poisson_fit, tmp_path) -> None:
    _, _, fit = poisson_fit
    with pytest.raises(BayesGLMError, match=r"no such file"):
        bg.load(tmp_path / "missing.nc")
    damaged = tmp_path / "damaged.nc"
    damaged.write_bytes(fit.save(tmp_path / "good.nc").read_bytes()[:5000])
    with pytest.raises(BayesGLMError, match=r"could not be read as a saved bayesglm fit"):
        bg.load(damaged)
    foreign = tmp_path / "foreign.nc"
    xr.DataTree.from_dict({"a": xr.Dataset({"v": ("x", [1.0])})}).to_netcdf(
        foreign, engine="h5netcdf"
    )
    with pytest.raises(BayesGLMError, match=r"not a bayesglm save file"):
        bg.load(foreign)
    future = tmp_path / "future.nc"
    tree = xr.open_datatree(tmp_path / "good.nc", engine="h5netcdf").load()
    info = json.loads(tree.attrs["bayesglm"])
    tree.attrs["bayesglm"] = json.dumps({**info, "format_version": 99})
    tree.to_netcdf(future, engine="h5netcdf")
    with pytest.raises(BayesGLMError, match=r"format version 99, which this bayesglm"):
        bg.load(future)


# --- the formula's learned state survives save and load (issue #11) -------------------

# One term per stateful transform in formulaic's registry (the splines centred so that
# they do not each span the intercept), plus factors whose levels and contrasts the
# encoder learns. A transform that formulaic adds fails the coverage check below.
STATEFUL_TERMS = {
    "bs": "bs(x1, df=3)",
    "cc": "cc(x2, df=4, constraints='center')",
    "cr": "cr(x3, df=3, constraints='center')",
    "cs": "cs(x4, df=3, constraints='center')",
    "center": "center(x5)",
    "poly": "poly(x6, 2)",
    "scale": "scale(x7)",
    "standardize": "standardize(x8)",
    "Q": "Q('x9')",
}
FACTOR_TERMS = [
    "C(g, contr.sum)",
    "C(h, levels=['z', 'y', 'w'])",
    "C(year)",
    "C(g, contr.treatment('b')):x11",
]


def _stateful_transforms() -> set[str]:
    from formulaic.transforms import TRANSFORMS

    return {
        name
        for name, transform in TRANSFORMS.items()
        if getattr(transform, "__is_stateful_transform__", False)
    }


def test_every_stateful_transform_has_a_term_here() -> None:
    assert _stateful_transforms() <= set(STATEFUL_TERMS)


@pytest.fixture(scope="module")
def stateful_fit():
    rng = np.random.default_rng(21)
    n = 160
    df = pd.DataFrame({f"x{i}": rng.uniform(0, 4, size=n) for i in range(1, 12)})
    df["g"] = rng.choice(["a", "b", "c"], size=n)
    df["h"] = rng.choice(["w", "y", "z"], size=n)
    df["year"] = rng.choice([60, 65, 70], size=n)
    df["y"] = rng.poisson(np.exp(0.4 + 0.1 * df["x1"] - 0.1 * df["x5"]))
    k = 0.5  # a value from the caller's scope, kept with the fit
    formula = "y ~ " + " + ".join([*STATEFUL_TERMS.values(), *FACTOR_TERMS, "I(x10 * k)"])
    model = bg.GLM(formula, data=df, family="poisson")
    assert model.design.formula.context == {"k": k}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        fit = model.fit(draws=60, tune=60, chains=1, seed=2, progressbar=False)
    new = pd.DataFrame({f"x{i}": rng.uniform(0.2, 3.8, size=6) for i in range(1, 12)})
    new["g"], new["h"], new["year"] = ["a", "b", "c"] * 2, ["w", "y", "z"] * 2, [60, 65, 70] * 2
    return fit, new


def test_predictions_after_load_equal_those_before_save(stateful_fit, tmp_path) -> None:
    fit, new = stateful_fit
    loaded = bg.load(fit.save(tmp_path / "fit.nc"))
    for scale in ("link", "mean"):
        before, after = fit.predict(new, scale=scale), loaded.predict(new, scale=scale)
        np.testing.assert_allclose(after.to_numpy(), before.to_numpy(), rtol=1e-12, atol=0)
        before, after = fit.mle.predict(new, scale=scale), loaded.mle.predict(new, scale=scale)
        np.testing.assert_allclose(after.to_numpy(), before.to_numpy(), rtol=1e-12, atol=0)
    # The knots, means, scales, levels and contrasts are the stored ones.
    stored = spec_to_data(loaded.design.formula.model_spec)
    assert stored == spec_to_data(fit.design.formula.model_spec)
    assert loaded.design.formula.context == fit.design.formula.context
    with pytest.raises(BayesGLMError, match=r"column 'g' has level\(s\) 'q' not seen"):
        loaded.predict(new.assign(g="q"))


def test_the_stored_state_is_data_and_loading_runs_no_code(stateful_fit, tmp_path) -> None:
    fit, _ = stateful_fit
    path = fit.save(tmp_path / "fit.nc")
    tree = xr.open_datatree(path, engine="h5netcdf").load()
    info = json.loads(tree.attrs["bayesglm"])
    stored = json.dumps(info["formula_state"])
    assert "knots" in stored and "pickle" not in stored
    # A class outside formulaic's contrasts is not rebuilt, whatever the file says.
    tampered = stored.replace('"$object": ["TreatmentContrasts"', '"$object": ["Popen"', 1)
    assert tampered != stored
    tree.attrs["bayesglm"] = json.dumps({**info, "formula_state": json.loads(tampered)})
    tree.to_netcdf(tmp_path / "tampered.nc", engine="h5netcdf")
    with pytest.raises(BayesGLMError, match=r"damaged bayesglm save file"):
        bg.load(tmp_path / "tampered.nc")


def test_state_that_is_not_data_is_refused_before_writing() -> None:
    import formulaic
    from formulaic.transforms import stateful_transform

    @stateful_transform
    def clipped(values, _state=None):
        _state.setdefault("rule", lambda v: np.clip(v, 0, 1))  # a function: not data
        return _state["rule"](values)

    df = pd.DataFrame({"x": [0.2, 0.5, 2.0]})
    spec = formulaic.model_matrix("clipped(x)", df, context={"clipped": clipped}).model_spec
    with pytest.raises(UnstorableState, match=r"function"):
        spec_to_data(spec)


# --- every stored field comes back with its type -----------------------------------------

TYPED_FORMULA = "y ~ x + k + flag + dose + arm + C(site) + C(lab) + C(visit)"


def _typed_data() -> pd.DataFrame:
    """One column of each dtype a formula reads; row 5 has a missing x (dropped)."""
    rng = np.random.default_rng(4)
    n = 40
    data = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.integers(0, 4, n),
            "flag": rng.random(n) < 0.5,
            "dose": pd.Categorical(
                rng.choice(["high", "low", "mid"], n),
                categories=["low", "mid", "high"],
                ordered=True,
            ),
            "arm": pd.Categorical(rng.choice(["b", "a"], n), categories=["b", "a"]),
            "site": pd.array(rng.choice(["north", "south"], n), dtype="string"),
            "lab": pd.Series(rng.choice(["L1", "L2"], n), dtype=object),
            "visit": pd.to_datetime(rng.choice(["2024-01-15", "2024-06-15"], n)),
        }
    )
    data["y"] = rng.poisson(np.exp(0.3 + 0.2 * data["x"]))
    data.loc[5, "x"] = np.nan
    return data


@pytest.fixture(scope="module")
def typed_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        warnings.simplefilter("ignore", SamplingWarning)
        model = bg.GLM(TYPED_FORMULA, data=_typed_data(), family="poisson")
        return model.fit(
            draws=100, tune=100, chains=1, seed=5, progressbar=False, sampler="nutpie"
        )


def test_numpy_integer_seed_and_counts_are_saved(typed_fit, tmp_path) -> None:
    # fit() takes numpy integers for these; the file must take them too
    fit = dataclasses.replace(
        typed_fit, seed=np.int64(5), draws_per_chain=np.int64(100), tune=np.int32(100)
    )
    loaded = bg.load(fit.save(tmp_path / "fit.nc"))
    assert (loaded.seed, loaded.draws_per_chain, loaded.tune) == (5, 100, 100)


def test_every_design_field_round_trips_with_its_type(typed_fit, tmp_path) -> None:
    loaded = bg.load(typed_fit.save(tmp_path / "typed.nc"))
    saved, back = typed_fit.design, loaded.design
    training = back.formula.training
    pd.testing.assert_frame_equal(training, saved.formula.training, check_exact=True)
    assert list(training["dose"].cat.categories) == ["low", "mid", "high"]
    assert training["dose"].cat.ordered and not training["arm"].cat.ordered
    assert list(training["arm"].cat.categories) == ["b", "a"]
    assert training["lab"].dtype == object and training["site"].dtype == "string"
    assert training["flag"].dtype == bool and training["visit"].dtype.kind == "M"
    assert back.formula.dropped_rows == (5,) and type(back.formula.dropped_rows[0]) is int
    fields = [(back, saved, f.name) for f in dataclasses.fields(Design) if f.name != "formula"]
    fields += [
        (back.formula, saved.formula, f.name)
        for f in dataclasses.fields(FormulaState)
        if f.name not in ("training", "model_spec")
    ]
    for back_part, saved_part, name in fields:
        left, right = getattr(back_part, name), getattr(saved_part, name)
        if isinstance(right, np.ndarray):
            np.testing.assert_array_equal(left, right)
        elif isinstance(right, pd.Index):
            pd.testing.assert_index_equal(left, right, exact=True)
        else:
            assert left == right and type(left) is type(right), name
    assert loaded.timings == typed_fit.timings
    assert loaded.priors.coef == typed_fit.priors.coef
    pd.testing.assert_frame_equal(loaded.predict(), typed_fit.predict())


N = 200  # rows of poisson_fit's data
INDEXES = {
    "range with start and step": pd.RangeIndex(100, 100 + 5 * N, 5, name="row"),
    "int64": pd.Index(np.arange(N)[::-1] * 7 + 3, name="id"),
    "str": pd.Index([f"p{i:03d}" for i in range(N)], name="patient"),
    "object text": pd.Index([f"p{i:03d}" for i in range(N)], dtype=object),
    "datetime64": pd.date_range("2023-03-01", periods=N, freq="D", name="day"),
}


@pytest.mark.parametrize("index", INDEXES.values(), ids=INDEXES.keys())
def test_index_and_dropped_row_labels_round_trip_exactly(poisson_fit, index, tmp_path) -> None:
    df, _, fit = poisson_fit
    data = df.set_axis(index)
    data.iloc[5, data.columns.get_loc("x")] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        model = bg.GLM("events ~ x + arm + smoker", data=data, family="poisson", exposure="months")
    design = model.design
    refit = dataclasses.replace(fit, design=design, mle=model.fit_mle())
    loaded = bg.load(refit.save(tmp_path / "fit.nc"))
    rows = loaded.design.formula.training.index
    pd.testing.assert_index_equal(rows, design.formula.training.index, exact=True)
    assert rows.name == index.name
    label = index[5].item() if isinstance(index[5], np.generic) else index[5]
    assert loaded.design.formula.dropped_rows == design.formula.dropped_rows == (label,)
    assert type(loaded.design.formula.dropped_rows[0]) is type(label)


def test_a_column_that_cannot_load_back_exactly_is_refused_before_writing(
    typed_fit, tmp_path
) -> None:
    training = typed_fit.design.formula.training
    odd = training.assign(lab=training["lab"].map({"L1": Decimal("1.5"), "L2": Decimal("2")}))
    fit = dataclasses.replace(
        typed_fit,
        design=dataclasses.replace(
            typed_fit.design, formula=dataclasses.replace(typed_fit.design.formula, training=odd)
        ),
    )
    with pytest.raises(BayesGLMError, match=r"column 'lab' of the training data .*Decimal"):
        fit.save(tmp_path / "fit.nc")
    assert list(tmp_path.iterdir()) == []


# --- load: damage is named as damage, any other error keeps its message ---------------


@pytest.mark.parametrize(
    "error",
    [
        BayesGLMError(
            "the formula does not rebuild the saved model matrix; got (formula='y ~ f(x)')."
        ),
        ValueError("a bug while rebuilding the design"),
    ],
    ids=["our error", "a bug"],
)
def test_load_lets_other_errors_through_with_their_own_message(
    poisson_fit, tmp_path, monkeypatch, error
) -> None:
    path = poisson_fit[2].save(tmp_path / "fit.nc")

    def rebuild(*args):
        raise error

    monkeypatch.setattr(persist, "_design", rebuild)
    with pytest.raises(type(error)) as raised:
        bg.load(path)
    assert str(raised.value) == str(error)


def _rewrite(source: Path, target: Path, edit_info=None, drop_group=None) -> Path:
    tree = xr.open_datatree(source, engine="h5netcdf").load()
    groups = {name: tree[name].to_dataset() for name in tree.children if name != drop_group}
    edited = xr.DataTree.from_dict(groups)
    info = json.loads(tree.attrs["bayesglm"])
    edited.attrs = {**tree.attrs, "bayesglm": json.dumps(edit_info(info) if edit_info else info)}
    edited.to_netcdf(target, engine="h5netcdf")
    return target


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            {"edit_info": lambda info: {k: v for k, v in info.items() if k != "seed"}},
            "'seed'",
        ),
        ({"edit_info": lambda info: {**info, "chains": "two"}}, "'chains' is not of type int"),
        ({"drop_group": "bayesglm_mle"}, "group 'bayesglm_mle' is missing"),
        ({"drop_group": "bayesglm_training"}, "group 'bayesglm_training' is missing"),
        (
            {"edit_info": lambda info: {**info, "names": info["names"][:-1]}},
            "variable 'X' has shape",
        ),
    ],
)
def test_a_damaged_part_is_named(poisson_fit, tmp_path, edit, message) -> None:
    good = poisson_fit[2].save(tmp_path / "good.nc")
    damaged = _rewrite(good, tmp_path / "damaged.nc", **edit)
    with pytest.raises(BayesGLMError, match=r"damaged bayesglm save file \(.*" + message):
        bg.load(damaged)


# --- a save is whole or absent: the previous file survives a failed one -------------------


def test_an_interrupted_save_leaves_the_previous_file(poisson_fit, tmp_path, monkeypatch) -> None:
    fit = poisson_fit[2]
    path = fit.save(tmp_path / "fit.nc")
    before = path.read_bytes()

    def interrupted(self, target=None, **kwargs):
        if target is not None:  # a writer that streams into its target
            Path(target).write_bytes(before[:1000])
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.DataTree, "to_netcdf", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fit.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    write_bytes = Path.write_bytes

    def cut_short(self, data):
        write_bytes(self, bytes(data)[: len(data) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_bytes", cut_short)
    with pytest.raises(KeyboardInterrupt):
        fit.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["fit.nc"]


def test_a_failing_save_leaves_the_previous_file(poisson_fit, tmp_path) -> None:
    # A real failed write: a file size limit stops the write halfway, as a full disk does.
    path = poisson_fit[2].save(tmp_path / "fit.nc")
    before = path.read_bytes()
    assert len(before) > 40_000
    code = textwrap.dedent(
        f"""
        import resource, signal
        import bayesglm as bg
        fit = bg.load({str(path)!r})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
        fit.save({str(path)!r})
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 1
    assert "BayesGLMError: the file could not be written (File too large)" in run.stderr
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["fit.nc"]


def test_save_refuses_a_path_it_cannot_write_before_any_work(
    poisson_fit, tmp_path, monkeypatch
) -> None:
    fit = poisson_fit[2]

    def encode(*args):
        raise AssertionError("the fit was encoded before the path was checked")

    monkeypatch.setattr(persist, "_tree", encode, raising=False)
    with pytest.raises(BayesGLMError, match=r"the folder .*missing' does not exist"):
        fit.save(tmp_path / "missing" / "fit.nc")
    with pytest.raises(BayesGLMError, match=r"the path is a folder"):
        fit.save(tmp_path)
    with pytest.raises(BayesGLMError, match=r"must be a file path"):
        fit.save(42)


def test_a_loaded_fit_keeps_the_versions_that_produced_it(poisson_fit, tmp_path) -> None:
    path = poisson_fit[2].save(tmp_path / "fit.nc")

    def older(info):
        return {**info, "versions": {**info["versions"], "bayesglm": "0.0.1"}}

    loaded = bg.load(_rewrite(path, tmp_path / "older.nc", edit_info=older))
    assert loaded.versions["bayesglm"] == "0.0.1"
    assert bg.load(loaded.save(tmp_path / "again.nc")).versions == loaded.versions
    report = loaded.report(tmp_path / "report.md").read_text()
    assert "| version: bayesglm | 0.0.1 |" in report
