"""The two ways perfmon measures a page, for tests that must hold for both."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page

from perfmon import Metrics
from perfmon.browser import BrowserPerf

__all__ = ["THROUGH", "measured_page"]

# How the page is measured: a ``perf`` journey's own page, or a pytest-playwright suite's ``page`` under
# ``pytest --perf`` (perfmon measures the context, the suite opens the page afterwards: ``adopt_page``).
# The plugin's wiring of the second is covered end to end in tests/reliability/test_playwright_suites.py.
THROUGH = ["perf-page", "suite-page"]


def measured_page(context: BrowserContext, metrics: Metrics, through: str,
                  journey: str = "test") -> tuple[BrowserPerf, Page]:
    if through == "perf-page":
        perf = BrowserPerf(context, metrics, journey=journey)
        return perf, perf.page
    perf = BrowserPerf(context, metrics, journey=journey, adopt_page=True)
    page = context.new_page()
    assert perf.page is page
    return perf, page
