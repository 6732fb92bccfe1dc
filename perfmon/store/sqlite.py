"""The embedded default store: one SQLite file in WAL mode, the same tables as Supabase."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any

from ..core.errors import StoreError
from .sql import SQLStore

__all__ = ["SQLiteStore"]


# Columns renamed to WS-180's names (supabase/migrations/20261125000000_spec_table.sql).
_SPEC_NAMES = {"avg_response_time": "avg_response_time_ms", "p95_response_time": "p95_response_time_ms",
               "throughput": "throughput_rps"}


# Added by supabase/migrations/20261125000100_regression_details.sql.
_REGRESSION_COLUMNS = {
    "statistic": "text", "tags": "text not null default '{}'",
    "kind": "text not null default 'gate' check (kind in ('gate', 'change_point', 'leak'))",
    "confidence": "real", "first_bad_run": "text", "first_bad_sha": "text", "previous_sha": "text",
}


# A status added by supabase/migrations/20261126000000_unmeasured_status.sql (its CHECK widened).
_STATUS_CHECK_BEFORE = "check (status in ('passed', 'failed', 'interrupted', 'partial'))"
_STATUS_CHECK = "check (status in ('passed', 'failed', 'interrupted', 'partial', 'unmeasured'))"


class SQLiteStore(SQLStore):
    placeholder = "?"

    def __init__(self, path: Path, url: str, *, create: bool = True) -> None:
        self.url = url
        self.where = str(path)
        self.path = path
        if not create and not path.is_file():
            raise StoreError(f"no result store at {path}; check PERFMON_STORE / --store (relative paths start from "
                             "the config's folder), or run `perfmon run` to create it")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._con.execute("pragma foreign_keys = on")
            self._con.executescript(resources.files("perfmon.store").joinpath("schema_sqlite.sql").read_text())
            self._upgrade()
        except (OSError, sqlite3.Error) as exc:
            msg = (
                f"cannot open the result store {path} ({exc}); point PERFMON_STORE or --perf-store "
                "at a writable path, e.g. sqlite:////tmp/perfmon.db (four slashes: an absolute path)"
            )
            raise StoreError(msg) from None

    def _upgrade(self) -> None:
        """Bring a file written by an older perfmon to the current columns (what the migrations do for
        PostgreSQL), keeping its rows."""
        cols = {row[1] for row in self._con.execute("pragma table_info(performance_test_runs)")}
        if "complete" not in cols:  # a store from before the column: its runs were written whole
            self._con.execute("alter table performance_test_runs add column complete integer not null default 1")
        if "baseline_accepted_at" not in cols:
            self._con.execute("alter table performance_test_runs add column baseline_accepted_at text")
        if "gate_alerted_at" not in cols:
            self._con.execute("alter table performance_test_runs add column gate_alerted_at text")
        for old, new in _SPEC_NAMES.items():
            if old in cols:
                self._con.execute(f"alter table performance_test_runs rename column {old} to {new}")
        self._con.execute("drop index if exists idx_perf_runs_created")  # a duplicate of the spec's index
        self._widen_status_check()
        have = {row[1] for row in self._con.execute("pragma table_info(performance_regressions)")}
        for column, ddl in _REGRESSION_COLUMNS.items():
            if column not in have:
                self._con.execute(f"alter table performance_regressions add column {column} {ddl}")
        have = {row[1] for row in self._con.execute("pragma table_info(performance_breaking_points)")}
        for column, ddl in (("users", "real"), ("limited_by", "text"), ("broken_by", "text"), ("rate_estimate", "real"),
                            ("rate_low", "real"), ("rate_high", "real")):
            if column not in have:
                self._con.execute(f"alter table performance_breaking_points add column {column} {ddl}")

    def _widen_status_check(self) -> None:
        """SQLite cannot alter a CHECK; widening one in the stored schema is its documented procedure
        (sqlite.org/lang_altertable.html, "making other kinds of table schema changes"): every row that
        passed the old check passes the new one, so nothing on disk changes. A table rebuild would have
        to drop and re-create the five tables that refer to this one."""
        [sql] = self._con.execute("select sql from sqlite_master where type = 'table' "
                                  "and name = 'performance_test_runs'").fetchone()
        if _STATUS_CHECK_BEFORE not in sql:
            return
        [version] = self._con.execute("pragma schema_version").fetchone()
        self._con.execute("begin immediate")
        try:
            self._con.execute("pragma writable_schema = on")
            self._con.execute("update sqlite_master set sql = ? where type = 'table' "
                              "and name = 'performance_test_runs'", (sql.replace(_STATUS_CHECK_BEFORE, _STATUS_CHECK),))
            self._con.execute(f"pragma schema_version = {int(version) + 1}")
            self._con.execute("pragma writable_schema = off")
            self._con.execute("commit")
        except sqlite3.Error:
            self._con.execute("rollback")
            raise
        [ok] = self._con.execute("pragma integrity_check").fetchone()
        if ok != "ok":
            raise sqlite3.DatabaseError(f"integrity check after widening the status check: {ok}")

    def _cell(self, value: Any) -> Any:
        if isinstance(value, bool):
            return int(value)
        return super()._cell(value)

    def _begin(self) -> None:
        self._con.execute("begin immediate")  # take the write lock now, not halfway through

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.Error,)

    def _rejected(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.IntegrityError)

    def _transient(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
