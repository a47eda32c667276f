"""Package structure: import cost, layering, the demo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout


def test_import_and_mle_fit_do_not_import_pymc() -> None:
    out = _run(
        "import sys, numpy as np, bayesglm as bg\n"
        "bg.fit_mle(np.ones((3, 1)), [1, 2, 3], family='poisson')\n"
        "print(sorted(m for m in ('pymc', 'pytensor', 'arviz', 'xarray') if m in sys.modules))\n"
        "print(bg.load.__module__, bg.compare.__module__)"
    )
    assert out.split("\n")[:2] == ["[]", "bayesglm.results bayesglm.compare"]


def test_numeric_core_layers_import_only_downwards() -> None:
    # _xp <- links <- families <- design <- irls: a lower layer never imports a higher one.
    layers = ["_xp", "links", "families", "design", "irls"]
    for i, name in enumerate(layers):
        source = (ROOT / "bayesglm" / f"{name}.py").read_text()
        for higher in layers[i + 1 :]:
            assert f"from .{higher} import" not in source, (name, higher)
            assert f"from . import {higher}" not in source, (name, higher)


def test_demo_runs_end_to_end(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bayesglm.demo", str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert (tmp_path / "bayesglm_demo_report.html").stat().st_size > 50_000
    assert "Report written to" in out
    assert "Age at which half have reached menarche: 13.0" in out
    assert "Maximum likelihood vs posterior:" in out
    assert "all checks passed" in out
