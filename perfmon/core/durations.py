"""Durations as people write them in configs and thresholds: ``"1m30s"``, ``"250ms"``, ``"2h"``.

A leaf module: the config and the threshold parser both need it, and neither may import the other's
parser for it (that was an import cycle).
"""

from __future__ import annotations

import math
import re
from typing import Any

from .errors import ConfigError

__all__ = ["parse_duration"]

_DUR = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: Any, *, what: str = "duration") -> float:
    """``"1m30s"``, ``"250ms"``, ``"2h"`` or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{what}: {value!r} is not a duration; write e.g. '30s', '5m' or '1m30s'")
    if isinstance(value, int | float):
        if value < 0 or not math.isfinite(value):
            raise ConfigError(f"{what}: {value!r} must be a finite number of seconds, not negative")
        return float(value)
    text = str(value).strip()
    pos, total = 0, 0.0
    for m in _DUR.finditer(text):
        if m.start() != pos:
            break
        total += float(m[1]) * _UNIT_S[m[2]]
        pos = m.end()
    if pos != len(text) or not text:
        raise ConfigError(f"{what}: {value!r} is not a duration; write e.g. '30s', '5m' or '1m30s'")
    return total
