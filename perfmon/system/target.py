"""The system under test: a given ``BASE_URL``, checked, or the bundled app, started.

The bundled app is started as a command (``target_command`` in the config, by default
``{python} -m demo_app --port {port}``), never imported: perfmon works the same against any
local app that can be started from a shell, as Lighthouse CI's ``startServerCommand`` does.
"""

from __future__ import annotations

import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from ..core.config import check_base_url
from ..core.env import environ
from ..core.errors import ConfigError, TargetError

__all__ = ["check_reachable", "free_port", "start_local_target", "wait_healthy"]

_START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def check_reachable(base_url: str, timeout_s: float = 10.0) -> None:
    """Raise :class:`TargetError` unless ``base_url`` accepts connections (any answer, or none in time)."""
    check_base_url(base_url)
    try:
        # A server that accepts the connection but never answers is reachable: the run will measure it hang.
        httpx.get(base_url, timeout=httpx.Timeout(timeout_s, read=3.0), follow_redirects=False)
    except httpx.ReadTimeout:
        return
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = type(exc).__name__
        raise TargetError(
            f"BASE_URL {base_url} is unreachable ({reason}: {exc}); start the app there or unset BASE_URL "
            "to test the bundled app"
        ) from None


def start_local_target(
    command: str, *, cwd: Path, health_path: str = "/healthz", env: Mapping[str, str] | None = None,
    log_dir: Path | None = None,
) -> dict[str, Any]:
    """Start the target on a free loopback port and wait until ``health_path`` answers 200.

    ``env`` is added to this process's environment (the bundled app reads its DEMO_* knobs there). Its
    log goes to ``log_dir`` (a session's own folder, removed with it), else to the temp directory."""
    port = free_port()
    argv = shlex.split(command.format(python=shlex.quote(sys.executable), port=port))
    log = Path(tempfile.mkstemp(prefix="perfmon-target-", suffix=".log", dir=log_dir)[1])
    with log.open("wb") as out:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                    env={**environ(), **(env or {}), "PYTHONUNBUFFERED": "1"})
        except OSError as exc:
            raise ConfigError(f"cannot start the target with {command!r}: {exc}; fix target_command") from None
    url = f"http://127.0.0.1:{port}"
    if wait_healthy(proc, url + health_path):
        return {"base_url": url, "pid": proc.pid, "pids": [proc.pid], "log": str(log)}
    if proc.poll() is not None:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise TargetError(f"the target app exited with code {proc.returncode} at start: {tail[0]} "
                          f"(log: {_kept(log, log_dir)})")
    proc.kill()
    raise TargetError(f"the target app did not answer {url}{health_path} within {_START_TIMEOUT_S:.0f}s "
                      f"(log: {_kept(log, log_dir)})")


def wait_healthy(proc: subprocess.Popen[Any], health_url: str, timeout_s: float = _START_TIMEOUT_S) -> bool:
    """Wait until a just-started app answers ``health_url`` with 200; False when it exited first or
    ``timeout_s`` passed (the caller tells which by ``proc.poll()``)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(health_url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


def _kept(log: Path, log_dir: Path | None) -> Path:
    """A failed start's log, where it outlives the session folder it was written in."""
    if log_dir is None:
        return log
    kept = Path(tempfile.gettempdir()) / f"perfmon-target-failed-{log.stem.rsplit('-', 1)[-1]}.log"
    shutil.copyfile(log, kept)
    return kept
