"""The embedded default store: one SQLite file in WAL mode, the same tables as Supabase."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import StoreError
from .sql import SQLStore

__all__ = ["SQLiteStore"]


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
            cols = {row[1] for row in self._con.execute("pragma table_info(performance_test_runs)")}
            if "complete" not in cols:  # a store from before the column: its runs were written whole
                self._con.execute("alter table performance_test_runs add column complete integer not null default 1")
        except (OSError, sqlite3.Error) as exc:
            msg = (
                f"cannot open the result store {path} ({exc}); point PERFMON_STORE or --perf-store "
                "at a writable path, e.g. sqlite:////tmp/perfmon.db (four slashes: an absolute path)"
            )
            raise StoreError(msg) from None

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
