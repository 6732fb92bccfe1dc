"""HTTP-level load: k6 workload models driving async Python scripts.

``run_load_test`` and ``run_stress_test`` read the scenario from the config (scaled by the
profile), run it against ``base_url`` and return :class:`~perfmon.PerformanceTestResults`::

    async def journey(client, user):
        r = await client.get("/api/dashboard", headers={"Authorization": f"Bearer {user.token}"})
        user.check(r, {"status is 200": lambda r: r.status_code == 200})

    results = run_load_test(journey, on_start=login, users=100, duration="10m", base_url=url)
    assert results.metrics.p95_response_time < 2000
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..config import Config, Scenario, Stage, load_config, parse_duration
from ..results import PerformanceTestResults, Run
from ..thresholds import parse_thresholds
from .capacity import BreakingPoint, CapacityStep, find_breaking_point
from .client import Client, RequestError, Response, endpoint_name
from .engine import Engine, Journey, VirtualUser, run_engine

__all__ = [
    "BreakingPoint",
    "CapacityStep",
    "Client",
    "Engine",
    "Journey",
    "RequestError",
    "Response",
    "VirtualUser",
    "endpoint_name",
    "find_breaking_point",
    "run_load_test",
    "run_scenario",
    "run_stress_test",
]


def run_scenario(
    journey: Journey,
    scenario: Scenario,
    *,
    base_url: str,
    config: Config | None = None,
    on_start: Journey | None = None,
    test_type: str = "load",
    **engine_kw: Any,
) -> PerformanceTestResults:
    cfg = config or load_config()
    run = Run(test_type=test_type, environment=cfg.environment, profile=cfg.profile.name, base_url=base_url)
    engine = Engine(journey, scenario, base_url=base_url, on_start=on_start, metrics=run.metrics, **engine_kw)
    return run_engine(engine, run).results()


def _scenario_from_args(
    name: str, cfg: Config, users: int | None, duration: str | float | None, thresholds: Any,
    stages: list[dict[str, Any]] | None, executor: str | None,
) -> Scenario:
    base = cfg.scenario(name) if name in cfg.scenarios else Scenario(name=name, executor="constant-vus")
    changes: dict[str, Any] = {}
    if stages is not None:
        changes["stages"] = tuple(Stage(parse_duration(s["duration"]), int(s["target"])) for s in stages)
        changes["executor"] = "ramping-vus"
    elif users is not None or duration is not None:
        changes["executor"] = executor or "constant-vus"
        changes["stages"] = ()
        changes["vus"] = users if users is not None else base.peak_vus
        changes["duration_s"] = parse_duration(duration) if duration is not None else base.total_duration_s
    if thresholds is not None:
        changes["thresholds"] = tuple(parse_thresholds(thresholds))
    return replace(base, **changes) if changes else base


def run_load_test(
    journey: Journey,
    *,
    users: int | None = None,
    duration: str | float | None = None,
    stages: list[dict[str, Any]] | None = None,
    thresholds: dict[str, Any] | None = None,
    base_url: str,
    config: Config | None = None,
    on_start: Journey | None = None,
    scenario: str = "load",
    **engine_kw: Any,
) -> PerformanceTestResults:
    """The spec's load test: the ``load`` scenario (or ``users`` for ``duration``) against ``base_url``."""
    cfg = config or load_config()
    sc = _scenario_from_args(scenario, cfg, users, duration, thresholds, stages, None)
    return run_scenario(journey, sc, base_url=base_url, config=cfg, on_start=on_start, test_type="load", **engine_kw)


def run_stress_test(
    journey: Journey,
    *,
    users: int | None = None,
    duration: str | float | None = None,
    stages: list[dict[str, Any]] | None = None,
    thresholds: dict[str, Any] | None = None,
    base_url: str,
    config: Config | None = None,
    on_start: Journey | None = None,
    scenario: str = "stress",
    **engine_kw: Any,
) -> PerformanceTestResults:
    """The spec's stress test: the ``stress`` scenario (500 users by default) against ``base_url``."""
    cfg = config or load_config()
    sc = _scenario_from_args(scenario, cfg, users, duration, thresholds, stages, None)
    return run_scenario(journey, sc, base_url=base_url, config=cfg, on_start=on_start, test_type="stress",
                        **engine_kw)
