"""The store dies while the run is measuring (a real PostgreSQL stops taking connections): the run is
spooled, the session says so in one line, and `perfmon flush` delivers it once the store is back."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests._support.sessions import env, perfmon_cmd, project, pytest_cmd, run

pytestmark = pytest.mark.pg


def set_connections(url: str, allowed: bool) -> None:
    import psycopg

    admin_url, _, name = url.rpartition("/")
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as admin:
        admin.execute(f"alter database {name} with allow_connections {str(allowed).lower()}")
        if not allowed:
            admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", (name,))


def test_a_store_that_dies_mid_run_gets_the_run_later_once(tmp_path: Path, pg_url: str) -> None:
    import psycopg

    proj = project(tmp_path)
    (proj / "perfmon.toml").write_text('[scenarios.quick]\nvus = 2\nduration = "6s"\nthink_time = "0.05s"\n')
    session = subprocess.Popen(pytest_cmd("test_quick.py", "--perf-store", pg_url), cwd=proj, env=env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)  # measuring by now
        set_connections(pg_url, allowed=False)
        out, err = session.communicate(timeout=300)
        assert session.returncode == 4 and "Traceback" not in out + err, out + err  # spooled
        assert "store failed: cannot connect to" in out and "perfmon flush" in out
        [spooled] = list((proj / ".perfmon" / "spool").glob("*.json"))
        assert run(perfmon_cmd("--store", pg_url, "flush"), proj).returncode == 2  # still down: one line, kept
        assert spooled.is_file()
    finally:
        set_connections(pg_url, allowed=True)
    flushed = run(perfmon_cmd("--store", pg_url, "flush"), proj)
    assert flushed.returncode == 0 and spooled.stem in flushed.stdout
    assert run(perfmon_cmd("--store", pg_url, "flush"), proj).stdout.startswith("nothing to flush")
    with psycopg.connect(pg_url) as con:
        rows = con.execute("select id::text, status from performance_test_runs").fetchall()
    assert rows == [(spooled.stem, "passed")]
