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

import argparse
from pathlib import Path

import pandas as pd

import bayesglm as bg
from bayesglm import datasets

SEED = 2026


def show(title: str, frame: pd.DataFrame) -> None:
    """Print a table under a title, numbers to 4 significant digits."""
    print(f"\n{title}\n{frame.to_string(float_format=lambda v: f'{v:.4g}')}")


def chance(p: float) -> str:
    """'= 87.3%', or '> 99.9%' / '< 0.1%' at the ends: draws never prove certainty."""
    return "> 99.9%" if p > 0.999 else "< 0.1%" if p < 0.001 else f"= {p:.1%}"


def main(outdir: Path | None = None) -> None:
    print(datasets.describe("cars"))
    data = datasets.load("cars")
    model = bg.GLM("dist ~ speed", data=data, family="gaussian", link="identity")

    print()
    print(model.fit_mle().summary())

    fit = model.fit(seed=SEED, progressbar=False)
    show("Maximum likelihood vs posterior:", fit.compare_mle())
    effects = fit.effects()
    show(f"Effects ({effects.attrs['interval']} intervals):", effects.drop(columns="sentence"))
    print()
    for sentence in effects["sentence"]:
        print(f"- {sentence}")

    # The answer, from the posterior of the slope.
    slope = effects.loc["speed"]
    prediction = fit.predict(pd.DataFrame({"speed": [10, 20]}), scale="mean")
    print(
        f"\nAnswer: each extra mph adds about {slope['median']:.1f} ft to the stopping "
        f"distance (95% interval {slope['eti_lower']:.1f} to {slope['eti_upper']:.1f} ft; "
        f"P(slope > 0) {chance(slope['p_direction'])}). On average a car at 20 mph needs "
        f"{prediction['mean'].iloc[1]:.0f} ft to stop, against "
        f"{prediction['mean'].iloc[0]:.0f} ft at 10 mph."
    )

    if outdir is not None:
        outdir.mkdir(parents=True, exist_ok=True)
        print(f"\nReport written to {fit.report(outdir / 'gaussian_cars.html')}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", type=Path, help="write an HTML report here")
    main(parser.parse_args().outdir)
