"""Do Aboriginal children miss more days of school than non-Aboriginal children of the
same sex, age group and learner status, and by how much?

Data: days absent in one school year of 146 children in Walgett, New South Wales
(Quine 1975; R's ``MASS::quine``), bundled as ``bayesglm.datasets.load("quine")``.

Family and link: days absent is a count, but a far more variable one than a poisson
allows (some children miss a few days, some miss months). The **negative binomial**
adds a parameter for that: variance = mu + mu^2 / theta, with theta (called ``alpha``
in the posterior, as in PyMC) estimated from the data; small theta, much extra
variation. With the canonical **log** link, exp(coefficient) is a **rate ratio**: how
many times the expected days absent are multiplied.

Run: ``python examples/negative_binomial_quine.py [OUTDIR]``; with OUTDIR, an HTML report
is written to ``OUTDIR/negative_binomial_quine.html``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _walkthrough import chance, fit_both_ways, run, write_report

import bayesglm as bg
from bayesglm import datasets


def main(outdir: Path | None = None) -> None:
    print(datasets.describe("quine"))
    data = datasets.load("quine")
    model = bg.GLM(
        "Days ~ Eth + Sex + Age + Lrn", data=data, family="negative_binomial", link="log"
    )

    fit, _ = fit_both_ways(model)

    # The answer. Eth[T.N] compares non-Aboriginal ('N') with Aboriginal ('A') children;
    # the question runs the other way, so the rate ratio is exp(-beta), draw by draw.
    ratio = np.exp(-fit.draws()["Eth[T.N]"])
    low, median, high = np.quantile(ratio, [0.025, 0.5, 0.975])
    theta = fit.summary().loc[fit.sampled_natural_name]
    print(
        f"\nAnswer: Aboriginal children are expected to miss {median:.2f} times as many days "
        f"as otherwise similar non-Aboriginal children (95% interval {low:.2f} to "
        f"{high:.2f}); P(they miss more) {chance(float(np.mean(ratio > 1)))}. "
        f"The counts are strongly overdispersed: theta is about {theta['median']:.2f} "
        f"(95% interval {theta['eti_lower']:.2f} to {theta['eti_upper']:.2f}), far from "
        f"the poisson's infinity."
    )

    write_report(fit, outdir, "negative_binomial_quine")


if __name__ == "__main__":
    run(main, __doc__)
