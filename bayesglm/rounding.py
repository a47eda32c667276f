"""Numbers as shown: rounded to the digits their uncertainty supports.

One set of rules for every table a person reads (the HTML and Markdown reports and
``print(fit)``), as R's ``summary`` and ArviZ's ``summary`` do: an estimate is shown
to the decimal place of the second significant digit of its standard deviation (a
mean of 1.40849 with sd 0.573 reads 1.41, with sd 0.0573 reads 1.408); the sd itself
to two significant digits; counts (effective sample sizes, divergences) as integers;
R-hat to three decimals, against its limit 1.01; probabilities to two. Very large or
small numbers switch to scientific notation only when plain digits would not be
readable (beyond a million, or below 10⁻⁴).
"""

from __future__ import annotations

import math

__all__ = [
    "MISSING",
    "UNCERTAIN_DIGITS",
    "check_mark",
    "decimals_for",
    "fixed",
    "integer",
    "significant",
    "with_relative_uncertainty",
    "with_uncertainty",
]

UNCERTAIN_DIGITS = 2  # significant digits of an uncertainty (and so of its estimate)
_PLAIN = (1e-4, 1e6)  # |value| outside this range is shown in scientific notation
_MAX_DECIMALS = 6  # more decimals than this: scientific notation instead
MISSING = "–"  # a number that cannot be computed (NaN), e.g. R-hat of one chain


def _missing(value: float) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _clean(text: str) -> str:
    """No "-0" or "-0.00": a value that rounds to zero has no sign."""
    if text.startswith("-") and not text.strip("-0.").strip():
        return text[1:]
    return text


def decimals_for(uncertainty: float, digits: int = UNCERTAIN_DIGITS) -> int | None:
    """The decimal place of the ``digits``-th significant digit of ``uncertainty``
    (negative: tens, hundreds, ...); None when it is zero or not finite.

    Examples
    --------
    >>> decimals_for(0.573), decimals_for(0.0181), decimals_for(2345.0)
    (2, 3, -2)
    """
    if _missing(uncertainty) or not math.isfinite(uncertainty) or uncertainty == 0:
        return None
    return digits - 1 - math.floor(math.log10(abs(uncertainty)))


def significant(value: float, digits: int = 3, trim: bool = True) -> str:
    """``value`` to ``digits`` significant digits, in plain digits where readable;
    trailing zeros dropped with ``trim``.

    Examples
    --------
    >>> significant(0.92086), significant(12345.6), significant(1.23e-7), significant(3.0)
    ('0.921', '12300', '1.23e-07', '3')
    """
    if _missing(value):
        return MISSING
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if not _PLAIN[0] <= abs(value) < _PLAIN[1]:
        return _clean(f"{value:.{digits - 1}e}")
    place = digits - 1 - math.floor(math.log10(abs(value)))
    return _plain(round(value, place), place, trim=trim)


def _plain(value: float, place: int, trim: bool = False) -> str:
    if place <= 0:
        return _clean(f"{round(value, place):.0f}")
    text = f"{value:.{place}f}"
    if trim:
        text = text.rstrip("0").rstrip(".")
    return _clean(text)


def with_uncertainty(value: float, uncertainty: float, digits: int = UNCERTAIN_DIGITS) -> str:
    """``value`` to the decimal place that ``uncertainty`` (its sd or standard error)
    supports: that of the uncertainty's ``digits``-th significant digit. Without a
    usable uncertainty (zero, NaN), three significant digits.

    Examples
    --------
    >>> with_uncertainty(1.408496, 0.573), with_uncertainty(-0.082438, 0.0181)
    ('1.41', '-0.082')
    >>> with_uncertainty(12585.27, 2345.0), with_uncertainty(0.5, float("nan"))
    ('12600', '0.5')
    """
    if _missing(value):
        return MISSING
    place = decimals_for(uncertainty, digits)
    if place is None or not math.isfinite(value):
        return significant(value)
    if place > _MAX_DECIMALS or abs(value) >= _PLAIN[1]:
        magnitude = math.floor(math.log10(abs(value))) if value else 0
        return _clean(f"{value:.{max(magnitude + place, 1)}e}")
    return _plain(value, place)


def with_relative_uncertainty(value: float, log_sd: float, digits: int = UNCERTAIN_DIGITS) -> str:
    """A positive ratio (an odds ratio, a rate) whose uncertainty is multiplicative:
    the rule of :func:`with_uncertainty` on the log scale, where an error ``log_sd``
    is a relative error of the value. So each number gets as many significant digits
    as the relative error supports, at least ``digits``: an odds of 6.13 with
    interval 0.50–87.5 reads 6.1 (0.50–88), not 6 (0–87).

    Examples
    --------
    >>> with_relative_uncertainty(0.97213, 0.0375), with_relative_uncertainty(0.5012, 1.29)
    ('0.972', '0.50')
    """
    if _missing(value):
        return MISSING
    place = decimals_for(log_sd, digits)
    if place is None or not math.isfinite(value) or value <= 0:
        return significant(value)
    return significant(value, max(digits, place), trim=False)


def integer(value: float) -> str:
    """A count or an effective sample size: the nearest integer, no exponent.

    Examples
    --------
    >>> integer(10610.4), integer(float("nan"))
    ('10610', '–')
    """
    if _missing(value):
        return MISSING
    if not math.isfinite(value):
        return str(value)
    return f"{round(value):d}"


def fixed(value: float, places: int) -> str:
    """``value`` to ``places`` decimals (R-hat: 3, probabilities: 2).

    Examples
    --------
    >>> fixed(1.002571, 3), fixed(-0.0001, 2)
    ('1.003', '0.00')
    """
    if _missing(value):
        return MISSING
    if not math.isfinite(value):
        return str(value)
    return _clean(f"{value:.{places}f}")


def check_mark(passed: bool) -> str:
    """✓ for a check that passed, ✗ for one that failed."""
    return "✓" if passed else "✗"
