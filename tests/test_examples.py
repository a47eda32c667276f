"""Every script in examples/ runs, prints its tables and writes its report.

Each script runs in its own process (as a user would run it), with an output directory
for the HTML report. New scripts in examples/ are picked up automatically.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("[!_]*.py"))


def test_examples_found():
    assert len(EXAMPLES) >= 7, EXAMPLES


@pytest.mark.parametrize("script", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path):
    outdir = tmp_path / "reports"
    done = subprocess.run(
        [sys.executable, str(script), str(outdir)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout}\n{done.stderr}"
    out = done.stdout
    assert "Coefficients:" in out  # the MLE summary
    assert "Maximum likelihood vs posterior" in out  # fit.compare_mle()
    assert "verdict" in out and "post_mean" in out
    assert "Effects (" in out and "p_direction" in out  # fit.effects()
    assert "\n- " in out  # the effect sentences
    assert "\nAnswer: " in out
    report = outdir / f"{script.stem}.html"
    assert report.is_file(), f"{script.name} wrote no report; output dir: {list(outdir.iterdir())}"
    assert report.stat().st_size > 1000
    assert str(report) in out
