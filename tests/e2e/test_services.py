"""Stopping the processes a session shared (perfmon.system.services): a service an xdist worker started
is that worker's child, and dies as a zombie until the worker exits; stopping it must not wait for that."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from perfmon.system.services import stop_shared_process

# A parent that starts a child in its own process group, prints its pid, and never reaps it (as a worker that
# started the app or a browser server, still alive while the controller stops them).
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
print(child.pid, flush=True)
time.sleep(600)
"""


def test_a_service_that_died_as_a_zombie_is_stopped_without_waiting_the_grace_period() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        began = time.monotonic()
        stop_shared_process(child, grace_s=30)
        waited = time.monotonic() - began
        assert psutil.Process(child).status() == psutil.STATUS_ZOMBIE  # dead, not yet reaped by its parent
        # Before, a zombie counted as alive: the whole grace period (5 s at each session's end) went by.
        assert waited < 25, waited
    finally:
        parent.kill()
        parent.wait()
