"""An existing pytest-playwright suite (examples/pytest-playwright), run as its team runs it and with
``--perf``: the same tests pass either way; without it nothing is measured and no collector is in the
page, with it every test is a journey with its pages' vitals, alone and under xdist (``-n 4``, as CI
runs it), where the workers reach perfmon's shared browsers without a Playwright driver of their own."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests._support.apps import DemoApp
from tests._support.sessions import ROOT, env, perfmon_cmd

pytestmark = pytest.mark.browser

SUITE = ROOT / "examples" / "pytest-playwright"
TESTS = 4  # the example's own

# Added to the suite for these runs: whether perfmon's collector is in a test's page, and whether this
# worker started a Playwright driver (the suite's own tests stay as they are).
PROBE = '''
import os

import psutil


def test_the_collector_is_in_the_page_only_when_measured(page):
    page.goto("/login")
    assert page.evaluate("() => typeof window.__perfmon !== 'undefined'") == (os.environ["EXPECT_PERFMON"] == "1")


def test_no_driver_of_its_own_when_driverless(page):
    page.goto("/login")
    drivers = []
    for p in psutil.Process().children(recursive=True):
        try:
            if "run-driver" in " ".join(p.cmdline()):
                drivers.append(p)
        except psutil.Error:  # a helper that has just exited
            pass
    assert bool(drivers) != (os.environ["EXPECT_DRIVERLESS"] == "1"), drivers
'''
PROBES = 2
# A test that wants named steps asks for ``perf`` beside its ``page`` (only under --perf).
STEPS = '''
def test_signing_in_in_named_steps(page, perf):
    assert perf.page is page
    with perf.step("open login"):
        page.goto("/login")
    with perf.step("sign in"):
        page.fill("input[name=email]", "vu0003@example.com")
        page.fill("input[name=password]", "testpassword")
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboard")
'''


def _suite(tmp_path: Path, *, steps: bool) -> Path:
    suite = tmp_path / "suite"
    shutil.copytree(SUITE, suite)
    (suite / "test_probe.py").write_text(PROBE)
    if steps:
        (suite / "test_steps.py").write_text(STEPS)
    return suite


def _run(tmp_path: Path, app: DemoApp, *args: str, steps: bool = True, driverless: bool = False
         ) -> tuple[subprocess.CompletedProcess[str], Path]:
    suite = _suite(tmp_path, steps=steps)
    db = tmp_path / "r.db"
    measured = "--perf" in args
    out = subprocess.run([sys.executable, "-m", "pytest", "--base-url", app.url, "--perf-store", f"sqlite:///{db}",
                          *args], cwd=suite, capture_output=True, text=True, timeout=600,
                         env=env(EXPECT_PERFMON=str(int(measured)), EXPECT_DRIVERLESS=str(int(driverless))))
    return out, db


def _journeys(db: Path) -> dict[str, dict[str, float]]:
    """Per journey (test node id): how many iterations, and the vitals it recorded (sample counts)."""
    found: dict[str, dict[str, float]] = {}
    for name, tags, count in _series(db):
        journey = tags.get("journey")
        if journey and (name == "browser_iterations" or name.startswith("browser_vital_")):
            # A sample measured while the client was saturated is kept apart (NAME_quarantined): still measured.
            name = name.removesuffix("_quarantined")
            found.setdefault(journey, {})[name] = found.get(journey, {}).get(name, 0) + count
    return found


def _series(db: Path) -> list[tuple[str, dict[str, str], float]]:
    con = sqlite3.connect(db)
    [(run_id,)] = con.execute("select id from performance_test_runs").fetchall()
    return [(name, json.loads(tags), count) for name, tags, count in con.execute(
        "select name, tags, sum(count) from performance_metric_series where run_id = ? group by name, tags", (run_id,))]


def _metadata(db: Path) -> dict[str, object]:
    [(found,)] = sqlite3.connect(db).execute("select metadata from performance_test_runs").fetchall()
    return dict(json.loads(found))


def test_the_suite_passes_unmeasured_without_perf(tmp_path: Path, clean_demo: DemoApp) -> None:
    out, db = _run(tmp_path, clean_demo, steps=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert f"{TESTS + PROBES} passed" in out.stdout and "perfmon run" not in out.stdout
    assert not db.exists() or sqlite3.connect(db).execute("select count(*) from performance_test_runs").fetchone() \
        == (0,)


@pytest.mark.parametrize("workers", [(), ("-n", "4")], ids=["alone", "xdist"])
def test_with_perf_every_test_is_a_journey_with_its_pages_vitals(tmp_path: Path, clean_demo: DemoApp,
                                                                 workers: tuple[str, ...]) -> None:
    out, db = _run(tmp_path, clean_demo, "--perf", *workers, driverless=bool(workers))
    # Four browsers at once on two cores can saturate the machine: then the run is honestly unmeasured.
    assert out.returncode in (0, 3), out.stdout[-3000:] + out.stderr[-2000:]
    tests = TESTS + PROBES + 1
    assert f"{tests} passed" in out.stdout and "perfmon run" in out.stdout
    journeys = _journeys(db)
    assert len(journeys) == tests and all(j.endswith("[chromium]") and "::test_" in j for j in journeys), journeys
    assert all(counts.get("browser_iterations") == 1 for counts in journeys.values()), journeys
    # Every test's own page was measured: each navigated, so each has its LCP and FCP.
    assert all(counts.get("browser_vital_lcp", 0) >= 1 and counts.get("browser_vital_fcp", 0) >= 1
               for counts in journeys.values()), journeys
    # ... per page too: the signed-in tests' dashboard and intake form beside every test's login page.
    pages = {tags["page"] for name, tags, _ in _series(db) if name.startswith("browser_vital_lcp")}
    assert {"/login", "/dashboard", "/forms/{id}"} <= pages, pages
    # The test that asked for `perf` timed its steps on the same page.
    steps = {tags["step"]: tags["journey"] for name, tags, _ in _series(db) if name.startswith("browser_step_duration")}
    assert steps.keys() == {"open login", "sign in"} and all("test_signing_in_in_named_steps" in j
                                                              for j in steps.values()), steps


def test_tracing_and_slowmo_are_honoured_said_and_recorded(tmp_path: Path, clean_demo: DemoApp) -> None:
    # --slowmo needs pytest-playwright's own launch; --tracing on its trace of every test (perfmon's own
    # failure trace steps aside: one trace at a time).
    out, db = _run(tmp_path, clean_demo, "--perf", "--tracing", "on", "--slowmo", "1", "--output", "pw-out",
                   steps=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    said = [line for line in out.stdout.splitlines() if line.startswith("perfmon: --")]
    assert [line.split(":")[1].strip() for line in said] == ["--tracing on", "--slowmo 1"], said
    assert _metadata(db)["warnings"] == said
    assert len(_journeys(db)) == TESTS + PROBES
    traces = list((tmp_path / "suite" / "pw-out").glob("*/trace.zip"))
    assert len(traces) == TESTS + PROBES, traces


def test_perfmon_run_measures_a_suite_as_its_browser_part(tmp_path: Path, clean_demo: DemoApp) -> None:
    suite = _suite(tmp_path, steps=True)
    db = tmp_path / "r.db"
    out = subprocess.run([*perfmon_cmd("--store", f"sqlite:///{db}", "run", "--suite", str(suite), "--type", "browser",
                                       "--workers", "2", "--profile", "smoke", "--", "--base-url", clean_demo.url)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env=env(EXPECT_PERFMON="1", EXPECT_DRIVERLESS="1"))
    assert out.returncode in (0, 3), out.stdout[-3000:] + out.stderr[-2000:]
    assert len(_journeys(db)) == TESTS + PROBES + 1
    [(test_type,)] = sqlite3.connect(db).execute("select test_type from performance_test_runs").fetchall()
    assert test_type == "browser"


def test_headed_under_xdist_and_video_are_said_before_the_tests(tmp_path: Path, clean_demo: DemoApp) -> None:
    # Neither can run here (no display, no Playwright ffmpeg): what perfmon says of them can be checked.
    out, _ = _run(tmp_path, clean_demo, "--perf", "--headed", "--video", "retain-on-failure", "-n", "2",
                  "--collect-only", "-q", steps=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    said = [line for line in out.stdout.splitlines() if line.startswith("perfmon: --")]
    assert [line.split(":")[1].strip() for line in said] == ["--headed with 2 workers", "--video retain-on-failure"]


BROKEN = '''
import pytest


def test_a_button_that_is_not_there(page):
    page.goto("/login")
    page.click("#no-such-button", timeout=2000)


def test_not_today(page):
    pytest.skip("not today")
'''


def test_a_broken_suite_test_is_a_failed_test_not_a_journey_timing(tmp_path: Path, clean_demo: DemoApp) -> None:
    """#37 on a plain pytest-playwright suite: the broken test leads the Errors block with its line, its
    iteration's vitals are not samples, and the skipped test adds no `about:blank` visit (page `blank`)."""
    suite = _suite(tmp_path, steps=False)
    (suite / "test_broken.py").write_text(BROKEN)
    db = tmp_path / "r.db"
    out = subprocess.run([sys.executable, "-m", "pytest", "--base-url", clean_demo.url, "--perf-store",
                          f"sqlite:///{db}", "--perf", "test_broken.py"], cwd=suite, capture_output=True, text=True,
                         timeout=600, env=env(EXPECT_PERFMON="1", EXPECT_DRIVERLESS="0"))
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr[-2000:]
    [error] = [line for line in out.stdout.splitlines() if line.startswith("    ERROR  ")]
    assert "TimeoutError: Page.click: Timeout 2000ms exceeded." in error and "at test_broken.py:7" in error, error
    assert "test_broken.py::test_a_button_that_is_not_there[chromium]" in error
    journeys = _journeys(db)
    assert list(journeys) == ["test_broken.py::test_a_button_that_is_not_there[chromium]"], journeys
    [counts] = journeys.values()
    assert not [n for n in counts if n.startswith("browser_vital_") and n != "browser_vital_missing"], journeys
    # (counted: visits and vitals missing; never timed)
    assert not [tags for _, tags, _ in _series(db) if tags.get("page") == "blank"]
