"""What every example does around its own question: print, fit both ways, report."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pandas as pd

import bayesglm as bg

SEED = 2026


def show(title: str, frame: pd.DataFrame) -> None:
    """Print a table under a title, numbers to 4 significant digits."""
    print(f"\n{title}\n{frame.to_string(float_format=lambda v: f'{v:.4g}')}")


def chance(p: float) -> str:
    """'= 87.3%', or '> 99.9%' / '< 0.1%' at the ends: draws never prove certainty."""
    return "> 99.9%" if p > 0.999 else "< 0.1%" if p < 0.001 else f"= {p:.1%}"


def fit_both_ways(model: bg.GLM) -> tuple[bg.results.GLMResult, pd.DataFrame]:
    """Print the MLE summary, fit the posterior, print the comparison and the effects."""
    print()
    print(model.fit_mle().summary())
    fit = model.fit(seed=SEED, progressbar=False)
    show("Maximum likelihood vs posterior:", fit.compare_mle())
    effects = fit.effects()
    show(f"Effects ({effects.attrs['interval']} intervals):", effects.drop(columns="sentence"))
    print()
    for sentence in effects["sentence"]:
        print(f"- {sentence}")
    return fit, effects


def write_report(fit: bg.results.GLMResult, outdir: Path | None, name: str) -> None:
    """Write ``outdir/<name>.html`` when an output folder was given."""
    if outdir is not None:
        outdir.mkdir(parents=True, exist_ok=True)
        print(f"\nReport written to {fit.report(outdir / f'{name}.html')}")


def run(main: Callable[[Path | None], None], doc: str) -> None:
    """Command line of an example: ``python examples/<name>.py [OUTDIR]``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("outdir", nargs="?", type=Path, help="write an HTML report here")
    main(parser.parse_args().outdir)
