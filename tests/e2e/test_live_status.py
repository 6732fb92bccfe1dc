"""The controller's status line (perfmon.pytest_plugin.live): every worker's load engine adds up,
finished and failed tests are counted, and a target that stops answering is said once, when it happens."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from types import SimpleNamespace

from perfmon.pytest_plugin.live import MEASURED, LiveStatus, Tally


def beacon(folder: Path, name: str, **values: float) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"at": time.time(), "expected": 60, **values}))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once it is closed


def test_the_line_adds_up_every_worker_and_warns_once_when_the_target_goes(tmp_path: Path) -> None:
    tally = Tally()
    measured = [(MEASURED, True)]
    for when, outcome, properties in (("setup", "passed", measured), ("call", "passed", measured),
                                      ("call", "failed", measured), ("call", "failed", []),  # not perfmon's
                                      ("call", "skipped", measured)):
        tally.pytest_runtest_logreport(SimpleNamespace(when=when, passed=outcome == "passed",
                                                       failed=outcome == "failed", user_properties=properties))
    folder = tmp_path / "progress"
    beacon(folder, "w0", vus=5, requests=1000, failed=10, p95=40, elapsed=20, iterations_failed=3)
    beacon(folder, "w1", vus=5, requests=1000, failed=10, p95=55, elapsed=20)
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    live = LiveStatus(os.open(os.devnull, os.O_WRONLY), beacons=folder, tally=tally, base_url=lambda: url,
                      saturation=lambda: 0.05)
    [line] = live.lines()
    assert "tests 3 done, 1 failed" in line
    assert "load: 10 users" in line and "p95 55 ms" in line and "errors 1.0%" in line
    assert "100 req/s" in line  # the first line: since the engines started (2,000 requests in 20 s)
    assert "iterations failed 3" in line and "40s left" in line
    assert "clean ~95% (client CPU saturated 5% so far)" in line
    listener.close()
    url = f"http://127.0.0.1:{closed_port()}"
    first = live.lines()
    assert len(first) == 2 and first[1].startswith("perfmon: WARNING the target stopped answering")
    assert len(live.lines()) == 1  # said once, not every 10 s


def test_a_session_that_measures_nothing_prints_no_status(tmp_path: Path) -> None:
    """perfmon is a pytest plugin once installed: a project's ordinary tests must not get a status line."""
    live = LiveStatus(os.open(os.devnull, os.O_WRONLY), beacons=tmp_path / "progress", tally=Tally(),
                      base_url=lambda: None, saturation=lambda: 0.5)
    assert live.lines() == []


def test_a_target_that_accepts_but_answers_nothing_is_warned_about(tmp_path: Path) -> None:
    folder = tmp_path / "progress"
    beacon(folder, "w0", vus=2, requests=100, unanswered=0)
    live = LiveStatus(os.open(os.devnull, os.O_WRONLY), beacons=folder, tally=Tally(), base_url=lambda: None,
                      saturation=lambda: None)
    assert len(live.lines()) == 1
    beacon(folder, "w0", vus=2, requests=150, unanswered=50)  # every request since: no HTTP answer
    lines = live.lines()
    assert len(lines) == 2 and "answered none of the requests" in lines[1]
