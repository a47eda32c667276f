"""The installed versions of bayesglm and of the packages a fit depends on.

A saved fit and a report record them (a leaf: it imports nothing of ours).
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["installed_versions"]

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


def installed_versions() -> dict[str, str]:
    """Installed versions of bayesglm and the packages a fit depends on (those
    that are not installed are left out).

    Examples
    --------
    >>> "numpy" in installed_versions()
    True
    """
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out
