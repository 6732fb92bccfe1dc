"""The pytest plugin: options, hooks and fixtures that wire pytest and pytest-xdist to the library.

Every process keeps a :class:`_Process` (config, run id, the shared session directory, its own
record log). Each test gets a fresh :class:`~perfmon.core.records.Record` that the ``perf`` and
``perf_api`` fixtures fill and that is appended to the log when the test ends. The controller (or
the only process) also keeps a :class:`~perfmon.pytest_plugin.session.Controller`, which samples the machine,
drives a hybrid run's background load and, at the end, hands every record to the pipeline once.

Exit codes follow perfmon's table (``perfmon.core.exit_codes``), not pytest's: the session's outcome
decides it in ``pytest_sessionfinish``. User errors take one path: a :class:`~perfmon.PerfmonError`
before any test runs becomes a ``pytest.UsageError`` that keeps the error's code (one line; 2, or 3
for a target that is down); one met inside a test (in any process) is noted in the session
directory, stops the session, and is printed once by the controller with its code. ``perfmon run``
reads the code the plugin decided from ``$PERFMON_EXIT_FILE``, so it can tell pytest's own codes
(which overlap the table) from perfmon's.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from ..core.config import Config, Shard, load_config
from ..core.errors import ConfigError, PerfmonError
from ..core.exit_codes import ExitCode
from ..core.records import Record
from ..core.results import shared_run_id
from .bytecode import share_worker_bytecode
from .session import (
    LOCAL,
    BrowserOptions,
    Controller,
    ProcessContext,
    SessionOutcome,
    Target,
    artifacts_dir,
    browser_endpoint,
    browser_iteration,
    chromium_problem,
    finish_context,
    measure_context,
    session_browser,
    session_target,
)
from .xdist import XdistHooks, remote_workers, ship_to_controller

if TYPE_CHECKING:
    from ..load.perf_api import PerfApi

__all__ = ["session_config"]


_process_key = pytest.StashKey[ProcessContext]()
_controller_key = pytest.StashKey[Controller]()
_outcome_key = pytest.StashKey[SessionOutcome]()
_record_key = pytest.StashKey[Record]()
_reports_key = pytest.StashKey[dict[str, pytest.TestReport]]()
_suite_host_key = pytest.StashKey[str]()  # a --perf suite's browser host label
_suite_perfs_key = pytest.StashKey[list[Any]]()  # a --perf suite test's measured contexts, in order
_sigterm_key = pytest.StashKey[Any]()
_SUITES_PLUGIN = "perfmon-playwright-suites"  # playwright_suites, registered under --perf
_usage_code_key = pytest.StashKey[int]()


def session_config(config: pytest.Config) -> Config:
    """The perfmon config of this pytest session (for hooks such as ``pytest_generate_tests``)."""
    return config.stash[_process_key].config


def pytest_addoption(parser: pytest.Parser) -> None:
    add = parser.getgroup("perfmon", "performance measurement (perfmon)").addoption
    add("--perf-profile", help="profile: smoke, ci or release (default: PERFMON_PROFILE or the config's)")
    add("--perf-env", help="environment recorded with the run (default: PERFMON_ENV or the config's)")
    add("--perf-store", help="result store URL (default: PERFMON_STORE or the config's)")
    add("--perf-target-db", metavar="URL", help="the target's PostgreSQL to sample during the run, read-only "
        "(default: PERFMON_TARGET_DB or the config's target_db)")
    add("--perf-config", type=Path, help="perfmon.toml or pyproject.toml to read")
    add("--perf-browsers", type=_count, help="Chromium servers all workers share (0: one browser per worker)")
    add("--perf-browser-ws", action="append", default=[], metavar="WS_URL",
        help="browser servers on other hosts (`perfmon browser-server`), repeated or comma-separated; "
             "workers take them in turn (default: PERFMON_BROWSER_WS)")
    add("--perf-iterations", type=_count, help="iterations of each journey per virtual user (default: profile's)")
    add("--perf-load", metavar="SCENARIO", help="hybrid run: drive this API scenario while the journeys run")
    add("--perf-load-script", metavar="FILE.py:FUNC", help="its journey (default: the config's suites.load_script)")
    add("--perf-load-on-start", metavar="FILE.py:FUNC", help="once per user of --perf-load ('none': nothing)")
    add("--perf-report-dir", type=Path, help="where reports go (default: the config's report_dir)")
    add("--perf-network", choices=["slow3g", "fast3g", "slow4g"], help="throttle every journey's network (CDP)")
    add("--perf-cpu-throttle", type=float, metavar="N", help="slow every journey's CPU N times (CDP)")
    add("--perf-tracing", default="retain-on-failure", choices=["retain-on-failure", "off"],
        help="Playwright traces kept for failed iterations only (default), or none recorded")
    add("--perf-no-store", action="store_true", help="judge and print the run but do not store it")
    add("--perf-shard", metavar="I/N", help="run shard I of N of a run spread over N runners: this runner's share of "
        "the users and arrival rate, stored under --perf-run-id (default: PERFMON_SHARD)")
    add("--perf-run-id", metavar="ID", help="the run's id, shared by all its shards (a UUID, or any text such as the "
        "CI run's id; default: PERFMON_RUN_ID)")
    add("--perf", action="store_true", default=False,
        help="measure an existing pytest-playwright suite unchanged: every context its page/context fixtures "
             "make gets perfmon's vitals collector; each test is a journey (or instrument_playwright = true)")
    add("--perf-regressions", choices=("fail", "warn", "off"), default=None,
        help="a regression against the run's history fails the run (default), only warns, or is not checked")
    # --base-url is pytest-playwright's (or pytest-base-url's) option; perfmon reads it.


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise pytest.UsageError(f"expected a whole number, not {text!r}") from None
    if n < 0:
        raise pytest.UsageError(f"expected 0 or more, not {n}")
    return n


def _user_error(exc: PerfmonError, met: pytest.Config | pytest.FixtureRequest) -> NoReturn:
    """The one way a user error leaves perfmon under pytest (see the module docstring): ``met`` is the
    session's config before the tests, or the fixture request of the test that met it."""
    if isinstance(met, pytest.Config):
        met.stash[_usage_code_key] = exc.exit_code  # pytest.UsageError is final: its code rides here
        raise pytest.UsageError(str(exc))
    met.config.stash[_process_key].files.note_user_error(exc)
    met.session.shouldstop = f"perfmon: {exc}"  # xdist hands a worker's shouldstop to the controller
    pytest.fail(f"perfmon: {exc}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config) -> Generator[None, int | ExitCode, int | ExitCode]:
    """Where the session's exit code leaves pytest: a usage error raised before the tests (pytest
    would print it and exit 4, which is "spooled" in perfmon's table) exits with its own code."""
    try:
        code = yield
    except pytest.UsageError as exc:
        for line in exc.args:
            print(f"ERROR: {line}", file=sys.stderr)
        code = config.stash.get(_usage_code_key, ExitCode.USAGE)
    if getattr(config, "workerinput", None) is None and (path := os.environ.get("PERFMON_EXIT_FILE")):
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"{int(code)}\n")
    return code


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "perf: a performance test measured by perfmon")
    for kind in ("load", "stress", "spike", "endurance"):
        config.addinivalue_line("markers", f"perf_{kind}: an API {kind} test (`perfmon run --type {kind}` selects it)")
    wi: dict[str, Any] | None = getattr(config, "workerinput", None)
    remote = wi is not None and bool(wi.get("perfmon_runner"))
    try:
        cfg = load_config(_remote_config_file(config, wi) if remote else config.getoption("perf_config"),
                          profile=(wi or {}).get("perfmon_profile") or config.getoption("perf_profile"),
                          target_db=config.getoption("perf_target_db"),
                          environment=config.getoption("perf_env"), store=config.getoption("perf_store"),
                          base_url=config.getoption("base_url", None))
    except PerfmonError as exc:
        _user_error(exc, config)
    try:
        shard, run_id = _sharding(config, wi)
    except PerfmonError as exc:
        _user_error(exc, config)
    cfg = replace(cfg, shard=shard)
    if iterations := config.getoption("perf_iterations"):
        cfg = replace(cfg, profile=replace(cfg.profile, browser_iterations=iterations))
    if mode := config.getoption("perf_regressions"):
        cfg = replace(cfg, regressions=mode)
    opt = config.getoption
    endpoints: tuple[str, ...] = ()
    if given := opt("perf_browser_ws") or [os.environ.get("PERFMON_BROWSER_WS", "")]:
        from ..browser.remote import parse_endpoints  # Playwright comes with it: only when asked for

        try:
            endpoints = parse_endpoints(given)
        except PerfmonError as exc:
            _user_error(exc, config)
    browser = BrowserOptions(network=opt("perf_network"), cpu_throttle=opt("perf_cpu_throttle"),
                             tracing=opt("perf_tracing") != "off", servers=opt("perf_browsers"), endpoints=endpoints)
    process = config.stash[_process_key] = ProcessContext.open(cfg, browser, wi, run_id=run_id)
    if wi is None:
        if threading.current_thread() is threading.main_thread():
            config.stash[_sigterm_key] = signal.signal(signal.SIGTERM, _interrupt)
        config.stash[_controller_key] = Controller(cfg, process.files, run_id=process.run_id,
                                                   started_at=process.started_at)
    if config.getoption("perf") or cfg.instrument_playwright:
        _instrument_playwright(config)
    if wi is None:
        if config.pluginmanager.hasplugin("xdist"):
            hooks = XdistHooks(process, config.stash[_controller_key], _user_error)
            config.pluginmanager.register(hooks, "perfmon-xdist")
            if config.getoption("numprocesses", None):
                share_worker_bytecode(cfg.root)  # before xdist starts the workers, at session start


def _sharding(config: pytest.Config, workerinput: dict[str, Any] | None) -> tuple[Shard | None, str | None]:
    """This runner's shard of a sharded run and the run id all shards share (options, else environment)."""
    if workerinput is not None and workerinput.get("perfmon_shard"):  # a remote worker sees no environment
        return Shard.parse(workerinput["perfmon_shard"]), None
    text = config.getoption("perf_shard") or os.environ.get("PERFMON_SHARD")
    given = config.getoption("perf_run_id") or os.environ.get("PERFMON_RUN_ID")
    if text and not given:
        raise ConfigError(f"--perf-shard {text} needs --perf-run-id: the id all the run's shards share, e.g. the CI "
                          "run's id")
    if text and config.getoption("perf_no_store"):
        raise ConfigError(f"--perf-shard {text} stores its part for the other shards to merge with: drop "
                          "--perf-no-store")
    return (Shard.parse(text) if text else None), (shared_run_id(given) if given and given.strip() else None)


def _remote_config_file(config: pytest.Config, workerinput: dict[str, Any] | None) -> Path | None:
    """A remote worker reads the controller's config file in the copy of the project xdist sent it."""
    found = (workerinput or {}).get("perfmon_config")
    return config.rootpath / found if found and (config.rootpath / found).is_file() else None


def _interrupt(signum: int, frame: object) -> None:
    """A cancelled CI job sends SIGTERM: stop as Ctrl-C does, so the partial run is kept as interrupted."""
    raise KeyboardInterrupt


def pytest_unconfigure(config: pytest.Config) -> None:
    if (process := config.stash.get(_process_key, None)) is not None:
        process.close()
    if (previous := config.stash.get(_sigterm_key, None)) is not None:
        signal.signal(signal.SIGTERM, previous)


def pytest_sessionstart(session: pytest.Session) -> None:
    if (controller := session.config.stash.get(_controller_key, None)) is None:
        return
    opt = session.config.getoption
    try:
        if remote_workers(session.config) and not controller.config.base_url:
            raise ConfigError("xdist workers on other hosts cannot reach the bundled app on this machine's loopback; "
                              "serve the target where they can reach it and pass --base-url (or BASE_URL)")
        controller.start(load=opt("perf_load"), load_script=opt("perf_load_script"),
                         load_on_start=opt("perf_load_on_start"),
                         browser_endpoints=session.config.stash[_process_key].browser.endpoints)
    except PerfmonError as exc:
        controller.close()  # pytest runs no sessionfinish after a failed sessionstart: stop the app it started
        _user_error(exc, session.config)
    workers = opt("numprocesses", None) if session.config.pluginmanager.hasplugin("xdist") else None
    if session.config.pluginmanager.has_plugin(_SUITES_PLUGIN):  # said once, and recorded with the run
        from .suites import caveats

        controller.warnings += caveats(session.config, workers if isinstance(workers, int) else 1)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        for warning in controller.warnings:
            reporter.write_line(warning, yellow=True)
    if isinstance(workers, int) and workers > 1 and reporter is not None and _runs_journeys(session.config):
        if (line := controller.calibration_warning(workers)) is not None:
            reporter.write_line(line, yellow=True)


def _runs_journeys(config: pytest.Config) -> bool:
    """Whether the paths pytest was given include the browser suite (or nothing narrower than its folder)."""
    suite = (config.stash[_process_key].config.root / config.stash[_process_key].config.suites.browser).resolve()
    given = [Path(a.split("::")[0]).resolve() for a in config.args] or [Path.cwd()]
    return any(p == suite or suite in p.parents or p in suite.parents for p in given)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # Fail before any journey starts when Chromium is not there: one line, not one error per test.
    journeys = [item for item in items if "perf" in getattr(item, "fixturenames", ())]
    if journeys and (problem := chromium_problem() or _perf_beside_playwright(config, journeys)) is not None:
        if _controller_key in config.stash:
            _user_error(problem, config)
        # An xdist worker cannot stop the session: it leaves the journeys out (every worker alike, so
        # collections still match) and notes the error, which the controller reports once.
        config.stash[_process_key].files.note_user_error(problem)
        config.hook.pytest_deselected(items=journeys)
        items[:] = [item for item in items if item not in journeys]


def _playwright_context_used(fixturenames: Iterable[str]) -> str | None:
    """Which of pytest-playwright's ``page`` and ``context`` a test uses, if any."""
    return next((name for name in ("page", "context") if name in fixturenames), None)


def _perf_beside_playwright(config: pytest.Config, journeys: list[pytest.Item]) -> PerfmonError | None:
    """A test asking for ``perf`` and pytest-playwright's page without ``--perf``: two browsers, one unmeasured."""
    if config.pluginmanager.has_plugin(_SUITES_PLUGIN) or not config.pluginmanager.hasplugin("playwright"):
        return None
    for item in journeys:
        if uses := _playwright_context_used(getattr(item, "fixturenames", ())):
            return ConfigError(f"{item.nodeid} uses `perf` beside pytest-playwright's `{uses}`: run it with --perf "
                               "(or instrument_playwright = true) so both are the same measured page")
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    record = item.stash[_record_key] = Record(item.nodeid)
    item.stash[_reports_key] = {}
    yield
    if record.measured and not item.config.stash[_process_key].remote:  # a remote one's went with its report
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
    process = item.config.stash[_process_key]
    if process.remote:
        ship_to_controller(rep, process, item.stash.get(_record_key, None))
    return rep


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if (controller := config.stash.get(_controller_key, None)) is None:
        return
    from ..pipeline import Outputs

    process = config.stash[_process_key]
    try:
        report_dir = config.getoption("perf_report_dir") or process.config.root / process.config.report_dir
        outputs = Outputs(store=not config.getoption("perf_no_store"), report_dir=report_dir)
        code = pytest.ExitCode
        outcome = config.stash[_outcome_key] = controller.finish(
            interrupted=exitstatus == code.INTERRUPTED, tests_failed=exitstatus == code.TESTS_FAILED,
            metadata=process.browser.recorded(), outputs=outputs)
        decided = outcome.session_exit_code(tests_failed=session.exitstatus == code.TESTS_FAILED,
                                            interrupted=exitstatus == code.INTERRUPTED)
        if decided is not None:
            session.exitstatus = decided
    finally:
        controller.close()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if (outcome := config.stash.get(_outcome_key, None)) is None:
        return
    if outcome.concluded is not None:
        terminalreporter.section("perfmon", sep="=", bold=True)
    for line, style in outcome.lines():
        terminalreporter.write_line(line, red=style == "fail", green=style == "pass", bold=line.startswith("ERROR"))


# --- fixtures -----------------------------------------------------------------------------------
def _process(config: pytest.Config) -> ProcessContext:
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
    process = _process(request.config)
    # Shard i of a sharded run numbers its users after the shards before it: no two share an account.
    offset = (process.config.shard.index - 1) * process.workers if process.config.shard else 0
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and "vu" in callspec.params:
        return offset + int(callspec.params["vu"])
    return offset + process.worker + 1


@pytest.fixture
def perf_user(perf_vu: int, perf_config: Config) -> tuple[str, str]:
    """The seeded account of this virtual user (``[tool.perfmon.accounts]``), so sessions never share one."""
    return perf_config.accounts.for_user(perf_vu)


@pytest.fixture(scope="session")
def _perf_browser(request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    """This process's browser and the label of the host it runs on."""
    process = _process(request.config)
    try:
        browser, close, host = session_browser(process.files, worker=process.worker, workers=process.workers,
                                               servers=process.browser.servers, endpoints=process.browser.endpoints)
    except PerfmonError as exc:
        _user_error(exc, request)
    yield browser, (process.runner if host == LOCAL else host)
    close()


@pytest.fixture(scope="session")
def perf_browser(_perf_browser: tuple[Any, str]) -> Any:
    """A Playwright Browser for this process: under xdist a connection to one of the browser servers
    all workers share (``--perf-browsers N``); alone, or with ``--perf-browsers 0``, its own; with
    ``--perf-browser-ws``, a connection to one of those servers on other hosts."""
    return _perf_browser[0]


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
def perf(request: pytest.FixtureRequest, perf_config: Config) -> Iterator[Any]:
    """One measured browser iteration: ``perf.page``, ``perf.step(name)``, ``perf.vitals()``,
    ``perf.navigation()``. A fresh context per iteration; evidence kept only when it fails. In a
    ``--perf`` suite's test that uses pytest-playwright's ``page`` or ``context``: that context's."""
    if (measured := _suite_perf(request)) is not None:
        yield measured
        return
    _perf_browser: tuple[Any, str] = request.getfixturevalue("_perf_browser")
    perf_context_args: dict[str, Any] = request.getfixturevalue("perf_context_args")
    item, process = request.node, _process(request.config)
    record = item.stash[_record_key]
    record.vus = process.workers

    def failed() -> bool:
        rep = item.stash[_reports_key].get("call")
        return rep is None or rep.failed

    browser, host = _perf_browser
    with browser_iteration(browser, perf_context_args, record, perf_config, process.browser,
                           journey=getattr(item, "originalname", item.name).removeprefix("test_"),
                           artifacts=artifacts_dir(Path(request.config.rootpath), item.nodeid), failed=failed,
                           hosts=(host, process.runner)) as bp:
        yield bp


def _suite_perf(request: pytest.FixtureRequest) -> Any | None:
    """The measurement of a ``--perf`` suite test's pytest-playwright context, if the test has one."""
    uses = _playwright_context_used(request.fixturenames)
    if uses is None or not request.config.pluginmanager.has_plugin(_SUITES_PLUGIN):
        return None
    context = request.getfixturevalue(uses)
    context = getattr(context, "context", context)  # a page's
    found = next((bp for bp in request.node.stash.get(_suite_perfs_key, []) if bp.context is context), None)
    if found is None:
        _user_error(ConfigError(f"{request.node.nodeid}: its `{uses}` was not made by pytest-playwright's "
                                "new_context (a fixture of the suite's own overrides it), so perfmon does not "
                                "measure it; make contexts with the new_context fixture"), request)
    return found


def _instrument_playwright(config: pytest.Config) -> None:
    """``--perf``: measure pytest-playwright's own fixtures (``playwright_suites``)."""
    if not config.pluginmanager.hasplugin("playwright"):
        _user_error(ConfigError("--perf (instrument_playwright) measures a pytest-playwright suite, and "
                                "pytest-playwright is not loaded: pip install pytest-playwright, or drop "
                                "-p no:playwright"), config)
    from . import suites as playwright_suites

    config.stash[playwright_suites.HOOKS] = playwright_suites.SuiteHooks(
        measure=_measure_suite_context, endpoint=lambda: _suite_browser_endpoint(config), user_error=_user_error)
    config.pluginmanager.register(playwright_suites, _SUITES_PLUGIN)


def _suite_browser_endpoint(config: pytest.Config) -> str | None:
    """The browser server a ``--perf`` suite connects to (None: it launches one); remembers the host
    label its journeys are counted under."""
    from ..browser.remote import endpoint_label

    process = _process(config)
    try:
        endpoint, remote = browser_endpoint(process.files, worker=process.worker, workers=process.workers,
                                            servers=process.browser.servers, endpoints=process.browser.endpoints)
    except PerfmonError as exc:
        _user_error(exc, config)
    config.stash[_suite_host_key] = endpoint_label(str(endpoint)) if remote else process.runner
    return endpoint


def _measure_suite_context(request: pytest.FixtureRequest, context: Any) -> Callable[[], None]:
    """A context a pytest-playwright fixture made, measured as a ``perf`` iteration is (``--perf``) in
    the journey named by the test's node id; returns what finishes it."""
    item, process = request.node, _process(request.config)
    record = item.stash[_record_key]
    record.vus = process.workers
    host = request.config.stash.get(_suite_host_key, process.runner)  # pytest-playwright's own launch: here
    # pytest-playwright's --tracing traces every context already (and one trace at a time is allowed).
    options = replace(process.browser, tracing=process.browser.tracing and
                      request.config.getoption("--tracing", "off") == "off")
    bp = measure_context(context, record, options, journey=item.nodeid, hosts=(host, process.runner),
                         adopt_page=True)
    item.stash.setdefault(_suite_perfs_key, []).append(bp)

    def failed() -> bool:
        rep = item.stash[_reports_key].get("call")
        return rep is None or rep.failed

    return lambda: finish_context(bp, record, process.config,
                                  artifacts=artifacts_dir(Path(request.config.rootpath), item.nodeid), failed=failed)


@pytest.fixture
def perf_api(request: pytest.FixtureRequest, perf_config: Config, _perf_target: Target) -> PerfApi:
    """Run API load scenarios from a test (``perf_api.run(journey, scenario="load")``); their metrics,
    thresholds and facts join the session's one run."""
    from ..load.perf_api import PerfApi

    return PerfApi(request.node.stash[_record_key], perf_config, run_id=_process(request.config).run_id,
                   base_url=_perf_target.base_url, target_pid=_perf_target.pid)
