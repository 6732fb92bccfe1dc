"""Processes shared by every pytest-xdist worker of one session: the target app, browser servers.

pytest-xdist's own advice for once-per-session resources: the first worker to need one starts
it under a file lock and records it in a JSON file; later workers read the file. The
controller (or the only process, without xdist) owns the directory and stops everything
recorded there when the session ends. Processes run in their own process group so stopping
one also stops its children (a browser's renderers, uvicorn's workers).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

__all__ = ["shared_service", "stop_shared_process", "stop_shared_services"]


def shared_service(directory: Path, name: str, start: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The record of service ``name``, starting it with ``start()`` if no worker has yet.

    ``start`` returns a JSON-able dict that includes ``pids`` (process-group leaders to stop)."""
    directory.mkdir(parents=True, exist_ok=True)
    record = directory / f"{name}.json"
    with FileLock(str(directory / f"{name}.lock")):
        if record.is_file():
            data: dict[str, Any] = json.loads(record.read_text())
            if "error" in data:
                raise _error_from(data)
            return data
        try:
            data = start()
        except Exception as exc:
            # Remember the failure so the other 49 workers do not each try again.
            record.write_text(json.dumps({"error": str(exc), "type": type(exc).__name__}))
            raise
        tmp = record.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(record)
        return data


def _error_from(data: dict[str, Any]) -> Exception:
    from ..core import errors

    cls = getattr(errors, str(data.get("type")), None)
    if isinstance(cls, type) and issubclass(cls, errors.PerfmonError):
        return cls(data["error"])
    return errors.PerfmonError(data["error"])


def stop_shared_services(directory: Path, grace_s: float = 5.0) -> None:
    """Stop every process group recorded under ``directory`` (SIGTERM, then SIGKILL)."""
    pids: list[int] = []
    for record in directory.glob("*.json"):
        try:
            pids.extend(int(p) for p in json.loads(record.read_text()).get("pids", []))
        except (OSError, ValueError, TypeError):
            continue
    stop_shared_process(*pids, grace_s=grace_s)


def stop_shared_process(*pids: int, grace_s: float = 5.0) -> None:
    """Stop these process groups: SIGTERM, then SIGKILL after ``grace_s``."""
    for pid in pids:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead: a service started by an xdist worker is that worker's child, which reaps it only when
    # it exits after the controller has stopped its services; counted alive, every session's end waited
    # the whole grace period (5 s of every run, and of every Ctrl-C). psutil only here: workers import
    # this module, and stay light until a test needs more (tests/e2e/test_worker_imports.py).
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False
