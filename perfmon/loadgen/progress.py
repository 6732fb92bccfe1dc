"""Live progress of a load run: a rich panel on a terminal, a plain line every few seconds in CI logs,
or, inside a pytest session, a small JSON file (the beacon) the session's controller reads to print
one status line for every worker (``pytest_plugin/live.py``): a worker's own output is captured or
lost, so it never prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.config import Scenario
from ..core.metrics import Counter, Gauge, Metrics, Rate
from ..core.metrics.catalog import NO_ANSWER

__all__ = ["Progress"]

_PLAIN_EVERY_S = 5.0
_BEACON_EVERY_S = 1.0


class Progress:
    def __init__(self, scenario: Scenario, metrics: Metrics, *, enabled: bool = True,
                 beacon: Path | None = None) -> None:
        self.scenario = scenario
        self.metrics = metrics
        self.enabled = enabled
        self.beacon = beacon
        self._task: asyncio.Task[None] | None = None
        self._last_reqs = 0.0
        self._last_t = 0.0
        self._t0: float | None = None

    def line(self, t0: float, vus: int) -> str:
        now = time.perf_counter()
        elapsed = now - t0
        reqs = self.metrics.select("http_reqs")
        total = reqs.count if isinstance(reqs, Counter) else 0.0
        rps = (total - self._last_reqs) / (now - self._last_t) if self._last_t and now > self._last_t else 0.0
        self._last_reqs, self._last_t = total, now
        p95 = self.metrics.recent_percentile("http_req_duration", 95)
        failed = self.metrics.select("http_req_failed")
        err = failed.rate if isinstance(failed, Rate) else None
        left = max(0.0, self.scenario.total_duration_s - elapsed)
        return (
            f"[{self.scenario.name}] {elapsed:5.0f}s  vus={vus:<4d} rps={rps:7.1f}  "
            f"p95={'-' if p95 is None else f'{p95:.0f}ms':>7}  errors={'-' if err is None else f'{err:.2%}'}  "
            f"left={left:.0f}s"
        )

    def snapshot(self, t0: float, *, ended: bool = False) -> dict[str, Any]:
        """The counts so far, for the controller's status line: it adds the workers' up."""
        reqs = self.metrics.select("http_reqs")
        failed = self.metrics.select("http_req_failed")
        iterations = self.metrics.select("iteration_failed")
        unanswered = sum(c.count for _, tags, c in self.metrics.series("http_reqs")
                         if isinstance(c, Counter) and tags.get("status") == NO_ANSWER)
        running = self.metrics.select("vus")  # users running (between iterations too), not only mid-request
        return {"scenario": self.scenario.name, "at": time.time(), "elapsed": time.perf_counter() - t0,
                "expected": self.scenario.total_duration_s,
                "vus": 0 if ended or not isinstance(running, Gauge) else int(running.value or 0),
                "requests": reqs.count if isinstance(reqs, Counter) else 0.0, "unanswered": unanswered,
                "failed": failed.trues if isinstance(failed, Rate) else 0,
                "p95": self.metrics.recent_percentile("http_req_duration", 95),
                "iterations": iterations.total if isinstance(iterations, Rate) else 0,
                "iterations_failed": iterations.trues if isinstance(iterations, Rate) else 0}

    def start(self, t0: float, vus: Callable[[], int]) -> None:
        self._t0 = t0
        if self.beacon is not None:
            self._task = asyncio.create_task(self._signal(t0, self.beacon))
        elif self.enabled:
            self._task = asyncio.create_task(self._loop(t0, vus))

    async def _signal(self, t0: float, beacon: Path) -> None:
        while True:
            self.write_beacon(t0, beacon)
            await asyncio.sleep(_BEACON_EVERY_S)

    def write_beacon(self, t0: float, beacon: Path, *, ended: bool = False) -> None:
        """Replace the beacon at once (a reader never sees half a file); a disk that refuses costs only
        the status line."""
        with contextlib.suppress(OSError):
            beacon.parent.mkdir(parents=True, exist_ok=True)
            part = beacon.with_suffix(".tmp")
            part.write_text(json.dumps(self.snapshot(t0, ended=ended)))
            os.replace(part, beacon)

    async def _loop(self, t0: float, vus: Callable[[], int]) -> None:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.live import Live

            with Live(console=Console(stderr=True), refresh_per_second=2, transient=True) as live:
                while True:
                    live.update(self.line(t0, vus()))
                    await asyncio.sleep(0.5)
        while True:
            await asyncio.sleep(_PLAIN_EVERY_S)
            print(self.line(t0, vus()), file=sys.stderr, flush=True)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self.beacon is not None and self._t0 is not None:
            self.write_beacon(self._t0, self.beacon, ended=True)  # the final counts, with no user left
