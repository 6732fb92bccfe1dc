"""A leak in the bundled app (DEMO_LEAK_KB_PER_REQ) fails a 55-second run and is named by role;
the same run without it does not (the trial rates are in bench/)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests._support.sessions import pytest_cmd, run, runs_in

SOAK = """
from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/login")


def test_soak(perf_api):
    perf_api.run(hit, scenario="soak")
"""


@pytest.mark.parametrize("leak_kb", ["50", "0"], ids=["leaking", "not-leaking"])
def test_a_leaking_target_is_flagged_and_a_steady_one_is_not(tmp_path: Path, leak_kb: str) -> None:
    # 55 s: the leak analysis needs 40 s of 5-s windows with samples after the first, which a 45-s run
    # gives only when its windows fall right (it went unflagged once in four fresh-clone runs; most likely
    # "too short to judge", the run's store was gone before it could be read).
    (tmp_path / "perfmon.toml").write_text('[scenarios.soak]\nvus = 4\nduration = "55s"\nthink_time = "0.02s"\n')
    (tmp_path / "test_soak.py").write_text(SOAK)
    db = tmp_path / "r.db"
    out = run(pytest_cmd("test_soak.py", "--perf-store", f"sqlite:///{db}"), tmp_path, DEMO_LEAK_KB_PER_REQ=leak_kb)
    flagged = [line for line in out.stdout.splitlines() if "LEAK" in line]
    if leak_kb == "0":
        assert out.returncode == 0 and flagged == [], out.stdout
        return
    assert out.returncode == 1, out.stdout + out.stderr
    assert [line.split()[1] for line in flagged] == ["process_rss_mb{role:target}:"], flagged
    [(run_id, _, status)] = runs_in(db)
    assert status == "failed"
    [(kind, tags, slope)] = sqlite3.connect(db).execute(
        "select kind, tags, observed from performance_regressions where run_id = ?", (run_id,)).fetchall()
    assert kind == "leak" and json.loads(tags) == {"role": "target"} and slope > 100  # MB per hour
