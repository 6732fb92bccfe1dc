"""The postgresql:// store against a real PostgreSQL 15 with the Supabase migrations applied.

scripts/test.sh starts the server and sets PERFMON_TEST_PG; without it these tests cannot run.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from perfmon import StoreError, open_store
from perfmon.core.config import load_config
from perfmon.core.errors import RunRejectedError
from perfmon.core.results import Run
from perfmon.store.spool import store_or_spool
from tests._support.postgres import ADMIN, MIGRATIONS, apply
from tests._support.runs import (
    claims_a_gate_alert_once,
    keeps_calibrations_by_machine_class,
    keeps_shard_parts,
    make_run,
    two_commits,
)

pytestmark = [pytest.mark.pg, pytest.mark.skipif(not ADMIN, reason="needs PERFMON_TEST_PG (scripts/test.sh sets it)")]


def test_round_trip_and_idempotent_rewrite(pg_url: str) -> None:
    store = open_store(pg_url)
    run = make_run()
    store.write_run(run)
    store.write_run(run)
    back = store.load_run(run.run_id[:8])
    assert back.summary_metrics() == run.summary_metrics()
    assert [(o.threshold.expression, o.passed) for o in back.thresholds] == [("p(95)<2000", True), ("rate<0.01", False)]
    [h] = store.history()
    assert h.run_id == run.run_id and h.error_rate == pytest.approx(0.02)
    import psycopg

    with psycopg.connect(pg_url) as con:
        assert con.execute("select count(*) from performance_test_runs").fetchone() == (1,)
        assert con.execute("select complete from performance_test_runs").fetchone() == (True,)
        series = con.execute("select count(*) from performance_metric_series").fetchone()
        assert series == (len(run.metrics),)
        # What people read in Supabase: the review view shows the run.
        assert con.execute("select count(*) from performance_latest_runs").fetchone() == (1,)


def test_history_of_one_commit_by_its_prefix(pg_url: str) -> None:
    store = open_store(pg_url)
    mine = two_commits(store)
    assert [h.run_id for h in store.history(git_sha="abc1234")] == [mine.run_id]
    assert [h.run_id for h in store.history(git_sha=mine.git_sha)] == [mine.run_id]
    store.close()


def test_a_lost_connection_is_retried_on_a_new_one(pg_url: str) -> None:
    import psycopg

    store = open_store(pg_url)
    pid = store._con.info.backend_pid  # type: ignore[attr-defined]
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("select pg_terminate_backend(%s)", (pid,))
    run = make_run()
    store.write_run(run)
    with psycopg.connect(pg_url) as con:
        assert con.execute("select count(*) from performance_test_runs").fetchone() == (1,)


def test_constraint_errors_are_not_retried(pg_url: str) -> None:
    store = open_store(pg_url)
    run = make_run()
    run.environment = "mars"  # violates the check constraint
    with pytest.raises(RunRejectedError, match=r"refused run .*check constraint"):
        store.write_run(run)


def test_a_store_that_is_down_spools_and_flush_delivers_once(pg_url: str, tmp_path: Path) -> None:
    import psycopg

    run = make_run()
    # A store it cannot reach into a spooled run instead of a lost one.
    (tmp_path / "perfmon.toml").write_text(f'store = "{pg_url}/nonexistent_db"\n')
    cfg = load_config(tmp_path / "perfmon.toml")
    stored = store_or_spool(run, cfg)
    assert stored.spooled and "cannot connect" in (stored.problem or "")
    spooled = list((tmp_path / ".perfmon" / "spool").glob("*.json"))
    assert [p.stem for p in spooled] == [run.run_id]
    from perfmon.cli import main

    assert main(["--config", str(tmp_path / "perfmon.toml"), "--store", pg_url, "flush", "--all"]) == 0
    assert main(["--config", str(tmp_path / "perfmon.toml"), "--store", pg_url, "flush"]) == 0
    with psycopg.connect(pg_url) as con:
        assert con.execute("select count(*) from performance_test_runs").fetchone() == (1,)
        n = con.execute("select count(*) from performance_metric_windows").fetchone()
        assert n is not None and n[0] > 0


def test_password_never_appears_in_errors() -> None:
    assert ADMIN is not None
    bad = ADMIN.replace("postgres@", "postgres:hunter2-secret@") + "/no_such_db"
    with pytest.raises(StoreError) as err:
        open_store(bad)
    assert "hunter2" not in str(err.value)
    assert "cannot connect to postgresql://127.0.0.1" in str(err.value)


SPEC_COLUMNS = ("test_type, environment, concurrent_users, duration_seconds, avg_response_time_ms, "
                "p95_response_time_ms, error_rate, throughput_rps, passed")


def test_record_test_results_writes_the_specs_columns(pg_url: str) -> None:
    """PerformanceMonitor.record_test_results, the spec's name, with only the spec's fields in hand."""
    import psycopg

    from perfmon import PerformanceMetrics, PerformanceMonitor, PerformanceTestResults

    results = PerformanceTestResults(test_type="load", environment="staging", concurrent_users=100,
                                     duration_seconds=600.4, passed=True,
                                     metrics=PerformanceMetrics(850.256, 1800.5, 0.00424, 120.75))
    PerformanceMonitor(store=open_store(pg_url)).record_test_results(results)
    with psycopg.connect(pg_url) as con:
        row = con.execute(f"select {SPEC_COLUMNS}, id::text from performance_test_runs").fetchone()
    assert row is not None
    assert row[:9] == ("load", "staging", 100, 600, Decimal("850.26"), Decimal("1800.50"), Decimal("0.0042"),
                       Decimal("120.75"), True)
    assert row[9] == results.run_id


def test_a_database_migrated_from_the_old_names_keeps_its_runs(empty_pg: str) -> None:
    """Old migrations, a run written as the previous perfmon wrote it (old column names), then the
    spec migration: the run reads back whole, under the new names."""
    import psycopg
    from psycopg.types.json import Jsonb

    from perfmon.store import run_rows

    old = [m for m in MIGRATIONS if m.name < "20261125000000"]
    new = [m for m in MIGRATIONS if m.name >= "20261125000000"]
    assert new[0].name == "20261125000000_spec_table.sql"
    apply(empty_pg, *old)
    run = make_run()
    rows = run_rows(run)
    renamed = {"avg_response_time_ms": "avg_response_time", "p95_response_time_ms": "p95_response_time",
               "throughput_rps": "throughput"}
    exact = run.summary_metrics()
    old_row = {renamed.get(k, k): v for k, v in rows.run.items() if k != "baseline_accepted_at"}  # added later
    old_row.update(avg_response_time=exact.avg_response_time, p95_response_time=exact.p95_response_time,
                   throughput=exact.throughput, duration_seconds=run.duration_seconds, complete=True)

    def insert(con: psycopg.Connection[tuple[object, ...]], table: str, row: dict[str, object]) -> None:
        cells = [Jsonb(v) if isinstance(v, dict | list) else v for v in row.values()]
        con.execute(f"insert into {table} ({', '.join(row)}) values ({', '.join(['%s'] * len(row))})", cells)

    with psycopg.connect(empty_pg, autocommit=True) as con:
        insert(con, "performance_test_runs", old_row)
        for table, detail in rows.details.items():
            for row in detail:
                insert(con, table, row)
    apply(empty_pg, *new)
    store = open_store(empty_pg)
    back = store.load_run(run.run_id)
    assert back.summary_metrics() == exact and len(back.metrics) == len(run.metrics)
    [h] = store.history()
    assert h.p95_response_time_ms == pytest.approx(exact.p95_response_time, abs=0.005)
    assert h.throughput_rps == pytest.approx(exact.throughput, abs=0.005)
    assert isinstance(h.duration_seconds, int)


def test_a_gate_alert_is_claimed_once_per_run(pg_url: str) -> None:
    claims_a_gate_alert_once(open_store(pg_url))


def test_calibrations_are_kept_by_machine_class(pg_url: str) -> None:
    keeps_calibrations_by_machine_class(open_store(pg_url))


def test_shard_parts_are_kept_per_run_and_shard(pg_url: str) -> None:
    keeps_shard_parts(open_store(pg_url))


def test_of_shards_storing_at_once_the_last_sees_them_all(pg_url: str) -> None:
    """Shards finishing together each read the parts in the transaction that wrote their own: whichever
    commits last sees every part, so exactly one of them judges the run (none is left waiting forever)."""
    from concurrent.futures import ThreadPoolExecutor

    from perfmon.store import ShardRow

    run_id, count = "5d0c8a5e-0000-4000-8000-0000000000aa", 6

    def store_shard(i: int) -> int:
        store = open_store(pg_url)
        try:
            return len(store.write_shard(ShardRow(run_id, i, count, f"runner-{i}", {"i": i, "pad": "x" * 20000})))
        finally:
            store.close()

    with ThreadPoolExecutor(count) as pool:
        seen = sorted(pool.map(store_shard, range(1, count + 1)))
    assert seen == list(range(1, count + 1))  # serialized by run: the k-th to commit saw k parts


def test_concurrent_writers_lose_nothing_and_never_deadlock(pg_url: str) -> None:
    """Shards and CI jobs storing into one database at once (issue #17): eight writers of their own
    runs, and two more re-sending one shared run (a spool flush racing the run it spools), each on
    its own connection, all at once against the real PostgreSQL."""
    import threading

    import psycopg

    shared = make_run()
    own = [[make_run() for _ in range(4)] for _ in range(8)]
    errors: list[BaseException] = []
    start = threading.Barrier(10)

    def write(runs: list[Run]) -> None:
        store = open_store(pg_url)
        try:
            start.wait()
            for run in runs:
                store.write_run(run)
        except BaseException as exc:  # noqa: BLE001 - reported below, with every writer's
            errors.append(exc)
        finally:
            store.close()

    writers = [threading.Thread(target=write, args=(runs,)) for runs in own]
    writers += [threading.Thread(target=write, args=([shared] * 6,)) for _ in range(2)]
    for t in writers:
        t.start()
    for t in writers:
        t.join(timeout=120)
    assert not [t for t in writers if t.is_alive()], "a writer hung"
    assert errors == []
    expected = {run.run_id: len(run.metrics) for runs in own for run in runs} | {shared.run_id: len(shared.metrics)}
    with psycopg.connect(pg_url) as con:
        stored = dict(con.execute("select run_id::text, count(*) from performance_metric_series group by run_id"
                                  ).fetchall())
        runs = con.execute("select count(*), count(*) filter (where complete) from performance_test_runs").fetchone()
    assert stored == expected  # every run whole, the shared one once
    assert runs == (len(expected), len(expected))
