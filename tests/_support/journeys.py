"""The API journeys the engine's tests drive against the bundled app, and a short scenario to run them."""

from __future__ import annotations

from perfmon.core.config import Scenario
from perfmon.load import Client, VirtualUser

__all__ = ["journey", "log_in", "scenario"]


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
