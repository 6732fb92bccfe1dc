"""The system under test: a given ``BASE_URL``, checked, or the bundled app, started.

The bundled app is started as a command (``target_command`` in the config, by default
``{python} -m demo_app --port {port}``), never imported: perfmon works the same against any
local app that can be started from a shell, as Lighthouse CI's ``startServerCommand`` does.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .errors import TargetError

__all__ = ["check_reachable", "free_port", "start_local_target"]

_START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def check_reachable(base_url: str, timeout_s: float = 10.0) -> None:
    """Raise :class:`TargetError` unless ``base_url`` answers HTTP at all (any status)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(f"BASE_URL {base_url!r} is not an http(s) URL; write e.g. http://127.0.0.1:8000")
    try:
        httpx.get(base_url, timeout=timeout_s, follow_redirects=False)
    except httpx.HTTPError as exc:
        reason = type(exc).__name__
        raise TargetError(
            f"BASE_URL {base_url} is unreachable ({reason}: {exc}); start the app there or unset BASE_URL "
            "to test the bundled app"
        ) from None


def start_local_target(
    command: str, *, cwd: Path, health_path: str = "/healthz", env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Start the target on a free loopback port and wait until ``health_path`` answers 200.

    ``env`` is added to this process's environment (the bundled app reads its DEMO_* knobs there)."""
    port = free_port()
    argv = shlex.split(command.format(python=shlex.quote(sys.executable), port=port))
    log = Path(tempfile.mkstemp(prefix="perfmon-target-", suffix=".log")[1])
    with log.open("wb") as out:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                    env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"})
        except OSError as exc:
            raise TargetError(f"cannot start the target with {command!r}: {exc}; fix target_command") from None
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise TargetError(f"the target app exited with code {proc.returncode} at start: {tail[0]} (log: {log})")
        try:
            if httpx.get(url + health_path, timeout=2).status_code == 200:
                return {"base_url": url, "pid": proc.pid, "pids": [proc.pid], "log": str(log)}
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise TargetError(f"the target app did not answer {url}{health_path} within {_START_TIMEOUT_S:.0f}s (log: {log})")
