"""Fixtures for perfmon's own tests (unit and reliability): the real bundled app over real HTTP,
real Chromium, a real browser server, each started per need. The suites' conftests import them."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from perfmon.system.services import stop_shared_services
from perfmon.system.target import start_local_target

ROOT = Path(__file__).resolve().parents[2]  # tests/_support/apps.py -> the checkout
ADMIN = {"Authorization": "Bearer perfmon-demo-admin"}
APP_COMMAND = "{python} -m demo_app --port {port}"


class DemoApp:
    def __init__(self, record: dict[str, Any]) -> None:
        self.url: str = record["base_url"]
        self.pid: int = record["pid"]
        self.record = record

    def set_faults(self, **knobs: str | float) -> None:
        r = httpx.post(f"{self.url}/admin/faults", json={k: str(v) for k, v in knobs.items()}, headers=ADMIN)
        r.raise_for_status()

    def stats(self, reset: bool = False) -> dict[str, Any]:
        r = httpx.get(f"{self.url}/admin/stats", params={"reset": reset}, headers=ADMIN)
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data


@pytest.fixture(scope="session")
def demo_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., DemoApp]]:
    """Start a bundled app with the given DEMO_* knobs; all are stopped at the end of the session."""
    services = tmp_path_factory.mktemp("services")
    started: list[DemoApp] = []

    def start(**env: str) -> DemoApp:
        record = start_local_target(APP_COMMAND, cwd=ROOT, env=env)
        (services / f"app-{len(started)}.json").write_text(json.dumps(record))
        app = DemoApp(record)
        started.append(app)
        return app

    yield start
    stop_shared_services(services)


@pytest.fixture(scope="session")
def demo(demo_factory: Callable[..., DemoApp]) -> DemoApp:
    """One shared app with no faults (tests that change knobs at runtime reset them)."""
    return demo_factory()


@pytest.fixture
def clean_demo(demo: DemoApp) -> Iterator[DemoApp]:
    demo.set_faults(DEMO_LATENCY_MS="0", DEMO_ERROR_RATE="0", DEMO_CAPACITY="0", DEMO_SERVICE_MS="0",
                    DEMO_STALL_EVERY_S="0", DEMO_STALL_MS="0", DEMO_LEAK_KB_PER_REQ="0", DEMO_LCP_DELAY_MS="0",
                    DEMO_CLS="0", DEMO_INP_MS="0", DEMO_ENDPOINT_LATENCY_MS="")
    yield demo
    demo.set_faults(DEMO_LATENCY_MS="0", DEMO_ERROR_RATE="0", DEMO_CAPACITY="0", DEMO_SERVICE_MS="0",
                    DEMO_STALL_EVERY_S="0", DEMO_STALL_MS="0", DEMO_LEAK_KB_PER_REQ="0", DEMO_LCP_DELAY_MS="0",
                    DEMO_CLS="0", DEMO_INP_MS="0", DEMO_ENDPOINT_LATENCY_MS="")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One real headless Chromium (Debian's) for the tests that open pages themselves."""
    from playwright.sync_api import sync_playwright

    from perfmon.browser import launch_options

    with sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def browser_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real shared browser server (``playwright launch-server`` with Debian's Chromium)."""
    from perfmon.browser import start_browser_server

    server = start_browser_server()
    services = tmp_path_factory.mktemp("browser-server")
    (services / "browser.json").write_text(json.dumps(server))
    yield server
    stop_shared_services(services)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("PERFMON_", "DEMO_")) or key == "BASE_URL":
            monkeypatch.delenv(key)
