"""perfmon's in-page collector against Google's own web-vitals library (npm, pinned 6.0.0 in
tools/web-vitals, installed here at test time), both in the same real Chromium on the same visits of
the bundled app: page loads, soft navigations (the dashboard's Clients route) and an interaction
held up by the app's INP knob. Each visit's LCP, FCP, CLS, INP and TTFB must agree within tight
tolerances (LCP, FCP and TTFB 5 % or 50 ms; CLS 0.01; INP 8 % or 16 ms)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from perfmon import Metrics
from tests._support.apps import DemoApp
from tests._support.pages import THROUGH, measured_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
# Every report the library makes, kept by visit (the time its navigation started, epoch ms) in
# sessionStorage, so the values survive the page they were measured on.
REPORTER = """
(() => {
  const KEY = "__web_vitals_reports";
  const keep = (m) => {
    const soft = m.navigationType === "soft-navigation";
    const start = Math.round(performance.timeOrigin + (soft ? m.navigationStartTime : 0));
    const all = JSON.parse(sessionStorage.getItem(KEY) || "{}");
    const visit = all[start] || (all[start] = { type: m.navigationType, url: m.navigationURL });
    visit[m.name] = m.value;
    sessionStorage.setItem(KEY, JSON.stringify(all));
  };
  const opts = { reportAllChanges: true, reportSoftNavs: true };
  const on = [webVitals.onLCP, webVitals.onFCP, webVitals.onCLS, webVitals.onINP, webVitals.onTTFB];
  on.forEach((report) => report(keep, opts));
})();
"""


@pytest.fixture(scope="module")
def web_vitals_js(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The library's IIFE build, installed from npm by its lock file."""
    npm = shutil.which("npm")
    assert npm, "this test installs web-vitals from npm: install nodejs and npm"
    where = tmp_path_factory.mktemp("web-vitals")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(ROOT / "tools" / "web-vitals" / name, where / name)
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=where, check=True, timeout=300)
    assert json.loads((where / "node_modules" / "web-vitals" / "package.json").read_text())["version"] == "6.0.0"
    return (where / "node_modules" / "web-vitals" / "dist" / "web-vitals.iife.js").read_text()


def close(ours: float | None, theirs: float | None, *, rel: float, abs_: float) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    return abs(ours - theirs) <= max(rel * abs(theirs), abs_)


TOLERANCE = {"LCP": (0.05, 50.0), "FCP": (0.05, 50.0), "TTFB": (0.05, 50.0), "CLS": (0.0, 0.01), "INP": (0.08, 16.0)}


# A ``perf`` journey's own page, or a pytest-playwright suite's ``page`` under ``pytest --perf`` (the
# context measured first, its page opened by the suite afterwards: see tests/_support/pages.py).
@pytest.mark.parametrize("through", THROUGH)
def test_every_vital_of_every_visit_matches_googles_library(chromium: Browser, clean_demo: DemoApp,
                                                            web_vitals_js: str, through: str) -> None:
    clean_demo.set_faults(DEMO_LCP_DELAY_MS="400", DEMO_CLS="0.15", DEMO_INP_MS="150")
    context = chromium.new_context(base_url=clean_demo.url, viewport={"width": 1280, "height": 720})
    context.add_init_script(script=web_vitals_js + REPORTER)
    perf, page = measured_page(context, Metrics(), through, journey="reference")
    try:
        page.goto("/login")
        page.fill("#email", "vu0021@example.com")
        page.fill("#password", "testpassword")
        page.click("#login-button")
        page.wait_for_selector("#dashboard-title")
        page.wait_for_timeout(1000)  # the late banner shifts the layout 300 ms after load
        page.click("#clients-link")  # a soft navigation, and back
        page.wait_for_selector("#clients-title")
        page.wait_for_timeout(500)
        page.click("#home-link")
        page.wait_for_selector("#dashboard-title", state="visible")
        page.wait_for_timeout(500)
        page.goto("/forms/1")
        page.fill("#names", "A & B")
        page.click("#submit-form")  # held up 150 ms by the knob
        page.wait_for_selector("#confirmation", state="visible")
        page.wait_for_timeout(300)
        page.goto("/login")  # leaves the form: both collectors finalize it
        perf.vitals()
        theirs: dict[str, dict[str, Any]] = json.loads(page.evaluate(
            "() => sessionStorage.getItem('__web_vitals_reports') || '{}'"))
        ours = perf.visits
        perf.finish(failed=False)
    finally:
        context.close()
    compared = []
    for visit in ours[:-1]:  # the last /login was only opened to end the form's visit
        start = round(float(visit["origin"]))
        key = next((k for k in theirs if abs(int(k) - start) <= 2), None)
        assert key is not None, f"web-vitals has no visit starting at {start} ({visit['url']}): {sorted(theirs)}"
        reference = theirs[key]
        assert reference["type"] == visit["navigationType"], (visit["url"], reference)
        for name, (rel, abs_) in TOLERANCE.items():
            mine, lib = visit["vitals"].get(name), reference.get(name)
            compared.append((visit["url"], visit["navigationType"], name, mine, lib))
            assert close(mine, lib, rel=rel, abs_=abs_), (visit["url"], visit["navigationType"], name, mine, lib)
    kinds = [v["navigationType"] for v in ours[:-1]]
    # The way back to the dashboard only unhides a view: no soft navigation for Chromium nor the library.
    assert kinds == ["navigate", "navigate", "soft-navigation", "navigate"], kinds
    # The knobs were seen by both: the comparison is not of zeros.
    by = {(url.split("/", 3)[-1], kind, name): lib for url, kind, name, _, lib in compared}
    assert by[("dashboard", "navigate", "CLS")] >= 0.1
    assert by[("dashboard", "navigate", "LCP")] >= 400
    assert by[("forms/1", "navigate", "INP")] >= 150
    assert by[("dashboard/clients", "soft-navigation", "LCP")] > 0 and by[("dashboard/clients", "soft-navigation",
                                                                          "TTFB")] == 0
