"""The embedded default store: one SQLite file in WAL mode, the same tables as Supabase."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..metrics import Metrics
from ..results import Run
from ..thresholds import ThresholdOutcome, parse_thresholds
from .base import RunRows, RunSummary, run_rows

__all__ = ["SQLiteStore"]


def _ts(text: str | None) -> float | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return int(value)
    return value


def _insert(con: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    sql = f"insert into {table} ({', '.join(cols)}) values ({', '.join('?' * len(cols))})"
    con.executemany(sql, [tuple(_cell(r[c]) for c in cols) for r in rows])


class SQLiteStore:
    def __init__(self, path: Path, url: str) -> None:
        self.url = url
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._con.execute("pragma foreign_keys = on")
            self._con.executescript(resources.files("perfmon.store").joinpath("schema_sqlite.sql").read_text())
        except (OSError, sqlite3.Error) as exc:
            msg = (
                f"cannot open the result store {path} ({exc}); point PERFMON_STORE or --perf-store "
                "at a writable path, e.g. sqlite:///tmp/perfmon.db"
            )
            raise StoreError(msg) from None

    def write_run(self, run: Run) -> None:
        rows: RunRows = run_rows(run)
        con = self._con
        try:
            con.execute("begin immediate")
            # Re-sending a run replaces it whole: the id is the client's, so this is idempotent.
            con.execute("delete from performance_test_runs where id = ?", (run.run_id,))
            _insert(con, "performance_test_runs", [rows.run])
            _insert(con, "performance_metric_series", rows.series)
            _insert(con, "performance_metric_windows", rows.windows)
            _insert(con, "performance_threshold_results", rows.thresholds)
            _insert(con, "performance_resource_samples", rows.samples)
            con.execute("commit")
        except sqlite3.Error as exc:
            if con.in_transaction:
                con.execute("rollback")
            raise StoreError(f"could not write run {run.run_id} to {self.path}: {exc}") from None

    def history(
        self, *, test_type: str | None = None, environment: str | None = None, limit: int = 20
    ) -> list[RunSummary]:
        where, args = [], []
        if test_type:
            where.append("test_type = ?")
            args.append(test_type)
        if environment:
            where.append("environment = ?")
            args.append(environment)
        sql = (
            "select id, created_at, test_type, environment, profile, status, concurrent_users, duration_seconds, "
            "avg_response_time, p95_response_time, error_rate, throughput, git_sha from performance_test_runs"
            + (f" where {' and '.join(where)}" if where else "")
            + " order by started_at desc limit ?"
        )
        return [RunSummary(*row) for row in self._con.execute(sql, (*args, limit))]

    def load_run(self, run_id: str) -> Run:
        con = self._con
        row = con.execute(
            "select id, test_type, environment, profile, base_url, started_at, finished_at, status, concurrent_users,"
            " client_saturation, lost_iterations, git_sha, branch, host, tool_version, metadata"
            " from performance_test_runs where id = ? or id like ? order by started_at desc limit 2",
            (run_id, f"{run_id}%"),
        ).fetchall()
        if len(row) != 1:
            what = "no run" if not row else "more than one run"
            raise StoreError(f"{what} matches {run_id!r} in {self.path}; see `perfmon history` for run ids")
        (rid, ttype, env, profile, base_url, started, finished, status, users, sat, lost, sha, branch, host, ver,
         meta) = row[0]
        metrics = Metrics.from_dict(
            {"name": n, "tags": json.loads(t), **json.loads(d)}
            for n, t, d in con.execute(
                "select name, tags, data from performance_metric_series where run_id = ?", (rid,)
            )
        )
        outcomes = [
            ThresholdOutcome(parse_thresholds({m: [e]})[0], obs, bool(p))
            for m, e, obs, p in con.execute(
                "select metric, expression, observed, passed from performance_threshold_results where run_id = ?",
                (rid,),
            )
        ]
        return Run(
            test_type=ttype, environment=env, profile=profile, base_url=base_url, run_id=rid,
            started_at=_ts(started) or 0.0, finished_at=_ts(finished), status=status, concurrent_users=users,
            metrics=metrics, thresholds=outcomes, client_saturation=sat, lost_iterations=lost, git_sha=sha,
            branch=branch, host=host or "", tool_version=ver or "", metadata=json.loads(meta),
        )

    def close(self) -> None:
        self._con.close()
