"""bayesglm: Bayesian generalized linear models, checked against maximum likelihood.

``import bayesglm`` loads nothing but this module: each public name is imported from
its module on first use (:data:`_EXPORTS`), so a command, a notebook or a script that
needs only the MLE never waits for pandas, scipy, formulaic, PyMC or ArviZ to load
before it asks for them.

>>> import bayesglm as bg
>>> sorted(bg.FAMILIES)[:3]
['bernoulli', 'binomial', 'gamma']
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

# Seen by type checkers and editors (the package ships py.typed); at run time the same
# names come from _EXPORTS on first use. tests/test_package.py checks that the two
# lists, __all__ and the modules agree, and tests/test_prior_registry.py fails, naming
# the class, when a registered prior is missing.
if TYPE_CHECKING:
    from .compare import compare
    from .errors import (
        BayesGLMError,
        CacheWarning,
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
    from .priors import (
        Cauchy,
        EffectRange,
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
    from .results import load

__all__ = [
    "FAMILIES",
    "GLM",
    "LINKS",
    "BayesGLMError",
    "CacheWarning",
    "Cauchy",
    "ConvergenceWarning",
    "DomainWarning",
    "EffectRange",
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

_EXPORTS: dict[str, str] = {
    "compare": "compare",
    **dict.fromkeys(
        (
            "BayesGLMError",
            "CacheWarning",
            "ConvergenceWarning",
            "DomainWarning",
            "MissingDataWarning",
            "PerfectFitWarning",
            "SamplingWarning",
            "SeparationWarning",
            "UnusedLevelWarning",
        ),
        "errors",
    ),
    **dict.fromkeys(("FAMILIES", "Family", "NegativeBinomial", "Spec", "resolve"), "families"),
    "GLM": "glm",
    "fit_mle": "irls",
    "LINKS": "links",
    "Link": "links",
    "MLEResult": "mle",
    **dict.fromkeys(
        (
            "Cauchy",
            "EffectRange",
            "Exponential",
            "Fixed",
            "Flat",
            "Gamma",
            "HalfCauchy",
            "HalfFlat",
            "HalfNormal",
            "HalfStudentT",
            "InverseGamma",
            "InvSqrtExponential",
            "Laplace",
            "Normal",
            "StudentT",
        ),
        "priors",
    ),
    "load": "results",
}
"""Each public name and the module (of this package) that defines it."""


def __getattr__(name: str) -> Any:
    # PEP 562: called only for names not yet in the namespace; the value is kept there,
    # so each name is looked up once.
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """The package's module type: ``bg.compare`` stays the function.

    Loading a submodule binds it to the package attribute of its name, so the first
    import of :mod:`bayesglm.compare` (by whatever needs it) would otherwise replace
    the function ``bg.compare`` with the module that defines it.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
