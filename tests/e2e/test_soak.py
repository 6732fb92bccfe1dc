
from __future__ import annotations

from collections.abc import Callable

from perfmon.core.config import Scenario
from perfmon.load import Client, EngineOptions, VirtualUser, run_scenario
from tests._support.apps import DemoApp


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
