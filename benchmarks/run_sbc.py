"""Run the simulation-based calibration of tests/test_sbc.py and print a results table.

Run from the repository root::

    .venv/bin/python benchmarks/run_sbc.py                      # every combination
    .venv/bin/python benchmarks/run_sbc.py --only gamma-log     # one (family-link)
    .venv/bin/python benchmarks/run_sbc.py --reps 20            # a quick smoke run
    .venv/bin/python benchmarks/run_sbc.py --sampler compiled   # the precompiled engine

One row per parameter: the chi-square p-value of its 10-bin rank histogram (raw,
not adjusted), the mean normalized rank (0.5 when calibrated; above 0.5 the
posterior sits below the truth on average), the bin counts, and per combination
the fits with divergences, the fits with any SamplingWarning, and skipped prior
draws. The test's pass mark is p > 0.01 / (parameters in the combination).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_sbc import (
    ALPHA,
    CASES,
    N_REPLICATIONS,
    SAMPLERS,
    TABLE_HEADER,
    run_sbc,
    table_rows,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=N_REPLICATIONS)
    parser.add_argument("--only", nargs="*", help="family-link ids, e.g. poisson-sqrt")
    parser.add_argument("--sampler", default="nutpie", choices=SAMPLERS)
    args = parser.parse_args()
    cases = [case for case in CASES if not args.only or case.id in args.only]
    print(TABLE_HEADER)
    start = time.perf_counter()
    for case in cases:
        print("\n".join(table_rows(run_sbc(case, args.reps, args.sampler))), flush=True)
    print(f"\nTotal {time.perf_counter() - start:.0f} s; pass mark p > {ALPHA} / k.")


if __name__ == "__main__":
    main()
