"""The nutpie path's cache of compiled models: a fit after other fits of the same
structure gives the draws of a fit in a fresh process.

The property runs over every family, every coefficient prior class and every
positive prior class, with other prior numbers, other data and another n for
the earlier fit. By default it runs on a stand-in for nutpie that keeps nutpie's
contract but compiles in a fraction of a second (tests/stand_in_nutpie.py); with
``-m slow`` it also runs on nutpie itself. One test compares, on nutpie, a cached
fit with the same fit in a new Python process, draw for draw.
"""

from __future__ import annotations

import contextlib
import inspect
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st

import bayesglm as bg
import bayesglm.model as backend
from bayesglm import priors as priors_module
from bayesglm.families import FAMILIES
from bayesglm.links import LINKS

from .stand_in_nutpie import python_nutpie

NAMES = ("Intercept", "x1", "x2")
ROOT = Path(__file__).resolve().parents[1]


def _classes(base: type) -> list[type]:
    """The concrete prior classes of bayesglm.priors deriving from ``base``."""
    found = [
        cls
        for cls in vars(priors_module).values()
        if inspect.isclass(cls) and issubclass(cls, base) and cls is not base
    ]
    return sorted(found, key=lambda cls: cls.__name__)


COEF_PRIORS = _classes(priors_module.CoefPrior)
POSITIVE_PRIORS = _classes(priors_module.PositivePrior)


@dataclass(frozen=True)
class Case:
    """One structure: a family, two coefficient prior classes, a positive prior class."""

    family: str
    coef: tuple[type, type]
    dispersion: type | None
    link: str | None = None  # the family's default unless a prior class refuses it

    def __str__(self) -> str:
        names = "+".join(cls.__name__ for cls in self.coef)
        return f"{self.family}-{names}-{getattr(self.dispersion, '__name__', 'none')}"


# A quasi-family has no posterior, so no engine to cache.
LIKELIHOOD = {name: family for name, family in FAMILIES.items() if family.has_likelihood}


def _cases() -> list[Case]:
    """Every family, coefficient prior class and positive prior class at least once."""
    free = [name for name, family in LIKELIHOOD.items() if family.natural_param]
    fixed = [name for name, family in LIKELIHOOD.items() if not family.natural_param]
    pairs = [
        (free[i % len(free)], POSITIVE_PRIORS[i % len(POSITIVE_PRIORS)])
        for i in range(max(len(free), len(POSITIVE_PRIORS)))
    ] + [(name, None) for name in fixed]
    while len(pairs) < len(COEF_PRIORS):
        pairs.append(pairs[len(pairs) % len(free)])
    n = len(COEF_PRIORS)
    cases = [
        Case(family, (COEF_PRIORS[i % n], COEF_PRIORS[(i + 1) % n]), dispersion)
        for i, (family, dispersion) in enumerate(pairs)
    ]
    return [replace(case, link=_link_for(case)) for case in cases]


def _link_for(case: Case) -> str:
    """The family's first link that both coefficient prior classes accept (a prior on
    exp(beta) needs a link under which exp(beta) is an effect)."""
    for name in FAMILIES[case.family].links:
        try:
            for cls in case.coef:
                cls().check_link(LINKS[name], "x")
        except bg.BayesGLMError:
            continue
        return name
    raise AssertionError(f"no link of {case.family} suits {case.coef}")


CASES = _cases()


def test_the_cases_cover_every_registry_entry():
    assert {case.family for case in CASES} == set(LIKELIHOOD)
    assert {cls for case in CASES for cls in case.coef} == set(COEF_PRIORS)
    assert {case.dispersion for case in CASES} - {None} == set(POSITIVE_PRIORS)


# --- one fit's inputs, drawn -------------------------------------------------------------


def _prior(draw, cls: type) -> priors_module.Prior:
    """An instance with drawn numbers: locations in [-2, 2], the rest in [0.1, 10],
    drawn again where the class refuses them together (a range with low >= high)."""
    for _ in range(20):
        values = {}
        for field in fields(cls):
            if field.name in cls.locations:
                values[field.name] = draw(st.floats(-2.0, 2.0))
            else:
                values[field.name] = 10.0 ** draw(st.floats(-1.0, 1.0))
        try:
            return cls(**values)
        except bg.BayesGLMError:
            continue
    reject()


@st.composite
def fit_inputs(draw, case: Case, binary_x: bool) -> dict:
    """Data (n rows) and priors for one fit of the case's structure.

    Both coefficient prior classes are used, one coefficient (drawn) having the
    second, so the group sizes change between fits while the structure does not.
    """
    n = draw(st.integers(12, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    family = FAMILIES[case.family]
    x = rng.integers(0, 2, (n, 2)) if binary_x else rng.normal(size=(n, 2))
    X = np.column_stack([np.ones(n), x]).astype(float)
    if family.is_probability:
        mu = rng.uniform(0.25, 0.75, n)
    else:
        mu = np.exp(rng.uniform(0.0, 1.0, n))
    trials = rng.integers(1, 6, n).astype(float) if case.family == "binomial" else None
    y = family.sample(mu, 2.0, trials, rng)
    odd = draw(st.sampled_from(NAMES))
    priors = {name: _prior(draw, case.coef[1] if name == odd else case.coef[0]) for name in NAMES}
    if case.dispersion is not None:
        priors["dispersion"] = _prior(draw, case.dispersion)
    return {"X": X, "y": y, "trials": trials, "priors": priors}


def _fit(case: Case, inputs: dict, seed: int, **sampling) -> np.ndarray:
    model = bg.GLM.from_arrays(
        inputs["X"],
        inputs["y"],
        family=case.family,
        link=case.link,
        names=NAMES,
        trials=inputs["trials"],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short chains; MLE trouble in small samples
        result = model.fit(
            priors=inputs["priors"], seed=seed, sampler="nutpie", progressbar=False, **sampling
        )
    return _draws(result)


def _draws(result) -> np.ndarray:
    """Every posterior draw of the result (coefficients, the natural parameter) with its
    energy, in which any change of the log density shows."""
    posterior = result.posterior
    columns = [posterior["beta"].to_numpy()]
    if result.sampled_natural_name is not None:
        columns.append(posterior[result.sampled_natural_name].to_numpy()[..., None])
    columns.append(result.idata["sample_stats"]["energy"].to_numpy()[..., None])
    return np.concatenate(columns, axis=-1)


# --- the property ------------------------------------------------------------------------

STAND_IN = {"draws": 20, "tune": 20, "chains": 1}
NUTPIE = {"draws": 30, "tune": 30, "chains": 1}


@contextlib.contextmanager
def _fresh_cache(stand_in: bool) -> Iterator[dict]:
    """An empty cache of compiled models, as in a new process (yielded), on the
    stand-in or on nutpie; the session's cache is back afterwards."""
    if stand_in:
        with python_nutpie() as cache:
            yield cache
        return
    cache: dict = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backend, "_COMPILED", cache)
        yield cache


def _check_cached_equals_fresh(case: Case, data, stand_in: bool) -> None:
    binary_x = data.draw(st.booleans(), label="binary_x")
    earlier = data.draw(fit_inputs(case, binary_x), label="earlier fit")
    later = data.draw(fit_inputs(case, binary_x), label="later fit")
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    sampling = STAND_IN if stand_in else NUTPIE
    try:
        with _fresh_cache(stand_in) as cache:
            _fit(case, earlier, seed + 1, **sampling)
            cached = _fit(case, later, seed, **sampling)
            reused = len(cache) == 1
        with _fresh_cache(stand_in):
            fresh = _fit(case, later, seed, **sampling)
    except bg.BayesGLMError:
        reject()  # e.g. separated data under a flat prior: refused, not sampled
    np.testing.assert_array_equal(cached, fresh)
    # Other prior numbers, data and n are data of one compiled model: no recompiling.
    assert reused


@pytest.mark.parametrize(
    "stand_in",
    [True, pytest.param(False, marks=pytest.mark.slow)],
    ids=["stand-in", "nutpie"],  # nutpie compiles each structure in about 10 s
)
@pytest.mark.parametrize("case", CASES, ids=str)
@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a fit costs too much to shrink
)
@given(data=st.data())
def test_a_cached_fit_equals_a_fresh_fit(case, stand_in, data):
    _check_cached_equals_fresh(case, data, stand_in=stand_in)


# --- nutpie itself, across processes -----------------------------------------------------

# Issue #11: a gamma fit under InvSqrtExponential(0.01), then the same structure under
# InvSqrtExponential(100), sampled the second under the first prior.
FIRST_X = [0.1, 0.5, 0.9, 1.3, 1.7, 2.1]
FIRST_Y = [1.0, 1.4, 2.0, 2.9, 4.1, 5.9]
SECOND_X = [0.2, 0.4, 0.8, 1.1, 1.5, 1.9, 2.4, 2.8, 3.0]
SECOND_Y = [1.3, 1.1, 2.2, 2.4, 3.9, 5.1, 8.7, 11.2, 12.9]


def _gamma_fit(x: list[float], y: list[float], priors: dict):
    X = np.column_stack([np.ones(len(x)), x])
    model = bg.GLM.from_arrays(X, np.array(y), family="gamma", link="log", names=NAMES[:2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short chains
        return model.fit(priors=priors, seed=5, sampler="nutpie", progressbar=False, **NUTPIE)


def second_fit():
    """The fit compared across processes (run by the fresh process too)."""
    priors = {"coef": bg.Normal(0.0, 3.0), "dispersion": bg.InvSqrtExponential(100.0)}
    return _gamma_fit(SECOND_X, SECOND_Y, priors)


def test_a_cached_nutpie_fit_equals_the_fit_in_a_new_process(tmp_path):
    path = tmp_path / "fresh.npy"
    script = (
        "import numpy as np\n"
        "from tests.test_engine_cache import _draws, second_fit\n"
        f"np.save({str(path)!r}, _draws(second_fit()))\n"
    )
    with _fresh_cache(stand_in=False) as cache:
        _gamma_fit(FIRST_X, FIRST_Y, {"dispersion": bg.InvSqrtExponential(0.01)})
        cached = _draws(second_fit())
        assert len(cache) == 1  # the second fit reused the first one's program
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=300)
    np.testing.assert_array_equal(cached, np.load(path))
