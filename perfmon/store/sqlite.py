"""The embedded default store: one SQLite file in WAL mode, the same tables as Supabase."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import StoreError
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
        for old, new in _SPEC_NAMES.items():
            if old in cols:
                self._con.execute(f"alter table performance_test_runs rename column {old} to {new}")
        self._con.execute("drop index if exists idx_perf_runs_created")  # a duplicate of the spec's index
        have = {row[1] for row in self._con.execute("pragma table_info(performance_regressions)")}
        for column, ddl in _REGRESSION_COLUMNS.items():
            if column not in have:
                self._con.execute(f"alter table performance_regressions add column {column} {ddl}")

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
