"""The main job, end to end: a bundled dataset fitted by maximum likelihood.

Run with ``python -m bayesglm.demo`` (``make demo``).
"""

from __future__ import annotations

import numpy as np

from . import datasets
from .irls import fit_mle


def main() -> None:
    """Fit the menarche dose-response data (binomial, k of n) and print summaries."""
    data = datasets.load("menarche")
    X = np.column_stack([np.ones(len(data)), data["Age"]])
    print(datasets.DATASETS["menarche"].description)
    for link in ("logit", "probit", "cloglog"):
        fit = fit_mle(
            X,
            data["Menarche"],
            trials=data["Total"],
            family="binomial",
            link=link,
            names=["Intercept", "Age"],
        )
        print()
        print(fit.summary())
        age50 = -fit.params["Intercept"] / fit.params["Age"]
        print(f"Age at which half have reached menarche ({link}): {age50:.3f} years")


if __name__ == "__main__":
    main()
