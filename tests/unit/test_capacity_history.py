"""`perfmon capacity`: the sustainable rate per release from a real SQLite store, with a drop flagged
by the regression gate like any other series (each run judged against the runs before it, as a
run's end does). The capacities themselves are measured against the bundled app in
test_capacity.py and test_plugin_e2e.py; here they are given, so the drop is known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfmon.analysis.history import compare_with_history
from perfmon.cli import main
from perfmon.core.results import Run
from tests._support.runs import make_run, stored

HELD = [100.0, 104.0, 98.0, 101.0, 103.0, 99.0]  # a few % apart, as searches are


def release(i: int, sustainable: float) -> Run:
    run = make_run()
    run.test_type, run.status, run.git_sha = "stress", "passed", f"{i:02d}" + "c" * 38
    run.started_at += i
    run.metadata["breaking_points"] = {"stress": {
        "sustainable_rate": sustainable, "breaking_rate": sustainable * 1.1, "users": sustainable * 0.5,
        "limited_by": "server", "broken_by": ["http_req_duration: p(95)<500"],
        "steps": [{"rate": sustainable, "throughput": sustainable, "held": True}]}}
    return run


def releases(tmp_path: Path, rates: list[float]) -> str:
    runs = [release(i, rate) for i, rate in enumerate(rates)]
    for i, run in enumerate(runs):
        run.comparison = compare_with_history(run, runs[:i][::-1])
    return stored(tmp_path, *runs)


def test_a_release_that_holds_less_load_is_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = releases(tmp_path, [*HELD, 70.0])
    assert main(["--store", url, "capacity", "--env", "ci"]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[1].split()[2:6] == ["06cccccc", "stress", "70", "77"] and "DROP -31 %" in lines[1]
    assert all("DROP" not in line for line in lines[2:8])  # the history before it held steady
    assert "perfmon capacity: DROP: stress holds 70/s, 31 % below its baseline 100.8/s" in out


def test_steady_releases_pass_and_json_lists_every_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = releases(tmp_path, [*HELD, 102.0])
    assert main(["--store", url, "capacity", "--env", "ci", "--json", "--limit", "3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["sustainable_rate"] for r in data["runs"]] == [102.0, 99.0, 103.0]
    assert data["dropped"] == [] and data["runs"][0]["users"] == 51.0


def test_no_capacity_in_the_store_says_how_to_get_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = stored(tmp_path, make_run())
    assert main(["--store", url, "capacity", "--env", "ci"]) == 0
    assert "no stored run in ci measured a sustainable rate" in capsys.readouterr().out
    for limit in ("0", "99999999999999999999"):  # the second overflowed SQLite's integer: a traceback (#36)
        with pytest.raises(SystemExit) as ended:
            main(["--store", url, "capacity", "--limit", limit])
        assert ended.value.code == 2
        assert capsys.readouterr().err.strip() == (f"perfmon: error: argument --limit: expected a whole number from 1 "
                                                   f"to 1,000,000, not '{limit}' (see `perfmon capacity --help`)")
