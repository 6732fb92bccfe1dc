"""The API journeys the engine's tests drive against the bundled app, and a short scenario to run them."""

from __future__ import annotations

from perfmon.core.config import Scenario
from perfmon.load import Client, VirtualUser

__all__ = ["LONG_JOURNEYS", "journey", "log_in", "scenario"]

# A browser test file whose journeys take about 5 s each (visits of /login with pauses; some 20 s for
# all on two workers): long enough to be cut mid-run by a signal or by the browser server going away.
LONG_JOURNEYS = """
import time

import pytest


@pytest.mark.parametrize("n", range(8))
def test_page(perf, n):
    for _ in range(6):
        perf.page.goto("/login")
        time.sleep(0.8)
"""


async def log_in(client: Client, user: VirtualUser) -> None:
    r = await client.post("/api/auth/login", json={"email": user.email, "password": user.password})
    r.raise_for_status()
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"


async def journey(client: Client, user: VirtualUser) -> None:
    r = await client.get("/api/dashboard")
    user.check(r, {"status 200": lambda r: r.status_code == 200})
    await client.post("/api/forms/submit", json={"form_id": 1 + user.index % 20})


def scenario(**kw: object) -> Scenario:
    # A short pause: users without one saturate the generator, and such a run is unmeasured.
    base: dict[str, object] = {"name": "t", "executor": "constant-vus", "vus": 4, "duration_s": 2.0,
                               "think_time_s": 0.02}
    base.update(kw)
    return Scenario(**base)  # type: ignore[arg-type]
