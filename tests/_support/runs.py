"""Runs made by hand for the tests of every tier, the store contract every store passes, and the deploy
gate driven from its command line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from perfmon import (
    PerformanceMetrics,
    PerformanceTestResults,
    Run,
    evaluate,
    open_store,
    parse_thresholds,
)
from perfmon.cli import main
from perfmon.store import Store

__all__ = ["EVIL", "SHA", "claims_a_gate_alert_once", "commit_run", "gate", "keeps_calibrations_by_machine_class",
           "keeps_shard_parts", "make_run", "results", "stored", "stress_run", "two_commits"]


def make_run(**kw: object) -> Run:
    run = Run(test_type="load", environment="ci", profile="smoke", base_url="http://127.0.0.1:1", **kw)  # type: ignore[arg-type]
    now = time.time()
    run.started_at = now - 10
    for i in range(200):
        run.metrics.trend("http_req_duration", {"name": "/api/dashboard", "status": "200"}).record(10 + i, now - i / 20)
        run.metrics.rate("http_req_failed", {"name": "/api/dashboard"}).record(i % 50 == 0, now - i / 20)
        run.metrics.counter("http_reqs", {"name": "/api/dashboard"}).add(1, now - i / 20)
    run.metrics.trend("process_rss_mb", {"role": "runner"}).record(120.5, now)
    run.metrics.trend("process_cpu_percent", {"role": "runner"}).record(35, now)
    run.finished_at = now
    run.thresholds = evaluate(parse_thresholds({"http_req_duration": ["p(95)<2000"], "http_req_failed": ["rate<0.01"]}),
                              run.metrics)
    run.status = "failed"
    return run


def two_commits(store: Store) -> Run:
    """Write runs of two commits (abc1234…, def5678…); return the first one's."""
    mine, other = make_run(), make_run()
    mine.git_sha, other.git_sha = "abc1234" + "0" * 33, "def5678" + "0" * 33
    store.write_run(mine)
    store.write_run(other)
    return mine


def claims_a_gate_alert_once(store: Store) -> None:
    """The deploy gate's once-per-run alert mark (shared with the PostgreSQL test)."""
    run = make_run()
    store.write_run(run)
    assert [store.claim_gate_alert(run.run_id) for _ in range(3)] == [True, False, False]
    store.write_run(run)  # re-sending the run (a flush) keeps the mark
    assert store.claim_gate_alert(run.run_id) is False
    assert store.claim_gate_alert(run.run_id, release=True) and store.claim_gate_alert(run.run_id)
    store.close()


def keeps_calibrations_by_machine_class(store: Store) -> None:
    """`perfmon calibrate`'s results, newest first per machine class (shared with PostgreSQL and Supabase)."""
    from perfmon.cli.calibrate import Calibration, Level

    machine = {"host": "runner-1", "cpus": 2, "cpu_model": "Test CPU", "memory_gb": 24, "platform": "Linux"}
    older = Calibration(level=2, margin=0.1, suite="tests/browser_perf", machine=machine, created_at=1_000_000.0,
                        levels=[Level(1, 0.0, None, 0.0, 12, True), Level(2, 0.04, "x +6%", 0.0, 24, True),
                                Level(4, 0.31, "x +40%", 0.2, 48, False, "too slow")])
    newer = Calibration(level=3, margin=0.1, suite="tests/browser_perf", machine={**machine, "host": "runner-2"},
                        created_at=1_000_100.0)
    other = Calibration(level=9, margin=0.1, suite="tests/browser_perf", machine={**machine, "cpus": 8},
                        created_at=1_000_200.0)
    for found in (older, other, newer):
        store.write_calibration(found.to_dict())
    latest = store.latest_calibration("2 x Test CPU, 24 GiB")
    assert latest is not None and (latest["level"], latest["host"]) == (3, "runner-2")
    store.write_calibration(Calibration(level=1, margin=0.1, suite="s", machine=machine, created_at=999.0).to_dict())
    latest = store.latest_calibration("2 x Test CPU, 24 GiB")  # an older one written later does not win
    assert latest is not None and latest["level"] == 3
    assert store.latest_calibration("64 x Other CPU, 256 GiB") is None
    store.write_calibration({**older.to_dict(), "created_at": 1_000_300.0})
    kept = store.latest_calibration("2 x Test CPU, 24 GiB")
    assert kept is not None and [level["workers"] for level in kept["levels"]] == [1, 2, 4]
    assert kept["levels"][2]["why"] == "too slow" and kept["cpus"] == 2 and kept["suite"] == "tests/browser_perf"
    store.close()


def keeps_shard_parts(store: Store) -> None:
    """Parts of a sharded run (shared with PostgreSQL and Supabase): each write returns every part so far,
    a shard written again replaces its own part, and other runs' parts stay apart."""
    from perfmon.store import ShardRow

    run_id, other = "5d0c8a5e-0000-4000-8000-000000000001", "5d0c8a5e-0000-4000-8000-000000000002"
    part = {"run": {"started_at": 1.0}, "n": [1, 2, 3]}
    assert [r.shard for r in store.write_shard(ShardRow(run_id, 2, 3, "runner-b", part))] == [2]
    store.write_shard(ShardRow(other, 1, 3, "runner-x", part))
    found = store.write_shard(ShardRow(run_id, 1, 3, "runner-a", {**part, "n": [4]}))
    assert [(r.shard, r.shards, r.host, r.part["n"]) for r in found] == [(1, 3, "runner-a", [4]), (2, 3, "runner-b",
                                                                                                  [1, 2, 3])]
    again = store.write_shard(ShardRow(run_id, 2, 3, "runner-b2", {**part, "n": [5]}))  # a retried shard
    assert [(r.shard, r.host, r.part["n"]) for r in again] == [(1, "runner-a", [4]), (2, "runner-b2", [5])]
    assert all(r.stored_at is not None and r.stored_at > 1e9 for r in again)
    assert [r.shard for r in store.read_shards(other)] == [1]
    assert store.read_shards("5d0c8a5e-0000-4000-8000-000000000003") == []
    store.close()


SHA = "0123456789abcdef0123456789abcdef01234567"


def stored(tmp_path: Path, *runs: Run) -> str:
    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    for run in runs:
        store.write_run(run)
    store.close()
    return url


def commit_run(status: str = "passed", *, sha: str = SHA, env: str = "ci", age_s: float = 60,
               **metadata: object) -> Run:
    run = make_run()
    run.git_sha, run.environment, run.status = sha, env, status
    if status == "passed":
        run.thresholds = [o for o in run.thresholds if o.passed]
    run.started_at = time.time() - age_s
    run.metadata.update(metadata)
    return run


def gate(url: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--store", url, "gate", "--env", "ci", *args])
    out = capsys.readouterr()
    return code, (out.out + out.err).strip()


EVIL = "<script>window.__pwned = 1</script>"


def stress_run(minutes: float = 2.0) -> Run:
    """A run shaped like a real stress run: several endpoints, vitals, resources, a breaking point."""
    run = Run(test_type="stress", environment="ci", profile="ci", base_url="http://127.0.0.1:1/" + EVIL)
    start = time.time() - minutes * 60
    run.started_at = start
    i = 0
    for second in range(int(minutes * 60)):
        t = start + second
        users = min(500, 5 * second)
        run.metrics.trend("vus_active", {"scenario": "stress"}, resolution=1).record(users, t)
        for name in ("/api/dashboard", "/api/forms/{id}", f"/api/{EVIL}"):
            for _ in range(5):
                i += 1
                tags = {"scenario": "stress", "name": name, "status": "200"}
                run.metrics.trend("http_req_duration", tags).record(20 + (i * 37) % 400 + second, t)
                run.metrics.counter("http_reqs", tags).add(1, t)
                run.metrics.rate("http_req_failed", tags).record(i % 97 == 0, t)
        for role in ("runner", "target", "browser"):
            run.metrics.trend("process_cpu_percent", {"role": role}).record(30 + second % 40, t)
            run.metrics.trend("process_rss_mb", {"role": role}).record(200 + second, t)
    for vital, value in (("lcp", 1800.0), ("inp", 260.0), ("cls", 0.3), ("fcp", 900.0), ("ttfb", 120.0)):
        tags = {"journey": "full_journey", "page": f"/forms/{EVIL}"}
        run.metrics.trend(f"browser_vital_{vital}", tags, resolution=0.0001 if vital == "cls" else 0.001).record(value)
    run.metrics.trend("browser_step_duration", {"journey": "full_journey", "step": "login"}).record(450)
    run.metadata["slowest_resources"] = {"/dashboard": [{"name": f"http://x/{EVIL}.js", "duration": 900,
                                                          "transferSize": 1234}]}
    run.metadata["breaking_points"] = {"stress": {"sustainable_rate": 160, "breaking_rate": 170, "steps": [
        {"rate": r, "throughput": min(r, 160), "p95": 60 if r <= 160 else 600, "held": r <= 160}
        for r in (60, 100, 140, 160, 170, 180)]}}
    run.finished_at = time.time()
    run.thresholds = evaluate(parse_thresholds({"http_req_duration": ["p(95)<5000"], "http_req_failed": ["rate<0.05"],
                                                "browser_vital_cls": ["p(75)<=0.1"]}), run.metrics)
    run.status = "failed"
    return run


def results(avg: float | None, p95: float | None, err: float | None, rps: float | None) -> PerformanceTestResults:
    return PerformanceTestResults("load", "staging", 100, 600, PerformanceMetrics(avg, p95, err, rps), passed=True)
