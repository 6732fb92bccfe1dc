"""Analyses over a run's windowed metrics: what the pipeline derives before it judges.

``derive(run)`` is the one entry point the pipeline calls; spike recovery and memory growth are
its parts today (regressions against history, change points and capacity fits join it next).
"""

from __future__ import annotations

from .derive import derive
from .leaks import memory_growth
from .recovery import recovery_time, spike_phases

__all__ = ["derive", "memory_growth", "recovery_time", "spike_phases"]
