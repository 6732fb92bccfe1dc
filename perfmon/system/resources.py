"""psutil sampling of the processes a run involves, by role.

Roles: ``runner`` (this process and its non-browser children), ``browser`` (every
Chromium process under the runner, or registered by pid), ``target`` (the local app under
test and its children), plus ``system`` (whole-machine CPU). Samples go into Trends
``process_cpu_percent{role}`` (percent of one core) and ``process_rss_mb{role}``, and the Counter
``process_cpu_seconds{role}`` (CPU time used), so they merge and window like every other metric.

The sampler also judges the client. ``saturation`` is the share of samples in which the client was
the bottleneck: one of its own processes used 90 % of a core (an event loop is single-threaded;
Locust warns at the same mark), or, while browsers ran, the client was held up by contention for the
CPU, measured where the kernel keeps scheduler statistics (``contention.contended``: how long the
browsers' and runners' threads waited on the run queue, and what processes outside perfmon and the
target used meanwhile). Where it keeps none, the rule before it stands: the whole machine 90 % busy
while browsers ran (``contention()["wait_measured"]`` says which, and the run records it). A busy
machine without browsers is not counted: that is the local target itself at work, which is what a
stress test measures.

Each pass records ``process_cpu_wait_share{role}``, the share of the time a role's threads wanted a
CPU that they spent waiting for one, and ``cpu_pressure``, the machine's PSI. In saturated passes the
CPU used by each role and by the busiest processes outside perfmon is kept (``neighbours``), so an
unmeasured run names what took the CPU.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psutil

from ..core.metrics import Metrics
from .contention import CpuPressure, RunQueueWait, Waited, contended, schedstat_available
from .cputime import CpuAccount
from .neighbours import Neighbours

__all__ = ["Pass", "Sampler"]

SATURATED_SYSTEM_PCT = 90.0  # whole-machine CPU, where the run-queue wait cannot be read
SATURATED_PROCESS_PCT = 90.0  # one process's share of one core (an event loop is single-threaded)


def _root(procs: list[psutil.Process]) -> tuple[str, int | None]:
    """A role's first process (its root: the target's server, the runner): its name and pid."""
    if not procs:
        return "?", None
    try:
        return procs[0].name(), procs[0].pid
    except psutil.Error:
        return "?", procs[0].pid


def _is_browser(p: psutil.Process) -> bool:
    try:
        name = p.name().lower()
    except psutil.Error:
        return False
    return "chrom" in name or "headless_shell" in name


@dataclass(frozen=True)
class Pass:
    """What one pass saw and decided (for the bench and for tests; the run keeps its metrics)."""

    client: Waited | None  # the browsers' and runners' threads; None where the kernel keeps no statistics
    neighbour_cores: float  # CPU used by processes outside perfmon and the target
    system_pct: float
    busiest_runner_pct: float
    saturated: bool  # before a stalled loop is counted


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
        self._account = CpuAccount()  # each role's CPU between passes, short-lived processes included
        # The seconds the client was saturated, as (start, end) epoch spans, adjacent ones joined: the
        # pipeline quarantines the browser samples measured in them (pipeline/quarantine.py).
        self.busy: list[tuple[float, float]] = []
        self.cpu_s = 0.0  # CPU time this sampler's own thread used
        self._last_at = time.time()
        self._waits = {role: RunQueueWait() for role in ("runner", "browser", "target")} \
            if schedstat_available() else {}
        self._pressure = CpuPressure()
        self.neighbours = Neighbours()
        self._cores = psutil.cpu_count() or 1
        self._times: Any = None  # psutil.cpu_times() at the previous pass
        self.last_pass: Pass | None = None

    def contention(self) -> dict[str, object]:
        """For the run's metadata: whether the run-queue wait was the criterion (else the CPU percent), and
        who used the CPU in the seconds the browsers were held up."""
        return {"wait_measured": bool(self._waits),
                "saturated_s": round(self.neighbours.seconds, 1),
                "consumers": [c.to_dict() for c in self.neighbours.top()]}

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
        self._machine()  # prime: the first call measures nothing
        self._last_at = time.time()
        if self.watch_self:  # prime this process too, so the first sample already counts its CPU
            self._account.sample({"runner": self._tree(psutil.Process().pid)})
        self._thread = threading.Thread(target=self._loop, name="perfmon-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _proc(self, pid: int) -> psutil.Process | None:
        # Keep Process objects: psutil checks a kept one against pid reuse, and caches its create time.
        p = self._procs.get(pid)
        if p is None:
            try:
                p = psutil.Process(pid)
            except psutil.Error:
                return None
            self._procs[pid] = p
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

    def _record_waits(self, roles: Mapping[str, list[psutil.Process]], now: float) -> Waited | None:
        """How long each role's threads waited for a CPU since the previous pass, and the machine's PSI;
        returns the client's (browsers' and runners') wait, None where the kernel keeps no statistics."""
        client = None
        for role, waits in self._waits.items():
            waited = waits.sample(p.pid for p in roles.get(role, ()))
            if (share := waited.share) is not None:
                self.metrics.trend("process_cpu_wait_share", {**self.tags, "role": role}).record(share, now)
            if role != "target":
                client = waited if client is None else client + waited
        if (pressure := self._pressure.sample(time.monotonic())) is not None:
            self.metrics.trend("cpu_pressure", self.tags).record(pressure, now)
        return client

    def _machine(self) -> tuple[float, float]:
        """Since the previous call: the machine's busy percent (psutil's: all but idle and iowait), and the
        cores processes worked (user, nice, system, interrupts; not the hypervisor's steal, which no
        process here used and no neighbour here can be named for)."""
        now = psutil.cpu_times()
        last, self._times = self._times, now
        if last is None:
            return 0.0, 0.0
        delta = {f: max(0.0, getattr(now, f) - getattr(last, f)) for f in now._fields}
        total = sum(v for f, v in delta.items() if f not in ("guest", "guest_nice"))  # guest is inside user
        if total <= 0:
            return 0.0, 0.0
        idle = delta.get("idle", 0.0) + delta.get("iowait", 0.0)
        worked = sum(delta.get(f, 0.0) for f in ("user", "nice", "system", "irq", "softirq"))
        return 100 * (total - idle) / total, worked / total * self._cores

    def _roles(self, me: int) -> dict[str, list[psutil.Process]]:
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
        return roles

    def _record_roles(self, roles: Mapping[str, list[psutil.Process]], now: float,
                      span: float) -> tuple[dict[str, float], float]:
        """Each role's CPU, memory and process count; returns the roles' CPU seconds in the pass and the
        busiest runner process's share of a core (percent)."""
        used = self._account.sample(roles)
        cpus: dict[str, float] = {}
        for role, procs in roles.items():
            if not procs:
                continue
            rss = 0.0
            for p in procs:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    continue
            cpus[role] = cpu_s = used[role].cpu_s
            tags = {**self.tags, "role": role}
            self.metrics.trend("process_cpu_percent", tags).record(cpu_s / span * 100, now)
            # What the role cost since the previous sample, summed over the run (per journey: analysis/cost.py).
            self.metrics.counter("process_cpu_seconds", tags).add(cpu_s, now)
            self.metrics.trend("process_rss_mb", tags).record(rss / 1e6, now)
            self.metrics.gauge("processes", tags).record(len(procs), now)
        return cpus, used["runner"].busiest_s / span * 100

    def _held_up(self, client: Waited | None, neighbour_cores: float, system: float) -> bool:
        """Whether browsers' and runners' work was held up by contention for the CPU in this pass."""
        if client is None:  # no scheduler statistics: the machine's CPU percent is all there is
            return system >= SATURATED_SYSTEM_PCT
        return contended(client, neighbour_cores=neighbour_cores, cores=self._cores)

    def _charge(self, roles: Mapping[str, list[psutil.Process]], used: Mapping[str, float], now: float,
                span: float) -> None:
        """Keep who used the CPU (``used``: CPU seconds by role) in a pass the browsers were held up."""
        named = {role: (cpu_s, *_root(roles[role])) for role, cpu_s in used.items()}
        ours = {p.pid for procs in roles.values() for p in procs}
        try:
            self.neighbours.contended(at=now, span_s=span, ours=ours, roles=named)
        except psutil.Error:  # the scan only names what took the CPU: never worth a lost sample
            pass

    def sample_once(self, me: int) -> None:
        roles = self._roles(me)
        now = time.time()
        system, working = self._machine()
        self.metrics.trend("process_cpu_percent", {**self.tags, "role": "system"}).record(system, now)
        span = max(1e-3, now - self._last_at)
        used, busiest = self._record_roles(roles, now, span)
        client = self._record_waits(roles, now)
        neighbour = max(0.0, working - sum(used.values()) / span)
        held_up = bool(roles["browser"]) and self._held_up(client, neighbour, system)
        saturated = busiest >= SATURATED_PROCESS_PCT or held_up
        if held_up:  # not for a busy event loop: a machine scan in its own process would slow its sampling
            self._charge(roles, used, now, span)
        self.last_pass = Pass(client, neighbour, system, busiest, saturated)
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
        # Forget processes that have gone.
        alive = {p.pid for procs in roles.values() for p in procs}
        for pid in [pid for pid in self._procs if pid not in alive]:
            del self._procs[pid]
