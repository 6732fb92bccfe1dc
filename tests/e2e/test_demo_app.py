"""The reference app over real HTTP: auth, pages, API and every fault knob."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests._support.apps import ADMIN, DemoApp


def login(url: str, email: str = "vu0042@example.com") -> str:
    r = httpx.post(f"{url}/api/auth/login", json={"email": email, "password": "testpassword"})
    assert r.status_code == 200
    token: str = r.json()["token"]
    return token


def test_login_dashboard_and_submit(clean_demo: DemoApp) -> None:
    url = clean_demo.url
    token = login(url)
    auth = {"Authorization": f"Bearer {token}"}
    dash = httpx.get(f"{url}/api/dashboard", headers=auth).json()
    assert dash["supplier"]["email"] == "vu0042@example.com" and len(dash["couples"]) == 12
    r = httpx.post(f"{url}/api/forms/submit", headers=auth, json={"form_id": 3, "names": "A & B"})
    assert r.status_code == 201 and r.json()["id"] > 0
    assert "app;dur=" in r.headers["server-timing"]


def test_auth_is_enforced(clean_demo: DemoApp) -> None:
    url = clean_demo.url
    assert httpx.post(f"{url}/api/auth/login", json={"email": "testuser@example.com", "password": "nope"}
                      ).status_code == 401
    assert httpx.get(f"{url}/api/dashboard").status_code == 401
    assert httpx.get(f"{url}/api/dashboard", headers={"Authorization": "Bearer forged"}).status_code == 401
    page = httpx.get(f"{url}/dashboard")
    assert page.status_code == 303 and page.headers["location"] == "/login"
    assert httpx.post(f"{url}/admin/faults", json={}).status_code == 403


def test_html_pages_after_form_login(clean_demo: DemoApp) -> None:
    with httpx.Client(base_url=clean_demo.url, follow_redirects=True) as c:
        r = c.post("/login", data={"email": "testuser@example.com", "password": "testpassword"})
        assert r.url.path == "/dashboard" and 'id="couples"' in r.text and "hero.svg" in r.text
        assert "<svg class=\"chart\"" in r.text
        assert 'id="submit-form"' in c.get("/forms/2").text


def test_added_latency_knob(clean_demo: DemoApp) -> None:
    clean_demo.set_faults(DEMO_LATENCY_MS="300")
    start = time.perf_counter()
    httpx.get(f"{clean_demo.url}/login")
    assert time.perf_counter() - start >= 0.3


def test_endpoint_latency_knob_slows_only_the_named_paths(clean_demo: DemoApp) -> None:
    def server_ms(path: str) -> float:
        r = httpx.get(f"{clean_demo.url}{path}")
        return float(r.headers["server-timing"].split("dur=")[1])

    clean_demo.set_faults(DEMO_ENDPOINT_LATENCY_MS="/login=250,/api/forms/submit=10")
    assert server_ms("/login") >= 250
    assert server_ms("/api/dashboard") < 250  # not named: no added latency
    faults = httpx.get(f"{clean_demo.url}/admin/faults", headers=ADMIN).json()
    assert faults["endpoint_latency_ms"] == {"/login": 250.0, "/api/forms/submit": 10.0}
    bad = httpx.post(f"{clean_demo.url}/admin/faults", json={"DEMO_ENDPOINT_LATENCY_MS": "login=5"}, headers=ADMIN)
    assert bad.status_code == 400 and "PATH=MS" in bad.json()["error"]
    clean_demo.set_faults(DEMO_ENDPOINT_LATENCY_MS="")
    assert server_ms("/login") < 250


def test_error_rate_knob(clean_demo: DemoApp) -> None:
    clean_demo.set_faults(DEMO_ERROR_RATE="0.5")
    # Unauthenticated on purpose: a request the injected failure spares is answered 401.
    codes = [httpx.get(f"{clean_demo.url}/api/dashboard").status_code for _ in range(200)]
    share = codes.count(500) / len(codes)
    assert 0.35 < share < 0.65 and set(codes) == {401, 500}


def test_bad_knob_value_is_rejected_at_runtime(clean_demo: DemoApp) -> None:
    r = httpx.post(f"{clean_demo.url}/admin/faults", json={"DEMO_ERROR_RATE": "2"}, headers=ADMIN)
    assert r.status_code == 400 and "between 0 and 1" in r.json()["error"]
    r = httpx.post(f"{clean_demo.url}/admin/faults", json={"DEMO_NOPE": "1"}, headers=ADMIN)
    assert r.status_code == 400 and "unknown knob" in r.json()["error"]


def test_leak_knob_grows_memory(clean_demo: DemoApp) -> None:
    before = clean_demo.stats()["leaked_bytes"]
    clean_demo.set_faults(DEMO_LEAK_KB_PER_REQ="64")
    for _ in range(20):
        httpx.get(f"{clean_demo.url}/login")
    assert clean_demo.stats()["leaked_bytes"] - before >= 20 * 64 * 1024


def test_knobs_from_environment_and_bad_env_exits(demo_factory: Callable[..., DemoApp]) -> None:
    app = demo_factory(DEMO_LATENCY_MS="200,0", DEMO_CLS="0.25")
    faults = httpx.get(f"{app.url}/admin/faults", headers=ADMIN).json()
    assert faults["latency_mean_ms"] == 200 and faults["cls"] == 0.25
    from perfmon import TargetError

    with pytest.raises(TargetError, match="exited with code 2 at start: demo_app: DEMO_ERROR_RATE='lots'"):
        demo_factory(DEMO_ERROR_RATE="lots")


def test_database_knobs_are_checked_and_an_unusable_database_is_one_line(
        demo_factory: Callable[..., DemoApp]) -> None:
    from perfmon import TargetError

    with pytest.raises(TargetError, match="DEMO_DB_MISSING_INDEX='2' must be between 0 and 1"):
        demo_factory(DEMO_DB_MISSING_INDEX="2")
    with pytest.raises(TargetError, match="DEMO_DB_POOL='0' must be between 1 and 100"):
        demo_factory(DEMO_DB_POOL="0")
    # Nothing listens on port 1: one line, the password hidden.
    hidden = r"cannot use DEMO_DATABASE_URL=postgresql://app:\*\*\*@127.0.0.1:1/wedsync"
    with pytest.raises(TargetError, match=hidden) as e:
        demo_factory(DEMO_DATABASE_URL="postgresql://app:s3cret@127.0.0.1:1/wedsync?connect_timeout=2")
    assert "s3cret" not in str(e.value)
