"""The fast tier: every test here runs in this process. A test that starts a child process (a
subprocess, a fork, a multiprocessing worker) or opens a socket fails at once with a line saying
where it belongs: tests/e2e (the reference apps, Chromium, PostgreSQL, child processes) or
tests/reliability (faults, signals, hostile input)."""

from __future__ import annotations

import multiprocessing.process
import os
import platform
import socket
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests._support.apps import clean_env

__all__ = ["clean_env"]

# The interpreter asks `uname -p` once, lazily, the first time anything reads the platform (a run's
# context does): done here, before the guard, it is Python's own probe and not a test's child process.
platform.platform()

MOVE = "unit tests run in-process only; a test that needs {what} belongs in tests/e2e"


def _refuse(what: str) -> Callable[..., Any]:
    def refused(*args: Any, **kwargs: Any) -> Any:
        pytest.fail(MOVE.format(what=what), pytrace=True)

    return refused


@pytest.fixture(autouse=True)
def _in_process_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("a child process"))
    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "execv", "execve"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, _refuse("a child process"))
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", _refuse("a child process"))
    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, _refuse("the network (even loopback)"))
