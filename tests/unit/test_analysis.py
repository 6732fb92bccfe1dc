
from __future__ import annotations

import pytest

from perfmon import Metrics, Trend
from perfmon.analysis import memory_growth, recovery_time
from perfmon.core.config import Scenario, Stage
from perfmon.core.metrics import WINDOW_S

SPIKE = Scenario(name="spike", executor="ramping-vus",
                 stages=(Stage(30, 10), Stage(5, 50), Stage(20, 50), Stage(5, 10), Stage(60, 10)))


def latency_profile(recover_after_s: float) -> Trend:
    """p95 50 ms before, 800 ms during the spike (30-60 s), back to 50 ms ``recover_after_s`` after it."""
    t = Trend()
    for second in range(120):
        slow = 30 <= second < 60 + recover_after_s
        for _ in range(20):
            t.record(800.0 if slow else 50.0, 1_000_000 + second)
    return t


@pytest.mark.parametrize("lag", [0, 10, 25])
def test_recovery_time_is_measured_from_the_end_of_the_spike(lag: int) -> None:
    got = recovery_time(latency_profile(lag), SPIKE.stages, started_at=1_000_000)
    assert got is not None
    assert lag <= got <= lag + 2 * WINDOW_S


def test_no_recovery_is_none() -> None:
    assert recovery_time(latency_profile(1000), SPIKE.stages, started_at=1_000_000) is None


def test_memory_growth_slope() -> None:
    m = Metrics()
    for second in range(60):
        m.trend("process_rss_mb", {"role": "target"}).record(100 + second * 2, 1_000_000 + second)  # 120 MB/min
        m.trend("process_rss_mb", {"role": "runner"}).record(80, 1_000_000 + second)
    assert memory_growth(m, "target") == pytest.approx(120, rel=0.1)
    assert memory_growth(m, "runner") == pytest.approx(0, abs=1)
    assert memory_growth(m, "browser") is None
