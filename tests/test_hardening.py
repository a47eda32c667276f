"""Hardening: degenerate inputs, numerical edge cases, interruption."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bayesglm as bg
from bayesglm import cli
from bayesglm.errors import BayesGLMError, SamplingWarning
from bayesglm.samplers import SAMPLERS, available_samplers


def _fit(model, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return model.fit(
            **{
                "draws": 400,
                "tune": 400,
                "chains": 2,
                "progressbar": False,
                "sampler": "nutpie",
                **kwargs,
            }
        )


_MLE_EDGE_FITS = """
import json, sys, warnings
import numpy as np
import bayesglm as bg

def edge_fits():
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    X = np.column_stack([np.ones(400), x])
    barely = rng.negative_binomial(300, 300 / (300 + np.exp(1.0 + 0.5 * x)))
    small = np.column_stack([np.ones(3), [1.0, 2.0, 4.0], [1.0, 4.0, 16.0]])
    fits = {
        "theta estimated": lambda: bg.fit_mle(X, barely, family="negative_binomial"),
        "theta held": lambda: bg.fit_mle(X, np.full(400, 3), family="negative_binomial"),
        "theta fixed": lambda: bg.fit_mle(X, barely, family=bg.NegativeBinomial(theta=2.0)),
        "n = p": lambda: bg.fit_mle(small, [1.3, 2.7, 0.4], family="gamma", link="log"),
        "separated": lambda: bg.fit_mle(X, (x > 0).astype(float), family="bernoulli"),
    }
    out = {}
    for name, fit in fits.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fit()
        out[name] = [
            result.params.tolist(), repr(result.llf), repr(result.aic), result.theta,
            result.converged, [f"{w.category.__name__}: {w.message}" for w in caught],
        ]
    return out
"""


def test_maximum_likelihood_fits_are_the_same_under_python_dash_o() -> None:
    """``python -O`` drops assert statements: nothing in the fits may depend on them."""
    namespace: dict = {}
    exec(_MLE_EDGE_FITS, namespace)
    expected = namespace["edge_fits"]()
    code = _MLE_EDGE_FITS + "\nprint(sys.flags.optimize, json.dumps(edge_fits()))"
    out = subprocess.run(
        [sys.executable, "-O", "-c", code], check=True, capture_output=True, text=True
    ).stdout
    flag, _, optimized = out.partition(" ")
    assert flag == "1"
    assert json.loads(optimized) == json.loads(json.dumps(expected))


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.ones((1, 2)), [1.0], r"rank deficient: column\(s\) 'x1'"),
        (
            np.c_[np.ones(3), [1.0, 2, 3], [2.0, 1, 0], [5.0, 1, 2]],
            [1, 2, 3],
            r"rank deficient: column\(s\) 'x2' are",
        ),
        (
            np.c_[np.ones(2), [1.0, 2], [2.0, 1], [5.0, 1]],
            [1, 2],
            r"rank deficient: column\(s\) 'x2', 'x3' are",
        ),
        (
            np.c_[np.ones(5), np.full(5, 2.0), np.arange(5.0)],
            [1, 2, 3, 4, 5],
            r"rank deficient: column\(s\) 'x1'",
        ),
        (np.empty((0, 2)), [], r"X must have at least one row and one column"),
    ],
)
def test_degenerate_designs_are_refused(X, y, message) -> None:
    with pytest.raises(BayesGLMError, match=message):
        bg.fit_mle(X, y, family="poisson")


def test_empty_data_frame_is_refused() -> None:
    with pytest.raises(BayesGLMError, match=r"at least one row"):
        bg.GLM("y ~ x", data=pd.DataFrame({"y": [], "x": []}), family="gaussian")


def test_rare_events_with_probabilities_near_1e_12() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 8, size=5000)
    eta = -27.6 + 4 * x  # probabilities from 1e-12 up to about 0.99
    y = (rng.random(5000) < 1 / (1 + np.exp(-eta))).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mle = bg.fit_mle(np.c_[np.ones(5000), x], y, family="bernoulli")
    assert mle.converged and np.isfinite(mle.bse).all()
    assert mle.fitted.min() < 1e-11
    np.testing.assert_allclose(mle.params, [-27.6, 4], atol=4 * mle.bse.max())


def test_very_large_counts_and_tiny_gamma_responses() -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(size=200)
    counts = rng.poisson(np.exp(20 + x))  # about 5e8 to 1e9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big = bg.fit_mle(np.c_[np.ones(200), x], counts, family="poisson")
    np.testing.assert_allclose(big.params, [20, 1], atol=1e-3)
    tiny = rng.gamma(5.0, np.exp(-23 + x) / 5.0)  # about 1e-10
    small = bg.fit_mle(np.c_[np.ones(200), x], tiny, family="gamma", link="log")
    np.testing.assert_allclose(small.params, [-23, 1], atol=0.2)
    fit = _fit(
        bg.GLM.from_arrays(np.c_[np.ones(200), x], tiny, family="gamma", link="log"), seed=1
    )
    assert fit.diagnostics().divergences == 0
    np.testing.assert_allclose(fit.summary()["mean"].iloc[:2], small.params, atol=0.2)


def test_near_collinear_predictors_sample_without_trouble() -> None:
    rng = np.random.default_rng(3)
    n = 400
    x1 = rng.normal(size=n)
    x2 = x1 + 1e-6 * rng.normal(size=n)  # condition number about 1e6 .. 1e8
    y = rng.poisson(np.exp(0.3 + 0.2 * x1))
    model = bg.GLM.from_arrays(np.c_[np.ones(n), x1, x2], y, family="poisson")
    fit = _fit(model, seed=2)
    diagnostics = fit.diagnostics()
    assert diagnostics.divergences == 0 and diagnostics.max_rhat < 1.05
    # The sum of the two slopes is what the data identify.
    total = fit.draws()["x1"] + fit.draws()["x2"]
    assert abs(total.mean() - 0.2) < 0.1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    family=st.sampled_from(["poisson", "bernoulli", "gamma", "gaussian"]),
    n_new=st.integers(1, 30),
    scale=st.floats(-3, 3),
)
def test_mle_predictions_are_finite_and_inside_the_support(family, n_new, scale) -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=150)
    eta = 0.2 + 0.5 * x
    y = {
        "poisson": lambda: rng.poisson(np.exp(eta)),
        "bernoulli": lambda: rng.binomial(1, 1 / (1 + np.exp(-eta))),
        "gamma": lambda: rng.gamma(2.0, np.exp(eta) / 2.0),
        "gaussian": lambda: eta + rng.normal(size=150),
    }[family]()
    link = "log" if family == "gamma" else None
    mle = bg.fit_mle(np.c_[np.ones(150), x], y, family=family, link=link)
    new = np.c_[np.ones(n_new), np.linspace(-1, 1, n_new) * scale]
    prediction = mle.predict(new)
    assert np.isfinite(prediction.to_numpy()).all()
    domain = bg.FAMILIES[family].mean_domain
    assert domain.includes(prediction["estimate"]).all()
    assert (prediction["conf_low"] <= prediction["estimate"]).all()
    assert (prediction["estimate"] <= prediction["conf_high"]).all()


@pytest.fixture(scope="module")
def posteriors() -> dict[str, object]:
    """A small posterior per family, fitted once (few draws: only the draws' range matters)."""
    rng = np.random.default_rng(6)
    n = 120
    x = rng.uniform(-1, 1, size=n)
    eta = 0.2 + 0.6 * x
    trials = np.full(n, 7.0)
    data = {
        "poisson": (rng.poisson(np.exp(eta)), None, None),
        "bernoulli": (rng.binomial(1, 1 / (1 + np.exp(-eta))), None, None),
        "binomial": (rng.binomial(7, 1 / (1 + np.exp(-eta))), trials, None),
        "gamma": (rng.gamma(2.0, np.exp(eta) / 2.0), None, "log"),
        "gaussian": (eta + rng.normal(size=n), None, None),
    }
    return {
        family: _fit(
            bg.GLM.from_arrays(np.c_[np.ones(n), x], y, family=family, link=link, trials=t),
            draws=100,
            tune=150,
            chains=1,
            seed=7,
        )
        for family, (y, t, link) in data.items()
    }


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    family=st.sampled_from(["poisson", "bernoulli", "binomial", "gamma", "gaussian"]),
    x=st.lists(st.floats(-5, 5), min_size=1, max_size=12),
    seed=st.integers(0, 2**16),
)
def test_posterior_predictions_are_finite_and_inside_the_support(
    posteriors, family, x, seed
) -> None:
    fit = posteriors[family]
    new = np.c_[np.ones(len(x)), x]  # |x| up to 5: far outside the data's [-1, 1]
    trials = np.full(len(x), 7.0) if family == "binomial" else None
    mean = fit.predict(new, scale="mean")
    response = fit.predict(new, scale="response", trials=trials, seed=seed)
    assert np.isfinite(mean.to_numpy()).all() and np.isfinite(response.to_numpy()).all()
    values = ["estimate", "conf_low", "conf_high"]
    assert bg.FAMILIES[family].mean_domain.includes(mean[values]).all()
    assert (mean["conf_low"] <= mean["estimate"]).all()
    assert (mean["estimate"] <= mean["conf_high"]).all()
    support = bg.FAMILIES[family].support
    high = 7.0 if family == "binomial" else support.high
    assert ((response[values] >= support.low) & (response[values] <= high)).all().all()


# A shell that runs the tests in the background starts them with SIGINT ignored, and
# children inherit that; a user's terminal does not, so the command restores Python's
# handler first.
_ANNOUNCING_CLI = """
import importlib, importlib.util, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from bayesglm import cli

def announced(sample):
    def run(*args, **kwargs):
        print("sampling starts", file=sys.stderr, flush=True)
        return sample(*args, **kwargs)
    return run

for name in ("pymc", "nutpie"):
    if importlib.util.find_spec(name):
        module = importlib.import_module(name)
        module.sample = announced(module.sample)
from bayesglm import compiled
compiled.run_compiled = announced(compiled.run_compiled)
cli.main_exit()
"""


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_interrupting_the_cli_leaves_no_processes_and_says_so(sampler, tmp_path) -> None:
    if sampler not in available_samplers():
        pytest.skip(f"the {sampler} sampler is not installed")
    data = tmp_path / "d.csv"
    rng = np.random.default_rng(5)
    pd.DataFrame({"x": rng.normal(size=300), "y": rng.poisson(2.0, size=300)}).to_csv(
        data, index=False
    )
    # The command announces when the backend's sampling call starts (the samplers print
    # nothing themselves with --quiet); Ctrl-C comes a moment later, mid-run.
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _ANNOUNCING_CLI,
            "fit",
            str(data),
            "--formula",
            "y ~ x",
            "--family",
            "poisson",
            "--sampler",
            sampler,
            "--draws",
            "200000",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    before = []
    while "sampling starts" not in (line := process.stderr.readline()):
        if not line:
            pytest.fail(f"the command ended before sampling: {''.join(before)}")
        before.append(line)
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("the command did not stop on Ctrl-C")
    assert process.returncode == 130, err
    assert "bayesglm: interrupted" in err
    leftover = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""


@pytest.fixture()
def ctrl_c_raises():
    """Python's Ctrl-C handler, even where the tests run with SIGINT ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("ctrl_c_raises")
def test_an_interrupt_swallowed_by_a_c_callback_still_stops_the_cli(monkeypatch, capsys) -> None:
    # Ctrl-C while numba compiles a model lands in a ctypes callback, where Python only
    # prints "Exception ignored" and goes on; the command must stop all the same.
    @ctypes.CFUNCTYPE(None)
    def callback() -> None:
        raise KeyboardInterrupt

    def command(args) -> None:
        callback()
        for _ in range(50):
            time.sleep(0.1)
        pytest.fail("the interrupt was swallowed")

    monkeypatch.setattr(cli, "_cmd_families", command)
    assert cli.main(["families"]) == 130
    assert capsys.readouterr().err.strip() == "bayesglm: interrupted"
