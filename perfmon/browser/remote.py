"""Browsers on other hosts: Playwright browser servers named by their ``ws://`` endpoints.

``--perf-browser-ws`` points the journeys at browser servers started elsewhere (``perfmon
browser-server`` on each host, or Playwright's own ``launch-server`` / ``run-server``); each worker
connects to one of them, in turn, with the same client a local shared server gets. An endpoint's
path is the server's only secret (Playwright makes it a random token), so what the run records of a
browser host is its ``host:port``, never the full URL.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from ..core.errors import BrowserError, ConfigError
from .launch import endpoint_label

__all__ = ["check_endpoint", "endpoint_label", "parse_endpoints", "serve_browser"]


def parse_endpoints(values: Iterable[str]) -> tuple[str, ...]:
    """Every endpoint of repeated and comma-separated ``--perf-browser-ws`` values, checked for shape."""
    found: list[str] = []
    for value in values:
        for url in (part.strip() for part in value.split(",")):
            if not url:
                continue
            try:
                parts = urlsplit(url)
                port = parts.port
            except ValueError:  # a port that is not a number, an IPv6 bracket left open
                parts, port = urlsplit(""), None
            if parts.scheme not in ("ws", "wss") or not parts.hostname or port is None:
                raise ConfigError(f"--perf-browser-ws {endpoint_label(url)!r} is not a browser server endpoint; "
                                  "give the whole endpoint `perfmon browser-server` printed (ws, host, port and path)")
            if url not in found:
                found.append(url)
    return tuple(found)


def check_endpoint(url: str, timeout_s: float = 5.0) -> None:
    """Raise :class:`BrowserError` (one line) unless the endpoint's host accepts connections."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 0
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    raise BrowserError(f"the browser server at {endpoint_label(url)} is unreachable ({reason}); start it there "
                       "with `perfmon browser-server --host ADDRESS` or fix --perf-browser-ws")


def serve_browser(host: str, port: int, *, ready: Callable[[str], None], ws_path: str | None = None) -> int:
    """Run one browser server (Debian's Chromium, the closed-network flags) until SIGINT or SIGTERM.

    ``ready`` gets its endpoint once it listens. Its path is ``ws_path`` or a fresh random token: only
    those given the endpoint can drive the browser. Returns the server's exit code (0 when stopped)."""
    from ..system.services import stop_shared_process
    from .launch import start_browser_server

    path = ws_path or f"/perfmon-{secrets.token_urlsafe(18)}"
    if not path.startswith("/") or len(path) < 17 or any(c in path for c in "?# "):
        raise ConfigError("--ws-path must start with / and be at least 16 characters after it (it is the "
                          "endpoint's only secret), without ?, # or spaces")
    server = start_browser_server(listen={"host": host, "port": port, "wsPath": path})
    pid = int(server["pid"])
    ready(str(server["ws_endpoint"]))
    stopping: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: stopping.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == pid:  # the server died on its own: say so through the exit code
                return os.waitstatus_to_exitcode(status) or 1
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    stop_shared_process(pid)
    return 0
