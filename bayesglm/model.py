"""PyMC model building and NUTS sampling: the only module that imports pymc at the top.

Two models are built from the same pieces (prior groups, the link's single formula,
the family's likelihood description):

* :func:`build_model` — the readable generative model: named priors, the observed
  response, ``pm.Data`` for X, y, offset, weights and trials. Users extend it; it
  serves prior/posterior predictive checks with PyMC's own tools.
* :func:`build_sampling_model` — what NUTS runs: the same posterior in coordinates
  whitened by the Laplace approximation (``theta = m + L z``, a constant Jacobian),
  priors still on the user's coefficients. For the gaussian with identity link the
  likelihood uses only sufficient statistics, and rows of collapsible families
  that share covariates, offset and weight are merged exactly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.traversal import toposort

from ._xp import pt_ns
from .design import Design
from .families import Spec
from .laplace import LaplaceApprox
from .priors import ResolvedPriors
from .sampling_data import SamplingData, group_priors

__all__ = ["build_model", "build_sampling_model", "coef_log_prior", "run_backend"]

# --- shared pieces --------------------------------------------------------------------


def coef_log_prior(beta: Any, coef: Sequence[Any], centering: np.ndarray) -> Any:
    """The log prior density of coefficients ``beta`` whose priors ``coef`` (one per
    coefficient) are on ``centering @ beta``; every family's sampling model uses it."""
    # The priors' numbers are data of the model, not constants of its graph: a fit
    # with other numbers reuses the compiled model and reads its own.
    args = pt.dot(pm.Data("centering", centering), beta)
    total = pt.constant(0.0)
    for cls, (idx, params) in group_priors(coef).items():
        name = cls.pymc_name
        data = {k: pm.Data(f"prior_{name}_{k}", v) for k, v in params.items()}
        index = pm.Data(f"prior_{name}_index", idx)
        total = total + pt.sum(cls.pymc_logp(args[index], data))
    return total


def _natural_log_prior(value: Any, priors: ResolvedPriors) -> Any:
    prior = priors.natural
    if prior is None:
        return pt.constant(0.0)
    data = {k: pm.Data(f"natural_prior_{k}", v) for k, v in prior.params.items()}
    return prior.pymc_logp(value, data)


def _restrict_eta(spec: Spec, eta: Any, mask: Any = None) -> None:
    """Zero density outside the link's valid linear predictors (as R's valideta).

    The sqrt link's inverse eta^2 is defined for every eta, so without this the
    posterior would gain a mirrored mode at negative eta. Padded rows (mask 0) are
    not data and are not checked.
    """
    low = spec.link.eta_domain.low
    if np.isfinite(low):
        valid = eta > low if mask is None else pt.or_(eta > low, pt.eq(mask, 0))
        pm.Potential("eta_domain", pt.switch(pt.all(valid), 0.0, -np.inf))


def _likelihood_dist(spec: Spec, mu: Any, natural: Any, trials: Any) -> Any:
    name, kwargs = spec.family.pymc_likelihood(mu, natural, trials)
    return getattr(pm, name), kwargs


# --- the generative model ----------------------------------------------------------------


def build_model(design: Design, spec: Spec, priors: ResolvedPriors) -> pm.Model:
    """The readable PyMC model: priors on the user's coefficients, observed ``y``.

    Prior weights enter as R's: the gaussian's as precisions (sigma / sqrt(w));
    every other family's by multiplying each row's log-likelihood by w (a Potential
    adds the (w - 1) part, so ``y`` stays an ordinary observed variable).
    """
    names = list(design.names)
    n = design.n
    coords = {"coef": names, "obs": np.arange(n)}
    family = spec.family
    with pm.Model(coords=coords) as model:
        X = pm.Data("X", design.X, dims=("obs", "coef"))
        offset = pm.Data("offset", design.eta_offset, dims="obs")
        weights = pm.Data("weights", design.prior_weights, dims="obs")
        trials = (
            pm.Data("trials", design.trials, dims="obs") if design.trials is not None else None
        )
        prior_args = []
        for name, prior in priors.coef.items():
            rv_name = f"{name}_centered" if name == priors.intercept and priors.center else name
            prior_args.append(prior.pymc_variable(rv_name))
        args = pt.stack(prior_args)
        # Undo the centring: beta = C^-1 args, C = I + e_int x_means^T.
        beta = pm.Deterministic("beta", pt.dot(np.linalg.inv(priors.centering), args), dims="coef")
        natural = None
        if priors.natural is not None:
            natural = priors.natural.pymc_variable(family.natural_param)
        eta = pt.dot(X, beta) + offset
        _restrict_eta(spec, eta)
        mu = pm.Deterministic("mu", spec.link.inverse(eta, xp=pt_ns()), dims="obs")
        dist, kwargs = _likelihood_dist(spec, mu, natural, trials)
        observed = pm.Data("y", design.y, dims="obs")
        if family.weights_are_precision:
            dist, kwargs = _likelihood_dist(spec, mu, natural / pt.sqrt(weights), trials)
            dist("y_obs", **kwargs, observed=observed, dims="obs")
        else:
            y = dist("y_obs", **kwargs, observed=observed, dims="obs")
            if design.weights is not None:
                pm.Potential("weights_extra", pt.sum((weights - 1.0) * pm.logp(y, observed)))
    return model


# --- the sampling model ------------------------------------------------------------------


def build_sampling_model(
    design: Design,
    spec: Spec,
    priors: ResolvedPriors,
    laplace: LaplaceApprox,
    reduced: SamplingData,
) -> pm.Model:
    """The posterior in whitened coordinates ``z``: theta = mode + chol @ z."""
    p = design.p
    family = spec.family
    k = laplace.mode.size
    with pm.Model() as model:
        shift = pm.Data("shift", laplace.mode)
        chol = pm.Data("chol", laplace.chol)
        z = pm.Flat("z", shape=(k,))
        theta = shift + pt.dot(chol, z)
        beta = theta[:p]
        pm.Potential(
            "coef_prior", coef_log_prior(beta, list(priors.coef.values()), priors.centering)
        )
        natural = None
        if priors.fixed_natural is not None:
            natural = pm.Data("natural_fixed", priors.fixed_natural)
        elif family.natural_param is not None:
            log_natural = theta[p]
            natural = pt.exp(log_natural)
            pm.Potential("natural_prior", _natural_log_prior(natural, priors) + log_natural)
        d = {key: pm.Data(key, value) for key, value in reduced.data.items() if key != "mask"}
        if reduced.kind == "sufficient":
            # Quadratic form in beta, expanded around the mode for accuracy.
            delta = beta - shift[:p]
            mode_beta = shift[:p]
            resid_ss = (
                d["rtwr"]
                - 2 * pt.dot(mode_beta, d["xtwr"])
                + pt.dot(mode_beta, pt.dot(d["xtwx"], mode_beta))
            )
            gradient = pt.dot(d["xtwx"], mode_beta) - d["xtwr"]
            quad = resid_ss + 2 * pt.dot(delta, gradient) + pt.dot(delta, pt.dot(d["xtwx"], delta))
            # Precision weights: y_i ~ N(mu_i, sigma^2 / w_i).
            loglik = (
                -0.5 * d["n_rows"] * pt.log(2 * math.pi * natural**2)
                + d["half_sum_log_w"]
                - quad / (2 * natural**2)
            )
        else:
            # Padded rows (see sampling_data.pad_rows) have mask 0; without padding
            # the mask is all ones, so every backend runs this same graph.
            mask = pm.Data("mask", reduced.mask)
            eta = pt.dot(d["X"], beta) + d["offset"]
            _restrict_eta(spec, eta, mask)
            mu = spec.link.inverse(eta, xp=pt_ns())
            trials = d["trials"] if reduced.has_trials else None
            if family.weights_are_precision:
                scale = natural / pt.sqrt(d["weights"])
                dist, kwargs = _likelihood_dist(spec, mu, scale, trials)
                loglik = pt.sum(mask * pm.logp(dist.dist(**kwargs), d["y"]))
            else:
                dist, kwargs = _likelihood_dist(spec, mu, natural, trials)
                loglik = pt.sum(mask * d["weights"] * pm.logp(dist.dist(**kwargs), d["y"]))
        pm.Potential("loglik", loglik)
    return model


# --- sampling ---------------------------------------------------------------------------


_COMPILED: dict[tuple, Any] = {}
"""nutpie's compiled models, by :func:`_program_key` of the model they were compiled from."""


def _program_key(model: pm.Model) -> tuple[tuple, list[SharedVariable]]:
    """What a compiled log density is, and the data it reads.

    nutpie's program computes the log density, its gradient (derived from the same
    graph) and ``z`` itself, so the key is the log-density graph: each operation
    with its inputs, each input's type, and the value of every constant. Anything
    the building code turns into a constant (a prior's number, a count) is therefore
    part of the key, and a model that differs from a compiled one in it is compiled
    anew. Only ``pm.Data`` (shared variables, keyed by name and type) are inputs of
    the compiled program; they come back with the key so that a reused program reads
    this model's values.
    """
    logp = model.logp()
    position: dict[Variable, int] = {}
    entries: list[Any] = []
    shared: list[SharedVariable] = []
    for node in toposort([logp]):
        for var in node.inputs:
            if var in position:
                continue
            position[var] = len(position)
            if isinstance(var, Constant):
                entries.append(("constant", var.type, _constant_value(var)))
            elif isinstance(var, SharedVariable):
                entries.append(("data", var.name, var.type))
                shared.append(var)
            else:
                entries.append(("input", var.name, var.type))
        entries.append((node.op, tuple(position[var] for var in node.inputs)))
        for var in node.outputs:
            position[var] = len(position)
    entries.append(("output", position[logp]))
    return tuple(entries), shared


def _constant_value(constant: Constant) -> Any:
    """A constant's value as a hashable key: numbers by their bytes (so -0.0, NaN
    and the last bit count), anything else by PyTensor's own signature."""
    data = constant.data
    if isinstance(data, np.ndarray | np.generic) and data.dtype.kind in "biufc":
        array = np.asarray(data)
        return (array.dtype.str, array.shape, array.tobytes())
    return constant.signature()


def run_backend(
    model: pm.Model,
    *,
    sampler: str,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    target_accept: float,
    progressbar: bool,
) -> tuple[np.ndarray, Any, dict[str, float]]:
    """Run NUTS through PyMC ("numpyro", "pymc") or nutpie on a whitened posterior
    (a model whose one free variable is ``z``, see :class:`bayesglm.samplers.SamplingProblem`),
    starting at ``z = 0``: the draws of ``z`` (chain, draw, k), the backend's own
    sample stats, the timings."""
    timings: dict[str, float] = {}
    k = int(model["z"].type.shape[0])
    if sampler == "nutpie":
        trace = _sample_nutpie(
            model, k, draws, tune, chains, seed, target_accept, progressbar, timings
        )
    else:
        trace = _sample_pymc(
            model, sampler, k, draws, tune, chains, seed, target_accept, progressbar, timings
        )
    return np.asarray(trace["posterior"]["z"]), trace["sample_stats"], timings


def _sample_pymc(
    model, sampler, k, draws, tune, chains, seed, target_accept, progressbar, timings
):
    """PyMC's own NUTS, or numpyro through PyMC."""
    start = time.perf_counter()
    try:
        trace = pm.sample(
            draws,
            tune=tune,
            chains=chains,
            cores=min(chains, 2),
            random_seed=seed,
            progressbar=progressbar,
            nuts_sampler=sampler,
            target_accept=target_accept,
            initvals={"z": np.zeros(k)},
            compute_convergence_checks=False,
            model=model,
        )
    except ValueError as error:
        # PyMC stopped by Ctrl-C before its first kept draw fails for want of draws.
        if "Not enough samples" not in str(error):
            raise
        raise KeyboardInterrupt(
            f"sampling interrupted before the first of {draws} draws"
        ) from None
    finally:
        if sampler == "numpyro":
            _release_jax_programs()
    timings["compile_and_sample"] = time.perf_counter() - start
    return trace


_JAX_FITS = [0]  # numpyro fits since JAX's caches were last cleared
_JAX_FITS_PER_CLEAR = 20


def _release_jax_programs() -> None:
    """Free the programs JAX compiled, every few numpyro fits.

    Each fit compiles a new program (the data are constants in it), and JAX keeps
    every one: a loop of fits (a simulation study, SBC) grew by about 15 MB a fit
    until the process crashed. Clearing after every fit would also drop the helpers
    all fits share (5 s instead of 3 s a fit), so the caches go every 20 fits.
    """
    _JAX_FITS[0] += 1
    if _JAX_FITS[0] >= _JAX_FITS_PER_CLEAR:
        import jax

        jax.clear_caches()
        _JAX_FITS[0] = 0


def _sample_nutpie(model, k, draws, tune, chains, seed, target_accept, progressbar, timings):
    """nutpie, reusing the compiled model of this log density with this model's data."""
    import nutpie

    start = time.perf_counter()
    key, shared = _program_key(model)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = nutpie.compile_pymc_model(model, var_names=["z"])
    else:
        compiled = compiled.with_data(**{var.name: var.get_value() for var in shared})
    timings["compile"] = time.perf_counter() - start
    start = time.perf_counter()
    trace = nutpie.sample(
        compiled,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=min(chains, 2),
        seed=seed,
        progress_bar=progressbar,
        target_accept=target_accept,
        init_mean=np.zeros(k),
        save_warmup=False,
    )
    timings["sample"] = time.perf_counter() - start
    return trace
