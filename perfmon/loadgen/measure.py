"""Measuring one scenario: the engine in this process or in several, and the record it hands on.

This is the load generator's top: it returns what was measured and how it ran, never a verdict.
``perfmon.load`` (the Python entry points) passes the result to the pipeline, which judges.
"""

from __future__ import annotations

from dataclasses import replace

from ..core.config import Scenario
from ..core.metrics import Metrics
from ..core.records import Record
from ..core.results import ScenarioRun
from .engine import Engine, EngineOptions, Journey, run_engine

__all__ = ["measure_scenario", "scenario_record"]


def measure_scenario(journey: Journey, scenario: Scenario, *, base_url: str, on_start: Journey | None = None,
                     test_type: str = "load", options: EngineOptions = EngineOptions()  # noqa: B008 - frozen
                     ) -> tuple[Metrics, ScenarioRun]:
    """Run ``scenario`` and return its metrics and the facts of how it ran; no verdict."""
    processes = options.processes or scenario.processes
    if not processes:  # "auto"
        from .processes import auto_processes

        processes = auto_processes(scenario, journey, on_start)
    if processes > 1:
        from .processes import run_in_processes

        return run_in_processes(journey, scenario, base_url=base_url, on_start=on_start, test_type=test_type,
                                options=replace(options, processes=processes))
    metrics = Metrics()
    engine = Engine(journey, scenario, base_url=base_url, on_start=on_start, metrics=metrics, test_type=test_type,
                    options=options)
    return metrics, run_engine(engine)


def scenario_record(name: str, scenario: Scenario, metrics: Metrics, ran: ScenarioRun) -> Record:
    """What one scenario hands to the pipeline."""
    return Record(name, kind=ran.test_type, metrics=metrics, thresholds=scenario.judged_by(), vus=ran.vus,
                  scenarios=[ran], interrupted=ran.interrupted)
