from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from perfmon import ConfigError, Run, StoreError, open_store
from tests._support.runs import (
    claims_a_gate_alert_once,
    keeps_calibrations_by_machine_class,
    keeps_shard_parts,
    make_run,
)

ROOT = Path(__file__).resolve().parents[2]




def one_stored_run(tmp_path: Path) -> tuple[Path, Run]:
    """A store file holding one run, closed: for tests that edit it as an older perfmon left it."""
    db = tmp_path / "old.db"
    run = make_run()
    store = open_store(f"sqlite:///{db}")
    store.write_run(run)
    store.close()
    return db, run




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
    with pytest.raises(ConfigError, match="unsupported store URL"):  # a typo, not a store that is down: exit 2
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




def test_a_gate_alert_is_claimed_once_per_run(tmp_path: Path) -> None:
    claims_a_gate_alert_once(open_store(f"sqlite:///{tmp_path}/r.db"))






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


def test_the_store_url_is_checked_without_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    from perfmon.store import store_kind

    for key in ("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    assert store_kind("sqlite:///.perfmon/results.db") == "sqlite"
    assert store_kind("postgresql://perf:secret@db.internal:5432/perf") == "postgresql"
    with pytest.raises(ConfigError, match="needs SUPABASE_URL"):
        store_kind("supabase")  # the README's form, without its project
    monkeypatch.setenv("SUPABASE_URL", "https://abc.supabase.co")
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "service-role")
    assert store_kind("supabase") == "supabase"  # was "unsupported store URL"
    with pytest.raises(ConfigError, match="the port is not a number") as bad:
        store_kind("postgresql://perf:secret@db:54x2/perf")
    assert "secret" not in str(bad.value)
    with pytest.raises(ConfigError, match="has no path"):
        store_kind("sqlite://")
