"""Spreading one scenario over several processes (one per core), merging their histograms.

One asyncio process saturates one core at about 10k requests per second (bench/README.md).
With ``processes=N`` the scenario is split into N equal parts (users, stage targets, arrival
rate and max VUs divided, remainders to the first parts), each part runs in its own spawned
process with its own event loop, and the parent merges the parts' windowed metrics - exact,
because windows are aligned to the epoch. Virtual users keep distinct accounts across parts.
Thresholds are judged on the merged metrics; ``abortOnFail`` acts within each part.
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
from ..results import Run
from ..thresholds import Threshold

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
    from .engine import Engine, _default_users, run_engine

    journey, on_start, scenario, base_url, part, parts, thresholds, engine_kw = pickle.loads(payload)
    run = Run(test_type="load", environment="development", profile="part", base_url=base_url)
    wanted = bool(engine_kw.pop("progress", True))
    progress = wanted and part == 0  # one progress line, not one per part
    engine = Engine(journey, scenario, base_url=base_url, on_start=on_start, thresholds=thresholds,
                    metrics=run.metrics, users=lambda i: _default_users(i * parts + part), progress=progress,
                    **engine_kw)
    run_engine(engine, run)
    return {"metrics": run.metrics.to_dict(), "saturation": run.client_saturation, "status": run.status,
            "meta": run.metadata, "started_at": run.started_at, "finished_at": run.finished_at,
            "vus": engine.schedule.max_vus()}


def run_in_processes(journey: Any, scenario: Scenario, run: Run, *, base_url: str, processes: int,
                     on_start: Any = None, thresholds: list[Threshold] | None = None,
                     **engine_kw: Any) -> Run:
    """Run ``scenario`` split over ``processes`` spawned processes into ``run``."""
    parts = split_scenario(scenario, processes)
    try:
        payloads = [pickle.dumps((journey, on_start, part, base_url, i, processes, thresholds or [], dict(engine_kw)))
                    for i, part in enumerate(parts)]
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ScriptError(f"with processes > 1 the journey and on_start must be module-level functions ({exc})"
                          ) from None
    with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_run_part, payloads))
    run.started_at = min(r["started_at"] for r in results)
    run.finished_at = max(r["finished_at"] for r in results)
    for r in results:
        run.metrics.merge(Metrics.from_dict(r["metrics"]))
    run.concurrent_users = sum(r["vus"] for r in results)
    saturations = [r["saturation"] for r in results if r["saturation"] is not None]
    run.client_saturation = max(saturations) if saturations else None
    run.metadata.update(
        scenario=scenario.name, executor=scenario.executor, processes=processes,
        vus_created=sum(r["meta"].get("vus_created", 0) for r in results),
        dropped_iterations=sum(r["meta"].get("dropped_iterations", 0) for r in results),
        stop_reason=next((r["meta"]["stop_reason"] for r in results if r["meta"].get("stop_reason")), None),
    )
    if any(r["status"] == "interrupted" for r in results):
        run.status = "interrupted"
    return run
