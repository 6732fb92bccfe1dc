"""Running a scenario from Python: ``run_scenario`` and the spec's four named tests.

``perfmon.loadgen.measure`` runs the engine (in one process or several) and returns what it
measured; ``run_scenario`` hands that to the pipeline (``perfmon.pipeline``), which derives, judges
once and, when asked, stores and reports. ``run_test(kind=...)`` and its four named forms
(``run_load_test``, ``run_stress_test``, ``run_spike_test``, ``run_endurance_test``) read the scenario
of that name from the config (scaled by the profile), or take ``users`` for ``duration``, or
``stages``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from ..core.config import Config, Scenario, Stage, load_config
from ..core.durations import parse_duration
from ..core.results import PerformanceTestResults, new_run_id
from ..core.thresholds import parse_thresholds
from ..loadgen.engine import EngineOptions, Journey
from ..loadgen.measure import measure_scenario, scenario_record
from ..pipeline import NO_OUTPUTS, Outputs, conclude

__all__ = [
    "NamedTest",
    "run_endurance_test",
    "run_load_test",
    "run_scenario",
    "run_spike_test",
    "run_stress_test",
    "run_test",
]


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
    own = stages is not None or users is not None or duration is not None  # the test sizes it itself
    # A name the config lacks, and nothing to size it with: a typo (`scenario="lod"`), not a 0-s scenario.
    base = cfg.scenario(name) if name in cfg.scenarios or not own else Scenario(name=name, executor="constant-vus")
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
    found = replace(base, **changes) if changes else base
    # The command line's --users/--duration win over the test's own sizes, as k6's flags over its options.
    return found.overridden(cfg.override_users, cfg.override_duration_s) if own else found  # cfg.scenario did it


class NamedTest(Protocol):
    """The shape of the spec's four named tests (``run_load_test`` and its siblings)."""

    def __call__(self, journey: Journey, *, base_url: str, scenario: str | None = None, users: int | None = None,
                 duration: str | float | None = None, stages: list[dict[str, Any]] | None = None,
                 thresholds: dict[str, Any] | None = None, config: Config | None = None,
                 on_start: Journey | None = None, options: EngineOptions = ...,
                 outputs: Outputs = ...) -> PerformanceTestResults: ...


def run_test(journey: Journey, *, kind: str = "load", base_url: str, scenario: str | None = None,
             users: int | None = None, duration: str | float | None = None,
             stages: list[dict[str, Any]] | None = None, thresholds: dict[str, Any] | None = None,
             config: Config | None = None, on_start: Journey | None = None,
             options: EngineOptions = EngineOptions(),  # noqa: B008 - frozen
             outputs: Outputs = NO_OUTPUTS) -> PerformanceTestResults:
    """A test of ``kind`` (load, stress, spike, endurance): the config's scenario of that name (or
    ``scenario``), scaled by the profile, or ``users`` for ``duration``, or ``stages``."""
    cfg = config or load_config()
    sc = _scenario_from_args(scenario or kind, cfg, users, duration, thresholds, stages)
    return run_scenario(journey, sc, base_url=base_url, config=cfg, on_start=on_start, test_type=kind,
                        options=options, outputs=outputs)


def _named_test(kind: str, doc: str) -> NamedTest:
    def named(journey: Journey, *, base_url: str, scenario: str | None = None, users: int | None = None,
              duration: str | float | None = None, stages: list[dict[str, Any]] | None = None,
              thresholds: dict[str, Any] | None = None, config: Config | None = None,
              on_start: Journey | None = None, options: EngineOptions = EngineOptions(),  # noqa: B008 - frozen
              outputs: Outputs = NO_OUTPUTS) -> PerformanceTestResults:
        return run_test(journey, kind=kind, base_url=base_url, scenario=scenario, users=users, duration=duration,
                        stages=stages, thresholds=thresholds, config=config, on_start=on_start, options=options,
                        outputs=outputs)

    named.__name__ = named.__qualname__ = f"run_{kind}_test"
    named.__doc__ = doc
    return named


run_load_test = _named_test("load", "The spec's load test: the ``load`` scenario (or ``users`` for ``duration``, "
                                    "or ``stages``).")
run_stress_test = _named_test("stress", "The spec's stress test: the ``stress`` scenario (or ``users`` for "
                                        "``duration``, or ``stages``).")
run_spike_test = _named_test("spike", "A spike test: the ``spike`` scenario; its recovery time is derived as "
                                      "``spike_recovery_time``.")
run_endurance_test = _named_test("endurance", "An endurance (soak) test: the ``endurance`` scenario; memory growth "
                                              "is derived per role.")
