"""Spreading one scenario over several processes (one per core), merging their histograms.

One asyncio process saturates one core at 11-22k requests per second on the lean transport
(bench/README.md). ``processes = "auto"`` (the default) spreads a scenario only when its rate or
users need more than one core and it is long enough to repay each process's start-up (about 1.5
CPU-seconds of imports): from the scenario alone, because a split cannot change mid-run. With
``processes=N`` (or what "auto" chose) the scenario is split into N equal parts (users, stage targets, arrival
rate and max VUs divided, remainders to the first parts), each part runs in its own spawned
process with its own event loop, and the parent merges the parts' windowed metrics - exact,
because windows are aligned to the epoch. Virtual users keep distinct accounts across parts.
The pipeline judges the merged metrics; ``abortOnFail`` acts within each part.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core.config import Scenario, Stage
from ..core.errors import ScriptError
from ..core.failures import merged_failures
from ..core.metrics import Metrics
from ..core.results import ScenarioRun
from .engine import EngineOptions
from .schedules import OPEN

__all__ = ["auto_processes", "run_in_processes", "split_scenario"]

# Requests a second one process is given under "auto": about half of what the lean engine sends to
# an empty answer on one core (bench/http_engine.py), leaving the other half to the script's own work.
ONE_PROCESS_RPS = 8000.0
# Requests a scenario must be expected to send before another process pays for its start-up.
SPREAD_MIN_REQUESTS = 50_000.0
_REQUEST_FLOOR_S = 0.001  # a user without think time: at best one request a millisecond on loopback


def _share(total: int, part: int, parts: int) -> int:
    return total // parts + (1 if part < total % parts else 0)


def split_scenario(scenario: Scenario, parts: int) -> list[Scenario]:
    """The ``parts`` pieces of ``scenario`` that add up to it."""
    return [
        replace(
            scenario,
            vus=_share(scenario.vus, i, parts),
            stages=tuple(Stage(s.duration_s, _share(s.target, i, parts)) for s in scenario.stages),
            rate=scenario.rate / parts,
            max_vus=max(1, _share(scenario.max_vus, i, parts)) if scenario.max_vus else 0,
        )
        for i in range(parts)
    ]


def expected_load(scenario: Scenario) -> tuple[float, float]:
    """Requests a second at the scenario's peak, and in all, reckoning one request per iteration
    (the most a script is sure to send) and, for closed models, a request per think time."""
    if scenario.executor in OPEN:
        peak = max([scenario.rate, *(s.target for s in scenario.stages)])
        return peak, peak * scenario.total_duration_s
    peak = scenario.peak_vus / max(scenario.think_time_s, _REQUEST_FLOOR_S)
    if scenario.executor == "per-vu-iterations":
        return peak, float(scenario.vus * scenario.iterations)
    return peak, peak * scenario.total_duration_s


def auto_processes(scenario: Scenario, *functions: Any, cores: int | None = None) -> int:
    """What ``processes = "auto"`` runs ``scenario`` on: one, unless its peak needs more than one
    process's share and it sends enough to repay the others' start-up; never more than the cores,
    and one when the script cannot be sent to other processes (a lambda, a closure)."""
    peak, total = expected_load(scenario)
    wanted = min(cores or os.cpu_count() or 1, math.ceil(peak / ONE_PROCESS_RPS))
    if wanted <= 1 or total < SPREAD_MIN_REQUESTS:
        return 1
    try:
        pickle.dumps(functions)
    except (pickle.PicklingError, AttributeError, TypeError):
        return 1
    return wanted


def _run_part(payload: bytes) -> dict[str, Any]:
    from .engine import Engine, run_engine

    journey, on_start, scenario, base_url, test_type, options = pickle.loads(payload)
    metrics = Metrics()
    engine = Engine(journey, scenario, base_url=base_url, on_start=on_start, metrics=metrics, test_type=test_type,
                    options=options)
    ran = run_engine(engine)
    return {"metrics": metrics.to_dict(), "ran": ran.to_dict()}


def run_in_processes(journey: Any, scenario: Scenario, *, base_url: str, options: EngineOptions,
                     on_start: Any = None, test_type: str = "load") -> tuple[Metrics, ScenarioRun]:
    """Run ``scenario`` split over ``options.processes`` spawned processes; the merged metrics and
    the facts of the whole scenario."""
    processes = options.processes
    parts = split_scenario(scenario, processes)
    try:
        payloads = [pickle.dumps((journey, on_start, part, base_url, test_type,
                                  replace(options, part=i, parts=processes, processes=1,
                                          progress=options.progress and i == 0,  # one progress line
                                          beacon=_part_beacon(options.beacon, i))))
                    for i, part in enumerate(parts)]
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ScriptError(f"with processes > 1 the journey and on_start must be module-level functions ({exc})"
                          ) from None
    with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_run_part, payloads))
    metrics = Metrics()
    for r in results:
        metrics.merge(Metrics.from_dict(r["metrics"]))
    ran = [ScenarioRun.from_dict(r["ran"]) for r in results]
    saturations = [r.client_saturation for r in ran if r.client_saturation is not None]
    return metrics, replace(
        ran[0], started_at=min(r.started_at for r in ran), finished_at=max(r.finished_at for r in ran),
        stages=scenario.stages, vus=sum(r.vus for r in ran), vus_created=sum(r.vus_created for r in ran),
        dropped_iterations=sum(r.dropped_iterations for r in ran), processes=processes,
        stop_reason=next((r.stop_reason for r in ran if r.stop_reason), None),
        interrupted=any(r.interrupted for r in ran), client_saturation=max(saturations) if saturations else None,
        cancelled_at_stop=sum(r.cancelled_at_stop for r in ran),
        errors=merged_failures(e for r in ran for e in r.errors),
    )


def _part_beacon(beacon: str | None, part: int) -> str | None:
    """Each process its own beacon (``load.json`` -> ``load.0.json``): the controller adds them up."""
    return str(Path(beacon).with_suffix(f".{part}.json")) if beacon else None
