


"""Reports as a person sees them: the HTML opened in real Chromium, and the machine outputs parsed."""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser

from perfmon.report import write_reports
from tests._support.runs import EVIL, stress_run


def test_html_report_renders_every_chart_offline_without_errors(tmp_path: Path, chromium: Browser) -> None:
    paths = write_reports(stress_run(), tmp_path)
    assert paths.html.stat().st_size < 5 * 2**20
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(paths.html.as_uri())
    assert errors == []
    assert all(u.startswith("file:") for u in requests), requests  # nothing from the network
    charts = page.evaluate("""() => Array.from(document.querySelectorAll('svg.chart')).map(s => ({
        title: s.querySelector('title').textContent,
        marks: s.querySelectorAll('polyline, rect, circle').length, empty: !!s.querySelector('text.muted')}))""")
    assert len(charts) >= 12
    assert [c["title"] for c in charts if c["empty"] or c["marks"] == 0] == []
    assert page.evaluate("() => window.__pwned") is None  # target text is escaped, never run
    assert EVIL in page.inner_text("body")
    page.click("table.sortable th:nth-child(3)")  # sorting works without errors
    assert errors == []
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "latest" / "index.html").is_file()
