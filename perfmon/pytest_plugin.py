"""The pytest plugin: options, hooks and fixtures that wire pytest and pytest-xdist to the library.

Every process keeps a :class:`_Process` (config, run id, the shared session directory, its own
record log). Each test gets a fresh :class:`~perfmon.measurements.Record` that the ``perf`` and
``perf_api`` fixtures fill and that is appended to the log when the test ends. The controller (or
the only process) also keeps a :class:`~perfmon.session.Controller`, which samples the machine,
drives a hybrid run's background load and, at the end, hands every record to the pipeline once.

User errors take one path: a :class:`~perfmon.PerfmonError` before any test runs becomes
``pytest.UsageError`` (one line, exit 4); one met inside a test (in any process) is noted in the
session directory, stops the session, and is printed once by the controller with exit 4.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from .config import Config, load_config
from .errors import PerfmonError
from .measurements import MeasurementLog, Record
from .pipeline import Concluded, Outputs
from .results import new_run_id
from .session import (
    Controller,
    SessionEnd,
    SessionFiles,
    Target,
    artifacts_dir,
    session_browser,
    session_target,
)

if TYPE_CHECKING:
    from .load.perf_api import PerfApi

__all__ = ["session_config"]


@dataclass(frozen=True)
class _Process:
    """What every process of the session knows."""

    config: Config
    run_id: str
    files: SessionFiles
    worker: int  # 0-based xdist worker index (0 without xdist)
    workers: int
    started_at: float
    log: MeasurementLog


_process_key = pytest.StashKey[_Process]()
_controller_key = pytest.StashKey[Controller]()
_concluded_key = pytest.StashKey[Concluded]()
_record_key = pytest.StashKey[Record]()
_reports_key = pytest.StashKey[dict[str, pytest.TestReport]]()
_error_key = pytest.StashKey[str]()


def session_config(config: pytest.Config) -> Config:
    """The perfmon config of this pytest session (for hooks such as ``pytest_generate_tests``)."""
    return config.stash[_process_key].config


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfmon", "performance measurement (perfmon)")
    group.addoption("--perf-profile", default=None, help="profile: smoke, ci or release (default: PERFMON_PROFILE "
                    "or the config's)")
    group.addoption("--perf-env", default=None, help="environment recorded with the run (default: PERFMON_ENV or "
                    "the config's)")
    group.addoption("--perf-store", default=None, help="result store URL (default: PERFMON_STORE or the config's)")
    group.addoption("--perf-config", default=None, type=Path, help="perfmon.toml or pyproject.toml to read")
    group.addoption("--perf-browsers", default=None, type=_count, help="Chromium servers shared by all workers "
                    "(0: a browser per worker; default: one per 16 workers under xdist)")
    group.addoption("--perf-iterations", default=None, type=_count,
                    help="iterations of each browser journey per virtual user (default: the profile's)")
    group.addoption("--perf-load", default=None, metavar="SCENARIO",
                    help="hybrid run: drive this API scenario from the controller while the journeys run")
    group.addoption("--perf-load-script", default=None, metavar="FILE.py:FUNC",
                    help="the journey --perf-load runs (default: the config's suites.load_script)")
    group.addoption("--perf-load-on-start", default=None, metavar="FILE.py:FUNC",
                    help="run once per virtual user of --perf-load (default: the config's suites.load_on_start); "
                    "'none' for nothing")
    group.addoption("--perf-report-dir", default=None, type=Path,
                    help="where reports go (default: the config's report_dir, next to the config)")
    group.addoption("--perf-network", default=None, choices=["slow3g", "fast3g", "slow4g"],
                    help="throttle every journey's network through CDP (recorded with the run)")
    group.addoption("--perf-cpu-throttle", default=None, type=float, metavar="N",
                    help="slow every journey's CPU N times through CDP (recorded with the run)")
    group.addoption("--perf-tracing", default="retain-on-failure", choices=["retain-on-failure", "off"],
                    help="Playwright traces: kept for failed iterations only (default), or not recorded at all")
    group.addoption("--perf-no-store", action="store_true", help="judge and print the run but do not store it")
    # --base-url is pytest-playwright's (or pytest-base-url's) option; perfmon reads it.


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise pytest.UsageError(f"expected a whole number, not {text!r}") from None
    if n < 0:
        raise pytest.UsageError(f"expected 0 or more, not {n}")
    return n


def _user_error(exc: PerfmonError, during: pytest.FixtureRequest | None = None) -> NoReturn:
    """The one way a user error leaves perfmon under pytest (see the module docstring); ``during`` is
    the fixture request when a test is running."""
    if during is None:
        raise pytest.UsageError(str(exc))
    during.config.stash[_process_key].files.note_user_error(str(exc))
    during.session.shouldstop = f"perfmon: {exc}"  # xdist hands a worker's shouldstop to the controller
    pytest.fail(f"perfmon: {exc}", pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "perf: a performance test measured by perfmon")
    try:
        cfg = load_config(config.getoption("perf_config"), profile=config.getoption("perf_profile"),
                          environment=config.getoption("perf_env"), store=config.getoption("perf_store"),
                          base_url=config.getoption("base_url", None))
    except PerfmonError as exc:
        _user_error(exc)
    if iterations := config.getoption("perf_iterations"):
        cfg = replace(cfg, profile=replace(cfg.profile, browser_iterations=iterations))
    wi: dict[str, Any] | None = getattr(config, "workerinput", None)
    if wi is None:
        files = SessionFiles(Path(tempfile.mkdtemp(prefix="perfmon-session-")))
        run_id, started_at, worker, workers, name = new_run_id(), time.time(), 0, 1, "main"
    else:
        files = SessionFiles(Path(wi["perfmon_dir"]))
        run_id, started_at = wi["perfmon_run_id"], wi["perfmon_started_at"]
        name = str(wi.get("workerid", "gw0"))
        worker, workers = int(re.sub(r"\D", "", name) or 0), int(wi.get("workercount", 1))
    process = _Process(cfg, run_id, files, worker, workers, float(started_at), MeasurementLog(files.records, name))
    config.stash[_process_key] = process
    if wi is None:
        config.stash[_controller_key] = Controller(cfg, files, run_id=run_id, started_at=process.started_at)
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(_XdistHooks(config), "perfmon-xdist")


class _XdistHooks:
    def __init__(self, config: pytest.Config) -> None:
        self.process = config.stash[_process_key]
        self.controller = config.stash[_controller_key]

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput.update(perfmon_dir=str(self.process.files.root), perfmon_run_id=self.process.run_id,
                                perfmon_started_at=self.process.started_at)

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: Any, sched: Any) -> None:
        self.controller.lost_iterations += 1


def pytest_sessionstart(session: pytest.Session) -> None:
    controller = session.config.stash.get(_controller_key, None)
    if controller is None:
        return
    opt = session.config.getoption
    try:
        controller.start(load=opt("perf_load"), load_script=opt("perf_load_script"),
                         load_on_start=opt("perf_load_on_start"))
    except PerfmonError as exc:
        _user_error(exc)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # Fail before any journey starts when Chromium is not there: one line, not one error per test.
    browser_items = [item for item in items if "perf" in getattr(item, "fixturenames", ())]
    if not browser_items:
        return
    from .browser import chromium_executable

    try:
        chromium_executable()
    except PerfmonError as exc:
        if _controller_key in config.stash:
            _user_error(exc)
        # An xdist worker cannot stop the session: it leaves the journeys out (every worker alike, so
        # collections still match) and notes the error, which the controller reports once.
        config.stash[_process_key].files.note_user_error(str(exc))
        config.hook.pytest_deselected(items=browser_items)
        items[:] = [item for item in items if item not in browser_items]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    record = item.stash[_record_key] = Record(item.nodeid)
    item.stash[_reports_key] = {}
    yield
    if record.measured:
        item.config.stash[_process_key].log.append(record)
    # Items live until the session ends; their measurements must not (a browser iteration's live
    # histograms are megabytes, times every test a worker runs).
    del item.stash[_record_key]
    del item.stash[_reports_key]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    rep = yield
    if _reports_key in item.stash:
        item.stash[_reports_key][rep.when] = rep
    return rep


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    controller = config.stash.get(_controller_key, None)
    if controller is None:
        return
    try:
        user_error = controller.files.user_error()
        if user_error is not None:
            config.stash[_error_key] = user_error  # printed in the summary, after the directory is gone
        end = SessionEnd(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED and user_error is None,
                         tests_failed=exitstatus == pytest.ExitCode.TESTS_FAILED or user_error is not None)
        metadata = {name: config.getoption(f"perf_{name}") for name in ("network", "cpu_throttle", "tracing")}
        report_dir = config.getoption("perf_report_dir") or controller.config.root / controller.config.report_dir
        concluded = controller.finish(end, metadata={k: v for k, v in metadata.items() if v is not None},
                                      outputs=Outputs(store=not config.getoption("perf_no_store"),
                                                      report_dir=report_dir))
        if concluded is not None:
            config.stash[_concluded_key] = concluded
        if user_error is not None:
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
        elif concluded is not None and not concluded.ok and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    finally:
        controller.close()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    process = config.stash.get(_process_key, None)
    if process is None or _controller_key not in config.stash:
        return
    tr = terminalreporter
    concluded = config.stash.get(_concluded_key, None)
    if concluded is not None:
        tr.section("perfmon", sep="=", bold=True)
        for line, style in concluded.lines():
            tr.write_line(line, red=style == "fail", green=style == "pass")
    if (error := config.stash.get(_error_key, None)) is not None:
        tr.write_line(f"ERROR: {error}", red=True, bold=True)


# --- fixtures -----------------------------------------------------------------------------------
def _process(config: pytest.Config) -> _Process:
    return config.stash[_process_key]


@pytest.fixture(scope="session")
def perf_config(pytestconfig: pytest.Config) -> Config:
    """The resolved perfmon config (file, env, options); ``scenario(name)`` applies the profile."""
    return _process(pytestconfig).config


@pytest.fixture(scope="session")
def _perf_target(request: pytest.FixtureRequest) -> Target:
    process = _process(request.config)
    try:
        return session_target(process.config, process.files)
    except PerfmonError as exc:
        _user_error(exc, request)


@pytest.fixture(scope="session")
def perf_target(_perf_target: Target) -> dict[str, Any]:
    """The target: ``{"base_url", "pid"}``. The bundled app is started once for all workers."""
    return {"base_url": _perf_target.base_url, "pid": _perf_target.pid}


@pytest.fixture(scope="session")
def perf_base_url(_perf_target: Target) -> str:
    return _perf_target.base_url


@pytest.fixture
def perf_vu(request: pytest.FixtureRequest) -> int:
    """This iteration's virtual-user number (1-based): the ``vu`` parameter, else the worker's."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and "vu" in callspec.params:
        return int(callspec.params["vu"])
    return _process(request.config).worker + 1


@pytest.fixture
def perf_user(perf_vu: int, perf_config: Config) -> tuple[str, str]:
    """The seeded account of this virtual user (``[tool.perfmon.accounts]``), so sessions never share one."""
    return perf_config.accounts.for_user(perf_vu)


@pytest.fixture(scope="session")
def perf_browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A Playwright Browser for this process: under xdist a connection to one of the browser servers
    all workers share (``--perf-browsers N``); alone, or with ``--perf-browsers 0``, its own."""
    process = _process(request.config)
    try:
        browser, close = session_browser(process.files, worker=process.worker, workers=process.workers,
                                         servers=request.config.getoption("perf_browsers"))
    except PerfmonError as exc:
        _user_error(exc, request)
    yield browser
    close()


@pytest.fixture
def perf_think(perf_config: Config) -> Callable[[], None]:
    """Pause like a user between steps: the browser scenario's think time, scaled by the profile."""
    seconds = perf_config.scenario("browser").think_time_s if "browser" in perf_config.scenarios else 1.0
    return lambda: time.sleep(seconds)


@pytest.fixture
def perf_context_args(perf_base_url: str) -> dict[str, Any]:
    """Arguments for every journey's new browser context; override to change viewport, locale..."""
    return {"base_url": perf_base_url, "viewport": {"width": 1280, "height": 720}}


@pytest.fixture
def perf(request: pytest.FixtureRequest, perf_browser: Any, perf_context_args: dict[str, Any],
         perf_config: Config) -> Iterator[Any]:
    """One measured browser iteration: ``perf.page``, ``perf.step(name)``, ``perf.vitals()``,
    ``perf.navigation()``. A fresh context per iteration; evidence kept only when it fails."""
    from .browser import BrowserPerf

    item = request.node
    record = item.stash[_record_key]
    record.kind, record.vus = "browser", _process(request.config).workers
    opt = request.config.getoption
    context = perf_browser.new_context(**perf_context_args)
    bp = BrowserPerf(context, record.metrics, journey=getattr(item, "originalname", item.name).removeprefix("test_"),
                     network=opt("perf_network"), cpu_throttle=opt("perf_cpu_throttle"),
                     tracing=opt("perf_tracing") != "off")
    try:
        yield bp
    finally:
        rep = item.stash[_reports_key].get("call")
        artifacts = artifacts_dir(Path(request.config.rootpath), item.nodeid)
        bp.finish(failed=rep is None or rep.failed, artifacts=artifacts, thresholds=perf_config.browser_thresholds())
        context.close()
        record.slowest = bp.slowest
        if artifacts.exists():
            record.artifacts = [str(p) for p in sorted(artifacts.iterdir())]


@pytest.fixture
def perf_api(request: pytest.FixtureRequest, perf_config: Config, _perf_target: Target) -> PerfApi:
    """Run API load scenarios from a test (``perf_api.run(journey, scenario="load")``); their metrics,
    thresholds and facts join the session's one run."""
    from .load.perf_api import PerfApi

    return PerfApi(request.node.stash[_record_key], perf_config, run_id=_process(request.config).run_id,
                   base_url=_perf_target.base_url, target_pid=_perf_target.pid)
