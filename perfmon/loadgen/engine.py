"""The load engine: runs a user script under a k6 workload model and measures it.

A script is ``async def journey(client, user)``; ``on_start(client, user)`` runs once per
virtual user (log in, keep the token). Closed models keep N users looping; open models start
iterations on a clock from a pool of users that grows up to ``max_vus`` and count
``dropped_iterations`` when it cannot. Every loop is bounded: the run ends at its duration
plus ``graceful_stop_s``, and users still busy then are cancelled and counted as
interrupted iterations.

The engine measures; it never decides pass or fail. It returns a :class:`ScenarioRun`, the
facts of how it ran (when, how many users, dropped iterations, why it stopped early), and its
metrics are the caller's registry. It does evaluate ``abortOnFail`` thresholds while running,
because stopping early is part of running; the verdict is the pipeline's (``perfmon.pipeline``).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from ..core.config import Accounts, Scenario
from ..core.failures import FailureTally
from ..core.metrics import Metrics
from ..core.results import ScenarioRun
from ..core.thresholds import evaluate
from ..system.resources import Sampler
from .client import Client, RequestError
from .progress import Progress
from .schedules import Schedule
from .transports import Transport, open_transport

__all__ = ["Engine", "EngineOptions", "Journey", "VirtualUser", "run_engine"]

Journey = Callable[[Client, "VirtualUser"], Awaitable[Any]]
_TICK_S = 0.1
_ABORT_EVAL_S = 2.0
_BEAT_S = 0.05
# A loop that runs no 50-ms timer for half a second blocks every request's timing by as much: a journey
# calling time.sleep or a synchronous client. (A loop busy with requests still runs timers between them.)
_STALLED_S = 0.5
# Past the deadline, how often the alarm looks for a loop still blocked by a journey.
_CUT_EVERY_S = 0.25


class _JourneyCut(BaseException):
    """Raised by the alarm into a journey that still blocks the event loop past the run's deadline.

    A BaseException, so that a journey's ``except Exception`` does not swallow it."""


@dataclass
class VirtualUser:
    """What a script knows about its user: a seeded account, a scratch dict and k6's helpers."""

    index: int
    email: str
    password: str
    metrics: Metrics = field(repr=False)
    tags: dict[str, str] = field(default_factory=dict, repr=False)
    token: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def check(self, value: Any, checks: dict[str, Callable[[Any], bool]]) -> bool:
        """k6's ``check``: each named condition counts into the ``checks`` Rate; never raises."""
        ok_all = True
        for name, cond in checks.items():
            try:
                ok = bool(cond(value))
            except Exception:  # noqa: BLE001 - a check that raises is a failed check, by k6's rules
                ok = False
            self.metrics.rate("checks", {**self.tags, "check": name}).record(ok)
            ok_all &= ok
        return ok_all

    async def sleep(self, seconds: float) -> None:
        """Think time."""
        await asyncio.sleep(seconds)


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """How to run a scenario, beyond the scenario itself (httpx's ``Timeout``/``Limits`` habit:
    a small frozen object instead of keyword arguments passed down through every layer)."""

    progress: bool = True  # live progress on stderr
    beacon: str | None = None  # instead, a JSON file of the counts so far, for a pytest session's controller
    target_pid: int | None = None  # the app under test, sampled as role "target"
    processes: int = 0  # load generator processes; 0: the scenario's own setting
    graceful_stop_s: float = 30.0  # how long busy users may finish after the schedule ends
    request_timeout_s: float = 60.0
    accounts: Accounts | None = None  # seeded accounts; None: the config's
    part: int = 0  # this engine's share of users when a scenario is split over processes
    parts: int = 1


class Engine:
    def __init__(
        self,
        journey: Journey,
        scenario: Scenario,
        *,
        base_url: str,
        on_start: Journey | None = None,
        metrics: Metrics | None = None,
        test_type: str = "load",
        options: EngineOptions = EngineOptions(),
    ) -> None:
        self.journey = journey
        self.on_start = on_start
        self.scenario = scenario
        self.test_type = test_type
        self.schedule = Schedule(scenario)
        self.base_url = base_url
        self.thresholds = list(scenario.thresholds)
        self.metrics = metrics if metrics is not None else Metrics()
        self.options = options
        self.accounts = options.accounts or Accounts()
        stop = scenario.graceful_stop_s
        self.graceful_stop_s = options.graceful_stop_s if stop is None else stop
        self.tags = {"scenario": scenario.name}
        # Looked up once: registry lookups sort tags, which is too slow per iteration.
        self._iteration_series = (self.metrics.trend("iteration_duration", self.tags),
                                  self.metrics.counter("iterations", self.tags),
                                  self.metrics.rate("iteration_failed", self.tags))
        # VUs over time for charts (the k6-style `vus` Gauge keeps only the latest value and range).
        # Per part when the scenario is split over processes: their users add up (Metrics.summed_over_parts).
        self._vus_series = self.metrics.trend(
            "vus_active", {**self.tags, "part": str(options.part)} if options.parts > 1 else self.tags, resolution=1)
        self.progress = Progress(scenario, self.metrics, enabled=options.progress,
                                 beacon=Path(options.beacon) if options.beacon else None)
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.stop_reason: str | None = None
        self.interrupted = False
        self.cancelled_at_stop = 0
        self.errors = FailureTally(scenario.name)
        self.blocked_cut = 0  # journeys cut by the alarm (they blocked the loop past the deadline)
        self.cut_short = False
        self.outcome: ScenarioRun | None = None
        self._started_at = time.time()
        self._sampler: Sampler | None = None
        self._beat_at = time.monotonic()  # the event loop's last pulse (_beat)
        self.active = 0
        self.vus_created = 0
        self.dropped = 0

    # --- VU lifecycle ----------------------------------------------------------------------
    def _new_vu(self, transport: Transport) -> tuple[Client, VirtualUser]:
        i = self.vus_created
        self.vus_created += 1
        email, password = self.accounts.for_user(i * self.options.parts + self.options.part + 1)
        client = Client(transport, self.metrics, base_url=self.base_url, tags=self.tags,
                        timeout_s=self.options.request_timeout_s)
        return client, VirtualUser(i, email, password, self.metrics, dict(self.tags))

    async def _iteration(self, client: Client, vu: VirtualUser, intended: float | None = None) -> None:
        m, tags = self.metrics, self.tags
        duration, count, failed = self._iteration_series
        client.intended_start = intended
        start = intended if intended is not None else time.perf_counter()
        self.active += 1
        try:
            if self.on_start is not None and not vu.data.get("_started"):
                vu.data["_started"] = True
                await self.on_start(client, vu)
            await self.journey(client, vu)
            ok = True
        except asyncio.CancelledError:
            m.counter("iterations_interrupted", tags).add(1)
            raise
        except _JourneyCut:
            # Stopped like a user cancelled at the graceful stop, and the run stops now.
            m.counter("iterations_interrupted", tags).add(1)
            self.blocked_cut += 1
            self._stop.set()
            return
        except Exception as exc:  # noqa: BLE001 - a user script that raises is counted, never fatal
            ok = False
            kind = exc.kind if isinstance(exc, RequestError) else type(exc).__name__
            m.counter("script_errors", {**tags, "error": kind}).add(1)
            # raise_for_status's kind is the status code; named as httpx names that exception
            self.errors.add(exc, time.time(), "HTTPStatusError" if kind.isdigit() else kind)
        finally:
            self.active -= 1
        now = time.time()
        duration.record((time.perf_counter() - start) * 1000, now)
        count.add(1, now)
        failed.record(not ok, now)

    async def _closed_vu(self, transport: Transport, index: int, wanted: Callable[[], int]) -> None:
        client, vu = self._new_vu(transport)
        iterations = 0
        per_vu = self.scenario.executor == "per-vu-iterations"
        while not self._stop.is_set() and index < wanted():
            if per_vu and iterations >= self.scenario.iterations:
                return
            await self._iteration(client, vu)
            iterations += 1
            if self.scenario.think_time_s and not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.scenario.think_time_s)

    async def _run_closed(self, transport: Transport, t0: float) -> list[asyncio.Task[None]]:
        tasks: dict[int, asyncio.Task[None]] = {}
        target = 0
        per_vu = self.scenario.executor == "per-vu-iterations"

        def wanted() -> int:
            return target

        while not self._stop.is_set():
            elapsed = time.perf_counter() - t0
            if not per_vu and elapsed >= self.schedule.duration_s:
                break
            target = self.schedule.vus_at(elapsed)
            for i in range(target):
                if i not in tasks or tasks[i].done():
                    if per_vu and i in tasks:
                        continue
                    tasks[i] = asyncio.create_task(self._closed_vu(transport, i, wanted))
            running = sum(not t.done() for t in tasks.values())
            self.metrics.gauge("vus", self.tags).record(running)
            self._vus_series.record(running)
            if per_vu and all(t.done() for t in tasks.values()) and tasks:
                break
            await asyncio.sleep(_TICK_S)
        target = 0  # ramp everyone down after their current iteration
        return list(tasks.values())

    async def _run_open(self, transport: Transport, t0: float) -> list[asyncio.Task[None]]:
        idle: list[tuple[Client, VirtualUser]] = []
        running: set[asyncio.Task[None]] = set()
        max_vus = self.schedule.max_vus()
        next_at = 0.0  # seconds since t0 of the next scheduled iteration

        async def run(pair: tuple[Client, VirtualUser], intended: float) -> None:
            try:
                await self._iteration(pair[0], pair[1], intended)
            finally:
                idle.append(pair)

        while not self._stop.is_set():
            elapsed = time.perf_counter() - t0
            if elapsed >= self.schedule.duration_s:
                break
            while next_at <= elapsed and next_at < self.schedule.duration_s:
                rate = self.schedule.rate_at(next_at)
                if rate <= 0:
                    next_at += _TICK_S
                    continue
                if idle:
                    pair = idle.pop()
                elif self.vus_created < max_vus:
                    pair = self._new_vu(transport)
                else:
                    pair = None
                if pair is None:
                    self.dropped += 1
                    self.metrics.counter("dropped_iterations", self.tags).add(1)
                else:
                    task = asyncio.create_task(run(pair, t0 + next_at))
                    running.add(task)
                    task.add_done_callback(running.discard)
                next_at += 1.0 / rate
            self.metrics.gauge("vus", self.tags).record(self.active)
            self._vus_series.record(self.active)
            delay = max(0.0, min(_TICK_S, next_at - (time.perf_counter() - t0)))
            await asyncio.sleep(delay)
        return list(running)

    # --- the run ---------------------------------------------------------------------------
    async def _watch_thresholds(self, t0: float) -> None:
        aborting = [t for t in self.thresholds if t.abort_on_fail]
        if not aborting:
            return
        while not self._stop.is_set():
            await asyncio.sleep(_ABORT_EVAL_S)
            elapsed = time.perf_counter() - t0
            due = [t for t in aborting if elapsed >= t.delay_abort_eval_s]
            for outcome in evaluate(due, self.metrics, duration_s=elapsed, newest_span=True):
                if not outcome.passed and outcome.observed is not None:
                    self.stop_reason = f"threshold {outcome.threshold} failed (abortOnFail) at {elapsed:.0f}s"
                    self._stop.set()
                    return

    def _interrupt(self, why: str = "Ctrl-C") -> None:
        self.interrupted = True
        self.stop_reason = f"interrupted ({why})"
        self._stop.set()

    def _cut_short(self) -> None:
        if not self._stop.is_set():
            self.cut_short = True
            self._stop.set()

    def stop_threadsafe(self) -> None:
        """End the run early but normally (the hybrid run's browsers are done)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._cut_short)

    def interrupt_threadsafe(self) -> None:
        """Ctrl-C from another thread: stop as gracefully as the signal handler would."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._interrupt)

    async def run_async(self) -> ScenarioRun:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stop = asyncio.Event()  # bound to this loop
        # Ctrl-C and SIGTERM (a cancelled CI job) stop the scenario gracefully; the handlers they had
        # before (pytest's, perfmon's plugin's) are put back afterwards, not reset to the default.
        previous: dict[signal.Signals, Any] = {}
        for sig, why in ((signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")):
            with contextlib.suppress(ValueError, NotImplementedError, RuntimeError):
                handler = signal.getsignal(sig)
                loop.add_signal_handler(sig, self._interrupt, why)
                previous[sig] = handler
        transport = open_transport(self.scenario.transport, f"perfmon/{__version__}",
                                   max_body=int(self.scenario.max_body_mb * 1024 * 1024))
        self._beat_at = time.monotonic()
        sampler = self._sampler = Sampler(self.metrics, target_pid=self.options.target_pid,
                                          tags={"scenario": self.scenario.name}, stalled=self._stalled)
        t0 = time.perf_counter()
        self._started_at = time.time()
        # The generator's own CPU: this loop's thread only (not the sampler's, nor browsers driven
        # from other threads of the process in hybrid runs).
        cpu0 = time.thread_time()
        try:
            try:
                with sampler, self._alarm(t0):
                    watcher = asyncio.create_task(self._watch_thresholds(t0))
                    beat = asyncio.create_task(self._beat())
                    self.progress.start(t0, lambda: self.active)
                    runner = self._run_open if self.schedule.open else self._run_closed
                    tasks = await runner(transport, t0)
                    await self._graceful_stop([t for t in tasks if not t.done()], t0)
                    self._stop.set()
                    watcher.cancel()
                    beat.cancel()
                    await asyncio.gather(watcher, beat, return_exceptions=True)
                    self.progress.stop()
            finally:
                await transport.close()
                self.metrics.counter("generator_cpu_seconds", self.tags).add(time.thread_time() - cpu0)
        finally:
            for sig, handler in previous.items():
                with contextlib.suppress(ValueError, NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
                    signal.signal(sig, handler)
        self.outcome = self.facts()
        return self.outcome

    def _deadline(self, t0: float) -> float:
        """When the run must end (perf_counter): the schedule's end plus the graceful stop."""
        return t0 + self.schedule.duration_s + self.graceful_stop_s

    async def _graceful_stop(self, pending: list[asyncio.Task[None]], t0: float) -> None:
        """Let busy users finish until the deadline (counted from the schedule's end, not from when a
        blocked loop noticed it), then cancel the rest."""
        if not pending:
            return
        timeout = max(0.0, self._deadline(t0) - time.perf_counter())
        if self.options.progress:
            print(f"perfmon: {self.scenario.name}: waiting up to {timeout:.0f}s (graceful "
                  f"stop) for {len(pending)} busy user(s)", file=sys.stderr, flush=True)
        _, late = await asyncio.wait(pending, timeout=timeout)
        for t in late:
            t.cancel()
        self.cancelled_at_stop = len(late)
        await asyncio.gather(*late, return_exceptions=True)

    @contextlib.contextmanager
    def _alarm(self, t0: float) -> Iterator[None]:
        """From the deadline on, cut any journey that keeps the loop blocked (see the module's docstring)."""
        usable = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
                  and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0))
        if not usable:
            yield
            return

        def cut(signum: int, frame: Any) -> None:
            if self._stalled():
                raise _JourneyCut

        previous = signal.signal(signal.SIGALRM, cut)
        try:
            signal.setitimer(signal.ITIMER_REAL, max(0.01, self._deadline(t0) - time.perf_counter()), _CUT_EVERY_S)
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    async def _beat(self) -> None:
        """The loop's pulse: a timer that cannot fire on time means something blocks the loop."""
        while True:
            self._beat_at = time.monotonic()
            await asyncio.sleep(_BEAT_S)

    def _stalled(self) -> bool:
        """Called from the sampler's thread: has the loop missed its pulse for long enough to matter?"""
        return time.monotonic() - self._beat_at > _STALLED_S

    def facts(self) -> ScenarioRun:
        """How the scenario ran, so far (complete once ``run_async`` has returned)."""
        return ScenarioRun(
            name=self.scenario.name, test_type=self.test_type, executor=self.scenario.executor,
            started_at=self._started_at, finished_at=time.time(), stages=self.scenario.stages,
            vus=self.schedule.max_vus(), vus_created=self.vus_created, dropped_iterations=self.dropped,
            processes=1, stop_reason=self.stop_reason, interrupted=self.interrupted,
            graceful_stop_s=self.graceful_stop_s, cancelled_at_stop=self.cancelled_at_stop + self.blocked_cut,
            cut_short=self.cut_short and not self.stop_reason,
            client_saturation=self._sampler.saturation if self._sampler is not None else None,
            errors=self.errors.failures(),
        )


def run_in_background(engine: Engine) -> threading.Thread:
    """Start ``engine`` on a daemon thread of its own; join it after ``engine.stop_threadsafe()``,
    then read ``engine.outcome``."""
    thread = threading.Thread(target=_run_loop, args=(engine,), name="perfmon-load-bg", daemon=True)
    thread.start()
    return thread


def _run_loop(engine: Engine) -> ScenarioRun:
    if sys.platform != "win32":
        with contextlib.suppress(ImportError):
            import uvloop

            return uvloop.run(engine.run_async())
    return asyncio.run(engine.run_async())


def run_engine(engine: Engine) -> ScenarioRun:
    """Run ``engine`` to completion on a fresh event loop (uvloop when installed).

    Inside a running loop (Playwright's sync API keeps one in pytest workers that also drive
    browsers) or off the main thread, the engine gets a thread of its own; Ctrl-C in the
    caller still stops it gracefully."""
    try:
        asyncio.get_running_loop()
        busy = True
    except RuntimeError:
        busy = False
    if not busy and threading.current_thread() is threading.main_thread():
        return _run_loop(engine)
    outcome: dict[str, ScenarioRun | BaseException] = {}

    def target() -> None:
        try:
            outcome["run"] = _run_loop(engine)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="perfmon-load", daemon=True)
    thread.start()
    while thread.is_alive():
        try:
            thread.join(0.2)
        except KeyboardInterrupt:
            engine.interrupt_threadsafe()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    result = outcome["run"]
    assert isinstance(result, ScenarioRun)
    return result
