"""The installed versions of bayesglm and of the packages a fit depends on.

A saved fit and a report record them, and the engine's cache key names them; the
engine also asks what is installed (:func:`installed_names`: a GPU plugin of JAX?).
A leaf: it imports nothing of ours.

``importlib.metadata.version`` searches every folder on ``sys.path`` and reads a
metadata file for each package it is asked about, which every fit in a new process
would pay for its cache key. Installed packages are folders named
``{name}-{version}.dist-info`` (the name with ``-`` written ``_``), so one listing of
the folders on ``sys.path`` gives every version at once; a package found no other
way (an ``.egg-info`` install, a zip) falls back to ``importlib.metadata``.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from importlib import metadata

__all__ = ["installed_names", "installed_versions", "version_of"]

_PACKAGES = (
    "bayesglm",
    "pymc",
    "pytensor",
    "arviz",
    "numpy",
    "scipy",
    "pandas",
    "formulaic",
    "nutpie",
    "numpyro",
)

_DIST_INFO = ".dist-info"


def installed_versions() -> dict[str, str]:
    """Installed versions of bayesglm and the packages a fit depends on (those
    that are not installed are left out).

    Examples
    --------
    >>> "numpy" in installed_versions()
    True
    """
    versions = {name: version_of(name) for name in _PACKAGES}
    return {name: version for name, version in versions.items() if version is not None}


@functools.cache
def version_of(name: str) -> str | None:
    """The installed version of the distribution ``name`` (None when it is not
    installed), as ``importlib.metadata.version`` finds it; looked up once a process.

    Examples
    --------
    >>> from importlib import metadata
    >>> version_of("numpy") == metadata.version("numpy")
    True
    >>> version_of("no-such-package") is None
    True
    """
    found = _dist_info_versions().get(_normalized(name))
    if found is not None:
        return found
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def installed_names() -> tuple[str, ...]:
    """The names in the folders on ``sys.path`` (packages, modules, ``*.dist-info``
    folders), in the path's order, listed once a process.

    Examples
    --------
    >>> "numpy" in installed_names()
    True
    """
    names: list[str] = []
    for entry in sys.path:
        try:
            names.extend(os.listdir(entry or "."))
        except OSError:
            continue
    return tuple(names)


@functools.cache
def _dist_info_versions() -> dict[str, str]:
    """{normalized name: version} of the ``*.dist-info`` folders on ``sys.path``; the
    first folder on the path wins, as in ``importlib.metadata``."""
    versions: dict[str, str] = {}
    for folder in installed_names():
        if folder.endswith(_DIST_INFO):
            name, _, version = folder[: -len(_DIST_INFO)].partition("-")
            if version:
                versions.setdefault(_normalized(name), version)
    return versions


def _normalized(name: str) -> str:
    """The name as PEP 503 compares names: case and runs of ``-_.`` do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()
