"""Were cargo ships damaged by waves more often per month at sea in 1975-79 than in
1960-74, comparing ships of the same type and construction period?

Data: wave-damage incidents of cargo ships by ship type, years of construction and
period of operation, with the aggregate months of service of each group (McCullagh &
Nelder 1989, section 6.3.2; R's ``MASS::ships``), bundled as
``bayesglm.datasets.load("ships")``.

Family and link: the outcome is a count of incidents, so the family is **poisson**
with its canonical **log** link. Groups spent very different times at sea, so the
months of service enter as an **exposure**: ``exposure="service"`` adds
log(service) to the linear predictor with coefficient 1, and the model is about the
**rate** of incidents per month of service. exp(coefficient) is then a **rate ratio**.

Run: ``python examples/poisson_ships.py [OUTDIR]``; with OUTDIR, an HTML report is
written to ``OUTDIR/poisson_ships.html``.
"""

from __future__ import annotations

from pathlib import Path

from _walkthrough import chance, fit_both_ways, run, write_report

import bayesglm as bg
from bayesglm import datasets


def main(outdir: Path | None = None) -> None:
    print(datasets.describe("ships"))
    data = datasets.load("ships")
    model = bg.GLM(
        "incidents ~ type + C(year) + C(period)",
        data=data,
        family="poisson",
        link="log",
        exposure="service",
    )

    mle = model.fit_mle()
    fit, effects = fit_both_ways(model)

    # The answer, from the posterior of the period rate ratio.
    period = effects.loc["C(period)[T.75]"]
    change = period["median"] - 1
    print(
        f"\nAnswer: ships of the same type and age had {abs(change):.0%} "
        f"{'more' if change > 0 else 'fewer'} damage incidents per month of service in "
        f"1975-79 than in 1960-74 (rate ratio {period['median']:.2f}, 95% interval "
        f"{period['eti_lower']:.2f} to {period['eti_upper']:.2f}); P(rate ratio > 1) "
        f"{chance(period['p_positive'])}."
    )
    # The poisson fixes the variance at the mean; Pearson chi2 / df well above 1 means
    # the counts vary more than that, and the intervals above are too narrow.
    ratio = mle.pearson_chi2 / mle.df_resid
    print(
        f"Caveat: Pearson chi2 / residual df = {ratio:.2f}"
        + (
            " (> 1.2): the counts are overdispersed for a poisson, so these intervals are "
            "optimistic; a negative_binomial fit would widen them."
            if ratio > 1.2
            else ", no sign of overdispersion."
        )
    )

    write_report(fit, outdir, "poisson_ships")


if __name__ == "__main__":
    run(main, __doc__)
