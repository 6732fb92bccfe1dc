"""The controller's live status line: what the whole session has done so far, every 10 s.

Tests end on workers and their load engines run there, where output is captured or lost; the
controller adds up what reaches it: tests finished and failed (pytest's own reports, xdist's
included), the load engines' counts (their beacons, ``loadgen/progress.py``), its own sampler's
view of the client CPU, and whether the target still accepts connections. It warns the moment the
target stops answering or the client saturates, once each until it recovers.

Written to a copy of the terminal's stderr taken at configure time, before any test runs: a
thread writing to sys.stderr during a test would land in pytest's capture. Hand-written (not
rich's Live): a redrawn panel and pytest's own progress dots would overwrite each other.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["MEASURED", "LiveStatus", "Tally"]

MEASURED = "perfmon_measured"  # a report's user property: the test measured something (the others are not counted)

EVERY_S = 10.0
_FRESH_S = 5.0  # a beacon older than this belongs to an engine that has stopped
_CONNECT_S = 2.0


class Tally:
    """Tests finished so far, as the controller's reports say (xdist's workers' reach it too): a pytest
    plugin of the controller's."""

    def __init__(self) -> None:
        self.done = 0
        self.failed = 0

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" and (MEASURED, True) in list(report.user_properties):
            self.done += 1
            self.failed += bool(report.failed)


class LiveStatus:
    """A daemon thread writing one status line every ``every_s`` to ``fd``."""

    def __init__(self, fd: int, *, beacons: Path, tally: Tally, base_url: Callable[[], str | None],
                 saturation: Callable[[], float | None], every_s: float = EVERY_S) -> None:
        self.fd = fd
        self.beacons = beacons
        self.tally = tally
        self.base_url = base_url
        self.saturation = saturation
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic()
        self._last: tuple[float, float, float] | None = None  # (when, requests, unanswered) at the previous line
        self._silent = False  # every request since the previous line got no HTTP answer
        self._warned: set[str] = set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="perfmon-live", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=_CONNECT_S + 1)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            with contextlib.suppress(Exception):  # a status line must never cost the run
                for line in self.lines():
                    os.write(self.fd, (line + "\n").encode())

    def lines(self) -> list[str]:
        """The status line, and a warning line for each problem that has just appeared."""
        now = time.monotonic()
        parts = [f"perfmon: {_clock(now - self._t0)}"]
        if done := self.tally.done:
            parts.append(f"tests {done} done" + (f", {self.tally.failed} failed" if self.tally.failed else ""))
        load = self._load(now)
        if load:
            parts.append(load)
        if len(parts) == 1:
            return []  # nothing measured yet (or a session of ordinary tests): nothing to say
        share = self.saturation()
        if share is not None:  # samples measured while the client's CPU is saturated are quarantined at the end
            parts.append(f"clean ~{1 - share:.0%} (client CPU saturated {share:.0%} so far)")
        return ["  ".join(parts), *self._warnings(share)]

    def _load(self, now: float) -> str:
        found = _read(self.beacons)
        if not found:
            return ""
        requests = sum(float(b.get("requests") or 0) for b in found)
        unanswered = sum(float(b.get("unanswered") or 0) for b in found)
        failed = sum(float(b.get("failed") or 0) for b in found)
        iterations_failed = sum(float(b.get("iterations_failed") or 0) for b in found)
        live = [b for b in found if time.time() - float(b.get("at") or 0) < _FRESH_S and b.get("vus")]
        # The first line has no line before it: the rate since the engines started (their elapsed time).
        started = max((float(b.get("elapsed") or 0) for b in found), default=0.0)
        when, before, silent_before = self._last or (now - started, 0.0, 0.0)
        rate = (requests - before) / (now - when) if now > when else 0.0
        self._silent = requests > before and unanswered - silent_before >= requests - before
        self._last = (now, requests, unanswered)
        said = f"load: {sum(int(b.get('vus') or 0) for b in live)} users  {rate:.0f} req/s"
        p95s = [float(b["p95"]) for b in live if b.get("p95") is not None]
        if p95s:
            said += f"  p95 {max(p95s):.0f} ms"
        said += f"  errors {failed / requests:.1%}" if requests else ""
        if iterations_failed:
            said += f"  iterations failed {iterations_failed:.0f}"
        if live:
            left = max(float(b.get("expected") or 0) - float(b.get("elapsed") or 0) for b in live)
            said += f"  {max(0.0, left):.0f}s left"
        return said

    def _warnings(self, share: float | None) -> list[str]:
        out = []
        problems = {}
        if (gone := _unreachable(self.base_url())) is not None:
            problems["target"] = f"perfmon: WARNING the target stopped answering ({gone}); the run will say so"
        elif self._silent:
            problems["target"] = ("perfmon: WARNING the target accepts connections but answered none of the requests "
                                  "of the last seconds")
        if share is not None and share > 0.2:
            problems["client"] = (f"perfmon: WARNING the client CPU is saturated ({share:.0%} of the run so far): "
                                  "samples measured now are quarantined; fewer workers (-n) or a bigger runner")
        for key, line in problems.items():
            if key not in self._warned:
                out.append(line)
        self._warned = set(problems)  # said again only after it recovered
        return out


def _read(folder: Path) -> list[dict[str, Any]]:
    found = []
    with contextlib.suppress(OSError):
        for path in folder.glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                found.append(json.loads(path.read_text()))
    return found


def _unreachable(base_url: str | None) -> str | None:
    """Why the target refuses a TCP connection now (None: it accepts one, or there is none yet)."""
    if not base_url:
        return None
    parts = urlsplit(base_url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    host = parts.hostname or ""
    try:
        socket.create_connection((host, port), timeout=_CONNECT_S).close()
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or type(exc).__name__}"
    return None


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"
