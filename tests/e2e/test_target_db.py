"""The target-database sampler against the real PostgreSQL test.sh starts (pg_stat_statements preloaded):
a held row lock, idle connections, a database without pg_stat_statements, one that cannot be reached."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from perfmon import Counter, Metrics, Trend, open_store
from perfmon.system.target_db import TargetDbError, TargetDbSampler
from tests._support.postgres import ADMIN
from tests._support.sessions import perf_project, runs_in, said

pytestmark = [pytest.mark.pg, pytest.mark.skipif(not ADMIN, reason="needs PERFMON_TEST_PG (scripts/test.sh sets it)")]


def with_statements(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("create extension if not exists pg_stat_statements")
        con.execute("create table suppliers (id int primary key, bookings int not null default 0)")
        con.execute("insert into suppliers (id) select generate_series(1, 10)")
    return url


def trend(metrics: Metrics, name: str, **tags: str) -> Trend:
    found = metrics.select_tags(name, tags)
    assert isinstance(found, Trend), f"no {name}{tags}: {metrics.names()}"
    return found


def test_a_held_row_lock_is_a_lock_wait_with_its_blocking_chain_in_normalized_text(empty_pg: str) -> None:
    url = with_statements(empty_pg)
    metrics = Metrics()
    sampler = TargetDbSampler(url, metrics, interval_s=0.1)
    sampler.start()
    holder = psycopg.connect(url)
    holder.execute("update suppliers set bookings = bookings + 1 where id = 7")  # the transaction stays open

    def waiter() -> None:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute("update suppliers set bookings = bookings + 1 where id = 7")

    blocked = threading.Thread(target=waiter)
    blocked.start()
    time.sleep(1.0)
    holder.commit()
    holder.close()
    blocked.join(timeout=10)
    summary = sampler.stop()
    assert (trend(metrics, "db_lock_waits").stat("max") or 0) >= 1
    waited = trend(metrics, "db_lock_wait_ms")
    assert waited.count >= 3 and 500 <= (waited.stat("max") or 0) < 5000
    assert (trend(metrics, "db_waiting", wait_type="Lock").stat("max") or 0) >= 1
    [chain] = summary.blocking
    update = "update suppliers set bookings = bookings + $1 where id = $2"
    assert (chain.waiting, chain.blocking) == (update, update) and chain.seen >= 3
    [query] = [q for q in summary.queries if q.query == update]
    assert query.calls == 2 and query.total_ms >= 500  # the waiter's update took the whole wait
    text = str(summary.to_dict())
    assert "id = 7" not in text and "perfmon target-db sampler" not in text  # no values; not our own queries


def test_connections_by_state_and_against_max_connections(empty_pg: str) -> None:
    url = with_statements(empty_pg)
    idle = [psycopg.connect(url, autocommit=True) for _ in range(4)]
    in_tx = psycopg.connect(url)
    in_tx.execute("select 1")  # idle in transaction
    metrics = Metrics()
    sampler = TargetDbSampler(url, metrics, interval_s=0.1)
    try:
        sampler.start()
        for _ in range(20):
            idle[0].execute("select 1")  # 20 commits (autocommit)
        time.sleep(1.5)  # a backend reports its counts to pg_stat_database at most once a second
    finally:
        sampler.stop()
        for con in [*idle, in_tx]:
            con.close()
    assert (trend(metrics, "db_connections", state="idle").stat("max") or 0) >= 4
    assert trend(metrics, "db_connections", state="idle in transaction").stat("max") == 1
    assert (trend(metrics, "db_connections_used").stat("max") or 0) >= 6  # theirs and the sampler's
    assert metrics.select("db_connections_max") is not None
    commits = metrics.select("db_commits")
    assert isinstance(commits, Counter) and commits.count >= 20
    deadlocks = metrics.select("db_deadlocks")
    assert isinstance(deadlocks, Counter) and deadlocks.count == 0


def test_without_pg_stat_statements_the_run_goes_on_without_the_query_table(empty_pg: str) -> None:
    metrics = Metrics()
    sampler = TargetDbSampler(empty_pg, metrics, interval_s=0.1)
    sampler.start()
    time.sleep(0.3)
    summary = sampler.stop()
    assert summary.statements is not None and "create extension pg_stat_statements" in summary.statements
    assert summary.queries == [] and summary.lost is None
    assert trend(metrics, "db_connections_used").count >= 2


def test_an_unreachable_database_is_one_line_without_its_password() -> None:
    with pytest.raises(TargetDbError) as raised:
        TargetDbSampler("postgresql://app:s3cret-pw@127.0.0.1:9/wedsync", Metrics()).start()
    message = str(raised.value)
    assert "s3cret-pw" not in message and "\n" not in message
    assert message.startswith("cannot sample the target database postgresql://app:***@127.0.0.1:9/wedsync")


def test_a_run_samples_its_target_database_and_stores_it_with_the_run(empty_pg: str, pytester: pytest.Pytester,
                                                                      clean_env: None) -> None:
    url = with_statements(empty_pg)
    db = perf_project(pytester) / "r.db"
    out = pytester.runpytest_subprocess("test_quick.py", "--perf-store", f"sqlite:///{db}", "--perf-target-db", url,
                                        timeout=600)
    assert out.ret == 0, said(out)[-3000:]
    out.assert_outcomes(passed=1)
    [(run_id, _, _)] = runs_in(db)
    store = open_store(f"sqlite:///{db}")
    try:
        stored = store.load_run(run_id)
    finally:
        store.close()
    assert stored.metadata["target_db"]["database"] == url.rsplit("/", 1)[1]
    assert stored.metadata["target_db"]["statements"] is None and stored.metadata["target_db"]["lost"] is None
    assert trend(stored.metrics, "db_connections_used").count >= 2


def test_a_target_database_that_cannot_be_read_is_one_line_and_the_run_goes_on(pytester: pytest.Pytester,
                                                                                 clean_env: None) -> None:
    db = perf_project(pytester) / "r.db"
    out = pytester.runpytest_subprocess("test_quick.py", "--perf-store", f"sqlite:///{db}", "--perf-target-db",
                                        "postgresql://app:s3cret-pw@127.0.0.1:9/wedsync", timeout=600)
    assert out.ret == 0, said(out)[-3000:]
    [line] = [x for x in out.outlines if "cannot sample the target database" in x]
    assert "the run goes on without database metrics" in line and "s3cret-pw" not in said(out)
    assert len(runs_in(db)) == 1
    bad = pytester.runpytest_subprocess("test_quick.py", "--perf-target-db", "mysql://app:pw@db/wedsync", timeout=600)
    assert bad.ret == 2 and "is not a PostgreSQL URL" in said(bad)
    assert "Traceback" not in said(bad) and "pw@" not in said(bad)


def test_statement_time_per_window_counts_the_targets_statements_not_ours(empty_pg: str) -> None:
    url = with_statements(empty_pg)
    metrics = Metrics()
    sampler = TargetDbSampler(url, metrics, interval_s=0.2)
    sampler.start()
    with psycopg.connect(url, autocommit=True) as con:
        for _ in range(40):
            con.execute("select pg_sleep(0.05)")
    sampler.stop()  # reads the last, partial window too
    ms, calls = metrics.select_tags("db_statements_ms", {}), metrics.select_tags("db_statements", {})
    assert isinstance(ms, Counter) and isinstance(calls, Counter)
    assert 40 <= calls.count <= 45, calls.count  # our own sampling queries (about 150) are left out
    assert 1900 <= ms.count < 4000, ms.count


def test_the_target_databases_password_appears_nowhere_perfmon_writes(empty_pg: str, pytester: pytest.Pytester,
                                                                      clean_env: None) -> None:
    with_statements(empty_pg)
    # The test server trusts local connections, so a password in the URL is accepted and never checked.
    url = empty_pg.replace("postgresql://postgres@", "postgresql://postgres:planted-pw-7731@")
    db = perf_project(pytester) / "r.db"
    out = pytester.runpytest_subprocess("test_quick.py", "--perf-store", f"sqlite:///{db}", "--perf-target-db", url,
                                        timeout=600)
    assert out.ret == 0, said(out)[-3000:]
    assert len(runs_in(db)) == 1
    written = [p for p in pytester.path.rglob("*") if p.is_file()]
    assert any(p.name == "index.html" for p in written) and any(p.name == "summary.json" for p in written)
    leaks = [str(p) for p in written if b"planted-pw-7731" in p.read_bytes()]
    assert leaks == [] and "planted-pw-7731" not in said(out), leaks
