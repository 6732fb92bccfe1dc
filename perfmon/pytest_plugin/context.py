"""What every process of one pytest session knows, kept out of the plugin so it can be used (and
tested) without it.

- :class:`ProcessContext`: the config, run id and record log of this process, handed from the
  controller to each xdist worker through ``workerinput``.
- :class:`SessionFiles`: the session directory every xdist worker shares: per-process record logs,
  shared services (the target app, browser servers), and the first user error any process met.
- :func:`session_target`, :func:`session_browser` and :func:`browser_iteration`: the target, a
  browser for this process (both started once for all workers) and one measured journey iteration.

Every xdist worker imports this module through the plugin, so what only the controller needs is
imported where it is used (``controller.py``): at ``-n 50`` those imports cost about 19 MB per
worker, some 0.9 GiB in all (bench/README.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.config import Config
from ..core.errors import PerfmonError, one_line
from ..core.records import MeasurementLog, Record
from ..core.redaction import redact
from ..core.results import new_run_id
from ..system.services import shared_service, stop_shared_services

if TYPE_CHECKING:
    pass

from ..core.env import environ

__all__ = [
    "LOCAL",
    "WORKERS_PER_BROWSER_SERVER",
    "BrowserOptions",
    "ProcessContext",
    "SessionFiles",
    "Target",
    "UserError",
    "artifacts_dir",
    "browser_endpoint",
    "browser_iteration",
    "chromium_problem",
    "finish_context",
    "measure_context",
    "session_browser",
    "session_target",
]

WORKERS_PER_BROWSER_SERVER = 16  # bench/README.md: steadier peak memory than a browser per worker
LOCAL = "local"  # the host label of this machine's browsers and of the controller's own workers


@dataclass(frozen=True)
class UserError:
    """A user error met during the tests: its one line and its exit code (``perfmon.core.exit_codes``).
    ``in_suite``: the suite itself is broken (a test that cannot be collected or set up, such as a
    missing fixture): nothing the session measured is a run, so nothing is stored."""

    message: str
    exit_code: int
    in_suite: bool = False


@dataclass(frozen=True)
class SessionFiles:
    root: Path

    @property
    def records(self) -> Path:
        return self.root / "records"

    @property
    def services(self) -> Path:
        return self.root / "services"

    @property
    def progress(self) -> Path:
        """Where every process's load engines leave their counts so far (loadgen/progress.py's beacons)."""
        return self.root / "progress"

    def note_user_error(self, exc: PerfmonError | UserError) -> None:
        """Keep the first user error any process met (its line and exit code); the controller reports
        it once at the end."""
        found = exc if isinstance(exc, UserError) else UserError(str(exc), exc.exit_code)
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.root / "user-error.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"message": found.message, "exit_code": found.exit_code, "in_suite": found.in_suite}, f)

    def note_bench_broken(self, message: str) -> None:
        """Keep the first sign that the test bench itself broke (a browser server that went away): the run
        is then unmeasured, whatever its tests did after."""
        self.root.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError), open(self.root / "bench-broken.txt", "x", encoding="utf-8") as f:
            f.write(message)

    def bench_broken(self) -> str | None:
        try:
            return (self.root / "bench-broken.txt").read_text(encoding="utf-8") or None
        except OSError:
            return None

    def user_error(self) -> UserError | None:
        path = self.root / "user-error.json"
        if not path.is_file():
            return None
        found = json.loads(path.read_text(encoding="utf-8"))
        return UserError(str(found["message"]), int(found["exit_code"]), bool(found.get("in_suite")))

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

    def start() -> dict[str, Any]:
        # httpx (whose import brings its CLI's rich and click, 0.1 CPU-s): only the process that starts the app
        from ..system.target import start_local_target

        return start_local_target(config.target_command, cwd=config.root, log_dir=files.root)

    record = shared_service(files.services, "target", start)
    return Target(str(record["base_url"]), record.get("pid"))


def session_browser(files: SessionFiles, *, worker: int, workers: int, servers: int | None,
                    endpoints: tuple[str, ...] = ()) -> tuple[Any, Callable[[], None], str]:
    """A Playwright Browser for this process, how to close it, and its host's label: with
    ``endpoints`` (``--perf-browser-ws``), a connection to one of those servers, workers taken in turn;
    under xdist a connection to one of the browser servers all workers share (one per 16 workers, or
    ``servers``); alone, or with ``servers=0``, a browser of its own."""
    from ..browser import connect_browser, endpoint_label, launch_browser

    endpoint, remote = browser_endpoint(files, worker=worker, workers=workers, servers=servers, endpoints=endpoints)
    if endpoint is None:
        return (*launch_browser(), LOCAL)
    if remote:
        browser, close = _connect_remote(endpoint)
        return browser, close, endpoint_label(endpoint)
    return (*connect_browser(endpoint), LOCAL)


def browser_endpoint(files: SessionFiles, *, worker: int, workers: int, servers: int | None,
                     endpoints: tuple[str, ...] = ()) -> tuple[str | None, bool]:
    """Where this process's browser is: a server on another host (``True``), a shared local server
    (started by the first worker to ask), or ``None``: a browser of its own."""
    from ..browser import start_browser_server

    if endpoints:
        return endpoints[worker % len(endpoints)], True
    if servers is None:
        servers = 0 if workers == 1 else -(-workers // WORKERS_PER_BROWSER_SERVER)
    # Node.js young generations cost ~15 MB per driver or server by default; a 1 MB semi-space keeps that
    # down (bench/README.md has the figures).
    env = environ()
    env["NODE_OPTIONS"] = (env.get("NODE_OPTIONS", "") + " --max-semi-space-size=1").strip()
    if servers == 0:
        return None, False
    server = shared_service(files.services, f"browser-{worker % servers}",
                            lambda: start_browser_server(log_dir=files.root))
    return str(server["ws_endpoint"]), False


def _connect_remote(endpoint: str) -> tuple[Any, Callable[[], None]]:
    """A browser server on another host, or one line saying why not (it went away since the start)."""
    from ..browser import check_endpoint, connect_browser, endpoint_label
    from ..core.errors import BrowserError

    check_endpoint(endpoint)
    try:
        return connect_browser(endpoint)
    except BrowserError:
        raise
    except Exception as exc:  # noqa: BLE001 - a websocket refused mid-handshake: any client error
        raise BrowserError(f"the browser server at {endpoint_label(endpoint)} refused the connection "
                           f"({one_line(exc)}); check the endpoint's path and that its Playwright version is "
                           "this one's") from None


def chromium_problem() -> PerfmonError | None:
    """Why no journey could start (Chromium missing), or ``None``."""
    from ..browser import chromium_executable

    try:
        chromium_executable()
    except PerfmonError as exc:
        return exc
    return None


def artifacts_dir(root: Path, nodeid: str) -> Path:
    """Where a test's screenshot and trace go: ``test-results/<node id, made safe>``, a secret test
    parameter masked (``test_login[hunter2]`` is ``test_login-`` followed by the mask's dashes)."""
    return root / "test-results" / re.sub(r"[^\w.-]+", "-", redact(nodeid))[-120:]


@dataclass(frozen=True)
class BrowserOptions:
    """How every journey of the session is measured (``--perf-network``, ``--perf-cpu-throttle``,
    ``--perf-tracing``, ``--perf-browsers``)."""

    network: str | None = None
    cpu_throttle: float | None = None
    tracing: bool = True
    servers: int | None = None  # shared browser servers; None: one per 16 workers under xdist
    endpoints: tuple[str, ...] = ()  # browser servers on other hosts (--perf-browser-ws)

    def recorded(self) -> dict[str, Any]:
        """What the run records of them (throttling changes what the numbers mean)."""
        found: dict[str, Any] = {"network": self.network, "cpu_throttle": self.cpu_throttle,
                                 "tracing": "retain-on-failure" if self.tracing else "off"}
        if self.endpoints:  # where the browsers ran, never the endpoints' secret paths
            from ..browser import endpoint_label

            found["browser_hosts"] = [endpoint_label(e) for e in self.endpoints]
        return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True)
class ProcessContext:
    """What every process of a session knows: the config, the run id, the shared directory and its
    own record log. The controller makes it; each xdist worker gets it through ``workerinput``.

    A worker on another host (``--tx socket=...`` or ``ssh=...``) cannot see the controller's disk:
    its files are a folder of its own, its target is the controller's, and its records travel back
    to the controller with its test reports (``pytest_plugin``)."""

    config: Config
    run_id: str
    files: SessionFiles
    worker: int  # 0-based xdist worker index (0 without xdist)
    workers: int
    started_at: float
    log: MeasurementLog
    browser: BrowserOptions
    runner: str = LOCAL  # the host this process runs on: a remote worker's gateway address

    @property
    def remote(self) -> bool:
        return self.runner != LOCAL

    @classmethod
    def open(cls, config: Config, browser: BrowserOptions, workerinput: Mapping[str, Any] | None, *,
             run_id: str | None = None) -> ProcessContext:
        """The controller's (``workerinput`` None; ``run_id``: one given, as all shards of a run share)
        or a worker's."""
        if workerinput is None:
            files = SessionFiles(Path(tempfile.mkdtemp(prefix="perfmon-session-")))
            return cls(config, run_id or new_run_id(), files, 0, 1, time.time(), MeasurementLog(files.records, "main"),
                       browser)
        name = str(workerinput.get("workerid", "gw0"))
        worker = int(workerinput.get("perfmon_worker", re.sub(r"\D", "", name) or 0))
        runner = str(workerinput.get("perfmon_runner") or LOCAL)
        if runner == LOCAL:
            files = SessionFiles(Path(workerinput["perfmon_dir"]))
        else:
            files = SessionFiles(Path(tempfile.mkdtemp(prefix="perfmon-remote-")))
            config = replace(config, base_url=workerinput.get("perfmon_base_url") or config.base_url)
        return cls(config, str(workerinput["perfmon_run_id"]), files, worker,
                   int(workerinput.get("workercount", 1)), float(workerinput["perfmon_started_at"]),
                   MeasurementLog(files.records, name), browser, runner)

    def workerinput(self, *, worker: int, runner: str | None) -> dict[str, Any]:
        """What the controller hands worker number ``worker``; ``runner``: the host of a remote one."""
        found: dict[str, Any] = {"perfmon_dir": str(self.files.root), "perfmon_run_id": self.run_id,
                                 "perfmon_started_at": self.started_at, "perfmon_worker": worker,
                                 "perfmon_shard": str(self.config.shard) if self.config.shard else None}
        if runner:
            source, root = Path(self.config.source or "-").resolve(), self.config.root.resolve()
            found.update(perfmon_runner=runner, perfmon_base_url=self.config.base_url,
                         perfmon_profile=self.config.profile.name,
                         perfmon_config=str(source.relative_to(root))
                         if source.is_file() and source.is_relative_to(root) else None)
        return found

    def close(self) -> None:
        """A remote worker's end: stop what it started on its host and remove its folder (the
        controller does this for everything on its own disk)."""
        if self.remote:
            stop_shared_services(self.files.services)
            shutil.rmtree(self.files.root, ignore_errors=True)


@contextlib.contextmanager
def browser_iteration(browser: Any, context_args: Mapping[str, Any], record: Record, config: Config,
                      options: BrowserOptions, *, journey: str, artifacts: Path, failed: Callable[[], bool],
                      hosts: tuple[str, str] = (LOCAL, LOCAL)) -> Iterator[Any]:
    """One measured journey iteration in a fresh context, recorded into ``record``; a screenshot and a
    trace are kept in ``artifacts`` when ``failed()`` says so or its values broke a browser threshold.
    ``hosts``: where its browser and its worker ran, counted per iteration."""
    context = browser.new_context(**context_args)
    bp = measure_context(context, record, options, journey=journey, hosts=hosts)
    try:
        yield bp
    finally:
        finish_context(bp, record, config, artifacts=artifacts, failed=failed)
        context.close()


def measure_context(context: Any, record: Record, options: BrowserOptions, *, journey: str,
                    hosts: tuple[str, str] = (LOCAL, LOCAL), adopt_page: bool = False) -> Any:
    """Start measuring a browser context (its page's vitals, navigation, resources) into ``record``:
    a page it opens, or with ``adopt_page`` the first page someone else opens in it."""
    from ..browser import BrowserPerf

    record.kind = "browser"
    record.metrics.counter("browser_host_iterations", {"browser": hosts[0], "runner": hosts[1]}).add(1)
    return BrowserPerf(context, record.metrics, journey=journey, network=options.network,
                       cpu_throttle=options.cpu_throttle, tracing=options.tracing, timed=record.timed,
                       adopt_page=adopt_page)


def finish_context(bp: Any, record: Record, config: Config, *, artifacts: Path, failed: Callable[[], bool]) -> None:
    """Collect what a measured context's pages still hold, before it closes; evidence when it failed."""
    bp.finish(failed=failed(), artifacts=artifacts, thresholds=config.browser_thresholds())
    record.slowest = bp.slowest
    record.interactions = bp.slowest_interactions
    if artifacts.exists():
        record.artifacts = [str(p) for p in sorted(artifacts.iterdir())]
