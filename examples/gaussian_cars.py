"""How much farther does a car need to stop for every extra mile per hour of speed?

Data: the stopping distances of 50 cars recorded in the 1920s (Ezekiel 1930; R's
``cars``), bundled as ``bayesglm.datasets.load("cars")``.

Family and link: the **gaussian** family with the **identity** link is ordinary linear
regression, ``dist = b0 + b1 * speed + normal noise`` with a constant spread ``sigma``.
The slope ``b1`` is read directly in feet per mph; exp(b1) means nothing here, so the
effects table reports the slope itself.

Run: ``python examples/gaussian_cars.py [OUTDIR]``; with OUTDIR, an HTML report is
written to ``OUTDIR/gaussian_cars.html``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from _walkthrough import chance, fit_both_ways, run, write_report

import bayesglm as bg
from bayesglm import datasets


def main(outdir: Path | None = None) -> None:
    print(datasets.describe("cars"))
    data = datasets.load("cars")
    model = bg.GLM("dist ~ speed", data=data, family="gaussian", link="identity")

    fit, effects = fit_both_ways(model)

    # The answer, from the posterior of the slope.
    slope = effects.loc["speed"]
    prediction = fit.predict(pd.DataFrame({"speed": [10, 20]}), scale="mean")
    print(
        f"\nAnswer: each extra mph adds about {slope['median']:.1f} ft to the stopping "
        f"distance (95% interval {slope['eti_lower']:.1f} to {slope['eti_upper']:.1f} ft; "
        f"P(slope > 0) {chance(slope['p_positive'])}). On average a car at 20 mph needs "
        f"{prediction['estimate'].iloc[1]:.0f} ft to stop, against "
        f"{prediction['estimate'].iloc[0]:.0f} ft at 10 mph."
    )

    write_report(fit, outdir, "gaussian_cars")


if __name__ == "__main__":
    run(main, __doc__)
