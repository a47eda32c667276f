"""The math namespace that link formulas are written against.

A link's formulas are written once, against ``xp``. :data:`NP` evaluates them with
numpy/scipy (the IRLS); :func:`pt_ns` evaluates them with pytensor (the PyMC model),
so the two can never drift apart.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

__all__ = ["NP", "Interval", "MathNamespace", "pt_ns"]

_SQRT2 = math.sqrt(2.0)

Fn = Callable[..., Any]


@dataclass(frozen=True)
class MathNamespace:
    """Elementwise functions shared by numpy and pytensor evaluations."""

    name: str
    exp: Fn
    log: Fn
    log1p: Fn
    expm1: Fn
    sqrt: Fn
    expit: Fn
    logit: Fn
    ndtr: Fn
    ndtri: Fn
    sin: Fn
    tan: Fn
    arctan2: Fn
    where: Fn
    pi: float = math.pi


NP = MathNamespace(
    name="numpy",
    exp=np.exp,
    log=np.log,
    log1p=np.log1p,
    expm1=np.expm1,
    sqrt=np.sqrt,
    expit=special.expit,
    logit=special.logit,
    ndtr=special.ndtr,
    ndtri=special.ndtri,
    sin=np.sin,
    tan=np.tan,
    arctan2=np.arctan2,
    where=np.where,
)


@functools.cache
def pt_ns() -> MathNamespace:
    """Return the pytensor namespace (built on first use: importing pytensor is slow)."""
    import pytensor.tensor as pt
    from pytensor.tensor import special as pts

    return MathNamespace(
        name="pytensor",
        exp=pt.exp,
        log=pt.log,
        log1p=pt.log1p,
        expm1=pt.expm1,
        sqrt=pt.sqrt,
        expit=pt.sigmoid,
        logit=pts.logit,
        ndtr=lambda x: 0.5 * pt.erfc(-x / _SQRT2),
        ndtri=lambda p: -_SQRT2 * pt.erfcinv(2.0 * p),
        sin=pt.sin,
        tan=pt.tan,
        arctan2=pt.arctan2,
        where=pt.where,
    )


@dataclass(frozen=True)
class Interval:
    """A range of real numbers, optionally restricted to integers.

    Examples
    --------
    >>> Interval(0.0, 1.0, True, True).includes(np.array([0.0, 0.5, 2.0])).tolist()
    [True, True, False]
    """

    low: float
    high: float
    low_inclusive: bool = False
    high_inclusive: bool = False
    integer: bool = False

    def includes(self, x: Any) -> np.ndarray:
        """Elementwise membership of ``x`` (NaN is never included)."""
        x = np.asarray(x, dtype=float)
        above = x >= self.low if self.low_inclusive else x > self.low
        below = x <= self.high if self.high_inclusive else x < self.high
        inside = above & below
        if self.integer:
            inside &= np.floor(x) == x
        return inside

    def contains_all(self, x: np.ndarray) -> bool:
        """Whether every element of ``x`` is inside (False if any is NaN).

        Two reductions and no temporary arrays, unless integers are required.

        Examples
        --------
        >>> Interval(0.0, np.inf).contains_all(np.array([1.0, 3.0]))
        True
        >>> Interval(0.0, np.inf).contains_all(np.array([1.0, np.nan]))
        False
        """
        if self.integer:
            return bool(self.includes(x).all())
        x = np.asarray(x, dtype=float)
        if x.size == 0:
            return True
        return bool(self.includes(x.min()) and self.includes(x.max()))

    def __str__(self) -> str:
        left = "[" if self.low_inclusive else "("
        right = "]" if self.high_inclusive else ")"
        text = f"{left}{_fmt(self.low)}, {_fmt(self.high)}{right}"
        return f"integers in {text}" if self.integer else text


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:g}"
