"""What a run found about capacity, per scenario, read from the three places it is kept: a search
it ran (``run.metadata["breaking_points"]``: ``PerfApi.find_capacity`` or the older linear
``find_breaking_point``), and what the pipeline derived from a stress ramp
(``derived["breaking_point:NAME"]``, one step per window) and from a ramp of users
(``derived["scalability:NAME"]``, the USL fit). A search named like a ramp's scenario wins: it was
asked for. The stores' capacity tables, the regression gate's sustainable-rate series and
``perfmon capacity`` all read through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.results import Run

__all__ = ["capacity_by_scenario", "scalability_fits"]


def capacity_by_scenario(run: Run) -> dict[str, dict[str, Any]]:
    """Scenario -> what was found about its capacity, searches first."""
    out: dict[str, dict[str, Any]] = {}
    for key, found in (run.metadata.get("derived") or {}).items():
        what, _, scenario = str(key).partition(":")
        if what == "breaking_point" and isinstance(found, Mapping) and found.get("steps"):
            out[scenario] = {"sustainable_rate": found.get("sustainable_rate"), "breaking_rate": found.get("rate"),
                             "users": found.get("sustainable_users"), "limited_by": "server" if "rate" in found
                             else None, "broken_by": found.get("broken_by") or [], "steps": found["steps"]}
    for scenario, found in (run.metadata.get("breaking_points") or {}).items():
        out[str(scenario)] = dict(found)
    return out


def scalability_fits(run: Run) -> dict[str, dict[str, Any]]:
    """Scenario -> its Universal Scalability Law fit (or ``why`` there is none), searches first."""
    searches = run.metadata.get("breaking_points") or {}
    out: dict[str, dict[str, Any]] = {}
    for key, found in (run.metadata.get("derived") or {}).items():
        what, _, scenario = str(key).partition(":")
        if what == "scalability" and isinstance(found, Mapping):
            out[scenario] = dict(found)
    for scenario, found in searches.items():
        if isinstance(found.get("fit"), Mapping):
            out[scenario] = dict(found["fit"])
    return out
