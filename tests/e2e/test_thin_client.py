"""The driverless connection to a shared browser server (perfmon/browser/thin.py), against a
real ``playwright launch-server`` and the bundled app: journeys must measure exactly as on a
local browser, evidence must still be kept, and failures must end calls instead of hanging."""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from playwright.sync_api import Error as PlaywrightError
from test_browser_vitals import log_in, visit

from perfmon import Metrics
from perfmon.browser import BrowserPerf, start_browser_server
from perfmon.browser.thin import ThinConnection, thin_client_supported
from perfmon.core.errors import BrowserError
from perfmon.core.thresholds import parse_thresholds
from tests._support.apps import DemoApp

pytestmark = pytest.mark.browser


def own_thread(test: Callable[..., None]) -> Callable[..., None]:
    """Run the test in a fresh thread: a sync Playwright connection owns its thread's event loop,
    and the session's local Chromium (test_browser_vitals) may hold this one's."""
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        errors: list[BaseException] = []

        def body() -> None:
            try:
                test(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the test's own thread
                errors.append(exc)

        thread = threading.Thread(target=body)
        thread.start()
        thread.join(120)
        assert not thread.is_alive(), "the test did not finish in 120 s"
        if errors:
            raise errors[0]
    return run


def node_children() -> int:
    count = 0
    for p in psutil.Process().children(recursive=True):
        try:
            count += p.name() == "node"
        except psutil.Error:  # exited between the listing and the read
            pass
    return count


def test_this_playwright_release_supports_the_thin_client() -> None:
    # If a Playwright upgrade moves the internals, perfmon falls back to a driver per worker:
    # correct, but ~60 MiB more per worker. This test makes that visible.
    assert thin_client_supported()


@own_thread
def test_a_journey_measures_over_the_thin_client_without_a_driver(browser_server: dict[str, Any],
                                                                   clean_demo: DemoApp) -> None:
    before = node_children()
    conn = ThinConnection(browser_server["ws_endpoint"])
    try:
        assert node_children() == before  # no Node.js process was started for this connection
        vitals, metrics = visit(conn.browser, clean_demo.url, "/dashboard")
        assert vitals["CLS"] == 0
        assert all(vitals[name] is not None and vitals[name] > 0 for name in ("LCP", "FCP", "TTFB"))
        assert metrics.select("browser_js_heap_mb") is not None  # CDP works through it too
        clean_demo.set_faults(DEMO_CLS="0.25")
        vitals, _ = visit(conn.browser, clean_demo.url, "/dashboard")
        assert vitals["CLS"] == pytest.approx(0.25, abs=0.02)
    finally:
        conn.browser.close()
        conn.close()


@own_thread
def test_closing_one_client_leaves_the_server_to_the_others(browser_server: dict[str, Any],
                                                             clean_demo: DemoApp) -> None:
    # Like two xdist workers; each sync connection runs its own event loop, so one per thread.
    endpoint, got = browser_server["ws_endpoint"], {}
    ready, first_closed = threading.Event(), threading.Event()

    def other_worker() -> None:
        conn = ThinConnection(endpoint)
        page = conn.browser.new_page()
        ready.set()
        first_closed.wait(30)
        got["ok"] = page.goto(clean_demo.url + "/login").ok
        conn.browser.close()
        conn.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert ready.wait(30)
    first = ThinConnection(endpoint)
    page = first.browser.new_page()
    first.browser.close()
    first.close()
    with pytest.raises(PlaywrightError):
        page.goto(clean_demo.url + "/login")
    first_closed.set()
    thread.join(60)
    assert got == {"ok": True}


@own_thread
def test_an_iteration_beyond_a_threshold_keeps_its_trace_over_the_thin_client(
        browser_server: dict[str, Any], clean_demo: DemoApp, tmp_path: Path) -> None:
    bounds = parse_thresholds({"browser_vital_lcp": ["p(75)<=2500"]})
    conn = ThinConnection(browser_server["ws_endpoint"])
    try:
        for delay in ("0", "2800"):
            clean_demo.set_faults(DEMO_LCP_DELAY_MS=delay)
            context = conn.browser.new_context(base_url=clean_demo.url)
            perf = BrowserPerf(context, Metrics(), journey="t", tracing=True)
            log_in(perf.page, "vu0009@example.com")
            perf.page.wait_for_timeout(int(delay) + 300)
            out = tmp_path / delay
            perf.finish(failed=False, artifacts=out, thresholds=bounds)
            context.close()
            if delay == "0":
                assert not out.exists() and perf.breaches == []
                continue
            assert {p.name for p in out.iterdir()} == {"breaches.txt", "failure.png", "trace.zip", "iteration.json"}
            assert "browser_vital_lcp: p(75)<=2500" in (out / "breaches.txt").read_text()
            with zipfile.ZipFile(out / "trace.zip") as z:  # what `playwright show-trace` opens
                assert any(name.endswith(".trace") for name in z.namelist())
    finally:
        conn.browser.close()
        conn.close()


@own_thread
def test_a_dead_server_ends_calls_instead_of_hanging(clean_demo: DemoApp) -> None:
    server = start_browser_server()
    conn = ThinConnection(server["ws_endpoint"])
    page = conn.browser.new_page()
    os.killpg(server["pid"], signal.SIGKILL)
    started = time.monotonic()
    with pytest.raises(PlaywrightError):
        page.goto(clean_demo.url + "/login", timeout=30_000)
    assert time.monotonic() - started < 10
    conn.close()


@own_thread
def test_an_endpoint_that_is_not_a_browser_server_is_one_clear_error(clean_demo: DemoApp) -> None:
    endpoint = clean_demo.url.replace("http://", "ws://") + "/nothing-here"
    with pytest.raises(BrowserError, match="cannot reach the browser server"):
        ThinConnection(endpoint)


def test_a_second_loop_in_one_thread_is_one_clear_error(chromium: Any, browser_server: dict[str, Any]) -> None:
    chromium.version  # noqa: B018 - the session's local sync Playwright is running in this thread
    with pytest.raises(BrowserError, match="already running in this thread"):
        ThinConnection(browser_server["ws_endpoint"])


@pytest.mark.parametrize("own_folder", [True, False])
def test_a_browser_server_leaves_no_file_in_the_temp_directory(tmp_path: Path, own_folder: bool,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    session = tmp_path / "session"
    session.mkdir()
    server = start_browser_server(log_dir=session if own_folder else None)
    try:
        assert server["ws_endpoint"].startswith("ws://")
        assert list(scratch.iterdir()) == []
        # The config is gone once read; the log stays only in a session folder (removed with it).
        assert [p.suffix for p in session.iterdir()] == ([".log"] if own_folder else [])
    finally:
        os.killpg(server["pid"], signal.SIGKILL)


def test_a_connected_worker_imports_no_aiohttp_httpx_or_numpy(browser_server: dict[str, Any]) -> None:
    """What a journey worker imports is paid once per worker: at -n 50 aiohttp's import alone (two TLS
    contexts) and httpx's (its CLI's rich and click) cost 10-15 CPU-s (bench/browser_pool.py)."""
    import subprocess
    import sys

    code = ("import sys\nfrom perfmon.browser.thin import ThinConnection\n"
            f"c = ThinConnection({browser_server['ws_endpoint']!r})\n"
            "c.browser.new_context().new_page().goto('about:blank')\nc.close()\n"
            "print(' '.join(m for m in ('aiohttp', 'httpx', 'numpy', 'websockets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["websockets"]


INTERRUPTED_IN_A_LISTENER = """
import os, signal, sys
from perfmon.browser.thin import ThinConnection
from perfmon.pytest_plugin.stopping import WorkerStop

stop = WorkerStop(local=False)  # an xdist worker's Ctrl-C handler, as the plugin installs it
connection = ThinConnection(sys.argv[1])
page = connection.browser.new_context().new_page()
page.on("request", lambda request: os.kill(os.getpid(), signal.SIGINT))
stop.in_call = True  # inside a test's call: the interrupt is raised into the test
try:
    page.goto(sys.argv[2] + "/login")
except KeyboardInterrupt:
    print("interrupted")
stop.in_call = False
other = connection.browser.new_context().new_page()  # the interrupted page may still be navigating
other.goto(sys.argv[2] + "/login")
print("still connected:", other.title())
connection.close()
"""


def test_ctrl_c_landing_in_an_event_listener_keeps_the_browser_connection(browser_server: dict[str, Any],
                                                                          clean_demo: DemoApp) -> None:
    """Playwright runs every event listener in a greenlet of its own; a KeyboardInterrupt raised there
    killed the task reading the connection, and the interrupted journey's worker then lost its browser
    ("the browser server closed the connection", at -n 50 about one run in five). The interrupt now
    reaches the test's waiting call, and the connection is still there for its teardown."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", INTERRUPTED_IN_A_LISTENER, browser_server["ws_endpoint"],
                           clean_demo.url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[0] == "interrupted" and "still connected:" in done.stdout, done.stdout
