"""Live progress of a load run: a rich panel on a terminal, a plain line every few seconds in CI logs."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable

from ..core.config import Scenario
from ..core.metrics import Counter, Metrics, Rate

__all__ = ["Progress"]

_PLAIN_EVERY_S = 5.0


class Progress:
    def __init__(self, scenario: Scenario, metrics: Metrics, *, enabled: bool = True) -> None:
        self.scenario = scenario
        self.metrics = metrics
        self.enabled = enabled
        self._task: asyncio.Task[None] | None = None
        self._last_reqs = 0.0
        self._last_t = 0.0

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

    def start(self, t0: float, vus: Callable[[], int]) -> None:
        if not self.enabled:
            return
        self._task = asyncio.create_task(self._loop(t0, vus))

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
