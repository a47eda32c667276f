"""Does the timber volume of a black cherry tree grow like the volume of a cylinder or a
cone, in proportion to girth squared times height?

Data: girth, height and timber volume of 31 felled black cherry trees (Ryan, Joiner &
Ryan 1976; R's ``trees``), bundled as ``bayesglm.datasets.load("trees")``.

Family and link: volume is positive and right-skewed, with a spread that grows with
its size. The **inverse gaussian** family lets the variance grow as mean^3 / lam (faster
than the gamma's mean^2). With the **log** link and logged predictors the model is a
power law, mean volume = exp(b0) * Girth^b1 * Height^b2, so b1 and b2 are elasticities:
1% more girth means about b1% more volume. A cylinder or cone has b1 = 2 and b2 = 1.
(exp(b) is a **mean ratio** per unit of log(Girth), i.e. per e-fold of girth.)

Prior: the default prior on ``lam`` is an exponential on 1/sqrt(lam), scaled by
sd(volume) / mean(volume)^1.5 from the raw volumes; it is nearly flat over the much
smaller spread left once girth and height are in the model, so the posterior follows
the data.

Run: ``python examples/inverse_gaussian_trees.py [OUTDIR]``; with OUTDIR, an HTML report
is written to ``OUTDIR/inverse_gaussian_trees.html``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _walkthrough import chance, fit_both_ways, run, write_report

import bayesglm as bg
from bayesglm import datasets


def main(outdir: Path | None = None) -> None:
    print(datasets.describe("trees"))
    data = datasets.load("trees")
    model = bg.GLM(
        "Volume ~ log(Girth) + log(Height)", data=data, family="inverse_gaussian", link="log"
    )

    fit, _ = fit_both_ways(model)

    # The answer: the exponents b1 and b2 against the cylinder's 2 and 1.
    summary = fit.summary()
    draws = fit.draws()
    parts, consistent = [], True
    for name, label, power in (("log(Girth)", "girth", 2), ("log(Height)", "height", 1)):
        row = summary.loc[name]
        inside = row["eti_lower"] <= power <= row["eti_upper"]
        consistent = consistent and inside
        parts.append(
            f"{label}^{row['median']:.2f} (95% interval {row['eti_lower']:.2f} to "
            f"{row['eti_upper']:.2f}, {'including' if inside else 'excluding'} {power})"
        )
    near = np.mean(
        (np.abs(draws["log(Girth)"] - 2) < 0.2) & (np.abs(draws["log(Height)"] - 1) < 0.2)
    )
    print(
        f"\nAnswer: volume grows as {parts[0]} times {parts[1]}; P(both exponents within "
        f"0.2 of 2 and 1) {chance(float(near))}. "
        + (
            "So the data agree with volume in proportion to girth squared times height, "
            "as for a cylinder or cone."
            if consistent
            else "So volume does not grow like girth squared times height."
        )
    )

    write_report(fit, outdir, "inverse_gaussian_trees")


if __name__ == "__main__":
    run(main, __doc__)
