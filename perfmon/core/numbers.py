"""The one way a number is written for a person: the terminal summary, Markdown, HTML, charts and the
CLI's tables all go through :func:`number`.

Written by hand because Python's ``g`` format switches to scientific notation past its precision
(``f"{3010:.3g}"`` is ``3.01e+03``), which nobody reads in a summary; this keeps ``digits``
significant digits below ``10**digits`` and writes larger numbers whole.
"""

from __future__ import annotations

import math
import time

__all__ = ["clock", "number", "percent"]


def number(value: float | None, unit: str = "", *, digits: int = 3, space: bool = True) -> str:
    """``value`` with ``digits`` significant digits (trailing zeros dropped) and its ``unit``; "-" for
    None. ``unit="share"`` writes a fraction as a percentage."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "share":
        return percent(value, space=space)
    size = abs(value)
    if size == 0 or size >= 10 ** (digits - 1):
        text = f"{value:.0f}"
    else:
        decimals = min(12, digits - 1 - math.floor(math.log10(size)))
        text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return f"{text}{' ' if space else ''}{unit}" if unit else text


def percent(share: float | None, *, decimals: int = 2, space: bool = True) -> str:
    """A fraction (0.0123) as a percentage with fixed decimals ("1.23 %", so a column of them lines up);
    "-" for None."""
    if share is None or math.isnan(share):
        return "-"
    return f"{100 * share:.{decimals}f}{' ' if space else ''}%"


def clock(epoch: float) -> str:
    """The time of day of ``epoch`` in UTC, as the reports stamp runs: ``12:01:03 UTC``."""
    return time.strftime("%H:%M:%S UTC", time.gmtime(epoch))
