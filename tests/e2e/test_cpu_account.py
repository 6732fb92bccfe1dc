"""CPU time by role between passes (perfmon/system/cputime.py), on real processes: short-lived
children are counted through their parent's reaped-children time, and never twice."""

from __future__ import annotations

import resource
import subprocess
import sys
import time

import psutil
import pytest

from perfmon.system.cputime import CpuAccount


def burn_cpu(seconds: float) -> subprocess.Popen[bytes]:
    """A child that uses ``seconds`` of CPU time and exits."""
    return subprocess.Popen([sys.executable, "-c", f"import time\nwhile time.process_time() < {seconds}: pass"])


def test_a_child_that_lives_between_two_passes_is_counted_once() -> None:
    """A renderer that starts and exits between two passes used CPU too (the journey cost said "browser
    0.00 CPU-s" for sub-second journeys); one seen alive and then reaped is not counted twice."""
    me = psutil.Process()
    account = CpuAccount()
    primed = time.time()
    account.sample({"runner": [me]}, since=primed)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = time.process_time()
    unseen = burn_cpu(0.4)
    unseen.wait()  # started and reaped between two passes
    seen = burn_cpu(0.4)
    while seen.poll() is None and psutil.Process(seen.pid).cpu_times().user < 0.1:
        pass  # a pass while it runs: it is part of the role, counted whole since it began after the last pass
    first_at = time.time()
    first = account.sample({"runner": [me, *me.children()]}, since=primed)["runner"].cpu_s
    seen.wait()
    second = account.sample({"runner": [me]}, since=first_at)["runner"].cpu_s
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = (after_children.ru_utime + after_children.ru_stime) - (before_children.ru_utime
                                                                       + before_children.ru_stime)
    used = children + (time.process_time() - own)
    assert children > 0.75  # both children burnt their 0.4 s
    assert first + second == pytest.approx(used, abs=0.05), (first, second, used)
