"""CPU time of each role's processes between two passes, short-lived processes included.

psutil's ``cpu_percent`` counts a process from the first time it is seen until the last, so a
renderer that starts and exits between two passes costs nothing, and one that exits a moment before
a pass loses its last second: the journey cost said "browser 0.00 CPU-s" for sub-second journeys,
and the CPU that vanished with them looked like a neighbour's to the contention criterion (issue #38).

The kernel keeps what it lost: when a process is reaped its whole CPU time is added to its parent's
``children_user``/``children_system``. So each process is counted by its own time plus its reaped
children's, and when a process is gone its last-read total is taken back from the role of the parent
that reaped it, which now carries all of it. A process first seen in a pass counts all its time when
it started after the previous pass, and from the next pass when it was already running.
Hand-written because psutil exposes the counters but keeps no accounting across processes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import psutil

_TICK_S = 0.01  # start times are kept in clock ticks (USER_HZ, 100 a second)

__all__ = ["CpuAccount", "RoleCpu"]


@dataclass(frozen=True)
class RoleCpu:
    """One role's CPU since the previous pass, in seconds."""

    cpu_s: float
    busiest_s: float  # the busiest single process's own time (an event loop is single-threaded)


def _now() -> float:
    """Seconds on the clock processes' start times are kept in: since boot where the kernel says
    (psutil's epoch create_time rests on /proc/stat's whole-second boot time, up to 1 s off)."""
    if hasattr(time, "CLOCK_BOOTTIME"):
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.time()


def _started(p: psutil.Process, boot: float) -> float:
    """When ``p`` started, on ``_now``'s clock (10-ms ticks); ``boot``: psutil's boot time, or 0 where
    ``_now`` is the epoch."""
    return float(p.create_time()) - boot


class CpuAccount:
    """Pass after pass, the CPU seconds of each role's processes since the previous pass; the first
    pass only primes."""

    def __init__(self) -> None:
        self._last: dict[int, tuple[float, float, int]] = {}  # pid -> (own s, own + reaped children s, ppid)
        self._last_at: float | None = None  # the previous pass, on _now's clock
        self._boot = psutil.boot_time() if hasattr(time, "CLOCK_BOOTTIME") else 0.0

    def sample(self, roles: Mapping[str, list[psutil.Process]]) -> dict[str, RoleCpu]:
        """Each role's CPU since the previous pass."""
        since, self._last_at = self._last_at, _now()
        now: dict[int, tuple[float, float, int]] = {}
        role_of: dict[int, str] = {}
        found: dict[str, list[float]] = {}
        for role, procs in roles.items():
            used = found.setdefault(role, [0.0, 0.0])
            for p in procs:
                try:
                    with p.oneshot():  # one read of /proc/<pid>/stat for all three
                        times, ppid = p.cpu_times(), p.ppid()
                        before = self._last.get(p.pid)
                        # First seen: its whole life if it began since the previous pass (a tick of slack).
                        if before is None and since is not None and _started(p, self._boot) >= since - _TICK_S:
                            before = (0.0, 0.0, ppid)
                except psutil.Error:
                    continue
                own = times.user + times.system
                whole = own + times.children_user + times.children_system
                now[p.pid], role_of[p.pid] = (own, whole, ppid), role
                if before is not None:
                    used[0] += max(0.0, whole - before[1])
                    used[1] = max(used[1], own - before[0])
        for pid, (_, whole, ppid) in self._last.items():
            if pid not in now and ppid in role_of:  # reaped: its parent's children time now holds all of it
                found[role_of[ppid]][0] -= whole
        self._last = now
        return {role: RoleCpu(max(0.0, cpu), max(0.0, busiest)) for role, (cpu, busiest) in found.items()}
