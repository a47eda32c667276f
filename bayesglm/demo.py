"""The main job, end to end: a bundled dataset fitted by maximum likelihood and by NUTS.

Run with ``bayesglm demo`` or ``python -m bayesglm.demo`` (``make demo``): prints both
fits and their comparison, writes the HTML report and prints its path.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from . import datasets
from .glm import GLM


def main(output: Path | str = ".") -> Path:
    """Fit the menarche dose-response data (binomial, k of n) both ways and compare.

    Returns the path of the report written into ``output``.
    """
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
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    path = fit.report(folder / "bayesglm_demo_report.html")
    print(f"\nReport written to {path.resolve()}")
    return path


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
