"""Metrics in the k6 sense (Trend, Rate, Counter, Gauge), windowed and mergeable: ``hdr`` (time
windows and the HDR histogram codec), ``stats`` (what every type reports), ``trend`` and
``scalars`` (the four types) and ``registry`` (the series of a run, keyed by name and tags)."""

from __future__ import annotations

from .hdr import WINDOW_S, sliding_spans, window_of
from .registry import Metric, Metrics, parse_selector
from .scalars import Counter, Gauge, Rate
from .stats import PERCENTILES, MetricKind, Stats
from .trend import Trend, merged_percentiles

__all__ = [
    "PERCENTILES",
    "WINDOW_S",
    "Counter",
    "Gauge",
    "Metric",
    "MetricKind",
    "Metrics",
    "Rate",
    "Stats",
    "Trend",
    "merged_percentiles",
    "parse_selector",
    "sliding_spans",
    "window_of",
]
