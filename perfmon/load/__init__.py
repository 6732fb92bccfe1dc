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
from typing import Any, Protocol

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
    "run_endurance_test",
    "run_load_test",
    "run_scenario",
    "run_spike_test",
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
    processes = int(engine_kw.pop("processes", 0) or scenario.processes)
    if processes > 1:
        from .processes import run_in_processes

        # Judged here on the merged metrics, by an engine that runs nothing itself.
        engine = Engine(journey, scenario, base_url=base_url, on_start=on_start, metrics=run.metrics,
                        progress=False, thresholds=engine_kw.get("thresholds", ()))
        interrupted = run_in_processes(journey, scenario, run, base_url=base_url, processes=processes,
                                       on_start=on_start, **engine_kw).status == "interrupted"
        engine.interrupted = interrupted
        engine.stop_reason = run.metadata.get("stop_reason")
        engine.judge(run)
    else:
        engine = Engine(journey, scenario, base_url=base_url, on_start=on_start, metrics=run.metrics, **engine_kw)
        run_engine(engine, run)
    if _analyse(run, scenario, test_type):
        engine.judge(run)  # again: the analyses added metrics that thresholds may name
    return run.results()


def _analyse(run: Run, scenario: Scenario, test_type: str) -> bool:
    """Spike recovery and memory growth, recorded as metrics so thresholds can gate them."""
    from ..analysis import memory_growth, recovery_time
    from ..metrics import Trend

    tags = {"scenario": scenario.name}
    if test_type == "spike":
        latency = run.metrics.select("http_req_duration")
        recovered = recovery_time(latency, scenario, run.started_at) if isinstance(latency, Trend) else None
        run.metadata["spike_recovery_s"] = recovered
        if recovered is not None:  # never recovering leaves no value: a threshold on it then fails
            run.metrics.trend("spike_recovery_time", tags).record(recovered * 1000)
        return True
    if test_type == "endurance":
        for role in ("target", "runner"):
            growth = memory_growth(run.metrics, role)
            if growth is not None:
                run.metrics.gauge("memory_growth_mb_per_min", {**tags, "role": role}).record(growth)
        return True
    return False


def _scenario_from_args(
    name: str, cfg: Config, users: int | None, duration: str | float | None, thresholds: Any,
    stages: list[dict[str, Any]] | None,
) -> Scenario:
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


class NamedTest(Protocol):
    """The signature of ``run_load_test`` and ``run_stress_test``."""

    def __call__(
        self,
        journey: Journey,
        *,
        users: int | None = None,
        duration: str | float | None = None,
        stages: list[dict[str, Any]] | None = None,
        thresholds: dict[str, Any] | None = None,
        base_url: str,
        config: Config | None = None,
        on_start: Journey | None = None,
        scenario: str = ...,
        **engine_kw: Any,
    ) -> PerformanceTestResults: ...


def _named_test(test_type: str) -> NamedTest:
    """``run_load_test`` and ``run_stress_test``: the same call on the scenario of that name."""

    def run_test(
        journey: Journey,
        *,
        users: int | None = None,
        duration: str | float | None = None,
        stages: list[dict[str, Any]] | None = None,
        thresholds: dict[str, Any] | None = None,
        base_url: str,
        config: Config | None = None,
        on_start: Journey | None = None,
        scenario: str = test_type,
        **engine_kw: Any,
    ) -> PerformanceTestResults:
        cfg = config or load_config()
        sc = _scenario_from_args(scenario, cfg, users, duration, thresholds, stages)
        return run_scenario(journey, sc, base_url=base_url, config=cfg, on_start=on_start, test_type=test_type,
                            **engine_kw)

    run_test.__name__ = f"run_{test_type}_test"
    run_test.__doc__ = (
        f"The spec's {test_type} test: the ``{test_type}`` scenario from the config (scaled by the profile), or "
        "``users`` for ``duration``, or ``stages``, against ``base_url``; returns PerformanceTestResults."
    )
    return run_test


run_load_test = _named_test("load")
run_stress_test = _named_test("stress")
run_spike_test = _named_test("spike")
run_endurance_test = _named_test("endurance")
