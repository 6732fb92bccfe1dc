"""Finding Chromium and starting shared browser servers.

Playwright's own browser download cannot work offline, so perfmon uses Debian's Chromium:
``chromium-headless-shell`` first (what Playwright runs headless), then the full
``chromium``; where a machine has the internet and ran ``playwright install chromium``, that
download is used when the system has none. ``PERFMON_CHROMIUM`` overrides them all. The flags stop Chromium's background
traffic, which a closed network answers with a flood of refused connections.

A browser *server* (``playwright launch-server``) lets many pytest-xdist workers share a few
browsers through ``browser_type.connect``: each worker keeps its own contexts, but 50 workers
no longer pay for 50 browser and GPU processes.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..core.env import read
from ..core.errors import BrowserError

__all__ = ["CHROMIUM_ARGS", "chromium_executable", "connect_browser", "endpoint_label", "launch_browser",
           "launch_options", "start_browser_server"]

CHROMIUM_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
)
_CANDIDATES = (
    "/usr/lib/chromium/chromium-headless-shell",
    "/usr/bin/chromium-headless-shell",
    "/usr/bin/chromium",
    "/usr/lib/chromium/chromium",
)


def chromium_executable() -> str:
    override = read("PERFMON_CHROMIUM")
    if override:
        if not os.access(override, os.X_OK):
            raise BrowserError(f"PERFMON_CHROMIUM={override} is not an executable; point it at a Chromium binary")
        _check_version(override)
        return override
    for path in _CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("chromium") or shutil.which("chromium-headless-shell") or _playwright_download()
    if found:
        return found
    raise BrowserError(
        "Chromium was not found; install it with `sudo apt-get install chromium-headless-shell`, or where this "
        "machine has the internet `playwright install chromium` (or set PERFMON_CHROMIUM to a Chromium binary)"
    )


def _playwright_download() -> str | None:
    """The newest Chromium ``playwright install`` downloaded (headless shell first), if there is one."""
    root = Path(read("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache" / "ms-playwright")
    for pattern in ("chromium_headless_shell-*/chrome-*/headless_shell", "chromium-*/chrome-*/chrome"):
        found = sorted(root.glob(pattern), key=lambda p: p.parts[-3], reverse=True)
        if runnable := [str(p) for p in found if os.access(p, os.X_OK)]:
            return runnable[0]
    return None


@functools.cache
def _check_version(exe: str) -> None:
    """A binary given by hand must say it is Chromium before 50 workers try to drive it."""
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30, check=False)
        said = (out.stdout + out.stderr).strip()
    except (OSError, subprocess.SubprocessError) as exc:
        said, out = str(exc), None
    if out is None or out.returncode != 0 or "chrom" not in said.lower():
        first = said.splitlines()[0] if said else "it printed no version"
        raise BrowserError(f"Chromium at {exe} failed to start: {first}; point PERFMON_CHROMIUM at a Chromium binary")


def launch_options(extra_args: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"executable_path": chromium_executable(), "headless": True, "args": [*CHROMIUM_ARGS, *extra_args]}


def start_browser_server(timeout_s: float = 60.0, log_dir: Path | None = None,
                         listen: dict[str, Any] | None = None) -> dict[str, Any]:
    """Start ``playwright launch-server`` with Debian's Chromium; returns its ws endpoint and pid.

    ``listen`` (``host``, ``port``, ``wsPath``) is where it listens; by default loopback, a free port
    and a random path. Its config file is removed once the server has read it. Its log goes to ``log_dir`` (a session's
    own folder, removed with it), else to a temp file removed once the server is up (a failed start
    keeps it and names it)."""
    opts = launch_options()
    config = {"executablePath": opts["executable_path"], "headless": True, "args": opts["args"], **(listen or {})}
    cfg = Path(tempfile.mkstemp(prefix="perfmon-browser-", suffix=".json", dir=log_dir)[1])
    cfg.write_text(json.dumps(config))
    log = cfg.with_suffix(".log")
    try:
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "playwright", "launch-server", "--browser", "chromium", "--config", str(cfg)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and proc.poll() is None:
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("ws://"):
                    if log_dir is None:
                        log.unlink()  # the server keeps writing to the open file; nobody reads it
                    return {"ws_endpoint": line.strip(), "pid": proc.pid, "pids": [proc.pid]}
            time.sleep(0.05)
    finally:
        cfg.unlink(missing_ok=True)  # read at start: after the ws line, or after a failed start
    proc.kill()
    tail = (log.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
    exe = opts["executable_path"]
    raise BrowserError(f"the Chromium browser server did not start ({tail}; log: {log}); check `{exe} --version`")


def launch_browser() -> tuple[Any, Callable[[], None]]:
    """A browser of this process's own (and its Playwright driver); returns it and its closer."""
    from playwright.sync_api import Error

    options = launch_options()
    try:
        return _with_driver(lambda pw: pw.chromium.launch(**options))
    except Error as exc:
        first = (exc.message or str(exc)).strip().splitlines()[0]
        raise BrowserError(f"Chromium at {options['executable_path']} failed to start: {first}") from None


def endpoint_label(url: str) -> str:
    """``host:port`` of a browser server's endpoint: what is printed and stored (its path is its token)."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:  # not a URL at all: its scheme and host part, never its path
        netloc = url.split("://", 1)[-1].split("/", 1)[0]
    return netloc.rpartition("@")[2] or url.split("/")[0]


def connect_browser(ws_endpoint: str) -> tuple[Any, Callable[[], None]]:
    """A connection to a shared browser server; returns the Browser and its closer.

    Straight over the websocket when this Playwright release allows it (see ``thin.py``: no
    Node.js driver per worker), else through Playwright's own driver-backed ``connect()``."""
    from .thin import ThinConnection, thin_client_supported

    try:
        if thin_client_supported() and not read("PERFMON_PLAYWRIGHT_DRIVER"):
            conn = ThinConnection(ws_endpoint)
            return conn.browser, _in_turn(conn.browser.close, conn.close)
        return _with_driver(lambda pw: pw.chromium.connect(ws_endpoint))
    except Exception as exc:  # noqa: BLE001 - whatever answered, one line that never holds the endpoint's path
        label = endpoint_label(ws_endpoint)
        said = (str(exc).strip().splitlines() or [type(exc).__name__])[0].replace(ws_endpoint, label)
        raise BrowserError(f"the browser server at {label} did not answer as a Playwright browser server ({said}); "
                           "check --perf-browser-ws against the line `perfmon browser-server` printed") from None


def _with_driver(open_browser: Callable[[Any], Any]) -> tuple[Any, Callable[[], None]]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = open_browser(pw)
    except BaseException:
        pw.stop()
        raise
    return browser, _in_turn(browser.close, pw.stop)


def _in_turn(*steps: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        for step in steps:
            step()
    return run
