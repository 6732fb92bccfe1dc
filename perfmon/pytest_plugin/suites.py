"""Existing pytest-playwright suites, measured unchanged (``pytest --perf``).

pytest-playwright builds ``page`` from ``context`` from ``new_context(browser, browser_context_args)``.
Under ``--perf`` the plugin registers this module after pytest-playwright, so its fixtures of the
same names come first:

- ``new_context`` wraps pytest-playwright's (the user's ``browser_context_args`` and markers still
  apply) and gives every context it makes the vitals collector, finished before the context closes;
- ``browser`` is perfmon's: under xdist a shared browser server reached without a Node.js driver
  (``browser/thin.py``), alone Debian's Chromium with the closed-network flags. It is reached
  through pytest-playwright's driver when something needs that driver in the process (``--device``),
  and it is pytest-playwright's own launch when the suite asks for what only that
  gives (another browser, a channel, ``--headed``, ``--slowmo``) or ``PERFMON_PLAYWRIGHT_DRIVER`` is set;
- ``playwright`` starts pytest-playwright's driver on first use, not at session start: a suite that
  never touches it directly needs no driver per worker;
- ``base_url`` is perfmon's target unless ``--base-url`` names one.

Each test is a journey named by its node id. Options that change what the numbers mean
(:func:`caveats`) are said in one line each and recorded with the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import pytest

from ..core.env import read
from ..core.errors import BrowserError, PerfmonError

__all__ = ["HOOKS", "SuiteHooks", "caveats", "driver_reasons", "own_launch_reasons"]


@dataclass(frozen=True)
class SuiteHooks:
    """What the plugin lends this module: how to measure a context ``(request, context) -> finisher``,
    this process's shared browser server (None: none, launch one), and its one way out for a user error."""

    measure: Callable[[pytest.FixtureRequest, Any], Callable[[], None]]
    endpoint: Callable[[], str | None]
    user_error: Callable[[PerfmonError, pytest.FixtureRequest], NoReturn]


HOOKS = pytest.StashKey[SuiteHooks]()


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
    if read("PERFMON_PLAYWRIGHT_DRIVER"):
        reasons.append("PERFMON_PLAYWRIGHT_DRIVER")
    return reasons


def driver_reasons(config: pytest.Config) -> list[str]:
    """What needs pytest-playwright's Node.js driver in this process (device descriptors come
    with it): the shared browser is then reached through that driver."""
    from ..browser.thin import thin_client_supported

    reasons = []
    if config.getoption("--device", None):
        reasons.append("--device")
    if not thin_client_supported():
        reasons.append("this Playwright release")
    return reasons


def caveats(config: pytest.Config, workers: int) -> list[str]:
    """One line per option of the suite's that perturbs what perfmon measures."""
    found = []
    if config.getoption("--headed", False) and workers > 1:
        found.append(f"--headed with {workers} workers: {workers} visible browsers share this display and its CPU, and "
                     "the vitals include that contention; measure headless")
    if (video := config.getoption("--video", "off")) != "off":
        found.append(f"--video {video}: recording every page costs the browser CPU while the vitals are measured; "
                     "measure with --video off")
    if (tracing := config.getoption("--tracing", "off")) != "off":
        found.append(f"--tracing {tracing}: a screenshot and a DOM snapshot per action slow every step the vitals "
                     "measure; measure with --tracing off (perfmon keeps a trace of each failed test anyway)")
    if slowmo := config.getoption("--slowmo", 0):
        found.append(f"--slowmo {slowmo}: every action waits {slowmo} ms, and the step timings include it")
    return [f"perfmon: {line}" for line in found]


class _DriverOnDemand:
    """pytest-playwright's ``Playwright``, its driver started on first use."""

    def __init__(self, api_request_contexts: Any, fail: Callable[[PerfmonError], NoReturn]) -> None:
        self._contexts, self._fail = api_request_contexts, fail
        self._started: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._started is None:
            from playwright.sync_api import Error, sync_playwright

            try:
                self._started = sync_playwright().start()
            except Error:
                # The driverless browser's event loop already runs in this thread; a driver cannot.
                self._fail(BrowserError(
                    "this suite uses Playwright's driver itself (the `playwright` fixture) after perfmon connected "
                    "its workers to the shared browser without one; set PERFMON_PLAYWRIGHT_DRIVER=1"))
            if self._contexts is not None:
                self._contexts.instrument(self._started)  # as pytest-playwright's fixture does
        return getattr(self._started, name)

    def stop(self) -> None:
        if self._started is not None:
            self._started.stop()


@pytest.fixture(scope="session")
def playwright(request: pytest.FixtureRequest, _pw_api_request_contexts: Any) -> Iterator[Any]:
    hooks = request.config.stash[HOOKS]
    lazy = _DriverOnDemand(_pw_api_request_contexts, lambda exc: hooks.user_error(exc, request))
    yield lazy
    lazy.stop()


@pytest.fixture(scope="session")
def browser(request: pytest.FixtureRequest, browser_type_launch_args: dict[str, Any]) -> Iterator[Any]:
    """Perfmon's shared browser server (under xdist, or ``--perf-browser-ws``), else Debian's Chromium
    with the closed-network flags and the suite's own launch arguments; pytest-playwright's launch when
    the suite asks for what that cannot give."""
    from ..browser.launch import launch_options

    config, hooks = request.config, request.config.stash[HOOKS]
    close: Callable[[], None] | None = None
    if own_launch_reasons(config):
        launched = request.getfixturevalue("launch_browser")()
    elif endpoint := hooks.endpoint():
        thin = None if driver_reasons(config) else _driverless(endpoint)
        launched, close = thin or (request.getfixturevalue("playwright").chromium.connect(endpoint), None)
    else:
        ours = launch_options()
        launched = request.getfixturevalue("playwright").chromium.launch(
            **{**ours, **browser_type_launch_args, "args": [*ours["args"], *browser_type_launch_args.get("args", [])]})
    yield launched
    (close or launched.close)()


def _driverless(endpoint: str) -> tuple[Any, Callable[[], None]] | None:
    """A connection to the shared server without a driver; None when the suite started pytest-playwright's
    driver first (its event loop holds this thread)."""
    from ..browser.launch import connect_browser

    try:
        return connect_browser(endpoint)
    except BrowserError:
        return None


@pytest.fixture(scope="session")
def base_url(request: pytest.FixtureRequest) -> str:
    given = request.config.getoption("base_url", None)
    return str(given) if given else str(request.getfixturevalue("perf_base_url"))


@pytest.fixture
def new_context(new_context: Callable[..., Any], request: pytest.FixtureRequest) -> Callable[..., Any]:
    measure = request.config.stash[HOOKS].measure

    def measured(**kwargs: Any) -> Any:
        context = new_context(**kwargs)
        finish = measure(request, context)
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
