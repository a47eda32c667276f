"""Numerical trouble is warned whatever the call order, and recorded on the result.

The maximum-likelihood fit warns on every ``fit_mle()`` call, also after ``fit()``
computed it; the posterior mode search warns (and records) when it runs out of
iterations, and does not rely on ``assert`` (gone under ``python -O``).
"""

from __future__ import annotations

import ast
import functools
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import bayesglm as bg
import bayesglm.glm as glm_module
from bayesglm import laplace as laplace_module
from bayesglm.irls import fit_design
from bayesglm.laplace import laplace_approx

from .stand_in_nutpie import python_nutpie

PACKAGE = Path(bg.__file__).parent
SAMPLING = {"draws": 20, "tune": 20, "chains": 1, "seed": 1, "sampler": "nutpie"}


def _separated() -> bg.GLM:
    x = np.array([-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0])
    return bg.GLM.from_arrays(
        np.column_stack([np.ones(8), x]), (x > 0).astype(float), family="bernoulli"
    )


def _counts() -> bg.GLM:
    rng = np.random.default_rng(3)
    x = rng.normal(size=30)
    y = rng.poisson(np.exp(1.0 + 0.5 * x)).astype(float)
    return bg.GLM.from_arrays(np.column_stack([np.ones(30), x]), y, family="poisson")


TROUBLE = {
    "separation": (_separated, bg.SeparationWarning, r"complete or quasi-complete separation"),
    "no-convergence": (_counts, bg.ConvergenceWarning, r"IRLS did not converge in 2 iterations"),
}


def _fit_quietly(model: bg.GLM):
    with python_nutpie(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # twenty draws: sampling warnings
        return model.fit(progressbar=False, **SAMPLING)


def _recorded(mle, message: str) -> bool:
    return any(re.search(message, text) for text in mle.warnings)


@pytest.mark.parametrize("trouble", TROUBLE)
@pytest.mark.parametrize("first", ["fit_mle", "fit"])
def test_fit_mle_warns_whatever_was_called_before(trouble, first, monkeypatch):
    make, category, message = TROUBLE[trouble]
    if trouble == "no-convergence":
        monkeypatch.setattr(glm_module, "fit_design", functools.partial(fit_design, max_iter=2))
    model = make()
    if first == "fit":
        assert _recorded(_fit_quietly(model).mle, message)
    else:
        with pytest.warns(category, match=message):
            model.fit_mle()
    for _ in range(2):
        with pytest.warns(category, match=message):
            mle = model.fit_mle()
        assert _recorded(mle, message)


# --- the posterior mode search -----------------------------------------------------------


def _null_slope_under_laplace_prior() -> tuple[bg.GLM, object]:
    """A slope the data do not support, under a Laplace prior at 0: the posterior
    mode sits on the prior's kink, where the Newton step does not shrink."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    y = rng.poisson(2.0, size=40).astype(float)
    model = bg.GLM.from_arrays(
        np.column_stack([np.ones(40), x]), y, family="poisson", names=["Intercept", "x"]
    )
    return model, model.resolve_priors({"x": bg.Laplace(0.0, 0.05)})


def test_the_mode_search_converges_on_a_laplace_prior_kink():
    model, priors = _null_slope_under_laplace_prior()
    with warnings.catch_warnings():
        warnings.simplefilter("error", bg.ConvergenceWarning)
        laplace = laplace_approx(model.design, model.spec, priors, model.fit_mle())
    assert laplace.n_iter < 50  # a handful of Newton steps, not the iteration cap
    assert laplace.warnings == ()
    assert abs(laplace.mode[1]) < 1e-6  # the mode is the kink, 0


@pytest.mark.filterwarnings("ignore::bayesglm.errors.SamplingWarning")  # twenty draws
def test_running_out_of_iterations_is_warned_and_recorded(monkeypatch):
    monkeypatch.setattr(laplace_module, "MAX_ITER", 1)
    model = _counts()
    message = r"the posterior mode search did not converge in 1 iterations"
    with pytest.warns(bg.ConvergenceWarning, match=message):
        laplace = laplace_approx(model.design, model.spec, model.resolve_priors(), None)
    assert laplace.n_iter == 1
    assert len(laplace.warnings) == 1 and message in laplace.warnings[0]
    with python_nutpie(), pytest.warns(bg.ConvergenceWarning, match=message):
        result = model.fit(progressbar=False, **SAMPLING)
    assert result.laplace.warnings == laplace.warnings


def test_the_warning_does_not_depend_on_assert():
    """Under ``python -O`` (asserts removed) the capped search still says so."""
    script = (
        "import warnings\n"
        "import numpy as np\n"
        "import bayesglm as bg\n"
        "from bayesglm import laplace\n"
        "laplace.MAX_ITER = 1\n"
        "x = np.linspace(-1, 1, 20)\n"
        "model = bg.GLM.from_arrays(np.column_stack([np.ones(20), x]), np.round(3 + 2 * x),\n"
        "                           family='poisson')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    result = laplace.laplace_approx(model.design, model.spec,\n"
        "                                    model.resolve_priors(), None)\n"
        "print(result.warnings[0])\n"
        "print(caught[0].category.__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-O", "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert "posterior mode search did not converge in 1 iterations" in out
    assert "ConvergenceWarning" in out


class _StuckPosterior:
    """A one-coefficient posterior that is -inf where its mean is valid (b <= 0.5)
    and has no valid mean beyond."""

    def mean(self, beta: np.ndarray):
        return None if beta[0] > 0.5 else (beta, beta)

    def loglike(self, mu, natural) -> float:
        return -np.inf

    def log_prior_beta(self, beta) -> float:
        return 0.0


def test_the_line_search_never_accepts_an_invalid_mean():
    post = _StuckPosterior()
    found = laplace_module._line_search(post, np.array([0.0]), np.array([2.0]), None)
    assert found is None or post.mean(found) is not None


@pytest.mark.parametrize("module", ["laplace.py", "model.py", "glm.py"])
def test_no_assert_in_the_fitting_path(module):
    """A complement of the tests above: nothing there can vanish under -O."""
    tree = ast.parse((PACKAGE / module).read_text())
    asserts = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
    assert asserts == []


def test_a_fit_without_residual_degrees_of_freedom_says_so() -> None:
    # n = p with a free dispersion: nothing is left to learn sigma from.
    X = np.column_stack([np.ones(3), [0.0, 1.0, 3.0], [1.0, 0.0, 2.0]])
    model = bg.GLM.from_arrays(
        X, [1.0, 2.5, 2.0], family="gaussian", names=["Intercept", "a", "b"]
    )
    with pytest.raises(
        bg.BayesGLMError, match=r"no residual degrees of freedom.*got \(n=3, p=3\)"
    ):
        model.fit(draws=10, tune=10, chains=1, seed=1, progressbar=False)
