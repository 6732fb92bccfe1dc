"""Nothing fails silently (#37): a journey that raises fails its run, and every output says which
exception, where and how often (the terminal's Errors block, summary.json, summary.md, junit.xml and
the HTML report); k6-style checks are printed with their pass rate."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema

from tests._support.sessions import project, pytest_cmd, run, runs_in

RAISING = """
from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    r = await client.get("/healthz")
    user.check(r, {"status is 200": lambda r: r.status_code == 200, "says hello": lambda r: "hello" in r.text})
    return r.json()["no_such_key"]


def test_quick(perf_api):
    perf_api.run(hit, scenario="quick")
"""

ON_START_FAILS = """
from perfmon.load import Client, VirtualUser


async def log_in(client: Client, user: VirtualUser) -> None:
    r = await client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "wrong"})
    r.raise_for_status()


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/healthz")


def test_quick(perf_api):
    perf_api.run(hit, scenario="quick", on_start=log_in)
"""


def reports(proj: Path) -> Path:
    return next((proj / "rep").iterdir())


def test_a_journey_that_always_raises_fails_the_run_and_every_output_names_the_error(tmp_path: Path) -> None:
    """Before: `verdict=PASSED … errors 0%`, exit 0, junit tests="0"; summary.json alone knew."""
    proj = project(tmp_path)
    (proj / "test_quick.py").write_text(RAISING)
    out = run(pytest_cmd("test_quick.py", "--perf-no-store", "--perf-report-dir", "rep"), proj)
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    errors_at = next(i for i, line in enumerate(lines) if line.startswith("  Errors: "))
    [error] = [line for line in lines if line.startswith("    ERROR  ")]
    assert "KeyError: 'no_such_key'" in error and "at test_quick.py:8" in error and "(quick, first at" in error
    assert errors_at < min(i for i, line in enumerate(lines) if line.startswith("  FAIL  ")), out.stdout
    assert any(line.startswith("  FAIL  iteration_failed{scenario:quick}: rate<0.01") for line in lines), out.stdout
    assert "  ✓ status is 200  100%" in out.stdout and "  ✗ says hello  0% — ✓ 0 / ✗ " in out.stdout, out.stdout

    folder = reports(proj)
    summary = json.loads((folder / "summary.json").read_text())
    jsonschema.validate(summary, json.loads(resources.files("perfmon.report").joinpath("summary.schema.json")
                                            .read_text()))
    [found] = summary["errors"]
    iterations = summary["metrics"]["iterations{scenario:quick}"]["values"]["count"]
    assert (found["kind"], found["where"], found["source"]) == ("KeyError", "test_quick.py:8", "quick")
    assert found["count"] == iterations > 0
    junit = ET.parse(folder / "junit.xml").getroot()
    failing = [c for c in junit.iter("testcase") if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failing if c.find("failure").get("type") == "KeyError"] == [
        ("perfmon.errors.quick", "test_quick.py:8")]
    assert "- 💥 **error** `KeyError: 'no_such_key'` at `test_quick.py:8`" in (folder / "summary.md").read_text()
    html = (folder / "index.html").read_text()
    assert 'id="errors"' in html and "no_such_key" in html


def test_on_start_failing_for_every_user_is_one_error_and_fails_the_run(tmp_path: Path) -> None:
    proj = project(tmp_path)
    (proj / "test_quick.py").write_text(ON_START_FAILS)
    out = run(pytest_cmd("test_quick.py", "--perf-no-store"), proj)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    [error] = [line for line in out.stdout.splitlines() if line.startswith("    ERROR  ")]
    assert "HTTPStatusError: HTTP 401 for http://" in error and "at test_quick.py:7" in error, error


def test_a_threshold_written_on_iteration_failed_replaces_the_default(tmp_path: Path) -> None:
    """The default is k6's habit, not a law: a suite that expects some failed iterations says how many."""
    proj = project(tmp_path, extra_toml='iteration_failed = ["rate<=1"]\n')
    (proj / "test_quick.py").write_text(RAISING)
    out = run(pytest_cmd("test_quick.py", "--perf-no-store"), proj)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "  PASS  iteration_failed{scenario:quick}: rate<=1" in out.stdout and "rate<0.01" not in out.stdout
    assert "KeyError: 'no_such_key'" in out.stdout  # still shown: passing is the user's call, silence is not


BROWSER_TESTS = """
import pytest


def test_good(perf):
    with perf.step("open"):
        perf.page.goto("/login")


def test_broken(perf):
    perf.page.goto("/login")
    with perf.step("click"):
        perf.page.click("#no-such-button", timeout=3000)
"""

NEVER_NAVIGATES = """
import pytest


def test_skipped(perf):
    pytest.skip("not today")


def test_nothing(perf):
    pass
"""


def test_a_broken_browser_step_is_a_failed_test_not_a_slow_step(tmp_path: Path) -> None:
    """Before: `FAIL browser_step_duration: p(95)<2000 observed 3009`, the click's timeout recorded as a
    step timing, and the only sign of the test error pytest's truncated line."""
    (tmp_path / "test_pages.py").write_text(BROWSER_TESTS)
    out = run(pytest_cmd("test_pages.py", "--perf-no-store", "--perf-report-dir", "rep"), tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    [error] = [line for line in lines if line.startswith("    ERROR  ")]
    assert "TimeoutError: Page.click: Timeout 3000ms exceeded." in error and "at test_pages.py:13" in error, error
    assert "(test_pages.py::test_broken" in error
    assert "FAIL  browser_step_duration" not in out.stdout and "PASS  browser_step_duration" in out.stdout
    assert any(line.startswith("perfmon: FAILED: 1 test(s) failed (test_pages.py::test_broken") for line in lines)
    summary = json.loads((reports(tmp_path) / "summary.json").read_text())
    steps = {name for name in summary["metrics"] if name.startswith("browser_step_duration{")}
    assert steps and all("step:open" in name for name in steps), steps  # the failed click is not a timing
    assert summary["metrics"]["browser_iteration_failed"]["values"]["passes"] == 1
    assert [e["source"].split("[")[0] for e in summary["errors"]] == ["test_pages.py::test_broken"]


def test_a_journey_that_never_navigates_is_no_visit_and_no_verdict(tmp_path: Path) -> None:
    """Before: a skipped test run alone PASSED `browser_vital_cls: p(75)<=0.1 observed 0` with series of
    page `blank`: the empty context's about:blank counted as a visit with CLS 0 and TTFB 0."""
    (tmp_path / "test_pages.py").write_text(NEVER_NAVIGATES)
    out = run(pytest_cmd("test_pages.py", "--perf-no-store", "--perf-report-dir", "rep"), tmp_path)
    assert out.returncode == 3, out.stdout + out.stderr
    assert "perfmon: UNMEASURED, no verdict (exit 3): nothing was measured" in out.stdout, out.stdout
    summary = json.loads((reports(tmp_path) / "summary.json").read_text())
    assert not [name for name in summary["metrics"] if "page:" in name], summary["metrics"].keys()
    assert summary["metrics"]["browser_iterations"]["values"]["count"] == 1  # the skipped test is not one


def test_a_load_run_under_xdist_shows_live_progress_on_the_controller(tmp_path: Path) -> None:
    """Before: a 60-s load run under -n showed only pytest's dots; the engine's progress was written inside
    the worker, where nobody saw it. Now the controller prints a status line every 10 s from the workers'
    counts (and is quiet under -q)."""
    project(tmp_path).joinpath("perfmon.toml").write_text(
        '[scenarios.quick]\nvus = 2\nduration = "25s"\nthink_time = "0.05s"\n')
    out = run(pytest_cmd("test_quick.py", "-n", "2", "--perf-no-store"), tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    status = [line for line in out.stderr.splitlines() if line.startswith("perfmon: 0:")]
    assert status, out.stderr
    assert any("load: 2 users" in line and "req/s" in line and "s left" in line for line in status), status
    quiet = run(pytest_cmd("test_quick.py", "-n", "2", "--perf-no-store", "-q", "--perf-duration", "12s"), tmp_path)
    assert quiet.returncode == 0 and not [line for line in quiet.stderr.splitlines() if line.startswith("perfmon: 0:")]


SETUP_FAILS = """
import pytest


@pytest.fixture
def seeded():
    raise RuntimeError("cannot seed the database")


def test_page(perf, seeded):
    perf.page.goto("/login")
"""


def test_a_journey_whose_fixture_fails_at_setup_is_a_usage_error_and_not_stored(tmp_path: Path) -> None:
    """Before: stored as a FAILED browser run ("errors 100%", no Errors block, exit 1) of a test that never ran."""
    (tmp_path / "test_page.py").write_text(SETUP_FAILS)
    db = tmp_path / "r.db"
    out = run(pytest_cmd("test_page.py", "--perf-store", f"sqlite:///{db}"), tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("ERROR: ")]
    assert errors == ["ERROR: test_page.py::test_page[vu001-it1]: setup failed, RuntimeError: cannot seed the "
                      "database (at test_page.py:7); fix the test (it never ran), nothing was stored"], errors
    assert not db.exists() or not runs_in(db)
