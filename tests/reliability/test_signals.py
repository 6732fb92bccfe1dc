"""Interruption keeps partial results: Ctrl-C (SIGINT) and a cancelled CI job (SIGTERM) sent to
``perfmon run``, or SIGTERM sent to pytest itself, store the run as ``interrupted`` and stop the
bundled app perfmon started."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests._support.journeys import LONG_JOURNEYS
from tests._support.sessions import env, perfmon_cmd, pytest_cmd, runs_in

LONG_TEST = """
import pytest
from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/healthz")


@pytest.mark.perf_load
def test_long(perf_api):
    perf_api.run(hit, scenario="long")
"""


def long_project(tmp_path: Path) -> Path:
    (tmp_path / "perfmon.toml").write_text(
        '[scenarios.long]\nvus = 2\nduration = "120s"\nthink_time = "0.05s"\n'
        '[suites]\napi = "api"\n')
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "test_long.py").write_text(LONG_TEST)
    return tmp_path


def command_line(p: psutil.Process) -> str:
    """A child's command line, or "" for one that has just exited (a zombie until its parent reaps it:
    the xdist workers' short-lived helpers are reaped on the parent's schedule, not ours)."""
    try:
        return " ".join(p.cmdline())
    except psutil.Error:
        return ""


def wait_for_load(proc: subprocess.Popen[str], timeout_s: float = 60) -> list[psutil.Process]:
    """Wait until the bundled app has been started under ``proc``; returns its processes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        apps = [p for p in psutil.Process(proc.pid).children(recursive=True) if "demo_app" in command_line(p)]
        if apps:
            time.sleep(4)  # a few seconds of load to keep
            return apps
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    raise AssertionError("the bundled app never started")


def stored_requests(db: Path, run_id: str) -> float:
    row = sqlite3.connect(db).execute("select sum(count) from performance_metric_series where run_id = ? and "
                                      "name = 'http_reqs'", (run_id,)).fetchone()
    return float(row[0] or 0)


@pytest.mark.parametrize("workers", ["0", "2"], ids=["alone", "xdist"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_perfmon_run_interrupted_stores_the_partial_run_and_stops_the_app(tmp_path: Path, sig: int,
                                                                         workers: str) -> None:
    """Under xdist (the default) before #36 the workers never heard the signal: the scenario ran to its end,
    or its record was lost with the workers ("no tests ran", nothing stored, exit 3)."""
    proj = long_project(tmp_path)
    db = tmp_path / "r.db"
    proc = subprocess.Popen(perfmon_cmd("--store", f"sqlite:///{db}", "run", "--profile", "release", "--type", "load",
                                        "--workers", workers),
                            cwd=proj, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    apps = wait_for_load(proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)  # the scenario had 100 s left: it stopped, it did not run out
    assert proc.returncode == 3, out + err  # interrupted: not measured whole
    assert "Traceback" not in out + err
    [(run_id, _, status)] = runs_in(db)
    assert status == "interrupted" and stored_requests(db, run_id) > 10
    assert "verdict=INTERRUPTED" in out and "crashed" not in out, out
    assert not [a for a in apps if a.is_running() and a.status() != psutil.STATUS_ZOMBIE]


def test_sigterm_to_pytest_itself_stores_the_partial_run(tmp_path: Path) -> None:
    proj = long_project(tmp_path)
    db = tmp_path / "r.db"
    proc = subprocess.Popen(pytest_cmd("api", "--perf-store", f"sqlite:///{db}"), cwd=proj, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_load(proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3 and "Traceback" not in out + err, out + err
    [(run_id, _, status)] = runs_in(db)
    assert status == "interrupted" and stored_requests(db, run_id) > 10


@pytest.mark.parametrize("reach", ["controller", "group"])
def test_a_signal_to_plain_pytest_under_xdist_keeps_what_the_workers_measured(tmp_path: Path, reach: str) -> None:
    """SIGTERM to the controller alone (a CI runner cancelling its step), or Ctrl-C to the whole process
    group (a terminal): the workers stop their scenarios, the run is stored as interrupted, and a worker
    that hears the signal twice (sent, then forwarded) still keeps its record."""
    proj = long_project(tmp_path)
    db = tmp_path / "r.db"
    proc = subprocess.Popen(pytest_cmd("api", "-n", "2", "--perf-store", f"sqlite:///{db}"), cwd=proj, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_for_load(proc)
    if reach == "controller":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, out + err
    assert "Traceback" not in out + err and "crashed" not in out, out + err
    [(run_id, _, status)] = runs_in(db)
    assert status == "interrupted" and stored_requests(db, run_id) > 10



def test_a_signal_to_a_browser_run_under_xdist_keeps_its_journeys(tmp_path: Path) -> None:
    """A browser journey cut mid-step by the forwarded signal ends its worker's session cleanly: before
    #36 the worker died of KeyboardInterrupt and xdist reported a crash and a lost iteration."""
    (tmp_path / "test_pages.py").write_text(LONG_JOURNEYS)
    db = tmp_path / "r.db"
    proc = subprocess.Popen(pytest_cmd("test_pages.py", "-n", "2", "--perf-store", f"sqlite:///{db}"), cwd=tmp_path,
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_load(proc)  # the bundled app is up; a few journeys in
    time.sleep(4)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 3, out + err
    assert "Traceback" not in out + err and "crashed" not in out and "lost to crashed" not in out, out + err
    [(run_id, _, status)] = runs_in(db)
    assert status == "interrupted"
    visits = sqlite3.connect(db).execute("select count(*) from performance_web_vitals where run_id = ?",
                                         (run_id,)).fetchone()
    assert visits is not None and visits[0] > 0


def test_a_signal_to_a_hybrid_run_under_xdist_keeps_the_journeys_and_the_background_load(tmp_path: Path) -> None:
    """A hybrid run (browser journeys on two workers, API load from the controller) signalled at the
    controller: both halves of what was measured are stored with the interrupted run."""
    proj = long_project(tmp_path)
    (proj / "test_pages.py").write_text(LONG_JOURNEYS)
    db = tmp_path / "r.db"
    proc = subprocess.Popen(pytest_cmd("test_pages.py", "-n", "2", "--perf-store", f"sqlite:///{db}",
                                       "--perf-load", "long", "--perf-load-script", "api/test_long.py:hit",
                                       "--perf-load-on-start", "none"),
                            cwd=proj, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_load(proc)
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 3, out + err
    assert "Traceback" not in out + err and "crashed" not in out, out + err
    [(run_id, _, status)] = runs_in(db)
    assert status == "interrupted" and stored_requests(db, run_id) > 10
    visits = sqlite3.connect(db).execute("select count(*) from performance_web_vitals where run_id = ?",
                                         (run_id,)).fetchone()
    assert visits is not None and visits[0] > 0


SLOW_TEARDOWN = """
import time

import pytest


@pytest.fixture(autouse=True)
def slow_cleanup():
    yield
    time.sleep({cleanup})  # a suite's own cleanup: the test's record is written after it


def test_one(perf):
    for _ in range(60):
        perf.page.goto("/login")
        time.sleep(0.5)


def test_two(perf):
    for _ in range(60):
        perf.page.goto("/login")
        time.sleep(0.5)
"""


def interrupt_in_cleanup(tmp_path: Path, cleanup_s: float) -> tuple[str, Path]:
    """Ctrl-C while each of two workers is in its only journey; the suite then cleans up for cleanup_s."""
    (tmp_path / "test_pages.py").write_text(SLOW_TEARDOWN.format(cleanup=cleanup_s))
    db = tmp_path / "r.db"
    proc = subprocess.Popen(pytest_cmd("test_pages.py", "-n", "2", "--perf-store", f"sqlite:///{db}"), cwd=tmp_path,
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_load(proc)
    time.sleep(6)  # both journeys are visiting
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)  # a cleanup of 120 s is not waited for
    assert proc.returncode == 3 and "Traceback" not in out + err, out + err
    return out, db


def test_an_interrupted_run_waits_for_the_workers_last_records(tmp_path: Path) -> None:
    """The run is concluded with both journeys, written after a 2-s cleanup. The controller used to
    conclude at once, while the workers were still in their teardown, and stored nothing of them."""
    out, db = interrupt_in_cleanup(tmp_path, 2)
    [(run_id, _, status)] = runs_in(db)
    assert status == "interrupted", out
    journeys = sqlite3.connect(db).execute("select distinct journey from performance_web_vitals where run_id = ?",
                                           (run_id,)).fetchall()
    assert len(journeys) == 2 and "lost" not in out, (journeys, out)


def test_an_interrupted_run_does_not_wait_for_a_worker_that_does_not_finish(tmp_path: Path) -> None:
    """A cleanup of two minutes is not waited for: the session ends without those two journeys, and
    says they were cut off and that nothing was stored (it used to say nothing at all)."""
    out, db = interrupt_in_cleanup(tmp_path, 120)
    assert "2 worker(s) had not finished their test" in out, out
    assert "interrupted before any test's measurements were written (2 iteration(s) cut off at the stop)" in out
    assert not db.exists()
