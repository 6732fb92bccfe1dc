"""API user scripts: plain async Python against an httpx-compatible client."""

from __future__ import annotations

from perfmon.load import Client, VirtualUser


async def log_in(client: Client, user: VirtualUser) -> None:
    """Once per virtual user: log in and keep the token."""
    r = await client.post("/api/auth/login", json={"email": user.email, "password": user.password})
    user.check(r, {"login 200": lambda r: r.status_code == 200})
    r.raise_for_status()
    user.token = r.json()["token"]
    client.headers["Authorization"] = f"Bearer {user.token}"


async def supplier_journey(client: Client, user: VirtualUser) -> None:
    """A supplier checks the dashboard, then a client sends an intake form."""
    r = await client.get("/api/dashboard")
    user.check(r, {"dashboard 200": lambda r: r.status_code == 200,
                   "has couples": lambda r: bool(r.json().get("couples"))})
    await user.sleep(0.5)
    r = await client.post("/api/forms/submit", json={"form_id": 1 + user.index % 20, "names": "Ava & Noah",
                                                      "guests": 120})
    user.check(r, {"submit 201": lambda r: r.status_code == 201})
