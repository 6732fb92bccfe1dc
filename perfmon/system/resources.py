"""psutil sampling of the processes a run involves, by role.

Roles: ``runner`` (this process and its non-browser children), ``browser`` (every
Chromium process under the runner, or registered by pid), ``target`` (the local app under
test and its children), plus ``system`` (whole-machine CPU). Samples go into Trends
``process_cpu_percent{role}`` (percent of one core) and ``process_rss_mb{role}``, and the Counter
``process_cpu_seconds{role}`` (CPU time used), so they merge and window like every other metric.

The sampler also judges the client. ``saturation`` is the share of samples in which the client was
the bottleneck: one of its own processes used 90 % of a core (an event loop is single-threaded;
Locust warns at the same mark), or, while browsers ran, the whole machine was 90 % busy (Chromium
competes with everything for the cores). A busy machine without browsers is not counted: that is the
local target itself at work, which is what a stress test measures.

Where the kernel keeps scheduler statistics it also records contention as measured, not guessed
(system/contention.py): ``process_cpu_wait_share{role}``, the share of the time a role's threads
wanted a CPU that they spent waiting for one, and ``cpu_pressure``, the machine's PSI. They are
recorded alongside the rule above, which the verdict still uses (issue #38 moves it to the wait).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping

import psutil

from ..core.metrics import Metrics
from .contention import CpuPressure, RunQueueWait, schedstat_available

__all__ = ["Sampler"]

SATURATED_SYSTEM_PCT = 90.0  # whole-machine CPU
SATURATED_PROCESS_PCT = 90.0  # one process's share of one core (an event loop is single-threaded)


def _is_browser(p: psutil.Process) -> bool:
    try:
        name = p.name().lower()
    except psutil.Error:
        return False
    return "chrom" in name or "headless_shell" in name


class Sampler:
    """A daemon thread sampling every ``interval_s``; ``with Sampler(...)`` starts and stops it."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        interval_s: float = 1.0,
        target_pid: int | Callable[[], int | None] | None = None,
        extra_browser_pids: Callable[[], Iterable[int]] | None = None,
        watch_self: bool = True,
        tags: Mapping[str, str] | None = None,
        stalled: Callable[[], bool] | None = None,
    ) -> None:
        self.metrics = metrics
        # The load engine's event loop not running its timers (a blocking call in a journey): the client
        # is as unable to measure as with no CPU left, so such a sample counts as saturated too.
        self.stalled = stalled
        # Added to every series: a scenario's own sampler tags its samples with the scenario, so the
        # scenario's thresholds on process_* (scoped to {scenario:NAME}) find them.
        self.tags = dict(tags or {})
        self.interval_s = interval_s
        self.target_pid = target_pid
        self.extra_browser_pids = extra_browser_pids
        self.watch_self = watch_self
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._procs: dict[int, psutil.Process] = {}
        # Processes first seen in this pass: their cpu_percent covers microseconds since priming, which
        # psutil turns into nonsense (a new child at 900 % of a core); their CPU counts from the next pass.
        self._fresh: set[int] = set()
        # The seconds the client was saturated, as (start, end) epoch spans, adjacent ones joined: the
        # pipeline quarantines the browser samples measured in them (pipeline/quarantine.py).
        self.busy: list[tuple[float, float]] = []
        self.cpu_s = 0.0  # CPU time this sampler's own thread used
        self._last_at = time.time()
        self._waits = {role: RunQueueWait() for role in ("runner", "browser", "target")} \
            if schedstat_available() else {}
        self._pressure = CpuPressure()

    @property
    def saturation(self) -> float | None:
        """The share of this sampler's samples in which the client was saturated."""
        return self.metrics.rate("client_saturated", self.tags).rate

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        psutil.cpu_percent(None)  # prime: the first call measures nothing
        self._last_at = time.time()
        if self.watch_self:  # prime this process too, so the first sample already counts its CPU
            self._tree(psutil.Process().pid)
            self._fresh.clear()
        self._thread = threading.Thread(target=self._loop, name="perfmon-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _proc(self, pid: int) -> psutil.Process | None:
        # Keep Process objects: cpu_percent() measures since the previous call on the same object.
        p = self._procs.get(pid)
        if p is None:
            try:
                p = psutil.Process(pid)
                p.cpu_percent(None)
            except psutil.Error:
                return None
            self._procs[pid] = p
            self._fresh.add(pid)
        return p

    def _tree(self, pid: int) -> list[psutil.Process]:
        root = self._proc(pid)
        if root is None:
            return []
        try:
            kids = root.children(recursive=True)
        except psutil.Error:
            kids = []
        return [root, *(q for k in kids if (q := self._proc(k.pid)) is not None)]

    def _loop(self) -> None:
        me = psutil.Process().pid
        while not self._stop.wait(self.interval_s):
            began = time.thread_time()
            self.sample_once(me)
            self.cpu_s += time.thread_time() - began  # what sampling itself costs (bench/browser_honesty.py)

    def _record_waits(self, roles: Mapping[str, list[psutil.Process]], now: float) -> None:
        """How long each role's threads waited for a CPU since the previous pass, and the machine's PSI."""
        for role, waits in self._waits.items():
            waited = waits.sample(p.pid for p in roles.get(role, ()))
            if (share := waited.share) is not None:
                self.metrics.trend("process_cpu_wait_share", {**self.tags, "role": role}).record(share, now)
        if (pressure := self._pressure.sample(time.monotonic())) is not None:
            self.metrics.trend("cpu_pressure", self.tags).record(pressure, now)

    def sample_once(self, me: int) -> None:
        roles: dict[str, list[psutil.Process]] = {"runner": [], "browser": [], "target": []}
        target = set()
        target_pid = self.target_pid() if callable(self.target_pid) else self.target_pid
        if target_pid is not None:
            tree = self._tree(target_pid)
            roles["target"] = tree
            target = {p.pid for p in tree}
        for p in self._tree(me) if self.watch_self else []:
            if p.pid in target:
                continue
            roles["browser" if _is_browser(p) else "runner"].append(p)
        if self.extra_browser_pids is not None:
            seen = {p.pid for p in roles["browser"]}
            for pid in self.extra_browser_pids():
                roles["browser"].extend(q for q in self._tree(pid) if q.pid not in seen)
        now = time.time()
        system = psutil.cpu_percent(None)
        self.metrics.trend("process_cpu_percent", {**self.tags, "role": "system"}).record(system, now)
        busiest = 0.0
        for role, procs in roles.items():
            if not procs:
                continue
            cpu = rss = 0.0
            for p in procs:
                try:
                    c = 0.0 if p.pid in self._fresh else p.cpu_percent(None)
                    rss += p.memory_info().rss
                except psutil.Error:
                    continue
                cpu += c
                if role == "runner":
                    busiest = max(busiest, c)
            tags = {**self.tags, "role": role}
            self.metrics.trend("process_cpu_percent", tags).record(cpu, now)
            # What the role cost since the previous sample, summed over the run (per journey: analysis/cost.py).
            self.metrics.counter("process_cpu_seconds", tags).add(cpu / 100 * (now - self._last_at), now)
            self.metrics.trend("process_rss_mb", tags).record(rss / 1e6, now)
            self.metrics.gauge("processes", tags).record(len(procs), now)
        self._record_waits(roles, now)
        saturated = busiest >= SATURATED_PROCESS_PCT or bool(roles["browser"] and system >= SATURATED_SYSTEM_PCT)
        if self.stalled is not None:
            # Blocked without the CPU to show for it (time.sleep, a synchronous client): a loop stalled by
            # its own computing is the saturated CPU above, and is named as such.
            blocked = not saturated and self.stalled()
            self.metrics.rate("generator_loop_blocked", self.tags).record(blocked, now)
            saturated = saturated or blocked
        # Windowed like every metric, so the verdict can count only the time the run was measuring.
        self.metrics.rate("client_saturated", self.tags).record(saturated, now)
        if saturated:  # this sample's CPU figures cover the time since the previous one
            if self.busy and self.busy[-1][1] >= self._last_at:
                self.busy[-1] = (self.busy[-1][0], now)
            else:
                self.busy.append((self._last_at, now))
        self._last_at = now
        self._fresh.clear()
        # Forget processes that have gone.
        alive = {p.pid for procs in roles.values() for p in procs}
        for pid in [pid for pid in self._procs if pid not in alive]:
            del self._procs[pid]
