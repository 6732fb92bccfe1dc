"""Web Vitals measured in real Chromium against the bundled app's knobs: the framework must see
exactly the faults that were injected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from perfmon import Metrics, Trend
from perfmon.browser import BrowserPerf
from perfmon.report.model import vital_coverage
from tests._support.apps import DemoApp
from tests._support.pages import THROUGH, measured_page

pytestmark = pytest.mark.browser



def log_in(page: Page, email: str) -> None:
    """The bundled app's login, ending on the dashboard."""
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", "testpassword")
    page.click("#login-button")
    page.wait_for_selector("#dashboard-title")


def visit(browser: Browser, url: str, path: str, *, click: str | None = None,
          through: str = "perf-page") -> tuple[dict[str, Any], Metrics]:
    """Log in, open ``path`` (optionally click), and return the visit's vitals and metrics."""
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 720})
    metrics = Metrics()
    perf, page = measured_page(context, metrics, through)
    try:
        log_in(page, "vu0007@example.com")
        if path != "/dashboard":
            page.goto(path)
        page.wait_for_load_state("load")
        if click:
            page.fill("#names", "A & B")
            page.click(click)
            page.wait_for_selector("#confirmation", state="visible")
        else:
            page.wait_for_timeout(800)  # the late banner comes 300 ms after load
        vitals = perf.vitals()
        perf.finish(failed=False)
        return vitals, metrics
    finally:
        context.close()


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def knob_effect(chromium: Browser, demo: DemoApp, path: str, vital: str, through: str, **knob: str) -> float:
    """How much ``vital`` moves (median of three visits) when ``knob`` is turned on."""
    base = median([visit(chromium, demo.url, path, through=through)[0][vital] for _ in range(3)])
    demo.set_faults(**knob)
    slow = median([visit(chromium, demo.url, path, through=through)[0][vital] for _ in range(3)])
    return slow - base


@pytest.mark.parametrize("through", THROUGH)
def test_lcp_delay_is_measured(chromium: Browser, clean_demo: DemoApp, through: str) -> None:
    effect = knob_effect(chromium, clean_demo, "/dashboard", "LCP", through, DEMO_LCP_DELAY_MS="1500")
    assert effect == pytest.approx(1500, rel=0.15)


@pytest.mark.parametrize("through", THROUGH)
def test_cls_knob_gives_that_cls(chromium: Browser, clean_demo: DemoApp, through: str) -> None:
    vitals, _ = visit(chromium, clean_demo.url, "/dashboard", through=through)
    assert vitals["CLS"] == 0
    clean_demo.set_faults(DEMO_CLS="0.25")
    vitals, metrics = visit(chromium, clean_demo.url, "/dashboard", through=through)
    assert vitals["CLS"] == pytest.approx(0.25, abs=0.02)
    cls = metrics.select("browser_vital_cls{page:/dashboard}")
    assert isinstance(cls, Trend) and cls.percentile(75) == pytest.approx(0.25, abs=0.02)


@pytest.mark.parametrize("through", THROUGH)
def test_inp_knob_blocks_the_click(chromium: Browser, clean_demo: DemoApp, through: str) -> None:
    clean_demo.set_faults(DEMO_INP_MS="300")
    vitals, _ = visit(chromium, clean_demo.url, "/forms/1", click="#submit-form", through=through)
    assert 300 <= vitals["INP"] < 400


@pytest.mark.parametrize("through", THROUGH)
def test_ttfb_rises_with_server_latency(chromium: Browser, clean_demo: DemoApp, through: str) -> None:
    effect = knob_effect(chromium, clean_demo, "/forms/2", "TTFB", through, DEMO_LATENCY_MS="400")
    assert effect == pytest.approx(400, rel=0.15)


def test_navigation_timing_and_visits_before_navigation_are_kept(chromium: Browser, clean_demo: DemoApp) -> None:
    _, metrics = visit(chromium, clean_demo.url, "/forms/3")
    pages = {tags["page"] for _, tags, _ in metrics.series("browser_vital_ttfb")}
    assert pages == {"/login", "/dashboard", "/forms/{id}"}
    for phase in ("ttfb", "download", "dom_content_loaded", "load"):
        assert metrics.select(f"browser_nav_{phase}") is not None, phase
    heap = metrics.select("browser_js_heap_mb")
    assert isinstance(heap, Trend) and heap.count >= 1


def test_each_soft_navigation_is_a_visit_of_its_own(chromium: Browser, clean_demo: DemoApp) -> None:
    # web-vitals 6 with soft navigations on: an SPA route change a click caused (Chromium's
    # soft-navigation entry) finalizes the visit before it and starts its own LCP, FCP, CLS and INP.
    context = chromium.new_context(base_url=clean_demo.url, viewport={"width": 1280, "height": 720})
    metrics = Metrics()
    perf = BrowserPerf(context, metrics, journey="spa")
    try:
        page = perf.page
        log_in(page, "vu0011@example.com")
        page.wait_for_timeout(300)
        before = page.evaluate("() => window.__perfmon.finalize()")
        page.click("#clients-link")                      # pushState to /dashboard/clients
        page.wait_for_selector("#clients-title")
        page.wait_for_timeout(300)
        page.click("#home-link")                         # and back, by pushState again
        page.wait_for_selector("#dashboard-title", state="visible")
        page.wait_for_timeout(300)
        assert page.url.endswith("/dashboard")
        page.goto("/forms/1")                            # a real navigation
        perf.finish(failed=False)
    finally:
        context.close()
    # The way back only unhides the view that was there: no new content painted, so Chromium sees no
    # soft navigation (nor would web-vitals); it is a route change of the Clients visit.
    kinds = {(tags["page"], tags["type"]): c.count for _, tags, c in metrics.series("browser_navigations")}
    assert kinds == {("/login", "navigate"): 1, ("/dashboard", "navigate"): 1,
                     ("/dashboard/clients", "soft-navigation"): 1, ("/forms/{id}", "navigate"): 1}
    routes = {tags["page"]: c.count for _, tags, c in metrics.series("browser_soft_navigations")}
    assert routes == {"/dashboard/clients": 1}
    # The document's own LCP ended at the first click: the view drawn later is the route's own.
    lcp = {tags["page"]: m for _, tags, m in metrics.series("browser_vital_lcp")}
    assert isinstance(lcp["/dashboard"], Trend) and lcp["/dashboard"].count == 1
    assert lcp["/dashboard"].max == pytest.approx(before["vitals"]["LCP"], abs=0.01)
    clients = lcp["/dashboard/clients"]
    assert isinstance(clients, Trend) and clients.count == 1 and 0 < (clients.max or 0) < 2000
    ttfb = metrics.select("browser_vital_ttfb{page:/dashboard/clients}")
    assert isinstance(ttfb, Trend) and ttfb.max == 0  # nothing was fetched for the route itself
    fcp = metrics.select("browser_vital_fcp{page:/dashboard/clients}")
    assert isinstance(fcp, Trend) and 0 < (fcp.max or 0) < 2000  # its own paint, after the click
    inp = metrics.select("browser_vital_inp{page:/dashboard/clients}")
    assert isinstance(inp, Trend) and inp.count == 1  # the click that left it was its interaction


def test_the_end_of_a_visit_waits_for_content_that_has_not_painted_yet(chromium: Browser,
                                                                     clean_demo: DemoApp) -> None:
    # A saturated client can lag seconds between the DOM being ready and the first paint; ending
    # the visit then must not report "no LCP". This page keeps its content unpainted for 1.5 s.
    late = ("<!doctype html><title>late</title><body style='opacity:0'><h1>Late paint</h1>"
            "<script>setTimeout(() => { document.body.style.opacity = 1; }, 1500)</script></body>")
    context = chromium.new_context(base_url=clean_demo.url)
    perf = BrowserPerf(context, Metrics(), journey="late")
    try:
        perf.page.route("**/late-paint", lambda route: route.fulfill(body=late, content_type="text/html"))
        perf.page.goto("/late-paint")
        vitals = perf.vitals()
        assert vitals["FCP"] is not None and vitals["FCP"] >= 1400
        assert vitals["LCP"] is not None and vitals["LCP"] >= vitals["FCP"]
    finally:
        context.close()


def test_network_throttling_is_applied(chromium: Browser, clean_demo: DemoApp) -> None:
    context = chromium.new_context(base_url=clean_demo.url)
    perf = BrowserPerf(context, Metrics(), journey="throttled", network="fast3g", cpu_throttle=2)
    try:
        perf.page.goto("/login")
        # Fast 3G adds 562.5 ms per request; Chromium charges it to the subresources, so the load
        # event (not TTFB) shows it.
        assert perf.navigation()["load"] >= 500
    finally:
        context.close()


def test_a_failed_iteration_keeps_a_trace_and_a_screenshot(chromium: Browser, clean_demo: DemoApp,
                                                           tmp_path: Path) -> None:
    for failed in (False, True):
        context = chromium.new_context(base_url=clean_demo.url)
        perf = BrowserPerf(context, Metrics(), journey="t", tracing=True)
        perf.page.goto("/login")
        out = tmp_path / str(failed)
        perf.finish(failed=failed, artifacts=out)
        context.close()
        assert out.exists() == failed
        if failed:
            assert {p.name for p in out.iterdir()} == {"failure.png", "trace.zip", "iteration.json"}


def test_a_kept_trace_holds_no_secret_the_journey_typed(chromium: Browser, clean_demo: DemoApp, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """#36: a failed journey's trace.zip kept a password typed from a *_PASSWORD variable, verbatim."""
    import zipfile

    monkeypatch.setenv("E2E_PASSWORD", "typed-secret-4321")
    context = chromium.new_context(base_url=clean_demo.url)
    perf = BrowserPerf(context, Metrics(), journey="login", tracing=True)
    perf.page.goto("/login?api_token=tok-in-url-9876")
    perf.page.fill("#password", "typed-secret-4321")
    perf.finish(failed=True, artifacts=tmp_path)
    context.close()
    with zipfile.ZipFile(tmp_path / "trace.zip") as z:
        texts = [z.read(n) for n in z.namelist()]
        assert any(b"#password" in t for t in texts)  # the fill is there, its value is not
        assert not [n for n, t in zip(z.namelist(), texts, strict=True) if b"typed-secret-4321" in t]
        assert not [n for n, t in zip(z.namelist(), texts, strict=True) if b"tok-in-url-9876" in t]


def test_a_secret_test_parameter_does_not_name_the_artifacts_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    from perfmon.pytest_plugin.context import artifacts_dir

    monkeypatch.setenv("E2E_PASSWORD", "param-secret-5555")
    folder = artifacts_dir(Path("/p"), "tests/test_login.py::test_login[param-secret-5555]")
    assert "param-secret" not in str(folder) and folder.name.startswith("tests-test_login.py-test_login-")


def test_every_visit_says_how_it_navigated_and_which_vitals_it_did_not_produce(chromium: Browser,
                                                                              clean_demo: DemoApp) -> None:
    blank = "<!doctype html><title>blank</title><body></body>"  # nothing to paint: no FCP, no LCP
    context = chromium.new_context(base_url=clean_demo.url)
    metrics = Metrics()
    perf = BrowserPerf(context, metrics, journey="nav")
    try:
        page = perf.page
        page.route("**/blank", lambda route: route.fulfill(body=blank, content_type="text/html"))
        page.goto("/login")
        page.wait_for_timeout(300)  # painted: a visit left before its first paint has no FCP (counted)
        page.reload()
        page.wait_for_timeout(300)
        page.goto("/blank")
        page.wait_for_timeout(300)
        page.go_back()  # Playwright's Chromium keeps no back-forward cache: a history navigation
        page.wait_for_selector("#email")
        perf.finish(failed=False)
    finally:
        context.close()
    navigations = {(tags["page"], tags["type"]): c.count for _, tags, c in metrics.series("browser_navigations")}
    assert navigations == {("/login", "navigate"): 1, ("/login", "reload"): 1, ("/blank", "navigate"): 1,
                           ("/login", "back-forward"): 1}
    missing = {(tags["page"], tags["vital"]): c.count for _, tags, c in metrics.series("browser_vital_missing")}
    assert missing[("/blank", "LCP")] == missing[("/blank", "FCP")] == 1
    assert ("/login", "LCP") not in missing and ("/blank", "TTFB") not in missing
    assert missing[("/login", "INP")] == 3  # no visit had an interaction: counted, not dropped
    [blank_row] = [row for row in vital_coverage(metrics) if row["page"] == "/blank"]
    assert blank_row["visits"] == 1 and blank_row["coverage"]["LCP"] == 0 and blank_row["coverage"]["TTFB"] == 1


def test_a_back_forward_cache_restore_is_a_visit_of_its_own_reported_apart(chromium: Browser,
                                                                          clean_demo: DemoApp) -> None:
    """A fake at a boundary this machine cannot reach: chromium-headless-shell keeps no back-forward
    cache at all (CDP says BackForwardCacheDisabledForDelegate, even without Playwright's
    --disable-back-forward-cache), so the restore is the page's own pagehide/pageshow pair with
    ``persisted``, as Chromium fires them around a real one. Everything after the events is real."""
    context = chromium.new_context(base_url=clean_demo.url)
    metrics = Metrics()
    perf = BrowserPerf(context, metrics, journey="bfcache")
    try:
        page = perf.page
        page.goto("/login")
        page.wait_for_timeout(300)
        page.evaluate("""() => {
            dispatchEvent(new PageTransitionEvent("pagehide", { persisted: true }));
            dispatchEvent(new PageTransitionEvent("pageshow", { persisted: true }));
        }""")
        page.wait_for_timeout(300)
        perf.finish(failed=False)
    finally:
        context.close()
    navigations = {(tags["page"], tags["type"]): c.count for _, tags, c in metrics.series("browser_navigations")}
    assert navigations == {("/login", "navigate"): 1, ("/login", "back-forward-cache"): 1}
    fcp = {name: t.stats().count for name, tags, t in metrics.series() if name.startswith("browser_vital_fcp")}
    # The load and the restore each have an FCP; the restore's (a frame after the page shows) is kept apart.
    assert fcp == {"browser_vital_fcp": 1, "browser_vital_fcp_bfcache": 1}
    [restored] = [t for _, _, t in metrics.series("browser_vital_ttfb_bfcache")]
    assert restored.stats().max == 0  # nothing was fetched
    [restored_fcp] = [t for _, _, t in metrics.series("browser_vital_fcp_bfcache")]
    assert 0 < (restored_fcp.stats().max or 0) < 300  # two frames after the restore, not the page's load


def test_inp_is_attributed_to_its_step_and_to_the_script_that_blocked_it(chromium: Browser,
                                                                         clean_demo: DemoApp) -> None:
    clean_demo.set_faults(DEMO_INP_MS="300")
    context = chromium.new_context(base_url=clean_demo.url, viewport={"width": 1280, "height": 720})
    metrics = Metrics()
    perf = BrowserPerf(context, metrics, journey="intake")
    try:
        page = perf.page
        log_in(page, "vu0012@example.com")
        page.goto("/forms/1")
        with perf.step("fill"):
            page.fill("#names", "A & B")  # typed text, no click: no interaction to time
        with perf.step("submit"):
            page.click("#submit-form")  # Playwright's input is trusted: Event Timing reports it
            page.wait_for_selector("#confirmation", state="visible")
        # Event Timing queues the entry once the next frame is presented, which a loaded machine can
        # deliver after the page is gone: a person does not leave within a frame of the paint either.
        page.wait_for_timeout(300)
        page.goto("/forms/2")
        page.fill("#names", "C & D")
        with perf.step("scripted submit"):
            page.evaluate("() => document.getElementById('submit-form').click()")  # invisible to Event Timing
            page.wait_for_selector("#confirmation", state="visible")
        perf.finish(failed=False)
    finally:
        context.close()
    inp = metrics.select("browser_step_inp{step:submit}")
    assert isinstance(inp, Trend) and inp.count == 1 and 300 <= (inp.max or 0) < 400
    assert metrics.select("browser_step_inp{step:fill}") is None
    assert metrics.select("browser_step_inp{step:scripted submit}") is None
    flagged = {tags["step"]: c.count for _, tags, c in metrics.series("browser_step_inp_missing")}
    assert flagged == {"scripted submit": 1}
    worst = perf.slowest_interactions[0]
    # The interaction's longest event: its pointerdown already waits for the paint the handler holds up.
    assert (worst["step"], worst["page"]) == ("submit", "/forms/{id}")
    assert worst["name"] in ("pointerdown", "pointerup", "click")
    assert 300 <= worst["duration"] < 400 and worst["blocking"] >= 200  # the 300-ms handler, past LoAF's 50 ms
    [script] = [s for s in worst["scripts"] if s["fn"] == "submitIntake"]
    assert script["url"].endswith("/static/app.js") and script["duration"] >= 290
