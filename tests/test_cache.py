"""The store of compiled artifacts: round trip, keys, damaged and foreign files,
unwritable folders, the size bound, the folder's location, concurrent writers."""

from __future__ import annotations

import errno
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from bayesglm import _cache
from bayesglm.errors import BayesGLMError, CacheWarning

# A key shaped like the engine's: every field changes the program.
KEY = {
    "bayesglm": "0.1.0",
    "versions": {"jax": "0.12.0", "pymc": "6.4.0"},
    "family": "poisson",
    "link": "log",
    "priors": ["Normal", "Normal", "StudentT"],
    "dispersion_prior": None,
    "n_bucket": 64,
    "chains": 4,
    "target_accept": 0.8,
    "center": True,
}
PAYLOAD = bytes(range(256)) * 40


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch) -> Path:
    """A fresh store per test, and a process that has not warned yet."""
    folder = tmp_path / "store"
    monkeypatch.setenv("BAYESGLM_CACHE_DIR", str(folder))
    monkeypatch.delenv("BAYESGLM_CACHE_MAX_MB", raising=False)
    monkeypatch.setattr(_cache, "_warned", False)
    return folder


def _artifact_path(kind: str, key: dict) -> Path:
    return _cache.cache_dir() / "artifacts" / f"{kind}-{_cache.key_digest(key)}.artifact"


def test_round_trip(store) -> None:
    assert _cache.read_artifact("nuts", KEY) is None
    assert not store.exists(), "reading must not create the folder"
    path = _cache.write_artifact("nuts", KEY, PAYLOAD)
    assert path == _artifact_path("nuts", KEY) and path.parent.parent == store
    assert _cache.read_artifact("nuts", KEY) == PAYLOAD
    assert _cache.read_artifact("other_kind", KEY) is None
    assert _cache.write_artifact("nuts", KEY, b"") is not None
    assert _cache.read_artifact("nuts", KEY) == b""


def test_the_order_of_fields_does_not_matter() -> None:
    shuffled = dict(reversed(list(KEY.items())))
    shuffled["versions"] = {"pymc": "6.4.0", "jax": "0.12.0"}
    assert _cache.key_digest(shuffled) == _cache.key_digest(KEY)
    _cache.write_artifact("nuts", KEY, PAYLOAD)
    assert _cache.read_artifact("nuts", shuffled) == PAYLOAD


def _changed(value: object) -> list[object]:
    """Other values of a field: another value of its type, and other types."""
    if isinstance(value, bool):
        return [not value, int(value)]
    if isinstance(value, int):
        return [value + 1, float(value), str(value)]
    if isinstance(value, float):
        return [value + 1e-12, str(value)]
    if isinstance(value, str):
        return [value + "x", value[:-1]]
    if isinstance(value, list):
        return [value[:-1], [*value, value[0]], value[::-1]]
    if isinstance(value, dict):
        return [{**value, "jax": "0.12.1"}, {**value, "extra": None}]
    return [0, "None", False]


@pytest.mark.parametrize("field", list(KEY))
def test_every_field_changes_the_digest(field: str) -> None:
    _cache.write_artifact("nuts", KEY, PAYLOAD)
    digests = {_cache.key_digest(KEY)}
    for value in _changed(KEY[field]):
        other = {**KEY, field: value}
        digests.add(_cache.key_digest(other))
        assert _cache.read_artifact("nuts", other) is None, (field, value)
    removed = {key: value for key, value in KEY.items() if key != field}
    digests.add(_cache.key_digest(removed))
    assert len(digests) == len(_changed(KEY[field])) + 2, field


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ({"n": np.int64(3)}, "key['n']"),
        ({"priors": ["Normal", object()]}, "key['priors'][1]"),
        ({"outer": {"inner": {1, 2}}}, "key['outer']['inner']"),
        ({"outer": {1: "a"}}, "key['outer']"),
    ],
)
def test_a_key_that_is_not_plain_json_is_a_programming_error(key, field) -> None:
    with pytest.raises(TypeError, match="field " + re.escape(field)):
        _cache.key_digest(key)
    with pytest.raises(TypeError):
        _cache.write_artifact("nuts", key, PAYLOAD)


def test_a_kind_is_a_plain_name() -> None:
    for kind in ("", "../escape", "Nuts", "a-b", None):
        with pytest.raises(ValueError, match="lower-case name"):
            _cache.read_artifact(kind, KEY)


def _flip(path: Path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda path: _flip(path, -1), id="payload byte flipped"),
        pytest.param(lambda path: _flip(path, 0), id="magic byte flipped"),
        pytest.param(lambda path: _flip(path, 30), id="header byte flipped"),
        pytest.param(lambda path: path.write_bytes(path.read_bytes()[:-100]), id="truncated"),
        pytest.param(lambda path: path.write_bytes(path.read_bytes()[:10]), id="only a prefix"),
        pytest.param(lambda path: path.write_bytes(b""), id="empty"),
        pytest.param(lambda path: path.write_bytes(path.read_bytes() + b"\0"), id="extra byte"),
    ],
)
def test_a_damaged_file_reads_as_missing_and_is_removed(damage) -> None:
    path = _cache.write_artifact("nuts", KEY, PAYLOAD)
    damage(path)
    assert _cache.read_artifact("nuts", KEY) is None
    assert not path.exists()
    _cache.write_artifact("nuts", KEY, PAYLOAD)
    assert _cache.read_artifact("nuts", KEY) == PAYLOAD


def test_a_foreign_file_reads_as_missing_and_is_removed() -> None:
    other = {**KEY, "n_bucket": 128}
    mine = _cache.write_artifact("nuts", KEY, PAYLOAD)
    theirs = _cache.write_artifact("nuts", other, b"another program")
    os.replace(theirs, mine)  # as a hash collision or a file copied from elsewhere would
    assert _cache.read_artifact("nuts", KEY) is None
    assert not mine.exists()
    assert _cache.read_artifact("nuts", other) is None
    # the same key under another kind is foreign too
    _cache.write_artifact("laplace", KEY, b"x")
    os.replace(_artifact_path("laplace", KEY), _artifact_path("nuts", KEY))
    assert _cache.read_artifact("nuts", KEY) is None


def test_a_file_of_another_format_version_reads_as_missing() -> None:
    path = _cache.write_artifact("nuts", KEY, PAYLOAD)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 8, _cache.FORMAT_VERSION + 1)
    path.write_bytes(bytes(data))
    assert _cache.read_artifact("nuts", KEY) is None
    _cache.write_artifact("nuts", KEY, PAYLOAD)
    assert _cache.read_artifact("nuts", KEY) == PAYLOAD


def _refuse(error_number: int):
    def refuse(*args, **kwargs):
        raise OSError(error_number, os.strerror(error_number))

    return refuse


def _make_unwritable(how: str, store: Path, monkeypatch) -> None:
    if how == "read-only folder":
        (store / "artifacts").mkdir(parents=True)
        if os.geteuid() == 0:
            # root writes through chmod: the refusal a read-only folder gives is
            # simulated where the file would be created.
            monkeypatch.setattr(os, "replace", _refuse(errno.EACCES))
        else:
            (store / "artifacts").chmod(0o500)
    elif how == "folder below a file":
        store.parent.mkdir(parents=True, exist_ok=True)
        (store.parent / "a_file").write_text("")
        monkeypatch.setenv("BAYESGLM_CACHE_DIR", str(store.parent / "a_file" / "store"))
    elif how == "full disk":
        monkeypatch.setattr(os, "fsync", _refuse(errno.ENOSPC))


@pytest.mark.parametrize("how", ["read-only folder", "folder below a file", "full disk"])
def test_an_unwritable_folder_warns_once_and_writes_nothing(how, store, monkeypatch) -> None:
    _make_unwritable(how, store, monkeypatch)
    with pytest.warns(CacheWarning) as caught:
        assert _cache.write_artifact("nuts", KEY, PAYLOAD) is None
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "fits still work" in message and "BAYESGLM_CACHE_DIR" in message
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        assert _cache.write_artifact("nuts", {**KEY, "chains": 2}, PAYLOAD) is None
    assert again == []
    assert _cache.read_artifact("nuts", KEY) is None
    folder = _cache.cache_dir() / "artifacts"
    left = list(folder.iterdir()) if folder.is_dir() else []
    assert left == [], "a failed write leaves no file, temporary or not"


def _age(path: Path, seconds_ago: float) -> None:
    moment = time.time() - seconds_ago
    os.utime(path, (moment, moment))


def test_pruning_removes_the_least_recently_used_first() -> None:
    paths = {name: _cache.write_artifact("nuts", {"name": name}, PAYLOAD) for name in "abcd"}
    for age, name in enumerate("dcba"):  # a written longest ago, d last
        _age(paths[name], 1000 + 100 * age)
    assert _cache.read_artifact("nuts", {"name": "a"}) == PAYLOAD  # now the most recent
    size = paths["a"].stat().st_size
    _cache.prune(2 * size)
    assert {name for name, path in paths.items() if path.exists()} == {"a", "d"}
    _cache.prune(size)
    assert {name for name, path in paths.items() if path.exists()} == {"a"}
    _cache.prune(0)
    assert _cache.info()["artifacts"] == 0


def test_pruning_counts_the_compilation_cache_and_removes_its_entries_whole() -> None:
    jax = _cache.compilation_cache_dir()
    jax.mkdir(parents=True)
    (jax / "old-cache").write_bytes(b"x" * 1000)
    (jax / "used-cache").write_bytes(b"x" * 1000)
    (jax / "used-atime").write_bytes(b"12345678")
    (jax / ".lockfile").write_bytes(b"")
    _age(jax / "old-cache", 500)
    _age(jax / "used-cache", 600)  # written long ago, but used recently (its atime file)
    artifact = _cache.write_artifact("nuts", KEY, PAYLOAD)
    _age(artifact, 400)
    summary = _cache.info()
    assert summary["compilation_entries"] == 2 and summary["artifacts"] == 1
    assert summary["bytes"] == 2008 + artifact.stat().st_size
    _cache.prune(summary["bytes"] - 1)
    assert not (jax / "old-cache").exists()
    _cache.prune(1008)
    assert sorted(path.name for path in jax.iterdir()) == [".lockfile", "used-atime", "used-cache"]
    assert not artifact.exists()
    _cache.prune(0)
    assert sorted(path.name for path in jax.iterdir()) == [".lockfile"]


def test_pruning_removes_temporary_files_left_by_dead_writers_only() -> None:
    _cache.write_artifact("nuts", KEY, PAYLOAD)
    folder = _cache.cache_dir() / "artifacts"
    stale, fresh = folder / ".x.artifact.1234.tmp", folder / ".y.artifact.5678.tmp"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    _age(stale, 2 * 24 * 3600)
    _cache.prune()
    assert not stale.exists() and fresh.exists()


def test_a_write_prunes_to_the_bound_from_the_environment(monkeypatch) -> None:
    size = _cache.write_artifact("nuts", {"i": -1}, PAYLOAD).stat().st_size
    monkeypatch.setenv("BAYESGLM_CACHE_MAX_MB", str(3.5 * size / 1e6))
    assert _cache.size_bound() == int(3.5 * size)
    for i in range(6):
        _cache.write_artifact("nuts", {"i": i}, PAYLOAD)
        _age(_artifact_path("nuts", {"i": i}), 100 - i)
    summary = _cache.info()
    assert summary["artifacts"] == 3 and summary["bytes"] <= 3.5 * size
    assert _cache.read_artifact("nuts", {"i": 5}) == PAYLOAD


@pytest.mark.parametrize("given", ["lots", "-1", "nan", "inf"])
def test_a_bad_size_bound_is_refused(given, monkeypatch) -> None:
    monkeypatch.setenv("BAYESGLM_CACHE_MAX_MB", given)
    with pytest.raises(BayesGLMError, match=rf"got \(BAYESGLM_CACHE_MAX_MB='{given}'\)"):
        _cache.size_bound()


def test_the_default_size_bound_is_500_mb() -> None:
    assert _cache.size_bound() == 500_000_000


def test_the_folder_comes_from_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BAYESGLM_CACHE_DIR", str(tmp_path / "mine"))
    assert _cache.cache_dir() == tmp_path / "mine"
    assert _cache.compilation_cache_dir() == tmp_path / "mine" / "jax"
    monkeypatch.delenv("BAYESGLM_CACHE_DIR")
    if sys.platform != "linux":
        pytest.skip("XDG_CACHE_HOME is the Linux convention")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache.cache_dir() == tmp_path / "xdg" / "bayesglm"
    _cache.write_artifact("nuts", KEY, PAYLOAD)
    assert _cache.read_artifact("nuts", KEY) == PAYLOAD
    assert (tmp_path / "xdg" / "bayesglm" / "artifacts").is_dir()


def test_the_test_session_has_a_folder_of_its_own(monkeypatch) -> None:
    from .conftest import SESSION_CACHE_DIR

    # This module's fixture gives each of its tests a folder; every other test (and
    # the subprocesses it starts) uses the session's, a temporary folder.
    monkeypatch.undo()
    assert os.environ["BAYESGLM_CACHE_DIR"] == SESSION_CACHE_DIR
    assert Path(SESSION_CACHE_DIR).parent == Path(tempfile.gettempdir())
    assert _cache.cache_dir() == Path(SESSION_CACHE_DIR)


def test_info_and_clear() -> None:
    assert _cache.info()["artifacts"] == 0 and _cache.clear() == 0
    _cache.write_artifact("nuts", KEY, PAYLOAD)
    _cache.write_artifact("nuts", {**KEY, "chains": 1}, PAYLOAD)
    _cache.write_artifact("laplace", KEY, b"x")
    jax = _cache.compilation_cache_dir()
    jax.mkdir()
    (jax / "k-cache").write_bytes(b"compiled")
    summary = _cache.info()
    assert summary["folder"] == _cache.cache_dir()
    assert summary["artifacts"] == 3 and summary["kinds"] == {"laplace": 1, "nuts": 2}
    assert summary["compilation_entries"] == 1
    files = [path for path in _cache.cache_dir().rglob("*") if path.is_file()]
    on_disk = sum(path.stat().st_size for path in files)
    assert summary["bytes"] == on_disk
    assert _cache.clear() == 4
    assert _cache.info()["bytes"] == 0
    assert _cache.read_artifact("nuts", KEY) is None


WRITER = """
import sys
from bayesglm import _cache
payload = bytes([int(sys.argv[1])]) * 2_000_000
for _ in range(50):
    assert _cache.write_artifact("nuts", {"same": "key"}, payload) is not None
"""

READER = """
import json, os, sys
from bayesglm import _cache
seen = {"missing": 0, "hit": 0, "missing_after_a_hit": 0, "wrong": 0}
stop = sys.argv[1]
while not os.path.exists(stop) or sum(seen.values()) < 50:
    payload = _cache.read_artifact("nuts", {"same": "key"})
    if payload is None:
        seen["missing_after_a_hit" if seen["hit"] else "missing"] += 1
    elif payload in (bytes([1]) * 2_000_000, bytes([2]) * 2_000_000):
        seen["hit"] += 1
    else:
        seen["wrong"] += 1
print(json.dumps(seen))
"""


def test_concurrent_writers_never_expose_a_partial_file(tmp_path) -> None:
    stop = tmp_path / "stop"

    def start(script: str, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    reader = start(READER, str(stop))
    writers = [start(WRITER, "1"), start(WRITER, "2")]
    for writer in writers:
        _, error = writer.communicate(timeout=300)
        assert writer.returncode == 0, error
    stop.touch()
    out, error = reader.communicate(timeout=300)
    assert reader.returncode == 0, error
    seen = json.loads(out)
    # Once a file is there, a reader never finds a partial one (which would read as
    # damaged, that is as missing) nor a wrong one.
    assert seen["hit"] > 0, seen
    assert seen["wrong"] == seen["missing_after_a_hit"] == 0, seen
    assert _cache.read_artifact("nuts", {"same": "key"}) in (b"\1" * 2_000_000, b"\2" * 2_000_000)
    assert _cache.info()["artifacts"] == 1
    leftovers = [p.name for p in (_cache.cache_dir() / "artifacts").iterdir()]
    assert len(leftovers) == 1, leftovers
