"""docs/supabase-review.md's queries, each run as `authenticated` against a real PostgreSQL with every
migration applied and a run stored by the postgresql:// store: none may fail or come back empty."""

from __future__ import annotations

import re
import uuid

import pytest

from perfmon import open_store
from tests._support.apps import ROOT
from tests._support.postgres import ADMIN
from tests._support.runs import make_run

pytestmark = [pytest.mark.pg, pytest.mark.skipif(not ADMIN, reason="needs PERFMON_TEST_PG (scripts/test.sh sets it)")]

GUIDE = (ROOT / "docs" / "supabase-review.md").read_text()
QUERIES = re.findall(r"```sql\n(.*?)```", GUIDE, re.S)


def test_the_guide_has_its_queries() -> None:
    assert len(QUERIES) == 7


@pytest.mark.parametrize("query", QUERIES, ids=[q.split("from", 1)[1].split()[0] for q in QUERIES])
def test_every_review_query_runs_and_finds_the_stored_run(pg_url: str, query: str) -> None:
    import psycopg

    run = make_run()
    run.status = "failed"  # make_run has a failed threshold; the verdict says so
    run.metadata["breaking_points"] = {"stress": {"sustainable_rate": 80.0, "breaking_rate": 100.0, "users": 40.0,
                                                  "limited_by": "server", "steps": [
                                                      {"rate": 80.0, "throughput": 80.0, "held": True},
                                                      {"rate": 100.0, "throughput": 91.0, "held": False}]}}
    store = open_store(pg_url)
    store.write_run(run)
    store.close()
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("insert into performance_regressions (id, run_id, metric, baseline, observed, change_ratio) "
                    "values (%s, %s, 'http_req_duration{name:/api/dashboard} p95', 100, 180, 0.8)",
                    (str(uuid.uuid4()), run.run_id))
    with psycopg.connect(pg_url) as con:
        con.execute("set role authenticated")
        rows = con.execute(query).fetchall()
    assert rows, query
