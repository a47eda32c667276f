"""Argument checks that several layers share (a leaf: it imports only the errors).

A check refuses a bad value with a :class:`~bayesglm.errors.BayesGLMError` in the
package's one message template, so the same argument reads the same everywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import BayesGLMError

__all__ = ["check_seed", "is_whole"]


def is_whole(value: Any) -> bool:
    """Whether ``value`` is an integer (a Python or numpy int; not a bool).

    Examples
    --------
    >>> is_whole(3), is_whole(np.int64(3)), is_whole(3.0), is_whole(True)
    (True, True, False, False)
    """
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def check_seed(seed: Any) -> None:
    """Refuse a seed that is not a whole number >= 0 (None: drawn at random).

    Examples
    --------
    >>> check_seed(None), check_seed(7)
    (None, None)
    """
    if seed is not None and not (is_whole(seed) and seed >= 0):
        raise BayesGLMError(f"seed must be a whole number >= 0 or None; got (seed={seed!r}).")
