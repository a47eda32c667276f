"""Does the second lot of thromboplastin make blood clot faster than the first, at the
same plasma concentration, and how does clotting time fall as the concentration rises?

Data: clotting times of plasma diluted to nine concentrations, for two lots of the
clotting agent (Hurn et al. 1945; McCullagh & Nelder 1989, section 8.4.2; the Gamma
example of R's ``?glm``), bundled as ``bayesglm.datasets.load("clotting")``.

Family and link: clotting times are positive and their spread grows with their mean
(a constant coefficient of variation), which is the **gamma** family. Its canonical
**inverse** link makes 1 / mean time linear in log(concentration), with its own
intercept and slope per lot (``log(u) * lot``): clotting *speed* rises in a straight
line with log(concentration). Under the inverse link exp(coefficient) means nothing,
so the effects table shows the coefficients themselves; the answer is computed on the
scale of seconds from the posterior draws.

Prior: the default prior on the shape is an exponential on 1/sqrt(shape), the
coefficient of variation, scaled by the CV of the raw times; it is nearly flat over
the small CV (about 5%) these replicate times show, so the posterior follows the data.

Run: ``python examples/gamma_clotting.py [OUTDIR]``; with OUTDIR, an HTML report is
written to ``OUTDIR/gamma_clotting.html``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from _walkthrough import chance, fit_both_ways, run, show, write_report

import bayesglm as bg
from bayesglm import datasets

CONCENTRATIONS = [5, 20, 100]  # percent normal plasma, from the range of the data


def main(outdir: Path | None = None) -> None:
    print(datasets.describe("clotting"))
    data = datasets.load("clotting")
    model = bg.GLM("time ~ log(u) * lot", data=data, family="gamma", link="inverse")

    fit, _ = fit_both_ways(model)

    # Mean clotting time per lot at a few concentrations (posterior mean and interval).
    grid = pd.DataFrame(
        [(u, lot) for lot in ("lot1", "lot2") for u in CONCENTRATIONS], columns=["u", "lot"]
    )
    predicted = fit.predict(grid, scale="mean")
    show(
        "Mean clotting time (seconds) by lot and plasma concentration (%):",
        pd.concat([grid, predicted], axis=1).set_index(["lot", "u"]),
    )

    # The answer: time(lot2) / time(lot1) at each concentration, draw by draw.
    # 1 / mean = Intercept + log(u) * slope (+ the lot2 shifts of both).
    draws = fit.draws()
    log_u = np.log(CONCENTRATIONS)
    lot1 = draws["Intercept"].to_numpy()[:, None] + np.outer(draws["log(u)"], log_u)
    lot2 = (
        lot1
        + draws["lot[T.lot2]"].to_numpy()[:, None]
        + np.outer(draws["log(u):lot[T.lot2]"], log_u)
    )
    ratio = lot1 / lot2  # (1 / lot2 speed) / (1 / lot1 speed)
    parts = [
        f"{np.median(r):.2f} (95% interval {np.quantile(r, 0.025):.2f} to "
        f"{np.quantile(r, 0.975):.2f}) at {u}%"
        for u, r in zip(CONCENTRATIONS, ratio.T, strict=True)
    ]
    mean_time = predicted["estimate"].to_numpy()
    fold = mean_time[0] / mean_time[len(CONCENTRATIONS) - 1]
    print(
        f"\nAnswer: lot 2 clots faster: its mean clotting time is {', '.join(parts)} of "
        f"lot 1's; P(lot 2 is faster at every one of these concentrations) "
        f"{chance(float(np.mean((ratio < 1).all(axis=1))))}. For lot 1, going from "
        f"{CONCENTRATIONS[0]}% to {CONCENTRATIONS[-1]}% plasma shortens the mean clotting "
        f"time {fold:.1f}-fold."
        if np.median(ratio) < 1
        else f"\nAnswer: lot 2 does not clot faster: time ratios {', '.join(parts)}."
    )

    write_report(fit, outdir, "gamma_clotting")


if __name__ == "__main__":
    run(main, __doc__)
