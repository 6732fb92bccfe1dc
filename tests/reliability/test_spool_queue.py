"""The spool is a robust queue: corrupt files and runs the store refuses for good are set aside with
the reason, the rest flush; concurrent flushes and runs never race over a file."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfmon import Run
from tests._support.apps import DemoApp
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
    assert out.returncode == 4, out.stdout + out.stderr  # an ERROR line never ends in 0 (#36)
    assert "verdict=PASSED" in out.stdout and "report:" in out.stdout
    assert "ERROR: spool file set aside in" in out.stdout
    assert len(runs_in(db)) == 1  # the run itself is stored
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


def test_a_run_spooled_for_one_store_never_goes_to_another(tmp_path: Path) -> None:
    """#36: the next run's auto-flush sent runs spooled for a production store into its own store."""
    proj = project(tmp_path)
    blocked = tmp_path / "prod"
    blocked.write_text("a file where the store's folder should be")  # the store cannot open: the run spools
    prod, staging = f"sqlite:///{blocked / 'r.db'}", f"sqlite:///{tmp_path / 'staging.db'}"
    first = run(pytest_cmd("test_quick.py", "--perf-store", prod), proj)
    assert first.returncode == 4, first.stdout + first.stderr
    [spooled] = spool_of(proj).glob("*.json")

    second = run(pytest_cmd("test_quick.py", "--perf-store", staging), proj)
    assert second.returncode == 0, second.stdout + second.stderr
    [(staged, _, _)] = runs_in(tmp_path / "staging.db")
    assert staged != spooled.stem
    assert spooled.is_file() and "also sent" not in second.stdout

    waiting = run(perfmon_cmd("--store", staging, "flush"), proj)
    assert waiting.returncode == 0 and spooled.is_file()
    assert f"1 spooled run(s) wait for another store, {prod}" in waiting.stdout

    blocked.unlink()
    blocked.mkdir()  # the production store is back
    sent = run(perfmon_cmd("--store", prod, "flush"), proj)
    assert sent.returncode == 0 and spooled.stem in sent.stdout, sent.stdout + sent.stderr
    assert [r[0] for r in runs_in(blocked / "r.db")] == [spooled.stem] and not spooled.exists()


def _mounted(folder: Path, options: str) -> None:
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a full or read-only filesystem of the test's own needs root to mount")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A project whose ``.perfmon`` is a full filesystem (a 256 KiB tmpfs filled up), and an environment
    whose temp directory is the test's own."""
    (tmp_path / "proj").mkdir()
    proj = project(tmp_path / "proj")
    dot = proj / ".perfmon"
    _mounted(dot, "size=256k")
    try:
        with contextlib.suppress(OSError), (dot / "filler").open("wb") as f:
            while True:
                f.write(b"\0" * 65536)
        tmp = tmp_path / "tmp"
        tmp.mkdir()
        yield proj, {"TMPDIR": str(tmp)}
    finally:
        subprocess.run(["umount", "-l", str(dot)], check=False)


@pytest.mark.pg
@pytest.mark.parametrize("fallback", ["free", "blocked"])
def test_a_full_disk_never_loses_a_run_the_store_can_take(full_disk: tuple[Path, dict[str, str]], pg_url: str,
                                                          demo: DemoApp, fallback: str) -> None:
    """#36: with .perfmon on a full disk the spool write raised first, the store was never tried, the run
    was lost and the exit was 0. Now the spool falls back to the temp directory, and where that cannot
    be written either, the run goes straight to the store with a warning."""
    proj, extra = full_disk
    if fallback == "blocked":
        (Path(extra["TMPDIR"]) / f"perfmon-spool-{os.getuid()}").write_text("a file where the folder would be")
    out = run(pytest_cmd("test_quick.py", "--perf-store", pg_url), proj, BASE_URL=demo.url, **extra)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "stored in postgresql://" in out.stdout and "ERROR" not in out.stdout
    assert ("went straight to the store" in out.stdout) == (fallback == "blocked"), out.stdout
    history = run(perfmon_cmd("--store", pg_url, "history"), proj)
    assert history.returncode == 0 and len(history.stdout.splitlines()) >= 2, history.stdout + history.stderr


def test_a_run_neither_stored_nor_spooled_is_an_error_exit(full_disk: tuple[Path, dict[str, str]],
                                                           demo: DemoApp) -> None:
    proj, extra = full_disk
    (Path(extra["TMPDIR"]) / f"perfmon-spool-{os.getuid()}").write_text("a file where the folder would be")
    store = "postgresql://perfmon@127.0.0.1:1/perf"  # nothing listens there
    out = run(pytest_cmd("test_quick.py", "--perf-store", store), proj, BASE_URL=demo.url, **extra)
    assert out.returncode == 4, out.stdout + out.stderr
    assert "ERROR: the run could not be stored nor spooled: the store failed (" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


@pytest.fixture
def read_only_spool(tmp_path: Path) -> Iterator[Path]:
    """A spool on a filesystem mounted read-only (a tmpfs remounted): nothing in it can be moved."""
    proj = project(tmp_path)
    spool = spool_of(proj)
    _mounted(spool, "size=4m")
    try:
        yield spool
    finally:
        subprocess.run(["umount", "-l", str(spool)], check=False)


def test_a_read_only_spool_with_a_corrupt_file_still_flushes_the_rest(read_only_spool: Path, tmp_path: Path) -> None:
    """#36: `perfmon flush` ended in a traceback (OSError: read-only file system) at the corrupt file and
    the valid runs after it were never sent."""
    good = [a_run() for _ in range(2)]
    (read_only_spool / "0-corrupt.json").write_text("{")
    for r in good:
        (read_only_spool / f"1-{r.run_id}.json").write_text(r.to_json())
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_spool)], check=True)
    db = tmp_path / "r.db"
    out = run(perfmon_cmd("--store", f"sqlite:///{db}", "flush"), tmp_path)
    assert "Traceback" not in out.stdout + out.stderr, out.stderr
    assert out.returncode == 1  # a file could not be set aside
    assert sorted(r[0] for r in runs_in(db)) == sorted(r.run_id for r in good)
    assert "0-corrupt.json" in out.stderr and "move it out of the spool by hand" in out.stderr


@pytest.mark.parametrize("newer", ["version", "field", "kind"])
def test_a_spool_file_from_a_newer_perfmon_is_left_for_it_not_stored_with_fields_dropped(tmp_path: Path,
                                                                                       newer: str) -> None:
    """#36: a run spooled by a newer perfmon was stored by an older one with its new fields silently dropped."""
    import json

    proj = project(tmp_path)
    spool = spool_of(proj)
    plain, later = a_run(), a_run()
    data = later.to_dict()
    if newer == "version":
        data["tool_version"] = "99.0.0"
    elif newer == "field":
        data["cost_per_request"] = {"usd": 0.0001}
    else:
        data["metrics"].append({"name": "http_req_waiting", "tags": {}, "kind": "summary", "values": [1, 2]})
    (spool / f"{plain.run_id}.json").write_text(plain.to_json())
    (spool / f"{later.run_id}.json").write_text(json.dumps(data))
    db = tmp_path / "r.db"
    out = run(perfmon_cmd("--store", f"sqlite:///{db}", "flush"), proj)
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    assert [r[0] for r in runs_in(db)] == [plain.run_id]
    assert f"left {spool / later.run_id}.json in the spool" in out.stderr and "flush it with that perfmon" in out.stderr
    assert (spool / f"{later.run_id}.json").is_file() and not (spool / "rejected").exists()
