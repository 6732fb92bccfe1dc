"""Existing pytest-playwright suites, measured unchanged (``pytest --perf``).

pytest-playwright builds ``page`` from ``context`` from ``new_context(browser, browser_context_args)``.
Under ``--perf`` the plugin registers this module after pytest-playwright, so its fixtures of the
same names come first: ``new_context`` wraps pytest-playwright's (the user's ``browser_context_args``
and markers still apply) and gives every context it makes the vitals collector, finished before the
context closes; ``browser`` is perfmon's (a shared browser server under xdist, Debian's Chromium
alone) unless the suite asks for what only pytest-playwright's own launch gives (another browser, a
channel, ``--headed``, ``--slowmo``), and then it is pytest-playwright's; ``base_url`` is perfmon's
target unless ``--base-url`` names one. Each test is a journey named by its node id.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

__all__ = ["ENDPOINT", "MEASURE", "own_launch_reasons"]

# The plugin's way to measure a context: (request, context, journey) -> what finishes it.
MEASURE = pytest.StashKey[Callable[[pytest.FixtureRequest, Any, str], Callable[[], None]]]()
# The plugin's browser server for this process, if any (started on first use).
ENDPOINT = pytest.StashKey[Callable[[], str | None]]()


def own_launch_reasons(config: pytest.Config) -> list[str]:
    """What the suite asked for that perfmon's browser cannot give: pytest-playwright launches then."""
    reasons = []
    names = config.getoption("--browser", None) or []
    if any(name != "chromium" for name in names):
        reasons.append(f"--browser {','.join(names)}")
    if config.getoption("--browser-channel", None):
        reasons.append("--browser-channel")
    if config.getoption("--headed", False):
        reasons.append("--headed")
    if config.getoption("--slowmo", 0):
        reasons.append("--slowmo")
    if os.environ.get("PERFMON_PLAYWRIGHT_DRIVER") == "1":
        reasons.append("PERFMON_PLAYWRIGHT_DRIVER=1")
    return reasons


@pytest.fixture(scope="session")
def browser(request: pytest.FixtureRequest, playwright: Any, browser_type_launch_args: dict[str, Any]
            ) -> Iterator[Any]:
    """On pytest-playwright's own Playwright: perfmon's shared browser server (under xdist, or
    ``--perf-browser-ws``), else Debian's Chromium with the closed-network flags and the suite's own
    launch arguments; pytest-playwright's launch when the suite asks for what that cannot give."""
    from .browser.launch import launch_options

    if own_launch_reasons(request.config):
        launched = request.getfixturevalue("launch_browser")()
    elif endpoint := request.config.stash[ENDPOINT]():
        launched = playwright.chromium.connect(endpoint)
    else:
        ours = launch_options()
        launched = playwright.chromium.launch(**{**ours, **browser_type_launch_args,
                                                 "args": [*ours["args"], *browser_type_launch_args.get("args", [])]})
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def base_url(request: pytest.FixtureRequest) -> str:
    given = request.config.getoption("base_url", None)
    return str(given) if given else str(request.getfixturevalue("perf_base_url"))


@pytest.fixture
def new_context(new_context: Callable[..., Any], request: pytest.FixtureRequest) -> Callable[..., Any]:
    measure, journey = request.config.stash[MEASURE], request.node.nodeid

    def measured(**kwargs: Any) -> Any:
        context = new_context(**kwargs)
        finish = measure(request, context, journey)
        close = context.close

        def finish_then_close(*args: Any, **kw: Any) -> None:
            context.close = close  # once: pytest-playwright closes every context it made again at teardown
            try:
                finish()
            finally:
                close(*args, **kw)

        context.close = finish_then_close
        return context

    return measured
