"""How much does doubling the dose of cypermethrin raise the odds of killing a tobacco
budworm moth, and are female moths harder to kill than males?

Data: batches of 20 moths of each sex exposed to doses of 1 to 32 micrograms, and the
number killed (Collett 1991; Venables & Ripley 2002), bundled as
``bayesglm.datasets.load("budworm")``. The dose enters as ``ldose = log2(dose)``, so one
unit of ldose is a doubling of the dose.

Family and link: each row counts moths killed (``numdead``) out of ``total`` exposed, so
the outcome is **binomial** with ``trials="total"``. The **logit** link makes the log
odds of death linear in ldose and sex: exp(coefficient) is an **odds ratio**, per
doubling of the dose, or for males against females at the same dose. From the same
draws the script computes each sex's LD50, the dose that kills half the moths.

Run: ``python examples/binomial_budworm.py [OUTDIR]``; with OUTDIR, an HTML report is
written to ``OUTDIR/binomial_budworm.html``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from _walkthrough import chance, fit_both_ways, run, show, write_report

import bayesglm as bg
from bayesglm import datasets


def main(outdir: Path | None = None) -> None:
    print(datasets.describe("budworm"))
    data = datasets.load("budworm")
    model = bg.GLM(
        "numdead ~ sex + ldose", data=data, family="binomial", link="logit", trials="total"
    )

    fit, effects = fit_both_ways(model)

    # LD50 per sex: the logit is 0 where ldose = -(Intercept + male effect) / slope.
    draws = fit.draws()
    ld50 = {
        sex: 2.0 ** (-(draws["Intercept"] + male * draws["sex[T.M]"]) / draws["ldose"])
        for sex, male in (("female", 0), ("male", 1))
    }
    show(
        "LD50, the dose (micrograms) that kills half the moths (posterior median, 95%):",
        pd.DataFrame(
            {sex: np.quantile(dose, [0.5, 0.025, 0.975]) for sex, dose in ld50.items()},
            index=["median", "eti_lower", "eti_upper"],
        ).T,
    )

    # The answer.
    dose, male = effects.loc["ldose"], effects.loc["sex[T.M]"]
    p_female_harder = float(np.mean(ld50["female"] > ld50["male"]))
    print(
        f"\nAnswer: each doubling of the dose multiplies the odds of death by about "
        f"{dose['median']:.2f} (95% interval {dose['eti_lower']:.2f} to "
        f"{dose['eti_upper']:.2f}). At the same dose a male's odds of dying are "
        f"{male['median']:.2f} times a female's (95% interval {male['eti_lower']:.2f} to "
        f"{male['eti_upper']:.2f}): it takes about {np.median(ld50['female']):.1f} "
        f"micrograms to kill half the females against {np.median(ld50['male']):.1f} for "
        f"the males, so P(females are harder to kill) {chance(p_female_harder)}."
    )

    write_report(fit, outdir, "binomial_budworm")


if __name__ == "__main__":
    run(main, __doc__)
