"""The Supabase store, through supabase-py (PostgREST over HTTPS).

Rows go up in batches as upserts keyed by the client's ids (``Prefer:
resolution=merge-duplicates, return=minimal``), so re-sending a run changes nothing. A run is
one logical unit though not one transaction: its row is written first with ``complete =
false``, then every detail row, then ``complete`` is flipped; the review views show complete
runs only. Requests use our own httpx client with explicit timeouts; transport errors, 5xx and
serialization failures are retried with exponential backoff and full jitter; constraint,
permission and auth errors never are. The service key is never put in a message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TypeVar, cast

import httpx

from ..core.errors import RunRejectedError, StoreError
from ..core.results import Run
from ..core.retry import retry
from .base import (
    CALIBRATION_COLUMNS,
    RUN_COLUMNS,
    SHARD_COLUMNS,
    THRESHOLD_COLUMNS,
    RunSummary,
    ShardRow,
    calibration_row,
    iso,
    run_from_rows,
    run_rows,
)
from .sql import DETAIL_TABLES

__all__ = ["SupabaseStore"]

T = TypeVar("T")
_PRIMARY_KEYS = {
    "performance_test_runs": "id",
    "performance_metric_series": "run_id,name,tags_key",
    "performance_metric_windows": "run_id,name,tags_key,window_start",
    "performance_threshold_results": "run_id,metric,expression",
    "performance_resource_samples": "run_id,role,sampled_at",
    "performance_web_vitals": "run_id,journey,page,metric",
    "performance_breaking_points": "run_id,scenario",
    "performance_capacity_steps": "run_id,scenario,step",
    "performance_scalability_fits": "run_id,scenario",
    "performance_regressions": "id",
    "performance_calibrations": "id",
    "performance_run_shards": "run_id,shard",
}
_REJECTED_CLASSES = {"22", "23"}  # SQLSTATE classes: data exception, integrity constraint violation
_RETRY_CODES = {"40001", "40P01", "PGRST000", "PGRST001", "PGRST002", "PGRST003"}  # serialization, pool, schema cache


class SupabaseStore:
    def __init__(self, url: str, key: str, *, timeout_s: float = 30.0, batch_size: int = 500, attempts: int = 5,
                 backoff_s: float = 0.5, transport: httpx.BaseTransport | None = None) -> None:
        try:
            from supabase import ClientOptions, create_client
        except ImportError:
            raise StoreError("the Supabase store needs supabase-py; install it with: "
                             "pip install 'pytest-perfmon[supabase]'"
                             ) from None
        self.url = url
        self.where = url
        self._key = key
        self.batch_size = batch_size
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._last_status: int | None = None
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s), transport=transport,
                                  event_hooks={"response": [self._remember_status]})
        try:
            self._client = create_client(url, key, options=ClientOptions(httpx_client=self._http,
                                                                         postgrest_client_timeout=timeout_s))
        except Exception as exc:  # noqa: BLE001 - supabase-py validates URL and key with its own errors
            raise StoreError(f"cannot use Supabase at {url}: {self._clean(exc)}; check SUPABASE_URL and the key"
                             ) from None

    def _remember_status(self, response: httpx.Response) -> None:
        self._last_status = response.status_code

    def _clean(self, exc: BaseException) -> str:
        text = " ".join(str(exc).split()) or type(exc).__name__
        return text.replace(self._key, "***") if self._key else text

    # --- retries ------------------------------------------------------------------------------
    def _retryable(self, exc: BaseException) -> bool:
        from postgrest.exceptions import APIError

        if isinstance(exc, httpx.TransportError):  # connect/read/write errors and timeouts
            return True
        if isinstance(exc, APIError):
            status = self._last_status or 0
            return status >= 500 or str(exc.code) in _RETRY_CODES
        return False

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        from postgrest.exceptions import APIError

        def once() -> T:
            self._last_status = None
            return fn()

        def transient(exc: BaseException) -> bool:
            if isinstance(exc, APIError) and str(exc.code)[:2] in _REJECTED_CLASSES:
                return False
            return isinstance(exc, APIError | httpx.HTTPError) and self._retryable(exc)

        try:  # full jitter (core/retry.py): many CI jobs retrying together must not hammer the API in step
            return retry(once, attempts=self.attempts, backoff_s=self.backoff_s, transient=transient)
        except (APIError, httpx.HTTPError) as exc:
            status = f"HTTP {self._last_status}: " if self._last_status else ""
            if isinstance(exc, APIError) and str(exc.code)[:2] in _REJECTED_CLASSES:
                raise RunRejectedError(f"Supabase refused {what} ({status}{self._clean(exc)})") from None
            raise StoreError(f"Supabase {what} failed ({status}{self._clean(exc)})") from None

    # --- writing ------------------------------------------------------------------------------
    def _upsert(self, table: str, rows: list[dict[str, Any]]) -> None:
        from postgrest import ReturnMethod

        def send(batch: list[dict[str, Any]]) -> Any:
            return self._client.table(table).upsert(batch, on_conflict=_PRIMARY_KEYS[table],
                                                    returning=ReturnMethod.minimal).execute()

        for i in range(0, len(rows), self.batch_size):
            batch = rows[i : i + self.batch_size]
            self._call(f"upsert into {table}", partial(send, batch))

    def write_run(self, run: Run) -> None:
        rows = run_rows(run)
        self._upsert("performance_test_runs", [{**rows.run, "complete": False}])
        for table in DETAIL_TABLES:
            self._upsert(table, rows.details[table])
        self._call("completing the run", lambda: self._client.table("performance_test_runs").update(
            {"complete": True}, returning=_minimal()).eq("id", run.run_id).execute())

    # --- reading ------------------------------------------------------------------------------
    def history(self, *, test_type: str | None = None, environment: str | None = None,
                limit: int = 20, git_sha: str | None = None, profile: str | None = None) -> list[RunSummary]:
        cols = ("id,created_at,test_type,environment,profile,status,concurrent_users,duration_seconds,"
                "avg_response_time_ms,p95_response_time_ms,error_rate,throughput_rps,git_sha,started_at")

        def query() -> Any:
            q = self._client.table("performance_test_runs").select(cols).eq("complete", True)
            for column, value in (("test_type", test_type), ("environment", environment), ("profile", profile)):
                if value:
                    q = q.eq(column, value)
            if git_sha:
                q = q.like("git_sha", f"{git_sha}%")
            return q.order("started_at", desc=True).limit(limit).execute()

        data = _rows(self._call("reading history", query))
        return [RunSummary(**{c: r[c] for c in cols.split(",")[1:-1]}, run_id=str(r["id"]),
                           started_at=_started(r.get("started_at"))) for r in data]

    def load_run(self, run_id: str) -> Run:
        found = _rows(self._call("reading a run", lambda: self._client.table("performance_test_runs").select(
            ",".join(RUN_COLUMNS)).eq("id", run_id).execute()))
        if len(found) != 1:
            raise StoreError(f"no run {run_id!r} in {self.where}; Supabase needs the full run id")
        series = _rows(self._call("reading metrics", lambda: self._client.table("performance_metric_series").select(
            "name,tags,data").eq("run_id", run_id).execute()))
        outcomes = _rows(self._call("reading thresholds", lambda: self._client.table(
            "performance_threshold_results").select(",".join(THRESHOLD_COLUMNS)).eq("run_id", run_id).execute()))
        return run_from_rows(found[0], series, outcomes, _timestamp)

    def accept_baseline(self, run_id: str) -> Run:
        run = self.load_run(run_id)
        self._call("accepting a baseline", lambda: self._client.table("performance_test_runs").update(
            {"baseline_accepted_at": iso(time.time())}, returning=_minimal()).eq("id", run.run_id).execute())
        return self.load_run(run.run_id)

    def claim_gate_alert(self, run_id: str, *, release: bool = False) -> bool:
        table = self._client.table("performance_test_runs")
        if release:
            self._call("releasing a gate alert", lambda: table.update(
                {"gate_alerted_at": None}, returning=_minimal()).eq("id", run_id).execute())
            return True
        # The filter makes the update conditional in PostgreSQL: of two racing gates, one gets the row back.
        done = self._call("marking a gate alert", lambda: table.update({"gate_alerted_at": iso(time.time())})
                          .eq("id", run_id).is_("gate_alerted_at", "null").execute())
        return len(_rows(done)) == 1

    def write_calibration(self, found: Mapping[str, Any]) -> None:
        self._upsert("performance_calibrations", [calibration_row(found)])

    def latest_calibration(self, machine_class: str) -> dict[str, Any] | None:
        found = _rows(self._call("reading a calibration", lambda: self._client.table("performance_calibrations")
                                 .select(",".join(CALIBRATION_COLUMNS)).eq("machine_class", machine_class)
                                 .order("created_at", desc=True).limit(1).execute()))
        return found[0] if found else None

    def write_shard(self, shard: ShardRow) -> list[ShardRow]:
        # PostgREST has no transaction across two requests: of shards finishing at the same instant,
        # neither may see the other, and `perfmon merge` at the deadline judges the run (docs/scaling.md).
        self._upsert("performance_run_shards", [shard.row()])
        return self.read_shards(shard.run_id)

    def read_shards(self, run_id: str) -> list[ShardRow]:
        found = _rows(self._call("reading shards", lambda: self._client.table("performance_run_shards")
                                 .select(",".join(SHARD_COLUMNS)).eq("run_id", run_id).order("shard").execute()))
        return [ShardRow(str(r["run_id"]), int(r["shard"]), int(r["shards"]), r.get("host"), dict(r["part"]),
                         _timestamp(r.get("stored_at"))) for r in found]

    def close(self) -> None:
        self._http.close()


def _rows(response: Any) -> list[dict[str, Any]]:
    # supabase-py types .data as any JSON; a table select is a list of objects.
    return cast(list[dict[str, Any]], response.data)


def _minimal() -> Any:
    from postgrest import ReturnMethod

    return ReturnMethod.minimal


def _timestamp(value: str | None) -> float | None:
    from datetime import datetime

    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _started(value: Any) -> float | None:
    try:
        return _timestamp(value)
    except (ValueError, TypeError):  # a damaged row: loading it says so
        return None
