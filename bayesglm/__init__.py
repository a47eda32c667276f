"""bayesglm: Bayesian generalized linear models, checked against maximum likelihood.

>>> import bayesglm as bg
>>> sorted(bg.FAMILIES)[:3]
['bernoulli', 'binomial', 'gamma']
"""

from __future__ import annotations

from .compare import compare
from .errors import (
    BayesGLMError,
    ConvergenceWarning,
    DomainWarning,
    MissingDataWarning,
    PerfectFitWarning,
    SamplingWarning,
    SeparationWarning,
    UnusedLevelWarning,
)
from .families import FAMILIES, Family, NegativeBinomial, Spec, resolve
from .glm import GLM
from .irls import fit_mle
from .links import LINKS, Link
from .mle import MLEResult

# Listed by name, not taken from PRIORS at run time, so that type checkers and editors
# see bg.Normal & co. (the package ships py.typed); tests/test_prior_registry.py fails,
# naming the class, when a registered prior is missing here.
from .priors import (
    Cauchy,
    Exponential,
    Fixed,
    Flat,
    Gamma,
    HalfCauchy,
    HalfFlat,
    HalfNormal,
    HalfStudentT,
    InverseGamma,
    InvSqrtExponential,
    Laplace,
    Normal,
    StudentT,
)

__all__ = [
    "FAMILIES",
    "GLM",
    "LINKS",
    "BayesGLMError",
    "Cauchy",
    "ConvergenceWarning",
    "DomainWarning",
    "Exponential",
    "Family",
    "Fixed",
    "Flat",
    "Gamma",
    "HalfCauchy",
    "HalfFlat",
    "HalfNormal",
    "HalfStudentT",
    "InvSqrtExponential",
    "InverseGamma",
    "Laplace",
    "Link",
    "MLEResult",
    "MissingDataWarning",
    "NegativeBinomial",
    "Normal",
    "PerfectFitWarning",
    "SamplingWarning",
    "SeparationWarning",
    "Spec",
    "StudentT",
    "UnusedLevelWarning",
    "compare",
    "fit_mle",
    "load",
    "resolve",
]

__version__ = "0.1.0"


def __getattr__(name: str):
    # bg.load is loaded on first use: results needs xarray, `import bayesglm` does not.
    if name == "load":
        from .results import load

        globals()["load"] = load
        return load
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
