"""Units and boundary values: inputs at the edge that must be refused clearly rather than
fitted into a silently different model (issue #11, second hunt)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import bayesglm as bg
from bayesglm.errors import BayesGLMError


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "y": [1.0, 2.0, 3.0, 5.0, 4.0, 6.0],
            "x": [1.0, 2.0, 3.0, 4.0, 6.0, 5.0],
            "g": ["a"] * 6,
            "k": [0, 1, 0, 2, 1, 0],
            "t": [0, 0, 0, 0, 0, 0],
        }
    )


@pytest.mark.parametrize("term", ["g", "C(g)", "C(g):x"])
def test_a_single_level_factor_is_refused_not_dropped(small, term) -> None:
    # R: glm(y ~ x + g) stops with "contrasts can be applied only to factors with 2 or
    # more levels"; formulaic gives the term zero columns, which used to vanish silently.
    expected = rf"term {re.escape(repr(term))}.*'g' has only \['a'\]"
    with pytest.raises(BayesGLMError, match=expected):
        bg.GLM(f"y ~ x + {term}", data=small, family="gaussian")


def test_a_factor_left_with_one_level_by_missing_rows_is_refused(small) -> None:
    df = small.assign(g=["b", "a", "a", "a", "a", "a"], x=[np.nan, 2.0, 3.0, 4.0, 6.0, 5.0])
    with pytest.warns(bg.MissingDataWarning), pytest.raises(BayesGLMError, match="'g' has only"):
        bg.GLM("y ~ x + g", data=df, family="gaussian")


@pytest.mark.parametrize("weights", [None, [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]])
def test_binomial_with_no_trials_is_refused_by_name(small, weights) -> None:
    # With every trial count zero (where weight > 0), the data say nothing; it used to
    # be reported as a rank-deficient model matrix, naming the Intercept.
    t = [0, 0, 3, 3, 3, 3] if weights is not None else small["t"]
    df = small.assign(k=0, t=t)
    with pytest.raises(BayesGLMError, match=r"every row has 0 trials.*got \(trials=0 in all"):
        bg.GLM("k ~ x", data=df, family="binomial", trials="t", weights=weights)
