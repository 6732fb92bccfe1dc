"""Everything derived from a run, added to it once by the pipeline before the verdict.

Analyses turn what was measured into metrics thresholds can gate: the time a spike scenario took
to recover (``spike_recovery_time{scenario}``) and the memory growth during an endurance scenario
(``memory_growth_mb_per_min{scenario,role}``), where a stress ramp broke its SLO (breaking.py),
where a ramp of users stops scaling (a Universal
Scalability Law fit over its windows, scalability.py), and a memory leak verdict per process role
for every run long enough to tell (leaks.py), and what one browser journey costs in CPU and
memory per process role (cost.py), and whether locks, the connection pool or the queries held
the target's database back (database.py). They run on the assembled run, whatever produced it
(``run_scenario``, a pytest session, a hybrid run's background load), so a hybrid spike is
analysed exactly as a spike run on its own. What an analysis found, including why it found
nothing, is kept in ``run.metadata["derived"]`` for the summary and the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from ..core.metrics import Trend
from ..core.results import Run, ScenarioRun
from ..core.thresholds import Threshold
from .breaking import breaking_point
from .cost import generator_cost, journey_cost
from .database import db_bottleneck
from .leaks import ROLES as LEAK_ROLES
from .leaks import detect_leak
from .memory import memory_growth
from .recovery import recovery_time, spike_phases
from .scalability import fit_usl, usl_points

__all__ = ["derive"]

ROLES = ("target", "runner")


def derive(run: Run, thresholds: Sequence[Threshold] = ()) -> None:
    """Add every derived metric to ``run`` (call once: the metrics are appended, not replaced).
    ``thresholds`` are the run's, the SLO a stress ramp's breaking point is read against."""
    found: dict[str, Any] = {}
    for scenario in run.scenarios:
        if scenario.test_type == "stress":
            found[f"breaking_point:{scenario.name}"] = breaking_point(run, scenario.name, thresholds)
        if scenario.test_type == "spike":
            found[f"spike_recovery:{scenario.name}"] = _spike(run, scenario)
        elif scenario.test_type == "endurance":
            found[f"memory_growth:{scenario.name}"] = _memory(run, scenario)
        if scenario.executor == "ramping-vus":  # a closed model whose users change: throughput against users
            found[f"scalability:{scenario.name}"] = _scalability(run, scenario)
    leaks = {role: asdict(leak) for role in LEAK_ROLES if (leak := detect_leak(run.metrics, role)) is not None}
    if leaks:
        found["leaks"] = leaks
    if (cost := journey_cost(run)) is not None:
        found["journey_cost"] = cost
    if (generator := generator_cost(run)) is not None:
        found["generator_cost"] = generator
    if isinstance(sampled := run.metadata.get("target_db"), dict):
        found["db_bottleneck"] = db_bottleneck(sampled, run.metrics)
    if found:
        run.metadata["derived"] = found


def _spike(run: Run, scenario: ScenarioRun) -> dict[str, Any]:
    latency = run.metrics.select_tags("http_req_duration", {"scenario": scenario.name})
    phases = spike_phases(scenario.stages)
    if phases is None:
        return {"recovery_s": None, "why": "the scenario's stages hold no spike (no stage above its neighbours)"}
    if scenario.started_at + phases[1] > scenario.finished_at:
        return {"recovery_s": None, "why": f"the scenario ended {scenario.finished_at - scenario.started_at:.0f}s in, "
                                           f"before its spike was over at {phases[1]:.0f}s"}
    recovered = recovery_time(latency, scenario.stages, scenario.started_at) if isinstance(latency, Trend) else None
    if recovered is None:
        # Never recovering leaves no value, and that absence is the finding: a threshold on
        # spike_recovery_time fails (the pipeline's validity check reads ``absent_is_failure``).
        return {"recovery_s": None, "why": "p95 never came back near its pre-spike level before the scenario ended",
                "absent_is_failure": "spike_recovery_time"}
    run.metrics.trend("spike_recovery_time", {"scenario": scenario.name}).record(recovered * 1000)
    return {"recovery_s": recovered}


def _scalability(run: Run, scenario: ScenarioRun) -> dict[str, Any]:
    """A closed-model ramp's (users, throughput) windows fitted to the USL, or why not."""
    fit = fit_usl(usl_points(run.metrics, scenario.name))
    return {"why": fit} if isinstance(fit, str) else fit.to_dict()


def _memory(run: Run, scenario: ScenarioRun) -> dict[str, Any]:
    growth: dict[str, float | None] = {}
    for role in ROLES:
        slope = memory_growth(run.metrics, role)
        growth[role] = slope
        if slope is not None:
            run.metrics.gauge("memory_growth_mb_per_min", {"scenario": scenario.name, "role": role}).record(slope)
    return {"mb_per_min": growth}
