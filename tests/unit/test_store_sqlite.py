from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import pytest

from perfmon import Run, StoreError, evaluate, open_store, parse_thresholds
from perfmon.store import Store

ROOT = Path(__file__).resolve().parents[2]


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


def one_stored_run(tmp_path: Path) -> tuple[Path, Run]:
    """A store file holding one run, closed: for tests that edit it as an older perfmon left it."""
    db = tmp_path / "old.db"
    run = make_run()
    store = open_store(f"sqlite:///{db}")
    store.write_run(run)
    store.close()
    return db, run


def two_commits(store: Store) -> Run:
    """Write runs of two commits (abc1234…, def5678…); return the first one's."""
    mine, other = make_run(), make_run()
    mine.git_sha, other.git_sha = "abc1234" + "0" * 33, "def5678" + "0" * 33
    store.write_run(mine)
    store.write_run(other)
    return mine


def test_round_trip_keeps_metrics_thresholds_and_identity(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    run = make_run()
    store.write_run(run)
    back = store.load_run(run.run_id[:8])
    assert back.run_id == run.run_id and back.status == "failed"
    assert back.summary_metrics() == run.summary_metrics()
    assert [(o.threshold.expression, o.passed) for o in back.thresholds] == [
        ("p(95)<2000", True), ("rate<0.01", False)]
    [h] = store.history()
    assert h.p95_response_time_ms == pytest.approx(run.summary_metrics().p95_response_time, abs=0.005)
    assert h.error_rate == pytest.approx(0.02)


def test_rewriting_a_run_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    run = make_run()
    store.write_run(run)
    store.write_run(run)
    con = sqlite3.connect(tmp_path / "r.db")
    assert con.execute("select count(*) from performance_test_runs").fetchone()[0] == 1
    series = con.execute("select count(*) from performance_metric_series").fetchone()[0]
    assert series == len(run.metrics)
    samples = con.execute("select role, rss_bytes from performance_resource_samples").fetchall()
    assert samples == [("runner", pytest.approx(120.5e6, rel=0.001))]


def test_history_filters_and_orders_newest_first(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    older, newer = make_run(), make_run()
    newer.started_at += 5
    stress = make_run()
    stress.test_type = "stress"
    for r in (older, newer, stress):
        store.write_run(r)
    assert [h.run_id for h in store.history(test_type="load")] == [newer.run_id, older.run_id]
    assert [h.run_id for h in store.history(test_type="stress")] == [stress.run_id]
    assert store.history(environment="production") == []


def test_unknown_run_and_unwritable_path(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    with pytest.raises(StoreError, match="no run matches 'abc'"):
        store.load_run("abc")
    with pytest.raises(StoreError, match="'nope' is not a run id"):
        store.load_run("nope")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match=r"cannot open the result store .*writable path") as err:
        open_store(f"sqlite:///{blocker}/sub/r.db")
    # The hint is an absolute path by perfmon's own convention (three slashes would be relative).
    assert "e.g. sqlite:////tmp/perfmon.db (four slashes: an absolute path)" in str(err.value)
    with pytest.raises(StoreError, match="unsupported store URL"):
        open_store("mysql://x")


def _columns(sql: str) -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    for m in re.finditer(r"alter table (?:public\.)?(\w+) add column (?:if not exists )?(\w+)", sql):
        tables.setdefault(m.group(1), []).append(m.group(2))
    for m in re.finditer(r"create table if not exists (?:public\.)?(\w+) \((.*?)\n\);", sql, re.S):
        cols = []
        for line in m.group(2).splitlines():
            line = line.strip()
            if not line or line.startswith(("--", "primary key")):
                continue
            cols.append(line.split()[0])
        tables[m.group(1)] = cols
    return tables


def test_sqlite_schema_mirrors_the_supabase_migration() -> None:
    migrations = sorted((ROOT / "supabase" / "migrations").glob("*.sql"))
    pg: dict[str, list[str]] = {}
    for path in migrations:  # in order, as they are applied
        sql = path.read_text()
        for table, cols in _columns(sql).items():
            pg.setdefault(table, []).extend(cols)
        for m in re.finditer(r"alter table (?:public\.)?(\w+) rename column (\w+) to (\w+)", sql):
            cols = pg[m.group(1)]
            cols[cols.index(m.group(2))] = m.group(3)
    lite = _columns((ROOT / "perfmon" / "store" / "schema_sqlite.sql").read_text())
    assert pg and pg == lite
    # WS-180's "Database Schema Required", by name.
    spec = {"id", "test_type", "environment", "concurrent_users", "duration_seconds", "avg_response_time_ms",
            "p95_response_time_ms", "error_rate", "throughput_rps", "passed", "created_at"}
    assert spec <= set(pg["performance_test_runs"])


def test_a_store_file_from_before_the_specs_names_is_upgraded_and_keeps_its_runs(tmp_path: Path) -> None:
    """A results.db the previous perfmon wrote (its run table with the old column names): opening it
    renames them as the PostgreSQL migration does, and the run reads back."""
    import sqlite3

    db, run = one_stored_run(tmp_path)
    con = sqlite3.connect(db)
    for new, old in (("avg_response_time_ms", "avg_response_time"), ("p95_response_time_ms", "p95_response_time"),
                     ("throughput_rps", "throughput")):
        con.execute(f"alter table performance_test_runs rename column {new} to {old}")
    con.execute("create index idx_perf_runs_created on performance_test_runs (created_at desc)")
    con.commit()
    con.close()
    store = open_store(f"sqlite:///{db}")
    [h] = store.history()
    assert h.run_id == run.run_id and h.p95_response_time_ms is not None
    assert store.load_run(run.run_id).summary_metrics() == run.summary_metrics()
    store.close()
    con = sqlite3.connect(db)
    indexes = {r[0] for r in con.execute("select name from sqlite_master where type = 'index'")}
    assert {"idx_performance_test_runs_created", "idx_performance_test_runs_type"} <= indexes
    assert "idx_perf_runs_created" not in indexes


def test_a_store_file_from_before_the_unmeasured_status_takes_one(tmp_path: Path) -> None:
    """A results.db whose status CHECK predates 'unmeasured' is widened in place when opened: its runs
    stay, and an unmeasured run can then be written."""
    import sqlite3

    db, old = one_stored_run(tmp_path)
    con = sqlite3.connect(db)
    [sql] = con.execute("select sql from sqlite_master where name = 'performance_test_runs'").fetchone()
    con.execute("pragma writable_schema = on")
    con.execute("update sqlite_master set sql = ? where name = 'performance_test_runs'",
                (sql.replace(", 'unmeasured'", ""),))
    con.commit()
    con.close()
    with pytest.raises(sqlite3.IntegrityError):  # the old file really refuses the status
        con = sqlite3.connect(db)
        con.execute("update performance_test_runs set status = 'unmeasured'")
    con.close()
    store = open_store(f"sqlite:///{db}")
    new = make_run()
    new.status = "unmeasured"
    store.write_run(new)
    assert {h.run_id: h.status for h in store.history()} == {old.run_id: "failed", new.run_id: "unmeasured"}
    store.close()
    assert sqlite3.connect(db).execute("pragma integrity_check").fetchone() == ("ok",)


def claims_a_gate_alert_once(store: Store) -> None:
    """The deploy gate's once-per-run alert mark (shared with the PostgreSQL test)."""
    run = make_run()
    store.write_run(run)
    assert [store.claim_gate_alert(run.run_id) for _ in range(3)] == [True, False, False]
    store.write_run(run)  # re-sending the run (a flush) keeps the mark
    assert store.claim_gate_alert(run.run_id) is False
    assert store.claim_gate_alert(run.run_id, release=True) and store.claim_gate_alert(run.run_id)
    store.close()


def test_a_gate_alert_is_claimed_once_per_run(tmp_path: Path) -> None:
    claims_a_gate_alert_once(open_store(f"sqlite:///{tmp_path}/r.db"))


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


def test_shard_parts_are_kept_per_run_and_shard(tmp_path: Path) -> None:
    keeps_shard_parts(open_store(f"sqlite:///{tmp_path}/r.db"))


def test_calibrations_are_kept_by_machine_class(tmp_path: Path) -> None:
    keeps_calibrations_by_machine_class(open_store(f"sqlite:///{tmp_path}/r.db"))


def test_a_role_sampled_twice_keeps_each_window_s_peak(tmp_path: Path) -> None:
    """The session's sampler and a scenario's both sample the runner: the stored window holds the higher."""
    import sqlite3

    run = make_run()
    run.metrics.trend("process_rss_mb", {"role": "target"}).record(300.0, run.started_at)
    run.metrics.trend("process_rss_mb", {"role": "target", "scenario": "load"}).record(200.0, run.started_at)
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    store.write_run(run)
    store.close()
    rows = sqlite3.connect(tmp_path / "r.db").execute(
        "select rss_bytes from performance_resource_samples where role = 'target'").fetchall()
    assert len(rows) == 1 and rows[0][0] == pytest.approx(300e6, rel=1e-3)
