"""Shared fixtures: the R reference cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

R_GLM_DIR = Path(__file__).parent / "fixtures" / "r_glm"


def r_cases() -> list[dict]:
    """Every R glm() reference case (see fixtures/r_glm/README.md)."""
    return [json.loads(path.read_text()) for path in sorted(R_GLM_DIR.glob("*.json"))]


def as_array(value: object) -> np.ndarray | None:
    return None if value is None else np.asarray(value, dtype=float)
