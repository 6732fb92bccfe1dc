"""A real PostgreSQL 15 database per test, with Supabase's roles and every migration applied in order.

scripts/test.sh starts the server and sets PERFMON_TEST_PG; without it the tests using ``pg_url`` skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._support.apps import ROOT

__all__ = ["ADMIN", "MIGRATIONS", "apply", "empty_pg", "pg_url"]

ADMIN = os.environ.get("PERFMON_TEST_PG")


MIGRATIONS = sorted((ROOT / "supabase" / "migrations").glob("*.sql"))


def apply(url: str, *migrations: Path) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        for path in migrations:
            con.execute(path.read_text())


@pytest.fixture
def empty_pg() -> Iterator[str]:
    """A fresh database with only Supabase's roles (bootstrap.sql): apply migrations with ``apply``."""
    if not ADMIN:
        pytest.skip("needs PERFMON_TEST_PG (scripts/test.sh sets it)")
    import psycopg

    name = f"perfmon_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{ADMIN}/postgres", autocommit=True) as admin:
        admin.execute(f"create database {name}")
    url = f"{ADMIN}/{name}"
    apply(url, ROOT / "supabase" / "tests" / "bootstrap.sql")
    yield url
    with psycopg.connect(f"{ADMIN}/postgres", autocommit=True) as admin:
        admin.execute(f"drop database {name} with (force)")


@pytest.fixture
def pg_url(empty_pg: str) -> str:
    """A fresh database with Supabase's roles and every migration applied in order."""
    apply(empty_pg, *MIGRATIONS)
    return empty_pg
