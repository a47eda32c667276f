"""The precompiled engine runs the PyMC sampling model's own density.

For every family x link pair and every data reduction the sampling model uses, the
JAX log-density and its gradient equal PyMC's at random points, padded rows change
neither, and the numbers the engine feeds the program without building the model
(``sampling_inputs``) are the model's own ``pm.Data``. The posterior it samples is
checked in tests/test_bayes.py, against an exact conjugate posterior and, padded, against
the MLE at large n.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pytensor.compile.sharedvalue import SharedVariable

import bayesglm as bg
import bayesglm.model as backend
import bayesglm.samplers as samplers
from bayesglm import compiled
from bayesglm.errors import SamplingWarning
from bayesglm.families import FAMILIES
from bayesglm.laplace import laplace_approx
from bayesglm.sampling_data import (
    SamplingData,
    pad_rows,
    reduce_data,
    row_bucket,
    row_input_names,
    sampling_inputs,
)

from .test_statsmodels_oracle import simulate

pytestmark = pytest.mark.skipif(
    "compiled" not in samplers.available_samplers(), reason="needs jax and numpyro"
)

# Families with a likelihood: a quasi-family has no posterior to compile.
PAIRS = [(f, link) for f, fam in FAMILIES.items() if fam.has_likelihood for link in fam.links]


def _cases():
    """(family, link, reduction) for every pair and each reduction its family uses."""
    for family, link in PAIRS:
        yield family, link, "rows"
        if FAMILIES[family].collapsible:
            yield family, link, "merged"
        if FAMILIES[family].normal and link == "identity":
            yield family, link, "sufficient"


def _pieces(family: str, link: str, reduction: str, n: int = 120):
    # As tests/test_bayes.py's check of every pair: data every pair fits well.
    X, y, trials = simulate(FAMILIES[family], link, n=n, seed=11)
    if reduction == "merged":
        # Covariates on three levels: the collapsible families merge equal rows.
        X = np.round(X * 2) / 2
    weights = np.random.default_rng(0).integers(1, 3, size=n).astype(float)
    model = bg.GLM.from_arrays(X, y, family=family, link=link, trials=trials, weights=weights)
    resolved = model.resolve_priors()
    laplace = laplace_approx(model.design, model.spec, resolved, model.fit_mle())
    reduced = reduce_data(model.design, model.spec)
    if reduction == "rows" and reduced.kind == "sufficient":
        d = model.design
        data = {"X": d.X, "offset": d.eta_offset, "weights": d.prior_weights, "y": d.y}
        reduced = SamplingData("rows", data, False, n)
    expected = {"rows": "rows", "merged": "rows", "sufficient": "sufficient"}[reduction]
    assert reduced.kind == expected
    assert (reduced.n_rows < n) == (reduction == "merged")
    return model, resolved, laplace, reduced


def _relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1.0)


@pytest.mark.parametrize(("family", "link", "reduction"), list(_cases()), ids=str)
def test_jax_log_density_and_gradient_equal_pymcs_padded_blocked_or_not(family, link, reduction):
    import jax

    model, resolved, laplace, reduced = _pieces(family, link, reduction)
    spec = model.spec
    pm_model = backend.build_sampling_model(model.design, spec, resolved, laplace, reduced)
    logp = pm_model.compile_logp(mode="FAST_COMPILE")
    dlogp = pm_model.compile_dlogp(mode="FAST_COMPILE")
    padded = pad_rows(reduced, spec, 2 * row_bucket(reduced.n_rows))
    programs = []
    for data in (reduced, padded):
        sampling = backend.build_sampling_model(model.design, spec, resolved, laplace, data)
        density = compiled.log_density(sampling)
        names, fn = density.names, density
        inputs = sampling_inputs(spec, resolved, laplace, data)
        # What the engine feeds the program is exactly the model's data.
        shared = {
            name: var.get_value()
            for name, var in sampling.named_vars.items()
            if isinstance(var, SharedVariable)
        }
        assert set(names) <= set(shared) == set(inputs)
        for name, value in shared.items():
            np.testing.assert_array_equal(inputs[name], value, err_msg=name)
            assert inputs[name].dtype.kind == value.dtype.kind, name
        args = [inputs[name] for name in names]
        programs.append((jax.jit(lambda z, f=fn, a=args: f(z, *a)), args))
        if data is padded and data.kind == "rows":
            # The one-pass blocked form (large n), here on blocks of 64 rows.
            blocked = compiled.blocked_log_density(density.logp, names, row_input_names(data), 64)
            full = [*args, *density.precompute(*args)]
            programs.append((jax.jit(lambda z, f=blocked, a=full: f(z, *a)), full))
    if reduced.kind == "rows":
        assert padded.data["y"].shape[0] > reduced.data["y"].shape[0]
    rng = np.random.default_rng(7)
    finite = 0
    for _ in range(4):
        z = rng.normal(0.0, 0.7, size=laplace.mode.size)
        reference = float(logp({"z": z}))
        for program, _args in programs:
            value = float(program(z))
            if not np.isfinite(reference):
                assert value == reference
                continue
            assert _relative(value, reference) < 1e-12
            gradient = np.asarray(jax.grad(program)(z))
            ref_gradient = dlogp({"z": z})
            scale = max(np.abs(ref_gradient).max(), 1.0)
            np.testing.assert_array_less(np.abs(gradient - ref_gradient) / scale, 1e-12)
        finite += np.isfinite(reference)
    assert finite >= 1


def test_padded_rows_sit_inside_the_support_and_are_masked() -> None:
    for family, link in PAIRS:
        model, _, _, reduced = _pieces(family, link, "rows")
        padded = pad_rows(reduced, model.spec, 128)
        fill = ~padded.mask.astype(bool)
        assert fill.sum() == 8 and padded.n_rows == reduced.n_rows
        assert model.spec.family.support.includes(padded.data["y"][fill]).all()
        eta = padded.data["offset"][fill]
        assert np.all(eta > model.spec.link.eta_domain.low)
        mu = model.spec.link.inverse(eta)
        assert np.isfinite(model.spec.family.loglike_obs(padded.data["y"][fill], mu, 1.0)).all()
        np.testing.assert_array_equal(padded.data["X"][fill], 0.0)


def test_row_buckets_are_powers_of_two_from_64_then_eighths_of_one() -> None:
    small = (1, 64, 65, 128, 129, 1000, 4096)
    assert [row_bucket(n) for n in small] == [64, 64, 128, 128, 256, 1024, 4096]
    # Above 4096: multiples of an eighth of the power of two below n.
    assert [row_bucket(n) for n in (4097, 4608, 4609, 100_000)] == [4608, 4608, 5120, 106_496]
    for n in range(4097, 300_000, 997):
        assert n <= row_bucket(n) < n * 1.125


# --- the posterior -----------------------------------------------------------------------

FAST = {"draws": 500, "tune": 500, "chains": 2, "progressbar": False, "sampler": "compiled"}


def _fit(model: bg.GLM, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return model.fit(**{**FAST, **kwargs})


def test_same_seed_same_draws_and_the_stats_arviz_reads() -> None:
    X, y, _ = simulate(FAMILIES["bernoulli"], "logit", n=50, seed=1)
    model = bg.GLM.from_arrays(X, y, family="bernoulli")
    first, again, other = (_fit(model, draws=50, tune=50, seed=s) for s in (4, 4, 5))
    np.testing.assert_array_equal(first.draws().to_numpy(), again.draws().to_numpy())
    assert not np.array_equal(first.draws().to_numpy(), other.draws().to_numpy())
    stats = first.idata["sample_stats"]
    for name in ("diverging", "energy", "tree_depth", "n_steps", "step_size", "lp"):
        assert stats[name].shape == (2, 50), name
    assert first.timings["compile_and_sample"] > 0


def test_the_draws_do_not_depend_on_how_the_run_is_cut_into_calls(monkeypatch) -> None:
    X, y, _ = simulate(FAMILIES["poisson"], "log", n=40, seed=2)
    model = bg.GLM.from_arrays(X, y, family="poisson")
    assert compiled.chunk_length(40, 60) == 5
    in_calls = _fit(model, draws=60, tune=40, seed=3)  # 20 calls of 5 iterations
    monkeypatch.setattr(compiled, "MAX_CHUNKS", 1)
    in_one = _fit(model, draws=60, tune=40, seed=3)
    np.testing.assert_array_equal(in_calls.draws().to_numpy(), in_one.draws().to_numpy())
    for name, stat in in_calls.sample_stats.items():
        np.testing.assert_array_equal(stat, in_one.sample_stats[name], err_msg=name)


def test_the_draws_do_not_depend_on_how_many_threads_run_the_chains(monkeypatch) -> None:
    # Each chain is its own call of the one-chain program, seeded by its own key: on one
    # thread (one after another) or on four at once, every chain gives the same draws.
    X, y, _ = simulate(FAMILIES["bernoulli"], "logit", n=60, seed=5)
    model = bg.GLM.from_arrays(X, y, family="bernoulli")
    run = {"draws": 80, "tune": 60, "seed": 8, "chains": 4}
    monkeypatch.setattr(compiled, "cores", lambda: 4)
    threaded = _fit(model, **run)
    monkeypatch.setattr(compiled, "cores", lambda: 1)
    one_thread = _fit(model, **run)
    np.testing.assert_array_equal(threaded.draws().to_numpy(), one_thread.draws().to_numpy())
    for name, stat in threaded.sample_stats.items():
        np.testing.assert_array_equal(stat, one_thread.sample_stats[name], err_msg=name)
    # A chain's draws are its own: two chains of one run differ.
    draws = threaded.beta_draws
    assert not np.array_equal(draws[0], draws[1])


def test_chains_in_groups_sample_the_same_posterior(monkeypatch) -> None:
    # Above GROUP_FROM_CELLS a call runs several chains (vmap): three chains on two
    # cores are two calls of two, the last filled up with a chain whose draws are
    # dropped. Each chain is the same Markov chain as on its own, but floating-point
    # order differs and a chain amplifies that within its warm-up: the posteriors
    # agree, not the draws.
    X, y, _ = simulate(FAMILIES["bernoulli"], "logit", n=60, seed=5)
    model = bg.GLM.from_arrays(X, y, family="bernoulli")
    reduced = reduce_data(model.design, model.spec)
    run = {"draws": 1000, "tune": 300, "seed": 8, "chains": 3}
    monkeypatch.setattr(compiled, "cores", lambda: 2)
    alone = _fit(model, **run)
    assert compiled.chain_group(reduced, 3) == 1
    monkeypatch.setattr(compiled, "GROUP_FROM_CELLS", 1)
    assert compiled.chain_group(reduced, 3) == 2
    assert compiled.chain_group(reduced, 4) == 2
    grouped = _fit(model, **run)
    a, b = alone.draws().to_numpy(), grouped.draws().to_numpy()
    assert a.shape == b.shape and a.shape[0] == 3 * 1000
    sd = a.std(axis=0)
    assert np.all(np.abs(a.mean(axis=0) - b.mean(axis=0)) < 0.25 * sd)
    np.testing.assert_allclose(b.std(axis=0), sd, rtol=0.15)
    monkeypatch.setattr(compiled, "cores", lambda: 1)
    assert compiled.chain_group(reduced, 3) == 3


def _interrupt_at_call(monkeypatch, number: int, error: type = KeyboardInterrupt) -> list:
    """Every stored program raises ``error`` (KeyboardInterrupt, as Ctrl-C inside a call
    would) at the ``number``-th call of its ``advance``, counted over all chains; the
    list of calls made, one entry each."""
    calls = []

    def advance(program_advance):
        def interrupted(*args):
            calls.append(1)
            if len(calls) == number:
                raise error("the call failed")
            return program_advance(*args)

        return interrupted

    for digest, loaded in list(compiled._PROGRAMS.items()):
        monkeypatch.setitem(
            compiled._PROGRAMS,
            digest,
            compiled.Program(loaded.names, loaded.start, advance(loaded.advance)),
        )
    return calls


def test_an_interrupted_run_says_how_far_it_got(monkeypatch) -> None:
    X, y, _ = simulate(FAMILIES["poisson"], "log", n=40, seed=2)
    model = bg.GLM.from_arrays(X, y, family="poisson")
    _fit(model, draws=60, tune=40, seed=3, chains=1)  # the program, in memory
    _interrupt_at_call(monkeypatch, 12)
    # 11 calls of 5 iterations: 40 of warm-up and 15 draws of 60.
    with pytest.raises(KeyboardInterrupt, match="sampling interrupted after 15 of 60 draws"):
        _fit(model, draws=60, tune=40, seed=3, chains=1)


def test_an_interrupted_chain_stops_every_chain_at_the_shortest_ones_length(monkeypatch) -> None:
    X, y, _ = simulate(FAMILIES["poisson"], "log", n=40, seed=2)
    model = bg.GLM.from_arrays(X, y, family="poisson")
    _fit(model, draws=60, tune=40, seed=3, chains=3)
    monkeypatch.setattr(compiled, "cores", lambda: 3)
    _interrupt_at_call(monkeypatch, 20)
    plan_run = compiled.run_compiled
    cut = {}

    def run_and_keep(*args, **kwargs):
        cut["run"] = plan_run(*args, **kwargs)
        return cut["run"]

    monkeypatch.setattr(compiled, "run_compiled", run_and_keep)
    with pytest.raises(KeyboardInterrupt, match="sampling interrupted after"):
        _fit(model, draws=60, tune=40, seed=3, chains=3)
    # 19 calls over three chains before the interrupt: no chain got all 20 of its own,
    # and every chain is cut to the same length, at most the shortest chain's.
    z = cut["run"].z
    assert z.shape[0] == 3 and z.shape[1] < 60
    assert all(stat.shape == z.shape[:2] for stat in cut["run"].sample_stats.values())


def test_a_failed_call_stops_the_other_chains_and_raises(monkeypatch) -> None:
    X, y, _ = simulate(FAMILIES["poisson"], "log", n=40, seed=2)
    model = bg.GLM.from_arrays(X, y, family="poisson")
    _fit(model, draws=60, tune=40, seed=3, chains=3)
    monkeypatch.setattr(compiled, "cores", lambda: 3)
    calls = _interrupt_at_call(monkeypatch, 5, RuntimeError)
    with pytest.raises(RuntimeError, match="the call failed"):
        _fit(model, draws=60, tune=40, seed=3, chains=3)
    # Three chains of 20 calls each would make 60; the others stop at their next call.
    assert len(calls) <= 5 + 2 * 2


def test_a_long_run_shows_its_progress_on_stderr(monkeypatch, capsys) -> None:
    X, y, _ = simulate(FAMILIES["poisson"], "log", n=40, seed=2)
    model = bg.GLM.from_arrays(X, y, family="poisson")
    monkeypatch.setattr(compiled.Progress, "delay", 0.0)
    _fit(model, draws=60, tune=40, seed=3, progressbar=True)
    err = capsys.readouterr().err
    assert err.rstrip().endswith("NUTS, 2 chains: 100/100 iterations (draws), 0 s")
    # The line shows the iterations the chains have taken on average, and the phase.
    progress = compiled.Progress(2, 40, 100, show=True)
    progress.update(5)
    progress.close()
    assert capsys.readouterr().err == "\rNUTS, 2 chains: 5/100 iterations (warm-up), 0 s \n"
    _fit(model, draws=60, tune=40, seed=3, progressbar=False)
    assert capsys.readouterr().err == ""


def test_large_row_counts_take_the_blocked_pass_in_blocks_that_divide_the_bucket() -> None:
    def reduced(n: int, p: int) -> SamplingData:
        bucket = row_bucket(n)
        data = {"X": np.zeros((bucket, p)), "y": np.zeros(bucket)}
        return SamplingData("rows", data, False, n)

    assert compiled.row_block(reduced(30_000, 20)) == 0  # 30720 padded rows: below 32768
    for n in (32_769, 100_000, 250_001, 1_000_000):
        for p in (1, 5, 20, 200):
            block = compiled.row_block(reduced(n, p))
            assert 256 <= block <= 4096 and block & (block - 1) == 0
            assert row_bucket(n) % block == 0
            assert block * p * 8 <= max(compiled.BLOCK_BYTES, 256 * p * 8)
    sufficient = SamplingData("sufficient", {"XtWX": np.eye(3)}, False, 10**6)
    assert compiled.row_block(sufficient) == 0
