"""A plain pytest-playwright suite's conftest, as a team has one: where the browser is, and a
signed-in storage state for the tests that need one. Nothing here knows about perfmon.

Run it as it is (``pytest examples/pytest-playwright --base-url URL``), or measured
(``pytest --perf examples/pytest-playwright``, with ``-n 4``: perfmon's shared browser servers).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/lib/chromium/chromium-headless-shell")  # Debian's


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # This machine has Debian's Chromium, not one Playwright downloaded.
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture(scope="session")
def signed_in(browser: Any, base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The storage state of a supplier who signed in through the login form."""
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=email]", "vu0001@example.com")
    page.fill("input[name=password]", "testpassword")
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")
    state = tmp_path_factory.mktemp("auth") / "state.json"
    context.storage_state(path=str(state))
    context.close()
    return state


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    args = {**browser_context_args, "viewport": {"width": 1280, "height": 720}, "locale": "en-GB"}
    if request.node.get_closest_marker("signed_in"):
        args["storage_state"] = str(request.getfixturevalue("signed_in"))
    return args


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "signed_in: the test starts signed in (storage state)")
