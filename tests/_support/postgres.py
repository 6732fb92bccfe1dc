"""A real PostgreSQL 15 database per test, with Supabase's roles and every migration applied in order.

scripts/test.sh starts the server and sets PERFMON_TEST_PG; without it the tests using ``pg_url`` skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests._support.apps import ROOT

__all__ = ["ADMIN", "pg_url"]

ADMIN = os.environ.get("PERFMON_TEST_PG")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database with Supabase's roles and every migration applied in order."""
    if not ADMIN:
        pytest.skip("needs PERFMON_TEST_PG (scripts/test.sh sets it)")
    import psycopg

    name = f"perfmon_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{ADMIN}/postgres", autocommit=True) as admin:
        admin.execute(f"create database {name}")
    url = f"{ADMIN}/{name}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute((ROOT / "supabase" / "tests" / "bootstrap.sql").read_text())
        for path in sorted((ROOT / "supabase" / "migrations").glob("*.sql")):
            con.execute(path.read_text())
    yield url
    with psycopg.connect(f"{ADMIN}/postgres", autocommit=True) as admin:
        admin.execute(f"drop database {name} with (force)")
