


"""Reports as a person sees them: the HTML opened in real Chromium, and the machine outputs parsed."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from perfmon.core.comparison import HistoryComparison, SeriesChange
from perfmon.core.findings import Leak, Leaks, RampBreak
from perfmon.report import write_reports
from perfmon.report.markdown import markdown
from tests._support.runs import EVIL, stress_run


def test_fifteen_minute_stress_report_stays_small(tmp_path: Path) -> None:
    paths = write_reports(stress_run(minutes=15), tmp_path)
    assert paths.html.stat().st_size < 5 * 2**20
    assert paths.summary.stat().st_size < 5 * 2**20


def test_summary_json_follows_its_schema(tmp_path: Path) -> None:
    run = stress_run()
    paths = write_reports(run, tmp_path)
    data = json.loads(paths.summary.read_text())
    schema = json.loads(resources.files("perfmon.report").joinpath("summary.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["schema"] == "perfmon.summary/v1" and data["run"]["id"] == run.run_id
    dash = data["metrics"]["http_req_duration{name:/api/dashboard,scenario:stress,status:200}"]
    assert dash["type"] == "trend" and set(dash["values"]) >= {"avg", "med", "p(95)", "p(99)", "max"}
    assert data["metrics"]["http_req_failed"]["type"] == "rate"
    capacity = data["capacity"]["stress"]
    assert capacity["sustainable_rate"] == 160 and [s["held"] for s in capacity["steps"]] == [True] * 4 + [False] * 2


def test_junit_has_one_case_per_threshold_and_fails_the_broken_one(tmp_path: Path) -> None:
    paths = write_reports(stress_run(), tmp_path)
    root = ET.parse(paths.junit).getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == 3
    failed = [c for c in cases if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failed] == [("perfmon.core.thresholds.browser_vital_cls",
                                                                       "p(75)<=0.1")]
    assert root.get("failures") == "1"


def test_markdown_goes_to_the_github_step_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    run = stress_run()
    write_reports(run, tmp_path / "reports")
    text = target.read_text()
    assert text == markdown(run, str(tmp_path / "reports" / run.run_id / "index.html"))
    assert "FAILED" in text and "| `browser_vital_cls: p(75)<=0.1` | 0.3 | **FAIL** |" in text


def test_the_markdown_summary_reads_in_ten_seconds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verdict in the heading, then what failed (each with its change and a link into the report),
    then the key metrics against the baseline, largest change first; every threshold folded away."""
    run = stress_run()
    run.status = "failed"
    def finding(key: str, kind: str, baseline: float, observed: float, unit: str, q: float) -> SeriesChange:
        return SeriesChange(key, key.split()[1].split("{")[0], key.split()[0], (), unit, baseline, observed,
                            observed / baseline - 1, q, q, 0.05, 4, kind)

    run.comparison = HistoryComparison(("a", "b", "c", "d"), (
        finding("p95 http_req_duration{name:/api/dashboard}", "regression", 100.0, 131.0, "ms", 0.001),
        finding("rate http_reqs", "same", 50.0, 50.5, "/s", 0.9),
        finding("rate http_req_failed", "improvement", 0.02, 0.0, "share", 0.001)))
    run.findings = [Leaks({"target": Leak("target", leaking=True, why="420 MB/h (380-460)")})]
    monkeypatch.setenv("PERFMON_REPORT_URL", "https://ci.example/runs/7")
    written = write_reports(run, tmp_path)
    text = written.markdown.read_text()
    lines = text.splitlines()
    page = written.html.read_text()  # the HTML report reads the same comparison
    assert "Regression check against history" in page and "Compared with 4 comparable passed run(s)" in page
    assert ">REGRESSION</td>" in page and ">improved</td>" in page
    assert lines[0] == "## ❌ perfmon: FAILED · stress run · ci · profile `ci`"
    failed = lines.index("### What failed")
    assert failed < lines.index("### Key metrics") < lines.index(next(x for x in lines if x.startswith("<details>")))
    assert ("- ❌ **threshold** `browser_vital_cls: p(75)<=0.1`: observed 0.3 ([thresholds](https://ci.example/runs/7"
            "#thresholds))") in lines
    assert ("- 📈 **regression** `p95 http_req_duration{name:/api/dashboard}`: 100 ms → 131 ms (+31.0 %), confidence "
            "0.999 ([history](https://ci.example/runs/7#history))") in lines
    assert "- 💧 **leak** `process_rss_mb{role:target}`: 420 MB/h (380-460)" in lines
    table = lines[lines.index("### Key metrics") + 2:]
    assert table[0] == "| metric | this run | baseline (4 runs) | change |"
    assert table[2] == "| `rate http_req_failed` | 0.00 % | 2.00 % | -100.0 % ✨ |"  # the largest change first
    assert table[3] == "| `p95 http_req_duration{name:/api/dashboard}` | 131 ms | 100 ms | +31.0 % 📈 |"


def test_an_unmeasured_run_says_why_first_and_a_first_run_shows_its_own_figures(tmp_path: Path) -> None:
    run = stress_run()
    run.status = "unmeasured"
    run.thresholds = [o for o in run.thresholds if o.passed]
    run.metadata["unmeasured"] = ["the target stopped answering: its last 3 window(s) of the run got no HTTP response"]
    run.comparison = HistoryComparison(note="not enough history: 0 comparable run(s), 3 needed for a verdict")
    text = markdown(run, "perf-reports/x/index.html")
    assert text.startswith("## ⚠️ perfmon: UNMEASURED · stress run")
    assert ("- ⚠️ **not measured, no verdict**: the target stopped answering: its last 3 window(s) of the run got no "
            "HTTP response") in text
    assert "| metric | this run (not enough history: 0 comparable run(s), 3 needed for a verdict) |" in text
    assert "HTML report: `perf-reports/x/index.html`" in text


def test_an_unmeasured_run_is_one_junit_error_before_its_thresholds(tmp_path: Path) -> None:
    run = stress_run()
    run.status = "unmeasured"
    run.metadata["unmeasured"] = ["the client CPU was saturated 60% of the run"]
    root = ET.parse(write_reports(run, tmp_path).junit).getroot()
    [suite] = root.findall("testsuite")
    first = suite.findall("testcase")[0]
    assert (first.get("classname"), first.get("name"), suite.get("errors")) == ("perfmon.run", "measured", "1")
    assert first.find("error").get("message") == "the client CPU was saturated 60% of the run"  # type: ignore[union-attr]


def test_summary_json_says_why_a_run_was_not_measured_and_what_the_analyses_found(tmp_path: Path) -> None:
    import json
    from importlib import resources

    import jsonschema

    run = stress_run()
    run.status = "unmeasured"
    run.metadata["unmeasured"] = ["the target stopped answering: its last 2 window(s) of the run got no HTTP response"]
    run.findings = [RampBreak("stress", rate=198.0, users=21.0, at_s=11.0,
                                  broken_by=("latency p(95) 131 ms against p(95)<100",))]
    data = json.loads(write_reports(run, tmp_path).summary.read_text())
    schema = json.loads(resources.files("perfmon.report").joinpath("summary.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["run"]["unmeasured"] == run.metadata["unmeasured"]
    assert data["derived"]["breaking_point:stress"]["users"] == 21.0
    del run.metadata["unmeasured"]
    run.findings = []
    plain = json.loads(write_reports(run, tmp_path / "again").summary.read_text())
    assert plain["run"]["unmeasured"] == [] and "derived" not in plain


def test_the_database_section_shows_top_queries_and_who_blocked_whom_escaped(tmp_path: Path) -> None:
    from perfmon.system.target_db import BlockingChain, QueryDelta, TargetDbSummary

    run = stress_run(minutes=0.5)
    dashboard = f"select * from submissions where supplier_id = $1 /* {EVIL} */"
    run.metadata["target_db"] = TargetDbSummary(
        database="wedsync", queries=[QueryDelta(dashboard, 120, 2400.0, 360)],
        blocking=[BlockingChain("update suppliers set bookings = bookings + $1 where id = $2",
                                "update suppliers set bookings = bookings + $1 where id = $2", 4, 812.0)]).to_dict()
    html = write_reports(run, tmp_path).html.read_text()
    section = html[html.index('<section id="target-db">'):]
    section = section[: section.index("</section>")]
    assert "select * from submissions where supplier_id = $1" in section and ">120<" in section
    assert "update suppliers set bookings = bookings + $1 where id = $2" in section and "812" in section
    assert EVIL not in html  # query text is escaped like every other name
    bare = stress_run(minutes=0.5)
    assert 'id="target-db"' not in write_reports(bare, tmp_path / "bare").html.read_text()
