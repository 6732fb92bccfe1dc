"""Analyses of measured runs, in two families:

- ``derive``: what one run shows on its own (spike recovery, memory growth and leaks, where a ramp
  broke, the USL fit, cost per journey, the database's bottleneck), as typed findings the pipeline
  adds before it judges (``derive.derive(run)``);
- ``history``: one run against the runs before it (the regression gate, the machine's pace, change
  points across the history), read from the store.

``capacity`` reads what either found about a scenario's capacity, for the stores, reports and the
history's sustainable-rate series.
"""

from __future__ import annotations

from .derive.leaks import memory_growth
from .derive.recovery import recovery_time, spike_phases

__all__ = ["memory_growth", "recovery_time", "spike_phases"]
