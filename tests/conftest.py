"""Shared fixtures: the R reference cases; a cache folder of the test session's own; a
sys.path a test sets, listed anew."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# Set before any test module imports bayesglm, and inherited by the subprocesses tests
# start: compiled models of the test session go to a folder of its own, never into
# the user's cache, and are shared by all its tests (and removed at the end).
SESSION_CACHE_DIR = tempfile.mkdtemp(prefix="bayesglm-test-cache-")
os.environ["BAYESGLM_CACHE_DIR"] = SESSION_CACHE_DIR
os.environ.pop("BAYESGLM_CACHE_MAX_MB", None)


@pytest.fixture(autouse=True, scope="session")
def _session_cache_dir():
    yield SESSION_CACHE_DIR
    shutil.rmtree(SESSION_CACHE_DIR, ignore_errors=True)


# On CI the property tests draw the same examples every run, so that a red run is
# reproducible and never a new random draw; locally they explore new ones each time.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def fresh_listing(monkeypatch):
    """``monkeypatch``, with what bayesglm._versions lists of sys.path forgotten before
    and after the test (it is kept a process), so that a test's own sys.path is read."""
    from bayesglm import _versions

    cached = (_versions.installed_names, _versions._dist_info_versions, _versions.version_of)
    for function in cached:
        function.cache_clear()
    yield monkeypatch
    for function in cached:
        function.cache_clear()


R_GLM_DIR = Path(__file__).parent / "fixtures" / "r_glm"


def r_cases() -> list[dict]:
    """Every R glm() reference case (see fixtures/r_glm/README.md)."""
    return [json.loads(path.read_text()) for path in sorted(R_GLM_DIR.glob("*.json"))]


def as_array(value: object) -> np.ndarray | None:
    return None if value is None else np.asarray(value, dtype=float)
