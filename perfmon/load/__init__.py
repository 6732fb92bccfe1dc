"""HTTP-level load: k6 workload models driving async Python scripts.

``run_load_test``, ``run_stress_test``, ``run_spike_test`` and ``run_endurance_test`` read the
scenario from the config (scaled by the profile), run it against ``base_url`` and return
:class:`~perfmon.PerformanceTestResults`::

    async def journey(client, user):
        r = await client.get("/api/dashboard", headers={"Authorization": f"Bearer {user.token}"})
        user.check(r, {"status is 200": lambda r: r.status_code == 200})

    results = run_load_test(journey, on_start=login, users=100, duration="10m", base_url=url)
    assert results.metrics.p95_response_time < 2000

Underneath, the load generator (``perfmon.loadgen``) only measures; ``api.py`` hands its measurements
to the pipeline (``perfmon.pipeline``), which judges them.
"""

from __future__ import annotations

from ..core.names import endpoint_name
from ..loadgen.client import Client, RequestError, Response
from ..loadgen.engine import Engine, EngineOptions, Journey, VirtualUser
from ..loadgen.measure import measure_scenario
from .api import (
    run_endurance_test,
    run_load_test,
    run_scenario,
    run_spike_test,
    run_stress_test,
    run_test,
)
from .capacity import (
    BreakingPoint,
    Capacity,
    CapacitySearch,
    CapacityStep,
    SearchStep,
    find_breaking_point,
    find_capacity,
)
from .perf_api import PerfApi

__all__ = [
    "BreakingPoint",
    "Capacity",
    "CapacitySearch",
    "CapacityStep",
    "Client",
    "Engine",
    "EngineOptions",
    "Journey",
    "PerfApi",
    "RequestError",
    "Response",
    "SearchStep",
    "VirtualUser",
    "endpoint_name",
    "find_breaking_point",
    "find_capacity",
    "measure_scenario",
    "run_endurance_test",
    "run_load_test",
    "run_scenario",
    "run_spike_test",
    "run_stress_test",
    "run_test",
]
