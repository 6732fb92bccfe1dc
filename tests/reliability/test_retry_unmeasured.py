"""`perfmon run --retry-unmeasured N` runs only the part of a run that could not be measured again, up
to N times, and stores every attempt; the plan of the run is said before it starts. Real Chromium, the
bundled app, a real store; the API part is made unmeasurable for sure by a journey that blocks the load
generator's event loop (time.sleep in an async journey), which no retry can mend."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests._support.sessions import perfmon_cmd, run

pytestmark = pytest.mark.browser

JOURNEY = """
def test_login_page(perf):
    perf.page.goto("/login")
"""

BLOCKING = """
import time

from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/healthz")
    time.sleep(1.5)  # holds the whole event loop: the generator cannot measure


def test_blocked(perf_api):
    perf_api.run(hit, scenario="quick")
"""


def test_only_the_unmeasured_part_is_run_again_and_every_attempt_is_stored(tmp_path: Path) -> None:
    (tmp_path / "perfmon.toml").write_text('[scenarios.quick]\nvus = 2\nduration = "4s"\ngraceful_stop = "2s"\n'
                                          '[suites]\nbrowser = "journeys"\napi = "api"\n')
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "test_pages.py").write_text(JOURNEY)
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "test_api.py").write_text(BLOCKING)
    db = tmp_path / "r.db"
    out = run(perfmon_cmd("--store", f"sqlite:///{db}", "run", "--profile", "release", "--workers", "1",
                          "--retry-unmeasured", "2"), tmp_path)
    said = out.stdout + out.stderr
    assert out.returncode == 3, said[-3000:]
    assert "perfmon: plan: browser journeys on 1 worker(s), then the API scenarios" in out.stderr, said
    assert "attempt 2 of 3: the api part was unmeasured; running only that again" in out.stderr, said[-3000:]
    assert "attempt 3 of 3: the api part was unmeasured" in out.stderr, said[-3000:]
    runs = sqlite3.connect(db).execute("select test_type, status from performance_test_runs order by started_at")
    kinds, statuses = zip(*runs.fetchall(), strict=True)
    assert statuses == ("unmeasured",) * 3, statuses
    assert kinds[0] == "mixed" and "mixed" not in kinds[1:], kinds  # the journeys ran once
    assert "Traceback" not in said


def test_retrying_a_shard_is_refused_in_one_line(tmp_path: Path) -> None:
    out = run(perfmon_cmd("run", "--retry-unmeasured", "1", "--shard", "1/2", "--run-id", "x"), tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "--retry-unmeasured runs the unmeasured part again as a run of its own" in out.stderr, out.stderr
