


"""The Supabase store's HTTP contract, against FakePostgREST (tests/_support/fake_postgrest.py): a fake
of the hosted REST API, which cannot run here. A smoke test runs against a real project only
when SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are set."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from perfmon import StoreError
from tests._support.fake_postgrest import KEY, Failure, FakePostgREST, store
from tests._support.runs import keeps_calibrations_by_machine_class, keeps_shard_parts, make_run, two_commits


def test_writes_are_batched_minimal_upserts_and_the_run_completes_last() -> None:
    fake = FakePostgREST()
    run = make_run()
    store(fake, batch_size=2).write_run(run)
    posts = [r for r in fake.requests if r.method == "POST"]
    assert all("return=minimal" in r.headers["prefer"] and "resolution=merge-duplicates" in r.headers["prefer"]
               for r in posts)
    assert all(r.headers["apikey"] == KEY for r in fake.requests)
    series = [r for r in posts if r.url.path.endswith("/performance_metric_series")]
    assert len(series) == -(-len(run.metrics) // 2)  # batches of two
    assert fake.requests[0].url.path == "/rest/v1/performance_test_runs"
    assert json.loads(fake.requests[0].content)[0]["complete"] is False
    last = fake.requests[-1]
    assert last.method == "PATCH" and json.loads(last.content) == {"complete": True}
    [row] = fake.rows("performance_test_runs")
    assert row["complete"] is True


def test_resending_a_run_is_idempotent_and_reads_back() -> None:
    fake = FakePostgREST()
    s = store(fake)
    run = make_run()
    s.write_run(run)
    counts = {t: len(v) for t, v in fake.tables.items()}
    s.write_run(run)
    assert {t: len(v) for t, v in fake.tables.items()} == counts
    [h] = s.history()
    assert h.run_id == run.run_id
    back = s.load_run(run.run_id)
    assert back.summary_metrics() == run.summary_metrics()


def test_history_of_one_commit_is_asked_of_postgrest_as_a_prefix() -> None:
    """`perfmon gate` reads the deploy's commit from the table (fake PostgREST: the hosted API is out of reach)."""
    fake = FakePostgREST()
    mine = two_commits(store(fake))
    assert [h.run_id for h in store(fake).history(git_sha="abc1234")] == [mine.run_id]
    assert "git_sha=like.abc1234" in str(fake.requests[-1].url).replace("%25", "%")
    assert "git_sha=like.abc1234" in str(fake.requests[-1].url).replace("%25", "%")


def test_5xx_and_timeouts_are_retried() -> None:
    fake = FakePostgREST(script=[Failure(503), Failure(timeout=True), Failure(500, "XX000")])
    store(fake).write_run(make_run())
    assert len(fake.rows("performance_test_runs")) == 1
    assert len(fake.requests) > 3


@pytest.mark.parametrize(("status", "code"), [(409, "23505"), (401, "PGRST301"), (403, "42501"), (400, "22P02")])
def test_constraint_and_permission_errors_are_not_retried(status: int, code: str) -> None:
    fake = FakePostgREST(script=[Failure(status, code)])
    with pytest.raises(StoreError, match=f"HTTP {status}") as err:
        store(fake).write_run(make_run())
    assert len(fake.requests) == 1
    assert KEY not in str(err.value)


def test_retries_give_up_after_the_last_attempt() -> None:
    fake = FakePostgREST(script=[Failure(timeout=True)] * 3)
    with pytest.raises(StoreError, match=r"ReadTimeout|timed out"):
        store(fake, attempts=3).write_run(make_run())
    assert len(fake.requests) == 3


def test_store_dying_mid_run_is_spooled_and_flushed_exactly_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    from perfmon.core.config import load_config
    from perfmon.store.spool import store_or_spool

    fake = FakePostgREST(die_after=3)
    monkeypatch.setattr("perfmon.store.spool.open_store", lambda url, root=None: store(fake, attempts=2))
    (tmp_path / "perfmon.toml").write_text('store = "supabase"\n')
    run = make_run()
    stored = store_or_spool(run, load_config(tmp_path / "perfmon.toml"))
    assert stored.spooled and "Supabase" in (stored.problem or "")
    assert [r["complete"] for r in fake.rows("performance_test_runs")] == [False]  # never shown as complete
    # The store is back: replay the spool.
    fake.die_after = None
    from perfmon.cli.flush import flush

    monkeypatch.setattr("perfmon.store.spool.open_store", lambda url, root=None: store(fake))
    assert flush(load_config(tmp_path / "perfmon.toml")) == 0
    assert flush(load_config(tmp_path / "perfmon.toml")) == 0
    [row] = fake.rows("performance_test_runs")
    assert row["complete"] is True and row["id"] == run.run_id
    assert len(fake.rows("performance_metric_series")) == len(run.metrics)


@pytest.mark.skipif(not (os.environ.get("SUPABASE_URL") and os.environ.get("SUPABASE_SERVICE_ROLE_KEY")),
                    reason="a real project is used only when SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are set")
def test_smoke_against_a_real_project() -> None:
    from perfmon import open_store

    s = open_store("supabase")
    run = make_run()
    s.write_run(run)
    assert any(h.run_id == run.run_id for h in s.history(limit=50))


def test_a_gate_alert_is_claimed_once_per_run_by_a_conditional_update() -> None:
    fake = FakePostgREST()
    s = store(fake)
    run = make_run()
    s.write_run(run)
    assert [s.claim_gate_alert(run.run_id) for _ in range(2)] == [True, False]
    [claim, *_] = [r for r in fake.requests if r.method == "PATCH" and b"gate_alerted_at" in r.content]
    assert "gate_alerted_at=is.null" in str(claim.url) and "return=representation" in claim.headers["prefer"]
    assert s.claim_gate_alert(run.run_id, release=True) and s.claim_gate_alert(run.run_id)


def test_calibrations_are_kept_by_machine_class() -> None:
    keeps_calibrations_by_machine_class(store(FakePostgREST()))


def test_shard_parts_are_kept_per_run_and_shard() -> None:
    keeps_shard_parts(store(FakePostgREST()))  # the fake stands in for the hosted REST API
