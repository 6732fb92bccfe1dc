"""Analyses over a run's windowed metrics: spike recovery and memory growth (regression detection
over history and capacity search come next)."""

from __future__ import annotations

from .memory import memory_growth
from .recovery import recovery_time

__all__ = ["memory_growth", "recovery_time"]
