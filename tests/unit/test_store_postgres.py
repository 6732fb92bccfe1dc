"""The postgresql:// store against a real PostgreSQL 15 with the Supabase migrations applied.

scripts/test.sh starts the server and sets PERFMON_TEST_PG; without it these tests cannot run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_store_sqlite import make_run

from perfmon import StoreError, open_store
from perfmon.config import load_config
from perfmon.errors import RunRejectedError
from perfmon.store.spool import store_or_spool
from tests._support.postgres import ADMIN, pg_url

pytestmark = [pytest.mark.pg, pytest.mark.skipif(not ADMIN, reason="needs PERFMON_TEST_PG (scripts/test.sh sets it)")]
__all__ = ["pg_url"]  # a fixture, used by name


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

    assert main(["--config", str(tmp_path / "perfmon.toml"), "--store", pg_url, "flush"]) == 0
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
