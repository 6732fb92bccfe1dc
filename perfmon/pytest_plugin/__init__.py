"""The pytest plugin: options, hooks and fixtures that wire pytest and pytest-xdist to the library.

Every process keeps a :class:`_Process` (config, run id, the shared session directory, its own
record log). Each test gets a fresh :class:`~perfmon.core.records.Record` that the ``perf`` and
``perf_api`` fixtures fill and that is appended to the log when the test ends. The controller (or
the only process) also keeps a :class:`~perfmon.pytest_plugin.controller.Controller`, which samples the machine,
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

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ..core.config import Shard, find_config_file, load_config, with_overrides
from ..core.env import read
from ..core.errors import ConfigError, PerfmonError
from ..core.exit_codes import ExitCode
from ..core.failures import Failure, failure_message, where_raised
from ..core.records import Record
from ..core.results import shared_run_id
from .broken_suite import BrokenSuite, missing_fixture, setup_error
from .bytecode import share_worker_bytecode
from .context import (
    LOCAL,
    BrowserOptions,
    ProcessContext,
    UserError,
    chromium_problem,
)
from .controller import Controller, SessionOutcome, write_exit_file
from .fixtures import (  # noqa: F401 - the plugin module is where pytest finds them
    _perf_browser,
    _perf_slot,
    _perf_target,
    perf,
    perf_api,
    perf_base_url,
    perf_browser,
    perf_config,
    perf_context_args,
    perf_target,
    perf_think,
    perf_user,
    perf_vu,
    vu,
)
from .instrument import instrument_playwright, playwright_context_used
from .live import MEASURED
from .phases import turn
from .stash import (
    BROWSER,
    CONTROLLER,
    LIVE_FD,
    OUTCOME,
    PROCESS,
    RECORD,
    REPORTS,
    SIGTERM,
    SUITES_PLUGIN,
    USAGE_CODE,
    session_config,
    user_error,
)
from .stopping import WorkerStop
from .vus import parametrize_journeys
from .xdist import XdistHooks, remote_workers, ship_to_controller

__all__ = ["session_config"]

STOP_PLUGIN = "perfmon-stop"  # how a session stops on Ctrl-C: the controller's or a worker's (stopping.py)


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
    add("--perf-vus", type=_count, metavar="N", help="virtual users running each journey (default: the xdist "
        "workers, 1 without xdist)")
    add("--perf-users", type=_count, metavar="N", help="every API scenario at N users at its peak (after the profile)")
    add("--perf-duration", metavar="DURATION", help="every API scenario lasting DURATION, e.g. 30s (after the profile)")
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


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config) -> Generator[None, int | ExitCode, int | ExitCode]:
    """Where the session's exit code leaves pytest: a usage error raised before the tests (pytest
    would print it and exit 4, which is "spooled" in perfmon's table) exits with its own code."""
    try:
        code = yield
    except pytest.UsageError as exc:
        for line in exc.args:
            print(f"ERROR: {line}", file=sys.stderr)
        code = config.stash.get(USAGE_CODE, ExitCode.USAGE)
    if getattr(config, "workerinput", None) is None and (path := read("PERFMON_EXIT_FILE")):
        write_exit_file(path, int(code), config.stash.get(OUTCOME, None))
    return code


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "perf: a performance test measured by perfmon")
    for kind in ("load", "stress", "spike", "endurance"):
        config.addinivalue_line("markers", f"perf_{kind}: an API {kind} test (`perfmon run --type {kind}` selects it)")
    wi: dict[str, Any] | None = getattr(config, "workerinput", None)
    remote = wi is not None and bool(wi.get("perfmon_runner"))
    try:
        cfg = load_config(_remote_config_file(config, wi) if remote else _config_file(config),
                          profile=(wi or {}).get("perfmon_profile") or config.getoption("perf_profile"),
                          target_db=config.getoption("perf_target_db"),
                          environment=config.getoption("perf_env"), store=config.getoption("perf_store"),
                          base_url=config.getoption("base_url", None))
    except PerfmonError as exc:
        user_error(exc, config)
    try:
        shard, run_id = _sharding(config, wi)
    except PerfmonError as exc:
        user_error(exc, config)
    cfg = replace(cfg, shard=shard)
    if iterations := config.getoption("perf_iterations"):
        cfg = replace(cfg, profile=replace(cfg.profile, browser_iterations=iterations))
    try:
        cfg = with_overrides(cfg, config.getoption("perf_users"), config.getoption("perf_duration"),
                             flags=("--perf-users", "--perf-duration"))
        cfg.accounts.check()  # a password variable named but not set: before anything runs
    except PerfmonError as exc:
        user_error(exc, config)
    if mode := config.getoption("perf_regressions"):
        cfg = replace(cfg, regressions=mode)
    opt = config.getoption
    endpoints: tuple[str, ...] = ()
    if given := opt("perf_browser_ws") or [read("PERFMON_BROWSER_WS") or ""]:
        from ..browser.remote import parse_endpoints  # Playwright comes with it: only when asked for

        try:
            endpoints = parse_endpoints(given)
        except PerfmonError as exc:
            user_error(exc, config)
    browser = BrowserOptions(network=opt("perf_network"), cpu_throttle=opt("perf_cpu_throttle"),
                             tracing=opt("perf_tracing") != "off", servers=opt("perf_browsers"), endpoints=endpoints)
    process = config.stash[PROCESS] = ProcessContext.open(cfg, browser, wi, run_id=run_id)
    if wi is not None and threading.current_thread() is threading.main_thread():
        config.pluginmanager.register(WorkerStop(local=not process.remote), STOP_PLUGIN)
    if wi is None:
        if threading.current_thread() is threading.main_thread():
            config.stash[SIGTERM] = signal.signal(signal.SIGTERM, _interrupt)
        config.stash[CONTROLLER] = Controller(cfg, process.files, run_id=process.run_id,
                                                   started_at=process.started_at)
        _prepare_status_line(config)
    if config.getoption("perf") or cfg.instrument_playwright:
        instrument_playwright(config)
    config.pluginmanager.register(BrokenSuite(config), "perfmon-broken-suite")
    if wi is None:
        if config.pluginmanager.hasplugin("xdist"):
            hooks = XdistHooks(process, config.stash[CONTROLLER], user_error)
            config.pluginmanager.register(hooks, "perfmon-xdist")
            config.pluginmanager.register(hooks.stop, STOP_PLUGIN)
            if config.getoption("numprocesses", None):
                share_worker_bytecode(cfg.root)  # before xdist starts the workers, at session start


def _prepare_status_line(config: pytest.Config) -> None:
    """Keep the terminal's stderr as it is now, before any test's capture, for the controller's status
    line, and count finished tests for it (not under -q)."""
    if config.option.verbose >= 0:
        config.stash[LIVE_FD] = os.dup(2)
        config.pluginmanager.register(config.stash[CONTROLLER].tally, "perfmon-tally")


def _config_file(config: pytest.Config) -> Path | None:
    """``--perf-config``, else the nearest config at or above the test paths given (as pytest looks for
    its ini file from its arguments), else at or above pytest's rootdir and the working directory."""
    if given := config.getoption("perf_config"):
        return Path(given)
    here = config.invocation_params.dir
    paths = [here / arg.split("::", 1)[0] for arg in config.args if not arg.startswith("-")]
    for start in [*paths, config.rootpath, here]:
        if (found := find_config_file(start if start.is_dir() else start.parent)) is not None:
            return found
    return None


def _sharding(config: pytest.Config, workerinput: dict[str, Any] | None) -> tuple[Shard | None, str | None]:
    """This runner's shard of a sharded run and the run id all shards share (options, else environment)."""
    if workerinput is not None and workerinput.get("perfmon_shard"):  # a remote worker sees no environment
        return Shard.parse(workerinput["perfmon_shard"]), None
    text = config.getoption("perf_shard") or read("PERFMON_SHARD")
    given = config.getoption("perf_run_id") or read("PERFMON_RUN_ID")
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
    if (process := config.stash.get(PROCESS, None)) is not None:
        process.close()
    if (fd := config.stash.get(LIVE_FD, None)) is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
    if isinstance(hooks := config.pluginmanager.get_plugin("perfmon-xdist"), XdistHooks):
        hooks.stop.restore()
    if (previous := config.stash.get(SIGTERM, None)) is not None:
        signal.signal(signal.SIGTERM, previous)


def pytest_sessionstart(session: pytest.Session) -> None:
    if (controller := session.config.stash.get(CONTROLLER, None)) is None:
        return
    opt = session.config.getoption
    try:
        if remote_workers(session.config) and not controller.config.base_url:
            raise ConfigError("xdist workers on other hosts cannot reach the bundled app on this machine's loopback; "
                              "serve the target where they can reach it and pass --base-url (or BASE_URL)")
        controller.start(load=opt("perf_load"), load_script=opt("perf_load_script"),
                         load_on_start=opt("perf_load_on_start"),
                         browser_endpoints=session.config.stash[PROCESS].browser.endpoints,
                         store=not opt("perf_no_store"))
    except PerfmonError as exc:
        controller.close()  # pytest runs no sessionfinish after a failed sessionstart: stop the app it started
        user_error(exc, session.config)
    if (fd := session.config.stash.get(LIVE_FD, None)) is not None:
        controller.start_live(fd)
    workers = opt("numprocesses", None) if session.config.pluginmanager.hasplugin("xdist") else None
    if session.config.pluginmanager.has_plugin(SUITES_PLUGIN):  # said once, and recorded with the run
        from .suites import caveats

        controller.warnings += caveats(session.config, workers if isinstance(workers, int) else 1)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        for warning in controller.warnings:
            reporter.write_line(warning, yellow=True)
    if isinstance(workers, int) and workers > 1 and reporter is not None and _runs_journeys(session.config):
        if (line := controller.calibration_warning(workers)) is not None:
            reporter.write_line(line, yellow=True)


def _workers(config: pytest.Config) -> int:
    """The session's xdist workers (1 without xdist): the advice for a busy client depends on it."""
    found = config.getoption("numprocesses", None) if config.pluginmanager.hasplugin("xdist") else None
    return found if isinstance(found, int) and found > 0 else 1


def _runs_journeys(config: pytest.Config) -> bool:
    """Whether the paths pytest was given include the browser suite (or nothing narrower than its folder)."""
    suite = (config.stash[PROCESS].config.root / config.stash[PROCESS].config.suites.browser).resolve()
    given = [Path(a.split("::")[0]).resolve() for a in config.args] or [Path.cwd()]
    return any(p == suite or suite in p.parents or p in suite.parents for p in given)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # Fail before any journey starts when Chromium is not there: one line, not one error per test.
    journeys = [item for item in items if "perf" in getattr(item, "fixturenames", ())]
    if journeys and (problem := chromium_problem() or _perf_beside_playwright(config, journeys)) is not None:
        if CONTROLLER in config.stash:
            user_error(problem, config)
        # An xdist worker cannot stop the session: it leaves the journeys out (every worker alike, so
        # collections still match) and notes the error, which the controller reports once.
        config.stash[PROCESS].files.note_user_error(problem)
        config.hook.pytest_deselected(items=journeys)
        items[:] = [item for item in items if item not in journeys]


def _perf_beside_playwright(config: pytest.Config, journeys: list[pytest.Item]) -> PerfmonError | None:
    """A test asking for ``perf`` and pytest-playwright's page without ``--perf``: two browsers, one unmeasured."""
    if config.pluginmanager.has_plugin(SUITES_PLUGIN) or not config.pluginmanager.hasplugin("playwright"):
        return None
    for item in journeys:
        if uses := playwright_context_used(getattr(item, "fixturenames", ())):
            return ConfigError(f"{item.nodeid} uses `perf` beside pytest-playwright's `{uses}`: run it with --perf "
                               "(or instrument_playwright = true) so both are the same measured page")
    return None


def pytest_report_header(config: pytest.Config) -> str | None:
    """What the run will do, before it does it: the profile, its scenarios' lengths, the config read."""
    if (process := config.stash.get(PROCESS, None)) is None:
        return None
    cfg = process.config
    return (f"perfmon: {cfg.profile.describe()}; API scenarios at this profile: {cfg.scenario_lengths()}; config: "
            f"{cfg.source or 'built-in defaults (no perfmon.toml found)'}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_journeys(metafunc)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    record = item.stash[RECORD] = Record(item.nodeid)
    item.stash[REPORTS] = {}
    with turn(item):
        yield
    if _kept(item, record) and not item.config.stash[PROCESS].remote:  # a remote one's went with its report
        item.config.stash[PROCESS].log.append(record)
    # Items live until the session ends; their measurements must not (a browser iteration's live
    # histograms are megabytes, times every test a worker runs).
    del item.stash[RECORD]
    del item.stash[REPORTS]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A ConfigError the test met through perfmon's API (an unknown scenario, more shards than a scenario
    has users) is a usage error, one line and exit 2, as it is met in a fixture.

    In an xdist worker, a test that Ctrl-C or SIGTERM stopped (a scenario the engine stopped, a journey
    cut mid-step) ends as skipped and stops the worker's session (xdist hands that to the controller),
    instead of the worker dying of KeyboardInterrupt: xdist counted that as a crash, a failed test and
    a lost iteration, although what the test measured is kept."""
    try:
        return (yield)
    except ConfigError as exc:  # perf_api.run(scenario=...) met the config's error: a usage error, exit 2
        met = exc
    except KeyboardInterrupt:
        if not isinstance(stop := item.config.pluginmanager.get_plugin(STOP_PLUGIN), WorkerStop):
            raise
        # The load engine stopped its scenario gracefully; a browser journey was cut mid-step. Either way
        # what it measured is in its record, which says it was interrupted.
        if (record := item.stash.get(RECORD, None)) is not None:
            record.interrupted = True
        stop.note_asked()
        pytest.skip("perfmon: interrupted; what the test measured is kept in the run")
    user_error(met, item)  # outside the handler: one line, not "During handling of the above exception"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    rep = yield
    if REPORTS in item.stash:
        item.stash[REPORTS][rep.when] = rep
    process = item.config.stash[PROCESS]
    lost = _lost_browser(item, call) if rep.failed and rep.when != "teardown" else None
    if lost is not None:
        # Every journey after this fails the same way: one line each, the session stops, and the run is
        # the bench's failure (unmeasured, exit 3), not the release's (it was 300 lines and FAILED).
        process.files.note_bench_broken(lost)
        item.session.shouldstop = f"perfmon: {lost}"
        rep.longrepr = f"perfmon: {lost}"
    elif rep.failed and rep.when == "call" and call.excinfo is not None and (record := item.stash.get(RECORD, None)):
        # The test's own failure, in the run's Errors block: a broken journey is named, not timed.
        record.errors.append(Failure(kind=call.excinfo.type.__name__, message=failure_message(call.excinfo.value),
                                     where=where_raised(call.excinfo.value, item.config.rootpath), count=1,
                                     first_at=time.time(), source=item.nodeid))
    if rep.when == "setup" and call.excinfo is not None and call.excinfo.errisinstance(pytest.FixtureLookupError):
        process.files.note_user_error(missing_fixture(item, call.excinfo.value))
    elif rep.when == "setup" and rep.failed and lost is None and call.excinfo is not None and \
            not call.excinfo.errisinstance(KeyboardInterrupt) and (broken := setup_error(item, call.excinfo.value)):
        process.files.note_user_error(broken)  # the test's own fixtures failed: it never ran
    if rep.when == "call" and (record := item.stash.get(RECORD, None)) is not None and record.kind is not None:
        rep.user_properties.append((MEASURED, True))  # the controller's status line counts perfmon's tests only
    if process.remote:
        record = item.stash.get(RECORD, None)
        ship_to_controller(rep, process, record if record is not None and _kept(item, record) else None)
    return rep


def _kept(item: pytest.Item, record: Record) -> bool:
    """Whether the test's record joins the run: not when it measured nothing, nor when the test skipped
    (its context showed an empty page), unless a signal cut it (skipped, with what it measured kept)."""
    skipped = any(rep.skipped for rep in item.stash.get(REPORTS, {}).values())
    return record.measured and (not skipped or record.interrupted)


_DROPPED = "the browser server closed the connection"  # browser/thin.py's words for a socket that ended


def _lost_browser(item: pytest.Item, call: pytest.CallInfo[None]) -> str | None:
    """Why this process's browser is gone, when it is (its server died or its connection dropped): the
    browser says it is disconnected, or the error is the websocket client's own "closed the connection"
    (browser/thin.py; the browser hears of it only on the next call into its event loop)."""
    found = item.config.stash.get(BROWSER, None)
    if found is None:
        return None
    browser, host = found
    dropped = call.excinfo is not None and _DROPPED in str(call.excinfo.value)
    try:
        if browser.is_connected() and not dropped:
            return None
    except Exception:  # noqa: BLE001 - a connection too broken to answer is as gone
        pass
    where = "this machine's browser" if host == LOCAL else f"the browser server at {host}"
    return (f"{where} went away during the run (at {item.nodeid}); the journeys after it could not run: restart "
            "it and run again")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if (controller := config.stash.get(CONTROLLER, None)) is None:
        return
    from ..pipeline import Outputs

    process = config.stash[PROCESS]
    # Under `perfmon run`, pytest's 5 (not in perfmon's table) is a usage error; plain pytest keeps its own 5.
    # (Unless a worker met a user error first: a Chromium that cannot start collects nothing either.)
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and read("PERFMON_EXIT_FILE") and \
            process.files.user_error() is None:
        controller.close()
        config.stash[OUTCOME] = SessionOutcome(None, UserError(
            "no test was selected, so nothing was measured; check -k, -m and the test paths (perfmon run "
            "--type T runs the tests marked perf_T under the API suite)", ExitCode.USAGE))
        session.exitstatus = ExitCode.USAGE
        return
    try:
        report_dir = config.getoption("perf_report_dir") or process.config.root / process.config.report_dir
        outputs = Outputs(store=not config.getoption("perf_no_store"), report_dir=report_dir)
        code = pytest.ExitCode
        outcome = config.stash[OUTCOME] = controller.finish(
            interrupted=exitstatus == code.INTERRUPTED, tests_failed=exitstatus == code.TESTS_FAILED,
            metadata={**process.browser.recorded(), "workers": _workers(config)}, outputs=outputs)
        decided = outcome.session_exit_code(tests_failed=session.exitstatus == code.TESTS_FAILED,
                                            interrupted=exitstatus == code.INTERRUPTED)
        if decided is not None:
            session.exitstatus = decided
    finally:
        controller.close()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if (outcome := config.stash.get(OUTCOME, None)) is None:
        return
    if outcome.concluded is not None or outcome.said:
        terminalreporter.section("perfmon", sep="=", bold=True)
    for line, style in outcome.lines():
        terminalreporter.write_line(line, red=style == "fail", green=style == "pass", bold=line.startswith("ERROR"))


