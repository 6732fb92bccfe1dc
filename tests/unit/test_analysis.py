from __future__ import annotations

from collections.abc import Callable

import pytest

from perfmon import Metrics, Trend
from perfmon.analysis import memory_growth, recovery_time
from perfmon.core.config import Scenario, Stage
from perfmon.core.metrics import WINDOW_S
from perfmon.load import Client, EngineOptions, VirtualUser, run_scenario
from tests._support.apps import DemoApp

SPIKE = Scenario(name="spike", executor="ramping-vus",
                 stages=(Stage(30, 10), Stage(5, 50), Stage(20, 50), Stage(5, 10), Stage(60, 10)))

QUIET = EngineOptions(progress=False)


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


async def page(client: Client, user: VirtualUser) -> None:
    await client.get("/login")


def test_soak_finds_the_leak(demo_factory: Callable[..., DemoApp]) -> None:
    """An endurance run against the app with DEMO_LEAK_KB_PER_REQ reports the target's memory growth."""
    sc = Scenario(name="soak", executor="constant-arrival-rate", rate=100, duration_s=25, max_vus=50, think_time_s=0)
    steady = demo_factory()
    leaky = demo_factory(DEMO_LEAK_KB_PER_REQ="32")  # 100 requests/s x 32 KB = ~190 MB per minute
    grew = {}
    for name, app in (("steady", steady), ("leaky", leaky)):
        res = run_scenario(page, sc, base_url=app.url, test_type="endurance",
                           options=EngineOptions(progress=False, target_pid=app.pid))
        assert res.run is not None
        g = res.run.metrics.select("memory_growth_mb_per_min{role:target,scenario:soak}")
        assert g is not None
        grew[name] = g.stat("value")
    assert grew["leaky"] is not None and grew["leaky"] > 100
    assert grew["steady"] is not None and grew["steady"] < 20
