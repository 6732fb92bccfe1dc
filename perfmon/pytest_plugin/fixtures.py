"""The plugin's fixtures: ``perf`` (one measured browser iteration), ``perf_api`` (API scenarios
that join the run), and the chain a user can override at each level: ``perf_config``,
``perf_target``, ``perf_base_url``, ``perf_vu`` (and its short name ``vu``), ``perf_user``,
``perf_browser``, ``perf_think``, ``perf_context_args``. A test asking for ``perf``, ``perf_vu``,
``vu`` or ``perf_user`` runs once per virtual user and iteration (vus.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..core.config import Config
from ..core.errors import PerfmonError
from .context import (
    LOCAL,
    Target,
    artifacts_dir,
    browser_iteration,
    session_browser,
    session_target,
)

if TYPE_CHECKING:
    from ..load.perf_api import PerfApi
from .instrument import suite_perf
from .stash import BROWSER, RECORD, REPORTS, process_of, user_error
from .vus import virtual_users

__all__ = [
    "_perf_browser",
    "_perf_slot",
    "_perf_target",
    "perf",
    "perf_api",
    "perf_base_url",
    "perf_browser",
    "perf_config",
    "perf_context_args",
    "perf_target",
    "perf_think",
    "perf_user",
    "perf_vu",
    "vu",
]


@pytest.fixture(scope="session")
def perf_config(pytestconfig: pytest.Config) -> Config:
    """The resolved perfmon config (file, env, options); ``scenario(name)`` applies the profile."""
    return process_of(pytestconfig).config


@pytest.fixture(scope="session")
def _perf_target(request: pytest.FixtureRequest) -> Target:
    process = process_of(request.config)
    try:
        return session_target(process.config, process.files)
    except PerfmonError as exc:
        user_error(exc, request)


@pytest.fixture(scope="session")
def perf_target(_perf_target: Target) -> dict[str, Any]:
    """The target: ``{"base_url", "pid"}``. The bundled app is started once for all workers."""
    return {"base_url": _perf_target.base_url, "pid": _perf_target.pid}


@pytest.fixture(scope="session")
def perf_base_url(_perf_target: Target) -> str:
    return _perf_target.base_url


@pytest.fixture
def _perf_slot(request: pytest.FixtureRequest) -> int | None:
    """The virtual user this item is (vus.py parametrizes it); None where it is not parametrized."""
    return getattr(request, "param", None)


@pytest.fixture
def perf_vu(request: pytest.FixtureRequest, _perf_slot: int | None) -> int:
    """This iteration's virtual-user number (1-based): the item's ``vu001``... (1..N, N the virtual
    users: ``--perf-vus`` or the xdist workers), after the users of the shards before this one."""
    process = process_of(request.config)
    # Shard i of a sharded run numbers its users after the shards before it: no two share an account.
    offset = (process.config.shard.index - 1) * virtual_users(request.config) if process.config.shard else 0
    if _perf_slot is not None:
        return offset + _perf_slot
    callspec = getattr(request.node, "callspec", None)  # a test that parametrizes `vu` itself
    if callspec is not None and "vu" in callspec.params:
        return offset + int(callspec.params["vu"])
    return offset + process.worker + 1


@pytest.fixture
def vu(perf_vu: int) -> int:
    """``perf_vu`` by its short name, as the README's journeys write it."""
    return perf_vu


@pytest.fixture
def perf_user(perf_vu: int, perf_config: Config) -> tuple[str, str]:
    """The seeded account of this virtual user (``[tool.perfmon.accounts]``), so sessions never share one."""
    return perf_config.accounts.for_user(perf_vu)


@pytest.fixture(scope="session")
def _perf_browser(request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    """This process's browser and the label of the host it runs on."""
    process = process_of(request.config)
    try:
        browser, close, host = session_browser(process.files, worker=process.worker, workers=process.workers,
                                               servers=process.browser.servers, endpoints=process.browser.endpoints)
    except PerfmonError as exc:
        user_error(exc, request)
    found = request.config.stash[BROWSER] = (browser, process.runner if host == LOCAL else host)
    yield found
    close()


@pytest.fixture(scope="session")
def perf_browser(_perf_browser: tuple[Any, str]) -> Any:
    """A Playwright Browser for this process: under xdist a connection to one of the browser servers
    all workers share (``--perf-browsers N``); alone, or with ``--perf-browsers 0``, its own; with
    ``--perf-browser-ws``, a connection to one of those servers on other hosts."""
    return _perf_browser[0]


@pytest.fixture
def perf_think(perf_config: Config) -> Callable[[], None]:
    """Pause like a user between steps: the browser scenario's think time, scaled by the profile."""
    seconds = perf_config.scenario("browser").think_time_s if "browser" in perf_config.scenarios else 1.0
    return lambda: time.sleep(seconds)


@pytest.fixture
def perf_context_args(perf_base_url: str) -> dict[str, Any]:
    """Arguments for every journey's new browser context; override to change viewport, locale..."""
    return {"base_url": perf_base_url, "viewport": {"width": 1280, "height": 720}}


@pytest.fixture
def perf(request: pytest.FixtureRequest, perf_config: Config, perf_vu: int) -> Iterator[Any]:
    """One measured browser iteration: ``perf.page``, ``perf.step(name)``, ``perf.vitals()``,
    ``perf.navigation()``. A fresh context per iteration; evidence kept only when it fails. In a
    ``--perf`` suite's test that uses pytest-playwright's ``page`` or ``context``: that context's.
    It asks for ``perf_vu`` so that a journey runs once per virtual user and iteration (vus.py)."""
    if (measured := suite_perf(request)) is not None:
        yield measured
        return
    _perf_browser: tuple[Any, str] = request.getfixturevalue("_perf_browser")
    perf_context_args: dict[str, Any] = request.getfixturevalue("perf_context_args")
    item, process = request.node, process_of(request.config)
    record = item.stash[RECORD]
    record.vus = process.workers

    def failed() -> bool:
        rep = item.stash[REPORTS].get("call")
        return rep is None or rep.failed

    browser, host = _perf_browser
    with browser_iteration(browser, perf_context_args, record, perf_config, process.browser,
                           journey=getattr(item, "originalname", item.name).removeprefix("test_"),
                           artifacts=artifacts_dir(Path(request.config.rootpath), item.nodeid), failed=failed,
                           hosts=(host, process.runner)) as bp:
        yield bp


@pytest.fixture
def perf_api(request: pytest.FixtureRequest, perf_config: Config, _perf_target: Target) -> PerfApi:
    """Run API load scenarios from a test (``perf_api.run(journey, scenario="load")``); their metrics,
    thresholds and facts join the session's one run."""
    from ..load.perf_api import PerfApi

    process = process_of(request.config)
    return PerfApi(request.node.stash[RECORD], perf_config, run_id=process.run_id, base_url=_perf_target.base_url,
                   target_pid=_perf_target.pid, beacons=None if process.remote else process.files.progress)
