"""Save a Bayesian fit to one netCDF file and load it back, losslessly.

The file is an xarray DataTree: the posterior and sample stats as ArviZ expects
them, plus groups holding the design (X, y, offset, weights, trials), the rows'
labels, the columns the formula was built from, the maximum-likelihood fit and the Laplace
approximation; the model description (formula, family, link, priors, sampler,
seed, package versions) is JSON in the root's ``bayesglm`` attribute.
"""

from __future__ import annotations

import dataclasses
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from . import formula_state
from . import priors as priors_module
from .design import Design, design_from_arrays
from .errors import BayesGLMError
from .families import NegativeBinomial, Spec, get_family, resolve
from .laplace import LaplaceApprox
from .mle import MLEResult
from .priors import ResolvedPriors

__all__ = ["FORMAT_VERSION", "load", "save"]

FORMAT_VERSION = 1
_PACKAGES = (
    "bayesglm",
    "pymc",
    "pytensor",
    "arviz",
    "numpy",
    "scipy",
    "pandas",
    "formulaic",
    "nutpie",
    "numpyro",
)
_MLE_SCALARS = (
    "dispersion",
    "deviance",
    "null_deviance",
    "df_resid",
    "df_null",
    "llf",
    "k_params",
    "nobs",
    "converged",
    "n_iter",
    "theta_se",
    "solver",
)
_MLE_ARRAYS = ("fitted", "eta", "y_mean", "irls_weights", "prior_weights")


def versions() -> dict[str, str]:
    """Installed versions of bayesglm and the packages a fit depends on."""
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def save(result: Any, path: str | Path) -> Path:
    """Write a :class:`~bayesglm.results.GLMResult` to ``path`` (netCDF4)."""
    path = Path(path)
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
    if design.training is not None:
        groups["bayesglm_training"] = _frame_to_dataset(design.training)
    if design.row_labels is not None:
        groups["bayesglm_rows"] = _labels_to_dataset(design.row_labels)
    tree = xr.DataTree.from_dict(groups)
    tree.attrs["bayesglm"] = json.dumps(_describe(result))
    tree.attrs["bayesglm_format_version"] = FORMAT_VERSION
    tree.to_netcdf(path, engine="h5netcdf")
    return path


def _describe(result: Any) -> dict[str, Any]:
    design, mle, priors = result.design, result.mle, result.priors
    family = result.spec.family
    return {
        "format_version": FORMAT_VERSION,
        "family": family.name,
        "theta": getattr(family, "theta", None),
        "link": result.spec.link.name,
        "names": list(design.names),
        "intercept": design.intercept,
        "formula": design.formula,
        "event": design.event,
        "offset_term": design.offset_term,
        "exposure": design.exposure,
        "dropped_rows": [str(row) for row in design.dropped_rows],
        "formula_state": None if design.formula is None else _formula_state(design),
        "priors": {
            "coef": {name: _prior_json(prior) for name, prior in priors.coef.items()},
            "dispersion": None if priors.dispersion is None else _prior_json(priors.dispersion),
            "dispersion_name": priors.dispersion_name,
            "center": priors.center,
            "intercept": priors.intercept,
            "source": priors.source,
        },
        "mle": {
            **{name: _plain(getattr(mle, name)) for name in _MLE_SCALARS},
            "family_theta": getattr(mle.family, "theta", None),
            "separation": list(mle.separation),
            "warnings": list(mle.warnings),
        },
        "laplace_n_iter": result.laplace.n_iter,
        "sampler": result.sampler,
        "seed": result.seed,
        "timings": result.timings,
        "draws": result.draws_per_chain,
        "tune": result.tune,
        "chains": result.chains,
        "versions": versions(),
    }


def _formula_state(design: Design) -> dict[str, Any]:
    """What the formula learned from the training rows, as data (no pickle)."""
    try:
        spec = formula_state.spec_to_data(design.model_spec)
    except formula_state.UnstorableState as error:
        raise BayesGLMError(
            f"the formula's learned state holds a {error}, which a save file cannot hold "
            "as data; use formulaic's own transforms in the formula; "
            f"got (formula={design.formula!r})."
        ) from None
    return {
        "spec": spec,
        "context": formula_state.values_to_data(design.formula_context),
        "dropped_levels": formula_state.values_to_data(design.dropped_levels),
    }


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _prior_json(prior: priors_module.Prior) -> dict[str, Any]:
    return {"class": type(prior).__name__, "params": prior.params}


def _prior_from_json(entry: dict[str, Any]) -> priors_module.Prior:
    cls = getattr(priors_module, entry["class"], None)
    if not (isinstance(cls, type) and issubclass(cls, priors_module.Prior)):
        raise BayesGLMError(f"unknown prior in the file; got (prior={entry['class']!r}).")
    return cls(**entry["params"])


def _frame_to_dataset(frame: pd.DataFrame) -> xr.Dataset:
    variables = {}
    for column in frame.columns:
        values = frame[column]
        attrs: dict[str, Any]
        if isinstance(values.dtype, pd.CategoricalDtype):
            attrs = {
                "kind": "categorical",
                "categories": json.dumps([str(c) for c in values.cat.categories]),
            }
            data = values.astype(str).to_numpy(dtype=str)
        elif pd.api.types.is_bool_dtype(values):
            attrs = {"kind": "bool"}
            data = values.to_numpy(dtype=np.int8)
        elif pd.api.types.is_datetime64_dtype(values):
            attrs = {"kind": "datetime"}
            data = values.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        elif pd.api.types.is_numeric_dtype(values):
            attrs = {"kind": "numeric", "dtype": str(values.dtype)}
            data = values.to_numpy()
        else:
            attrs = {"kind": "text"}
            data = values.astype(str).to_numpy(dtype=str)
        variables[f"column_{len(variables)}"] = xr.Variable(
            ("row",), data, attrs={**attrs, "name": str(column)}
        )
    return xr.Dataset(variables)


def _dataset_to_frame(dataset: xr.Dataset) -> pd.DataFrame:
    columns = {}
    for variable in dataset.data_vars.values():
        kind, name = variable.attrs["kind"], variable.attrs["name"]
        values = np.asarray(variable)
        if kind == "categorical":
            columns[name] = pd.Categorical(
                values.astype(str), categories=json.loads(variable.attrs["categories"])
            )
        elif kind == "bool":
            columns[name] = values.astype(bool)
        elif kind == "text":
            columns[name] = values.astype(str).astype(object)
        elif kind == "datetime":
            columns[name] = pd.to_datetime(values.astype(np.int64))
        else:
            columns[name] = values.astype(variable.attrs["dtype"])
    return pd.DataFrame(columns)


def _labels_to_dataset(labels: pd.Index) -> xr.Dataset:
    """Row labels, one variable per level (a MultiIndex has several)."""
    levels = {f"level_{i}": labels.get_level_values(i) for i in range(labels.nlevels)}
    dataset = _frame_to_dataset(pd.DataFrame(levels))
    dataset.attrs["names"] = json.dumps([None if n is None else str(n) for n in labels.names])
    return dataset


def _labels_from_dataset(dataset: xr.Dataset) -> pd.Index:
    frame = _dataset_to_frame(dataset)
    names = json.loads(dataset.attrs["names"])
    if frame.shape[1] == 1:
        return pd.Index(frame.iloc[:, 0]).rename(names[0])
    return pd.MultiIndex.from_frame(frame, names=names)


def load(path: str | Path) -> Any:
    """Read a fit written by :meth:`~bayesglm.results.GLMResult.save`.

    Raises
    ------
    BayesGLMError
        For a missing, damaged or foreign file, or an unknown format version.
    """
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
    try:
        with xr.open_datatree(path, engine="h5netcdf") as opened:
            tree = opened.load()
    except Exception as error:  # h5py/netCDF raise many kinds for a damaged file
        raise BayesGLMError(
            f"the file could not be read as a saved bayesglm fit ({type(error).__name__}: "
            f"{error}); it is damaged or not a bayesglm file; got (path={str(path)!r})."
        ) from None
    if "bayesglm" not in tree.attrs:
        raise BayesGLMError(
            "the file is not a bayesglm save file (no model description); "
            f"got (path={str(path)!r})."
        )
    try:
        info = json.loads(tree.attrs["bayesglm"])
        version = info.get("format_version")
    except (ValueError, TypeError, AttributeError) as error:
        raise _damaged(path, error) from None
    if version != FORMAT_VERSION:
        raise BayesGLMError(
            f"the file has format version {version!r}, which this "
            f"bayesglm ({versions().get('bayesglm')}) does not read (it reads "
            f"{FORMAT_VERSION}); load it with the version that wrote it "
            f"({info.get('versions', {}).get('bayesglm')}); got (path={str(path)!r})."
        )
    try:
        return _result(tree, info)
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise _damaged(path, error) from None


def _damaged(path: Path, error: Exception) -> BayesGLMError:
    """A readable file whose contents are not a whole fit (edited, or cut short)."""
    detail = str(error) if isinstance(error, BayesGLMError) else f"{type(error).__name__}: {error}"
    return BayesGLMError(
        f"the file is a damaged bayesglm save file ({detail}); save the fit again; "
        f"got (path={str(path)!r})."
    )


def _result(tree: xr.DataTree, info: dict) -> Any:
    """The fit a file's tree and model description hold."""
    from .results import GLMResult

    family = get_family(info["family"])
    if info["theta"] is not None:
        family = NegativeBinomial(theta=info["theta"])
    spec = resolve(family, info["link"])
    design = _design(tree, info, spec)
    resolved = _priors(tree, info)
    return GLMResult(
        idata=xr.DataTree.from_dict(
            {
                "posterior": tree["posterior"].to_dataset(),
                "sample_stats": tree["sample_stats"].to_dataset(),
            }
        ),
        design=design,
        spec=spec,
        priors=resolved,
        mle=_mle(tree, info, design, spec),
        laplace=LaplaceApprox(
            mode=np.asarray(tree["bayesglm_laplace"]["mode"]),
            cov=np.asarray(tree["bayesglm_laplace"]["cov"]),
            chol=np.asarray(tree["bayesglm_laplace"]["chol"]),
            n_iter=info["laplace_n_iter"],
        ),
        sampler=info["sampler"],
        seed=info["seed"],
        timings=info["timings"],
        draws_per_chain=info["draws"],
        tune=info["tune"],
        chains=info["chains"],
    )


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
    if "bayesglm_rows" in tree:  # files written before row labels were kept lack them
        labels = _labels_from_dataset(tree["bayesglm_rows"].to_dataset())
        design = dataclasses.replace(design, row_labels=labels)
    if info["formula"] is None:
        return design
    state = info["formula_state"]
    model_spec = formula_state.spec_from_data(state["spec"], info["formula"])
    if list(model_spec.column_names) != info["names"]:
        raise BayesGLMError(
            f"the stored formula state makes columns {list(model_spec.column_names)!r}, not "
            f"the fit's; got (names={info['names']!r})."
        )
    training = _dataset_to_frame(tree["bayesglm_training"].to_dataset())
    training.index = design.row_labels
    return dataclasses.replace(
        design,
        formula=info["formula"],
        model_spec=model_spec,
        training=training,
        dropped_rows=tuple(info["dropped_rows"]),
        dropped_levels=formula_state.values_from_data(state["dropped_levels"]),
        formula_context=formula_state.values_from_data(state["context"]),
        event=info["event"],
        offset_term=info["offset_term"],
        exposure=info["exposure"],
    )


def _priors(tree: xr.DataTree, info: dict) -> ResolvedPriors:
    entry = info["priors"]
    return ResolvedPriors(
        coef={name: _prior_from_json(p) for name, p in entry["coef"].items()},  # type: ignore[misc]
        dispersion=None if entry["dispersion"] is None else _prior_from_json(entry["dispersion"]),  # type: ignore[arg-type]
        dispersion_name=entry["dispersion_name"],
        center=entry["center"],
        x_means=np.asarray(tree["bayesglm_design"]["x_means"]),
        intercept=entry["intercept"],
        source=entry["source"],
    )


def _mle(tree: xr.DataTree, info: dict, design: Design, spec: Spec) -> MLEResult:
    stored = tree["bayesglm_mle"].to_dataset()
    scalars = info["mle"]
    family = spec.family
    if scalars["family_theta"] is not None:
        family = NegativeBinomial(theta=scalars["family_theta"])
    return MLEResult(
        params=np.asarray(stored["params"]),
        names=tuple(info["names"]),
        cov_unscaled=np.asarray(stored["cov_unscaled"]),
        **{name: scalars[name] for name in _MLE_SCALARS},
        family=family,
        link=spec.link,
        **{name: np.asarray(stored[name]) for name in _MLE_ARRAYS},
        separation=tuple(scalars["separation"]),
        warnings=tuple(scalars["warnings"]),
        design=design,
    )
