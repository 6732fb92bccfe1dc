"""CPU time by role between passes (perfmon/system/cputime.py), on real processes: short-lived
children are counted through their parent's reaped-children time, and never twice."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from perfmon.system.cputime import CpuAccount

# A parent that runs one child start to end (reaped before any pass sees it), then a second one that a
# pass sees running, and reaps it when told; it waits for a last line before it exits.
PARENT = """
import subprocess, sys
burn = [sys.executable, "-c", "import time\\nwhile time.process_time() < 0.4: pass"]
subprocess.run(burn)
seen = subprocess.Popen(burn)
print("running", flush=True)
sys.stdin.readline()
seen.wait()
print("reaped", flush=True)
sys.stdin.readline()
"""


def test_a_child_that_lives_between_two_passes_is_counted_once() -> None:
    """A renderer that starts and exits between two passes used CPU too (the journey cost said "browser
    0.00 CPU-s" for sub-second journeys); one seen alive and then reaped is not counted twice. The
    account must equal what the kernel says the parent and everything it reaped used."""
    account = CpuAccount()
    account.sample({})  # the first pass only primes
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert parent.stdin is not None and parent.stdout is not None
    try:
        assert parent.stdout.readline().strip() == "running"
        tree = psutil.Process(parent.pid)
        [child] = tree.children()
        # A pass while it runs, part-way through its 0.4 s (user and system: the kernel splits the time
        # between them by ticks, so either alone can stay small).
        while sum(child.cpu_times()[:2]) < 0.1 and child.status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.01)
        first = account.sample({"runner": [tree, child]})["runner"].cpu_s
        parent.stdin.write("\n")
        parent.stdin.flush()
        assert parent.stdout.readline().strip() == "reaped"
        second = account.sample({"runner": [tree]})["runner"].cpu_s
        t = tree.cpu_times()  # the kernel's own total for the parent and all it reaped
        whole = t.user + t.system + t.children_user + t.children_system
        parent.stdin.write("\n")
        parent.stdin.flush()
    finally:
        parent.wait(timeout=30)
    assert whole > 0.8  # both children's 0.4 s are in it
    assert first > 0.45  # the unseen child (0.4 s) and the seen one so far (0.1 s or more)
    assert first + second == pytest.approx(whole, abs=0.02), (first, second, whole)
