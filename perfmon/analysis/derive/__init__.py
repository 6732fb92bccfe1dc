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
nothing, is a typed finding (``core/findings.py``) in ``run.findings``, which every output reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...core.findings import Finding, Leaks, MemoryGrowth, Scalability, SpikeRecovery
from ...core.metrics import Trend
from ...core.results import Run, ScenarioRun
from ...core.thresholds import Threshold
from .breaking import breaking_point
from .cost import generator_cost, journey_cost
from .database import db_bottleneck
from .leaks import ROLES as LEAK_ROLES
from .leaks import detect_leak, memory_growth
from .recovery import recovery_time, spike_phases
from .scalability import fit_usl, usl_points

__all__ = ["derive"]

ROLES = ("target", "runner")


def derive(run: Run, thresholds: Sequence[Threshold] = ()) -> None:
    """Add every finding to ``run.findings`` and every derived metric to its metrics (call once: the
    metrics are appended, not replaced). ``thresholds`` are the run's, the SLO a stress ramp's
    breaking point is read against."""
    found: list[Finding] = []
    for scenario in run.scenarios:
        if scenario.test_type == "stress":
            found.append(breaking_point(run, scenario.name, thresholds))
        if scenario.test_type == "spike":
            found.append(_spike(run, scenario))
        elif scenario.test_type == "endurance":
            found.append(_memory(run, scenario))
        if scenario.executor == "ramping-vus":  # a closed model whose users change: throughput against users
            found.append(_scalability(run, scenario))
    leaks = {role: leak for role in LEAK_ROLES if (leak := detect_leak(run.metrics, role)) is not None}
    if leaks:
        found.append(Leaks(leaks))
    if (cost := journey_cost(run)) is not None:
        found.append(cost)
    if (generator := generator_cost(run)) is not None:
        found.append(generator)
    if isinstance(sampled := run.metadata.get("target_db"), dict):
        found.append(db_bottleneck(sampled, run.metrics))
    run.findings.extend(found)


def _spike(run: Run, scenario: ScenarioRun) -> SpikeRecovery:
    latency = run.metrics.select_tags("http_req_duration", {"scenario": scenario.name})
    phases = spike_phases(scenario.stages)
    if phases is None:
        return SpikeRecovery(scenario.name, None, "the scenario's stages hold no spike (no stage above its neighbours)")
    if scenario.started_at + phases[1] > scenario.finished_at:
        ran = scenario.finished_at - scenario.started_at
        return SpikeRecovery(scenario.name, None, f"the scenario ended {ran:.0f}s in, before its spike was over at "
                                                  f"{phases[1]:.0f}s")
    recovered = recovery_time(latency, scenario.stages, scenario.started_at) if isinstance(latency, Trend) else None
    if recovered is None:
        # Never recovering leaves no value, and that absence is the finding: a threshold on
        # spike_recovery_time fails (the pipeline's validity check reads ``absent_is_failure``).
        return SpikeRecovery(scenario.name, None, "p95 never came back near its pre-spike level before the scenario "
                                                  "ended", absent_is_failure="spike_recovery_time")
    run.metrics.trend("spike_recovery_time", {"scenario": scenario.name}).record(recovered * 1000)
    return SpikeRecovery(scenario.name, recovered)


def _scalability(run: Run, scenario: ScenarioRun) -> Scalability:
    """A closed-model ramp's (users, throughput) windows fitted to the USL, or why not."""
    fit = fit_usl(usl_points(run.metrics, scenario.name))
    return Scalability(scenario.name, why=fit) if isinstance(fit, str) else Scalability(scenario.name, fit)


def _memory(run: Run, scenario: ScenarioRun) -> MemoryGrowth:
    growth: dict[str, float | None] = {}
    for role in ROLES:
        slope = memory_growth(run.metrics, role)
        growth[role] = slope
        if slope is not None:
            run.metrics.gauge("memory_growth_mb_per_min", {"scenario": scenario.name, "role": role}).record(slope)
    return MemoryGrowth(scenario.name, growth)
