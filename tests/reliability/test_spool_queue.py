"""The spool is a robust queue: corrupt files and runs the store refuses for good are set aside with
the reason, the rest flush; concurrent flushes and runs never race over a file."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from perfmon import Run
from tests._support.sessions import env, perfmon_cmd, project, pytest_cmd, run, runs_in


def spool_of(proj: Path) -> Path:
    folder = proj / ".perfmon" / "spool"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def a_run(test_type: str = "load") -> Run:
    run_ = Run(test_type=test_type, environment="ci", profile="smoke", base_url="http://127.0.0.1:1")
    run_.metrics.trend("http_req_duration").record(12.0)
    run_.finished_at = run_.started_at + 1
    run_.status = "passed"
    return run_


def test_flush_sets_aside_corrupt_and_refused_files_and_sends_the_rest(tmp_path: Path) -> None:
    proj = project(tmp_path)
    spool = spool_of(proj)
    good = [a_run() for _ in range(3)]
    for r in good:
        (spool / f"{r.run_id}.json").write_text(r.to_json())
    (spool / "00000000-truncated.json").write_text(good[0].to_json()[:100])
    refused = a_run(test_type="tiny")  # the store's CHECK constraint refuses this test type, forever
    (spool / f"00000001-{refused.run_id}.json").write_text(refused.to_json())
    db = tmp_path / "r.db"
    out = run(perfmon_cmd("--store", f"sqlite:///{db}", "flush"), proj)
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    assert sorted(r[0] for r in runs_in(db)) == sorted(r.run_id for r in good)
    assert "set aside" in out.stderr and out.stderr.count("\n") == 2
    rejected = spool / "rejected"
    assert sorted(p.name for p in rejected.glob("*.json")) == ["00000000-truncated.json",
                                                               f"00000001-{refused.run_id}.json"]
    assert "not a perfmon run" in (rejected / "00000000-truncated.reason.txt").read_text()
    assert "CHECK constraint failed" in (rejected / f"00000001-{refused.run_id}.reason.txt").read_text()
    assert list(spool.glob("*.json")) == []
    again = run(perfmon_cmd("--store", f"sqlite:///{db}", "flush"), proj)
    assert again.returncode == 0 and "nothing to flush" in again.stdout


def test_a_run_after_a_corrupt_spool_file_still_prints_its_summary_and_report(tmp_path: Path) -> None:
    proj = project(tmp_path)
    (spool_of(proj) / "broken.json").write_text("{")
    db = tmp_path / "r.db"
    out = run(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}", "--perf-report-dir", "rep"), proj)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "verdict=PASSED" in out.stdout and "report:" in out.stdout
    assert "spool file set aside in" in out.stdout
    assert (spool_of(proj) / "rejected" / "broken.json").is_file()


def test_concurrent_flushes_send_every_run_exactly_once(tmp_path: Path) -> None:
    proj = project(tmp_path)
    spool = spool_of(proj)
    runs = [a_run() for _ in range(40)]
    for r in runs:
        (spool / f"{r.run_id}.json").write_text(r.to_json())
    db = tmp_path / "r.db"
    procs = [subprocess.Popen(perfmon_cmd("--store", f"sqlite:///{db}", "flush"), cwd=proj, env=env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outs
    assert not any("Traceback" in o + e for o, e in outs)
    sent = [line.split()[2] for o, _ in outs for line in o.splitlines() if line.startswith("flushed run")]
    assert sorted(sent) == sorted(r.run_id for r in runs)  # each once, by whichever flush got it
    assert len(runs_in(db)) == 40 and list(spool.glob("*.json")) == []


def test_a_run_finishing_during_a_flush_is_stored_once(tmp_path: Path) -> None:
    proj = project(tmp_path)
    spool = spool_of(proj)
    for r in [a_run() for _ in range(20)]:
        (spool / f"{r.run_id}.json").write_text(r.to_json())
    db = tmp_path / "r.db"
    session = subprocess.Popen(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}"), cwd=proj, env=env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    flush = run(perfmon_cmd("--store", f"sqlite:///{db}", "flush"), proj)
    out, err = session.communicate(timeout=300)
    assert session.returncode == 0 and flush.returncode == 0, out + err + flush.stderr
    assert "Traceback" not in out + err + flush.stdout + flush.stderr
    assert len(runs_in(db)) == 21 and list(spool.glob("*.json")) == []
