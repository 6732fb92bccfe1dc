"""The pytest plugin: wires pytest and pytest-xdist to the library, nothing more.

Controller (or the only process without xdist): loads the config, owns the session
directory, samples CPU and memory, and at the end merges every worker's records into ONE
run, judges it, stores it, prints the summary and fails the session when a threshold fails.
Workers: run tests, append one record per finished test, never touch the store.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from .config import Config, load_config
from .errors import PerfmonError
from .measurements import MeasurementLog, Record, read_records
from .metrics import Metrics
from .results import PerformanceTestResults, Run, new_run_id
from .runner import StoredRun, assemble_run, browser_thresholds, judge, store_run, summary_lines
from .sampling import Sampler
from .shared import shared_service, stop_shared_services
from .store import open_store
from .store.postgres import redact

__all__ = ["PerfApi", "PerfState"]


@dataclass
class PerfState:
    config: Config
    run_id: str
    session_dir: Path
    controller: bool
    worker_id: str
    started_at: float = field(default_factory=time.time)
    log: MeasurementLog | None = None
    sampler: Sampler | None = None
    lost_iterations: int = 0
    run: Run | None = None
    stored: StoredRun | None = None
    error: str | None = None
    background: BackgroundLoad | None = None
    interrupted: bool = False
    flushed: list[str] = field(default_factory=list)
    alerted: bool | None = None
    report_path: str | None = None

    @property
    def records_dir(self) -> Path:
        return self.session_dir / "records"

    @property
    def services_dir(self) -> Path:
        return self.session_dir / "services"


state_key = pytest.StashKey[PerfState]()
current_key = pytest.StashKey[Metrics]()
report_key = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfmon", "performance measurement (perfmon)")
    group.addoption("--perf-profile", default=None, help="profile: smoke, ci or release (default: PERFMON_PROFILE "
                    "or release)")
    group.addoption("--perf-env", default=None, help="environment recorded with the run (default: PERFMON_ENV or "
                    "development)")
    group.addoption("--perf-store", default=None, help="result store URL (default: PERFMON_STORE or "
                    "sqlite:///.perfmon/results.db)")
    group.addoption("--perf-config", default=None, type=Path, help="perfmon.toml or pyproject.toml to read")
    group.addoption("--perf-browsers", default=None, type=_browsers_arg,
                    help="Chromium servers shared by all workers (0: a browser per worker; default: one server "
                    "per 16 workers under xdist, which bench/README.md measured steadier in memory)")
    group.addoption("--perf-iterations", default=None, type=_browsers_arg,
                    help="iterations of each browser journey per virtual user (default: the profile's)")
    group.addoption("--perf-load", default=None, metavar="SCENARIO",
                    help="hybrid run: drive this API scenario from the controller while the journeys run")
    group.addoption("--perf-load-script", default="tests/api_perf/journeys.py:supplier_journey",
                    metavar="FILE.py:FUNC", help="the journey --perf-load runs (default: %(default)s)")
    group.addoption("--perf-load-on-start", default="tests/api_perf/journeys.py:log_in", metavar="FILE.py:FUNC",
                    help="run once per virtual user of --perf-load (default: %(default)s); 'none' for nothing")
    group.addoption("--perf-report-dir", default=None, type=Path,
                    help="where reports go (default: perf-reports/ next to the config)")
    group.addoption("--perf-network", default=None, choices=["slow3g", "fast3g", "slow4g"],
                    help="throttle every journey's network through CDP (recorded with the run)")
    group.addoption("--perf-cpu-throttle", default=None, type=float, metavar="N",
                    help="slow every journey's CPU N times through CDP (recorded with the run)")
    group.addoption("--perf-tracing", default="retain-on-failure", choices=["retain-on-failure", "off"],
                    help="Playwright traces: kept for failed iterations only (default), or not recorded at all")
    group.addoption("--perf-no-store", action="store_true", help="judge and print the run but do not store it")
    # --base-url is pytest-playwright's (or pytest-base-url's) option; perfmon reads it.


def _browsers_arg(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise pytest.UsageError(f"expected a whole number, not {text!r}") from None
    if n < 0:
        raise pytest.UsageError(f"expected 0 or more, not {n}")
    return n


def _worker_input(config: pytest.Config) -> dict[str, Any] | None:
    wi: dict[str, Any] | None = getattr(config, "workerinput", None)
    return wi


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "perf: a performance test measured by perfmon")
    try:
        cfg = load_config(
            config.getoption("perf_config"),
            profile=config.getoption("perf_profile"),
            environment=config.getoption("perf_env"),
            store=config.getoption("perf_store"),
            base_url=config.getoption("base_url", None),
        )
    except PerfmonError as exc:
        raise pytest.UsageError(str(exc)) from None
    iterations = config.getoption("perf_iterations")
    if iterations:
        cfg = replace(cfg, profile=replace(cfg.profile, browser_iterations=iterations))
    wi = _worker_input(config)
    if wi is not None:
        st = PerfState(cfg, wi["perfmon_run_id"], Path(wi["perfmon_dir"]), controller=False,
                       worker_id=str(wi.get("workerid", "gw")), started_at=float(wi["perfmon_started_at"]))
    else:
        st = PerfState(cfg, new_run_id(), Path(tempfile.mkdtemp(prefix="perfmon-session-")), controller=True,
                       worker_id="main")
    st.log = MeasurementLog(st.records_dir, st.worker_id)
    config.stash[state_key] = st
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(st), "perfmon-xdist")


class _XdistHooks:
    def __init__(self, st: PerfState) -> None:
        self.st = st

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["perfmon_dir"] = str(self.st.session_dir)
        node.workerinput["perfmon_run_id"] = self.st.run_id
        node.workerinput["perfmon_started_at"] = self.st.started_at

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: Any, sched: Any) -> None:
        self.st.lost_iterations += 1


def pytest_sessionstart(session: pytest.Session) -> None:
    st = session.config.stash[state_key]
    if not st.controller:
        return
    base_url = st.config.base_url
    if base_url:
        # Fail before 50 workers start, with one line, when the given target is not there.
        from .target import check_reachable

        try:
            check_reachable(base_url)
        except PerfmonError as exc:
            raise pytest.UsageError(str(exc)) from None
    st.sampler = Sampler(Metrics(), target_pid=lambda: _target_record(st).get("pid"))
    st.sampler.start()
    scenario = session.config.getoption("perf_load")
    if scenario:
        try:
            st.background = _start_background_load(session.config, st, scenario)
        except PerfmonError as exc:
            raise pytest.UsageError(str(exc)) from None


def _start_background_load(config: pytest.Config, st: PerfState, scenario: str) -> BackgroundLoad:
    from .load.engine import Engine, run_in_background
    from .load.scripts import load_callable

    sc = st.config.scenario(scenario)
    sc = replace(sc, thresholds=tuple(replace(t, metric=_with_tag(t.metric, "scenario", sc.name))
                                      for t in sc.thresholds))
    journey = load_callable(config.getoption("perf_load_script"), root=st.config.root)
    on_start_ref = config.getoption("perf_load_on_start")
    on_start = None if on_start_ref in (None, "", "none") else load_callable(on_start_ref, root=st.config.root)
    target = _session_target(st)
    run = Run(test_type=scenario, environment=st.config.environment, profile=st.config.profile.name,
              base_url=target["base_url"])
    # No live progress: it would interleave with pytest's own output on the controller.
    engine = Engine(journey, sc, base_url=target["base_url"], on_start=on_start, metrics=run.metrics,
                    target_pid=target.get("pid"), progress=False)
    return BackgroundLoad(engine, run, run_in_background(engine, run), list(sc.thresholds))


@dataclass
class BackgroundLoad:
    engine: Any
    run: Run
    thread: Any
    thresholds: list[Any]

    def finish(self) -> Record:
        self.engine.stop_threadsafe()
        self.thread.join(timeout=self.engine.graceful_stop_s + 10)
        return Record("background-load", self.run.test_type, self.run.metrics, self.thresholds,
                      {"vus": self.engine.schedule.max_vus(), "stop_reason": None})


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # Fail before any journey starts when Chromium is not there: one line, not one error per test.
    browser_items = [item for item in items if "perf" in getattr(item, "fixturenames", ())]
    if not browser_items:
        return
    from .browser import chromium_executable

    try:
        chromium_executable()
    except PerfmonError as exc:
        st = config.stash[state_key]
        if st.controller:
            raise pytest.UsageError(str(exc)) from None
        # An xdist worker cannot stop the session cleanly: it leaves the journeys out (every worker
        # alike, so collections still match) and tells the controller, which reports one line.
        (st.session_dir / "preflight-error.txt").write_text(str(exc))
        config.hook.pytest_deselected(items=browser_items)
        items[:] = [item for item in items if item not in browser_items]


# --- per test: a fresh metrics registry, flushed as one record when the test ends -----------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    metrics = Metrics()
    item.stash[current_key] = metrics
    item.stash[report_key] = {}
    yield
    st = item.config.stash[state_key]
    kind = item.stash.get(_kind_key, None)
    if kind is not None and len(metrics) and st.log is not None:
        st.log.append(Record(item.nodeid, kind, metrics, item.stash.get(_thresholds_key, []),
                             item.stash.get(_extra_key, {})))
    # Items live until the session ends; their measurements must not (a browser iteration's live
    # histograms are megabytes, times every test a worker runs).
    keys: tuple[pytest.StashKey[Any], ...] = (current_key, report_key, _kind_key, _thresholds_key, _extra_key)
    for key in keys:
        if key in item.stash:
            del item.stash[key]


_kind_key = pytest.StashKey[str]()
_thresholds_key = pytest.StashKey[list[Any]]()
_extra_key = pytest.StashKey[dict[str, Any]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    rep = yield
    item.stash.setdefault(report_key, {})[rep.when] = rep
    return rep


# --- the end of the session -------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    st = session.config.stash[state_key]
    if not st.controller:
        return
    try:
        if st.sampler is not None:
            st.sampler.stop()
        preflight = st.session_dir / "preflight-error.txt"
        if preflight.is_file():
            st.error = preflight.read_text()
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
        base_url = _target_record(st).get("base_url") or st.config.base_url
        records = list(read_records(st.records_dir))
        st.interrupted = any(r.extra.get("interrupted") for r in records)
        if st.background is not None:
            records.append(st.background.finish())
        assembled = assemble_run(records, st.config, run_id=st.run_id, started_at=st.started_at, base_url=base_url)
        if assembled is None:
            return
        run, thresholds = assembled
        run.finished_at = time.time()
        for option in ("perf_network", "perf_cpu_throttle", "perf_tracing"):
            value = session.config.getoption(option)
            if value is not None:
                run.metadata[option.removeprefix("perf_")] = value
        if st.sampler is not None:
            run.metrics.merge(st.sampler.metrics)
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or st.interrupted
        judge(run, thresholds, lost_iterations=st.lost_iterations,
              saturation=st.sampler.saturation if st.sampler else None, interrupted=interrupted,
              tests_failed=exitstatus == pytest.ExitCode.TESTS_FAILED,
              unreliable_saturation=st.config.unreliable_saturation)
        st.run = run
        if not session.config.getoption("perf_no_store"):
            st.stored = store_run(run, st.config)
            if not st.stored.spooled:
                st.flushed = _flush_quietly(st.config)
        _write_reports(session.config, st, run)
        if run.status != "passed":
            _alert(st, run)
        if (run.failed_thresholds or (st.stored and st.stored.spooled)) and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    finally:
        stop_shared_services(st.services_dir)
        shutil.rmtree(st.session_dir, ignore_errors=True)


def _write_reports(config: pytest.Config, st: PerfState, run: Run) -> None:
    from .report import write_reports

    history = []
    if st.stored is not None and not st.stored.spooled:
        try:
            store = open_store(st.config.store, root=st.config.root)
            try:
                history = store.history(test_type=run.test_type, environment=run.environment, limit=20)
            finally:
                store.close()
        except PerfmonError:
            history = []
    root = config.getoption("perf_report_dir") or st.config.root / "perf-reports"
    try:
        st.report_path = str(write_reports(run, root, history=history).html)
    except OSError as exc:
        st.error = f"could not write the report under {root}: {exc}; pass --perf-report-dir to a writable folder"


def _flush_quietly(config: Config) -> list[str]:
    """Runs spooled earlier go in now the store answers again; a failure leaves them spooled."""
    from .runner import flush_spool

    try:
        return flush_spool(config)
    except PerfmonError:
        return []


def _alert(st: PerfState, run: Run) -> None:
    from .monitor import PerformanceMonitor

    monitor = PerformanceMonitor(gates=st.config.monitor)
    if not monitor.webhook_url:
        return
    problems = [f"{o.threshold.metric}: {o.threshold.expression} (observed {o.observed})"
                for o in run.failed_thresholds]
    problems += [str(r) for r in run.metadata.get("stop_reasons", [])]
    if not problems:
        problems = [f"run ended {run.status}"]
    st.alerted = monitor.send_performance_alert(run.results(), problems, st.report_path)


def _target_record(st: PerfState) -> dict[str, Any]:
    path = st.services_dir / "target.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    except (OSError, ValueError):
        return {}


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    st = config.stash.get(state_key, None)
    if st is not None and st.error:
        terminalreporter.write_line(f"ERROR: {st.error}", red=True, bold=True)
    if st is None or st.run is None:
        return
    tr = terminalreporter
    tr.section("perfmon", sep="=", bold=True)
    for line in summary_lines(st.run):
        red = "FAIL" in line or "UNRELIABLE" in line
        tr.write_line(line, red=red, green=line.lstrip().startswith("PASS"))
    if st.stored is not None:
        if st.stored.spooled:
            tr.write_line(f"store failed: {st.stored.problem}", red=True)
            tr.write_line(f"the run was kept in {st.stored.where}; `perfmon flush` sends it when the store is back",
                          red=True)
        else:
            tr.write_line(f"stored in {redact(st.stored.where)} (see: perfmon history)")
    if st.report_path:
        tr.write_line(f"report: {st.report_path}")
    if st.flushed:
        tr.write_line(f"also sent {len(st.flushed)} run(s) spooled earlier: {', '.join(st.flushed)}")
    if st.alerted is not None:
        tr.write_line("alert sent to PERFMON_ALERT_WEBHOOK" if st.alerted else
                      "alert to PERFMON_ALERT_WEBHOOK failed (the run is stored all the same)", red=not st.alerted)
    failed = st.run.failed_thresholds
    if failed:
        names = ", ".join(f"{o.threshold.metric}: {o.threshold.expression}" for o in failed)
        tr.write_line(f"perfmon: FAILED thresholds: {names}", red=True, bold=True)
        if st.run.metadata.get("browser_metrics_unreliable") and any(
                o.threshold.metric.startswith("browser_") for o in failed):
            share = st.run.client_saturation or 0.0
            tr.write_line(f"perfmon: the client CPU was saturated {share:.0%} of the run, so the browser numbers "
                          "say more about this machine than the app: use fewer workers (-n) or a bigger runner",
                          red=True)


# --- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def perf_config(pytestconfig: pytest.Config) -> Config:
    """The resolved perfmon config (file, env, options), profile applied by ``scenario()``."""
    return pytestconfig.stash[state_key].config


def _session_target(st: PerfState) -> dict[str, Any]:
    if st.config.base_url:
        return {"base_url": st.config.base_url.rstrip("/"), "pid": None}
    from .target import start_local_target

    return shared_service(st.services_dir, "target",
                          lambda: start_local_target(st.config.target_command, cwd=st.config.root))


@pytest.fixture(scope="session")
def perf_target(pytestconfig: pytest.Config) -> dict[str, Any]:
    """The target: ``{"base_url", "pid"}``. The bundled app is started once for all workers."""
    try:
        return _session_target(pytestconfig.stash[state_key])
    except PerfmonError as exc:
        pytest.exit(f"perfmon: {exc}", returncode=2)


@pytest.fixture(scope="session")
def perf_base_url(perf_target: dict[str, Any]) -> str:
    url: str = perf_target["base_url"]
    return url


def _worker_index(st: PerfState) -> int:
    m = re.search(r"(\d+)$", st.worker_id)
    return int(m.group(1)) if m else 0


def _workers(config: pytest.Config) -> int:
    wi = _worker_input(config)
    if wi is not None:
        return int(wi.get("workercount", 1))
    return 1


@pytest.fixture
def perf_vu(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> int:
    """This iteration's virtual-user number (1-based): the ``vu`` parameter, else the worker's."""
    param = getattr(request.node, "callspec", None)
    if param is not None and "vu" in param.params:
        return int(param.params["vu"])
    return _worker_index(pytestconfig.stash[state_key]) + 1


@pytest.fixture
def perf_user(perf_vu: int) -> tuple[str, str]:
    """The seeded account of this virtual user, so sessions do not contend on one user."""
    return f"vu{((perf_vu - 1) % 500) + 1:04d}@example.com", "testpassword"


@pytest.fixture(scope="session")
def perf_browser(pytestconfig: pytest.Config) -> Iterator[Any]:
    """A Playwright Browser for this process: under xdist a connection to one of the browser
    servers all workers share (one per 16 workers, or ``--perf-browsers N``); alone, or with
    ``--perf-browsers 0``, a browser of its own."""
    from .browser import connect_browser, launch_browser, start_browser_server

    st = pytestconfig.stash[state_key]
    wanted = pytestconfig.getoption("perf_browsers")
    workers = _workers(pytestconfig)
    servers = (0 if workers == 1 else -(-workers // 16)) if wanted is None else wanted
    # Node.js young generations cost ~15 MB per driver or server by default; a 1 MB semi-space
    # keeps that down (bench/README.md has the figures).
    os.environ["NODE_OPTIONS"] = (os.environ.get("NODE_OPTIONS", "") + " --max-semi-space-size=1").strip()
    try:
        if servers == 0:
            browser, close = launch_browser()
        else:
            slot = _worker_index(st) % servers
            server = shared_service(st.services_dir, f"browser-{slot}", start_browser_server)
            browser, close = connect_browser(server["ws_endpoint"])
    except PerfmonError as exc:
        pytest.exit(f"perfmon: {exc}", returncode=2)
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


def _journey_name(item: pytest.Item) -> str:
    name = getattr(item, "originalname", item.name)
    return name.removeprefix("test_")


@pytest.fixture
def perf(request: pytest.FixtureRequest, perf_browser: Any, perf_context_args: dict[str, Any],
         perf_vu: int) -> Iterator[Any]:
    """One measured browser iteration: ``perf.page``, ``perf.step(name)``, ``perf.vitals()``,
    ``perf.navigation()``. A fresh context per iteration; evidence kept only when it fails."""
    from .browser import BrowserPerf

    item = request.node
    item.stash[_kind_key] = "browser"
    item.stash[_extra_key] = {"vus": _workers(request.config)}
    context = perf_browser.new_context(**perf_context_args)
    cfg = request.config
    bp = BrowserPerf(context, item.stash[current_key], journey=_journey_name(item),
                     network=cfg.getoption("perf_network"), cpu_throttle=cfg.getoption("perf_cpu_throttle"),
                     tracing=cfg.getoption("perf_tracing") != "off")
    try:
        yield bp
    finally:
        rep = item.stash.get(report_key, {}).get("call")
        failed = rep is None or rep.failed
        safe = re.sub(r"[^\w.-]+", "-", item.nodeid)[-120:]
        artifacts = Path(request.config.rootpath) / "test-results" / safe
        bp.finish(failed=failed, artifacts=artifacts,
                  thresholds=browser_thresholds(request.config.stash[state_key].config))
        context.close()
        extra = item.stash[_extra_key]
        extra["slowest"] = bp.slowest
        if (failed or bp.breaches) and artifacts.exists():
            extra["artifacts"] = [str(p) for p in sorted(artifacts.iterdir())]


class PerfApi:
    """``perf_api.run(journey, scenario="load")`` runs an API scenario inside a test."""

    def __init__(self, item: pytest.Item, config: Config, base_url: str, target_pid: int | None) -> None:
        self._item = item
        self.config = config
        self.base_url = base_url
        self._target_pid = target_pid

    def run(self, journey: Callable[..., Any], *, scenario: str = "load", on_start: Callable[..., Any] | None = None,
            test_type: str | None = None, **engine_kw: Any) -> PerformanceTestResults:
        from .load import run_scenario
        from .thresholds import Threshold

        sc = self.config.scenario(scenario)
        # Thresholds judge this scenario's own series inside the session's one run.
        tagged = tuple(
            replace(t, metric=_with_tag(t.metric, "scenario", sc.name)) if isinstance(t, Threshold) else t
            for t in sc.thresholds
        )
        sc = replace(sc, thresholds=tagged)
        metrics = self._item.stash[current_key]
        kind = test_type or (scenario if scenario in ("load", "stress", "spike", "endurance") else "load")
        engine_kw.setdefault("target_pid", self._target_pid)
        engine_kw.setdefault("progress", True)
        results = run_scenario(journey, sc, base_url=self.base_url, config=self.config, on_start=on_start,
                               test_type=kind, **engine_kw)
        assert results.run is not None
        metrics.merge(results.run.metrics)
        self._item.stash[_kind_key] = kind
        self._item.stash.setdefault(_thresholds_key, []).extend(sc.thresholds)
        interrupted = results.run.status == "interrupted"
        self._item.stash[_extra_key] = {"vus": results.concurrent_users, "interrupted": interrupted,
                                        "stop_reason": None if interrupted else results.run.metadata.get("stop_reason")}
        if interrupted:
            # The engine took Ctrl-C to stop gracefully; now stop the session too. What was measured is
            # recorded above and stored, marked interrupted.
            raise KeyboardInterrupt
        return results


    def find_breaking_point(self, journey: Callable[..., Any], *, scenario: str = "stress",
                            start_rate: float = 10.0, step_rate: float = 10.0, max_rate: float = 1000.0,
                            step_duration_s: float = 10.0, refine: int = 2, max_vus: int = 500,
                            on_start: Callable[..., Any] | None = None) -> Any:
        """Step the arrival rate up against the scenario's thresholds (see
        ``perfmon.load.find_breaking_point``); the capacity curve joins the session's run."""
        from .load import find_breaking_point

        sc = self.config.scenario(scenario)
        bp = find_breaking_point(journey, base_url=self.base_url, thresholds=sc.thresholds, start_rate=start_rate,
                                 step_rate=step_rate, max_rate=max_rate, step_duration_s=step_duration_s,
                                 refine=refine, max_vus=max_vus, on_start=on_start,
                                 environment=self.config.environment, profile=self.config.profile.name,
                                 target_pid=self._target_pid)
        self._item.stash[current_key].merge(bp.metrics)
        self._item.stash[_kind_key] = "stress"
        self._item.stash.setdefault(_extra_key, {})["breaking_point"] = {"scenario": scenario, **bp.to_dict()}
        return bp


def _with_tag(selector: str, key: str, value: str) -> str:
    if "{" in selector:
        return selector[:-1] + f",{key}:{value}}}"
    return f"{selector}{{{key}:{value}}}"


@pytest.fixture
def perf_api(request: pytest.FixtureRequest, perf_config: Config, perf_target: dict[str, Any]) -> PerfApi:
    """Run API load scenarios from a test; their metrics and thresholds join the session's run."""
    return PerfApi(request.node, perf_config, perf_target["base_url"], perf_target.get("pid"))


