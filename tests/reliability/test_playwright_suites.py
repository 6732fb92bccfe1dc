"""An existing pytest-playwright suite (examples/pytest-playwright), run as its team runs it and with
``--perf``: the same tests pass either way; without it nothing is measured, with it every test is a
journey with its pages' vitals, alone and under xdist."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests._support.apps import DemoApp
from tests._support.sessions import ROOT, env

pytestmark = pytest.mark.browser

SUITE = ROOT / "examples" / "pytest-playwright"
TESTS = 4


def _run(tmp_path: Path, app: DemoApp, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    suite = tmp_path / "suite"
    shutil.copytree(SUITE, suite)
    db = tmp_path / "r.db"
    out = subprocess.run([sys.executable, "-m", "pytest", "--base-url", app.url, "--perf-store", f"sqlite:///{db}",
                          *args], cwd=suite, env=env(), capture_output=True, text=True, timeout=600)
    return out, db


def _journeys(db: Path) -> dict[str, dict[str, float]]:
    """Per journey (test node id): how many iterations, and the vitals it recorded (sample counts)."""
    con = sqlite3.connect(db)
    [(run_id,)] = con.execute("select id from performance_test_runs").fetchall()
    found: dict[str, dict[str, float]] = {}
    for name, tags, count in con.execute("select name, tags, sum(count) from performance_metric_series where "
                                         "run_id = ? group by name, tags", (run_id,)):
        journey = json.loads(tags).get("journey")
        if journey and (name == "browser_iterations" or name.startswith("browser_vital_")):
            # A sample measured while the client was saturated is kept apart (NAME_quarantined): still measured.
            name = name.removesuffix("_quarantined")
            found.setdefault(journey, {})[name] = found.get(journey, {}).get(name, 0) + count
    return found


def test_the_suite_passes_unmeasured_without_perf(tmp_path: Path, clean_demo: DemoApp) -> None:
    out, db = _run(tmp_path, clean_demo)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert f"{TESTS} passed" in out.stdout and "perfmon run" not in out.stdout
    assert not db.exists() or sqlite3.connect(db).execute("select count(*) from performance_test_runs").fetchone() \
        == (0,)


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["alone", "xdist"])
def test_with_perf_every_test_is_a_journey_with_its_pages_vitals(tmp_path: Path, clean_demo: DemoApp,
                                                                 workers: tuple[str, ...]) -> None:
    out, db = _run(tmp_path, clean_demo, "--perf", *workers)
    # Two browsers at once on two cores can saturate the machine: then the run is honestly unmeasured.
    assert out.returncode in (0, 3), out.stdout[-3000:] + out.stderr[-2000:]
    assert f"{TESTS} passed" in out.stdout and "perfmon run" in out.stdout
    journeys = _journeys(db)
    assert len(journeys) == TESTS and all(j.endswith("[chromium]") and "::test_" in j for j in journeys), journeys
    assert all(counts.get("browser_iterations") == 1 for counts in journeys.values()), journeys
    # Every test's own page was measured: each navigated, so each has its LCP and FCP.
    assert all(counts.get("browser_vital_lcp", 0) >= 1 and counts.get("browser_vital_fcp", 0) >= 1
               for counts in journeys.values()), journeys
