"""What a run found about capacity, per scenario, read from the three places it is kept: a search
it ran (``run.metadata["breaking_points"]``: ``PerfApi.find_capacity`` or the older linear
``find_breaking_point``), and what the pipeline derived from a stress ramp
(a :class:`~perfmon.core.findings.RampBreak`, one step per window) and from a ramp of users
(a :class:`~perfmon.core.findings.Scalability`, the USL fit). A search named like a ramp's scenario wins: it was
asked for. The stores' capacity tables, the regression gate's sustainable-rate series and
``perfmon capacity`` all read through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.findings import RampBreak, Scalability
from ..core.results import Run

__all__ = ["capacity_by_scenario", "scalability_fits"]


def capacity_by_scenario(run: Run) -> dict[str, dict[str, Any]]:
    """Scenario -> what was found about its capacity, searches first."""
    out: dict[str, dict[str, Any]] = {}
    for bp in run.findings_of(RampBreak):
        if bp.steps:
            out[bp.scenario] = {"sustainable_rate": bp.sustainable_rate, "breaking_rate": bp.rate,
                                "users": bp.sustainable_users, "limited_by": "server" if bp.broke else None,
                                "broken_by": list(bp.broken_by), "steps": [dict(s) for s in bp.steps]}
    for scenario, found in (run.metadata.get("breaking_points") or {}).items():
        out[str(scenario)] = dict(found)
    return out


def scalability_fits(run: Run) -> dict[str, dict[str, Any]]:
    """Scenario -> its Universal Scalability Law fit (or ``why`` there is none), searches first."""
    searches = run.metadata.get("breaking_points") or {}
    out: dict[str, dict[str, Any]] = {}
    for found in run.findings_of(Scalability):
        out[found.scenario] = found.to_dict()
    for scenario, found in searches.items():
        if isinstance(found.get("fit"), Mapping):
            out[scenario] = dict(found["fit"])
    return out
