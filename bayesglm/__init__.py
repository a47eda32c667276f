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
from .priors import PRIORS as _PRIORS

# Every prior class, as bg.Normal, bg.StudentT, ...: each registers itself in PRIORS.
globals().update(_PRIORS)

__all__ = [
    "FAMILIES",
    "GLM",
    "LINKS",
    "BayesGLMError",
    "ConvergenceWarning",
    "DomainWarning",
    "Family",
    "Link",
    "MLEResult",
    "MissingDataWarning",
    "NegativeBinomial",
    "PerfectFitWarning",
    "SamplingWarning",
    "SeparationWarning",
    "Spec",
    "UnusedLevelWarning",
    "compare",
    "fit_mle",
    "load",
    "resolve",
    *_PRIORS,
]

__version__ = "0.1.0"


def __getattr__(name: str):
    # bg.load is loaded on first use: persist needs xarray, `import bayesglm` does not.
    if name == "load":
        from .persist import load

        globals()["load"] = load
        return load
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
