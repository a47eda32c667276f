"""A Bayesian fit's parts to one netCDF file and back, losslessly.

The file is an xarray DataTree: the posterior and sample stats as ArviZ expects
them, plus groups holding the design (X, y, offset, weights, trials), the columns
the formula was built from (with their index, dtypes and the labels of the rows
dropped for missing values) or else the rows' labels, the formula's learned state
(knots, means, levels: data, not code), the maximum-likelihood fit and the Laplace
approximation; the model description (formula, family, link, priors, sampler,
seed, package versions) is JSON in the root's ``bayesglm`` attribute.

A file is written whole or not at all (:mod:`bayesglm._output`). Reading tells a
damaged file (a missing or malformed part) from every other error, which keeps its
own message. This module knows the parts of a fit, not the fit itself:
:meth:`bayesglm.results.GLMResult.save` hands the fit to :func:`write_fit`, and
:func:`bayesglm.results.load` builds one from what :func:`read_fit` returns.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from . import formula_state
from . import priors as priors_module
from ._output import check_output_path, write_atomic
from ._versions import installed_versions
from .design import Design, design_from_arrays
from .errors import BayesGLMError
from .families import FAMILIES, Spec, get_family, resolve
from .formula_state import FormulaState
from .laplace import LaplaceApprox
from .mle import MLEResult
from .priors import ResolvedPriors

if TYPE_CHECKING:
    from .results import GLMResult

__all__ = ["FORMAT_VERSION", "prior_from_data", "prior_to_data", "read_fit", "write_fit"]

FORMAT_VERSION = 2
# Each stored MLE scalar with its JSON type (None allowed where the type is a tuple).
_MLE_SCALARS: dict[str, Any] = {
    "dispersion": float,
    "deviance": float,
    "null_deviance": float,
    "df_resid": int,
    "df_null": int,
    "llf": float,
    "k_params": int,
    "nobs": int,
    "converged": bool,
    "n_iter": int,
    "theta_se": (float, None),
    "solver": str,
}
_MLE_ARRAYS = ("fitted", "eta", "y_mean", "irls_weights", "prior_weights")


def write_fit(result: GLMResult, path: str | Path) -> Path:
    """Write the parts of a fit to ``path`` (netCDF4).

    The path is checked first; everything is encoded (and the training data checked
    to load back exactly) before anything is written; the file then replaces any
    previous one only once it is complete.

    Raises
    ------
    BayesGLMError
        For a path that cannot be written, training data that a file cannot hold
        exactly, or a failed write (the previous file is then unchanged).
    """
    path = check_output_path(path, "path")
    # Encoded in memory: a failed disk write is then a plain OSError, and HDF5 never
    # holds a half-written file open.
    content = _tree(result).to_netcdf(engine="h5netcdf")
    return write_atomic(path, lambda temporary: temporary.write_bytes(content))


def _tree(result: GLMResult) -> xr.DataTree:
    design, mle = result.design, result.mle
    obs = np.arange(design.n)
    design_vars: dict[str, Any] = {
        "X": (("obs", "coef"), design.X),
        "y": (("obs",), design.y),
        "x_means": (("coef",), result.priors.x_means),
    }
    for name in ("offset", "weights", "trials"):
        if getattr(design, name) is not None:
            design_vars[name] = (("obs",), getattr(design, name))
    coords = {"obs": obs, "coef": list(design.names)}
    groups = {
        "posterior": result.idata["posterior"].to_dataset(),
        "sample_stats": result.idata["sample_stats"].to_dataset(),
        "bayesglm_design": xr.Dataset(design_vars, coords=coords),
        "bayesglm_mle": xr.Dataset(
            {
                "params": (("coef",), mle.params_array),
                "cov_unscaled": (("coef", "coef_"), mle.cov_unscaled),
                **{name: (("obs",), getattr(mle, name)) for name in _MLE_ARRAYS},
            },
            coords={**coords, "coef_": list(design.names)},
        ),
        "bayesglm_laplace": xr.Dataset(
            {
                "mode": (("theta",), result.laplace.mode),
                "cov": (("theta", "theta_"), result.laplace.cov),
                "chol": (("theta", "theta_"), result.laplace.chol),
            }
        ),
    }
    if design.formula is not None:
        groups["bayesglm_training"] = _frame_to_dataset(
            design.formula.training, design.formula.dropped_rows
        )
    elif design.row_labels is not None:
        groups["bayesglm_rows"] = _labels_to_dataset(design.row_labels)
    tree = xr.DataTree.from_dict(groups)
    tree.attrs["bayesglm"] = json.dumps(_describe(result))
    tree.attrs["bayesglm_format_version"] = FORMAT_VERSION
    return tree


def _describe(result: GLMResult) -> dict[str, Any]:
    design, mle, priors = result.design, result.mle, result.priors
    family = result.spec.family
    return {
        "format_version": FORMAT_VERSION,
        "family": family.name,
        "theta": _plain(getattr(family, "theta", None)),
        "link": result.spec.link.name,
        "names": list(design.names),
        "intercept": _plain(design.intercept),
        **_formula_entries(design.formula),
        "priors": {
            "coef": {name: prior_to_data(prior) for name, prior in priors.coef.items()},
            # Format version 2 names the natural parameter's prior and name "dispersion".
            "dispersion": None if priors.natural is None else prior_to_data(priors.natural),
            "dispersion_name": priors.natural_name,
            "center": bool(priors.center),
            "intercept": priors.intercept,
            "source": priors.source,
        },
        "mle": {
            **{name: _plain(getattr(mle, name)) for name in _MLE_SCALARS},
            "family_theta": _plain(getattr(mle.family, "theta", None)),
            "separation": list(mle.separation),
            "warnings": list(mle.warnings),
        },
        "laplace_n_iter": _plain(result.laplace.n_iter),
        "laplace_warnings": list(result.laplace.warnings),
        "sampler": result.sampler,
        "method": result.method,
        # The formula's training columns are a sample, not the rows, for a design of
        # cells or of Dask chunks (bayesglm.cells): the rows are then numbered.
        "training_is_rows": design.formula is None or len(design.formula.training) == design.n,
        # numpy integers are fine arguments to fit() but not JSON numbers
        "seed": _plain(result.seed),
        "timings": {stage: _plain(seconds) for stage, seconds in result.timings.items()},
        "draws": _plain(result.draws_per_chain),
        "tune": _plain(result.tune),
        "chains": _plain(result.chains),
        # a loaded fit keeps the versions that produced it
        "versions": result.producing_versions,
    }


def _formula_entries(formula: FormulaState | None) -> dict[str, Any]:
    """The formula's entries of the model description (each None for a design from
    arrays); its training columns are a group of their own."""
    if formula is None:
        return dict.fromkeys(("formula", "event", "offset_term", "exposure", "formula_state"))
    return {
        "formula": formula.text,
        "event": formula.event,
        "offset_term": formula.offset_term,
        "exposure": formula.exposure,
        "formula_state": _learned_state(formula),
    }


def _learned_state(formula: FormulaState) -> dict[str, Any]:
    """What the formula learned from the training rows, as data (no pickle)."""
    try:
        spec = formula_state.spec_to_data(formula.model_spec)
    except formula_state.UnstorableState as error:
        raise BayesGLMError(
            f"the formula's learned state holds a {error}, which a save file cannot hold "
            "as data; use formulaic's own transforms in the formula; "
            f"got (formula={formula.text!r})."
        ) from None
    return {
        "spec": spec,
        "context": formula_state.values_to_data(formula.context),
        "dropped_levels": formula_state.values_to_data(formula.dropped_levels),
    }


def _plain(value: Any) -> Any:
    """numpy scalars as Python's (JSON takes only those; row labels are kept so)."""
    return value.item() if isinstance(value, np.generic) else value


def prior_to_data(prior: priors_module.Prior) -> dict[str, Any]:
    """A prior as JSON data: its registered class name and its parameters."""
    return {"class": type(prior).__name__, "params": prior.params}


# --- pandas columns and indexes, stored exactly -----------------------------------------
#
# A training frame is stored as one variable per column and per index level, with the
# pandas dtype in the variable's attributes; whatever a dtype needs beyond one array
# (categories, a missing-value mask) goes into more variables named after it. Every
# encoding is decoded again before the file is written, and a value or type that would
# not come back exactly is refused then, never written.


def _encode(values: Any, key: str, dim: str, what: str) -> dict[str, xr.Variable]:
    """Variables that hold ``values`` (a column or an index level) exactly: the data
    under ``key``, plus ``key__missing`` / ``key__categories`` / ... where needed."""
    series = pd.Series(values, copy=False)
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return {
            key: _variable(
                dim, series.cat.codes.to_numpy(), "category", ordered=int(dtype.ordered)
            ),
            **_encode(dtype.categories, f"{key}__categories", f"{key}__categories", what),
        }
    if isinstance(dtype, pd.IntervalDtype):  # the categories pd.cut makes
        return {
            key: _variable(dim, series.isna().to_numpy(np.int8), "interval", closed=dtype.closed),
            **_encode(series.array.left, f"{key}__left", dim, what),
            **_encode(series.array.right, f"{key}__right", dim, what),
        }
    if isinstance(dtype, pd.DatetimeTZDtype | pd.PeriodDtype) or dtype.kind in "mM":
        ticks = np.asarray(series.array.asi8)  # since the epoch (UTC), or period ordinals
        return {key: _variable(dim, ticks, "ticks", pandas_dtype=str(dtype))}
    if isinstance(dtype, pd.StringDtype):
        return _with_mask(
            key,
            dim,
            series,
            _variable(
                dim,
                series.to_numpy(dtype=object, na_value="").astype(str),
                "string",
                storage=dtype.storage,
                na_value="nan" if _is_nan(dtype.na_value) else "NA",
            ),
        )
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        stored = {"b": np.int8, "f": np.result_type(dtype, np.float32)}.get(dtype.kind, dtype)
        return {
            key: _variable(dim, series.to_numpy().astype(stored), "numpy", pandas_dtype=str(dtype))
        }
    if hasattr(dtype, "numpy_dtype") and dtype.kind in "biuf":  # Int64, Float64, boolean
        data = series.to_numpy(dtype=dtype.numpy_dtype, na_value=0)
        if dtype.kind == "b":
            data = data.astype(np.int8)
        return _with_mask(
            key, dim, series, _variable(dim, data, "masked", pandas_dtype=str(dtype))
        )
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        return {key: _variable(dim, _json_values(series, what), "json")}
    raise _unstorable(what, dtype)


def _variable(dim: str, data: np.ndarray, kind: str, **attrs: Any) -> xr.Variable:
    return xr.Variable((dim,), data, attrs={"kind": kind, **attrs})


def _with_mask(
    key: str, dim: str, series: pd.Series, variable: xr.Variable
) -> dict[str, xr.Variable]:
    missing = series.isna().to_numpy()
    if not missing.any():
        return {key: variable}
    return {key: variable, f"{key}__missing": xr.Variable((dim,), missing.astype(np.int8))}


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and np.isnan(value)


def _json_values(series: pd.Series, what: str) -> np.ndarray:
    """Each value of an object column as JSON text, which keeps str, int, float,
    bool and None apart; other Python objects cannot be stored exactly."""
    texts = []
    for value in series:
        value = _plain(value)
        if value is not None and not isinstance(value, str | int | float):
            raise _unstorable(what, f"object holding {type(value).__name__}")
        texts.append(json.dumps(value))
    return np.array(texts, dtype=str)


def _unstorable(what: str, dtype: Any) -> BayesGLMError:
    return BayesGLMError(
        f"{what} has values of type {dtype}, which a saved fit cannot store exactly; "
        "convert it before fitting (e.g. .astype(str) or .astype(float)); "
        f"got (dtype={dtype})."
    )


def _decode(dataset: xr.Dataset, key: str) -> Any:
    """The values :func:`_encode` stored under ``key`` (a numpy or pandas array)."""
    variable = dataset[key]
    data, attrs = variable.values, variable.attrs
    kind = attrs.get("kind")
    if kind == "category":
        categories = pd.Index(_decode(dataset, f"{key}__categories"))
        dtype = pd.CategoricalDtype(categories, ordered=bool(attrs["ordered"]))
        return pd.Categorical.from_codes(data, dtype=dtype)
    if kind == "interval":
        return pd.arrays.IntervalArray.from_arrays(
            _decode(dataset, f"{key}__left"), _decode(dataset, f"{key}__right"), attrs["closed"]
        )
    if kind == "ticks":
        dtype = pd.api.types.pandas_dtype(attrs["pandas_dtype"])
        if isinstance(dtype, pd.PeriodDtype):
            return pd.arrays.PeriodArray(data.astype(np.int64), dtype=dtype)
        if isinstance(dtype, pd.DatetimeTZDtype):
            utc = pd.array(data.astype(np.int64).view(f"M8[{dtype.unit}]")).tz_localize("UTC")
            return utc.tz_convert(dtype.tz)
        return data.astype(np.int64).view(dtype)
    if kind == "numpy":
        return data.astype(attrs["pandas_dtype"])
    if kind in ("masked", "string"):
        if kind == "string":
            na_value = {"nan": {"na_value": np.nan}, "NA": {}}[attrs["na_value"]]
            dtype = pd.StringDtype(attrs["storage"], **na_value)
            data = data.astype(object)
        else:
            dtype = pd.api.types.pandas_dtype(attrs["pandas_dtype"])
            data = data.astype(dtype.numpy_dtype).astype(object)
        if f"{key}__missing" in dataset:
            data[dataset[f"{key}__missing"].values.astype(bool)] = None
        return pd.array(data, dtype=dtype)
    if kind == "json":
        return np.array([json.loads(text) for text in data.astype(str)], dtype=object)
    raise _Damaged(f"variable {key!r} has an unknown kind {kind!r}")


def _encode_index(index: pd.Index, key: str, dim: str, what: str) -> tuple[dict, dict]:
    """Variables and a JSON description that hold ``index`` exactly."""
    names = [_json_label(name, f"a name of {what}") for name in index.names]
    if type(index) is pd.RangeIndex:
        return {}, {"range": [index.start, index.stop, index.step], "names": names}
    variables: dict[str, xr.Variable] = {}
    for level in range(index.nlevels):
        values = index.get_level_values(level)
        variables |= _encode(values, f"{key}_{level}", dim, what)
    description = {
        "levels": index.nlevels,
        "multi": isinstance(index, pd.MultiIndex),
        "freq": getattr(index, "freqstr", None),
        "names": names,
    }
    return variables, description


def _decode_index(dataset: xr.Dataset, key: str, description: dict) -> pd.Index:
    names = description["names"]
    if "range" in description:
        return pd.RangeIndex(*description["range"], name=names[0])
    levels = [_decode(dataset, f"{key}_{level}") for level in range(description["levels"])]
    if description["multi"]:
        levels = [pd.Index(level, dtype=level.dtype, copy=False) for level in levels]
        return pd.MultiIndex.from_arrays(levels, names=names)
    index = pd.Index(levels[0], dtype=levels[0].dtype, name=names[0], copy=False)
    if description["freq"] is not None:
        index = type(index)(index, freq=description["freq"])
    return index


def _json_label(label: Any, what: str) -> Any:
    label = _plain(label)
    if label is not None and not isinstance(label, str | int | float):
        raise _unstorable(what, type(label).__name__)
    return label


def _frame_to_dataset(frame: pd.DataFrame, dropped_rows: tuple) -> xr.Dataset:
    """The training columns, their index and the labels of the dropped rows."""
    variables: dict[str, xr.Variable] = {}
    for position, column in enumerate(frame.columns):
        what = f"column {column!r} of the training data"
        variables |= _encode(frame[column], f"column_{position}", "row", what)
    index_variables, index = _encode_index(frame.index, "index", "row", "the data's index")
    columns_variables, columns = _encode_index(
        frame.columns, "columns", "column", "the data's column names"
    )
    layout = {"index": index, "columns": columns, "dropped": None}
    variables |= index_variables | columns_variables
    if dropped_rows:
        dropped = _labels_as_index(dropped_rows, frame.index)
        dropped_variables, layout["dropped"] = _encode_index(
            dropped, "dropped", "dropped", "the labels of the dropped rows"
        )
        variables |= dropped_variables
    dataset = xr.Dataset(variables, attrs={"layout": json.dumps(layout)})
    _check_round_trip(frame, dropped_rows, dataset)
    return dataset


def _labels_to_dataset(labels: pd.Index) -> xr.Dataset:
    """The row labels of a design built from arrays (a formula's are its data's index)."""
    variables, layout = _encode_index(labels, "labels", "row", "the rows' labels")
    dataset = xr.Dataset(variables, attrs={"layout": json.dumps(layout)})
    if not _same_index(_dataset_to_labels(dataset), labels):
        raise _not_exact("the rows' labels", type(labels).__name__)
    return dataset


def _dataset_to_labels(dataset: xr.Dataset) -> pd.Index:
    try:
        return _decode_index(dataset, "labels", json.loads(dataset.attrs["layout"]))
    except (KeyError, IndexError, TypeError, ValueError) as error:
        detail = f"{type(error).__name__}: {error}"
        raise _Damaged(f"the rows' labels cannot be decoded ({detail})") from None


def _labels_as_index(labels: tuple, like: pd.Index) -> pd.Index:
    """Row labels as an index of the same types as ``like`` (the training rows')."""
    if isinstance(like, pd.MultiIndex):
        levels = [
            pd.Index([label[level] for label in labels], dtype=like.levels[level].dtype)
            for level in range(like.nlevels)
        ]
        return pd.MultiIndex.from_arrays(levels, names=like.names)
    return pd.Index(list(labels), dtype=like.dtype, name=like.name)


def _dataset_to_frame(dataset: xr.Dataset) -> tuple[pd.DataFrame, tuple]:
    """The training frame and dropped-row labels that :func:`_frame_to_dataset` stored.

    Raises ``_Damaged`` for contents it cannot decode (only the file is read here).
    """
    try:
        layout = json.loads(dataset.attrs["layout"])
        columns = _decode_index(dataset, "columns", layout["columns"])
        index = _decode_index(dataset, "index", layout["index"])
        values = [_decode(dataset, f"column_{position}") for position in range(len(columns))]
        # The dtype is passed on: pandas would read an object array of text as str.
        frame = pd.DataFrame(
            {i: pd.Series(v, dtype=v.dtype, copy=False) for i, v in enumerate(values)},
            index=pd.RangeIndex(len(index)),
        )
        frame.index, frame.columns = index, columns
        dropped: tuple = ()
        if layout["dropped"] is not None:
            labels = _decode_index(dataset, "dropped", layout["dropped"])
            dropped = tuple(_plain(row) for row in labels)  # as formula.py records them
    except (KeyError, IndexError, TypeError, ValueError) as error:
        detail = f"{type(error).__name__}: {error}"
        raise _Damaged(f"the training data cannot be decoded ({detail})") from None
    return frame, dropped


def _check_round_trip(frame: pd.DataFrame, dropped_rows: tuple, dataset: xr.Dataset) -> None:
    """Refuse to write training data that would not load back exactly."""
    try:
        loaded, dropped = _dataset_to_frame(dataset)
    except _Damaged as error:
        raise _not_exact("the training data", str(error)) from None
    if not _same_index(loaded.index, frame.index):
        raise _not_exact("the data's index", type(frame.index).__name__)
    if not _same_index(loaded.columns, frame.columns):
        raise _not_exact("the data's column names", frame.columns.dtype)
    for column in frame.columns:
        if loaded[column].dtype != frame[column].dtype or not loaded[column].equals(frame[column]):
            raise _not_exact(f"column {column!r} of the training data", frame[column].dtype)
    if dropped != tuple(dropped_rows) or list(map(type, dropped)) != list(map(type, dropped_rows)):
        raise _not_exact("the labels of the dropped rows", type(frame.index).__name__)


def _same_index(loaded: pd.Index, given: pd.Index) -> bool:
    return (
        type(loaded) is type(given)
        and loaded.equals(given)
        and list(loaded.names) == list(given.names)
        and [loaded.get_level_values(i).dtype for i in range(loaded.nlevels)]
        == [given.get_level_values(i).dtype for i in range(given.nlevels)]
        and getattr(loaded, "freq", None) == getattr(given, "freq", None)
    )


def _not_exact(what: str, kind: Any) -> BayesGLMError:
    return BayesGLMError(
        f"{what} would not load back exactly from the saved file; convert it to a "
        "common type (e.g. .astype(str) or .astype(float), or reset the index) before "
        f"fitting; got ({kind})."
    )


def read_fit(path: str | Path) -> dict[str, Any]:
    """The parts of a fit that :func:`write_fit` wrote: the keyword arguments of
    :class:`~bayesglm.results.GLMResult`. Raises what :func:`bayesglm.results.load`
    documents."""
    if not isinstance(path, str | os.PathLike):
        raise BayesGLMError(
            f"path must be a file path (str or pathlib.Path); got (path={type(path).__name__})."
        )
    path = Path(path)
    if path.is_dir():
        raise BayesGLMError(
            f"the path is a folder; give the path of a saved fit; got (path={str(path)!r})."
        )
    if not path.is_file():
        raise BayesGLMError(
            f"no such file; give the path of a saved fit; got (path={str(path)!r})."
        )
    tree = _open(path)
    info = _model_description(tree, path)
    try:
        return _parts(tree, info)
    except _Damaged as error:
        raise BayesGLMError(
            f"the file is a damaged bayesglm save file ({error}); save the fit again; "
            f"got (path={str(path)!r})."
        ) from None


class _Damaged(Exception):
    """A part of a readable file is missing or malformed (edited, or cut short)."""


def _open(path: Path) -> xr.DataTree:
    try:
        with xr.open_datatree(path, engine="h5netcdf") as opened:
            return opened.load()
    except PermissionError:
        raise BayesGLMError(
            f"the file cannot be read (permission denied); check its permissions; "
            f"got (path={str(path)!r})."
        ) from None
    except (OSError, KeyError, RuntimeError, ValueError) as error:
        # What h5py and xarray raise for bytes that are not a whole HDF5 file (cut
        # short, overwritten, another format); no code of ours runs here.
        raise BayesGLMError(
            f"the file could not be read as a saved bayesglm fit ({type(error).__name__}: "
            f"{error}); it is damaged or not a bayesglm file; got (path={str(path)!r})."
        ) from None


def _model_description(tree: xr.DataTree, path: Path) -> dict:
    if "bayesglm" not in tree.attrs:
        raise BayesGLMError(
            "the file is not a bayesglm save file (no model description); "
            f"got (path={str(path)!r})."
        )
    info: Any = None
    try:
        info = json.loads(tree.attrs["bayesglm"])
    except (TypeError, ValueError) as error:
        problem = f"is not valid JSON: {type(error).__name__}: {error}"
    else:
        problem = f"is a {type(info).__name__}, not a JSON object"
    if not isinstance(info, dict):
        raise BayesGLMError(
            f"the file is a damaged bayesglm save file (its model description {problem}); "
            f"save the fit again; got (path={str(path)!r})."
        )
    version = info.get("format_version")
    if version != FORMAT_VERSION:
        written_by = info.get("versions")
        written_by = written_by.get("bayesglm") if isinstance(written_by, dict) else None
        raise BayesGLMError(
            f"the file has format version {version!r}, which this "
            f"bayesglm ({installed_versions().get('bayesglm')}) does not read (it reads "
            f"{FORMAT_VERSION}); load it with the version that wrote it "
            f"({written_by}); got (path={str(path)!r})."
        )
    return info


# --- reading the parts: every access that a damaged file can fail raises _Damaged ----

_JSON_TYPES = {
    str: lambda v: isinstance(v, str),
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    bool: lambda v: isinstance(v, bool),
    list: lambda v: isinstance(v, list),
    dict: lambda v: isinstance(v, dict),
}


def _entry(mapping: dict, key: str, kind: Any) -> Any:
    """``mapping[key]``, checked to be of ``kind`` (a type, or (type, None))."""
    if key not in mapping:
        raise _Damaged(f"the model description lacks {key!r}")
    value = mapping[key]
    kind, optional = (kind[0], True) if isinstance(kind, tuple) else (kind, False)
    if (value is None and optional) or _JSON_TYPES[kind](value):
        return value
    raise _Damaged(f"the model description's {key!r} is not of type {kind.__name__}: {value!r}")


def _group(tree: xr.DataTree, name: str) -> xr.Dataset:
    if name not in tree.children:
        raise _Damaged(f"the group {name!r} is missing")
    return tree[name].to_dataset()


def _array(group: xr.Dataset, name: str, shape: tuple[int, ...] | None) -> np.ndarray:
    """A stored array of ``shape`` (None: one-dimensional, of any length)."""
    if name not in group:
        raise _Damaged(f"the variable {name!r} is missing")
    values = np.asarray(group[name])
    if values.shape != shape and not (shape is None and values.ndim == 1):
        raise _Damaged(f"the variable {name!r} has shape {values.shape}, not {shape}")
    return values


def _optional_array(group: xr.Dataset, name: str, shape: tuple[int, ...]) -> np.ndarray | None:
    return _array(group, name, shape) if name in group else None


def _parts(tree: xr.DataTree, info: dict) -> dict[str, Any]:
    """The parts of the fit a file's tree and model description hold."""
    spec = _spec(info)
    names = _entry(info, "names", list)
    if not all(isinstance(name, str) for name in names):
        raise _Damaged("the coefficient names are not all text")
    _check_arrays(tree, info, len(names))
    intercept = _entry(info, "intercept", (int, None))
    design = dataclasses.replace(_design(tree, info, spec), intercept=intercept)
    chains, draws = _entry(info, "chains", int), _entry(info, "draws", int)
    resolved = _priors(tree, info)
    posterior = _group(tree, "posterior")
    beta = _array(posterior, "beta", (chains, draws, len(names)))
    natural = None
    if resolved.sampled_natural_name is not None:
        natural = _array(posterior, resolved.sampled_natural_name, (chains, draws))
    laplace = _group(tree, "bayesglm_laplace")
    mode = _array(laplace, "mode", None)
    timings = _entry(info, "timings", dict)
    if not all(_JSON_TYPES[float](seconds) for seconds in timings.values()):
        raise _Damaged("the timings are not all numbers")
    return dict(
        beta_draws=beta,
        natural_draws=natural,
        sample_stats=_sample_stats(_group(tree, "sample_stats"), (chains, draws)),
        design=design,
        spec=spec,
        priors=resolved,
        mle=_mle(tree, info, design, spec),
        laplace=LaplaceApprox(
            mode=mode,
            cov=_array(laplace, "cov", (mode.size, mode.size)),
            chol=_array(laplace, "chol", (mode.size, mode.size)),
            n_iter=_entry(info, "laplace_n_iter", int),
            warnings=tuple(_entry(info, "laplace_warnings", list)),
        ),
        sampler=_entry(info, "sampler", str),
        seed=_entry(info, "seed", int),
        timings=timings,
        draws_per_chain=draws,
        tune=_entry(info, "tune", int),
        chains=chains,
        versions=_versions_entry(info),
        method=_method_entry(info),
    )


def _method_entry(info: dict) -> dict[str, Any] | None:
    """How the draws were made (absent from files written before it was recorded)."""
    method = info.get("method")
    if not isinstance(method, dict | None):
        raise _Damaged("the posterior method is not a table")
    return method


def _sample_stats(group: xr.Dataset, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The sampler's statistics, each a (chain, draw) array under its stored name."""
    return {str(name): _array(group, str(name), shape) for name in group.data_vars}


def _versions_entry(info: dict) -> dict[str, str]:
    written = _entry(info, "versions", dict)
    if not all(isinstance(version, str) for version in written.values()):
        raise _Damaged("the package versions are not all text")
    return written


def _spec(info: dict) -> Spec:
    name, link = _entry(info, "family", str), _entry(info, "link", str)
    if name not in FAMILIES or link not in FAMILIES[name].links:
        raise _Damaged(f"family {name!r} with link {link!r} is not a model this bayesglm knows")
    family = get_family(name)
    theta = _entry(info, "theta", (float, None))
    if theta is not None:  # the negative binomial's theta, its natural parameter
        family = family.with_natural(theta)
    return resolve(family, link)


def _check_arrays(tree: xr.DataTree, info: dict, p: int) -> None:
    """Every stored array of the design and the MLE, with the shape the names imply."""
    design = _group(tree, "bayesglm_design")
    n = design["y"].size if "y" in design else 0
    _array(design, "X", (n, p))
    _array(design, "y", (n,))
    _array(design, "x_means", (p,))
    for name in ("offset", "weights", "trials"):
        _optional_array(design, name, (n,))
    mle = _group(tree, "bayesglm_mle")
    _array(mle, "params", (p,))
    _array(mle, "cov_unscaled", (p, p))
    for name in _MLE_ARRAYS:
        _array(mle, name, (n,))
    for key, kind in (("formula", (str, None)), ("event", (str, None))):
        _entry(info, key, kind)
    for key in ("offset_term", "exposure"):
        _entry(info, key, (str, None))


def _design(tree: xr.DataTree, info: dict, spec: Spec) -> Design:
    stored = tree["bayesglm_design"].to_dataset()

    def optional(name: str) -> np.ndarray | None:
        return np.asarray(stored[name]) if name in stored else None

    design = design_from_arrays(
        np.asarray(stored["X"]),
        np.asarray(stored["y"]),
        spec,
        names=info["names"],
        offset=optional("offset"),
        weights=optional("weights"),
        trials=optional("trials"),
    )
    if info["formula"] is None:
        labels = _dataset_to_labels(_group(tree, "bayesglm_rows"))
        if len(labels) != design.n:
            raise _Damaged(f"{len(labels)} row labels for {design.n} rows")
        return dataclasses.replace(design, row_labels=labels)
    training, dropped_rows = _dataset_to_frame(_group(tree, "bayesglm_training"))
    training_is_rows = info.get("training_is_rows", True)
    if training_is_rows and len(training) != design.n:
        raise _Damaged(f"{len(training)} training rows for {design.n} rows")
    state = _entry(info, "formula_state", dict)
    try:
        model_spec = formula_state.spec_from_data(state["spec"], info["formula"])
        dropped_levels = formula_state.values_from_data(state["dropped_levels"])
        context = formula_state.values_from_data(state["context"])
    except BayesGLMError:
        raise
    except (KeyError, IndexError, TypeError, ValueError) as error:
        detail = f"{type(error).__name__}: {error}"
        raise _Damaged(f"the formula's stored state cannot be decoded ({detail})") from None
    if list(model_spec.column_names) != info["names"]:
        raise BayesGLMError(
            f"the stored formula state makes columns {list(model_spec.column_names)!r}, not "
            f"the fit's; got (names={info['names']!r})."
        )
    formula = FormulaState(
        text=info["formula"],
        model_spec=model_spec,
        training=training,
        dropped_rows=dropped_rows,
        dropped_levels=dropped_levels,
        context=context,
        event=info["event"],
        offset_term=info["offset_term"],
        exposure=info["exposure"],
    )
    labels = training.index if training_is_rows else pd.RangeIndex(design.n)
    return dataclasses.replace(design, formula=formula, row_labels=labels)


def _priors(tree: xr.DataTree, info: dict) -> ResolvedPriors:
    entry = _entry(info, "priors", dict)
    coef = _entry(entry, "coef", dict)
    natural = _entry(entry, "dispersion", (dict, None))
    source = _entry(entry, "source", dict)
    if not all(isinstance(v, str) for v in source.values()):
        raise _Damaged("the prior sources are not all text")
    return ResolvedPriors(
        coef={name: _prior_from_json(p) for name, p in coef.items()},  # type: ignore[misc]
        natural=None if natural is None else _prior_from_json(natural),  # type: ignore[arg-type]
        natural_name=_entry(entry, "dispersion_name", (str, None)),
        center=_entry(entry, "center", bool),
        x_means=np.asarray(tree["bayesglm_design"]["x_means"]),
        intercept=_entry(entry, "intercept", (str, None)),
        source=source,
    )


def prior_from_data(entry: Any, path: str | Path) -> priors_module.Prior:
    """The prior :func:`prior_to_data` described; a malformed description (an edited
    or damaged file at ``path``) is a :class:`BayesGLMError`."""
    try:
        return _prior_from_json(entry)
    except _Damaged as error:
        raise BayesGLMError(
            f"the file is a damaged bayesglm save file ({error}); save the fit again; "
            f"got (path={str(path)!r})."
        ) from None


def _prior_from_json(entry: Any) -> priors_module.Prior:
    if not isinstance(entry, dict):
        raise _Damaged(f"a prior is not described by a mapping: {entry!r}")
    name, params = _entry(entry, "class", str), _entry(entry, "params", dict)
    cls = priors_module.PRIORS.get(name)
    if cls is None:
        raise _Damaged(f"unknown prior {name!r}")
    try:
        return cls(**params)
    except (TypeError, BayesGLMError) as error:  # the stored parameters, edited
        raise _Damaged(f"the prior {name}{params} cannot be rebuilt: {error}") from None


def _mle(tree: xr.DataTree, info: dict, design: Design, spec: Spec) -> MLEResult:
    stored = tree["bayesglm_mle"].to_dataset()
    scalars = _entry(info, "mle", dict)
    family = spec.family
    theta = _entry(scalars, "family_theta", (float, None))
    if theta is not None:
        family = family.with_natural(theta)
    texts = {name: _entry(scalars, name, list) for name in ("separation", "warnings")}
    if not all(isinstance(text, str) for values in texts.values() for text in values):
        raise _Damaged("the MLE's separation and warnings are not all text")
    return MLEResult(
        params=np.asarray(stored["params"]),
        names=tuple(info["names"]),
        cov_unscaled=np.asarray(stored["cov_unscaled"]),
        **{name: _entry(scalars, name, kind) for name, kind in _MLE_SCALARS.items()},
        family=family,
        link=spec.link,
        **{name: np.asarray(stored[name]) for name in _MLE_ARRAYS},
        separation=tuple(texts["separation"]),
        warnings=tuple(texts["warnings"]),
        design=design,
    )
