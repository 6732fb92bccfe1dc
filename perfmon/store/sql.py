"""The SQL side shared by the SQLite and PostgreSQL stores: one writer, one reader.

Both are DB-API drivers over the same tables; they differ only in the placeholder, in how JSON
and timestamps come back, and in how a transaction starts. Subclasses say those four things.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from ..core.errors import RunRejectedError, StoreError, one_line
from ..core.results import Run
from ..core.retry import retry
from .base import (
    CALIBRATION_COLUMNS,
    RUN_COLUMNS,
    SHARD_COLUMNS,
    THRESHOLD_COLUMNS,
    RunRows,
    RunSummary,
    ShardRow,
    calibration_row,
    damaged,
    iso,
    run_from_rows,
    run_rows,
)

__all__ = ["SQLStore"]

# Children first: the order a run's rows are written in (the run row comes first of all).
DETAIL_TABLES = (
    "performance_metric_series",
    "performance_metric_windows",
    "performance_threshold_results",
    "performance_resource_samples",
    "performance_web_vitals",
    "performance_breaking_points",
    "performance_capacity_steps",
    "performance_scalability_fits",
    "performance_regressions",
)


class SQLStore:
    """A store over a DB-API connection; subclasses set ``_con``, ``url`` and ``where``."""

    url: str
    where: str  # what error messages call this store (never contains a password)
    placeholder = "?"
    attempts = 4
    backoff_s = 0.25
    _con: Any

    # --- the four differences -----------------------------------------------------------------
    def _cell(self, value: Any) -> Any:
        if isinstance(value, dict | list):
            return json.dumps(value, separators=(",", ":"))
        return value

    def _json(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    def _ts(self, value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.timestamp()
        return datetime.fromisoformat(str(value)).timestamp()

    def _begin(self) -> None:
        self._con.execute("begin")

    def _lock_run(self, run_id: str) -> None:
        """Hold off other writers of ``run_id`` until this transaction ends; SQLite has one writer anyway."""

    def _errors(self) -> tuple[type[BaseException], ...]:
        raise NotImplementedError

    # --- writing ------------------------------------------------------------------------------
    def _insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        cols = list(rows[0])
        marks = ", ".join([self.placeholder] * len(cols))
        sql = f"insert into {table} ({', '.join(cols)}) values ({marks})"
        cur = self._con.cursor()
        cur.executemany(sql, [tuple(self._cell(r[c]) for c in cols) for r in rows])

    def _transient(self, exc: BaseException) -> bool:
        """Whether trying again can succeed (lost connection, lock, serialization failure) - never
        for constraint or permission errors."""
        return False

    def _rejected(self, exc: BaseException) -> bool:
        """Whether the database refused the data itself (a constraint): sending it again cannot help."""
        return False

    def _reconnect(self) -> None:
        """Make a fresh connection after a transient failure (PostgreSQL); nothing by default."""

    def write_run(self, run: Run) -> None:
        rows: RunRows = run_rows(run)

        def write() -> None:
            # Re-sending a run replaces it whole: the id is the client's, so this is idempotent. Only the
            # deploy gate's alert mark is the store's own, and stays. Two senders of one run (a spool
            # flush racing the run it kept) take turns: else both delete nothing and one insert fails.
            p = self.placeholder
            alerted = self._con.execute(f"select gate_alerted_at from performance_test_runs where id = {p}",
                                        (run.run_id,)).fetchone()
            self._con.execute(f"delete from performance_test_runs where id = {p}", (run.run_id,))
            kept = {"gate_alerted_at": alerted[0]} if alerted and alerted[0] is not None else {}
            self._insert("performance_test_runs", [{**rows.run, "complete": True, **kept}])
            for table in DETAIL_TABLES:
                self._insert(table, rows.details[table])

        self._write(f"run {run.run_id}", run.run_id, write)

    def write_shard(self, shard: ShardRow) -> list[ShardRow]:
        found: list[ShardRow] = []

        def write() -> None:
            p = self.placeholder
            self._con.execute(f"delete from performance_run_shards where run_id = {p} and shard = {p}",
                              (shard.run_id, shard.shard))
            self._insert("performance_run_shards", [shard.row()])
            found[:] = self._shards(shard.run_id)

        self._write(f"shard {shard.shard}/{shard.shards} of run {shard.run_id}", shard.run_id, write)
        return found

    def read_shards(self, run_id: str) -> list[ShardRow]:
        try:
            return self._shards(run_id)
        except self._errors() as exc:
            raise StoreError(f"could not read {self.where}: {_said(exc)}") from None

    def _shards(self, run_id: str) -> list[ShardRow]:
        rows = self._con.execute(f"select {', '.join(SHARD_COLUMNS)} from performance_run_shards where run_id = "
                                 f"{self.placeholder} order by shard", (run_id,)).fetchall()
        return [ShardRow(str(r[0]), int(r[1]), int(r[2]), r[3], self._json(r[5]), self._ts(r[4])) for r in rows]

    def _write(self, what: str, run_id: str, write: Callable[[], None]) -> None:
        """Run ``write`` in one transaction that holds off other writers of ``run_id``, retrying what a
        retry can fix (a lost connection, a lock) with full-jitter backoff."""
        errors = self._errors()

        def once() -> None:
            try:
                self._begin()
                self._lock_run(run_id)
                write()
                self._con.execute("commit")
            except errors:
                with contextlib.suppress(*errors):  # a lost connection has nothing to roll back
                    self._con.execute("rollback")
                raise

        def transient(exc: BaseException) -> bool:
            return isinstance(exc, errors) and not self._rejected(exc) and self._transient(exc)

        def reconnect() -> None:
            with contextlib.suppress(StoreError):  # still down: the next try fails and says why
                self._reconnect()

        try:
            retry(once, attempts=self.attempts, backoff_s=self.backoff_s, transient=transient, between=reconnect)
        except errors as exc:
            if self._rejected(exc):
                raise RunRejectedError(f"{self.where} refused {what}: {_said(exc)}") from None
            raise StoreError(f"could not write {what} to {self.where}: {_said(exc)}") from None

    # --- reading ------------------------------------------------------------------------------
    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            cur = self._con.execute(sql.replace("?", self.placeholder), tuple(args))
            return list(cur.fetchall())
        except self._errors() as exc:
            raise StoreError(f"could not read {self.where}: {_said(exc)}") from None

    def history(
        self, *, test_type: str | None = None, environment: str | None = None, limit: int = 20,
        git_sha: str | None = None, profile: str | None = None,
    ) -> list[RunSummary]:
        where, args = ["complete"], []
        if git_sha:
            where.append("git_sha like ?")
            args.append(f"{git_sha}%")
        for column, value in (("test_type", test_type), ("environment", environment), ("profile", profile)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        rows = self._query(
            "select id, created_at, test_type, environment, profile, status, concurrent_users, duration_seconds, "
            "avg_response_time_ms, p95_response_time_ms, error_rate, throughput_rps, git_sha, started_at "
            f"from performance_test_runs where {' and '.join(where)} order by started_at desc limit ?",
            (*args, limit),
        )
        # DECIMAL columns come back as Decimal from PostgreSQL.
        return [RunSummary(str(r[0]), _iso(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], _number(r[8]), _number(r[9]),
                           _number(r[10]), _number(r[11]), r[12], self._started(r[13])) for r in rows]

    def _started(self, value: Any) -> float | None:
        try:
            return self._ts(value)
        except (ValueError, TypeError):  # a damaged row: loading it says so
            return None

    def load_run(self, run_id: str) -> Run:
        if not _RUN_ID_PREFIX.fullmatch(run_id):  # also keeps LIKE's % and _ out of the pattern
            raise StoreError(f"{run_id!r} is not a run id; copy one (or its first characters) from `perfmon history`")
        found = self._query(
            f"select {', '.join(RUN_COLUMNS)} from performance_test_runs where cast(id as text) like ? "
            "order by started_at desc limit 2",
            (f"{run_id}%",),
        )
        if len(found) != 1:
            what = "no run" if not found else "more than one run"
            raise StoreError(f"{what} matches {run_id!r} in {self.where}; see `perfmon history` for run ids")
        row = dict(zip(RUN_COLUMNS, found[0], strict=True))
        rid = str(row["id"])
        stored = self._query("select name, tags, data from performance_metric_series where run_id = ?", (rid,))
        try:
            row["metadata"] = self._json(row["metadata"]) or {}
            series = [{"name": n, "tags": self._json(t), "data": self._json(d)} for n, t, d in stored]
        except ValueError as exc:  # a column that is not JSON
            raise damaged(rid, exc) from None
        outcomes = [dict(zip(THRESHOLD_COLUMNS, r, strict=True)) for r in self._query(
            f"select {', '.join(THRESHOLD_COLUMNS)} from performance_threshold_results where run_id = ?", (rid,))]
        return run_from_rows(row, series, outcomes, self._ts)

    def accept_baseline(self, run_id: str) -> Run:
        run = self.load_run(run_id)
        try:
            self._con.execute(f"update performance_test_runs set baseline_accepted_at = {self.placeholder} "
                              f"where id = {self.placeholder}", (iso(time.time()), run.run_id))
        except self._errors() as exc:
            raise StoreError(f"could not accept run {run.run_id} in {self.where}: {_said(exc)}") from None
        return self.load_run(run.run_id)

    def claim_gate_alert(self, run_id: str, *, release: bool = False) -> bool:
        p = self.placeholder
        sql = (f"update performance_test_runs set gate_alerted_at = null where id = {p}" if release else
               f"update performance_test_runs set gate_alerted_at = {p} where id = {p} and gate_alerted_at is null")
        try:
            done = self._con.execute(sql, (run_id,) if release else (iso(time.time()), run_id))
        except self._errors() as exc:
            raise StoreError(f"could not mark the gate alert of run {run_id} in {self.where}: {_said(exc)}") \
                from None
        return bool(done.rowcount == 1)

    def write_calibration(self, found: Mapping[str, Any]) -> None:
        try:
            self._begin()
            self._insert("performance_calibrations", [calibration_row(found)])
            self._con.execute("commit")
        except self._errors() as exc:
            with contextlib.suppress(*self._errors()):
                self._con.execute("rollback")
            raise StoreError(f"could not store the calibration in {self.where}: {_said(exc)}") from None

    def latest_calibration(self, machine_class: str) -> dict[str, Any] | None:
        found = self._query(f"select {', '.join(CALIBRATION_COLUMNS)} from performance_calibrations "
                            "where machine_class = ? order by created_at desc limit 1", (machine_class,))
        if not found:
            return None
        row = dict(zip(CALIBRATION_COLUMNS, found[0], strict=True))
        row["levels"] = self._json(row["levels"]) or []
        row["created_at"] = _iso(row["created_at"])
        return row

    def close(self) -> None:
        self._con.close()


_RUN_ID_PREFIX = re.compile(r"[0-9a-fA-F-]{1,36}")


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _said(exc: BaseException) -> str:
    """A driver's error as one redacted line (it names its kind itself)."""
    return one_line(exc, kind=False)
