"""Contention measured on the real machine (perfmon/system/contention.py): a busy process sharing
the cores with more busy processes than there are cores waits on the run queue for much of the time
it wants a CPU, and the sampler records that wait for the role the process plays."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from perfmon import Metrics
from perfmon.core.metrics import Trend
from perfmon.system.contention import RunQueueWait, schedstat_available
from perfmon.system.resources import Sampler

pytestmark = pytest.mark.skipif(not schedstat_available(), reason="this kernel keeps no scheduler statistics")


def busy() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def test_a_process_sharing_the_cores_with_burners_waits_and_the_sampler_says_so() -> None:
    target = busy()
    burners = [busy() for _ in range(2 * (os.cpu_count() or 1))]  # 2n+1 busy processes on n cores
    metrics = Metrics()
    try:
        waits = RunQueueWait()
        waits.sample([target.pid])
        with Sampler(metrics, interval_s=0.5, target_pid=target.pid, watch_self=False):
            time.sleep(2.5)
        waited = waits.sample([target.pid])
    finally:
        for proc in (target, *burners):
            proc.kill()
            proc.wait()
    # Each of 2n+1 equal processes gets at most n/(2n+1) < 1/2 of a core: it waits for over half the time.
    assert waited.share is not None and waited.share > 0.3, waited
    recorded = metrics.select_tags("process_cpu_wait_share", {"role": "target"})
    assert isinstance(recorded, Trend) and (recorded.stat("max") or 0) > 0.3, recorded

