"""Workload models as k6 defines them, reduced to two functions of elapsed time.

Closed models (``constant-vus``, ``ramping-vus``, ``per-vu-iterations``) say how many virtual
users should be running; open models (``constant-arrival-rate``, ``ramping-arrival-rate``)
say how many iterations per second should start, whatever the users are doing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.config import Scenario, Stage

__all__ = ["Schedule"]

OPEN = ("constant-arrival-rate", "ramping-arrival-rate")


def _ramp(stages: tuple[Stage, ...], t: float, start: float) -> float:
    prev, elapsed = start, 0.0
    for s in stages:
        if t < elapsed + s.duration_s:
            frac = (t - elapsed) / s.duration_s if s.duration_s else 1.0
            return prev + (s.target - prev) * frac
        prev, elapsed = float(s.target), elapsed + s.duration_s
    return prev


@dataclass(frozen=True)
class Schedule:
    scenario: Scenario

    @property
    def open(self) -> bool:
        return self.scenario.executor in OPEN

    @property
    def duration_s(self) -> float:
        return self.scenario.total_duration_s

    def vus_at(self, t: float) -> int:
        """Closed models: VUs that should be running ``t`` seconds in."""
        sc = self.scenario
        if sc.executor == "ramping-vus":
            return round(_ramp(sc.stages, t, 0.0))
        return sc.vus

    def rate_at(self, t: float) -> float:
        """Open models: iterations per second ``t`` seconds in."""
        sc = self.scenario
        if sc.executor == "ramping-arrival-rate":
            return _ramp(sc.stages, t, sc.rate)
        return sc.rate

    def max_vus(self) -> int:
        sc = self.scenario
        if self.open:
            return sc.max_vus or max(1, sc.vus)
        return sc.peak_vus
