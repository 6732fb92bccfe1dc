"""How long the client's threads waited for a CPU: Linux's run-queue wait, per thread.

``/proc/<pid>/task/<tid>/schedstat`` holds three numbers for a thread: nanoseconds on a CPU,
nanoseconds runnable but waiting on a run queue, and time slices. The wait is contention measured
directly: a renderer that wanted 100 ms of CPU in a second and got it after 60 ms of waiting was
delayed by the machine, whatever the CPU percentages say (issue #38). ``/proc/pressure/cpu`` (PSI)
gives the same for the whole machine: the share of time at least one task waited.

Which seconds count as contended (``contended``) was decided from measurements
(bench/contention_criterion.py, figures in bench/README.md). On two cores a journey's own processes
(renderer, GPU and browser processes, runner, driver) make each other wait with no neighbour at all:
quiet seconds' wait share has a median of 0.62-0.69, burning seconds' 0.83-0.85. So a second is
contended when the client waited for most of the CPU it wanted (``SELF_WAIT_SHARE``: a neighbour or
more journeys than the machine holds), or when it waited for much of it while processes outside
perfmon and the target used a quarter of the machine (``NEIGHBOUR_*``): the neighbour is the cause,
measured in the same second, and it is named.

Hand-written because psutil reads neither file (its ``num_ctx_switches`` counts switches, not time
spent waiting). Reading a thread's schedstat costs a few microseconds; a thread first seen in a pass
is only primed, as the sampler's CPU figures are, since its totals cover its whole life.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "NEIGHBOUR_MACHINE_SHARE",
    "NEIGHBOUR_WAIT_SHARE",
    "SELF_WAIT_SHARE",
    "CpuPressure",
    "RunQueueWait",
    "Waited",
    "contended",
    "schedstat_available",
]

_PROC = Path("/proc")


@dataclass(frozen=True)
class Waited:
    """What a set of threads did since the previous pass: seconds on a CPU and seconds waiting for one."""

    run_s: float
    wait_s: float
    worst_s: float = 0.0  # the longest any one thread waited: a renderer's main thread held up

    def __add__(self, other: Waited) -> Waited:
        return Waited(self.run_s + other.run_s, self.wait_s + other.wait_s, max(self.worst_s, other.worst_s))

    @property
    def share(self) -> float | None:
        """Of the time the threads wanted a CPU, the share they spent waiting; None when they wanted none."""
        wanted = self.run_s + self.wait_s
        return self.wait_s / wanted if wanted > 0 else None


# The client waited for this share of the CPU time it wanted, or more: contended, whoever caused it
# (quiet seconds reached 0.72 at -n 2 on two cores; burning ones are at 0.83 and above).
SELF_WAIT_SHARE = 0.8
# Or it waited for this share while processes outside perfmon and the target used NEIGHBOUR_MACHINE_SHARE
# of the machine's cores in the same second: a neighbour took the CPU the client wanted.
NEIGHBOUR_WAIT_SHARE = 0.5
NEIGHBOUR_MACHINE_SHARE = 0.25


def contended(client: Waited, *, neighbour_cores: float, cores: int) -> bool:
    """Whether the client's processes (``client``: what their threads did in one pass) were held up by
    contention for the CPU in that pass; ``neighbour_cores``: what processes outside perfmon and the
    target used in the same pass, in cores."""
    share = client.share
    if share is None:  # the client wanted no CPU: nothing it measured was delayed
        return False
    return share >= SELF_WAIT_SHARE or (
        share >= NEIGHBOUR_WAIT_SHARE and neighbour_cores >= NEIGHBOUR_MACHINE_SHARE * max(1, cores))


def schedstat_available() -> bool:
    """Whether this kernel keeps per-thread scheduler statistics (CONFIG_SCHEDSTATS, Linux only)."""
    return (_PROC / "self" / "schedstat").is_file()


def _thread_stats(pid: int) -> dict[int, tuple[int, int]]:
    """Each thread of ``pid``: its cumulative (run, wait) nanoseconds. Empty when the process is gone.
    Plain ``os`` calls on string paths: a pass reads every browser thread's file each second."""
    found = {}
    task = f"/proc/{pid}/task/"
    try:
        tids = os.listdir(task)
    except OSError:
        return {}
    for tid in tids:
        try:
            fd = os.open(f"{task}{tid}/schedstat", os.O_RDONLY)
        except OSError:
            continue  # the thread ended between the listing and the read
        try:
            run, wait, _ = os.read(fd, 128).split()
        except (OSError, ValueError):
            continue
        finally:
            os.close(fd)
        found[int(tid)] = (int(run), int(wait))
    return found


class RunQueueWait:
    """The run-queue wait of one role's processes (say the browsers), pass after pass."""

    def __init__(self) -> None:
        self._last: dict[int, tuple[int, int]] = {}  # tid -> cumulative (run, wait) ns at the previous pass

    def sample(self, pids: Iterable[int]) -> Waited:
        """Seconds on a CPU and waiting for one, of these processes' threads, since the previous pass."""
        now: dict[int, tuple[int, int]] = {}
        for pid in set(pids):
            now.update(_thread_stats(pid))
        run = wait = worst = 0
        for tid, (r, w) in now.items():
            if (before := self._last.get(tid)) is not None:  # first seen: primed, counted from the next pass
                run += max(0, r - before[0])
                waited = max(0, w - before[1])
                wait += waited
                worst = max(worst, waited)
        self._last = now
        return Waited(run_s=run / 1e9, wait_s=wait / 1e9, worst_s=worst / 1e9)


class CpuPressure:
    """The whole machine's CPU pressure (PSI "some"): the share of time at least one task waited."""

    def __init__(self, path: Path = _PROC / "pressure" / "cpu") -> None:
        self.path = path
        self._last: tuple[float, int] | None = None  # (monotonic seconds, total microseconds stalled)

    def sample(self, at: float) -> float | None:
        """The share since the previous pass (``at``: a monotonic clock); None on the first pass or
        where the kernel has no PSI."""
        try:
            line = self.path.read_text().splitlines()[0]
            total = int(line.rsplit("total=", 1)[1])
        except (OSError, IndexError, ValueError):
            return None
        last, self._last = self._last, (at, total)
        if last is None or at <= last[0]:
            return None
        return min(1.0, (total - last[1]) / 1e6 / (at - last[0]))
