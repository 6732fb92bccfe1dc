"""Running a scenario from Python: ``run_scenario`` and the spec's four named tests.

``measure_scenario`` runs the engine (in one process or several) and returns what it measured;
``run_scenario`` hands that to the pipeline (``perfmon.pipeline``), which derives, judges once
and, when asked, stores and reports. ``run_load_test``, ``run_stress_test``, ``run_spike_test``
and ``run_endurance_test`` read the scenario of that name from the config (scaled by the
profile), or take ``users`` for ``duration``, or ``stages``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..config import Config, Scenario, Stage, load_config
from ..durations import parse_duration
from ..measurements import Record
from ..metrics import Metrics
from ..pipeline import NO_OUTPUTS, Outputs, conclude
from ..results import PerformanceTestResults, ScenarioRun, new_run_id
from ..thresholds import parse_thresholds
from .engine import Engine, EngineOptions, Journey, run_engine

__all__ = [
    "measure_scenario",
    "run_endurance_test",
    "run_load_test",
    "run_scenario",
    "run_spike_test",
    "run_stress_test",
    "scenario_record",
]


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
    return Record(name, kind=ran.test_type, metrics=metrics, thresholds=list(scenario.thresholds), vus=ran.vus,
                  scenarios=[ran], interrupted=ran.interrupted)


def run_scenario(journey: Journey, scenario: Scenario, *, base_url: str, config: Config | None = None,
                 on_start: Journey | None = None, test_type: str = "load",
                 options: EngineOptions = EngineOptions(),  # noqa: B008 - frozen
                 outputs: Outputs = NO_OUTPUTS, run_id: str | None = None) -> PerformanceTestResults:
    """Measure ``scenario`` against ``base_url``, then derive, judge and (per ``outputs``) store and report."""
    cfg = config or load_config()
    if options.accounts is None:
        options = replace(options, accounts=cfg.accounts)
    metrics, ran = measure_scenario(journey, scenario, base_url=base_url, on_start=on_start, test_type=test_type,
                                    options=options)
    done = conclude([scenario_record(scenario.name, scenario, metrics, ran)], cfg, run_id=run_id or new_run_id(),
                    started_at=ran.started_at, finished_at=ran.finished_at, base_url=base_url, outputs=outputs)
    assert done is not None  # the record always holds the engine's own series (vus, sampler)
    return done.run.results()


def _scenario_from_args(name: str, cfg: Config, users: int | None, duration: str | float | None,
                        thresholds: Any, stages: list[dict[str, Any]] | None) -> Scenario:
    base = cfg.scenario(name) if name in cfg.scenarios else Scenario(name=name, executor="constant-vus")
    changes: dict[str, Any] = {}
    if stages is not None:
        changes["stages"] = tuple(Stage(parse_duration(s["duration"]), int(s["target"])) for s in stages)
        changes["executor"] = "ramping-vus"
    elif users is not None or duration is not None:
        changes["executor"] = "constant-vus"
        changes["stages"] = ()
        changes["vus"] = users if users is not None else base.peak_vus
        changes["duration_s"] = parse_duration(duration) if duration is not None else base.total_duration_s
    if thresholds is not None:
        changes["thresholds"] = tuple(parse_thresholds(thresholds))
    return replace(base, **changes) if changes else base


def _named(test_type: str, journey: Journey, scenario: str, base_url: str, config: Config | None,
           on_start: Journey | None, users: int | None, duration: str | float | None,
           stages: list[dict[str, Any]] | None, thresholds: dict[str, Any] | None, options: EngineOptions,
           outputs: Outputs) -> PerformanceTestResults:
    cfg = config or load_config()
    sc = _scenario_from_args(scenario, cfg, users, duration, thresholds, stages)
    return run_scenario(journey, sc, base_url=base_url, config=cfg, on_start=on_start, test_type=test_type,
                        options=options, outputs=outputs)


def run_load_test(journey: Journey, *, base_url: str, scenario: str = "load", users: int | None = None,
                  duration: str | float | None = None, stages: list[dict[str, Any]] | None = None,
                  thresholds: dict[str, Any] | None = None, config: Config | None = None,
                  on_start: Journey | None = None, options: EngineOptions = EngineOptions(),  # noqa: B008
                  outputs: Outputs = NO_OUTPUTS) -> PerformanceTestResults:
    """The spec's load test: the ``load`` scenario (or ``users`` for ``duration``, or ``stages``)."""
    return _named("load", journey, scenario, base_url, config, on_start, users, duration, stages, thresholds,
                  options, outputs)


def run_stress_test(journey: Journey, *, base_url: str, scenario: str = "stress", users: int | None = None,
                    duration: str | float | None = None, stages: list[dict[str, Any]] | None = None,
                    thresholds: dict[str, Any] | None = None, config: Config | None = None,
                    on_start: Journey | None = None, options: EngineOptions = EngineOptions(),  # noqa: B008
                    outputs: Outputs = NO_OUTPUTS) -> PerformanceTestResults:
    """The spec's stress test: the ``stress`` scenario (or ``users`` for ``duration``, or ``stages``)."""
    return _named("stress", journey, scenario, base_url, config, on_start, users, duration, stages, thresholds,
                  options, outputs)


def run_spike_test(journey: Journey, *, base_url: str, scenario: str = "spike", users: int | None = None,
                   duration: str | float | None = None, stages: list[dict[str, Any]] | None = None,
                   thresholds: dict[str, Any] | None = None, config: Config | None = None,
                   on_start: Journey | None = None, options: EngineOptions = EngineOptions(),  # noqa: B008
                   outputs: Outputs = NO_OUTPUTS) -> PerformanceTestResults:
    """A spike test: the ``spike`` scenario; its recovery time is derived as ``spike_recovery_time``."""
    return _named("spike", journey, scenario, base_url, config, on_start, users, duration, stages, thresholds,
                  options, outputs)


def run_endurance_test(journey: Journey, *, base_url: str, scenario: str = "endurance", users: int | None = None,
                       duration: str | float | None = None, stages: list[dict[str, Any]] | None = None,
                       thresholds: dict[str, Any] | None = None, config: Config | None = None,
                       on_start: Journey | None = None, options: EngineOptions = EngineOptions(),  # noqa: B008
                       outputs: Outputs = NO_OUTPUTS) -> PerformanceTestResults:
    """An endurance (soak) test: the ``endurance`` scenario; memory growth is derived per role."""
    return _named("endurance", journey, scenario, base_url, config, on_start, users, duration, stages, thresholds,
                  options, outputs)
