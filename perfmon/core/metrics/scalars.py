"""Rate, Counter and Gauge: the metrics whose windows hold numbers, not distributions; windowed
like Trend and merged the same way (windows with the same start are added)."""


from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .hdr import WINDOW_S, _window
from .stats import MetricKind, Stats

__all__ = ["Counter", "Gauge", "Rate"]

@dataclass
class Rate:
    """The share of non-zero (true) values, e.g. ``http_req_failed`` or ``checks``."""

    windows_: dict[int, list[int]] = field(default_factory=dict)  # window -> [trues, total]
    kind: ClassVar[MetricKind] = "rate"

    def record(self, value: bool | float, t: float | None = None) -> None:
        cell = self.windows_.setdefault(_window(t), [0, 0])
        cell[0] += 1 if value else 0
        cell[1] += 1

    @property
    def trues(self) -> int:
        return sum(c[0] for c in self.windows_.values())

    @property
    def total(self) -> int:
        return sum(c[1] for c in self.windows_.values())

    @property
    def rate(self) -> float | None:
        total = self.total
        return self.trues / total if total else None

    def stat(self, name: str) -> float | None:
        if name == "rate":
            return self.rate
        if name == "count":
            return float(self.total)
        msg = f"a Rate has no aggregation {name!r}; use rate or count"
        raise ValueError(msg)

    def stat_over(self, name: str, windows: Sequence[int]) -> float | None:
        """The aggregation ``name`` over ``windows`` alone (a windowed threshold's span)."""
        trues = sum(self.windows_[w][0] for w in windows if w in self.windows_)
        total = sum(self.windows_[w][1] for w in windows if w in self.windows_)
        if name == "count":
            return float(total)
        if name == "rate":
            return trues / total if total else None
        return self.stat(name)  # raises the one message for an unknown aggregation

    def window_starts(self) -> list[int]:
        return sorted(self.windows_)

    def stats(self) -> Stats:
        return Stats(count=float(self.total), rate=self.rate)

    def window_stats(self) -> list[tuple[int, Stats]]:
        return [(w, Stats(count=float(n), rate=t / n if n else None)) for w, (t, n) in sorted(self.windows_.items())]

    def merge(self, other: Rate) -> None:
        for w, (t, n) in other.windows_.items():
            cell = self.windows_.setdefault(w, [0, 0])
            cell[0] += t
            cell[1] += n

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "rate", "windows": {str(w): list(c) for w, c in sorted(self.windows_.items())}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Rate:
        return cls(windows_={int(w): [int(c[0]), int(c[1])] for w, c in d["windows"].items()})


@dataclass
class Counter:
    """A cumulative sum (requests, bytes, dropped iterations); ``rate`` is per second of the run."""

    windows_: dict[int, float] = field(default_factory=dict)
    kind: ClassVar[MetricKind] = "counter"

    def add(self, value: float = 1.0, t: float | None = None) -> None:
        w = _window(t)
        self.windows_[w] = self.windows_.get(w, 0.0) + value

    record = add

    @property
    def count(self) -> float:
        return sum(self.windows_.values())

    def stat(self, name: str, duration_s: float | None = None) -> float | None:
        if name == "count":
            return self.count
        if name == "rate":
            return self.count / duration_s if duration_s else None
        msg = f"a Counter has no aggregation {name!r}; use count or rate"
        raise ValueError(msg)

    def stat_over(self, name: str, windows: Sequence[int]) -> float | None:
        """The aggregation ``name`` over ``windows`` alone; ``rate`` is per second of those windows."""
        count = sum(self.windows_.get(w, 0.0) for w in windows)
        if name == "count":
            return count
        if name == "rate":
            return count / (len(windows) * WINDOW_S) if windows else None
        return self.stat(name)

    def window_starts(self) -> list[int]:
        return sorted(self.windows_)

    def stats(self, duration_s: float | None = None) -> Stats:
        """The total and, given the run's duration, the rate per second."""
        return Stats(count=self.count, rate=self.count / duration_s if duration_s else None)

    def window_stats(self) -> list[tuple[int, Stats]]:
        """Per window the total and its rate per second."""
        return [(w, Stats(count=v, rate=v / WINDOW_S)) for w, v in sorted(self.windows_.items())]

    def merge(self, other: Counter) -> None:
        for w, v in other.windows_.items():
            self.windows_[w] = self.windows_.get(w, 0.0) + v

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "counter", "windows": {str(w): v for w, v in sorted(self.windows_.items())}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Counter:
        return cls(windows_={int(w): float(v) for w, v in d["windows"].items()})


@dataclass
class Gauge:
    """The latest value and its range (VUs, memory); merging keeps min, max and the newest value."""

    value: float | None = None
    min: float = math.inf
    max: float = -math.inf
    at: float = 0.0
    kind: ClassVar[MetricKind] = "gauge"

    def record(self, value: float, t: float | None = None) -> None:
        ts = time.time() if t is None else t
        if ts >= self.at:
            self.value, self.at = float(value), ts
        self.min = min(self.min, value)
        self.max = max(self.max, value)

    def stat(self, name: str) -> float | None:
        if self.value is None:
            return None
        if name == "value":
            return self.value
        if name == "min":
            return self.min
        if name == "max":
            return self.max
        msg = f"a Gauge has no aggregation {name!r}; use value, min or max"
        raise ValueError(msg)

    def stat_over(self, name: str, windows: Sequence[int]) -> float | None:
        msg = "a Gauge keeps no windows, so it has no windowed aggregation; drop the 'over' or use a Trend"
        raise ValueError(msg)

    def window_starts(self) -> list[int]:
        return []

    def stats(self) -> Stats:
        if self.value is None:
            return Stats()
        return Stats(value=self.value, min=self.min, max=self.max)

    def window_stats(self) -> list[tuple[int, Stats]]:
        """A Gauge keeps no windows: only its latest value and range."""
        return []

    def merge(self, other: Gauge) -> None:
        if other.value is None:
            return
        self.record(other.min, other.at)
        self.record(other.max, other.at)
        self.record(other.value, other.at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "gauge",
            "value": self.value,
            "min": None if self.value is None else self.min,
            "max": None if self.value is None else self.max,
            "at": self.at,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Gauge:
        g = cls()
        if d["value"] is not None:
            g.value, g.min, g.max, g.at = float(d["value"]), float(d["min"]), float(d["max"]), float(d["at"])
        return g


