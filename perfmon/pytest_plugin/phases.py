"""Browser journeys and API scenarios of one xdist session take turns (issue #38).

On a small runner a journey measured while a load scenario and its target share the CPU measures the
machine: `perfmon run` spread the browser tests and the API scenarios over the same two workers, and
39 of 158 browser samples were clean. So in an xdist session a test of one kind waits, before its
setup, until no test of the other kind runs on this machine; tests of the same kind run side by side
as before (journeys on every worker; a scenario sharded over workers). The suites are collected
browser first, so a session runs its journeys, then its scenarios. A hybrid run (``--perf-load``)
asks for the overlap and has none of this.

Each running test leaves a marker file ``<kind>-<pid>`` in the session's ``phases`` folder; looking
for the other kind's markers and leaving one's own happen under an exclusive ``flock``, so two
workers cannot both start. A marker whose process is gone (a crashed worker) does not hold anyone.
Workers on other hosts cannot see the folder and do not wait: their CPU is not this machine's.
Hand-written: xdist schedules by item, not by kind, and its scheduler cannot hold items back without
its workers idling on their last one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .stash import PHASES, PROCESS

__all__ = ["JOURNEY", "SCENARIO", "Phases", "kind_of", "turn"]

JOURNEY = "journey"
SCENARIO = "scenario"
_POLL_S = 0.1


def kind_of(item: pytest.Item) -> str | None:
    """A journey (``perf``, or pytest-playwright's ``page`` measured with --perf), an API scenario
    (``perf_api``), or neither."""
    names = getattr(item, "fixturenames", ())
    if "perf_api" in names:
        return SCENARIO
    if "perf" in names or "page" in names:
        return JOURNEY
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        pass
    return True


class Phases:
    """This process's turn-taking with the other local workers of its session."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.waited_s = 0.0  # how long this process's tests waited for the other kind, over the session

    def _try_enter(self, kind: str) -> Path | None:
        """Leave this process's marker when no test of the other kind runs; None when one does."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for marker in self.folder.iterdir():
                who, _, pid = marker.name.partition("-")
                if who in (JOURNEY, SCENARIO) and who != kind and pid.isdigit():
                    if _alive(int(pid)):
                        return None
                    marker.unlink(missing_ok=True)  # a crashed worker's: it holds nobody
            mine = self.folder / f"{kind}-{os.getpid()}"
            mine.touch()
            return mine

    @contextlib.contextmanager
    def turn(self, kind: str | None, stopping: Callable[[], bool]) -> Iterator[None]:
        """Hold this process's turn for a test of ``kind`` (None: no turn needed); waits while the
        other kind runs, unless the session is stopping (the test is then skipped anyway)."""
        if kind is None:
            yield
            return
        began = time.monotonic()
        mine = self._try_enter(kind)
        while mine is None and not stopping():
            time.sleep(_POLL_S)
            mine = self._try_enter(kind)
        self.waited_s += time.monotonic() - began
        try:
            yield
        finally:
            if mine is not None:
                mine.unlink(missing_ok=True)


def turn(item: pytest.Item) -> contextlib.AbstractContextManager[None]:
    """A local xdist worker's journeys and API scenarios take turns with the other workers', unless the
    run is a hybrid one (--perf-load), which asks for the overlap."""
    config = item.config
    if not hasattr(config, "workerinput") or config.stash[PROCESS].remote or config.getoption("perf_load", None):
        return contextlib.nullcontext()
    if (phases := config.stash.get(PHASES, None)) is None:
        phases = config.stash[PHASES] = Phases(config.stash[PROCESS].files.root / "phases")
    return phases.turn(kind_of(item), stopping=lambda: bool(item.session.shouldstop))
