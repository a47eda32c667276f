r"""The posterior of a categorical outcome as a PyMC model, and NUTS on it.

NUTS runs in coordinates whitened by the Laplace approximation at the maximum
likelihood, as for the other families: :math:`u = \hat u + L z` with :math:`LL^\top`
the covariance of :math:`\hat u` (a constant Jacobian). For the cumulative family
:math:`u` holds the cutpoints through PyMC's ordered transform,
:math:`(\zeta_1, \log(\zeta_2 - \zeta_1), \dots)`, whose log-Jacobian
:math:`\sum_k \log(\zeta_{k+1} - \zeta_k)` is added, so the cutpoints stay increasing
and the priors stay on :math:`\zeta`. The likelihood is, for the categorical, PyMC's
``Categorical`` with ``logit_p`` the linear predictors (softmax); for the cumulative,
the log of each row's level probability from the link's own formula; frequency
weights multiply each row's log-likelihood.

Every number of the model is a ``pm.Data`` (the rows, the whitening, the priors'
parameters), so that the precompiled engine (:mod:`bayesglm.compiled`) serves every
fit of one structure: :func:`category_problem` hands the posterior to the sampler
dispatch of every family (:func:`bayesglm.samplers.run_nuts`).

PyMC is imported inside the functions: ``import bayesglm`` and ``bayesglm mle`` do
not load it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ._xp import NP, MathNamespace, pt_ns
from .category_design import CategoryDesign
from .category_families import CategorySpec
from .category_priors import CategoryPriors
from .sampling_data import (
    SamplingData,
    group_priors,
    pad_with,
    prior_inputs,
    row_bucket,
    row_input_names,
)

if TYPE_CHECKING:
    from .samplers import SamplingProblem

__all__ = [
    "build_category_sampling_model",
    "category_inputs",
    "category_problem",
    "category_rows",
    "from_unconstrained",
    "log_posterior",
    "pad_category_rows",
    "theta_draws",
    "to_unconstrained",
]


def _lib(xp: MathNamespace) -> Any:
    if xp is NP:
        return np
    import pytensor.tensor as pt

    return pt


def to_unconstrained(spec: CategorySpec, theta: np.ndarray, p: int) -> np.ndarray:
    """The parameters in the sampler's coordinates (cutpoints ordered-transformed)."""
    if not spec.family.ordered:
        return np.asarray(theta, dtype=float)
    zeta = theta[p:]
    return np.r_[theta[:p], zeta[0], np.log(np.diff(zeta))]


def from_unconstrained(spec: CategorySpec, u: Any, p: int, xp: MathNamespace = NP) -> tuple:
    """(coefficients, cutpoints or None, log-Jacobian) from the sampler's coordinates;
    ``u`` may carry leading axes of draws (numpy)."""
    if not spec.family.ordered:
        return u, None, 0.0
    lib = _lib(xp)
    steps = u[..., p + 1 :]
    zeta = lib.concatenate(
        [u[..., p : p + 1], u[..., p : p + 1] + lib.cumsum(lib.exp(steps), axis=-1)], axis=-1
    )
    return u[..., :p], zeta, lib.sum(steps, axis=-1)


def _jacobian_of_transform(spec: CategorySpec, theta: np.ndarray, p: int) -> np.ndarray:
    """d theta / d u at ``theta`` (the identity for the categorical)."""
    q = len(theta)
    J = np.eye(q)
    if spec.family.ordered:
        J[p:, p] = 1.0  # every cutpoint moves with the first
        steps = np.diff(theta[p:])
        for k in range(1, q - p):
            J[p + k :, p + k] = steps[k - 1]
    return J


def category_rows(cdesign: CategoryDesign) -> SamplingData:
    """The rows the sampling model reads: X, the response ``y`` as codes (the
    categorical's reference level first, see :func:`_likelihood`) and the case
    weights, rows with weight 0 dropped."""
    w = cdesign.design.case_weights
    active = w > 0
    codes = cdesign.codes
    if cdesign.reference:
        codes = np.where(
            codes == cdesign.reference, 0, np.where(codes < cdesign.reference, codes + 1, codes)
        )
    data = {
        "X": np.ascontiguousarray(cdesign.X[active], dtype=float),
        "y": codes[active].astype(np.int64),
        "weights": np.asarray(w[active], dtype=float),
    }
    return SamplingData("rows", data, False, int(active.sum()))


def pad_category_rows(rows: SamplingData, bucket: int) -> SamplingData:
    """Rows padded to ``bucket``: X = 0, the first level, frequency weight 0 and
    mask 0 (the padded log-likelihood is finite, see :func:`_likelihood`, and it
    is multiplied by 0)."""
    return pad_with(rows, bucket, {"y": 0, "weights": 0.0})


def _likelihood(spec: CategorySpec, K: int, d: dict, beta: Any, zeta: Any) -> Any:
    """sum_i mask_i w_i log P(Y = y_i), through PyMC's Categorical (pytensor).

    The categorical's reference level is the first column of its linear
    predictors (its codes come so from :func:`category_rows`).
    """
    import pymc as pm
    import pytensor.tensor as pt

    X = d["X"]
    if spec.family.ordered:
        eta = pt.dot(X, beta)
        # P(Y = k) = F(zeta_k - eta) - F(zeta_{k-1} - eta): each row needs the link's
        # distribution function at the two cutpoints around its own level only, not
        # at all K - 1 (under the probit link an erfc and its derivative, the dearest
        # operation of the gradient). The cutpoints come by products with indicators
        # of the row's level, which depend on the data alone: PyMC's Categorical
        # indexes with an arange over the rows, which JAX refuses when the number of
        # rows is an input it cannot trace back to X's shape.
        cut = pt.arange(K - 1)
        below = pt.cast(pt.eq(d["y"][:, None] - 1, cut), "float64")  # none: lowest level
        above = pt.cast(pt.eq(d["y"][:, None], cut), "float64")  # none: highest level
        has_below, has_above = pt.sum(below, axis=1), pt.sum(above, axis=1)
        F_below = has_below * spec.link.inverse(pt.dot(below, zeta) - eta, pt_ns())
        F_above = has_above * spec.link.inverse(pt.dot(above, zeta) - eta, pt_ns())
        # A padded row's probability at X = 0 can underflow (far cutpoints), and
        # 0 * log 0 is NaN: it is 1/K there instead, exactly, with no gradient.
        mask = d["mask"]
        chosen = mask * (F_above + (1.0 - has_above) - F_below) + (1.0 - mask) / K
        rows = pt.log(chosen)
    else:
        p = beta.shape[0] // (K - 1)
        eta = pt.dot(X, beta.reshape((K - 1, p)).T)
        eta = pt.concatenate([pt.zeros_like(eta[:, :1]), eta], axis=1)
        rows = pm.logp(pm.Categorical.dist(logit_p=eta), d["y"])
    return pt.sum(d["mask"] * d["weights"] * rows)


def _cutpoint_log_prior(spec: CategorySpec, priors: CategoryPriors, beta: Any, zeta: Any) -> Any:
    """The cutpoints' log prior (:mod:`bayesglm.category_priors`), its numbers as
    ``pm.Data``: a prior on each cutpoint, or the Dirichlet on the probabilities at
    the predictors' means."""
    import pymc as pm
    import pytensor.tensor as pt

    if priors.cutpoints is not None:
        params = {k: pm.Data(f"cutpoint_prior_{k}", v) for k, v in priors.cutpoints.params.items()}
        return pt.sum(priors.cutpoints.pymc_logp(zeta, params))
    m = pt.dot(pm.Data("cutpoint_x_means", priors.x_means), beta)
    slope = spec.link.inverse_deriv(zeta - m, pt_ns())
    return math.lgamma(priors.levels) + pt.sum(pt.log(slope))


def build_category_sampling_model(
    spec: CategorySpec,
    cdesign: CategoryDesign,
    priors: CategoryPriors,
    mode: np.ndarray,
    chol: np.ndarray,
    rows: SamplingData | None = None,
):
    """The posterior in whitened coordinates ``z`` (a PyMC model), on ``rows``
    (:func:`category_rows` by default; padded for the precompiled engine).

    Returns
    -------
    pymc.Model
    """
    import pymc as pm
    import pytensor.tensor as pt

    from .model import coef_log_prior

    rows = category_rows(cdesign) if rows is None else rows
    p = len(cdesign.columns)
    with pm.Model() as model:
        z = pm.Flat("z", shape=len(mode))
        # Static lengths: the parameters' slices then have them too, and PyTensor's
        # rewrites (e.g. a dot with one column as a product) cannot mistake a
        # length-1 vector for a broadcastable one.
        u = pt.specify_shape(
            pm.Data("shift", mode) + pt.dot(pm.Data("chol", chol), z), (len(mode),)
        )
        beta, zeta, log_jacobian = from_unconstrained(spec, u, p, pt_ns())
        log_prior = coef_log_prior(beta, priors.coef, priors.centering)
        if spec.family.ordered:
            log_prior = log_prior + _cutpoint_log_prior(spec, priors, beta, zeta)
            pm.Potential("ordered_jacobian", log_jacobian)
        pm.Potential("log_prior", log_prior)
        d = {key: pm.Data(key, value) for key, value in rows.data.items() if key != "mask"}
        d["mask"] = pm.Data("mask", rows.mask)
        pm.Potential("log_likelihood", _likelihood(spec, cdesign.K, d, beta, zeta))
    return model


def category_inputs(
    priors: CategoryPriors, mode: np.ndarray, chol: np.ndarray, rows: SamplingData
) -> dict[str, np.ndarray]:
    """Every ``pm.Data`` of :func:`build_category_sampling_model`, by name, without
    building it."""
    inputs = {"shift": mode, "chol": chol, **prior_inputs(priors.coef, priors.centering)}
    if priors.cutpoint_source is not None:
        if priors.cutpoints is not None:
            for key, value in priors.cutpoints.params.items():
                inputs[f"cutpoint_prior_{key}"] = value
        else:
            inputs["cutpoint_x_means"] = priors.x_means
    inputs.update(rows.data)
    inputs["mask"] = rows.mask
    return {key: np.asarray(value) for key, value in inputs.items()}


def category_problem(
    spec: CategorySpec,
    cdesign: CategoryDesign,
    priors: CategoryPriors,
    mle_theta: np.ndarray,
    mle_cov: np.ndarray | None,
) -> SamplingProblem:
    """The posterior whitened at the maximum likelihood (``mle_cov`` None: at the
    posterior mode, see :func:`_whitening`), for :func:`bayesglm.samplers.run_nuts`."""
    from .samplers import SamplingProblem

    mode, chol = _whitening(spec, cdesign, priors, mle_theta, mle_cov)

    def build_model() -> Any:
        return build_category_sampling_model(spec, cdesign, priors, mode, chol)

    def engine_plan(**run: Any) -> Any:
        from .compiled import EnginePlan, Structure, run_structure

        rows = category_rows(cdesign)
        rows = pad_category_rows(rows, row_bucket(rows.n_rows))
        if priors.cutpoint_source is None:
            cutpoints = None
        elif priors.cutpoints is None:
            cutpoints = "Dirichlet"
        else:
            cutpoints = f"cutpoints:{type(priors.cutpoints).__name__}"
        structure = Structure(
            family=spec.family.name,
            link=spec.link.name,
            coef_priors=tuple(
                (cls.__name__, len(idx)) for cls, (idx, _) in group_priors(priors.coef).items()
            ),
            natural_prior=cutpoints,
            kind=rows.kind,
            has_trials=False,
            p=len(cdesign.columns),
            k=len(mode),
            levels=cdesign.K,
            # No blocked pass over the rows (compiled.blocked_log_density): PyTensor
            # rewrites the softmax's sum over rows of w_i eta_i[y_i] into a product with
            # a sum over all rows computed from the data alone, which a block would
            # count whole.
            **{**run_structure(rows, **run), "row_block": 0},
        )
        return EnginePlan(
            structure,
            category_inputs(priors, mode, chol, rows),
            row_input_names(rows),
            lambda: build_category_sampling_model(spec, cdesign, priors, mode, chol, rows),
        )

    return SamplingProblem(mode, chol, build_model, engine_plan)


def log_posterior(
    spec: CategorySpec, cdesign: CategoryDesign, priors: CategoryPriors, theta: np.ndarray
) -> float:
    """The log posterior density of ``theta`` (numpy; up to a constant), in the
    sampler's coordinates (the ordered transform's Jacobian included)."""
    from .category_newton import objective

    p = len(cdesign.columns)
    llf = objective(spec, cdesign)(theta)[0]
    if spec.family.ordered:
        zeta = theta[p:]
        prior = priors.log_prior(theta[:p], zeta, spec.link)
        return llf + prior + float(np.sum(np.log(np.diff(zeta))))
    return llf + priors.log_prior(theta)


def _whitening(
    spec: CategorySpec,
    cdesign: CategoryDesign,
    priors: CategoryPriors,
    theta: np.ndarray,
    cov: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Centre and Cholesky factor of the sampler's coordinates: the MLE and its
    covariance carried through the ordered transform; where they do not exist
    (``cov`` None: separated data, whose estimates diverge), the posterior mode and
    the BFGS approximation of its covariance."""
    from scipy import optimize

    from .category_newton import start

    p = len(cdesign.columns)
    try:
        if cov is None:
            raise np.linalg.LinAlgError("no maximum-likelihood estimates")
        mode = to_unconstrained(spec, theta, p)
        # Cov(u) = J^-1 Cov(theta) J^-T, J = d theta / d u at the estimates.
        J_inv = np.linalg.inv(_jacobian_of_transform(spec, theta, p))
        cov_u = J_inv @ cov @ J_inv.T
        chol = np.linalg.cholesky((cov_u + cov_u.T) / 2.0)
        if np.all(np.isfinite(chol)) and np.all(np.isfinite(mode)):
            return mode, chol
    except np.linalg.LinAlgError:
        pass

    def negative(u: np.ndarray) -> float:
        beta, zeta, _ = from_unconstrained(spec, u, p)
        value = beta if zeta is None else np.r_[beta, zeta]
        result = -log_posterior(spec, cdesign, priors, value)
        return result if np.isfinite(result) else 1e300

    found = optimize.minimize(
        negative, to_unconstrained(spec, start(spec, cdesign), p), method="BFGS"
    )
    return found.x, np.linalg.cholesky(found.hess_inv)


def theta_draws(spec: CategorySpec, u: np.ndarray, p: int) -> np.ndarray:
    """The parameters (coefficients, then cutpoints) from draws of the sampler's
    coordinates ``u`` (chain, draw, k)."""
    beta, zeta, _ = from_unconstrained(spec, u, p)
    return u if zeta is None else np.concatenate([beta, zeta], axis=-1)
