"""The cost per journey (perfmon/analysis/derive/cost.py) in a run that also ran an API scenario: the
scenario's own sampler watched the same processes again, and the load generator's CPU has a line of
its own; neither is charged to the journeys."""

from __future__ import annotations

from perfmon.analysis.derive.cost import journey_cost
from perfmon.core.results import Run

T0 = 1_000.0


def test_a_mixed_run_charges_the_journeys_only_what_they_used() -> None:
    run = Run(test_type="mixed", environment="ci", profile="smoke", base_url=None)
    run.metrics.counter("browser_iterations", {}).add(2, T0)
    run.metrics.counter("process_cpu_seconds", {"role": "runner"}).add(10.0, T0)  # the session's sampler
    run.metrics.counter("process_cpu_seconds", {"role": "runner", "scenario": "shop"}).add(6.0, T0)  # again
    run.metrics.counter("process_cpu_seconds", {"role": "browser"}).add(3.0, T0)
    run.metrics.counter("generator_cpu_seconds", {"scenario": "shop"}).add(4.0, T0)
    found = journey_cost(run)
    assert found is not None
    assert found.roles["runner"]["cpu_s"] == 3.0  # (10 - 4) / 2: not (10 + 6) / 2
    assert found.roles["browser"]["cpu_s"] == 1.5
