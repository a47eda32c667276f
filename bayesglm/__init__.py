"""bayesglm: Bayesian generalized linear models, checked against maximum likelihood.

>>> import bayesglm as bg
>>> sorted(bg.FAMILIES)[:3]
['bernoulli', 'binomial', 'gamma']
"""

from __future__ import annotations

from .errors import BayesGLMError, ConvergenceWarning, SamplingWarning, SeparationWarning
from .families import FAMILIES, Family, NegativeBinomial, Spec, resolve
from .irls import fit_mle
from .links import LINKS, Link
from .mle import MLEResult

__all__ = [
    "FAMILIES",
    "LINKS",
    "BayesGLMError",
    "ConvergenceWarning",
    "Family",
    "Link",
    "MLEResult",
    "NegativeBinomial",
    "SamplingWarning",
    "SeparationWarning",
    "Spec",
    "fit_mle",
    "resolve",
]

__version__ = "0.1.0"
