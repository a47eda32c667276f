"""The numbers the sampling model reads, in numpy: no pymc, pytensor or jax.

The sampling model (:func:`bayesglm.model.build_sampling_model`) reads every number
that can differ between two fits through a ``pm.Data``; :func:`sampling_inputs` gives
the same numbers by the same names without building the model, so that a precompiled
program (:mod:`bayesglm.compiled`) can run a fit without PyMC. Rows are padded to a
bucket with a mask (:func:`pad_rows`) so that one program serves every n up to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .design import Design
from .families import Spec
from .laplace import LaplaceApprox
from .priors import ResolvedPriors

__all__ = [
    "SamplingData",
    "group_priors",
    "pad_rows",
    "pad_with",
    "prior_groups",
    "prior_inputs",
    "reduce_data",
    "row_bucket",
    "row_input_names",
    "sampling_inputs",
]

MIN_BUCKET = 64
"""The smallest padded number of rows: every n up to it shares one program."""
POWER_OF_TWO_UP_TO = 4096
"""The largest bucket that is a power of two: above, buckets step by eighths."""


@dataclass(frozen=True)
class SamplingData:
    """The numbers the sampling model reads, after exact data reduction.

    ``kind`` is "rows" (one likelihood term per row, ``data`` holds X, y, offset,
    weights, optionally trials and a row mask) or "sufficient" (the gaussian's
    sufficient statistics). Rows without a mask are all real rows.
    """

    kind: str
    data: dict[str, np.ndarray]
    has_trials: bool
    n_rows: int

    @property
    def mask(self) -> np.ndarray:
        """1 for a real row, 0 for padding (all ones when nothing is padded)."""
        if "mask" in self.data:
            return self.data["mask"]
        return np.ones(self.data["y"].shape[0])


def group_priors(coef: Sequence[Any]) -> dict[type, tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Coefficients grouped by prior class: their indices and parameter vectors.

    ``coef`` holds one prior per coefficient. Groups come in the order of their
    class names, whatever the order of the coefficients, so that fits with the same
    prior classes build the same graph (and share a compiled model).
    """
    groups: dict[type, list[int]] = {}
    for j, prior in enumerate(coef):
        groups.setdefault(type(prior), []).append(j)
    out = {}
    for cls, idx in sorted(groups.items(), key=lambda item: item[0].__name__):
        params = {
            key: np.array([coef[j].params[key] for j in idx], dtype=float)
            for key in coef[idx[0]].params
        }
        out[cls] = (np.array(idx, dtype=np.int64), params)
    return out


def prior_groups(priors: ResolvedPriors) -> dict[type, tuple[np.ndarray, dict[str, np.ndarray]]]:
    """A GLM's coefficients grouped by prior class (:func:`group_priors`)."""
    return group_priors(list(priors.coef.values()))


def prior_inputs(coef: Sequence[Any], centering: np.ndarray) -> dict[str, np.ndarray]:
    """The ``pm.Data`` of :func:`bayesglm.model.coef_log_prior`, by name."""
    inputs = {"centering": np.asarray(centering)}
    for cls, (idx, params) in group_priors(coef).items():
        for key, value in params.items():
            inputs[f"prior_{cls.pymc_name}_{key}"] = value
        inputs[f"prior_{cls.pymc_name}_index"] = idx
    return inputs


def reduce_data(design: Design, spec: Spec) -> SamplingData:
    """Drop zero-weight rows, then use sufficient statistics or merge identical rows.

    Gaussian with identity link: the log-likelihood depends on the data through
    X'WX, X'W(y - offset), (y - offset)'W(y - offset), n and sum(log w) only. Collapsible
    families: rows with equal covariates, offset and weight merge into one row with
    summed responses and trials (when that halves the rows or better).
    """
    # Here, not at the top: the sufficient statistics' module loads the Dask designs'.
    from .sufficient import block_statistics, has_sufficient_statistics

    if has_sufficient_statistics(spec):
        # Rows in Dask chunks carry their statistics (bayesglm.sufficient); rows in
        # memory are one block of the same computation.
        statistics = getattr(design, "statistics", None)
        if statistics is None:
            statistics = block_statistics(
                design.X, design.y, design.eta_offset, design.prior_weights
            )
        return SamplingData("sufficient", statistics.sampling_data, False, statistics.n_rows)
    active = design.active_rows  # a plain slice, no copies, when every row counts
    X, y, w = design.X[active], design.y[active], design.prior_weights[active]
    offset = design.eta_offset[active]
    trials = None if design.trials is None else design.trials[active]
    family = spec.family
    if family.collapsible:
        key = np.column_stack([X, offset, w])
        unique, inverse = np.unique(key, axis=0, return_inverse=True)
        if unique.shape[0] * 2 <= key.shape[0]:
            inverse = inverse.reshape(-1)
            counts = trials if trials is not None else np.ones(key.shape[0])
            data = {
                "X": np.ascontiguousarray(unique[:, : X.shape[1]]),
                "offset": unique[:, X.shape[1]],
                "weights": unique[:, X.shape[1] + 1],
                "y": np.bincount(inverse, weights=y, minlength=unique.shape[0]),
                "trials": np.bincount(inverse, weights=counts, minlength=unique.shape[0]),
            }
            return SamplingData("rows", data, True, unique.shape[0])
    data = {"X": X, "offset": offset, "weights": w, "y": y}
    if trials is not None:
        data["trials"] = trials
    return SamplingData("rows", data, trials is not None, X.shape[0])


def row_bucket(n: int) -> int:
    """The padded number of rows.

    Up to :data:`POWER_OF_TWO_UP_TO` rows, the next power of two, at least
    :data:`MIN_BUCKET`: few programs serve every small dataset, and padding costs
    nothing there. Above, the next multiple of an eighth of the power of two below n:
    padded rows are computed on every gradient, and a whole power of two would add
    up to 100% more work (31% at n = 100,000; 6.5% with eighths).
    """
    n = max(1, int(n))
    if n <= POWER_OF_TWO_UP_TO:
        return max(MIN_BUCKET, 1 << (n - 1).bit_length())
    step = 1 << (n.bit_length() - 4)
    return -(-n // step) * step


def pad_rows(reduced: SamplingData, spec: Spec, bucket: int) -> SamplingData:
    """Rows padded to ``bucket`` with rows that add exactly nothing to the density.

    A padded row has X = 0 and an offset at the linear predictor of a mean inside
    the family's range (1, or 1/2 for probabilities), a response inside the support
    (0 where the support holds it, else 1), one trial and weight 1 (the gaussian's
    weights are precisions, and 0 would make its scale infinite): its log-density
    is finite and does not depend on the parameters, and the mask multiplies it by 0.
    Sufficient statistics have no rows and come back unchanged.
    """
    if reduced.kind != "rows":
        return reduced
    family = spec.family
    mu_fill = 0.5 if family.is_probability else 1.0
    fill = {
        "offset": float(spec.link.link(np.array(mu_fill))),
        "weights": 1.0,
        "y": 0.0 if family.support.includes(0.0) else 1.0,
        "trials": 1.0,
    }
    return pad_with(reduced, bucket, fill)


def pad_with(reduced: SamplingData, bucket: int, fill: dict[str, float]) -> SamplingData:
    """Rows padded to ``bucket``: X = 0, every other row input at its ``fill`` value,
    mask 0 (the family chooses fill values whose log-density is finite)."""
    n = reduced.data["y"].shape[0]
    if bucket < n:
        raise ValueError(f"bucket {bucket} is smaller than the {n} rows")
    extra = bucket - n
    data = {}
    for key, value in reduced.data.items():
        if key == "X":
            data[key] = np.vstack([value, np.zeros((extra, value.shape[1]))])
        elif key != "mask":
            data[key] = np.concatenate([value, np.full(extra, fill[key], dtype=value.dtype)])
    data["mask"] = np.concatenate([reduced.mask, np.zeros(extra)])
    return SamplingData("rows", data, reduced.has_trials, reduced.n_rows)


def row_input_names(reduced: SamplingData) -> tuple[str, ...]:
    """The names of :func:`sampling_inputs` with one entry per row (none for sufficient
    statistics)."""
    if reduced.kind != "rows":
        return ()
    return (*reduced.data, "mask")


def sampling_inputs(
    spec: Spec, priors: ResolvedPriors, laplace: LaplaceApprox, reduced: SamplingData
) -> dict[str, np.ndarray]:
    """Every ``pm.Data`` of the sampling model, by name, as the model holds it."""
    inputs = {
        "shift": laplace.mode,
        "chol": laplace.chol,
        **prior_inputs(list(priors.coef.values()), priors.centering),
    }
    if priors.fixed_natural is not None:
        inputs["natural_fixed"] = np.asarray(priors.fixed_natural)
    elif spec.family.natural_param is not None and priors.natural is not None:
        for key, value in priors.natural.params.items():
            inputs[f"natural_prior_{key}"] = np.asarray(value)
    inputs.update(reduced.data)
    if reduced.kind == "rows":
        inputs["mask"] = reduced.mask
    return {key: np.asarray(value) for key, value in inputs.items()}
