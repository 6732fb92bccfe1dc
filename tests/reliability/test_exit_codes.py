"""Every exit code of the table (README "Exit codes", ``perfmon.core.exit_codes``) on the real bundled app,
under pytest with the plugin and through ``perfmon run``: 0 passed, 1 failed, 2 usage, 3 could not be
measured (target down, target stopped answering, generator saturated, no samples), 4 spooled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests._support.apps import ADMIN, DemoApp
from tests._support.sessions import TEST_FILE, env, perfmon_cmd, project, pytest_cmd, run, runs_in

BURN = """
import time

from perfmon.load import Client, VirtualUser


async def burn(client: Client, user: VirtualUser) -> None:
    # A journey that keeps the generator's event loop busy: its own numbers cannot be trusted.
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    await client.get("/healthz")


def test_quick(perf_api):
    perf_api.run(burn, scenario="quick")
"""

STEADY = """
[scenarios.quick]
executor = "constant-arrival-rate"
rate = 20
max_vus = 20
duration = "{duration}"
[scenarios.quick.thresholds]
http_req_duration = ["p(95)<2000"]
"""


def session(tmp_path: Path, *args: str) -> list[str]:
    return pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{tmp_path / 'r.db'}", *args)


def statuses(tmp_path: Path) -> list[str]:
    return [status for _, _, status in runs_in(tmp_path / "r.db")]


def test_0_passed_and_1_failed(tmp_path: Path, clean_demo: DemoApp) -> None:
    proj = project(tmp_path)
    passed = run(session(tmp_path), proj, BASE_URL=clean_demo.url)
    assert passed.returncode == 0, passed.stdout[-2000:]
    project(tmp_path, limit="0.001")  # p95 under a microsecond: fails on real samples
    failed = run(session(tmp_path), proj, BASE_URL=clean_demo.url)
    assert failed.returncode == 1 and "perfmon: FAILED thresholds: http_req_duration{scenario:quick}: p(95)<0.001" \
        in failed.stdout
    assert statuses(tmp_path) == ["passed", "failed"]


def test_2_usage(tmp_path: Path) -> None:
    proj = project(tmp_path)
    (proj / "perfmon.toml").write_text("colour = 'blue'\n" + (proj / "perfmon.toml").read_text())
    out = run(session(tmp_path), proj)
    assert out.returncode == 2 and "unknown key 'colour'" in out.stderr and "Traceback" not in out.stderr
    (proj / "perfmon.toml").write_text("")
    (proj / "tests" / "api_perf").mkdir(parents=True)
    # `perfmon run` with a pytest option pytest itself refuses (pytest's own 4 becomes 2).
    said = run(perfmon_cmd("run", "--type", "load", "--", "--no-such-option"), proj)
    assert said.returncode == 2, said.stdout[-2000:] + said.stderr[-2000:]
    assert not (tmp_path / "r.db").exists()


@pytest.mark.parametrize("via", ["pytest", "perfmon run"])
def test_3_when_the_target_is_down(tmp_path: Path, via: str) -> None:
    proj = project(tmp_path)
    cmd = session(tmp_path) if via == "pytest" else perfmon_cmd("--store", f"sqlite:///{tmp_path / 'r.db'}", "run",
                                                               "--type", "load")
    if via == "perfmon run":
        (proj / "tests" / "api_perf").mkdir(parents=True)
        (proj / "tests" / "api_perf" / "test_quick.py").write_text(
            (proj / "test_quick.py").read_text().replace("def test_quick", "import pytest\n\n\n"
                                                         "@pytest.mark.perf_load\ndef test_quick"))
    out = run(cmd, proj, BASE_URL="http://127.0.0.1:9")  # the discard port: nothing listens
    assert out.returncode == 3, out.stdout[-2000:] + out.stderr[-2000:]
    assert "BASE_URL http://127.0.0.1:9 is unreachable" in out.stderr and "Traceback" not in out.stderr


def test_3_when_the_target_stops_answering(tmp_path: Path, demo_factory: Callable[..., DemoApp]) -> None:
    """The app is killed once it has served some of the run: the rest of the run measures nothing."""
    app = demo_factory()
    project(tmp_path)
    (tmp_path / "perfmon.toml").write_text(STEADY.replace("{duration}", "20s"))
    (tmp_path / "test_quick.py").write_text(TEST_FILE.replace("/healthz", "/login"))  # the app counts /login
    proc = subprocess.Popen(session(tmp_path), cwd=tmp_path, env=env(BASE_URL=app.url), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while httpx.get(f"{app.url}/admin/stats", headers=ADMIN).json()["count"] < 40:  # about 2 s of the run
        assert proc.poll() is None and time.monotonic() < deadline, "the run never reached the app"
        time.sleep(0.2)
    os.kill(app.pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, out[-3000:] + err[-2000:]
    assert "UNMEASURED  the target stopped answering: its last" in out
    assert "perfmon: UNMEASURED, no verdict (exit 3)" in out
    assert statuses(tmp_path) == ["unmeasured"]


def test_3_when_the_generator_is_saturated(tmp_path: Path, clean_demo: DemoApp) -> None:
    proj = project(tmp_path)
    (proj / "perfmon.toml").write_text(STEADY.replace("{duration}", "5s").replace("rate = 20", "rate = 10"))
    (proj / "test_quick.py").write_text(BURN)
    out = run(session(tmp_path), proj, BASE_URL=clean_demo.url)
    assert out.returncode == 3, out.stdout[-3000:]
    assert "UNMEASURED  the client CPU was saturated" in out.stdout
    [(meta,)] = __import__("sqlite3").connect(tmp_path / "r.db").execute(
        "select metadata from performance_test_runs").fetchall()
    assert json.loads(meta)["unmeasured"][0].startswith("the client CPU was saturated")


def test_3_when_a_threshold_has_no_samples_and_nothing_else_failed(tmp_path: Path, clean_demo: DemoApp) -> None:
    proj = project(tmp_path, extra_toml='"http_req_duration{name:/never-called}" = ["p(95)<2000"]\n')
    out = run(session(tmp_path), proj, BASE_URL=clean_demo.url)
    assert out.returncode == 3, out.stdout[-3000:]
    assert "UNMEASURED  too few samples for a verdict: http_req_duration{name:/never-called" in out.stdout
    project(tmp_path, limit="0.001", extra_toml='"http_req_duration{name:/never-called}" = ["p(95)<2000"]\n')
    failed = run(session(tmp_path), proj, BASE_URL=clean_demo.url)
    assert failed.returncode == 1, failed.stdout[-3000:]  # a failure measured on real samples stands
    assert statuses(tmp_path) == ["unmeasured", "failed"]


def test_4_when_the_results_could_not_be_stored(tmp_path: Path, clean_demo: DemoApp) -> None:
    proj = project(tmp_path)
    down = "postgresql://perfmon@127.0.0.1:9/perfmon"  # nothing listens: the run is spooled
    out = run(pytest_cmd("test_quick.py", "--perf-store", down), proj, BASE_URL=clean_demo.url)
    assert out.returncode == 4, out.stdout[-3000:]
    assert len(list((proj / ".perfmon" / "spool").glob("*.json"))) == 1
    project(tmp_path, limit="0.001")
    failed = run(pytest_cmd("test_quick.py", "--perf-store", down), proj, BASE_URL=clean_demo.url)
    assert failed.returncode == 1  # failed and spooled: the failure is what the gate needs to know
    assert len(list((proj / ".perfmon" / "spool").glob("*.json"))) == 2
