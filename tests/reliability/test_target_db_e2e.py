"""The bundled app on the real PostgreSQL test.sh starts, with each database knob, sampled by
``--perf-target-db``: a missing index, a pool too small and a held row lock are each found and named.

One seeded database serves every run (seeding 300 000 submissions takes seconds); each run reads
its own ``pg_stat_statements`` deltas, and the app makes the index what its knob says at start.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests._support.postgres import ADMIN
from tests._support.sessions import pytest_cmd, run

pytestmark = [pytest.mark.pg, pytest.mark.skipif(not ADMIN, reason="needs PERFMON_TEST_PG (scripts/test.sh sets it)")]

SCRIPT = """
from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    if user.token is None:
        r = await client.post("/api/auth/login", json={"email": user.email, "password": user.password})
        user.token = r.json()["token"]
        client.headers["Authorization"] = f"Bearer {user.token}"
    if SUBMIT:
        await client.post("/api/forms/submit", json={"form_id": 1, "names": "Ava & Leo"})
    else:
        await client.get("/api/dashboard")


def test_db(perf_api):
    perf_api.run(hit, scenario="db")
"""
DASHBOARD = "from submissions where supplier_id = $1 order by created_at desc limit $2"
SUBMIT = "update suppliers set enquiries = enquiries + $2 where id = (select supplier_id from forms where id = $1)"


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    import psycopg

    name = f"perfmon_target_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{ADMIN}/postgres", autocommit=True) as admin:
        admin.execute(f"create database {name}")
    with psycopg.connect(f"{ADMIN}/{name}", autocommit=True) as con:
        con.execute("create extension pg_stat_statements")
    yield f"{ADMIN}/{name}"
    with psycopg.connect(f"{ADMIN}/postgres", autocommit=True) as admin:
        admin.execute(f"drop database {name} with (force)")


def session(tmp_path: Path, url: str, *, users: int = 20, submit: bool = False, store: Path | None = None,
            **knobs: str) -> tuple[dict[str, Any], str]:
    """One perfmon run of 20 users on the app in PostgreSQL mode; its metadata and its summary."""
    (tmp_path / "perfmon.toml").write_text(f'[scenarios.db]\nvus = {users}\nduration = "8s"\nthink_time = "0.01s"\n')
    (tmp_path / "test_db.py").write_text(SCRIPT.replace("SUBMIT", str(submit)))
    db = store or tmp_path / "r.db"
    out = run(pytest_cmd("test_db.py", "--perf-store", f"sqlite:///{db}", "--perf-target-db", url), tmp_path,
              DEMO_DATABASE_URL=url, **knobs)
    assert out.returncode == 0, out.stdout + out.stderr
    [(metadata,)] = sqlite3.connect(db).execute(
        "select metadata from performance_test_runs order by created_at desc limit 1").fetchall()
    return json.loads(metadata), out.stdout


def query(found: dict[str, Any], text: str) -> dict[str, Any]:
    return next(q for q in found["target_db"]["queries"] if text in q["query"])


def test_a_missing_index_puts_the_dashboard_query_on_top_and_a_small_pool_is_named(
        database: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    store = tmp_path_factory.mktemp("store") / "r.db"  # one history: the indexed run is the other's baseline
    indexed, _ = session(tmp_path_factory.mktemp("indexed"), database, store=store, DEMO_DB_POOL="20")
    where = tmp_path_factory.mktemp("missing")
    missing, said = session(where, database, store=store, DEMO_DB_POOL="20", DEMO_DB_MISSING_INDEX="1")
    top = missing["target_db"]["queries"][0]
    assert DASHBOARD in top["query"], missing["target_db"]["queries"]
    assert top["mean_ms"] >= 3 * query(indexed, DASHBOARD)["mean_ms"], (top, query(indexed, DASHBOARD))
    assert top["baseline_runs"] == 1 and top["baseline_mean_ms"] == query(indexed, DASHBOARD)["mean_ms"]
    assert top["change"] >= 2, top
    assert "report was not written" not in said, said
    report = next((where / "perf-reports").glob("*/index.html")).read_text()
    section = report[report.index('<section id="target-db">'):]
    assert section.index(DASHBOARD) < section.index("select id, names")  # on top in the report
    assert "mean vs baseline" in section and "statement time" in section and "connections by state" in section
    assert missing["derived"]["db_bottleneck"]["bottleneck"] == "queries", missing["derived"]["db_bottleneck"]
    assert "database: queries:" in said and DASHBOARD in said
    # The same load with 20 connections for 20 users: requests hardly wait for one.
    assert indexed["derived"]["db_bottleneck"]["bottleneck"] != "pool", indexed["derived"]["db_bottleneck"]

    small, said = session(tmp_path_factory.mktemp("pool"), database, DEMO_DB_POOL="2")
    found = small["derived"]["db_bottleneck"]
    assert found["bottleneck"] == "pool" and found["pool_wait_share"] >= 0.5, found
    assert small["target_db"]["connections"] == {"wedsync-demo": 2}
    assert "the pool, not the queries, is the bottleneck" in said


def test_a_held_row_lock_is_attributed_to_the_submit_query_with_its_blocking_chain(
        database: str, tmp_path: Path) -> None:
    found, said = session(tmp_path, database, users=10, submit=True, DEMO_DB_LOCK_MS="200")
    chains = found["target_db"]["blocking"]
    assert chains and SUBMIT in chains[0]["waiting"] and SUBMIT in chains[0]["blocking"], chains
    assert 100 <= chains[0]["longest_ms"] < 5000, chains
    assert found["derived"]["db_bottleneck"]["bottleneck"] == "locks", found["derived"]["db_bottleneck"]
    assert "database: locks:" in said, said
    assert "report was not written" not in said, said
    report = next((tmp_path / "perf-reports").glob("*/index.html")).read_text()
    assert "Lock waits: who blocked whom" in report and "'1'" not in report  # normalized text, no values
    summary = json.loads(next((tmp_path / "perf-reports").glob("*/summary.json")).read_text())
    schema = json.loads(resources.files("perfmon.report").joinpath("summary.schema.json").read_text())
    jsonschema.validate(summary, schema)
    assert summary["target_db"]["blocking"] == chains and summary["derived"]["db_bottleneck"]["bottleneck"] == "locks"
