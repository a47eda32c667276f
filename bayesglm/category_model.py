r"""The posterior of a categorical outcome as a PyMC model, and NUTS on it.

NUTS runs in coordinates whitened by the Laplace approximation at the maximum
likelihood, as for the other families: :math:`u = \hat u + L z` with :math:`LL^\top`
the covariance of :math:`\hat u` (a constant Jacobian). For the cumulative family
:math:`u` holds the cutpoints through PyMC's ordered transform,
:math:`(\zeta_1, \log(\zeta_2 - \zeta_1), \dots)`, whose log-Jacobian
:math:`\sum_k \log(\zeta_{k+1} - \zeta_k)` is added, so the cutpoints stay increasing
and the priors stay on :math:`\zeta`. The likelihood is PyMC's ``Categorical``: with
``logit_p`` the linear predictors (softmax) for the categorical, with ``p`` the
cumulative probabilities from the link's own formula for the cumulative; frequency
weights multiply each row's log-likelihood.

PyMC is imported inside the functions: ``import bayesglm`` and ``bayesglm mle`` do
not load it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._xp import NP, MathNamespace, pt_ns
from .category_design import CategoryDesign
from .category_families import CategorySpec
from .category_priors import CategoryPriors
from .errors import BayesGLMError

__all__ = [
    "CATEGORY_SAMPLERS",
    "CategoryRun",
    "build_category_sampling_model",
    "from_unconstrained",
    "log_posterior",
    "run_category_nuts",
    "to_unconstrained",
]

CATEGORY_SAMPLERS = ("numpyro", "nutpie", "pymc")
"""The backends that sample these families, in the order "auto" tries them."""


@dataclass(frozen=True)
class CategoryRun:
    """Draws of the parameters (chain, draw, parameter) and what ran."""

    theta: np.ndarray
    sample_stats: dict[str, np.ndarray]
    sampler: str
    timings: dict[str, float]


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


def _log_likelihood(
    spec: CategorySpec, cdesign: CategoryDesign, beta: Any, zeta: Any, xp: MathNamespace
) -> Any:
    """sum_i w_i log P(Y = y_i), through PyMC's Categorical (pytensor)."""
    import pymc as pm
    import pytensor.tensor as pt

    X = pt.constant(cdesign.X)
    codes = pt.constant(cdesign.codes)
    w = pt.constant(cdesign.design.case_weights)
    K, ref = cdesign.K, cdesign.reference
    if spec.family.ordered:
        eta = pt.dot(X, beta)
        F = spec.link.inverse(zeta[None, :] - eta[:, None], xp)
        n = cdesign.design.n
        F = pt.concatenate([pt.zeros((n, 1)), F, pt.ones((n, 1))], axis=1)
        dist = pm.Categorical.dist(p=F[:, 1:] - F[:, :-1])
    else:
        p = X.shape[1]
        B = beta.reshape((K - 1, p))
        eta = pt.dot(X, B.T)
        zeros = pt.zeros((cdesign.design.n, 1))
        eta = pt.concatenate([eta[:, :ref], zeros, eta[:, ref:]], axis=1)
        dist = pm.Categorical.dist(logit_p=eta)
    return pt.sum(w * pm.logp(dist, codes))


def build_category_sampling_model(
    spec: CategorySpec,
    cdesign: CategoryDesign,
    priors: CategoryPriors,
    mode: np.ndarray,
    chol: np.ndarray,
):
    """The posterior in whitened coordinates ``z`` (a PyMC model).

    Returns
    -------
    pymc.Model
    """
    import pymc as pm
    import pytensor.tensor as pt

    xp = pt_ns()
    p = len(cdesign.columns)
    with pm.Model() as model:
        z = pm.Flat("z", shape=len(mode))
        u = pt.constant(mode) + pt.dot(pt.constant(chol), z)
        beta, zeta, log_jacobian = from_unconstrained(spec, u, p, xp)
        if spec.family.ordered:
            pm.Potential("log_prior", priors.log_prior(beta, zeta, spec.link, xp))
            pm.Potential("ordered_jacobian", log_jacobian)
        else:
            pm.Potential("log_prior", priors.log_prior(beta, xp=xp))
        pm.Potential("log_likelihood", _log_likelihood(spec, cdesign, beta, zeta, xp))
    return model


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


def check_category_sampler(sampler: str) -> str:
    """The backend a fit uses: "compiled" is refused, "auto" takes the first installed."""
    import importlib.util

    if sampler == "compiled":
        raise BayesGLMError(
            "the precompiled engine does not take categorical or cumulative outcomes yet; "
            f"use sampler='auto' or one of {', '.join(CATEGORY_SAMPLERS)}; "
            "got (sampler='compiled')."
        )
    if sampler == "auto":
        return next(
            name
            for name in CATEGORY_SAMPLERS
            if name == "pymc" or importlib.util.find_spec(name) is not None
        )
    if sampler not in CATEGORY_SAMPLERS:
        raise BayesGLMError(
            f"unknown sampler; the samplers of these families are auto, "
            f"{', '.join(CATEGORY_SAMPLERS)}; got (sampler={sampler!r})."
        )
    return sampler


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


def run_category_nuts(
    spec: CategorySpec,
    cdesign: CategoryDesign,
    priors: CategoryPriors,
    mle_theta: np.ndarray,
    mle_cov: np.ndarray | None,
    *,
    sampler: str,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    target_accept: float,
    progressbar: bool,
) -> CategoryRun:
    """NUTS from the maximum likelihood, whitened by its covariance (``mle_cov``
    None: from the posterior mode, see :func:`_whitening`)."""
    import pymc as pm

    timings: dict[str, float] = {}
    start = time.perf_counter()
    p = len(cdesign.columns)
    mode, chol = _whitening(spec, cdesign, priors, mle_theta, mle_cov)
    model = build_category_sampling_model(spec, cdesign, priors, mode, chol)
    timings["build"] = time.perf_counter() - start
    start = time.perf_counter()
    trace = pm.sample(
        draws,
        tune=tune,
        chains=chains,
        cores=min(chains, 2),
        random_seed=seed,
        progressbar=progressbar,
        nuts_sampler=sampler,
        target_accept=target_accept,
        initvals={"z": np.zeros(len(mode))},
        compute_convergence_checks=False,
        model=model,
    )
    timings["sample"] = time.perf_counter() - start
    z = np.asarray(trace["posterior"]["z"])
    u = mode + z @ chol.T
    beta, zeta, _ = from_unconstrained(spec, u, p)
    theta = u if zeta is None else np.concatenate([beta, zeta], axis=-1)
    stats = trace["sample_stats"]
    sample_stats = {
        name: np.asarray(stats[name])
        for name in ("diverging", "tree_depth", "energy", "step_size")
        if name in stats
    }
    return CategoryRun(theta=theta, sample_stats=sample_stats, sampler=sampler, timings=timings)
