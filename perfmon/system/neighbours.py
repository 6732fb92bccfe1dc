"""Who used the CPU while the client waited for it (issue #38): the run's top consumers in its
contended seconds, by role (the target, the browsers, the runners) and, outside perfmon and the
target, by process, so that an unmeasured run can say "the target (next-server, pid 4121) used 1.3
cores" or name the neighbour to stop instead of only "run fewer workers".

Outside processes are found by scanning the machine only in contended passes (a quiet run pays
nothing): each scan's CPU totals are diffed against the previous scan's, and the rate between the two
is charged to the pass. Hand-written because psutil gives per-process totals, not who was busy when.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass

import psutil

__all__ = ["Consumer", "Neighbours"]

_SHOWN = 3  # outside processes named
_MIN_CORES = 0.05  # a process using less than this over the contended seconds is not worth naming


@dataclass(frozen=True)
class Consumer:
    """One consumer of the CPU over a run's contended seconds."""

    role: str  # "target", "browser", "runner" or "outside" (not perfmon's, not the target's)
    name: str  # the process's name (the role's root process for perfmon's roles and the target)
    pid: int | None
    cores: float  # average CPU over the contended seconds, in cores

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Neighbours:
    """CPU used in the contended passes of one sampler, by role and by outside process."""

    def __init__(self) -> None:
        self.seconds = 0.0  # contended seconds seen
        self._roles: dict[str, tuple[float, str, int | None]] = {}  # role -> (CPU seconds, root name, root pid)
        self._outside: dict[tuple[int, str], float] = {}  # (pid, name) -> CPU seconds in contended passes
        self._scan: dict[int, tuple[str, float]] = {}  # pid -> (name, CPU seconds so far) at the last scan
        self._scanned_at: float | None = None

    def contended(self, *, at: float, span_s: float, ours: Collection[int],
                  roles: Mapping[str, tuple[float, str, int | None]]) -> None:
        """Charge a contended pass of ``span_s`` seconds ending at ``at``: ``roles`` maps each role to
        (its CPU seconds in the pass, its root process's name, its pid); ``ours``: every pid of the
        roles, left out of the scan."""
        self.seconds += span_s
        for role, (cpu_s, name, pid) in roles.items():
            self._roles[role] = (self._roles.get(role, (0.0,))[0] + cpu_s, name, pid)
        now: dict[int, tuple[str, float]] = {}
        for p in psutil.process_iter(["name", "cpu_times"]):
            times = p.info["cpu_times"]
            if times is not None:
                now[p.pid] = (str(p.info["name"] or "?"), times.user + times.system)
        last, self._scan = self._scan, now
        since, self._scanned_at = self._scanned_at, at
        if since is None or at <= since:
            return  # the first scan only primes
        scale = span_s / (at - since)  # the rate between two scans, charged to this pass
        for pid, (name, cpu) in now.items():
            if pid in ours or (before := last.get(pid)) is None or before[0] != name:
                continue
            if (used := cpu - before[1]) > 0:
                self._outside[(pid, name)] = self._outside.get((pid, name), 0.0) + used * scale

    def top(self) -> list[Consumer]:
        """The roles and the busiest outside processes, busiest first; empty when no pass was contended."""
        if self.seconds <= 0:
            return []
        found = [Consumer(role, name, pid, cpu / self.seconds) for role, (cpu, name, pid) in self._roles.items()]
        busiest = sorted(self._outside.items(), key=lambda kv: -kv[1])[:_SHOWN]
        found += [Consumer("outside", name, pid, cpu / self.seconds) for (pid, name), cpu in busiest]
        return sorted((c for c in found if c.cores >= _MIN_CORES), key=lambda c: -c.cores)
