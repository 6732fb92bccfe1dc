"""Spreading one scenario over several processes (one per core), merging their histograms.

One asyncio process saturates one core at about 10k requests per second (bench/README.md).
With ``processes=N`` the scenario is split into N equal parts (users, stage targets, arrival
rate and max VUs divided, remainders to the first parts), each part runs in its own spawned
process with its own event loop, and the parent merges the parts' windowed metrics - exact,
because windows are aligned to the epoch. Virtual users keep distinct accounts across parts.
The pipeline judges the merged metrics; ``abortOnFail`` acts within each part.
"""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Any

from ..config import Scenario, Stage
from ..errors import ScriptError
from ..metrics import Metrics
from ..results import ScenarioRun
from .engine import EngineOptions

__all__ = ["run_in_processes", "split_scenario"]


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
                                          progress=options.progress and i == 0)))  # one progress line
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
    )
