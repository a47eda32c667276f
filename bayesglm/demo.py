"""The main job, end to end: a bundled dataset fitted by maximum likelihood and by NUTS.

Run with ``python -m bayesglm.demo`` (``make demo``).
"""

from __future__ import annotations

import pandas as pd

from . import datasets
from .glm import GLM


def main() -> None:
    """Fit the menarche dose-response data (binomial, k of n) both ways and compare."""
    data = datasets.load("menarche")
    print(datasets.DATASETS["menarche"].description)
    model = GLM("Menarche ~ Age", data=data, family="binomial", trials="Total")
    mle = model.fit_mle()
    print()
    print(mle.summary())
    fit = model.fit(seed=2026, progressbar=False)
    print()
    print(fit)
    summary = fit.summary()
    comparison = pd.DataFrame(
        {
            "MLE": mle.params,
            "SE": mle.bse,
            "posterior mean": summary["mean"],
            "posterior sd": summary["sd"],
        }
    )
    print()
    print("Maximum likelihood vs posterior:")
    print(comparison.to_string(float_format=lambda v: f"{v:.4f}"))
    age50 = -summary.loc["Intercept", "mean"] / summary.loc["Age", "mean"]
    print(f"\nAge at which half have reached menarche: {age50:.2f} years")


if __name__ == "__main__":
    main()
