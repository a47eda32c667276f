"""Shared fixtures: the R reference cases."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from hypothesis import settings

# On CI the property tests draw the same examples every run, so that a red run is
# reproducible and never a new random draw; locally they explore new ones each time.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

R_GLM_DIR = Path(__file__).parent / "fixtures" / "r_glm"


def r_cases() -> list[dict]:
    """Every R glm() reference case (see fixtures/r_glm/README.md)."""
    return [json.loads(path.read_text()) for path in sorted(R_GLM_DIR.glob("*.json"))]


def as_array(value: object) -> np.ndarray | None:
    return None if value is None else np.asarray(value, dtype=float)
