"""What every metric type reports: its kind, tags, the named percentiles and :class:`Stats`, whose
fields are the columns the stores write."""


from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["PERCENTILES", "MetricKind", "Stats", "Tags"]

MetricKind = Literal["trend", "rate", "counter", "gauge"]
Tags = tuple[tuple[str, str], ...]

PERCENTILES: Mapping[str, float] = {"p50": 50.0, "p75": 75.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}
"""The one set of named percentiles every summary (store, report, capacity curve) is drawn from."""


@dataclass(frozen=True)
class Stats:
    """A summary of one series, for the whole run or one window. Fields a kind has no use for
    stay ``None``: a Trend has count, avg, min, max and the percentiles; a Rate has count (all
    values) and rate (the share that was true); a Counter has count and rate (per second); a
    Gauge has value, min and max."""

    count: float | None = None
    avg: float | None = None
    min: float | None = None
    max: float | None = None
    p50: float | None = None
    p75: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    rate: float | None = None
    value: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {f: getattr(self, f) for f in _STATS_FIELDS}


_STATS_FIELDS = ("count", "avg", "min", "max", *PERCENTILES, "rate", "value")
