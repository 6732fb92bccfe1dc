"""The store protocol and the rows every backend writes.

A backend only moves rows; :func:`run_rows` turns a :class:`~perfmon.core.results.Run` into them
once, so SQLite, PostgreSQL and Supabase store exactly the same thing.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ..core.comparison import HistoryComparison
from ..core.errors import DamagedRunError
from ..core.findings import Leaks
from ..core.metrics import Counter, Metrics, Trend
from ..core.results import Run
from .capacity_rows import capacity_rows

__all__ = [
    "RUN_COLUMNS",
    "SHARD_COLUMNS",
    "THRESHOLD_COLUMNS",
    "RunRows",
    "RunSummary",
    "ShardRow",
    "Store",
    "damaged",
    "iso",
    "run_from_rows",
    "run_rows",
]

# The run row's columns a stored run is read back from, and a threshold result's.
RUN_COLUMNS = ("id", "test_type", "environment", "profile", "base_url", "started_at", "finished_at", "status",
               "concurrent_users", "client_saturation", "lost_iterations", "git_sha", "branch", "host",
               "tool_version", "metadata", "baseline_accepted_at")
THRESHOLD_COLUMNS = ("metric", "expression", "observed", "passed", "abort_on_fail")
SHARD_COLUMNS = ("run_id", "shard", "shards", "host", "stored_at", "part")


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class RunSummary:
    """One line of history, with the spec's column names (``performance_test_runs``)."""

    run_id: str
    created_at: str
    test_type: str
    environment: str
    profile: str
    status: str
    concurrent_users: int
    duration_seconds: float
    avg_response_time_ms: float | None
    p95_response_time_ms: float | None
    error_rate: float | None
    throughput_rps: float | None
    git_sha: str | None
    started_at: float | None = None  # epoch seconds, as the machine that measured it stamped it


@dataclass(frozen=True)
class ShardRow:
    """One shard's part of a sharded run (``performance_run_shards``): what it measured, not a verdict."""

    run_id: str
    shard: int  # 1-based
    shards: int
    host: str | None
    part: dict[str, Any]  # perfmon.pipeline.shards.ShardPart.to_dict()
    stored_at: float | None = None

    def row(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "shard": self.shard, "shards": self.shards, "host": self.host,
                "stored_at": iso(self.stored_at if self.stored_at is not None else time.time()),
                "part": self.part}


class Store(Protocol):
    """What every backend offers. Writes are one unit: a reader never sees a run without its details."""

    url: str

    def write_run(self, run: Run) -> None: ...

    def history(
        self, *, test_type: str | None = None, environment: str | None = None, limit: int = 20,
        git_sha: str | None = None, profile: str | None = None,
    ) -> list[RunSummary]:
        """Complete runs, newest first; ``git_sha`` matches a commit or its first characters."""
        ...

    def load_run(self, run_id: str) -> Run: ...

    def accept_baseline(self, run_id: str) -> Run:
        """Mark the run as the baseline its later comparable runs are compared from; returns it."""
        ...

    def claim_gate_alert(self, run_id: str, *, release: bool = False) -> bool:
        """Atomically mark that the deploy gate's refusal of this run was posted: True only for the one
        caller that set the mark (a retried deploy job gets False). ``release`` clears it again (the
        post failed, so a later gate may try)."""
        ...

    def write_calibration(self, found: Mapping[str, Any]) -> None:
        """Keep a calibration (``perfmon.cli.calibrate.Calibration.to_dict()``) with its machine's identity."""
        ...

    def latest_calibration(self, machine_class: str) -> dict[str, Any] | None:
        """The newest calibration of a machine of ``machine_class`` (``calibration_row``'s columns), or None."""
        ...

    def write_shard(self, shard: ShardRow) -> list[ShardRow]:
        """Keep one shard's part (replacing that shard's earlier part: a retried shard never counts twice)
        and return every part of its run stored so far, read in the same transaction where the backend
        has them, so that of N shards finishing together the last one sees all N."""
        ...

    def read_shards(self, run_id: str) -> list[ShardRow]:
        """Every part of a sharded run stored so far, by shard."""
        ...

    def close(self) -> None: ...


CALIBRATION_COLUMNS = ("id", "created_at", "host", "machine_class", "cpus", "cpu_model", "memory_gb", "platform",
                       "suite", "level", "margin", "levels")


def calibration_row(found: Mapping[str, Any]) -> dict[str, Any]:
    """A calibration as a row of performance_calibrations."""
    machine = found.get("machine") or {}
    return {"id": str(uuid.uuid4()), "created_at": iso(float(found["created_at"])),
            "host": str(machine.get("host", "")), "machine_class": str(found["machine_class"]),
            "cpus": int(machine.get("cpus") or 1),
            "cpu_model": machine.get("cpu_model"), "memory_gb": machine.get("memory_gb"),
            "platform": machine.get("platform"), "suite": str(found["suite"]), "level": int(found["level"]),
            "margin": float(found["margin"]), "levels": list(found.get("levels") or [])}


@dataclass
class RunRows:
    """The run row and, per detail table, its rows: what every backend writes."""

    run: dict[str, Any]
    details: dict[str, list[dict[str, Any]]]


_WINDOW_COLUMNS = ("count", "avg", "p50", "p95", "p99", "rate")


def _series_rows(run: Run) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    duration = run.duration_seconds
    for name, tags, m in run.metrics.series():
        tags_key = json.dumps(tags, sort_keys=True, separators=(",", ":"))
        stats = m.stats(duration) if isinstance(m, Counter) else m.stats()
        row: dict[str, Any] = stats.to_dict()
        row.update(run_id=run.run_id, name=name, tags=tags, tags_key=tags_key, kind=m.kind, data=m.to_dict())
        windows = []
        for w, ws in m.window_stats():
            cells = ws.to_dict()
            windows.append({"run_id": run.run_id, "name": name, "tags_key": tags_key, "window_start": iso(w),
                            **{c: cells[c] for c in _WINDOW_COLUMNS}})
        yield row, windows


def _sample_rows(run: Run) -> list[dict[str, Any]]:
    """Resource samples per role and window (the window's peak), from the sampler's ``process_*`` trends."""
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for metric, column in (("process_cpu_percent", "cpu_percent"), ("process_rss_mb", "rss_bytes")):
        for _, tags, m in run.metrics.series(metric):
            if not isinstance(m, Trend):
                continue
            role = tags.get("role", "unknown")
            for w, ws in m.window_stats():
                key = (role, iso(w) or "")
                row = by_key.setdefault(
                    key, {"run_id": run.run_id, "role": role, "sampled_at": key[1], "cpu_percent": None,
                          "rss_bytes": None, "processes": None}
                )
                peak = (ws.max or 0.0) * (1e6 if column == "rss_bytes" else 1.0)
                # A role can have several series (the session's sampler and a scenario's): the window's peak.
                row[column] = max(row[column] or 0.0, peak)
    return list(by_key.values())


def _decimal(value: float | None, digits: int, scale: int) -> float | None:
    """``value`` as a DECIMAL(digits, scale) column holds it: rounded, and clamped to what fits (a time
    beyond 999999.99 ms must not make PostgreSQL refuse the whole run; the exact value is in the series)."""
    if value is None:
        return None
    most = 10.0 ** (digits - scale) - 10.0**-scale
    return round(max(-most, min(most, float(value))), scale)


def run_rows(run: Run) -> RunRows:
    run = copy.copy(run)
    run.redact_fields()  # every backend writes these rows: a run built by hand (the spec's API) is masked too
    s = run.summary_metrics()
    run_row = {
        "id": run.run_id,
        "test_type": run.test_type,
        "environment": run.environment,
        # WS-180's columns, at the spec's types (INT, DECIMAL(8,2), DECIMAL(5,4)): every store holds the
        # same rounded values.
        "concurrent_users": run.concurrent_users,
        "duration_seconds": round(run.duration_seconds),
        "avg_response_time_ms": _decimal(s.avg_response_time, 8, 2),
        "p95_response_time_ms": _decimal(s.p95_response_time, 8, 2),
        "error_rate": _decimal(s.error_rate, 5, 4),
        "throughput_rps": _decimal(s.throughput, 8, 2),
        "passed": run.passed,
        "status": run.status,
        "profile": run.profile,
        "base_url": run.base_url,
        "git_sha": run.git_sha,
        "branch": run.branch,
        "host": run.host,
        "tool_version": run.tool_version,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "client_saturation": run.client_saturation,
        "lost_iterations": run.lost_iterations,
        "metadata": run.context(),
        # Kept when a run is sent again (a spool replay after `perfmon baseline accept`).
        "baseline_accepted_at": run.metadata.get("baseline_accepted_at"),
    }
    series: list[dict[str, Any]] = []
    windows: list[dict[str, Any]] = []
    for row, wins in _series_rows(run):
        series.append(row)
        windows.extend(wins)
    thresholds = [{"run_id": run.run_id, **{c: o.to_dict()[c] for c in THRESHOLD_COLUMNS}} for o in run.thresholds]
    return RunRows(run_row, {
        "performance_metric_series": series,
        "performance_metric_windows": windows,
        "performance_threshold_results": thresholds,
        "performance_resource_samples": _sample_rows(run),
        "performance_web_vitals": _vital_rows(run),
        **capacity_rows(run),
        "performance_regressions": _regression_rows(run),
    })


def _regression_rows(run: Run) -> list[dict[str, Any]]:
    """The regressions the gate found against history (pipeline/compare.py), one row each; ids are
    derived from run and series, so re-sending the run rewrites the same rows."""
    found = run.comparison or HistoryComparison()
    out = []
    for f in found.regressions:
        out.append({"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"perfmon:{run.run_id}:gate:{f.key}")),
                    "run_id": run.run_id, "metric": f.key, "statistic": f.statistic, "tags": dict(f.tags),
                    "kind": "gate", "baseline": f.baseline, "observed": f.observed, "change_ratio": f.change,
                    "confidence": f.confidence, "first_bad_run": run.run_id, "first_bad_sha": run.git_sha,
                    "previous_sha": found.previous_sha})
    for c in found.worse_steps:
        out.append({"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"perfmon:{run.run_id}:step:{c.key}:{c.first_run}")),
                    "run_id": run.run_id, "metric": c.key, "statistic": c.key.split(" ", 1)[0], "tags": {},
                    "kind": "change_point", "baseline": c.before, "observed": c.after, "change_ratio": c.change,
                    "confidence": 1.0 - c.p_value, "first_bad_run": c.first_run, "first_bad_sha": c.first_sha,
                    "previous_sha": c.previous_sha})
    for leak in (leak for leaks in run.findings_of(Leaks) for leak in leaks.leaking):
        role = leak.role
        metric = f"process_rss_mb{{role:{role}}}"
        out.append({"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"perfmon:{run.run_id}:leak:{role}")),
                    "run_id": run.run_id, "metric": metric, "statistic": "floor slope (MB/h)", "tags": {"role": role},
                    "kind": "leak", "baseline": 0.0, "observed": leak.slope_mb_per_h, "change_ratio": None,
                    "confidence": 1.0 - float(leak.p_value or 0.0), "first_bad_run": run.run_id,
                    "first_bad_sha": run.git_sha, "previous_sha": None})
    return out


def _vital_rows(run: Run) -> list[dict[str, Any]]:
    """Web Vitals per journey and page, p75 as Google judges them, from the vitals Trends."""
    out = []
    for vital in ("LCP", "FCP", "CLS", "INP", "TTFB"):
        for _, tags, m in run.metrics.series(f"browser_vital_{vital.lower()}"):
            if not isinstance(m, Trend) or not m.count:
                continue
            s = m.stats()
            out.append({"run_id": run.run_id, "journey": tags.get("journey", ""), "page": tags.get("page", ""),
                        "metric": vital, "count": m.count, "p75": s.p75, "p95": s.p95})
    return out


def run_from_rows(row: Mapping[str, Any], series: Iterable[Mapping[str, Any]], outcomes: Iterable[Mapping[str, Any]],
                  timestamp: Callable[[Any], float | None]) -> Run:
    """A stored run read back (the inverse of :func:`run_rows`, through ``Run.from_dict``): ``row`` holds
    :data:`RUN_COLUMNS`, ``series`` each metric's name, tags and data, ``outcomes`` :data:`THRESHOLD_COLUMNS`."""
    try:
        problems = (row.get("metadata") or {}).get("threshold_problems") or {}
        accepted = timestamp(row.get("baseline_accepted_at"))
        metadata = {**(row.get("metadata") or {}), **({"baseline_accepted_at": iso(accepted)} if accepted else {})}
        return Run.from_dict({
            **row,
            "metadata": metadata,
            "run_id": str(row["id"]),
            "started_at": timestamp(row["started_at"]) or 0.0,
            "finished_at": timestamp(row["finished_at"]),
            "metrics": Metrics.from_dict({"name": s["name"], "tags": s["tags"], **s["data"]} for s in series),
            # The threshold table has no column for why an outcome could not be evaluated; metadata keeps it.
            "thresholds": [{**o, "problem": problems.get(f"{o['metric']}: {o['expression']}")} for o in outcomes],
        })
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise damaged(row.get("id"), exc) from None


def damaged(run_id: object, exc: BaseException) -> DamagedRunError:
    """A stored run that cannot be read back (a row edited by hand, a column of garbage): one line, never
    a traceback. The gate fails closed on it; history analyses skip it."""
    return DamagedRunError(f"stored run {run_id} cannot be read back, its row is damaged ({type(exc).__name__}: "
                      f"{' '.join(str(exc).split())[:200]}); delete or repair that row")
