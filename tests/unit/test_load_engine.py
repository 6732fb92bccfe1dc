


"""The load engine against the real bundled app over loopback: short, bounded runs."""
from __future__ import annotations

import pytest

from perfmon import Metrics, Trend
from perfmon.core.config import Stage
from perfmon.load import Client, VirtualUser, endpoint_name
from tests._support.journeys import journey, log_in, scenario


def test_endpoint_names_fold_ids() -> None:
    assert endpoint_name("/api/forms/17") == "/api/forms/{id}"
    assert endpoint_name("/api/couples/3f2b8c1e-1111-2222-3333-444455556666/notes") == "/api/couples/{id}/notes"
    assert endpoint_name("/api/dashboard?x=1") == "/api/dashboard"


@pytest.mark.parametrize(("changes", "cores", "expected"), [
    ({"executor": "constant-arrival-rate", "rate": 100.0, "duration_s": 600.0}, 8, 1),  # one process's share
    ({"executor": "constant-arrival-rate", "rate": 20000.0, "duration_s": 60.0}, 8, 3),  # 20,000/s: 3 shares
    ({"executor": "constant-arrival-rate", "rate": 20000.0, "duration_s": 60.0}, 2, 2),  # never past the cores
    ({"executor": "constant-arrival-rate", "rate": 20000.0, "duration_s": 1.0}, 8, 1),  # too short to repay
    ({"executor": "ramping-arrival-rate", "rate": 10.0, "stages": (Stage(60, 100), Stage(60, 30000))}, 8, 4),
    ({"vus": 50, "think_time_s": 0.0, "duration_s": 30.0}, 8, 7),  # closed, no think time: a request a ms each
    ({"vus": 50, "think_time_s": 1.0, "duration_s": 3600.0}, 8, 1),  # 50 requests a second
    ({"executor": "per-vu-iterations", "vus": 50, "think_time_s": 0.0, "iterations": 10}, 8, 1),  # 500 in all
], ids=["light", "heavy", "two-cores", "short", "ramp", "closed-busy", "closed-thinking", "few-iterations"])
def test_auto_processes_follow_the_scenarios_rate_or_users(changes: dict[str, object], cores: int,
                                                           expected: int) -> None:
    from perfmon.loadgen.processes import auto_processes

    assert auto_processes(scenario(**changes), journey, log_in, cores=cores) == expected

    async def local(client: Client, user: VirtualUser) -> None:  # cannot go to another process
        await client.get("/healthz")

    assert auto_processes(scenario(**changes), local, None, cores=cores) == 1


def test_every_server_timing_metric_is_kept_the_first_as_the_servers_own_time() -> None:
    metrics = Metrics()
    client = Client(None, metrics, base_url="http://127.0.0.1:1")  # type: ignore[arg-type]  # no request is sent
    client._record_server("/a", "GET", "200", 'app;dur=12.5;desc="all", db-pool;dur=3, cache;desc=hit, db;dur=bad')
    found = {(name, tags.get("metric")): t.sum for name, tags, t in metrics.series() if isinstance(t, Trend)}
    assert found == {("http_req_server_duration", None): 12.5, ("http_req_server_timing", "db-pool"): 3.0}
