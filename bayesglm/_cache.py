"""The on-disk store of compiled artifacts: read whole and checked, or rebuilt.

An artifact (an exported sampling program, say) is stored under a *kind* (what it
is, a lower-case name) and a *key* (a JSON-like mapping naming everything that
changes the program). The file name is the kind and the sha256 of the key's
canonical JSON; the file itself starts with a header that repeats the kind and the
full key and holds the payload's length and sha256, so a file that is damaged
(a flipped byte, cut short) or foreign (another key's file under this name, a file
from elsewhere) is noticed, deleted and rebuilt by the caller, never trusted.

Writes go through :func:`bayesglm._output.write_atomic` (a temporary file in the
same folder, flushed, then renamed): two processes writing the same key at once
each rename a complete file, and a reader sees either no file or a complete one.
A folder that cannot be written (read-only, full disk) costs speed, never a fit:
:func:`write_artifact` warns once per process with a
:class:`~bayesglm.errors.CacheWarning` and returns None.

The folder is ``$BAYESGLM_CACHE_DIR``, else the user cache folder of the platform
(``$XDG_CACHE_HOME/bayesglm`` or ``~/.cache/bayesglm`` on Linux). It holds
``artifacts/`` and ``jax/``, the folder given to JAX's persistent compilation cache;
both count towards the size bound (``$BAYESGLM_CACHE_MAX_MB``, 500 MB by default),
and the least recently used files go first. A leaf module: it imports only the
errors, the output files and platformdirs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import struct
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs

from ._output import write_atomic
from .errors import BayesGLMError, CacheWarning

__all__ = [
    "FORMAT_VERSION",
    "cache_dir",
    "clear",
    "compilation_cache_dir",
    "info",
    "key_digest",
    "prune",
    "read_artifact",
    "size_bound",
    "stored_keys",
    "write_artifact",
]

#: Version of the file layout below; a file of another version reads as missing.
FORMAT_VERSION = 1
_MAGIC = b"BGLMSTOR"
# magic, format version, header length; then the header (JSON), then the payload.
_PREFIX = struct.Struct("<8sII")
_SUFFIX = ".artifact"
_KIND = re.compile(r"^[a-z][a-z0-9_]*$")
_DEFAULT_MAX_MB = 500
_MB = 1_000_000
# A temporary file older than this was left by a writer that died mid-write.
_STALE_TEMPORARY_S = 24 * 3600

_warned = False


def cache_dir() -> Path:
    """The folder of the store: ``$BAYESGLM_CACHE_DIR`` if set, else the platform's
    user cache folder for bayesglm. It is created by the first write, not here.

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"BAYESGLM_CACHE_DIR": "/tmp/bg-cache"}):
    ...     cache_dir().as_posix()
    '/tmp/bg-cache'
    """
    given = os.environ.get("BAYESGLM_CACHE_DIR")
    if given:
        return Path(given).expanduser().absolute()
    # platformdirs follows XDG_CACHE_HOME on Linux.
    return platformdirs.user_cache_path("bayesglm", appauthor=False)


def compilation_cache_dir() -> Path:
    """The folder for JAX's persistent compilation cache (``jax_compilation_cache_dir``)
    inside the store; JAX creates it on its first write. :func:`info`, :func:`prune`
    and :func:`clear` count its files with the artifacts.

    Examples
    --------
    >>> compilation_cache_dir().name
    'jax'
    """
    return cache_dir() / "jax"


def _artifacts_dir() -> Path:
    return cache_dir() / "artifacts"


def _canonical(key: Mapping[str, Any]) -> str:
    """The key as canonical JSON: sorted keys, no spaces, ASCII only."""
    if not isinstance(key, Mapping):
        raise TypeError(f"a cache key is a mapping with str keys; got {type(key).__name__}")
    _check_value(key, "key")
    return json.dumps(key, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _check_value(value: Any, field: str) -> None:
    """Only plain JSON values: a numpy integer or an object would otherwise be
    refused by json (or, with a ``default=``, hashed by a repr that can change)."""
    if value is None or isinstance(value, str | bool | int | float):
        return
    if isinstance(value, list | tuple):
        for position, item in enumerate(value):
            _check_value(item, f"{field}[{position}]")
        return
    if isinstance(value, Mapping):
        for name, item in value.items():
            if not isinstance(name, str):
                raise TypeError(
                    f"cache key field {field} has a non-str key {name!r}; mapping keys must be str"
                )
            _check_value(item, f"{field}[{name!r}]")
        return
    raise TypeError(
        f"cache key field {field} is a {type(value).__name__}; key values are str, int, "
        "float, bool, None, lists, tuples or mappings with str keys"
    )


def key_digest(key: Mapping[str, Any]) -> str:
    """The sha256 (hex) of the key's canonical JSON: the order of the key's fields
    does not matter, every value does.

    Raises
    ------
    TypeError
        A value that is not str, int, float, bool, None, a list, a tuple or a
        mapping with str keys (the message names the field).

    Examples
    --------
    >>> key_digest({"n": 64, "family": "poisson"}) == key_digest({"family": "poisson", "n": 64})
    True
    >>> key_digest({"n": 64})[:12]
    '59463b5b734b'
    """
    return hashlib.sha256(_canonical(key).encode("ascii")).hexdigest()


def _path(kind: str, digest: str) -> Path:
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise ValueError(
            f"an artifact kind is a lower-case name (letters, digits, _); got kind={kind!r}"
        )
    return _artifacts_dir() / f"{kind}-{digest}{_SUFFIX}"


def _encode(kind: str, canonical_key: str, payload: bytes) -> bytes:
    header = json.dumps(
        {
            "kind": kind,
            "key": canonical_key,
            "payload_bytes": len(payload),
            "payload_sha256": hashlib.sha256(payload).hexdigest(),
        },
        sort_keys=True,
    ).encode("ascii")
    return _PREFIX.pack(_MAGIC, FORMAT_VERSION, len(header)) + header + payload


class _Damaged(Exception):
    """The file is not a complete artifact of this kind and key."""


def _decode(data: bytes, kind: str, canonical_key: str) -> bytes | None:
    """The payload, or None for a file of another format version.

    Raises
    ------
    _Damaged
        For a file cut short, altered, or written for another kind or key.
    """
    if len(data) < _PREFIX.size:
        raise _Damaged
    magic, version, header_length = _PREFIX.unpack_from(data)
    if magic != _MAGIC:
        raise _Damaged
    if version != FORMAT_VERSION:
        return None
    start = _PREFIX.size + header_length
    try:
        header = json.loads(data[_PREFIX.size : start].decode("ascii"))
        expected = (header["kind"], header["key"], header["payload_bytes"])
        checksum = header["payload_sha256"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise _Damaged from None
    payload = data[start:]
    if expected != (kind, canonical_key, len(payload)):
        raise _Damaged
    if hashlib.sha256(payload).hexdigest() != checksum:
        raise _Damaged
    return payload


def read_artifact(kind: str, key: Mapping[str, Any]) -> bytes | None:
    """The payload stored for ``(kind, key)``, or None when there is none to trust.

    None when the file is missing, unreadable or written by another format version
    of the store; a damaged file (altered, cut short) or a foreign one (written for
    another kind or key) also reads as None and is deleted, so that the caller
    rebuilds it. A hit marks the file as just used (for :func:`prune`).

    Examples
    --------
    >>> import os, tempfile
    >>> from unittest import mock
    >>> with tempfile.TemporaryDirectory() as folder, mock.patch.dict(
    ...     os.environ, {"BAYESGLM_CACHE_DIR": folder}
    ... ):
    ...     missing = read_artifact("example", {"n": 64})
    ...     path = write_artifact("example", {"n": 64}, b"program")
    ...     missing, read_artifact("example", {"n": 64})
    (None, b'program')
    """
    canonical_key = _canonical(key)
    path = _path(kind, hashlib.sha256(canonical_key.encode("ascii")).hexdigest())
    try:
        with open(path, "rb") as handle:
            data = handle.read()
            opened = os.fstat(handle.fileno())
    except OSError:
        return None
    try:
        payload = _decode(data, kind, canonical_key)
    except _Damaged:
        _remove_if_same(path, opened)
        return None
    if payload is not None:
        with contextlib.suppress(OSError):
            os.utime(path)
    return payload


def _remove_if_same(path: Path, opened: os.stat_result) -> None:
    """Delete ``path`` unless another process has meanwhile renamed a new file over
    it (which may be a good one); left in place when it cannot be deleted."""
    with contextlib.suppress(OSError):
        now = os.stat(path)
        if (now.st_dev, now.st_ino) == (opened.st_dev, opened.st_ino):
            os.unlink(path)


def write_artifact(kind: str, key: Mapping[str, Any], payload: bytes) -> Path | None:
    """Store ``payload`` for ``(kind, key)``, whole or not at all, then prune the
    store to its size bound.

    Returns
    -------
    pathlib.Path or None
        The file written, or None when the folder cannot be written (read-only, a
        full disk, ...): the first such failure in a process warns with a
        :class:`~bayesglm.errors.CacheWarning`, later ones are silent.

    Examples
    --------
    >>> import os, tempfile
    >>> from unittest import mock
    >>> with tempfile.TemporaryDirectory() as folder, mock.patch.dict(
    ...     os.environ, {"BAYESGLM_CACHE_DIR": folder}
    ... ):
    ...     write_artifact("example", {"n": 64}, b"program").name.startswith("example-")
    True
    """
    canonical_key = _canonical(key)
    path = _path(kind, hashlib.sha256(canonical_key.encode("ascii")).hexdigest())
    data = _encode(kind, canonical_key, bytes(payload))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda temporary: temporary.write_bytes(data))
    except (OSError, BayesGLMError) as error:
        # write_atomic reports the system's refusal as a BayesGLMError caused by it.
        cause = error if isinstance(error, OSError) else error.__cause__
        if not isinstance(cause, OSError):
            raise
        _warn_once(cause)
        return None
    prune()
    return path


def _warn_once(error: OSError) -> None:
    global _warned
    if _warned:
        return
    _warned = True
    warnings.warn(
        f"the bayesglm cache folder {str(cache_dir())!r} cannot be written "
        f"({error.strerror or error}); fits still work, compiling in memory each time; "
        "set BAYESGLM_CACHE_DIR to a writable folder to keep compiled models between "
        "sessions.",
        CacheWarning,
        stacklevel=3,
    )


def size_bound() -> int:
    """The size bound of the store: ``$BAYESGLM_CACHE_MAX_MB`` megabytes (10⁶ bytes),
    500 by default; 0 keeps nothing.

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"BAYESGLM_CACHE_MAX_MB": "2.5"}):
    ...     size_bound()
    2500000
    """
    given = os.environ.get("BAYESGLM_CACHE_MAX_MB", "").strip()
    if not given:
        return _DEFAULT_MAX_MB * _MB
    try:
        megabytes = float(given)
    except ValueError:
        megabytes = -1.0
    if not megabytes >= 0 or megabytes == float("inf"):
        raise BayesGLMError(
            "the cache size bound is not a number of megabytes; set BAYESGLM_CACHE_MAX_MB "
            f"to a number >= 0 (or unset it for {_DEFAULT_MAX_MB}); "
            f"got (BAYESGLM_CACHE_MAX_MB={given!r})."
        )
    return int(megabytes * _MB)


def _entries(*folders: Path) -> list[tuple[float, int, list[Path]]]:
    """Each entry of the store in ``folders`` (default: all) as (last use, bytes, files).

    An artifact is one file; a JAX compilation-cache entry is its ``<key>-cache``
    file and, where JAX keeps one, its ``<key>-atime`` file. The last use is the
    latest access or modification time of the entry's files. Hidden files (temporary
    files of writers at work, JAX's lock) are no entries.
    """
    groups: dict[Path, list[tuple[Path, os.stat_result]]] = {}
    for folder in folders or (_artifacts_dir(), compilation_cache_dir()):
        for path in _files(folder):
            if path.name.startswith("."):
                continue
            with contextlib.suppress(FileNotFoundError):
                stem = re.sub(r"-(cache|atime)$", "", path.name)
                groups.setdefault(path.with_name(stem), []).append((path, path.stat()))
    return [
        (
            max(max(stat.st_atime, stat.st_mtime) for _, stat in members),
            sum(stat.st_size for _, stat in members),
            [path for path, _ in members],
        )
        for members in groups.values()
    ]


def _files(folder: Path) -> list[Path]:
    try:
        return sorted(path for path in folder.iterdir() if path.is_file())
    except OSError:  # not there yet, or not readable
        return []


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except OSError:  # gone already (another process pruned it), or not ours to delete
        return False
    return True


def prune(max_bytes: int | None = None) -> None:
    """Delete the least recently used entries until the store holds at most
    ``max_bytes`` (default :func:`size_bound`); also removes temporary files that
    writers left a day or more ago.

    Examples
    --------
    >>> import os, tempfile
    >>> from unittest import mock
    >>> with tempfile.TemporaryDirectory() as folder, mock.patch.dict(
    ...     os.environ, {"BAYESGLM_CACHE_DIR": folder}
    ... ):
    ...     _ = write_artifact("example", {"n": 64}, b"program")
    ...     prune(0)
    ...     info()["artifacts"]
    0
    """
    bound = size_bound() if max_bytes is None else max_bytes
    now = time.time()
    for folder in (_artifacts_dir(), compilation_cache_dir()):
        for path in _files(folder):
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    if now - path.stat().st_mtime > _STALE_TEMPORARY_S:
                        _unlink(path)
    entries = sorted(_entries(), key=lambda entry: (entry[0], str(entry[2][0])))
    total = sum(size for _, size, _ in entries)
    for _, size, paths in entries:
        if total <= bound:
            break
        for path in paths:
            _unlink(path)
        total -= size


def info() -> dict[str, Any]:
    """What the store holds.

    Returns
    -------
    dict
        ``folder`` (Path), ``artifacts`` (number of artifact files), ``kinds``
        (artifacts per kind), ``compilation_entries`` (entries of JAX's compilation
        cache), ``bytes`` (all of it), ``max_bytes`` (the bound).

    Examples
    --------
    >>> import os, tempfile
    >>> from unittest import mock
    >>> with tempfile.TemporaryDirectory() as folder, mock.patch.dict(
    ...     os.environ, {"BAYESGLM_CACHE_DIR": folder}
    ... ):
    ...     _ = write_artifact("example", {"n": 64}, b"program")
    ...     summary = info()
    >>> summary["artifacts"], summary["kinds"]
    (1, {'example': 1})
    """
    kinds: dict[str, int] = {}
    artifacts = 0
    for path in _files(_artifacts_dir()):
        if path.suffix == _SUFFIX and not path.name.startswith("."):
            artifacts += 1
            kind = path.name.split("-", 1)[0]
            kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "folder": cache_dir(),
        "artifacts": artifacts,
        "kinds": dict(sorted(kinds.items())),
        "compilation_entries": len(_entries(compilation_cache_dir())),
        "bytes": sum(size for _, size, _ in _entries()),
        "max_bytes": size_bound(),
    }


def stored_keys(kind: str) -> list[dict[str, Any]]:
    """The keys of the artifacts of ``kind`` in the store, read from their headers
    (payloads are neither read nor checked, and the files are not marked as used).

    Files of another format version or with a header that cannot be read are left out.

    Examples
    --------
    >>> import os, tempfile
    >>> from unittest import mock
    >>> with tempfile.TemporaryDirectory() as folder, mock.patch.dict(
    ...     os.environ, {"BAYESGLM_CACHE_DIR": folder}
    ... ):
    ...     _ = write_artifact("example", {"n": 64}, b"program")
    ...     _ = write_artifact("other", {"n": 128}, b"program")
    ...     stored_keys("example")
    [{'n': 64}]
    """
    keys = []
    for path in _files(_artifacts_dir()):
        if not path.name.startswith(f"{kind}-") or path.suffix != _SUFFIX:
            continue
        try:
            with open(path, "rb") as handle:
                magic, version, length = _PREFIX.unpack(handle.read(_PREFIX.size))
                header = json.loads(handle.read(length).decode("ascii"))
            key = json.loads(header["key"]) if header.get("kind") == kind else None
        except (OSError, struct.error, UnicodeDecodeError, ValueError, KeyError, TypeError):
            continue
        if magic == _MAGIC and version == FORMAT_VERSION and isinstance(key, dict):
            keys.append(key)
    return keys


def clear() -> int:
    """Delete every file of the store (artifacts and JAX's compilation cache);
    returns how many were deleted.

    Examples
    --------
    >>> import os, tempfile
    >>> from unittest import mock
    >>> with tempfile.TemporaryDirectory() as folder, mock.patch.dict(
    ...     os.environ, {"BAYESGLM_CACHE_DIR": folder}
    ... ):
    ...     _ = write_artifact("example", {"n": 64}, b"program")
    ...     clear()
    1
    """
    folders = (_artifacts_dir(), compilation_cache_dir())
    return sum(_unlink(path) for folder in folders for path in _files(folder))
