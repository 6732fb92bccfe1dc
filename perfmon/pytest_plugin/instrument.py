"""``--perf``: measuring an existing pytest-playwright suite unchanged. pytest-playwright's own
``new_context`` is instrumented (``suites.py``), and each context it makes is measured as a ``perf``
iteration is, in the journey named by the test's node id."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..core.errors import ConfigError, PerfmonError
from .context import (
    artifacts_dir,
    browser_endpoint,
    finish_context,
    measure_context,
)

if TYPE_CHECKING:
    pass
from .stash import RECORD, REPORTS, SUITE_HOST, SUITE_PERFS, SUITES_PLUGIN, process_of, user_error

__all__ = ["instrument_playwright", "playwright_context_used", "suite_perf"]


def playwright_context_used(fixturenames: Iterable[str]) -> str | None:
    """Which of pytest-playwright's ``page`` and ``context`` a test uses, if any."""
    return next((name for name in ("page", "context") if name in fixturenames), None)


def suite_perf(request: pytest.FixtureRequest) -> Any | None:
    """The measurement of a ``--perf`` suite test's pytest-playwright context, if the test has one."""
    uses = playwright_context_used(request.fixturenames)
    if uses is None or not request.config.pluginmanager.has_plugin(SUITES_PLUGIN):
        return None
    context = request.getfixturevalue(uses)
    context = getattr(context, "context", context)  # a page's
    found = next((bp for bp in request.node.stash.get(SUITE_PERFS, []) if bp.context is context), None)
    if found is None:
        user_error(ConfigError(f"{request.node.nodeid}: its `{uses}` was not made by pytest-playwright's "
                                "new_context (a fixture of the suite's own overrides it), so perfmon does not "
                                "measure it; make contexts with the new_context fixture"), request)
    return found


def instrument_playwright(config: pytest.Config) -> None:
    """``--perf``: measure pytest-playwright's own fixtures (``playwright_suites``)."""
    if not config.pluginmanager.hasplugin("playwright"):
        user_error(ConfigError("--perf (instrument_playwright) measures a pytest-playwright suite, and "
                                "pytest-playwright is not loaded: pip install pytest-playwright, or drop "
                                "-p no:playwright"), config)
    from . import suites as playwright_suites

    config.stash[playwright_suites.HOOKS] = playwright_suites.SuiteHooks(
        measure=_measure_suite_context, endpoint=lambda: _suite_browser_endpoint(config), user_error=user_error)
    config.pluginmanager.register(playwright_suites, SUITES_PLUGIN)


def _suite_browser_endpoint(config: pytest.Config) -> str | None:
    """The browser server a ``--perf`` suite connects to (None: it launches one); remembers the host
    label its journeys are counted under."""
    from ..browser.remote import endpoint_label

    process = process_of(config)
    try:
        endpoint, remote = browser_endpoint(process.files, worker=process.worker, workers=process.workers,
                                            servers=process.browser.servers, endpoints=process.browser.endpoints)
    except PerfmonError as exc:
        user_error(exc, config)
    config.stash[SUITE_HOST] = endpoint_label(str(endpoint)) if remote else process.runner
    return endpoint


def _measure_suite_context(request: pytest.FixtureRequest, context: Any) -> Callable[[], None]:
    """A context a pytest-playwright fixture made, measured as a ``perf`` iteration is (``--perf``) in
    the journey named by the test's node id; returns what finishes it."""
    item, process = request.node, process_of(request.config)
    record = item.stash[RECORD]
    record.vus = process.workers
    host = request.config.stash.get(SUITE_HOST, process.runner)  # pytest-playwright's own launch: here
    # pytest-playwright's --tracing traces every context already (and one trace at a time is allowed).
    options = replace(process.browser, tracing=process.browser.tracing and
                      request.config.getoption("--tracing", "off") == "off")
    bp = measure_context(context, record, options, journey=item.nodeid, hosts=(host, process.runner),
                         adopt_page=True)
    item.stash.setdefault(SUITE_PERFS, []).append(bp)

    def failed() -> bool:
        rep = item.stash[REPORTS].get("call")
        return rep is None or rep.failed

    return lambda: finish_context(bp, record, process.config,
                                  artifacts=artifacts_dir(Path(request.config.rootpath), item.nodeid), failed=failed)
