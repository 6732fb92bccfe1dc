"""One pytest session's perfmon side, kept out of the plugin so it can be used (and tested) without it.

- :class:`SessionFiles`: the session directory every xdist worker shares: per-process record logs,
  shared services (the target app, browser servers), and the first user error any process met.
- :func:`session_target` and :func:`session_browser`: the target and a browser for this process,
  started once for all workers.
- :class:`Controller`: what only the controller (or the only process) does: sample the machine,
  drive a hybrid run's background load, and at the end hand every record to the pipeline once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Config
from .load.background import BackgroundLoad
from .measurements import read_records
from .metrics import Metrics
from .pipeline import Concluded, Outputs, RunFacts, conclude
from .sampling import Sampler
from .shared import shared_service, stop_shared_services
from .target import check_reachable, start_local_target

__all__ = [
    "WORKERS_PER_BROWSER_SERVER",
    "Controller",
    "SessionFiles",
    "Target",
    "artifacts_dir",
    "session_browser",
    "session_target",
]

WORKERS_PER_BROWSER_SERVER = 16  # bench/README.md: steadier peak memory than a browser per worker


@dataclass(frozen=True)
class SessionFiles:
    root: Path

    @property
    def records(self) -> Path:
        return self.root / "records"

    @property
    def services(self) -> Path:
        return self.root / "services"

    def note_user_error(self, message: str) -> None:
        """Keep the first user error any process met; the controller reports it once at the end."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.root / "user-error.txt", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(message)

    def user_error(self) -> str | None:
        path = self.root / "user-error.txt"
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def started_target(self) -> Mapping[str, Any]:
        """The bundled target's record, once some process has started it."""
        try:
            data: dict[str, Any] = json.loads((self.services / "target.json").read_text())
            return data
        except (OSError, ValueError):
            return {}


@dataclass(frozen=True)
class Target:
    base_url: str
    pid: int | None  # the local app, sampled as role "target"; None for a remote BASE_URL


def session_target(config: Config, files: SessionFiles) -> Target:
    """``BASE_URL`` as given, or the bundled app, started once for every worker of the session."""
    if config.base_url:
        return Target(config.base_url.rstrip("/"), None)
    record = shared_service(files.services, "target",
                            lambda: start_local_target(config.target_command, cwd=config.root))
    return Target(str(record["base_url"]), record.get("pid"))


def session_browser(files: SessionFiles, *, worker: int, workers: int,
                    servers: int | None) -> tuple[Any, Callable[[], None]]:
    """A Playwright Browser for this process and how to close it: under xdist a connection to one of
    the browser servers all workers share (one per 16 workers, or ``servers``); alone, or with
    ``servers=0``, a browser of its own."""
    from .browser import connect_browser, launch_browser, start_browser_server

    if servers is None:
        servers = 0 if workers == 1 else -(-workers // WORKERS_PER_BROWSER_SERVER)
    # Node.js young generations cost ~15 MB per driver or server by default; a 1 MB semi-space keeps that
    # down (bench/README.md has the figures).
    os.environ["NODE_OPTIONS"] = (os.environ.get("NODE_OPTIONS", "") + " --max-semi-space-size=1").strip()
    if servers == 0:
        return launch_browser()
    server = shared_service(files.services, f"browser-{worker % servers}", start_browser_server)
    return connect_browser(server["ws_endpoint"])


def artifacts_dir(root: Path, nodeid: str) -> Path:
    """Where a test's screenshot and trace go: ``test-results/<node id, made safe>``."""
    return root / "test-results" / re.sub(r"[^\w.-]+", "-", nodeid)[-120:]


@dataclass(frozen=True)
class SessionEnd:
    """How pytest ended the session, as far as the verdict cares."""

    interrupted: bool
    tests_failed: bool


class Controller:
    """The controller's side of a session (the only process, without xdist)."""

    def __init__(self, config: Config, files: SessionFiles, *, run_id: str, started_at: float) -> None:
        self.config = config
        self.files = files
        self.run_id = run_id
        self.started_at = started_at
        self.lost_iterations = 0
        self.sampler: Sampler | None = None
        self.background: BackgroundLoad | None = None

    def start(self, *, load: str | None = None, load_script: str | None = None,
              load_on_start: str | None = None) -> None:
        """Check a given target, start sampling and, for a hybrid run, the background load.
        Raises :class:`~perfmon.PerfmonError` (one line) before any test runs when something is wrong."""
        if self.config.base_url:
            check_reachable(self.config.base_url)  # before 50 workers start, not in each of them
        self.sampler = Sampler(Metrics(), target_pid=lambda: self.files.started_target().get("pid"))
        self.sampler.start()
        if load:
            target = session_target(self.config, self.files)
            self.background = BackgroundLoad.start(
                self.config, load, script=load_script or self.config.suites.load_script,
                on_start=load_on_start if load_on_start is not None else self.config.suites.load_on_start,
                base_url=target.base_url, target_pid=target.pid)

    def finish(self, end: SessionEnd, *, metadata: Mapping[str, Any], outputs: Outputs) -> Concluded | None:
        """Stop measuring and conclude the session's one run from every process's records."""
        if self.sampler is not None:
            self.sampler.stop()
        records = list(read_records(self.files.records))
        if self.background is not None:
            records.append(self.background.finish())
        base_url = self.files.started_target().get("base_url") or self.config.base_url
        facts = RunFacts(lost_iterations=self.lost_iterations,
                         client_saturation=self.sampler.saturation if self.sampler else None,
                         interrupted=end.interrupted, tests_failed=end.tests_failed)
        return conclude(records, self.config, run_id=self.run_id, started_at=self.started_at, base_url=base_url,
                        facts=facts, outputs=outputs, finished_at=time.time(),
                        session_metrics=self.sampler.metrics if self.sampler else None, metadata=metadata)

    def close(self) -> None:
        """Stop every shared process and remove the session directory."""
        stop_shared_services(self.files.services)
        shutil.rmtree(self.files.root, ignore_errors=True)


