"""Contention read from the kernel (perfmon/system/contention.py): the shares it derives, and what
it says where the kernel does not keep the statistics."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from perfmon.system.contention import CpuPressure, RunQueueWait, Waited, contended, schedstat_available


def test_the_wait_share_is_of_the_time_the_threads_wanted_a_cpu() -> None:
    assert Waited(run_s=0.4, wait_s=0.6).share == pytest.approx(0.6)
    assert Waited(run_s=1.0, wait_s=0.0).share == 0.0
    assert Waited(run_s=0.0, wait_s=0.0).share is None  # idle threads: no say either way


def test_cpu_pressure_is_the_stalled_share_between_two_passes(tmp_path: Path) -> None:
    psi = tmp_path / "cpu"
    pressure = CpuPressure(psi)
    psi.write_text("some avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\nfull avg10=0.00 avg60=0.00 "
                   "avg300=0.00 total=0\n")
    assert pressure.sample(10.0) is None  # the first pass only primes
    psi.write_text("some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\n")
    assert pressure.sample(12.0) == pytest.approx(0.25)  # 0.5 s stalled in 2 s
    assert CpuPressure(tmp_path / "absent").sample(1.0) is None  # a kernel without PSI


@pytest.mark.skipif(not schedstat_available(), reason="this kernel keeps no scheduler statistics")
def test_a_thread_is_counted_from_the_pass_after_it_was_first_seen() -> None:
    waits = RunQueueWait()
    assert waits.sample([os.getpid()]) == Waited(0.0, 0.0)  # primed: a lifetime's totals are not one pass
    sum(i * i for i in range(300_000))  # some CPU of its own
    assert waits.sample([os.getpid()]).run_s > 0
    assert waits.sample([2**22 + 7]) == Waited(0.0, 0.0)  # a process that is gone (or never was)


def test_a_second_is_contended_when_the_client_waited_for_most_of_what_it_wanted_or_a_neighbour_took_the_cpu() -> None:
    # On two cores a journey's own processes wait for 0.57-0.69 of what they want with nobody else about.
    quiet = Waited(run_s=0.5, wait_s=0.7)
    assert not contended(quiet, neighbour_cores=0.05, cores=2)
    assert contended(quiet, neighbour_cores=1.2, cores=2)  # a burner outside perfmon took the CPU meanwhile
    assert not contended(quiet, neighbour_cores=1.2, cores=16)  # ... which is no crowd on sixteen cores
    assert contended(Waited(run_s=0.2, wait_s=0.9), neighbour_cores=0.0, cores=2)  # too many journeys at once
    assert not contended(Waited(run_s=0.9, wait_s=0.1), neighbour_cores=1.9, cores=2)  # it got what it wanted
    assert not contended(Waited(run_s=0.0, wait_s=0.0), neighbour_cores=2.0, cores=2)  # it wanted nothing
