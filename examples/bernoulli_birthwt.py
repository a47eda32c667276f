"""Does smoking during pregnancy raise the odds of a low-birth-weight baby?

The odds are compared between smokers and non-smokers of the same age, weight and race,
with the same history of premature labour, hypertension and uterine irritability.

Data: 189 births at Baystate Medical Center in 1986 (Hosmer & Lemeshow 1989; R's
``MASS::birthwt``), bundled as ``bayesglm.datasets.load("birthwt")``.

Family and link: each birth is low weight (1) or not (0), so the outcome is
**bernoulli**. The **logit** link models the log odds as linear in the predictors,
so exp(coefficient) is an **odds ratio**: how many times the odds of low birth weight
are multiplied when that predictor goes up by one (smoke goes from 0 to 1), the others
held fixed.

Run: ``python examples/bernoulli_birthwt.py [OUTDIR]``; with OUTDIR, an HTML report is
written to ``OUTDIR/bernoulli_birthwt.html``.
"""

from __future__ import annotations

from pathlib import Path

from _walkthrough import chance, fit_both_ways, run, write_report

import bayesglm as bg
from bayesglm import datasets


def main(outdir: Path | None = None) -> None:
    print(datasets.describe("birthwt"))
    data = datasets.load("birthwt")
    model = bg.GLM(
        "low ~ age + lwt + race + smoke + ptl + ht + ui",
        data=data,
        family="bernoulli",
        link="logit",
    )

    fit, effects = fit_both_ways(model)

    # The answer, from the posterior of the smoking odds ratio.
    smoke = effects.loc["smoke"]
    if smoke["eti_lower"] > 1:
        verdict = "Yes"
    elif smoke["p_positive"] > 0.9:
        verdict = "Probably, but the 95% interval still includes no effect"
    else:
        verdict = "These data cannot tell"
    print(
        f"\nAnswer: {verdict}. Smoking multiplies the odds of a low-birth-weight baby by "
        f"about {smoke['median']:.2f} (95% interval {smoke['eti_lower']:.2f} to "
        f"{smoke['eti_upper']:.2f}) for mothers alike in the other factors; "
        f"P(odds ratio > 1) {chance(smoke['p_positive'])}."
    )

    write_report(fit, outdir, "bernoulli_birthwt")


if __name__ == "__main__":
    run(main, __doc__)
